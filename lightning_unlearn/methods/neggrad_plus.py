"""NegGrad+: descent on the retain set, ascent on the forget set."""

from __future__ import annotations

from typing import Any

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.models.optim import ScheduleCallable


class NegGradPlus(UnlearningModule):
    """NegGrad+ (Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023).

    Objective: ``min alpha * CE(f(x_r), y_r) - (1 - alpha) * CE(f(x_f), y_f)``: gradient ascent held in check
    by fine-tuning on the same steps. The authors tune ``alpha`` per setting; 0.99 is our default.

    Args:
        alpha: Weight of the retain term; ``1 - alpha`` weighs the ascent.
        lr: Learning rate.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    def __init__(
        self, alpha: float = 0.99, lr: float = 0.01, lr_scheduler: ScheduleCallable | None = None, **kwargs: Any
    ) -> None:
        super().__init__(lr=lr, lr_scheduler=lr_scheduler, **kwargs)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        self.alpha = alpha

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """Weighted retain descent minus forget ascent, in one forward pass."""
        assert forget is not None and retain is not None
        forget_logits, retain_logits = self.joint_logits(forget, retain)
        forget_ce = cross_entropy(forget_logits, forget.targets)
        retain_ce = cross_entropy(retain_logits, retain.targets)
        return {
            "loss": self.alpha * retain_ce - (1 - self.alpha) * forget_ce,
            "forget_ce": forget_ce,
            "retain_ce": retain_ce,
        }
