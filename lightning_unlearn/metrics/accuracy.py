"""Accuracy-based forgetting metrics: UA, RA, TA.

Source: Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023.
"""

from __future__ import annotations

from torch import Tensor


def accuracy(probs: Tensor, targets: Tensor) -> float:
    """Top-1 accuracy in percent; ``nan`` for an empty set."""
    if targets.numel() == 0:
        return float("nan")
    return float((probs.argmax(1) == targets).float().mean().item() * 100.0)


def unlearning_accuracy(forget_acc: float) -> float:
    """UA = 100 - accuracy on the forget set. Closer to the retrained model's UA is better.

    For class-wise forgetting the retrained model scores UA = 100 (it never learned the class); for random
    forgetting it scores roughly its test error, since the forget samples look like unseen data to it.
    """
    return 100.0 - forget_acc
