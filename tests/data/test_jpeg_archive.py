from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from lightning_unlearn.data import ForgetSpec, JpegArchive, PerClassSubset, UnlearningDataModule
from lightning_unlearn.data import jpeg_archive as module

CLASSES = np.array(["cat", "dog", "eel"])


def _jpeg(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat-coloured 8x8 RGB images (JPEG keeps a flat colour within a level or two) and their labels."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (n, 1, 1, 3)).astype(np.uint8)
    return np.broadcast_to(colours, (n, 8, 8, 3)).copy(), np.arange(n, dtype=np.uint8) % len(CLASSES)


def _arrays(images: np.ndarray, labels: np.ndarray, split: str) -> dict[str, np.ndarray]:
    files = [_jpeg(img) for img in images]
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in files])]).astype(np.int64)
    return {
        f"{split}_jpeg": np.frombuffer(b"".join(files), dtype=np.uint8),
        f"{split}_offsets": offsets,
        f"{split}_labels": labels,
    }


@pytest.fixture(autouse=True)
def _fresh_memo():
    module._MEMO.clear()
    yield
    module._MEMO.clear()


@pytest.fixture
def archive(tmp_path):
    """A 7 + 4 image archive of three classes; returns its path and the original pixels [N, H, W, C]."""
    train, train_labels = _images(7, 0)
    test, test_labels = _images(4, 1)
    path = tmp_path / "tiny.npz"
    np.savez(path, classes=CLASSES, **_arrays(train, train_labels, "train"), **_arrays(test, test_labels, "test"))
    return path, train, train_labels, test, test_labels


def _rewrite(path, **changes):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)


def test_decodes_images_and_labels_in_archive_order(archive):
    path, train, train_labels, test, test_labels = archive
    source = JpegArchive(str(path))
    assert source.num_classes == 3 and source.in_channels == 3 and source.name == "tiny"
    data = source.load()
    assert data.classes == ("cat", "dog", "eel")
    assert data.train.images.dtype == torch.uint8 and data.train.images.shape == (7, 3, 8, 8)
    assert data.test.images.shape == (4, 3, 8, 8)
    assert data.train.targets.tolist() == train_labels.tolist()
    assert data.test.targets.tolist() == test_labels.tolist()
    for got, want in ((data.train.images, train), (data.test.images, test)):
        error = (got.permute(0, 2, 3, 1).int() - torch.from_numpy(want).int()).abs().max()
        assert error <= 3  # the right image at the right index, up to JPEG rounding
    # statistics computed from the training images when not given
    expected = torch.from_numpy(train).float().div(255).mean(dim=(0, 1, 2))
    assert torch.allclose(torch.tensor(source.mean), expected, atol=0.02)


def test_greyscale_given_statistics_and_one_decoding_per_process(archive, monkeypatch):
    path = archive[0]
    source = JpegArchive(str(path), channels=1, mean=(0.4,), std=(0.2,), workers=2)
    first = source.load()
    assert first.train.images.shape == (7, 1, 8, 8)
    assert source.mean == (0.4,) and source.std == (0.2,)
    monkeypatch.setattr(JpegArchive, "_decode", lambda *a: pytest.fail("decoded twice"))
    assert JpegArchive(str(path), channels=1).load() is first


def test_cache_file_serves_the_decoded_tensors_until_the_archive_changes(archive, tmp_path, monkeypatch):
    path, cache = archive[0], tmp_path / "decoded.pt"
    first = JpegArchive(str(path), cache_file=str(cache)).load()
    assert cache.is_file()
    module._MEMO.clear()
    monkeypatch.setattr(JpegArchive, "_decode", lambda *a: pytest.fail("decoded although cached"))
    again = JpegArchive(str(path), cache_file=str(cache)).load()
    assert torch.equal(again.train.images, first.train.images) and torch.equal(again.test.targets, first.test.targets)
    monkeypatch.undo()
    _rewrite(path, test_labels=np.zeros(4, dtype=np.uint8))  # new content: the cache no longer matches
    module._MEMO.clear()
    assert JpegArchive(str(path), cache_file=str(cache)).load().test.targets.tolist() == [0, 0, 0, 0]


def test_serves_a_data_module_and_a_per_class_subset(archive):
    source = PerClassSubset(JpegArchive(str(archive[0])), train_per_class=2, test_per_class=1)
    dm = UnlearningDataModule(source, ForgetSpec(classes=[1]), batch_size=2)
    dm.setup("fit")
    assert dm.num_classes == 3 and len(dm.train_set("forget")) == 2 and len(dm.train_set("retain")) == 4


def test_missing_file_and_a_file_that_is_no_archive(tmp_path):
    with pytest.raises(FileNotFoundError, match="JPEG archive not found"):
        JpegArchive(str(tmp_path / "absent.npz"))
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match=r"not a readable \.npz archive"):
        JpegArchive(str(text))
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="holds one array"):
        JpegArchive(str(single))


def test_missing_arrays_are_named(archive):
    path = archive[0]
    _rewrite(path, test_offsets=None)
    with pytest.raises(ValueError, match=r"lacks the arrays \['test_offsets'\]"):
        JpegArchive(str(path))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train_offsets": np.array([0, 5], dtype=np.int64)}, "expected 8 offsets for 7 labels"),
        ("shift", "offsets must rise strictly from 0"),
        ({"train_labels": np.array([0, 1, 2, 3, 0, 1, 2], dtype=np.uint8)}, r"labels must lie in \[0, 3\)"),
        ("corrupt", "image 1 is not a readable JPEG"),
        ({"classes": np.array(["only"])}, "at least two classes"),
    ],
)
def test_bad_content_stops_with_a_clear_error(archive, change, message):
    path = archive[0]
    with np.load(path) as z:
        blob, offsets = z["train_jpeg"].copy(), z["train_offsets"].copy()
    if change == "shift":
        change = {"train_offsets": offsets + 1}
    elif change == "corrupt":
        blob[offsets[1] : offsets[1] + 40] = 7  # overwrite image 1's JPEG header
        change = {"train_jpeg": blob}
    _rewrite(path, **change)
    with pytest.raises(ValueError, match=message):
        JpegArchive(str(path)).load()


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        JpegArchive("x.npz", channels=2)
    with pytest.raises(ValueError, match="mean must have 3 values"):
        JpegArchive("x.npz", mean=(0.5,))
