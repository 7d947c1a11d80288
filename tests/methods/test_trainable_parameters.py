"""Each method trains exactly what its paper trains, and nothing else moves."""

from __future__ import annotations

import pytest
import torch

from lightning_unlearn.methods import (
    SCRUB,
    SSD,
    UNSIR,
    Amnesiac,
    BadTeacher,
    BoundaryShrink,
    FineTune,
    GradientAscent,
    L1Sparse,
    NegGradPlus,
    RandomLabels,
    SalUn,
)
from tests.conftest import MODEL_ARGS, synthetic_datamodule, tiny_trainer

FULL_NETWORK = [
    FineTune,
    GradientAscent,
    NegGradPlus,
    RandomLabels,
    Amnesiac,
    L1Sparse,
    BadTeacher,
    SCRUB,
    UNSIR,
    BoundaryShrink,
]
FROZEN = {BadTeacher: ("competent", "incompetent"), SCRUB: ("teacher",), BoundaryShrink: ("original",)}


def _fit(cls, original_ckpt, tmp_path, **kwargs):
    model = cls(original_ckpt=str(original_ckpt), **MODEL_ARGS, **kwargs)
    frozen = {
        name: {k: v.clone() for k, v in getattr(model, name).state_dict().items()} for name in FROZEN.get(cls, ())
    }
    before = {k: v.detach().clone() for k, v in model.net.named_parameters()}
    trainer = tiny_trainer(tmp_path, max_epochs=2)
    trainer.fit(model, datamodule=synthetic_datamodule())
    return model, trainer, before, frozen


@pytest.mark.parametrize("cls", FULL_NETWORK, ids=lambda c: c.__name__)
def test_methods_train_the_whole_network_and_only_it(cls, original_ckpt, tmp_path):
    model, trainer, before, frozen = _fit(cls, original_ckpt, tmp_path, lr=0.05)
    optimised = {id(p) for g in trainer.optimizers[0].param_groups for p in g["params"]}
    assert optimised == {id(p) for p in model.net.parameters()}
    assert any(not torch.equal(p, before[k]) for k, p in model.net.named_parameters())
    for name, state in frozen.items():
        module = getattr(model, name)
        assert not module.training and all(not p.requires_grad for p in module.parameters())
        for k, v in module.state_dict().items():
            assert torch.equal(v, state[k]), f"{cls.__name__}.{name}.{k} moved"


def test_salun_moves_only_salient_weights_even_with_momentum_and_weight_decay(original_ckpt, tmp_path):
    model, _, before, _ = _fit(SalUn, original_ckpt, tmp_path, mask_ratio=0.3, lr=0.05, weight_decay=0.01)
    masks = model.masks()
    salient = sum(int(m.sum()) for m in masks.values())
    total = sum(m.numel() for m in masks.values())
    assert salient / total == pytest.approx(0.3, abs=0.02)
    for name, p in model.net.named_parameters():
        assert torch.equal(p[~masks[name]], before[name][~masks[name]]), name
    assert any(not torch.equal(p[masks[n]], before[n][masks[n]]) for n, p in model.net.named_parameters())


def test_ssd_takes_no_gradient_step_and_only_shrinks_selected_weights(original_ckpt, tmp_path):
    model, trainer, before, _ = _fit(SSD, original_ckpt, tmp_path, selection_weight=2.0)
    assert trainer.global_step == 0 and model.dampened_fraction > 0
    for name, p in model.net.named_parameters():
        assert (p.abs() <= before[name].abs() + 1e-7).all(), name
        assert ((p == before[name]) | (p.sign() == before[name].sign())).all(), name


def test_a_users_one_shot_method_needs_only_its_edit_which_runs_once_and_is_kept(original_ckpt, tmp_path):
    from lightning_unlearn.methods import OneShotUnlearningModule

    class ZeroLastLayerBias(OneShotUnlearningModule):
        edits = 0

        def edit(self):
            type(self).edits += 1
            with torch.no_grad():
                list(self.net.parameters())[-1].zero_()

    model, trainer, before, _ = _fit(ZeroLastLayerBias, original_ckpt, tmp_path)
    assert ZeroLastLayerBias.edits == 1 and trainer.global_step == 0
    *body, last = list(model.net.named_parameters())
    assert float(before[last[0]].abs().sum()) > 0 and float(last[1].abs().sum()) == 0
    assert all(torch.equal(p, before[name]) for name, p in body)
    with pytest.raises(RuntimeError, match="one-shot edit and takes no gradient steps"):
        model.loss(None, None)


def test_unsir_labels_each_noise_image_with_its_own_class(original_ckpt, tmp_path):
    from lightning_unlearn.data import ForgetSpec

    model = UNSIR(original_ckpt=str(original_ckpt), noise_per_class=4, noise_steps=3, **MODEL_ARGS)
    tiny_trainer(tmp_path, max_epochs=1).fit(model, datamodule=synthetic_datamodule(ForgetSpec(classes=[1, 3])))
    assert model.noise_classes.tolist() == [1, 3] and model.noise.shape[:2] == (2, 4)
    torch.manual_seed(0)
    noise = model.noise_batch(torch.tensor([3, 1, 3]))
    assert any(torch.equal(noise[0], model.noise[1, i]) for i in range(4))
    assert any(torch.equal(noise[1], model.noise[0, i]) for i in range(4))


def test_boundary_shrink_neighbour_labels_are_never_the_true_label(original_ckpt):
    model = BoundaryShrink(original_ckpt=str(original_ckpt), **MODEL_ARGS)
    dm = synthetic_datamodule()
    dm.setup("fit")
    batch = dm.prepare_batch(dm.eval_sets["retain"].__getitems__(list(range(32))))
    labels = model.neighbour_labels(batch)
    assert (labels != batch.targets).all()


def test_random_labels_are_fixed_per_sample_and_exclude_the_truth_when_asked():
    from lightning_unlearn.losses import random_labels

    targets, indices = torch.randint(0, 10, (500,)), torch.arange(500)
    a = random_labels(targets, indices, 10, seed=1, exclude_true=True)
    assert torch.equal(a, random_labels(targets, indices, 10, seed=1, exclude_true=True))
    assert (a != targets).all() and len(torch.unique(a)) == 10
    b = random_labels(targets, indices, 10, seed=1, exclude_true=False)
    assert 0 < int((b == targets).sum()) < 100  # about a tenth keep their label by chance
