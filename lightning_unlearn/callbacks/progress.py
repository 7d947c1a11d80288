"""A progress line during long ``fit``s, for runs without a progress bar (every experiment, grid and tuning stage)."""

from __future__ import annotations

import time

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from typing_extensions import override

from lightning_unlearn.console import log


def remaining_seconds(elapsed: float, done: int, total: int) -> float | None:
    """Seconds left at the pace so far (``None`` before the first unit of work is done)."""
    return elapsed / done * (total - done) if done > 0 else None


class EpochProgress(Callback):
    """Log ``<name>: epoch e/E, elapsed s, about r s left`` after an epoch, at most once every ``interval`` seconds.

    Silent when the trainer shows a progress bar, and for fits shorter than ``interval`` (the demo's stages),
    so short runs print only their stage lines. Rank zero only.

    Args:
        interval: Fewest seconds between two lines (also the time before the first).
    """

    def __init__(self, interval: float = 30.0) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self.interval = interval
        self._start = 0.0
        self._last = 0.0
        self._first_epoch = 0

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = self._last = time.perf_counter()
        self._first_epoch = trainer.current_epoch  # > 0 when fit resumed from a checkpoint

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        now = time.perf_counter()
        if trainer.progress_bar_callback is not None or not trainer.is_global_zero or now - self._last < self.interval:
            return
        self._last = now
        done, total = trainer.current_epoch + 1, trainer.max_epochs
        name = trainer.logger.name if trainer.logger is not None and trainer.logger.name else type(pl_module).__name__
        line = f"      {name}: epoch {done}/{total}, {now - self._start:.0f} s"
        # at the pace of the epochs run in this process (a resumed fit did the earlier ones in another)
        ran = done - self._first_epoch
        left = remaining_seconds(now - self._start, ran, total - self._first_epoch) if total and total > 0 else None
        log.info(line + (f", about {left:.0f} s left" if left is not None else ""))
