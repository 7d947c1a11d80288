"""Run a whole experiment: train the original, retrain without the forget set, unlearn, evaluate, report.

Every stage is a real ``lightning-unlearn fit`` run (the same ``LightningCLI`` users call) on the same data
config, followed by ``test``; all stages share one split file, so a stage whose split differs stops with an
error, and the report records each model's forget-set hash.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning_unlearn.callbacks import ForgettingMetrics, RunTimer
from lightning_unlearn.cli import UnlearnCLI, cli_main
from lightning_unlearn.io import atomic_path
from lightning_unlearn.metrics.accuracy import unlearning_accuracy
from lightning_unlearn.report import write_report


def _callback(cli: UnlearnCLI, kind: type) -> Any:
    for cb in cli.trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(cb, kind):
            return cb
    raise RuntimeError(f"{kind.__name__} is not attached to the trainer")


def _logger_arg(out: Path, stage: str) -> str:
    logger = {
        "class_path": "lightning.pytorch.loggers.CSVLogger",
        "init_args": {"save_dir": str(out), "name": stage, "version": ""},
    }
    return f"--trainer.logger={json.dumps(logger)}"


def run_stage(stage: str, configs: Sequence[str], out: Path, extra: Sequence[str] = ()) -> dict[str, Any]:
    """Fit one model through the CLI, save ``<out>/<stage>/model.ckpt`` atomically, test it, return its report row."""
    args = ["fit"]
    for config in configs:
        args += ["--config", config]
    args += [
        f"--data.split_file={out / 'split.json'}",
        _logger_arg(out, stage),
        f"--trainer.default_root_dir={out / stage}",
        "--trainer.enable_checkpointing=false",  # model.ckpt is saved once, atomically, after fit
        "--trainer.callbacks=[]",
        *extra,
    ]
    cli = cli_main(args)
    ckpt = out / stage / "model.ckpt"
    with atomic_path(ckpt) as tmp:
        cli.trainer.save_checkpoint(tmp, weights_only=True)
    seconds = _callback(cli, RunTimer).seconds
    cli.trainer.test(cli.model, datamodule=cli.datamodule, verbose=False)
    outputs = _callback(cli, ForgettingMetrics).outputs
    from lightning_unlearn.metrics.accuracy import accuracy

    acc = {name: accuracy(o.probs, o.targets) for name, o in outputs.items()}
    split = cli.datamodule.split
    row: dict[str, Any] = {
        "method": stage,
        "UA": unlearning_accuracy(acc["forget"]),
        "RA": acc["retain"],
        "TA": acc["test"],
    }
    if "test_forget" in acc:
        row["TA_forgotten"] = acc["test_forget"]
    row.update(
        seconds=seconds,
        epochs=cli.trainer.current_epoch,
        model=type(cli.model).__name__,
        checkpoint=str(ckpt),
        forget_sha256=split.sha256 if split is not None else None,
    )
    return row


def run_experiment(
    data: str,
    original: str,
    retrain: str,
    methods: list[str],
    out_dir: str = "runs/demo",
    trainer: str | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Train the original, retrain, run each method, evaluate all of them and write the report.

    Args:
        data: YAML config of the ``data`` section (source and forget specification), shared by every stage.
        original: YAML config of the original model (a ``ClassifierModule``) and its trainer settings.
        retrain: YAML config of the retrained model (``Retrain``), normally the original's recipe.
        methods: YAML configs of the unlearning methods; each row is named after its file's stem.
        out_dir: Output folder: ``split.json``, one folder per stage (config, metrics, ``model.ckpt``),
            ``report.json`` and ``report.md``.
        trainer: Optional YAML config of trainer settings applied to every stage (e.g. accelerator).
        seed: Seed of every stage (``seed_everything``).

    Returns:
        The report rows.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    common = [data] + ([trainer] if trainer else [])
    seed_arg = [f"--seed_everything={seed}"]
    stages: list[tuple[str, str, list[str]]] = [("original", original, []), ("retrain", retrain, [])]
    stages += [(Path(m).stem, m, ["original_ckpt"]) for m in methods]
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    original_ckpt = out / "original" / "model.ckpt"
    for i, (name, config, needs) in enumerate(stages, 1):
        print(f"[{i}/{len(stages)}] {name}: fit + test ({config})", flush=True)
        extra = [*seed_arg] + ([f"--model.init_args.original_ckpt={original_ckpt}"] if needs else [])
        rows.append(run_stage(name, [*common, config], out, extra))
    hashes = {r["forget_sha256"] for r in rows}
    if len(hashes) != 1:
        raise RuntimeError(f"stages used different forget splits: {sorted(h or '' for h in hashes)}")
    meta = {
        "forget_sha256": hashes.pop(),
        "seed": seed,
        "data": data,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    table = write_report(rows, out, meta)
    print(table, flush=True)
    print(f"report: {out / 'report.json'}, {out / 'report.md'}", flush=True)
    return rows


def experiment_main(argv: Sequence[str] | None = None) -> None:
    """``lightning-unlearn experiment --config experiment.yaml [--methods+=...]``."""
    from jsonargparse import CLI

    CLI(run_experiment, args=list(argv) if argv is not None else None, as_positional=False)
