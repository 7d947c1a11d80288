"""Callbacks that measure forgetting during ``fit`` and ``test``."""

from lightning_unlearn.callbacks.forgetting_metrics import ForgettingMetrics
from lightning_unlearn.callbacks.run_timer import RunTimer

__all__ = ["ForgettingMetrics", "RunTimer"]
