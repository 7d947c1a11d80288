"""Loss terms and loss balancers shared by the unlearning methods."""

from lightning_unlearn.losses.balancers import (
    BALANCERS,
    DynamicWeightAverage,
    FixedWeights,
    LossBalancer,
    UncertaintyWeighting,
    build_balancer,
)
from lightning_unlearn.losses.classification import cross_entropy
from lightning_unlearn.losses.feature_distance import FeatureDistance, feature_distance

__all__ = [
    "BALANCERS",
    "DynamicWeightAverage",
    "FeatureDistance",
    "FixedWeights",
    "LossBalancer",
    "UncertaintyWeighting",
    "build_balancer",
    "cross_entropy",
    "feature_distance",
]
