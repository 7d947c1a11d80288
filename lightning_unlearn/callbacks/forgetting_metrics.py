"""Accuracy on the forget, retain and test sets, computed in every validation and test run."""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from typing_extensions import override

from lightning_unlearn.metrics.accuracy import accuracy
from lightning_unlearn.metrics.outputs import SampleOutputCollector, SampleOutputs


def _set_names(trainer: pl.Trainer) -> list[str]:
    names = getattr(getattr(trainer, "datamodule", None), "eval_set_names", None)
    if not names:
        raise RuntimeError("ForgettingMetrics needs an UnlearningDataModule (it names the evaluation sets)")
    return list(names)


class ForgettingMetrics(Callback):
    """Collect every evaluation set's per-sample outputs and log ``<set>/acc`` at the end of each run.

    Runs inside Lightning's validation loop (every ``check_val_every_n_epoch`` epochs during ``fit``) and
    test loop. Sets come from the data module: ``forget``, ``retain``, ``test`` and, for class-wise
    forgetting, ``test_forget``. Outputs are gathered across DDP ranks and deduplicated by sample index, so
    every sample counts once. After each run :attr:`outputs` holds the per-set :class:`SampleOutputs`
    (on the CPU) and :attr:`history` one row of logged values per validation run.
    """

    def __init__(self) -> None:
        self.collectors: dict[str, SampleOutputCollector] = {}
        self.outputs: dict[str, SampleOutputs] = {}
        self.history: list[dict[str, float]] = []

    def _start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.collectors = {name: SampleOutputCollector().to(pl_module.device) for name in _set_names(trainer)}

    def _update(self, outputs: Any, dataloader_idx: int) -> None:
        name = list(self.collectors)[dataloader_idx]
        self.collectors[name].update(outputs["probs"], outputs["targets"], outputs["indices"])

    def _finish(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, float]:
        self.outputs = {name: c.compute() for name, c in self.collectors.items()}
        values = {f"{name}/acc": accuracy(out.probs, out.targets) for name, out in self.outputs.items()}
        self.outputs = {k: SampleOutputs(*(t.cpu() for t in v)) for k, v in self.outputs.items()}
        for c in self.collectors.values():
            c.reset()
        loggable = {k: v for k, v in values.items() if not math.isnan(v)}
        if loggable:
            pl_module.log_dict(loggable, sync_dist=False, rank_zero_only=False)
        return values

    @override
    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start(trainer, pl_module)

    @override
    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start(trainer, pl_module)

    @override
    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._update(outputs, dataloader_idx)

    @override
    def on_test_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._update(outputs, dataloader_idx)

    @override
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        values = self._finish(trainer, pl_module)
        if not trainer.sanity_checking:
            self.history.append({"epoch": float(trainer.current_epoch), **values})

    @override
    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._finish(trainer, pl_module)

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))
