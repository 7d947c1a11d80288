"""Membership-inference attacks on an unlearned model.

Two families, both from the literature's reference code, with their definitions made exact:

* **MIA-efficacy** (Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023, and SalUn,
  Fan et al., ICLR 2024): an RBF SVM (``C=3, gamma="auto"``) learns to tell members from non-members by a
  one-dimensional feature of the softmax output. Members: a random retain sample of the test set's size
  (label 1); non-members: the test set (label 0). Efficacy = share of forget samples the attack calls
  non-members, x 100. **Higher means the forget set looks less like training data; closer to the retrained
  model's value is better** (retrain scores about 100 on a forgotten class, and about its test error rate
  on random samples, which look like unseen data to it).
* **Loss-based MIA** (NeurIPS 2023 Machine Unlearning challenge starting kit): per-sample cross-entropy,
  logistic regression, forget (label 1) vs test (label 0) class-balanced by subsampling the larger set,
  mean accuracy of 10 stratified shuffle splits, x 100. **50 is ideal** (the attack cannot tell them apart).
  The losses come from the logits (:func:`cross_entropy_from_logits`, float64), as the kit computes them:
  ``-log p`` of a float32 probability saturates where ``p`` underflows, and gradient ascent makes such
  forget sets.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

MIAFeature = Literal["confidence", "entropy", "m_entropy"]
_EPS = 1e-30


def confidence(probs: Tensor, targets: Tensor) -> Tensor:
    """Softmax probability of the true label, ``p_y``."""
    return probs.gather(1, targets.view(-1, 1)).squeeze(1)


def entropy(probs: Tensor) -> Tensor:
    """Prediction entropy ``-sum_i p_i log p_i`` (natural log; ``0 log 0 = 0``)."""
    return -torch.where(probs > 0, probs * probs.clamp_min(_EPS).log(), torch.zeros_like(probs)).sum(1)


def modified_entropy(probs: Tensor, targets: Tensor) -> Tensor:
    """Modified entropy of Song & Mittal (USENIX Security 2021), which uses the label.

    ``Mentr = -(1 - p_y) log p_y - sum_{i != y} p_i log(1 - p_i)``. Low for confident correct predictions,
    high for confident wrong ones. (SalUn's published code indexes ``[:, labels]``, which selects whole
    columns rather than each row's label, and takes ``log p`` where ``log(1 - p)`` is meant; this is the
    paper's formula.)
    """
    p_y = confidence(probs, targets)
    one_hot = torch.nn.functional.one_hot(targets, probs.shape[1]).bool()
    others = torch.where(one_hot, torch.zeros_like(probs), probs * (1 - probs).clamp_min(_EPS).log())
    return -(1 - p_y) * p_y.clamp_min(_EPS).log() - others.sum(1)


def mia_feature(probs: Tensor, targets: Tensor, kind: MIAFeature = "confidence") -> Tensor:
    """The attack feature of each sample."""
    if kind == "confidence":
        return confidence(probs, targets)
    if kind == "entropy":
        return entropy(probs)
    if kind == "m_entropy":
        return modified_entropy(probs, targets)
    raise ValueError(f"unknown MIA feature {kind!r}; expected confidence, entropy or m_entropy")


def mia_efficacy(
    forget: tuple[Tensor, Tensor],
    retain: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    kind: MIAFeature = "confidence",
    seed: int = 0,
) -> float:
    """MIA-efficacy in percent (see the module docstring); each argument is ``(probs, targets)``.

    The attack trains on as many members as non-members: ``len(test)`` retain samples drawn with ``seed``
    (SalUn takes the first ``len(test)`` retain samples; a random draw avoids any order in the retain set) and,
    when the retain outputs are fewer than the test outputs, a draw of as many test samples. An unbalanced
    training set would teach the SVM to call almost everything a non-member (a 1,000-sample retain subset
    against a 10,000-sample test set gave 100 for a model that forgot nothing).

    Raises:
        ValueError: When a set is empty.
    """
    from sklearn.svm import SVC

    if min(len(forget[1]), len(retain[1]), len(test[1])) == 0:
        raise ValueError("MIA-efficacy needs non-empty forget, retain and test outputs")
    gen = torch.Generator().manual_seed(seed)
    members = torch.randperm(len(retain[1]), generator=gen)[: len(test[1])]
    non_members = torch.arange(len(test[1]))
    if len(members) < len(non_members):
        non_members = torch.randperm(len(test[1]), generator=gen)[: len(members)].sort().values
    x_member = mia_feature(retain[0][members].cpu(), retain[1][members].cpu(), kind)
    x_non = mia_feature(test[0][non_members].cpu(), test[1][non_members].cpu(), kind)
    x = torch.cat([x_member, x_non]).double().numpy().reshape(-1, 1)
    y = np.concatenate([np.ones(len(x_member)), np.zeros(len(x_non))])
    # sklearn draws libsvm's seed from the global numpy RNG unless given one: an int leaves that RNG untouched
    clf = SVC(C=3, gamma="auto", kernel="rbf", random_state=seed)
    clf.fit(x, y)
    x_forget = mia_feature(forget[0].cpu(), forget[1].cpu(), kind).double().numpy().reshape(-1, 1)
    return float((1.0 - clf.predict(x_forget).mean()) * 100.0)


def per_sample_cross_entropy(probs: Tensor, targets: Tensor) -> Tensor:
    """``-log p_y`` of each sample from probabilities, floored at 1e-30: at most 69.08.

    For outputs that only hold probabilities; :func:`cross_entropy_from_logits` does not saturate.
    """
    return -confidence(probs, targets).clamp_min(_EPS).log()


def cross_entropy_from_logits(logits: Tensor, targets: Tensor) -> Tensor:
    """``-log p_y`` of each sample from the logits (no floor; exact for logit margins up to about 700), as float64.

    Computed as ``softplus(-m)`` with the margin ``m = z_y - logsumexp_{j != y} z_j`` (``p_y = sigmoid(m)``):
    the margin runs in float32, which every device has (MPS has no float64), the softplus in float64. A
    log-softmax rounds ``-log p_y`` to 0 once ``1 - p_y`` falls below float32's resolution (a margin above about
    17), and ``-log`` of a float32 *probability* saturates where the probability underflows; this does neither,
    so the logit-scaled confidence of :func:`~lightning_unlearn.metrics.lira.logit_scaled_confidence` stays exact.
    """
    logits = logits.float()
    true_logit = logits.gather(1, targets.view(-1, 1)).squeeze(1)
    others = logits.scatter(1, targets.view(-1, 1), float("-inf"))
    margin = true_logit - torch.logsumexp(others, dim=1)
    return torch.nn.functional.softplus(-margin.double())


def loss_mia_accuracy(
    forget: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    seed: int = 0,
    splits: int = 10,
    losses: tuple[Tensor, Tensor] | None = None,
) -> float:
    """Loss-based MIA accuracy in percent, as in the NeurIPS 2023 unlearning challenge (50 is ideal).

    Args:
        forget: ``(probs, targets)`` of the forget set.
        test: ``(probs, targets)`` of the test set.
        seed: Seed of the class-balancing subsample and of the splits.
        splits: Stratified shuffle splits of the logistic regression.
        losses: The per-sample losses of the forget and the test set computed from the logits
            (:attr:`SampleOutputs.losses <lightning_unlearn.metrics.outputs.SampleOutputs>`); without them, the
            losses are read from the probabilities (:func:`per_sample_cross_entropy`, saturating at 69.08).

    Raises:
        ValueError: When either set has fewer than ``splits`` samples.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedShuffleSplit, cross_val_score

    if losses is not None:
        f_loss, t_loss = (x.double().cpu() for x in losses)
    else:
        f_loss = per_sample_cross_entropy(*forget).double().cpu()
        t_loss = per_sample_cross_entropy(*test).double().cpu()
    n = min(len(f_loss), len(t_loss))
    if n < splits:
        raise ValueError(
            f"loss MIA needs at least {splits} forget and test samples, got {len(f_loss)} and {len(t_loss)}"
        )
    gen = torch.Generator().manual_seed(seed)
    f_loss = f_loss[torch.randperm(len(f_loss), generator=gen)[:n]]
    t_loss = t_loss[torch.randperm(len(t_loss), generator=gen)[:n]]
    x = torch.cat([t_loss, f_loss]).numpy().reshape(-1, 1)
    y = np.concatenate([np.zeros(n), np.ones(n)])
    cv = StratifiedShuffleSplit(n_splits=splits, random_state=seed)
    scores = cross_val_score(LogisticRegression(), x, y, cv=cv, scoring="accuracy")
    return float(scores.mean() * 100.0)
