"""Optimiser, schedule and balancer are injected classes: from YAML through the CLI, from Python, into checkpoints."""

from __future__ import annotations

import functools
import math
import re

import pytest
import torch
import yaml

from lightning_unlearn.cli import cli_main
from lightning_unlearn.losses import ConstrainedWeighting, FixedWeights
from lightning_unlearn.methods import FeatureConstraintUnlearner, FineTune
from lightning_unlearn.models import ClassifierModule
from lightning_unlearn.models.optim import NesterovSGD, WarmupCosineDecay, WarmupLinearDecay, injected_record
from tests.conftest import MODEL_ARGS, synthetic_datamodule, tiny_trainer
from tests.paths import ROOT
from tests.test_cli import DATA


def _readme_injection_block() -> dict:
    text = (ROOT / "README.md").read_text()
    block = re.search(
        r"<!-- injection-example:start -->\s*```yaml\n(.*?)```\s*<!-- injection-example:end -->", text, re.S
    )
    assert block, "README injection example markers not found"
    return yaml.safe_load(block.group(1))


def _optimizer_and_schedule(module, tmp_path):
    trainer = tiny_trainer(tmp_path, max_epochs=1)
    trainer.fit(module, datamodule=synthetic_datamodule())
    return trainer.optimizers[0], trainer.lr_scheduler_configs[0].scheduler if trainer.lr_scheduler_configs else None


def test_the_readme_injection_example_runs_through_the_cli_and_its_checkpoint_rebuilds_it(tmp_path, original_ckpt):
    model = _readme_injection_block()["model"]
    model["init_args"].update(original_ckpt=str(original_ckpt), arch="small_cnn", arch_kwargs={"width": 4})
    cfg = {**DATA, "model": model, "trainer": {**DATA["trainer"], "default_root_dir": str(tmp_path), "max_epochs": 1}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    cli = cli_main(["fit", "--config", str(path)])
    opt = cli.trainer.optimizers[0]
    assert type(opt) is torch.optim.AdamW and opt.defaults["betas"] == (0.9, 0.99)
    scheduler = cli.trainer.lr_scheduler_configs[0].scheduler
    assert type(scheduler) is WarmupCosineDecay and scheduler.warmup_steps == 0
    assert type(cli.model.balancer) is FixedWeights and cli.model.balancer.weights.tolist() == [1.0, 1.0]

    ckpt = tmp_path / "unlearned.ckpt"
    cli.trainer.save_checkpoint(ckpt)
    assert torch.load(ckpt, weights_only=True)["hyper_parameters"]["balancer"]["class_path"].endswith("FixedWeights")
    restored = FeatureConstraintUnlearner.load_from_checkpoint(ckpt, weights_only=True)
    assert type(restored.balancer) is FixedWeights
    # the restored module records what it was rebuilt with, so its own checkpoints rebuild it again
    assert tuple(restored.hparams["optimizer"]["init_args"]["betas"]) == (0.9, 0.99)
    opt, scheduler = _optimizer_and_schedule(restored, tmp_path / "again")
    assert type(opt) is torch.optim.AdamW and opt.defaults["betas"] == (0.9, 0.99)
    assert type(scheduler) is WarmupCosineDecay and scheduler.warmup_steps == 0


def test_a_module_built_in_python_records_its_injected_classes_as_plain_data(tmp_path, original_ckpt):
    module = FeatureConstraintUnlearner(
        original_ckpt=str(original_ckpt),
        **MODEL_ARGS,
        optimizer=functools.partial(torch.optim.SGD, momentum=0.5),
        lr_scheduler=None,
        balancer=functools.partial(FixedWeights, weights=[2.0, 1.0]),
    )
    assert module.hparams["optimizer"] == {"class_path": "torch.optim.sgd.SGD", "init_args": {"momentum": 0.5}}
    assert module.hparams["balancer"]["class_path"] == "lightning_unlearn.losses.balancers.FixedWeights"
    assert module.hparams["lr_scheduler"] is None
    trainer = tiny_trainer(tmp_path, max_epochs=1)
    trainer.fit(module, datamodule=synthetic_datamodule())
    assert not trainer.lr_scheduler_configs  # None: a constant rate
    ckpt = tmp_path / "unlearned.ckpt"
    trainer.save_checkpoint(ckpt)
    restored = FeatureConstraintUnlearner.load_from_checkpoint(ckpt, weights_only=True)
    assert restored.balancer.weights.tolist() == [2.0, 1.0]
    opt, scheduler = _optimizer_and_schedule(restored, tmp_path / "again")
    assert type(opt) is torch.optim.SGD and opt.defaults["momentum"] == 0.5 and scheduler is None


def test_defaults_are_nesterov_sgd_with_one_cycle_and_the_methods_own(original_ckpt, tmp_path):
    opt, scheduler = _optimizer_and_schedule(ClassifierModule(**MODEL_ARGS, lr=0.1), tmp_path / "classifier")
    assert type(opt) is NesterovSGD and opt.defaults["momentum"] == 0.9 and opt.defaults["nesterov"] is True
    assert type(scheduler) is WarmupLinearDecay
    assert opt.param_groups[0]["weight_decay"] == 5e-4 and opt.param_groups[1]["weight_decay"] == 0.0
    _, scheduler = _optimizer_and_schedule(FineTune(original_ckpt=str(original_ckpt), **MODEL_ARGS), tmp_path / "ft")
    assert scheduler is None  # fine-tuning keeps its rate constant unless told otherwise


def test_schedules_warm_up_then_decay_to_zero():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    linear = WarmupLinearDecay(opt, total_steps=100, warmup_fraction=0.1)
    assert [linear.factor(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert [linear.factor(s) for s in (10, 55, 100, 150)] == pytest.approx([1.0, 0.5, 0.0, 0.0])
    cosine = WarmupCosineDecay(opt, total_steps=100, warmup_fraction=0.0)
    assert [cosine.factor(s) for s in (0, 50, 100)] == pytest.approx([1.0, 0.5, 0.0])
    assert cosine.factor(25) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    with pytest.raises(ValueError, match="warmup_fraction"):
        WarmupCosineDecay(opt, total_steps=10, warmup_fraction=1.0)
    with pytest.raises(ValueError, match="total_steps"):
        WarmupLinearDecay(opt, total_steps=0)


def test_a_torch_schedule_without_total_steps_is_refused_not_fed_the_step_count(tmp_path):
    # ExponentialLR's second argument is gamma: handed the step count there, the rate would explode
    module = ClassifierModule(**MODEL_ARGS, lr_scheduler=functools.partial(torch.optim.lr_scheduler.ExponentialLR))
    with pytest.raises(TypeError, match="takes no total_steps"):
        _optimizer_and_schedule(module, tmp_path)


def test_the_schedule_state_leaves_the_step_plan_to_the_resumed_run():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    first = WarmupLinearDecay(opt, total_steps=10, warmup_fraction=0.0)
    for _ in range(4):
        opt.step()
        first.step()
    state = first.state_dict()
    assert "total_steps" not in state and "warmup_steps" not in state
    longer = WarmupLinearDecay(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), total_steps=20)
    longer.load_state_dict(state)
    assert longer.total_steps == 20 and longer.last_epoch == 4


def _unannotated(params, lr):
    return torch.optim.SGD(params, lr=lr)


def _annotated(params, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr)


def test_callables_no_import_path_rebuilds_are_refused(original_ckpt):
    with pytest.raises(ValueError, match=r"cannot record .*lambda"):
        FeatureConstraintUnlearner(
            original_ckpt=str(original_ckpt), **MODEL_ARGS, optimizer=lambda groups, lr: torch.optim.SGD(groups, lr)
        )
    with pytest.raises(ValueError, match="by keyword"):
        injected_record(functools.partial(FixedWeights, [1.0, 1.0]))
    with pytest.raises(ValueError, match="partial of a class"):
        injected_record(functools.partial(_unannotated, lr=0.1))
    with pytest.raises(ValueError, match="annotate its return type"):
        injected_record(_unannotated)
    assert injected_record(ConstrainedWeighting) == {
        "class_path": "lightning_unlearn.losses.balancers.ConstrainedWeighting"
    }
    assert injected_record(torch.optim.Adam) == {"class_path": "torch.optim.adam.Adam"}
    assert injected_record(_annotated) == f"{__name__}._annotated" and injected_record(3) == 3
