"""Networks, each split into a feature extractor and a classifier head."""

from lightning_unlearn.models.allcnn import AllCNN
from lightning_unlearn.models.classifier_module import ClassifierModule
from lightning_unlearn.models.feature_classifier import FeatureClassifier
from lightning_unlearn.models.network_module import NetworkModule
from lightning_unlearn.models.registry import ARCHITECTURES, build_network
from lightning_unlearn.models.resnet import ResNet18
from lightning_unlearn.models.small_cnn import SmallCNN
from lightning_unlearn.models.torchvision_model import TorchvisionClassifier

__all__ = [
    "ARCHITECTURES",
    "AllCNN",
    "ClassifierModule",
    "FeatureClassifier",
    "NetworkModule",
    "ResNet18",
    "SmallCNN",
    "TorchvisionClassifier",
    "build_network",
]
