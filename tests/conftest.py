from __future__ import annotations

import logging
import warnings
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lightning_unlearn.callbacks import ForgettingMetrics
from lightning_unlearn.data import ForgetSpec, Synthetic, UnlearningDataModule
from lightning_unlearn.models import ClassifierModule
from tests.paths import ROOT

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", message=".*does not have many workers.*")


@pytest.fixture(autouse=True)
def _seed_and_clean_process_group(monkeypatch):
    # configs name each other relative to the repository root, where `make` runs them: every test starts there,
    # whatever folder pytest was started from
    monkeypatch.chdir(ROOT)
    pl.seed_everything(0, verbose=False)
    yield
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def tiny_trainer(root: Path, **kwargs) -> pl.Trainer:
    defaults = dict(
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        default_root_dir=root,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ForgettingMetrics()],
        num_sanity_val_steps=0,
    )
    defaults.update(kwargs)
    return pl.Trainer(**defaults)


def synthetic_datamodule(forget: ForgetSpec | None = None, **kwargs) -> UnlearningDataModule:
    return UnlearningDataModule(
        Synthetic(num_classes=4, train_per_class=24, test_per_class=8, image_size=8),
        forget or ForgetSpec(classes=[0]),
        batch_size=kwargs.pop("batch_size", 16),
        eval_batch_size=kwargs.pop("eval_batch_size", 64),
        **kwargs,
    )


MODEL_ARGS = dict(arch="small_cnn", arch_kwargs={"width": 4}, num_classes=4, in_channels=1)


@pytest.fixture(scope="session")
def original_ckpt(tmp_path_factory) -> Path:
    """A tiny original model trained on the whole synthetic training set."""
    pl.seed_everything(0, verbose=False)
    root = tmp_path_factory.mktemp("original")
    dm = synthetic_datamodule()
    model = ClassifierModule(**MODEL_ARGS, lr=0.05)
    trainer = tiny_trainer(root, max_epochs=8)
    trainer.fit(model, datamodule=dm)
    path = root / "original.ckpt"
    trainer.save_checkpoint(path, weights_only=True)
    return path
