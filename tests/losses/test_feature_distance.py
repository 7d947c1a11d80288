from __future__ import annotations

import pytest
import torch

from lightning_unlearn.losses import feature_distance


def test_distances_by_hand():
    s = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    t = torch.tensor([[6.0, 8.0], [0.0, 1.0]])
    assert feature_distance(s, t, "mse").item() == pytest.approx((9 + 16 + 1 + 1) / 4)
    assert feature_distance(s, t, "l1").item() == pytest.approx((3 + 4 + 1 + 1) / 4)
    # same direction -> 0; orthogonal unit vectors -> |e1 - e2|^2 = 2
    assert feature_distance(s, t, "normalized_mse").item() == pytest.approx((0 + 2) / 2)
    assert feature_distance(s, t, "cosine").item() == pytest.approx((0 + 1) / 2)


def test_distance_refuses_mismatched_shapes_and_unknown_kinds():
    with pytest.raises(ValueError, match="differ in shape"):
        feature_distance(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="unknown feature distance"):
        feature_distance(torch.zeros(2, 3), torch.zeros(2, 3), "kl")  # type: ignore[arg-type]
