"""PNG plots of an experiment: per-epoch curves, forget-set predictions, confidence distributions."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from lightning_unlearn.io import atomic_path
from lightning_unlearn.metrics.mia import confidence
from lightning_unlearn.metrics.outputs import SampleOutputs
from lightning_unlearn.metrics.registry import log_name

#: Per-epoch curves: forget-set accuracy (100 - UA) and the logged RA, TA and MIA.
CURVE_KEYS = ("forget/acc", log_name("RA"), log_name("TA"), log_name("MIA"))


def save_figure(fig: Figure, path: Path) -> None:
    """Write a figure as PNG, atomically, and close it."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def step_series(metrics_csv: Path, prefix: str = "train/weight_") -> dict[str, list[tuple[float, float]]]:
    """``(step, value)`` pairs of every column of a CSVLogger ``metrics.csv`` whose name starts with ``prefix``."""
    series: dict[str, list[tuple[float, float]]] = {}
    if not metrics_csv.is_file():
        return series
    with open(metrics_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            for key, value in row.items():
                if key.startswith(prefix) and value not in ("", None):
                    series.setdefault(key, []).append((float(row["step"]), float(value)))
    return series


def plot_curves(histories: Mapping[str, Sequence[Mapping[str, float]]], weights: Mapping[str, Any], path: Path) -> None:
    """Per-epoch forget / retain / test accuracy and MIA-efficacy of each model, plus each loss-balance weight."""
    panels = [*CURVE_KEYS, "weights"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, key in zip(axes, panels, strict=True):
        if key == "weights":
            for model, series in weights.items():
                for name, points in series.items():
                    ax.plot([p[0] for p in points], [p[1] for p in points], label=f"{model}: {name.split('/')[-1]}")
            ax.set_xlabel("step")
            ax.set_yscale("log")
            ax.set_title("loss-balance weights")
        else:
            for model, rows in histories.items():
                points = [(r["epoch"] + 1, r[key]) for r in rows if key in r and not math.isnan(r[key])]
                if points:
                    ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3, label=model)
            ax.set_xlabel("epoch")
            ax.set_title(key)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_forget_predictions(histograms: Mapping[str, Sequence[int]], classes: Sequence[str], path: Path) -> None:
    """Grouped bars: how each model labels the forget set."""
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(classes) * max(1, len(histograms)) / 2), 3.5))
    width = 0.8 / max(1, len(histograms))
    for i, (model, counts) in enumerate(histograms.items()):
        ax.bar([c + i * width for c in range(len(counts))], counts, width=width, label=model)
    ax.set_xticks([c + 0.4 - width / 2 for c in range(len(classes))], list(classes), rotation=45, fontsize=7)
    ax.set_ylabel("forget samples")
    ax.set_title("predicted label on the forget set")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_confidence(outputs: Mapping[str, Mapping[str, SampleOutputs]], path: Path) -> None:
    """Histograms of the true-label confidence on the forget and test sets, one panel per model."""
    fig, axes = plt.subplots(1, len(outputs), figsize=(3.2 * len(outputs), 3), squeeze=False)
    for ax, (model, sets) in zip(axes[0], outputs.items(), strict=True):
        for name in ("forget", "test"):
            if name in sets:
                conf = confidence(sets[name].probs, sets[name].targets).numpy()
                ax.hist(conf, bins=20, range=(0, 1), alpha=0.6, density=True, label=name)
        ax.set_title(model)
        ax.set_xlabel("confidence of the true label")
        ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_lira_scores(scores: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    """Per-sample LiRA scores of the forget set, one box per method (all seeds pooled), one panel per scenario.

    ``scores`` maps ``<scenario>/<method>/seed<seed>`` to ``{"forget": z, "unseen": z}``. The retrained model's
    box is shaded and its median drawn across the panel: a method whose box sits on that line leaves its forget
    samples as recognisable as retraining does; a box above it leaves them recognisable as members.
    """
    import torch

    grouped: dict[str, dict[str, list[Any]]] = {}
    for key, sets in scores.items():
        scenario, method, _ = key.split("/")
        grouped.setdefault(scenario, {}).setdefault(method, []).append(sets["forget"])
    fig, axes = plt.subplots(len(grouped), 1, figsize=(11, 3.6 * len(grouped)), squeeze=False)
    for ax, (scenario, methods) in zip(axes[:, 0], grouped.items(), strict=True):
        names = list(methods)
        data = [torch.cat(methods[m]).double().numpy() for m in names]
        boxes = ax.boxplot(data, showfliers=False, patch_artist=True)
        ax.set_xticks(range(1, len(names) + 1), names, rotation=30, fontsize=7)
        for name, box in zip(names, boxes["boxes"], strict=True):
            box.set_facecolor("tab:orange" if name == "retrain" else "white")
        if "retrain" in methods:
            ax.axhline(float(torch.cat(methods["retrain"]).median()), color="tab:orange", lw=1, ls="--")
        ax.set_ylabel("LiRA score z of forget samples")
        ax.set_title(f"{scenario}: per-sample LiRA scores (whiskers 1.5 IQR, outliers hidden)")
    save_figure(fig, path)
