from __future__ import annotations

import pytest
import torch

from lightning_unlearn.models import AllCNN, FeatureClassifier, ResNet18, SmallCNN, build_network


@pytest.mark.parametrize(
    ("net", "dim"),
    [
        (SmallCNN(num_classes=7, in_channels=3, width=8), 32),
        (ResNet18(num_classes=7, in_channels=3, width=8), 64),
        (AllCNN(num_classes=7, in_channels=3, width_factor=0.1), 19),
    ],
)
def test_every_model_exposes_features_and_head(net, dim):
    x = torch.randn(2, 3, 32, 32)
    feats, logits = net.forward_features(x)
    assert feats.shape == (2, dim) and net.feature_dim == dim
    assert logits.shape == (2, 7)
    torch.testing.assert_close(net.head(feats), logits)
    torch.testing.assert_close(net(x), logits)


def test_resnet18_for_32x32_has_a_3x3_stem_and_no_max_pool():
    net = ResNet18()
    stem = net.features[0]
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in net.modules())
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(11.17e6, rel=0.01)


def test_any_torchvision_classifier_is_split_at_its_last_linear_layer():
    net = build_network("torchvision:mobilenet_v3_small", num_classes=5, in_channels=3)
    feats, logits = net.forward_features(torch.randn(2, 3, 32, 32))
    assert feats.shape == (2, 1024) and logits.shape == (2, 5)
    with pytest.raises(ValueError, match="3-channel"):
        build_network("torchvision:resnet18", num_classes=5, in_channels=1)


def test_registry_builds_a_dotted_path_and_refuses_unknown_names():
    net = build_network("lightning_unlearn.models.SmallCNN", num_classes=3, in_channels=1, width=4)
    assert isinstance(net, FeatureClassifier)
    with pytest.raises(ValueError, match="unknown architecture 'vgg'"):
        build_network("vgg", 10, 3)
    with pytest.raises(ValueError, match="cannot import architecture"):
        build_network("nowhere.Net", 10, 3)
    with pytest.raises(ValueError, match="not a FeatureClassifier"):
        build_network("torch.nn.Identity", 10, 3)
