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


def still_memorised(probs: Tensor, targets: Tensor, indices: Tensor, reference: Tensor, seed: int = 0) -> Tensor:
    """``[N]`` bool: whether each forget sample is more confident in its label than its target quantile.

    Args:
        probs: The model's softmax outputs on the forget samples.
        targets: Their labels.
        indices: Their dataset indices (they fix each sample's quantile).
        reference: Sorted reference values (:func:`reference_values`); empty means "always push".
        seed: Seed of the quantiles.
    """
    p_true = probs.detach().gather(1, targets.view(-1, 1)).flatten().float()
    if reference.numel() == 0:
        return torch.ones_like(p_true, dtype=torch.bool)
    u = unit_uniform(indices, seed).to(reference.device)
    position = (u * (reference.numel() - 1)).round().long().clamp(0, reference.numel() - 1)
    return p_true > reference[position].to(p_true.device)
