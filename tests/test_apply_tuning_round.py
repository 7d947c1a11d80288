from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.paths import ROOT


def _module():
    spec = importlib.util.spec_from_file_location("apply_tuning_round", ROOT / "benchmarks" / "apply_tuning_round.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _choice(scenario: str, method: str, score: float) -> dict:
    return {"scenario": scenario, "method": method, "score": score}


def test_a_later_round_replaces_only_the_recipes_it_beats_on_validation(tmp_path: Path):
    later_recipes, tuned = tmp_path / "later", tmp_path / "tuned"
    for folder in (later_recipes, tuned):
        (folder / "random").mkdir(parents=True)
    for method in ("ssd", "finetune", "bad_teacher"):
        (tuned / "random" / f"{method}.yaml").write_text(f"round one {method}\n")
        (later_recipes / "random" / f"{method}.yaml").write_text(f"round two {method}\n")
    first = {
        "chosen": [
            _choice("random", "ssd", 2.5),
            _choice("random", "finetune", 4.0),
            _choice("random", "bad_teacher", 3.0),
        ]
    }
    later = {
        "chosen": [
            _choice("random", "ssd", 2.0),
            _choice("random", "finetune", 4.5),
            _choice("random", "bad_teacher", 3.0),
        ]
    }
    lines = _module().apply_round(first, later, later_recipes, tuned, "round2.yaml")
    replaced = (tuned / "random" / "ssd.yaml").read_text()
    assert replaced.endswith("round two ssd\n") and "round one's choice (validation Avg.Gap 2.50)" in replaced
    assert (tuned / "random" / "finetune.yaml").read_text() == "round one finetune\n"  # worse: kept
    assert (tuned / "random" / "bad_teacher.yaml").read_text() == "round one bad_teacher\n"  # a tie keeps round one
    assert len(lines) == 3 and lines[0].startswith("random ssd: replaced")
