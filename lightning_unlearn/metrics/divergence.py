"""How far one model's predictions are from another's: the retrained model, or a random one (ZRF)."""

from __future__ import annotations

import torch
from torch import Tensor

_EPS = 1e-12


def js_divergence(p: Tensor, q: Tensor) -> Tensor:
    """Per-sample Jensen-Shannon divergence between rows of two probability matrices, natural log.

    ``JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2``: symmetric, 0 for identical
    rows, at most ``ln 2``.

    Raises:
        ValueError: When the shapes differ.
    """
    if p.shape != q.shape:
        raise ValueError(f"probability matrices differ in shape: {tuple(p.shape)} vs {tuple(q.shape)}")
    p, q = p.double(), q.double()
    m = 0.5 * (p + q)

    def kl(a: Tensor) -> Tensor:
        return torch.where(a > 0, a * (a.clamp_min(_EPS).log() - m.clamp_min(_EPS).log()), torch.zeros_like(a)).sum(1)

    return (0.5 * kl(p) + 0.5 * kl(q)).float()


def mean_js_divergence(p: Tensor, q: Tensor) -> float:
    """Batch-mean JS divergence (mean over samples of the per-sample sum over classes), natural log.

    Lower is closer; use it against the retrained model's outputs on the same samples.
    """
    return float(js_divergence(p, q).mean())


def activation_distance(p: Tensor, q: Tensor) -> float:
    """Mean over samples of the L2 distance between two models' softmax outputs (Golatkar et al. 2021).

    Lower is closer; use it against the retrained model's outputs on the same samples.
    """
    if p.shape != q.shape:
        raise ValueError(f"probability matrices differ in shape: {tuple(p.shape)} vs {tuple(q.shape)}")
    return float((p.double() - q.double()).norm(dim=1).mean())


def zrf_score(model_probs: Tensor, random_probs: Tensor) -> float:
    """Zero Retrain Forgetting score (Chundawat et al., "Can Bad Teaching Induce Forgetting?", AAAI 2023).

    ``ZRF = 1 - mean_i JS(model(x_i), random(x_i))`` over forget samples, with ``random`` a randomly
    initialised network of the same architecture. In ``[1 - ln 2, 1]``; higher means the forget samples get
    predictions more like a network that never learned anything. Closer to the retrained model's value is
    better. This is the paper's formula: ``JS`` is the Jensen-Shannon divergence, ``KL(p || m) / 2 +
    KL(q || m) / 2`` summed over classes. The authors' published code computes another number, see
    :func:`zrf_score_authors_code`.
    """
    return 1.0 - mean_js_divergence(model_probs, random_probs)


def zrf_score_authors_code(model_probs: Tensor, random_probs: Tensor) -> float:
    """ZRF as the Bad Teacher authors' published code computes it (``metrics.py``, ``UnLearningScore``).

    Their ``JSDiv(p, q)`` is ``0.5 * F.kl_div(log p, m) + 0.5 * F.kl_div(log q, m)`` with ``m = (p + q) / 2``
    and ``F.kl_div``'s default mean reduction. ``F.kl_div(log p, m)`` is ``KL(m || p)``, not ``KL(p || m)``,
    and the mean runs over samples *and* classes, so the result is ``1 - (KL(m || p) + KL(m || q)) / (2K)``
    averaged over samples, for ``K`` classes: not a Jensen-Shannon divergence, and closer to 1 than
    :func:`zrf_score` on the same outputs. Computed here in the inputs' precision as their code does (a
    probability of exactly 0 gives ``-inf``, as it would there). Reported as ``ZRF_authors_code`` so results
    can be compared with papers that ran their code; it is not the paper's formula.
    """
    if model_probs.shape != random_probs.shape:
        raise ValueError(
            f"probability matrices differ in shape: {tuple(model_probs.shape)} vs {tuple(random_probs.shape)}"
        )
    m = 0.5 * (model_probs + random_probs)

    def kl_div_mean(log_input: Tensor) -> Tensor:
        # F.kl_div(log_input, m) with its "mean" reduction (which torch warns it will redefine): the mean over
        # every element of xlogy(m, m) - m * log_input
        return (torch.xlogy(m, m) - m * log_input).mean()

    divergence = 0.5 * kl_div_mean(model_probs.log()) + 0.5 * kl_div_mean(random_probs.log())
    return float(1.0 - divergence)


def label_histogram(probs: Tensor, num_classes: int) -> list[int]:
    """How many samples are predicted as each class."""
    return torch.bincount(probs.argmax(1), minlength=num_classes).tolist()
