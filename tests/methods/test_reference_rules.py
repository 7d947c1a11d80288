"""Details of the baselines' update rules that their reference code fixes and a benchmark would not show."""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback

from lightning_unlearn.data import Batch
from lightning_unlearn.methods import RandomLabels, SalUn
from tests.conftest import MODEL_ARGS, synthetic_datamodule, tiny_trainer


def test_pooled_weighting_is_one_loader_of_relabelled_forget_and_retain_samples(original_ckpt):
    torch.manual_seed(0)
    forget = Batch(torch.rand(3, 1, 8, 8), torch.tensor([0, 1, 2]), torch.tensor([5, 9, 11]))
    retain = Batch(torch.rand(9, 1, 8, 8), torch.randint(0, 4, (9,)), torch.arange(20, 29))
    pooled = RandomLabels(original_ckpt=str(original_ckpt), weighting="pooled", **MODEL_ARGS)
    summed = RandomLabels(original_ckpt=str(original_ckpt), weighting="sum", **MODEL_ARGS)
    with torch.no_grad():
        logits = pooled(torch.cat([forget.inputs, retain.inputs]))  # the same batch-norm batch as joint_logits
        labels = torch.cat([pooled.forget_labels(forget), retain.targets])
        one_loader = torch.nn.functional.cross_entropy(logits, labels)  # every sample weighs 1/12
        torch.testing.assert_close(pooled.loss(forget, retain)["loss"], one_loader)
        by_batch = summed.loss(forget, retain)
        assert float(by_batch["loss"]) > float(one_loader)
        torch.testing.assert_close(by_batch["loss"], by_batch["relabelled_ce"] + by_batch["retain_ce"])


class _BatchNormAtFirstStep(Callback):
    def __init__(self) -> None:
        self.stats: dict[str, torch.Tensor] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 0 and trainer.current_epoch == 0:
            self.stats = {k: v.clone() for k, v in pl_module.net.state_dict().items() if "running" in k}


def test_salun_measures_saliency_in_eval_mode_without_moving_batch_norm(original_ckpt, tmp_path):
    # The authors' generate_mask.py runs the network in eval mode: forget batches must not move the running
    # statistics before unlearning starts (train mode would, and would pick another mask).
    model = SalUn(original_ckpt=str(original_ckpt), mask_ratio=0.3, **MODEL_ARGS)
    original = {k: v.clone() for k, v in model.net.state_dict().items() if "running" in k}
    probe = _BatchNormAtFirstStep()
    tiny_trainer(tmp_path, max_epochs=1, callbacks=[probe]).fit(model, datamodule=synthetic_datamodule())
    assert probe.stats and original
    for key, value in original.items():
        assert torch.equal(probe.stats[key], value), key
    assert 0.2 < float(torch.cat([m.float().flatten() for m in model.masks().values()]).mean()) < 0.4
