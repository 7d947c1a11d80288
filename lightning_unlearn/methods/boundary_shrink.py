"""Boundary Shrink: relabel each forget sample with its nearest wrong class and fine-tune on that."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.models.optim import ScheduleCallable


class BoundaryShrink(UnlearningModule):
    """Boundary shrinking (Chen et al., "Boundary Unlearning", CVPR 2023).

    For each forget sample a neighbour label is found by attacking the frozen original model: one signed
    gradient step of size ``bound`` (in normalised pixel units) that increases its loss, ``x' = x + bound *
    sign(grad_x CE(f_0(x), y))``; the label is the original model's prediction on ``x'``, or its most likely
    *other* class when the step did not cross the boundary. Objective: ``min CE(f(x_f), y_nbr)``: the forget
    samples move to their nearest wrong class, shrinking the forgotten class's decision region. Only forget
    data is used. Published recipe: FGSM bound 0.1, SGD lr 1e-5, a few epochs.

    Args:
        bound: Size of the attack step.
        lr: Learning rate.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    uses_sets: ClassVar[tuple[str, ...]] = ("forget",)
    eval_only_modules: ClassVar[tuple[str, ...]] = ("original",)

    def __init__(
        self, bound: float = 0.1, lr: float = 1e-5, lr_scheduler: ScheduleCallable | None = None, **kwargs: Any
    ) -> None:
        super().__init__(lr=lr, lr_scheduler=lr_scheduler, **kwargs)
        if bound <= 0:
            raise ValueError(f"bound must be positive, got {bound}")
        self.bound = bound
        self.original = self.frozen_copy()

    def neighbour_labels(self, batch: Batch) -> Tensor:
        """The nearest wrong class of each sample under the original model."""
        x = self._format(batch.inputs).detach().requires_grad_(True)
        with torch.enable_grad():
            loss = cross_entropy(self.original(x), batch.targets)
            (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            logits = self.original(x + self.bound * grad.sign()).float()
            wrong = logits.scatter(1, batch.targets.view(-1, 1), float("-inf"))
            predicted = logits.argmax(1)
            return torch.where(predicted != batch.targets, predicted, wrong.argmax(1))

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """Cross-entropy of the forget batch to its neighbour labels."""
        assert forget is not None
        labels = self.neighbour_labels(forget)
        return cross_entropy(self(forget.inputs), labels)
