"""Accuracy on the forget, retain and test sets, and the distance of the predictions to the retrained model's."""

from __future__ import annotations

from pathlib import Path

import torch

from lightning_unlearn.callbacks.set_outputs import SetOutputsCallback
from lightning_unlearn.metrics.divergence import mean_js_divergence
from lightning_unlearn.metrics.outputs import SampleOutputs
from lightning_unlearn.metrics.registry import log_name
from lightning_unlearn.metrics.summary import accuracy_metrics, aligned


def load_outputs(path: str | Path) -> dict[str, SampleOutputs]:
    """Per-set outputs saved by :func:`save_outputs` (read with ``weights_only=True``)."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    return {name: SampleOutputs(v["probs"], v["targets"], v["indices"], v.get("losses")) for name, v in blob.items()}


def save_outputs(outputs: dict[str, SampleOutputs], path: str | Path) -> None:
    """Save per-set outputs (tensors only), atomically."""
    from lightning_unlearn.io import atomic_torch_save

    atomic_torch_save({name: o._asdict() for name, o in outputs.items()}, path)


class ForgettingMetrics(SetOutputsCallback):
    """Log ``<set>/acc`` for ``forget``, ``retain``, ``test`` (and ``test_forget``) every epoch and in every test run.

    With ``reference_outputs`` (the retrained model's outputs, as the experiment runner saves them in
    ``retrain/outputs.pt``), it also logs ``forget/js_retrain`` and ``test/js_retrain``: the batch-mean
    Jensen-Shannon divergence (natural log) between this model's and the retrained model's softmax outputs
    on the same samples; lower is closer.

    Args:
        every_n_epochs: Monitor every this many training epochs (0: never; the test run always reports).
        monitor_size: Samples per set in the monitor (seeded); ``None``: every sample.
        seed: Seed of the monitor subsample.
        reference_outputs: Path of the retrained model's saved outputs.
    """

    def __init__(
        self,
        every_n_epochs: int = 1,
        monitor_size: int | None = 1000,
        seed: int = 0,
        reference_outputs: str | None = None,
    ) -> None:
        super().__init__(every_n_epochs, monitor_size, seed)
        self.reference_outputs = reference_outputs
        self._reference: dict[str, SampleOutputs] | None = None

    def compute_values(self, outputs: dict[str, SampleOutputs], stage: str) -> dict[str, float]:
        """Accuracies, and JS divergence to the reference when one is given."""
        values = accuracy_metrics(outputs)
        if self.reference_outputs is not None:
            if self._reference is None:
                self._reference = load_outputs(self.reference_outputs)
            for name in ("forget", "test"):
                if name in outputs and name in self._reference:
                    p, q = aligned(outputs[name], self._reference[name])
                    values[log_name(f"JS_{name}")] = mean_js_divergence(p, q)
        return values
