"""Every shipped config must parse through the real CLI (types, class paths, keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_unlearn.cli import cli_main
from lightning_unlearn.experiment import resolve_methods

MODEL_CONFIGS = sorted(p for p in Path("configs").rglob("*.yaml") if p.stem not in ("data", "experiment"))


@pytest.mark.parametrize("config", MODEL_CONFIGS, ids=str)
def test_config_parses(config, capsys):
    data = config.parent / "data.yaml" if config.parent.name != "methods" else Path("configs/demo/data.yaml")
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "--config", str(data), "--config", str(config), "--print_config"])
    assert exit_info.value.code == 0
    assert "class_path" in capsys.readouterr().out


def test_experiment_configs_name_existing_files():
    import yaml

    for path in Path("configs").rglob("experiment.yaml"):
        cfg = yaml.safe_load(path.read_text())
        for key in ("data", "original", "retrain"):
            assert Path(cfg[key]).is_file(), (path, key)
        assert resolve_methods(cfg["methods"]), path


def test_every_method_has_a_config_and_all_expands_to_them():
    from lightning_unlearn.methods import METHODS

    configs = resolve_methods(["all"])
    assert [Path(c).stem for c in configs] == [n for n in METHODS if n != "retrain"]
    with pytest.raises(FileNotFoundError, match="known methods"):
        resolve_methods(["no_such_method"])
