"""Unlearning methods: every one a subclass of :class:`UnlearningModule` that defines its loss."""

from lightning_unlearn.methods.amnesiac import Amnesiac
from lightning_unlearn.methods.bad_teacher import BadTeacher
from lightning_unlearn.methods.base import LossTerms, UnlearningModule
from lightning_unlearn.methods.boundary_shrink import BoundaryShrink
from lightning_unlearn.methods.feature_constraint import FeatureConstraintUnlearner
from lightning_unlearn.methods.finetune import FineTune
from lightning_unlearn.methods.gradient_ascent import GradientAscent
from lightning_unlearn.methods.l1_sparse import L1Sparse
from lightning_unlearn.methods.neggrad_plus import NegGradPlus
from lightning_unlearn.methods.one_shot import OneShotUnlearningModule
from lightning_unlearn.methods.random_labels import RandomLabels
from lightning_unlearn.methods.retrain import Retrain
from lightning_unlearn.methods.salun import SalUn
from lightning_unlearn.methods.scrub import SCRUB
from lightning_unlearn.methods.ssd import SSD
from lightning_unlearn.methods.unsir import UNSIR

#: Method name (as in configs/methods/<name>.yaml and `make demo METHODS=...`) -> class.
METHODS: dict[str, type[UnlearningModule]] = {
    "retrain": Retrain,
    "finetune": FineTune,
    "gradient_ascent": GradientAscent,
    "neggrad_plus": NegGradPlus,
    "random_labels": RandomLabels,
    "bad_teacher": BadTeacher,
    "unsir": UNSIR,
    "scrub": SCRUB,
    "salun": SalUn,
    "l1_sparse": L1Sparse,
    "boundary_shrink": BoundaryShrink,
    "amnesiac": Amnesiac,
    "ssd": SSD,
    "feature_constraint": FeatureConstraintUnlearner,
}

__all__ = [
    "METHODS",
    "SCRUB",
    "SSD",
    "UNSIR",
    "Amnesiac",
    "BadTeacher",
    "BoundaryShrink",
    "FeatureConstraintUnlearner",
    "FineTune",
    "GradientAscent",
    "L1Sparse",
    "LossTerms",
    "NegGradPlus",
    "OneShotUnlearningModule",
    "RandomLabels",
    "Retrain",
    "SalUn",
    "UnlearningModule",
]
