"""scikit-learn's digits, shipped with the package: the offline default of the demo and the tests."""

from __future__ import annotations

import numpy as np
import torch

from lightning_unlearn.data.sources.base import DataSource, ImageSet, LoadedData


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
