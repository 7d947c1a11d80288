"""Images in torchvision's ``ImageFolder`` layout, decoded once and cached."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from lightning_unlearn.data.sources.base import Augmentation, DataSource, ImageSet, LoadedData


class ImageFolderSource(DataSource):
    """Custom data in torchvision's ``ImageFolder`` layout: ``root/<train_dir>/<class>/*.jpg`` and the same for test.

    Images are decoded once, converted to ``channels`` channels and, when ``image_size`` is set, resized.
    The decoded tensors are cached next to nothing: pass ``cache_file`` to keep them between runs.

    Args:
        root: Folder holding the train and test folders.
        train_dir: Name of the training folder under ``root``.
        test_dir: Name of the test folder under ``root``.
        image_size: Resize every image to this square side; ``None`` keeps the size (all must then agree).
        channels: 1 for greyscale, 3 for RGB.
        mean: Per-channel mean for normalisation; ``None`` computes it from the training images.
        std: Per-channel standard deviation; ``None`` computes it from the training images.
        augmentations: Train-time augmentations.
        cache_file: Optional ``.pt`` file for the decoded tensors, rebuilt when the folder's file list changes.
        name: Identifier written into split files and receipts; defaults to the folder's name.
    """

    def __init__(
        self,
        root: str,
        train_dir: str = "train",
        test_dir: str = "test",
        image_size: int | None = None,
        channels: int = 3,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
        augmentations: tuple[Augmentation, ...] = ("crop", "flip"),
        cache_file: str | None = None,
        name: str | None = None,
    ) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        self.root = Path(root)
        self.train_dir = train_dir
        self.test_dir = test_dir
        self.image_size = image_size
        self.in_channels = channels
        self.augmentations = tuple(augmentations)
        self.cache_file = cache_file
        self.name = name or self.root.name
        train_root = self.root / train_dir
        if not train_root.is_dir():
            raise FileNotFoundError(f"ImageFolder training folder not found: {train_root}")
        self._classes = tuple(sorted(p.name for p in train_root.iterdir() if p.is_dir()))
        if len(self._classes) < 2:
            raise ValueError(f"{train_root} must hold at least two class folders, found {len(self._classes)}")
        self.num_classes = len(self._classes)
        self._mean = mean
        self._std = std
        self.mean = tuple(mean) if mean is not None else (0.5,) * channels
        self.std = tuple(std) if std is not None else (0.25,) * channels

    def _files(self, split_dir: str) -> list[tuple[Path, int]]:
        folder = self.root / split_dir
        if not folder.is_dir():
            raise FileNotFoundError(f"ImageFolder folder not found: {folder}")
        found = sorted(p.name for p in folder.iterdir() if p.is_dir())
        unknown = set(found) - set(self._classes)
        if unknown:
            raise ValueError(f"{folder} has class folders absent from {self.train_dir}: {sorted(unknown)}")
        files: list[tuple[Path, int]] = []
        for label, cls in enumerate(self._classes):
            class_dir = folder / cls
            if class_dir.is_dir():
                files.extend((p, label) for p in sorted(class_dir.iterdir()) if p.is_file())
        if not files:
            raise ValueError(f"no images found under {folder}")
        return files

    def _decode(self, files: list[tuple[Path, int]]) -> ImageSet:
        from PIL import Image

        mode = "L" if self.in_channels == 1 else "RGB"
        arrays = []
        for path, _ in files:
            with Image.open(path) as raw:
                img = raw.convert(mode)
            if self.image_size is not None and img.size != (self.image_size, self.image_size):
                img = img.resize((self.image_size, self.image_size), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
            arrays.append(arr[:, :, None] if arr.ndim == 2 else arr)
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"images under {self.root} differ in size {sorted(shapes)[:3]}; set image_size")
        images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
        targets = torch.tensor([label for _, label in files], dtype=torch.long)
        return ImageSet(images, targets)

    def load(self) -> LoadedData:
        """Decode the train and test folders (or read them from the cache file, or from this process's memory)."""
        key = self._memo_key()
        if key in _FOLDER_MEMO:
            data = _FOLDER_MEMO[key]
            self._set_stats(data.train)
            return data
        data = self._load_uncached()
        _FOLDER_MEMO.clear()  # keep one data set in memory, not every one a long process saw
        _FOLDER_MEMO[key] = data
        return data

    def _memo_key(self) -> tuple[object, ...]:
        # Adding or removing a file changes its folder's modification time: a cheap check for a process that
        # loads the same folder for run after run (the benchmark grid), without listing 60,000 files each time.
        folders = [self.root / d / c for d in (self.train_dir, self.test_dir) for c in self._classes]
        stamps = tuple(f.stat().st_mtime_ns if f.is_dir() else None for f in folders)
        return (str(self.root.resolve()), self.train_dir, self.test_dir, self.image_size, self.in_channels, stamps)

    def _load_uncached(self) -> LoadedData:
        train_files, test_files = self._files(self.train_dir), self._files(self.test_dir)
        listing = hashlib.sha256(
            "\n".join(f"{p.relative_to(self.root)}:{label}" for p, label in train_files + test_files).encode()
            + f"|{self.image_size}|{self.in_channels}".encode()
        ).hexdigest()
        cache = Path(self.cache_file) if self.cache_file else None
        if cache is not None and cache.is_file():
            blob = torch.load(cache, weights_only=True)
            if blob.get("listing") == listing:
                train = ImageSet(blob["train_images"], blob["train_targets"])
                test = ImageSet(blob["test_images"], blob["test_targets"])
                self._set_stats(train)
                return LoadedData(train, test, self._classes)
        train, test = self._decode(train_files), self._decode(test_files)
        if cache is not None:
            from lightning_unlearn.io import atomic_torch_save

            atomic_torch_save(
                {
                    "listing": listing,
                    "train_images": train.images,
                    "train_targets": train.targets,
                    "test_images": test.images,
                    "test_targets": test.targets,
                },
                cache,
            )
        self._set_stats(train)
        return LoadedData(train, test, self._classes)

    def _set_stats(self, train: ImageSet) -> None:
        if self._mean is None or self._std is None:
            pixels = train.images.float().div_(255).transpose(0, 1).reshape(self.in_channels, -1)
            if self._mean is None:
                self.mean = tuple(pixels.mean(1).tolist())
            if self._std is None:
                self.std = tuple(pixels.std(1).tolist())


#: Decoded folders of this process (one at a time), keyed by ``ImageFolderSource._memo_key``.
_FOLDER_MEMO: dict[tuple[object, ...], LoadedData] = {}
