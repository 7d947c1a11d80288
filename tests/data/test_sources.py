from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest
import torch

from lightning_unlearn.data import CIFAR10, MNIST, Digits, FashionMNIST, ImageFolderSource, Synthetic


def test_digits_ship_with_scikit_learn_and_split_stratified():
    data = Digits().load()
    assert data.train.images.shape[1:] == (1, 8, 8) and data.train.images.dtype == torch.uint8
    assert len(data.train) + len(data.test) == 1797
    assert abs(len(data.test) - 0.25 * 1797) < 1
    assert data.train.images.max() == 255
    # each class keeps its share in both sets
    assert torch.bincount(data.test.targets).min() >= 40
    assert Digits().load().train.fingerprint() == data.train.fingerprint()


def test_synthetic_is_deterministic_and_shaped():
    a, b = Synthetic(seed=1).load(), Synthetic(seed=1).load()
    assert torch.equal(a.train.images, b.train.images)
    assert a.train.images.shape == (4 * 32, 1, 8, 8) and len(a.test) == 4 * 16
    assert not torch.equal(Synthetic(seed=2).load().train.images, a.train.images)


def _write_idx(path, array: np.ndarray) -> None:
    magic = {1: 0x0801, 3: 0x0803}[array.ndim]
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") if str(path).endswith(".gz") else open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_torchvision_mnist_sources_read_locally_made_files(tmp_path, cls):
    raw = tmp_path / cls.__name__ / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 6)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, (n,)))
    data = cls(root=str(tmp_path), download=False).load()
    assert data.train.images.shape == (12, 1, 28, 28) and data.test.images.shape == (6, 1, 28, 28)
    assert len(data.classes) == 10


def test_torchvision_cifar10_source_reads_the_python_batches(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10 as TV

    folder = tmp_path / TV.base_folder
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, _ in TV.train_list + TV.test_list:
        entry = {"data": rng.integers(0, 256, (3, 3072)).astype(np.uint8), "labels": [1, 2, 3]}
        with open(folder / name, "wb") as fh:
            pickle.dump(entry, fh)
    with open(folder / TV.meta["filename"], "wb") as fh:
        pickle.dump({TV.meta["key"]: [f"c{i}" for i in range(10)]}, fh)
    # the md5 sums are those of the real archive; everything else is the real torchvision code path
    monkeypatch.setattr("torchvision.datasets.cifar.check_integrity", lambda *a, **k: True)
    data = CIFAR10(root=str(tmp_path), download=False).load()
    assert data.train.images.shape == (15, 3, 32, 32) and data.test.images.shape == (3, 3, 32, 32)
    assert data.train.targets.tolist()[:3] == [1, 2, 3]


def test_torchvision_source_without_data_and_without_download_fails_clearly(tmp_path):
    with pytest.raises(RuntimeError, match="not found"):
        MNIST(root=str(tmp_path), download=False).load()


def _write_folder(root, split, per_class, size=6):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        d = root / split / cls
        d.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(d / f"{i}.png")


def test_image_folder_source_decodes_and_caches(tmp_path):
    _write_folder(tmp_path, "train", 3)
    _write_folder(tmp_path, "test", 2)
    cache = tmp_path / "cache.pt"
    source = ImageFolderSource(str(tmp_path), cache_file=str(cache))
    assert source.num_classes == 2 and source.in_channels == 3
    data = source.load()
    assert data.train.images.shape == (6, 3, 6, 6) and data.classes == ("cat", "dog")
    assert data.train.targets.tolist() == [0, 0, 0, 1, 1, 1]
    assert cache.is_file()
    again = ImageFolderSource(str(tmp_path), cache_file=str(cache)).load()
    assert torch.equal(again.train.images, data.train.images)
    assert len(source.mean) == 3 and 0.3 < source.mean[0] < 0.7  # computed from the images


def test_image_folder_source_resizes_and_converts_to_grey(tmp_path):
    _write_folder(tmp_path, "train", 2, size=10)
    _write_folder(tmp_path, "test", 1, size=10)
    data = ImageFolderSource(str(tmp_path), image_size=4, channels=1).load()
    assert data.train.images.shape == (4, 1, 4, 4)


def test_image_folder_source_refuses_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="training folder not found"):
        ImageFolderSource(str(tmp_path / "nope"))


def test_per_class_subset_keeps_the_first_images_of_each_class():
    from lightning_unlearn.data import PerClassSubset

    full = Synthetic(num_classes=4, train_per_class=10, test_per_class=5, seed=3)
    data = PerClassSubset(full, train_per_class=3, test_per_class=2).load()
    assert torch.bincount(data.train.targets).tolist() == [3, 3, 3, 3]
    assert torch.bincount(data.test.targets).tolist() == [2, 2, 2, 2]
    whole = full.load()
    assert torch.equal(data.train.images[:3], whole.train.images[:3])
    with pytest.raises(ValueError, match="train_per_class must be positive"):
        PerClassSubset(full, train_per_class=0)


def test_torchvision_cifar100_coarse_labels_come_from_its_files(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR100 as TV

    from lightning_unlearn.data import CIFAR100

    folder = tmp_path / TV.base_folder
    folder.mkdir()
    rng = np.random.default_rng(0)
    fine = {"train": [69, 41, 3], "test": [69, 0]}
    coarse = {"train": [19, 19, 8], "test": [19, 4]}
    for name, _ in TV.train_list + TV.test_list:
        n = len(fine[name])
        entry = {"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8), "fine_labels": fine[name]}
        entry["coarse_labels"] = coarse[name]
        with open(folder / name, "wb") as fh:
            pickle.dump(entry, fh)
    with open(folder / TV.meta["filename"], "wb") as fh:
        names = {"fine_label_names": [f"f{i}" for i in range(100)], "coarse_label_names": [f"c{i}" for i in range(20)]}
        pickle.dump(names, fh)
    monkeypatch.setattr("torchvision.datasets.cifar.check_integrity", lambda *a, **k: True)
    source = CIFAR100(root=str(tmp_path), download=False, labels="coarse")
    assert (source.num_classes, source.num_subclasses, source.name) == (20, 100, "cifar100_coarse")
    data = source.load()
    assert data.train.targets.tolist() == [19, 19, 8] and data.train.subclasses is not None
    assert data.train.subclasses.tolist() == [69, 41, 3]
    assert data.test.targets.tolist() == [19, 4] and data.classes[19] == "c19" and data.subclass_names[69] == "f69"
    fine_data = CIFAR100(root=str(tmp_path), download=False).load()
    assert fine_data.train.targets.tolist() == [69, 41, 3] and fine_data.train.subclasses is None
    assert torch.equal(fine_data.train.images, data.train.images)
    with pytest.raises(ValueError, match="'fine' or 'coarse'"):
        CIFAR100(root=str(tmp_path), labels="medium")  # type: ignore[arg-type]


def test_superclasses_relabel_by_group_and_keep_the_class_as_subclass():
    from lightning_unlearn.data import Superclasses

    base = Synthetic(num_classes=4, train_per_class=3, test_per_class=2, image_size=4)
    grouped = Superclasses(base, [[0, 3], [1, 2]], names=["outer", "inner"])
    assert (grouped.num_classes, grouped.num_subclasses) == (2, 4)
    data, plain = grouped.load(), base.load()
    assert data.train.subclasses is not None and torch.equal(data.train.subclasses, plain.train.targets)
    assert data.train.targets.tolist() == [[0, 1, 1, 0][c] for c in plain.train.targets.tolist()]
    assert data.classes == ("outer", "inner") and data.train.fingerprint() != plain.train.fingerprint()
    for groups, message in (
        ([[0, 1], [2]], "exactly once"),
        ([[0, 1, 2, 3]], "two non-empty"),
        ([[0, 1], [1, 2, 3]], "exactly once"),
    ):
        with pytest.raises(ValueError, match=message):
            Superclasses(base, groups)
