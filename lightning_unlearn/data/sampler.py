"""A shuffling sampler whose order is a pure function of (seed, epoch), so a run can resume mid-epoch."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DistributedSampler


class ResumableSampler(DistributedSampler):
    """Shuffle (and shard across ranks) with an order that depends only on ``(seed, epoch)``.

    Each epoch yields ``epoch_samples`` indices per rank: a fresh permutation of the set, followed by further
    fresh permutations when ``epoch_samples`` exceeds one pass (how a small set keeps pace with a large one:
    every training loader then yields the same number of batches). ``start_batch`` skips that many batches of
    the first epoch it serves: a run resumed from a checkpoint taken after ``k`` steps of an epoch continues
    with batch ``k`` in the same order as an uninterrupted run. Under DDP each rank takes every
    ``num_replicas``-th index of the same sequence (it subclasses ``DistributedSampler``, so Lightning does
    not wrap it again). The global RNG is never touched.

    Args:
        length: Number of samples in the set.
        epoch_samples: Indices this rank yields per epoch.
        batch_size: Batch size per rank (for ``start_batch``).
        seed: Seed of the orders.
        num_replicas: Number of ranks.
        rank: This rank.
        start_batch: Batches of the first served epoch to skip, or a function that says so when that epoch
            starts (the trainer may build loaders before it has restored the step it resumes from).
        name: Distinguishes the orders of several sets that share a seed.
    """

    def __init__(
        self,
        length: int,
        epoch_samples: int,
        batch_size: int,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        start_batch: int | Callable[[], int] = 0,
        name: str = "",
    ) -> None:
        if length < 1 or epoch_samples < 1:
            raise ValueError(f"need a non-empty set and epoch, got length {length}, epoch_samples {epoch_samples}")
        self.length = length
        self.num_replicas = num_replicas
        self.rank = rank
        self.seed = seed
        self.epoch = 0
        self.shuffle = True
        self.drop_last = False
        self.num_samples = epoch_samples
        self.total_size = epoch_samples * num_replicas
        self.batch_size = batch_size
        self.start_batch = start_batch
        self.name_hash = zlib.crc32(name.encode())

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at every epoch start."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def epoch_order(self) -> list[int]:
        """All ranks' indices of the current epoch, in order (this rank takes every ``num_replicas``-th)."""
        passes = math.ceil(self.total_size / self.length)
        order: list[int] = []
        for p in range(passes):
            gen = torch.Generator().manual_seed(
                (self.seed * 1_000_003 + self.epoch * 10_007 + p * 101 + self.name_hash) % (2**63)
            )
            order += torch.randperm(self.length, generator=gen).tolist()
        return order[: self.total_size]

    def __iter__(self) -> Iterator[int]:
        mine = self.epoch_order()[self.rank :: self.num_replicas]
        start = self.start_batch() if callable(self.start_batch) else self.start_batch
        self.start_batch = 0
        skip = start * self.batch_size
        yield from mine[skip:]
