from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from tests.paths import benchmark_module


def _module():
    return benchmark_module("choose_recipes")


TARGET = {"UA": 40.0, "RA": 99.0, "TA_val": 62.0, "MIA_val": 50.0}


def _row(method: str, lr: float, ta_val: float, single: float, scenario: str = "random", **extra) -> dict:
    row = {
        "scenario": scenario,
        "method": method,
        "overrides": {"model.init_args.lr": lr},
        "UA": 40.0,
        "RA": 99.0,
        "TA_val": ta_val,
        "MIA_val": 50.0,
        "avg_gap_val": single,
        "score": single,
        "seed": 0,
        "RTE": 0.05,
    }
    return {**row, **extra}


def _round(name: str, *rows: dict) -> dict:
    return {"meta": {"name": name}, "rows": list(rows)}


def test_the_candidate_closest_to_the_retrained_models_mean_is_chosen_not_the_one_closest_to_one_model():
    choose = _module()
    # the one retrained model has TA_val 58: lr 0.1 copies it (single gap 0), lr 0.01 sits on the mean (62)
    found = choose.candidates([_round("r1", _row("ft", 0.1, 58.0, 0.0), _row("ft", 0.01, 62.0, 1.0))])
    (choice,) = choose.choose(found, {"random": TARGET})
    assert choice["chosen"]["overrides"] == {"model.init_args.lr": 0.01}
    assert choice["chosen"]["score_mean"] == 0.0
    assert choice["by_retrained_model"]["overrides"] == {"model.init_args.lr": 0.1}
    assert choice["changed"] and choice["candidates"] == 2


def test_a_candidate_run_in_two_rounds_counts_once_and_failed_ones_not_at_all():
    choose = _module()
    failed = _row("ft", 0.5, 62.0, 0.0)
    del failed["score"]
    nan = _row("ft", 0.7, 62.0, 0.0, score=float("nan"))
    found = choose.candidates(
        [_round("r1", _row("ft", 0.1, 60.0, 1.0), failed), _round("r2", _row("ft", 0.1, 62.0, 1.0), nan)]
    )
    (group,) = found.values()
    assert [(c["round"], c["TA_val"]) for c in group] == [("r1", 60.0)]


def test_the_recipe_is_the_base_config_with_the_knobs_headed_by_why(tmp_path: Path):
    choose = _module()
    base = tmp_path / "ft.yaml"
    base.write_text("model:\n  class_path: X\n  init_args: {lr: 1.0, keep: 3}\ntrainer: {max_epochs: 9}\n")
    found = choose.candidates([_round("r1", _row("ft", 0.1, 58.0, 0.0), _row("ft", 0.01, 62.0, 1.0))])
    (choice,) = choose.choose(found, {"random": TARGET})
    text = choose.recipe_text(choice, base, retrained_models=9)
    head = [line for line in text.splitlines() if line.startswith("#")]
    assert "model.init_args.lr=0.01 (r1)" in head[0] and "mean of 9 retrained models (0.00" in head[0]
    assert "model.init_args.lr=0.1 (r1) would have won (0.00" in head[1]
    config = yaml.safe_load(text)
    assert config["model"]["init_args"] == {"lr": 0.01, "keep": 3} and config["trainer"] == {"max_epochs": 9}


def test_main_rewrites_every_recipe_and_refuses_a_scenario_without_a_target(tmp_path: Path, monkeypatch):
    choose = _module()
    methods, recipes = tmp_path / "methods", tmp_path / "tuned"
    methods.mkdir()
    for m in ("ft", "ga"):
        (methods / f"{m}.yaml").write_text("model:\n  init_args: {lr: 1.0}\n")
    rounds = tmp_path / "r1.json"
    rows = [_row("ft", 0.1, 62.0, 1.0), _row("ga", 0.2, 62.0, 1.0), _row("ft", 0.3, 62.0, 1.0, scenario="class_0")]
    rounds.write_text(json.dumps(_round("r1", *rows)))
    spread = tmp_path / "spread.json"
    spread.write_text(json.dumps({"random": {"references": 8, "ensemble_target": TARGET}}))
    argv = ["choose_recipes.py", str(spread), str(rounds), "--methods_dir", str(methods), "--recipes", str(recipes)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit):  # class_0 has no target
        choose.main()
    assert not recipes.exists()
    spread.write_text(json.dumps({s: {"references": 8, "ensemble_target": TARGET} for s in ("random", "class_0")}))
    choose.main()
    written = sorted(p.relative_to(recipes).as_posix() for p in recipes.rglob("*.yaml"))
    assert written == ["class_0/ft.yaml", "random/ft.yaml", "random/ga.yaml"]
    assert yaml.safe_load((recipes / "class_0" / "ft.yaml").read_text())["model"]["init_args"]["lr"] == 0.3


@pytest.mark.parametrize("metric", ["UA", "RA", "TA_val", "MIA_val"])
def test_every_selection_metric_counts(metric: str):
    choose = _module()
    # "off" misses the target by 10 on one metric only (gap 2.5), "near" by 2 on all four (gap 2)
    off = _row("m", 0.1, TARGET["TA_val"], 0.0)
    off[metric] = TARGET[metric] + 10
    near = _row("m", 0.2, TARGET["TA_val"], 0.0, **{k: v + 2 for k, v in TARGET.items()})
    (choice,) = choose.choose(choose.candidates([_round("r1", off, near)]), {"random": TARGET})
    assert choice["chosen"]["overrides"] == {"model.init_args.lr": 0.2}
    assert choice["chosen"]["score_mean"] == pytest.approx(2.0)


def test_each_scenario_is_scored_against_its_own_target():
    choose = _module()
    rows = [_row("m", lr, ta, 0.0, scenario=s) for s in ("random", "class_0") for lr, ta in ((0.1, 62.0), (0.2, 70.0))]
    targets = {"random": TARGET, "class_0": {**TARGET, "TA_val": 70.0}}
    chosen = {
        c["scenario"]: c["chosen"]["overrides"]
        for c in choose.choose(choose.candidates([_round("r1", *rows)]), targets)
    }
    assert chosen == {"random": {"model.init_args.lr": 0.1}, "class_0": {"model.init_args.lr": 0.2}}


def test_candidates_of_one_method_on_different_seeds_are_refused():
    choose = _module()
    with pytest.raises(ValueError, match="candidates on seeds 0 and 1"):
        choose.candidates([_round("r1", _row("m", 0.1, 62.0, 1.0)), _round("r2", _row("m", 0.2, 62.0, 1.0, seed=1))])
