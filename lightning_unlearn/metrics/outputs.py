"""Per-sample model outputs gathered across processes, each sample exactly once."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


class SampleOutputs(NamedTuple):
    """Class probabilities of a set of samples, sorted by sample index, one row per sample.

    Attributes:
        probs: ``[N, K]`` softmax outputs, float32.
        targets: ``[N]`` true labels.
        indices: ``[N]`` sample indices (ascending, distinct).
        losses: ``[N]`` cross-entropy ``-log p_y`` of each sample, float64, computed from the logits (see
            :func:`~lightning_unlearn.metrics.mia.cross_entropy_from_logits`): it does not saturate where a
            float32 probability underflows. ``None`` for outputs that only hold probabilities.
    """

    probs: Tensor
    targets: Tensor
    indices: Tensor
    losses: Tensor | None = None

    @property
    def correct(self) -> Tensor:
        """``[N]`` bool, whether the top class is the true label."""
        return self.probs.argmax(1) == self.targets


def deduplicate(probs: Tensor, targets: Tensor, indices: Tensor, losses: Tensor | None = None) -> SampleOutputs:
    """Keep one row per sample index, sorted by index.

    A distributed sampler pads each rank's share to equal length by repeating samples; the repeats carry
    the same index and (in eval mode) the same outputs, so keeping the first occurrence scores each sample once.
    """
    if indices.numel() == 0:
        return SampleOutputs(probs, targets, indices, losses)
    order = torch.argsort(indices, stable=True)
    idx = indices[order]
    first = torch.ones_like(idx, dtype=torch.bool)
    first[1:] = idx[1:] != idx[:-1]
    keep = order[first]
    return SampleOutputs(probs[keep], targets[keep], indices[keep], None if losses is None else losses[keep])


class SampleOutputCollector(Metric):
    """Collect per-sample probabilities, labels, indices and losses; ``compute`` gathers all ranks and deduplicates.

    States are ``cat`` lists, so under DDP every rank's rows are concatenated before :func:`deduplicate`.
    Losses are kept when every batch brought them.
    """

    full_state_update = False
    higher_is_better = None
    probs: list[Tensor]
    targets: list[Tensor]
    indices: list[Tensor]
    losses: list[Tensor]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.add_state("probs", default=[], dist_reduce_fx="cat")
        self.add_state("targets", default=[], dist_reduce_fx="cat")
        self.add_state("indices", default=[], dist_reduce_fx="cat")
        self.add_state("losses", default=[], dist_reduce_fx="cat")

    def update(self, probs: Tensor, targets: Tensor, indices: Tensor, losses: Tensor | None = None) -> None:
        """Add one batch (``losses``: its per-sample cross-entropy from the logits, if known)."""
        self.probs.append(probs.detach().float())
        self.targets.append(targets.detach())
        self.indices.append(indices.detach())
        # a NaN row marks a batch without losses, so every rank holds as many losses as samples
        self.losses.append(
            losses.detach().double() if losses is not None else torch.full_like(targets, math.nan, dtype=torch.float64)
        )

    def compute(self) -> SampleOutputs:
        """All samples seen by any rank, once each, sorted by index."""
        if isinstance(self.indices, list) and not self.indices:  # after a DDP sync the states are tensors
            empty = torch.zeros(0, device=self.device)
            return SampleOutputs(empty.reshape(0, 0), empty.long(), empty.long())
        losses = dim_zero_cat(self.losses)
        return deduplicate(
            dim_zero_cat(self.probs),
            dim_zero_cat(self.targets),
            dim_zero_cat(self.indices),
            None if bool(losses.isnan().any()) else losses,
        )
