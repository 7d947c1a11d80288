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
        targets: ``int64`` ``[N]``: the classes a model learns.
        subclasses: ``int64`` ``[N]`` or ``None``: a finer label inside each class (CIFAR-100's fine class when
            ``targets`` are its superclasses), for sub-class forgetting.
    """

    images: Tensor
    targets: Tensor
    subclasses: Tensor | None = None

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 [N, C, H, W], got {self.images.dtype} {tuple(self.images.shape)}")
        if self.targets.shape != (self.images.shape[0],):
            raise ValueError(f"expected {self.images.shape[0]} targets, got shape {tuple(self.targets.shape)}")
        if self.subclasses is not None and self.subclasses.shape != self.targets.shape:
            raise ValueError(f"expected {len(self.targets)} subclasses, got shape {tuple(self.subclasses.shape)}")

    def take(self, index: Tensor) -> ImageSet:
        """The samples at ``index``, subclasses included."""
        subclasses = self.subclasses[index] if self.subclasses is not None else None
        return ImageSet(self.images[index], self.targets[index], subclasses)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def fingerprint(self) -> str:
        """SHA-256 over the labels and the image bytes: identifies the exact data a model saw."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.targets.numpy().astype("<i8")).tobytes())
        digest.update(np.ascontiguousarray(self.images.numpy()).tobytes())
        if self.subclasses is not None:
            digest.update(np.ascontiguousarray(self.subclasses.numpy().astype("<i8")).tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class LoadedData:
    """What a source loads: the two sets, the class names and, for sources with subclasses, their names."""

    train: ImageSet
    test: ImageSet
    classes: tuple[str, ...]
    subclass_names: tuple[str, ...] = ()


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
        num_subclasses: Number of subclasses (see ``ImageSet.subclasses``); 0 when the source has none.
    """

    name: str
    num_classes: int
    num_subclasses: int = 0
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
        augmentations: Train-time augmentations (none by default; tests that need random training batches,
            such as resuming with the RNG state, turn them on).
    """

    name = "synthetic"

    def __init__(
        self,
        num_classes: int = 4,
        train_per_class: int = 32,
        test_per_class: int = 16,
        image_size: int = 8,
        channels: int = 1,
        noise: float = 0.25,
        seed: int = 0,
        augmentations: tuple[Augmentation, ...] = (),
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
        self.augmentations = tuple(augmentations)
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
    """CIFAR-100 through ``torchvision.datasets.CIFAR100``: its 100 fine classes, or its 20 superclasses.

    With ``labels="coarse"`` a model learns the 20 superclasses and every image keeps its fine class as its
    subclass, so ``ForgetSpec(subclasses=[...])`` forgets one fine class while its superclass remains (sub-class
    forgetting: e.g. fine class 69, rocket, of superclass 19, vehicles 2). The coarse labels are read from the
    same files torchvision downloads and checks.

    Args:
        root: Folder of the download.
        download: Download when the files are missing.
        labels: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses, fine classes as subclasses).
    """

    name = "cifar100"
    num_classes = 100
    in_channels = 3
    mean = (0.5071, 0.4865, 0.4409)
    std = (0.2673, 0.2564, 0.2762)
    augmentations = ("crop", "flip")

    def __init__(self, root: str = "data", download: bool = True, labels: Literal["fine", "coarse"] = "fine") -> None:
        super().__init__(root, download)
        if labels not in ("fine", "coarse"):
            raise ValueError(f"labels must be 'fine' or 'coarse', got {labels!r}")
        self.labels = labels
        if labels == "coarse":
            self.name, self.num_classes, self.num_subclasses = "cifar100_coarse", 20, 100

    def _dataset(self, train: bool) -> Any:
        from torchvision.datasets import CIFAR100 as TV

        return TV(self.root, train=train, download=self.download)

    def load(self) -> LoadedData:
        """Load both splits; with coarse labels, the superclasses as targets and the fine classes as subclasses."""
        data = super().load()
        if self.labels == "fine":
            return data
        import pickle

        from torchvision.datasets import CIFAR100 as TV

        # The files super().load() just read and checked; torchvision keeps only their fine labels.
        folder = Path(self.root) / TV.base_folder

        def unpickle(name: str) -> dict[str, Any]:
            with open(folder / name, "rb") as f:
                return pickle.load(f, encoding="latin1")

        sets = [
            ImageSet(fine.images, torch.as_tensor(unpickle(files[0][0])["coarse_labels"]), fine.targets)
            for fine, files in ((data.train, TV.train_list), (data.test, TV.test_list))
        ]
        coarse_names = tuple(unpickle(TV.meta["filename"])["coarse_label_names"])
        return LoadedData(sets[0], sets[1], coarse_names, data.classes)


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


class _DerivedSource(DataSource):
    """A source made from another one: it describes its data as the other does, unless a subclass says otherwise."""

    def __init__(self, source: DataSource, name: str) -> None:
        self.source = source
        self.name = name
        self.num_classes = source.num_classes
        self.num_subclasses = source.num_subclasses
        self.in_channels = source.in_channels
        self.augmentations = source.augmentations
        self.mean, self.std = source.mean, source.std

    def load(self) -> LoadedData:
        """Load the other source and derive this one's data from it."""
        data = self.source.load()
        self.mean, self.std = self.source.mean, self.source.std  # a folder source computes them while loading
        return self._derive(data)

    @abstractmethod
    def _derive(self, data: LoadedData) -> LoadedData:
        """This source's data, made from the other source's."""


class PerClassSubset(_DerivedSource):
    """Another source restricted to the first ``train_per_class`` / ``test_per_class`` images of each class.

    For quick, CPU-sized runs on part of a real data set (the CPU benchmark grid uses 500 CIFAR-10 training
    images a class). The subset is deterministic (data-set order), so the fingerprint identifies it.

    Args:
        source: The full source.
        train_per_class: Training images kept per class (``None``: all).
        test_per_class: Test images kept per class (``None``: all).
    """

    def __init__(self, source: DataSource, train_per_class: int | None = None, test_per_class: int | None = None):
        for label, limit in (("train_per_class", train_per_class), ("test_per_class", test_per_class)):
            if limit is not None and limit < 1:
                raise ValueError(f"{label} must be positive or None, got {limit}")
        super().__init__(source, f"{source.name}[{train_per_class or 'all'}/{test_per_class or 'all'} per class]")
        self.train_per_class = train_per_class
        self.test_per_class = test_per_class

    @staticmethod
    def _take(images: ImageSet, per_class: int | None) -> ImageSet:
        if per_class is None:
            return images
        keep = torch.cat([(images.targets == c).nonzero().flatten()[:per_class] for c in images.targets.unique()])
        return images.take(keep.sort().values)

    def _derive(self, data: LoadedData) -> LoadedData:
        return LoadedData(
            self._take(data.train, self.train_per_class),
            self._take(data.test, self.test_per_class),
            data.classes,
            data.subclass_names,
        )


class Superclasses(_DerivedSource):
    """Another source with its classes grouped: a model learns the groups, each image keeps its class as subclass.

    For sub-class forgetting on any data (``ForgetSpec(subclasses=[...])`` forgets one original class while
    its group remains), e.g. CIFAR-10 as vehicles ``[0, 1, 8, 9]`` and animals ``[2, 3, 4, 5, 6, 7]``.

    Args:
        source: The source whose classes are grouped.
        groups: One list of the source's class ids per group; together they must hold every class once.
        names: Group names (default ``group0``, ``group1``, ...).

    Raises:
        ValueError: When the groups do not partition the source's classes, or there are fewer than two.
    """

    def __init__(self, source: DataSource, groups: list[list[int]], names: list[str] | None = None) -> None:
        members = sorted(c for group in groups for c in group)
        if members != list(range(source.num_classes)):
            raise ValueError(f"groups must hold each of the {source.num_classes} classes exactly once, got {groups}")
        if len(groups) < 2 or any(not group for group in groups):
            raise ValueError(f"need at least two non-empty groups, got {groups}")
        if names is not None and len(names) != len(groups):
            raise ValueError(f"got {len(names)} names for {len(groups)} groups")
        super().__init__(source, f"{source.name}[{len(groups)} groups]")
        self.groups = [list(group) for group in groups]
        self.names = tuple(names) if names is not None else tuple(f"group{i}" for i in range(len(groups)))
        self.num_classes = len(groups)
        self.num_subclasses = source.num_classes
        self._group_of = torch.empty(source.num_classes, dtype=torch.long)
        for g, group in enumerate(groups):
            self._group_of[group] = g

    def _group(self, images: ImageSet) -> ImageSet:
        return ImageSet(images.images, self._group_of[images.targets], images.targets)

    def _derive(self, data: LoadedData) -> LoadedData:
        return LoadedData(self._group(data.train), self._group(data.test), self.names, data.classes)
