"""Build a network from a name, so checkpoints and configs can record the architecture as plain text."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from lightning_unlearn.models.allcnn import AllCNN
from lightning_unlearn.models.feature_classifier import FeatureClassifier
from lightning_unlearn.models.resnet import ResNet18
from lightning_unlearn.models.small_cnn import SmallCNN
from lightning_unlearn.models.torchvision_model import TorchvisionClassifier

ARCHITECTURES: dict[str, Callable[..., FeatureClassifier]] = {
    "small_cnn": SmallCNN,
    "resnet18": ResNet18,
    "allcnn": AllCNN,
}


def build_network(arch: str, num_classes: int, in_channels: int, **kwargs: Any) -> FeatureClassifier:
    """Instantiate a :class:`FeatureClassifier` by name.

    Args:
        arch: ``"small_cnn"``, ``"resnet18"``, ``"allcnn"``; ``"torchvision:<name>"`` for any torchvision
            classifier; or a dotted path ``"my_pkg.models.MyNet"`` to a :class:`FeatureClassifier` subclass
            (or factory) taking ``num_classes`` and ``in_channels``.
        num_classes: Output classes.
        in_channels: Image channels.
        **kwargs: Passed to the architecture.

    Raises:
        ValueError: For an unknown name or a factory that returns something other than a FeatureClassifier.
    """
    if arch in ARCHITECTURES:
        factory = ARCHITECTURES[arch]
    elif arch.startswith("torchvision:"):
        return TorchvisionClassifier(arch.split(":", 1)[1], num_classes=num_classes, in_channels=in_channels, **kwargs)
    elif "." in arch:
        module_name, _, attr = arch.rpartition(".")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"cannot import architecture {arch!r}: {err}") from err
    else:
        raise ValueError(
            f"unknown architecture {arch!r}; expected one of {sorted(ARCHITECTURES)}, 'torchvision:<name>' "
            "or a dotted path to a FeatureClassifier"
        )
    net = factory(num_classes=num_classes, in_channels=in_channels, **kwargs)
    if not isinstance(net, FeatureClassifier):
        raise ValueError(f"architecture {arch!r} built a {type(net).__name__}, not a FeatureClassifier")
    return net
