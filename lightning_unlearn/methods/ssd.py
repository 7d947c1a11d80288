"""SSD: selective synaptic dampening, a training-free, one-shot edit of the weights."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.methods.one_shot import OneShotUnlearningModule
from lightning_unlearn.models.modes import eval_mode


class SSD(OneShotUnlearningModule):
    """Selective Synaptic Dampening (Foster, Schoepf & Brintrup, AAAI 2024).

    In :meth:`edit` (timed): the diagonal Fisher importance of every weight,
    ``[I]_i = mean over batches of (dL/dtheta_i)^2`` with ``L`` the batch-mean cross-entropy, on the whole
    training set (``I_D``; a seeded ``importance_share`` of it to save time) and on the forget set (``I_Df``).
    Weights far more important to the forget set, ``I_Df > alpha * I_D``, are dampened:
    ``theta_i *= min(lambda * I_D / I_Df, 1)``. No gradient step is taken; ``fit`` runs one pass that only
    triggers this edit (set ``max_epochs: 1``). Published recipe: ``alpha = 10``, ``lambda = 1``.

    The authors' retraining baseline re-initialised only the last layer; our :class:`Retrain` trains every
    weight from scratch.

    Args:
        selection_weight: ``alpha``, the selection threshold.
        dampening: ``lambda``, the dampening constant.
        importance_share: Share of the training set used for ``I_D``.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    def __init__(
        self, selection_weight: float = 10.0, dampening: float = 1.0, importance_share: float = 1.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if selection_weight <= 0 or dampening <= 0:
            raise ValueError("selection_weight and dampening must be positive")
        if not 0.0 < importance_share <= 1.0:
            raise ValueError(f"importance_share must lie in (0, 1], got {importance_share}")
        self.selection_weight = selection_weight
        self.dampening = dampening
        self.importance_share = importance_share
        self.dampened_fraction = 0.0

    def importances(self, name: str, share: float = 1.0) -> dict[str, Tensor]:
        """Mean squared gradient of each weight over the batches of a training set (eval mode)."""
        params = dict(self.net.named_parameters())
        total = {k: torch.zeros_like(p) for k, p in params.items()}
        batches = 0
        with eval_mode(self.net):
            for batch in self.batches(name, share):
                self.net.zero_grad(set_to_none=True)
                cross_entropy(self(batch.inputs), batch.targets).backward()
                for k, p in params.items():
                    if p.grad is not None:
                        total[k] += p.grad.detach().pow(2)
                batches += 1
        self.net.zero_grad(set_to_none=True)
        return {k: v / max(1, batches) for k, v in total.items()}

    def edit(self) -> None:
        """Compute both importances and dampen the weights specialised on the forget set."""
        full = self.importances("all", self.importance_share)
        forget = self.importances("forget")
        changed, count = 0, 0
        with torch.no_grad():
            for k, p in self.net.named_parameters():
                selected = forget[k] > self.selection_weight * full[k]
                factor = (self.dampening * full[k] / forget[k].clamp_min(1e-30)).clamp(max=1.0)
                p.mul_(torch.where(selected, factor, torch.ones_like(factor)))
                changed += int(selected.sum())
                count += p.numel()
        self.dampened_fraction = changed / max(1, count)
