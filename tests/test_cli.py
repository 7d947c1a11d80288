from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lightning_unlearn.cli import cli_main
from tests.user_methods import AscentOnForget

DATA = {
    "data": {
        "source": {"class_path": "lightning_unlearn.data.Synthetic", "init_args": {"train_per_class": 24}},
        "forget": {"classes": [0]},
        "batch_size": 16,
    },
    "trainer": {
        "accelerator": "cpu",
        "devices": 1,
        "max_epochs": 2,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    },
}


def _config(tmp_path: Path, model: dict, **trainer) -> Path:
    cfg = {**DATA, "model": model}
    cfg["trainer"] = {**DATA["trainer"], "default_root_dir": str(tmp_path), **trainer}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _model(class_path: str, **init_args) -> dict:
    return {"class_path": class_path, "init_args": {"arch": "small_cnn", "arch_kwargs": {"width": 4}, **init_args}}


def test_cli_fits_a_users_subclass_selected_by_class_path(tmp_path, original_ckpt):
    cfg = _config(
        tmp_path,
        _model("tests.user_methods.AscentOnForget", original_ckpt=str(original_ckpt), ascent_weight=0.25),
    )
    cli = cli_main(["fit", "--config", str(cfg)])
    assert isinstance(cli.model, AscentOnForget) and cli.model.ascent_weight == 0.25
    assert cli.model.num_classes == 4 and cli.model.in_channels == 1  # linked from the data module
    assert cli.trainer.current_epoch == 2
    assert {"forget/acc", "retain/acc", "test/acc", "test_forget/acc", "train/forget_ce"} <= set(
        cli.trainer.callback_metrics
    )
    log_dir = Path(cli.trainer.log_dir)
    assert (log_dir / "config.yaml").is_file() and (log_dir / "split.json").is_file()


def test_cli_test_subcommand_evaluates_a_checkpoint(tmp_path, original_ckpt):
    cfg = _config(tmp_path, _model("lightning_unlearn.models.ClassifierModule"))
    cli = cli_main(["test", "--config", str(cfg), "--ckpt_path", str(original_ckpt)])
    assert cli.trainer.callback_metrics["forget/acc"] == 100.0


def test_cli_unknown_config_key_is_refused_by_jsonargparse(tmp_path, capsys):
    cfg = _config(tmp_path, _model("lightning_unlearn.models.ClassifierModule", learning_rate=0.1))
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "--config", str(cfg)])
    assert exit_info.value.code != 0
    assert "learning_rate" in capsys.readouterr().err


def test_console_script_reports_bad_input_in_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    cfg = _config(out, _model("lightning_unlearn.methods.FeatureConstraintUnlearner", original_ckpt="missing.ckpt"))
    cfg.rename(tmp_path / "config.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "lightning_unlearn", "fit", "--config", str(tmp_path / "config.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == "error: checkpoint not found: missing.ckpt"
    assert list(out.rglob("*")) == []


def test_help_lists_every_subcommand(capsys):
    from lightning_unlearn.commands import LIBRARY_SUBCOMMANDS, LIGHTNING_SUBCOMMANDS, run

    assert run(["--help"]) == 0
    listed = capsys.readouterr().out
    for name in (*LIGHTNING_SUBCOMMANDS, *LIBRARY_SUBCOMMANDS):
        assert f"\n  {name} " in listed
    names = {*LIGHTNING_SUBCOMMANDS, *LIBRARY_SUBCOMMANDS}
    assert {"fit", "test", "demo", "experiment", "grid", "tune", "verify"} <= names
    assert run([]) == 2 and "usage: lightning-unlearn <subcommand>" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        run(["grid", "--help"])  # a library subcommand's options are its function's arguments
    assert done.value.code == 0 and "--reference_models" in capsys.readouterr().out
