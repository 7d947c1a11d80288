"""The one declaration of every metric a report holds: its name, meaning, direction, log name and Avg.Gap role.

The summary (:func:`~lightning_unlearn.metrics.summary.summarize`) writes rows under these names, the metric
callbacks log under their ``log_name``, the report's columns and legend come from here, and Avg.Gap averages the
metrics declared ``in_gap``. A new metric is declared once, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lightning_unlearn.metrics.mia import MIAFeature

#: How a metric is judged: by its closeness to the retrained model's value, or lower / higher is better.
Better = Literal["retrain", "lower", "higher"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric of a report row.

    Attributes:
        name: Key in summary rows, results files and report columns.
        meaning: The legend's text (without the direction, which :attr:`legend` adds).
        better: How it is judged.
        in_gap: Whether Avg.Gap averages it.
        log_name: Name the metric callbacks log it under (``None``: not logged by a callback).
        selection_name: For an Avg.Gap metric read on test data, its stand-in on the validation set (what a
            recipe is chosen by, so no choice reads the test set).
        table: Which table of the report shows it: ``"main"``, ``"detail"`` or ``None`` (none: a tuning
            metric).
    """

    name: str
    meaning: str
    better: Better
    in_gap: bool = False
    log_name: str | None = None
    selection_name: str | None = None
    table: Literal["main", "detail"] | None = "detail"

    @property
    def legend(self) -> str:
        """The meaning with the direction, as the report's legend prints it."""
        direction = {"retrain": "closer to retrain is better", "lower": "lower is better", "higher": "higher is better"}
        return f"{self.meaning} ({direction[self.better]})"


_DECLARED = (
    MetricSpec("UA", "unlearning accuracy, 100 - forget-set accuracy", "retrain", in_gap=True, table="main"),
    MetricSpec("RA", "retain-set accuracy", "retrain", in_gap=True, log_name="retain/acc", table="main"),
    MetricSpec(
        "TA",
        "test accuracy; for class-wise forgetting on the remaining classes",
        "retrain",
        in_gap=True,
        log_name="test/acc",
        selection_name="TA_val",
        table="main",
    ),
    MetricSpec(
        "TA_forgotten",
        "class-wise only: test accuracy on the forgotten classes (retrain: 0)",
        "retrain",
        log_name="test_forget/acc",
        table="main",
    ),
    MetricSpec(
        "MIA",
        "MIA-efficacy, confidence feature (SalUn): % of forget samples an SVM calls non-members",
        "retrain",
        in_gap=True,
        log_name="mia/efficacy",
        selection_name="MIA_val",
        table="main",
    ),
    MetricSpec("avg_gap", "Avg.Gap: mean |difference to retrain| over UA, RA, TA, MIA", "lower", table="main"),
    MetricSpec("seconds", "wall seconds of fit, evaluation excluded, method set-up included", "lower", table="main"),
    MetricSpec("RTE", "run time / retrain's run time", "lower", table="main"),
    MetricSpec("MIA_entropy", "MIA-efficacy with the prediction-entropy feature", "retrain", log_name="mia/entropy"),
    MetricSpec(
        "MIA_m_entropy",
        "MIA-efficacy with the modified-entropy feature of Song & Mittal",
        "retrain",
        log_name="mia/m_entropy",
    ),
    MetricSpec(
        "MIA_loss",
        "loss-based MIA accuracy, forget vs test, logistic regression, 10 splits (50 is ideal for random forgetting)",
        "retrain",
        log_name="mia/loss_acc",
    ),
    MetricSpec(
        "JS_forget",
        "mean Jensen-Shannon divergence (nats) to retrain's softmax on the forget set",
        "lower",
        log_name="forget/js_retrain",
    ),
    MetricSpec("JS_test", "the same on the test set", "lower", log_name="test/js_retrain"),
    MetricSpec("AD_forget", "activation distance: mean L2 between softmax outputs and retrain's, forget set", "lower"),
    MetricSpec("AD_test", "the same on the test set", "lower"),
    MetricSpec("ZRF", "1 - mean JS to a random network on the forget set", "retrain"),
    MetricSpec(
        "ZRF_authors_code",
        "ZRF as the Bad Teacher authors' code computes it: 1 - (KL(m||p) + KL(m||q)) / 2, averaged over samples "
        "and classes (not the paper's formula; for comparison with papers that ran their code)",
        "retrain",
    ),
    MetricSpec(
        "LiRA_AUC",
        "per-sample offline LiRA attack calibrated on reference models (a grid's reference_models): AUC of forget "
        "vs unseen test samples of their classes (retrain: about 0.5)",
        "retrain",
    ),
    MetricSpec(
        "LiRA_TPR@1%FPR",
        "the same attack's true-positive rate at (at most) 1 % false positives (chance (floor(0.01 n) + 1) / "
        "(n + 1) for n unseen samples: 0.013 at 300, 0.010 at 3000)",
        "retrain",
    ),
    MetricSpec("eval_overhead", "seconds of the per-epoch metric callbacks / seconds of training", "lower"),
    MetricSpec(
        "TA_val", "TA on the validation set (held-out training data): what a recipe is chosen by", "retrain", table=None
    ),
    MetricSpec("MIA_val", "MIA-efficacy with the validation set in place of the test set", "retrain", table=None),
)

#: Every declared metric by name, in report order.
METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in _DECLARED}

#: The metrics averaged by Avg.Gap (SalUn, Fan et al., ICLR 2024).
GAP_METRICS: tuple[str, ...] = tuple(spec.name for spec in _DECLARED if spec.in_gap)
#: The same with the validation set in place of the test set: what a recipe is chosen by (never the test set).
SELECTION_GAP_METRICS: tuple[str, ...] = tuple(spec.selection_name or spec.name for spec in _DECLARED if spec.in_gap)
#: The MIA-efficacy feature behind each MIA metric.
MIA_FEATURE_METRICS: dict[MIAFeature, str] = {
    "confidence": "MIA",
    "entropy": "MIA_entropy",
    "m_entropy": "MIA_m_entropy",
}
#: The membership-inference metrics of the full sets: the MIA-efficacies, then the loss-based attack's accuracy.
MIA_METRICS: tuple[str, ...] = (*MIA_FEATURE_METRICS.values(), "MIA_loss")


def log_name(name: str) -> str:
    """The name the metric callbacks log ``name`` under.

    Raises:
        KeyError: For a metric that is not declared or not logged by a callback.
    """
    logged = METRICS[name].log_name
    if logged is None:
        raise KeyError(f"{name} is not logged by a metric callback")
    return logged


def report_columns(table: Literal["main", "detail"]) -> dict[str, str]:
    """Column -> legend of a report table (``method`` first), from the declarations."""
    columns = {"method": "model: original, retrain (gold standard), or an unlearning method"}
    columns.update({s.name: s.legend for s in _DECLARED if s.table == table})
    return columns
