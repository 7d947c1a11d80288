"""The gap to the retrained model, which is what unlearning is judged by."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

#: The metrics averaged by Avg.Gap (SalUn, Fan et al., ICLR 2024).
GAP_METRICS: tuple[str, ...] = ("UA", "RA", "TA", "MIA")
#: The same with the validation set in place of the test set: what a recipe is chosen by (never the test set).
SELECTION_GAP_METRICS: tuple[str, ...] = ("UA", "RA", "TA_val", "MIA_val")


def avg_gap(row: Mapping[str, float], retrain: Mapping[str, float], keys: Sequence[str] = GAP_METRICS) -> float:
    """Mean absolute difference to the retrained model over ``keys`` (UA, RA, TA, MIA-efficacy). Lower is better.

    Raises:
        KeyError: When a key is missing from either row.
    """
    diffs = [abs(float(row[k]) - float(retrain[k])) for k in keys]
    return sum(diffs) / len(diffs)


def run_time_ratio(seconds: float, retrain_seconds: float) -> float:
    """Run time as a share of retraining's (RTE ratio). Lower is better; ``nan`` without a retrain time."""
    if retrain_seconds <= 0 or math.isnan(retrain_seconds):
        return float("nan")
    return seconds / retrain_seconds
