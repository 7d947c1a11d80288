"""Callbacks that measure forgetting during ``fit``, ``validate`` and ``test``."""

from lightning_unlearn.callbacks.forgetting_metrics import ForgettingMetrics, load_outputs, save_outputs
from lightning_unlearn.callbacks.membership_inference import MembershipInference
from lightning_unlearn.callbacks.progress import EpochProgress
from lightning_unlearn.callbacks.receipt import UnlearningReceipt
from lightning_unlearn.callbacks.run_timer import RunTimer
from lightning_unlearn.callbacks.set_outputs import SetOutputsCallback, monitor_outputs

__all__ = [
    "EpochProgress",
    "ForgettingMetrics",
    "MembershipInference",
    "RunTimer",
    "SetOutputsCallback",
    "UnlearningReceipt",
    "load_outputs",
    "monitor_outputs",
    "save_outputs",
]
