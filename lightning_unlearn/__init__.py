"""lightning_unlearn: machine unlearning for image classifiers, as PyTorch Lightning modules."""

from lightning_unlearn.callbacks import ForgettingMetrics, RunTimer
from lightning_unlearn.data import Batch, ForgetSpec, UnlearningDataModule
from lightning_unlearn.methods import FeatureConstraintUnlearner, Retrain, UnlearningModule
from lightning_unlearn.models import ClassifierModule, FeatureClassifier, NetworkModule, build_network
from lightning_unlearn.version import __version__

__all__ = [
    "Batch",
    "ClassifierModule",
    "FeatureClassifier",
    "FeatureConstraintUnlearner",
    "ForgetSpec",
    "ForgettingMetrics",
    "NetworkModule",
    "Retrain",
    "RunTimer",
    "UnlearningDataModule",
    "UnlearningModule",
    "__version__",
    "build_network",
]
