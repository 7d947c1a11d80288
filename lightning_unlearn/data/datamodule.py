"""One data module for every model of an experiment: original, retrained, and each unlearning method."""

from __future__ import annotations

import hashlib
import logging
import math
import warnings
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import CombinedLoader
from torch.utils.data import DataLoader, Dataset, Subset

from lightning_unlearn.data.augment import normalize, random_crop, random_flip
from lightning_unlearn.data.batch import Batch, ImageTensorDataset, collate_batch
from lightning_unlearn.data.forget import ForgetSpec, ForgetSplit, make_split
from lightning_unlearn.data.sampler import ResumableSampler
from lightning_unlearn.data.sources import DataSource, ImageSet, LoadedData

log = logging.getLogger(__name__)

# val_dataloader deliberately returns no loader during fit (the metric callbacks monitor instead); Lightning
# warns about that on every fit.
warnings.filterwarnings("ignore", message="Total length of `list` across ranks is zero")

#: Training sets a model can declare through ``UnlearningDataModule.declare_training`` (``all`` = forget + retain).
TRAIN_SETS = ("all", "forget", "retain", "holdout")

#: Evaluation sets drawn from the training set's validation share (see ``validation_fraction``).
VALIDATION_SETS = ("val", "val_forget")

#: How the per-set training loaders are combined. ``max_size_cycle``: an epoch is one pass over the largest
#: requested set and the smaller ones start over when exhausted, so every step sees a batch of each set and no
#: sample of the larger set is skipped. (``min_size`` would drop most of a large forget set when the retain
#: share is small; ``sequential`` is refused by ``fit``.) The cycling happens inside each set's
#: :class:`ResumableSampler` (a fresh order per pass), so all loaders have the same length and a run can
#: resume mid-epoch exactly.
TRAIN_MODE: Literal["max_size_cycle"] = "max_size_cycle"


class UnlearningDataModule(pl.LightningDataModule):
    """Loads a data source, splits its training set into forget and retain sets, and serves them.

    Data flows one way, from here to the model. The model being fitted declares what it trains on through
    :meth:`declare_training` (a :class:`~lightning_unlearn.models.NetworkModule` does so in its own ``setup``,
    which Lightning calls after this one's): set names (``"all"``, ``"forget"``, ``"retain"``, ``"holdout"``)
    mapped to the share of that set to use, e.g. ``{"all": 1.0}`` for the original model, ``{"retain": 1.0}``
    for retraining, ``{"forget": 1.0, "retain": 0.1}`` for the feature-constraint unlearner. Each training
    batch is then a ``dict[str, Batch]`` with one batch per set (see :data:`TRAIN_MODE`). Each set gets its own
    distributed sampler under DDP. This module never reads the model.

    Evaluation loaders (validation and test) serve, in :attr:`eval_set_names` order: ``forget``, ``retain``,
    ``test`` and, for class-wise or sub-class forgetting, ``test_forget`` (test samples of the forgotten classes
    or subclasses; ``test`` then holds the rest only).

    Args:
        source: Where the images come from.
        forget: Which training samples to forget.
        batch_size: Training batch size of each set, over all ranks: under DDP each rank takes
            ``batch_size / world_size`` (it must divide), so a run's optimisation does not depend on the GPU count.
        eval_batch_size: Batch size of evaluation loaders.
        num_workers: Loader worker processes; 0 suits in-memory data.
        augment: Apply the source's train-time augmentations (random crop, flip) to training batches.
        crop_padding: Padding of the random crop.
        eval_retain_size: Evaluate on a seeded random subset of this many retain samples (``None``: all).
        split_file: Where to save the split as JSON; when the file exists, it is loaded and must match the split
            computed now (same data, same specification, same hash). ``None`` saves ``split.json`` in the
            trainer's log folder.
        fit_validation: Also run Lightning's validation loop on the full evaluation sets during ``fit``. Off by
            default: the metric callbacks already evaluate a seeded subsample after every epoch at a fraction of
            the cost (``validate`` and ``test`` always use the full sets).
        allow_forget_in_test: Accept forget images that also appear, byte for byte, in the test set (refused by
            default: a forgotten sample that is also a test sample makes TA and MIA meaningless).
        holdout_fraction: Share of the training set that no model of the experiment trains on (the ``holdout``
            training set): unseen data from the training distribution, for methods that need to know what
            unseen data looks like without reading the test set. 0 by default.
        validation_fraction: Share of the training set that no model trains on and no method reads (the ``val``
            evaluation set, with ``val_forget`` for class-wise forgetting): it stands in for the test set when
            ``lightning-unlearn tune`` chooses a recipe, so no choice reads the test set. 0 by default.
        data_on_device: Keep the ``uint8`` image tensors on the accelerator (a GPU's memory holds CIFAR-10 many
            times over): batches are gathered there and never cross the PCIe bus; crop, flip and normalisation
            already run on the batch's device. Ignored on a CPU.
        full_batches: Complete the last training batch of a pass from the next pass, so that every training batch
            is full (a set smaller than one batch is still one batch). Off by default (the last batch holds what
            is left). The GPU benchmark turns it on: there, 42500 retain images in batches of 512 left a last
            batch of 4, and the retrained ResNet-18 (bf16, H200) ended at 75.8 % retain accuracy where the
            class scenario's (last batch 281) reached 99.9.
        seed: Seed of the subsets (retain share, evaluation subset, holdout) and, unless ``order_seed`` is
            given, of the training order.
        order_seed: Seed of the training batches' order (default: ``seed``). The grid sets it to each run's
            seed, so runs on other seeds see other batch orders while the split stays the same.
    """

    def __init__(
        self,
        source: DataSource,
        forget: ForgetSpec,
        batch_size: int = 128,
        eval_batch_size: int = 1024,
        num_workers: int = 0,
        augment: bool = True,
        crop_padding: int = 4,
        eval_retain_size: int | None = None,
        split_file: str | None = None,
        fit_validation: bool = False,
        allow_forget_in_test: bool = False,
        holdout_fraction: float = 0.0,
        validation_fraction: float = 0.0,
        data_on_device: bool = False,
        full_batches: bool = False,
        seed: int = 0,
        order_seed: int | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1 or eval_batch_size < 1:
            raise ValueError(f"batch sizes must be positive, got {batch_size} and {eval_batch_size}")
        if eval_retain_size is not None and eval_retain_size < 1:
            raise ValueError(f"eval_retain_size must be positive or None, got {eval_retain_size}")
        self.source = source
        self.forget_spec = forget
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.augment = augment
        self.crop_padding = crop_padding
        self.eval_retain_size = eval_retain_size
        self.split_file = split_file
        self.fit_validation = fit_validation
        self.allow_forget_in_test = allow_forget_in_test
        self.holdout_fraction = holdout_fraction
        self.validation_fraction = validation_fraction
        self.data_on_device = data_on_device
        self.full_batches = full_batches
        self.seed = seed
        self.order_seed = seed if order_seed is None else order_seed
        #: Training sets and their shares, as declared by :meth:`declare_training`.
        self.train_sets: Mapping[str, float] | None = None
        #: Global batch size of a training set when it differs from ``batch_size``, as declared.
        self.train_batch_sizes: Mapping[str, int] = {}
        self.data: LoadedData | None = None
        self.split: ForgetSplit | None = None
        #: Where the split was saved (or checked against), once set up.
        self.split_path: Path | None = None
        self.eval_sets: dict[str, Dataset[Batch]] = {}
        self._train: ImageTensorDataset | None = None
        self._split_to_write: Path | None = None
        self._monitor_sets: dict[tuple[int | None, int], dict[str, Batch]] = {}

    @property
    def num_classes(self) -> int:
        """Number of classes of the source (known before loading)."""
        return self.source.num_classes

    @property
    def in_channels(self) -> int:
        """Image channels of the source (known before loading)."""
        return self.source.in_channels

    @property
    def eval_set_names(self) -> list[str]:
        """Names of the evaluation sets, in ``dataloader_idx`` order."""
        return list(self.eval_sets)

    def prepare_data(self) -> None:
        """Nothing to do: sources download inside ``load`` (torchvision skips a download already done)."""

    def setup(self, stage: str | None = None) -> None:
        """Load the data once, compute and record the split, and build the evaluation sets."""
        if self.split is not None:
            return
        self.data = self.source.load()
        train, test = self.data.train, self.data.test
        if len(train) < 2:
            raise ValueError(f"{self.source.name}: the training set has {len(train)} sample(s); need at least 2")
        self.split = make_split(
            self.forget_spec,
            train.targets,
            self.num_classes,
            self.source.name,
            train.fingerprint(),
            holdout_fraction=self.holdout_fraction,
            holdout_seed=self.seed,
            subclasses=train.subclasses,
            num_subclasses=self.source.num_subclasses,
            validation_fraction=self.validation_fraction,
        )
        self._check_forget_not_in_test(train, test)
        self._check_against_file(self.split)
        device = self._data_device()
        self._train = ImageTensorDataset(train.images.to(device), train.targets.to(device))
        test_ds = ImageTensorDataset(test.images.to(device), test.targets.to(device))
        retain_eval = self.split.retain
        if self.eval_retain_size is not None and self.eval_retain_size < retain_eval.numel():
            retain_eval = self._subsample(retain_eval, self.eval_retain_size, "eval_retain")
        self.eval_sets = {
            "forget": Subset(self._train, self.split.forget.tolist()),
            "retain": Subset(self._train, retain_eval.tolist()),
        }
        in_forgotten = self._test_in_forgotten(test)
        if in_forgotten is not None:
            self.eval_sets["test"] = Subset(test_ds, (~in_forgotten).nonzero().flatten().tolist())
            self.eval_sets["test_forget"] = Subset(test_ds, in_forgotten.nonzero().flatten().tolist())
        else:
            self.eval_sets["test"] = test_ds
        self._add_validation_sets()
        log.info(
            "%s: %d train (%d forget, %d retain), %d test; forget sha256 %s",
            self.source.name,
            len(train),
            self.split.forget.numel(),
            self.split.retain.numel(),
            len(test),
            self.split.sha256[:12],
        )

    def _add_validation_sets(self) -> None:
        """``val`` (and ``val_forget`` for class-wise forgetting), split like ``test`` and ``test_forget``."""
        assert self.split is not None and self.data is not None and self._train is not None
        validation = self.split.validation
        if validation.numel() == 0:
            return
        in_forgotten = self._test_in_forgotten(self.data.train.take(validation))
        if in_forgotten is None:
            self.eval_sets["val"] = Subset(self._train, validation.tolist())
            return
        self.eval_sets["val"] = Subset(self._train, validation[~in_forgotten].tolist())
        self.eval_sets["val_forget"] = Subset(self._train, validation[in_forgotten].tolist())

    def _test_in_forgotten(self, test: ImageSet) -> torch.Tensor | None:
        """Mask of the test samples of the forgotten classes (or subclasses); ``None`` for sample forgetting."""
        assert self.split is not None
        if self.split.forget_classes:
            return torch.isin(test.targets, torch.tensor(self.split.forget_classes))
        if self.split.forget_subclasses and test.subclasses is not None:
            return torch.isin(test.subclasses, torch.tensor(self.split.forget_subclasses))
        return None

    def _data_device(self) -> torch.device:
        """Where the image tensors live: the accelerator when ``data_on_device`` and one is in use, else the CPU."""
        if not self.data_on_device or self.trainer is None:
            return torch.device("cpu")
        return self.trainer.strategy.root_device

    def _check_forget_not_in_test(self, train: ImageSet, test: ImageSet) -> None:
        """Refuse forget images that also sit, byte for byte, in the test set: TA and MIA would be meaningless."""
        if self.allow_forget_in_test or self.split is None:
            return
        forget_images = train.images[self.split.forget].flatten(1).numpy()
        seen = {
            hashlib.sha1(row.tobytes()).digest(): int(i)
            for i, row in zip(self.split.forget, forget_images, strict=True)
        }
        clashes = []
        for j, row in enumerate(test.images.flatten(1).numpy()):
            i = seen.get(hashlib.sha1(row.tobytes()).digest())
            if i is not None:
                clashes.append((i, j))
        if clashes:
            raise ValueError(
                f"{len(clashes)} forget sample(s) also appear in the test set, byte for byte "
                f"(train index, test index): {clashes[:5]}; remove them or set allow_forget_in_test=True"
            )

    def _check_against_file(self, split: ForgetSplit) -> None:
        path = self._split_path()
        self.split_path = path
        if path is None:
            return
        if path.is_file() and self.split_file is not None:
            recorded = ForgetSplit.load(path)
            if recorded.sha256 != split.sha256 or recorded.dataset_fingerprint != split.dataset_fingerprint:
                raise ValueError(
                    f"the forget split computed now (sha256 {split.sha256[:16]}…, "
                    f"data {split.dataset_fingerprint[:16]}…) does not match the one recorded in {path} "
                    f"(sha256 {recorded.sha256[:16]}…, data {recorded.dataset_fingerprint[:16]}…): "
                    "refusing to mix two splits in one experiment"
                )
            for part in ("holdout", "validation"):
                now, then = getattr(split, part), getattr(recorded, part)
                if not torch.equal(now, then):
                    raise ValueError(
                        f"the {part} set computed now ({now.numel()} samples) differs from the one recorded in "
                        f"{path} ({then.numel()} samples; check {part}_fraction and holdout_seed): refusing to "
                        "mix two splits in one experiment"
                    )
            return
        self._split_to_write = path

    def _record_split(self) -> None:
        """Save the split when data is first served.

        A :class:`~lightning_unlearn.models.NetworkModule` checks the data in its ``setup``, which Lightning runs
        before any loader is built: a run it refuses leaves no split file behind.
        """
        path, self._split_to_write = self._split_to_write, None
        if path is not None and self.split is not None and (self.trainer is None or self.trainer.is_global_zero):
            self.split.save(path)

    def _split_path(self) -> Path | None:
        if self.split_file is not None:
            return Path(self.split_file)
        if self.trainer is not None and self.trainer.log_dir is not None:
            return Path(self.trainer.log_dir) / "split.json"
        return None

    def _subsample(self, indices: torch.Tensor, size: int, purpose: str) -> torch.Tensor:
        # One generator per purpose, so changing one subset never moves another.
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + zlib.crc32(purpose.encode()))
        chosen = indices[torch.randperm(indices.numel(), generator=gen)[:size]]
        return chosen.sort().values

    def train_set(self, name: str, share: float = 1.0) -> Subset[Batch]:
        """The training set ``name`` (``all``, ``forget`` or ``retain``), or a seeded share of it.

        Raises:
            ValueError: For an unknown name or a share outside ``(0, 1]``.
        """
        if self.split is None or self._train is None:
            raise RuntimeError("call setup() before asking for a training set")
        if name not in TRAIN_SETS:
            raise ValueError(f"unknown training set {name!r}; expected one of {TRAIN_SETS}")
        if not 0.0 < share <= 1.0:
            raise ValueError(f"the share of the {name} set must lie in (0, 1], got {share}")
        indices = {
            "all": torch.cat([self.split.forget, self.split.retain]).sort().values,
            "forget": self.split.forget,
            "retain": self.split.retain,
            "holdout": self.split.holdout,
        }[name]
        if indices.numel() == 0:
            raise ValueError(f"the {name} set is empty (set the data module's holdout_fraction to use it)")
        if share < 1.0:
            indices = self._subsample(indices, max(1, round(share * indices.numel())), f"train_{name}")
        return Subset(self._train, indices.tolist())

    def declare_training(self, sets: Mapping[str, float], batch_sizes: Mapping[str, int] | None = None) -> None:
        """Say what the model being fitted trains on.

        Args:
            sets: Training set names with the share of each to use.
            batch_sizes: Global batch size of each set that should differ from ``batch_size``.

        Raises:
            ValueError: For an unknown set, or a batch size that is not positive.
        """
        unknown = sorted(set(sets) - set(TRAIN_SETS))
        if unknown:
            raise ValueError(f"unknown training set(s) {unknown}; expected some of {TRAIN_SETS}")
        for name, size in (batch_sizes or {}).items():
            if size < 1:
                raise ValueError(f"the {name} set's batch size must be positive, got {size}")
        self.train_sets = dict(sets)
        self.train_batch_sizes = dict(batch_sizes or {})

    def _requested_train_sets(self) -> Mapping[str, float]:
        if self.train_sets is None:
            raise RuntimeError("no training sets declared: call declare_training (a NetworkModule does in setup)")
        return self.train_sets

    def _loader(
        self, dataset: Dataset[Batch], batch_size: int, sampler: ResumableSampler | None = None
    ) -> DataLoader[Batch]:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=collate_batch,  # type: ignore[arg-type]  # batches arrive stacked (__getitems__)
            persistent_workers=self.num_workers > 0,
            generator=torch.Generator().manual_seed(self.order_seed),  # keeps the global RNG out of loading
        )

    def _rank_batch_sizes(self, names: list[str]) -> tuple[dict[str, int], int, int]:
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer is not None else (0, 1)
        sizes = {name: int(self.train_batch_sizes.get(name, self.batch_size)) for name in names}
        for name, size in sizes.items():
            if size % world:
                raise ValueError(
                    f"the {name} set's batch size {size} must be divisible by the number of ranks ({world})"
                )
        return {name: size // world for name, size in sizes.items()}, rank, world

    def train_dataloader(self) -> CombinedLoader:
        """One shuffled loader per requested set, combined in :data:`TRAIN_MODE`, resuming mid-epoch if needed.

        Every loader yields as many batches as the set needing the most batches needs (the others start a fresh
        pass when they run out); with ``full_batches`` the longest set's last batch is completed from its next pass
        too. A module may give a set its own batch size (``train_batch_sizes``, global like ``batch_size``). When
        the trainer was restored from a checkpoint taken inside an epoch, the loaders skip the batches that epoch
        already trained on (assumes one optimiser step per batch).
        """
        self._record_split()
        sets = {name: self.train_set(name, share) for name, share in self._requested_train_sets().items()}
        per_rank, rank, world = self._rank_batch_sizes(list(sets))
        lengths = {name: math.ceil(len(ds) / world) for name, ds in sets.items()}
        set_steps = {name: math.ceil(n / per_rank[name]) for name, n in lengths.items()}
        longest = max(set_steps, key=lambda k: set_steps[k])
        steps = set_steps[longest]

        def start() -> int:
            # Read when the first epoch starts: the trainer builds loaders (for its schedulers' step count)
            # before it restores the step of the checkpoint it resumes from.
            if self.trainer is None or not self.trainer.global_step:
                return 0
            return (self.trainer.global_step - self.trainer.current_epoch * steps) % steps

        loaders = {}
        for name, ds in sets.items():
            # The shorter sets always fill their batches (they cycle to keep pace with the longest).
            whole = name != longest or (self.full_batches and lengths[name] >= per_rank[name])
            epoch_samples = steps * per_rank[name] if whole else lengths[name]
            sampler = ResumableSampler(
                len(ds),
                epoch_samples,
                per_rank[name],
                self.order_seed,
                world,
                rank,
                start_batch=start,
                name=name,
            )
            loaders[name] = self._loader(ds, per_rank[name], sampler)
        return CombinedLoader(loaders, mode=TRAIN_MODE)

    def _eval_loaders(self) -> list[DataLoader[Batch]]:
        if not self.eval_sets:
            raise RuntimeError("call setup() before asking for evaluation loaders")
        self._record_split()
        return [self._loader(ds, self.eval_batch_size) for ds in self.eval_sets.values()]

    def val_dataloader(self) -> list[DataLoader[Batch]]:
        """Evaluation loaders, in :attr:`eval_set_names` order; none during ``fit`` unless ``fit_validation``."""
        if self.trainer is not None and self.trainer.state.fn == "fit" and not self.fit_validation:
            return []
        return self._eval_loaders()

    def set_batches(
        self, name: str, share: float = 1.0, shuffle: bool = False, device: torch.device | None = None
    ) -> Iterator[Batch]:
        """Prepared batches of a training set (see :meth:`train_set`), not augmented, in ``batch_size``.

        For a method's set-up passes. In index order, or with ``shuffle`` in an order seeded by ``order_seed``
        (the global RNG is left alone).
        """
        generator = torch.Generator().manual_seed(self.order_seed) if shuffle else None
        loader = DataLoader(
            self.train_set(name, share),
            batch_size=self.batch_size,
            shuffle=shuffle,
            generator=generator,
            collate_fn=collate_batch,  # type: ignore[arg-type]  # batches arrive stacked (__getitems__)
        )
        for batch in loader:
            moved = Batch(*(t.to(device) for t in batch)) if device is not None else batch
            yield self.prepare_batch(moved, training=False)

    def example_batch(self, size: int = 2) -> Batch:
        """The first ``size`` training images, prepared for the network (not augmented): for input checks."""
        if self.data is None:
            raise RuntimeError("call setup() before asking for an example batch")
        train = self.data.train
        return self.prepare_batch(Batch(train.images[:size], train.targets[:size], torch.arange(size)))

    def monitor_sets(self, size: int | None, seed: int = 0) -> dict[str, Batch]:
        """A seeded subsample of ``size`` samples (all if ``None``) of every evaluation set, as ``uint8`` batches.

        The same samples every call, so per-epoch curves follow the same images. The validation sets (``val``,
        ``val_forget``) are only in the full-set evaluation (``size=None``): they score finished runs for the
        choice of a recipe, nothing watches them during training.
        """
        if not self.eval_sets:
            raise RuntimeError("call setup() before asking for monitor sets")
        cached = self._monitor_sets.get((size, seed))
        if cached is not None:
            return cached
        out = {}
        for name, ds in self.eval_sets.items():
            if size is not None and name in VALIDATION_SETS:
                continue
            n = len(ds)  # type: ignore[arg-type]
            positions = torch.arange(n)
            if size is not None and size < n:
                gen = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(f"monitor_{name}".encode()))
                positions = torch.randperm(n, generator=gen)[:size].sort().values
            out[name] = ds.__getitems__(positions.tolist())  # type: ignore[attr-defined]
        self._monitor_sets[(size, seed)] = out
        return out

    def test_dataloader(self) -> list[DataLoader[Batch]]:
        """Evaluation loaders, in :attr:`eval_set_names` order."""
        return self._eval_loaders()

    def predict_dataloader(self) -> list[DataLoader[Batch]]:
        """Evaluation loaders, in :attr:`eval_set_names` order."""
        return self._eval_loaders()

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Augment (training only) and normalise on the batch's device."""
        training = self.trainer is not None and self.trainer.training
        if isinstance(batch, Mapping):
            return {name: self.prepare_batch(b, training) for name, b in batch.items()}
        return self.prepare_batch(batch, training)

    def prepare_batch(self, batch: Batch, training: bool = False) -> Batch:
        """Turn a loaded ``uint8`` batch into normalised float images, augmenting when ``training``."""
        images = batch.inputs
        if training and self.augment:
            if "crop" in self.source.augmentations:
                images = random_crop(images, self.crop_padding)
            if "flip" in self.source.augmentations:
                images = random_flip(images)
        return Batch(normalize(images, self.source.mean, self.source.std, torch.float32), batch.targets, batch.indices)
