"""The network contract of the library: a feature extractor followed by a classifier head."""

from __future__ import annotations

from torch import Tensor, nn


class FeatureClassifier(nn.Module):
    """A classifier split into ``features`` (images to a flat feature vector) and ``head`` (features to logits).

    Unlearning methods constrain or read features, so every network exposes the two parts separately.

    Args:
        features: Maps ``[N, C, H, W]`` images to ``[N, feature_dim]``.
        head: Maps ``[N, feature_dim]`` features to ``[N, num_classes]`` logits.
        feature_dim: Width of the feature vector.
    """

    def __init__(self, features: nn.Module, head: nn.Module, feature_dim: int) -> None:
        super().__init__()
        self.features = features
        self.head = head
        self.feature_dim = feature_dim

    def forward(self, x: Tensor) -> Tensor:
        """Logits of ``x``."""
        return self.head(self.features(x))

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Features and logits of ``x`` in one pass."""
        feats = self.features(x)
        return feats, self.head(feats)
