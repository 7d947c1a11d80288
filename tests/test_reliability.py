"""Bad input, nothing lost, interruption and resume, determinism, safe loading, receipts."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path

import pytest
import torch
import yaml

from lightning_unlearn.cli import cli_main, main
from lightning_unlearn.io import atomic_torch_save, atomic_write_text, sha256_file
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


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


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
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_stops_before_training_with_one_error_and_no_file(
    case, change, message, tmp_path, original_ckpt, monkeypatch
):
    model_args = dict(change.get("model", {}))
    if model_args.get("original_ckpt") == "CORRUPT":
        model_args["original_ckpt"] = str(_write_corrupt(tmp_path / "corrupt.ckpt"))
    config = _unlearn_config(tmp_path, original_ckpt, change.get("data"), **model_args)
    code, err = _run_main(["fit", "--config", str(config)], monkeypatch)
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 1, err
    import re

    assert re.search(message, lines[0]), lines[0]
    assert _files(tmp_path / "run") == []


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


def test_receipt_records_the_run_and_verify_checks_every_hash(tmp_path, original_ckpt, monkeypatch, capsys):
    cli = cli_main(["fit", "--config", str(_unlearn_config(tmp_path, original_ckpt))])
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
    text = (folder / "receipt.json").read_text()
    assert str(split.forget.tolist()[1:6])[1:-1] not in text  # no forget indices, no data
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
        dm.trainer = SimpleNamespace(is_global_zero=rank_zero, log_dir=str(folder), lightning_module=None)  # type: ignore[assignment]
        dm.setup("fit")
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
    def config(folder: Path) -> Path:
        cfg = yaml.safe_load(_unlearn_config(folder, original_ckpt).read_text())
        cfg["data"]["batch_size"] = 8
        cfg["trainer"]["max_epochs"] = 3
        cfg["trainer"]["callbacks"] = [
            {
                "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                "init_args": {"dirpath": str(folder / "ckpt"), "every_n_train_steps": 1, "save_last": True},
            },
            {"class_path": "tests.helpers.SlowSteps", "init_args": {"seconds": 0.25}},
        ]
        path = folder / "config.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    whole = cli_main(["fit", "--config", str(config(tmp_path / "whole"))])
    steps_per_epoch = whole.trainer.num_training_batches
    total_steps = whole.trainer.global_step
    assert steps_per_epoch == 5 and total_steps == 3 * steps_per_epoch
    cut = tmp_path / "cut"
    cmd = [sys.executable, "-m", "lightning_unlearn.cli", "fit", "--config", str(config(cut))]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while _last_step(cut / "ckpt" / "last.ckpt") < steps_per_epoch + 2 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _last_step(cut / "ckpt" / "last.ckpt")
    assert steps_per_epoch < killed_at < 2 * steps_per_epoch  # in the middle of the second epoch
    resume = subprocess.run([*cmd, "--ckpt_path", "last"], env=env, capture_output=True, text=True, timeout=300)
    assert resume.returncode == 0, resume.stderr[-2000:]
    done = torch.load(cut / "ckpt" / "last.ckpt", map_location="cpu", weights_only=True)
    assert done["global_step"] == total_steps
    for k, v in whole.model.state_dict().items():
        assert torch.equal(v, done["state_dict"][k]), k
    receipts = [
        json.loads(p.read_text())["metrics"] for p in (tmp_path / "whole", cut) for p in p.rglob("receipt.json")
    ]
    assert receipts[0] == receipts[1]


def _ddp_unlearning_metrics(root: Path, original_ckpt: Path, **trainer_kwargs) -> dict[str, float]:
    from lightning_unlearn.callbacks import ForgettingMetrics
    from lightning_unlearn.methods import FeatureConstraintUnlearner
    from tests.conftest import MODEL_ARGS, synthetic_datamodule, tiny_trainer

    # lr 0.05: with the default cosine schedule, 0.02 leaves the class half-forgotten after 6 short epochs, a state
    # too unsettled to compare across sample orders.
    model = FeatureConstraintUnlearner(original_ckpt=str(original_ckpt), retain_share=0.5, lr=0.05, **MODEL_ARGS)
    trainer = tiny_trainer(root, max_epochs=6, callbacks=[ForgettingMetrics(monitor_size=None)], **trainer_kwargs)
    trainer.fit(model, datamodule=synthetic_datamodule())
    return {k: float(v) for k, v in trainer.callback_metrics.items() if k.endswith("/acc")}


def test_two_rank_ddp_unlearning_matches_one_rank_within_tolerance(tmp_path, original_ckpt):
    one = _ddp_unlearning_metrics(tmp_path / "one", original_ckpt)
    two = _ddp_unlearning_metrics(tmp_path / "two", original_ckpt, strategy="ddp_spawn", devices=2)
    assert set(one) == set(two) == {"forget/acc", "retain/acc", "test/acc", "test_forget/acc"}
    # Same global batch and arithmetic; the sample order and per-rank batch-norm statistics differ (measured:
    # identical accuracies on this data).
    for key in one:
        assert abs(one[key] - two[key]) <= 10.0, key
