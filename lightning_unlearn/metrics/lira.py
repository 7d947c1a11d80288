"""Per-sample membership inference calibrated on reference models: offline LiRA.

Carlini et al., "Membership Inference Attacks From First Principles" (IEEE S&P 2022), offline variant. For a
sample ``(x, y)`` and a model ``f``, the attack's statistic is the logit-scaled confidence

    phi(f, x) = log(p_y / (1 - p_y)),   p = softmax(f(x)),

which is close to Gaussian over models trained with different seeds. ``K`` reference models that never saw
``x`` give ``mu_x`` and ``sigma_x``, the mean and standard deviation of ``phi`` over them. Here the references
are models retrained on the retain set with other seeds (initialisation and batch order differ; the paper's
also differ in their training subsets, which widens ``sigma_x``). The model being judged is scored per sample
by the paper's offline statistic (Algorithm 1), a one-sided tail probability under the references' Gaussian,

    Lambda(x) = Pr[Z < phi(f, x)],   Z ~ N(mu_x, sigma_x^2),

i.e. ``Lambda = Phi(z)`` with ``z = (phi(f, x) - mu_x) / sigma_x``: a sample the judged model is more
confident on than models that never trained on it looks like a member, one it is less confident on looks
like a non-member. (The paper's released code ranks by the two-sided ``-log N(phi; mu_x, sigma_x)`` instead,
which would count an over-forgotten sample as a member.) With few reference models a per-sample ``sigma_x``
is noisy; ``variance="global"`` uses one standard deviation of ``phi`` around each sample's own mean, pooled
over every sample scored, forget and unseen together (the fixed-variance variant; any one constant ranks the
samples alike, it only sets the scale of ``z``). The scores returned are ``z`` (``Lambda`` is monotone in it
and saturates at 1 in float arithmetic, ``z`` does not).

The attack tells forget samples (members the model was asked to unlearn) from unseen samples of the same classes
(the test set; for class-wise forgetting, the test samples of the forgotten classes), scored the same way: its
AUC and its TPR at 1 % FPR. A model that treats both sets alike scores near chance (AUC 0.5; TPR about
``(floor(0.01 n) + 1) / (n + 1)`` for ``n`` unseen samples, 1.3 % at 300, 1.0 % at 3000); **closer to the
retrained model's value is better**; the original model, which trained on the forget set, scores high.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from lightning_unlearn.metrics.outputs import SampleOutputs

Variance = Literal["per_sample", "global"]
#: Smallest standard deviation of ``phi`` used, so that a sample all references agree on does not divide by 0.
MIN_STD = 1e-6


def logit_scaled_confidence(losses: Tensor) -> Tensor:
    """``phi = log(p_y / (1 - p_y))`` of each sample from its cross-entropy ``l = -log p_y`` (float64).

    ``p_y = exp(-l)`` and ``1 - p_y = -expm1(-l)``, so ``phi = -l - log(-expm1(-l))``: exact for losses computed
    from the logits (:func:`~lightning_unlearn.metrics.mia.cross_entropy_from_logits`), including confident
    samples whose ``p_y`` rounds to 1. A loss that underflowed to 0 (a logit margin above about 745) is read as
    the smallest positive float64, so ``phi`` stays finite (about 708).
    """
    losses = losses.double().clamp_min(torch.finfo(torch.float64).tiny)
    return -losses - torch.log(-torch.expm1(-losses))


def standardised_scores(target: Tensor, references: Tensor, variance: Variance = "global") -> Tensor:
    """``z = (phi_target - mu) / sigma`` per sample, ``mu`` and ``sigma`` over the reference models.

    Args:
        target: ``[N]`` logit-scaled confidences under the model being judged.
        references: ``[K, N]`` the same under ``K`` reference models that never trained on the samples.
        variance: ``"per_sample"``: ``sigma`` of each sample over the references (needs ``K >= 2``);
            ``"global"``: the standard deviation of every reference's deviation from its sample's mean,
            pooled over all ``N`` samples (with ``K = 1`` there is no deviation to pool, so ``sigma = 1``).
            Score every sample the attack compares in one call: a sigma pooled per set would scale the two
            sets differently.
    """
    if references.dim() != 2 or references.shape[1] != target.shape[0]:
        raise ValueError(f"references must be [K, {target.shape[0]}], got {list(references.shape)}")
    mu = references.mean(0)
    k = references.shape[0]
    if variance == "per_sample":
        if k < 2:
            raise ValueError("a per-sample variance needs at least 2 reference models")
        sigma = references.std(0, correction=1)
    elif variance == "global":
        pooled = (references - mu).pow(2).sum().div(references.numel() - target.numel()).sqrt() if k > 1 else 1.0
        sigma = torch.full_like(mu, float(pooled))
    else:
        raise ValueError(f"variance must be 'per_sample' or 'global', got {variance!r}")
    return (target - mu) / sigma.clamp_min(MIN_STD)


def auc(positives: Tensor, negatives: Tensor) -> float:
    """Area under the ROC curve: ``Pr[s_pos > s_neg] + Pr[s_pos = s_neg] / 2`` (Mann-Whitney, ties halved)."""
    if positives.numel() == 0 or negatives.numel() == 0:
        return math.nan
    scores = torch.cat([positives, negatives]).double()
    order = scores.argsort()
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, scores.numel() + 1, dtype=torch.float64)
    # tied scores share the mean of their ranks
    uniq, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    rank_sums = torch.zeros(uniq.numel(), dtype=torch.float64).index_add_(0, inverse, ranks)
    ranks = (rank_sums / counts)[inverse]
    n_pos, n_neg = positives.numel(), negatives.numel()
    u = ranks[:n_pos].sum().item() - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def tpr_at_fpr(positives: Tensor, negatives: Tensor, fpr: float = 0.01) -> float:
    """Largest share of positives above a threshold that at most ``fpr`` of the negatives exceed (FPR <= ``fpr``).

    The threshold is the ``(floor(fpr * n) + 1)``-th largest negative score; positives must be strictly above it.
    (The paper's code takes FPR strictly below ``fpr``: one false positive fewer where ``fpr * n`` is whole.)
    """
    if positives.numel() == 0 or negatives.numel() == 0:
        return math.nan
    allowed = math.floor(fpr * negatives.numel())
    threshold = negatives.double().sort(descending=True).values[allowed]
    return float((positives.double() > threshold).double().mean())


@dataclass(frozen=True)
class LiRAResult:
    """The attack on one model.

    Attributes:
        auc: ROC AUC of forget (members) vs unseen samples (non-members), 0.5 = chance.
        tpr_at_1_fpr: True-positive rate at (at most) 1 % false-positive rate; chance ``(floor(0.01 n) + 1) / (n + 1)``
            for ``n`` unseen samples.
        forget_scores: ``[N_forget]`` per-sample ``z`` of the forget samples, in sample-index order.
        unseen_scores: ``[N_unseen]`` the same for the unseen samples.
    """

    auc: float
    tpr_at_1_fpr: float
    forget_scores: Tensor
    unseen_scores: Tensor


def unseen_set(outputs: Mapping[str, SampleOutputs]) -> str:
    """The unseen samples of the forget set's classes: ``test_forget`` for class-wise forgetting, else ``test``."""
    return "test_forget" if "test_forget" in outputs else "test"


def _phi(outputs: SampleOutputs, name: str) -> Tensor:
    if outputs.losses is None:
        raise ValueError(f"the {name} outputs hold no per-sample losses from the logits: LiRA needs them")
    return logit_scaled_confidence(outputs.losses)


def _same_samples(target: SampleOutputs, reference: SampleOutputs, name: str) -> None:
    if not torch.equal(target.indices, reference.indices):
        raise ValueError(f"the reference models' {name} samples differ from the judged model's")


def lira_attack(
    target: Mapping[str, SampleOutputs],
    references: Sequence[Mapping[str, SampleOutputs]],
    variance: Variance = "global",
    fpr: float = 0.01,
) -> LiRAResult:
    """Offline LiRA of one model: forget samples against unseen ones, calibrated on ``references``.

    Args:
        target: The judged model's per-set outputs (``forget`` and ``test``, plus ``test_forget`` for class-wise
            forgetting), with per-sample losses from the logits.
        references: The same outputs of each reference model (trained without the forget set), on the same
            samples.
        variance: How ``sigma`` is estimated (:func:`standardised_scores`).
        fpr: The false-positive rate of the reported TPR.

    Raises:
        ValueError: Without references, without losses, or when the references scored other samples.
    """
    if not references:
        raise ValueError("LiRA needs at least one reference model")
    names = ("forget", unseen_set(target))
    for name in names:
        for ref in references:
            _same_samples(target[name], ref[name], name)
    # both sets in one call, so that a pooled sigma scales them alike
    phi_target = torch.cat([_phi(target[name], name) for name in names])
    phi_refs = torch.stack([torch.cat([_phi(ref[name], name) for name in names]) for ref in references])
    z = standardised_scores(phi_target, phi_refs, variance)
    forget, unseen = z.split([target[name].indices.numel() for name in names])
    return LiRAResult(auc(forget, unseen), tpr_at_fpr(forget, unseen, fpr), forget, unseen)
