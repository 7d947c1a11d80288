"""The ``LightningCLI`` of the library: ``fit`` / ``validate`` / ``test`` / ``predict`` of one stage.

The ``lightning-unlearn`` command (:mod:`lightning_unlearn.commands`) runs it for those subcommands.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.cli import ArgsType, LightningCLI, SaveConfigCallback
from typing_extensions import override

from lightning_unlearn.callbacks import (
    EpochProgress,
    ForgettingMetrics,
    MembershipInference,
    RunTimer,
    UnlearningReceipt,
)
from lightning_unlearn.data.datamodule import UnlearningDataModule
from lightning_unlearn.models.network_module import NetworkModule


class SaveConfigAfterChecks(SaveConfigCallback):
    """Lightning's ``config.yaml`` writer, writing when the stage starts instead of in ``setup``.

    Lightning calls the callbacks' ``setup`` before the module's, where a :class:`NetworkModule` checks its data
    and checkpoints; written then, the file would outlive a run the module refuses (and a refused resume would
    overwrite the interrupted run's config).
    """

    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._stage = stage

    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().setup(trainer, pl_module, self._stage)  # once: the parent keeps `already_saved`

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._write(trainer, pl_module)

    @override
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._write(trainer, pl_module)

    @override
    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._write(trainer, pl_module)

    @override
    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._write(trainer, pl_module)


class UnlearnCLI(LightningCLI):
    """``LightningCLI`` over any :class:`NetworkModule` subclass and the :class:`UnlearningDataModule`.

    ``model.class_path`` may name a user's own subclass (``subclass_mode_model=True``). The data module's
    ``num_classes`` and ``in_channels`` are linked into the model, and the forgetting-metrics and run-timer
    callbacks are always attached, and so is a progress line for long fits without a progress bar.

    Args:
        *args: Arguments of ``LightningCLI``.
        only_subcommand: Build the parser of this subcommand only (a programmatic call that names it): the
            parsers of the other three cost about half a second a run, which a grid pays per stage.
        **kwargs: Keyword arguments of ``LightningCLI``.
    """

    def __init__(self, *args: Any, only_subcommand: str | None = None, **kwargs: Any) -> None:
        self.only_subcommand = only_subcommand  # read by subcommands() while the parent builds the parser
        super().__init__(*args, **kwargs)

    def subcommands(self) -> dict[str, set[str]]:  # type: ignore[override]
        """Lightning's subcommands, or only :attr:`only_subcommand` when one is set."""
        every = LightningCLI.subcommands()
        return {self.only_subcommand: every[self.only_subcommand]} if self.only_subcommand else every

    def add_arguments_to_parser(self, parser) -> None:  # type: ignore[no-untyped-def]
        """Link data properties into the model and add the library's callbacks."""
        parser.link_arguments("data.num_classes", "model.init_args.num_classes", apply_on="instantiate")
        parser.link_arguments("data.in_channels", "model.init_args.in_channels", apply_on="instantiate")
        parser.add_lightning_class_args(ForgettingMetrics, "forgetting_metrics")
        parser.add_lightning_class_args(MembershipInference, "membership_inference")
        parser.add_lightning_class_args(RunTimer, "run_timer")
        parser.add_lightning_class_args(UnlearningReceipt, "receipt")
        parser.add_lightning_class_args(EpochProgress, "progress")
        # A stable name for the checkpoint a later stage starts from: <log_dir>/checkpoints/last.ckpt.
        parser.set_defaults(
            {
                "trainer.callbacks": [
                    {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": True}}
                ],
                # temporary file + rename: a killed run never leaves a truncated checkpoint behind
                "trainer.plugins": [{"class_path": "lightning_unlearn.io.AtomicCheckpointIO"}],
            }
        )

    def _run_subcommand(self, subcommand: str) -> None:
        """Run the subcommand; if it fails, remove the empty log folders it created (a refused run leaves none).

        Overrides LightningCLI's (private) runner of the subcommand: the one place that sees both the trainer's
        folders before the run and the run's failure.
        """
        created = _missing_folders(self.trainer.default_root_dir, self.trainer.log_dir)
        try:
            super()._run_subcommand(subcommand)
        except BaseException:
            for folder in created:  # deepest first
                # another rank may remove it first, or it may hold a file: never hide the run's own error
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise

    def before_fit(self) -> None:
        """Tell an unlearning module which checkpoint it resumes from, so it can check it before any output."""
        ckpt_path = self.config_init[self.subcommand].get("ckpt_path") if self.subcommand else None
        if ckpt_path and hasattr(self.model, "resume_ckpt_path"):
            self.model.resume_ckpt_path = str(ckpt_path)


def _missing_folders(*folders: str | None) -> list[Path]:
    """Every folder that does not exist yet on the way to each of ``folders`` (parents included), deepest first."""
    missing: set[Path] = set()
    for folder in folders:
        if folder is None:
            continue
        path = Path(folder).resolve()
        for candidate in (path, *path.parents):
            if candidate.exists():
                break
            missing.add(candidate)
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)


def cli_main(args: ArgsType = None, run: bool = True) -> UnlearnCLI:
    """Run the CLI; ``args`` (a list like ``["fit", "--config", "x.yaml"]``) replaces ``sys.argv`` in tests."""
    with warnings.catch_warnings():
        # The experiment and grid runners pass `args` while sys.argv holds their own command line.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
        return _make_cli(args, run)


def _make_cli(args: ArgsType, run: bool) -> UnlearnCLI:
    named = args[0] if isinstance(args, list) and args else None
    return UnlearnCLI(
        NetworkModule,
        UnlearningDataModule,
        subclass_mode_model=True,
        args=args,
        run=run,
        seed_everything_default=0,
        save_config_callback=SaveConfigAfterChecks,
        save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,
        only_subcommand=named if named in LightningCLI.subcommands() else None,
    )
