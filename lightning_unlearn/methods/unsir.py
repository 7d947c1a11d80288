"""UNSIR: error-maximising noise impairs the forgotten classes, then the retain set repairs the rest."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.models.modes import eval_mode
from lightning_unlearn.models.optim import ScheduleCallable


class UNSIR(UnlearningModule):
    """UNSIR (Tarun et al., "Fast Yet Effective Machine Unlearning", IEEE TNNLS 2023).

    1. **Noise** (in :meth:`prepare_unlearning`, timed): for every class ``c`` among the forget samples,
       ``noise_per_class`` images ``N_c`` maximise the frozen original's error on ``c``:
       ``max_N CE(f(N_c), c) - noise_l2 * mean ||N_c||^2``, Adam at ``noise_lr`` for ``noise_steps`` steps.
       The forget images themselves are never read, only their labels.
    2. **Impair** (the first ``impair_epochs`` epochs, lr ``lr``): ``min CE(f(N_c), c) + CE(f(x_r), y_r)`` on
       noise drawn for the forget batch's classes and a retain batch: fitting the noise destroys the class.
    3. **Repair** (the remaining epochs, lr ``repair_lr``): ``min CE(f(x_r), y_r)``.

    Each noise image is labelled with its own class (the reference notebook labels every noise image as
    class 0, which only works when class 0 is the one forgotten). Designed for class-wise forgetting; with a
    random forget set it impairs every class present and relies on the repair. Published recipe: impair 1
    epoch at lr 0.02, repair 1 epoch at lr 0.01, a subset of the retain set.

    Args:
        noise_per_class: Noise images per forgotten class.
        noise_steps: Optimisation steps of the noise.
        noise_lr: Adam learning rate of the noise.
        noise_l2: Weight of the noise's squared-norm penalty.
        noise_seed: Seed of the noise initialisation and of its sampling.
        impair_epochs: Epochs of the impair phase.
        lr: Learning rate of the impair phase.
        repair_lr: Learning rate of the repair phase.
        retain_share: Share of the retain set used.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    def __init__(
        self,
        noise_per_class: int = 64,
        noise_steps: int = 20,
        noise_lr: float = 0.1,
        noise_l2: float = 0.1,
        noise_seed: int = 0,
        impair_epochs: int = 1,
        lr: float = 0.02,
        repair_lr: float = 0.01,
        retain_share: float = 0.3,
        lr_scheduler: ScheduleCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr=lr, retain_share=retain_share, lr_scheduler=lr_scheduler, **kwargs)
        if noise_per_class < 1 or noise_steps < 0 or impair_epochs < 0:
            raise ValueError("noise_per_class must be positive, noise_steps and impair_epochs non-negative")
        self.noise_per_class = noise_per_class
        self.noise_steps = noise_steps
        self.noise_lr = noise_lr
        self.noise_l2 = noise_l2
        self.noise_seed = noise_seed
        self.impair_epochs = impair_epochs
        self.repair_lr = repair_lr
        # Filled by prepare_unlearning; buffers so a checkpoint keeps them.
        self.register_buffer("noise", torch.zeros(0))
        self.register_buffer("noise_classes", torch.zeros(0, dtype=torch.long))

    def prepare_unlearning(self) -> None:
        """Learn the error-maximising noise of every forgotten class."""
        labels = torch.cat([b.targets for b in self.batches("forget")])
        shape = next(iter(self.batches("forget"))).inputs.shape[1:]
        classes = torch.unique(labels)
        gen = torch.Generator(device="cpu").manual_seed(self.noise_seed)
        noise = torch.randn((len(classes), self.noise_per_class, *shape), generator=gen).to(self.device)
        noise.requires_grad_(True)
        optimizer = torch.optim.Adam([noise], lr=self.noise_lr)
        targets = classes.to(self.device).repeat_interleave(self.noise_per_class)
        with eval_mode(self.net):  # batch norm must not learn the noise's statistics
            for _ in range(self.noise_steps):
                optimizer.zero_grad(set_to_none=True)
                logits = self.net(self._format(noise.flatten(0, 1)))
                objective = -cross_entropy(logits, targets) + self.noise_l2 * noise.pow(2).flatten(2).sum(2).mean()
                objective.backward()
                optimizer.step()
        self.net.zero_grad(set_to_none=True)
        self.noise = noise.detach()
        self.noise_classes = classes.to(self.device)

    def noise_batch(self, labels: Tensor) -> Tensor:
        """One noise image of each label's class, drawn at random."""
        slot = torch.searchsorted(self.noise_classes, labels)
        pick = torch.randint(0, self.noise_per_class, (labels.numel(),), device=labels.device)
        return self.noise[slot, pick]

    def on_train_epoch_start(self) -> None:
        """Switch to the repair learning rate after the impair epochs."""
        lr = self.lr if self.current_epoch < self.impair_epochs else self.repair_lr
        for optimizer in self.trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """Impair: fit noise labelled with the forgotten classes plus retain; repair: retain only."""
        assert forget is not None and retain is not None
        if self.current_epoch >= self.impair_epochs:
            return cross_entropy(self(retain.inputs), retain.targets)
        noise = self.noise_batch(forget.targets)
        logits = self(torch.cat([noise.to(retain.inputs.dtype), retain.inputs]))
        n = forget.targets.numel()
        noise_ce = cross_entropy(logits[:n], forget.targets)
        retain_ce = cross_entropy(logits[n:], retain.targets)
        return {"loss": noise_ce + retain_ce, "noise_ce": noise_ce, "retain_ce": retain_ce}
