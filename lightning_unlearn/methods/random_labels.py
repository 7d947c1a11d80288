"""Random labels (RL): fine-tune on the forget set relabelled at random, together with the retain set."""

from __future__ import annotations

from typing import Any, Literal

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.losses.labels import random_labels
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.models.optim import ScheduleCallable


class RandomLabels(UnlearningModule):
    """Random-label unlearning (Golatkar et al., CVPR 2020; the RL baseline of SalUn, ICLR 2024).

    Objective: CE to ``y~_f`` on the forget batch and CE to ``y_r`` on the retain batch, where ``y~`` is a random
    label fixed per forget sample (drawn once from ``relabel_seed`` and the sample's index, like relabelling the
    data set). SalUn's RL draws among all classes, so a sample may keep its label by chance
    (``exclude_true=False``). Published recipe (SalUn, CIFAR-10): lr 0.01 to 0.1, 10 epochs.

    How the two batches weigh (``weighting``): ``"sum"`` adds the two batch means (each batch weighs the same,
    whatever its size); ``"pooled"`` averages over every sample of both batches, as one shuffled loader of the
    relabelled forget data and the retain data does (SalUn's code for CIFAR-100, Amnesiac's and SSD's port of
    it). With ``forget_batch_size`` at ``batch_size * |forget| / |retain|`` each forget sample is then seen once an
    epoch with the weight of a retain sample, the reference's balance; ``"sum"`` with a forget batch half the
    retain batch gives forget samples several times that weight.

    Args:
        exclude_true: Draw random labels among the other classes only.
        weighting: ``"sum"`` of the two batch means, or the mean over the ``"pooled"`` samples.
        relabel_seed: Seed of the relabelling.
        lr: Learning rate.
        **kwargs: Further settings of :class:`UnlearningModule`.
    """

    def __init__(
        self,
        exclude_true: bool = False,
        weighting: Literal["sum", "pooled"] = "sum",
        relabel_seed: int = 0,
        lr: float = 0.01,
        lr_scheduler: ScheduleCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr=lr, lr_scheduler=lr_scheduler, **kwargs)
        if weighting not in ("sum", "pooled"):
            raise ValueError(f"weighting must be 'sum' or 'pooled', got {weighting!r}")
        self.exclude_true = exclude_true
        self.weighting = weighting
        self.relabel_seed = relabel_seed

    def forget_labels(self, forget: Batch) -> Any:
        """The fixed random labels of a forget batch."""
        return random_labels(forget.targets, forget.indices, self.num_classes, self.relabel_seed, self.exclude_true)

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """CE to the random labels on forget and CE on retain, in one forward pass, weighed by ``weighting``."""
        assert forget is not None and retain is not None
        forget_logits, retain_logits = self.joint_logits(forget, retain)
        relabelled = cross_entropy(forget_logits, self.forget_labels(forget))
        retain_ce = cross_entropy(retain_logits, retain.targets)
        if self.weighting == "pooled":
            n_f, n_r = forget.targets.numel(), retain.targets.numel()
            total = (n_f * relabelled + n_r * retain_ce) / (n_f + n_r)
        else:
            total = relabelled + retain_ce
        return {"loss": total, "relabelled_ce": relabelled, "retain_ce": retain_ce}
