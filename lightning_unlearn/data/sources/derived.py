"""Sources built on another source: a per-class subset, superclasses with their classes as subclasses."""

from __future__ import annotations

from abc import abstractmethod

import torch

from lightning_unlearn.data.sources.base import DataSource, ImageSet, LoadedData


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
