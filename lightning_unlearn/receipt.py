"""The unlearning receipt: what was forgotten, from which model, into which model, with what result.

A receipt (``receipt.json``) proves what an unlearning run did without containing any data: the SHA-256 of
the sorted forget indices (see :func:`~lightning_unlearn.data.forget_hash`), the data set's name, size and
fingerprint, the SHA-256 of the original and of the unlearned checkpoint, the resolved configuration, the
versions, the start and end times and the final metrics (with the gap to the retrained model when its
outputs are given). :func:`verify_receipt` recomputes every hash from the files.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RECEIPT_VERSION = 1


def utc_now() -> str:
    """The current time, UTC, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """Versions of this library, Python, torch and Lightning."""
    import lightning
    import torch

    from lightning_unlearn.version import __version__

    return {
        "lightning_unlearn": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
    }


def file_record(path: str | Path | None) -> dict[str, Any] | None:
    """``{"path", "sha256"}`` of a file, or ``None`` without a path."""
    from lightning_unlearn.io import sha256_file

    if path is None:
        return None
    file = Path(path)
    return {"path": str(file), "sha256": sha256_file(file) if file.is_file() else None}


@dataclass(frozen=True)
class Check:
    """One verified item: what was checked, what the receipt says, what the files say."""

    item: str
    expected: str | None
    found: str | None
    note: str = ""

    @property
    def ok(self) -> bool:
        """Whether the file matches the receipt."""
        return self.expected is not None and self.expected == self.found


def verify_receipt(path: str | Path, split_file: str | Path | None = None) -> list[Check]:
    """Recompute the hashes a receipt records and compare them.

    Args:
        path: The ``receipt.json``.
        split_file: The split file to check against the recorded forget hash (default: the one the receipt
            names).

    Returns:
        One :class:`Check` per item: the forget set (from the split file's indices), the original and the
        unlearned checkpoint, and the reference outputs when the receipt has them.
    """
    from lightning_unlearn.data.forget import ForgetSplit
    from lightning_unlearn.io import sha256_file

    receipt = json.loads(Path(path).read_text())
    checks: list[Check] = []
    split_path = split_file or receipt["forget"].get("split_file")
    expected = receipt["forget"]["sha256"]
    if split_path and Path(split_path).is_file():
        try:
            found = ForgetSplit.load(split_path).sha256
            checks.append(Check("forget set", expected, found, str(split_path)))
        except (ValueError, KeyError) as err:
            checks.append(Check("forget set", expected, None, f"{split_path}: {err}"))
    else:
        checks.append(Check("forget set", expected, None, f"split file not found: {split_path}"))
    records = {
        "original checkpoint": receipt.get("original_checkpoint"),
        "unlearned checkpoint": receipt.get("unlearned_checkpoint"),
        "retrained model's outputs": (receipt.get("gap_to_retrain") or {}).get("reference_outputs"),
    }
    for item, record in records.items():
        if not record:
            continue
        file = Path(record["path"])
        digest = sha256_file(file) if file.is_file() else None
        checks.append(Check(item, record["sha256"], digest, str(file) if digest else f"not found: {file}"))
    return checks


def verify(receipt: str, split: str | None = None) -> int:
    """Check a receipt: print each check, return 0 when every hash matches, 1 otherwise.

    ``lightning-unlearn verify receipt.json [--split split.json]``.

    Args:
        receipt: Path of ``receipt.json``.
        split: Split file to check (default: the one the receipt names).
    """
    checks = verify_receipt(receipt, split)
    for check in checks:
        status = "OK" if check.ok else "MISMATCH" if check.found else "MISSING"
        expected, found = str(check.expected)[:16], str(check.found)[:16]
        print(f"{status:8s} {check.item}: receipt {expected}…, file {found}…  {check.note}")
    good = all(c.ok for c in checks)
    print("receipt verified: every hash matches" if good else "receipt NOT verified")
    return 0 if good else 1


__all__ = ["RECEIPT_VERSION", "Check", "file_record", "utc_now", "verify", "verify_receipt", "versions"]
