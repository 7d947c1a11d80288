"""Offline LiRA checked against closed forms, by hand, and on real models that do and do not hold the samples."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from lightning_unlearn.metrics.lira import (
    auc,
    lira_attack,
    logit_scaled_confidence,
    standardised_scores,
    tpr_at_fpr,
    unseen_set,
)
from lightning_unlearn.metrics.mia import cross_entropy_from_logits
from lightning_unlearn.metrics.outputs import SampleOutputs

NORMAL = torch.distributions.Normal(0.0, 1.0)


def phi_cdf(x: float) -> float:
    return float(NORMAL.cdf(torch.tensor(x)))


def test_auc_and_tpr_match_the_closed_form_of_two_gaussians():
    # positives ~ N(d, 1), negatives ~ N(0, 1): AUC = Phi(d / sqrt 2), TPR at FPR a = 1 - Phi(Phi^-1(1 - a) - d)
    gen = torch.Generator().manual_seed(0)
    n = 200_000
    for d in (0.0, 1.0, 2.5):
        pos = torch.randn(n, generator=gen, dtype=torch.float64) + d
        neg = torch.randn(n, generator=gen, dtype=torch.float64)
        assert auc(pos, neg) == pytest.approx(phi_cdf(d / math.sqrt(2)), abs=0.004)
        expected_tpr = 1 - phi_cdf(float(NORMAL.icdf(torch.tensor(0.99))) - d)
        assert tpr_at_fpr(pos, neg, 0.01) == pytest.approx(expected_tpr, abs=0.006)


def test_auc_and_tpr_by_hand():
    assert auc(torch.tensor([3.0, 2.0]), torch.tensor([1.0, 2.0])) == 0.875  # 3 wins of 4 and one tie
    assert auc(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0])) == 0.5
    assert auc(torch.tensor([0.0]), torch.tensor([1.0, 2.0])) == 0.0
    assert math.isnan(auc(torch.tensor([]), torch.tensor([1.0])))
    negatives = torch.arange(100.0)  # 1 % FPR: one negative (99) may lie above the threshold, 98
    assert tpr_at_fpr(torch.tensor([98.0, 98.5, 99.5, 10.0]), negatives, 0.01) == 0.5
    # 150 negatives: 1.5 false positives are 1 (FPR <= 1 %), threshold 148; ceil or round would allow 2
    assert tpr_at_fpr(torch.tensor([148.5, 149.5, 10.0, 148.0]), torch.arange(150.0), 0.01) == 0.5


def test_logit_scaled_confidence_from_the_losses_is_the_logit_margin():
    # phi = z_y - logsumexp_{j != y} z_j, also for margins where a float32 log-softmax rounds the loss to 0
    logits = torch.tensor([[0.0, 1.0, -1.0], [30.0, 0.0, 0.0], [50.0, -3.0, 1.0], [-40.0, 2.0, 0.0]])
    targets = torch.tensor([1, 0, 0, 0])
    expected = torch.tensor(
        [
            1.0 - math.log(1 + math.exp(-1)),
            30.0 - math.log(2.0),
            50.0 - math.log(math.exp(-3) + math.e),
            -40.0 - (2.0 + math.log(1 + math.exp(-2))),
        ]
    )
    phi = logit_scaled_confidence(cross_entropy_from_logits(logits, targets))
    torch.testing.assert_close(phi, expected.double(), rtol=1e-6, atol=1e-5)
    assert bool((-F.log_softmax(logits, 1).gather(1, targets.view(-1, 1)) == 0).any())  # what it replaced


def _outputs(phi: torch.Tensor, offset: int = 0) -> SampleOutputs:
    n = phi.numel()
    probs = torch.full((n, 2), 0.5)
    return SampleOutputs(probs, torch.zeros(n, dtype=torch.long), torch.arange(offset, offset + n), F.softplus(-phi))


def _gaussian_world(k: int, n: int, d: float, seed: int = 0, sigmas=(1.5, 1.5), shift: float = 0.0):
    """Per-sample means, one spread per set; the judged model lifts the forget samples by d spreads.

    ``shift`` moves every sample of both sets by the same amount (in units of phi) under the judged model.
    """
    gen = torch.Generator().manual_seed(seed)
    mu = {s: torch.randn(n, generator=gen, dtype=torch.float64) * 3 for s in ("forget", "test")}
    sigma = dict(zip(("forget", "test"), sigmas, strict=True))

    def draw(name, lift=0.0):
        return mu[name] + sigma[name] * (torch.randn(n, generator=gen, dtype=torch.float64) + lift)

    refs = [{s: _outputs(draw(s), 10**6 * (s == "test")) for s in mu} for _ in range(k)]
    target = {"forget": _outputs(draw("forget", d) + shift), "test": _outputs(draw("test") + shift, 10**6)}
    return target, refs


@pytest.mark.parametrize("variance", ["global", "per_sample"])
def test_attack_on_per_sample_gaussians_matches_the_closed_form(variance):
    # z = (phi - mu_hat) / sigma_hat with K references: forget z ~ N(d, 1 + 1/K), unseen z ~ N(0, 1 + 1/K) (global
    # sigma, estimated well from K * n deviations), so AUC = Phi(d / sqrt(2 (1 + 1/K))). A per-sample sigma from 64
    # references is close to the truth: the same within the tolerance.
    k, n, d = 64, 20_000, 1.0
    target, refs = _gaussian_world(k, n, d)
    result = lira_attack(target, refs, variance=variance)
    assert result.auc == pytest.approx(phi_cdf(d / math.sqrt(2 * (1 + 1 / k))), abs=0.01)
    assert result.forget_scores.shape == (n,) and result.unseen_scores.shape == (n,)
    assert float(result.forget_scores.mean()) == pytest.approx(d, abs=0.03)


def test_few_references_widen_the_scores_as_the_closed_form_says():
    # K = 4, global sigma: z ~ N(d, 1 + 1/4) on forget, N(0, 1 + 1/4) unseen: AUC 0.736 (0.760 without the 1/K)
    k, d = 4, 1.0
    target, refs = _gaussian_world(k, 20_000, d)
    assert lira_attack(target, refs).auc == pytest.approx(phi_cdf(d / math.sqrt(2 * (1 + 1 / k))), abs=0.008)


def test_the_global_sigma_is_pooled_over_both_sets():
    # Forget samples spread 1, unseen samples 2 over the references; the judged model lowers every sample's phi by
    # 3 on both sets and otherwise treats them alike: both sets' z centre on the same value, so AUC is 0.5 (a sigma
    # pooled per set would centre them at -3 and -1.5: AUC 0.14).
    target, refs = _gaussian_world(8, 20_000, 0.0, sigmas=(1.0, 2.0), shift=-3.0)
    assert lira_attack(target, refs).auc == pytest.approx(0.5, abs=0.01)


def test_class_wise_forgetting_compares_with_the_test_samples_of_the_forgotten_classes():
    # ``test`` (other classes) looks like members under the judged model, ``test_forget`` like the forget set:
    # the attack must read test_forget
    target, refs = _gaussian_world(8, 5_000, 0.0)
    lifted, lifted_refs = _gaussian_world(8, 5_000, 3.0, seed=1)  # its forget set sits 3 spreads above its refs
    target = {**target, "test_forget": target["test"], "test": lifted["forget"]}
    refs = [{**r, "test_forget": r["test"], "test": lr["forget"]} for r, lr in zip(refs, lifted_refs, strict=True)]
    result = lira_attack(target, refs)
    assert result.auc == pytest.approx(0.5, abs=0.02) and result.unseen_scores.numel() == 5_000
    without = [{k: v for k, v in r.items() if k != "test_forget"} for r in (target, *refs)]
    assert lira_attack(without[0], without[1:]).auc < 0.1  # what reading ``test`` would give


def test_a_loss_that_underflowed_still_scores():
    phi = logit_scaled_confidence(torch.tensor([0.0, 1e-320], dtype=torch.float64))
    assert bool(torch.isfinite(phi).all()) and float(phi[0]) > 700


def test_a_model_like_the_references_scores_chance_and_one_of_them_too():
    target, refs = _gaussian_world(16, 20_000, 0.0)
    assert lira_attack(target, refs).auc == pytest.approx(0.5, abs=0.01)
    assert lira_attack(refs[3], refs).auc == pytest.approx(0.5, abs=0.01)
    assert lira_attack(refs[3], refs).tpr_at_1_fpr == pytest.approx(0.01, abs=0.005)


def test_bad_inputs_are_refused():
    target, refs = _gaussian_world(2, 10, 0.0)
    with pytest.raises(ValueError, match="at least one reference"):
        lira_attack(target, [])
    shifted = {"forget": _outputs(torch.zeros(10), 5), "test": refs[0]["test"]}
    with pytest.raises(ValueError, match="samples differ"):
        lira_attack(target, [shifted])
    no_losses = {name: o._replace(losses=None) for name, o in target.items()}
    with pytest.raises(ValueError, match="no per-sample losses"):
        lira_attack(no_losses, refs)
    with pytest.raises(ValueError, match="at least 2 reference"):
        standardised_scores(torch.zeros(3), torch.zeros(1, 3), "per_sample")
    with pytest.raises(ValueError, match="must be"):
        standardised_scores(torch.zeros(3), torch.zeros(2, 4))
    assert unseen_set({"test": refs[0]["test"], "test_forget": refs[0]["test"]}) == "test_forget"


def _overlapping_blobs(n: int = 1600):
    """10 classes of 20-dimensional Gaussians that overlap (test accuracy about 60 %): a model must memorise."""
    gen = torch.Generator().manual_seed(0)
    centers = torch.randn(10, 20, generator=gen) * 0.5
    y = torch.randint(0, 10, (n,), generator=gen)
    return centers[y] + torch.randn(n, 20, generator=gen), y


def _train(x, y, seed: int, epochs: int = 300):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(20, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):  # full batch until every training sample is fitted (training accuracy 100 %)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model


def _scored(model, x, y, idx):
    with torch.no_grad():
        logits = model(x[idx])
    return SampleOutputs(logits.softmax(1), y[idx], idx, cross_entropy_from_logits(logits, y[idx]))


def test_real_models_a_memorising_model_is_caught_and_a_retrained_one_is_not():
    # 1000 training samples (the first 100 the forget set), 600 unseen. 8 references and the retrained model train
    # on the retain set with different seeds; the original trains on all 1000 and fits them all. Measured (4 data
    # seeds, 1 thread): retrained AUC 0.48-0.53, TPR 0-0.04; original AUC 0.79-0.81, TPR 0.23-0.39.
    x, y = _overlapping_blobs()
    samples = torch.arange(len(y))
    forget, retain, unseen = samples[:100], samples[100:1000], samples[1000:]

    def outputs(model):
        return {"forget": _scored(model, x, y, forget), "test": _scored(model, x, y, unseen)}

    refs = [outputs(_train(x[retain], y[retain], seed)) for seed in range(1, 9)]
    retrained = lira_attack(outputs(_train(x[retain], y[retain], 0)), refs)
    original_model = _train(x[:1000], y[:1000], 0)
    assert bool((original_model(x[:1000]).argmax(1) == y[:1000]).all())
    original = lira_attack(outputs(original_model), refs)
    assert abs(retrained.auc - 0.5) < 0.1, retrained.auc
    assert original.auc > 0.7, original.auc
    assert original.tpr_at_1_fpr > 0.15 > retrained.tpr_at_1_fpr, (original.tpr_at_1_fpr, retrained.tpr_at_1_fpr)
