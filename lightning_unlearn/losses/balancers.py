"""Loss balancers: combine the forget and recover losses into one objective with adaptive weights.

Every balancer is an ``nn.Module`` called as ``total, weights = balancer(losses, violation)`` with ``losses``
a 1-d tensor of non-negative task losses (forget first, recover second), ``violation`` an optional signed
measure of how far the forget task is from done (how much more confident the model is on forget samples
than on unseen data; only :class:`ConstrainedWeighting` reads it) and ``weights`` the effective weight of
each task at this step (detached, for logging). Learnable balancers hold ``nn.Parameter``s that the
unlearning module puts in their own optimiser group with weight decay 0.

Choices and why: textbook uncertainty weighting lets a task whose loss is small (a feature MSE of 1e-3)
drive its log-variance to about -7 and its weight to about 1,100, which collapsed a CIFAR-10 ResNet-18 to
11 % retain accuracy in our plain-PyTorch measurement. :class:`UncertaintyWeighting` therefore bounds the
log-variances (``max_log_var=2``: every weight stays in ``[0.07, 3.7]``). Dividing each loss by its own
running value (``normalize``) is available but off by default: it turns a task's weight into ``1 / L``,
and the recover loss of a model that already fits its retain data is about 0.01, so its weight starts near
100 (measured on the digits demo at lr 0.05: retain accuracy fell to 21 %, against 99 % without it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn


class LossBalancer(nn.Module):
    """Interface of every balancer.

    Args:
        num_tasks: Number of losses it combines.
    """

    def __init__(self, num_tasks: int = 2) -> None:
        super().__init__()
        if num_tasks < 1:
            raise ValueError(f"num_tasks must be positive, got {num_tasks}")
        self.num_tasks = num_tasks

    def _check(self, losses: Tensor) -> None:
        if losses.shape != (self.num_tasks,):
            raise ValueError(f"{type(self).__name__} expects {self.num_tasks} losses, got shape {tuple(losses.shape)}")

    def forward(self, losses: Tensor, violation: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Combine ``losses`` into one scalar; also return each task's effective weight (detached).

        ``violation`` is ignored by every balancer but :class:`ConstrainedWeighting`.
        """
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        """Called by the unlearning module at the end of each training epoch (epoch-level schemes update here)."""


#: Builds a balancer, called with no argument: a ``LossBalancer`` class or a ``functools.partial`` of one (in YAML
#: ``{class_path: lightning_unlearn.losses.FixedWeights, init_args: {weights: [1, 1]}}``).
BalancerCallable = Callable[[], LossBalancer]


class FixedWeights(LossBalancer):
    """``total = sum_k w_k L_k`` with constant weights.

    Args:
        weights: One non-negative weight per task.
    """

    weights: Tensor

    def __init__(self, weights: Sequence[float] = (1.0, 1.0)) -> None:
        super().__init__(len(weights))
        if any(w < 0 for w in weights):
            raise ValueError(f"weights must be non-negative, got {list(weights)}")
        self.register_buffer("weights", torch.tensor(list(weights), dtype=torch.float32))

    def forward(self, losses: Tensor, violation: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Weighted sum."""
        self._check(losses)
        w = self.weights.to(losses)
        return (w * losses).sum(), w.detach().clone()


class UncertaintyWeighting(LossBalancer):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018), made safe for unlearning.

    With learnable log-variances ``s_k``: ``total = sum_k 0.5 * exp(-s_k) * L_k / r_k + 0.5 * s_k``,
    so each task's effective weight is ``0.5 * exp(-s_k) / r_k``. The optimum for a fixed loss is
    ``exp(s_k) = L_k / r_k``: a task whose (normalised) loss falls gains weight, one whose loss rises loses it.

    Args:
        num_tasks: Number of losses.
        normalize: Divide each loss by a reference scale ``r_k`` (its exponential moving average over the
            steps so far, detached, seeded with its first value), so the weights compare relative progress
            instead of raw magnitudes. Off (default): ``r_k = 1``, the paper's form; see the module docstring.
        ema: Momentum of that moving average (``0`` freezes the reference at the first step's value).
        max_log_var: Bound ``|s_k| <= max_log_var``; ``None`` leaves it unbounded (the paper's form; the
            source of the measured collapse).
        init_log_var: Initial value of every ``s_k``.
    """

    reference: Tensor
    initialized: Tensor

    def __init__(
        self,
        num_tasks: int = 2,
        normalize: bool = False,
        ema: float = 0.0,
        max_log_var: float | None = 2.0,
        init_log_var: float = 0.0,
    ) -> None:
        super().__init__(num_tasks)
        if not 0.0 <= ema < 1.0:
            raise ValueError(f"ema must lie in [0, 1), got {ema}")
        if max_log_var is not None and max_log_var <= 0:
            raise ValueError(f"max_log_var must be positive or None, got {max_log_var}")
        self.normalize = normalize
        self.ema = ema
        self.max_log_var = max_log_var
        self.log_var = nn.Parameter(torch.full((num_tasks,), float(init_log_var)))
        self.register_buffer("reference", torch.zeros(num_tasks))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def _scale(self, losses: Tensor) -> Tensor:
        if not self.normalize:
            return torch.ones_like(losses)
        detached = losses.detach().float().clamp_min(1e-12)
        if self.training:
            if not bool(self.initialized):
                self.reference.copy_(detached)
                self.initialized.fill_(True)
            elif self.ema > 0:
                self.reference.mul_(self.ema).add_((1 - self.ema) * detached)
        return self.reference.clamp_min(1e-12).to(losses)

    def forward(self, losses: Tensor, violation: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Uncertainty-weighted sum of (normalised) losses."""
        self._check(losses)
        s: Tensor = self.log_var
        if self.max_log_var is not None:
            s = s.clamp(-self.max_log_var, self.max_log_var)
        scale = self._scale(losses)
        precision = 0.5 * torch.exp(-s)
        total = (precision * losses / scale).sum() + 0.5 * s.sum()
        return total, (precision / scale).detach()


class DynamicWeightAverage(LossBalancer):
    """Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019), not learnable, adapted per epoch.

    ``w_k(t) = K * softmax_k(r_k(t-1) / T)`` with ``r_k(t-1) = L_k(t-1) / L_k(t-2)`` the ratio of the task's
    mean losses over the last two epochs: a task whose loss falls slower gets more weight. Weights are 1
    for the first two epochs.

    Args:
        num_tasks: Number of losses.
        temperature: ``T``; larger values give more even weights.
    """

    weights: Tensor
    history: Tensor
    epochs_seen: Tensor
    running_sum: Tensor
    running_count: Tensor

    def __init__(self, num_tasks: int = 2, temperature: float = 2.0) -> None:
        super().__init__(num_tasks)
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature
        self.register_buffer("weights", torch.ones(num_tasks))
        self.register_buffer("history", torch.zeros(2, num_tasks))  # mean losses of the last two epochs
        self.register_buffer("epochs_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("running_sum", torch.zeros(num_tasks))
        self.register_buffer("running_count", torch.zeros((), dtype=torch.long))

    def forward(self, losses: Tensor, violation: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Weighted sum with this epoch's weights; accumulates the epoch's mean losses."""
        self._check(losses)
        if self.training:
            self.running_sum += losses.detach().float()
            self.running_count += 1
        w = self.weights.to(losses)
        return (w * losses).sum(), w.detach().clone()

    def on_epoch_end(self) -> None:
        """Fold this epoch's mean losses into the history and compute next epoch's weights."""
        if int(self.running_count) == 0:
            return
        mean = self.running_sum / self.running_count
        self.history = torch.stack([self.history[1], mean])
        self.epochs_seen += 1
        self.running_sum.zero_()
        self.running_count.zero_()
        if int(self.epochs_seen) >= 2:
            ratio = self.history[1] / self.history[0].clamp_min(1e-12)
            self.weights = self.num_tasks * torch.softmax(ratio / self.temperature, dim=0)


class ConstrainedWeighting(LossBalancer):
    """Forgetting as a constraint, its weight a learnable Lagrange multiplier (dual ascent, as in GECO).

    Unlearning asks to keep the recover loss low *subject to* the forget set no longer looking memorised. With
    ``violation`` a signed measure of how much more confident the model is on the forget samples than on unseen
    data (the unlearner's holdout control gives the mean gap between each forget sample's confidence and its
    target quantile of the holdout's, :func:`~lightning_unlearn.losses.unseen_target.target_gap`) and a
    learnable ``s``:

    ``total = exp(s) * L_f + L_r - s * (violation - tolerance)``

    The forget weight ``exp(s)`` multiplies the forget loss; the last term (constant for the network) gives
    ``s`` the gradient ``-(violation - tolerance)``, so the optimiser *raises* the forget weight while the forget
    set is still more confident than unseen data and *lowers* it once it is less: neither over-forgetting (the
    weight falls as soon as the forget set is pushed past unseen data) nor over-recovering (it rises again when
    recovery makes forgotten samples confident again). Rezende & Viola ("Taming VAEs", 2018)
    balance a reconstruction constraint the same way.

    Args:
        num_tasks: Must be 2 (forget, recover).
        tolerance: How far above zero the violation may stay before the weight rises.
        init_log_weight: Initial ``s`` (forget weight ``exp(s)``).
        max_log_weight: Bound on the log-weight: ``s`` is projected back into ``[-max, max]`` before every use
            (projected gradient descent), so the weight stays within ``exp(±max_log_weight)``, the gradient on
            ``s`` is ``-(violation - tolerance)`` at the bound too, and ``s`` starts back as soon as the violation
            changes sign instead of first unwinding a run-up past the bound.

    Raises:
        ValueError: For a bad argument, or (when called) without ``violation``.
    """

    def __init__(
        self,
        num_tasks: int = 2,
        tolerance: float = 0.0,
        init_log_weight: float = 0.0,
        max_log_weight: float = 4.0,
    ) -> None:
        super().__init__(num_tasks)
        if num_tasks != 2:
            raise ValueError(f"ConstrainedWeighting balances a forget and a recover loss, got num_tasks={num_tasks}")
        if not -1.0 < tolerance < 1.0:
            raise ValueError(f"tolerance must lie in (-1, 1), got {tolerance}")
        if max_log_weight <= 0 or abs(init_log_weight) > max_log_weight:
            raise ValueError(f"need |init_log_weight| <= max_log_weight > 0, got {init_log_weight}, {max_log_weight}")
        self.tolerance = tolerance
        self.max_log_weight = max_log_weight
        self.log_weight = nn.Parameter(torch.tensor(float(init_log_weight)))

    def forward(self, losses: Tensor, violation: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``exp(s) * L_f + L_r - s * (violation - tolerance)``; weights ``[exp(s), 1]``."""
        self._check(losses)
        if violation is None:
            raise ValueError(
                "the constrained balancer needs a violation signal: use it with the holdout control "
                "(control='holdout' or 'auto' with the data module's holdout_fraction > 0)"
            )
        with torch.no_grad():
            self.log_weight.clamp_(-self.max_log_weight, self.max_log_weight)
        s = self.log_weight
        weight = torch.exp(s.detach()).to(losses)
        gap = (violation.detach().float() - self.tolerance).to(losses)
        total = weight * losses[0] + losses[1] - s.to(losses) * gap
        return total, torch.stack([weight, torch.ones_like(weight)]).detach()
