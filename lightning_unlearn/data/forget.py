"""Which training samples to forget: the specification, its validation, and the resulting split.

The split is a pure function of (training labels, specification, seed). It is saved beside every run with
the SHA-256 of the sorted forget indices, and every checkpoint records that hash, so the original, retrained
and unlearned models of one experiment can be checked to share it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lightning_unlearn.io import atomic_write_json


def forget_hash(indices: Sequence[int] | Tensor) -> str:
    """SHA-256 of the sorted forget indices written as decimal numbers joined by commas.

    The text form is chosen so that anyone can recompute it without this library:
    ``sha256(",".join(map(str, sorted(indices))).encode())``.
    """
    values = sorted(int(i) for i in (indices.tolist() if isinstance(indices, Tensor) else indices))
    return hashlib.sha256(",".join(map(str, values)).encode("ascii")).hexdigest()


#: The ways to say what to forget; a specification gives exactly one.
SELECTORS = ("classes", "subclasses", "fraction", "count", "indices", "indices_file")


class ForgetSpec:
    """What to forget: exactly one of whole classes, subclasses, a random fraction or count, or explicit indices.

    Args:
        classes: Forget every training sample of these class ids (class-wise forgetting).
        subclasses: Forget every training sample of these subclass ids, for a source whose images carry one
            (``CIFAR100(labels="coarse")``, ``Superclasses``): sub-class forgetting, the class itself remains.
        fraction: Forget this share of the training samples, drawn uniformly at random, in ``(0, 1)``.
        count: Forget this many training samples, drawn uniformly at random.
        indices: Forget exactly these training-set indices.
        indices_file: Read the indices from a file: a JSON list, or integers separated by commas or whitespace.
        seed: Seed of the random draw (``fraction`` / ``count``); recorded in the split either way.

    Raises:
        ValueError: When not exactly one selector is given, or a value is outside its range.
    """

    def __init__(
        self,
        classes: list[int] | None = None,
        subclasses: list[int] | None = None,
        fraction: float | None = None,
        count: int | None = None,
        indices: list[int] | None = None,
        indices_file: str | None = None,
        seed: int = 0,
    ) -> None:
        given = {
            k: v
            for k, v in dict(
                classes=classes,
                subclasses=subclasses,
                fraction=fraction,
                count=count,
                indices=indices,
                indices_file=indices_file,
            ).items()
            if v is not None
        }
        if len(given) != 1:
            raise ValueError(f"forget spec needs exactly one of {', '.join(SELECTORS)}; got {sorted(given) or 'none'}")
        for name, ids in (("classes", classes), ("subclasses", subclasses)):
            if ids is not None and len(ids) == 0:
                raise ValueError(f"forget spec: {name} is empty, so nothing would be forgotten")
        if fraction is not None and not 0.0 < fraction < 1.0:
            raise ValueError(f"forget spec: fraction must lie in (0, 1), got {fraction}")
        if count is not None and count < 1:
            raise ValueError(f"forget spec: count must be at least 1, got {count}")
        if indices is not None and len(indices) == 0:
            raise ValueError("forget spec: indices is empty, so nothing would be forgotten")
        if indices_file is not None and not Path(indices_file).is_file():
            raise FileNotFoundError(f"forget spec: indices_file not found: {indices_file}")
        self.classes = list(classes) if classes is not None else None
        self.subclasses = list(subclasses) if subclasses is not None else None
        self.fraction = fraction
        self.count = count
        self.indices = list(indices) if indices is not None else None
        self.indices_file = indices_file
        self.seed = seed

    @property
    def kind(self) -> str:
        """Which selector was given: one of :data:`SELECTORS`."""
        for name in SELECTORS:
            if getattr(self, name) is not None:
                return name
        raise AssertionError("unreachable: validated in __init__")

    def to_dict(self) -> dict[str, Any]:
        """The specification as given (``indices`` shortened to its length)."""
        value: Any = getattr(self, self.kind)
        if self.kind == "indices":
            value = f"{len(value)} indices"
        return {"kind": self.kind, "value": value, "seed": self.seed}

    def __repr__(self) -> str:
        return f"ForgetSpec({self.kind}={getattr(self, self.kind)!r}, seed={self.seed})"


def _read_indices_file(path: str) -> list[int]:
    text = Path(path).read_text().strip()
    try:
        values = json.loads(text) if text.startswith("[") else [int(tok) for tok in text.replace(",", " ").split()]
    except ValueError as err:
        raise ValueError(f"forget spec: {path} must hold a JSON list or integers, could not parse it: {err}") from err
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError(f"forget spec: {path} must hold integers only")
    return list(values)


def _check_indices(values: list[int], num_train: int) -> Tensor:
    if not values:
        raise ValueError("forget set is empty: nothing would be forgotten")
    idx = torch.tensor(values, dtype=torch.long)
    bad = idx[(idx < 0) | (idx >= num_train)]
    if bad.numel():
        raise ValueError(f"forget indices must lie in [0, {num_train}), got {bad[:10].tolist()}")
    uniq, counts = torch.unique(idx, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"forget indices must be distinct, repeated: {uniq[counts > 1][:10].tolist()}")
    return idx


def _check_ids(ids: list[int], count: int, what: str) -> tuple[int, ...]:
    unknown = sorted({c for c in ids if not 0 <= c < count})
    if unknown:
        raise ValueError(f"forget {what} must be ids in [0, {count}), got unknown {unknown}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"forget {what} must be distinct, got {ids}")
    return tuple(sorted(ids))


@dataclass(frozen=True)
class ForgetSplit:
    """The outcome of a :class:`ForgetSpec` on one training set.

    Attributes:
        forget: Sorted training indices to forget.
        retain: Sorted training indices to keep (the complement).
        dataset: Name of the data source.
        dataset_fingerprint: SHA-256 of the training labels and images (see ``ImageSet.fingerprint``).
        num_train: Size of the training set.
        spec: The specification as a dict.
        forget_classes: Class ids forgotten whole, for class-wise forgetting; empty otherwise.
        forget_subclasses: Subclass ids forgotten whole, for sub-class forgetting; empty otherwise.
        holdout: Sorted training indices no model trains on and methods may read (see ``make_split``); empty by
            default.
        validation: Sorted training indices no model trains on and no method reads: only the choice of a recipe
            (``lightning-unlearn tune``) scores models on it, in place of the test set; empty by default.
        sha256: :func:`forget_hash` of ``forget``.
    """

    forget: Tensor
    retain: Tensor
    dataset: str
    dataset_fingerprint: str
    num_train: int
    spec: dict[str, Any]
    forget_classes: tuple[int, ...] = ()
    forget_subclasses: tuple[int, ...] = ()
    holdout: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    validation: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    sha256: str = field(default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", forget_hash(self.forget))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record of the split."""
        record = asdict(self)
        record["forget"] = self.forget.tolist()
        record["retain"] = None  # the complement of forget; not stored
        record["forget_classes"] = list(self.forget_classes)
        record["forget_subclasses"] = list(self.forget_subclasses)
        record["holdout"] = self.holdout.tolist()
        record["validation"] = self.validation.tolist()
        return record

    def save(self, path: str | Path) -> None:
        """Write the split as JSON, atomically."""
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> ForgetSplit:
        """Read a split written by :meth:`save` and check its hash."""
        record = json.loads(Path(path).read_text())
        forget = torch.tensor(record["forget"], dtype=torch.long)
        holdout = torch.tensor(record.get("holdout", []), dtype=torch.long)
        validation = torch.tensor(record.get("validation", []), dtype=torch.long)
        mask = torch.ones(record["num_train"], dtype=torch.bool)
        mask[forget] = False
        mask[holdout] = False
        mask[validation] = False
        split = cls(
            forget=forget,
            retain=mask.nonzero().flatten(),
            dataset=record["dataset"],
            dataset_fingerprint=record["dataset_fingerprint"],
            num_train=record["num_train"],
            spec=record["spec"],
            forget_classes=tuple(record.get("forget_classes", ())),
            forget_subclasses=tuple(record.get("forget_subclasses", ())),
            holdout=holdout,
            validation=validation,
        )
        if split.sha256 != record["sha256"]:
            raise ValueError(f"{path}: recorded sha256 {record['sha256']} does not match its indices ({split.sha256})")
        return split


def make_split(
    spec: ForgetSpec,
    targets: Tensor,
    num_classes: int,
    dataset: str = "",
    dataset_fingerprint: str = "",
    holdout_fraction: float = 0.0,
    holdout_seed: int = 0,
    subclasses: Tensor | None = None,
    num_subclasses: int = 0,
    validation_fraction: float = 0.0,
) -> ForgetSplit:
    """Apply a forget specification to a training set's labels.

    A pure function: the same labels, specification and seed always give the same split.

    Args:
        spec: What to forget.
        targets: Training labels, ``int64`` ``[N]``.
        num_classes: Number of classes of the data set (to validate class ids).
        dataset: Name recorded in the split.
        dataset_fingerprint: Fingerprint recorded in the split.
        holdout_fraction: Share of the training set set aside first, drawn from ``holdout_seed``: no model of the
            experiment trains on it (neither the original nor the retrained one), so it shows what unseen data
            from the training distribution looks like, without touching the test set. Forget and retain sets
            are drawn from the rest; ``fraction`` stays relative to the whole training set.
        holdout_seed: Seed of the holdout draw (and of the validation draw).
        subclasses: Training subclass labels ``[N]``, for ``spec.subclasses``.
        num_subclasses: Number of subclasses (to validate subclass ids).
        validation_fraction: Share of the training set set aside after the holdout, likewise never trained on,
            and never read by a method either: it stands in for the test set when a recipe is chosen, so no
            choice reads the test set. ``fraction`` stays relative to the whole training set.

    Returns:
        The split.

    Raises:
        ValueError: For an unknown class or subclass id (or subclasses asked of data without them), indices out
            of range or repeated, an empty forget set, or a forget set that is the whole training set.
    """
    n = int(targets.numel())
    available, holdout, validation = _set_aside(n, holdout_fraction, validation_fraction, holdout_seed)
    idx, forget_classes, forget_subclasses = _select_forget(
        spec, targets, num_classes, available, subclasses, num_subclasses
    )
    forget = idx.sort().values
    if forget.numel() >= int(available.sum()):
        raise ValueError(f"the forget set is the whole training set ({n} samples): nothing would remain")
    mask = available.clone()
    mask[forget] = False
    return ForgetSplit(
        forget=forget, retain=mask.nonzero().flatten(), dataset=dataset, dataset_fingerprint=dataset_fingerprint,
        num_train=n, spec=spec.to_dict(), forget_classes=forget_classes, forget_subclasses=forget_subclasses,
        holdout=holdout, validation=validation,
    )  # fmt: skip


def _set_aside(n: int, holdout_fraction: float, validation_fraction: float, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """The samples left for forget and retain sets (a mask), and the holdout and validation indices."""
    for name, share in (("holdout_fraction", holdout_fraction), ("validation_fraction", validation_fraction)):
        if not 0.0 <= share < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), got {share}")
    if holdout_fraction + validation_fraction >= 1.0:
        raise ValueError(
            f"holdout_fraction + validation_fraction must stay below 1, got {holdout_fraction} + {validation_fraction}"
        )
    available = torch.ones(n, dtype=torch.bool)
    holdout = torch.zeros(0, dtype=torch.long)
    validation = torch.zeros(0, dtype=torch.long)
    if holdout_fraction > 0 or validation_fraction > 0:
        gen = torch.Generator().manual_seed(seed * 1_000_003 + 17)
        order = torch.randperm(n, generator=gen)  # the holdout is the same whether a validation set is drawn or not
        n_holdout = max(1, round(holdout_fraction * n)) if holdout_fraction > 0 else 0
        n_validation = max(1, round(validation_fraction * n)) if validation_fraction > 0 else 0
        holdout = order[:n_holdout].sort().values
        validation = order[n_holdout : n_holdout + n_validation].sort().values
        available[order[: n_holdout + n_validation]] = False
    return available, holdout, validation


def _select_forget(
    spec: ForgetSpec,
    targets: Tensor,
    num_classes: int,
    available: Tensor,
    subclasses: Tensor | None,
    num_subclasses: int,
) -> tuple[Tensor, tuple[int, ...], tuple[int, ...]]:
    """The forget indices a specification selects among the ``available`` samples, and its classes or subclasses."""
    n = int(targets.numel())
    if spec.classes is not None:
        forget_classes = _check_ids(spec.classes, num_classes, "classes")
        idx = (torch.isin(targets, torch.tensor(forget_classes)) & available).nonzero().flatten()
        if idx.numel() == 0:
            raise ValueError(f"forget classes {list(forget_classes)} have no training samples: forget set is empty")
        return idx, forget_classes, ()
    if spec.subclasses is not None:
        if subclasses is None or num_subclasses < 1:
            raise ValueError(
                "forget subclasses need a data source with subclasses (CIFAR100(labels='coarse'), Superclasses)"
            )
        forget_subclasses = _check_ids(spec.subclasses, num_subclasses, "subclasses")
        idx = (torch.isin(subclasses, torch.tensor(forget_subclasses)) & available).nonzero().flatten()
        if idx.numel() == 0:
            raise ValueError(f"forget subclasses {list(forget_subclasses)} have no training samples")
        return idx, (), forget_subclasses
    if spec.fraction is not None or spec.count is not None:
        k = round(spec.fraction * n) if spec.fraction is not None else int(spec.count or 0)
        if k < 1:
            raise ValueError(f"forget fraction {spec.fraction} of {n} samples selects nothing")
        pool = available.nonzero().flatten()
        if k >= n or k >= pool.numel():
            raise ValueError(f"forget count {k} must be smaller than the training set ({n}): something must remain")
        gen = torch.Generator().manual_seed(spec.seed)
        return pool[torch.randperm(pool.numel(), generator=gen)[:k]], (), ()
    values = spec.indices if spec.indices is not None else _read_indices_file(str(spec.indices_file))
    idx = _check_indices(values, n)
    clash = idx[~available[idx]]
    if clash.numel():
        raise ValueError(
            f"forget indices {clash[:10].tolist()} lie in the holdout set (or the validation set); lower "
            "holdout_fraction or validation_fraction"
        )
    return idx, (), ()
