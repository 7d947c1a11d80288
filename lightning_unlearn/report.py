"""The experiment report: one row per model, as JSON and as Markdown tables with a legend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning_unlearn.io import atomic_write_json, atomic_write_text

#: Main table: column -> meaning and direction (the README's "Reading the report" repeats these).
COLUMNS: dict[str, str] = {
    "method": "model: original, retrain (gold standard), or an unlearning method",
    "UA": "unlearning accuracy, 100 - forget-set accuracy (closer to retrain is better)",
    "RA": "retain-set accuracy (closer to retrain is better)",
    "TA": "test accuracy; for class-wise forgetting on the remaining classes (closer to retrain is better)",
    "TA_forgotten": "class-wise only: test accuracy on the forgotten classes (closer to retrain, 0, is better)",
    "MIA": "MIA-efficacy, confidence feature (SalUn): % of forget samples an SVM calls non-members "
    "(closer to retrain is better)",
    "avg_gap": "Avg.Gap: mean |difference to retrain| over UA, RA, TA, MIA (lower is better)",
    "seconds": "wall seconds of fit, evaluation excluded, method set-up included (lower is better)",
    "RTE": "run time / retrain's run time (lower is better)",
}

#: Second table: the other attacks and the distances to the retrained and to a random model.
DETAIL_COLUMNS: dict[str, str] = {
    "method": "model",
    "MIA_entropy": "MIA-efficacy with the prediction-entropy feature (closer to retrain is better)",
    "MIA_m_entropy": "MIA-efficacy with the modified-entropy feature of Song & Mittal (closer to retrain is better)",
    "MIA_loss": "loss-based MIA accuracy, forget vs test, logistic regression, 10 splits (50 is ideal for random "
    "forgetting; compare to retrain)",
    "JS_forget": "mean Jensen-Shannon divergence (nats) to retrain's softmax on the forget set (lower is better)",
    "JS_test": "the same on the test set (lower is better)",
    "AD_forget": "activation distance: mean L2 between softmax outputs and retrain's, forget set (lower is better)",
    "AD_test": "the same on the test set (lower is better)",
    "ZRF": "1 - mean JS to a random network on the forget set (closer to retrain is better)",
    "ZRF_authors_code": "ZRF as the Bad Teacher authors' code computes it: 1 - (KL(m||p) + KL(m||q)) / 2, averaged "
    "over samples and classes (not the paper's formula; for comparison with papers that ran their code)",
    "LiRA_AUC": "per-sample offline LiRA attack calibrated on reference models (a grid's reference_models): AUC of "
    "forget vs unseen test samples of their classes (closer to retrain, about 0.5, is better)",
    "LiRA_TPR@1%FPR": "the same attack's true-positive rate at (at most) 1 % false positives (closer to retrain is "
    "better; chance (floor(0.01 n) + 1) / (n + 1) for n unseen samples: 0.013 at 300, 0.010 at 3000)",
    "eval_overhead": "seconds of the per-epoch metric callbacks / seconds of training (lower is better)",
}


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
