"""Classification losses computed in float32, whatever precision the forward pass ran in."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def cross_entropy(logits: Tensor, targets: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Mean cross-entropy of ``logits`` (cast to float32, as bf16 logits lose precision in the log-sum-exp)."""
    return F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)


def unlikelihood(logits: Tensor, targets: Tensor) -> Tensor:
    """Per-sample ``-log(1 - p_y)``: lowers the probability of each sample's label without naming another class.

    Where gradient ascent on the cross-entropy grows without bound and a random target names a wrong class, this
    term only takes confidence away from ``y`` and leaves the network's other beliefs to fill it. Computed from
    the log-probabilities as ``-log(-expm1(log p_y))``, in float32.
    """
    log_p = F.log_softmax(logits.float(), -1).gather(1, targets[:, None]).squeeze(1)
    # a saturated logit gives log p_y = 0 and log(0): capped just below, where value and gradient are finite
    return -torch.log(-torch.expm1(log_p.clamp(max=-1e-6)))
