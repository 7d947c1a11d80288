"""What a module injects for its optimisation: the optimiser and schedule classes, and how a checkpoint records them.

A module receives its optimiser and learning-rate schedule as callables, the way ``LightningCLI`` injects
them (``OptimizerCallable``): in YAML ``optimizer: {class_path: torch.optim.AdamW, init_args: {betas: [0.9,
0.99]}}``, in Python ``functools.partial(torch.optim.AdamW, betas=(0.9, 0.99))`` or the class itself. The module
calls ``optimizer(param_groups, lr=module.lr)`` and ``lr_scheduler(optimizer, total_steps=n)``: the peak
learning rate and the step count are known only at run time (a method derives its rate from the original model's;
the count depends on the data), so they are the call's arguments, never the config's. An ``lr`` or
``weight_decay`` among the optimiser's own arguments has no effect (the module's ``lr`` and its parameter groups'
decay win). A schedule class must take ``total_steps`` by that name: torch's own schedules do not, and are refused
with a clear error rather than handed the step count in some other argument.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler

#: Builds the optimiser from parameter groups; called with ``lr=`` the module's learning rate.
OptimizerCallable = Callable[[Iterable[Any]], Optimizer]
#: Builds the per-step schedule from the optimiser and, by keyword, ``total_steps``: the run's optimiser steps.
ScheduleCallable = Callable[[Optimizer, int], LRScheduler]


class NesterovSGD(torch.optim.SGD):
    """SGD with Nesterov momentum 0.9 by default: the library's default optimiser.

    Args:
        params: Parameters or parameter groups.
        lr: Learning rate (the module passes its own).
        momentum: Momentum factor.
        nesterov: Nesterov momentum (only where ``momentum > 0``).
        weight_decay: Default decay of groups that set none (the module's groups always set theirs).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.05,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0, weight_decay=weight_decay
        )


class _WarmupSchedule(LambdaLR):
    """Linear warm-up over ``warmup_fraction`` of ``total_steps``, then :meth:`decay` of the progress to zero.

    Args:
        optimizer: The optimiser whose learning rate it scales.
        total_steps: Optimiser steps of the run (the module passes ``trainer.estimated_stepping_batches``).
        warmup_fraction: Share of the steps spent warming up.
    """

    def __init__(self, optimizer: Optimizer, total_steps: int, warmup_fraction: float = 0.15) -> None:
        if total_steps < 1:
            raise ValueError(f"total_steps must be positive, got {total_steps}")
        if not 0.0 <= warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must lie in [0, 1), got {warmup_fraction}")
        self.total_steps = total_steps
        self.warmup_steps = int(warmup_fraction * total_steps)
        # a plain function, not the bound method: LambdaLR then saves no state of it, and a resumed run keeps
        # the step count computed for it (state_dict leaves total_steps and warmup_steps out)
        super().__init__(optimizer, lambda step: self.factor(step))

    def state_dict(self) -> dict[str, Any]:
        """LambdaLR's state without the step plan, which a resumed run computes afresh."""
        state = super().state_dict()
        for key in ("total_steps", "warmup_steps"):
            state.pop(key, None)
        return state

    def factor(self, step: int) -> float:
        """Multiplier of the peak learning rate at ``step``."""
        if self.warmup_steps and step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        return self.decay(progress)

    @staticmethod
    def decay(progress: float) -> float:
        """Multiplier after the warm-up at ``progress`` in [0, 1]."""
        raise NotImplementedError


class WarmupLinearDecay(_WarmupSchedule):
    """One-cycle: linear warm-up over ``warmup_fraction`` of the steps, then linear decay to zero.

    Takes the arguments of every warm-up schedule (``optimizer``, ``total_steps``, ``warmup_fraction``).
    """

    @staticmethod
    def decay(progress: float) -> float:
        """Linear to zero."""
        return max(0.0, 1.0 - progress)


class WarmupCosineDecay(_WarmupSchedule):
    """Linear warm-up over ``warmup_fraction`` of the steps, then cosine annealing to zero.

    Takes the arguments of every warm-up schedule (``optimizer``, ``total_steps``, ``warmup_fraction``).
    """

    @staticmethod
    def decay(progress: float) -> float:
        """Half a cosine to zero."""
        return 0.5 * (1.0 + math.cos(math.pi * progress))


def injected_record(value: Any) -> Any:
    """A checkpoint-safe record of an injected class or callable: what ``LightningCLI`` would have written.

    A module built in Python holds the objects themselves; a checkpoint read with ``weights_only=True`` refuses
    pickled classes and functions. The record (``{"class_path", "init_args"}`` for a class or a
    ``functools.partial`` of one, the dotted path of a function) is plain data that the CLI's instantiator parses
    back into the same callable. Anything else is returned unchanged.

    Raises:
        ValueError: For a callable the CLI cannot rebuild: a lambda, a local function, a function without a
            return annotation, a partial of a function or with positional arguments.
    """
    if isinstance(value, functools.partial):
        if value.func.__module__.startswith("jsonargparse") and value.args and isinstance(value.args[-1], type):
            # jsonargparse's own partial of a configured class (``load_from_checkpoint`` builds these)
            return {"class_path": _import_path(value.args[-1]), "init_args": dict(value.keywords)}
        if value.args or not isinstance(value.func, type):
            raise ValueError(
                f"cannot record {value!r} in a checkpoint: use a functools.partial of a class, arguments by keyword"
            )
        return {"class_path": _import_path(value.func), "init_args": dict(value.keywords)}
    if isinstance(value, type):
        return {"class_path": _import_path(value)}
    if callable(value) and hasattr(value, "__qualname__"):
        path = _import_path(value)
        if inspect.signature(value).return_annotation is inspect.Signature.empty:
            # the CLI's parser accepts a function for a callable argument only by its annotated return type
            raise ValueError(f"cannot record {path!r} in a checkpoint: annotate its return type")
        return path
    return value


def _import_path(value: Any) -> str:
    qualname = value.__qualname__
    if "<" in qualname:
        raise ValueError(
            f"cannot record {qualname!r} in a checkpoint: pass a class, a module-level function or a "
            "functools.partial of a class"
        )
    return f"{value.__module__}.{qualname}"
