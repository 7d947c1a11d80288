"""Distances between two batches of feature vectors, for the feature-constraint forget loss."""

from __future__ import annotations

from typing import Literal

from torch import Tensor
from torch.nn import functional as F

FeatureDistance = Literal["mse", "normalized_mse", "cosine", "l1"]


def feature_distance(student: Tensor, teacher: Tensor, kind: FeatureDistance = "normalized_mse") -> Tensor:
    """Mean distance between matching rows of ``student`` and ``teacher`` (``[N, D]`` each), in float32.

    The mean over samples of :func:`per_sample_feature_distance`.

    Args:
        student: Student features.
        teacher: Target features (no gradient needed).
        kind: ``"mse"``: mean squared difference of the raw features, averaged over samples and dimensions;
            ``"normalized_mse"``: the squared L2 distance between the two L2-normalised vectors, averaged over
            samples (in ``[0, 4]``; invariant to the very different feature scales of a trained and a random
            network); ``"cosine"``: ``1 - cos`` averaged over samples (``normalized_mse / 2``, kept for
            readability of configs); ``"l1"``: mean absolute difference of the raw features.

    Raises:
        ValueError: When the shapes differ or ``kind`` is unknown.
    """
    return per_sample_feature_distance(student, teacher, kind).mean()


def per_sample_feature_distance(student: Tensor, teacher: Tensor, kind: FeatureDistance = "normalized_mse") -> Tensor:
    """Distance between each row of ``student`` and the matching row of ``teacher``: ``[N]``, float32.

    ``mse`` and ``l1`` average over the feature dimensions; see :func:`feature_distance` for the kinds.

    Raises:
        ValueError: When the shapes differ or ``kind`` is unknown.
    """
    if student.shape != teacher.shape:
        raise ValueError(
            f"student and teacher features differ in shape: {tuple(student.shape)} vs {tuple(teacher.shape)}"
        )
    s, t = student.float().flatten(1), teacher.float().flatten(1)
    if kind == "mse":
        return (s - t).pow(2).mean(1)
    if kind == "l1":
        return (s - t).abs().mean(1)
    if kind == "normalized_mse":
        return (F.normalize(s, dim=1) - F.normalize(t, dim=1)).pow(2).sum(1)
    if kind == "cosine":
        return 1.0 - F.cosine_similarity(s, t, dim=1)
    raise ValueError(f"unknown feature distance {kind!r}; expected mse, normalized_mse, cosine or l1")
