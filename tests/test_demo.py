"""The embedded default end to end: `make demo` runs exactly this experiment."""

from __future__ import annotations

import json

from lightning_unlearn.experiment import run_experiment


def test_digits_demo_forgets_the_class_and_stays_close_to_retrain(tmp_path):
    rows = run_experiment(
        data="configs/demo/data.yaml",
        original="configs/demo/original.yaml",
        retrain="configs/demo/retrain.yaml",
        methods=["feature_constraint"],
        out_dir=str(tmp_path),
    )
    by_name = {r["method"]: r for r in rows}
    original, retrain, unlearned = by_name["original"], by_name["retrain"], by_name["feature_constraint"]
    assert original["UA"] <= 5.0  # the original model knows the class it must forget
    assert retrain["UA"] == 100.0 and retrain["TA_forgotten"] == 0.0
    assert unlearned["UA"] >= 90.0
    assert abs(unlearned["TA"] - retrain["TA"]) <= 5.0
    assert unlearned["seconds"] < retrain["seconds"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert [r["method"] for r in report["rows"]] == ["original", "retrain", "feature_constraint"]
    assert {"method", "UA", "RA", "TA", "seconds"} <= set(report["rows"][0])
    assert len({r["forget_sha256"] for r in report["rows"]}) == 1
    assert "| feature_constraint |" in (tmp_path / "report.md").read_text()
    assert (tmp_path / "original" / "model.ckpt").is_file()
    for stage in ("retrain", "feature_constraint"):
        assert (tmp_path / stage / "unlearned.ckpt").is_file() and (tmp_path / stage / "receipt.json").is_file()
        assert (tmp_path / stage / "config.yaml").is_file()
    # the metric callbacks ran inside fit: one monitor row per epoch, MIA at the last one (demo config)
    history = json.loads((tmp_path / "feature_constraint" / "history.json").read_text())
    assert len(history) == 20 and "mia/efficacy" in history[-1]
    assert history[-1]["forget/acc"] <= 10.0 and "forget/js_retrain" in history[-1]
    assert retrain["MIA"] == 100.0 and unlearned["MIA"] >= 90.0 and original["MIA"] <= 10.0
    assert unlearned["avg_gap"] < original["avg_gap"] and retrain["avg_gap"] == 0.0
    assert unlearned["eval_overhead"] < 0.2  # measured about 0.09; the bound leaves room for a loaded machine
    for plot in ("curves.png", "forget_predictions.png", "confidence.png"):
        assert (tmp_path / plot).stat().st_size > 1000
