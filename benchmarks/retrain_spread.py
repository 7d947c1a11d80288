"""How far exact retraining lands from the retrained model a grid scores against: the Avg.Gap's noise floor.

    python benchmarks/retrain_spread.py configs/bench/cifar10_mem/grid.yaml \
        --results docs/results/cifar10_mem.json --out docs/results/cifar10_mem_retrain_spread.json

(``--results`` is optional; ``make tune-mem`` runs it without, for the target that
``benchmarks/choose_recipes.py`` chooses the recipes by.)

A grid scores every method against one retrained model. Its reference models (the retrain recipe with seeds
1..K, trained for the per-sample LiRA attack; read from the grid's cache, trained if missing) are exact
unlearners too. This script reports, per scenario:

* **the floor**: each reference scored against the retrained model like any method (UA, RA, TA, MIA, Avg.Gap,
  and the validation-set versions that tuning reads), mean and standard deviation over the references: the
  Avg.Gap that retraining itself scores. A gap below it cannot be told from retraining;
* **the retrained model against the others**: each of its figures, the references' mean and standard deviation,
  and how many standard deviations apart: whether the one model every gap is measured to is a typical draw;
* **the mean of all retrained models** (the retrained model and the references), figure by figure, and the
  floor of that target (each retrained model against the mean of the others, left out in turn);
* **retraining's own time**: the seconds of each retrained model (the same recipe and data, other seeds), so a
  method's share of retraining's time can be read against how much retraining's time itself varies;
* with ``--results``, **the grid's rows rescored** against that mean, next to their Avg.Gap to the one
  retrained model, with their seconds as a share of the retrained models' mean seconds.

It changes no result of the grid. The mean's validation figures are what ``benchmarks/choose_recipes.py``
chooses the benchmark's recipes by (never the test set's). Writes the tables as JSON and Markdown.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from lightning_unlearn import grid
from lightning_unlearn.metrics.gap import GAP_METRICS, SELECTION_GAP_METRICS, avg_gap
from lightning_unlearn.shipped import locate

#: The figures reported for each retrained model: the gap's metrics on the test and on the validation set.
FIGURES = tuple(dict.fromkeys((*GAP_METRICS, *SELECTION_GAP_METRICS)))


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def floor(retrain: Mapping[str, float], references: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Each reference's figures and Avg.Gaps to the retrained model: mean and standard deviation over references.

    Args:
        retrain: The retrained model's row (``UA``, ``RA``, ``TA``, ``MIA``, and ``TA_val``, ``MIA_val``).
        references: The reference models' rows (the same keys).
    """
    out = {k: _mean_std([float(r[k]) for r in references]) for k in FIGURES}
    out["avg_gap"] = _mean_std([avg_gap(r, retrain, GAP_METRICS) for r in references])
    out["avg_gap_val"] = _mean_std([avg_gap(r, retrain, SELECTION_GAP_METRICS) for r in references])
    return out


def typicality(retrain: Mapping[str, float], references: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per figure: the retrained model's value, the references' mean and std, and the distance in stds."""
    out = {}
    for k in FIGURES:
        spread = _mean_std([float(r[k]) for r in references])
        difference = float(retrain[k]) - spread["mean"]
        # without spread, any difference is infinitely many standard deviations
        z = (
            difference / spread["std"]
            if spread["std"] > 0
            else math.copysign(math.inf, difference)
            if difference
            else 0.0
        )
        out[k] = {"retrain": float(retrain[k]), **spread, "z": z}
    return out


def ensemble_target(models: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The mean of every figure over retrained models (the retrained model and its references).

    Exactly summed (:func:`statistics.fmean`), as when the committed recipes were chosen; ``metrics.mean_row``, which
    ``lightning-unlearn tune`` uses, sums plainly and can differ from it in the last digit.
    """
    return {k: statistics.fmean(float(m[k]) for m in models) for k in FIGURES}


def leave_one_out_floor(models: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Each retrained model's Avg.Gaps to the mean of the others: the floor of the ensemble target."""
    gaps, gaps_val = [], []
    for i, model in enumerate(models):
        target = ensemble_target([m for j, m in enumerate(models) if j != i])
        gaps.append(avg_gap(model, target, GAP_METRICS))
        gaps_val.append(avg_gap(model, target, SELECTION_GAP_METRICS))
    return {"avg_gap": _mean_std(gaps), "avg_gap_val": _mean_std(gaps_val)}


def retrain_time(models: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """How long retraining takes, over retrained models of one recipe and data (other seeds).

    Args:
        models: The retrained models' rows (``seconds``), the retrained model first.

    Returns:
        ``retrained_model`` (its seconds) and ``mean``, ``std``, ``min``, ``max`` over all ``models``.
    """
    seconds = [float(m["seconds"]) for m in models]
    return {"retrained_model": seconds[0], **_mean_std(seconds), "min": min(seconds), "max": max(seconds)}


def rescore(
    rows: Sequence[Mapping[str, Any]], target: Mapping[str, float], retrain_seconds: float | None = None
) -> list[dict[str, Any]]:
    """Per method: Avg.Gap to the one retrained model (as the grid scored it) and to ``target``, over its seeds.

    Args:
        rows: The grid's rows (``method``, the gap's figures, ``avg_gap``, ``seconds``), one per method and seed.
        target: The figures to measure the gap to (:func:`ensemble_target`).
        retrain_seconds: The retrained models' mean seconds; with it, each entry also has the method's mean
            ``seconds`` and their share of it (``time_share``).

    Returns:
        One entry per method: ``seeds``, ``avg_gap``, ``avg_gap_ensemble`` (each with ``_std``), their ranks
        (``rank_retrain``, ``rank_ensemble``) and, with ``retrain_seconds``, ``seconds`` and ``time_share``.
    """
    methods: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        methods.setdefault(str(row["method"]), []).append(row)
    out = []
    for method, members in methods.items():
        entry: dict[str, Any] = {"method": method, "seeds": len(members)}
        for name, values in (
            ("avg_gap", [float(m["avg_gap"]) for m in members]),
            ("avg_gap_ensemble", [avg_gap(m, target, GAP_METRICS) for m in members]),
        ):
            spread = _mean_std(values)
            entry[name], entry[f"{name}_std"] = spread["mean"], spread["std"]
        if retrain_seconds:
            entry["seconds"] = statistics.fmean(float(m["seconds"]) for m in members)
            entry["time_share"] = entry["seconds"] / retrain_seconds
        out.append(entry)
    for key in ("avg_gap", "avg_gap_ensemble"):
        for rank, entry in enumerate(sorted(out, key=lambda e: e[key]), start=1):
            entry[f"rank_{key.removeprefix('avg_gap').lstrip('_') or 'retrain'}"] = rank
    return out


def scenario_models(config: dict[str, Any], references: int) -> dict[str, dict[str, Any]]:
    """Per scenario: the retrained model's row and each reference's, scored like any method (cached runs)."""
    data, original, retrain = (locate(config[k]) for k in ("data", "original", "retrain"))
    scenarios = config["scenarios"]
    progress = grid.Progress(1 + sum(1 + references for _ in scenarios))
    workspace = grid.prepare_workspace(
        data, original, next(iter(scenarios.values())), config.get("out_dir", "runs/bench"), None, progress
    )
    found = {}
    for name, spec in scenarios.items():
        scenario = grid.prepare_scenario(workspace, name, spec, retrain, progress)
        grid.prepare_references(workspace, scenario, retrain, references, progress)
        retrain_row, *refs = grid.retrained_rows(scenario)
        found[name] = {"retrain": retrain_row, "references": refs}
    return found


def study(found: Mapping[str, Mapping[str, Any]], results: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Per scenario: the floor, the typicality, the ensemble target and its floor, retraining's time, the rows.

    Args:
        found: Per scenario, the retrained model's row and its references' (:func:`scenario_models`).
        results: The grid's rows to rescore against the ensemble target (none: no ``rows``).
    """
    out: dict[str, Any] = {}
    for scenario, parts in found.items():
        retrain, refs = parts["retrain"], parts["references"]
        models = [retrain, *refs]
        target = ensemble_target(models)
        rows = [r for r in results if r["scenario"] == scenario and r["method"] != "retrain"]
        out[scenario] = {
            "references": len(refs),
            "retrained_models": [
                {"method": m.get("method", ""), **{k: float(m[k]) for k in (*FIGURES, "seconds")}} for m in models
            ],
            "floor": floor(retrain, refs),
            "retrain_vs_references": typicality(retrain, refs),
            "ensemble_target": target,
            "ensemble_floor": leave_one_out_floor(models),
            "retrain_seconds": (time := retrain_time(models)),
            "rows": rescore(rows, target, time["mean"]),
        }
    return out


def markdown(tables: Mapping[str, Any]) -> str:
    """The study as Markdown tables, one block per scenario."""
    lines: list[str] = []
    for scenario, t in tables.items():
        n = t["references"]
        f, z = t["floor"], t["retrain_vs_references"]
        lines += [
            f"## {scenario}",
            "",
            f"Exact retraining with {n} other seeds, scored against the retrained model:",
            "",
        ]
        lines += ["| figure | retrained model | other seeds: mean ± std | retrained model's distance (stds) |"]
        lines += ["| --- | --- | --- | --- |"]
        for k in FIGURES:
            lines.append(f"| {k} | {z[k]['retrain']:.2f} | {f[k]['mean']:.2f} ± {f[k]['std']:.2f} | {z[k]['z']:+.1f} |")
        for k in ("avg_gap", "avg_gap_val"):
            lines.append(f"| {k} (the floor) | 0.00 | {f[k]['mean']:.2f} ± {f[k]['std']:.2f} | |")
        e = t["ensemble_floor"]
        lines += [
            "",
            f"The mean of all {n + 1} retrained models: "
            + ", ".join(f"{k} {t['ensemble_target'][k]:.2f}" for k in FIGURES)
            + f". Its floor (each retrained model against the mean of the others): Avg.Gap "
            f"{e['avg_gap']['mean']:.2f} ± {e['avg_gap']['std']:.2f}, on the validation set "
            f"{e['avg_gap_val']['mean']:.2f} ± {e['avg_gap_val']['std']:.2f}.",
            "",
        ]
        s = t["retrain_seconds"]
        lines += [
            f"Retraining's time: the retrained model {s['retrained_model']:.1f} s; all {n + 1} retrained models "
            f"{s['mean']:.1f} ± {s['std']:.1f} s ({s['min']:.1f} to {s['max']:.1f}).",
            "",
        ]
        if not t["rows"]:
            continue
        lines += [
            "The grid's rows against that mean:",
            "",
            "| method | Avg.Gap to the retrained model | rank | Avg.Gap to the mean of the retrained models | rank "
            "| % of the retrained models' mean time |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r in sorted(t["rows"], key=lambda r: r["avg_gap"]):
            share = f"{100 * r['time_share']:.1f}" if "time_share" in r else "-"
            lines.append(
                f"| {r['method']} | {r['avg_gap']:.2f} ± {r['avg_gap_std']:.2f} | {r['rank_retrain']} | "
                f"{r['avg_gap_ensemble']:.2f} ± {r['avg_gap_ensemble_std']:.2f} | {r['rank_ensemble']} | {share} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("grid_config")
    parser.add_argument("--results", default=None, help="the grid's results JSON (rows per method and seed)")
    parser.add_argument("--references", type=int, default=8, help="reference models per scenario")
    parser.add_argument("--out", default=None, help="JSON file of the study (a .md beside it holds the tables)")
    args = parser.parse_args()
    from lightning_unlearn.console import configure

    configure(orchestrated=True)
    if args.references < 2:
        parser.error("--references must be at least 2 (a spread needs two models)")
    config = yaml.safe_load(Path(locate(args.grid_config)).read_text())
    results = json.loads(Path(args.results).read_text())["rows"] if args.results else []
    tables = study(scenario_models(config, args.references), results)
    text = markdown(tables)
    print(text)
    if args.out:
        payload = {"grid": args.grid_config, "results": args.results, "references": args.references, **tables}
        Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
        Path(args.out).with_suffix(".md").write_text(text + "\n")
        print(f"written: {args.out}")


if __name__ == "__main__":
    main()
