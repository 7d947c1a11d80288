"""The README's own-method example must run as printed, through the CLI."""

from __future__ import annotations

import re
import sys
import types

import yaml

from lightning_unlearn.cli import cli_main
from tests.paths import ROOT
from tests.test_cli import DATA


def _readme_module() -> types.ModuleType:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- readme-example:start -->\s*```python\n(.*?)```\s*<!-- readme-example:end -->", text, re.S)
    assert block, "README example markers not found"
    assert len(block.group(1).strip().splitlines()) <= 20
    module = types.ModuleType("readme_example")
    exec(compile(block.group(1), "README.md", "exec"), module.__dict__)
    return module


def test_readme_method_example_runs_through_the_cli(tmp_path, original_ckpt, monkeypatch):
    module = _readme_module()
    monkeypatch.setitem(sys.modules, "readme_example", module)
    cfg = {
        **DATA,
        "model": {
            "class_path": "readme_example.NegGradPlus",
            "init_args": {
                "arch": "small_cnn",
                "arch_kwargs": {"width": 4},
                "original_ckpt": str(original_ckpt),
                "ascent_weight": 0.3,
                "lr": 0.01,
            },
        },
    }
    cfg["trainer"] = {**DATA["trainer"], "default_root_dir": str(tmp_path), "max_epochs": 3}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    cli = cli_main(["fit", "--config", str(path)])
    assert type(cli.model).__name__ == "NegGradPlus" and cli.model.ascent_weight == 0.3
    metrics = cli.trainer.callback_metrics
    assert metrics["forget/acc"] < 100.0  # ascent on the forget set moved it
    assert "train/forget_ce" in metrics
