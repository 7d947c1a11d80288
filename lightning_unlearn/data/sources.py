"""Where images come from: each source loads a train and a test set into memory as ``uint8`` tensors.

Every source decodes its data once into ``[N, C, H, W]`` ``uint8`` tensors; augmentation and normalisation
happen per batch on the device (see :mod:`lightning_unlearn.data.augment`). That keeps loading out of the
training loop, which matters most on a CPU, and keeps train and test pipelines identical but for augmentation.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

Augmentation = Literal["crop", "flip"]


@dataclass(frozen=True)
class ImageSet:
    """Images and labels of one set, in memory.

    Attributes:
        images: ``uint8`` ``[N, C, H, W]``.
        targets: ``int64`` ``[N]``.
    """

    images: Tensor
    targets: Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 [N, C, H, W], got {self.images.dtype} {tuple(self.images.shape)}")
        if self.targets.shape != (self.images.shape[0],):
            raise ValueError(f"expected {self.images.shape[0]} targets, got shape {tuple(self.targets.shape)}")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def fingerprint(self) -> str:
        """SHA-256 over the labels and the image bytes: identifies the exact data a model saw."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.targets.numpy().astype("<i8")).tobytes())
        digest.update(np.ascontiguousarray(self.images.numpy()).tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class LoadedData:
    """What a source loads: the two sets and the class names."""

    train: ImageSet
    test: ImageSet
    classes: tuple[str, ...]


class DataSource(ABC):
    """A data set the library can unlearn from.

    Subclasses say what they hold through cheap attributes (known before any loading, so the CLI can link
    ``num_classes`` into the model) and implement :meth:`load`.

    Attributes:
        name: Short identifier written into split files and receipts.
        num_classes: Number of classes.
        in_channels: Image channels.
        mean: Per-channel mean of the training images in ``[0, 1]`` units, used to normalise.
        std: Per-channel standard deviation, likewise.
        augmentations: Train-time augmentations that suit this data (``"flip"`` is wrong for digits).
    """

    name: str
    num_classes: int
    in_channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augmentations: tuple[Augmentation, ...] = ()

    @abstractmethod
    def load(self) -> LoadedData:
        """Load both sets into memory."""


class Digits(DataSource):
    """scikit-learn's handwritten digits: 1,797 grey 8x8 images, shipped with the package (no network).

    scikit-learn has no official test split, so a stratified one is drawn from ``split_seed``.

    Args:
        test_fraction: Share of the images held out as the test set.
        split_seed: Seed of the train/test split (fixed so every run of an experiment sees the same sets).
    """

    name = "digits"
    num_classes = 10
    in_channels = 1
    mean = (0.3054,)
    std = (0.3798,)
    augmentations = ()

    def __init__(self, test_fraction: float = 0.25, split_seed: int = 0) -> None:
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
        self.test_fraction = test_fraction
        self.split_seed = split_seed

    def load(self) -> LoadedData:
        """Load the digits and split them."""
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        bunch = load_digits()
        # Pixel values are 0..16; scale to the full uint8 range like any other image.
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
        targets = bunch.target.astype(np.int64)
        train_idx, test_idx = train_test_split(
            np.arange(len(targets)), test_size=self.test_fraction, random_state=self.split_seed, stratify=targets
        )
        train_idx.sort()
        test_idx.sort()
        return LoadedData(
            train=ImageSet(torch.from_numpy(images[train_idx]), torch.from_numpy(targets[train_idx])),
            test=ImageSet(torch.from_numpy(images[test_idx]), torch.from_numpy(targets[test_idx])),
            classes=tuple(str(c) for c in range(10)),
        )


class Synthetic(DataSource):
    """Random class prototypes plus noise: a learnable, tiny, fully deterministic data set for tests.

    Args:
        num_classes: Number of classes.
        train_per_class: Training images per class.
        test_per_class: Test images per class.
        image_size: Side of the square images.
        channels: Image channels.
        noise: Standard deviation of the per-pixel noise, in ``[0, 1]`` units.
        seed: Seed of prototypes and noise.
    """

    name = "synthetic"
    augmentations = ()

    def __init__(
        self,
        num_classes: int = 4,
        train_per_class: int = 32,
        test_per_class: int = 16,
        image_size: int = 8,
        channels: int = 1,
        noise: float = 0.25,
        seed: int = 0,
    ) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        if train_per_class < 1 or test_per_class < 1:
            raise ValueError("train_per_class and test_per_class must be positive")
        self.num_classes = num_classes
        self.in_channels = channels
        self.train_per_class = train_per_class
        self.test_per_class = test_per_class
        self.image_size = image_size
        self.noise = noise
        self.seed = seed
        self.mean = (0.5,) * channels
        self.std = (0.3,) * channels

    def load(self) -> LoadedData:
        """Generate both sets."""
        gen = torch.Generator().manual_seed(self.seed)
        shape = (self.in_channels, self.image_size, self.image_size)
        prototypes = torch.rand((self.num_classes, *shape), generator=gen)

        def draw(per_class: int) -> ImageSet:
            targets = torch.arange(self.num_classes).repeat_interleave(per_class)
            noisy = prototypes[targets] + self.noise * torch.randn((len(targets), *shape), generator=gen)
            images = (noisy.clamp(0, 1) * 255).round().to(torch.uint8)
            return ImageSet(images, targets)

        train = draw(self.train_per_class)
        test = draw(self.test_per_class)
        return LoadedData(train, test, tuple(f"class_{c}" for c in range(self.num_classes)))


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
        """Decode the train and test folders (or read them from the cache)."""
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


class _TorchvisionSource(DataSource):
    """Shared loading for torchvision's built-in data sets (which download on first use)."""

    def __init__(self, root: str = "data", download: bool = True) -> None:
        self.root = root
        self.download = download

    @abstractmethod
    def _dataset(self, train: bool) -> Any:
        """Build the torchvision data set for one split."""

    @staticmethod
    def _to_tensor(data: Any) -> Tensor:
        images = torch.as_tensor(np.asarray(data), dtype=torch.uint8)
        if images.ndim == 3:  # [N, H, W] grey
            return images[:, None].contiguous()
        if images.shape[-1] in (1, 3):  # [N, H, W, C]
            return images.permute(0, 3, 1, 2).contiguous()
        return images.contiguous()  # already [N, C, H, W]

    def load(self) -> LoadedData:
        """Load (downloading if allowed and needed) both splits."""
        sets = []
        classes: tuple[str, ...] = ()
        for train in (True, False):
            ds = self._dataset(train)
            targets = getattr(ds, "targets", None)
            if targets is None:
                targets = ds.labels
            sets.append(ImageSet(self._to_tensor(ds.data), torch.as_tensor(np.asarray(targets), dtype=torch.long)))
            classes = tuple(getattr(ds, "classes", [str(c) for c in range(self.num_classes)]))
        return LoadedData(sets[0], sets[1], classes)


class CIFAR10(_TorchvisionSource):
    """CIFAR-10 through ``torchvision.datasets.CIFAR10`` (downloads on first use when ``download``)."""

    name = "cifar10"
    num_classes = 10
    in_channels = 3
    mean = (0.4914, 0.4822, 0.4465)
    std = (0.2470, 0.2435, 0.2616)
    augmentations = ("crop", "flip")

    def _dataset(self, train: bool) -> Any:
        from torchvision.datasets import CIFAR10 as TV

        return TV(self.root, train=train, download=self.download)


class CIFAR100(_TorchvisionSource):
    """CIFAR-100 (fine labels) through ``torchvision.datasets.CIFAR100``."""

    name = "cifar100"
    num_classes = 100
    in_channels = 3
    mean = (0.5071, 0.4865, 0.4409)
    std = (0.2673, 0.2564, 0.2762)
    augmentations = ("crop", "flip")

    def _dataset(self, train: bool) -> Any:
        from torchvision.datasets import CIFAR100 as TV

        return TV(self.root, train=train, download=self.download)


class SVHN(_TorchvisionSource):
    """SVHN (train and test splits, no ``extra``) through ``torchvision.datasets.SVHN``; no flips for digits."""

    name = "svhn"
    num_classes = 10
    in_channels = 3
    mean = (0.4377, 0.4438, 0.4728)
    std = (0.1980, 0.2010, 0.1970)
    augmentations = ("crop",)

    def _dataset(self, train: bool) -> Any:
        from torchvision.datasets import SVHN as TV

        return TV(self.root, split="train" if train else "test", download=self.download)


class MNIST(_TorchvisionSource):
    """MNIST through ``torchvision.datasets.MNIST``."""

    name = "mnist"
    num_classes = 10
    in_channels = 1
    mean = (0.1307,)
    std = (0.3081,)
    augmentations = ()

    def _dataset(self, train: bool) -> Any:
        from torchvision.datasets import MNIST as TV

        return TV(self.root, train=train, download=self.download)


class FashionMNIST(_TorchvisionSource):
    """Fashion-MNIST through ``torchvision.datasets.FashionMNIST``."""

    name = "fashion_mnist"
    num_classes = 10
    in_channels = 1
    mean = (0.2860,)
    std = (0.3530,)
    augmentations = ("flip",)

    def _dataset(self, train: bool) -> Any:
        from torchvision.datasets import FashionMNIST as TV

        return TV(self.root, train=train, download=self.download)
