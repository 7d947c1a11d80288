"""Classification losses computed in float32, whatever precision the forward pass ran in."""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F


def cross_entropy(logits: Tensor, targets: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Mean cross-entropy of ``logits`` (cast to float32, as bf16 logits lose precision in the log-sum-exp)."""
    return F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)
