"""Bad Teacher: distil from the original on retain data and from a random network on forget data."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.distillation import distillation_kl
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.models.optim import OptimizerCallable, ScheduleCallable


class BadTeacher(UnlearningModule):
    """Competent / incompetent teacher (Chundawat et al., "Can Bad Teaching Induce Forgetting?", AAAI 2023).

    Objective: ``min KL(T_c(x_r) || f(x_r)) + KL(T_d(x_f) || f(x_f))`` at temperature ``T``, where the competent
    teacher ``T_c`` is the frozen original model and the incompetent teacher ``T_d`` a frozen, randomly
    initialised network of the same architecture (seeded by ``teacher_seed``). The KL is summed over classes
    and averaged over samples (the authors' code averages over classes as well, which scales it by
    ``1 / num_classes``). Published recipe: Adam, lr 1e-4, 1 epoch, 30 % of the retain set, ``T = 1``.

    Args:
        temperature: Distillation temperature ``T``.
        teacher_seed: Seed of the incompetent teacher.
        retain_share: Share of the retain set used.
        optimizer: Optimiser (the authors use Adam).
        lr: Learning rate.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    eval_only_modules: ClassVar[tuple[str, ...]] = ("competent", "incompetent")

    def __init__(
        self,
        temperature: float = 1.0,
        teacher_seed: int = 0,
        retain_share: float = 0.3,
        optimizer: OptimizerCallable = torch.optim.Adam,
        lr: float = 1e-4,
        lr_scheduler: ScheduleCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(retain_share=retain_share, optimizer=optimizer, lr=lr, lr_scheduler=lr_scheduler, **kwargs)
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature
        self.teacher_seed = teacher_seed
        self.competent = self.frozen_copy()
        self.incompetent = self.random_network(teacher_seed)

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """KL to the incompetent teacher on forget samples plus KL to the competent one on retain samples."""
        assert forget is not None and retain is not None
        forget_logits, retain_logits = self.joint_logits(forget, retain)
        with torch.no_grad():
            bad = self.incompetent(self._format(forget.inputs))
            good = self.competent(self._format(retain.inputs))
        forget_kl = distillation_kl(forget_logits, bad, self.temperature)
        retain_kl = distillation_kl(retain_logits, good, self.temperature)
        # Per-sample mean over the union, as in the paper, where each sample has one teacher.
        n_f, n_r = forget.targets.numel(), retain.targets.numel()
        total = (n_f * forget_kl + n_r * retain_kl) / (n_f + n_r)
        return {"loss": total, "forget_kl": forget_kl, "retain_kl": retain_kl}
