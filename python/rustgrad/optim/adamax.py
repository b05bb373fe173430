"""``torch.optim.Adamax``."""

from .optimizer import Optimizer, check_adam_family

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, Adam's infinity-norm variant (Kingma & Ba 2014, section 7):
    ``m = lerp(m, g, 1 - b1)``, ``u = max(b2 u, |g| + eps)``, ``p -= lr /
    (1 - b1^t) * m / u``. ValueError for negative ``lr``, ``eps`` or
    ``weight_decay`` or betas outside ``[0, 1)``."""

    _rule = "adamax"

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_adam_family(lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))
