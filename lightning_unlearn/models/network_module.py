"""The Lightning module shared by every model of the library: one network, its optimiser, its evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.data.datamodule import UnlearningDataModule
from lightning_unlearn.data.forget import ForgetSplit
from lightning_unlearn.metrics.mia import cross_entropy_from_logits
from lightning_unlearn.models.feature_classifier import FeatureClassifier
from lightning_unlearn.models.modes import eval_mode
from lightning_unlearn.models.optim import (
    NesterovSGD,
    OptimizerCallable,
    ScheduleCallable,
    WarmupLinearDecay,
    injected_record,
)
from lightning_unlearn.models.registry import build_network

#: Key under which a checkpoint records what its network was trained on.
PROVENANCE_KEY = "lightning_unlearn"
#: Key under which a checkpoint records the random-number generators' state.
RNG_KEY = "lightning_unlearn_rng"


class NetworkModule(pl.LightningModule):
    """A :class:`FeatureClassifier` built by name, trained with an injected optimiser and schedule.

    Subclasses say which training sets they need through :attr:`train_sets` and implement ``training_step``.
    In :meth:`setup` (after the data module's) the module receives the forget split as :attr:`split`, declares its
    training sets to the data module and checks the data through :meth:`check_data`.
    Validation and test steps return ``{"probs", "targets", "indices", "losses"}`` per batch for the metric
    callbacks (``losses``: each sample's cross-entropy, from the logits in float64).

    Args:
        arch: Architecture name (see :func:`~lightning_unlearn.models.build_network`).
        num_classes: Output classes (the CLI links it from the data module).
        in_channels: Image channels (linked likewise).
        arch_kwargs: Extra arguments of the architecture, e.g. ``{"width": 16}``.
        optimizer: Builds the optimiser from the parameter groups, called with ``lr=lr`` (an ``lr`` or
            ``weight_decay`` among its own arguments has no effect). Default: SGD with Nesterov momentum 0.9.
            In YAML a class path with its arguments, e.g. ``{class_path: torch.optim.AdamW, init_args: {betas:
            [0.9, 0.99]}}``.
        lr: Peak learning rate.
        weight_decay: Weight decay of the network's weights (not of BN and biases, not of extra parameters);
            every group sets its own, so the optimiser's ``weight_decay`` argument has no effect.
        lr_scheduler: Builds the per-step schedule, called with the optimiser and ``total_steps=`` the run's
            number of optimiser steps (torch's own schedules take no ``total_steps`` and are refused); ``None``
            keeps the rate constant. Default: :class:`~lightning_unlearn.models.optim.WarmupLinearDecay`
            (one-cycle: linear warm-up over 15 % of the steps, linear decay to zero);
            :class:`~lightning_unlearn.models.optim.WarmupCosineDecay` anneals along a cosine instead.
        channels_last: Run convolutions in the channels-last memory format (faster on GPUs with bf16).
        compile: Compile the network with ``torch.compile`` at the start of ``fit`` (``nn.Module.compile``: the
            state dict and checkpoints keep their keys). Pays off on long GPU runs; the first steps are slower.
    """

    def __init__(
        self,
        arch: str = "small_cnn",
        num_classes: int = 10,
        in_channels: int = 3,
        arch_kwargs: dict[str, Any] | None = None,
        optimizer: OptimizerCallable = NesterovSGD,
        lr: float = 0.05,
        weight_decay: float = 5e-4,
        lr_scheduler: ScheduleCallable | None = WarmupLinearDecay,
        channels_last: bool = False,
        compile: bool = False,
    ) -> None:
        super().__init__()
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.arch = arch
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.arch_kwargs = dict(arch_kwargs or {})
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_scheduler = lr_scheduler
        self.channels_last = channels_last
        self.compile_network = compile
        self._resumed_rng: dict[str, Any] | None = None  # set by on_load_checkpoint, applied by on_train_start
        #: The forget split of the data this module is fitted or evaluated on, received in :meth:`setup`.
        self.split: ForgetSplit | None = None
        # Called here, it records the arguments of every subclass's __init__ too (Lightning walks the frames).
        self.save_hyperparameters()
        if "_class_path" not in self.hparams:
            # The record LightningCLI writes for the modules it builds; with it, `lightning-unlearn test
            # --ckpt_path` and `load_from_checkpoint` also work for modules built in Python.
            # Injected classes and callables are recorded as the CLI records them: checkpoints stay plain data.
            self.hparams.update({key: injected_record(value) for key, value in self.hparams.items()})
            self.hparams["_class_path"] = f"{type(self).__module__}.{type(self).__qualname__}"
            self.hparams["_instantiator"] = "lightning.pytorch.cli.instantiate_module"
        self.net: FeatureClassifier = self.build_network()
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)

    @property
    def train_sets(self) -> Mapping[str, float]:
        """Training sets a step draws from, with the share of each (see ``UnlearningDataModule``)."""
        return {"all": 1.0}

    @property
    def train_batch_sizes(self) -> Mapping[str, int]:
        """Global batch size of each training set that should differ from the data module's (none by default)."""
        return {}

    def build_network(self) -> FeatureClassifier:
        """A fresh network of this module's architecture (randomly initialised from the global RNG)."""
        return build_network(self.arch, self.num_classes, self.in_channels, **self.arch_kwargs)

    def random_network(self, seed: int) -> FeatureClassifier:
        """A frozen, randomly initialised network of this module's architecture, reproducible from ``seed``.

        The one way the library makes a random network (a method's random teacher, ZRF's random reference):
        drawn from ``seed`` without touching the global RNG, in the module's memory format, without gradients,
        in eval mode, on the CPU (move it with the module).
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = self.build_network()
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        net.requires_grad_(False)
        return net.eval()

    def forward(self, x: Tensor) -> Tensor:
        """Logits of ``x``."""
        return self.net(self._format(x))

    def _format(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self.arch} expects images [N, {self.in_channels}, H, W], got {tuple(x.shape)}: "
                "check the data source's channels against the model's in_channels"
            )
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def on_fit_start(self) -> None:
        """Enter train mode as this module's ``train`` defines it, and compile the network when asked to.

        Lightning starts ``fit`` with each submodule in whatever mode it has; a method's ``train`` (frozen
        networks in eval mode, a teacher in the mode its normalisation needs) must decide instead.
        """
        self.train()
        if self.compile_network:
            self.net.compile()

    # ----------------------------------------------------------------------------------------------- input checks
    def setup(self, stage: str) -> None:
        """Receive the data: the forget split, the training sets declared, the data checked.

        Lightning calls this after the data module's ``setup`` and before any loader is built or file written
        (the data module records the split when it first serves data; the CLI writes ``config.yaml`` when the
        stage starts), so a refused run leaves nothing behind.
        A data module other than :class:`~lightning_unlearn.data.UnlearningDataModule` is left to the user.
        """
        dm = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        self.split = dm.split if isinstance(dm, UnlearningDataModule) else None
        if not isinstance(dm, UnlearningDataModule) or dm.split is None:
            return
        dm.declare_training(self.train_sets, self.train_batch_sizes)
        self.check_data(dm.split, dm.example_batch(), dm.source.name)

    def check_data(self, split: ForgetSplit, example: Batch, source_name: str) -> None:
        """Refuse data this network cannot take, before any training or file output.

        The channel count must match ``in_channels`` and the example images must pass through the network.
        Methods extend this to check what they need of the split (call ``super()`` first).

        Args:
            split: The forget split of the data.
            example: A few training images, prepared as the network receives them.
            source_name: The data source's name, for the messages.

        Raises:
            ValueError: When the images do not fit the network.
        """
        images = example.inputs
        if images.shape[1] != self.in_channels:
            raise ValueError(
                f"{source_name} images have {images.shape[1]} channel(s), but the {self.arch} model was "
                f"built for in_channels={self.in_channels}"
            )
        # Lightning moves the network to its device after setup: run the example where the network is now
        where = next((p.device for p in self.net.parameters()), images.device)
        try:
            with torch.no_grad(), eval_mode(self):
                logits = self.net(self._format(images.to(where)))
        except RuntimeError as err:
            raise ValueError(
                f"{source_name} images of shape {tuple(images.shape[1:])} do not fit the {self.arch} "
                f"network: {str(err).splitlines()[0]}"
            ) from err
        if logits.shape[-1] != self.num_classes:
            raise ValueError(f"the network outputs {logits.shape[-1]} classes, the data set has {self.num_classes}")

    # ----------------------------------------------------------------------------------------------- evaluation
    def _eval_step(self, batch: Batch) -> dict[str, Tensor]:
        logits = self(batch.inputs)
        return {
            "probs": logits.float().softmax(-1),
            "targets": batch.targets,
            "indices": batch.indices,
            "losses": cross_entropy_from_logits(logits, batch.targets),
        }

    def validation_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Class probabilities of one evaluation batch, for the metric callbacks."""
        return self._eval_step(batch)

    def test_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Class probabilities of one evaluation batch, for the metric callbacks."""
        return self._eval_step(batch)

    def predict_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Class probabilities of one batch."""
        return self._eval_step(batch)

    # ----------------------------------------------------------------------------------------------- optimisation
    def optimizer_param_groups(self) -> list[dict[str, Any]]:
        """Parameter groups to optimise: the network's weights with decay, its BN and biases without.

        Methods with extra trainable parameters (loss-balance weights) or a restricted set (a frozen head)
        override this and add or drop groups; anything not returned here is never optimised.
        """
        decay: list[torch.nn.Parameter] = []
        no_decay: list[torch.nn.Parameter] = []
        for _, p in self.net.named_parameters():
            if p.requires_grad:
                (no_decay if p.ndim <= 1 else decay).append(p)
        return [
            {"params": decay, "weight_decay": self.weight_decay, "name": "net"},
            {"params": no_decay, "weight_decay": 0.0, "name": "net_no_decay"},
        ]

    def configure_optimizers(self) -> Any:
        """The injected optimiser over :meth:`optimizer_param_groups`, with the injected schedule stepped per batch."""
        groups = [g for g in self.optimizer_param_groups() if g["params"]]
        if not groups:
            raise ValueError(f"{type(self).__name__} has no trainable parameters")
        opt = self.optimizer(groups, lr=self.lr)  # type: ignore[call-arg]
        if self.lr_scheduler is None:
            return opt
        total_steps = max(1, int(self.trainer.estimated_stepping_batches))
        try:
            scheduler = self.lr_scheduler(opt, total_steps=total_steps)  # type: ignore[call-arg]
        except TypeError as err:
            if "total_steps" not in str(err):
                raise
            raise TypeError(
                f"lr_scheduler is called as lr_scheduler(optimizer, total_steps=<the run's optimiser steps>) and "
                f"stepped every batch; {self.lr_scheduler!r} takes no total_steps. Use WarmupLinearDecay, "
                "WarmupCosineDecay (lightning_unlearn.models.optim) or a schedule class of that signature"
            ) from err
        return {"optimizer": opt, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # ----------------------------------------------------------------------------------------------- provenance
    def provenance(self) -> dict[str, Any]:
        """What the checkpoint's network is: architecture, data, split and training set. Saved in every checkpoint."""
        split = self.split
        return {
            "module": f"{type(self).__module__}.{type(self).__qualname__}",
            "arch": self.arch,
            "arch_kwargs": self.arch_kwargs,
            "channels_last": self.channels_last,
            "lr": self.lr,
            "num_classes": self.num_classes,
            "in_channels": self.in_channels,
            "trained_on": sorted(self.train_sets),
            "dataset": getattr(split, "dataset", None),
            "dataset_fingerprint": getattr(split, "dataset_fingerprint", None),
            "forget_sha256": getattr(split, "sha256", None),
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record :meth:`provenance` and the random-number state (for an exact resume) in the checkpoint."""
        checkpoint[PROVENANCE_KEY] = self.provenance()
        rng: dict[str, Any] = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        checkpoint[RNG_KEY] = rng

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """When ``fit`` resumes from a checkpoint, keep the random-number state it recorded for ``on_train_start``.

        Augmentation and dropout then draw exactly what an uninterrupted run would have drawn. The state is
        applied at ``on_train_start``, not here, because the trainer still sets up the optimisers and schedulers
        after loading (``estimated_stepping_batches`` builds the data loaders, which draws random numbers).
        Loading a checkpoint outside ``fit`` (``load_from_checkpoint``, ``test``) leaves the global RNG alone.
        """
        rng = checkpoint.get(RNG_KEY)
        if rng is None or self._trainer is None or self.trainer.state.fn != "fit":
            return
        self._resumed_rng = rng

    def on_train_start(self) -> None:
        """Apply the random-number state of the checkpoint ``fit`` resumed from, if any."""
        rng, self._resumed_rng = self._resumed_rng, None
        if rng is None:
            return
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
