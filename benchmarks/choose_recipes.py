"""Choose each method's recipe among all tuning rounds' candidates by the validation gap to the retrained models' mean.

    python benchmarks/retrain_spread.py configs/bench/cifar10_mem/tune.yaml --references 8 \
        --out runs/bench/cifar10_mem_retrain_spread.json
    python benchmarks/choose_recipes.py runs/bench/cifar10_mem_retrain_spread.json \
        runs/bench/cifar10_mem_tuning/tuning.json runs/bench/cifar10_mem_tuning_round2/tuning.json \
        --methods_dir configs/bench/cifar10_mem/methods --recipes configs/bench/cifar10_mem/tuned \
        --out docs/results/cifar10_mem_choice.json

``lightning-unlearn tune`` scores a candidate by its validation Avg.Gap to the one retrained model unless given
``reference_models``, and chooses within one round; this benchmark's rounds ran without it. On the
memorised benchmark that model's validation figures are not typical of retraining: against 8 retrained models
of other seeds, its validation accuracy on class 0 lies 3.7 standard deviations below theirs and its random-sample
MIA on the validation set 3.5 above (``benchmarks/retrain_spread.py``), so that score rewards recipes that copy
one model's noise. This script chooses again among the candidates the rounds already ran (no new run, the test
set never read), every method by the same rule: the lowest validation Avg.Gap (UA, RA, TA_val, MIA_val) to the
mean of all retrained models (the retrained model and the reference models, the ``ensemble_target`` of
``retrain_spread.py``'s JSON). A candidate whose knobs (the same overrides, literally) ran in several rounds counts
once, with the first round's figures; knobs that differ only by spelling out a default count as separate
candidates, as the rounds ran them. Every candidate of a method must come from the same seed. It rewrites every
recipe in ``--recipes``, headed by the choice, its score, and the candidate the one retrained model would have
chosen where that differs.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from lightning_unlearn.io import atomic_write_json, atomic_write_text
from lightning_unlearn.metrics.gap import SELECTION_GAP_METRICS, avg_gap
from lightning_unlearn.tuning import set_dotted


def _knobs(overrides: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in overrides.items()) or "the base recipe"


def candidates(rounds: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every scored candidate of every round per (scenario, method), each once, tagged with its round's name.

    Raises:
        ValueError: When a method's candidates ran on different seeds (their gaps would not be comparable).
    """
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for tuning in rounds:
        for row in tuning["rows"]:
            if "score" not in row or row["score"] != row["score"]:  # failed candidates carry no (or a NaN) score
                continue
            group = found.setdefault((row["scenario"], row["method"]), [])
            if group and row["seed"] != group[0]["seed"]:
                raise ValueError(
                    f"{row['scenario']} {row['method']}: candidates on seeds {group[0]['seed']} and {row['seed']} "
                    f"({tuning['meta']['name']}); choose among candidates of one seed"
                )
            if all(c["overrides"] != row["overrides"] for c in group):
                group.append({**row, "round": tuning["meta"]["name"]})
    return found


def choose(
    found: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]], targets: Mapping[str, Mapping[str, float]]
) -> list[dict[str, Any]]:
    """Per (scenario, method): the candidate closest to the scenario's target and the one closest to the retrain.

    Args:
        found: The candidates (:func:`candidates`); each carries ``UA``, ``RA``, ``TA_val``, ``MIA_val`` and
            ``avg_gap_val`` (its gap to the one retrained model).
        targets: Per scenario, the mean of the retrained models' figures.
    """
    out = []
    for (scenario, method), group in found.items():
        target = targets[scenario]
        scored = [{**c, "score_mean": avg_gap(c, target, SELECTION_GAP_METRICS)} for c in group]
        best = min(scored, key=lambda c: c["score_mean"])
        single = min(scored, key=lambda c: c["avg_gap_val"])
        out.append(
            {
                "scenario": scenario,
                "method": method,
                "candidates": len(scored),
                "chosen": best,
                "by_retrained_model": single,
                "changed": best["overrides"] != single["overrides"],
                "scores": [
                    {"overrides": c["overrides"], "round": c["round"], "score_mean": c["score_mean"]} for c in scored
                ],
            }
        )
    return out


def recipe_text(choice: Mapping[str, Any], base_config: Path, retrained_models: int) -> str:
    """The chosen candidate's config (the method's base config with its knobs), headed by why it was chosen."""
    best, single = choice["chosen"], choice["by_retrained_model"]
    config = copy.deepcopy(yaml.safe_load(base_config.read_text()) or {})
    for dotted, value in best["overrides"].items():
        set_dotted(config, dotted, value)
    head = (
        f"# Chosen by benchmarks/choose_recipes.py: {_knobs(best['overrides'])} ({best['round']}); lowest validation "
        f"Avg.Gap to the mean of {retrained_models} retrained models ({best['score_mean']:.2f}; to the retrained model "
        f"alone {best['avg_gap_val']:.2f}) of {choice['candidates']} candidates on seed {best['seed']}, "
        f"{best['RTE']:.1%} of retrain's time.\n"
    )
    if choice["changed"]:
        head += (
            f"# Against the retrained model alone {_knobs(single['overrides'])} ({single['round']}) would have won "
            f"({single['avg_gap_val']:.2f}; to the mean {single['score_mean']:.2f}).\n"
        )
    return head + yaml.safe_dump(config, sort_keys=False)


def markdown(choices: Sequence[Mapping[str, Any]]) -> str:
    """One table: each method's choice by each target."""
    lines = [
        "| scenario | method | chosen (mean of the retrained models) | score | by the retrained model alone | score |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in choices:
        best, single = c["chosen"], c["by_retrained_model"]
        other = "same" if not c["changed"] else _knobs(single["overrides"])
        lines.append(
            f"| {c['scenario']} | {c['method']} | {_knobs(best['overrides'])} | {best['score_mean']:.2f} | {other} | "
            f"{single['avg_gap_val']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="retrain_spread.py's JSON (its ensemble_target per scenario)")
    parser.add_argument("rounds", nargs="+", help="the tuning rounds' tuning.json files, first round first")
    parser.add_argument("--methods_dir", required=True, help="the base configs the rounds tuned")
    parser.add_argument("--recipes", required=True, help="the recipes folder the grid reads (rewritten)")
    parser.add_argument("--out", default=None, help="JSON record of every candidate's score and the choices")
    args = parser.parse_args()
    spread = json.loads(Path(args.target).read_text())
    rounds = [json.loads(Path(p).read_text()) for p in args.rounds]
    found = candidates(rounds)
    scenarios = {scenario for scenario, _ in found}
    missing = sorted(scenarios - set(spread))
    if missing:
        parser.error(f"{args.target} has no target for scenarios {missing}")
    targets = {s: spread[s]["ensemble_target"] for s in scenarios}
    choices = choose(found, targets)
    for c in choices:
        retrained_models = spread[c["scenario"]]["references"] + 1
        text = recipe_text(c, Path(args.methods_dir) / f"{c['method']}.yaml", retrained_models)
        path = Path(args.recipes) / c["scenario"] / f"{c['method']}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    print(markdown(choices))
    if args.out:
        record = {"target": args.target, "rounds": args.rounds, "targets": targets, "choices": choices}
        atomic_write_json(Path(args.out), record)
        print(f"written: {args.out}")


if __name__ == "__main__":
    main()
