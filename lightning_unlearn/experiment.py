"""Run a whole experiment: train the original, retrain without the forget set, unlearn, evaluate, report.

Every stage is a real ``lightning-unlearn fit`` run (the same ``LightningCLI`` users call) on the same data
config, followed by ``test`` on the full evaluation sets. All stages share one split file, so a stage whose
split differs stops with an error, and the report records each model's forget-set hash.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from lightning_unlearn.callbacks import (
    ForgettingMetrics,
    MembershipInference,
    RunTimer,
    UnlearningReceipt,
    save_outputs,
)
from lightning_unlearn.callbacks.set_outputs import predict_probs
from lightning_unlearn.cli import UnlearnCLI, cli_main
from lightning_unlearn.console import log
from lightning_unlearn.data.forget import SELECTORS
from lightning_unlearn.io import atomic_path, atomic_write_json
from lightning_unlearn.metrics.gap import GAP_METRICS, SELECTION_GAP_METRICS, avg_gap, run_time_ratio
from lightning_unlearn.metrics.outputs import SampleOutputs
from lightning_unlearn.metrics.registry import MIA_METRICS
from lightning_unlearn.metrics.summary import summarize
from lightning_unlearn.plots import plot_confidence, plot_curves, plot_forget_predictions, step_series
from lightning_unlearn.report import write_report
from lightning_unlearn.shipped import locate

#: Seed of the randomly initialised network that ZRF compares against.
RANDOM_NETWORK_SEED = 0


@dataclass
class StageResult:
    """What one stage produced: its outputs on every evaluation set and what the report needs of it."""

    name: str
    outputs: dict[str, SampleOutputs]
    random_forget_probs: torch.Tensor
    seconds: float
    info: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    classes: tuple[str, ...] = ()
    mia: dict[str, float] | None = None


@dataclass(frozen=True)
class StageOptions:
    """What a stage sets on top of its config files, typed; :meth:`cli_args` is the one place that renders it.

    Attributes:
        seed: ``seed_everything`` of the run (initialisation, augmentation).
        order_seed: Seed of the training batches' order (the data module's ``order_seed``).
        forget: A forget specification (``ForgetSpec`` fields) that replaces the data config's entirely.
        original_ckpt: The original model an unlearning method starts from.
        reference_outputs: The retrained model's saved outputs, for the gap and the divergences.
    """

    seed: int | None = None
    order_seed: int | None = None
    forget: Mapping[str, Any] | None = None
    original_ckpt: str | Path | None = None
    reference_outputs: str | Path | None = None

    def cli_args(self) -> list[str]:
        """The ``lightning-unlearn`` arguments that set these options (unset ones are left to the configs)."""
        args = []
        if self.forget is not None:
            # jsonargparse merges a class's init arguments given twice: null the selectors the spec does not set
            spec = {**dict.fromkeys(SELECTORS), "seed": 0, **self.forget}
            args.append(f"--data.forget={json.dumps(spec)}")
        if self.seed is not None:
            args.append(f"--seed_everything={self.seed}")
        if self.order_seed is not None:
            args.append(f"--data.order_seed={self.order_seed}")
        if self.original_ckpt is not None:
            args.append(f"--model.init_args.original_ckpt={self.original_ckpt}")
        if self.reference_outputs is not None:
            args.append(f"--forgetting_metrics.reference_outputs={self.reference_outputs}")
            args.append(f"--receipt.reference_outputs={self.reference_outputs}")
        return args


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


def _merge_histories(*histories: list[dict[str, float]]) -> list[dict[str, float]]:
    by_epoch: dict[float, dict[str, float]] = {}
    for history in histories:
        for row in history:
            by_epoch.setdefault(row["epoch"], {}).update(row)
    return [by_epoch[e] for e in sorted(by_epoch)]


def _random_forget_probs(cli: UnlearnCLI) -> torch.Tensor:
    """A fresh, seeded network of the stage's architecture (eval mode) on the whole forget set, for ZRF."""
    module, dm = cli.model, cli.datamodule
    net = module.random_network(RANDOM_NETWORK_SEED).to(module.device)
    forget = dm.monitor_sets(None)["forget"]
    return predict_probs(net, dm, forget, module.device).inputs.cpu()


def _stage_checkpoint(cli: UnlearnCLI, receipt: UnlearningReceipt, folder: Path) -> Path:
    """The fitted model's checkpoint: the receipt's ``unlearned.ckpt``, else ``model.ckpt`` saved now, atomically."""
    if receipt.path is not None:  # an unlearning method: the receipt saved (and hashed) unlearned.ckpt
        return receipt.path.parent / "unlearned.ckpt"
    ckpt = folder / "model.ckpt"
    with atomic_path(ckpt) as tmp:
        cli.trainer.save_checkpoint(tmp, weights_only=True)
    return ckpt


def run_stage(stage: str, configs: Sequence[str], out: Path, options: StageOptions | None = None) -> StageResult:
    """Fit one model through the CLI users run (``fit``), keep its checkpoint, test it on the full sets.

    ``stage`` names its folder under ``out`` (whose ``split.json`` every stage shares); ``configs`` apply in
    order; ``options`` go on top. Methods leave ``unlearned.ckpt`` and ``receipt.json``, the original
    ``model.ckpt``.
    """
    args = ["fit"]
    for config in configs:
        args += ["--config", config]
    args += [
        _logger_arg(out, stage),
        f"--trainer.default_root_dir={out / stage}",
        "--trainer.enable_checkpointing=false",  # model.ckpt is saved once, atomically, after fit
        "--trainer.callbacks=[]",
        f"--data.split_file={out / 'split.json'}",  # every stage of an experiment shares its split
        *(options or StageOptions()).cli_args(),
    ]
    folder = out / stage
    if folder.is_dir() and any(folder.iterdir()):
        log.info(f"      {stage}: replaces the earlier run in {folder}")
    with warnings.catch_warnings():
        # Lightning's CSV logger warns that it deletes the metrics file of the run this stage replaces (said above)
        warnings.filterwarnings("ignore", message=r"Experiment logs directory .* exists and is not empty")
        cli = cli_main(args)
    receipt = _callback(cli, UnlearningReceipt)
    ckpt = _stage_checkpoint(cli, receipt, folder)
    timer = _callback(cli, RunTimer)
    seconds = timer.seconds
    forgetting, membership = _callback(cli, ForgettingMetrics), _callback(cli, MembershipInference)
    history = _merge_histories(forgetting.history, membership.history)
    mia = None
    if receipt.outputs:  # the receipt already evaluated the full sets
        outputs = receipt.outputs
        mia = {k: receipt.metrics[k] for k in MIA_METRICS}
    else:
        cli.trainer.test(cli.model, datamodule=cli.datamodule, verbose=False)
        outputs = forgetting.outputs
    save_outputs(outputs, out / stage / "outputs.pt")
    atomic_write_json(out / stage / "history.json", history)
    split = cli.datamodule.split
    data = cli.datamodule.data
    return StageResult(
        name=stage,
        mia=mia,
        outputs=outputs,
        random_forget_probs=_random_forget_probs(cli),
        seconds=seconds,
        history=history,
        classes=data.classes if data is not None else (),
        info={
            "epochs": cli.trainer.current_epoch,
            "eval_seconds": timer.eval_seconds,
            "eval_overhead": timer.eval_seconds / seconds if seconds > 0 else float("nan"),
            "model": type(cli.model).__name__,
            "checkpoint": str(ckpt),
            "forget_sha256": split.sha256 if split is not None else None,
        },
    )


def evaluate_stage(
    stage: str, configs: Sequence[str], ckpt: str | Path, out: Path, options: StageOptions | None = None
) -> StageResult:
    """Score a saved model on the full evaluation sets through the CLI's ``test``, without training it.

    How a model that did nothing (the original, on another forget set) is put in a table beside the methods:
    its ``seconds`` are 0.
    """
    args = ["test"]
    for config in configs:
        args += ["--config", config]
    args += [
        _logger_arg(out, stage),
        f"--trainer.default_root_dir={out / stage}",
        "--trainer.callbacks=[]",
        f"--ckpt_path={ckpt}",
        "--verbose=false",  # the report prints the metrics; Lightning's table would repeat them mid-grid
        f"--data.split_file={out / 'split.json'}",  # every stage of an experiment shares its split
        *(options or StageOptions()).cli_args(),
    ]
    cli = cli_main(args)
    outputs = _callback(cli, ForgettingMetrics).outputs
    save_outputs(outputs, out / stage / "outputs.pt")
    split, data = cli.datamodule.split, cli.datamodule.data
    return StageResult(
        name=stage,
        outputs=outputs,
        random_forget_probs=_random_forget_probs(cli),
        seconds=0.0,
        classes=data.classes if data is not None else (),
        info={
            "epochs": 0,
            "eval_seconds": 0.0,
            "eval_overhead": float("nan"),
            "model": type(cli.model).__name__,
            "checkpoint": str(ckpt),
            "forget_sha256": split.sha256 if split is not None else None,
        },
    )


def build_rows(results: Sequence[StageResult], seed: int = 0) -> list[dict[str, Any]]:
    """One report row per stage: every metric, its gap to the ``retrain`` stage, and the run-time ratio.

    With a validation set, ``avg_gap_val`` is the same gap with the validation set in place of the test set
    (:data:`~lightning_unlearn.metrics.gap.SELECTION_GAP_METRICS`): the score a recipe is chosen by.
    """
    retrain = next((r for r in results if r.name == "retrain"), None)
    rows = []
    for result in results:
        metrics = summarize(
            result.outputs,
            reference=retrain.outputs if retrain is not None else None,
            random_forget_probs=result.random_forget_probs,
            seed=seed,
            mia=result.mia,
        )
        rows.append({"method": result.name, **metrics, "seconds": result.seconds, **result.info})
    if retrain is not None:
        reference = rows[[r.name for r in results].index("retrain")]
        for row in rows:
            row["avg_gap"] = avg_gap(row, reference, GAP_METRICS)
            if all(k in row and k in reference for k in SELECTION_GAP_METRICS):
                row["avg_gap_val"] = avg_gap(row, reference, SELECTION_GAP_METRICS)
            row["RTE"] = run_time_ratio(row["seconds"], reference["seconds"])
    return rows


def write_plots(results: Sequence[StageResult], rows: Sequence[dict[str, Any]], out: Path) -> list[Path]:
    """The report's PNG plots; returns their paths."""
    paths = [out / "curves.png", out / "forget_predictions.png", out / "confidence.png"]
    histories = {r.name: r.history for r in results if r.history}
    weights = {r.name: step_series(out / r.name / "metrics.csv") for r in results}
    plot_curves(histories, {k: v for k, v in weights.items() if v}, paths[0])
    classes = results[0].classes or tuple(str(i) for i in range(len(rows[0]["forget_predicted"])))
    plot_forget_predictions({row["method"]: row["forget_predicted"] for row in rows}, classes, paths[1])
    plot_confidence({r.name: r.outputs for r in results}, paths[2])
    return paths


def resolve_methods(methods: Sequence[str], methods_dir: str | Path = "configs/methods") -> list[str]:
    """Method configs from paths or names: ``"salun"`` means ``<methods_dir>/salun.yaml``; ``"all"`` every method.

    Raises:
        FileNotFoundError: For a name or path with no config file.
    """
    from lightning_unlearn.methods import METHODS

    folder = Path(locate(methods_dir))
    resolved: list[str] = []
    for item in methods:
        if item == "all":
            names = [n for n in METHODS if n != "retrain" and (folder / f"{n}.yaml").is_file()]
            resolved += [str(folder / f"{n}.yaml") for n in names]
            continue
        path = Path(locate(item)) if item.endswith((".yaml", ".yml")) else folder / f"{item}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in folder.glob("*.yaml"))
            raise FileNotFoundError(f"no method config {path}; known methods: {known}")
        resolved.append(str(path))
    return list(dict.fromkeys(resolved))


def run_stages(
    common: list[str], original: str, retrain: str, methods: Sequence[str], out: Path, seed: int
) -> list[StageResult]:
    """Fit and test the original, the retrained model and each method in turn, one progress line each."""
    stages: list[tuple[str, str, bool]] = [("original", original, False), ("retrain", retrain, False)]
    stages += [(Path(m).stem, m, True) for m in methods]
    results = []
    for i, (name, config, is_method) in enumerate(stages, 1):
        log.info(f"[{i}/{len(stages)}] {name}: fit + test ({config})")
        options = StageOptions(seed=seed)
        if is_method:
            options = replace(
                options,
                original_ckpt=out / "original" / "model.ckpt",
                reference_outputs=out / "retrain" / "outputs.pt",
            )
        result = run_stage(name, [*common, config], out, options)
        log.info(f"      {name}: {result.seconds:.1f} s")
        results.append(result)
    return results


def run_experiment(
    data: str,
    original: str,
    retrain: str,
    methods: list[str],
    out_dir: str = "runs/demo",
    trainer: str | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Train the original, retrain, run each method, evaluate all of them and write the report and plots.

    Args:
        data: YAML config of the ``data`` section (source and forget specification), shared by every stage.
        original: YAML config of the original model (a ``ClassifierModule``) and its trainer settings.
        retrain: YAML config of the retrained model (``Retrain``), normally the original's recipe.
        methods: The unlearning methods: YAML config paths, or names of configs under ``configs/methods``
            (``"all"``: every one there); each row is named after its file's stem.
        out_dir: Output folder: ``split.json``, one folder per stage (config, metrics, ``model.ckpt``,
            ``outputs.pt``, ``history.json``), ``report.json``, ``report.md`` and the PNG plots.
        trainer: Optional YAML config of trainer settings applied to every stage (e.g. accelerator).
        seed: Seed of every stage (``seed_everything``) and of the attacks.

    Returns:
        The report rows.
    """
    data, original, retrain = (locate(p) for p in (data, original, retrain))
    trainer = locate(trainer) if trainer else None
    method_configs = resolve_methods(methods)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    common = [data] + ([trainer] if trainer else [])
    start = time.perf_counter()
    results = run_stages(common, original, retrain, method_configs, out, seed)
    hashes = {r.info["forget_sha256"] for r in results}
    if len(hashes) != 1:
        raise RuntimeError(f"stages used different forget splits: {sorted(h or '' for h in hashes)}")
    rows = build_rows(results, seed)
    plots = write_plots(results, rows, out)
    meta = {
        "forget_sha256": hashes.pop(),
        "seed": seed,
        "data": data,
        "total_seconds": round(time.perf_counter() - start, 1),
        "plots": [p.name for p in plots],
    }
    table = write_report(rows, out, meta)
    print(table, flush=True)
    log.info(f"report: {out / 'report.json'}, {out / 'report.md'}; plots: {', '.join(p.name for p in plots)}")
    return rows


def run_demo(methods: list[str] | None = None, out_dir: str = "runs/demo", seed: int = 0) -> list[dict[str, Any]]:
    """The demo (``lightning-unlearn demo``, ``make demo``): the shipped ``configs/demo/experiment.yaml``.

    Trains the original model and the retrained one on the digits (scikit-learn's, offline), runs each
    method, prints the table and writes the report. Runs from any folder: the configs are read from the
    package where the working folder has no ``configs/``.

    Args:
        methods: Method names (``configs/methods/<name>.yaml``) or ``["all"]``; default: the experiment's own.
        out_dir: Where the runs and the report go.
        seed: Seed of every stage.
    """
    import yaml

    spec = yaml.safe_load(Path(locate("configs/demo/experiment.yaml")).read_text())
    return run_experiment(
        data=spec["data"],
        original=spec["original"],
        retrain=spec["retrain"],
        methods=methods or spec["methods"],
        out_dir=out_dir,
        seed=seed,
    )
