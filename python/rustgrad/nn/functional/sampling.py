"""``torch.nn.functional.interpolate`` (and its deprecated ``upsample``
alias): resizing the spatial dims of ``(N, C, *spatial)`` input.

Every mode is separable, so the input is resampled one spatial dim at a
time, the last dim first (the order in which ATen's CPU kernel,
aten/src/ATen/native/cpu/UpSampleKernel.cpp, nests its loops). Along a dim,
output position ``i`` is ``sum_k w[i, k] * x[idx[i, k]]``: an
``index_select`` of the taps times the weights, summed, so gradients (the
transposed scatter, by ``index_select``'s backward) and higher-order
gradients come from the tensor ops. The taps and weights are computed with
NumPy in the precision ATen uses (``opmath``: float32 for float16, bfloat16
and float32 input, float64 for float64; the nearest modes always in
float32) with the formulas of aten/src/ATen/native/UpSample.h:
``area_pixel_compute_scale``, ``area_pixel_compute_source_index``,
``nearest_neighbor(_exact)_compute_source_index`` and
``guard_index_and_lambda``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ... import _core
from ..._composites import _type_name
from ..._arg_parser import PARSED_FRAMES, Sequence, Tensor, parsed

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

# The modes that only exist for one rank ("bicubic" is 4-D too, but
# PyTorch reports it with the generic message).
_MODE_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5}
_AXES = "DHW"
_CUBIC_A = -0.75  # Keys' cubic convolution coefficient used by ATen
_AA_CUBIC_A = -0.5  # ... and by its antialiased (PIL-compatible) filter


# -- index and weight computation (NumPy) -----------------------------------

def _opmath(dtype):
    return np.float64 if str(dtype) == "torch.float64" else np.float32


def _scale(in_size, out_size, align_corners, scale, ft):
    """``area_pixel_compute_scale``: the source step per output step."""
    if align_corners:
        return ft(in_size - 1) / ft(out_size - 1) if out_size > 1 else ft(0)
    if scale is not None and scale > 0:
        return ft(1.0 / scale)
    return ft(in_size) / ft(out_size)


def _source_index(scale, out_size, align_corners, cubic, ft):
    """``area_pixel_compute_source_index`` for every output position."""
    i = np.arange(out_size).astype(ft)
    if align_corners:
        return scale * i
    src = scale * (i + ft(0.5)) - ft(0.5)
    return src if cubic else np.maximum(src, ft(0))


def _guard(real, in_size, ft):
    """``guard_index_and_lambda``: the left tap (floor, done in float32 as
    ATen's ``floorf``) and the fractional weight clamped to ``[0, 1]``."""
    index = np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), in_size - 1)
    lam = np.clip(real - index.astype(ft), ft(0), ft(1))
    return index, lam


def _nearest_taps(in_size, out_size, scale, exact, shortcuts, ft):
    """One tap per output: ``floor(i * s)`` (nearest, OpenCV's rule) or
    ``floor((i + 0.5) * s)`` (nearest-exact, PIL's), with the scale and the
    products in float32, at most ``in_size - 1``. ``shortcuts``: ATen's
    ``nearest_idx``, which its 2-D nearest kernel uses, copies when the
    size is unchanged and takes ``i // 2`` when it doubles, whatever the
    scale factor."""
    if shortcuts and out_size in (in_size, 2 * in_size):
        return (np.arange(out_size) // (out_size // in_size))[:, None], None
    s = np.float32(_scale(in_size, out_size, False, scale, ft))
    i = np.arange(out_size).astype(np.float32)
    src = (i + np.float32(0.5)) * s if exact else i * s
    return np.minimum(np.floor(src).astype(np.int64), in_size - 1)[:, None], None


def _linear_taps(in_size, out_size, scale, align_corners, ft):
    """Two taps per output, ``(1 - lambda, lambda)``; a copy when the size
    is unchanged, as ATen special-cases it."""
    if in_size == out_size:
        i = np.arange(out_size)
        return np.stack([i, i], 1), np.stack([np.ones(out_size, ft), np.zeros(out_size, ft)], 1)
    s = _scale(in_size, out_size, align_corners, scale, ft)
    index, lam = _guard(_source_index(s, out_size, align_corners, False, ft), in_size, ft)
    right = index + (index < in_size - 1)
    return np.stack([index, right], 1), np.stack([ft(1) - lam, lam], 1)


def _cubic_conv1(x, a):
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic_conv2(x, a):
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _cubic_taps(in_size, out_size, scale, align_corners, ft):
    """Four taps ``index - 1 .. index + 2`` (clamped to the input) with
    Keys' cubic convolution weights (``get_cubic_upsample_coefficients``,
    A = -0.75)."""
    s = _scale(in_size, out_size, align_corners, scale, ft)
    index, t = _guard(_source_index(s, out_size, align_corners, True, ft), in_size, ft)
    a, one = ft(_CUBIC_A), ft(1)
    weights = np.stack([_cubic_conv2(t + one, a), _cubic_conv1(t, a), _cubic_conv1(one - t, a),
                        _cubic_conv2(one - t + one, a)], 1)
    taps = np.clip(index[:, None] + np.arange(-1, 3), 0, in_size - 1)
    return taps, weights


def _area_taps(in_size, out_size):
    """Adaptive average pooling's windows: ``[floor(i * in / out),
    ceil((i + 1) * in / out))``, each tap weighted by one over the window
    length (padded with zero-weight taps to a common width)."""
    i = np.arange(out_size)
    start = (i * in_size) // out_size
    end = -((-(i + 1) * in_size) // out_size)
    width = int((end - start).max()) if out_size else 1
    taps = start[:, None] + np.arange(width)
    inside = taps < end[:, None]
    weights = np.where(inside, 1.0 / (end - start)[:, None], 0.0)
    return np.where(inside, taps, start[:, None]), weights


def _aa_filter(x, cubic):
    x = np.abs(x)
    if not cubic:
        return np.where(x < 1, 1 - x, 0)
    a = _AA_CUBIC_A
    return np.where(x < 1, _cubic_conv1(x, a), np.where(x < 2, _cubic_conv2(x, a), 0))


def _antialias_taps(in_size, out_size, scale, align_corners, cubic, ft):
    """ATen's ``_compute_weights_aa`` (PIL's resampling): when shrinking,
    the triangle (or cubic) filter is stretched by the scale so every input
    pixel contributes; weights are normalized to sum to one."""
    s = _scale(in_size, out_size, align_corners, scale, ft)
    interp = 4 if cubic else 2
    support = ft(interp * 0.5) * s if s >= 1.0 else ft(interp * 0.5)
    invscale = ft(1.0) / s if s >= 1.0 else ft(1.0)
    center = s * (np.arange(out_size).astype(ft) + ft(0.5))
    lo = np.maximum((center - support + ft(0.5)).astype(np.int64), 0)
    size = np.minimum((center + support + ft(0.5)).astype(np.int64), in_size) - lo
    width = int(math.ceil(support)) * 2 + 1
    size = np.clip(size, 0, width)
    j = np.arange(width)
    taps = lo[:, None] + j
    inside = j < size[:, None]
    w = np.where(inside, _aa_filter((taps - center[:, None] + ft(0.5)) * invscale, cubic), 0).astype(ft)
    total = w.sum(1, keepdims=True)
    w = np.where(total != 0, w / np.where(total != 0, total, 1), w)
    return np.where(inside, taps, lo[:, None]).clip(0, in_size - 1), w.astype(ft)


def _taps(mode, rank, in_size, out_size, scale, align_corners, antialias, ft):
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        return _nearest_taps(in_size, out_size, scale, exact, not exact and rank == 4, ft)
    if mode == "area":
        return _area_taps(in_size, out_size)
    if antialias:
        return _antialias_taps(in_size, out_size, scale, align_corners, mode == "bicubic", ft)
    if mode == "bicubic":
        return _cubic_taps(in_size, out_size, scale, align_corners, ft)
    return _linear_taps(in_size, out_size, scale, align_corners, ft)


# -- resampling (tensor ops) ------------------------------------------------

def _resample(x, dim, taps, weights):
    """``out[..., i, ...] = sum_k weights[i, k] * x[..., taps[i, k], ...]``
    along ``dim``."""
    out_size, width = taps.shape
    picked = x.index_select(dim, _core.tensor(np.ascontiguousarray(taps.reshape(-1)), dtype=_core.int64))
    if weights is None:
        return picked
    picked = picked.unflatten(dim, (out_size, width))
    shape = [1] * picked.dim()
    shape[dim], shape[dim + 1] = out_size, width
    w = _core.tensor(np.ascontiguousarray(weights), dtype=x.dtype).reshape(shape)
    return (picked * w).sum(dim + 1)


# -- argument handling ------------------------------------------------------

def _is_integer(x):
    return isinstance(x, (int, np.integer)) or (isinstance(x, _core.Tensor) and not x.is_floating_point())


def _output_geometry(input, size, scale_factor, recompute_scale_factor, mode):
    """PyTorch's argument checks; returns (output sizes, scale factors or
    None per dim)."""
    dim = input.dim() - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scales = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError("Input and output must have the same number of spatial dimensions, but got input "
                                 f"with spatial dimensions of {spatial} and output size of {size}. Please provide "
                                 "input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) "
                                 "format.")
            if not all(_is_integer(s) for s in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                                f"Tuple[int, int, int], but got size with types {[type(s) for s in size]}")
            out = [int(s) for s in size]
        else:
            if not _is_integer(size):
                raise TypeError(f"expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                                f"Tuple[int, int, int], but got size with types {[type(size)]}")
            out = [int(size)] * dim
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError("Input and scale_factor must have the same number of spatial dimensions, but got "
                                 f"input with spatial dimensions of {spatial} and scale_factor of shape "
                                 f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 "scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        out = [int(s * f) for s, f in zip(spatial, scales)]  # truncated, as ATen's int cast
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor or mode == "area":
        # The scale is recomputed from the integer output size.
        scales = None
    return out, scales or [None] * dim


def _check_rank(input, mode):
    """The mode/rank combinations of ``F.interpolate``."""
    rank = input.dim()
    need = _MODE_RANK.get(mode)
    if need is not None and rank in (3, 4, 5) and rank != need:
        raise NotImplementedError(f"Got {rank}D input, but {mode} mode needs {need}D input")
    if rank not in (3, 4, 5) or mode not in ("nearest", "nearest-exact", "area", "linear", "bilinear",
                                             "trilinear", "bicubic") or mode == "bicubic" and rank != 4:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {rank}D) for the modes: nearest | linear "
            f"| bilinear | bicubic | trilinear | lanczos | area | nearest-exact (got {mode})")


def _check_sizes(input, out, mode):
    """Non-empty spatial sizes in and out (area, being adaptive pooling,
    allows empty outputs), and no empty dim but the batch."""
    spatial = list(input.shape[2:])
    if mode == "area":
        if min(out) < 0:
            raise RuntimeError(f"adaptive_avg_pool{len(out)}d: elements of output_size must be greater than or "
                               f"equal to 0 but received {{{', '.join(str(o) for o in out)}}}")
        empty = min(spatial) == 0
    else:
        if min(spatial) <= 0 or min(out) <= 0:
            names = _AXES[3 - len(out):]
            shown_in = ", ".join(f"{n}: {s}" for n, s in zip(names, spatial))
            shown_out = ", ".join(f"{n}: {o}" for n, o in zip(names, out))
            sep = " and " if len(out) == 1 else " "
            raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({shown_in}){sep}"
                               f"output ({shown_out})")
        empty = input.numel() == 0 and input.shape[0] != 0
    if empty:
        raise RuntimeError(f"Non-empty {input.dim()}D data tensor expected but got a tensor with sizes "
                           f"{list(input.shape)}")


def _check_dtype(input, mode):
    """PyTorch's kernels take floating input, and uint8 for the nearest,
    bilinear and bicubic modes."""
    uint8_ok = mode in ("nearest", "nearest-exact", "bilinear", "bicubic")
    if input.is_floating_point() or (uint8_ok and str(input.dtype) == "torch.uint8"):
        return
    kernel = {"nearest": "compute_indices_weights_nearest", "nearest-exact": "compute_indices_weights_nearest",
              "bicubic": "compute_indices_weights_cubic", "bilinear": "upsample_bilinear2d_channels_last",
              "area": f"adaptive_avg_pool{input.dim() - 2}d"}.get(mode, "compute_indices_weights_linear")
    raise NotImplementedError(f'"{kernel}" not implemented for \'{_type_name(input.dtype)}\'')


@parsed(own_checks_first=True)
def interpolate(input: Tensor, size=None, scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners=None, recompute_scale_factor=None, antialias=False):
    """Resizes the spatial dims of ``(N, C, L)``, ``(N, C, H, W)`` or
    ``(N, C, D, H, W)`` input to ``size`` (an int or one per dim) or by
    ``scale_factor`` (output ``int(in * scale)``; the kernel then uses
    ``1 / scale_factor`` as its step unless ``recompute_scale_factor``).
    Modes: ``'nearest'`` (source ``floor(i * in / out)``), ``'nearest-exact'``
    (``floor((i + 0.5) * in / out)``), ``'linear'`` (3-D), ``'bilinear'``
    (4-D), ``'trilinear'`` (5-D), ``'bicubic'`` (4-D, A = -0.75), ``'area'``
    (adaptive average pooling). ``align_corners`` (interpolating modes
    only, default False) maps the corner pixel centres onto each other;
    ``antialias`` (bilinear and bicubic) filters when shrinking, as PIL.
    Output: input's dtype (floating, or uint8 for the nearest, bilinear and
    bicubic modes, rounded and clamped). ValueError, TypeError,
    NotImplementedError and RuntimeError as PyTorch's for inconsistent
    arguments, sizes below 1, unsupported ranks, modes and dtypes."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    out, scales = _output_geometry(input, size, scale_factor, recompute_scale_factor, mode)
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                         "4-D tensor as input")
    if mode == "lanczos" and input.dim() == 4:
        # PIL's Lanczos filter is not implemented (a gap, not PyTorch's error).
        raise NotImplementedError("interpolate: mode 'lanczos' is not supported by rustgrad")
    _check_rank(input, mode)
    _check_sizes(input, out, mode)
    _check_dtype(input, mode)
    return _interpolate(input, out, scales, mode, align_corners, antialias)


def _interpolate(input, out, scales, mode, align_corners, antialias):
    interpolating = mode not in ("nearest", "nearest-exact")
    integer = not input.is_floating_point()
    x = input.float() if integer and interpolating else input
    ft = _opmath(x.dtype)
    # Last dim first: ATen's kernel interpolates the innermost dim first.
    for d in reversed(range(len(out))):
        dim = d + 2
        if antialias and input.shape[dim] == out[d]:
            continue  # ATen's separable antialiased kernel skips unresized dims, whatever the scale
        taps, weights = _taps(mode, input.dim(), input.shape[dim], out[d], scales[d], align_corners, antialias, ft)
        x = _resample(x, dim, taps, weights)
    if integer and interpolating:
        x = x.round().clamp(0, 255).to(input.dtype)
    return x


@parsed(own_checks_first=True)
def upsample(input: Tensor, size=None, scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
             align_corners=None):
    """Deprecated alias of ``interpolate`` (warns, as PyTorch)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2 + PARSED_FRAMES)
    return interpolate(input, size, scale_factor, mode, align_corners)


@parsed(own_checks_first=True)
def upsample_nearest(input: Tensor, size=None, scale_factor: float | Sequence[float] | None = None):
    """Deprecated: ``interpolate(..., mode='nearest')`` (warns)."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2 + PARSED_FRAMES)
    return interpolate(input, size, scale_factor, mode="nearest")


@parsed(own_checks_first=True)
def upsample_bilinear(input: Tensor, size=None, scale_factor: float | Sequence[float] | None = None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``
    (warns)."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2 + PARSED_FRAMES)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
