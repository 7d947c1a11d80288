"""Generated images, for tests and examples that need no data on disk."""

from __future__ import annotations

import torch

from lightning_unlearn.data.sources.base import Augmentation, DataSource, ImageSet, LoadedData


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
