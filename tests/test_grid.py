"""The benchmark grid: every run once, reruns served from the cache, mean and std over seeds."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
import yaml

from lightning_unlearn.grid import aggregate, content_key, run_grid
from tests.paths import ROOT

FIXTURES = str(ROOT / "tests" / "fixtures" / "grid")


def _taken(caplog) -> str:
    """The library's messages logged since the last call (the grid's progress lines)."""
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("lightning_unlearn"))
    caplog.clear()
    return text


def _grid(tmp_path, scenarios):
    return run_grid(
        name="tiny",
        data=f"{FIXTURES}/data.yaml",
        original=f"{FIXTURES}/original.yaml",
        retrain=f"{FIXTURES}/retrain.yaml",
        scenarios=scenarios,
        methods=["finetune", "feature_constraint"],
        methods_dir=f"{FIXTURES}/methods",
        seeds=[0, 1],
        out_dir=str(tmp_path),
    )


def test_grid_runs_every_cell_then_reuses_them_and_scores_the_original_like_a_method(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="lightning_unlearn")
    scenarios = {"class_0": {"classes": [0]}}
    first = _grid(tmp_path, scenarios)
    out = _taken(caplog)
    # original, retrain, the original scored on the scenario, 2 methods x 2 seeds
    assert out.count("cached") == 0 and "[7/7]" in out
    assert {(r["method"], r["seed"]) for r in first["rows"]} == {
        ("finetune", 0),
        ("finetune", 1),
        ("feature_constraint", 0),
        ("feature_constraint", 1),
        ("retrain", 0),
        ("original", 0),
    }
    for row in first["rows"]:
        assert {"scenario", "seed", "UA", "RA", "TA", "MIA", "avg_gap", "seconds", "retrain_seconds"} <= set(row)
        if row["method"] != "original":
            assert 0 < row["eval_overhead"] < 1  # the per-epoch monitor ran and cost less than training
    # another seed is another run: the batch order follows it (the data has no augmentation to differ by)
    from lightning_unlearn.callbacks.forgetting_metrics import load_outputs

    runs = sorted(tmp_path.glob("runs/class_0-*/finetune-seed*"))
    assert len(runs) == 2
    seed0, seed1 = (load_outputs(run / "outputs.pt")["retain"].probs for run in runs)
    assert not torch.equal(seed0, seed1)
    again = _grid(tmp_path, {**scenarios, "random": {"fraction": 0.2, "seed": 0}})
    out = _taken(caplog)
    assert out.count("cached") == 7  # only the new scenario's runs are computed
    old = [r for r in again["rows"] if r["scenario"] == "class_0"]
    assert [r["UA"] for r in old] == [r["UA"] for r in first["rows"]]
    results = json.loads((tmp_path / "tiny" / "results.json").read_text())
    assert len(results["summary"]) == 8 and (tmp_path / "tiny" / "gap_vs_time.png").stat().st_size > 1000
    markdown = (tmp_path / "tiny" / "results.md").read_text()
    assert "## random" in markdown and "| eval_overhead |" in markdown
    # the original is scored against each scenario's retrained model like any method
    originals = {r["scenario"]: r for r in again["rows"] if r["method"] == "original"}
    assert set(originals) == {"class_0", "random"}
    # the original trained on every sample: it still classifies the forgotten class, unlike its retrained model
    assert originals["class_0"]["UA"] < 50 and originals["class_0"]["seconds"] == 0.0
    assert originals["class_0"]["forget_sha256"] != originals["random"]["forget_sha256"]  # each scenario's sets
    regime = again["meta"]["regime"]
    assert regime["original_avg_gap_class_0"] == originals["class_0"]["avg_gap"] > 10
    assert regime["original_UA_random"] == originals["random"]["UA"]
    assert regime["original_RA"] == originals["class_0"]["RA"]
    retrain = next(r for r in again["rows"] if r["method"] == "retrain" and r["scenario"] == "random")
    assert regime["retrain_test_error_random"] == pytest.approx(100 - retrain["TA"])
    assert "original_avg_gap_class_0" in markdown


def test_aggregate_is_mean_and_sample_std_over_seeds():
    rows = [
        {"scenario": "s", "method": "m", "UA": 10.0, "seconds": 1.0},
        {"scenario": "s", "method": "m", "UA": 20.0, "seconds": 3.0},
    ]
    (entry,) = aggregate(rows)
    assert entry["UA"] == 15.0 and entry["UA_std"] == pytest.approx(7.0710678)
    assert entry["seconds"] == 2.0 and entry["seeds"] == 2


def test_content_key_changes_with_file_contents(tmp_path):
    config = tmp_path / "a.yaml"
    config.write_text("x: 1\n")
    before = content_key(str(config), {"classes": [0]}, 0)
    config.write_text("x: 2\n")
    assert content_key(str(config), {"classes": [0]}, 0) != before
    assert content_key(str(config), {"classes": [0]}, 1) != content_key(str(config), {"classes": [0]}, 0)


def test_sub_class_scenario_replaces_the_data_config_forget_spec(tmp_path):
    import yaml

    data = yaml.safe_load(Path(f"{FIXTURES}/data.yaml").read_text())
    synthetic = data["data"]["source"]
    data["data"]["source"] = {
        "class_path": "lightning_unlearn.data.Superclasses",
        "init_args": {"source": synthetic, "groups": [[0, 1], [2, 3]]},
    }
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(data))
    result = run_grid(
        name="sub",
        data=str(tmp_path / "data.yaml"),
        original=f"{FIXTURES}/original.yaml",
        retrain=f"{FIXTURES}/retrain.yaml",
        scenarios={"subclass_1": {"subclasses": [1]}},
        methods=["finetune"],
        methods_dir=f"{FIXTURES}/methods",
        seeds=[0],
        out_dir=str(tmp_path / "out"),
    )
    splits = [json.loads(p.read_text()) for p in (tmp_path / "out" / "runs").rglob("split.json")]
    forgotten = {(tuple(s["forget_classes"]), tuple(s["forget_subclasses"]), len(s["forget"])) for s in splits}
    assert forgotten == {
        ((), (1,), 24)
    }  # one split, shared by retrain and the method; the data config's class 0 is gone
    assert {r["method"] for r in result["rows"]} == {"finetune", "retrain", "original"}
    assert all("TA_forgotten" in r for r in result["rows"])


def test_a_change_to_shared_code_recomputes_every_run_that_executes_it(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="lightning_unlearn")
    import shutil

    from lightning_unlearn import grid

    package = tmp_path / "package"
    shutil.copytree(grid.PACKAGE_ROOT, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(grid, "PACKAGE_ROOT", package)

    def run() -> str:
        run_grid(
            name="code",
            data=f"{FIXTURES}/data.yaml",
            original=f"{FIXTURES}/original.yaml",
            retrain=f"{FIXTURES}/retrain.yaml",
            scenarios={"class_0": {"classes": [0]}},
            methods=["finetune"],
            methods_dir=f"{FIXTURES}/methods",
            out_dir=str(tmp_path / "out"),
        )
        return _taken(caplog)

    def edit(relative: str) -> None:
        path = package / relative
        path.write_text(path.read_text() + "\n# an edit\n")
        grid._SNAPSHOTS.clear()  # the next grid is a new process that reads the edited code

    assert run().count("cached") == 0
    assert run().count("cached") == 4  # original, retrain, the original scored, finetune
    edit("methods/base.py")  # shared by every unlearning method, not finetune's own file
    assert run().count("cached") == 0
    edit("data/datamodule.py")
    assert run().count("cached") == 0
    edit("methods/scrub.py")  # another method's own file: nothing here runs it
    (package / "metrics" / "NOTES.txt").write_text("not code")
    assert run().count("cached") == 4
    edit("methods/finetune.py")
    out = run()
    assert out.count("cached") == 3 and "finetune seed 0: cached" not in out


def test_a_file_edited_while_a_grid_runs_keeps_the_key_of_the_code_it_started_with(tmp_path, monkeypatch):
    import shutil

    from lightning_unlearn import grid

    package = tmp_path / "package"
    shutil.copytree(grid.PACKAGE_ROOT, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(grid, "_SNAPSHOTS", {})
    before = grid.package_fingerprint("lightning_unlearn.methods.finetune", root=package)
    base = package / "methods" / "base.py"
    base.write_text(base.read_text() + "\n# edited mid-grid\n")
    assert grid.package_fingerprint("lightning_unlearn.methods.finetune", root=package) == before
    grid._SNAPSHOTS.clear()
    assert grid.package_fingerprint("lightning_unlearn.methods.finetune", root=package) != before


def test_a_method_run_is_keyed_on_the_methods_it_subclasses(tmp_path, monkeypatch):
    import shutil

    from lightning_unlearn import grid

    package = tmp_path / "package"
    shutil.copytree(grid.PACKAGE_ROOT, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(grid, "_SNAPSHOTS", {})
    salun, finetune = (grid.modules_of(f"configs/methods/{m}.yaml") for m in ("salun", "finetune"))
    assert "lightning_unlearn.methods.random_labels" in salun
    before = [grid.package_fingerprint(m, root=package) for m in (salun, finetune)]
    parent = package / "methods" / "random_labels.py"  # SalUn subclasses RandomLabels
    parent.write_text(parent.read_text() + "\n# an edit\n")
    grid._SNAPSHOTS.clear()
    after = [grid.package_fingerprint(m, root=package) for m in (salun, finetune)]
    assert after[0] != before[0] and after[1] == before[1]


def test_reference_models_give_every_row_the_lira_attack_computed_from_the_runs_outputs(tmp_path, caplog):
    from lightning_unlearn.callbacks.forgetting_metrics import load_outputs
    from lightning_unlearn.metrics.lira import lira_attack

    caplog.set_level(logging.INFO, logger="lightning_unlearn")

    def grid(references: int) -> dict:
        return run_grid(
            name="lira",
            data=f"{FIXTURES}/data.yaml",
            original=f"{FIXTURES}/original.yaml",
            retrain=f"{FIXTURES}/retrain.yaml",
            scenarios={"random": {"fraction": 0.25, "seed": 0}},
            methods=["finetune"],
            methods_dir=f"{FIXTURES}/methods",
            out_dir=str(tmp_path),
            reference_models=references,
        )

    result = grid(2)
    out = _taken(caplog)
    assert "[6/6]" in out and "reference model 2/2" in out and out.count("cached") == 0
    assert [r["method"] for r in result["rows"]] == ["retrain", "original", "finetune"]  # each row once
    (folder,) = tmp_path.glob("runs/random-*")
    references = sorted(folder.glob("reference*"))
    assert [p.name[:10] for p in references] == ["reference1", "reference2"]
    ref_outputs = [load_outputs(p / "outputs.pt") for p in references]
    assert not torch.equal(ref_outputs[0]["test"].probs, ref_outputs[1]["test"].probs)  # two seeds, two models
    scores = torch.load(tmp_path / "lira" / "lira_scores.pt", weights_only=True)
    assert set(scores) == {"random/retrain/seed0", "random/original/seed0", "random/finetune/seed0"}
    for row in result["rows"]:
        run = next(folder.glob(f"{row['method']}-*"))
        expected = lira_attack(load_outputs(run / "outputs.pt"), ref_outputs)
        assert row["LiRA_AUC"] == expected.auc and row["LiRA_TPR@1%FPR"] == expected.tpr_at_1_fpr
        saved = scores[f"random/{row['method']}/seed0"]
        torch.testing.assert_close(saved["forget"], expected.forget_scores)
        torch.testing.assert_close(saved["unseen"], expected.unseen_scores)
        assert len(expected.forget_scores) == 24 and len(expected.unseen_scores) == 64
    # the references are the retrain recipe on the scenario's retain set, with their own seed and batch order
    retrain_receipt = json.loads(next(folder.glob("retrain-*/receipt.json")).read_text())
    for seed, path in enumerate(references, 1):
        config = yaml.safe_load((path / "config.yaml").read_text())
        assert config["model"]["class_path"] == "lightning_unlearn.methods.Retrain"
        assert config["seed_everything"] == seed and config["data"]["order_seed"] == seed
        receipt = json.loads((path / "receipt.json").read_text())
        assert receipt["forget"] == retrain_receipt["forget"]
    assert (tmp_path / "lira" / "lira_scores.png").stat().st_size > 1000
    assert "LiRA_AUC" in (tmp_path / "lira" / "results.md").read_text()
    assert result["meta"]["reference_models"] == 2
    more = grid(3)  # the first two references come from the cache
    out = _taken(caplog)
    assert "reference model 1/3: cached" in out and "reference model 3/3: cached" not in out
    assert more["rows"][2]["LiRA_AUC"] != result["rows"][2]["LiRA_AUC"]
    with pytest.raises(ValueError, match="reference_models"):
        grid(-1)


def test_stage_options_set_each_option_once_and_leave_unset_ones_to_the_configs():
    from lightning_unlearn.experiment import StageOptions

    assert StageOptions().cli_args() == []
    args = StageOptions(
        seed=3, order_seed=4, forget={"fraction": 0.1}, original_ckpt="o.ckpt", reference_outputs="r.pt"
    ).cli_args()
    forget = json.loads(next(a for a in args if a.startswith("--data.forget=")).partition("=")[2])
    # the other selectors are nulled: jsonargparse would otherwise merge them with the data config's
    assert forget == {
        **dict.fromkeys(("classes", "subclasses", "count", "indices", "indices_file")),
        "fraction": 0.1,
        "seed": 0,
    }
    assert sorted(a for a in args if not a.startswith("--data.forget=")) == [
        "--data.order_seed=4",
        "--forgetting_metrics.reference_outputs=r.pt",
        "--model.init_args.original_ckpt=o.ckpt",
        "--receipt.reference_outputs=r.pt",
        "--seed_everything=3",
    ]
