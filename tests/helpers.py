"""Callbacks that tests configure by class path."""

from __future__ import annotations

import time

from lightning.pytorch.callbacks import Callback


class SlowSteps(Callback):
    """Sleep after every training step, so a test can kill a run in the middle of an epoch."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        time.sleep(self.seconds)
