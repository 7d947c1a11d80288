"""Reading network weights out of checkpoints, safely (``weights_only=True``) and with clear errors."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lightning_unlearn.models.network_module import PROVENANCE_KEY


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, unsafe, or does not fit the network it should fill."""


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``: tensors and plain containers only, never arbitrary code.

    Raises:
        CheckpointError: When the file is missing, corrupt, or holds objects that are not plain data (a
            checkpoint crafted to run code on load is refused here).
    """
    file = Path(path)
    if not file.is_file():
        raise CheckpointError(f"checkpoint not found: {file}")
    try:
        blob = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        unsafe = [line.strip() for line in str(err).splitlines() if "GLOBAL" in line]
        if unsafe:
            raise CheckpointError(
                f"refused to load {file}: it holds objects other than tensors and plain data, which could run "
                f"code on load (read with weights_only=True): {unsafe[0]}"
            ) from err
        raise CheckpointError(f"{file} is not a readable PyTorch checkpoint: {str(err).splitlines()[-3:]}") from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(f"{file} is not a readable PyTorch checkpoint: {err}") from err
    if not isinstance(blob, dict):
        raise CheckpointError(f"{file} holds a {type(blob).__name__}, expected a checkpoint dict or a state dict")
    return blob


def network_state(blob: dict[str, Any], prefix: str = "net.") -> dict[str, torch.Tensor]:
    """The network weights of a Lightning checkpoint (``state_dict`` keys under ``prefix``) or a plain state dict."""
    state = blob.get("state_dict", blob)
    if any(k.startswith(prefix) for k in state):
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def provenance_of(blob: dict[str, Any]) -> dict[str, Any]:
    """The provenance record a checkpoint of this library carries (empty for a plain state dict)."""
    return dict(blob.get(PROVENANCE_KEY) or {})


def load_network(
    net: nn.Module, path: str | Path, arch: str | None = None, blob: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Fill ``net`` with the network weights of a checkpoint and return the checkpoint's provenance record.

    Args:
        net: The network to fill (its architecture must match exactly).
        path: A checkpoint written by this library, or a plain ``state_dict`` of the network.
        arch: The architecture name ``net`` was built from, checked against the checkpoint's record.
        blob: The checkpoint already read by :func:`read_checkpoint` (saves reading it twice).

    Raises:
        CheckpointError: When the file is missing, corrupt or unsafe, or holds another architecture.
    """
    blob = read_checkpoint(path) if blob is None else blob
    provenance = provenance_of(blob)
    recorded = provenance.get("arch")
    if arch is not None and recorded is not None and recorded != arch:
        raise CheckpointError(f"{path} holds a {recorded!r} network, but this model is a {arch!r}")
    state = network_state(blob)
    if not state:
        raise CheckpointError(f"{path} holds no network weights")
    missing, unexpected = [], []
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong_shape = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong_shape:
        raise CheckpointError(
            f"{path} holds another architecture than {arch or type(net).__name__}: "
            f"{len(missing)} missing keys {missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, "
            f"{len(wrong_shape)} of another shape {wrong_shape[:3]}"
        )
    net.load_state_dict(state, strict=True)
    return provenance
