"""The gap to the retrained model, which is what unlearning is judged by."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from lightning_unlearn.metrics.registry import GAP_METRICS, SELECTION_GAP_METRICS

__all__ = ["GAP_METRICS", "SELECTION_GAP_METRICS", "avg_gap", "mean_row", "run_time_ratio"]


def avg_gap(row: Mapping[str, float], retrain: Mapping[str, float], keys: Sequence[str] = GAP_METRICS) -> float:
    """Mean absolute difference to the retrained model over ``keys`` (UA, RA, TA, MIA-efficacy). Lower is better.

    Raises:
        KeyError: When a key is missing from either row.
    """
    diffs = [abs(float(row[k]) - float(retrain[k])) for k in keys]
    return sum(diffs) / len(diffs)


def mean_row(rows: Sequence[Mapping[str, float]], keys: Sequence[str]) -> dict[str, float]:
    """The mean of each of ``keys`` over ``rows``.

    Over several retrained models (the same recipe and data, other seeds) this is a gap target that does not
    follow one model's seed: a single retrained model's validation figures can sit several of the others'
    standard deviations away from their mean.

    Raises:
        ValueError: When ``rows`` is empty.
        KeyError: When a key is missing from a row.
    """
    if not rows:
        raise ValueError("mean_row needs at least one row")
    return {k: sum(float(r[k]) for r in rows) / len(rows) for k in keys}


def run_time_ratio(seconds: float, retrain_seconds: float) -> float:
    """Run time as a share of retraining's (RTE ratio). Lower is better; ``nan`` without a retrain time."""
    if retrain_seconds <= 0 or math.isnan(retrain_seconds):
        return float("nan")
    return seconds / retrain_seconds
