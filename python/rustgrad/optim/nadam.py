"""``torch.optim.NAdam``."""

from .optimizer import Optimizer, check_adam_family, check_range

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam, Adam with Nesterov momentum (Dozat 2016, "Incorporating
    Nesterov Momentum into Adam"), with the momentum schedule ``mu_t = b1 (1
    - 0.96^(t psi) / 2)``, ``psi = momentum_decay``, and optionally
    decoupled weight decay. ValueError for negative ``lr``, ``eps``,
    ``weight_decay`` or ``momentum_decay``, or betas outside ``[0, 1)``."""

    _rule = "nadam"

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_adam_family(lr, eps, betas, weight_decay)
        check_range("momentum_decay", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))
