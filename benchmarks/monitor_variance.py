"""What the per-epoch monitor's subsample costs in variance, and what the monitor costs in time.

Reads a finished experiment (default: the demo, `make demo`), re-evaluates each unlearned model's monitor on
20 seeded subsamples per size, and prints mean and standard deviation of every monitored value next to the
full-set value, plus the seconds of one monitor pass. Writes the same as JSON.

    python benchmarks/monitor_variance.py [--run runs/demo] [--sizes 16 32 100] [--out runs/demo/monitor_variance.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import yaml

from lightning_unlearn.callbacks.set_outputs import predict_probs
from lightning_unlearn.data import UnlearningDataModule
from lightning_unlearn.metrics.mia import mia_efficacy
from lightning_unlearn.metrics.outputs import SampleOutputs
from lightning_unlearn.metrics.summary import accuracy_metrics
from lightning_unlearn.models import NetworkModule
from lightning_unlearn.models.checkpoint import read_checkpoint


def load_stage(run: Path, stage: str) -> tuple[NetworkModule, UnlearningDataModule]:
    from jsonargparse import ArgumentParser

    cfg = yaml.safe_load((run / stage / "config.yaml").read_text())

    parser = ArgumentParser()
    parser.add_class_arguments(UnlearningDataModule, "data")
    data_cfg = parser.parse_object({"data": cfg["data"]})
    dm = parser.instantiate_classes(data_cfg).data
    dm.setup("test")
    blob = read_checkpoint(run / stage / "model.ckpt")
    hparams = dict(blob["hyper_parameters"])
    module = NetworkModule(
        **{k: hparams[k] for k in ("arch", "num_classes", "in_channels", "arch_kwargs") if k in hparams}
    )
    state = {k[len("net.") :]: v for k, v in blob["state_dict"].items() if k.startswith("net.")}
    module.net.load_state_dict(state)
    return module.eval(), dm


def monitor_values(
    module: NetworkModule, dm: UnlearningDataModule, size: int | None, seed: int
) -> tuple[dict[str, float], float]:
    start = time.perf_counter()
    sets = dm.monitor_sets(size, seed)
    outputs = {}

    for name, batch in sets.items():
        outputs[name] = SampleOutputs(*predict_probs(module, dm, batch, torch.device("cpu")))
    values = accuracy_metrics(outputs)
    f, r, t = outputs["forget"], outputs["retain"], outputs["test"]
    values["mia/efficacy"] = mia_efficacy(
        (f.probs, f.targets), (r.probs, r.targets), (t.probs, t.targets), "confidence", seed
    )
    return values, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/demo")
    parser.add_argument("--stages", nargs="+", default=["original", "feature_constraint"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[16, 32, 100])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    run = Path(args.run)
    rows = []
    for stage in args.stages:
        module, dm = load_stage(run, stage)
        full, full_seconds = monitor_values(module, dm, None, 0)
        for size in args.sizes:
            samples = [monitor_values(module, dm, size, seed) for seed in range(args.seeds)]
            for key in full:
                vals = [s[0][key] for s in samples]
                rows.append(
                    {
                        "stage": stage,
                        "size": size,
                        "metric": key,
                        "full": full[key],
                        "mean": statistics.fmean(vals),
                        "std": statistics.stdev(vals),
                        "seconds": statistics.median(s[1] for s in samples),
                        "full_seconds": full_seconds,
                    }
                )
    print("| stage | size | metric | full set | monitor mean | monitor std | s / pass | s / full pass |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['stage']} | {r['size']} | {r['metric']} | {r['full']:.2f} | {r['mean']:.2f} | {r['std']:.2f} "
            f"| {r['seconds']:.4f} | {r['full_seconds']:.4f} |"
        )
    out = Path(args.out) if args.out else run / "monitor_variance.json"
    out.write_text(json.dumps(rows, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
