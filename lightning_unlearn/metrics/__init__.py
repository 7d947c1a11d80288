"""Forgetting and membership metrics: pure functions plus thin torchmetrics collectors."""

from lightning_unlearn.metrics.accuracy import accuracy, unlearning_accuracy
from lightning_unlearn.metrics.outputs import SampleOutputCollector, SampleOutputs, deduplicate

__all__ = ["SampleOutputCollector", "SampleOutputs", "accuracy", "deduplicate", "unlearning_accuracy"]
