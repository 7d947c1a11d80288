"""Choosing a method's recipe: every candidate runs, the validation gap picks, the recipe is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from lightning_unlearn.grid import scenario_methods
from lightning_unlearn.tuning import candidates, run_tuning, set_dotted
from tests.paths import ROOT

FIXTURES = str(ROOT / "tests" / "fixtures" / "grid")


def _data_with_validation(tmp_path: Path, fraction: float = 0.25) -> str:
    data = yaml.safe_load(Path(f"{FIXTURES}/data.yaml").read_text())
    data["data"]["validation_fraction"] = fraction
    path = tmp_path / "data.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _tune(tmp_path: Path, data: str, search: dict, **options) -> dict:
    return run_tuning(
        name="tiny",
        data=data,
        original=f"{FIXTURES}/original.yaml",
        retrain=f"{FIXTURES}/retrain.yaml",
        scenarios={"class_0": {"classes": [0]}},
        methods_dir=f"{FIXTURES}/methods",
        search=search,
        recipes_dir=str(tmp_path / "recipes"),
        out_dir=str(tmp_path / "out"),
        **options,
    )


def test_tuning_picks_the_lowest_validation_gap_and_writes_it_as_a_recipe(tmp_path):
    search = {"finetune": {"model.init_args.lr": [0.0001, 0.2], "trainer.max_epochs": [1, 3]}}
    result = _tune(tmp_path, _data_with_validation(tmp_path), search)
    rows = result["rows"]
    assert len(rows) == 4 and {tuple(r["overrides"].values()) for r in rows} == {
        (0.0001, 1),
        (0.0001, 3),
        (0.2, 1),
        (0.2, 3),
    }
    for row in rows:
        assert "TA" not in row and "MIA" not in row  # nothing from the test set is shown, let alone used
        assert row["score"] == row["avg_gap_val"] and "avg_gap_val_mean" not in row
    assert "reference_models" not in result["meta"]
    (chosen,) = result["chosen"]
    assert chosen["score"] == min(r["score"] for r in rows)
    # lr 1e-4 for one epoch leaves the class almost untouched; a larger step forgets it: the choice must differ
    assert chosen["overrides"] != {"model.init_args.lr": 0.0001, "trainer.max_epochs": 1}
    recipe = tmp_path / "recipes" / "class_0" / "finetune.yaml"
    text = recipe.read_text()
    assert text.startswith("# Chosen by lightning-unlearn tune") and "of 4 candidates on seed 0" in text
    assert f"validation set ({chosen['score']:.2f}) of 4" in text and "retrained models" not in text
    config = yaml.safe_load(text)
    assert config["model"]["init_args"]["lr"] == chosen["overrides"]["model.init_args.lr"]
    assert config["trainer"]["max_epochs"] == chosen["overrides"]["trainer.max_epochs"]
    assert config["model"]["class_path"] == "lightning_unlearn.methods.FineTune"
    saved = json.loads((tmp_path / "out" / "tiny" / "tuning.json").read_text())
    assert saved["chosen"][0]["config"] == chosen["config"]
    # a grid over the recipes folder runs the tuned recipe for that scenario, the shared one elsewhere
    (tmp_path / "recipes" / "finetune.yaml").write_text(Path(f"{FIXTURES}/methods/finetune.yaml").read_text())
    assert scenario_methods(["finetune"], str(tmp_path / "recipes"), "class_0") == [str(recipe)]
    assert scenario_methods(["finetune"], str(tmp_path / "recipes"), "random") == [
        str(tmp_path / "recipes" / "finetune.yaml")
    ]


def test_with_reference_models_the_gap_is_to_the_mean_of_the_retrained_models(tmp_path):
    from lightning_unlearn import grid
    from lightning_unlearn.experiment import build_rows
    from lightning_unlearn.metrics.gap import SELECTION_GAP_METRICS, avg_gap

    data = _data_with_validation(tmp_path)
    search = {"finetune": {"model.init_args.lr": [0.0001, 0.2]}}
    result = _tune(tmp_path, data, search, reference_models=2)
    assert result["meta"]["reference_models"] == 2
    # the same scenario again, from the cache: the retrained model and the two references the tuning trained
    progress = grid.Progress(10)
    ws = grid.prepare_workspace(
        data, f"{FIXTURES}/original.yaml", {"classes": [0]}, str(tmp_path / "out"), None, progress
    )
    scenario = grid.prepare_scenario(ws, "class_0", {"classes": [0]}, f"{FIXTURES}/retrain.yaml", progress)
    grid.prepare_references(ws, scenario, f"{FIXTURES}/retrain.yaml", 2, progress)
    assert progress.computed == 0  # the tuning trained them all, where a grid finds them
    # each retrained model scored as a method against the retrained model, as a grid scores one
    models = [build_rows([scenario.retrain])[0]]
    models += [build_rows([scenario.retrain, ref])[1] for ref in scenario.references]
    assert len({tuple(m[k] for k in SELECTION_GAP_METRICS) for m in models}) == 3  # three models, not one twice
    helper = grid.retrained_rows(scenario)
    assert [[r[k] for k in SELECTION_GAP_METRICS] for r in helper] == [
        [m[k] for k in SELECTION_GAP_METRICS] for m in models
    ]
    target = {k: sum(m[k] for m in models) / 3 for k in SELECTION_GAP_METRICS}
    rows = result["rows"]
    for row in rows:
        assert row["score"] == row["avg_gap_val_mean"] == pytest.approx(avg_gap(row, target, SELECTION_GAP_METRICS))
    assert any(r["avg_gap_val_mean"] != pytest.approx(r["avg_gap_val"]) for r in rows)  # not the one model's gap
    (chosen,) = result["chosen"]
    assert chosen["score"] == min(r["score"] for r in rows)
    header = (tmp_path / "recipes" / "class_0" / "finetune.yaml").read_text().splitlines()[0]
    assert "to the mean of 3 retrained models" in header and f"({chosen['score']:.2f};" in header
    assert f"to the retrained model alone {chosen['avg_gap_val']:.2f})" in header
    assert "| avg_gap_val_mean |" in (tmp_path / "out" / "tiny" / "tuning.md").read_text()
    with pytest.raises(ValueError, match="reference_models"):
        _tune(tmp_path, data, search, reference_models=-1)


def test_tuning_refuses_to_choose_without_a_validation_set(tmp_path):
    with pytest.raises(ValueError, match="validation_fraction"):
        _tune(tmp_path, f"{FIXTURES}/data.yaml", {"finetune": {"model.init_args.lr": [0.01]}})


def test_candidates_are_the_product_of_the_knobs_within_the_budget():
    space = {"a": [1, 2], "b.c": ["x", "y", "z"]}
    assert len(candidates(space, 6)) == 6 and candidates({}, 8) == [{}]
    with pytest.raises(ValueError, match="exceed max_configs=5"):
        candidates(space, 5)
    with pytest.raises(ValueError, match="non-empty list"):
        candidates({"a": []}, 8)
    config: dict = {"model": {"init_args": {"lr": 1}}}
    set_dotted(config, "model.init_args.lr", 2)
    set_dotted(config, "trainer.max_epochs", 3)
    assert config == {"model": {"init_args": {"lr": 2}}, "trainer": {"max_epochs": 3}}
    with pytest.raises(ValueError, match="not a mapping"):
        set_dotted(config, "model.init_args.lr.x", 1)


def test_the_choice_reads_nothing_of_the_test_set(tmp_path):
    search = {"finetune": {"model.init_args.lr": [0.0001, 0.05, 0.2]}}
    plain = _tune(tmp_path / "plain", _data_with_validation(tmp_path), search)
    data = yaml.safe_load(Path(_data_with_validation(tmp_path)).read_text())
    data["data"]["source"]["class_path"] = "tests.helpers.ScrambledTestSet"  # noise images, permuted labels
    scrambled_config = tmp_path / "scrambled.yaml"
    scrambled_config.write_text(yaml.safe_dump(data))
    scrambled = _tune(tmp_path / "scrambled", str(scrambled_config), search)
    assert [r["score"] for r in scrambled["rows"]] == [r["score"] for r in plain["rows"]]
    assert scrambled["chosen"][0]["overrides"] == plain["chosen"][0]["overrides"]
    # the scrambling took effect: the runs' test outputs differ
    from lightning_unlearn.callbacks.forgetting_metrics import load_outputs

    def test_outputs(root: Path):
        (path,) = (root / "out" / "runs").glob("class_0-*/retrain-*/outputs.pt")
        return load_outputs(path)["test"]

    assert not torch.equal(test_outputs(tmp_path / "plain").probs, test_outputs(tmp_path / "scrambled").probs)
