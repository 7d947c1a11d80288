"""Wall time of the training part of ``fit``, without the time spent evaluating."""

from __future__ import annotations

import time
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from typing_extensions import override


class RunTimer(Callback):
    """Measure the seconds ``fit`` spends on the method itself, evaluation excluded.

    The time runs from ``on_fit_start`` to ``on_fit_end`` minus every validation run and minus the time the
    metric callbacks spent in ``fit`` (evaluation is not part of a method's cost).

    Method set-up passes (a saliency mask, a noise optimisation) run inside ``fit`` and are counted.
    After ``fit``, :attr:`seconds` holds the result, also logged as ``time/fit_seconds``.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.eval_seconds = 0.0
        self._fit_start = 0.0
        self._val_start = 0.0

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.eval_seconds = 0.0
        self._fit_start = time.perf_counter()

    @override
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._val_start = time.perf_counter()

    @override
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.eval_seconds += time.perf_counter() - self._val_start

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        from lightning_unlearn.callbacks.set_outputs import SetOutputsCallback

        callbacks: list[Callback] = trainer.callbacks  # type: ignore[attr-defined]
        metric_seconds = sum(cb.fit_seconds for cb in callbacks if isinstance(cb, SetOutputsCallback))
        self.eval_seconds += metric_seconds
        self.seconds = time.perf_counter() - self._fit_start - self.eval_seconds

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "eval_seconds": self.eval_seconds}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.seconds = float(state_dict.get("seconds", 0.0))
        self.eval_seconds = float(state_dict.get("eval_seconds", 0.0))
