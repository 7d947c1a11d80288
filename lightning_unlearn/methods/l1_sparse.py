"""l1-sparse unlearning: fine-tuning with an L1 penalty whose weight decays linearly."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.models.optim import ScheduleCallable


class L1Sparse(UnlearningModule):
    """l1-sparse (Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023).

    Objective: ``min CE(f(x_r), y_r) + gamma_t * ||theta||_1`` with ``gamma_t = gamma * (1 - t / T)``
    decaying linearly over the run (the authors' schedule). Sparsity pushes the fine-tuned model toward one
    that generalises instead of memorising. Published recipe (CIFAR-10 / ResNet-18): gamma 5e-4, lr 0.01,
    10 epochs.

    Args:
        gamma: Initial weight of the L1 penalty.
        lr: Learning rate.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    uses_sets: ClassVar[tuple[str, ...]] = ("retain",)

    def __init__(
        self, gamma: float = 5e-4, lr: float = 0.01, lr_scheduler: ScheduleCallable | None = None, **kwargs: Any
    ) -> None:
        super().__init__(lr=lr, lr_scheduler=lr_scheduler, **kwargs)
        if gamma < 0:
            raise ValueError(f"gamma must be non-negative, got {gamma}")
        self.gamma = gamma

    def current_gamma(self) -> float:
        """The L1 weight at this step: linear decay from ``gamma`` to zero over the run."""
        total = max(1, int(self.trainer.estimated_stepping_batches))
        return self.gamma * max(0.0, 1.0 - self.global_step / total)

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """CE on retain plus the decaying L1 norm of the weights."""
        assert retain is not None
        retain_ce = cross_entropy(self(retain.inputs), retain.targets)
        l1 = torch.stack([p.abs().sum() for p in self.net.parameters()]).sum()
        gamma = self.current_gamma()
        return {"loss": retain_ce + gamma * l1, "retain_ce": retain_ce, "l1": l1.detach()}
