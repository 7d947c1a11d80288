"""The ``lightning-unlearn`` command: one entry point whose ``--help`` lists every subcommand.

``fit``, ``validate``, ``test`` and ``predict`` are Lightning's (:class:`~lightning_unlearn.cli.UnlearnCLI`); the
others each run one library function through ``jsonargparse.CLI``, so every option of a subcommand is a typed
argument of that function (``lightning-unlearn grid --help`` lists :func:`~lightning_unlearn.grid.run_grid`'s).
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from typing import Any

from lightning_unlearn.shipped import locate

#: Lightning's subcommands, run by the ``LightningCLI``.
LIGHTNING_SUBCOMMANDS: dict[str, str] = {
    "fit": "train one stage: the original, the retrained model or an unlearning method",
    "validate": "evaluate a checkpoint on the forget / retain / test sets",
    "test": "evaluate a checkpoint on the forget / retain / test sets, all metrics",
    "predict": "Lightning's predict loop",
}
#: The library's subcommands: name -> (``module:function`` they run, what they do).
LIBRARY_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("lightning_unlearn.experiment:run_demo", "original, retrain and unlearning on digits, with a report"),
    "experiment": ("lightning_unlearn.experiment:run_experiment", "original, retrain and methods on one split"),
    "grid": ("lightning_unlearn.grid:run_grid", "methods x scenarios x seeds against retrained models, cached"),
    "tune": ("lightning_unlearn.tuning:run_tuning", "choose each method's recipe on the validation set"),
    "verify": ("lightning_unlearn.receipt:verify", "recompute every hash of an unlearning receipt"),
}
#: Subcommands that run several stages and print a line per stage.
ORCHESTRATORS = ("experiment", "grid", "tune", "demo")


def overview() -> str:
    """The top-level help: every subcommand with one line."""
    width = max(map(len, [*LIGHTNING_SUBCOMMANDS, *LIBRARY_SUBCOMMANDS]))
    lines = ["usage: lightning-unlearn <subcommand> [--help] [options]", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {what}" for name, what in LIGHTNING_SUBCOMMANDS.items()]
    lines += [f"  {name:<{width}}  {what}" for name, (_, what) in LIBRARY_SUBCOMMANDS.items()]
    lines += ["", "lightning-unlearn <subcommand> --help lists the subcommand's options."]
    return "\n".join(lines)


def library_function(name: str) -> Callable[..., Any]:
    """The function a library subcommand runs (imported on use: ``fit`` need not import the grid)."""
    module, _, function = LIBRARY_SUBCOMMANDS[name][0].partition(":")
    return getattr(importlib.import_module(module), function)


def run(argv: Sequence[str]) -> int:
    """Run one command line (without the program name); returns the exit code."""
    from jsonargparse import CLI

    from lightning_unlearn.cli import cli_main

    argv = shipped_configs(list(argv))
    if not argv or argv[0] in ("-h", "--help"):
        print(overview())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in LIBRARY_SUBCOMMANDS:
        cli_main(argv)
        return 0
    function = library_function(command)
    result = CLI(function, args=rest, as_positional=command == "verify", prog=f"lightning-unlearn {command}")
    return result if isinstance(result, int) and command == "verify" else 0


def main() -> None:
    """Console entry point.

    Bad input (a wrong forget set, a missing or mismatched checkpoint, ...) ends with one ``error:`` line and
    exit code 2 instead of a traceback; set ``LIGHTNING_UNLEARN_DEBUG=1`` to see the traceback.
    """
    from lightning_unlearn.console import configure
    from lightning_unlearn.models.checkpoint import CheckpointError

    configure(orchestrated=len(sys.argv) > 1 and sys.argv[1] in ORCHESTRATORS)
    try:
        code = run(sys.argv[1:])
    except (ValueError, FileNotFoundError, CheckpointError, FloatingPointError, pickle.UnpicklingError) as err:
        if os.environ.get("LIGHTNING_UNLEARN_DEBUG"):
            raise
        cause = _root_cause(err)
        if isinstance(cause, pickle.UnpicklingError):  # Lightning reads --ckpt_path with weights_only=True
            unsafe = [line.strip() for line in str(cause).splitlines() if "GLOBAL" in line] or ["unreadable"]
            cause = CheckpointError(f"refused to load a checkpoint that could run code on load: {unsafe[0]}")
        print(f"error: {cause}", file=sys.stderr)
        code = 2
    sys.exit(code)


def shipped_configs(argv: list[str]) -> list[str]:
    """``argv`` with each ``--config`` value passed through :func:`~lightning_unlearn.shipped.locate`.

    So ``--config configs/...`` reads the shipped config where the working folder has no such file.
    """
    located: list[str] = []
    for i, arg in enumerate(argv):
        if i > 0 and argv[i - 1] == "--config":
            located.append(locate(arg))
        elif arg.startswith("--config="):
            located.append("--config=" + locate(arg.removeprefix("--config=")))
        else:
            located.append(arg)
    return located


def _root_cause(err: BaseException) -> BaseException:
    """The error to show from a ``raise ... from`` chain (jsonargparse wraps the errors ``__init__`` raises).

    The first of this library's own error types in the chain, which already explains its cause; otherwise
    the innermost exception.
    """
    while err.__cause__ is not None and not type(err).__module__.startswith("lightning_unlearn"):
        err = err.__cause__
    return err
