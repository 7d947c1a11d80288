"""Deterministic random relabelling of forget samples (random-label and amnesiac unlearning)."""

from __future__ import annotations

from torch import Tensor

_HASH = 2654435761  # Knuth's multiplicative hash constant


def random_labels(
    targets: Tensor, indices: Tensor, num_classes: int, seed: int = 0, exclude_true: bool = True
) -> Tensor:
    """A fixed random label for each sample, a function of its dataset index and ``seed`` only.

    Relabelling the forget set once, as the reference implementations do with their data sets, without
    storing a table: the same sample gets the same label in every epoch, on every rank.

    Args:
        targets: True labels.
        indices: Dataset indices of the samples.
        num_classes: Number of classes.
        seed: Seed of the relabelling.
        exclude_true: Draw among the other ``num_classes - 1`` classes (never the true label); otherwise among all.

    Returns:
        ``int64`` labels like ``targets``.
    """
    mixed = (indices.long() * _HASH + seed * 97 + 12345) % (2**31 - 1)
    mixed = (mixed * _HASH) % (2**31 - 1)  # a second round decorrelates consecutive indices
    if exclude_true:
        return (targets + 1 + mixed % (num_classes - 1)) % num_classes
    return mixed % num_classes


__all__ = ["random_labels"]
