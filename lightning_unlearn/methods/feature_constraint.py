"""The feature-constraint unlearner with adaptive loss balance (J. Computer Research and Development 61(10), 2024)."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import update_bn

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.data.forget import ForgetSplit
from lightning_unlearn.losses.balancers import (
    BalancerCallable,
    ConstrainedWeighting,
    LossBalancer,
    UncertaintyWeighting,
)
from lightning_unlearn.losses.classification import cross_entropy, unlikelihood
from lightning_unlearn.losses.feature_distance import FeatureDistance, feature_distance, per_sample_feature_distance
from lightning_unlearn.losses.unseen_target import TargetKind, reference_values, target_gap
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.models.feature_classifier import FeatureClassifier
from lightning_unlearn.models.modes import eval_mode
from lightning_unlearn.models.optim import ScheduleCallable, WarmupCosineDecay

TeacherNorm = Literal["running", "batch"]
#: Retained samples the student's feature statistics are measured on (``distance="standardized"``).
STATS_SAMPLES = 2048
Control = Literal["auto", "none", "holdout"]
StudentNorm = Literal["batch", "frozen", "recalibrate"]


def _original_lr(original_ckpt: str | None) -> float:
    """The peak learning rate recorded in the original checkpoint (0.01 when it records none)."""
    from lightning_unlearn.models.checkpoint import provenance_of, read_checkpoint

    if original_ckpt is None:
        return 0.01
    blob = read_checkpoint(original_ckpt)
    recorded = provenance_of(blob).get("lr") or (blob.get("hyper_parameters") or {}).get("lr")
    return float(recorded) if recorded else 0.01


class FeatureConstraintUnlearner(UnlearningModule):
    """Forget by pulling the student's features toward a frozen random teacher's; recover on retain data.

    Two tasks, balanced by a :class:`~lightning_unlearn.losses.LossBalancer`:

    * **forget**: ``L_f = d(f_student(x_f), f_teacher(x_f))``: the distance between the student's and the
      teacher's features on a forget batch. The teacher has the student's architecture, is randomly
      initialised from ``teacher_seed``, never trained, frozen (no gradients, absent from the optimiser,
      saved in checkpoints). A network that never saw the forget samples is what the student should look
      like on them.
      Optionally mixed per sample with an unlikelihood term that lowers the confidence in the memorised label
      (``unlikelihood_share``).
    * **recover**: ``L_r = CE(student(x_r), y_r)`` on a batch of the retain share, to win back what the
      forget task costs on retained knowledge.

    ``loss = balancer([L_f, L_r])``. Forget and retain images go through the student in one forward pass.

    The paper fixes neither layer, distance nor balance formula; each is a choice here:

    Args:
        feature_layer: ``"penultimate"`` (the pooled features before the head; default), ``"logits"``, or the
            name of any submodule of the network (``dict(net.named_modules())`` keys, e.g. ``"features.3"``),
            whose output is flattened.
        distance: See :func:`~lightning_unlearn.losses.feature_distance`. Default ``"normalized_mse"``: a
            trained and a random network's features differ in scale by orders, so raw MSE mostly measures scale.
            ``"standardized"``: each network's features standardised per dimension with its own mean and standard
            deviation, measured once at the start (the teacher's over the forget set, the student's, as the
            original model gives them, over the retain share), then the mean squared difference. A random
            network maps every image to nearly the same direction (pairwise cosine about 0.97 on CIFAR-10), so
            the other distances pull every forget sample toward one common point, a change the network
            generalises to retained and unseen images; the standardised teacher features differ from sample to
            sample, so each forget sample gets its own random target within the range of the student's
            features, which the network can fit sample by sample, as it fitted the training set.
        balancer: Builds the balancer of the two losses (called with no argument; a class or a
            ``functools.partial``, in YAML ``{class_path: ..., init_args: ...}``). Default
            :class:`~lightning_unlearn.losses.UncertaintyWeighting` (learnable log-variances on normalised
            losses, bounded); :class:`~lightning_unlearn.losses.ConstrainedWeighting` (a learnable forget weight
            raised while the holdout control finds forget samples still memorised, lowered once it does not;
            needs the control), :class:`~lightning_unlearn.losses.DynamicWeightAverage`,
            :class:`~lightning_unlearn.losses.FixedWeights` (``init_args: {weights: [1, 1]}``), or any
            :class:`~lightning_unlearn.losses.LossBalancer` of two losses.
        balancer_lr: Learning rate of the balancer's parameters (``None``: ``lr``); own group, weight decay 0.
        teacher_seed: Seed of the teacher's random initialisation (recorded; the teacher is also in checkpoints).
        teacher_norm: How the teacher's batch norm behaves: ``"running"`` uses its initial running statistics
            (eval mode, mean 0 / variance 1); ``"batch"`` normalises with each forget batch's own statistics
            without updating any buffer (keeps a deep random network's features from vanishing).
        control: What decides that a forget sample is forgotten. ``"none"``: nothing, every forget sample is
            pulled toward the teacher all along (the paper's literal reading). ``"holdout"``: a forget sample is
            pulled only while the student is more confident in its label than its own fixed random quantile of
            a reference distribution measured on the data module's holdout set (training data no model trained
            on; see :mod:`lightning_unlearn.losses.unseen_target`) at the start of every epoch: the true-class
            probabilities of holdout samples for random-sample forgetting, the probabilities holdout samples
            give labels they do not have for class-wise forgetting. The forget set thus ends with the
            confidence distribution of unseen data. ``"auto"`` (default): ``"holdout"`` when the data module
            has a holdout set (``holdout_fraction > 0``), else ``"none"``.
        control_seed: Seed of the per-sample quantiles.
        cache_teacher: Compute the teacher's features of every forget image once, at the start of ``fit``
            (un-augmented, in shuffled batches of the training batch size), instead of at every step: a quarter
            less compute per step. Exact only with ``teacher_norm="running"`` and no augmentation: with batch
            statistics the target depends on which images share the batch (the cache's batches are mixed as the
            training batches are, but not the same), and with augmentation it is the clean image's.
        student_norm: The student's batch-norm statistics. ``"batch"``: updated by every training batch, as in
            ordinary training (forget batches pulled toward random features then shift them). ``"frozen"``: kept
            at the original model's (batch norm in eval mode; its affine weights still train).
            ``"recalibrate"``: updated during training, then recomputed at the end of ``fit`` as the plain
            average over one pass of the retain share.
        retain_share: Share of the retain set used by the recover task.
        lr: Learning rate; ``None`` (default) takes ``lr_scale`` times the original model's peak learning rate
            (recorded in its checkpoint), so the step size follows the network and data it was tuned for.
        lr_scale: See ``lr``.
        lr_scheduler: Per-step schedule; :class:`~lightning_unlearn.models.optim.WarmupCosineDecay` (default)
            anneals to zero, as the original's schedule did, which gives back retain accuracy a constant rate
            would cost.
        unlikelihood_share: Share ``u`` of each forget sample's loss given to :func:`unlikelihood`
            (``-log(1 - p_y)``): the sample's loss is ``(1 - u) * d(student, teacher) + u * unlikelihood``.
            Default 0: the teacher's features alone, as the paper states. With standardised logits the teacher
            gives each forget sample a confident random answer, label noise that the network generalises to
            unseen data; the unlikelihood term only takes confidence away from the memorised label and lets the
            network's own belief about the image take its place, as a retrained model's does on an image it never
            saw. Scratch probe (memorised CPU benchmark, random 10 %, seed 0, validation set; retrain UA 43.8,
            RA 99.7, TA 59.4): ``u = 0`` gives UA 43.2, RA 82.3, TA 54.6 (Avg.Gap 8.70), ``u = 0.2`` UA 46.0,
            RA 91.7, TA 59.4 (2.80). ``u = 1`` switches the teacher off (an ablation: the unlikelihood alone).
        **kwargs: Further settings of :class:`UnlearningModule` (``original_ckpt``, optimiser, ...).

    Note:
        Lightning warns at ``fit`` start about modules in eval mode when ``teacher_norm="running"``: that is the
        teacher, intentionally kept in eval mode by :meth:`train`.
    """

    def __init__(
        self,
        feature_layer: str = "penultimate",
        distance: FeatureDistance | Literal["standardized"] = "normalized_mse",
        balancer: BalancerCallable = UncertaintyWeighting,
        balancer_lr: float | None = None,
        teacher_seed: int = 0,
        teacher_norm: TeacherNorm = "batch",
        control: Control = "auto",
        control_seed: int = 0,
        cache_teacher: bool = False,
        student_norm: StudentNorm = "batch",
        retain_share: float = 0.1,
        lr: float | None = None,
        lr_scale: float = 0.5,
        lr_scheduler: ScheduleCallable | None = WarmupCosineDecay,
        unlikelihood_share: float = 0.0,
        **kwargs: Any,
    ) -> None:
        if lr is None:
            lr = lr_scale * _original_lr(kwargs.get("original_ckpt"))
        super().__init__(retain_share=retain_share, lr=lr, lr_scheduler=lr_scheduler, **kwargs)
        self.lr_scale = lr_scale
        if not 0.0 <= unlikelihood_share <= 1.0:
            raise ValueError(f"unlikelihood_share must lie in [0, 1], got {unlikelihood_share}")
        self.unlikelihood_share = unlikelihood_share
        if teacher_norm not in ("running", "batch"):
            raise ValueError(f"teacher_norm must be 'running' or 'batch', got {teacher_norm!r}")
        self.feature_layer = feature_layer
        self.distance = distance
        self.teacher_seed = teacher_seed
        self.teacher_norm = teacher_norm
        self.balancer_lr = balancer_lr
        if control not in ("auto", "none", "holdout"):
            raise ValueError(f"control must be 'auto', 'none' or 'holdout', got {control!r}")
        self.control = control
        self.control_seed = control_seed
        self.cache_teacher = cache_teacher
        self.teacher_index: Tensor
        self.teacher_features: Tensor
        self.register_buffer("teacher_index", torch.zeros(0, dtype=torch.long))
        self.register_buffer("teacher_features", torch.zeros(0))
        # per-dimension mean and standard deviation of each network's features on the forget set ("standardized")
        self.feature_stats: Tensor
        self.register_buffer("feature_stats", torch.zeros(0))
        if student_norm not in ("batch", "frozen", "recalibrate"):
            raise ValueError(f"student_norm must be 'batch', 'frozen' or 'recalibrate', got {student_norm!r}")
        self.student_norm = student_norm
        self.control_kind: TargetKind | None = None  # resolved from the data in check_data
        self.unseen_reference: Tensor
        self.register_buffer("unseen_reference", torch.zeros(0))
        self.teacher = self._make_teacher()
        self.balancer = balancer()
        if not isinstance(self.balancer, LossBalancer) or self.balancer.num_tasks != 2:
            raise ValueError(f"balancer must build a LossBalancer of 2 losses (forget, recover), got {self.balancer!r}")
        if feature_layer not in ("penultimate", "logits") and feature_layer not in dict(self.net.named_modules()):
            raise ValueError(f"feature_layer {feature_layer!r} is not a submodule of {self.arch}")
        if distance != "standardized":
            feature_distance(torch.zeros(1, 2), torch.zeros(1, 2), distance)  # reject an unknown distance now

    def check_data(self, split: ForgetSplit, example: Batch, source_name: str) -> None:
        """Resolve ``control`` from the data: it needs a holdout set, and the scenario picks the reference."""
        super().check_data(split, example, source_name)
        has_holdout = split.holdout.numel() > 0
        if self.control == "holdout" and not has_holdout:
            raise ValueError(
                "control='holdout' needs a holdout set: set the data module's holdout_fraction (e.g. 0.05)"
            )
        active = self.control == "holdout" or (self.control == "auto" and has_holdout)
        self.control_kind = ("wrong_class" if split.forget_classes else "true_class") if active else None
        if self.control_kind is None and isinstance(self.balancer, ConstrainedWeighting):
            raise ValueError(
                "ConstrainedWeighting raises the forget weight while the holdout control finds forget samples "
                "still memorised: set the data module's holdout_fraction (e.g. 0.05) and keep control='auto'"
            )

    def on_train_epoch_start(self) -> None:
        """Measure the holdout reference distribution with the student as it is now (eval mode)."""
        if self.control_kind is None:
            return
        probs, targets = [], []
        with eval_mode(self), torch.inference_mode():
            for batch in self.batches("holdout"):
                probs.append(self(batch.inputs).float().softmax(-1))
                targets.append(batch.targets)
        self.unseen_reference = reference_values(torch.cat(probs), torch.cat(targets), self.control_kind).clone()

    def prepare_unlearning(self) -> None:
        """One pass over the forget set (and part of the retain set), when needed.

        With ``cache_teacher``: the teacher's features of every forget image, kept by sample index. With
        ``distance="standardized"``: the mean and standard deviation of each feature dimension of the teacher
        over the forget set, and of the student over (up to :data:`STATS_SAMPLES` of) the retain share, in eval
        mode: the original model's features of data it keeps, so a forgotten class's own statistics never
        become its target.
        """
        if not self.cache_teacher and self.distance != "standardized":
            return
        indices, teacher = [], []
        with torch.no_grad():
            for batch in self.batches("forget", shuffle=True):  # mixed batches, as training sees them
                indices.append(batch.indices)
                teacher.append(self._features(self.teacher, batch.inputs)[0].float())
        if self.cache_teacher:
            index = torch.cat(indices)
            order = index.argsort()
            self.teacher_index = index[order]
            self.teacher_features = torch.cat(teacher)[order]
        if self.distance == "standardized":
            student = self._student_features("retain", self.retain_share, STATS_SAMPLES)
            stats = []
            for features in (student, torch.cat(teacher)):
                # one sample has no spread (its std is NaN): then the distance is left unscaled
                std = features.std(0) if len(features) > 1 else torch.ones_like(features[0])
                stats += [features.mean(0), std.clamp_min(1e-6)]
            self.feature_stats = torch.stack(stats)  # student mean, student std, teacher mean, teacher std

    def _student_features(self, name: str, share: float, limit: int) -> Tensor:
        """The student's constrained features (eval mode) of ``limit`` samples of a training set, drawn at random.

        At random, not the first ones: sources keep their samples in class order, so the first ``limit`` retain
        samples would miss the last classes and give their logits no statistics of their own.
        """
        features: list[Tensor] = []
        seen = 0
        with torch.no_grad(), eval_mode(self.net):
            for batch in self.batches(name, share, shuffle=True):
                features.append(self._features(self.net, batch.inputs)[0].float())
                seen += batch.targets.numel()
                if seen >= limit:
                    break
        return torch.cat(features)[:limit]

    def _distances(self, student: Tensor, teacher: Tensor) -> Tensor:
        """Per-sample distance between the student's features and the teacher's target features."""
        if self.distance != "standardized":
            return per_sample_feature_distance(student, teacher, self.distance)
        s_mean, s_std, t_mean, t_std = self.feature_stats
        z_student = (student.float() - s_mean) / s_std
        z_teacher = (teacher.float() - t_mean) / t_std
        return (z_student - z_teacher).pow(2).mean(1)

    def _teacher_target(self, forget: Batch) -> Tensor:
        if self.cache_teacher:
            rows = torch.searchsorted(self.teacher_index, forget.indices.to(self.teacher_index.device))
            return self.teacher_features[rows]
        with torch.no_grad():
            return self._features(self.teacher, forget.inputs)[0]

    def _make_teacher(self) -> FeatureClassifier:
        teacher = self.random_network(self.teacher_seed)
        if self.teacher_norm == "batch":
            for m in teacher.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.track_running_stats = False  # batch statistics in train mode, buffers never updated
        return teacher

    def train(self, mode: bool = True) -> FeatureConstraintUnlearner:
        """Set train/eval mode; the teacher keeps the mode its ``teacher_norm`` needs, whatever ``mode`` is.

        With ``"batch"`` the teacher always normalises with batch statistics, so its outputs (and metrics that
        read them, like ZRF) do not depend on whether the student is training.
        """
        super().train(mode)
        self.teacher.train(self.teacher_norm == "batch")
        if mode and self.student_norm == "frozen":
            for m in self.net.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def optimizer_param_groups(self) -> list[dict[str, Any]]:
        """The network's groups plus the balancer's parameters (own group, weight decay 0)."""
        groups = super().optimizer_param_groups()
        params = [p for p in self.balancer.parameters() if p.requires_grad]
        if params:
            group: dict[str, Any] = {"params": params, "weight_decay": 0.0, "name": "balancer"}
            if self.balancer_lr is not None:
                group["lr"] = self.balancer_lr
            groups.append(group)
        return groups

    def _features(self, net: FeatureClassifier, x: Tensor) -> tuple[Tensor, Tensor]:
        """The constrained features of ``x`` and the logits, in one forward pass."""
        x = self._format(x)
        if self.feature_layer == "penultimate":
            return net.forward_features(x)
        if self.feature_layer == "logits":
            logits = net(x)
            return logits, logits
        captured: list[Tensor] = []
        handle = dict(net.named_modules())[self.feature_layer].register_forward_hook(
            lambda _m, _i, out: captured.append(out)
        )
        try:
            logits = net(x)
        finally:
            handle.remove()
        return captured[0].flatten(1), logits

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """``balancer([d(student, teacher) on forget (mixed with the unlikelihood), CE on retain])``, all logged."""
        assert forget is not None and retain is not None
        n_forget = forget.inputs.shape[0]
        feats, logits = self._features(self.net, torch.cat([forget.inputs, retain.inputs]))
        forget_feats, forget_logits, retain_logits = feats[:n_forget], logits[:n_forget], logits[n_forget:]
        target = self._teacher_target(forget)
        distances = self._distances(forget_feats, target)
        violation = None
        if self.control_kind is not None:
            probs = forget_logits.detach().float().softmax(-1)
            gap = target_gap(probs, forget.targets, forget.indices, self.unseen_reference, self.control_seed)
            pushed = gap > 0
            violation = gap.mean()
        else:
            pushed = torch.ones_like(distances, dtype=torch.bool)
        if self.unlikelihood_share > 0:
            share = self.unlikelihood_share
            distances = (1 - share) * distances + share * unlikelihood(forget_logits, forget.targets)
        forget_loss = (distances * pushed).sum() / n_forget
        recover_loss = cross_entropy(retain_logits, retain.targets)
        total, weights = self.balancer(torch.stack([forget_loss, recover_loss]), violation)
        return {
            "loss": total,
            "forget_loss": forget_loss,
            "recover_loss": recover_loss,
            "weight_forget": weights[0],
            "weight_recover": weights[1],
            "pushed_share": pushed.float().mean(),
        }

    def on_train_end(self) -> None:
        """With ``student_norm="recalibrate"``: recompute the student's batch-norm statistics on the retain share."""
        if self.student_norm != "recalibrate":
            return
        # a cumulative average of every batch-norm layer's statistics over one pass, in train mode
        update_bn((self._format(batch.inputs) for batch in self.batches("retain", self.retain_share)), self.net)

    def on_train_epoch_end(self) -> None:
        """Let epoch-level balancers (DWA) update their weights."""
        self.balancer.on_epoch_end()
