"""Choose each method's recipe on your own data: sweep its knobs, pick by the gap on the validation set, write it.

A recipe tuned on one data set breaks on the next, so the choice is a command, not a table in a README:
``lightning-unlearn tune --config tune.yaml`` runs, for every method and forget scenario, each combination of
the values given for its knobs (at most ``max_configs``), on one seed, and picks the combination whose
Avg.Gap to the retrained model is lowest with the **validation set in place of the test set**
(:data:`~lightning_unlearn.metrics.gap.SELECTION_GAP_METRICS`; the data config needs a
``validation_fraction``). The test set is never read to choose anything. The chosen recipe of each method is
written as a config, ``<recipes_dir>/<scenario>/<method>.yaml``, headed by a comment that says why it was
chosen; a grid with ``methods_dir: <recipes_dir>`` then reports the chosen recipes on other seeds, with the
test set. Every run is cached with the grid's runs (same keys), so a tuning run and a grid share the original
and retrained models.

One retrained model is one draw: its validation figures carry its seed's noise, and a choice by the gap to it
partly copies that noise. With ``reference_models: K`` the gap is measured to the mean of K + 1 retrained
models instead (the retrained model and the retrain recipe with seeds 1..K, the grid's LiRA reference models,
shared with it through the cache), at the cost of K more retrainings per scenario.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from lightning_unlearn.console import log
from lightning_unlearn.grid import (
    Progress,
    Scenario,
    Workspace,
    content_key,
    prepare_references,
    prepare_scenario,
    prepare_workspace,
    retrained_rows,
    run_method,
    scenario_row,
)
from lightning_unlearn.io import atomic_write_json, atomic_write_text
from lightning_unlearn.metrics.gap import SELECTION_GAP_METRICS, avg_gap, mean_row
from lightning_unlearn.report import format_value
from lightning_unlearn.shipped import locate

#: What a tuning table shows: validation-set metrics only, so nothing invites a choice by the test set.
TUNING_KEYS = ("UA", "RA", "TA_val", "MIA_val", "avg_gap_val", "seconds", "RTE")


def set_dotted(config: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``config["a"]["b"]["c"] = value`` for ``dotted="a.b.c"``, creating the dicts on the way."""
    *parents, leaf = dotted.split(".")
    node = config
    for key in parents:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ValueError(f"cannot set {dotted!r}: {key!r} holds {child!r}, not a mapping")
        node = child
    node[leaf] = value


def candidates(space: Mapping[str, Sequence[Any]], max_configs: int) -> list[dict[str, Any]]:
    """Every combination of the knob values of ``space`` (dotted config key -> values), in a fixed order.

    Raises:
        ValueError: When a knob has no value or the combinations exceed ``max_configs``.
    """
    for knob, values in space.items():
        if not isinstance(values, list | tuple) or not values:
            raise ValueError(f"knob {knob!r} needs a non-empty list of values, got {values!r}")
    combos = [dict(zip(space, values, strict=True)) for values in itertools.product(*space.values())]
    if len(combos) > max_configs:
        raise ValueError(f"{len(combos)} combinations exceed max_configs={max_configs}: {space}")
    return combos or [{}]


def candidate_config(base_config: str, overrides: dict[str, Any], folder: Path) -> Path:
    """Write ``base_config`` with ``overrides`` applied as a YAML file named after the content, in ``folder``."""
    config = yaml.safe_load(Path(base_config).read_text()) or {}
    config = copy.deepcopy(config)
    for dotted, value in overrides.items():
        set_dotted(config, dotted, value)
    text = yaml.safe_dump(config, sort_keys=False)
    path = folder / f"{content_key(text)[:10]}" / Path(base_config).name  # file stem = method name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        atomic_write_text(path, text)
    return path


def _require_validation(scenario: Scenario) -> None:
    if "val" not in scenario.retrain.outputs:
        raise ValueError(
            "tuning needs a validation set: set the data config's validation_fraction (e.g. 0.1), so recipes are "
            "chosen without reading the test set"
        )


def selection_target(scenario: Scenario) -> dict[str, float]:
    """The validation figures the gap is measured to: the mean over the retrained model and the scenario's references.

    Without references, the retrained model's own figures.
    """
    return mean_row(retrained_rows(scenario), SELECTION_GAP_METRICS)


def tune_method(
    ws: Workspace,
    scenario: Scenario,
    base_config: str,
    space: Mapping[str, Sequence[Any]],
    seed: int,
    max_configs: int,
    progress: Progress,
) -> list[dict[str, Any]]:
    """Run every candidate of one method on one scenario; one row per candidate, with its overrides and score.

    The score is the validation gap to :func:`selection_target`: ``avg_gap_val`` (to the retrained model) when the
    scenario has no reference models, else ``avg_gap_val_mean`` (to the mean of all its retrained models).
    """
    target = selection_target(scenario) if scenario.references else None
    score_name = "avg_gap_val" if target is None else "avg_gap_val_mean"
    method = Path(base_config).stem
    folder = ws.cache / "tuning" / scenario.name / method
    rows = []
    for overrides in candidates(space, max_configs):
        config = candidate_config(base_config, overrides, folder)
        label = f"{scenario.name} {method} {overrides or 'as given'}"
        try:
            result, cached = run_method(ws, scenario, str(config), seed)
        except (FloatingPointError, ValueError, RuntimeError) as err:  # a diverging candidate loses, no more
            progress.step(label, f"FAILED: {err}")
            rows.append({"method": method, "overrides": overrides, "config": str(config), "error": str(err)})
            continue
        row = scenario_row(scenario, result, seed)
        row = {k: row[k] for k in TUNING_KEYS if k in row} | {"method": method, "scenario": scenario.name}
        if target is not None:
            row["avg_gap_val_mean"] = avg_gap(row, target, SELECTION_GAP_METRICS)
        row |= {"overrides": overrides, "config": str(config), "score": float(row[score_name])}
        progress.step(
            label, f"{'cached' if cached else f'{result.seconds:.1f} s'}, {score_name} {row['score']:.2f}", cached
        )
        rows.append(row)
    return rows


def write_recipe(best: dict[str, Any], tried: int, path: Path, retrained_models: int = 1) -> None:
    """The chosen candidate's config, headed by why it was chosen (``retrained_models``: how many the gap is to)."""
    text = Path(best["config"]).read_text()
    knobs = ", ".join(f"{k}={v}" for k, v in best["overrides"].items()) or "the base recipe"
    to = (
        f" to the mean of {retrained_models} retrained models ({best['score']:.2f}; to the retrained model alone "
        f"{best['avg_gap_val']:.2f})"
        if retrained_models > 1
        else f" ({best['score']:.2f})"
    )
    header = (
        f"# Chosen by lightning-unlearn tune: {knobs}; lowest Avg.Gap on the validation set{to} "
        f"of {tried} candidates on seed {best['seed']}, {best['RTE']:.1%} of retrain's time.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, header + text)


def tuning_markdown(rows: Sequence[dict[str, Any]], chosen: dict[tuple[str, str], dict[str, Any]]) -> str:
    """Every candidate's validation metrics, one table per scenario, the chosen ones marked."""
    lines = [
        "# Tuning",
        "",
        "Scores: Avg.Gap with the validation set in place of the test set (never the test set).",
        "",
    ]
    keys: tuple[str, ...] = TUNING_KEYS
    if any("avg_gap_val_mean" in r for r in rows):
        lines[-2] += " `avg_gap_val_mean`, the score: to the mean of the retrained models."
        keys = (*TUNING_KEYS[:5], "avg_gap_val_mean", *TUNING_KEYS[5:])
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        lines += [f"## {scenario}", "", "| method | knobs | " + " | ".join(keys) + " | chosen |"]
        lines.append("| --- | --- | " + " | ".join("---" for _ in keys) + " | --- |")
        for r in rows:
            if r["scenario"] != scenario:
                continue
            knobs = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in r["overrides"].items()) or "-"
            cells = " | ".join(format_value(r.get(k)) for k in keys)
            mark = "yes" if chosen.get((scenario, r["method"])) is r else ""
            lines.append(f"| {r['method']} | {knobs} | {cells} | {mark} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def choose(tried: list[dict[str, Any]], label: str) -> dict[str, Any] | None:
    """The candidate with the lowest score (the validation gap); ``None`` (and a warning) when every one failed."""
    scored = [r for r in tried if "score" in r and not math.isnan(r["score"])]
    if not scored:
        log.warning(f"{label}: every candidate failed; no recipe written")
        return None
    return min(scored, key=lambda r: r["score"])


def _tune_scenario(
    ws: Workspace,
    scenario: Scenario,
    methods_dir: str,
    search: Mapping[str, Mapping[str, Sequence[Any]]],
    seed: int,
    max_configs: int,
    recipes_dir: str,
    progress: Progress,
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    """Tune every method of ``search`` on one prepared scenario and write each method's choice; rows and choices."""
    rows: list[dict[str, Any]] = []
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    for method, space in search.items():
        base_config = str(Path(methods_dir) / f"{method}.yaml")
        tried = tune_method(ws, scenario, base_config, space, seed, max_configs, progress)
        for row in tried:
            row["seed"] = seed
        rows += tried
        best = choose(tried, f"{scenario.name} {method}")
        if best is not None:
            chosen[(scenario.name, method)] = best
            path = Path(recipes_dir) / scenario.name / f"{method}.yaml"
            write_recipe(best, len(tried), path, 1 + len(scenario.references))
    return rows, chosen


def run_tuning(
    name: str,
    data: str,
    original: str,
    retrain: str,
    scenarios: dict[str, dict[str, Any]],
    methods_dir: str,
    search: dict[str, dict[str, list[Any]]],
    recipes_dir: str,
    seed: int = 0,
    max_configs: int = 8,
    out_dir: str = "runs/bench",
    trainer: str | None = None,
    reference_models: int = 0,
) -> dict[str, Any]:
    """Sweep every method's knobs on every scenario, choose by the validation gap, write the chosen recipes.

    Args:
        name: Name of the tuning run; its table goes to ``<out_dir>/<name>/tuning.{json,md}``.
        data: YAML config of the ``data`` section; it must set ``validation_fraction``.
        original: YAML config of the original model.
        retrain: YAML config of the retrained model.
        scenarios: Scenario name -> forget specification.
        methods_dir: Folder of the methods' base configs (``<method>.yaml``).
        search: Method name -> {dotted config key -> list of values}, e.g.
            ``{"finetune": {"model.init_args.lr": [0.01, 0.05], "trainer.max_epochs": [1, 2]}}``; every
            combination is a candidate; an empty mapping runs the base config as it is.
        recipes_dir: Where the chosen recipes are written, one folder per scenario.
        seed: Seed of every tuning run (report the chosen recipes on other seeds).
        max_configs: Most candidates a method may have (the same search budget for every method).
        out_dir: Parent folder of the results and of the run cache shared with grids.
        trainer: Optional YAML config applied to every run.
        reference_models: ``K > 0``: score by the gap to the mean of ``K + 1`` retrained models (the retrained model
            and the retrain recipe with seeds 1..K, shared through the cache with a grid's ``reference_models``), a
            less noisy target for K more retrainings per scenario. 0 (default): to the retrained model alone.

    Returns:
        ``{"meta", "rows", "chosen"}``, as written to ``tuning.json``.
    """
    if reference_models < 0:
        raise ValueError(f"reference_models must be 0 or more, got {reference_models}")
    data, original, retrain, methods_dir = (locate(p) for p in (data, original, retrain, methods_dir))
    trainer = locate(trainer) if trainer else None
    total = sum(len(candidates(space, max_configs)) for space in search.values()) * len(scenarios)
    progress = Progress(1 + len(scenarios) * (1 + reference_models) + total)
    ws = prepare_workspace(data, original, next(iter(scenarios.values())), out_dir, trainer, progress)
    rows: list[dict[str, Any]] = []
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    for scenario_name, spec in scenarios.items():
        scenario = prepare_scenario(ws, scenario_name, spec, retrain, progress)
        _require_validation(scenario)
        prepare_references(ws, scenario, retrain, reference_models, progress)
        tuned = _tune_scenario(ws, scenario, methods_dir, search, seed, max_configs, recipes_dir, progress)
        rows += tuned[0]
        chosen |= tuned[1]
    meta = {"name": name, "seed": seed, "max_configs": max_configs, "selection": list(SELECTION_GAP_METRICS)}
    meta |= {"reference_models": reference_models} if reference_models else {}
    results = write_tuning(Path(out_dir) / name, meta, rows, chosen)
    log.info(f"recipes: {recipes_dir}/<scenario>/<method>.yaml; table: {Path(out_dir) / name / 'tuning.md'}")
    return results


def write_tuning(
    out: Path, meta: dict[str, Any], rows: list[dict[str, Any]], chosen: dict[tuple[str, str], dict[str, Any]]
) -> dict[str, Any]:
    """Write ``tuning.json`` and ``tuning.md`` in ``out`` and print the table; returns what ``tuning.json`` holds."""
    out.mkdir(parents=True, exist_ok=True)
    picked = [{"scenario": s, "method": m, **r} for (s, m), r in chosen.items()]
    results = {"meta": meta, "rows": rows, "chosen": picked}
    atomic_write_json(out / "tuning.json", results)
    text = tuning_markdown(rows, chosen)
    atomic_write_text(out / "tuning.md", text)
    print(text, flush=True)
    return results
