"""Bad input, nothing lost, interruption and resume, determinism, safe loading, receipts."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path

import pytest
import torch
import yaml

from lightning_unlearn.cli import cli_main
from lightning_unlearn.commands import main
from lightning_unlearn.io import atomic_torch_save, atomic_write_text, sha256_file
from tests.paths import ROOT
from tests.test_cli import DATA


def _unlearn_config(tmp_path: Path, original: Path, data: dict | None = None, **model_args) -> Path:
    cfg = {
        "data": {**DATA["data"], **(data or {})},
        "trainer": {**DATA["trainer"], "default_root_dir": str(tmp_path / "run"), "max_epochs": 2},
        "model": {
            "class_path": "lightning_unlearn.methods.FeatureConstraintUnlearner",
            "init_args": {"original_ckpt": str(original), "retain_share": 0.5, **model_args},
        },
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run_main(argv: list[str], monkeypatch) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["lightning-unlearn", *argv])
    err = io.StringIO()
    with redirect_stderr(err), pytest.raises(SystemExit) as exit_info:
        main()
    return int(exit_info.value.code or 0), err.getvalue()


def _write_corrupt(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 truncated")
    return path


BAD_INPUT = [
    ("indices out of range", {"data": {"forget": {"indices": [0, 5000]}}}, r"must lie in \[0, 96\), got \[5000\]"),
    ("duplicated indices", {"data": {"forget": {"indices": [3, 3]}}}, r"distinct, repeated: \[3\]"),
    ("whole training set", {"data": {"forget": {"classes": [0, 1, 2, 3]}}}, "whole training set"),
    ("empty forget set", {"data": {"forget": {"indices": []}}}, "indices is empty"),
    ("unknown class", {"data": {"forget": {"classes": [9]}}}, r"unknown \[9\]"),
    ("retain share 0", {"model": {"retain_share": 0.0}}, r"retain_share must lie in \(0, 1\]"),
    ("retain share above 1", {"model": {"retain_share": 1.5}}, r"retain_share must lie in \(0, 1\]"),
    ("missing original", {"model": {"original_ckpt": "missing.ckpt"}}, "checkpoint not found: missing.ckpt"),
    ("corrupt original", {"model": {"original_ckpt": "CORRUPT"}}, "not a readable PyTorch checkpoint"),
    ("other architecture", {"model": {"arch_kwargs": {"width": 8}}}, "holds another architecture"),
    # refused by the module's own data check (its setup, after the data module's and the callbacks' setup)
    ("holdout control, no holdout", {"model": {"control": "holdout"}}, "control='holdout' needs a holdout set"),
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_stops_before_training_with_one_error_and_no_folder(
    case, change, message, tmp_path, original_ckpt, monkeypatch
):
    model_args = dict(change.get("model", {}))
    if model_args.get("original_ckpt") == "CORRUPT":
        model_args["original_ckpt"] = str(_write_corrupt(tmp_path / "corrupt.ckpt"))
    config = _unlearn_config(tmp_path, original_ckpt, change.get("data"), **model_args)
    code, err = _run_main(["fit", "--config", str(config)], monkeypatch)
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 1, err
    assert err.strip().splitlines() == lines, err  # nothing else: no traceback, no warning
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "run").exists(), sorted((tmp_path / "run").rglob("*"))  # no file, no empty folder


def test_forget_samples_that_are_also_test_samples_are_refused(tmp_path, monkeypatch):
    from PIL import Image

    rng = torch.Generator().manual_seed(0)
    for split, per_class in (("train", 4), ("test", 2)):
        for cls in ("a", "b"):
            folder = tmp_path / "data" / split / cls
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = torch.randint(0, 256, (6, 6, 3), generator=rng, dtype=torch.uint8).numpy()
                Image.fromarray(pixels).save(folder / f"{i}.png")
    (tmp_path / "data" / "test" / "a" / "dup.png").write_bytes(
        (tmp_path / "data" / "train" / "a" / "2.png").read_bytes()
    )
    from lightning_unlearn.data import ForgetSpec, ImageFolderSource, UnlearningDataModule

    dm = UnlearningDataModule(ImageFolderSource(str(tmp_path / "data")), ForgetSpec(classes=[0]))
    with pytest.raises(ValueError, match=r"1 forget sample\(s\) also appear in the test set.*\(2, 2\)"):
        dm.setup("fit")
    UnlearningDataModule(ImageFolderSource(str(tmp_path / "data")), ForgetSpec(classes=[1])).setup("fit")


def test_images_that_do_not_fit_the_model_are_refused_before_training(original_ckpt, tmp_path):
    from lightning_unlearn.data import ForgetSpec, Synthetic, UnlearningDataModule
    from lightning_unlearn.methods import FeatureConstraintUnlearner
    from tests.conftest import MODEL_ARGS, tiny_trainer

    rgb = UnlearningDataModule(Synthetic(num_classes=4, channels=3), ForgetSpec(classes=[0]), batch_size=16)
    model = FeatureConstraintUnlearner(original_ckpt=str(original_ckpt), **MODEL_ARGS)
    trainer = tiny_trainer(tmp_path)
    with pytest.raises(ValueError, match=r"3 channel\(s\), but the small_cnn model was built for in_channels=1"):
        trainer.fit(model, datamodule=rgb)
    assert trainer.global_step == 0


def test_resuming_with_another_forget_set_is_refused(tmp_path, original_ckpt):
    first = _unlearn_config(tmp_path, original_ckpt)
    cli = cli_main(["fit", "--config", str(first)])
    last = Path(cli.trainer.checkpoint_callback.last_model_path)
    assert last.is_file()
    other = _unlearn_config(tmp_path / "other", original_ckpt, {"forget": {"classes": [1]}})
    from lightning_unlearn.models.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="refusing to resume with another forget set"):
        cli_main(["fit", "--config", str(other), "--ckpt_path", str(last)])


def test_a_crafted_checkpoint_given_to_resume_is_refused(tmp_path, original_ckpt, monkeypatch):
    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "x": Exploit()}, evil)
    config = _unlearn_config(tmp_path, original_ckpt)
    code, err = _run_main(["fit", "--config", str(config), "--ckpt_path", str(evil)], monkeypatch)
    assert code == 2 and "refused to load" in err
    assert not (tmp_path / "pwned").exists()


def test_the_original_checkpoint_is_never_modified(tmp_path, original_ckpt):
    before = sha256_file(original_ckpt)
    cli_main(["fit", "--config", str(_unlearn_config(tmp_path, original_ckpt))])
    assert sha256_file(original_ckpt) == before


def test_atomic_writes_leave_the_previous_file_whole_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "model.ckpt"
    atomic_torch_save({"w": torch.ones(3)}, target)
    before = target.read_bytes()

    def broken_save(obj, fh):
        fh.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        atomic_torch_save({"w": torch.zeros(3)}, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt"]  # no temporary file left
    atomic_write_text(tmp_path / "a.txt", "complete")
    assert (tmp_path / "a.txt").read_text() == "complete"


def test_atomic_writes_get_the_mode_a_plain_write_gets(tmp_path):
    # the temporary file behind an atomic write is created 0600; the renamed result must follow the umask
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "report.md", "table")
        (tmp_path / "plain.md").write_text("table")
    finally:
        os.umask(old)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == (tmp_path / "plain.md").stat().st_mode & 0o777 == 0o644


def test_cli_checkpoints_go_through_the_atomic_plugin(tmp_path, original_ckpt):
    from lightning_unlearn.io import AtomicCheckpointIO

    cli = cli_main(["fit", "--config", str(_unlearn_config(tmp_path, original_ckpt))])
    assert isinstance(cli.trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_same_config_and_seed_give_identical_split_and_weights(tmp_path, original_ckpt):
    runs = []
    for name in ("a", "b"):
        cli = cli_main(["fit", "--config", str(_unlearn_config(tmp_path / name, original_ckpt))])
        runs.append(cli)
    split_a, split_b = (Path(c.trainer.log_dir) / "split.json" for c in runs)
    assert split_a.read_bytes() == split_b.read_bytes()
    for k, v in runs[0].model.state_dict().items():
        assert torch.equal(v, runs[1].model.state_dict()[k]), k


def _integers(value) -> set[int]:
    """Every integer a JSON document holds: numbers, and lists of numbers written as text ("72, 73", "72\n73",
    "72-95" for every number in the range). Other text (hashes, dates, paths) and floats (metrics) are not lists."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, str):
        if not re.fullmatch(r"[\d\s,;:\-\[\]()]+", value):
            return set()
        numbers = {int(v) for v in re.findall(r"\d+", value)}
        for a, b in re.findall(r"(\d+)\s*-\s*(\d+)", value):
            numbers |= set(range(int(a), int(b) + 1))
        return numbers
    if isinstance(value, dict):
        return set().union(*(_integers(k) | _integers(v) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_integers(v) for v in value))
    return set()


def test_receipt_records_the_run_and_verify_checks_every_hash(tmp_path, original_ckpt, monkeypatch, capsys):
    # class 3 is training samples 72-95: numbers no other field of this receipt holds
    config = _unlearn_config(tmp_path, original_ckpt, {"forget": {"classes": [3]}})
    cli = cli_main(["fit", "--config", str(config)])
    folder = Path(cli.trainer.log_dir)
    receipt = json.loads((folder / "receipt.json").read_text())
    split = cli.datamodule.split
    assert receipt["forget"]["sha256"] == split.sha256 and receipt["forget"]["count"] == 24
    assert receipt["dataset"] == {
        "name": "synthetic",
        "num_train": 96,
        "num_test": 64,
        "fingerprint": split.dataset_fingerprint,
    }
    assert receipt["original_checkpoint"]["sha256"] == sha256_file(original_ckpt)
    assert receipt["unlearned_checkpoint"]["sha256"] == sha256_file(folder / "unlearned.ckpt")
    assert receipt["config"]["model"]["init_args"]["retain_share"] == 0.5
    assert receipt["started_at"] <= receipt["finished_at"] and receipt["versions"]["torch"] == torch.__version__
    assert {"UA", "RA", "TA", "MIA"} <= set(receipt["metrics"])
    forget = set(split.forget.tolist())
    assert forget == set(range(72, 96))
    assert _integers(receipt) & forget == set()  # no forget index, in any field or form
    code, _ = _run_main(["verify", str(folder / "receipt.json")], monkeypatch)
    assert code == 0 and "receipt verified" in capsys.readouterr().out
    with open(folder / "unlearned.ckpt", "ab") as fh:
        fh.write(b"tampered")
    code, _ = _run_main(["verify", str(folder / "receipt.json")], monkeypatch)
    assert code == 1 and "MISMATCH unlearned checkpoint" in capsys.readouterr().out


def test_only_rank_zero_writes_the_split_file(tmp_path):
    from types import SimpleNamespace

    from tests.conftest import synthetic_datamodule

    for rank_zero, expected in ((False, []), (True, ["split.json"])):
        folder = tmp_path / str(rank_zero)
        folder.mkdir()
        dm = synthetic_datamodule()
        dm.trainer = SimpleNamespace(is_global_zero=rank_zero, log_dir=str(folder))  # type: ignore[assignment]
        dm.setup("fit")
        dm.test_dataloader()
        assert sorted(p.name for p in folder.iterdir()) == expected


def test_each_rank_gets_distinct_forget_samples_every_epoch():
    from lightning_unlearn.data.sampler import ResumableSampler

    for epoch in range(3):
        ranks = []
        for rank in range(2):
            sampler = ResumableSampler(23, 12, 4, seed=0, num_replicas=2, rank=rank, name="forget")
            sampler.set_epoch(epoch)
            ranks.append(list(sampler))
        assert len(ranks[0]) == len(ranks[1]) == 12
        assert set(ranks[0]) | set(ranks[1]) == set(range(23))
        # one pass is split between the ranks; the 24th slot repeats one sample (padding of an odd-sized set)
        assert len(set(ranks[0]) & set(ranks[1])) <= 1 and len(set(ranks[0])) + len(set(ranks[1])) >= 23
    assert ranks[0] != list(ResumableSampler(23, 12, 4, seed=0, num_replicas=2, rank=0, name="forget"))  # epochs differ


def _last_step(path: Path) -> int:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])
    except Exception:  # not written yet, or being renamed into place
        return -1


def test_sigkill_mid_epoch_then_resume_from_last_matches_an_uninterrupted_run(tmp_path, original_ckpt):
    def config(folder: Path, slow: bool = False, name: str = "config.yaml") -> Path:
        cfg = yaml.safe_load(_unlearn_config(folder, original_ckpt).read_text())
        cfg["data"]["batch_size"] = 8
        # random crops and flips drawn from the global RNG: a resumed run that lost the RNG state draws others
        cfg["data"]["source"]["init_args"]["augmentations"] = ["crop", "flip"]
        cfg["trainer"]["max_epochs"] = 3
        cfg["trainer"]["callbacks"] = [
            {
                "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                "init_args": {"dirpath": str(folder / "ckpt"), "every_n_train_steps": 1, "save_last": True},
            },
        ]
        if slow:  # only the run to be killed: slow steps let the poll below catch it mid-epoch (sleeping draws nothing)
            slow_steps = {"class_path": "tests.helpers.SlowSteps", "init_args": {"seconds": 0.25}}
            cfg["trainer"]["callbacks"].append(slow_steps)
        path = folder / name
        path.write_text(yaml.safe_dump(cfg))
        return path

    whole = cli_main(["fit", "--config", str(config(tmp_path / "whole"))])
    steps_per_epoch = whole.trainer.num_training_batches
    total_steps = whole.trainer.global_step
    assert steps_per_epoch == 5 and total_steps == 3 * steps_per_epoch
    cut = tmp_path / "cut"
    cmd = [sys.executable, "-m", "lightning_unlearn", "fit", "--config"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    slow = str(config(cut, slow=True, name="slow.yaml"))
    proc = subprocess.Popen([*cmd, slow], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while _last_step(cut / "ckpt" / "last.ckpt") < steps_per_epoch + 2 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _last_step(cut / "ckpt" / "last.ckpt")
    assert steps_per_epoch < killed_at < 2 * steps_per_epoch  # in the middle of the second epoch
    # resumed in this process: only the killed run needs a process of its own (each start imports for ~9 s)
    resumed = cli_main(["fit", "--config", str(config(cut)), "--ckpt_path", "last"])
    assert Path(resumed.trainer.ckpt_path or "").name == "last.ckpt"  # it went on from the kill, not from scratch
    done = torch.load(cut / "ckpt" / "last.ckpt", map_location="cpu", weights_only=True)
    assert done["global_step"] == total_steps
    for k, v in whole.model.state_dict().items():
        assert torch.equal(v, done["state_dict"][k]), k
    receipts = [
        json.loads(p.read_text())["metrics"] for p in (tmp_path / "whole", cut) for p in p.rglob("receipt.json")
    ]
    assert receipts[0] == receipts[1]


NO_NORM = dict(arch="tests.helpers.NoNormCNN", arch_kwargs={"width": 8}, num_classes=4, in_channels=1)
#: Largest difference allowed between a probability computed on 1 and on 2 ranks after unlearning: the
#: arithmetic is the same but for the order of the cross-rank gradient sum (measured: 3.6e-7, weights 1.2e-7).
DDP_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def no_norm_original(tmp_path_factory) -> Path:
    from lightning_unlearn.models import ClassifierModule
    from tests.conftest import synthetic_datamodule, tiny_trainer

    root = tmp_path_factory.mktemp("no_norm_original")
    trainer = tiny_trainer(root, max_epochs=12)  # retain accuracy 100, test 87.5
    trainer.fit(ClassifierModule(**NO_NORM, lr=0.2), datamodule=synthetic_datamodule())
    trainer.save_checkpoint(root / "original.ckpt", weights_only=True)
    return root / "original.ckpt"


def _ddp_unlearning(root: Path, original_ckpt: Path, **trainer_kwargs):
    from lightning_unlearn.callbacks import ForgettingMetrics, load_outputs
    from lightning_unlearn.methods import FeatureConstraintUnlearner
    from tests.conftest import synthetic_datamodule, tiny_trainer
    from tests.helpers import SaveMonitorOutputs

    model = FeatureConstraintUnlearner(original_ckpt=str(original_ckpt), retain_share=0.5, lr=0.05, **NO_NORM)
    callbacks = [ForgettingMetrics(monitor_size=None), SaveMonitorOutputs(str(root / "monitor.pt"))]
    trainer = tiny_trainer(root, max_epochs=6, callbacks=callbacks, **trainer_kwargs)
    trainer.fit(model, datamodule=synthetic_datamodule())
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.endswith("/acc")}
    return load_outputs(root / "monitor.pt"), model.state_dict(), metrics


def test_two_rank_ddp_unlearning_gives_the_per_sample_outputs_of_one_rank(tmp_path, no_norm_original):
    # A global batch of 16 is 8 + 8 on two ranks (every set splits evenly), each rank's loss is the mean over its
    # half and DDP averages the gradients: the same step as one rank's, up to the order of the sums.
    one, one_weights, one_metrics = _ddp_unlearning(tmp_path / "one", no_norm_original)
    two, two_weights, two_metrics = _ddp_unlearning(tmp_path / "two", no_norm_original, strategy="ddp_spawn", devices=2)
    assert set(one) == set(two) == {"forget", "retain", "test", "test_forget"}
    worst = 0.0
    for name in one:
        # the fit-time monitor gathered every sample of both ranks, once each
        assert torch.equal(two[name].indices, one[name].indices), name
        assert torch.equal(two[name].targets, one[name].targets), name
        assert torch.equal(two[name].probs.argmax(1), one[name].probs.argmax(1)), name
        worst = max(worst, float((two[name].probs - one[name].probs).abs().max()))
    assert worst <= DDP_TOLERANCE
    for key, value in one_weights.items():
        torch.testing.assert_close(two_weights[key], value, rtol=0.0, atol=DDP_TOLERANCE, msg=key)
    assert two_metrics == one_metrics
    # outputs that are not saturated at 0 or 1, so a model a step apart gives other probabilities (measured: the
    # least confident retained sample at 0.71)
    assert float(one["retain"].probs.max(1).values.min()) < 0.99


def _finite_check_rank(rank: int, world: int, init_file: str, out: str) -> None:
    import torch.distributed as dist

    from lightning_unlearn.methods.base import check_finite

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        terms = {"loss": torch.tensor(float("nan") if rank == 1 else 1.0), "forget_loss": torch.tensor(2.0)}
        try:
            check_finite(terms, "step 3")
            outcome = "no error"
        except FloatingPointError as err:
            outcome = str(err)
        Path(f"{out}.{rank}").write_text(outcome)
    finally:
        dist.destroy_process_group()


def test_a_non_finite_loss_on_one_rank_stops_every_rank(tmp_path):
    # Rank 1 alone sees a NaN. Had only rank 1 raised, rank 0 would go on into the gradient all-reduce and wait there.
    import torch.multiprocessing as mp

    out = str(tmp_path / "outcome")
    mp.spawn(_finite_check_rank, args=(2, str(tmp_path / "init"), out), nprocs=2, join=True)
    assert Path(f"{out}.1").read_text() == "step 3: {'loss': nan}"
    assert Path(f"{out}.0").read_text() == "step 3: on another rank"


def test_the_data_check_runs_the_example_where_the_network_is(tmp_path):
    from lightning_unlearn.models import ClassifierModule
    from tests.conftest import MODEL_ARGS, synthetic_datamodule

    model = ClassifierModule(**MODEL_ARGS)
    dm = synthetic_datamodule()
    dm.setup("fit")
    # Lightning sets the module's target device before setup and moves the network there only after it
    model._device = torch.device("meta")
    model.check_data(dm.split, dm.example_batch(), "synthetic")
    three_channels = dm.example_batch()._replace(inputs=dm.example_batch().inputs.repeat(1, 3, 1, 1))
    with pytest.raises(ValueError, match=r"images have 3 channel\(s\), but the small_cnn model was built for"):
        model.check_data(dm.split, three_channels, "synthetic")
