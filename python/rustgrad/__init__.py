"""rustgrad: PyTorch-style tensors and autograd, computed in Rust.

Swap ``import torch`` for ``import rustgrad as torch``. The tensor class,
its ops and the backward engine live in the compiled ``rustgrad._core``;
this package adds what is naturally Python (grad-mode context managers,
``torch.Size``, module-level function aliases, ``nn``).
"""

from ._errors import guard_panics as _guard_panics, refuse_free_threading as _refuse_free_threading

_refuse_free_threading()
from . import _core  # noqa: E402

_guard_panics(_core._panic_exception_type(), _core._OUT_OF_MEMORY)
from ._core import (
    Generator,
    Tensor,
    default_generator,
    get_rng_state,
    set_rng_state,
    arange,
    cat,
    dtype,
    device,
    empty,
    eye,
    full,
    full_like,
    initial_seed,
    is_grad_enabled,
    linspace,
    memory_stats,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    stack,
    tensor,
    zeros,
    zeros_like,
)
from ._size import Size
from .grad_mode import enable_grad, inference_mode, is_inference_mode_enabled, no_grad, set_grad_enabled
from . import accelerator, autograd, cuda, nn, optim, viz
from . import linalg  # torch.linalg
from ._functions import *  # noqa: F401,F403  (torch.sin, torch.matmul, ...)
from ._functions import __all__ as _function_names
from ._products import *  # noqa: F401,F403  (torch.mm, torch.bmm, torch.dot, ...)
from ._products import __all__ as _product_names
from ._composites import *  # noqa: F401,F403  (torch.hstack, torch.isnan, ...)
from ._composites import __all__ as _composite_names
from ._random import *  # noqa: F401,F403  (torch.randperm, torch.normal, ...)
from ._random import __all__ as _random_names
from ._einsum import einsum  # noqa: E402
from . import _inplace  # noqa: E402,F401  (Tensor.masked_fill_, index_add_, ...)
from ._dtypes import finfo, iinfo, promote_types, result_type  # noqa: E402
from ._interop import as_tensor, asarray  # noqa: E402
from ._core import from_dlpack, from_numpy  # noqa: E402
from . import utils  # noqa: E402,F401  (torch.utils.dlpack)
from . import _copying  # noqa: E402,F401  (copy.deepcopy and pickle of tensors)
from ._tensor_extras import allclose, is_floating_point, isclose  # noqa: E402  (and Tensor.new_zeros, ...)
from . import backends  # noqa: E402,F401
from .serialization import load, save  # noqa: E402

_core._set_size_class(Size)

from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled  # noqa: E402

concat = concatenate = cat

import math as _math  # noqa: E402

pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan
selu, celu, logit = _core.selu, _core.celu, _core.logit

float16 = half = _core.float16
bfloat16 = _core.bfloat16
float32 = float = _core.float32
float64 = double = _core.float64
uint8 = _core.uint8
int8 = _core.int8
int16 = short = _core.int16
int32 = int = _core.int32
int64 = long = _core.int64
bool = _core.bool

_default_device = device("cpu")


def set_default_device(dev):
    """Sets the device factories use. Only "cpu" exists without CUDA; asking
    for "cuda" raises the same RuntimeError as creating a CUDA tensor."""
    global _default_device
    _default_device = device(dev) if dev is not None else device("cpu")


def get_default_device():
    return _default_device


def get_default_dtype():
    return float32


def manual_seed(seed):
    """Reseeds the default generator (``rand``, ``randn``, ``randint``,
    ``randperm``, dropout...) with ``int(seed)`` and returns it
    (``torch.default_generator``), as PyTorch does. ValueError/TypeError
    from ``int()`` for a seed that is not a number."""
    _core.manual_seed(seed)
    return default_generator


_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Records the request for deterministic algorithms. rustgrad's kernels
    and backward pass are deterministic already (bitwise-reproducible
    gradients, whatever the thread count), so nothing else changes.
    TypeError for a non-bool ``mode``, as PyTorch."""
    if mode is not True and mode is not False:  # (`bool` is torch.bool here)
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, not "
                        f"{type(mode).__name__}")
    _deterministic.update(mode=mode, warn_only=True if warn_only else False)


def are_deterministic_algorithms_enabled():
    """What ``use_deterministic_algorithms`` last set (False at first)."""
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    """The ``warn_only`` given to ``use_deterministic_algorithms``."""
    return _deterministic["warn_only"]


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


__version__ = "0.1.0"
__all__ = [
    "Tensor", "Generator", "default_generator", "get_rng_state", "set_rng_state", "Size", "dtype", "device", "tensor", "zeros", "ones", "empty", "full",
    "zeros_like", "ones_like", "full_like", "randn_like", "rand_like", "eye",
    "arange", "linspace", "randn", "rand", "randint", "manual_seed", "initial_seed", "memory_stats",
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_inference_mode_enabled", "is_grad_enabled", "autograd",
    "cuda", "nn", "optim", "float16", "half", "bfloat16", "float32", "float", "float64", "double",
    "uint8", "int8", "int16", "short", "int32", "int", "int64", "long", "bool",
    "pi", "e", "inf", "nan", "accelerator", "cat", "concat", "concatenate", "stack", "selu", "celu", "logit", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
    "set_anomaly_enabled", "set_default_device", "get_default_device", "get_default_dtype", "is_tensor",
    "linalg",
] + list(_function_names) + list(_product_names) + list(_composite_names) + list(_random_names) + ["einsum", "finfo", "iinfo", "promote_types", "result_type", "as_tensor", "asarray", "from_numpy", "from_dlpack", "utils", "save", "load", "allclose", "isclose", "is_floating_point", "backends", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled"]
