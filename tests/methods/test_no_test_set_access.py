"""No training decision of the feature-constraint unlearner reads the test set: its control uses the holdout."""

from __future__ import annotations

import pytest
import torch

from lightning_unlearn.callbacks import ForgettingMetrics
from lightning_unlearn.data import ForgetSpec
from lightning_unlearn.methods import FeatureConstraintUnlearner
from tests.conftest import MODEL_ARGS, synthetic_datamodule, tiny_trainer


class TestSetTouched(AssertionError):
    pass


class Poisoned(torch.utils.data.Dataset):
    """Stands in for a test set: any read raises."""

    def __len__(self) -> int:
        raise TestSetTouched("the test set was read")

    def __getitem__(self, index):
        raise TestSetTouched("the test set was read")

    def __getitems__(self, indices):
        raise TestSetTouched("the test set was read")


def _guarded_datamodule(spec):
    dm = synthetic_datamodule(spec, holdout_fraction=0.2)
    original_setup = dm.setup

    def setup(stage=None):
        original_setup(stage)
        for name in [n for n in dm.eval_sets if n.startswith("test")]:
            dm.eval_sets[name] = Poisoned()

    dm.setup = setup
    return dm


@pytest.mark.parametrize("spec", [ForgetSpec(fraction=0.2, seed=0), ForgetSpec(classes=[0])], ids=["random", "class"])
def test_unlearning_with_holdout_control_never_reads_the_test_set(spec, original_ckpt, tmp_path):
    model = FeatureConstraintUnlearner(original_ckpt=str(original_ckpt), **MODEL_ARGS)
    trainer = tiny_trainer(tmp_path, max_epochs=3, callbacks=[])
    trainer.fit(model, datamodule=_guarded_datamodule(spec))
    assert model.control_kind is not None and trainer.global_step > 0


def test_the_guard_does_catch_a_reader(original_ckpt, tmp_path):
    model = FeatureConstraintUnlearner(original_ckpt=str(original_ckpt), **MODEL_ARGS)
    trainer = tiny_trainer(tmp_path, max_epochs=1, callbacks=[ForgettingMetrics(monitor_size=8)])
    with pytest.raises(TestSetTouched):  # the metric monitor does read it: for reporting, after each epoch
        trainer.fit(model, datamodule=_guarded_datamodule(ForgetSpec(classes=[0])))
