"""Every method on the digits class-forgetting case, through the CLI with its shipped config (bounds: see EXPECTED)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_unlearn.callbacks import ForgettingMetrics
from lightning_unlearn.cli import cli_main
from lightning_unlearn.experiment import StageOptions, run_stage
from lightning_unlearn.metrics import accuracy
from tests.paths import DEMO, METHOD_CONFIGS, ROOT

#: Points between each bound and the worst value measured over seeds and thread counts.
MARGIN = 3.0

#: (largest forget accuracy, smallest retain accuracy) after unlearning; the original scores 100 / 100. Each bound
#: sits MARGIN points outside what ``benchmarks/digits_recipes.py`` measured for the shipped recipe over 5 seeds of
#: the original x 1 and 2 torch threads (``docs/results/digits_recipes.json``; checked below), so a failure here
#: means a recipe or a method changed, not the machine. UNSIR's own spread is wide (2-39 % of the class left).
EXPECTED = {
    "finetune": (7.0, 96.0),
    "gradient_ascent": (5.0, 95.0),
    "neggrad_plus": (5.0, 97.0),
    "random_labels": (13.0, 97.0),
    "bad_teacher": (5.0, 96.0),
    "unsir": (43.0, 96.0),
    "scrub": (5.0, 97.0),
    "salun": (13.0, 97.0),
    "l1_sparse": (5.0, 95.0),
    "boundary_shrink": (5.0, 95.0),
    "amnesiac": (5.0, 96.0),
    "ssd": (5.0, 96.0),
    "feature_constraint": (5.0, 96.0),
}


def test_bounds_sit_outside_the_measured_spread():
    runs = json.loads((ROOT / "docs" / "results" / "digits_recipes.json").read_text())["runs"]
    assert {(r["seed"], r["threads"]) for r in runs} == {(s, t) for s in range(5) for t in (1, 2)}
    for name, (max_forget, min_retain) in EXPECTED.items():
        forget = max(r["values"][name]["forget"] for r in runs)
        retain = min(r["values"][name]["retain"] for r in runs)
        assert max_forget >= forget + MARGIN and min_retain <= retain - MARGIN, (name, forget, retain)


def train_digits_original(out: Path, seed: int = 0) -> tuple[Path, float]:
    """The demo's original model, trained as ``make demo`` trains it; its checkpoint and forget accuracy.

    Also used by ``benchmarks/digits_recipes.py`` (other seeds).
    """
    result = run_stage("original", [str(DEMO / "data.yaml"), str(DEMO / "original.yaml")], out, StageOptions(seed=seed))
    forget = result.outputs["forget"]
    return out / "original" / "model.ckpt", accuracy(forget.probs, forget.targets)


@pytest.fixture(scope="module")
def digits_original(tmp_path_factory):
    ckpt, forget_accuracy = train_digits_original(tmp_path_factory.mktemp("digits"))
    assert forget_accuracy == 100.0
    return ckpt


def unlearn_digits(method: str, original_ckpt: str | Path, root: str | Path, overrides: tuple[str, ...] = ()) -> dict:
    """Run ``configs/methods/<method>.yaml`` (plus CLI ``overrides``) on the digits original, as the test does.

    Returns the forget and retain accuracy (also used by ``benchmarks/digits_recipes.py``).
    """
    cli = cli_main(
        [
            "fit",
            f"--config={DEMO / 'data.yaml'}",
            f"--config={METHOD_CONFIGS / f'{method}.yaml'}",
            *overrides,
            f"--model.init_args.original_ckpt={original_ckpt}",
            f"--trainer.default_root_dir={root}",
            "--trainer.logger=false",
            "--trainer.enable_checkpointing=false",
            "--trainer.callbacks=[]",
            "--seed_everything=0",
        ]
    )
    cli.trainer.test(cli.model, datamodule=cli.datamodule, verbose=False)
    outputs = next(cb for cb in cli.trainer.callbacks if isinstance(cb, ForgettingMetrics)).outputs
    return {name: accuracy(outputs[name].probs, outputs[name].targets) for name in ("forget", "retain")}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_method_forgets_the_class_and_keeps_the_rest(name, digits_original, tmp_path):
    acc = unlearn_digits(name, digits_original, tmp_path)
    max_forget, min_retain = EXPECTED[name]
    assert acc["forget"] <= max_forget, f"{name}: forget accuracy {acc['forget']:.2f}"
    assert acc["retain"] >= min_retain, f"{name}: retain accuracy {acc['retain']:.2f}"
