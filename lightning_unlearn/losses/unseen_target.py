"""Per-sample targets for forgetting, drawn from how the model treats data it never trained on.

A forget sample is forgotten when the model treats it like unseen data: after random-sample forgetting the
retrained model still classifies most forget samples correctly, about as confidently as test data; after
class-wise forgetting it gives the forgotten class the small probability any model gives a class a sample
does not belong to. A holdout set (training data no model of the experiment trained on, never the test set)
shows both. Each forget sample gets a fixed random quantile ``u_i`` and is pushed only while its
true-class probability exceeds that quantile of the holdout's reference distribution, so the forget set ends
with the holdout's distribution instead of being driven to zero (over-forgetting) or left memorised.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

TargetKind = Literal["true_class", "wrong_class"]
_HASH = 2654435761


def unit_uniform(indices: Tensor, seed: int = 0) -> Tensor:
    """A fixed number in ``(0, 1)`` for each sample index: its target quantile."""
    mixed = (indices.long() * _HASH + seed * 7919 + 1) % (2**31 - 1)
    mixed = (mixed * _HASH) % (2**31 - 1)
    return (mixed.double() + 0.5) / (2**31 - 1)


def reference_values(probs: Tensor, targets: Tensor, kind: TargetKind) -> Tensor:
    """Sorted reference distribution from holdout outputs.

    ``true_class``: each holdout sample's probability of its own label (random-sample forgetting).
    ``wrong_class``: every probability a holdout sample gives a label it does not have (class-wise forgetting).
    """
    if kind == "true_class":
        values = probs.gather(1, targets.view(-1, 1)).flatten()
    elif kind == "wrong_class":
        mask = torch.ones_like(probs, dtype=torch.bool)
        mask.scatter_(1, targets.view(-1, 1), False)
        values = probs[mask]
    else:
        raise ValueError(f"unknown target kind {kind!r}; expected true_class or wrong_class")
    return values.float().sort().values


def target_gap(probs: Tensor, targets: Tensor, indices: Tensor, reference: Tensor, seed: int = 0) -> Tensor:
    """``[N]``: each forget sample's confidence in its label minus its target quantile of the reference.

    Positive while a sample is more confident than the unseen data it should resemble; the mean over a batch is
    a signed measure of how far the forget set is from looking unseen (zero when it matches the reference's
    distribution on average, negative when it was pushed past it).

    Args:
        probs: The model's softmax outputs on the forget samples.
        targets: Their labels.
        indices: Their dataset indices (they fix each sample's quantile).
        reference: Sorted reference values (:func:`reference_values`); empty means a target of 0 for every sample.
        seed: Seed of the quantiles.
    """
    p_true = probs.detach().gather(1, targets.view(-1, 1)).flatten().float()
    if reference.numel() == 0:
        return p_true
    u = unit_uniform(indices, seed).to(reference.device)
    position = (u * (reference.numel() - 1)).round().long().clamp(0, reference.numel() - 1)
    return p_true - reference[position].to(p_true.device)


def still_memorised(probs: Tensor, targets: Tensor, indices: Tensor, reference: Tensor, seed: int = 0) -> Tensor:
    """``[N]`` bool: whether each forget sample is more confident in its label than its target quantile.

    See :func:`target_gap` for the arguments; an empty reference means "always push".
    """
    if reference.numel() == 0:
        return torch.ones(targets.shape[0], dtype=torch.bool, device=probs.device)
    return target_gap(probs, targets, indices, reference, seed) > 0
