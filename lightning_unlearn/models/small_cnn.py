"""A small convolutional network that trains in seconds on a CPU."""

from __future__ import annotations

from torch import nn

from lightning_unlearn.models.feature_classifier import FeatureClassifier


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class SmallCNN(FeatureClassifier):
    """Three conv stages (``width``, 2x, 4x channels) with max-pooling between, average pooling, linear head.

    Args:
        num_classes: Output classes.
        in_channels: Image channels.
        width: Channels of the first stage.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 32) -> None:
        features = nn.Sequential(
            *_block(in_channels, width),
            *_block(width, width),
            nn.MaxPool2d(2),
            *_block(width, 2 * width),
            *_block(2 * width, 2 * width),
            nn.MaxPool2d(2),
            *_block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        super().__init__(features, nn.Linear(4 * width, num_classes), 4 * width)
