"""Put a later tuning round's recipes in place of the first round's where they won on the validation set.

``lightning-unlearn tune`` on a round's config (e.g. ``configs/bench/cifar10_mem/tune_round2.yaml``, which writes
its recipes outside ``tuned/``) chooses among that round's candidates only; this compares each method's choice
with the first round's (both by the validation Avg.Gap on the same seed) and copies the round's recipe into
``tuned/<scenario>/<method>.yaml``, headed by what it replaced, only where it is lower:

    python benchmarks/apply_tuning_round.py runs/bench/cifar10_mem_tuning/tuning.json \
        runs/bench/cifar10_mem_tuning_round2/tuning.json runs/bench/cifar10_mem_tuning_round2/recipes \
        configs/bench/cifar10_mem/tuned --config configs/bench/cifar10_mem/tune_round2.yaml
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def apply_round(first: dict, later: dict, later_recipes: Path, tuned: Path, config: str) -> list[str]:
    """Copy the later round's recipes that beat the first round's; returns one line per (scenario, method)."""
    best = {(c["scenario"], c["method"]): float(c["score"]) for c in first["chosen"]}
    lines = []
    for choice in later["chosen"]:
        key = (choice["scenario"], choice["method"])
        score, before = float(choice["score"]), best.get(key)
        if before is not None and score >= before:
            lines.append(f"{key[0]} {key[1]}: kept round one's ({before:.2f} <= {score:.2f})")
            continue
        source = later_recipes / key[0] / f"{key[1]}.yaml"
        what = "no choice" if before is None else f"choice (validation Avg.Gap {before:.2f})"
        head = f"# Round two ({config}) replaced round one's {what} with this one.\n"
        (tuned / key[0] / f"{key[1]}.yaml").write_text(head + source.read_text())
        lines.append(f"{key[0]} {key[1]}: replaced ({what} -> {score:.2f})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", help="tuning.json of the first round (the one that wrote tuned/)")
    parser.add_argument("later", help="tuning.json of the later round")
    parser.add_argument("later_recipes", help="the later round's recipes_dir")
    parser.add_argument("tuned", help="the recipes folder the grid reads")
    parser.add_argument("--config", required=True, help="the later round's tune config (named in the header)")
    args = parser.parse_args()
    first, later = (json.loads(Path(p).read_text()) for p in (args.first, args.later))
    for line in apply_round(first, later, Path(args.later_recipes), Path(args.tuned), args.config):
        print(line)


if __name__ == "__main__":
    main()
