"""Copy a finished grid's results into docs/results/: the Markdown tables and the per-seed rows as JSON.

    python benchmarks/export_results.py runs/bench/cifar10_cpu docs/results/cifar10_cpu

Writes ``<dest>.md`` (the grid's results.md) and ``<dest>.json`` (one object per run with the keys
method, scenario, seed, UA, RA, TA, MIA, avg_gap, seconds, retrain_seconds, plus the run's other metrics, and
the grid's ``regime`` block at the top level), ``<dest>.png`` (Avg.Gap against time) and, for a grid with reference
models, ``<dest>_lira_scores.png`` (the per-sample LiRA scores), and prints a compact table (Avg.Gap mean ± std
and the share of retrain's time per scenario) for the README.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

KEYS = ("method", "scenario", "seed", "UA", "RA", "TA", "MIA", "avg_gap", "seconds", "retrain_seconds")
EXTRA = (
    "TA_forgotten",
    "MIA_entropy",
    "MIA_m_entropy",
    "MIA_loss",
    "JS_forget",
    "JS_test",
    "ZRF",
    "RTE",
    "TA_val",
    "MIA_val",
    "avg_gap_val",
    "LiRA_AUC",
    "LiRA_TPR@1%FPR",
)


def compact_table(summary: list[dict]) -> str:
    """Method rows, one column pair (Avg.Gap mean ± std, % of retrain's time) per scenario."""
    scenarios = list(dict.fromkeys(s["scenario"] for s in summary))
    methods = list(dict.fromkeys(s["method"] for s in summary))
    cells = {(s["scenario"], s["method"]): s for s in summary}
    head = "| method | " + " | ".join(f"{sc}: Avg.Gap | {sc}: % of retrain" for sc in scenarios) + " |"
    lines = [head, "| --- |" + " --- | --- |" * len(scenarios)]
    for method in methods:
        row = [method]
        for sc in scenarios:
            s = cells.get((sc, method))
            if s is None:
                row += ["-", "-"]
                continue
            std = f" ± {s['avg_gap_std']:.2f}" if s.get("avg_gap_std") else ""
            row += [f"{s['avg_gap']:.2f}{std}", f"{100 * s.get('RTE', float('nan')):.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def lira_table(summary: list[dict]) -> str:
    """Per scenario: each method's LiRA AUC and TPR@1%FPR (mean ± std), and its rank by the distance of its AUC
    to retrain's next to its rank by Avg.Gap (1 = closest to retrain), with Spearman's correlation of the two."""
    out = []
    for sc in dict.fromkeys(s["scenario"] for s in summary):
        rows = [s for s in summary if s["scenario"] == sc and "LiRA_AUC" in s]
        if not rows:
            continue
        retrain = next(s for s in rows if s["method"] == "retrain")
        methods = [s for s in rows if s["method"] not in ("retrain", "original")]
        by_auc = sorted(methods, key=lambda s: abs(s["LiRA_AUC"] - retrain["LiRA_AUC"]))
        by_gap = sorted(methods, key=lambda s: s["avg_gap"])
        rank_auc = {s["method"]: i for i, s in enumerate(by_auc, 1)}
        rank_gap = {s["method"]: i for i, s in enumerate(by_gap, 1)}
        n = len(methods)
        rho = 1 - 6 * sum((rank_auc[m] - rank_gap[m]) ** 2 for m in rank_auc) / (n * (n * n - 1)) if n > 1 else 1.0
        out += [f"{sc} (Spearman rank correlation, |AUC - retrain| vs Avg.Gap: {rho:.2f})", ""]
        out += ["| method | LiRA AUC | TPR@1%FPR | rank by AUC | rank by Avg.Gap |", "| --- | --- | --- | --- | --- |"]
        for s in rows:
            auc = f"{s['LiRA_AUC']:.3f}" + (f" ± {s['LiRA_AUC_std']:.3f}" if s.get("LiRA_AUC_std") else "")
            tpr = f"{s['LiRA_TPR@1%FPR']:.3f}" + (
                f" ± {s['LiRA_TPR@1%FPR_std']:.3f}" if s.get("LiRA_TPR@1%FPR_std") else ""
            )
            ranks = [str(rank_auc.get(s["method"], "-")), str(rank_gap.get(s["method"], "-"))]
            out.append(f"| {s['method']} | {auc} | {tpr} | " + " | ".join(ranks) + " |")
        out.append("")
    return "\n".join(out)


def main(source: str, dest: str) -> None:
    folder, target = Path(source), Path(dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads((folder / "results.json").read_text())
    rows = [{k: row[k] for k in (*KEYS, *EXTRA) if k in row} for row in results["rows"]]
    payload = {
        "meta": results["meta"],
        "regime": results["meta"].get("regime", {}),
        "summary": results["summary"],
        "rows": rows,
    }
    target.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    shutil.copyfile(folder / "results.md", target.with_suffix(".md"))
    if (folder / "gap_vs_time.png").is_file():
        shutil.copyfile(folder / "gap_vs_time.png", target.with_suffix(".png"))
    if (folder / "lira_scores.png").is_file():
        shutil.copyfile(folder / "lira_scores.png", target.with_name(f"{target.name}_lira_scores.png"))
    print(compact_table(results["summary"]))
    if any("LiRA_AUC" in s for s in results["summary"]):
        print(lira_table(results["summary"]))
    print(f"written: {target.with_suffix('.md')}, {target.with_suffix('.json')}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
