"""``torch.optim.Adadelta``."""

from .optimizer import Optimizer, check_lr, check_range

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): ``v = rho v + (1 - rho) g²``, ``d =
    sqrt(u + eps) / sqrt(v + eps) g``, ``u = rho u + (1 - rho) d²``,
    ``p -= lr d``. ValueError for negative ``lr``, ``eps`` or
    ``weight_decay``, or ``rho`` outside ``[0, 1]``."""

    _rule = "adadelta"

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_range("epsilon", eps)
        check_range("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))
