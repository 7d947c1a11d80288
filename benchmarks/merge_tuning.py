"""Replace some methods' rows of a committed tuning table by a later sweep of their own.

A sweep (``lightning-unlearn tune`` on a config whose ``search`` holds only some methods) re-chooses those
methods' recipes; this puts its rows and choices in place of theirs in the committed table, keeps every other
method's rows, records the sweep in ``meta`` and rewrites the Markdown next to it.

    python benchmarks/merge_tuning.py docs/results/cifar10_mem_tuning runs/bench/<sweep>/tuning.json \
        --note "why the sweep ran" [--header docs/results/cifar10_mem_tuning_header.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lightning_unlearn.io import atomic_write_json, atomic_write_text
from lightning_unlearn.tuning import tuning_markdown


def merge(base: dict, sweep: dict, note: str) -> dict:
    """``base`` with the rows and choices of ``sweep``'s methods replaced by the sweep's."""
    methods = {r["method"] for r in sweep["rows"]}
    rows = [r for r in base["rows"] if r["method"] not in methods]
    order = list(dict.fromkeys(r["method"] for r in base["rows"]))
    rows += sweep["rows"]
    rows.sort(key=lambda r: (r["scenario"] != base["rows"][0]["scenario"], order.index(r["method"])))
    chosen = [c for c in base["chosen"] if c["method"] not in methods] + sweep["chosen"]
    meta = dict(base["meta"])
    meta.setdefault("sweeps", []).append({**sweep["meta"], "methods": sorted(methods), "note": note})
    return {"meta": meta, "rows": rows, "chosen": chosen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the committed table, without extension (.json and .md are written)")
    parser.add_argument("sweep", help="tuning.json of the later sweep")
    parser.add_argument("--note", required=True, help="why the sweep ran (kept in meta)")
    parser.add_argument("--header", help="Markdown put before the table (default: the committed file's own)")
    args = parser.parse_args()
    base_json, base_md = Path(f"{args.base}.json"), Path(f"{args.base}.md")
    merged = merge(json.loads(base_json.read_text()), json.loads(Path(args.sweep).read_text()), args.note)
    old_md = base_md.read_text()
    header = Path(args.header).read_text() if args.header else old_md[: old_md.index("Scores:")]
    chosen = {(c["scenario"], c["method"]): c for c in merged["chosen"]}
    # tuning_markdown marks a row chosen by identity: point the choices at the row objects themselves
    for row in merged["rows"]:
        pick = chosen.get((row["scenario"], row["method"]))
        if pick is not None and pick["config"] == row["config"]:
            chosen[(row["scenario"], row["method"])] = row
    table = tuning_markdown(merged["rows"], chosen)
    atomic_write_json(base_json, merged)  # the format `lightning-unlearn tune` writes
    atomic_write_text(base_md, header + table[table.index("Scores:") :])
    print(f"written: {base_json}, {base_md} ({len(merged['rows'])} rows)")


if __name__ == "__main__":
    main()
