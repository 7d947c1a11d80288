from __future__ import annotations

import os

import pytest
import torch

from lightning_unlearn.io import sha256_file
from lightning_unlearn.models import SmallCNN
from lightning_unlearn.models.checkpoint import CheckpointError, load_network
from tests.conftest import MODEL_ARGS


def test_original_checkpoint_loads_into_the_same_architecture(original_ckpt):
    net = SmallCNN(num_classes=4, in_channels=1, width=4)
    provenance = load_network(net, original_ckpt, "small_cnn")
    state = torch.load(original_ckpt, weights_only=True)["state_dict"]
    torch.testing.assert_close(net.head.weight, state["net.head.weight"])
    assert provenance["trained_on"] == ["all"] and provenance["arch"] == "small_cnn"


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_network(SmallCNN(), tmp_path / "none.ckpt")


def test_corrupt_checkpoint(tmp_path):
    path = tmp_path / "bad.ckpt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_network(SmallCNN(), path)


def test_checkpoint_of_another_architecture(original_ckpt):
    with pytest.raises(CheckpointError, match="holds another architecture"):
        load_network(SmallCNN(num_classes=4, in_channels=1, width=8), original_ckpt)
    with pytest.raises(CheckpointError, match="holds a 'small_cnn' network, but this model is a 'resnet18'"):
        load_network(SmallCNN(num_classes=4, in_channels=1, width=4), original_ckpt, "resnet18")


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_checkpoint_crafted_to_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _Exploit()}, path)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_network(SmallCNN(), path)
    assert not (tmp_path / "pwned").exists()


def test_loading_never_modifies_the_original_file(original_ckpt):
    before = sha256_file(original_ckpt)
    from lightning_unlearn.methods import FeatureConstraintUnlearner

    FeatureConstraintUnlearner(original_ckpt=str(original_ckpt), **MODEL_ARGS)
    assert sha256_file(original_ckpt) == before
