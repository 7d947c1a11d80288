"""Benchmark grids: methods x forget scenarios x seeds, each against its own retrained model, cached by content.

The original model is trained once; each forget scenario gets one retrained model; each method runs once per
scenario and seed. Every run is a real CLI ``fit`` (see :mod:`lightning_unlearn.experiment`) whose folder,
under ``<out_dir>/runs/``, is named after a SHA-256 of everything that determines it (config files, scenario,
seed, and the runs it starts from). A rerun, or another grid in the same ``out_dir`` (an ablation sharing the
original and retrained models), reuses every run whose inputs did not change and computes only the rest.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from lightning_unlearn.callbacks.forgetting_metrics import load_outputs
from lightning_unlearn.data.forget import SELECTORS
from lightning_unlearn.experiment import StageResult, build_rows, resolve_methods, run_stage
from lightning_unlearn.io import atomic_torch_save, atomic_write_json, atomic_write_text
from lightning_unlearn.report import format_value

#: The columns aggregated over seeds.
SUMMARY_KEYS = ("UA", "RA", "TA", "MIA", "avg_gap", "seconds", "RTE", "eval_overhead")


def content_key(*parts: Any) -> str:
    """SHA-256 of the given parts; files are hashed by content, everything else by its JSON form."""
    digest = hashlib.sha256()
    for part in parts:
        path = Path(part) if isinstance(part, str) and part.endswith((".yaml", ".yml")) else None
        digest.update(
            path.read_bytes() if path is not None and path.is_file() else json.dumps(part, sort_keys=True).encode()
        )
        digest.update(b"\0")
    return digest.hexdigest()


def code_of(config: str) -> str:
    """SHA-256 of the source file that defines a config's ``model.class_path``, so code changes invalidate runs."""
    import importlib
    import inspect

    import yaml

    class_path = ((yaml.safe_load(Path(config).read_text()) or {}).get("model") or {}).get("class_path")
    if not class_path:
        return ""
    module_name, _, name = class_path.rpartition(".")
    source = inspect.getsourcefile(getattr(importlib.import_module(module_name), name)) or ""
    return hashlib.sha256(Path(source).read_bytes()).hexdigest() if source else ""


def forget_override(spec: dict[str, Any]) -> str:
    """A ``--data.forget=...`` argument that replaces the data config's forget specification entirely.

    jsonargparse merges a class's init arguments given twice, so the other selectors are set to ``null``.
    """
    full: dict[str, Any] = {name: None for name in SELECTORS}
    return f"--data.forget={json.dumps({**full, 'seed': 0, **spec})}"


def _cached(folder: Path) -> StageResult | None:
    meta = folder / "result.json"
    if not meta.is_file():
        return None
    record = json.loads(meta.read_text())
    extra = torch.load(folder / "result.pt", map_location="cpu", weights_only=True)
    return StageResult(
        name=record["name"],
        outputs=load_outputs(folder / "outputs.pt"),
        random_forget_probs=extra["random_forget_probs"],
        seconds=record["seconds"],
        info=record["info"],
        history=record["history"],
        classes=tuple(record["classes"]),
        mia=record["mia"],
    )


def _store(folder: Path, result: StageResult) -> None:
    atomic_torch_save({"random_forget_probs": result.random_forget_probs}, folder / "result.pt")
    record = {
        "name": result.name,
        "seconds": result.seconds,
        "info": result.info,
        "history": result.history,
        "classes": list(result.classes),
        "mia": result.mia,
    }
    atomic_write_json(folder / "result.json", record)  # written last: its presence marks a finished run


def _run(out: Path, folder_name: str, configs: list[str], extra: list[str]) -> tuple[StageResult, bool]:
    folder = out / folder_name
    cached = _cached(folder)
    if cached is not None:
        return cached, True
    result = run_stage(folder_name, configs, out, extra)
    _store(folder, result)
    return result, False


def aggregate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds of :data:`SUMMARY_KEYS`, per scenario and method."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["scenario"], row["method"]), []).append(row)
    out = []
    for (scenario, method), members in groups.items():
        entry: dict[str, Any] = {"scenario": scenario, "method": method, "seeds": len(members)}
        for key in SUMMARY_KEYS:
            values = [float(m[key]) for m in members if key in m and not math.isnan(float(m[key]))]
            if values:
                entry[key] = statistics.fmean(values)
                entry[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(entry)
    return out


def results_markdown(summary: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    """One table per scenario: mean ± std over seeds."""
    lines = [f"# Benchmark: {meta['name']}", ""] + [f"- {k}: {v}" for k, v in meta.items() if k != "name"] + [""]
    for scenario in dict.fromkeys(s["scenario"] for s in summary):
        lines += [f"## {scenario}", "", "| method | " + " | ".join(SUMMARY_KEYS) + " |"]
        lines.append("| --- | " + " | ".join("---" for _ in SUMMARY_KEYS) + " |")
        for s in summary:
            if s["scenario"] != scenario:
                continue
            cells = []
            for key in SUMMARY_KEYS:
                if key not in s:
                    cells.append("-")
                elif s["seeds"] > 1 and s[f"{key}_std"] > 0:
                    cells.append(f"{format_value(s[key])} ± {format_value(s[f'{key}_std'])}")
                else:
                    cells.append(format_value(s[key]))
            lines.append(f"| {s['method']} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "Mean ± standard deviation over the seeds of each unlearning run (one split and one retrained model per",
        "scenario). avg_gap: mean |difference to retrain| over UA, RA, TA, MIA; RTE: seconds / retrain's seconds;",
        "eval_overhead: seconds of the per-epoch metric callbacks / seconds of training.",
    ]
    return "\n".join(lines) + "\n"


def plot_gap_vs_time(summary: Sequence[dict[str, Any]], path: Path) -> None:
    """Avg.Gap against run time, one point per method, one panel per scenario."""
    from lightning_unlearn.plots import plt, save_figure

    scenarios = list(dict.fromkeys(s["scenario"] for s in summary))
    fig, axes = plt.subplots(1, len(scenarios), figsize=(5.5 * len(scenarios), 4.2), squeeze=False)
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        for s in summary:
            if s["scenario"] != scenario or "avg_gap" not in s:
                continue
            ax.errorbar(s["seconds"], s["avg_gap"], yerr=s.get("avg_gap_std", 0), fmt="o", capsize=2)
            ax.annotate(
                s["method"], (s["seconds"], s["avg_gap"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        ax.set_xscale("log")
        ax.set_xlabel("seconds (log)")
        ax.set_ylabel("Avg.Gap to retrain")
        ax.set_title(scenario)
    save_figure(fig, path)


def run_grid(
    name: str,
    data: str,
    original: str,
    retrain: str,
    scenarios: dict[str, dict[str, Any]],
    methods: list[str],
    methods_dir: str = "configs/methods",
    seeds: list[int] | None = None,
    out_dir: str = "runs/bench",
    trainer: str | None = None,
) -> dict[str, Any]:
    """Run (or reuse) every run of a grid and write ``results.json``, ``results.md`` and ``gap_vs_time.png``.

    Args:
        name: Name of the grid; results go to ``<out_dir>/<name>/``.
        data: YAML config of the ``data`` section; its ``forget`` entry is replaced by each scenario's.
        original: YAML config of the original model.
        retrain: YAML config of the retrained model.
        scenarios: Scenario name -> forget specification (``{"fraction": 0.1, "seed": 0}``, ``{"classes": [0]}``).
        methods: Method names (configs under ``methods_dir``) or ``"all"``.
        methods_dir: Folder of the method configs of this grid.
        seeds: Seeds of the unlearning runs (default ``[0]``); the split and the retrained model are shared.
        out_dir: Parent folder of the grid's results folder and of the shared ``runs/`` cache.
        trainer: Optional YAML config applied to every run (e.g. ``accelerator: gpu``).

    Returns:
        ``{"meta", "rows", "summary"}``, as written to ``results.json``.
    """
    seeds = seeds or [0]
    out = Path(out_dir) / name
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(out_dir) / "runs"
    method_configs = resolve_methods(methods, methods_dir)
    base = [data] + ([trainer] if trainer else [])
    total = 1 + len(scenarios) * (1 + len(method_configs) * len(seeds))
    done = 0
    start = time.perf_counter()

    def progress(label: str, cached: bool, seconds: float) -> None:
        nonlocal done
        done += 1
        how = "cached" if cached else f"{seconds:.1f} s"
        print(f"[{done}/{total}] {label}: {how} (elapsed {time.perf_counter() - start:.0f} s)", flush=True)

    first = next(iter(scenarios.values()))
    original_key = content_key("original", *base, original, first)
    original_result, cached = _run(cache, f"original-{original_key[:12]}", [*base, original], [forget_override(first)])
    progress("original", cached, original_result.seconds)
    original_ckpt = Path(original_result.info["checkpoint"])
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for scenario, spec in scenarios.items():
        folder = cache / f"{scenario}-{content_key(*base, spec)[:12]}"  # one split file per scenario
        forget_arg = forget_override(spec)
        retrain_key = content_key("retrain", *base, retrain, spec)
        retrain_result, cached = _run(
            folder, f"retrain-{retrain_key[:12]}", [*base, retrain], [forget_arg, "--seed_everything=0"]
        )
        progress(f"{scenario} retrain", cached, retrain_result.seconds)
        retrain_result.name = "retrain"
        reference = folder / f"retrain-{retrain_key[:12]}" / "outputs.pt"
        for config in method_configs:
            method = Path(config).stem
            for seed in seeds:
                key = content_key(method, *base, config, code_of(config), spec, seed, original_key, retrain_key)
                extra = [
                    forget_arg,
                    f"--seed_everything={seed}",
                    f"--model.init_args.original_ckpt={original_ckpt}",
                    f"--forgetting_metrics.reference_outputs={reference}",
                    f"--receipt.reference_outputs={reference}",
                ]
                try:
                    result, cached = _run(folder, f"{method}-seed{seed}-{key[:12]}", [*base, config], extra)
                except (FloatingPointError, ValueError, RuntimeError) as err:  # one failed cell, not a failed grid
                    done += 1
                    print(f"[{done}/{total}] {scenario} {method} seed {seed}: FAILED: {err}", flush=True)
                    failures.append({"scenario": scenario, "method": method, "seed": seed, "error": str(err)})
                    continue
                progress(f"{scenario} {method} seed {seed}", cached, result.seconds)
                result.name = method
                for row in build_rows([retrain_result, result]):
                    if row["method"] == method:
                        rows.append(
                            {"scenario": scenario, "seed": seed, **row, "retrain_seconds": retrain_result.seconds}
                        )
        for row in build_rows([retrain_result]):
            rows.append({"scenario": scenario, "seed": 0, **row, "retrain_seconds": retrain_result.seconds})
    summary = aggregate(rows)
    meta = {
        "name": name,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine_description(),
        "seeds": seeds,
        "scenarios": scenarios,
        "original_seconds": original_result.seconds,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "failures": failures,
    }
    results = {"meta": meta, "rows": rows, "summary": summary}
    atomic_write_json(out / "results.json", results)
    atomic_write_text(out / "results.md", results_markdown(summary, meta))
    plot_gap_vs_time(summary, out / "gap_vs_time.png")
    print(results_markdown(summary, meta), flush=True)
    print(f"written: {out / 'results.json'}, {out / 'results.md'}, {out / 'gap_vs_time.png'}", flush=True)
    return results


def machine_description() -> str:
    """CPU count and model, and the GPU if any, in one line."""
    import os
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} CPU cores ({cpu}), {gpu}, torch {torch.__version__}"


def grid_main(argv: Sequence[str] | None = None) -> None:
    """``lightning-unlearn grid --config grid.yaml``."""
    from jsonargparse import CLI

    CLI(run_grid, args=list(argv) if argv is not None else None, as_positional=False)
