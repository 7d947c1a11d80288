"""SCRUB: a student that moves away from the original on forget data and stays with it on retain data."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.losses.distillation import distillation_kl
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.models.optim import ScheduleCallable


class SCRUB(UnlearningModule):
    """SCRUB (Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023).

    Teacher: the frozen original. Student: the network being unlearned. Two kinds of steps alternate:

    * **max-steps** (the first ``max_epochs`` epochs only): ``max KL(teacher(x_f) || student(x_f))``;
    * **min-steps** (every epoch): ``min alpha * KL(teacher(x_r) || student(x_r)) + gamma * CE(student(x_r), y_r)``.

    The reference code runs a pass over the forget set, then one over the retain set, each epoch. Here each
    step takes one forget and one retain batch; during the max-step epochs a step is ``min-term - beta *
    max-term`` until the forget set has been seen once in the epoch (as many max-steps as the reference
    takes, however much the loader cycles the smaller forget set), then the min-term alone. KL at temperature
    ``kd_temperature``. Published recipe
    (CIFAR-10, ResNet-18): SGD lr 5e-4, 3 epochs of which 2 with max-steps, ``alpha = 0.001``, ``gamma = 0.99``,
    ``T = 4``. The rewinding variant (SCRUB+R) is not implemented.

    Args:
        max_epochs: Epochs with max-steps on the forget set.
        alpha: Weight of the retain KL.
        gamma: Weight of the retain cross-entropy.
        beta: Weight of the forget KL in a max-step.
        kd_temperature: Distillation temperature.
        lr: Learning rate.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    eval_only_modules: ClassVar[tuple[str, ...]] = ("teacher",)

    def __init__(
        self,
        max_epochs: int = 2,
        alpha: float = 0.001,
        gamma: float = 0.99,
        beta: float = 1.0,
        kd_temperature: float = 4.0,
        lr: float = 5e-4,
        lr_scheduler: ScheduleCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr=lr, lr_scheduler=lr_scheduler, **kwargs)
        if max_epochs < 0:
            raise ValueError(f"max_epochs must be non-negative, got {max_epochs}")
        self.max_epochs = max_epochs
        self.alpha = alpha
        self.gamma = gamma
        self.beta = beta
        self.kd_temperature = kd_temperature
        self.teacher = self.frozen_copy()
        self._forget_seen = 0

    def on_train_epoch_start(self) -> None:
        """Start counting this epoch's forget samples (one max-step pass over the forget set per epoch)."""
        self._forget_seen = 0

    def _max_step_active(self, forget: Batch) -> bool:
        n_forget = self.split.forget.numel() if self.split is not None else forget.targets.numel()
        active = self.current_epoch < self.max_epochs and self._forget_seen < n_forget
        self._forget_seen += forget.targets.numel() * max(1, self.trainer.world_size)
        return active

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """Min-term on retain, minus the max-term on forget during the first ``max_epochs`` epochs."""
        assert forget is not None and retain is not None
        forget_logits, retain_logits = self.joint_logits(forget, retain)
        with torch.no_grad():
            teacher_forget, teacher_retain = self.joint_logits(forget, retain, self.teacher)
        retain_kl = distillation_kl(retain_logits, teacher_retain, self.kd_temperature)
        retain_ce = cross_entropy(retain_logits, retain.targets)
        forget_kl = distillation_kl(forget_logits, teacher_forget, self.kd_temperature)
        total = self.alpha * retain_kl + self.gamma * retain_ce
        if self._max_step_active(forget):
            total = total - self.beta * forget_kl
        return {"loss": total, "forget_kl": forget_kl.detach(), "retain_kl": retain_kl, "retain_ce": retain_ce}
