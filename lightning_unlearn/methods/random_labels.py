"""Random labels (RL): fine-tune on the forget set relabelled at random, together with the retain set."""

from __future__ import annotations

from typing import Any

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.losses.labels import random_labels
from lightning_unlearn.methods.base import LossTerms, UnlearningModule


class RandomLabels(UnlearningModule):
    """Random-label unlearning (Golatkar et al., CVPR 2020; the RL baseline of SalUn, ICLR 2024).

    Objective: ``min CE(f(x_f), y~_f) + CE(f(x_r), y_r)`` where ``y~`` is a random label fixed per forget sample
    (drawn once from ``relabel_seed`` and the sample's index, like relabelling the data set). SalUn's RL draws
    among all classes, so a sample may keep its label by chance (``exclude_true=False``). Published recipe
    (SalUn, CIFAR-10): lr 0.01 to 0.1, 10 epochs.

    Args:
        exclude_true: Draw random labels among the other classes only.
        relabel_seed: Seed of the relabelling.
        lr: Learning rate.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    def __init__(
        self,
        exclude_true: bool = False,
        relabel_seed: int = 0,
        lr: float = 0.01,
        scheduler: Any = "constant",
        **kwargs: Any,
    ) -> None:
        super().__init__(lr=lr, scheduler=scheduler, **kwargs)
        self.exclude_true = exclude_true
        self.relabel_seed = relabel_seed

    def forget_labels(self, forget: Batch) -> Any:
        """The fixed random labels of a forget batch."""
        return random_labels(forget.targets, forget.indices, self.num_classes, self.relabel_seed, self.exclude_true)

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """CE to the random labels on forget plus CE on retain, in one forward pass."""
        assert forget is not None and retain is not None
        forget_logits, retain_logits = self.joint_logits(forget, retain)
        relabelled = cross_entropy(forget_logits, self.forget_labels(forget))
        retain_ce = cross_entropy(retain_logits, retain.targets)
        return {"loss": relabelled + retain_ce, "relabelled_ce": relabelled, "retain_ce": retain_ce}
