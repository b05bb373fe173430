"""``torch.optim.RAdam``."""

from .optimizer import Optimizer, check_adam_family

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam, rectified Adam (Liu et al. 2020, "On the Variance of the
    Adaptive Learning Rate and Beyond"): plain momentum SGD while the
    variance estimate is unreliable (``rho_t <= 5``), then Adam scaled by the
    rectification term. ValueError for negative ``lr``, ``eps`` or
    ``weight_decay``, or betas outside ``[0, 1)``."""

    _rule = "radam"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_adam_family(lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))
