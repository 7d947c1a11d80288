"""Loss terms and loss balancers shared by the unlearning methods."""

from lightning_unlearn.losses.balancers import (
    BalancerCallable,
    ConstrainedWeighting,
    DynamicWeightAverage,
    FixedWeights,
    LossBalancer,
    UncertaintyWeighting,
)
from lightning_unlearn.losses.classification import cross_entropy, unlikelihood
from lightning_unlearn.losses.distillation import distillation_kl, distillation_kl_to_probs
from lightning_unlearn.losses.feature_distance import FeatureDistance, feature_distance, per_sample_feature_distance
from lightning_unlearn.losses.labels import random_labels
from lightning_unlearn.losses.unseen_target import reference_values, still_memorised, target_gap, unit_uniform

__all__ = [
    "BalancerCallable",
    "ConstrainedWeighting",
    "DynamicWeightAverage",
    "FeatureDistance",
    "FixedWeights",
    "LossBalancer",
    "UncertaintyWeighting",
    "cross_entropy",
    "distillation_kl",
    "distillation_kl_to_probs",
    "feature_distance",
    "per_sample_feature_distance",
    "random_labels",
    "reference_values",
    "still_memorised",
    "target_gap",
    "unit_uniform",
    "unlikelihood",
]
