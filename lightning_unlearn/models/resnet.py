"""ResNet-18 for 32x32 images: 3x3 stem with stride 1 and no max-pool (He et al. 2016, CIFAR variant)."""

from __future__ import annotations

from torch import Tensor, nn

from lightning_unlearn.models.feature_classifier import FeatureClassifier


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (projected when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: Tensor) -> Tensor:
        """Residual block output."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet18(FeatureClassifier):
    """ResNet-18 with a 3x3 stride-1 stem and no max-pool, for 32x32 inputs; 512-d pooled features.

    Args:
        num_classes: Output classes.
        in_channels: Image channels.
        width: Channels of the first stage (64 in the paper).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 64) -> None:
        widths = [width, 2 * width, 4 * width, 8 * width]
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        c_in = width
        for stage, c_out in enumerate(widths):
            stride = 1 if stage == 0 else 2
            layers += [BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1)]
            c_in = c_out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        super().__init__(nn.Sequential(*layers), nn.Linear(c_in, num_classes), c_in)
