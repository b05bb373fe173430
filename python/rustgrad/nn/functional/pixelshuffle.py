"""``pixel_shuffle`` and ``pixel_unshuffle``: moving channels into space and
back (Shi et al., 2016), a reshape, a permute and a reshape, as ATen's
``math_pixel_shuffle``; PyTorch's checks and messages."""

from __future__ import annotations

from ..._arg_parser import Tensor, parsed

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _check(name, input, factor, label):
    if not isinstance(factor, int) or isinstance(factor, bool):
        raise TypeError(f"{name}(): argument '{label}' (position 2) must be int, not {type(factor).__name__}")
    if input.dim() < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if factor <= 0:
        raise RuntimeError(f"{name} expects a positive {label}, but got {factor}")


@parsed
def pixel_shuffle(input: Tensor, upscale_factor: int):
    """(*, C*r^2, H, W) to (*, C, H*r, W*r), ``r = upscale_factor``: channel
    ``c*r^2 + i*r + j`` becomes the pixel offset (i, j) of channel ``c``."""
    r = upscale_factor
    _check("pixel_shuffle", input, r, "upscale_factor")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)  # (*, C, H, r, W, r)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


@parsed
def pixel_unshuffle(input: Tensor, downscale_factor: int):
    """(*, C, H*r, W*r) to (*, C*r^2, H, W), ``r = downscale_factor``: the
    inverse of ``pixel_shuffle``."""
    r = downscale_factor
    _check("pixel_unshuffle", input, r, "downscale_factor")
    *batch, c, h, w = input.shape
    for side, size, dim in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {side} to be divisible by downscale_factor, but "
                               f"input.size({dim})={size} is not divisible by {r}")
    n = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)  # (*, C, r, r, H, W)
    return x.reshape(*batch, c * r * r, h // r, w // r)
