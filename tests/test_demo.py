"""The embedded default end to end: `make demo` runs exactly this command (`lightning-unlearn demo`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from tests.paths import ROOT

#: What the demo may print: stage lines (``[1/3] original: ...`` and the indented lines below them), the table
#: and where the report went.
PRINTED = re.compile(r"\[\d/3\] \w+: fit \+ test \(.*\)|      \w+: .*|\|.*\||report: .*")


def test_digits_demo_forgets_the_class_and_stays_close_to_retrain(tmp_path):
    # `lightning-unlearn demo`, a real process with Python's default warning filters, from a folder without the
    # repository's configs (they come from the package): what it prints is all a user sees
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "lightning_unlearn", "demo", "--out_dir", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.strip().splitlines()
    assert [line for line in lines if not PRINTED.fullmatch(line)] == [], proc.stdout
    assert lines[0].startswith("[1/3] original") and lines[-1].startswith("report:")
    assert list(elsewhere.iterdir()) == []  # nothing written to the working folder
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    by_name = {r["method"]: r for r in rows}
    original, retrain, unlearned = by_name["original"], by_name["retrain"], by_name["feature_constraint"]
    assert original["UA"] <= 5.0  # the original model knows the class it must forget
    assert retrain["UA"] == 100.0 and retrain["TA_forgotten"] == 0.0
    assert unlearned["UA"] >= 90.0
    assert abs(unlearned["TA"] - retrain["TA"]) <= 5.0
    # Speed is measured by the benchmarks, not asserted here: a loaded machine would fail a timing bound.
    assert unlearned["seconds"] > 0 and retrain["seconds"] > 0
    assert [r["method"] for r in rows] == ["original", "retrain", "feature_constraint"]
    assert {"method", "UA", "RA", "TA", "seconds"} <= set(rows[0])
    assert len({r["forget_sha256"] for r in rows}) == 1
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
    assert unlearned["avg_gap"] < original["avg_gap"]
    assert unlearned["eval_seconds"] > 0  # the monitor's time is measured apart from the method's
    for plot in ("curves.png", "forget_predictions.png", "confidence.png"):
        assert (tmp_path / plot).stat().st_size > 1000
