"""Unlearning methods: every one a subclass of :class:`UnlearningModule` that defines its loss."""

from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.methods.feature_constraint import FeatureConstraintUnlearner
from lightning_unlearn.methods.retrain import Retrain

__all__ = ["FeatureConstraintUnlearner", "LossTerms", "Retrain", "UnlearningModule"]
