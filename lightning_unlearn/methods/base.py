"""The base of every unlearning method: a student loaded from the original model, trained by the method's loss."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.distributed as dist
from torch import Tensor

from lightning_unlearn.data.batch import Batch
from lightning_unlearn.data.datamodule import UnlearningDataModule
from lightning_unlearn.data.forget import ForgetSplit
from lightning_unlearn.models.checkpoint import CheckpointError, load_network, provenance_of, read_checkpoint
from lightning_unlearn.models.feature_classifier import FeatureClassifier
from lightning_unlearn.models.network_module import NetworkModule

LossTerms = Tensor | Mapping[str, Tensor]


class UnlearningModule(NetworkModule):
    """Base class of every unlearning method. A new method implements :meth:`loss`; everything else is optional.

    The student (``self.net``) starts as a copy of the original model read from ``original_ckpt`` (with
    ``weights_only=True``; the file is never written). Each training step receives one batch of the forget
    set and one of the (share of the) retain set; :meth:`loss` turns them into a scalar, or into a dict of
    named terms whose ``"loss"`` entry is minimised and whose every entry is logged under ``train/<name>``.
    Evaluation (validation / test steps returning probabilities for the metric callbacks), optimiser set-up,
    provenance checks and non-finite-loss detection live here.

    The whole extension surface, each with the methods of this library that use it:

    * :meth:`loss` (required): the step's objective from a forget and a retain batch (every method).
    * :attr:`uses_sets`: the sets :meth:`loss` reads; the data module serves only these (fine-tuning: retain).
    * :attr:`starts_from_original`: ``False`` to start from a random network (retraining).
    * :attr:`eval_only_modules`: attributes holding frozen networks kept in eval mode (Bad Teacher, SCRUB).
    * :meth:`frozen_copy` and :meth:`~lightning_unlearn.models.NetworkModule.random_network`: the one way to
      make a frozen copy of the original or a frozen random network (Boundary Shrink, SCRUB; Bad Teacher, ours).
    * :meth:`prepare_unlearning`: one pass over data before training, counted in the run time (SalUn's mask,
      UNSIR's noise, SSD's importances, our teacher cache); read data there with :meth:`batches`.
    * :meth:`optimizer_param_groups`: add or drop trainable parameters (our loss-balance weights).
    * :meth:`check_data`: refuse data the method cannot use, before anything is written (ours); the forget
      split arrives as its argument and stays in :attr:`split` (SCRUB counts its forget samples there).
    * Lightning's own hooks, for what happens between steps: ``on_train_epoch_start`` (SCRUB's max/min
      phases, UNSIR's repair learning rate, ours), ``on_before_optimizer_step`` (SalUn's gradient mask),
      ``on_train_epoch_end`` / ``on_train_end`` (ours: epoch-level balancers, batch-norm recalibration).
    * A method that takes no optimiser step at all (SSD, a one-shot weight edit) subclasses
      :class:`~lightning_unlearn.methods.one_shot.OneShotUnlearningModule` and implements its ``edit`` instead.

    Example:
        .. code-block:: python

            class ForgetByAscent(UnlearningModule):
                def loss(self, forget, retain):
                    return {"loss": cross_entropy(self(retain.inputs), retain.targets)
                                    - cross_entropy(self(forget.inputs), forget.targets)}

    Args:
        original_ckpt: Checkpoint of the original model (trained on all training data, this data set).
        retain_share: Share of the retain set the method may use, in ``(0, 1]``.
        check_finite: Stop with an error naming the step and the term as soon as a loss term is not finite.
        arch: Architecture; ``None`` takes the original checkpoint's (so method configs need not repeat it).
        arch_kwargs: Architecture arguments; ``None`` takes the original checkpoint's.
        channels_last: Run convolutions channels-last; ``None`` takes the original checkpoint's setting.
        forget_batch_size: Batch size of the forget set (global, like the data module's ``batch_size``); ``None``:
            the data module's. A smaller forget batch beside a full retain batch makes a step cheaper when the
            recover task must cover a large retain set.
        **kwargs: Network and optimiser settings of :class:`NetworkModule`.

    Raises:
        ValueError: For a retain share outside ``(0, 1]`` or a missing ``original_ckpt``.
        CheckpointError: When the original checkpoint is missing, corrupt, unsafe or of another architecture.
    """

    #: Whether the student starts from the original model's weights (False only for retraining).
    starts_from_original: ClassVar[bool] = True
    #: Which of the two sets :meth:`loss` uses; the data module serves only these.
    uses_sets: ClassVar[tuple[str, ...]] = ("forget", "retain")
    #: Attributes holding frozen networks that stay in eval mode whatever the module's mode.
    eval_only_modules: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        original_ckpt: str | None = None,
        retain_share: float = 1.0,
        check_finite: bool = True,
        arch: str | None = None,
        arch_kwargs: dict[str, Any] | None = None,
        channels_last: bool | None = None,
        forget_batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        if not 0.0 < retain_share <= 1.0:
            raise ValueError(f"retain_share must lie in (0, 1], got {retain_share}")
        blob: dict[str, Any] | None = None
        if self.starts_from_original:
            if original_ckpt is None:
                raise ValueError(f"{type(self).__name__} starts from the original model: set original_ckpt")
            blob = read_checkpoint(original_ckpt)
            recorded = provenance_of(blob)
            arch = arch if arch is not None else recorded.get("arch")
            arch_kwargs = arch_kwargs if arch_kwargs is not None else recorded.get("arch_kwargs")
            channels_last = channels_last if channels_last is not None else recorded.get("channels_last")
        if arch is None:
            raise ValueError(f"{type(self).__name__}: set arch (no original checkpoint records one)")
        super().__init__(arch=arch, arch_kwargs=arch_kwargs, channels_last=bool(channels_last), **kwargs)
        # the resolved values, not None
        self.hparams.update(arch=self.arch, arch_kwargs=self.arch_kwargs, channels_last=self.channels_last)
        self.original_ckpt = original_ckpt
        self.retain_share = retain_share
        if forget_batch_size is not None and forget_batch_size < 1:
            raise ValueError(f"forget_batch_size must be positive or None, got {forget_batch_size}")
        self.forget_batch_size = forget_batch_size
        self.check_finite = check_finite
        self.original_provenance: dict[str, Any] = {}
        if blob is not None and original_ckpt is not None:
            self.original_provenance = load_network(self.net, original_ckpt, self.arch, blob=blob)
        #: Checkpoint ``fit`` will resume from, when known before ``setup`` (the CLI sets it), so a mismatched
        #: forget set is refused before anything is written; otherwise ``on_load_checkpoint`` refuses it.
        self.resume_ckpt_path: str | None = None
        # Persisted, so a run resumed from a checkpoint keeps its mask / noise and does not redo the pass.
        self.prepared: Tensor
        self.register_buffer("prepared", torch.zeros((), dtype=torch.bool))
        #: Seconds spent in :meth:`prepare_unlearning` (part of the run time).
        self.prepare_seconds = 0.0

    @property
    def train_sets(self) -> Mapping[str, float]:
        """The sets in :attr:`uses_sets`, the retain set reduced to ``retain_share``."""
        shares = {"forget": 1.0, "retain": self.retain_share}
        return {name: shares[name] for name in self.uses_sets}

    @property
    def train_batch_sizes(self) -> Mapping[str, int]:
        """Batch sizes of the training sets that differ from the data module's (``forget_batch_size``)."""
        if self.forget_batch_size is None or "forget" not in self.uses_sets:
            return {}
        return {"forget": self.forget_batch_size}

    def loss(self, forget: Batch | None, retain: Batch | None) -> LossTerms:
        """The method's objective on one forget batch and one retain batch.

        A set not in :attr:`uses_sets` arrives as ``None``.

        Returns:
            A scalar to minimise, or a dict of named scalar terms holding the total under ``"loss"``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement loss(forget, retain)")

    def check_data(self, split: ForgetSplit, example: Batch, source_name: str) -> None:
        """Check the data, the original checkpoint and any checkpoint being resumed, before anything is written.

        Beyond the network's input checks: the original model must have been trained on all of this very data
        set, and a checkpoint given to ``fit --ckpt_path`` must record this very forget split.

        Args:
            split: The forget split of the data.
            example: A few training images, prepared as the network receives them.
            source_name: The data source's name, for the messages.

        Raises:
            CheckpointError: When the original saw other data or only part of it, or the resumed run forgot
                another set.
            ValueError: When the images do not fit the network.
        """
        super().check_data(split, example, source_name)
        recorded = self.original_provenance
        if self.starts_from_original and recorded:
            if recorded.get("dataset_fingerprint") not in (None, split.dataset_fingerprint):
                raise CheckpointError(
                    f"{self.original_ckpt} was trained on other data (fingerprint "
                    f"{recorded['dataset_fingerprint'][:16]}…) than this data module serves "
                    f"({split.dataset_fingerprint[:16]}…)"
                )
            if recorded.get("trained_on") not in (None, ["all"]):
                raise CheckpointError(
                    f"{self.original_ckpt} was trained on {recorded['trained_on']}, not on the whole training set: "
                    "it is not an original model that saw the forget set"
                )
        resumed = self.resume_ckpt_path
        if resumed and Path(resumed).is_file():
            self._check_resumed_split(provenance_of(read_checkpoint(resumed)), split, str(resumed))

    @staticmethod
    def _check_resumed_split(recorded: dict[str, Any], split: ForgetSplit, source: str) -> None:
        previous = recorded.get("forget_sha256")
        if previous is not None and previous != split.sha256:
            raise CheckpointError(
                f"{source} was unlearning the forget set with sha256 {previous[:16]}…, but this run's forget "
                f"set has sha256 {split.sha256[:16]}…: refusing to resume with another forget set"
            )

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Check and prepare a checkpoint being loaded.

        Refuses to resume a run that was forgetting another set, sizes buffers that a run fills (UNSIR's noise,
        a reference distribution) like the checkpoint's, and restores the RNG state (see the base class).
        """
        state = checkpoint.get("state_dict", {})
        for name, buffer in list(self.named_buffers()):
            saved = state.get(name)
            if isinstance(saved, Tensor) and saved.shape != buffer.shape:
                owner_name, _, attr = name.rpartition(".")
                owner = self.get_submodule(owner_name) if owner_name else self
                setattr(owner, attr, torch.empty_like(saved, device=buffer.device))
        if self.split is not None and self._trainer is not None and self.trainer.state.fn == "fit":
            self._check_resumed_split(provenance_of(checkpoint), self.split, "the checkpoint to resume")
        super().on_load_checkpoint(checkpoint)

    def joint_logits(self, forget: Batch, retain: Batch, net: torch.nn.Module | None = None) -> tuple[Tensor, Tensor]:
        """Logits of the forget and the retain batch from one forward pass (one batch-norm batch, one kernel launch).

        Args:
            forget: Forget batch.
            retain: Retain batch.
            net: Network to run (default: the student).
        """
        n = forget.targets.numel()
        x = self._format(torch.cat([forget.inputs, retain.inputs]))
        logits = (net or self.net)(x)
        return logits[:n], logits[n:]

    def frozen_copy(self) -> FeatureClassifier:
        """A frozen copy of the student as it is now (the original model, when called in ``__init__``).

        No gradients, never in the optimiser (which only sees ``self.net``), saved in checkpoints. List the
        attribute you store it in under :attr:`eval_only_modules` to keep it in eval mode.
        """
        frozen = copy.deepcopy(self.net)
        frozen.requires_grad_(False)
        return frozen.eval()

    def train(self, mode: bool = True) -> UnlearningModule:
        """Set train/eval mode; the networks in :attr:`eval_only_modules` stay in eval mode."""
        super().train(mode)
        for name in self.eval_only_modules:
            getattr(self, name).eval()
        return self

    def prepare_unlearning(self) -> None:
        """Optional one-off pass before training (masks, noise, importances); the default does nothing.

        Runs on every rank at the start of ``fit`` with the student on its device, in train mode; read data
        with :meth:`batches`. State it creates should live in buffers so checkpoints keep it.
        """

    def on_train_start(self) -> None:
        """Run :meth:`prepare_unlearning` once per run (not again when resuming)."""
        super().on_train_start()
        if bool(self.prepared):
            return
        start = time.perf_counter()
        self.prepare_unlearning()
        self.prepared.fill_(True)
        self.prepare_seconds = time.perf_counter() - start

    def batches(self, name: str, share: float = 1.0, shuffle: bool = False) -> Iterator[Batch]:
        """Prepared batches of a training set (``"forget"``, ``"retain"`` or ``"all"``) on the module's device.

        Not augmented, normalised, in the data module's training batch size; for set-up passes. In index
        order, or with ``shuffle`` in an order seeded by the data module's ``order_seed`` (the global RNG is left
        alone): index order is class order in many sources, so a pass that stops early or whose batch
        statistics matter should shuffle. Served by the data module's
        :meth:`~lightning_unlearn.data.UnlearningDataModule.set_batches`.
        """
        dm = getattr(self.trainer, "datamodule", None)
        if not isinstance(dm, UnlearningDataModule):
            raise RuntimeError(f"{type(self).__name__}.batches needs an UnlearningDataModule")
        yield from dm.set_batches(name, share, shuffle, self.device)

    def training_step(self, batch: Mapping[str, Batch], batch_idx: int) -> Tensor:
        """Evaluate :meth:`loss` on this step's batches, check and log its terms."""
        out = self.loss(batch.get("forget"), batch.get("retain"))
        terms: Mapping[str, Tensor] = {"loss": out} if isinstance(out, Tensor) else out
        if "loss" not in terms:
            raise KeyError(f"{type(self).__name__}.loss returned terms {sorted(terms)} without a 'loss' entry")
        if self.check_finite:
            self._check_finite(terms)
        if self._logs_this_step():
            size = sum(b.targets.numel() for b in batch.values())
            self.log_dict({f"train/{k}": v.detach().float() for k, v in terms.items()}, batch_size=size)
        return terms["loss"]

    def _logs_this_step(self) -> bool:
        # The loggers only record every `log_every_n_steps`-th step; skipping self.log on the other steps
        # logs exactly the same and saves about 1 ms a term a step.
        every = max(1, int(getattr(self.trainer, "log_every_n_steps", 1)))
        return (self.global_step + 1) % every == 0 or self.global_step == 0

    def _check_finite(self, terms: Mapping[str, Tensor]) -> None:
        check_finite(
            terms, f"{type(self).__name__}: non-finite loss at epoch {self.current_epoch}, step {self.global_step}"
        )


def check_finite(terms: Mapping[str, Tensor], what: str) -> None:
    """Raise :class:`FloatingPointError` on every rank when any rank's loss terms hold a NaN or an infinity.

    Under DDP each rank sees its own batch, so one rank alone may meet a non-finite loss; if only that rank
    raised, the others would wait for it in the next collective (the gradient all-reduce): a hang, not an
    error. One all-reduce of a flag makes every rank stop at the same step with the same error.

    Args:
        terms: The named loss terms of this step.
        what: The start of the message (the module, epoch and step).
    """
    values = torch.stack([v.detach().float().reshape(()) for v in terms.values()])
    finite = torch.isfinite(values)
    flag = (~finite).any().to(torch.int32)
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    if not bool(flag):
        return
    if bool(finite.all()):
        raise FloatingPointError(f"{what}: on another rank")
    bad = {k: float(v) for k, v, ok in zip(terms, values.tolist(), finite.tolist(), strict=True) if not ok}
    raise FloatingPointError(f"{what}: {bad}")
