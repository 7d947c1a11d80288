"""Every metric of one model from its per-set outputs: the numbers a report row holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from lightning_unlearn.metrics.accuracy import accuracy, unlearning_accuracy
from lightning_unlearn.metrics.divergence import (
    activation_distance,
    label_histogram,
    mean_js_divergence,
    zrf_score,
    zrf_score_authors_code,
)
from lightning_unlearn.metrics.mia import loss_mia_accuracy, mia_efficacy
from lightning_unlearn.metrics.outputs import SampleOutputs
from lightning_unlearn.metrics.registry import MIA_FEATURE_METRICS


def aligned(a: SampleOutputs, b: SampleOutputs) -> tuple[Tensor, Tensor]:
    """The two models' probabilities on the samples both have, matched by sample index."""
    common, ia, ib = _intersect(a.indices, b.indices)
    if common.numel() == 0:
        raise ValueError("the two output sets share no sample index")
    return a.probs[ia], b.probs[ib]


def _intersect(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    pos_x = {int(v): i for i, v in enumerate(x.tolist())}
    pairs = [(v, pos_x[v], j) for j, v in enumerate(y.tolist()) if v in pos_x]
    if not pairs:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty, empty
    values, ix, iy = zip(*pairs, strict=True)
    return torch.tensor(values), torch.tensor(ix), torch.tensor(iy)


def losses_of(a: SampleOutputs, b: SampleOutputs) -> tuple[Tensor, Tensor] | None:
    """The per-sample losses (from the logits) of two output sets, or ``None`` when either has none."""
    return None if a.losses is None or b.losses is None else (a.losses, b.losses)


def accuracy_metrics(outputs: Mapping[str, SampleOutputs]) -> dict[str, float]:
    """``<set>/acc`` for every set."""
    return {f"{name}/acc": accuracy(o.probs, o.targets) for name, o in outputs.items()}


def mia_metrics(outputs: Mapping[str, SampleOutputs], seed: int = 0) -> dict[str, float]:
    """MIA-efficacy with the three features (forget vs a retain sample vs test) and the loss-based MIA."""
    f, r, t = outputs["forget"], outputs["retain"], outputs["test"]
    values = {
        name: mia_efficacy((f.probs, f.targets), (r.probs, r.targets), (t.probs, t.targets), feature, seed)
        for feature, name in MIA_FEATURE_METRICS.items()
    }
    try:
        values["MIA_loss"] = loss_mia_accuracy((f.probs, f.targets), (t.probs, t.targets), seed, losses=losses_of(f, t))
    except ValueError:
        values["MIA_loss"] = float("nan")  # too few samples for 10 splits
    return values


def validation_metrics(outputs: Mapping[str, SampleOutputs], seed: int = 0) -> dict[str, float]:
    """``TA_val`` and ``MIA_val``: TA and MIA-efficacy with the validation set in place of the test set.

    The validation set is training data no model trained on and no method read (``validation_fraction``), so
    a recipe chosen by the gap in these metrics has not read the test set. Empty without a ``val`` set.
    """
    if "val" not in outputs:
        return {}
    f, r, v = outputs["forget"], outputs["retain"], outputs["val"]
    return {
        "TA_val": accuracy(v.probs, v.targets),
        "MIA_val": mia_efficacy((f.probs, f.targets), (r.probs, r.targets), (v.probs, v.targets), "confidence", seed),
    }


def summarize(
    outputs: Mapping[str, SampleOutputs],
    reference: Mapping[str, SampleOutputs] | None = None,
    random_forget_probs: Tensor | None = None,
    seed: int = 0,
    mia: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """All metrics of one model.

    Args:
        outputs: Per-set outputs with at least ``forget``, ``retain`` and ``test`` (``test_forget`` for
            class-wise forgetting).
        reference: The retrained model's outputs on the same sets, for the prediction-distribution distances.
        random_forget_probs: A randomly initialised network's probabilities on the forget set (sorted by
            index, like ``outputs["forget"]``), for ZRF.
        seed: Seed of the MIA member sample and splits.
        mia: The attacks' values when already computed on these outputs (they are the slow part).

    Returns:
        ``UA, RA, TA`` (+ ``TA_forgotten``), ``MIA, MIA_entropy, MIA_m_entropy, MIA_loss``, with a validation set
        ``TA_val, MIA_val`` (see :func:`validation_metrics`), with a reference
        ``JS_forget, JS_test, AD_forget, AD_test``, with random outputs ``ZRF`` and ``ZRF_authors_code``, and
        ``forget_predicted`` (the predicted-label histogram on the forget set).
    """
    acc = accuracy_metrics(outputs)
    row: dict[str, Any] = {
        "UA": unlearning_accuracy(acc["forget/acc"]),
        "RA": acc["retain/acc"],
        "TA": acc["test/acc"],
    }
    if "test_forget" in outputs:
        row["TA_forgotten"] = acc["test_forget/acc"]
    row.update(mia if mia is not None else mia_metrics(outputs, seed))
    row.update(validation_metrics(outputs, seed))
    if reference is not None:
        for name in ("forget", "test"):
            p, q = aligned(outputs[name], reference[name])
            row[f"JS_{name}"] = mean_js_divergence(p, q)
            row[f"AD_{name}"] = activation_distance(p, q)
    if random_forget_probs is not None:
        row["ZRF"] = zrf_score(outputs["forget"].probs, random_forget_probs)
        row["ZRF_authors_code"] = zrf_score_authors_code(outputs["forget"].probs, random_forget_probs)
    num_classes = int(outputs["forget"].probs.shape[1])
    row["forget_predicted"] = label_histogram(outputs["forget"].probs, num_classes)
    return row
