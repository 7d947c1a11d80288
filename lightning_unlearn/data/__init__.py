"""Data sources, forget specifications and the data module that serves forget, retain and test sets."""

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.data.datamodule import TRAIN_MODE, UnlearningDataModule
from lightning_unlearn.data.forget import ForgetSpec, ForgetSplit, forget_hash, make_split
from lightning_unlearn.data.jpeg_archive import JpegArchive
from lightning_unlearn.data.sources import (
    CIFAR10,
    CIFAR100,
    MNIST,
    SVHN,
    DataSource,
    Digits,
    FashionMNIST,
    ImageFolderSource,
    ImageSet,
    LoadedData,
    PerClassSubset,
    Superclasses,
    Synthetic,
)

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "MNIST",
    "SVHN",
    "TRAIN_MODE",
    "Batch",
    "DataSource",
    "Digits",
    "FashionMNIST",
    "ForgetSpec",
    "ForgetSplit",
    "ImageFolderSource",
    "ImageSet",
    "JpegArchive",
    "LoadedData",
    "PerClassSubset",
    "Superclasses",
    "Synthetic",
    "UnlearningDataModule",
    "forget_hash",
    "make_split",
]
