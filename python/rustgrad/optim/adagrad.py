"""``torch.optim.Adagrad``."""

from .. import _core
from .optimizer import Optimizer, check_lr, check_range

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer 2011): ``s += g²``, ``p -= lr_t g /
    (sqrt(s) + eps)`` with ``lr_t = lr / (1 + (t - 1) lr_decay)``; the sums
    start at ``initial_accumulator_value`` (state created at construction,
    as PyTorch). ValueError for negative ``lr``, ``lr_decay``,
    ``weight_decay``, ``initial_accumulator_value`` or ``eps``."""

    _rule = "adagrad"

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_lr(lr)
        check_range("lr_decay", lr_decay)
        check_range("weight_decay", weight_decay)
        check_range("initial_accumulator_value", initial_accumulator_value)
        check_range("epsilon", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["step"] = self._new_state(group, "step", p)
                self.state[p]["sum"] = self._new_state(group, "sum", p)

    def _new_state(self, group, name, param):
        if name == "sum":
            return _core.full_like(param, group["initial_accumulator_value"])
        return super()._new_state(group, name, param)
