"""Where the repository's files are, whatever folder the tests run from."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

#: The repository root (the folder holding ``configs/`` and ``tests/``).
ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
DEMO = CONFIGS / "demo"
METHOD_CONFIGS = CONFIGS / "methods"


def benchmark_module(name: str) -> ModuleType:
    """A script of ``benchmarks/`` imported as a module (once per process; registered in ``sys.modules``)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
