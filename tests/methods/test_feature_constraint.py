from __future__ import annotations

import functools

import pytest
import torch

from lightning_unlearn.data import Batch, ForgetSpec
from lightning_unlearn.losses import ConstrainedWeighting, FixedWeights, unlikelihood
from lightning_unlearn.methods import FeatureConstraintUnlearner, Retrain
from lightning_unlearn.models.checkpoint import CheckpointError
from tests.conftest import MODEL_ARGS, synthetic_datamodule, tiny_trainer


def _unlearner(original_ckpt, **kwargs) -> FeatureConstraintUnlearner:
    return FeatureConstraintUnlearner(original_ckpt=str(original_ckpt), **MODEL_ARGS, **kwargs)


def test_student_starts_as_the_original_and_teacher_is_random_and_seeded(original_ckpt):
    a = _unlearner(original_ckpt, teacher_seed=7)
    b = _unlearner(original_ckpt, teacher_seed=7)
    c = _unlearner(original_ckpt, teacher_seed=8)
    state = torch.load(original_ckpt, weights_only=True)["state_dict"]
    torch.testing.assert_close(a.net.head.weight, state["net.head.weight"])
    torch.testing.assert_close(a.teacher.head.weight, b.teacher.head.weight)
    assert not torch.equal(a.teacher.head.weight, c.teacher.head.weight)
    assert not torch.equal(a.teacher.head.weight, a.net.head.weight)


def test_teacher_is_frozen_and_absent_from_the_optimizer(original_ckpt, tmp_path):
    model = _unlearner(original_ckpt)
    before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    trainer = tiny_trainer(tmp_path, max_epochs=2)
    trainer.fit(model, datamodule=synthetic_datamodule())
    assert all(not p.requires_grad for p in model.teacher.parameters())
    optimised = {id(p) for group in trainer.optimizers[0].param_groups for p in group["params"]}
    assert not optimised & {id(p) for p in model.teacher.parameters()}
    assert id(model.balancer.log_var) in optimised
    balancer_group = next(g for g in trainer.optimizers[0].param_groups if g["name"] == "balancer")
    assert balancer_group["weight_decay"] == 0.0
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, before[k]), k  # batch-norm buffers included


def test_teacher_is_restored_bit_identically_from_a_checkpoint(original_ckpt, tmp_path):
    model = _unlearner(original_ckpt, teacher_seed=3)
    trainer = tiny_trainer(tmp_path, max_epochs=1)
    trainer.fit(model, datamodule=synthetic_datamodule())
    path = tmp_path / "unlearned.ckpt"
    trainer.save_checkpoint(path)
    restored = FeatureConstraintUnlearner.load_from_checkpoint(path, weights_only=True)
    assert restored.teacher_seed == 3
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, restored.teacher.state_dict()[k]), k
    for k, v in model.net.state_dict().items():
        assert torch.equal(v, restored.net.state_dict()[k]), k


@pytest.mark.parametrize("teacher_norm", ["running", "batch"])
def test_teacher_mode_survives_train_and_eval_switches(original_ckpt, teacher_norm):
    model = _unlearner(original_ckpt, teacher_norm=teacher_norm)
    # the teacher behaves the same whatever the module's mode: batch statistics always, or running ones always
    model.train()
    assert model.net.training and model.teacher.training == (teacher_norm == "batch")
    model.eval()
    assert not model.net.training and model.teacher.training == (teacher_norm == "batch")


def test_loss_terms_and_weights(original_ckpt):
    model = _unlearner(original_ckpt, balancer=functools.partial(FixedWeights, weights=[2.0, 3.0]))
    dm = synthetic_datamodule()
    dm.setup("fit")
    forget = dm.prepare_batch(dm.eval_sets["forget"].__getitems__(list(range(8))))
    retain = dm.prepare_batch(dm.eval_sets["retain"].__getitems__(list(range(8))))
    terms = model.loss(forget, retain)
    assert terms["loss"].item() == pytest.approx(2 * terms["forget_loss"].item() + 3 * terms["recover_loss"].item())
    assert 0 <= terms["forget_loss"].item() <= 4  # normalised MSE of unit vectors
    assert terms["weight_forget"].item() == 2.0


def test_unlikelihood_is_minus_log_of_the_other_classes_mass_and_finite_when_saturated():
    logits = torch.tensor([[0.0, 0.0], [2.0, 0.0], [100.0, 0.0]], requires_grad=True)
    values = unlikelihood(logits, torch.tensor([0, 1, 0]))
    p_other = torch.tensor([0.5, 1 / (1 + torch.e**-2), 0.0])  # 1 - p_y
    torch.testing.assert_close(values[:2], -torch.log(p_other[:2]))
    assert torch.isfinite(values).all() and values[2] > 13  # capped near -log(1e-6), not inf
    values.sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[0, 0] > 0 and logits.grad[1, 1] > 0  # descending it lowers the label's logit


def test_unlikelihood_share_mixes_the_forget_loss_per_sample(original_ckpt):
    dm = synthetic_datamodule()
    dm.setup("fit")
    forget = dm.prepare_batch(dm.eval_sets["forget"].__getitems__(list(range(8))))
    retain = dm.prepare_batch(dm.eval_sets["retain"].__getitems__(list(range(8))))
    plain = _unlearner(original_ckpt, balancer=FixedWeights)
    mixed = _unlearner(original_ckpt, balancer=FixedWeights, unlikelihood_share=0.25)
    plain.eval(), mixed.eval()  # batch norm on running statistics: the same logits in and outside loss()
    with torch.no_grad():
        logits = mixed.net(mixed._format(forget.inputs))
        expected = 0.75 * plain.loss(forget, retain)["forget_loss"] + 0.25 * unlikelihood(logits, forget.targets).mean()
        got = mixed.loss(forget, retain)["forget_loss"]
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert unlikelihood(logits, forget.targets).mean() > 1.0  # the term is not negligible here: the test can fail


def test_intermediate_feature_layer(original_ckpt):
    model = _unlearner(original_ckpt, feature_layer="features.2")
    feats, logits = model._features(model.net, torch.randn(3, 1, 8, 8))
    assert feats.shape == (3, 4 * 8 * 8) and logits.shape == (3, 4)
    with pytest.raises(ValueError, match="not a submodule"):
        _unlearner(original_ckpt, feature_layer="nope")


def test_unlearning_forgets_the_class_and_keeps_the_rest(original_ckpt, tmp_path):
    dm = synthetic_datamodule()
    model = _unlearner(original_ckpt, retain_share=0.5, lr=0.05)
    trainer = tiny_trainer(tmp_path, max_epochs=15)
    before = trainer.validate(model, datamodule=dm, verbose=False)[0]
    trainer.fit(model, datamodule=dm)
    logged = set(trainer.logged_metrics)
    after = trainer.validate(model, datamodule=dm, verbose=False)[0]
    assert before["forget/acc"] == 100.0 and before["retain/acc"] == 100.0
    assert after["forget/acc"] <= 10.0
    assert after["retain/acc"] >= 90.0
    assert {"train/forget_loss", "train/recover_loss", "train/weight_forget", "train/weight_recover"} <= set(logged)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(retain_share=0.0), ValueError, r"retain_share must lie in \(0, 1\]"),
        (dict(retain_share=1.5), ValueError, r"retain_share must lie in \(0, 1\]"),
        (dict(original_ckpt=None), ValueError, "set original_ckpt"),
        (dict(original_ckpt="missing.ckpt"), CheckpointError, "checkpoint not found"),
        (dict(distance="kl"), ValueError, "unknown feature distance"),
        (dict(balancer=functools.partial(FixedWeights, weights=[1.0])), ValueError, "LossBalancer of 2 losses"),
        (dict(balancer=torch.nn.Identity), ValueError, "LossBalancer of 2 losses"),
        (dict(unlikelihood_share=1.5), ValueError, r"unlikelihood_share must lie in \[0, 1\]"),
        (dict(unlikelihood_share=-0.1), ValueError, r"unlikelihood_share must lie in \[0, 1\]"),
    ],
)
def test_bad_settings_fail_at_construction(original_ckpt, kwargs, error, message):
    args = dict(original_ckpt=str(original_ckpt), **MODEL_ARGS)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        FeatureConstraintUnlearner(**args)


def test_original_trained_on_other_data_is_refused_before_training(original_ckpt, tmp_path):
    from lightning_unlearn.data import ForgetSpec, Synthetic, UnlearningDataModule

    other = UnlearningDataModule(Synthetic(num_classes=4, train_per_class=24, seed=5), ForgetSpec(classes=[0]))
    model = _unlearner(original_ckpt)
    weights = model.net.head.weight.clone()
    with pytest.raises(CheckpointError, match="trained on other data"):
        tiny_trainer(tmp_path, max_epochs=1).fit(model, datamodule=other)
    assert torch.equal(model.net.head.weight, weights)


def test_retrained_checkpoint_is_not_accepted_as_original(tmp_path):
    dm = synthetic_datamodule()
    retrain = Retrain(**MODEL_ARGS)
    trainer = tiny_trainer(tmp_path, max_epochs=1)
    trainer.fit(retrain, datamodule=dm)
    path = tmp_path / "retrain.ckpt"
    trainer.save_checkpoint(path, weights_only=True)
    model = _unlearner(path)
    with pytest.raises(CheckpointError, match="not on the whole training set"):
        tiny_trainer(tmp_path, max_epochs=1).fit(model, datamodule=synthetic_datamodule())


def test_non_finite_loss_stops_training_naming_the_step_and_term(original_ckpt, tmp_path):
    class Exploding(FeatureConstraintUnlearner):
        def loss(self, forget: Batch | None, retain: Batch | None):
            terms = dict(super().loss(forget, retain))
            if self.global_step == 2:
                terms["recover_loss"] = terms["recover_loss"] * float("inf")
            return terms

    model = Exploding(original_ckpt=str(original_ckpt), **MODEL_ARGS)
    with pytest.raises(FloatingPointError, match=r"step 2: \{'recover_loss': inf\}"):
        tiny_trainer(tmp_path, max_epochs=3).fit(model, datamodule=synthetic_datamodule())


def test_holdout_control_is_resolved_from_the_data_and_stops_pushing_forgotten_samples(original_ckpt, tmp_path):
    from lightning_unlearn.data import ForgetSpec

    random_dm = synthetic_datamodule(ForgetSpec(fraction=0.2, seed=0), holdout_fraction=0.2)
    model = _unlearner(original_ckpt, retain_share=0.5)
    trainer = tiny_trainer(tmp_path, max_epochs=3)
    trainer.fit(model, datamodule=random_dm)
    assert model.control_kind == "true_class" and model.unseen_reference.numel() == 19
    assert 0.0 <= float(trainer.logged_metrics["train/pushed_share"]) <= 1.0
    class_dm = synthetic_datamodule(ForgetSpec(classes=[0]), holdout_fraction=0.2)
    classwise = _unlearner(original_ckpt)
    tiny_trainer(tmp_path, max_epochs=1).fit(classwise, datamodule=class_dm)
    assert classwise.control_kind == "wrong_class" and classwise.unseen_reference.numel() == 19 * 3
    plain = _unlearner(original_ckpt)
    tiny_trainer(tmp_path, max_epochs=1).fit(plain, datamodule=synthetic_datamodule())
    assert plain.control_kind is None  # no holdout: the paper's literal reading
    with pytest.raises(ValueError, match="needs a holdout set"):
        tiny_trainer(tmp_path, max_epochs=1).fit(
            _unlearner(original_ckpt, control="holdout"), datamodule=synthetic_datamodule()
        )


def test_cached_teacher_features_are_the_teachers_features_of_each_forget_image(original_ckpt, tmp_path):
    model = _unlearner(original_ckpt, cache_teacher=True, teacher_norm="running")  # per-sample, batch-independent
    dm = synthetic_datamodule()
    tiny_trainer(tmp_path, max_epochs=1).fit(model, datamodule=dm)
    forget = dm.monitor_sets(None)["forget"]
    assert model.teacher_index.tolist() == forget.indices.tolist() == dm.split.forget.tolist()
    prepared = dm.prepare_batch(forget)
    with torch.no_grad():
        expected = model.teacher.forward_features(prepared.inputs)[0]
    torch.testing.assert_close(model.teacher_features, expected)
    shuffled = Batch(*(t.flip(0)[:5] for t in prepared))  # a batch in another order gets its own rows
    torch.testing.assert_close(model._teacher_target(shuffled), expected.flip(0)[:5])


def test_constrained_balance_needs_the_holdout_control_and_moves_the_forget_weight(original_ckpt, tmp_path):
    from lightning_unlearn.data import ForgetSpec

    with pytest.raises(ValueError, match="ConstrainedWeighting raises"):
        tiny_trainer(tmp_path, max_epochs=1).fit(
            _unlearner(original_ckpt, balancer=ConstrainedWeighting), datamodule=synthetic_datamodule()
        )
    model = _unlearner(original_ckpt, balancer=ConstrainedWeighting, balancer_lr=0.5)
    dm = synthetic_datamodule(ForgetSpec(classes=[0]), holdout_fraction=0.2)
    trainer = tiny_trainer(tmp_path, max_epochs=2)
    trainer.fit(model, datamodule=dm)
    # the original still knows class 0, so the control finds memorised samples and the weight rises from 1
    assert float(model.balancer.log_weight) > 0.1
    assert "train/weight_forget" in trainer.logged_metrics


def test_standardized_distance_compares_each_networks_own_standard_scores(original_ckpt, tmp_path):
    model = _unlearner(original_ckpt, distance="standardized", teacher_norm="running")
    dm = synthetic_datamodule()
    tiny_trainer(tmp_path, max_epochs=1).fit(model, datamodule=dm)
    forget = dm.prepare_batch(dm.monitor_sets(None)["forget"])
    share = dm.train_set("retain", model.retain_share)
    retained = dm.prepare_batch(share.dataset.__getitems__(list(share.indices)))
    original = _unlearner(original_ckpt)  # the statistics are the original's, measured before the first step
    with torch.no_grad():
        student = original.net.eval().forward_features(forget.inputs)[0]
        teacher = model.teacher.forward_features(forget.inputs)[0]
        kept = original.net.forward_features(retained.inputs)[0]  # the student's statistics: of retained data
    s_mean, s_std, t_mean, t_std = model.feature_stats
    torch.testing.assert_close(s_mean, kept.mean(0))
    torch.testing.assert_close(s_std, kept.std(0).clamp_min(1e-6))
    torch.testing.assert_close(t_std, teacher.std(0).clamp_min(1e-6))
    z = ((student - s_mean) / s_std - (teacher - t_mean) / t_std).pow(2).mean(1)
    torch.testing.assert_close(model._distances(student, teacher), z)
    # the teacher's standard scores differ from sample to sample: no common target for every forget image
    z_teacher = (teacher - t_mean) / t_std
    assert float(torch.nn.functional.cosine_similarity(z_teacher[:1], z_teacher[1:]).mean()) < 0.5


def test_standardized_distance_with_a_single_forget_sample_stays_finite(original_ckpt, tmp_path):
    # one forget image has no spread of its own: its statistics must not turn every distance into NaN
    model = _unlearner(original_ckpt, distance="standardized", teacher_norm="running")
    tiny_trainer(tmp_path, max_epochs=1).fit(model, datamodule=synthetic_datamodule(ForgetSpec(indices=[5])))
    assert bool(torch.isfinite(model.feature_stats).all())
    torch.testing.assert_close(model.feature_stats[3], torch.ones_like(model.feature_stats[3]))
