"""Callbacks and sources that tests configure by class path."""

from __future__ import annotations

import time

import torch
from lightning.pytorch.callbacks import Callback

from lightning_unlearn.data.sources import ImageSet, LoadedData, Synthetic


class SlowSteps(Callback):
    """Sleep after every training step, so a test can kill a run in the middle of an epoch."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        time.sleep(self.seconds)


class ScrambledTestSet(Synthetic):
    """The synthetic source with its test images replaced by noise and its test labels permuted.

    A choice that reads nothing of the test set comes out the same on this source as on the plain one.
    """

    def load(self) -> LoadedData:
        """The plain data with a scrambled test set."""
        data = super().load()
        gen = torch.Generator().manual_seed(1234)
        test = data.test
        noise = torch.randint(0, 256, test.images.shape, generator=gen, dtype=torch.uint8)
        scrambled = ImageSet(noise, test.targets[torch.randperm(len(test.targets), generator=gen)])
        return LoadedData(data.train, scrambled, data.classes)
