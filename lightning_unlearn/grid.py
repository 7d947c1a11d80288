"""Benchmark grids: methods x forget scenarios x seeds, each against its own retrained model, cached by content.

The original model is trained once; each forget scenario gets one retrained model; each method runs once per
scenario and seed. Every run is a real CLI ``fit`` (see :mod:`lightning_unlearn.experiment`) whose folder,
under ``<out_dir>/runs/``, is named after a SHA-256 of everything that determines it (config files, the
package's code, the source of a user's own method, scenario, seed, and the runs it starts from). A rerun, or
another grid in the same ``out_dir`` (an ablation sharing the original and retrained models), reuses every run
whose inputs did not change and computes only the rest. The original model is also scored on every scenario's
sets, as the row ``original``: what doing nothing scores. With ``reference_models: K``, each scenario also
retrains K reference models (the retrain recipe with seeds 1..K, cached like every run) and every row carries the
per-sample LiRA attack calibrated on them (:mod:`lightning_unlearn.metrics.lira`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lightning_unlearn.callbacks.forgetting_metrics import load_outputs
from lightning_unlearn.callbacks.progress import remaining_seconds
from lightning_unlearn.console import log
from lightning_unlearn.experiment import StageOptions, StageResult, build_rows, evaluate_stage, run_stage
from lightning_unlearn.io import atomic_torch_save, atomic_write_json, atomic_write_text
from lightning_unlearn.metrics.lira import LiRAResult, lira_attack
from lightning_unlearn.report import format_value
from lightning_unlearn.shipped import locate

#: The columns aggregated over seeds.
SUMMARY_KEYS = ("UA", "RA", "TA", "MIA", "avg_gap", "seconds", "RTE", "eval_overhead", "LiRA_AUC", "LiRA_TPR@1%FPR")
#: The package whose code every run's key includes.
PACKAGE_ROOT = Path(__file__).resolve().parent
PACKAGE_NAME = __name__.partition(".")[0]
#: Files of ``methods/`` that every unlearning run executes; each other file there is one method's own.
SHARED_METHOD_FILES = ("__init__.py", "base.py")
#: Top-level packages whose classes a user's method may subclass without their source entering its run's key.
THIRD_PARTY_BASES = ("builtins", "abc", "typing", "torch", "lightning", "pytorch_lightning")


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


def package_fingerprint(own_modules: str | Sequence[str] = (), root: Path | None = None) -> str:
    """SHA-256 of the package code a run executes: its Python files (relative path and content), in a fixed order.

    Part of every run's cache key: a change to the code a run executes (the base module, the data module, a
    loss, a metric, its own method) makes the grid recompute it instead of serving a result of the old code.
    The files of ``methods/`` other than :data:`SHARED_METHOD_FILES` each hold one method: only the run's own
    count, with the files of the methods it subclasses, so editing one method leaves the others' runs cached.

    Args:
        own_modules: The modules of the run's class and of its base classes (:func:`modules_of`), e.g.
            ``lightning_unlearn.methods.salun`` and ``lightning_unlearn.methods.random_labels``.
        root: The package folder (default: this package).
    """
    prefix = f"{PACKAGE_NAME}."
    modules = [own_modules] if isinstance(own_modules, str) else list(own_modules)
    own = {m.removeprefix(prefix).replace(".", "/") + ".py" for m in modules if m.startswith(prefix)}
    digest = hashlib.sha256()
    for relative, content in package_snapshot(root or PACKAGE_ROOT):
        if relative.startswith("methods/") and Path(relative).name not in SHARED_METHOD_FILES and relative not in own:
            continue
        digest.update(relative.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


_SNAPSHOTS: dict[Path, tuple[tuple[str, bytes], ...]] = {}


def package_snapshot(root: Path) -> tuple[tuple[str, bytes], ...]:
    """The package's Python files (relative path, content) as this process first read them, in a fixed order.

    Read once per process: the code a grid executes is the code it imported when it started, so a file edited
    while a grid runs must not give the later runs a key of the new code.
    """
    if root not in _SNAPSHOTS:
        _SNAPSHOTS[root] = tuple(
            (path.relative_to(root).as_posix(), path.read_bytes()) for path in sorted(root.rglob("*.py"))
        )
    return _SNAPSHOTS[root]


def modules_of(config: str) -> tuple[str, ...]:
    """The modules that define a config's ``model.class_path`` and its base classes (``()`` without one).

    ``lightning_unlearn.methods.SalUn`` is defined in ``lightning_unlearn.methods.salun`` and subclasses
    ``RandomLabels`` of ``lightning_unlearn.methods.random_labels``: both (and the other bases') modules.
    """
    import importlib

    import yaml

    class_path = ((yaml.safe_load(Path(config).read_text()) or {}).get("model") or {}).get("class_path") or ""
    if not class_path:
        return ()
    module_name, _, name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), name)
    return tuple(dict.fromkeys(str(c.__module__) for c in cls.__mro__))


def code_of(config: str) -> str:
    """SHA-256 of the code a config's run executes.

    The package's (:func:`package_fingerprint`) and, for a user's own method outside the package, the source
    files of its class's module and of its own base classes' modules (not third-party ones).
    """
    import importlib
    import inspect

    modules = modules_of(config)
    digest = hashlib.sha256(package_fingerprint(modules).encode())
    for module in modules:
        if module.startswith(f"{PACKAGE_NAME}.") or module.split(".")[0] in THIRD_PARTY_BASES:
            continue
        source = inspect.getsourcefile(importlib.import_module(module))
        if source:
            digest.update(Path(source).read_bytes())
    return digest.hexdigest()


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


def _cached_or_run(folder: Path, compute: Callable[[], StageResult]) -> tuple[StageResult, bool]:
    cached = _cached(folder)
    if cached is not None:
        return cached, True
    result = compute()
    _store(folder, result)
    return result, False


class Progress:
    """One line per finished run: its place, its seconds (or ``cached``), the elapsed time and the time left.

    The time left is estimated at the pace of the runs computed so far (cached runs cost nothing).
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.computed = 0
        self.start = time.perf_counter()

    def step(self, label: str, how: str, cached: bool = False) -> None:
        """Report one run as finished (``cached``: served from the cache, so it says nothing of the pace)."""
        self.done += 1
        self.computed += not cached
        elapsed = time.perf_counter() - self.start
        left = remaining_seconds(elapsed, self.computed, self.computed + self.total - self.done)
        eta = f", about {left:.0f} s left" if left is not None and self.done < self.total else ""
        log.info(f"[{self.done}/{self.total}] {label}: {how} (elapsed {elapsed:.0f} s{eta})")

    def ran(self, label: str, result: StageResult, cached: bool) -> None:
        """Report a run's result: ``cached`` or its seconds."""
        self.step(label, "cached" if cached else f"{result.seconds:.1f} s", cached)


@dataclass
class Workspace:
    """What every run of a grid shares: the run cache, the base configs, the original model."""

    cache: Path
    base: list[str]
    original_config: str
    original_key: str
    original: StageResult

    @property
    def original_ckpt(self) -> Path:
        """The original model's checkpoint."""
        return Path(self.original.info["checkpoint"])


@dataclass
class Scenario:
    """One forget scenario of a workspace: its split folder and its retrained model."""

    name: str
    spec: dict[str, Any]
    folder: Path
    retrain_key: str
    retrain: StageResult
    references: list[StageResult] = field(default_factory=list)

    @property
    def reference(self) -> Path:
        """The retrained model's saved outputs."""
        return self.folder / f"retrain-{self.retrain_key[:12]}" / "outputs.pt"


def prepare_workspace(
    data: str,
    original: str,
    first_spec: dict[str, Any],
    out_dir: str | Path,
    trainer: str | None,
    progress: Progress,
) -> Workspace:
    """Train (or reuse) the original model on all training data of ``data`` (with ``first_spec`` as its split)."""
    cache = Path(out_dir) / "runs"
    base = [data] + ([trainer] if trainer else [])
    key = content_key("original", *base, original, code_of(original), first_spec)
    folder = f"original-{key[:12]}"
    result, cached = _cached_or_run(
        cache / folder, lambda: run_stage(folder, [*base, original], cache, StageOptions(forget=first_spec))
    )
    progress.ran("original", result, cached)
    return Workspace(cache, base, original, key, result)


def prepare_scenario(ws: Workspace, name: str, spec: dict[str, Any], retrain: str, progress: Progress) -> Scenario:
    """Retrain (or reuse) the gold standard of one forget scenario."""
    folder = ws.cache / f"{name}-{content_key(*ws.base, spec)[:12]}"  # one split file per scenario
    key = content_key("retrain", *ws.base, retrain, code_of(retrain), spec)
    stage = f"retrain-{key[:12]}"
    options = StageOptions(forget=spec, seed=0)
    result, cached = _cached_or_run(folder / stage, lambda: run_stage(stage, [*ws.base, retrain], folder, options))
    progress.ran(f"{name} retrain", result, cached)
    result.name = "retrain"
    return Scenario(name, spec, folder, key, result)


def prepare_references(ws: Workspace, scenario: Scenario, retrain: str, count: int, progress: Progress) -> None:
    """Train (or reuse) ``count`` reference models of a scenario for LiRA: the retrain recipe with seeds 1..count.

    The retrained model itself (seed 0) is not one of them, so it is judged like any method; each reference
    differs from it in its initialisation and its batch order only (same retain set, same evaluation sets).
    """
    for seed in range(1, count + 1):
        key = content_key("reference", *ws.base, retrain, code_of(retrain), scenario.spec, seed)
        stage = f"reference{seed}-{key[:12]}"
        options = StageOptions(forget=scenario.spec, seed=seed, order_seed=seed)
        compute = functools.partial(run_stage, stage, [*ws.base, retrain], scenario.folder, options)
        result, cached = _cached_or_run(scenario.folder / stage, compute)
        progress.ran(f"{scenario.name} reference model {seed}/{count}", result, cached)
        scenario.references.append(result)


def score_original(ws: Workspace, scenario: Scenario, progress: Progress) -> StageResult:
    """The original model scored on the scenario's sets (doing nothing), cached like a run."""
    stage = f"original-{content_key(ws.original_key, scenario.retrain_key)[:12]}"
    options = StageOptions(forget=scenario.spec)
    result, cached = _cached_or_run(
        scenario.folder / stage,
        lambda: evaluate_stage(stage, [*ws.base, ws.original_config], ws.original_ckpt, scenario.folder, options),
    )
    progress.step(f"{scenario.name} original (doing nothing)", "cached" if cached else "scored")
    result.name = "original"
    return result


def run_method(ws: Workspace, scenario: Scenario, config: str, seed: int) -> tuple[StageResult, bool]:
    """Run (or reuse) one method config on one scenario with one seed; the result is named after the config."""
    method = Path(config).stem
    key = content_key(
        method, *ws.base, config, code_of(config), scenario.spec, seed, ws.original_key, scenario.retrain_key
    )
    stage = f"{method}-seed{seed}-{key[:12]}"
    options = StageOptions(
        forget=scenario.spec,
        seed=seed,
        order_seed=seed,  # the split stays the scenario's; the batch order is the run's
        original_ckpt=ws.original_ckpt,
        reference_outputs=scenario.reference,
    )
    result, cached = _cached_or_run(
        scenario.folder / stage, lambda: run_stage(stage, [*ws.base, config], scenario.folder, options)
    )
    result.name = method
    return result, cached


def scenario_row(
    scenario: Scenario, result: StageResult, seed: int, lira: dict[str, LiRAResult] | None = None
) -> dict[str, Any]:
    """The report row of ``result`` (a method's or the original's), scored against the scenario's retrained model.

    With reference models, the row also carries ``LiRA_AUC`` and ``LiRA_TPR@1%FPR``, and ``lira`` (when given)
    receives the attack's per-sample scores under ``<scenario>/<method>/seed<seed>``.
    """
    rows = build_rows([scenario.retrain, result])
    row = next(r for r in rows if r["method"] == result.name)
    row = {"scenario": scenario.name, "seed": seed, **row, "retrain_seconds": scenario.retrain.seconds}
    if scenario.references:
        attack = lira_attack(result.outputs, [r.outputs for r in scenario.references])
        row["LiRA_AUC"] = attack.auc
        row["LiRA_TPR@1%FPR"] = attack.tpr_at_1_fpr
        if lira is not None:
            lira[f"{scenario.name}/{result.name}/seed{seed}"] = attack
    return row


def retrained_rows(scenario: Scenario) -> list[dict[str, Any]]:
    """The report rows of the scenario's retrained model and of each of its reference models (exact unlearners).

    Each reference is scored against the retrained model like any method; the retrained model's row comes first.
    """
    rows = build_rows([scenario.retrain])
    for ref in scenario.references:
        rows.append(next(r for r in build_rows([scenario.retrain, ref]) if r["method"] == ref.name))
    return rows


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


def regime(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Whether the benchmark can tell unlearning from doing nothing, per scenario.

    For each scenario: the original's retain accuracy and UA, the retrained model's UA, TA and test error, and
    the original's Avg.Gap to the retrained model (what doing nothing scores). ``original_RA`` is the
    original's retain accuracy on the first scenario. Keys end in ``_<scenario>``.
    """
    out: dict[str, float] = {}
    for row in rows:
        if row["method"] not in ("original", "retrain"):
            continue
        suffix = f"_{row['scenario']}"
        if row["method"] == "original":
            out.setdefault("original_RA", row["RA"])
            out[f"original_RA{suffix}"] = row["RA"]
            out[f"original_UA{suffix}"] = row["UA"]
            out[f"original_avg_gap{suffix}"] = row["avg_gap"]
        else:
            out[f"retrain_UA{suffix}"] = row["UA"]
            out[f"retrain_TA{suffix}"] = row["TA"]
            out[f"retrain_test_error{suffix}"] = 100.0 - row["TA"]
    return out


def results_markdown(summary: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    """One table per scenario: mean ± std over seeds."""
    lines = [f"# Benchmark: {meta['name']}", ""]
    lines += [f"- {k}: {v}" for k, v in meta.items() if k not in ("name", "regime")]
    if meta.get("regime"):
        lines += ["", "Regime (the original scored like any method; the retrained models):", ""]
        lines += [f"- {k}: {format_value(v)}" for k, v in meta["regime"].items()]
    lines.append("")
    keys = [k for k in SUMMARY_KEYS if any(k in s for s in summary)]
    for scenario in dict.fromkeys(s["scenario"] for s in summary):
        lines += [f"## {scenario}", "", "| method | " + " | ".join(keys) + " |"]
        lines.append("| --- | " + " | ".join("---" for _ in keys) + " |")
        for s in summary:
            if s["scenario"] == scenario:
                lines.append(f"| {s['method']} | " + " | ".join(_cell(s, key) for key in keys) + " |")
        lines.append("")
    lines += [
        "Mean ± standard deviation over the seeds of each unlearning run (one split and one retrained model per",
        "scenario). avg_gap: mean |difference to retrain| over UA, RA, TA, MIA; RTE: seconds / retrain's seconds;",
        "eval_overhead: seconds of the per-epoch metric callbacks / seconds of training; original: the original",
        "model itself (doing nothing). LiRA_AUC, LiRA_TPR@1%FPR (with reference models): the per-sample offline",
        "LiRA attack, forget samples vs unseen test samples of their classes; closer to retrain's value is better.",
    ]
    return "\n".join(lines) + "\n"


def _cell(entry: dict[str, Any], key: str) -> str:
    if key not in entry:
        return "-"
    if entry["seeds"] > 1 and entry[f"{key}_std"] > 0:
        return f"{format_value(entry[key])} ± {format_value(entry[f'{key}_std'])}"
    return format_value(entry[key])


def plot_gap_vs_time(summary: Sequence[dict[str, Any]], path: Path) -> None:
    """Avg.Gap against run time, one point per method, one panel per scenario."""
    from lightning_unlearn.plots import plt, save_figure

    scenarios = list(dict.fromkeys(s["scenario"] for s in summary))
    fig, axes = plt.subplots(1, len(scenarios), figsize=(5.5 * len(scenarios), 4.2), squeeze=False)
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        for s in summary:
            if s["scenario"] != scenario or "avg_gap" not in s or s["seconds"] <= 0:
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


def scenario_methods(methods: Sequence[str], methods_dir: str, scenario: str) -> list[str]:
    """The method configs of one scenario.

    ``<methods_dir>/<scenario>/<name>.yaml`` where it exists (a recipe tuned for that scenario, as
    ``lightning-unlearn tune`` writes them), else ``<methods_dir>/<name>.yaml``; ``"all"`` is every method with a
    config in either folder.

    Raises:
        FileNotFoundError: For a name with a config in neither folder.
    """
    from lightning_unlearn.methods import METHODS

    folders = [Path(methods_dir) / scenario, Path(methods_dir)]
    names: list[str] = []
    for item in methods:
        if item == "all":
            names += [n for n in METHODS if n != "retrain" and any((f / f"{n}.yaml").is_file() for f in folders)]
        else:
            names.append(item)
    resolved = []
    for name in dict.fromkeys(names):
        if name.endswith((".yaml", ".yml")):
            resolved.append(name)
            continue
        found = next((f / f"{name}.yaml" for f in folders if (f / f"{name}.yaml").is_file()), None)
        if found is None:
            raise FileNotFoundError(f"no method config {name}.yaml in {folders[0]} or {folders[1]}")
        resolved.append(str(found))
    return resolved


def run_methods(
    ws: Workspace,
    scenario: Scenario,
    configs: Sequence[str],
    seeds: Sequence[int],
    progress: Progress,
    failures: list[dict[str, Any]],
    lira: dict[str, LiRAResult],
) -> list[dict[str, Any]]:
    """Every method config x seed of one scenario: their rows; a failed run is appended to ``failures`` instead."""
    rows: list[dict[str, Any]] = []
    for config in configs:
        for seed in seeds:
            label = f"{scenario.name} {Path(config).stem} seed {seed}"
            try:
                result, cached = run_method(ws, scenario, config, seed)
            except (FloatingPointError, ValueError, RuntimeError) as err:  # one failed cell, not a failed grid
                progress.step(label, f"FAILED: {err}")
                method = Path(config).stem
                failures.append({"scenario": scenario.name, "method": method, "seed": seed, "error": str(err)})
                continue
            progress.ran(label, result, cached)
            rows.append(scenario_row(scenario, result, seed, lira))
    return rows


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
    reference_models: int = 0,
) -> dict[str, Any]:
    """Run (or reuse) every run of a grid and write ``results.json``, ``results.md`` and ``gap_vs_time.png``.

    Args:
        name: Name of the grid; results go to ``<out_dir>/<name>/``.
        data: YAML config of the ``data`` section; its ``forget`` entry is replaced by each scenario's.
        original: YAML config of the original model.
        retrain: YAML config of the retrained model.
        scenarios: Scenario name -> forget specification (``{"fraction": 0.1, "seed": 0}``, ``{"classes": [0]}``).
        methods: Method names (configs under ``methods_dir``) or ``"all"``.
        methods_dir: Folder of the method configs of this grid; a subfolder named after a scenario holds
            recipes for that scenario only (what ``lightning-unlearn tune`` writes).
        seeds: Seeds of the unlearning runs (default ``[0]``); the split and the retrained model are shared.
        out_dir: Parent folder of the grid's results folder and of the shared ``runs/`` cache.
        trainer: Optional YAML config applied to every run (e.g. ``accelerator: gpu``).
        reference_models: Reference models per scenario for the per-sample LiRA attack (0: no attack; each
            costs one retraining, cached): every row gets ``LiRA_AUC`` and ``LiRA_TPR@1%FPR``, and the folder
            ``lira_scores.pt`` (every row's per-sample scores) and ``lira_scores.png``.

    Returns:
        ``{"meta", "rows", "summary"}``, as written to ``results.json``.
    """
    data, original, retrain, methods_dir = (locate(p) for p in (data, original, retrain, methods_dir))
    trainer, seeds = locate(trainer) if trainer else None, seeds or [0]
    if reference_models < 0:
        raise ValueError(f"reference_models must be 0 or more, got {reference_models}")
    out = Path(out_dir) / name
    out.mkdir(parents=True, exist_ok=True)
    configs = {s: scenario_methods(methods, methods_dir, s) for s in scenarios}
    progress = Progress(1 + sum(2 + reference_models + len(c) * len(seeds) for c in configs.values()))
    ws = prepare_workspace(data, original, next(iter(scenarios.values())), out_dir, trainer, progress)
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    lira: dict[str, LiRAResult] = {}
    for scenario_name, spec in scenarios.items():
        scenario = prepare_scenario(ws, scenario_name, spec, retrain, progress)
        prepare_references(ws, scenario, retrain, reference_models, progress)
        rows.append(scenario_row(scenario, scenario.retrain, 0, lira))
        rows.append(scenario_row(scenario, score_original(ws, scenario, progress), 0, lira))
        rows += run_methods(ws, scenario, configs[scenario_name], seeds, progress, failures, lira)
    meta: dict[str, Any] = {"name": name, "date": time.strftime("%Y-%m-%d"), "machine": machine_description()}
    meta |= {"seeds": seeds, "scenarios": scenarios, "original_seconds": ws.original.seconds}
    wall = round(time.perf_counter() - progress.start, 1)
    meta |= {"wall_seconds": wall, "failures": failures, "regime": regime(rows)}
    if reference_models:
        meta["reference_models"] = reference_models
        write_lira_scores(lira, out)
    return write_results(out, meta, rows)


def write_lira_scores(lira: dict[str, LiRAResult], out: Path) -> None:
    """Every row's per-sample LiRA scores (``lira_scores.pt``) and their distributions (``lira_scores.png``)."""
    from lightning_unlearn.plots import plot_lira_scores

    scores = {key: {"forget": r.forget_scores, "unseen": r.unseen_scores} for key, r in lira.items()}
    atomic_torch_save(scores, out / "lira_scores.pt")
    plot_lira_scores(scores, out / "lira_scores.png")


def write_results(out: Path, meta: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Write ``results.json``, ``results.md`` and ``gap_vs_time.png`` in ``out``; print the tables."""
    summary = aggregate(rows)
    results = {"meta": meta, "rows": rows, "summary": summary}
    atomic_write_json(out / "results.json", results)
    atomic_write_text(out / "results.md", results_markdown(summary, meta))
    plot_gap_vs_time(summary, out / "gap_vs_time.png")
    print(results_markdown(summary, meta), flush=True)
    log.info(f"written: {out / 'results.json'}, {out / 'results.md'}, {out / 'gap_vs_time.png'}")
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
