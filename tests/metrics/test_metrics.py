from __future__ import annotations

import math
import warnings

import pytest
import torch

from lightning_unlearn.metrics import (
    accuracy,
    activation_distance,
    avg_gap,
    confidence,
    cross_entropy_from_logits,
    deduplicate,
    entropy,
    js_divergence,
    label_histogram,
    loss_mia_accuracy,
    mean_js_divergence,
    mean_row,
    mia_efficacy,
    modified_entropy,
    run_time_ratio,
    summarize,
    unlearning_accuracy,
    zrf_score,
    zrf_score_authors_code,
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
    m2 = -(0.5 * math.log(0.5)) - (0.5 * math.log(0.5) + 0.0)  # p_2 = 0 contributes 0 log 1 = 0
    assert modified_entropy(P, Y).tolist() == pytest.approx([m0, m1, m2], rel=1e-6)
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
    assert zrf_score(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])) == pytest.approx(1 - math.log(2))
    assert label_histogram(P, 4) == [2, 0, 1, 0]


def test_zrf_by_hand_as_the_paper_states_it_and_as_the_authors_code_computes_it():
    model = torch.tensor([[0.5, 0.5], [0.8, 0.2]])
    random = torch.tensor([[0.9, 0.1], [0.5, 0.5]])

    def kl(a, b):
        return sum(x * math.log(x / y) for x, y in zip(a, b, strict=True))

    paper, code = [], []
    for p, q in zip(model.tolist(), random.tolist(), strict=True):
        m = [(x + y) / 2 for x, y in zip(p, q, strict=True)]
        paper.append(0.5 * kl(p, m) + 0.5 * kl(q, m))  # JS: KL(p || m), KL(q || m), summed over classes
        code.append(0.5 * kl(m, p) / 2 + 0.5 * kl(m, q) / 2)  # KL(m || p), KL(m || q), mean over the 2 classes
    assert zrf_score(model, random) == pytest.approx(1 - sum(paper) / 2, rel=1e-6)
    assert zrf_score_authors_code(model, random) == pytest.approx(1 - sum(code) / 2, rel=1e-6)
    assert zrf_score_authors_code(model, random) > zrf_score(model, random)
    # their expression, through torch's own kl_div as their code calls it (default reduction "mean")
    kl_div, m = torch.nn.functional.kl_div, (model + random) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that "mean" will change meaning
        theirs = 1 - (0.5 * kl_div(model.log(), m) + 0.5 * kl_div(random.log(), m))
    assert zrf_score_authors_code(model, random) == pytest.approx(float(theirs), rel=1e-6)


def test_avg_gap_and_run_time_ratio():
    retrain = {"UA": 100.0, "RA": 99.0, "TA": 90.0, "MIA": 100.0}
    row = {"UA": 98.0, "RA": 97.0, "TA": 91.0, "MIA": 96.0}
    assert avg_gap(row, retrain) == pytest.approx((2 + 2 + 1 + 4) / 4)
    assert run_time_ratio(3.0, 60.0) == pytest.approx(0.05)
    assert math.isnan(run_time_ratio(3.0, 0.0))


def test_mean_row_averages_each_key_over_the_rows():
    rows = [{"UA": 40.0, "TA": 60.0, "RA": 1.0}, {"UA": 44.0, "TA": 58.0, "RA": 9.0}]
    assert mean_row(rows, ["UA", "TA"]) == {"UA": 42.0, "TA": 59.0}
    with pytest.raises(ValueError, match="at least one row"):
        mean_row([], ["UA"])


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
    uniform = torch.full((40, 3), 1 / 3)  # a random network's outputs
    row = summarize(sets, reference=sets, random_forget_probs=uniform)
    assert row["JS_forget"] == pytest.approx(0.0, abs=1e-7) and row["AD_test"] == pytest.approx(0.0, abs=1e-7)
    # the row holds both ZRF numbers of the forget outputs against the random network's, not against themselves
    assert row["ZRF"] == pytest.approx(zrf_score(sets["forget"].probs, uniform)) and row["ZRF"] < 1.0
    assert row["ZRF_authors_code"] == pytest.approx(zrf_score_authors_code(sets["forget"].probs, uniform))
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


def _svm_efficacy_as_salun_computes_it(forget, retain, test, feature) -> float:
    """SalUn's ``SVC_MIA`` for MIA-efficacy, transcribed: members are ``len(test)`` retain samples (label 1), the
    test set are non-members (label 0), an RBF SVM (C=3, gamma="auto") on one feature, efficacy = share of forget
    samples predicted 0."""
    from sklearn.svm import SVC

    x = torch.cat([feature(*retain), feature(*test)]).numpy().reshape(-1, 1)
    y = [1] * len(retain[1]) + [0] * len(test[1])
    clf = SVC(C=3, gamma="auto", kernel="rbf").fit(x, y)
    return float(100 * (1 - clf.predict(feature(*forget).numpy().reshape(-1, 1)).mean()))


def test_mia_efficacy_by_hand_on_separated_clusters():
    retain = _two_class(torch.tensor([0.99, 0.98, 0.99, 0.97, 0.99, 0.98]))
    test = _two_class(torch.tensor([0.30, 0.35, 0.25, 0.30, 0.32, 0.28]))
    # three forget samples sit in the members' cluster, one in the non-members': 1 of 4 called a non-member
    forget = _two_class(torch.tensor([0.99, 0.98, 0.97, 0.30]))
    assert mia_efficacy(forget, retain, test) == 25.0


@pytest.mark.parametrize("kind", ["confidence", "entropy", "m_entropy"])
def test_mia_efficacy_matches_salun_transcribed(kind):
    # With as many retain as test samples, SalUn's member sample (the first len(test)) and ours (a random draw of
    # len(test)) are the same samples. Overlapping distributions, so the value is neither 0 nor 100.
    from lightning_unlearn.metrics import mia_feature

    gen = torch.Generator().manual_seed(0)

    def three_class(n, a, b):
        conf = torch.distributions.Beta(a, b).sample((n,))
        rest = torch.rand(n, generator=gen).clamp(0.05, 0.95)
        probs = torch.stack([conf, (1 - conf) * rest, (1 - conf) * (1 - rest)], 1)
        return probs, torch.zeros(n, dtype=torch.long)

    torch.manual_seed(0)
    retain, test = three_class(60, 8.0, 1.0), three_class(60, 3.0, 2.0)
    forget = three_class(50, 4.0, 1.5)
    ours = mia_efficacy(forget, retain, test, kind)
    assert 5.0 < ours < 95.0
    salun = _svm_efficacy_as_salun_computes_it(forget, retain, test, lambda p, y: mia_feature(p, y, kind).double())
    assert ours == salun


def test_loss_attack_by_hand():
    # Losses apart: every split is classified right. Losses equal: the attack can only guess a constant, and each
    # stratified test split holds as many forget as test samples, so it scores exactly 50.
    apart = (cross_entropy_from_logits(torch.tensor([[0.0, 5.0]] * 40), torch.zeros(40, dtype=torch.long)),)
    near = (cross_entropy_from_logits(torch.tensor([[5.0, 0.0]] * 40), torch.zeros(40, dtype=torch.long)),)
    dummy = (torch.zeros(40, 2), torch.zeros(40, dtype=torch.long))
    spread = torch.linspace(0, 1, 40, dtype=torch.float64)
    assert loss_mia_accuracy(dummy, dummy, losses=(apart[0] + spread, near[0] + spread)) == 100.0
    assert loss_mia_accuracy(dummy, dummy, losses=(near[0], near[0])) == 50.0


def test_loss_attack_reads_losses_from_logits_beyond_the_probability_floor():
    # Forget losses 150-200, test losses 70-100: all beyond -log(1e-30) = 69.08, where a float32 probability is
    # floored, so from probabilities the two sets look identical; from the logits the attack separates them.
    n = 40
    targets = torch.zeros(n, dtype=torch.long)
    forget_logits = torch.stack([torch.zeros(n), torch.linspace(150, 200, n)], 1)
    test_logits = torch.stack([torch.zeros(n), torch.linspace(70, 100, n)], 1)
    forget = (forget_logits.softmax(1), targets)
    test = (test_logits.softmax(1), targets)
    losses = (cross_entropy_from_logits(forget_logits, targets), cross_entropy_from_logits(test_logits, targets))
    assert losses[0].dtype == torch.float64
    torch.testing.assert_close(losses[0], torch.linspace(150, 200, n, dtype=torch.float64))  # log(1 + e^-150) ~ 0
    assert loss_mia_accuracy(forget, test) == 50.0  # floored: both sets at 69.08
    assert loss_mia_accuracy(forget, test, losses=losses) == 100.0


def test_losses_travel_with_the_outputs_and_feed_the_loss_attack():
    from lightning_unlearn.metrics import SampleOutputCollector, mia_metrics

    c = SampleOutputCollector()
    c.update(torch.eye(2)[[0, 1, 0]], torch.tensor([0, 1, 0]), torch.tensor([4, 2, 9]), torch.tensor([1.0, 2.0, 3.0]))
    c.update(torch.eye(2)[[0]], torch.tensor([0]), torch.tensor([4]), torch.tensor([1.0]))  # a padding repeat
    out = c.compute()
    assert out.indices.tolist() == [2, 4, 9] and out.losses.tolist() == [2.0, 1.0, 3.0]
    without = SampleOutputCollector()
    without.update(torch.eye(2), torch.tensor([0, 1]), torch.tensor([0, 1]))
    assert without.compute().losses is None

    n = 40
    targets = torch.zeros(n, dtype=torch.long)

    def outputs(logits, offset):
        return SampleOutputs(
            logits.softmax(1), targets, torch.arange(offset, offset + n), cross_entropy_from_logits(logits, targets)
        )

    forget = outputs(torch.stack([torch.zeros(n), torch.linspace(150, 200, n)], 1), 0)
    test = outputs(torch.stack([torch.zeros(n), torch.linspace(70, 100, n)], 1), 100)
    retain = outputs(torch.stack([torch.linspace(5, 9, n), torch.zeros(n)], 1), 200)
    assert mia_metrics({"forget": forget, "retain": retain, "test": test})["MIA_loss"] == 100.0
