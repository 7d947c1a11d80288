"""The configs shipped with the package: the repository's ``configs/`` folder, installed as package data.

Configs name each other relative to the repository root (``configs/demo/data.yaml``), where ``make`` runs them.
:func:`locate` keeps such a path when it exists from the working folder (a user's own ``configs/`` wins) and
otherwise reads it from the installed package, so a pip-installed user runs the demo and names any shipped
method or recipe from any folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The first part of a path that names a shipped config.
PREFIX = "configs"


def configs_dir() -> Path:
    """The folder of the shipped configs (``<package>/configs``)."""
    return Path(str(files("lightning_unlearn"))) / PREFIX


def locate(path: str | Path) -> str:
    """``path`` itself where it exists (or is not a ``configs/...`` path), else the shipped config it names.

    A ``configs/...`` path that exists neither here nor in the package is returned as it is, so the caller's
    own "not found" error names the path the user wrote.
    """
    given = Path(path)
    if given.exists() or given.is_absolute() or not given.parts or given.parts[0] != PREFIX:
        return str(path)
    shipped = configs_dir().joinpath(*given.parts[1:])
    return str(shipped) if shipped.exists() else str(path)
