"""Fine-tuning (FT) on the retain set: forgetting by catastrophic forgetting."""

from __future__ import annotations

from typing import Any, ClassVar

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.models.optim import ScheduleCallable


class FineTune(UnlearningModule):
    """Continue training the original model on the retain set only (Warnecke et al., NDSS 2023; SalUn's FT).

    Objective: ``min CE(f(x_r), y_r)``. The forget set is never touched; it fades as the network drifts.
    Published recipe (SalUn, CIFAR-10 / ResNet-18): SGD, lr 0.01 to 0.1, 10 epochs over the retain set.

    Args:
        lr: Learning rate.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    uses_sets: ClassVar[tuple[str, ...]] = ("retain",)

    def __init__(self, lr: float = 0.01, lr_scheduler: ScheduleCallable | None = None, **kwargs: Any) -> None:
        super().__init__(lr=lr, lr_scheduler=lr_scheduler, **kwargs)

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """Cross-entropy on the retain batch."""
        assert retain is not None
        return cross_entropy(self(retain.inputs), retain.targets)
