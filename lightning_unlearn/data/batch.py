"""The batch format shared by every loader of the library."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset


class Batch(NamedTuple):
    """A batch of images with their labels and their indices into the dataset they came from.

    Attributes:
        inputs: Images, ``uint8`` ``[N, C, H, W]`` as loaded; float and normalised once on the device.
        targets: Class labels, ``int64`` ``[N]``.
        indices: Position of each sample in its source set (train or test), ``int64`` ``[N]``. Metrics use
            them to score every sample exactly once when a distributed sampler pads a rank's share.
    """

    inputs: Tensor
    targets: Tensor
    indices: Tensor


class ImageTensorDataset(Dataset[Batch]):
    """Images held in memory as one ``uint8`` tensor, fetched a whole batch at a time.

    ``DataLoader`` calls ``__getitems__`` with the batch's indices, so a batch costs one gather instead of
    ``batch_size`` Python calls and a collate; pair it with :func:`collate_batch`.

    Args:
        images: ``uint8`` ``[N, C, H, W]``.
        targets: ``int64`` ``[N]``.
    """

    def __init__(self, images: Tensor, targets: Tensor) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
        if targets.shape != (images.shape[0],):
            raise ValueError(f"targets must have shape ({images.shape[0]},), got {tuple(targets.shape)}")
        self.images = images
        self.targets = targets.long()

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> Batch:
        return self.__getitems__([index])

    def __getitems__(self, indices: list[int]) -> Batch:
        idx = torch.as_tensor(indices, dtype=torch.long)
        # On an accelerator, gather with the indices sent there without waiting: indexing with the CPU tensor
        # would copy it with a blocking transfer, which stalls the host until the device has run every queued
        # kernel, once a batch.
        gather = idx.to(self.images.device, non_blocking=True) if self.images.device.type != "cpu" else idx
        return Batch(self.images[gather], self.targets[gather], idx)


def collate_batch(batch: Batch) -> Batch:
    """Pass through a batch that :class:`ImageTensorDataset` already stacked."""
    return batch
