"""Switching a module's train / eval mode for a block of code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Run the block with ``module`` in eval mode, then give every submodule back the mode it had.

    Restoring each submodule's own flag (not calling ``train()``) keeps frozen parts, such as a teacher in
    eval mode inside a training student, exactly as they were.
    """
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        yield
    finally:
        for m, mode in modes.items():
            m.training = mode
