"""What every data source is: the image sets it loads and the interface it implements."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

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
