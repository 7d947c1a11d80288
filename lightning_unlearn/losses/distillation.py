"""Knowledge-distillation divergence between a student's and a teacher's predictions."""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F


def distillation_kl(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0) -> Tensor:
    """``T^2 * KL(softmax(teacher / T) || softmax(student / T))``, summed over classes, averaged over samples.

    The batch-mean reduction is the KL divergence per sample (``reduction="batchmean"``); an element-wise mean
    would divide it by the number of classes. The ``T^2`` factor keeps gradient sizes comparable across
    temperatures (Hinton et al. 2015).
    """
    t = temperature
    log_student = F.log_softmax(student_logits.float() / t, dim=1)
    log_teacher = F.log_softmax(teacher_logits.float() / t, dim=1)
    return F.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True) * (t * t)


def distillation_kl_to_probs(student_logits: Tensor, teacher_probs: Tensor, temperature: float = 1.0) -> Tensor:
    """Like :func:`distillation_kl` with the teacher given as probabilities (already at temperature ``T``)."""
    t = temperature
    log_student = F.log_softmax(student_logits.float() / t, dim=1)
    return F.kl_div(log_student, teacher_probs.float(), reduction="batchmean") * (t * t)
