"""Where the repository's files are, whatever folder the tests run from."""

from __future__ import annotations

from pathlib import Path

#: The repository root (the folder holding ``configs/`` and ``tests/``).
ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
DEMO = CONFIGS / "demo"
METHOD_CONFIGS = CONFIGS / "methods"
