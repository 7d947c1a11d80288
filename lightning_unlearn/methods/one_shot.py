"""The base of one-shot methods: an edit of the weights before training, and no optimiser step at all."""

from __future__ import annotations

from typing import Any, ClassVar

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.methods.base import LossTerms, UnlearningModule


class OneShotUnlearningModule(UnlearningModule):
    """Base of a method that edits the original's weights once and takes no gradient step (SSD).

    A subclass implements :meth:`edit`; it runs in the timed set-up pass at the start of ``fit`` (read data there
    with :meth:`~UnlearningModule.batches`). ``fit`` then walks one epoch of forget batches that do nothing: run
    it with ``trainer.max_epochs: 1``. Checkpoints, evaluation, provenance and the run timer work as for any
    method, so a one-shot method sits in the same grid and report as the others.
    """

    #: One pass over the forget set is all ``fit`` needs to trigger the edit.
    uses_sets: ClassVar[tuple[str, ...]] = ("forget",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.automatic_optimization = False  # no optimiser step is ever taken

    def edit(self) -> None:
        """Change the student's weights (``self.net``) once; the whole method."""
        raise NotImplementedError(f"{type(self).__name__} must implement edit()")

    def prepare_unlearning(self) -> None:
        """Run :meth:`edit` (timed, once per run)."""
        self.edit()

    def training_step(self, batch: Any, batch_idx: int) -> None:  # type: ignore[override]
        """No gradient steps: the work is done in :meth:`edit`."""

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """Not used: a one-shot method takes no gradient step."""
        raise RuntimeError(f"{type(self).__name__} is a one-shot edit and takes no gradient steps")
