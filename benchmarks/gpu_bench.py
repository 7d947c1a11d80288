"""The GPU benchmark in one command, inside a time budget, with no network: CIFAR-10, ResNet-18, one seed.

    python benchmarks/gpu_bench.py [--config configs/bench/cifar10_gpu/bench.yaml] [--size full|tiny]
        [--download | --archive PATH] [--budget SECONDS]

Stages, each printed with its seconds and the elapsed time: the environment (versions; refuses to start
without ``jsonargparse[signatures]`` or, at full size, without a CUDA device), the data (decoded once, shared by
every run of the process), the Lightning/plain-PyTorch throughput check (``throughput.py``'s GPU preset:
ResNet-18, bf16 mixed precision, channels-last, data on the GPU; the ratio printed), the original model, one
retrained model and the original's score per scenario, then the methods of ``bench.yaml`` in order, each on
every scenario, through the same cached runs as ``lightning-unlearn grid``. Before each method run a time guard
checks that it fits in what is left of ``budget_seconds`` (counted from this script's start, imports included);
the first that does not is skipped with every later one, and the results list them. Writes
``<results>.{md,json,png}`` (``docs/results/cifar10_gpu`` at full size) and prints the tables.

``--size tiny`` (or ``BENCH_SIZE=tiny``) is the rehearsal: the same command on the CPU, a few hundred images,
one epoch, the first two methods, results under ``runs/bench_rehearsal/``.
"""

from __future__ import annotations

import time

START = time.perf_counter()  # before the heavy imports: the budget counts them

import argparse  # noqa: E402
import copy  # noqa: E402
import functools  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import yaml  # noqa: E402

SIZES = ("full", "tiny")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchmarks beside this script
from export_results import EXTRA, KEYS  # noqa: E402

#: Report keys kept per run in the JSON file: export_results.py's, with the epochs and the monitor's cost.
ROW_KEYS = (*KEYS, *EXTRA, "epochs", "eval_overhead")
THROUGHPUT_GOAL = 0.9


def now() -> float:
    """The benchmark's clock, in seconds (``time.perf_counter``)."""
    return time.perf_counter()


# ------------------------------------------------------------------------------------------------ time and stages
@dataclass
class Clock:
    """Wall time since the script started, against a budget.

    Attributes:
        budget: Seconds the whole benchmark may take.
        reserve: Seconds kept back for writing the results.
        start: :func:`now` at the start (default: when this script started).
    """

    budget: float
    reserve: float = 15.0
    start: float = field(default_factory=lambda: START)

    def elapsed(self) -> float:
        """Seconds since the start."""
        return now() - self.start

    def fits(self, estimate: float) -> bool:
        """Whether a run of ``estimate`` seconds ends before the budget less the reserve."""
        return self.elapsed() + estimate <= self.budget - self.reserve


@dataclass
class Stages:
    """Seconds of each stage, printed as each ends."""

    clock: Clock
    records: list[dict[str, Any]] = field(default_factory=list)

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run one stage, print and record its seconds."""
        began = now()
        result = fn()
        self.add(name, now() - began)
        return result

    def add(self, name: str, seconds: float) -> None:
        """Record a stage that took ``seconds``."""
        elapsed = self.clock.elapsed()
        self.records.append({"stage": name, "seconds": round(seconds, 2), "elapsed": round(elapsed, 1)})
        print(f"[stage] {name}: {seconds:.1f} s (elapsed {elapsed:.0f} s of {self.clock.budget:.0f} s)", flush=True)


def estimate_seconds(durations: dict[str, list[float]], method: str, first: float) -> float:
    """What the next run of ``method`` is assumed to take, for the time guard.

    Its own longest run when it ran already (on another scenario); else 1.5 times the median of every method run
    so far; else ``first``.
    """
    if durations.get(method):
        return max(durations[method])
    seen = [d for runs in durations.values() for d in runs]
    return 1.5 * statistics.median(seen) if seen else first


# ------------------------------------------------------------------------------------------------ configuration
@dataclass
class Plan:
    """What one benchmark run does: the configs of every stage and the budget.

    Attributes:
        name: Results name.
        size: ``"full"`` or ``"tiny"``.
        data: Data config (source, forget defaults, trainer).
        original: Original model's config.
        retrain: Retrained model's config.
        scenarios: Scenario name -> forget specification.
        methods: Method configs per scenario, in the order they run.
        seed: Seed of the unlearning runs.
        out_dir: Run cache (shared with ``lightning-unlearn grid``).
        results: Path stem of the ``.md``, ``.json`` and ``.png`` results.
        budget: Seconds the whole benchmark may take.
        reserve: Seconds kept for writing the results.
        first_method: Seconds a method is assumed to take before any has run.
        throughput: Batch, steps, warmup, repeats (and precision, default bf16-mixed) of the throughput check.
    """

    name: str
    size: str
    data: str
    original: str
    retrain: str
    scenarios: dict[str, dict[str, Any]]
    methods: dict[str, list[str]]
    seed: int
    out_dir: str
    results: str
    budget: float
    reserve: float
    first_method: float
    throughput: dict[str, Any]

    @property
    def method_names(self) -> list[str]:
        """The methods, in the order they run."""
        first = next(iter(self.methods.values()))
        return [Path(c).stem for c in first]


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` merged in, recursively for nested mappings (neither is modified)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def write_config(config: dict[str, Any], source: str, dest: Path) -> str:
    """Write ``config`` (made from the file ``source``) as YAML to ``dest``; returns ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(f"# Derived from {source} by benchmarks/gpu_bench.py\n" + yaml.safe_dump(config, sort_keys=False))
    return str(dest)


def derive_config(source: str, changes: dict[str, Any], dest: Path) -> str:
    """Write ``source``'s YAML with ``changes`` merged in (:func:`deep_merge`) to ``dest``; returns ``dest``."""
    return write_config(deep_merge(yaml.safe_load(Path(source).read_text()) or {}, changes), source, dest)


def make_plan(
    config: str, size: str, download: bool = False, archive: str | None = None, budget: float | None = None
) -> Plan:
    """Read ``bench.yaml`` and write the configs that differ from the shipped ones (tiny size, another archive).

    At full size with the shipped data the shipped configs are used as they are, so the runs share the cache
    (keyed by config content) with ``lightning-unlearn grid`` on the same configs.

    Raises:
        ValueError: For an unknown size, or both ``download`` and ``archive``.
    """
    from lightning_unlearn.grid import scenario_methods

    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    if download and archive:
        raise ValueError("--download and --archive exclude each other")
    spec = yaml.safe_load(Path(config).read_text())
    tiny: dict[str, Any] = spec["tiny"] if size == "tiny" else {}
    out_dir = tiny.get("out_dir", spec["out_dir"])
    derived = Path(out_dir) / "configs"
    data = spec.get("data_download", str(Path(spec["data"]).with_name("data.yaml"))) if download else spec["data"]
    original, retrain = spec["original"], spec["retrain"]
    names = list(spec["methods"])[: int(tiny["methods"])] if tiny else list(spec["methods"])
    methods_dir = spec.get("methods_dir", "configs/methods")
    methods = {s: scenario_methods(names, methods_dir, s) for s in spec["scenarios"]}
    if archive or tiny:
        cfg = yaml.safe_load(Path(data).read_text())
        if archive:
            cfg["data"]["source"]["init_args"]["path"] = archive
        if tiny:
            cfg["data"]["source"] = {
                "class_path": "lightning_unlearn.data.PerClassSubset",
                "init_args": {
                    "source": cfg["data"]["source"],
                    "train_per_class": tiny["train_per_class"],
                    "test_per_class": tiny["test_per_class"],
                },
            }
            cfg = deep_merge(
                cfg,
                {
                    "data": {"batch_size": tiny["batch_size"], "eval_retain_size": tiny["eval_retain_size"]},
                    "trainer": {"accelerator": "cpu", "precision": tiny.get("precision", "32-true")},
                    "forgetting_metrics": {"monitor_size": tiny["monitor_size"]},
                },
            )
        data = write_config(cfg, data, derived / "data.yaml")
    if tiny:
        stage = {"trainer": {"max_epochs": tiny["epochs"]}, "data": {"batch_size": tiny["batch_size"]}}
        original = derive_config(original, stage, derived / "original.yaml")
        retrain = derive_config(retrain, stage, derived / "retrain.yaml")
        methods = {s: [derive_config(c, stage, derived / s / Path(c).name) for c in cs] for s, cs in methods.items()}
    return Plan(
        name=spec["name"] + ("_tiny" if tiny else ""),
        size=size,
        data=data,
        original=original,
        retrain=retrain,
        scenarios=dict(spec["scenarios"]),
        methods=methods,
        seed=int(spec.get("seeds", [0])[0]),
        out_dir=out_dir,
        results=tiny.get("results", spec["results"]),
        budget=float(budget if budget is not None else tiny.get("budget_seconds", spec.get("budget_seconds", 480))),
        reserve=float(spec.get("reserve_seconds", 15)),
        first_method=float(spec.get("first_method_seconds", 25)),
        throughput=dict(tiny.get("throughput", spec["throughput"])),
    )


def instantiate(spec: Any) -> Any:
    """Build the object a ``{class_path, init_args}`` mapping names, nested ones first; other values as they are."""
    if isinstance(spec, dict) and "class_path" in spec:
        module_name, _, name = spec["class_path"].rpartition(".")
        cls = getattr(importlib.import_module(module_name), name)
        return cls(**{k: instantiate(v) for k, v in (spec.get("init_args") or {}).items()})
    if isinstance(spec, list):
        return [instantiate(v) for v in spec]
    return spec


def data_source(data_config: str) -> Any:
    """The data source of a data config."""
    return instantiate((yaml.safe_load(Path(data_config).read_text()) or {})["data"]["source"])


# ------------------------------------------------------------------------------------------------ environment
def versions() -> dict[str, str]:
    """Python's and the packages' versions; absent packages as ``"missing"``."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("torch", "lightning", "torchmetrics", "torchvision", "scikit-learn", "numpy", "jsonargparse"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "missing"
    return found


def check_environment(size: str) -> tuple[str, str]:
    """The accelerator to run on and the device's name.

    Raises:
        SystemExit: Without ``jsonargparse[signatures]`` (the CLI needs it), or at full size without CUDA.
    """
    import torch
    from lightning.pytorch.cli import _JSONARGPARSE_SIGNATURES_AVAILABLE

    if not _JSONARGPARSE_SIGNATURES_AVAILABLE:
        raise SystemExit(
            f"error: {_JSONARGPARSE_SIGNATURES_AVAILABLE}. Without network, install the wheels that "
            "`make gpu-carry` put in .gpu/wheels: python3 -m pip install --no-index --no-deps --target /tmp/site "
            ".gpu/wheels/*.whl && export PYTHONPATH=/tmp/site"
        )
    if torch.cuda.is_available():
        return "gpu", torch.cuda.get_device_name(0)
    if size == "full":
        raise SystemExit("error: no CUDA device; the full benchmark needs a GPU (--size tiny rehearses it on the CPU)")
    return "cpu", platform.processor() or platform.machine()


# ------------------------------------------------------------------------------------------------ the benchmark
def throughput_check(plan: Plan, source: Any, accelerator: str) -> dict[str, Any]:
    """Lightning against plain PyTorch on ``throughput.py``'s GPU setup (on the CPU for the rehearsal)."""
    from dataclasses import replace

    import throughput

    setup = throughput.gpu_setup(source, batch=plan.throughput["batch"])
    setup = replace(setup, accelerator=accelerator, precision=plan.throughput.get("precision", setup.precision))
    results = throughput.compare(
        setup,
        steps=plan.throughput["steps"],
        warmup=plan.throughput["warmup"],
        repeats=plan.throughput["repeats"],
        original=str(Path(plan.out_dir) / "throughput_original.ckpt"),
    )
    print(throughput.table(results), flush=True)
    print(throughput.ratio_line(results), flush=True)
    return {"setup": {k: v for k, v in vars(setup).items() if k != "source"}, **plan.throughput, **results}


@dataclass
class Progressive:
    """What the benchmark has so far, written after every stage so that a run killed at its limit leaves its rows.

    Attributes:
        plan: The benchmark's plan.
        device: The device's name.
        stages: The stage timer (its clock is the budget's).
        throughput: The throughput check's results.
        original_seconds: The original model's training time.
        retrain_estimate: Seconds the next retraining stage is assumed to take: the original's stage, then the
            last retraining stage (a stage is more than training: on the H200 the original trained for 58.8 s
            in a 73.6 s stage, and a retraining stage took 93.6 s).
        rows: Report rows so far (retrained models, the original scored, methods).
        skipped: Runs skipped for time, with why.
        failures: Runs that failed, with the error.
        histories: Per run, the metric callbacks' per-epoch accuracies (how training went, for a row that looks
            wrong: the results of a finished GPU run are all a later session has of it).
    """

    plan: Plan
    device: str
    stages: Stages
    throughput: dict[str, Any]
    original_seconds: float = 0.0
    retrain_estimate: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    histories: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: dict[str, Any], result: Any) -> None:
        """Keep a run's report row and its per-epoch history."""
        self.rows.append(row)
        self.histories.append({"scenario": row["scenario"], "method": row["method"], "history": list(result.history)})

    def meta(self) -> dict[str, Any]:
        """The results' ``meta`` block as it stands."""
        from lightning_unlearn.grid import machine_description, regime

        return {
            "name": self.plan.name,
            "size": self.plan.size,
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine_description(),
            "device": self.device,
            "versions": versions(),
            "data": self.plan.data,
            "seed": self.plan.seed,
            "scenarios": self.plan.scenarios,
            "methods": self.plan.method_names,
            "budget_seconds": self.plan.budget,
            "original_seconds": self.original_seconds,
            "failures": self.failures,
            "skipped": self.skipped,
            "regime": regime(self.rows),
        }

    def write(self, final: bool = False) -> dict[str, Any]:
        """Write the results so far; ``final`` adds the plot and prints the tables."""
        return write_results(
            self.plan, self.meta(), self.rows, self.throughput, self.stages, final=final, histories=self.histories
        )

    def skip(self, method: str, scenario: str, reason: str, progress: Any) -> None:
        """Record a run skipped for time."""
        self.skipped.append({"method": method, "scenario": scenario, "reason": reason})
        progress.step(f"{scenario} {method}", f"SKIPPED ({reason})")


def budget_reason(clock: Clock, estimate: float, budget: float, reserve: float) -> str:
    """Why a run of ``estimate`` seconds was skipped."""
    elapsed = clock.elapsed()
    return (
        f"time budget: elapsed {elapsed:.0f} s + estimate {estimate:.0f} s > {budget:.0f} s - {reserve:.0f} s reserve"
    )


def prepare_scenarios(state: Progressive, ws: Any, progress: Any) -> dict[str, Any]:
    """Retrain and score the original per scenario; a scenario whose retraining would not fit is skipped.

    The first retraining stage is assumed to take as long as the original's stage (the same epochs on 90 % of
    the data), every later one as long as the one before.
    """
    from lightning_unlearn.grid import prepare_scenario, scenario_row, score_original

    plan, stages, clock = state.plan, state.stages, state.stages.clock
    scenarios = {}
    for name, spec in plan.scenarios.items():
        if not clock.fits(state.retrain_estimate):
            reason = budget_reason(clock, state.retrain_estimate, plan.budget, plan.reserve)
            for method in ("retrain", *plan.method_names):
                state.skip(method, name, reason, progress)
            continue
        scenario = stages.run(
            f"{name} retrain", functools.partial(prepare_scenario, ws, name, spec, plan.retrain, progress)
        )
        scenarios[name] = scenario
        state.retrain_estimate = stages.records[-1]["seconds"]
        state.add(scenario_row(scenario, scenario.retrain, 0), scenario.retrain)
        scored = stages.run(f"{name} original scored", functools.partial(score_original, ws, scenario, progress))
        state.add(scenario_row(scenario, scored, 0), scored)
        state.write()
    return scenarios


def run_methods(state: Progressive, ws: Any, scenarios: dict[str, Any], progress: Any) -> None:
    """Every method on every prepared scenario, in the plan's order, inside the time budget."""
    from lightning_unlearn.grid import run_method, scenario_row

    plan, clock = state.plan, state.stages.clock
    durations: dict[str, list[float]] = {}
    stopped = False  # once one run is skipped for time, every later one is (a skipped scenario does not count)
    by_method = [(m, s) for m in range(len(plan.method_names)) for s in scenarios]
    for index, scenario_name in by_method:
        config = plan.methods[scenario_name][index]
        method = Path(config).stem
        estimate = estimate_seconds(durations, method, plan.first_method)
        if stopped or not clock.fits(estimate):
            reason = "after an earlier skip" if stopped else budget_reason(clock, estimate, plan.budget, plan.reserve)
            state.skip(method, scenario_name, reason, progress)
            stopped = True
            continue
        began = now()
        try:
            result, cached = run_method(ws, scenarios[scenario_name], config, plan.seed)
        except (FloatingPointError, ValueError, RuntimeError) as err:  # one failed cell, not a failed benchmark
            state.failures.append({"method": method, "scenario": scenario_name, "error": str(err)})
            progress.step(f"{scenario_name} {method}", f"FAILED: {err}")
            continue
        finally:
            seconds = now() - began
            durations.setdefault(method, []).append(seconds)
            state.stages.add(f"{scenario_name} {method}", seconds)
        progress.ran(f"{scenario_name} {method}", result, cached)
        state.add(scenario_row(scenarios[scenario_name], result, plan.seed), result)
        state.write()


def run_benchmark(plan: Plan, accelerator: str, device: str) -> dict[str, Any]:
    """Every stage of the benchmark; writes the results after each stage and returns the final ones."""
    from lightning_unlearn.grid import Progress, prepare_workspace

    stages = Stages(Clock(plan.budget, plan.reserve))
    stages.add("start-up (imports, environment)", stages.clock.elapsed())
    source = data_source(plan.data)
    data = stages.run("data (decode once)", source.load)
    print(f"        {len(data.train)} training and {len(data.test)} test images", flush=True)
    tp = stages.run("throughput: Lightning vs plain PyTorch", lambda: throughput_check(plan, source, accelerator))
    state = Progressive(plan, device, stages, tp)

    progress = Progress(1 + sum(2 + len(c) for c in plan.methods.values()))
    first_spec = next(iter(plan.scenarios.values()))
    ws = stages.run(
        "original", lambda: prepare_workspace(plan.data, plan.original, first_spec, plan.out_dir, None, progress)
    )
    state.original_seconds = ws.original.seconds
    state.retrain_estimate = stages.records[-1]["seconds"]
    state.write()
    scenarios = prepare_scenarios(state, ws, progress)
    run_methods(state, ws, scenarios, progress)
    began = now()
    results = state.write(final=True)
    print(f"[stage] results written: {now() - began:.1f} s; wall {stages.clock.elapsed():.0f} s", flush=True)
    return results


def results_markdown(meta: dict[str, Any], summary: list[dict[str, Any]], tp: dict[str, Any], stages: Stages) -> str:
    """The results file: throughput, stage times, what was skipped, then the grid's tables."""
    import throughput

    from lightning_unlearn.grid import results_markdown as grid_tables

    lines = [
        f"# GPU benchmark: {meta['name']} ({meta['size']} size)",
        "",
        f"`make bench-gpu` (benchmarks/gpu_bench.py, configs/bench/cifar10_gpu/bench.yaml) on {meta['device']}, "
        f"{meta['date']}: wall {meta['wall_seconds']:.0f} s of a {meta['budget_seconds']:.0f} s budget "
        f"(from the script's start, imports included)."
        + ("" if meta["complete"] else " **Incomplete: written after the last finished stage; the run went on.**"),
        "",
        "## Lightning against plain PyTorch",
        "",
        f"ResNet-18 (CIFAR stem), {tp['setup']['precision']}, channels-last, data on the device, {tp['batch']}-image "
        f"steps, {tp['steps']} timed steps after {tp['warmup']}, {tp['repeats']} alternating repeats, medians; "
        f"goal: ratio >= {THROUGHPUT_GOAL}.",
        "",
        throughput.table({k: tp[k] for k in throughput.WORKLOADS}),
        "",
        "## Stages",
        "",
        "| stage | seconds | elapsed |",
        "| --- | --- | --- |",
        *(f"| {r['stage']} | {r['seconds']:.1f} | {r['elapsed']:.0f} |" for r in stages.records),
        "",
    ]
    if meta["skipped"]:
        lines += ["## Skipped for time", ""]
        lines += [f"- {s['scenario']} {s['method']}: {s['reason']}" for s in meta["skipped"]]
        lines.append("")
    if meta["failures"]:
        lines += ["## Failed", ""]
        lines += [f"- {f['scenario']} {f['method']}: {f['error']}" for f in meta["failures"]]
        lines.append("")
    grid_meta = {
        k: v for k, v in meta.items() if k in ("name", "date", "machine", "seed", "original_seconds", "regime")
    }
    return "\n".join(lines) + "\n" + grid_tables(summary, grid_meta)


def write_results(
    plan: Plan,
    meta: dict[str, Any],
    rows: list[dict[str, Any]],
    tp: dict[str, Any],
    stages: Stages,
    final: bool = True,
    histories: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write ``<results>.md`` and ``.json``; when ``final``, also the ``.png`` and print the Markdown.

    Before the end the Markdown says that the run is still going (a run killed at its limit leaves it so).
    """
    from lightning_unlearn.grid import aggregate, plot_gap_vs_time
    from lightning_unlearn.io import atomic_write_json, atomic_write_text

    summary = aggregate(rows)
    meta = {**meta, "wall_seconds": round(stages.clock.elapsed(), 1), "complete": final}
    stem = Path(plan.results)
    stem.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "meta": meta,
        "throughput": tp,
        "stages": stages.records,
        "summary": summary,
        "rows": [{k: row[k] for k in ROW_KEYS if k in row} for row in rows],
        "histories": histories or [],
    }
    markdown = results_markdown(meta, summary, tp, stages)
    atomic_write_json(stem.with_suffix(".json"), payload)
    atomic_write_text(stem.with_suffix(".md"), markdown)
    if not final:
        return payload
    if summary:  # nothing to plot when no scenario fitted in the budget
        plot_gap_vs_time(summary, stem.with_suffix(".png"))
    print(markdown, flush=True)
    print(f"written: {stem}.md, {stem}.json, {stem}.png", flush=True)
    return payload


def quiet() -> None:
    """Keep the log to the stages and the tables: Lightning's banners repeat for every run."""
    warnings.filterwarnings("ignore")
    for name in ("lightning.pytorch", "lightning.fabric", "lightning_unlearn"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the arguments, check the environment, run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/bench/cifar10_gpu/bench.yaml")
    parser.add_argument("--size", choices=SIZES, default=os.environ.get("BENCH_SIZE", "full"))
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--download", action="store_true", help="CIFAR-10 through torchvision (needs the network)")
    source.add_argument("--archive", default=None, help="another JPEG archive than the config's")
    parser.add_argument("--budget", type=float, default=None, help="seconds (default: the config's budget_seconds)")
    args = parser.parse_args(argv)
    quiet()
    print(f"[bench] {args.size} size; versions: {json.dumps(versions())}", flush=True)
    accelerator, device = check_environment(args.size)
    print(f"[bench] accelerator: {accelerator} ({device})", flush=True)
    if accelerator == "gpu":
        import torch

        torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest convolutions once
        torch.set_float32_matmul_precision("high")
    plan = make_plan(args.config, args.size, args.download, args.archive, args.budget)
    return run_benchmark(plan, accelerator, device)


if __name__ == "__main__":
    main()
