"""The ``lightning-unlearn`` command: a ``LightningCLI`` for fit / validate / test / predict, plus ``experiment``."""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from pathlib import Path

from lightning.pytorch.cli import ArgsType, LightningCLI

from lightning_unlearn.callbacks import (
    EpochProgress,
    ForgettingMetrics,
    MembershipInference,
    RunTimer,
    UnlearningReceipt,
)
from lightning_unlearn.data.datamodule import UnlearningDataModule
from lightning_unlearn.models.network_module import NetworkModule


class UnlearnCLI(LightningCLI):
    """``LightningCLI`` over any :class:`NetworkModule` subclass and the :class:`UnlearningDataModule`.

    ``model.class_path`` may name a user's own subclass (``subclass_mode_model=True``). The data module's
    ``num_classes`` and ``in_channels`` are linked into the model, and the forgetting-metrics and run-timer
    callbacks are always attached, and so is a progress line for long fits without a progress bar.
    """

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
        """Run the subcommand; if it fails, remove the empty log folders it created (a refused run leaves none)."""
        created = _missing_folders(Path(self.trainer.default_root_dir), self.trainer.log_dir)
        try:
            super()._run_subcommand(subcommand)
        except BaseException:
            for folder in created:  # deepest first
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
            raise

    def before_fit(self) -> None:
        """Tell an unlearning module which checkpoint it resumes from, so it can check it before any output."""
        ckpt_path = self.config_init[self.subcommand].get("ckpt_path") if self.subcommand else None
        if ckpt_path and hasattr(self.model, "resume_ckpt_path"):
            self.model.resume_ckpt_path = str(ckpt_path)


def _missing_folders(root: Path, log_dir: str | None) -> list[Path]:
    """The folders from ``root`` down to ``log_dir`` that do not exist yet, deepest first."""
    root = root.resolve()
    chain = [root]
    if log_dir is not None and Path(log_dir).resolve().is_relative_to(root):
        for part in Path(log_dir).resolve().relative_to(root).parts:
            chain.append(chain[-1] / part)
    return [folder for folder in reversed(chain) if not folder.exists()]


def cli_main(args: ArgsType = None, run: bool = True) -> UnlearnCLI:
    """Run the CLI; ``args`` (a list like ``["fit", "--config", "x.yaml"]``) replaces ``sys.argv`` in tests."""
    with warnings.catch_warnings():
        # The experiment and grid runners pass `args` while sys.argv holds their own command line.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
        return _make_cli(args, run)


def _make_cli(args: ArgsType, run: bool) -> UnlearnCLI:
    return UnlearnCLI(
        NetworkModule,
        UnlearningDataModule,
        subclass_mode_model=True,
        args=args,
        run=run,
        seed_everything_default=0,
        save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,
    )


#: Subcommands that run several stages and print a line per stage.
ORCHESTRATORS = ("experiment", "grid", "tune", "demo")


def main() -> None:
    """Console entry point: ``demo``, ``experiment``, ``grid``, ``tune``, ``verify`` (a receipt), else the CLI.

    Bad input (a wrong forget set, a missing or mismatched checkpoint, ...) ends with one ``error:`` line and
    exit code 2 instead of a traceback; set ``LIGHTNING_UNLEARN_DEBUG=1`` to see the traceback.
    """
    from lightning_unlearn.console import configure
    from lightning_unlearn.models.checkpoint import CheckpointError

    configure(orchestrated=len(sys.argv) > 1 and sys.argv[1] in ORCHESTRATORS)
    try:
        if len(sys.argv) > 1 and sys.argv[1] == "demo":
            from lightning_unlearn.experiment import demo_main

            demo_main(sys.argv[2:])
        elif len(sys.argv) > 1 and sys.argv[1] == "experiment":
            from lightning_unlearn.experiment import experiment_main

            experiment_main(sys.argv[2:])
        elif len(sys.argv) > 1 and sys.argv[1] == "grid":
            from lightning_unlearn.grid import grid_main

            grid_main(sys.argv[2:])
        elif len(sys.argv) > 1 and sys.argv[1] == "tune":
            from lightning_unlearn.tuning import tune_main

            tune_main(sys.argv[2:])
        elif len(sys.argv) > 1 and sys.argv[1] == "verify":
            from lightning_unlearn.receipt import verify_main

            sys.exit(verify_main(sys.argv[2:]))
        else:
            cli_main()
    except (ValueError, FileNotFoundError, CheckpointError, FloatingPointError, pickle.UnpicklingError) as err:
        if os.environ.get("LIGHTNING_UNLEARN_DEBUG"):
            raise
        cause = _root_cause(err)
        if isinstance(cause, pickle.UnpicklingError):  # Lightning reads --ckpt_path with weights_only=True
            unsafe = [line.strip() for line in str(cause).splitlines() if "GLOBAL" in line] or ["unreadable"]
            cause = CheckpointError(f"refused to load a checkpoint that could run code on load: {unsafe[0]}")
        print(f"error: {cause}", file=sys.stderr)
        sys.exit(2)


def _root_cause(err: BaseException) -> BaseException:
    """The error to show from a ``raise ... from`` chain (jsonargparse wraps the errors ``__init__`` raises).

    The first of this library's own error types in the chain, which already explains its cause; otherwise
    the innermost exception.
    """
    while err.__cause__ is not None and not type(err).__module__.startswith("lightning_unlearn"):
        err = err.__cause__
    return err


if __name__ == "__main__":
    main()
