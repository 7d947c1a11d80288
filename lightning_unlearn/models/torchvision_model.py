"""Any torchvision classifier, split into features and head at its final linear layer."""

from __future__ import annotations

from typing import Any

from torch import nn

from lightning_unlearn.models.feature_classifier import FeatureClassifier

_HEAD_ATTRS = ("fc", "classifier", "head", "heads")


def _last_linear(module: nn.Module) -> tuple[nn.Module, str, nn.Linear]:
    """Find the final ``nn.Linear`` of a torchvision classifier and the parent that holds it."""
    for attr in _HEAD_ATTRS:
        head = getattr(module, attr, None)
        if isinstance(head, nn.Linear):
            return module, attr, head
        if isinstance(head, nn.Sequential):
            for i in range(len(head) - 1, -1, -1):
                layer = head[i]
                if isinstance(layer, nn.Linear):
                    return head, str(i), layer
    raise ValueError(f"cannot find the final linear layer of {type(module).__name__} (looked at {_HEAD_ATTRS})")


class TorchvisionClassifier(FeatureClassifier):
    """Wrap ``torchvision.models.get_model(name)``: its final linear layer becomes the head, the rest the features.

    Args:
        name: A torchvision model name, e.g. ``"resnet50"``, ``"mobilenet_v3_small"``, ``"vit_b_16"``.
        num_classes: Output classes.
        in_channels: Image channels; must be 3 (torchvision models take RGB).
        **kwargs: Passed to ``get_model`` (``weights=None`` by default: no download).

    Raises:
        ValueError: For ``in_channels`` other than 3 or a model without a final linear layer.
    """

    def __init__(self, name: str, num_classes: int = 10, in_channels: int = 3, **kwargs: Any) -> None:
        from torchvision.models import get_model

        if in_channels != 3:
            raise ValueError(f"torchvision models take 3-channel images, got in_channels={in_channels}")
        kwargs.setdefault("weights", None)
        net = get_model(name, **kwargs)
        parent, attr, old = _last_linear(net)
        head = nn.Linear(old.in_features, num_classes)
        if isinstance(parent, nn.Sequential):
            parent[int(attr)] = nn.Identity()
        else:
            setattr(parent, attr, nn.Identity())
        super().__init__(net, head, old.in_features)
