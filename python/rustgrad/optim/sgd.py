"""``torch.optim.SGD``."""

from .optimizer import Optimizer, check_lr, check_range

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (Polyak or
    Nesterov, as formulated by Sutskever et al. 2013), dampening, L2 weight
    decay and ``maximize``: PyTorch's update, ``buf = momentum * buf + (1 -
    dampening) * g`` (``buf = g`` on the first step), ``p -= lr * buf`` (or
    ``g + momentum * buf`` with Nesterov). ValueError for a negative ``lr``,
    ``momentum`` or ``weight_decay``, or Nesterov without momentum or with
    dampening."""

    _rule = "sgd"

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        check_lr(lr)
        check_range("momentum", momentum)
        check_range("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))
