"""What a run shows on the terminal: this library's messages through :mod:`logging`, third-party noise filtered.

The library logs its progress lines to the ``lightning_unlearn`` logger. :func:`show_messages` gives that
logger a handler on standard output unless it has one (a user's own handler wins). :func:`configure`, called
once by the command-line entry point, also filters what says nothing about the run: Lightning's advertising
tips and a deprecation warning Lightning itself triggers inside torch's ``_pytree`` always; and in runs of
several stages (experiment, grid, tune, demo), whose own lines say what runs, Lightning's ``info`` lines (the
accelerator, the seed, why ``fit`` stopped) and each stage's data summary. Warnings and errors still show.
"""

from __future__ import annotations

import logging
import sys
import warnings

#: The logger of every message of this library.
log = logging.getLogger("lightning_unlearn")

#: Lightning ``rank_zero_info`` lines that advertise.
_ADVERTISING = ("💡 Tip:",)
#: Lightning's loggers of ``rank_zero_info`` lines.
_RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")
#: Loggers whose ``info`` lines repeat for every stage of a run of several stages.
_PER_STAGE_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning_unlearn.data")


class _Stdout(logging.StreamHandler):
    """A handler on whatever ``sys.stdout`` is at emit time (pytest's capture, a redirect), message only."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


class _DropLines(logging.Filter):
    """Drops records whose message starts with one of ``prefixes``."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).lstrip().startswith(self.prefixes)


def show_messages() -> None:
    """Send this library's ``INFO`` messages to standard output, unless its logger has a handler already.

    Called by the long-running commands (experiment, grid, tune). To route or silence the messages, configure
    the ``lightning_unlearn`` logger before calling them (a handler of your own, or a higher level).
    """
    if log.handlers:
        return
    log.addHandler(_Stdout())
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    log.propagate = False


def configure(orchestrated: bool) -> None:
    """Set up what the ``lightning-unlearn`` command shows (its entry point calls this once).

    Args:
        orchestrated: A command that runs several stages and prints a line per stage (``experiment``,
            ``grid``, ``tune``, ``demo``): Lightning's ``info`` lines and the per-stage data summary are dropped.
    """
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    for name in _RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropLines) for f in logger.filters):
            logger.addFilter(_DropLines(_ADVERTISING))
    if orchestrated:
        for name in _PER_STAGE_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    show_messages()
