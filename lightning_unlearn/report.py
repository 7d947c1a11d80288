"""The experiment report: one row per model, as JSON and as Markdown tables with a legend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning_unlearn.io import atomic_write_json, atomic_write_text
from lightning_unlearn.metrics.registry import report_columns

#: Main table: column -> legend (declared in :mod:`lightning_unlearn.metrics.registry`; the README's "Reading the
#: report" repeats these).
COLUMNS: dict[str, str] = report_columns("main")

#: Second table: the other attacks and the distances to the retrained and to a random model.
DETAIL_COLUMNS: dict[str, str] = report_columns("detail")


def format_value(value: Any) -> str:
    """Floats: two decimals, or three significant digits below 0.1; missing values as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if 0 < abs(value) < 0.1 else f"{value:.2f}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as a Markdown table over those ``columns`` present in any row."""
    cols = [c for c in columns if any(c in r for r in rows)]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    lines += ["| " + " | ".join(format_value(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def write_report(rows: Sequence[dict[str, Any]], out_dir: str | Path, meta: dict[str, Any] | None = None) -> str:
    """Write ``report.json`` (``{"meta": ..., "rows": [...]}``) and ``report.md`` atomically; return the main table."""
    out = Path(out_dir)
    table = markdown_table(rows, list(COLUMNS))
    details = markdown_table(rows, list(DETAIL_COLUMNS))
    atomic_write_json(out / "report.json", {"meta": meta or {}, "rows": list(rows)})
    legend = "\n".join(f"- **{k}**: {v}" for k, v in {**COLUMNS, **DETAIL_COLUMNS}.items() if k != "method")
    meta_lines = "\n".join(f"- {k}: {v}" for k, v in (meta or {}).items())
    plots = "\n".join(f"![{p}]({p})" for p in (meta or {}).get("plots", []))
    text = f"# Unlearning report\n\n{meta_lines}\n\n{table}\n\n{details}\n\n{legend}\n\n{plots}\n"
    atomic_write_text(out / "report.md", text)
    return table
