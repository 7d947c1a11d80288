"""Every metric is declared once, and the summary, the callbacks, the report and Avg.Gap all read that declaration."""

from __future__ import annotations

import re

import torch

from lightning_unlearn.callbacks import ForgettingMetrics, MembershipInference, save_outputs
from lightning_unlearn.grid import SUMMARY_KEYS
from lightning_unlearn.metrics import SampleOutputs, avg_gap, summarize
from lightning_unlearn.metrics.registry import GAP_METRICS, METRICS, SELECTION_GAP_METRICS
from lightning_unlearn.report import COLUMNS, DETAIL_COLUMNS


def _outputs(seed: int) -> dict[str, SampleOutputs]:
    gen = torch.Generator().manual_seed(seed)
    sets = {}
    for i, name in enumerate(("forget", "retain", "test", "test_forget", "val")):
        n = 40
        probs = torch.rand(n, 4, generator=gen).softmax(-1)
        targets = torch.randint(0, 4, (n,), generator=gen)
        losses = -probs[torch.arange(n), targets].log().double()
        sets[name] = SampleOutputs(probs, targets, torch.arange(n) + 100 * i, losses)
    return sets


def test_every_summary_key_report_column_and_grid_column_is_declared():
    row = summarize(_outputs(0), reference=_outputs(1), random_forget_probs=_outputs(2)["forget"].probs)
    assert set(row) - {"forget_predicted"} <= set(METRICS)
    assert {"UA", "RA", "TA", "TA_forgotten", "MIA", "TA_val", "MIA_val", "JS_forget", "ZRF"} <= set(row)
    assert (set(COLUMNS) | set(DETAIL_COLUMNS)) - {"method"} <= set(METRICS)
    assert set(SUMMARY_KEYS) <= set(METRICS)
    assert all(METRICS[k].table is None for k in ("TA_val", "MIA_val"))  # tuning metrics stay off the report


def test_the_callbacks_log_under_the_declared_names(tmp_path):
    outputs = _outputs(0)
    save_outputs(_outputs(1), tmp_path / "ref.pt")
    logged = set(ForgettingMetrics(reference_outputs=str(tmp_path / "ref.pt")).compute_values(outputs, "test"))
    logged |= set(MembershipInference().compute_values(outputs, "test"))
    declared = {spec.log_name for spec in METRICS.values() if spec.log_name is not None}
    per_set_accuracy = {name for name in logged if re.fullmatch(r"\w+/acc", name)}
    assert logged - per_set_accuracy == declared - {"retain/acc", "test/acc", "test_forget/acc"}
    assert {METRICS[k].log_name for k in ("RA", "TA", "TA_forgotten")} <= per_set_accuracy


def test_avg_gap_averages_exactly_the_metrics_declared_in_gap_and_selection_swaps_in_validation():
    assert GAP_METRICS == ("UA", "RA", "TA", "MIA")
    assert SELECTION_GAP_METRICS == ("UA", "RA", "TA_val", "MIA_val")
    row = {name: 10.0 for name in METRICS}
    retrain = {name: (14.0 if METRICS[name].in_gap else 99.0) for name in METRICS}
    assert avg_gap(row, retrain) == 4.0  # the 99s of the undeclared metrics never enter
    assert "(closer to retrain is better)" in COLUMNS["MIA"] and "(lower is better)" in COLUMNS["avg_gap"]
