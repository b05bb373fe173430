"""``torch.nn.functional``: ``linear`` and ``bilinear``.

``linear`` adds its bias with ``_channels``' ones matmul: the core's
broadcasting add and the reduction in its backward cost about a quarter of a
linear layer's forward and backward (``bilinear`` shares the helper)."""

from __future__ import annotations

import math

from ._channels import add_channels
from ..._arg_parser import Tensor, parsed

__all__ = ["linear", "bilinear"]


@parsed
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None):
    """``input @ weight.T + bias``.

    Shapes: ``input`` (*, in_features), ``weight`` (out_features,
    in_features) or (in_features,), ``bias`` (out_features,) or ``()``;
    result (*, out_features). Any float dtype (operands must agree).

    Raises RuntimeError ``"mm: mat1 and mat2 shapes cannot be multiplied
    (NxK and JxM)"`` (``addmm`` with a bias; N is the flattened batch), as
    PyTorch, when ``in_features`` differ, and PyTorch's addmm message when
    the bias dtype differs from the weight's.
    """
    if bias is not None and bias.dtype != weight.dtype:
        from ..._composites import _type_name  # late: defined after rustgrad imports nn

        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_type_name(bias.dtype)} and "
                           f"{_type_name(weight.dtype)}")
    if weight.dim() == 2 and input.dim() >= 1 and input.shape[-1] != weight.shape[1]:
        rows = math.prod(input.shape[:-1])
        op = "mm" if bias is None else "addmm"
        raise RuntimeError(f"{op}: mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    return _add_bias(input.matmul(weight.t()), bias)


def _add_bias(out, bias):
    """``out + bias`` over the last dim: its rows, as ``(M, C)``, plus the
    bias by ``add_channels``."""
    if bias is None:
        return out
    if bias.dim() != 1 or out.dim() == 0 or out.shape[-1] != bias.shape[0]:
        return out + bias  # a 0-d bias, or the broadcasting error of a wrong size
    return add_channels(out.reshape(math.prod(out.shape[:-1]), bias.shape[0]), bias).reshape(out.shape)


def _bilinear_checks(input1, input2, weight, bias):
    """PyTorch's argument checks of ``bilinear`` (same messages)."""
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} and {input2.dim()}")
    for i in range(input1.dim() - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: "
                               f"got {input1.shape[i]} and {input2.shape[i]}")
    if weight.dim() != 3:
        raise RuntimeError("number of dimensions must match")
    for name, size, expected in (("input1", input1.shape[-1], weight.shape[1]),
                                 ("input2", input2.shape[-1], weight.shape[2])):
        if size != expected:
            raise RuntimeError(f"bilinear(): {name} size does not match weight size: got {size} "
                               f"but expected {expected}")
    if bias is not None and bias.shape[-1] != weight.shape[0]:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[-1]} "
                           f"but expected {weight.shape[0]}")


@parsed
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None):
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j]
    + bias[o]``.

    Shapes: ``input1`` (*, in1), ``input2`` (*, in2) with the same batch
    dims, ``weight`` (out, in1, in2), ``bias`` (out,); result (*, out).
    Raises RuntimeError with PyTorch's ``bilinear(): ...`` messages on
    mismatched sizes.
    """
    _bilinear_checks(input1, input2, weight, bias)
    # (*, in1) @ (in1, out*in2) -> (*, out, in2), then contract in2 with input2.
    out_f, in1, in2 = weight.shape
    left = input1.matmul(weight.permute(1, 0, 2).reshape(in1, out_f * in2))
    left = left.reshape(*input1.shape[:-1], out_f, in2)
    return _add_bias(left.matmul(input2.unsqueeze(-1)).squeeze(-1), bias)
