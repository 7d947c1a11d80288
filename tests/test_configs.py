"""Every shipped config must parse through the real CLI (types, class paths, keys).

Configs name each other relative to the repository root (where ``make`` runs them), so the tests that follow
those names run there; the configs themselves are found from this file, whatever the working folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lightning_unlearn.cli import cli_main
from lightning_unlearn.experiment import resolve_methods
from lightning_unlearn.grid import scenario_methods
from tests.paths import CONFIGS as CONFIG_ROOT
from tests.paths import ROOT

CONFIGS = sorted(CONFIG_ROOT.rglob("*.yaml"))


def _keys(path: Path) -> set[str]:
    return set(yaml.safe_load(path.read_text()) or {})


MODEL_CONFIGS = [p for p in CONFIGS if "model" in _keys(p)]
DATA_CONFIGS = [p for p in CONFIGS if "data" in _keys(p) and "model" not in _keys(p) and p.name.startswith("data")]
GRID_CONFIGS = [p for p in CONFIGS if "scenarios" in _keys(p) and "search" not in _keys(p)]
TUNE_CONFIGS = [p for p in CONFIGS if "search" in _keys(p)]


def _data_config_for(config: Path) -> Path:
    """The nearest ``data.yaml`` in the config's folder or above it (the demo's for the shared method configs)."""
    for folder in config.parents:
        if folder == CONFIG_ROOT:
            break
        if (folder / "data.yaml").is_file():
            return folder / "data.yaml"
    return CONFIG_ROOT / "demo" / "data.yaml"


def _name(config: Path) -> str:
    return str(config.relative_to(ROOT))


def _parses(*configs: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", *(arg for c in configs for arg in ("--config", str(c))), "--print_config"])
    assert exit_info.value.code == 0


def test_the_configs_are_found_from_any_folder():
    assert len(CONFIGS) > 50 and len(MODEL_CONFIGS) > 30 and DATA_CONFIGS and GRID_CONFIGS and TUNE_CONFIGS


def test_every_config_is_classified():
    classified = {*MODEL_CONFIGS, *DATA_CONFIGS, *GRID_CONFIGS, *TUNE_CONFIGS}
    experiments = {p for p in CONFIGS if p.name == "experiment.yaml"}
    assert set(CONFIGS) - classified - experiments == set()


@pytest.mark.parametrize("config", MODEL_CONFIGS, ids=_name)
def test_model_config_parses(config, capsys):
    _parses(_data_config_for(config), config)
    assert "class_path" in capsys.readouterr().out


@pytest.mark.parametrize("config", DATA_CONFIGS, ids=_name)
def test_data_config_parses(config, capsys):
    _parses(config, CONFIG_ROOT / "methods" / "feature_constraint.yaml")
    assert "forget" in capsys.readouterr().out


@pytest.mark.parametrize("config", GRID_CONFIGS, ids=_name)
def test_grid_config_names_existing_files(config):
    cfg = yaml.safe_load(config.read_text())
    for key in ("data", "original", "retrain"):
        assert Path(cfg[key]).is_file(), (config, key)
    assert cfg["scenarios"], config
    for scenario in cfg["scenarios"]:
        assert scenario_methods(cfg["methods"], cfg.get("methods_dir", "configs/methods"), scenario), config


@pytest.mark.parametrize("config", TUNE_CONFIGS, ids=_name)
def test_tune_config_searches_knobs_the_methods_have(config, tmp_path, capsys):
    from lightning_unlearn.tuning import candidate_config, candidates

    cfg = yaml.safe_load(config.read_text())
    for key in ("data", "original", "retrain"):
        assert Path(cfg[key]).is_file(), (config, key)
    for method, space in cfg["search"].items():
        base = Path(cfg["methods_dir"]) / f"{method}.yaml"
        first, *_ = candidates(space, cfg.get("max_configs", 8))
        _parses(Path(cfg["data"]), candidate_config(str(base), first, tmp_path / method))  # every knob is a real key
        assert "class_path" in capsys.readouterr().out


def test_experiment_configs_name_existing_files():
    experiments = list(CONFIG_ROOT.rglob("experiment.yaml"))
    assert experiments
    for path in experiments:
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


def test_amnesiac_through_the_cli_never_draws_the_true_label(capsys):
    # the CLI passes every parent parameter it resolves: a default set in **kwargs would be overridden
    _parses(CONFIG_ROOT / "demo" / "data.yaml", CONFIG_ROOT / "methods" / "amnesiac.yaml")
    assert "exclude_true: true" in capsys.readouterr().out
