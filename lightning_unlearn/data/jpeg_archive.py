"""A data set stored as JPEG bytes in one ``.npz`` file, decoded once in memory: no network, one file to carry.

The format (that of the project's CIFAR-10 copy, ``cifar10_jpeg.npz``), per split ``train`` and ``test``:

* ``<split>_jpeg``: ``uint8`` ``[B]``, the split's JPEG files back to back;
* ``<split>_offsets``: ``int64`` ``[N + 1]``, image *i* is ``jpeg[offsets[i]:offsets[i + 1]]``;
* ``<split>_labels``: integers ``[N]``, the class of each image;

and ``classes``: the class names in label order. CIFAR-10 stored so takes 53 MiB instead of 178 MiB of pixels,
and one file instead of 60,000, which is what makes it portable to a machine without network.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from lightning_unlearn.data.sources import Augmentation, DataSource, ImageSet, LoadedData

#: The arrays a JPEG archive must hold.
REQUIRED_ARRAYS = (
    *(f"{split}_{part}" for split in ("train", "test") for part in ("jpeg", "offsets", "labels")),
    "classes",
)
#: Images decoded per task of the thread pool.
_CHUNK = 2048


class JpegArchive(DataSource):
    """Images stored as JPEG bytes in one ``.npz`` file (see the module's docstring), decoded once into memory.

    The constructor reads only the class names (cheap: the CLI links ``num_classes`` into the model before
    any loading); :meth:`load` checks the arrays, decodes every image (torchvision's JPEG decoder, on a thread
    pool) and keeps the result for the rest of the process (a benchmark grid loads the same data for every
    run). Pass ``cache_file`` to keep the decoded tensors on disk between processes. CIFAR-10 (60,000 images)
    decodes in about 4 CPU-seconds.

    Args:
        path: The ``.npz`` file.
        channels: 1 for greyscale, 3 for RGB (each image is converted).
        mean: Per-channel mean for normalisation; ``None`` computes it from the training images.
        std: Per-channel standard deviation; ``None`` computes it from the training images.
        augmentations: Train-time augmentations.
        cache_file: Optional ``.pt`` file for the decoded tensors, rebuilt when the archive's content changes.
        name: Identifier written into split files and receipts; defaults to the file's stem.
        workers: Decoding threads (default: the CPUs this process may use).

    Raises:
        FileNotFoundError: When ``path`` does not exist.
        ValueError: When it is no ``.npz`` file, lacks an array of the format, or names fewer than two classes.
    """

    def __init__(
        self,
        path: str,
        channels: int = 3,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
        augmentations: tuple[Augmentation, ...] = ("crop", "flip"),
        cache_file: str | None = None,
        name: str | None = None,
        workers: int | None = None,
    ) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        for label, stat in (("mean", mean), ("std", std)):
            if stat is not None and len(stat) != channels:
                raise ValueError(f"{label} must have {channels} values, got {tuple(stat)}")
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"JPEG archive not found: {self.path}")
        self.in_channels = channels
        self.augmentations = tuple(augmentations)
        self.cache_file = cache_file
        self.name = name or self.path.stem
        self.workers = workers
        with self._open() as archive:
            self._classes = tuple(str(c) for c in archive["classes"].tolist())
        if len(self._classes) < 2:
            raise ValueError(f"{self.path}: 'classes' must name at least two classes, got {list(self._classes)}")
        self.num_classes = len(self._classes)
        self._mean, self._std = mean, std
        self.mean = tuple(mean) if mean is not None else (0.5,) * channels
        self.std = tuple(std) if std is not None else (0.25,) * channels

    def _open(self) -> np.lib.npyio.NpzFile:
        """The archive, its arrays checked to be there (each is read only when asked for)."""
        try:
            archive = np.load(self.path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise ValueError(f"{self.path} is not a readable .npz archive: {err}") from err
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"{self.path} holds one array, not an .npz archive of {', '.join(REQUIRED_ARRAYS)}")
        missing = [key for key in REQUIRED_ARRAYS if key not in archive.files]
        if missing:
            archive.close()
            raise ValueError(f"{self.path} lacks the arrays {missing}; a JPEG archive holds {list(REQUIRED_ARRAYS)}")
        return archive

    def load(self) -> LoadedData:
        """Decode both splits (or take them from this process's memory, or from the cache file)."""
        stat = self.path.stat()
        key = (str(self.path.resolve()), stat.st_size, stat.st_mtime_ns, self.in_channels)
        if key not in _MEMO:
            data = self._load_uncached()
            _MEMO.clear()  # keep one data set in memory, not every one a long process saw
            _MEMO[key] = (data, _channel_stats(data.train))
        data, (mean, std) = _MEMO[key]
        self.mean = tuple(self._mean) if self._mean is not None else mean
        self.std = tuple(self._std) if self._std is not None else std
        return data

    def _load_uncached(self) -> LoadedData:
        cache = Path(self.cache_file) if self.cache_file else None
        digest = hashlib.sha256(f"channels={self.in_channels}\0".encode())
        with open(self.path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        content = digest.hexdigest()
        if cache is not None and cache.is_file():
            blob = torch.load(cache, weights_only=True)
            if blob.get("content") == content:
                train = ImageSet(blob["train_images"], blob["train_targets"])
                return LoadedData(train, ImageSet(blob["test_images"], blob["test_targets"]), self._classes)
        with self._open() as archive:
            train, test = (self._decode(archive, split) for split in ("train", "test"))
        if cache is not None:
            from lightning_unlearn.io import atomic_torch_save

            blob = {"content": content, "train_images": train.images, "train_targets": train.targets}
            atomic_torch_save({**blob, "test_images": test.images, "test_targets": test.targets}, cache)
        return LoadedData(train, test, self._classes)

    def _decode(self, archive: np.lib.npyio.NpzFile, split: str) -> ImageSet:
        """Check one split's arrays and decode its images into ``uint8`` ``[N, C, H, W]``."""
        blob, offsets, labels = (archive[f"{split}_{part}"] for part in ("jpeg", "offsets", "labels"))
        where = f"{self.path} ({split})"
        if blob.dtype != np.uint8 or blob.ndim != 1:
            raise ValueError(f"{where}: {split}_jpeg must be 1-D uint8, got {blob.dtype} {blob.shape}")
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{where}: {split}_labels must be 1-D integers, got {labels.dtype} {labels.shape}")
        n = len(labels)
        if n == 0:
            raise ValueError(f"{where}: no images")
        if offsets.shape != (n + 1,):
            raise ValueError(f"{where}: expected {n + 1} offsets for {n} labels, got shape {offsets.shape}")
        if offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) <= 0):
            raise ValueError(
                f"{where}: offsets must rise strictly from 0 to {len(blob)} (the byte count), "
                f"got {int(offsets[0])} ... {int(offsets[-1])}"
            )
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"{where}: labels must lie in [0, {self.num_classes}), got {labels.min()}..{labels.max()}")
        starts = range(0, n, _CHUNK)
        workers = self.workers or min(len(starts), _usable_cpus())
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # the decoder releases the GIL
            chunks = list(pool.map(lambda i: self._decode_range(blob, offsets, i, min(i + _CHUNK, n), where), starts))
        decoded = [image for chunk in chunks for image in chunk]
        shapes = {tuple(image.shape) for image in decoded}
        if len(shapes) != 1:
            raise ValueError(f"{where}: images differ in size {sorted(shapes)[:3]}")
        return ImageSet(torch.stack(decoded), torch.from_numpy(labels.astype(np.int64)))

    def _decode_range(self, blob: np.ndarray, offsets: np.ndarray, start: int, stop: int, where: str) -> list[Tensor]:
        """Decode images ``start`` to ``stop`` into ``uint8`` ``[C, H, W]`` tensors (torchvision's libjpeg-turbo)."""
        from torchvision.io import ImageReadMode, decode_jpeg

        mode = ImageReadMode.GRAY if self.in_channels == 1 else ImageReadMode.RGB
        files = [torch.from_numpy(blob[offsets[i] : offsets[i + 1]]) for i in range(start, stop)]
        try:
            return list(decode_jpeg(files, mode=mode))
        except RuntimeError:  # name the culprit: decode one by one
            for i, data in enumerate(files, start):
                try:
                    decode_jpeg(data, mode=mode)
                except RuntimeError as err:
                    raise ValueError(f"{where}: image {i} is not a readable JPEG: {err}") from err
            raise


def _usable_cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _channel_stats(train: ImageSet) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of the training images, in ``[0, 1]`` units."""
    mean, std = [], []
    for c in range(train.images.shape[1]):  # one channel at a time: a float copy of all of them is large
        pixels = train.images[:, c].float().div_(255)
        mean.append(float(pixels.mean()))
        std.append(float(pixels.std()))
    return tuple(mean), tuple(std)


#: Decoded archives of this process (one at a time) with their channel statistics, keyed by path, size,
#: modification time and channels.
_MEMO: dict[tuple[object, ...], tuple[LoadedData, tuple[tuple[float, ...], tuple[float, ...]]]] = {}
