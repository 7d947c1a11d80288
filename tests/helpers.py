"""Callbacks, sources and networks that tests configure by class path."""

from __future__ import annotations

import time

import torch
from lightning.pytorch.callbacks import Callback
from torch import nn

from lightning_unlearn.data.sources import ImageSet, LoadedData, Synthetic
from lightning_unlearn.models.feature_classifier import FeatureClassifier


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


class SaveMonitorOutputs(Callback):
    """At the end of training, rank zero saves the per-sample outputs of the last ``ForgettingMetrics`` monitor.

    How a test reads what the fit-time monitor gathered across ``ddp_spawn`` ranks from the main process.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_end(self, trainer, pl_module) -> None:
        from lightning_unlearn.callbacks import ForgettingMetrics, save_outputs

        if trainer.is_global_zero:
            monitor = next(cb for cb in trainer.callbacks if isinstance(cb, ForgettingMetrics))
            save_outputs(monitor.outputs, self.path)


class NoNormCNN(FeatureClassifier):
    """A small CNN without batch norm: each sample's output and gradient depend on that sample only.

    So a global batch split over DDP ranks computes the same arithmetic as on one process, up to the order of
    the gradient sum (batch norm would normalise each rank's half with its own statistics).
    """

    def __init__(self, num_classes: int = 4, in_channels: int = 1, width: int = 8) -> None:
        features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        super().__init__(features, nn.Linear(2 * width, num_classes), 2 * width)
