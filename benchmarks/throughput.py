"""Lightning against a plain PyTorch loop doing the same arithmetic: images per second, as a ratio.

Both sides train the same network on the same in-memory batches with the same augmentation, normalisation,
loss, optimiser and precision; the Lightning side is this library's module run by a ``Trainer`` (metric
callbacks and checkpointing off, as in a timing run), the plain side a hand-written loop. Two workloads:

* ``classifier``: ``ClassifierModule`` (cross-entropy, label smoothing) on 128-image batches;
* ``unlearning``: ``FeatureConstraintUnlearner`` steps (64 forget + 64 retain images, the frozen teacher's
  features, normalised MSE, cross-entropy, uncertainty weighting).

Repeats alternate the two sides and the median is reported. The last line printed is
``lightning/plain throughput ratio: <unlearning step> <classifier training>``.

    python benchmarks/throughput.py [--steps 120] [--repeats 5] [--device cpu|cuda] [--out runs/throughput.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
import warnings
from pathlib import Path

import lightning.pytorch as pl
import torch

from lightning_unlearn.data import Batch, ForgetSpec, Synthetic, UnlearningDataModule
from lightning_unlearn.losses import cross_entropy, feature_distance
from lightning_unlearn.methods import FeatureConstraintUnlearner
from lightning_unlearn.models import ClassifierModule

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
warnings.filterwarnings("ignore")

ARCH = {"arch": "small_cnn", "arch_kwargs": {"width": 16}, "num_classes": 10, "in_channels": 3}
ORIGINAL = "runs/throughput_original.ckpt"


def write_original() -> None:
    """A stand-in original model (random weights): the timing does not depend on what it learned."""
    path = Path(ORIGINAL)
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(0, verbose=False)
    weights = ClassifierModule(**ARCH).net.state_dict()
    torch.save({"state_dict": {f"net.{k}": v for k, v in weights.items()}}, path)


def datamodule(batch_size: int) -> UnlearningDataModule:
    source = Synthetic(num_classes=10, train_per_class=400, test_per_class=10, image_size=32, channels=3)
    dm = UnlearningDataModule(source, ForgetSpec(fraction=0.25, seed=0), batch_size=batch_size, crop_padding=4)
    dm.setup("fit")
    return dm


class StepTimer(pl.Callback):
    """Seconds of the steps after the first ``warmup``."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.seconds, self.steps = warmup, 0.0, 0.0, 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.warmup:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self.start
        self.steps = trainer.global_step - self.warmup


def lightning_rate(kind: str, steps: int, warmup: int, device: str, images_per_step: int) -> float:
    pl.seed_everything(0, verbose=False)
    if kind == "classifier":
        dm = datamodule(128)
        module = ClassifierModule(**ARCH, lr=0.05, scheduler="constant", label_smoothing=0.1)
    else:
        dm = datamodule(64)
        module = FeatureConstraintUnlearner(original_ckpt=ORIGINAL, retain_share=1.0, **ARCH)
    timer = StepTimer(warmup)
    trainer = pl.Trainer(
        accelerator=device,
        devices=1,
        max_steps=warmup + steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        num_sanity_val_steps=0,
    )
    trainer.fit(module, datamodule=dm)
    return timer.steps * images_per_step / timer.seconds


def plain_rate(kind: str, steps: int, warmup: int, device: str, images_per_step: int) -> float:
    pl.seed_everything(0, verbose=False)
    dev = torch.device("cuda" if device == "gpu" else "cpu")
    batch = 128 if kind == "classifier" else 64
    dm = datamodule(batch)
    if kind == "classifier":
        module = ClassifierModule(**ARCH, lr=0.05, scheduler="constant", label_smoothing=0.1).to(dev)
    else:
        module = FeatureConstraintUnlearner(original_ckpt=ORIGINAL, retain_share=1.0, **ARCH).to(dev)
    module.train()
    groups = [g for g in module.optimizer_param_groups() if g["params"]]
    opt = torch.optim.SGD(groups, lr=module.lr, momentum=module.momentum, nesterov=module.nesterov)
    sets = {"all": dm.train_set("all")} if kind == "classifier" else {n: dm.train_set(n) for n in ("forget", "retain")}
    images = dm._train.images  # the same in-memory tensors the Lightning side reads
    targets = dm._train.targets
    gen = torch.Generator().manual_seed(0)
    orders = {n: torch.tensor(ds.indices)[torch.randperm(len(ds), generator=gen)] for n, ds in sets.items()}
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        prepared = {}
        for name, order in orders.items():
            idx = order[(step * batch) % len(order) :][:batch]
            raw = Batch(images[idx].to(dev), targets[idx].to(dev), idx.to(dev))
            prepared[name] = dm.prepare_batch(raw, training=True)
        if kind == "classifier":
            b = prepared["all"]
            loss = cross_entropy(module.net(b.inputs), b.targets, 0.1)
        else:
            f, r = prepared["forget"], prepared["retain"]
            feats, logits = module.net.forward_features(torch.cat([f.inputs, r.inputs]))
            with torch.no_grad():
                target, _ = module.teacher.forward_features(f.inputs)
            n = f.targets.numel()
            forget_loss = feature_distance(feats[:n], target, "normalized_mse")
            recover_loss = cross_entropy(logits[n:], r.targets)
            loss, _ = module.balancer(torch.stack([forget_loss, recover_loss]))
            if not bool(torch.isfinite(loss)):  # the Lightning module checks every step too
                raise FloatingPointError("non-finite loss")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return steps * images_per_step / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--out", default="runs/throughput.json")
    args = parser.parse_args()
    write_original()
    results = {}
    for kind in ("unlearning", "classifier"):
        per_step = 128
        light, plain = [], []
        for _ in range(args.repeats):
            plain.append(plain_rate(kind, args.steps, args.warmup, args.device, per_step))
            light.append(lightning_rate(kind, args.steps, args.warmup, args.device, per_step))
        results[kind] = {
            "lightning_images_per_s": statistics.median(light),
            "plain_images_per_s": statistics.median(plain),
            "ratio": statistics.median(light) / statistics.median(plain),
            "lightning_runs": light,
            "plain_runs": plain,
        }
    print("| workload | Lightning img/s | plain img/s | ratio |")
    print("| --- | --- | --- | --- |")
    for kind, r in results.items():
        print(f"| {kind} | {r['lightning_images_per_s']:.0f} | {r['plain_images_per_s']:.0f} | {r['ratio']:.3f} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"device": args.device, "steps": args.steps, "repeats": args.repeats, **results}, indent=2)
    )
    print(f"written: {out}")
    print(
        f"lightning/plain throughput ratio: {results['unlearning']['ratio']:.3f} {results['classifier']['ratio']:.3f}"
    )


if __name__ == "__main__":
    main()
