"""What runs print and where the shipped configs are found: the console set-up, progress lines, config lookup."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from lightning_unlearn.callbacks.progress import EpochProgress, remaining_seconds
from lightning_unlearn.cli import _missing_folders
from lightning_unlearn.commands import shipped_configs
from lightning_unlearn.grid import Progress
from lightning_unlearn.shipped import configs_dir, locate
from tests.paths import CONFIGS


def test_shipped_configs_are_the_repository_configs():
    assert configs_dir().resolve() == CONFIGS.resolve()
    assert (configs_dir() / "demo" / "experiment.yaml").is_file()


def test_locate_prefers_the_working_folder_then_the_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = str(configs_dir() / "methods" / "salun.yaml")
    assert locate("configs/methods/salun.yaml") == shipped  # no configs/ here
    assert locate("configs/methods/nonexistent.yaml") == "configs/methods/nonexistent.yaml"  # the user's words
    assert locate("my/own.yaml") == "my/own.yaml"
    (tmp_path / "configs" / "methods").mkdir(parents=True)
    (tmp_path / "configs" / "methods" / "salun.yaml").write_text("model: {}")
    assert locate("configs/methods/salun.yaml") == "configs/methods/salun.yaml"  # a user's own file wins
    argv = ["fit", "--config", "configs/demo/data.yaml", "--config=configs/methods/finetune.yaml", "--x", "configs"]
    assert shipped_configs(argv) == [
        "fit",
        "--config",
        str(configs_dir() / "demo" / "data.yaml"),
        f"--config={configs_dir() / 'methods' / 'finetune.yaml'}",
        "--x",
        "configs",
    ]


def test_a_refused_run_removes_exactly_the_folders_it_created(tmp_path):
    (tmp_path / "existing").mkdir()
    root = tmp_path / "runs" / "exp1"
    log_dir = root / "lightning_logs" / "version_0"
    other = tmp_path / "existing" / "logs"
    created = _missing_folders(str(root), str(log_dir), str(other), None)
    assert set(created) == {log_dir, root / "lightning_logs", other, root, tmp_path / "runs"}
    depths = [len(p.parts) for p in created]
    assert depths == sorted(depths, reverse=True)  # deepest first: a folder is emptied before its parent
    assert tmp_path / "existing" not in created


def test_time_left_at_the_pace_so_far(caplog):
    assert remaining_seconds(30.0, 3, 10) == pytest.approx(70.0)
    assert remaining_seconds(0.0, 0, 10) is None
    caplog.set_level(logging.INFO, logger="lightning_unlearn")
    progress = Progress(4)
    progress.start -= 100.0  # 100 s into the grid
    progress.step("original", "cached", cached=True)
    progress.step("retrain", "50.0 s")  # one computed run in 100 s: 2 more runs left at that pace
    progress.step("finetune", "40.0 s")
    progress.step("salun", "40.0 s")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "[1/4] original: cached (elapsed 100 s)"  # nothing computed yet: no estimate
    assert lines[1] == "[2/4] retrain: 50.0 s (elapsed 100 s, about 200 s left)"
    assert lines[2].startswith("[3/4] finetune: 40.0 s (elapsed 100 s, about 50 s left)")
    assert lines[3] == "[4/4] salun: 40.0 s (elapsed 100 s)"


def test_epoch_progress_speaks_at_most_every_interval_and_only_without_a_progress_bar(caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="lightning_unlearn")
    clock = iter([0.0, 10.0, 31.0, 40.0, 70.0])
    monkeypatch.setattr("lightning_unlearn.callbacks.progress.time.perf_counter", lambda: next(clock))
    trainer = SimpleNamespace(
        current_epoch=2, max_epochs=10, progress_bar_callback=None, is_global_zero=True, logger=None
    )
    progress = EpochProgress(interval=30.0)
    progress.on_train_start(trainer, object())  # resumed at epoch 2: the pace counts the epochs run here
    for epoch, _ in zip((2, 3, 4, 5), range(4), strict=True):
        trainer.current_epoch = epoch
        progress.on_train_epoch_end(trainer, object())
    lines = [r.getMessage() for r in caplog.records]
    # t=10: too early; t=31: 2 epochs run in 31 s, 6 left; t=40: too soon after the last line; t=70: 4 in 70 s
    assert lines == [
        "      object: epoch 4/10, 31 s, about 93 s left",
        "      object: epoch 6/10, 70 s, about 70 s left",
    ]
    trainer.progress_bar_callback = object()  # a progress bar already shows all this
    trainer.current_epoch = 6
    monkeypatch.setattr("lightning_unlearn.callbacks.progress.time.perf_counter", lambda: 1000.0)
    progress.on_train_epoch_end(trainer, object())
    assert len(caplog.records) == 2
    with pytest.raises(ValueError, match="interval must be positive"):
        EpochProgress(interval=0)


def test_configure_drops_advertising_and_the_pytree_warning_but_not_real_warnings():
    from lightning_unlearn.console import configure

    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    configure(orchestrated=False)
    configure(orchestrated=False)  # idempotent: one filter, not one per call
    assert sum(type(f).__name__ == "_DropLines" for f in rank_zero.filters) == 1
    tip = rank_zero.makeRecord(rank_zero.name, logging.INFO, "x", 1, "💡 Tip: install this", (), None)
    info = rank_zero.makeRecord(rank_zero.name, logging.INFO, "x", 1, "GPU available: False", (), None)
    assert not rank_zero.filter(tip) and rank_zero.filter(info)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        configure(orchestrated=False)  # its filters go in front of "always"
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning, stacklevel=1)
        warnings.warn("a real problem", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["a real problem"]


def test_the_configs_link_points_at_the_repository_configs():
    link = Path(__file__).resolve().parents[1] / "lightning_unlearn" / "configs"
    assert link.is_symlink() and link.resolve() == CONFIGS.resolve()  # the same files, not a copy
