"""``torch.optim.Adam`` and ``AdamW``."""

from .. import _core
from .optimizer import Optimizer, check_adam_family

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba 2014, "Adam: A Method for Stochastic Optimization"),
    with AMSGrad (Reddi et al. 2018) and either L2 (``weight_decay`` added to
    the gradient) or, with ``decoupled_weight_decay=True``, AdamW's decay.
    PyTorch's update: ``m = lerp(m, g, 1 - b1)``, ``v = b2 v + (1 - b2) g²``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    ValueError for a negative ``lr``, ``eps`` or ``weight_decay`` or betas
    outside ``[0, 1)``."""

    _rule = "adam"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        check_adam_family(lr, eps, betas, weight_decay)
        if not (all(isinstance(b, float) for b in betas) or all(isinstance(b, _core.Tensor) for b in betas)):
            raise ValueError("betas must be either both floats or both Tensors")
        betas = tuple(b.squeeze() if isinstance(b, _core.Tensor) and b.dim() != 0 else b for b in betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay
    Regularization"): Adam whose weight decay shrinks the parameters
    directly, ``p *= 1 - lr * weight_decay``, before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
