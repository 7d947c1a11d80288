"""How far digits recipes sit from the thresholds of ``tests/methods/test_baselines.py``, across machines.

For each seed of the original model and each torch thread count (another reduction order stands in for
another machine), one fresh process trains the demo's original model (``configs/demo/``) and runs each
candidate recipe on it exactly as the test does, then prints the forget and retain accuracy per recipe:
min / max over every seed and thread count, beside the test's bounds. Writes every value as JSON.

    python benchmarks/digits_recipes.py [--seeds 0 1 2] [--threads 1 2] [--out docs/results/digits_recipes.json]
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

#: Recipe name -> (method config, overrides). Each knob the search varies is set explicitly, so a name means the
#: same recipe whatever the shipped config holds (the shipped ones: finetune lr0.03 ep20, l1_sparse lr0.05 ep20,
#: ssd a50; the others' remaining knobs as in configs/methods/).
CANDIDATES: dict[str, tuple[str, list[str]]] = {
    "finetune lr0.05 ep10": ("finetune", ["--model.init_args.lr=0.05", "--trainer.max_epochs=10"]),
    "finetune lr0.05 ep20": ("finetune", ["--model.init_args.lr=0.05", "--trainer.max_epochs=20"]),
    "finetune lr0.05 ep15": ("finetune", ["--model.init_args.lr=0.05", "--trainer.max_epochs=15"]),
    "finetune lr0.03 ep20": ("finetune", ["--model.init_args.lr=0.03", "--trainer.max_epochs=20"]),
    "finetune lr0.07 ep15": ("finetune", ["--model.init_args.lr=0.07", "--trainer.max_epochs=15"]),
    "l1_sparse lr0.05 ep10": ("l1_sparse", ["--model.init_args.lr=0.05", "--trainer.max_epochs=10"]),
    "l1_sparse lr0.02 ep10": ("l1_sparse", ["--model.init_args.lr=0.02", "--trainer.max_epochs=10"]),
    "l1_sparse lr0.05 ep20": ("l1_sparse", ["--model.init_args.lr=0.05", "--trainer.max_epochs=20"]),
    "l1_sparse lr0.05 g1e-3 ep20": (
        "l1_sparse",
        ["--model.init_args.lr=0.05", "--model.init_args.gamma=1.0e-3", "--trainer.max_epochs=20"],
    ),
    "l1_sparse lr0.02 ep20": ("l1_sparse", ["--model.init_args.lr=0.02", "--trainer.max_epochs=20"]),
    "ssd a30": ("ssd", ["--model.init_args.selection_weight=30.0"]),
    "ssd a50": ("ssd", ["--model.init_args.selection_weight=50.0"]),
}


def worker(seed: int, threads: int, out: str) -> None:
    """One process: the original at ``seed`` and every candidate on it; writes ``out`` (JSON)."""
    import logging
    import warnings

    import torch

    torch.set_num_threads(threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    from lightning_unlearn.experiment import run_stage
    from tests.methods.test_baselines import unlearn_digits  # exactly the test's run

    values: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        run_stage(
            "original",
            ["configs/demo/data.yaml", "configs/demo/original.yaml"],
            Path(tmp),
            [f"--seed_everything={seed}"],
        )
        ckpt = Path(tmp) / "original" / "model.ckpt"
        for name, (method, overrides) in CANDIDATES.items():
            values[name] = unlearn_digits(method, ckpt, Path(tmp) / name.replace(" ", "_"), tuple(overrides))
            print(f"seed {seed} threads {threads} {name}: {values[name]}", file=sys.stderr, flush=True)
    Path(out).write_text(json.dumps({"seed": seed, "threads": threads, "values": values}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default="docs/results/digits_recipes.json")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(int(args.worker[0]), int(args.worker[1]), args.worker[2])
        return
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for threads in args.threads:
                out = f"{tmp}/{seed}-{threads}.json"
                env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
                subprocess.run(
                    [sys.executable, __file__, "--worker", str(seed), str(threads), out], check=True, cwd=ROOT, env=env
                )
                runs.append(json.loads(Path(out).read_text()))
    print("| recipe | forget acc min / max | retain acc min / max |")
    print("| --- | --- | --- |")
    for name in CANDIDATES:
        f = [r["values"][name]["forget"] for r in runs]
        r_ = [r["values"][name]["retain"] for r in runs]
        print(f"| {name} | {min(f):.2f} / {max(f):.2f} | {min(r_):.2f} / {max(r_):.2f} |")
    Path(args.out).write_text(json.dumps({"seeds": args.seeds, "threads": args.threads, "runs": runs}, indent=1) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
