from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from lightning_unlearn.callbacks import ForgettingMetrics, MembershipInference, RunTimer, save_outputs
from lightning_unlearn.data import ForgetSpec
from lightning_unlearn.methods import FeatureConstraintUnlearner
from lightning_unlearn.models import ClassifierModule
from tests.conftest import MODEL_ARGS, synthetic_datamodule, tiny_trainer


def test_callbacks_monitor_every_epoch_and_report_full_sets_in_test(original_ckpt, tmp_path, monkeypatch):
    from lightning_unlearn.callbacks import set_outputs

    passes = []
    predict = set_outputs.predict_outputs
    monkeypatch.setattr(set_outputs, "predict_outputs", lambda *a: passes.append(1) or predict(*a))
    dm = synthetic_datamodule(ForgetSpec(classes=[0]))
    fm, mi, timer = ForgettingMetrics(monitor_size=8), MembershipInference(every_n_epochs=2, monitor_size=8), RunTimer()
    model = FeatureConstraintUnlearner(original_ckpt=str(original_ckpt), **MODEL_ARGS)
    trainer = tiny_trainer(tmp_path, max_epochs=4, callbacks=[fm, mi, timer])
    trainer.fit(model, datamodule=dm)
    assert len(passes) == 4  # one inference pass per epoch, shared by both callbacks
    assert [row["epoch"] for row in fm.history] == [0, 1, 2, 3]
    assert [row["epoch"] for row in mi.history] == [1, 3]
    assert {"forget/acc", "retain/acc", "test/acc", "test_forget/acc", "mia/efficacy"} <= set(trainer.callback_metrics)
    assert fm.outputs["forget"].targets.numel() == 8  # the monitor subsample
    assert fm.fit_seconds > 0 and 0 < timer.eval_seconds < timer.seconds + timer.eval_seconds
    trainer.test(model, datamodule=dm, verbose=False)
    assert fm.outputs["forget"].targets.numel() == 24  # the whole class
    assert fm.outputs["test"].targets.numel() == 24 and fm.outputs["test_forget"].targets.numel() == 8
    assert {"mia/efficacy", "mia/entropy", "mia/m_entropy", "mia/loss_acc"} <= set(mi.values)


class _Probe(Callback):
    """Records every submodule's mode and the global RNG states at each training epoch's end."""

    def __init__(self) -> None:
        self.seen: list[tuple] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        modes = {name: m.training for name, m in pl_module.named_modules()}
        self.seen.append((modes, torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()))


def test_monitor_leaves_module_modes_and_rng_untouched(original_ckpt, tmp_path):
    # The probes run just before and just after both monitors, inside fit: whatever the monitors do in between
    # (eval mode, inference, the attack's SVM) must leave the modes and every RNG as they found them.
    model = FeatureConstraintUnlearner(original_ckpt=str(original_ckpt), teacher_norm="running", **MODEL_ARGS)
    before, after = _Probe(), _Probe()
    monitors = [ForgettingMetrics(monitor_size=8), MembershipInference(every_n_epochs=1, monitor_size=8)]
    trainer = tiny_trainer(tmp_path, max_epochs=2, callbacks=[before, *monitors, after])
    trainer.fit(model, datamodule=synthetic_datamodule())
    assert len(before.seen) == len(after.seen) == 2 and len(monitors[1].history) == 2
    for (modes, *rngs), (modes_after, *rngs_after) in zip(before.seen, after.seen, strict=True):
        assert modes["net"] and not modes["teacher"]  # in training, with the frozen teacher in eval mode
        assert modes_after == modes
        torch_rng, python_rng, numpy_rng = rngs
        assert torch.equal(rngs_after[0], torch_rng) and rngs_after[1] == python_rng
        assert np.array_equal(rngs_after[2], numpy_rng)


def test_reference_outputs_give_js_to_retrain(original_ckpt, tmp_path):
    dm = synthetic_datamodule()
    reference = ClassifierModule(**MODEL_ARGS)
    fm = ForgettingMetrics(monitor_size=None)
    tiny_trainer(tmp_path, callbacks=[fm]).test(reference, datamodule=dm, ckpt_path=str(original_ckpt), verbose=False)
    save_outputs(fm.outputs, tmp_path / "ref.pt")
    same = ForgettingMetrics(monitor_size=None, reference_outputs=str(tmp_path / "ref.pt"))
    tiny_trainer(tmp_path, callbacks=[same]).test(reference, datamodule=dm, ckpt_path=str(original_ckpt), verbose=False)
    assert same.values["forget/js_retrain"] == pytest.approx(0.0, abs=1e-6)
    assert same.values["test/js_retrain"] == pytest.approx(0.0, abs=1e-6)


def _test_metrics(tmp_path, original_ckpt, **trainer_kwargs):
    # 23 forget and 73 retain samples: odd sizes, so a 2-rank sampler pads each with a repeat
    dm = synthetic_datamodule(ForgetSpec(indices=list(range(0, 92, 4))), eval_batch_size=8)
    model = ClassifierModule(**MODEL_ARGS)
    callbacks = [ForgettingMetrics(monitor_size=None), MembershipInference(every_n_epochs=0, monitor_size=None)]
    trainer = tiny_trainer(tmp_path, callbacks=callbacks, **trainer_kwargs)
    trainer.test(model, datamodule=dm, ckpt_path=str(original_ckpt), verbose=False)
    return {k: float(v) for k, v in trainer.callback_metrics.items()}


def test_two_rank_ddp_gives_the_same_metrics_as_one_rank(tmp_path, original_ckpt):
    one = _test_metrics(tmp_path / "one", original_ckpt)
    two = _test_metrics(tmp_path / "two", original_ckpt, strategy="ddp_spawn", devices=2)
    assert set(one) == set(two) and "mia/efficacy" in one
    for key, value in one.items():
        assert two[key] == pytest.approx(value, abs=1e-4), key


def test_sample_collector_counts_padded_duplicates_once():
    from lightning_unlearn.metrics import SampleOutputCollector

    c = SampleOutputCollector()
    probs = torch.eye(3)
    c.update(probs, torch.tensor([0, 1, 2]), torch.tensor([7, 8, 9]))
    c.update(probs[:1], torch.tensor([0]), torch.tensor([7]))  # the padding repeat of a distributed sampler
    out = c.compute()
    assert out.indices.tolist() == [7, 8, 9] and out.correct.all()
