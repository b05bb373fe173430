"""Attention: ``F.scaled_dot_product_attention``,
``F.multi_head_attention_forward``/``nn.MultiheadAttention`` and the
transformer layers built on them.

NumPy references (the formulas of PyTorch's documentation) check values
without PyTorch, float64 finite differences check gradients. With PyTorch
installed the same weights are loaded into both libraries through
``load_state_dict`` and outputs, attention weights and all gradients are
compared, as are parameter names, reprs and error messages.
"""

import math
import warnings

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn
import rustgrad.nn.functional as F
from conftest import N, T, assert_close, check_grads, raises_same

# PyTorch's (and rustgrad's) note that a sequence-first encoder cannot use
# nested tensors; test_encoder_nested_tensor_flag_and_warning checks it.
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")


def _rng(seed=0):
    return np.random.default_rng(seed)


def _in_torch(fn, torch):
    """``fn`` with its globals ``rg``, ``nn``, ``F`` pointing at PyTorch."""
    g = dict(fn.__globals__, rg=torch, nn=torch.nn, F=torch.nn.functional)
    return type(fn)(fn.__code__, g)


def _errors_match_torch(torch, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = raises_same(fn, _in_torch(fn, torch))
    assert ours == theirs


# ---------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------


def np_softmax(s):
    """Softmax over the last axis; rows that are all -inf give zeros."""
    dead = np.all(s == -np.inf, axis=-1, keepdims=True)
    s = np.where(dead, 0.0, s)
    e = np.exp(s - s.max(-1, keepdims=True))
    return np.where(dead, 0.0, e / e.sum(-1, keepdims=True))


def np_sdpa(q, k, v, mask=None, is_causal=False, scale=None):
    L, S = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if is_causal:
        s = np.where(np.tril(np.ones((L, S), bool)), s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    return np_softmax(s) @ v


def np_mha(q, k, v, p, num_heads, attn_mask=None, key_padding_mask=None):
    """Multi-head attention, sequence-first (L, N, E), with the packed
    parameters ``p`` (a dict of NumPy arrays). Returns the output and the
    head-averaged weights (N, L, S)."""
    E = q.shape[-1]
    d = E // num_heads
    w_q, w_k, w_v = np.split(p["in_proj_weight"], 3)
    b_q, b_k, b_v = np.split(p["in_proj_bias"], 3)

    def heads(x, w, b):  # (T, N, E) -> (N, H, T, d)
        y = x @ w.T + b
        return y.reshape(y.shape[0], y.shape[1], num_heads, d).transpose(1, 2, 0, 3)

    Q, K, V = heads(q, w_q, b_q), heads(k, w_k, b_k), heads(v, w_v, b_v)
    s = Q @ K.transpose(0, 1, 3, 2) / math.sqrt(d)
    if attn_mask is not None:
        s = np.where(attn_mask, -np.inf, s) if attn_mask.dtype == bool else s + attn_mask
    if key_padding_mask is not None:
        s = np.where(key_padding_mask[:, None, None, :], -np.inf, s)
    w = np_softmax(s)
    out = (w @ V).transpose(2, 0, 1, 3).reshape(q.shape[0], q.shape[1], E)
    return out @ p["out_proj.weight"].T + p["out_proj.bias"], w.mean(1)


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_encoder_layer(x, p, num_heads, norm_first, attn_mask=None):
    """PyTorch's TransformerEncoderLayer (relu, no dropout), sequence-first."""
    mha = {k[len("self_attn."):]: v for k, v in p.items() if k.startswith("self_attn.")}

    def sa(y):
        return np_mha(y, y, y, mha, num_heads, attn_mask)[0]

    def ff(y):
        return np.maximum(y @ p["linear1.weight"].T + p["linear1.bias"], 0) @ p["linear2.weight"].T + p["linear2.bias"]

    def n1(y):
        return np_layer_norm(y, p["norm1.weight"], p["norm1.bias"])

    def n2(y):
        return np_layer_norm(y, p["norm2.weight"], p["norm2.bias"])

    if norm_first:
        x = x + sa(n1(x))
        return x + ff(n2(x))
    x = n1(x + sa(x))
    return n2(x + ff(x))


def _params(module):
    return {k: N(v) for k, v in module.named_parameters()}


def _randomize(module, seed):
    """Random values in every parameter (so zero-initialised biases count)."""
    rng = _rng(seed)
    with rg.no_grad():
        for p in module.parameters():
            p.copy_(T(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(N(p).dtype)))
    return module


# ---------------------------------------------------------------------------
# scaled_dot_product_attention
# ---------------------------------------------------------------------------

SDPA_CASES = {
    "plain": dict(shapes=((2, 3, 4), (2, 5, 4), (2, 5, 6))),
    "bool_mask": dict(shapes=((2, 3, 4), (2, 5, 4), (2, 5, 6)), mask=("bool", (3, 5))),
    "float_mask": dict(shapes=((2, 3, 4), (2, 5, 4), (2, 5, 6)), mask=("float", (2, 1, 5))),
    "causal_rect": dict(shapes=((2, 4, 3), (2, 6, 3), (2, 6, 2)), is_causal=True),
    "causal_square": dict(shapes=((1, 2, 5, 4), (1, 2, 5, 4), (1, 2, 5, 4)), is_causal=True),
    "scale": dict(shapes=((2, 3, 4), (2, 5, 4), (2, 5, 6)), scale=0.7),
    "unbatched": dict(shapes=((3, 4), (5, 4), (5, 2)), mask=("bool", (3, 5))),
    "broadcast_batch": dict(shapes=((2, 1, 3, 4), (2, 5, 4), (2, 5, 6))),
    "4d_mask": dict(shapes=((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4)), mask=("float", (2, 2, 3, 5))),
}


def _sdpa_inputs(case, seed=0):
    rng = _rng(seed)
    q, k, v = (rng.standard_normal(s) for s in case["shapes"])
    kw = {key: case[key] for key in ("is_causal", "scale") if key in case}
    mask = None
    if "mask" in case:
        kind, shape = case["mask"]
        mask = rng.random(shape) > 0.4 if kind == "bool" else rng.standard_normal(shape)
    return q, k, v, mask, kw


@pytest.mark.parametrize("name", list(SDPA_CASES))
def test_sdpa_matches_numpy(name):
    q, k, v, mask, kw = _sdpa_inputs(SDPA_CASES[name])
    got = F.scaled_dot_product_attention(T(q), T(k), T(v), attn_mask=None if mask is None else T(mask), **kw)
    assert_close(got, np_sdpa(q, k, v, mask, **kw))


def test_sdpa_grouped_query_attention():
    rng = _rng(1)
    q, k, v = rng.standard_normal((1, 4, 3, 2)), rng.standard_normal((1, 2, 5, 2)), rng.standard_normal((1, 2, 5, 3))
    got = F.scaled_dot_product_attention(T(q), T(k), T(v), enable_gqa=True)
    expected = np_sdpa(q, np.repeat(k, 2, axis=1), np.repeat(v, 2, axis=1))
    assert_close(got, expected)
    with pytest.raises(RuntimeError, match="Number of heads in key and value must divide the number of heads"):
        F.scaled_dot_product_attention(T(q), T(k[:, :1].repeat(3, 1)), T(v[:, :1].repeat(3, 1)), enable_gqa=True)


def test_sdpa_fully_masked_rows_give_zeros_and_zero_gradients():
    rng = _rng(2)
    q, k, v = (T(rng.standard_normal(s), requires_grad=True) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6)))
    mask = np.ones((3, 5), bool)
    mask[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=T(mask))
    assert np.all(N(out)[:, 1] == 0)
    out.sum().backward()
    for t in (q, k, v):
        assert np.all(np.isfinite(N(t.grad)))
    assert np.all(N(q.grad)[:, 1] == 0)


@pytest.mark.parametrize("name", ["float_mask", "causal_rect", "unbatched"])
def test_sdpa_gradients_match_finite_differences(name):
    q, k, v, mask, kw = _sdpa_inputs(SDPA_CASES[name], seed=3)
    if mask is not None and mask.dtype == bool:
        mask = np.where(mask, 0.0, -1e3)  # a float mask, so the function is smooth in q, k, v

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else T(mask), **kw)

    check_grads(fn, [q, k, v])


def test_sdpa_second_order_gradients():
    from rustgrad.autograd import gradgradcheck

    q, k, v = (T(a, requires_grad=True) for a in _sdpa_inputs(SDPA_CASES["plain"], seed=7)[:3])
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v))


def test_sdpa_dropout_zeroes_and_rescales_weights():
    rg.manual_seed(0)
    rng = _rng(4)
    q, k = T(rng.standard_normal((2, 8, 4))), T(rng.standard_normal((2, 16, 4)))
    eye = T(np.eye(16))  # value = identity, so the output is the attention weights themselves
    weights = N(F.scaled_dot_product_attention(q, k, eye))
    dropped = N(F.scaled_dot_product_attention(q, k, eye, dropout_p=0.25))
    kept = dropped != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(dropped[kept], weights[kept] / 0.75, rtol=1e-12)
    assert np.all(N(F.scaled_dot_product_attention(q, k, eye, dropout_p=1.0)) == 0)


def test_sdpa_half_with_float32_mask_stays_half():
    q, k, v, mask, _ = _sdpa_inputs(SDPA_CASES["float_mask"], seed=6)
    got = F.scaled_dot_product_attention(T(q, dtype="float16"), T(k, dtype="float16"), T(v, dtype="float16"),
                                         attn_mask=T(mask, dtype="float32"))
    assert got.dtype == rg.float16
    assert_close(got.float(), np_sdpa(q, k, v, mask).astype(np.float32), rtol=2e-2, atol=2e-2)


SDPA_ERRORS = [
    (lambda: F.scaled_dot_product_attention(rg.randn(2, 3, 4), rg.randn(2, 5, 4), rg.randn(2, 5, 6).double()),
     "Expected query, key, and value to have the same dtype, but got query.dtype: float key.dtype: float and "
     "value.dtype: double instead."),
    (lambda: F.scaled_dot_product_attention(rg.randn(4), rg.randn(4), rg.randn(4)),
     "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: 1 key.dim: 1 and "
     "value.dim: 1 instead."),
    (lambda: F.scaled_dot_product_attention(rg.randn(2, 3, 4), rg.randn(2, 5, 4), rg.randn(2, 5, 6),
                                            attn_mask=rg.ones(3, 5, dtype=rg.int64)),
     "Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: long int "
     "and  query.dtype: float instead."),
    (lambda: F.scaled_dot_product_attention(rg.randn(2, 3, 4), rg.randn(2, 5, 4), rg.randn(2, 5, 6),
                                            attn_mask=rg.ones(3, 5).double()),
     "Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: double "
     "and  query.dtype: float instead."),
    (lambda: F.scaled_dot_product_attention(rg.randn(2, 3, 4), rg.randn(2, 5, 4), rg.randn(2, 5, 6),
                                            attn_mask=rg.ones(3, 5, dtype=rg.bool), is_causal=True),
     "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"),
    (lambda: F.scaled_dot_product_attention(rg.randn(2, 3, 4), rg.randn(2, 5, 4), rg.randn(2, 5, 6),
                                            dropout_p=1.5),
     "dropout probability has to be between 0 and 1, but got 1.5"),
]


@pytest.mark.parametrize("fn,msg", SDPA_ERRORS, ids=[m[:40] for _, m in SDPA_ERRORS])
def test_sdpa_errors(fn, msg):
    with pytest.raises(RuntimeError) as info:
        fn()
    assert str(info.value) == msg


@pytest.mark.parametrize("fn,msg", SDPA_ERRORS, ids=[m[:40] for _, m in SDPA_ERRORS])
def test_sdpa_errors_match_torch(torch, fn, msg):
    _errors_match_torch(torch, fn)


@pytest.mark.parametrize("name", list(SDPA_CASES) + ["fully_masked"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sdpa_matches_torch(torch, name, dtype):
    case = SDPA_CASES.get(name, dict(shapes=((2, 3, 4), (2, 5, 4), (2, 5, 6)), mask=("bool", (3, 5))))
    q, k, v, mask, kw = _sdpa_inputs(case, seed=5)
    if name == "fully_masked":
        mask[0] = False
    arrays = [a.astype(dtype) for a in (q, k, v)]
    if mask is not None and mask.dtype != bool:
        mask = mask.astype(dtype)
    ours = [T(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    o1 = F.scaled_dot_product_attention(*ours, attn_mask=None if mask is None else T(mask), **kw)
    o2 = torch.nn.functional.scaled_dot_product_attention(
        *theirs, attn_mask=None if mask is None else torch.tensor(mask), **kw)
    o1.sin().sum().backward()
    o2.sin().sum().backward()
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else {}
    assert_close(o1, o2.detach().numpy(), **tol)
    for a, b in zip(ours, theirs):
        assert_close(a.grad, b.grad.numpy(), **tol)


# ---------------------------------------------------------------------------
# MultiheadAttention
# ---------------------------------------------------------------------------


def test_mha_parameters_and_init():
    m = nn.MultiheadAttention(8, 2)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == [
        ("in_proj_weight", (24, 8)), ("in_proj_bias", (24,)), ("out_proj.weight", (8, 8)), ("out_proj.bias", (8,))]
    assert m.head_dim == 4 and m._qkv_same_embed_dim
    assert m.q_proj_weight is None and m.bias_k is None
    bound = math.sqrt(6 / (8 + 24))  # xavier_uniform_ on (3E, E)
    w = N(m.in_proj_weight)
    assert np.all(np.abs(w) <= bound) and w.std() > bound / 4
    assert np.all(N(m.in_proj_bias) == 0) and np.all(N(m.out_proj.bias) == 0)

    s = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False, add_bias_kv=True)
    assert [(n, tuple(p.shape)) for n, p in s.named_parameters()] == [
        ("q_proj_weight", (8, 8)), ("k_proj_weight", (8, 3)), ("v_proj_weight", (8, 5)), ("bias_k", (1, 1, 8)),
        ("bias_v", (1, 1, 8)), ("out_proj.weight", (8, 8))]
    assert s.in_proj_weight is None and s.in_proj_bias is None and s.out_proj.bias is None


def test_mha_repr():
    assert repr(nn.MultiheadAttention(8, 2)) == (
        "MultiheadAttention(\n"
        "  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)\n)")


@pytest.mark.parametrize("masks", ["none", "bool", "float"])
def test_mha_matches_numpy(masks):
    m = _randomize(nn.MultiheadAttention(6, 3, dtype=rg.float64), 0)
    rng = _rng(6)
    q, k, v = rng.standard_normal((4, 2, 6)), rng.standard_normal((5, 2, 6)), rng.standard_normal((5, 2, 6))
    attn_mask = kpm = None
    if masks != "none":
        attn_mask = rng.random((4, 5)) > 0.7
        kpm = rng.random((2, 5)) > 0.7
        attn_mask[:, 0] = kpm[:, 0] = False  # every query keeps a key
        if masks == "float":
            attn_mask = np.where(attn_mask, -np.inf, rng.standard_normal((4, 5)))
    # a float key_padding_mask with a float attn_mask (mixing types warns)
    kpm_in = None if kpm is None else T(np.where(kpm, -np.inf, 0.0) if masks == "float" else kpm)
    am_in = None if attn_mask is None else T(attn_mask)
    out, w = m(T(q), T(k), T(v), attn_mask=am_in, key_padding_mask=kpm_in)
    ref_out, ref_w = np_mha(q, k, v, _params(m), 3, attn_mask, kpm)
    assert_close(out, ref_out)
    assert_close(w, ref_w)
    out2, w2 = m(T(q), T(k), T(v), attn_mask=am_in, key_padding_mask=kpm_in, need_weights=False)
    assert w2 is None
    assert_close(out2, ref_out)


def test_mha_batch_first_and_unbatched():
    rng = _rng(7)
    m = _randomize(nn.MultiheadAttention(4, 2, dtype=rg.float64), 1)
    mb = _randomize(nn.MultiheadAttention(4, 2, batch_first=True, dtype=rg.float64), 1)
    x = rng.standard_normal((3, 2, 4))
    out, w = m(T(x), T(x), T(x), average_attn_weights=False)
    assert tuple(w.shape) == (2, 2, 3, 3)
    outb, wb = mb(T(x.transpose(1, 0, 2)), T(x.transpose(1, 0, 2)), T(x.transpose(1, 0, 2)),
                  average_attn_weights=False)
    assert_close(outb, N(out).transpose(1, 0, 2))
    assert_close(wb, N(w))
    one, w1 = m(T(x[:, 0]), T(x[:, 0]), T(x[:, 0]))
    assert tuple(one.shape) == (3, 4) and tuple(w1.shape) == (3, 3)
    assert_close(one, N(out)[:, 0])
    assert_close(w1, N(w)[0].mean(0))


def test_mha_gradients_match_finite_differences():
    m = _randomize(nn.MultiheadAttention(4, 2, kdim=3, vdim=2, dtype=rg.float64), 2)
    rng = _rng(8)
    check_grads(lambda q, k, v: m(q, k, v)[0], [rng.standard_normal((3, 2, 4)), rng.standard_normal((4, 2, 3)),
                                                rng.standard_normal((4, 2, 2))])


def test_mha_all_parameters_get_gradients():
    m = _randomize(nn.MultiheadAttention(4, 2, add_bias_kv=True, dtype=rg.float64), 3)
    x = T(_rng(9).standard_normal((3, 2, 4)))
    m(x, x, x)[0].sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and np.abs(N(p.grad)).sum() > 0, name


MHA_ERRORS = [
    (lambda: nn.MultiheadAttention(8, 3), AssertionError, "embed_dim must be divisible by num_heads"),
    (lambda: nn.MultiheadAttention(0, 2), ValueError,
     "embed_dim and num_heads must be greater than 0, got embed_dim=0 and num_heads=2 instead"),
    (lambda: nn.MultiheadAttention(8, 2)(rg.randn(4, 2, 8), rg.randn(5, 2, 8), rg.randn(6, 2, 8)), AssertionError,
     "key shape torch.Size([5, 2, 8]) does not match value shape torch.Size([6, 2, 8])"),
    (lambda: nn.MultiheadAttention(8, 2)(rg.randn(4, 2, 8), rg.randn(5, 8), rg.randn(5, 2, 8)), AssertionError,
     "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found 2-D and 3-D tensors respectively"),
    (lambda: nn.MultiheadAttention(8, 2)(rg.randn(4, 2, 6), rg.randn(5, 2, 6), rg.randn(5, 2, 6)), AssertionError,
     "was expecting embedding dimension of 8, but got 6"),
    (lambda: nn.MultiheadAttention(8, 2)(rg.randn(4, 2, 8), rg.randn(5, 2, 8), rg.randn(5, 2, 8),
                                         attn_mask=rg.zeros(4, 4)), RuntimeError,
     "The shape of the 2D attn_mask is torch.Size([4, 4]), but should be (4, 5)."),
    (lambda: nn.MultiheadAttention(8, 2)(rg.randn(4, 2, 8), rg.randn(5, 2, 8), rg.randn(5, 2, 8),
                                         attn_mask=rg.zeros(2, 4, 5)), RuntimeError,
     "The shape of the 3D attn_mask is torch.Size([2, 4, 5]), but should be (4, 4, 5)."),
    (lambda: nn.MultiheadAttention(8, 2)(rg.randn(4, 2, 8), rg.randn(5, 2, 8), rg.randn(5, 2, 8),
                                         key_padding_mask=rg.zeros(2, 4, dtype=rg.bool)), AssertionError,
     "Expected key_padded_mask.shape[1] to be 5, but got 4"),
    (lambda: nn.MultiheadAttention(8, 2)(rg.randn(4, 2, 8), rg.randn(5, 2, 8), rg.randn(5, 2, 8),
                                         key_padding_mask=rg.zeros(2, 5, dtype=rg.int64)), AssertionError,
     "only bool and floating types of key_padding_mask are supported"),
    (lambda: nn.MultiheadAttention(8, 2)(rg.randn(4, 2, 8), rg.randn(5, 2, 8), rg.randn(5, 2, 8), is_causal=True),
     RuntimeError, "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
                   "`generate_square_subsequent_mask` to create this mask."),
    (lambda: nn.MultiheadAttention(8, 2)(rg.randn(2, 4, 2, 8), rg.randn(5, 2, 8), rg.randn(5, 2, 8)),
     AssertionError, "query should be unbatched 2D or batched 3D tensor but received 4-D query tensor"),
]


@pytest.mark.parametrize("fn,cls,msg", MHA_ERRORS, ids=[m[:40] for _, _, m in MHA_ERRORS])
def test_mha_errors(fn, cls, msg):
    with pytest.raises(cls) as info:
        fn()
    assert str(info.value) == msg


@pytest.mark.parametrize("fn,cls,msg", MHA_ERRORS, ids=[m[:40] for _, _, m in MHA_ERRORS])
def test_mha_errors_match_torch(torch, fn, cls, msg):
    _errors_match_torch(torch, fn)


def test_mha_mismatched_mask_types_warn():
    m = nn.MultiheadAttention(4, 2)
    x = rg.randn(3, 1, 4)
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        m(x, x, x, key_padding_mask=rg.zeros(1, 3, dtype=rg.bool), attn_mask=rg.zeros(3, 3))


def _load_from_torch(module, tmodule):
    module.load_state_dict({k: rg.tensor(v.detach().numpy()) for k, v in tmodule.state_dict().items()})


def _same_inputs(torch, arrays, alias):
    """rustgrad and torch leaves for ``arrays``; ``alias`` 'qkv' or 'kv'
    passes the same tensor object several times (self-attention)."""
    ours = [T(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    if alias == "qkv":
        ours, theirs = [ours[0]] * 3, [theirs[0]] * 3
    elif alias == "kv":
        ours, theirs = [ours[0], ours[1], ours[1]], [theirs[0], theirs[1], theirs[1]]
    return ours, theirs


_KPM = np.array([[False, False, True, False, True], [False, True, False, False, False]])
_AM = np.array([[False, True, False, False, False], [False, False, True, True, False],
                [False, False, False, False, True], [False, True, False, True, False]])
_CAUSAL = np.triu(np.full((4, 4), -np.inf), 1)

MHA_CASES = {
    "plain": ({}, {}, None, ((4, 2, 8), (5, 2, 8), (5, 2, 8))),
    "self": ({}, {}, "qkv", ((4, 2, 8),) * 3),
    "shared_kv": ({}, {}, "kv", ((4, 2, 8), (5, 2, 8), (5, 2, 8))),
    "key_padding": ({}, dict(key_padding_mask=_KPM), None, ((4, 2, 8), (5, 2, 8), (5, 2, 8))),
    "both_masks": ({}, dict(key_padding_mask=_KPM, attn_mask=_AM), None, ((4, 2, 8), (5, 2, 8), (5, 2, 8))),
    "float_masks": ({}, dict(key_padding_mask=np.where(_KPM, -1e9, 0.0), attn_mask=np.where(_AM, -2.0, 0.5)), None,
                    ((4, 2, 8), (5, 2, 8), (5, 2, 8))),
    "mask_3d": ({}, dict(attn_mask=np.linspace(-1, 1, 80).reshape(4, 4, 5)), None, ((4, 2, 8), (5, 2, 8), (5, 2, 8))),
    "no_weights": ({}, dict(need_weights=False, attn_mask=_AM, key_padding_mask=_KPM), None,
                   ((4, 2, 8), (5, 2, 8), (5, 2, 8))),
    "per_head_weights": ({}, dict(average_attn_weights=False), None, ((4, 2, 8), (5, 2, 8), (5, 2, 8))),
    "batch_first": (dict(batch_first=True), {}, None, ((2, 4, 8), (2, 5, 8), (2, 5, 8))),
    "batch_first_self": (dict(batch_first=True), dict(need_weights=False), "qkv", ((2, 4, 8),) * 3),
    "kdim_vdim": (dict(kdim=3, vdim=6), dict(key_padding_mask=_KPM), None, ((4, 2, 8), (5, 2, 3), (5, 2, 6))),
    "bias_kv_zero_attn": (dict(add_bias_kv=True, add_zero_attn=True), dict(key_padding_mask=_KPM, attn_mask=_AM),
                          None, ((4, 2, 8), (5, 2, 8), (5, 2, 8))),
    "no_bias": (dict(bias=False), {}, None, ((4, 2, 8), (5, 2, 8), (5, 2, 8))),
    "unbatched": ({}, dict(key_padding_mask=_KPM[0]), None, ((4, 8), (5, 8), (5, 8))),
    "causal_sdpa": ({}, dict(attn_mask=_CAUSAL, is_causal=True, need_weights=False), "qkv", ((4, 2, 8),) * 3),
    "causal_weights": ({}, dict(attn_mask=_CAUSAL, is_causal=True), "qkv", ((4, 2, 8),) * 3),
}


@pytest.mark.parametrize("name", list(MHA_CASES))
@pytest.mark.parametrize("train", [True, False])
def test_mha_matches_torch(torch, name, train):
    ctor, call, alias, shapes = MHA_CASES[name]
    tm = torch.nn.MultiheadAttention(8, 2, dtype=torch.float64, **ctor)
    m = nn.MultiheadAttention(8, 2, dtype=rg.float64, **ctor)
    with torch.no_grad():  # non-zero biases, so their gradients and effects are compared
        for p in tm.parameters():
            p.uniform_(-0.5, 0.5)
    _load_from_torch(m, tm)
    m.train(train)
    tm.train(train)
    rng = _rng(10)
    ours, theirs = _same_inputs(torch, [rng.standard_normal(s) for s in shapes], alias)
    o1, w1 = m(*ours, **{k: T(v) if isinstance(v, np.ndarray) else v for k, v in call.items()})
    o2, w2 = tm(*theirs, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()})
    assert_close(o1, o2.detach().numpy())
    assert (w1 is None) == (w2 is None)
    if w2 is not None:
        assert_close(w1, w2.detach().numpy())
    (o1.sin().sum() + (0 if w1 is None else (w1 * w1).sum())).backward()
    (o2.sin().sum() + (0 if w2 is None else (w2 * w2).sum())).backward()
    for a, b in zip(ours, theirs):
        assert_close(a.grad, b.grad.numpy())
    tparams = dict(tm.named_parameters())
    assert [n for n, _ in m.named_parameters()] == list(tparams)
    for n, p in m.named_parameters():
        assert_close(p.grad, tparams[n].grad.numpy())


def test_mha_functional_matches_torch(torch):
    """``F.multi_head_attention_forward`` called directly, with static keys."""
    rng = _rng(11)
    q, k, v = rng.standard_normal((3, 2, 4)), rng.standard_normal((5, 2, 4)), rng.standard_normal((5, 2, 4))
    w_in, b_in = rng.standard_normal((12, 4)), rng.standard_normal(12)
    w_out, b_out = rng.standard_normal((4, 4)), rng.standard_normal(4)
    static_k, static_v = rng.standard_normal((4, 6, 2)), rng.standard_normal((4, 6, 2))
    results = []
    for lib, fn in ((rg, F.multi_head_attention_forward), (torch, torch.nn.functional.multi_head_attention_forward)):
        t = [lib.tensor(a) for a in (q, k, v, w_in, b_in, w_out, b_out, static_k, static_v)]
        results.append(fn(t[0], t[1], t[2], 4, 2, t[3], t[4], None, None, False, 0.0, t[5], t[6], training=False,
                          static_k=t[7], static_v=t[8]))
    for a, b in zip(*results):
        assert_close(a, b.numpy())


# ---------------------------------------------------------------------------
# transformer layers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_numpy(norm_first):
    layer = _randomize(nn.TransformerEncoderLayer(6, 2, dim_feedforward=5, dropout=0.0, norm_first=norm_first,
                                                  dtype=rg.float64), 4)
    rng = _rng(12)
    x = rng.standard_normal((4, 2, 6))
    mask = np.triu(np.full((4, 4), -np.inf), 1)
    out = layer(T(x), src_mask=T(mask))
    assert_close(out, np_encoder_layer(x, _params(layer), 2, norm_first, mask))


def test_encoder_layer_structure():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    assert [(n, tuple(p.shape)) for n, p in layer.named_parameters()] == [
        ("self_attn.in_proj_weight", (24, 8)), ("self_attn.in_proj_bias", (24,)),
        ("self_attn.out_proj.weight", (8, 8)), ("self_attn.out_proj.bias", (8,)),
        ("linear1.weight", (16, 8)), ("linear1.bias", (16,)), ("linear2.weight", (8, 16)), ("linear2.bias", (8,)),
        ("norm1.weight", (8,)), ("norm1.bias", (8,)), ("norm2.weight", (8,)), ("norm2.bias", (8,))]
    assert layer.activation is F.relu and layer.activation_relu_or_gelu == 1
    assert nn.TransformerEncoderLayer(8, 2, activation="gelu").activation is F.gelu
    with pytest.raises(RuntimeError, match="^activation should be relu/gelu, not tanh$"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


def test_encoder_stacks_independent_deep_copies():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0)
    enc = nn.TransformerEncoder(layer, num_layers=3, norm=nn.LayerNorm(4))
    assert len(enc.layers) == 3
    w = [l.linear1.weight for l in enc.layers]
    assert len({id(a) for a in w + [layer.linear1.weight]}) == 4
    for a in w:
        np.testing.assert_array_equal(N(a), N(layer.linear1.weight))
    with rg.no_grad():
        enc.layers[0].linear1.weight.add_(1.0)
    assert not np.array_equal(N(enc.layers[0].linear1.weight), N(enc.layers[1].linear1.weight))
    assert len(list(enc.parameters())) == 3 * 12 + 2


@pytest.mark.parametrize("kw,reason", [
    ({}, "encoder_layer.self_attn.batch_first was not True(use batch_first for better inference performance)"),
    (dict(batch_first=True, norm_first=True), "encoder_layer.norm_first was True"),
    (dict(batch_first=True, activation=lambda x: x), "encoder_layer.activation_relu_or_gelu was not True"),
    (dict(batch_first=True, nhead=1), "encoder_layer.self_attn.num_heads is odd"),
    (dict(batch_first=True), None),
])
def test_encoder_nested_tensor_flag_and_warning(kw, reason):
    """PyTorch's ``use_nested_tensor`` and its warning (rustgrad computes the
    same values either way)."""
    kw = dict(dict(d_model=4, nhead=2, dim_feedforward=8), **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(**kw), num_layers=1)
    messages = [str(w.message) for w in caught]
    if reason is None:
        assert enc.use_nested_tensor and messages == []
    else:
        assert not enc.use_nested_tensor
        assert messages == [f"enable_nested_tensor is True, but self.use_nested_tensor is False because {reason}"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(**kw), 1, enable_nested_tensor=False)
    assert not enc.use_nested_tensor


def test_encoder_is_layers_then_norm():
    rg.manual_seed(0)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0, dtype=rg.float64),
                                num_layers=2, norm=nn.LayerNorm(4, dtype=rg.float64))
    _randomize(enc, 5)
    x = T(_rng(13).standard_normal((3, 2, 4)))
    expected = enc.norm(enc.layers[1](enc.layers[0](x)))
    assert_close(enc(x), N(expected))


def test_generate_square_subsequent_mask():
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    assert mask.dtype == rg.float32
    np.testing.assert_array_equal(N(mask), np.triu(np.full((4, 4), -np.inf), 1))


def test_transformer_errors():
    model = nn.Transformer(d_model=4, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8)
    with pytest.raises(RuntimeError, match="^the batch number of src and tgt must be equal$"):
        model(rg.randn(3, 2, 4), rg.randn(3, 1, 4))
    with pytest.raises(RuntimeError, match="^the feature number of src and tgt must be equal to d_model$"):
        model(rg.randn(3, 2, 4), rg.randn(3, 2, 5))


TRANSFORMER_CASES = {
    "encoder_layer": lambda nn: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0),
    "encoder_layer_gelu_norm_first_batch_first": lambda nn: nn.TransformerEncoderLayer(
        8, 2, dim_feedforward=16, dropout=0.0, activation="gelu", norm_first=True, batch_first=True),
    "encoder_layer_no_bias": lambda nn: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, bias=False),
    "encoder": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0),
                                                num_layers=2, norm=nn.LayerNorm(8)),
    "decoder_layer": lambda nn: nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0),
    "decoder_layer_norm_first": lambda nn: nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                                                      norm_first=True),
    "decoder": lambda nn: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0),
                                                num_layers=2, norm=nn.LayerNorm(8)),
    "transformer": lambda nn: nn.Transformer(8, 2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16,
                                             dropout=0.0),
}


def _transformer_args(name, lib, src, tgt, kpm):
    """Inputs (leaves that require grad) and keyword masks for the module
    of case ``name``: src (5, 2, 8) with a padding mask, tgt (4, 2, 8) with
    the causal mask."""
    if "batch_first" in name:
        src = src.transpose(1, 0, 2).copy()
    src, tgt = (lib.tensor(a, requires_grad=True) for a in (src, tgt))
    kpm = lib.tensor(kpm)

    def causal(n):
        return lib.nn.Transformer.generate_square_subsequent_mask(n, dtype=lib.float64)

    if name.startswith("encoder"):
        # a bool causal mask (True = masked), of the padding mask's type
        mask = {"mask": lib.ones(5, 5, dtype=lib.bool).triu(1)} if name == "encoder" else {}
        return (src,), dict(src_key_padding_mask=kpm, **mask)
    if name.startswith("decoder"):
        return (tgt, src), dict(tgt_mask=causal(4), memory_key_padding_mask=kpm)
    return (src, tgt), dict(tgt_mask=causal(4), src_key_padding_mask=kpm, memory_key_padding_mask=kpm)


@pytest.mark.parametrize("name", list(TRANSFORMER_CASES))
@pytest.mark.parametrize("train", [True, False])
def test_transformer_layers_match_torch(torch, name, train):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's note about nested tensors
        tm = TRANSFORMER_CASES[name](torch.nn).double()
    m = TRANSFORMER_CASES[name](nn).double()
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in tm.named_parameters()]
    with torch.no_grad():
        for p in tm.parameters():
            p.uniform_(-0.5, 0.5)
    _load_from_torch(m, tm)
    m.train(train)
    tm.train(train)
    rng = _rng(14)
    kpm = np.zeros((2, 5), bool)
    kpm[0, 3:] = True
    src, tgt = rng.standard_normal((5, 2, 8)), rng.standard_normal((4, 2, 8))
    outs = []
    for mod, lib in ((m, rg), (tm, torch)):
        args, kw = _transformer_args(name, lib, src, tgt, kpm)
        out = mod(*args, **kw)
        out.sin().sum().backward()
        outs.append((out, args))
    (o1, a1), (o2, a2) = outs
    assert_close(o1, o2.detach().numpy(), rtol=1e-10, atol=1e-10)
    for x, y in zip(a1, a2):
        assert_close(x.grad, y.grad.numpy(), rtol=1e-9, atol=1e-10)
    tparams = dict(tm.named_parameters())
    for n, p in m.named_parameters():
        assert_close(p.grad, tparams[n].grad.numpy(), rtol=1e-9, atol=1e-10)


def test_transformer_reprs_match_torch(torch):
    for name, make in TRANSFORMER_CASES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert repr(make(nn)) == repr(make(torch.nn)), name
    assert repr(nn.MultiheadAttention(8, 2, kdim=3)) == repr(torch.nn.MultiheadAttention(8, 2, kdim=3))
