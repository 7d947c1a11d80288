"""Per-sample model outputs gathered across processes, each sample exactly once."""

from __future__ import annotations

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
    """

    probs: Tensor
    targets: Tensor
    indices: Tensor

    @property
    def correct(self) -> Tensor:
        """``[N]`` bool, whether the top class is the true label."""
        return self.probs.argmax(1) == self.targets


def deduplicate(probs: Tensor, targets: Tensor, indices: Tensor) -> SampleOutputs:
    """Keep one row per sample index, sorted by index.

    A distributed sampler pads each rank's share to equal length by repeating samples; the repeats carry
    the same index and (in eval mode) the same outputs, so keeping the first occurrence scores each sample once.
    """
    if indices.numel() == 0:
        return SampleOutputs(probs, targets, indices)
    order = torch.argsort(indices, stable=True)
    idx = indices[order]
    first = torch.ones_like(idx, dtype=torch.bool)
    first[1:] = idx[1:] != idx[:-1]
    keep = order[first]
    return SampleOutputs(probs[keep], targets[keep], indices[keep])


class SampleOutputCollector(Metric):
    """Collect per-sample probabilities, labels and indices; ``compute`` gathers all ranks and deduplicates.

    States are ``cat`` lists, so under DDP every rank's rows are concatenated before :func:`deduplicate`.
    """

    full_state_update = False
    higher_is_better = None
    probs: list[Tensor]
    targets: list[Tensor]
    indices: list[Tensor]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.add_state("probs", default=[], dist_reduce_fx="cat")
        self.add_state("targets", default=[], dist_reduce_fx="cat")
        self.add_state("indices", default=[], dist_reduce_fx="cat")

    def update(self, probs: Tensor, targets: Tensor, indices: Tensor) -> None:
        """Add one batch."""
        self.probs.append(probs.detach().float())
        self.targets.append(targets.detach())
        self.indices.append(indices.detach())

    def compute(self) -> SampleOutputs:
        """All samples seen by any rank, once each, sorted by index."""
        if isinstance(self.indices, list) and not self.indices:  # after a DDP sync the states are tensors
            empty = torch.zeros(0, device=self.device)
            return SampleOutputs(empty.reshape(0, 0), empty.long(), empty.long())
        return deduplicate(dim_zero_cat(self.probs), dim_zero_cat(self.targets), dim_zero_cat(self.indices))
