"""Training the original model: plain supervised learning on the whole training set."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.models.network_module import NetworkModule


class ClassifierModule(NetworkModule):
    """Trains a network on every training sample, forget set included: the model that must later forget.

    The gold-standard retrained model uses the same recipe on the retain set only; it is the
    :class:`~lightning_unlearn.methods.Retrain` method, so it shares the unlearning methods' evaluation.

    Args:
        label_smoothing: Label smoothing of the cross-entropy.
        **kwargs: Network and optimiser settings of :class:`NetworkModule`.
    """

    def __init__(self, label_smoothing: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.label_smoothing = label_smoothing

    def training_step(self, batch: dict[str, Batch], batch_idx: int) -> Tensor:
        """Cross-entropy on one batch of the whole training set."""
        data = batch["all"]
        loss = cross_entropy(self(data.inputs), data.targets, self.label_smoothing)
        self.log("train/loss", loss, prog_bar=True, batch_size=data.targets.numel())
        return loss
