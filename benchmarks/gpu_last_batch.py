"""Does a tiny last training batch break GPU training? One A/B on the GPU benchmark's random-10 % retrain.

    python benchmarks/gpu_last_batch.py [--epochs 40] [--out runs/gpu_last_batch] [--tiny]

On 2026-11-27 (one H200, bf16, channels-last, data on the GPU) the random-10 % retrain of
``configs/bench/cifar10_gpu`` ended at RA 75.75 / TA 75.54 while the class-0 retrain reached 99.90 / 90.50. Its
retain set (42500 images) in batches of 512 leaves a last batch of 4 each epoch. This script retrains that model
twice with everything equal but ``data.full_batches`` (false: the last batch holds 4; true: it is completed from
the next pass) and prints RA, TA, UA and the last monitored epochs of each, as a table and as JSON
(``<out>/last_batch.json``). About 2 x 75 s on an H200. ``--tiny`` rehearses it on the CPU (small CNN, 1 epoch,
3 batches, float32). With the network cut, install the carried wheels first (``benchmarks/gpu_offline.sh`` shows
how).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

DATA = "configs/bench/cifar10_gpu/data_offline.yaml"
RETRAIN = "configs/bench/cifar10_gpu/retrain.yaml"
TINY = [
    "--trainer.accelerator=cpu",
    "--trainer.precision=32-true",
    "--trainer.limit_train_batches=3",
    "--model.init_args.arch=small_cnn",
    "--data.eval_retain_size=200",
    "--forgetting_metrics.monitor_size=50",
]


def retrain(full_batches: bool, epochs: int, out: Path, tiny: bool) -> dict[str, Any]:
    """One random-10 % retrain; its RA, TA, UA, seconds and the last five monitored epochs."""
    from lightning_unlearn.callbacks import ForgettingMetrics, UnlearningReceipt
    from lightning_unlearn.cli import cli_main

    folder = out / f"full_batches_{str(full_batches).lower()}"
    began = time.perf_counter()
    cli = cli_main(
        [
            "fit",
            f"--config={DATA}",
            f"--config={RETRAIN}",
            f"--data.full_batches={str(full_batches).lower()}",
            f"--data.split_file={folder / 'split.json'}",
            f"--trainer.max_epochs={epochs}",
            f"--trainer.default_root_dir={folder}",
            "--trainer.logger=false",
            "--trainer.enable_checkpointing=false",
            "--trainer.callbacks=[]",  # the metric callbacks come from the CLI's own arguments
            "--seed_everything=0",
            *(TINY if tiny else []),
        ]
    )
    seconds = time.perf_counter() - began
    callbacks: list[Any] = cli.trainer.callbacks  # type: ignore[attr-defined]  # set by Trainer.__init__
    receipt = next(c for c in callbacks if isinstance(c, UnlearningReceipt))
    monitor = next(c for c in callbacks if isinstance(c, ForgettingMetrics))
    return {
        "full_batches": full_batches,
        **{k: round(float(receipt.metrics[k]), 2) for k in ("RA", "TA", "UA")},
        "seconds": round(seconds, 1),
        "last_epochs": monitor.history[-5:],
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run both arms (the tiny last batch first) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--out", default="runs/gpu_last_batch")
    parser.add_argument("--tiny", action="store_true", help="rehearse on the CPU: small CNN, 1 epoch, 3 batches")
    args = parser.parse_args(argv)
    out = Path(args.out)
    epochs = 1 if args.tiny else args.epochs
    if not args.tiny:
        import torch

        torch.backends.cudnn.benchmark = True  # as gpu_bench.py sets it
        torch.set_float32_matmul_precision("high")
    rows = [retrain(full, epochs, out, args.tiny) for full in (False, True)]
    print("| full_batches | RA | TA | UA | seconds |\n| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['full_batches']} | {r['RA']:.2f} | {r['TA']:.2f} | {r['UA']:.2f} | {r['seconds']:.1f} |")
    out.mkdir(parents=True, exist_ok=True)
    (out / "last_batch.json").write_text(json.dumps({"epochs": epochs, "tiny": args.tiny, "runs": rows}, indent=1))
    print(f"written: {out / 'last_batch.json'}", flush=True)
    return rows


if __name__ == "__main__":
    main()
