"""Lightning against a plain PyTorch loop doing the same arithmetic: images per second, as a ratio.

Both sides train the same network on the same in-memory batches with the same augmentation, normalisation,
loss, optimiser, precision and memory format; the Lightning side is this library's module run by a
``Trainer`` (metric callbacks and checkpointing off, as in a timing run), the plain side a hand-written loop
calling the module's own loss. Two workloads:

* ``classifier``: ``ClassifierModule`` (cross-entropy, label smoothing) on batches of ``batch`` images;
* ``unlearning``: ``FeatureConstraintUnlearner`` steps (``batch / 2`` forget + ``batch / 2`` retain images,
  the frozen teacher's features, normalised MSE, cross-entropy, uncertainty weighting; both sides check the
  loss is finite every step, as the module does).

Two presets: ``cpu`` (the width-16 small CNN on 4,000 synthetic images, 128-image steps, float32: the
committed ``docs/results/throughput_cpu.json``) and ``gpu`` (ResNet-18 with the CIFAR stem, bf16 mixed
precision, channels-last, images resident on the GPU and gathered, augmented and normalised there, 512-image
steps; on CIFAR-10 from a JPEG archive with ``--archive``, else 50,000 synthetic images). Repeats alternate
the two sides and the median is reported. The last line printed is
``lightning/plain throughput ratio: <unlearning step> <classifier training>``.

    python benchmarks/throughput.py [--preset cpu|gpu] [--archive .gpu/cifar10_jpeg.npz] [--steps 120]
        [--warmup 10] [--repeats 5] [--out runs/throughput.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

from lightning_unlearn.data import Batch, DataSource, ForgetSpec, JpegArchive, Synthetic, UnlearningDataModule
from lightning_unlearn.losses import cross_entropy
from lightning_unlearn.methods import FeatureConstraintUnlearner
from lightning_unlearn.models import ClassifierModule

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
warnings.filterwarnings("ignore")

WORKLOADS = ("unlearning", "classifier")
ORIGINAL = "runs/throughput_original.ckpt"


@dataclass(frozen=True)
class Setup:
    """What both sides run: the network, the step size, precision, memory format and where the data lives.

    Attributes:
        arch: Network name (``lightning_unlearn.models``).
        arch_kwargs: Its arguments.
        batch: Images a step: one batch for the classifier, half forget and half retain for unlearning.
        precision: ``"32-true"`` or ``"bf16-mixed"`` (the Trainer's names; the plain side autocasts alike).
        channels_last: Channels-last networks and inputs.
        data_on_device: Keep the ``uint8`` images on the accelerator.
        accelerator: ``"cpu"`` or ``"gpu"``.
        source: The data (``None``: 10 synthetic 32x32 RGB classes of ``synthetic_per_class`` images).
        synthetic_per_class: Images a class of the synthetic data.
    """

    arch: str = "small_cnn"
    arch_kwargs: dict[str, Any] = field(default_factory=lambda: {"width": 16})
    batch: int = 128
    precision: str = "32-true"
    channels_last: bool = False
    data_on_device: bool = False
    accelerator: str = "cpu"
    source: DataSource | None = None
    synthetic_per_class: int = 400

    @property
    def device(self) -> torch.device:
        """The torch device of the plain side."""
        return torch.device("cuda" if self.accelerator == "gpu" else "cpu")

    def model_args(self) -> dict[str, Any]:
        """Architecture arguments shared by both sides' modules."""
        return {
            "arch": self.arch,
            "arch_kwargs": dict(self.arch_kwargs),
            "num_classes": 10,
            "in_channels": 3,
            "channels_last": self.channels_last,
        }


#: The committed CPU comparison (docs/results/throughput_cpu.json).
CPU = Setup()


def gpu_setup(source: DataSource | None = None, batch: int = 512) -> Setup:
    """ResNet-18 (CIFAR stem), bf16 mixed precision, channels-last, data resident on the GPU."""
    return Setup(
        arch="resnet18",
        arch_kwargs={},
        batch=batch,
        precision="bf16-mixed",
        channels_last=True,
        data_on_device=True,
        accelerator="gpu",
        source=source,
        synthetic_per_class=5000,
    )


def write_original(setup: Setup, path: str = ORIGINAL) -> str:
    """A stand-in original model (random weights) for the unlearner: the timing does not depend on what it learned."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(0, verbose=False)
    weights = ClassifierModule(**setup.model_args()).net.state_dict()
    torch.save({"state_dict": {f"net.{k}": v for k, v in weights.items()}}, out)
    return str(out)


def step_batch(kind: str, setup: Setup) -> int:
    """Images of one loader's batch: the whole step for the classifier, half of it for each unlearning set."""
    return setup.batch if kind == "classifier" else setup.batch // 2


def datamodule(setup: Setup, batch_size: int) -> UnlearningDataModule:
    """A quarter of the training images forgotten; not yet set up (the Trainer does that on its side)."""
    source = setup.source or Synthetic(
        num_classes=10, train_per_class=setup.synthetic_per_class, test_per_class=10, image_size=32, channels=3
    )
    return UnlearningDataModule(
        source,
        ForgetSpec(fraction=0.25, seed=0),
        batch_size=batch_size,
        crop_padding=4,
        data_on_device=setup.data_on_device,
        split_file=str(_scratch() / "split.json"),  # not the working directory
    )


@functools.cache
def _scratch() -> Path:
    """A temporary folder of this process for the split file both sides share."""
    return Path(tempfile.mkdtemp(prefix="throughput-"))


def build_module(kind: str, setup: Setup, original: str) -> pl.LightningModule:
    """The module both sides train, at a constant rate: a classifier, or the feature-constraint unlearner."""
    if kind == "classifier":
        return ClassifierModule(**setup.model_args(), lr=0.05, lr_scheduler=None, label_smoothing=0.1)
    return FeatureConstraintUnlearner(original_ckpt=original, retain_share=1.0, lr_scheduler=None, **setup.model_args())


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StepTimer(pl.Callback):
    """Seconds of the steps after the first ``warmup``."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.seconds, self.steps = warmup, 0.0, 0.0, 0

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, idx: int) -> None:
        if trainer.global_step == self.warmup:
            _synchronize(pl_module.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        _synchronize(pl_module.device)
        self.seconds = time.perf_counter() - self.start
        self.steps = trainer.global_step - self.warmup


def lightning_rate(kind: str, setup: Setup, steps: int, warmup: int, original: str) -> float:
    """Images a second of the module trained by a Lightning ``Trainer``."""
    pl.seed_everything(0, verbose=False)
    dm = datamodule(setup, step_batch(kind, setup))
    module = build_module(kind, setup, original)
    timer = StepTimer(warmup)
    trainer = pl.Trainer(
        accelerator=setup.accelerator,
        devices=1,
        precision=setup.precision,  # type: ignore[arg-type]
        max_steps=warmup + steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        num_sanity_val_steps=0,
        default_root_dir=str(_scratch()),
    )
    trainer.fit(module, datamodule=dm)
    return timer.steps * setup.batch / timer.seconds


@contextmanager
def autocast(setup: Setup) -> Iterator[None]:
    """What the Trainer's precision plugin wraps a training step in."""
    if setup.precision == "bf16-mixed":
        with torch.autocast(setup.device.type, dtype=torch.bfloat16):
            yield
    elif setup.precision in ("32-true", "32"):
        yield
    else:
        raise ValueError(f"unsupported precision {setup.precision!r}; expected 32-true or bf16-mixed")


def plain_rate(kind: str, setup: Setup, steps: int, warmup: int, original: str) -> float:
    """Images a second of the same module trained by a hand-written loop over the same in-memory data."""
    pl.seed_everything(0, verbose=False)
    dev = setup.device
    batch = step_batch(kind, setup)
    dm = datamodule(setup, batch)
    dm.setup("fit")
    module: Any = build_module(kind, setup, original).to(dev)
    module.train()
    opt = module.configure_optimizers()  # at a constant rate: the bare optimiser the Lightning side steps
    assert dm._train is not None
    images = dm._train.images.to(dev)  # the same in-memory tensors the Lightning side reads, where it keeps them
    targets = dm._train.targets.to(dev)
    names = ("all",) if kind == "classifier" else ("forget", "retain")
    gen = torch.Generator().manual_seed(0)
    orders = {}
    for name in names:
        indices = torch.tensor(dm.train_set(name).indices)
        orders[name] = indices[torch.randperm(len(indices), generator=gen)].to(dev)
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            _synchronize(dev)
            start = time.perf_counter()
        prepared = {}
        for name, order in orders.items():
            first = (step * batch) % len(order)
            idx = order[first : first + batch]
            prepared[name] = dm.prepare_batch(Batch(images[idx], targets[idx], idx), training=True)
        with autocast(setup):
            if kind == "classifier":
                b = prepared["all"]
                loss = cross_entropy(module(b.inputs), b.targets, module.label_smoothing)
            else:
                loss = module.loss(prepared["forget"], prepared["retain"])["loss"]
                if not bool(torch.isfinite(loss)):  # the Lightning module checks every step too
                    raise FloatingPointError("non-finite loss")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _synchronize(dev)
    return steps * setup.batch / (time.perf_counter() - start)


def compare(setup: Setup, steps: int, warmup: int, repeats: int, original: str = ORIGINAL) -> dict[str, Any]:
    """Both workloads, ``repeats`` alternating runs of each side; medians and their ratio (Lightning / plain)."""
    write_original(setup, original)
    results: dict[str, Any] = {}
    for kind in WORKLOADS:
        light, plain = [], []
        for _ in range(repeats):
            plain.append(plain_rate(kind, setup, steps, warmup, original))
            light.append(lightning_rate(kind, setup, steps, warmup, original))
        results[kind] = {
            "lightning_images_per_s": statistics.median(light),
            "plain_images_per_s": statistics.median(plain),
            "ratio": statistics.median(light) / statistics.median(plain),
            "lightning_runs": light,
            "plain_runs": plain,
        }
    return results


def table(results: dict[str, Any]) -> str:
    """The Markdown table of :func:`compare`'s results."""
    lines = ["| workload | Lightning img/s | plain img/s | ratio |", "| --- | --- | --- | --- |"]
    for kind, r in results.items():
        lines.append(
            f"| {kind} | {r['lightning_images_per_s']:.0f} | {r['plain_images_per_s']:.0f} | {r['ratio']:.3f} |"
        )
    return "\n".join(lines)


def ratio_line(results: dict[str, Any]) -> str:
    """``lightning/plain throughput ratio: <unlearning> <classifier>``."""
    return (
        f"lightning/plain throughput ratio: {results['unlearning']['ratio']:.3f} {results['classifier']['ratio']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--archive", default=None, help="a JPEG archive (.npz) to train on instead of synthetic data")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="runs/throughput.json")
    args = parser.parse_args()
    source = JpegArchive(args.archive) if args.archive else None
    setup = gpu_setup(source) if args.preset == "gpu" else replace(CPU, source=source)
    results = compare(setup, args.steps, args.warmup, args.repeats)
    print(table(results))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"preset": args.preset, "device": setup.accelerator, "steps": args.steps, "repeats": args.repeats}
    out.write_text(json.dumps({**meta, **results}, indent=2))
    print(f"written: {out}")
    print(ratio_line(results))


if __name__ == "__main__":
    main()
