"""``torch.optim.RMSprop``."""

from .optimizer import Optimizer, check_lr, check_range

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e; centered form from Graves 2013):
    ``v = alpha v + (1 - alpha) g²``, ``p -= lr g / (sqrt(v - mean_g²) +
    eps)`` with ``centered``, through a momentum buffer when ``momentum >
    0``. ValueError for negative ``lr``, ``eps``, ``momentum``,
    ``weight_decay`` or ``alpha``."""

    _rule = "rmsprop"

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_lr(lr)
        check_range("epsilon", eps)
        check_range("momentum", momentum)
        check_range("weight_decay", weight_decay)
        check_range("alpha", alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))
