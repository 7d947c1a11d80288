"""A user's own method, as it would live in their project: only the loss is new."""

from __future__ import annotations

from lightning_unlearn.losses import cross_entropy
from lightning_unlearn.methods import UnlearningModule


class AscentOnForget(UnlearningModule):
    """NegGrad+-style: descend on retain, ascend on forget (weighted)."""

    def __init__(self, ascent_weight: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.ascent_weight = ascent_weight

    def loss(self, forget, retain):
        retain_loss = cross_entropy(self(retain.inputs), retain.targets)
        forget_loss = cross_entropy(self(forget.inputs), forget.targets)
        return {"loss": retain_loss - self.ascent_weight * forget_loss, "forget_ce": forget_loss}
