"""Membership-inference attacks on the forget set, every few epochs and in every test run."""

from __future__ import annotations

from lightning_unlearn.callbacks.set_outputs import SetOutputsCallback
from lightning_unlearn.metrics.mia import MIAFeature, loss_mia_accuracy, mia_efficacy
from lightning_unlearn.metrics.outputs import SampleOutputs
from lightning_unlearn.metrics.registry import MIA_FEATURE_METRICS, log_name
from lightning_unlearn.metrics.summary import losses_of


class MembershipInference(SetOutputsCallback):
    """Log membership-inference attacks on the forget set.

    ``mia/efficacy`` (confidence feature, as SalUn reports it), ``mia/entropy`` and ``mia/m_entropy`` are
    MIA-efficacy with three features; ``mia/loss_acc`` is the loss-based attack's accuracy (50 is ideal), in
    ``validate`` and ``test`` runs only (its ten cross-validated fits cost too much for a per-epoch monitor).

    Names as declared in :mod:`lightning_unlearn.metrics.registry` (the report calls them ``MIA``,
    ``MIA_entropy``, ``MIA_m_entropy``, ``MIA_loss``); see :mod:`lightning_unlearn.metrics.mia` for the
    definitions. During ``fit`` the attacks
    run on the monitor subsample (``monitor_size`` per set): the SVM's cost grows with the square of the
    member and non-member counts, and a subsample of 1,000 keeps it to a fraction of a second.

    Args:
        every_n_epochs: Attack every this many training epochs (0: only in test runs).
        monitor_size: Samples per set in the monitor; ``None``: every sample.
        seed: Seed of the monitor subsample and of the attacks' member sample and splits.
        features: MIA-efficacy features to report in ``validate`` and ``test`` runs.
        fit_features: MIA-efficacy features of the per-epoch monitor (each is an SVM fit).
    """

    def __init__(
        self,
        every_n_epochs: int = 5,
        monitor_size: int | None = 1000,
        seed: int = 0,
        features: tuple[MIAFeature, ...] = ("confidence", "entropy", "m_entropy"),
        fit_features: tuple[MIAFeature, ...] = ("confidence",),
    ) -> None:
        super().__init__(every_n_epochs, monitor_size, seed)
        self.features = tuple(features)
        self.fit_features = tuple(fit_features)

    def compute_values(self, outputs: dict[str, SampleOutputs], stage: str) -> dict[str, float]:
        """The attacks on the forget set."""
        f, r, t = outputs["forget"], outputs["retain"], outputs["test"]
        values = {
            log_name(MIA_FEATURE_METRICS[kind]): mia_efficacy(
                (f.probs, f.targets), (r.probs, r.targets), (t.probs, t.targets), kind, self.seed
            )
            for kind in (self.fit_features if stage == "fit" else self.features)
        }
        if stage != "fit":  # ten cross-validated fits: too slow for a per-epoch monitor
            try:
                values[log_name("MIA_loss")] = loss_mia_accuracy(
                    (f.probs, f.targets), (t.probs, t.targets), self.seed, losses=losses_of(f, t)
                )
            except ValueError:
                values[log_name("MIA_loss")] = float("nan")
        return values
