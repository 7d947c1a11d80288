"""Shared machinery of the metric callbacks: per-set outputs from the loops, and a fast monitor during ``fit``."""

from __future__ import annotations

import math
import time
import weakref
from abc import abstractmethod
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from typing_extensions import override

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.metrics.mia import cross_entropy_from_logits
from lightning_unlearn.metrics.outputs import SampleOutputCollector, SampleOutputs
from lightning_unlearn.models.modes import eval_mode


def _datamodule(trainer: pl.Trainer) -> Any:
    dm = getattr(trainer, "datamodule", None)
    if dm is None or not hasattr(dm, "eval_set_names"):
        raise RuntimeError("the metric callbacks need an UnlearningDataModule (it names the evaluation sets)")
    return dm


_PassKey = tuple[int, int, int | None, int]  # (step, epoch, size, seed)
#: The last monitor pass of each trainer: the metric callbacks share it (the cache dies with its trainer).
_MONITOR_PASSES: weakref.WeakKeyDictionary[pl.Trainer, tuple[_PassKey, dict[str, SampleOutputs]]]
_MONITOR_PASSES = weakref.WeakKeyDictionary()


def monitor_outputs(
    trainer: pl.Trainer, pl_module: pl.LightningModule, size: int | None, seed: int
) -> dict[str, SampleOutputs]:
    """Outputs of the model on a seeded subsample (``size`` per set) of every evaluation set.

    Inference runs straight on the in-memory ``uint8`` tensors, all sets in one pass chunked by the data
    module's evaluation batch size, under ``no_grad`` and the trainer's precision, with the model in eval mode
    (every submodule's mode is restored afterwards). Under DDP each rank takes every ``world_size``-th sample,
    so each sample is scored exactly once, and ``cat``-state collectors gather all ranks. The result is cached
    per step, so several callbacks share one pass.
    """
    dm = _datamodule(trainer)
    key = (trainer.global_step, trainer.current_epoch, size, seed)
    cached = _MONITOR_PASSES.get(trainer)
    if cached is not None and cached[0] == key:
        return cached[1]
    sets: dict[str, Batch] = dm.monitor_sets(size, seed)
    rank, world = trainer.global_rank, trainer.world_size
    shards = {name: Batch(*(t[rank::world] for t in full)) for name, full in sets.items()}
    joined = Batch(*(torch.cat([getattr(b, f) for b in shards.values()]) for f in Batch._fields))
    with eval_mode(pl_module), trainer.precision_plugin.forward_context():
        predicted = predict_outputs(pl_module, dm, joined, pl_module.device)
    parts = torch.split(torch.arange(joined.targets.numel()), [b.targets.numel() for b in shards.values()])
    outputs = {}
    for name, part in zip(shards, parts, strict=True):
        rows = _select(predicted, part)
        if world > 1:
            collector = SampleOutputCollector().to(pl_module.device)
            collector.update(*rows)
            outputs[name] = _to_cpu(collector.compute())
        else:  # single process: sets are already whole and in index order
            outputs[name] = _to_cpu(rows)
    _MONITOR_PASSES[trainer] = (key, outputs)
    return outputs


def _to_cpu(outputs: SampleOutputs) -> SampleOutputs:
    probs, targets, indices, losses = outputs
    return SampleOutputs(probs.cpu(), targets.cpu(), indices.cpu(), None if losses is None else losses.cpu())


def _select(outputs: SampleOutputs, rows: torch.Tensor) -> SampleOutputs:
    probs, targets, indices, losses = outputs
    rows = rows.to(probs.device)
    return SampleOutputs(probs[rows], targets[rows], indices[rows], None if losses is None else losses[rows])


def predict_outputs(model: torch.nn.Module, dm: Any, batch: Batch, device: torch.device) -> SampleOutputs:
    """Softmax outputs and per-sample losses of ``model`` on a ``uint8`` batch of any size.

    In chunks of the evaluation batch size. Returns :class:`SampleOutputs` on ``device`` in the batch's order
    (inference tensors: for metrics, not autograd), the losses from the logits (as float64); the caller sets
    eval mode and precision.
    """
    probs, targets, indices, losses = [], [], [], []
    with torch.inference_mode():  # about a third faster than no_grad on a CPU; outputs feed metrics only
        for start in range(0, batch.targets.numel(), dm.eval_batch_size):
            part = Batch(*(t[start : start + dm.eval_batch_size].to(device) for t in batch))
            part = dm.prepare_batch(part, training=False)
            logits = model(part.inputs)
            probs.append(logits.float().softmax(-1))
            losses.append(cross_entropy_from_logits(logits, part.targets))
            targets.append(part.targets)
            indices.append(part.indices)
    if not probs:
        empty = torch.zeros(0, device=device)
        return SampleOutputs(empty.reshape(0, 0), batch.targets.to(device), batch.indices.to(device), empty.double())
    return SampleOutputs(torch.cat(probs), torch.cat(targets), torch.cat(indices), torch.cat(losses))


def predict_probs(model: torch.nn.Module, dm: Any, batch: Batch, device: torch.device) -> Batch:
    """Softmax outputs of ``model`` on a ``uint8`` batch of any size, in chunks of the evaluation batch size.

    Returns ``Batch(probs, targets, indices)`` on ``device`` (see :func:`predict_outputs`, which also gives
    the per-sample losses); the caller sets eval mode and precision.
    """
    out = predict_outputs(model, dm, batch, device)
    return Batch(out.probs, out.targets, out.indices)


class SetOutputsCallback(Callback):
    """Base of the metric callbacks: turns per-set outputs into logged values.

    * In ``validate`` / ``test`` (and the validation loop inside ``fit``, if the data module enables it), it
      collects every evaluation batch's outputs, gathers them across ranks and deduplicates them by sample
      index, then calls :meth:`compute_values` on the full sets.
    * During ``fit``, every ``every_n_epochs`` training epochs, it evaluates a seeded subsample of
      ``monitor_size`` samples per set (see :func:`monitor_outputs`) and logs the same values: cheap enough
      to watch forgetting epoch by epoch. ``monitor_size=None`` uses the whole sets; ``every_n_epochs=0``
      disables the monitor.

    Subclasses implement :meth:`compute_values`. After each run, :attr:`outputs` holds the per-set outputs and
    :attr:`values` the values; :attr:`history` keeps one row per monitored epoch.
    """

    def __init__(self, every_n_epochs: int = 1, monitor_size: int | None = 1000, seed: int = 0) -> None:
        if every_n_epochs < 0:
            raise ValueError(f"every_n_epochs must be non-negative, got {every_n_epochs}")
        if monitor_size is not None and monitor_size < 1:
            raise ValueError(f"monitor_size must be positive or None, got {monitor_size}")
        self.every_n_epochs = every_n_epochs
        self.monitor_size = monitor_size
        self.seed = seed
        self.collectors: dict[str, SampleOutputCollector] = {}
        self.outputs: dict[str, SampleOutputs] = {}
        self.values: dict[str, float] = {}
        self.history: list[dict[str, float]] = []
        #: Seconds this callback spent in ``fit`` (monitor passes and attacks); ``RunTimer`` subtracts them.
        self.fit_seconds = 0.0

    @abstractmethod
    def compute_values(self, outputs: dict[str, SampleOutputs], stage: str) -> dict[str, float]:
        """Values to log from the per-set outputs; ``stage`` is ``"fit"`` (monitor), ``"validate"`` or ``"test"``."""

    def _report(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: dict[str, SampleOutputs], stage: str
    ) -> None:
        self.outputs = outputs
        self.values = self.compute_values(outputs, stage)
        loggable = {k: v for k, v in self.values.items() if not math.isnan(v)}
        if not loggable:
            return
        if stage == "fit":
            # Straight to the loggers and to callback_metrics (what EarlyStopping and ModelCheckpoint read):
            # self.log costs about 1 ms a value, a tenth of a small epoch. Every rank holds the same values.
            trainer.callback_metrics.update({k: torch.tensor(v) for k, v in loggable.items()})
            for logger in trainer.loggers:
                logger.log_metrics(loggable, step=trainer.global_step)
        else:
            pl_module.log_dict(loggable, sync_dist=False)

    # ------------------------------------------------------------------------------------------ loops
    def _start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        names = _datamodule(trainer).eval_set_names
        self.collectors = {name: SampleOutputCollector().to(pl_module.device) for name in names}

    def _update(self, outputs: Any, dataloader_idx: int) -> None:
        name = list(self.collectors)[dataloader_idx]
        self.collectors[name].update(outputs["probs"], outputs["targets"], outputs["indices"], outputs.get("losses"))

    def _finish(self, pl_module: pl.LightningModule, stage: str) -> None:
        outputs = {name: _to_cpu(c.compute()) for name, c in self.collectors.items()}
        for c in self.collectors.values():
            c.reset()
        self._report(pl_module.trainer, pl_module, outputs, stage)

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
        if not trainer.sanity_checking:
            self._finish(pl_module, "validate")

    @override
    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._finish(pl_module, "test")

    # ------------------------------------------------------------------------------------------ fit monitor
    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.every_n_epochs == 0 or (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        start = time.perf_counter()
        outputs = monitor_outputs(trainer, pl_module, self.monitor_size, self.seed)
        self._report(trainer, pl_module, outputs, "fit")
        self.history.append({"epoch": float(trainer.current_epoch), "step": float(trainer.global_step), **self.values})
        self.fit_seconds += time.perf_counter() - start

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.fit_seconds = 0.0

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))
