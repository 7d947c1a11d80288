"""Forgetting and membership metrics: pure functions plus thin torchmetrics collectors.

Directions: UA, RA, TA, MIA-efficacy and ZRF are judged by their closeness to the retrained model's value;
the loss-based MIA accuracy is ideal at 50; the per-sample LiRA attack's AUC and TPR at 1 % FPR are judged by
their closeness to the retrained model's (about 0.5 and 0.01); JS divergence and activation distance to the
retrained model, Avg.Gap and the run-time ratio are better when lower.
"""

from lightning_unlearn.metrics.accuracy import accuracy, unlearning_accuracy
from lightning_unlearn.metrics.divergence import (
    activation_distance,
    js_divergence,
    label_histogram,
    mean_js_divergence,
    zrf_score,
    zrf_score_authors_code,
)
from lightning_unlearn.metrics.gap import GAP_METRICS, avg_gap, mean_row, run_time_ratio
from lightning_unlearn.metrics.lira import LiRAResult, auc, lira_attack, logit_scaled_confidence, tpr_at_fpr
from lightning_unlearn.metrics.mia import (
    confidence,
    cross_entropy_from_logits,
    entropy,
    loss_mia_accuracy,
    mia_efficacy,
    mia_feature,
    modified_entropy,
    per_sample_cross_entropy,
)
from lightning_unlearn.metrics.outputs import SampleOutputCollector, SampleOutputs, deduplicate
from lightning_unlearn.metrics.summary import accuracy_metrics, aligned, mia_metrics, summarize

__all__ = [
    "GAP_METRICS",
    "LiRAResult",
    "SampleOutputCollector",
    "SampleOutputs",
    "accuracy",
    "accuracy_metrics",
    "activation_distance",
    "aligned",
    "auc",
    "avg_gap",
    "confidence",
    "cross_entropy_from_logits",
    "deduplicate",
    "entropy",
    "js_divergence",
    "label_histogram",
    "lira_attack",
    "logit_scaled_confidence",
    "loss_mia_accuracy",
    "mean_js_divergence",
    "mean_row",
    "mia_efficacy",
    "mia_feature",
    "mia_metrics",
    "modified_entropy",
    "per_sample_cross_entropy",
    "run_time_ratio",
    "summarize",
    "tpr_at_fpr",
    "unlearning_accuracy",
    "zrf_score",
    "zrf_score_authors_code",
]
