"""How many reference models the LiRA attack needs: the AUC's spread against K, on a grid's own runs.

    python benchmarks/lira_references.py configs/bench/cifar10_mem/grid.yaml --references 8 \
        --out docs/results/cifar10_mem_lira_k.json

Runs (or, after ``lightning-unlearn grid --config <grid> --reference_models <references>``, reads from the cache)
every run of the grid with ``references`` reference models per scenario. Then, for K in ``ks`` and both variance
estimates, it scores every row with LiRA calibrated on K of the references and prints, per scenario and model:

* the AUC with the first K references (what the grid reports with ``reference_models: K``), its mean and standard
  deviation over the method's seeds;
* the standard deviation over ``draws`` random choices of K references out of ``references`` (for K below it),
  with the model fixed: the noise the references themselves add.

The retrained model's AUC must sit near 0.5 at the chosen K, and the spread over reference draws below the spread
over seeds (the noise the benchmark has anyway). Writes the table as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import torch
import yaml

from lightning_unlearn import grid
from lightning_unlearn.metrics.lira import lira_attack
from lightning_unlearn.shipped import locate


def scenario_outputs(config: dict[str, Any], references: int) -> dict[str, dict[str, Any]]:
    """Per scenario: the reference models' outputs and every row's outputs, keyed ``(model, seed)``."""
    data, original, retrain, methods_dir = (locate(config[k]) for k in ("data", "original", "retrain", "methods_dir"))
    scenarios, seeds = config["scenarios"], config.get("seeds", [0])
    configs = {s: grid.scenario_methods(config["methods"], methods_dir, s) for s in scenarios}
    progress = grid.Progress(1 + sum(2 + references + len(c) * len(seeds) for c in configs.values()))
    out_dir = config.get("out_dir", "runs/bench")
    ws = grid.prepare_workspace(data, original, next(iter(scenarios.values())), out_dir, None, progress)
    found: dict[str, dict[str, Any]] = {}
    for name, spec in scenarios.items():
        scenario = grid.prepare_scenario(ws, name, spec, retrain, progress)
        grid.prepare_references(ws, scenario, retrain, references, progress)
        rows = {("retrain", 0): scenario.retrain.outputs}
        rows[("original", 0)] = grid.score_original(ws, scenario, progress).outputs
        for method_config in configs[name]:
            for seed in seeds:
                result, cached = grid.run_method(ws, scenario, method_config, seed)
                progress.ran(f"{name} {Path(method_config).stem} seed {seed}", result, cached)
                rows[(result.name, seed)] = result.outputs
        found[name] = {"references": [r.outputs for r in scenario.references], "rows": rows}
    return found


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def study(found: dict[str, dict[str, Any]], ks: list[int], draws: int, seed: int = 0) -> list[dict[str, Any]]:
    """One record per scenario, variance, K and model: AUC (first K), its std over seeds and over reference draws."""
    records = []
    gen = torch.Generator().manual_seed(seed)
    for scenario, parts in found.items():
        refs, rows = parts["references"], parts["rows"]
        for variance in ("global", "per_sample"):
            for k in ks:
                if k > len(refs) or (variance == "per_sample" and k < 2):
                    continue
                subsets = [torch.randperm(len(refs), generator=gen)[:k].tolist() for _ in range(draws)]
                for model in dict.fromkeys(m for m, _ in rows):
                    seeds = [s for m, s in rows if m == model]
                    first = [lira_attack(rows[(model, s)], refs[:k], variance) for s in seeds]
                    record = {
                        "scenario": scenario,
                        "variance": variance,
                        "K": k,
                        "model": model,
                        "AUC": statistics.fmean(r.auc for r in first),
                        "AUC_std_seeds": _std([r.auc for r in first]),
                        "TPR@1%FPR": statistics.fmean(r.tpr_at_1_fpr for r in first),
                    }
                    if k < len(refs):
                        drawn = [
                            lira_attack(rows[(model, seeds[0])], [refs[i] for i in sub], variance) for sub in subsets
                        ]
                        record["AUC_std_references"] = _std([r.auc for r in drawn])
                    records.append(record)
    return records


def markdown(records: list[dict[str, Any]]) -> str:
    """The records as one table."""
    keys = ["scenario", "variance", "K", "model", "AUC", "AUC_std_seeds", "AUC_std_references", "TPR@1%FPR"]
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    for r in records:
        cells = [f"{r[k]:.3f}" if isinstance(r.get(k), float) else str(r.get(k, "-")) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("grid_config")
    parser.add_argument("--references", type=int, default=8, help="reference models trained per scenario")
    parser.add_argument("--ks", default="1,2,4,8", help="comma-separated K values")
    parser.add_argument("--draws", type=int, default=10, help="random choices of K references per K")
    parser.add_argument("--out", default=None, help="JSON file of the records")
    args = parser.parse_args()
    from lightning_unlearn.console import configure

    configure(orchestrated=True)
    config = yaml.safe_load(Path(locate(args.grid_config)).read_text())
    found = scenario_outputs(config, args.references)
    records = study(found, [int(k) for k in args.ks.split(",")], args.draws)
    print(markdown(records))
    if args.out:
        payload = {"grid": args.grid_config, "references": args.references, "draws": args.draws, "records": records}
        Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"written: {args.out}")


if __name__ == "__main__":
    main()
