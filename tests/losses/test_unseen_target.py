from __future__ import annotations

import torch

from lightning_unlearn.losses import reference_values, still_memorised, target_gap, unit_uniform


def test_quantiles_are_fixed_per_index_and_spread_over_the_unit_interval():
    u = unit_uniform(torch.arange(10_000), seed=3)
    assert torch.equal(u, unit_uniform(torch.arange(10_000), seed=3))
    assert float(u.min()) > 0 and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) < 0.02 and abs(float((u < 0.25).double().mean()) - 0.25) < 0.02


def test_reference_distributions_by_hand():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1]])
    targets = torch.tensor([0, 2])
    assert reference_values(probs, targets, "true_class").tolist() == torch.tensor([0.1, 0.7]).tolist()
    assert reference_values(probs, targets, "wrong_class").tolist() == torch.tensor([0.1, 0.2, 0.3, 0.6]).tolist()


def test_samples_are_pushed_only_while_more_confident_than_their_quantile():
    reference = torch.linspace(0, 1, 101)  # unseen data: true-class probability uniform on [0, 1]
    n = 4000
    indices = torch.arange(n)
    confident = torch.zeros(n, 2)
    confident[:, 0] = 0.999
    confident[:, 1] = 0.001
    targets = torch.zeros(n, dtype=torch.long)
    pushed = still_memorised(confident, targets, indices, reference)
    assert pushed.float().mean() > 0.98  # memorised samples beat nearly every quantile
    unsure = torch.full((n, 2), 0.5)
    share = float(still_memorised(unsure, targets, indices, reference).float().mean())
    assert abs(share - 0.5) < 0.05  # at the median of unseen data: pushed half the time
    assert still_memorised(unsure, targets, indices, torch.zeros(0)).all()  # no reference: always push


def test_target_gap_is_the_confidence_minus_the_samples_own_quantile():
    reference = torch.linspace(0.0, 1.0, 101)  # sorted: quantile u is the value u
    indices = torch.arange(6)
    u = unit_uniform(indices, seed=3)
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [1.0, 0.0], [0.0, 1.0], [0.3, 0.7]])
    targets = torch.tensor([0, 0, 1, 0, 0, 1])
    gap = target_gap(probs, targets, indices, reference, seed=3)
    p_true = probs[torch.arange(6), targets]
    expected = p_true - reference[(u * 100).round().long()].float()
    torch.testing.assert_close(gap, expected)
    assert torch.equal(still_memorised(probs, targets, indices, reference, seed=3), gap > 0)
    assert still_memorised(probs, targets, indices, torch.zeros(0)).all()  # no reference: push every sample
