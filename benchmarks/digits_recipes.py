"""How far the digits recipes sit from the thresholds of ``tests/methods/test_baselines.py``, across machines.

For each seed of the original model and each torch thread count (another reduction order stands in for
another machine), one fresh process trains the demo's original model (``configs/demo/``) and runs each
recipe on it exactly as the test does: every shipped recipe (``configs/methods/<name>.yaml``, as it is) and
the three earlier recipes that this measurement retuned (``before``, their knobs set explicitly). Prints,
per recipe, the forget and retain accuracy (min / max over every seed and thread count) beside the test's
bounds and the room left to them; writes every value as JSON.

    python benchmarks/digits_recipes.py [--seeds 0 1 2 3 4] [--threads 1 2] [--out docs/results/digits_recipes.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests package


def candidates() -> dict[str, tuple[str, list[str]]]:
    """Recipe name -> (method config, overrides): every shipped recipe as it is, and the recipes it replaced."""
    from tests.methods.test_baselines import EXPECTED

    shipped: dict[str, tuple[str, list[str]]] = {name: (name, []) for name in EXPECTED}
    before = {  # the recipes that this measurement replaced (3 seeds first, then 5)
        "before: finetune lr0.05 ep10": ("finetune", ["--model.init_args.lr=0.05", "--trainer.max_epochs=10"]),
        "before: gradient_ascent lr0.002": ("gradient_ascent", ["--model.init_args.lr=0.002"]),
        "before: l1_sparse lr0.05 ep10": ("l1_sparse", ["--model.init_args.lr=0.05", "--trainer.max_epochs=10"]),
        "before: l1_sparse lr0.05 ep20": ("l1_sparse", ["--model.init_args.lr=0.05", "--trainer.max_epochs=20"]),
        "before: ssd a30": ("ssd", ["--model.init_args.selection_weight=30.0"]),
        "before: ssd a50": ("ssd", ["--model.init_args.selection_weight=50.0"]),
    }
    return {**shipped, **before}


def selected(only: list[str] | None) -> dict[str, tuple[str, list[str]]]:
    """The candidates whose name starts with one of ``only`` (all of them without ``only``)."""
    every = candidates()
    return {k: v for k, v in every.items() if not only or any(k.startswith(o) for o in only)}


def worker(seed: int, threads: int, out: str, only: list[str] | None = None) -> None:
    """One process: the original at ``seed`` and every candidate on it; writes ``out`` (JSON)."""
    import logging
    import warnings

    import torch

    torch.set_num_threads(threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    from tests.methods.test_baselines import train_digits_original, unlearn_digits  # exactly the test's runs

    values: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ckpt, _ = train_digits_original(Path(tmp), seed)
        for name, (method, overrides) in selected(only).items():
            values[name] = unlearn_digits(method, ckpt, Path(tmp) / name.replace(" ", "_"), tuple(overrides))
            print(f"seed {seed} threads {threads} {name}: {values[name]}", file=sys.stderr, flush=True)
    Path(out).write_text(json.dumps({"seed": seed, "threads": threads, "values": values}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default="docs/results/digits_recipes.json")
    parser.add_argument("--only", nargs="+", help="run only the candidates whose name starts with one of these")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(int(args.worker[0]), int(args.worker[1]), args.worker[2], args.only)
        return
    runs = []
    only_args = ["--only", *args.only] if args.only else []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for threads in args.threads:
                out = f"{tmp}/{seed}-{threads}.json"
                env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
                subprocess.run(
                    [sys.executable, __file__, "--worker", str(seed), str(threads), out, *only_args],
                    check=True,
                    cwd=ROOT,
                    env=env,
                )
                runs.append(json.loads(Path(out).read_text()))
    from tests.methods.test_baselines import EXPECTED

    print("| recipe | forget acc min / max | retain acc min / max | test bound (forget <=, retain >=) | room |")
    print("| --- | --- | --- | --- | --- |")
    for name, (method, _) in selected(args.only).items():
        f = [r["values"][name]["forget"] for r in runs]
        r_ = [r["values"][name]["retain"] for r in runs]
        max_forget, min_retain = EXPECTED[method]
        room = min(max_forget - max(f), min(r_) - min_retain)
        print(
            f"| {name} | {min(f):.2f} / {max(f):.2f} | {min(r_):.2f} / {max(r_):.2f} | {max_forget:g}, {min_retain:g} "
            f"| {room:.2f} |"
        )
    Path(args.out).write_text(json.dumps({"seeds": args.seeds, "threads": args.threads, "runs": runs}, indent=1) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
