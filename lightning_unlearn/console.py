"""What a run shows on the terminal: this library's messages through :mod:`logging`, third-party noise filtered.

The library logs its progress lines to the ``lightning_unlearn`` logger; a program that uses the library
configures ``logging`` as it likes. :func:`configure`, called once by the command-line entry point, shows the
messages on the terminal (:func:`show_messages`) and filters what says nothing about the run: Lightning's advertising
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


class _Console(logging.StreamHandler):
    """Messages only; ``INFO`` and below on standard output, warnings and errors on standard error.

    Reads ``sys.stdout`` / ``sys.stderr`` at each message, so a redirect made later (pytest's capture) is honoured.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr if self._warning else sys.stdout

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass

    def emit(self, record: logging.LogRecord) -> None:
        self._warning = record.levelno >= logging.WARNING
        super().emit(record)

    _warning = False


class _DropLines(logging.Filter):
    """Drops records whose message starts with one of ``prefixes``."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).lstrip().startswith(self.prefixes)


def show_messages() -> None:
    """Show this library's messages on the terminal, unless ``logging`` is configured already.

    The command-line entry point calls this; a program that uses the library and configured ``logging`` (a
    handler on the root logger or on ``lightning_unlearn``) keeps its own routing and levels. Otherwise
    ``INFO`` messages go to standard output, warnings and errors to standard error.
    """
    if log.handlers or logging.getLogger().handlers:
        return
    log.addHandler(_Console())
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)


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
