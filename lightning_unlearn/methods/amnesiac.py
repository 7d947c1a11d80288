"""Amnesiac unlearning by relabelling: random *incorrect* labels for the forget set, trained with the retain set."""

from __future__ import annotations

from typing import Any

from lightning_unlearn.methods.random_labels import RandomLabels


class Amnesiac(RandomLabels):
    """Amnesiac unlearning (Graves, Nagisetty & Ganesh, AAAI 2021), the relabelling variant.

    Objective: ``min CE(f(x_f), y~_f) + CE(f(x_r), y_r)`` with ``y~ != y`` a fixed random incorrect label.
    The paper's other variant subtracts the parameter updates of the batches that held forget samples, which
    needs bookkeeping during the original training; the relabelling variant works on any trained model and
    is the one later work (SSD, Foster et al. 2024) compares against. Differs from :class:`RandomLabels` in
    never drawing the true label and in its recipe: a few epochs at a small learning rate.

    Args:
        lr: Learning rate (SSD's benchmark: 1e-4 with Adam-like schedules; SGD 0.01 here).
        exclude_true: Draw the wrong labels among the other classes only (the method's definition). A parameter
            of its own, not a default slipped into ``**kwargs``: the CLI passes every parent parameter it
            resolves, so a ``kwargs.setdefault`` here was overridden by :class:`RandomLabels`' ``False``.
        **kwargs: Further settings of :class:`RandomLabels`.
    """

    def __init__(self, lr: float = 0.01, exclude_true: bool = True, **kwargs: Any) -> None:
        super().__init__(lr=lr, exclude_true=exclude_true, **kwargs)
