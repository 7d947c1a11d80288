"""Gradient ascent (GA, "NegGrad") on the forget set."""

from __future__ import annotations

from typing import Any, ClassVar

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.models.optim import ScheduleCallable


class GradientAscent(UnlearningModule):
    """Maximise the loss on the forget set (Thudi et al., EuroS&P 2022; Golatkar et al., CVPR 2020).

    Objective: ``min -CE(f(x_f), y_f)``. Unbounded below: it forgets fast and then destroys the network, so
    the learning rate and epochs are small. Published recipe (SalUn, CIFAR-10): lr 1e-5 to 1e-4, 5 epochs.

    Args:
        lr: Learning rate.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    uses_sets: ClassVar[tuple[str, ...]] = ("forget",)

    def __init__(self, lr: float = 1e-4, lr_scheduler: ScheduleCallable | None = None, **kwargs: Any) -> None:
        super().__init__(lr=lr, lr_scheduler=lr_scheduler, **kwargs)

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """Negated cross-entropy on the forget batch."""
        assert forget is not None
        forget_ce = cross_entropy(self(forget.inputs), forget.targets)
        return {"loss": -forget_ce, "forget_ce": forget_ce}
