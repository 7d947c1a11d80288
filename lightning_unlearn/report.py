"""The experiment report: one row per model, as JSON and as a Markdown table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning_unlearn.io import atomic_write_json, atomic_write_text

#: Columns of the Markdown table, with their meaning (README "Reading the report" repeats these).
COLUMNS: dict[str, str] = {
    "method": "model: original, retrain (gold standard), or an unlearning method",
    "UA": "unlearning accuracy, 100 - forget-set accuracy (closer to retrain is better)",
    "RA": "retain-set accuracy (closer to retrain, usually higher, is better)",
    "TA": "test accuracy; for class-wise forgetting on the remaining classes (closer to retrain is better)",
    "TA_forgotten": "test accuracy on the forgotten classes (class-wise only; retrain scores 0)",
    "seconds": "wall seconds of fit, evaluation excluded",
}


def format_value(value: Any) -> str:
    """Numbers with two decimals, missing values as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as a Markdown table over ``columns`` (default: those of :data:`COLUMNS` present in any row)."""
    cols = list(columns or [c for c in COLUMNS if any(c in r for r in rows)])
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    lines += ["| " + " | ".join(format_value(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def write_report(rows: Sequence[dict[str, Any]], out_dir: str | Path, meta: dict[str, Any] | None = None) -> str:
    """Write ``report.json`` (``{"meta": ..., "rows": [...]}``) and ``report.md`` atomically; return the table."""
    out = Path(out_dir)
    table = markdown_table(rows)
    atomic_write_json(out / "report.json", {"meta": meta or {}, "rows": list(rows)})
    legend = "\n".join(f"- **{k}**: {v}" for k, v in COLUMNS.items())
    header = f"# Unlearning report\n\n{_meta_lines(meta)}\n" if meta else "# Unlearning report\n\n"
    atomic_write_text(out / "report.md", f"{header}{table}\n\n{legend}\n")
    return table


def _meta_lines(meta: dict[str, Any]) -> str:
    return "\n".join(f"- {k}: {v}" for k, v in meta.items()) + "\n"
