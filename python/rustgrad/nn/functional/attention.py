"""``torch.nn.functional``: attention.

``scaled_dot_product_attention`` follows the reference math of PyTorch's
documentation (``softmax(q k^T * scale + bias) v``), and, like PyTorch's
kernels, gives rows whose keys are all masked out zeros (not NaN) in the
output and the gradients. ``multi_head_attention_forward`` is PyTorch's
Python implementation of ``nn.MultiheadAttention``, written here with the
same differentiable tensor ops.
"""

from __future__ import annotations

import math
import warnings

from ... import _core
from .. import functional as F  # linear and dropout, looked up at call time
from ..._arg_parser import Tensor, parsed

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_NEG_INF = float("-inf")

# The C++ type names PyTorch's SDPA checks print for each dtype.
_CPP_TYPE_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
    "uint8": "unsigned char", "bool": "bool",
}


def _cpp_name(dtype):
    name = str(dtype).replace("torch.", "")
    return _CPP_TYPE_NAMES.get(name, name)


def _check_sdpa_inputs(query, key, value, attn_mask, dropout_p, is_causal):
    """PyTorch's ``validate_sdpa_input`` checks, in its order and wording."""
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{_cpp_name(query.dtype)} key.dtype: {_cpp_name(key.dtype)} and value.dtype: "
            f"{_cpp_name(value.dtype)} instead.")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
            f"{query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    if attn_mask is not None and attn_mask.dtype not in (_core.bool, _core.float32, query.dtype):
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
            f"attn_mask.dtype: {_cpp_name(attn_mask.dtype)} and  query.dtype: "
            f"{_cpp_name(query.dtype)} instead.")
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if dropout_p > 1.0:
        # PyTorch only calls dropout for p > 0, so a negative p passes unchecked
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p:g}")


def _attn_bias(L, S, attn_mask, is_causal, dtype):
    """The additive bias of the reference math: ``-inf`` where a bool mask
    (or the causal lower-triangular mask, aligned top-left) is False, a float
    mask as it is; ``None`` when there is nothing to add."""
    if is_causal:
        keep = _core.ones(L, S, dtype=_core.bool).tril()
        return _core.zeros(L, S, dtype=dtype).masked_fill(keep.logical_not(), _NEG_INF)
    if attn_mask is None:
        return None
    if attn_mask.dtype == _core.bool:
        return _core.zeros(tuple(attn_mask.shape), dtype=dtype).masked_fill(attn_mask.logical_not(), _NEG_INF)
    return attn_mask


def _safe_softmax(scores):
    """Softmax over the last dim that gives 0 (and a zero gradient) on rows
    that are all ``-inf``, as PyTorch's ``_safe_softmax``; the rows are
    zeroed before the softmax too, so no NaN reaches the backward pass."""
    dead = (scores == _NEG_INF).all(-1, keepdim=True)
    return scores.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)


@parsed
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False):
    """``softmax(query @ key^T * scale + bias) @ value``.

    Shapes: ``query (..., Hq, L, E)``, ``key (..., H, S, E)``, ``value
    (..., H, S, Ev)`` -> ``(..., Hq, L, Ev)``; batch dims broadcast. Every
    tensor has at least 2 dims and all share one dtype.

    ``attn_mask`` broadcasts to ``(..., L, S)``: bool (True = attend) or a
    float bias added to the scores (its dtype bool, float32 or the query's).
    ``is_causal`` masks with a top-left-aligned lower triangle and excludes
    ``attn_mask``. ``scale`` defaults to ``1/sqrt(E)``. ``dropout_p`` is
    applied to the attention weights whenever it is positive (as in
    PyTorch, regardless of any module's training mode). ``enable_gqa``
    repeats each key/value head ``Hq // H`` times (grouped-query attention).
    Rows with every key masked give zeros.

    Raises RuntimeError with PyTorch's messages for mismatched dtypes, fewer
    than 2 dims, a mask of another dtype, a mask with ``is_causal``, a
    dropout probability above 1, and key/value heads that do not divide the
    query heads. Formula: PyTorch's documentation of the function.
    """
    _check_sdpa_inputs(query, key, value, attn_mask, dropout_p, is_causal)
    if enable_gqa and query.dim() >= 3:
        hq, hk, hv = query.size(-3), key.size(-3), value.size(-3)
        if hq % hk != 0 or hq % hv != 0:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query")
        key = key.repeat_interleave(hq // hk, -3)
        value = value.repeat_interleave(hq // hv, -3)
    L, S = query.size(-2), key.size(-2)
    scale = 1.0 / math.sqrt(query.size(-1)) if scale is None else scale
    scores = query.matmul(key.transpose(-2, -1)) * scale
    bias = _attn_bias(L, S, attn_mask, is_causal, query.dtype)
    if bias is None:
        weights = scores.softmax(-1)
    else:
        # PyTorch adds the bias in place: the scores keep the query's dtype
        weights = _safe_softmax((scores + bias).to(scores.dtype))
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p, True)
    return weights.matmul(value)


# ---------------------------------------------------------------------------
# multi-head attention (PyTorch's torch/nn/functional.py implementation)
# ---------------------------------------------------------------------------


def _none_or_dtype(input):
    if input is None:
        return None
    if isinstance(input, _core.Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask as a float one (``-inf`` where True, i.e. masked out) of
    ``target_type``; float masks pass through. Other dtypes raise
    AssertionError; a dtype differing from the other mask's warns (as
    PyTorch's ``F._canonical_mask``)."""
    if mask is None:
        return None
    is_float = mask.is_floating_point()
    if mask.dtype != _core.bool and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      "Use same type for both instead.", stacklevel=2)
    if not is_float:
        mask = _core.zeros(tuple(mask.shape), dtype=target_type).masked_fill(mask, _NEG_INF)
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Whether the input is batched (3-D ``query``); AssertionError with
    PyTorch's messages for inconsistent ranks."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D"
                                 f" but found {key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D"
                                 f" but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D"
                                 f" but found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D"
                                 f" but found {key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D"
                                 f" but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D"
                                     f" but found {attn_mask.dim()}-D tensor instead")
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
        return False
    raise AssertionError(
        f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query tensor")


def _in_projection_packed(q, k, v, w, b=None):
    """q, k, v projected by the three row blocks of the packed ``w`` (one
    product when q, k and v are the same tensor, as PyTorch)."""
    E = q.size(-1)
    if q is k and k is v:
        return _linear_chunks(q, w, b, 3)
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None,) * 3 if b is None else b.chunk(3)
    if k is v:
        w_kv, b_kv = w.narrow(0, E, 2 * E), None if b is None else b.narrow(0, E, 2 * E)
        return (F.linear(q, w_q, b_q),) + _linear_chunks(k, w_kv, b_kv, 2)
    return F.linear(q, w_q, b_q), F.linear(k, w_k, b_k), F.linear(v, w_v, b_v)


def _linear_chunks(x, w, b, n):
    """``linear(x, w, b)`` split into ``n`` equal chunks of the last dim."""
    return tuple(F.linear(x, w, b).chunk(n, -1))


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    """q, k, v projected by separate weights, with PyTorch's shape checks."""
    Eq, Ek, Ev = q.size(-1), k.size(-1), v.size(-1)
    for name, t, shape in (("query weights", w_q, (Eq, Eq)), ("key weights", w_k, (Eq, Ek)),
                           ("value weights", w_v, (Eq, Ev)), ("query bias", b_q, (Eq,)),
                           ("key bias", b_k, (Eq,)), ("value bias", b_v, (Eq,))):
        if t is not None and tuple(t.shape) != shape:
            raise AssertionError(f"expecting {name} shape of {shape}, but got {t.shape}")
    return F.linear(q, w_q, b_q), F.linear(k, w_k, b_k), F.linear(v, w_v, b_v)


def _pad_one(x, dim):
    """``x`` with one zero appended along ``dim`` (``F.pad(x, (0, 1))`` for
    the last dim)."""
    shape = list(x.shape)
    shape[dim] = 1
    return _core.cat([x, _core.zeros(tuple(shape), dtype=x.dtype)], dim)


def _static_kv(static, name, bsz_heads, head_dim):
    if static.size(0) != bsz_heads:
        raise AssertionError(f"expecting {name}.size(0) of {bsz_heads}, but got {static.size(0)}")
    if static.size(2) != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.size(2)}")
    return static


@parsed
def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                                 out_proj_weight, out_proj_bias, training=True, key_padding_mask=None,
                                 need_weights=True, attn_mask=None, use_separate_proj_weight=False,
                                 q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """The forward pass of ``nn.MultiheadAttention``.

    Shapes (sequence first): ``query (L, N, E)``, ``key (S, N, Ek)``,
    ``value (S, N, Ev)``, or unbatched ``(L, E)``, ``(S, Ek)``, ``(S, Ev)``;
    ``key_padding_mask (N, S)`` or ``(S,)`` (True or ``-inf`` = ignore that
    key); ``attn_mask (L, S)`` or ``(N*num_heads, L, S)``. Returns
    ``(attn_output (L, N, E), attn_weights)`` where the weights are
    ``(N, L, S)`` averaged over heads, ``(N, num_heads, L, S)`` with
    ``average_attn_weights=False``, or None with ``need_weights=False``.

    ``is_causal`` is a hint that ``attn_mask`` is the causal mask (it is
    then required). Errors are PyTorch's AssertionErrors and RuntimeErrors
    for inconsistent shapes. Formula: PyTorch's
    ``torch.nn.functional.multi_head_attention_forward``.
    """
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask),
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                           "module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the SDPA path applies the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                                 f"{value.shape[:2]}")
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, b_q, b_k, b_v)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        # One extra learned key/value position, attended by every query.
        k = _core.cat([k, bias_k.repeat(1, bsz, 1)])
        v = _core.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else _pad_one(attn_mask, -1)
        key_padding_mask = None if key_padding_mask is None else _pad_one(key_padding_mask, -1)
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    # (seq, batch, embed) -> (batch * heads, seq, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = (k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None
         else _static_kv(static_k, "static_k", bsz * num_heads, head_dim))
    v = (v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None
         else _static_kv(static_v, "static_v", bsz * num_heads, head_dim))

    if add_zero_attn:
        k, v = _pad_one(k, 1), _pad_one(v, 1)
        attn_mask = None if attn_mask is None else _pad_one(attn_mask, -1)
        key_padding_mask = None if key_padding_mask is None else _pad_one(key_padding_mask, -1)

    src_len = k.size(1)
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                                 f"{key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        key_padding_mask = (key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1)
                            .reshape(bsz * num_heads, 1, src_len))
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask

    if not training:
        dropout_p = 0.0

    if need_weights:
        E = q.shape[-1]
        q_scaled = q * math.sqrt(1.0 / float(E))
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        if attn_mask is not None:
            weights = attn_mask.baddbmm(q_scaled, k.transpose(-2, -1))
        else:
            weights = q_scaled.bmm(k.transpose(-2, -1))
        weights = weights.softmax(-1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, dropout_p)
        out = weights.bmm(v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        if attn_mask.size(0) == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not is_batched:
        out = out.squeeze(1)
    return out, None
