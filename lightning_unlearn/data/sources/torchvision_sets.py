"""The torchvision data sets (downloaded on first use): CIFAR-10, CIFAR-100, SVHN, MNIST, Fashion-MNIST."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from lightning_unlearn.data.sources.base import DataSource, ImageSet, LoadedData


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
