"""Where images come from: each source loads a train and a test set into memory as ``uint8`` tensors.

Every source decodes its data once into ``[N, C, H, W]`` ``uint8`` tensors; augmentation and normalisation
happen per batch on the device (see :mod:`lightning_unlearn.data.augment`). That keeps loading out of the
training loop, which matters most on a CPU, and keeps train and test pipelines identical but for augmentation.
One module per kind of source; :mod:`~lightning_unlearn.data.sources.base` holds what they share.
"""

from lightning_unlearn.data.sources.base import Augmentation, DataSource, ImageSet, LoadedData
from lightning_unlearn.data.sources.derived import PerClassSubset, Superclasses
from lightning_unlearn.data.sources.digits import Digits
from lightning_unlearn.data.sources.image_folder import ImageFolderSource
from lightning_unlearn.data.sources.synthetic import Synthetic
from lightning_unlearn.data.sources.torchvision_sets import CIFAR10, CIFAR100, MNIST, SVHN, FashionMNIST

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "MNIST",
    "SVHN",
    "Augmentation",
    "DataSource",
    "Digits",
    "FashionMNIST",
    "ImageFolderSource",
    "ImageSet",
    "LoadedData",
    "PerClassSubset",
    "Superclasses",
    "Synthetic",
]
