"""The GPU benchmark's CPU-testable parts: its plan, time guard and results, and the carried folder's checks."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from lightning_unlearn.cli import cli_main
from tests.paths import benchmark_module

BENCH_CONFIG = "configs/bench/cifar10_gpu/bench.yaml"


@pytest.fixture(scope="module")
def bench():
    return benchmark_module("gpu_bench")


@pytest.fixture(scope="module")
def carry():
    return benchmark_module("gpu_carry")


# ------------------------------------------------------------------------------------------------ plan
def test_full_plan_uses_the_shipped_configs_and_the_offline_data(bench):
    plan = bench.make_plan(BENCH_CONFIG, "full")
    spec = yaml.safe_load(Path(BENCH_CONFIG).read_text())
    assert plan.data == "configs/bench/cifar10_gpu/data_offline.yaml"  # shipped files: the grid's cache keys
    assert (plan.original, plan.retrain) == (spec["original"], spec["retrain"])
    assert plan.method_names == spec["methods"]
    assert {"finetune", "neggrad_plus", "scrub", "salun", "l1_sparse", "feature_constraint"} <= set(plan.method_names)
    assert plan.results == "docs/results/cifar10_gpu" and plan.budget == 480
    assert bench.make_plan(BENCH_CONFIG, "full", download=True).data == "configs/bench/cifar10_gpu/data.yaml"
    assert bench.make_plan(BENCH_CONFIG, "full", budget=60).budget == 60


def test_tiny_plan_shrinks_every_stage_and_still_parses_through_the_cli(bench, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for folder in ("configs", "benchmarks"):
        (tmp_path / folder).symlink_to(Path(__file__).resolve().parents[1] / folder)
    plan = bench.make_plan(BENCH_CONFIG, "tiny", archive="elsewhere/c10.npz")
    assert plan.name == "cifar10_gpu_tiny" and plan.out_dir == "runs/bench_rehearsal"
    assert plan.method_names == ["feature_constraint", "finetune"]
    assert plan.throughput["steps"] <= 5 and plan.results.startswith("runs/") and plan.budget == 3600
    data = yaml.safe_load(Path(plan.data).read_text())
    source = data["data"]["source"]
    assert source["class_path"] == "lightning_unlearn.data.PerClassSubset"
    assert source["init_args"]["source"]["init_args"]["path"] == "elsewhere/c10.npz"
    assert data["trainer"]["accelerator"] == "cpu" and data["trainer"]["precision"] == "32-true"
    for config in (plan.original, plan.retrain, *plan.methods["class_0"]):
        cfg = yaml.safe_load(Path(config).read_text())
        assert cfg["trainer"]["max_epochs"] == 1 and cfg["data"]["batch_size"] == data["data"]["batch_size"]
    # the derived files are valid CLI configs (class paths, keys, types)
    for config in (plan.original, plan.methods["random_10pct"][0]):
        with pytest.raises(SystemExit) as exit_info:
            cli_main(["fit", "--config", plan.data, "--config", config, "--print_config"])
        assert exit_info.value.code == 0


def test_plan_arguments_are_checked(bench):
    with pytest.raises(ValueError, match="size must be one of"):
        bench.make_plan(BENCH_CONFIG, "huge")
    with pytest.raises(ValueError, match="exclude each other"):
        bench.make_plan(BENCH_CONFIG, "full", download=True, archive="x.npz")


def test_deep_merge_and_instantiate(bench, tmp_path):
    base = {"a": {"b": 1, "c": 2}, "d": [1]}
    merged = bench.deep_merge(base, {"a": {"b": 5}, "d": [2]})
    assert merged == {"a": {"b": 5, "c": 2}, "d": [2]} and base["a"]["b"] == 1
    source = bench.instantiate(
        {
            "class_path": "lightning_unlearn.data.PerClassSubset",
            "init_args": {"source": {"class_path": "lightning_unlearn.data.Synthetic"}, "train_per_class": 3},
        }
    )
    assert source.load().train.targets.bincount().tolist() == [3, 3, 3, 3]


# ------------------------------------------------------------------------------------------------ time guard
def test_estimate_prefers_the_methods_own_time_then_the_others(bench):
    assert bench.estimate_seconds({}, "scrub", 25.0) == 25.0
    assert bench.estimate_seconds({"finetune": [10.0], "scrub": [4.0]}, "scrub", 25.0) == 4.0
    assert bench.estimate_seconds({"finetune": [10.0], "scrub": [4.0]}, "salun", 25.0) == 1.5 * 7.0


def test_clock_keeps_the_reserve(bench, monkeypatch):
    clock = bench.Clock(budget=100, reserve=10)
    monkeypatch.setattr(clock, "elapsed", lambda: 60.0)
    assert clock.fits(30.0) and not clock.fits(31.0)


def _fake_grid(bench, monkeypatch, seconds: dict[str, float], fail: str = "", kill: str = ""):
    """The benchmark's stages with the grid's runs replaced by stand-ins that advance a fake clock."""
    now = [0.0]
    monkeypatch.setattr(bench, "START", 0.0)
    monkeypatch.setattr(bench, "now", lambda: now[0])
    grid = importlib.import_module("lightning_unlearn.grid")

    def result(name, took):
        now[0] += took
        return SimpleNamespace(name=name, seconds=took, info={"checkpoint": "x"}, history=[{"epoch": 0, "took": took}])

    def run_method(ws, scenario, config, seed):
        method = Path(config).stem
        if method == fail:
            now[0] += 1
            raise FloatingPointError("non-finite loss")
        if method == kill:  # the device tool's time limit: the process ends mid-run
            raise KeyboardInterrupt
        return result(method, seconds[method]), False

    def row(scenario, res, seed):
        return {"scenario": scenario.name, "method": res.name, "seed": seed, "UA": 1.0, "RA": 2.0, "TA": 3.0} | {
            "MIA": 4.0,
            "avg_gap": 1.0,
            "seconds": res.seconds,
        }

    ws = SimpleNamespace(original=SimpleNamespace(seconds=seconds.get("original", 30.0)))
    monkeypatch.setattr(grid, "prepare_workspace", lambda *a: (result("original", ws.original.seconds), ws)[1])
    monkeypatch.setattr(
        grid,
        "prepare_scenario",
        lambda ws, name, spec, retrain, progress: SimpleNamespace(
            name=name, retrain=result("retrain", seconds.get("retrain", 20.0))
        ),
    )
    monkeypatch.setattr(grid, "score_original", lambda ws, sc, progress: result("original", 1.0))
    monkeypatch.setattr(grid, "run_method", run_method)
    monkeypatch.setattr(grid, "scenario_row", row)
    monkeypatch.setattr(grid, "machine_description", lambda: "test machine")
    monkeypatch.setattr(
        bench, "data_source", lambda config: SimpleNamespace(load=lambda: SimpleNamespace(train=[0], test=[0]))
    )
    throughput = {"batch": 8, "steps": 2, "warmup": 1, "repeats": 1, "setup": {"precision": "bf16-mixed"}}
    throughput |= {
        k: {"lightning_images_per_s": 9.0, "plain_images_per_s": 10.0, "ratio": 0.9}
        for k in ("unlearning", "classifier")
    }
    monkeypatch.setattr(bench, "throughput_check", lambda plan, source, accelerator: throughput)
    return now


def _plan(bench, tmp_path, budget):
    plan = bench.make_plan(BENCH_CONFIG, "full", budget=budget)
    plan.results = str(tmp_path / "results" / "gpu")
    return plan


def test_guard_skips_the_run_that_would_not_fit_and_every_later_one(bench, tmp_path, monkeypatch, capsys):
    seconds = {"feature_constraint": 10.0, "finetune": 40.0, "neggrad_plus": 5.0, "scrub": 5.0}
    seconds |= {"salun": 5.0, "l1_sparse": 5.0}
    _fake_grid(bench, monkeypatch, seconds)
    # Budget 200 - reserve 15 = 185. Original 30, 2 x (retrain 20 + score 1): 72; feature_constraint 2 x 10: 92;
    # finetune's first run is estimated at 1.5 x median(10, 10) = 15 and takes 40: 132; its second is estimated at
    # its own 40 (172 <= 185) and runs: 172; neggrad_plus is estimated at 1.5 x median(10, 10, 40, 40) = 37.5:
    # 209.5 > 185, skipped with everything after it.
    out = bench.run_benchmark(_plan(bench, tmp_path, 200), "gpu", "Test GPU")
    ran = {(r["scenario"], r["method"]) for r in out["rows"]}
    assert ("class_0", "finetune") in ran and ("random_10pct", "neggrad_plus") not in ran
    skipped = out["meta"]["skipped"]
    assert [s["method"] for s in skipped][:2] == ["neggrad_plus", "neggrad_plus"] and len(skipped) == 8
    assert "estimate 38 s" in skipped[0]["reason"] and skipped[1]["reason"] == "after an earlier skip"
    markdown = (tmp_path / "results" / "gpu.md").read_text()
    assert "## Skipped for time" in markdown and "| original | 30.0 | 30 |" in markdown
    assert "| unlearning | 9 | 10 | 0.900 |" in markdown
    saved = json.loads((tmp_path / "results" / "gpu.json").read_text())
    assert saved["meta"]["skipped"] == skipped and (tmp_path / "results" / "gpu.png").stat().st_size > 1000
    assert "[stage] class_0 finetune: 40.0 s (elapsed 172 s of 200 s)" in capsys.readouterr().out


def test_a_failed_method_is_recorded_and_the_others_run(bench, tmp_path, monkeypatch):
    seconds = dict.fromkeys(("feature_constraint", "finetune", "neggrad_plus", "scrub", "salun", "l1_sparse"), 2.0)
    _fake_grid(bench, monkeypatch, seconds, fail="scrub")
    out = bench.run_benchmark(_plan(bench, tmp_path, 480), "gpu", "Test GPU")
    assert [f["method"] for f in out["meta"]["failures"]] == ["scrub", "scrub"]
    assert not out["meta"]["skipped"]
    assert {r["method"] for r in out["rows"]} == set(seconds) - {"scrub"} | {"original", "retrain"}


def test_a_scenario_whose_retraining_would_not_fit_is_skipped_with_its_methods(bench, tmp_path, monkeypatch):
    seconds = dict.fromkeys(("feature_constraint", "finetune", "neggrad_plus", "scrub", "salun", "l1_sparse"), 2.0)
    _fake_grid(bench, monkeypatch, seconds | {"original": 100.0, "retrain": 60.0})
    # Budget 220 - reserve 15 = 205: original 100; random_10pct's retraining, estimated at the original's stage
    # (100 + 100 = 200), fits and takes 60, plus 1 to score; class_0's, estimated at the last retraining stage
    # (161 + 60 = 221), does not; the methods run on the first scenario.
    out = bench.run_benchmark(_plan(bench, tmp_path, 220), "gpu", "Test GPU")
    assert {r["scenario"] for r in out["rows"]} == {"random_10pct"}
    skipped = [s for s in out["meta"]["skipped"] if s["scenario"] == "class_0"]
    assert [s["method"] for s in skipped] == ["retrain", *seconds]
    assert "elapsed 161 s + estimate 60 s" in skipped[0]["reason"]
    assert {r["method"] for r in out["rows"]} == set(seconds) | {"original", "retrain"}
    # With no scenario in the budget the results are still written (no plot).
    none = bench.run_benchmark(_plan(bench, tmp_path, 150), "gpu", "Test GPU")
    assert not none["rows"] and len(none["meta"]["skipped"]) == 2 * (1 + len(seconds))
    assert "Incomplete" not in (tmp_path / "results" / "gpu.md").read_text()


def test_a_run_killed_at_its_limit_leaves_the_results_of_every_finished_stage(bench, tmp_path, monkeypatch):
    seconds = dict.fromkeys(("feature_constraint", "finetune", "neggrad_plus", "scrub", "salun", "l1_sparse"), 2.0)
    _fake_grid(bench, monkeypatch, seconds, kill="neggrad_plus")
    with pytest.raises(KeyboardInterrupt):
        bench.run_benchmark(_plan(bench, tmp_path, 480), "gpu", "Test GPU")
    saved = json.loads((tmp_path / "results" / "gpu.json").read_text())
    assert saved["meta"]["complete"] is False
    assert {r["method"] for r in saved["rows"]} == {"original", "retrain", "feature_constraint", "finetune"}
    assert saved["meta"]["regime"]["original_avg_gap_random_10pct"] == 1.0
    markdown = (tmp_path / "results" / "gpu.md").read_text()
    assert "Incomplete" in markdown and "| class_0 finetune | 2.0 |" in markdown
    # Each finished run's per-epoch history travels with its row.
    assert [(h["scenario"], h["method"]) for h in saved["histories"]] == [
        (r["scenario"], r["method"]) for r in saved["rows"]
    ]
    assert saved["histories"][-1]["history"] == [{"epoch": 0, "took": 2.0}]


# ------------------------------------------------------------------------------------------------ carried folder
def _wheel(folder: Path, name: str, version: str, requires: list[str]) -> Path:
    path = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name.replace('-', '_')}-{version}.dist-info/METADATA", metadata)
    return path


def test_requirements_follow_markers_and_the_extras_the_project_uses(carry, tmp_path):
    wheel = _wheel(
        tmp_path,
        "jsonargparse",
        "4.53.0",
        [
            "PyYAML>=3.13",
            'docstring-parser>=0.17; extra == "signatures"',
            'typing-extensions>=4.12.0; python_version < "3.11" and extra == "signatures"',
            'requests>=2; extra == "urls"',
        ],
    )
    assert carry.requirements(wheel) == {"pyyaml"}
    assert carry.requirements(wheel, ("signatures",)) == {"pyyaml", "docstring-parser"}  # Python 3.12: no backport


def test_missing_requirements_name_what_is_neither_carried_nor_in_the_image(carry, tmp_path):
    _wheel(tmp_path, "jsonargparse", "4.53.0", ["PyYAML", 'docstring-parser; extra == "signatures"'])
    _wheel(tmp_path, "typeshed-client", "2.15.0", ["typing-extensions>=4.5.0", "importlib-resources>=1.4"])
    assert carry.missing_requirements(tmp_path) == {
        "jsonargparse-4.53.0-py3-none-any.whl": {"docstring-parser"},
        "typeshed_client-2.15.0-py3-none-any.whl": {"importlib-resources"},
    }
    _wheel(tmp_path, "docstring-parser", "0.18.0", [])
    assert "jsonargparse-4.53.0-py3-none-any.whl" not in carry.missing_requirements(tmp_path)


def test_travelling_bytes_count_tracked_and_unignored_files_and_the_carried_folder(carry, tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("/.gpu/\n/runs/\n")
    (tmp_path / "code.py").write_bytes(b"x" * 100)
    for ignored in (".gpu", "runs"):
        (tmp_path / ignored).mkdir()
        (tmp_path / ignored / "blob").write_bytes(b"y" * 1000)
    expected = len("/.gpu/\n/runs/\n") + 100 + 1000  # .gitignore, code.py, the carried .gpu/blob; not runs/
    assert carry.travelling_bytes(tmp_path, [tmp_path / ".gpu"]) == expected


# ------------------------------------------------------------------------------------------------ throughput
def test_throughput_runs_both_sides_with_the_gpu_settings_on_the_cpu(tmp_path):
    import torch

    throughput = benchmark_module("throughput")
    setup = throughput.Setup(batch=8, channels_last=True, data_on_device=True, synthetic_per_class=4)
    results = throughput.compare(setup, steps=2, warmup=1, repeats=1, original=str(tmp_path / "original.ckpt"))
    for kind in throughput.WORKLOADS:
        r = results[kind]
        assert r["lightning_images_per_s"] > 0 and r["plain_images_per_s"] > 0
        assert r["ratio"] == pytest.approx(r["lightning_images_per_s"] / r["plain_images_per_s"])
    assert throughput.ratio_line(results).startswith("lightning/plain throughput ratio: ")
    assert "| classifier |" in throughput.table(results)
    with throughput.autocast(throughput.Setup(precision="bf16-mixed")):  # the Trainer's bf16-mixed, by hand
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    with (
        pytest.raises(ValueError, match="unsupported precision"),
        throughput.autocast(throughput.Setup(precision="16-mixed")),
    ):
        pass
