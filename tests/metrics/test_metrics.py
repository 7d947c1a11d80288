from __future__ import annotations

import math

import pytest
import torch

from lightning_unlearn.metrics import (
    accuracy,
    activation_distance,
    avg_gap,
    confidence,
    deduplicate,
    entropy,
    js_divergence,
    label_histogram,
    loss_mia_accuracy,
    mean_js_divergence,
    mia_efficacy,
    modified_entropy,
    run_time_ratio,
    summarize,
    unlearning_accuracy,
    zrf_score,
)
from lightning_unlearn.metrics.outputs import SampleOutputs

P = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.5, 0.5, 0.0]])
Y = torch.tensor([0, 1, 1])


def test_accuracy_and_ua():
    assert accuracy(P, Y) == pytest.approx(100 / 3)  # argmax of row 3 is 0 (first maximum)
    assert unlearning_accuracy(25.0) == 75.0
    assert math.isnan(accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)))


def test_mia_features_by_hand():
    assert confidence(P, Y).tolist() == pytest.approx([0.7, 0.1, 0.5])
    h = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    assert entropy(P)[0].item() == pytest.approx(h, rel=1e-6)
    assert entropy(P)[2].item() == pytest.approx(math.log(2), rel=1e-6)  # 0 log 0 = 0
    # Mentr = -(1 - p_y) log p_y - sum_{i != y} p_i log(1 - p_i)
    m0 = -(0.3 * math.log(0.7)) - (0.2 * math.log(0.8) + 0.1 * math.log(0.9))
    m1 = -(0.9 * math.log(0.1)) - (0.1 * math.log(0.9) + 0.8 * math.log(0.2))
    assert modified_entropy(P, Y).tolist() == pytest.approx([m0, m1, modified_entropy(P, Y)[2].item()], rel=1e-6)
    assert modified_entropy(P, Y)[1] > modified_entropy(P, Y)[0]  # confident and wrong scores high


def test_js_divergence_identity_symmetry_and_value():
    q = torch.tensor([[0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.5, 0.0]])
    assert js_divergence(P, P).abs().max().item() < 1e-7
    torch.testing.assert_close(js_divergence(P, q), js_divergence(q, P))
    # disjoint one-hot distributions: JS = ln 2
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert mean_js_divergence(a, b) == pytest.approx(math.log(2), rel=1e-6)
    # by hand for one row
    p, r = torch.tensor([[0.5, 0.5]]), torch.tensor([[0.9, 0.1]])
    m = [0.7, 0.3]
    kl_p = 0.5 * math.log(0.5 / m[0]) + 0.5 * math.log(0.5 / m[1])
    kl_r = 0.9 * math.log(0.9 / m[0]) + 0.1 * math.log(0.1 / m[1])
    assert mean_js_divergence(p, r) == pytest.approx(0.5 * kl_p + 0.5 * kl_r, rel=1e-5)


def test_activation_distance_zrf_histogram():
    q = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.9, 0.0], [0.5, 0.5, 0.0]])
    expected = (0 + math.sqrt(0.8**2 + 0.8**2) + 0) / 3
    assert activation_distance(P, q) == pytest.approx(expected, rel=1e-6)
    assert zrf_score(P, P) == pytest.approx(1.0)
    assert zrf_score(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])) == pytest.approx(1 - math.log(2))
    assert label_histogram(P, 4) == [2, 0, 1, 0]


def test_avg_gap_and_run_time_ratio():
    retrain = {"UA": 100.0, "RA": 99.0, "TA": 90.0, "MIA": 100.0}
    row = {"UA": 98.0, "RA": 97.0, "TA": 91.0, "MIA": 96.0}
    assert avg_gap(row, retrain) == pytest.approx((2 + 2 + 1 + 4) / 4)
    assert run_time_ratio(3.0, 60.0) == pytest.approx(0.05)
    assert math.isnan(run_time_ratio(3.0, 0.0))


def test_deduplicate_keeps_one_row_per_index_sorted():
    probs = torch.tensor([[0.1], [0.2], [0.3], [0.4]])
    out = deduplicate(probs, torch.tensor([1, 2, 1, 0]), torch.tensor([5, 3, 5, 1]))
    assert out.indices.tolist() == [1, 3, 5]
    assert out.probs.flatten().tolist() == pytest.approx([0.4, 0.2, 0.1])


def _two_class(conf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    probs = torch.stack([conf, 1 - conf], 1)
    return probs, torch.zeros(len(conf), dtype=torch.long)


def test_mia_efficacy_separates_members_from_non_members():
    torch.manual_seed(0)
    members = torch.distributions.Beta(30.0, 1.0).sample((600,))  # an overfitted model: near-certain on its data
    non_members = torch.distributions.Beta(3.0, 2.0).sample((300,))
    retain, test = _two_class(members[:400]), _two_class(non_members[:200])
    forget_members, forget_non = _two_class(members[400:]), _two_class(non_members[200:])
    assert mia_efficacy(forget_members, retain, test) < 10.0  # its own training data: recognised as members
    assert mia_efficacy(forget_non, retain, test) > 75.0  # held-out data: called non-members


def test_loss_mia_is_near_50_when_forget_looks_like_test_and_high_when_not():
    torch.manual_seed(0)
    test = _two_class(torch.distributions.Beta(3.0, 2.0).sample((300,)))
    like_test = _two_class(torch.distributions.Beta(3.0, 2.0).sample((300,)))
    memorised = _two_class(torch.distributions.Beta(30.0, 1.0).sample((300,)))
    assert abs(loss_mia_accuracy(like_test, test) - 50.0) < 8.0
    assert loss_mia_accuracy(memorised, test) > 80.0
    with pytest.raises(ValueError, match="at least 10"):
        loss_mia_accuracy(_two_class(torch.rand(5)), test)


def test_summarize_holds_every_metric():
    torch.manual_seed(0)

    def outputs(n, offset):
        probs = torch.softmax(torch.randn(n, 3), 1)
        return SampleOutputs(probs, torch.randint(0, 3, (n,)), torch.arange(offset, offset + n))

    sets = {"forget": outputs(40, 0), "retain": outputs(80, 40), "test": outputs(40, 0)}
    row = summarize(sets, reference=sets, random_forget_probs=sets["forget"].probs)
    assert row["JS_forget"] == pytest.approx(0.0, abs=1e-7) and row["AD_test"] == pytest.approx(0.0, abs=1e-7)
    assert row["ZRF"] == pytest.approx(1.0)
    assert {"UA", "RA", "TA", "MIA", "MIA_entropy", "MIA_m_entropy", "MIA_loss", "forget_predicted"} <= set(row)
    assert sum(row["forget_predicted"]) == 40


def test_validation_metrics_put_the_validation_set_where_the_test_set_was():
    torch.manual_seed(0)
    members = _two_class(torch.distributions.Beta(30.0, 1.0).sample((400,)))
    unseen = _two_class(torch.distributions.Beta(3.0, 2.0).sample((200,)))
    forget = _two_class(torch.distributions.Beta(3.0, 2.0).sample((100,)))

    def outputs(pair, offset):
        probs, targets = pair
        return SampleOutputs(probs, targets, torch.arange(offset, offset + len(targets)))

    # The test set is the members themselves: a TA or MIA read from it would differ from the validation ones.
    sets = {"forget": outputs(forget, 0), "retain": outputs(members, 100), "test": outputs(members, 500)}
    assert "TA_val" not in summarize(sets)
    row = summarize({**sets, "val": outputs(unseen, 900)})
    assert row["TA_val"] == pytest.approx(accuracy(*unseen))
    assert row["MIA_val"] == pytest.approx(mia_efficacy(forget, members, unseen))
    assert row["MIA_val"] > 75.0 and row["TA"] == pytest.approx(100.0)


def test_mia_efficacy_trains_on_as_many_members_as_non_members():
    torch.manual_seed(0)
    members = _two_class(torch.distributions.Beta(30.0, 1.0).sample((100,)))
    non_members = _two_class(torch.distributions.Beta(3.0, 2.0).sample((2000,)))
    forget = _two_class(torch.distributions.Beta(30.0, 1.0).sample((200,)))
    # 100 members against 2,000 non-members: an unbalanced SVM calls the memorised forget set non-members
    assert mia_efficacy(forget, members, non_members) < 10.0
