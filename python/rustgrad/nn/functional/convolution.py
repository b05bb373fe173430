"""``torch.nn.functional``: convolution, ``unfold`` (im2col) and ``fold`` (col2im).

Each op gathers its windows with the shared planner of ``_windows``
(``im2col``/``col2im``, autograd nodes that are each other's backward, so
gradients of any order come from autograd).

A convolution works channels-last, one matmul per group: the columns of the
input, as ``(N * L, K * C_in/G)`` rows (one per output position), times the
group's weight as ``(K * C_in/G, C_out/G)``; all groups are one batched
matmul whose batches never mix, so an inf or NaN stays in its group, and the
product of a depthwise convolution costs ``1/G`` of a dense one's (a
block-diagonal weight would multiply by the zeros between groups). Without
groups it is one 2-D matmul whose backward is two more 2-D matmuls (a
batch-broadcast matmul would instead reduce the weight's gradient over the
batch, which the core does slowly). A transposed convolution is the adjoint:
``col2im(input @ weight)``. The bias is added with ``_channels``' ones
matmul. Shapes, defaults and error messages follow PyTorch
(``torch/nn/functional.py``, ATen's ``Convolution.cpp`` and ``Im2Col.cpp``).
"""

from __future__ import annotations

import math
import warnings

from ..._composites import _type_name
from ..._utils import format_shape
from ..modules.utils import _pair
from . import _windows
from ._channels import add_channels
from ..._arg_parser import Sequence, Tensor, parsed

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]


# ---------------------------------------------------------------------------
# argument checks (ATen's messages)
# ---------------------------------------------------------------------------

def _expand(value, n, name):
    """ATen's ``expand_param_if_needed``: an int or 1-sequence repeated
    ``n`` times, else exactly ``n`` values."""
    value = [int(value)] * n if isinstance(value, int) else [int(v) for v in value]
    if len(value) == 1:
        value = value * n
    if len(value) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match the "
                           f"convolution dimensions, but got {name}={format_shape(value)}")
    return tuple(value)


_C_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
                 "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                 "uint8": "unsigned char", "bool": "bool"}


def _check_conv(fn, input, weight, bias, stride, padding, dilation, groups, nd, transposed, output_padding=None):
    """ATen's checks of a convolution's arguments (``check_shape_forward``,
    ``_convolution``): returns ``input`` with a batch dim, whether it was
    unbatched, and the normalized per-dim stride, padding and dilation
    (``padding`` may be the string 'same' or 'valid')."""
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {fn}, but got input "
                           f"of size: {format_shape(input.shape)}")
    unbatched = input.dim() == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    k = weight.dim() - 2  # ATen sizes every parameter by the weight's dims
    stride, dilation = _expand(stride, k, "stride"), _expand(dilation, k, "dilation")
    if not isinstance(padding, str):
        padding = _expand(padding, k, "padding")
        if any(p < 0 for p in padding):
            raise RuntimeError("negative padding is not supported")
    if output_padding is not None:
        output_padding = _expand(output_padding, k, "output_padding")
        if any(p < 0 for p in output_padding):
            raise RuntimeError("negative output_padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {format_shape(dilation)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if str(input.dtype) == "torch.bool":
        kernel = "slow_conv_transpose2d_out_cpu" if transposed else "slow_conv2d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')
    if input.dtype != weight.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(input.dtype)} but found {_type_name(weight.dtype)}")
    if bias is not None and bias.dtype != input.dtype:
        names = [_C_TYPE_NAMES.get(str(t.dtype).replace("torch.", ""), str(t.dtype)) for t in (input, bias)]
        raise RuntimeError(f"Input type ({names[0]}) and bias type ({names[1]}) should be the same")
    w = format_shape(weight.shape)
    if weight.shape[0] < 1 and not transposed:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, but got "
                           f"weight of size {w} instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{w}] instead")
    channels = weight.shape[0] if transposed else weight.shape[1] * groups
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if input.shape[1] != channels:
        prefix = "transposed=1" if transposed else f"groups={groups}"
        raise RuntimeError(f"Given {prefix}, weight of size {w}, expected input{format_shape(input.shape)} to have "
                           f"{channels} channels, but got {input.shape[1]} channels instead")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_channels):
        prefix = "Given transposed=1, weight" if transposed else "Given weight"
        raise RuntimeError(f"{prefix} of size {w}, expected bias to be 1-dimensional with {out_channels} elements, "
                           f"but got bias of size {format_shape(bias.shape)} instead")
    kernel = tuple(weight.shape[2:])
    if any(s <= 0 for s in kernel):
        raise RuntimeError("kernel size should be greater than zero, but got "
                           + " ".join(f"kernel_{n}: {s}" for n, s in zip(("height", "width"), kernel)))
    return input, unbatched, stride, padding, dilation, output_padding


_warned_same = False


def _same_padding(kernel, dilation, stride):
    """'same' padding, before and total per dim: the total ``d * (k - 1)``
    split with the extra element after (ATen's ``_convolution_mode``)."""
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    global _warned_same
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if any(t % 2 for t in total) and not _warned_same:
        _warned_same = True  # ATen's TORCH_WARN_ONCE: once per process
        warnings.warn("Using padding='same' with even kernel lengths and odd dilation may require a zero-padded "
                      "copy of the input be created")
    return tuple(t // 2 for t in total), tuple(total)


# ---------------------------------------------------------------------------
# convolution
# ---------------------------------------------------------------------------

def _grouped_channels_last(x, groups):
    """``(N, G * C, *spatial)`` as a contiguous ``(G * N, P, C)``: each
    group's channels last, groups leading, so a group's windows are one
    block of ``im2col``'s rows and its matmul one batch of a ``bmm``."""
    n, c, p = x.shape[0], x.shape[1] // groups, math.prod(x.shape[2:])
    return x.reshape(n, groups, c, p).permute(1, 0, 3, 2).contiguous().reshape(groups * n, p, c)


def _grouped_matmul(a, b):
    """``a @ b`` per group: ``(G, M, K) @ (G, K, O)``. One group is a plain
    2-D matmul (the core's fastest); more are one batched matmul, in which
    no group reads another's data."""
    if a.shape[0] == 1:
        return (a.reshape(a.shape[1], a.shape[2]) @ b.reshape(b.shape[1], b.shape[2])).unsqueeze(0)
    return a @ b


def _channels_first(y, bias, n, spatial):
    """``(G, N * P, O)`` rows as a contiguous ``(N, G * O, *spatial)``
    plus ``bias`` (PyTorch's convolutions return contiguous tensors, which
    code relies on, e.g. ``out.view(n, -1)``)."""
    g, o = y.shape[0], y.shape[2]
    y = y.reshape(g, n, math.prod(spatial), o).permute(1, 0, 3, 2).contiguous().reshape(n, g * o, *spatial)
    return add_channels(y, bias)


def _group_weight(weight, groups, k, transposed):
    """The weight as ``(G, K * C_in/G, C_out/G)`` (rows tap-major, as
    ``im2col``'s columns), or for a transposed convolution, whose weight is
    ``(C_in, C_out/G, *kernel)``, as ``(G, C_in/G, K * C_out/G)``."""
    a, b = weight.shape[0] // groups, weight.shape[1]
    w = weight.reshape(groups, a, b, k).transpose(2, 3).reshape(groups, a, k * b)
    return w if transposed else w.transpose(1, 2)


def _conv(fn, nd, input, weight, bias, stride, padding, dilation, groups):
    input, unbatched, stride, padding, dilation, _ = _check_conv(
        fn, input, weight, bias, stride, padding, dilation, groups, nd, transposed=False)
    kernel, size = tuple(weight.shape[2:]), tuple(input.shape[2:])
    if isinstance(padding, str):
        if padding == "same":
            before, total = _same_padding(kernel, dilation, stride)
        elif padding == "valid":
            before = total = (0,) * nd
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        before, total = padding, tuple(2 * p for p in padding)
    padded = [n + t for n, t in zip(size, total)]
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(p < s for p, s in zip(padded, span)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, span))}). Kernel size can't be greater than actual input size")
    out = tuple((p - s) // st + 1 for p, s, st in zip(padded, span, stride))
    win = _windows.sliding(size, kernel, stride, before, dilation, out)
    n, c = input.shape[0], input.shape[1] // groups
    cols = _windows.im2col(_grouped_channels_last(input, groups), win)  # (G*N, L, K, C_in/G)
    y = _grouped_matmul(cols.reshape(groups, n * win.L, win.K * c), _group_weight(weight, groups, win.K, False))
    result = _channels_first(y, bias, n, out)
    return result.squeeze(0) if unbatched else result


@parsed
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1):
    """1-D convolution (cross-correlation) of ``input`` ``(N, C_in, L)`` or
    ``(C_in, L)`` with ``weight`` ``(C_out, C_in / groups, kW)``, plus
    ``bias`` ``(C_out,)``: ``(N, C_out, L_out)`` with
    ``L_out = (L + 2 * padding - dilation * (kW - 1) - 1) // stride + 1``.

    ``padding`` is an int, a 1-tuple, ``'valid'`` (0) or ``'same'`` (output
    as long as the input; stride 1 only; an odd total puts the extra zero
    after). Input, weight and bias share one dtype. Errors are PyTorch's
    RuntimeErrors (channel/group/bias mismatches, kernel larger than the
    padded input, non-positive stride/dilation/groups, negative padding)."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


@parsed
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1):
    """2-D convolution (cross-correlation) of ``input`` ``(N, C_in, H, W)``
    or ``(C_in, H, W)`` with ``weight`` ``(C_out, C_in / groups, kH, kW)``,
    plus ``bias`` ``(C_out,)``: ``(N, C_out, H_out, W_out)`` with, per dim,
    ``out = (in + 2 * padding - dilation * (k - 1) - 1) // stride + 1``.

    ``stride``, ``padding`` and ``dilation`` are ints or 2-tuples;
    ``padding`` may also be ``'valid'`` or ``'same'`` (see ``conv1d``).
    Computed as one matmul of the input's windows with the weight;
    gradients (any order) flow through autograd. Errors are PyTorch's RuntimeErrors, e.g. "Given
    groups=1, weight of size [16, 3, 3, 3], expected input[1, 4, 8, 8] to
    have 3 channels, but got 4 channels instead"."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(fn, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    if isinstance(padding, str):
        raise TypeError(f"{fn}(): argument 'padding' must be tuple of ints, not str")
    if weight.dim() < 3:
        raise RuntimeError("weight should have at least three dimensions")
    input, unbatched, stride, padding, dilation, output_padding = _check_conv(
        fn, input, weight, bias, stride, padding, dilation, groups, nd, transposed=True, output_padding=output_padding)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        # ATen checks the 1-d case as a 2-d one of height 1
        names = ("height", "width")
        op2, s2, d2 = output_padding, stride, dilation
        if nd == 1:
            op2, s2, d2 = (0,) + op2, (1,) + s2, (1,) + d2
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           + " ".join(f"output_padding_{n}: {v}" for n, v in zip(names, op2)) + " "
                           + " ".join(f"stride_{n}: {v}" for n, v in zip(names, s2)) + " "
                           + " ".join(f"dilation_{n}: {v}" for n, v in zip(names, d2)))
    kernel, size = tuple(weight.shape[2:]), tuple(input.shape[2:])
    out = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                for n, s, p, d, k, op in zip(size, stride, padding, dilation, kernel, output_padding))
    if any(o <= 0 for o in out):
        pad1 = (1,) * (2 - nd) if nd < 2 else ()
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, pad1 + size))}). Calculated output "
                           f"size per channel: ({' x '.join(map(str, pad1 + out))}). Output size is too small")
    # The adjoint of a convolution over an ``out``-sized input that has
    # ``size`` windows (the windows past ``out`` that output_padding >= stride
    # would add are never read).
    win = _windows.sliding(out, kernel, stride, padding, dilation, size)
    n, c, o = input.shape[0], input.shape[1] // groups, weight.shape[1]
    x = _grouped_channels_last(input, groups).reshape(groups, n * win.L, c)
    rows = _grouped_matmul(x, _group_weight(weight, groups, win.K, True))  # (G, N*L, K*C_out/G)
    result = _windows.col2im(rows.reshape(groups * n, win.L, win.K, o), win)  # (G*N, P, C_out/G)
    result = _channels_first(result.reshape(groups, n * win.P, o), bias, n, out)
    return result.squeeze(0) if unbatched else result


@parsed
def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] | str = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1):
    """1-D transposed convolution (the gradient of ``conv1d`` with respect to
    its input) of ``input`` ``(N, C_in, L)`` or ``(C_in, L)`` with
    ``weight`` ``(C_in, C_out / groups, kW)``, plus ``bias`` ``(C_out,)``:
    ``(N, C_out, L_out)`` with ``L_out = (L - 1) * stride - 2 * padding +
    dilation * (kW - 1) + output_padding + 1``. ``output_padding`` must be
    smaller than stride or dilation (PyTorch's RuntimeError)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@parsed
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] | str = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1):
    """2-D transposed convolution of ``input`` ``(N, C_in, H, W)`` or
    ``(C_in, H, W)`` with ``weight`` ``(C_in, C_out / groups, kH, kW)``,
    plus ``bias`` ``(C_out,)``; per dim ``out = (in - 1) * stride -
    2 * padding + dilation * (k - 1) + output_padding + 1``. Computed as
    ``col2im`` of the input times the weight. Note PyTorch's argument order:
    ``groups`` before ``dilation``."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


# ---------------------------------------------------------------------------
# unfold / fold
# ---------------------------------------------------------------------------

def _int_pair(v):
    return tuple(int(x) for x in _pair(v))


def _check_unfold_args(kernel, dilation, padding, stride):
    """ATen's ``im2col``/``col2im`` shape checks on the parameters."""
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {kernel[0]} "
                           f"kernel_width: {kernel[1]}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {stride[0]} "
                           f"stride_width: {stride[1]}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: {dilation[0]} "
                           f"dilation_width: {dilation[1]}")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {padding[0]} "
                           f"pad_width: {padding[1]}")


def _blocks(size, kernel, dilation, padding, stride):
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, d, p, s in zip(size, kernel, dilation, padding, stride))


@parsed
def unfold(input: Tensor, kernel_size, dilation: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
           stride: int | Sequence[int] = 1):
    """Extracts sliding local blocks (im2col): ``(N, C, H, W)`` or
    ``(C, H, W)`` to ``(N, C * kH * kW, L)`` (``(C * kH * kW, L)``), where
    ``L`` is the number of blocks; within a channel the rows run over the
    kernel offsets row-major, as PyTorch's. Only 4-D (or unbatched 3-D)
    input is supported, as in PyTorch."""
    kernel, dilation, padding, stride = map(_int_pair, (kernel_size, dilation, padding, stride))
    _check_unfold_args(kernel, dilation, padding, stride)
    if input.dim() not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    size = tuple(x.shape[2:])
    out = _blocks(size, kernel, dilation, padding, stride)
    if any(o < 1 for o in out):
        raise RuntimeError(f"Given input with spatial size ({size[0]}, {size[1]}), kernel_size=({kernel[0]}, "
                           f"{kernel[1]}), dilation=({dilation[0]}, {dilation[1]}), padding=({padding[0]}, "
                           f"{padding[1]}), calculated shape of the array of sliding blocks as ({out[0]}, {out[1]}), "
                           f"but its components must be at least one.")
    win = _windows.sliding(size, kernel, stride, padding, dilation, out)
    n, c = x.shape[0], x.shape[1]
    cols = _windows.im2col(x.reshape(n * c, win.P, 1), win)  # (N*C, L, K, 1)
    cols = cols.reshape(n, c, win.L, win.K).transpose(2, 3).reshape(n, c * win.K, win.L)
    return cols.squeeze(0) if unbatched else cols


@parsed
def fold(input: Tensor, output_size: int | Sequence[int | None], kernel_size: int | Sequence[int],
         dilation: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0, stride: int | Sequence[int] = 1):
    """Combines sliding local blocks into a tensor (col2im), the adjoint of
    ``unfold``: ``(N, C * kH * kW, L)`` or ``(C * kH * kW, L)`` to
    ``(N, C, *output_size)`` (``(C, *output_size)``), summing overlapping
    values. ``L`` must equal the number of blocks of ``output_size``
    (PyTorch's RuntimeError otherwise)."""
    size, kernel, dilation, padding, stride = map(_int_pair, (output_size, kernel_size, dilation, padding, stride))
    _check_unfold_args(kernel, dilation, padding, stride)
    if input.dim() not in (2, 3) or any(s == 0 for s in input.shape[1:]):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {format_shape(input.shape)}")
    unbatched = input.dim() == 2
    x = input.unsqueeze(0) if unbatched else input
    k = kernel[0] * kernel[1]
    if x.shape[1] % k:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={x.shape[1]} and kernel_size=({kernel[0]}, {kernel[1]}).")
    out = _blocks(size, kernel, dilation, padding, stride)
    if any(o < 1 for o in out) or x.shape[2] != out[0] * out[1]:
        raise RuntimeError(f"Given output_size=({size[0]}, {size[1]}), kernel_size=({kernel[0]}, {kernel[1]}), "
                           f"dilation=({dilation[0]}, {dilation[1]}), padding=({padding[0]}, {padding[1]}), "
                           f"stride=({stride[0]}, {stride[1]}), expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {out[0]} * {out[1]} = {out[0] * out[1]}, but got "
                           f"input.size(2)={x.shape[2]}.")
    win = _windows.sliding(size, kernel, stride, padding, dilation, out)
    n, c = x.shape[0], x.shape[1] // k
    cols = x.reshape(n * c, win.K, win.L).transpose(1, 2).reshape(n * c, win.L, win.K, 1)
    result = _windows.col2im(cols, win).reshape(n, c, *size)
    return result.squeeze(0) if unbatched else result
