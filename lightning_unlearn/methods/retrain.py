"""Retraining from scratch on the retain set: the gold standard every method is measured against."""

from __future__ import annotations

from typing import Any, ClassVar

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.methods.base import LossTerms, UnlearningModule


class Retrain(UnlearningModule):
    """Train a fresh network on the retain set only, with the original model's recipe.

    Exact unlearning by construction: the result never saw the forget set. Its accuracies, membership
    scores and prediction distribution are the targets of every approximate method (the "gap to retrain").

    Args:
        label_smoothing: Label smoothing of the cross-entropy (use the original model's value).
        **kwargs: Network and optimiser settings; use the same as the original model's.
    """

    starts_from_original: ClassVar[bool] = False
    uses_sets: ClassVar[tuple[str, ...]] = ("retain",)

    def __init__(self, label_smoothing: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.label_smoothing = label_smoothing

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """Cross-entropy on the retain batch."""
        assert retain is not None
        return cross_entropy(self(retain.inputs), retain.targets, self.label_smoothing)
