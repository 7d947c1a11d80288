"""The ``lightning-unlearn`` command: a ``LightningCLI`` for fit / validate / test / predict, plus ``experiment``."""

from __future__ import annotations

import os
import sys

from lightning.pytorch.cli import ArgsType, LightningCLI

from lightning_unlearn.callbacks import ForgettingMetrics, MembershipInference, RunTimer
from lightning_unlearn.data.datamodule import UnlearningDataModule
from lightning_unlearn.models.network_module import NetworkModule


class UnlearnCLI(LightningCLI):
    """``LightningCLI`` over any :class:`NetworkModule` subclass and the :class:`UnlearningDataModule`.

    ``model.class_path`` may name a user's own subclass (``subclass_mode_model=True``). The data module's
    ``num_classes`` and ``in_channels`` are linked into the model, and the forgetting-metrics and run-timer
    callbacks are always attached.
    """

    def add_arguments_to_parser(self, parser) -> None:  # type: ignore[no-untyped-def]
        """Link data properties into the model and add the library's callbacks."""
        parser.link_arguments("data.num_classes", "model.init_args.num_classes", apply_on="instantiate")
        parser.link_arguments("data.in_channels", "model.init_args.in_channels", apply_on="instantiate")
        parser.add_lightning_class_args(ForgettingMetrics, "forgetting_metrics")
        parser.add_lightning_class_args(MembershipInference, "membership_inference")
        parser.add_lightning_class_args(RunTimer, "run_timer")
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


def cli_main(args: ArgsType = None, run: bool = True) -> UnlearnCLI:
    """Run the CLI; ``args`` (a list like ``["fit", "--config", "x.yaml"]``) replaces ``sys.argv`` in tests."""
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


def main() -> None:
    """Console entry point: ``lightning-unlearn experiment ...`` runs a whole experiment, anything else the CLI.

    Bad input (a wrong forget set, a missing or mismatched checkpoint, ...) ends with one ``error:`` line and
    exit code 2 instead of a traceback; set ``LIGHTNING_UNLEARN_DEBUG=1`` to see the traceback.
    """
    from lightning_unlearn.models.checkpoint import CheckpointError

    try:
        if len(sys.argv) > 1 and sys.argv[1] == "experiment":
            from lightning_unlearn.experiment import experiment_main

            experiment_main(sys.argv[2:])
        else:
            cli_main()
    except (ValueError, FileNotFoundError, CheckpointError, FloatingPointError) as err:
        if os.environ.get("LIGHTNING_UNLEARN_DEBUG"):
            raise
        print(f"error: {_root_cause(err)}", file=sys.stderr)
        sys.exit(2)


def _root_cause(err: BaseException) -> BaseException:
    """The innermost exception of a ``raise ... from`` chain: jsonargparse wraps errors raised by ``__init__``."""
    while err.__cause__ is not None:
        err = err.__cause__
    return err


if __name__ == "__main__":
    main()
