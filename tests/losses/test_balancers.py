from __future__ import annotations

import itertools
import math

import pytest
import torch

from lightning_unlearn.losses import (
    ConstrainedWeighting,
    DynamicWeightAverage,
    FixedWeights,
    UncertaintyWeighting,
)


def test_fixed_weights_are_a_weighted_sum():
    total, w = FixedWeights([2.0, 0.5])(torch.tensor([3.0, 4.0]))
    assert total.item() == pytest.approx(2 * 3 + 0.5 * 4)
    assert w.tolist() == [2.0, 0.5]


def test_uncertainty_weighting_matches_kendall_by_hand():
    uw = UncertaintyWeighting(num_tasks=2, max_log_var=None)
    with torch.no_grad():
        uw.log_var.copy_(torch.tensor([0.0, math.log(4.0)]))
    total, w = uw(torch.tensor([2.0, 8.0]))
    # 0.5 * e^0 * 2 + 0.5 * 0  +  0.5 * (1/4) * 8 + 0.5 * ln 4
    assert total.item() == pytest.approx(1.0 + 1.0 + 0.5 * math.log(4.0), rel=1e-6)
    assert w.tolist() == pytest.approx([0.5, 0.125])


def test_uncertainty_weighting_gradient_drives_log_var_toward_log_loss():
    uw = UncertaintyWeighting(num_tasks=1, max_log_var=None)
    total, _ = uw(torch.tensor([3.0]))
    total.backward()
    # d/ds [0.5 e^-s L + 0.5 s] at s=0 = 0.5 - 0.5 L
    assert uw.log_var.grad.item() == pytest.approx(0.5 - 1.5)


def test_bounded_log_variance_caps_the_weight():
    uw = UncertaintyWeighting(num_tasks=2, max_log_var=2.0)
    with torch.no_grad():
        uw.log_var.copy_(torch.tensor([-7.0, 7.0]))
    _, w = uw(torch.tensor([1e-3, 5.0]))
    assert w.tolist() == pytest.approx([0.5 * math.exp(2.0), 0.5 * math.exp(-2.0)], rel=1e-6)


def test_normalised_uncertainty_weighting_divides_by_the_first_loss():
    uw = UncertaintyWeighting(num_tasks=2, normalize=True, max_log_var=None)
    total, w = uw(torch.tensor([4.0, 0.5]))
    assert w.tolist() == pytest.approx([0.5 / 4.0, 0.5 / 0.5])
    assert total.item() == pytest.approx(0.5 * 1 + 0.5 * 1)
    _, w2 = uw(torch.tensor([2.0, 0.25]))  # reference stays at the first value (ema = 0)
    assert w2.tolist() == pytest.approx([0.5 / 4.0, 0.5 / 0.5])


def test_dwa_weights_follow_the_loss_ratio_of_the_last_two_epochs():
    dwa = DynamicWeightAverage(num_tasks=2, temperature=2.0)
    for losses in ([1.0, 1.0], [0.5, 1.0]):  # epoch means: task 0 halves, task 1 stays
        for _ in range(3):
            _, w = dwa(torch.tensor(losses))
            assert w.tolist() == [1.0, 1.0]
        dwa.on_epoch_end()
    _, w = dwa(torch.tensor([0.4, 1.0]))
    e0, e1 = math.exp(0.5 / 2), math.exp(1.0 / 2)
    assert w.tolist() == pytest.approx([2 * e0 / (e0 + e1), 2 * e1 / (e0 + e1)], rel=1e-6)


def test_balancers_check_the_number_of_losses():
    with pytest.raises(ValueError, match="expects 2 losses"):
        UncertaintyWeighting(2)(torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="expects 3 losses"):
        FixedWeights([1, 1, 1])(torch.tensor([1.0, 2.0]))


def _constrained_steps(violation: float, steps: int = 20) -> list[float]:
    balancer = ConstrainedWeighting(tolerance=0.1)
    opt = torch.optim.SGD(balancer.parameters(), lr=0.1)
    weights = []
    for _ in range(steps):
        total, w = balancer(torch.tensor([0.5, 0.2]), torch.tensor(violation))
        opt.zero_grad()
        total.backward()
        opt.step()
        weights.append(float(w[0]))
    return weights


def test_constrained_weighting_raises_the_forget_weight_while_the_constraint_is_violated():
    rising = _constrained_steps(violation=0.8)
    assert rising[0] == pytest.approx(1.0) and all(b > a for a, b in itertools.pairwise(rising))
    falling = _constrained_steps(violation=0.0)
    assert all(b < a for a, b in itertools.pairwise(falling))
    balancer = ConstrainedWeighting(tolerance=0.1, max_log_weight=2.0)
    with torch.no_grad():
        balancer.log_weight.fill_(50.0)  # far past the bound: projected back to it, the gradient lives on
    total, w = balancer(torch.tensor([1.0, 1.0]), torch.tensor(0.0))
    total.backward()
    assert float(w[0]) == pytest.approx(math.exp(2.0), rel=1e-4)
    assert float(balancer.log_weight.grad) == pytest.approx(0.1)  # -(violation - tolerance), bound or not
    torch.optim.SGD(balancer.parameters(), lr=0.5).step()
    _, w = balancer(torch.tensor([1.0, 1.0]), torch.tensor(0.0))
    assert float(w[0]) == pytest.approx(math.exp(2.0 - 0.05), rel=1e-4)  # no run-up past the bound to unwind
    # the network sees exp(s) * L_f + L_r: the forget loss's gradient is the weight, the recover loss's is 1
    losses = torch.tensor([0.5, 0.2], requires_grad=True)
    total, w = ConstrainedWeighting()(losses, torch.tensor(0.3))
    total.backward()
    assert losses.grad.tolist() == pytest.approx([1.0, 1.0]) and w.tolist() == pytest.approx([1.0, 1.0])


def test_constrained_weighting_needs_a_violation_and_two_tasks():
    with pytest.raises(ValueError, match="needs a violation signal"):
        ConstrainedWeighting()(torch.tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match="num_tasks=3"):
        ConstrainedWeighting(num_tasks=3)
