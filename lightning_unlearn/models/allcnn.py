"""All-CNN-C (Springenberg et al. 2015): only convolutions, strided instead of pooled; used by SCRUB and SSD."""

from __future__ import annotations

from torch import nn

from lightning_unlearn.models.feature_classifier import FeatureClassifier


def _conv(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class AllCNN(FeatureClassifier):
    """All-CNN-C with batch norm (as in the SCRUB code base): 96/192 channels, two stride-2 convolutions.

    Args:
        num_classes: Output classes.
        in_channels: Image channels.
        width_factor: Multiplies the 96/192 channel widths.
        dropout: Dropout after each downsampling stage (0 disables it).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width_factor: float = 1.0, dropout: float = 0.0):
        c1, c2 = int(96 * width_factor), int(192 * width_factor)
        features = nn.Sequential(
            *_conv(in_channels, c1),
            *_conv(c1, c1),
            *_conv(c1, c2, stride=2),
            nn.Dropout(dropout),
            *_conv(c2, c2),
            *_conv(c2, c2),
            *_conv(c2, c2, stride=2),
            nn.Dropout(dropout),
            *_conv(c2, c2),
            *_conv(c2, c2, kernel=1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        super().__init__(features, nn.Linear(c2, num_classes), c2)
