"""``torch.nn.functional``: normalization layers in functional form.

Every function is written with rustgrad's differentiable tensor ops
(``mean``, ``rsqrt``, broadcasting arithmetic), so first and higher-order
gradients come from the ops themselves. ``batch_norm``, on the hot path of
convolutional networks, sums its statistics and expands its per-channel
scale and shift with ``_channels``' ones matmuls instead (~10x faster in the
core than ``mean`` over several dims and broadcasting arithmetic); in
evaluation it folds weight, running statistics and bias into one scale and
one shift per channel, as ATen's CPU kernel. Statistics are the biased ones
(divide by ``n``) used for normalizing; ``batch_norm`` and
``instance_norm`` update running statistics in place, outside autograd,
with the unbiased batch variance, as ATen's CPU kernels do
(aten/src/ATen/native/Normalization.cpp).
"""

from __future__ import annotations

from ... import _core
from ..._composites import _type_name
from ..._dtypes import finfo
from ..._utils import format_shape
from ...grad_mode import no_grad
from ._channels import add_channels, expand_channels, sum_channels
from ..._arg_parser import Sequence, Tensor, parsed

__all__ = ["layer_norm", "rms_norm", "group_norm", "batch_norm", "instance_norm", "normalize",
           "local_response_norm"]

_LOW_PRECISION = ("torch.float16", "torch.bfloat16")


def _require_floating(input, kernel):
    """PyTorch's NotImplementedError for a kernel without integer support."""
    if not input.is_floating_point():
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_type_name(input.dtype)}\'')


def _upcast(input):
    """float16/bfloat16 inputs are normalized (and scaled and shifted) in
    float32 and rounded once at the end, as PyTorch's CPU kernels compute in
    float; the output keeps the input's dtype also with float32 parameters."""
    return input.float() if str(input.dtype) in _LOW_PRECISION else input


def _check_normalized_shape(fn, input, normalized_shape, params, star):
    """The checks of ATen's ``_check_layer_norm_inputs``: ``normalized_shape``
    a non-empty sequence of ints matching input's trailing dims, and each
    given parameter of exactly that shape. ``star`` is the "[*, " or "[*"
    with which layer_norm and rms_norm spell the expected shape."""
    if isinstance(normalized_shape, int) or not hasattr(normalized_shape, "__iter__"):
        raise TypeError(f"{fn}(): argument 'normalized_shape' (position 2) must be tuple of ints, "
                        f"not {type(normalized_shape).__name__}")
    normalized_shape = [int(s) for s in normalized_shape]
    if not normalized_shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
                           "one element, but got normalized_shape = []")
    for name, p in params:
        if p is not None and list(p.shape) != normalized_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{format_shape(p.shape)} and normalized_shape = {format_shape(normalized_shape)}")
    k = len(normalized_shape)
    if input.dim() < k or list(input.shape[input.dim() - k:]) != normalized_shape:
        shown = format_shape(normalized_shape)
        raise RuntimeError(f"Given normalized_shape={shown}, expected input with shape {star}{shown[1:]}, but got "
                           f"input of size{format_shape(input.shape)}")
    return tuple(range(-k, 0))


def _affine(out, weight, bias):
    """``out * weight + bias``, skipping the parameters that are None."""
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _standardize(x, dims, eps):
    """``(x - mean) / sqrt(var + eps)`` over ``dims`` (biased variance), and
    the mean and biased variance themselves (keepdim)."""
    mean = x.mean(dims, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dims, keepdim=True)
    return centered * (var + eps).rsqrt(), mean, var


@parsed
def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5):
    """Layer normalization (Ba et al., 2016) over the trailing dims
    ``normalized_shape``: ``(x - E[x]) / sqrt(Var[x] + eps) * weight + bias``
    with the biased variance. ``weight``/``bias``: ``normalized_shape`` or
    None. Output: input's shape and dtype. TypeError for an int
    ``normalized_shape``; RuntimeError for shapes that do not match;
    NotImplementedError for integer input."""
    dims = _check_normalized_shape("layer_norm", input, normalized_shape, (("weight", weight), ("bias", bias)),
                                   "[*, ")
    _require_floating(input, "LayerNormKernelImpl")
    out, _, _ = _standardize(_upcast(input), dims, eps)
    return _affine(out, weight, bias).to(input.dtype)


@parsed
def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None, eps: float | None = None):
    """Root-mean-square normalization (Zhang & Sennrich, 2019) over the
    trailing dims ``normalized_shape``: ``x / sqrt(mean(x^2) + eps) *
    weight``; ``eps`` defaults to the machine epsilon of the compute dtype
    (float32 for float16/bfloat16/float32, float64 for float64), as ATen's
    ``rms_norm``. Errors as ``layer_norm``."""
    dims = _check_normalized_shape("rms_norm", input, normalized_shape, (("weight", weight),), "[*")
    _require_floating(input, "rms_norm")
    x = _upcast(input)
    if eps is None:
        eps = finfo(x.dtype).eps
    out = x * (x * x).mean(dims, keepdim=True).add(eps).rsqrt()
    return _affine(out, weight, None).to(input.dtype)


def _verify_batch_size(size):
    """ValueError when each channel would see a single value (PyTorch's
    ``_verify_batch_size``; ``size`` is printed as given)."""
    n = size[0]
    for s in size[2:]:
        n *= s
    if n == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")


def _channel_shape(input):
    """The broadcast shape ``[1, C, 1, ...]`` of a per-channel vector."""
    return [1, input.shape[1]] + [1] * (input.dim() - 2)


def _check_channels(name, t, channels):
    if t is not None and t.numel() != channels:
        raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")


@parsed(own_checks_first=True)
def group_norm(input: Tensor, num_groups, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5):
    """Group normalization (Wu & He, 2018): the ``C`` channels of ``(N, C,
    *)`` input are split into ``num_groups`` groups, each normalized over
    its channels and spatial positions (biased variance), then scaled and
    shifted per channel by ``weight``/``bias`` (shape ``(C,)``). RuntimeError
    for input with fewer than 2 dims, channels not divisible by
    ``num_groups`` or parameters of the wrong size; ValueError when a group
    holds one value."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    shape = list(input.shape)
    _verify_batch_size([shape[0] * shape[1] // num_groups, num_groups] + shape[2:])
    if shape[1] % num_groups != 0:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {format_shape(shape)} and num_groups={num_groups}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and (p.dim() != 1 or p.numel() != shape[1]):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {format_shape(p.shape)} and input of shape "
                               f"{format_shape(shape)}")
    _require_floating(input, "group_norm")
    grouped = _upcast(input).reshape(shape[0], num_groups, -1)
    out, _, _ = _standardize(grouped, (-1,), eps)
    cshape = _channel_shape(input)
    return _affine(out.reshape(shape), None if weight is None else weight.reshape(cshape),
                   None if bias is None else bias.reshape(cshape)).to(input.dtype)


@parsed
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalization (Ioffe & Szegedy, 2015) of ``(N, C, *)`` input
    per channel. Training: normalizes with the batch mean and biased
    variance over all dims but 1, and, when ``running_mean``/``running_var``
    (shape ``(C,)``) are given, updates them in place without autograd:
    ``r = (1 - momentum) * r + momentum * stat`` with the unbiased variance
    for ``running_var``. Evaluation: normalizes with the running
    statistics. ``weight``/``bias``: ``(C,)`` or None. ValueError for one
    value per channel in training or a bad ``eps``, or only one running
    statistic; RuntimeError for missing running statistics in evaluation
    or vectors of the wrong size."""
    if training:
        _verify_batch_size(input.size())
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    channels = input.size(1)
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is None and not training:
            raise RuntimeError(f"{name} must be defined in evaluation mode")
        _check_channels(name, t, channels)
    _check_channels("weight", weight, channels)
    _check_channels("bias", bias, channels)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    _require_floating(input, "batch_norm")
    if input.numel() == 0:
        # ATen returns early here: no statistics of an empty batch.
        cshape = _channel_shape(input)
        return _affine(input.clone(), *(None if t is None else t.reshape(cshape) for t in (weight, bias)))
    x = _upcast(input)
    if not training:
        scale = _scale(running_var, weight, eps)
        shift = -running_mean * scale
        shift = shift if bias is None else shift + bias
        return add_channels(x * expand_channels(scale, tuple(x.shape)), shift).to(input.dtype)
    n = input.numel() // channels
    mean = sum_channels(x) / n
    centered = x - expand_channels(mean, tuple(x.shape))
    var = sum_channels(centered * centered) / n  # biased; two passes, as exact as ATen's
    scale = _scale(var, weight, eps)
    if running_mean is not None:
        with no_grad():
            _update_running(running_mean, mean, momentum)
            _update_running(running_var, var * (n / (n - 1)), momentum)
    return add_channels(centered * expand_channels(scale, tuple(x.shape)), bias).to(input.dtype)


def _scale(var, weight, eps):
    """The per-channel factor of batch norm: ``weight / sqrt(var + eps)``
    (without ``weight`` when it is None)."""
    scale = (var + eps).rsqrt()
    return scale if weight is None else scale * weight


def _update_running(running, stat, momentum):
    """``running = momentum * stat + (1 - momentum) * running``, in place."""
    running.copy_(stat * momentum + running * (1 - momentum))


def _verify_spatial_size(size):
    n = 1
    for s in size[2:]:
        n *= s
    if n == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {size}")


@parsed
def instance_norm(input: Tensor, running_mean=None, running_var=None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5):
    """Instance normalization (Ulyanov et al., 2016): each (sample, channel)
    plane of ``(N, C, *)`` input normalized over its spatial positions.
    As ATen's ``instance_norm``, this is ``batch_norm`` of the input viewed
    as ``(1, N*C, *)``; given running statistics (shape ``(C,)``) are
    updated with the batch average of the per-sample updates. With
    ``use_input_stats=False`` the running statistics normalize instead.
    ValueError for a single spatial element when using input statistics;
    RuntimeError for missing running statistics without them."""
    if use_input_stats:
        _verify_spatial_size(input.size())
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    n, c = input.shape[0], input.shape[1]
    folded = input.reshape(1, n * c, *input.shape[2:])

    def per_sample(t):
        return None if t is None else t.repeat(n)

    rm, rv = per_sample(running_mean), per_sample(running_var)
    out = batch_norm(folded, rm, rv, per_sample(weight), per_sample(bias), use_input_stats, momentum, eps)
    if use_input_stats and running_mean is not None:
        with no_grad():
            running_mean.copy_(rm.reshape(n, c).mean(0))
            running_var.copy_(rv.reshape(n, c).mean(0))
    return out.reshape(input.shape)


@parsed
def normalize(input: Tensor, p=2.0, dim: int | Sequence[int] | None = 1, eps: float = 1e-12, out: Tensor | None = None):
    """``input / max(||input||_p, eps)`` along ``dim`` (``Tensor.norm``),
    the definition of ``torch.nn.functional.normalize``. ``out``, if given,
    receives the result."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    # rustgrad's div has no ``out=``; copying gives the same result tensor.
    return out.copy_(input / denom)


@parsed(own_checks_first=True)
def local_response_norm(input: Tensor, size, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
    """Local response normalization (Krizhevsky et al., 2012) across
    channels (dim 1) of ``(N, C, *)`` input: ``x / (k + alpha * avg)^beta``
    where ``avg`` is the mean of ``x^2`` over a window of ``size`` channels
    (zero-padded by ``size // 2`` before and ``(size - 1) // 2`` after,
    counting the padding, as PyTorch's ``avg_pool`` formulation). ValueError
    for input of fewer than 3 dims."""
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    channels = input.shape[1]
    sq = input * input
    before, after = size // 2, (size - 1) // 2
    zeros = [_core.zeros(input.shape[0], p, *input.shape[2:], dtype=input.dtype) for p in (before, after)]
    padded = _core.cat([zeros[0], sq, zeros[1]], 1)
    # The windows as one gather: row c of ``window`` lists the padded
    # channels c .. c+size-1; summing them is avg_pool's stride-1 sum.
    window = (_core.arange(channels).reshape(-1, 1) + _core.arange(size).reshape(1, -1)).reshape(-1)
    taps = padded.index_select(1, window).reshape(input.shape[0], channels, size, *input.shape[2:])
    div = (taps.sum(2) / size).mul(alpha).add(k).pow(beta)
    return input / div
