"""Writes the unlearning receipt at the end of every unlearning ``fit``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import yaml
from lightning.pytorch.callbacks import Callback
from typing_extensions import override

from lightning_unlearn.callbacks.forgetting_metrics import load_outputs
from lightning_unlearn.callbacks.run_timer import RunTimer
from lightning_unlearn.callbacks.set_outputs import monitor_outputs
from lightning_unlearn.io import atomic_write_json
from lightning_unlearn.metrics.gap import GAP_METRICS, avg_gap
from lightning_unlearn.metrics.summary import summarize
from lightning_unlearn.receipt import RECEIPT_VERSION, file_record, utc_now, versions


class UnlearningReceipt(Callback):
    """Write ``receipt.json`` and ``unlearned.ckpt`` at the end of every unlearning ``fit``.

    For an :class:`~lightning_unlearn.methods.UnlearningModule` (other modules are skipped): evaluate the model
    on the full evaluation sets, save its weights as ``unlearned.ckpt`` and write the receipt (see
    :mod:`lightning_unlearn.receipt`), both atomically, in the run's log folder.

    The evaluation runs on every rank (each scores its share); rank zero writes the files. Its time is not
    part of the method's ``seconds``.

    Args:
        reference_outputs: The retrained model's saved outputs (``retrain/outputs.pt`` of an experiment); with
            them the receipt holds the Avg.Gap and the JS divergences to the retrained model.
        seed: Seed of the membership-inference attacks.
    """

    def __init__(self, reference_outputs: str | None = None, seed: int = 0) -> None:
        self.reference_outputs = reference_outputs
        self.seed = seed
        self.started_at: str | None = None
        self.path: Path | None = None
        #: The final full-set outputs and metrics (also on ranks other than zero), for reuse after ``fit``.
        self.outputs: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.started_at = utc_now()

    @staticmethod
    def _folder(trainer: pl.Trainer) -> Path:
        return Path(trainer.log_dir or trainer.default_root_dir)

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        from lightning_unlearn.methods.base import UnlearningModule

        if not isinstance(pl_module, UnlearningModule) or trainer.sanity_checking:
            return
        folder = self._folder(trainer)
        outputs = monitor_outputs(trainer, pl_module, None, self.seed)
        self.outputs = outputs
        ckpt = folder / "unlearned.ckpt"
        tmp = folder / ".unlearned.ckpt.tmp"
        trainer.save_checkpoint(tmp, weights_only=True)  # collective; rank zero writes
        if not trainer.is_global_zero:
            return
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, ckpt)
        reference = load_outputs(self.reference_outputs) if self.reference_outputs else None
        metrics = summarize(outputs, reference=reference, seed=self.seed)
        metrics.pop("forget_predicted", None)
        self.metrics = metrics
        gap = None
        if reference is not None:
            reference_metrics = summarize(reference, seed=self.seed)
            gap = {
                "avg_gap": avg_gap(metrics, reference_metrics, GAP_METRICS),
                "retrain": {k: reference_metrics[k] for k in GAP_METRICS},
                "reference_outputs": file_record(self.reference_outputs),
            }
        dm: Any = trainer.datamodule  # type: ignore[attr-defined]
        split, data = dm.split, dm.data
        timer = next((cb for cb in trainer.callbacks if isinstance(cb, RunTimer)), None)  # type: ignore[attr-defined]
        config_file = folder / "config.yaml"
        receipt = {
            "receipt_version": RECEIPT_VERSION,
            "method": f"{type(pl_module).__module__}.{type(pl_module).__qualname__}",
            "forget": {
                "sha256": split.sha256,
                "count": int(split.forget.numel()),
                "spec": split.spec,
                "split_file": str(dm.split_path) if dm.split_path is not None else None,
            },
            "dataset": {
                "name": split.dataset,
                "num_train": split.num_train,
                "num_test": len(data.test),
                "fingerprint": split.dataset_fingerprint,
            },
            "original_checkpoint": file_record(pl_module.original_ckpt),
            "unlearned_checkpoint": file_record(ckpt),
            "config": yaml.safe_load(config_file.read_text()) if config_file.is_file() else dict(pl_module.hparams),
            "versions": versions(),
            "started_at": self.started_at,
            "finished_at": utc_now(),
            "seconds": timer.seconds if timer is not None else None,
            "metrics": metrics,
            "gap_to_retrain": gap,
        }
        self.path = folder / "receipt.json"
        atomic_write_json(self.path, receipt)
