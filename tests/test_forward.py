"""Forward values of every op against NumPy, dtype promotion, factories and
printing."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rustgrad as rg
from conftest import (
    FLOAT_DTYPES, N, T, assert_close, broadcast_pair, hsettings, rand_array,
    rand_int_array, seeds, shapes, VIEW_KINDS, view_of, MATMUL_SHAPES,
)

# ---------------------------------------------------------------------------
# element-wise binary ops, tensor (op) tensor with broadcasting
# ---------------------------------------------------------------------------

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a ** b, np.power),
    "add_method": (lambda a, b: a.add(b), np.add),
    "sub_method": (lambda a, b: a.sub(b), np.subtract),
    "mul_method": (lambda a, b: a.mul(b), np.multiply),
    "div_method": (lambda a, b: a.div(b), np.divide),
    "pow_method": (lambda a, b: a.pow(b), np.power),
    "torch.add": (lambda a, b: rg.add(a, b), np.add),
    "torch.pow": (lambda a, b: rg.pow(a, b), np.power),
}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", list(BINARY))
@hsettings(30)
@given(pair=broadcast_pair(), seed=seeds)
def test_binary_broadcast_matches_numpy(name, dtype, pair, seed):
    op, ref = BINARY[name]
    sa, sb = pair
    # positive bases for pow, denominators away from zero for div
    low = 0.2 if name.startswith(("pow", "torch.pow")) else -2.0
    a = rand_array(seed, sa, dtype, low=low, high=2.0)
    b = rand_array(seed + 7, sb, dtype, avoid=[0.0], margin=0.2)
    out = op(T(a), T(b))
    expected = ref(a, b)
    assert out.dtype == getattr(rg, dtype)
    assert tuple(out.shape) == expected.shape
    assert_close(out, expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("scalar", [2.5, -3, 0.5, 2])
@hsettings(20)
@given(shape=shapes(), seed=seeds)
def test_binary_with_python_number_both_sides(dtype, scalar, shape, seed):
    a = rand_array(seed, shape, dtype, avoid=[0.0], margin=0.2)
    pos = np.abs(a)
    x, p = T(a), T(pos)
    s_np = np.asarray(scalar, dtype=dtype)
    cases = [
        (x + scalar, a + s_np), (scalar + x, s_np + a),
        (x - scalar, a - s_np), (scalar - x, s_np - a),
        (x * scalar, a * s_np), (scalar * x, s_np * a),
        (x / scalar, a / s_np), (scalar / x, s_np / a),
        (p ** scalar, pos ** s_np), (abs(scalar) ** x, np.abs(s_np) ** a),
        (-x, -a),
    ]
    for got, want in cases:
        assert got.dtype == getattr(rg, dtype)
        assert_close(got, want.astype(dtype))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
@hsettings(25)
@given(pair=broadcast_pair(min_dims=1), seed=seeds, ka=st.sampled_from(VIEW_KINDS),
       kb=st.sampled_from(VIEW_KINDS), dtype=st.sampled_from(FLOAT_DTYPES))
def test_binary_noncontiguous_operands(name, pair, seed, ka, kb, dtype):
    op, ref = BINARY[name]
    x, a = view_of(seed, pair[0], dtype, ka, low=0.2, high=2.0)
    y, b = view_of(seed + 3, pair[1], dtype, kb, avoid=[0.0], margin=0.2)
    assert_close(op(x, y), ref(a, b))
    if name == "pow":
        assert_close(op(y.abs(), x), np.power(np.abs(b), a))
    else:
        assert_close(op(y, x), ref(b, a))


@pytest.mark.parametrize("name", ["sin", "exp", "sqrt", "sigmoid", "relu", "abs", "neg", "log"])
@hsettings(15)
@given(shape=shapes(min_dims=1), seed=seeds, kind=st.sampled_from(VIEW_KINDS),
       dtype=st.sampled_from(FLOAT_DTYPES))
def test_unary_noncontiguous(name, shape, seed, kind, dtype):
    op, ref, (lo, hi) = UNARY[name]
    x, a = view_of(seed, shape, dtype, kind, low=max(lo, 0.05) if name in ("sqrt", "log") else lo, high=hi)
    out = op(x)
    assert_close(out, ref(a.astype(np.float64)).astype(dtype), rtol=3e-6 if dtype == "float32" else 1e-13,
                 atol=3e-7 if dtype == "float32" else 1e-15)


@hsettings(25)
@given(shape=shapes(min_dims=2, max_dims=4), seed=seeds, kind=st.sampled_from(VIEW_KINDS),
       keepdim=st.booleans(), dim=st.integers(-2, 1))
def test_reductions_noncontiguous(shape, seed, kind, keepdim, dim):
    x, a = view_of(seed, shape, "float64", kind)
    assert_close(x.sum(), np.asarray(a.sum()))
    assert_close(x.sum(dim, keepdim=keepdim), a.sum(axis=dim, keepdims=keepdim))
    assert_close(x.mean(dim, keepdim=keepdim), a.mean(axis=dim, keepdims=keepdim))
    assert_close(x.norm(dim=dim, keepdim=keepdim), np.sqrt((a * a).sum(axis=dim, keepdims=keepdim)))
    assert_close(x.reshape(-1), a.reshape(-1))
    assert_close(x.clone(), a)
    assert_close(x.contiguous(), a)
    assert x.clone().is_contiguous()


@pytest.mark.parametrize("expr,want", [
    ("xf += 1", [[2, 3, 4], [5, 6, 7]]),
    ("xf -= rg.tensor([1.0, 2, 3])", [[0, 0, 0], [3, 3, 3]]),
    ("xf *= rg.tensor([[2.0], [3.0]])", [[2, 4, 6], [12, 15, 18]]),
    ("xf /= 2", [[0.5, 1, 1.5], [2, 2.5, 3]]),
    ("xf.add_(rg.ones(3), alpha=2)", [[3, 4, 5], [6, 7, 8]]),
    ("xf.sub_(1, alpha=2)", [[-1, 0, 1], [2, 3, 4]]),
    ("xf.mul_(rg.tensor(2.0))", [[2, 4, 6], [8, 10, 12]]),
    ("xf.div_(rg.tensor([2]))", [[0.5, 1, 1.5], [2, 2.5, 3]]),
    ("xf.fill_(rg.tensor(3.0))", [[3, 3, 3], [3, 3, 3]]),
    ("xf.zero_()", [[0, 0, 0], [0, 0, 0]]),
    ("xf.t().add_(1)", [[2, 3, 4], [5, 6, 7]]),
    ("xf[:, 1].mul_(10)", [[1, 20, 3], [4, 50, 6]]),
    ("xf += rg.ones(2, 3, dtype=rg.float64)", [[2, 3, 4], [5, 6, 7]]),
    ("xf += True", [[2, 3, 4], [5, 6, 7]]),
    ("xi += 1; xf = xi", [[2, 3, 4], [5, 6, 7]]),
    ("xi *= 2; xf = xi", [[2, 4, 6], [8, 10, 12]]),
    ("xi.fill_(2.7); xf = xi", [[2, 2, 2], [2, 2, 2]]),
])
def test_inplace_ops(expr, want):
    env = {"rg": rg, "xf": rg.tensor([[1.0, 2, 3], [4, 5, 6]]), "xi": rg.tensor([[1, 2, 3], [4, 5, 6]])}
    before = env["xf"]
    dtype = env["xf"].dtype if "xi" not in expr else rg.int64
    exec(expr, env)
    out = env["xf"]
    if "xi" not in expr:
        assert out is before, "in-place ops must keep the tensor object"
    assert out.dtype == dtype
    assert N(out).tolist() == want


@pytest.mark.parametrize("expr", ["xi += 1.5", "xi /= 2", "xi += rg.ones(2, 3)", "xf += rg.ones(3, 2, 3)",
                                  "b = rg.tensor([True]); b += 1"])
def test_inplace_ops_that_cannot_cast_or_broadcast(expr):
    env = {"rg": rg, "xf": rg.tensor([[1.0, 2, 3], [4, 5, 6]]), "xi": rg.tensor([[1, 2, 3], [4, 5, 6]])}
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type|doesn't match the broadcast shape"):
        exec(expr, env)
    assert N(env["xi"]).tolist() == [[1, 2, 3], [4, 5, 6]]
    assert N(env["xf"]).tolist() == [[1, 2, 3], [4, 5, 6]]


def test_inplace_methods_return_self():
    x = rg.ones(2)
    assert x.add_(1) is x and x.mul_(2) is x and x.sub_(1) is x and x.div_(3) is x
    assert x.zero_() is x and x.fill_(2) is x
    y = x
    x += 1
    assert y is x


def test_mixed_float_dtypes_promote_to_float64():
    a = rand_array(1, (2, 3), "float32")
    b = rand_array(2, (3,), "float64")
    for out in (T(a) + T(b), T(b) * T(a), T(a) / T(b), T(a) - T(b)):
        assert out.dtype == rg.float64
    np.testing.assert_allclose(N(T(a) * T(b)), a.astype(np.float64) * b, rtol=1e-12)


# ---------------------------------------------------------------------------
# dtype promotion
# ---------------------------------------------------------------------------

PROMOTION = [
    # (expression, expected dtype, expected values)
    (lambda: rg.tensor([1, 2, 3]) * 2.5, rg.float32, [2.5, 5.0, 7.5]),
    (lambda: 2.5 * rg.tensor([1, 2, 3]), rg.float32, [2.5, 5.0, 7.5]),
    (lambda: rg.tensor([1, 2, 3]) * 2, rg.int64, [2, 4, 6]),
    (lambda: rg.tensor([1, 2, 3]) + True, rg.int64, [2, 3, 4]),
    (lambda: rg.tensor([1, 2, 3]) / rg.tensor([2, 2, 2]), rg.float32, [0.5, 1.0, 1.5]),
    (lambda: rg.tensor([1, 2]) / 2, rg.float32, [0.5, 1.0]),
    (lambda: 3 / rg.tensor([1, 2]), rg.float32, [3.0, 1.5]),
    (lambda: rg.tensor([1, 2]) - 0.5, rg.float32, [0.5, 1.5]),
    (lambda: 0.5 - rg.tensor([1, 2]), rg.float32, [-0.5, -1.5]),
    (lambda: rg.tensor([1, 2, 3]) ** 2, rg.int64, [1, 4, 9]),
    (lambda: rg.tensor([2, 3]) ** rg.tensor([2, 3]), rg.int64, [4, 27]),
    (lambda: rg.tensor([1, 2]) ** 2.0, rg.float32, [1.0, 4.0]),
    (lambda: 2 ** rg.tensor([1, 2, 3]), rg.int64, [2, 4, 8]),
    (lambda: 2.0 ** rg.tensor([1, 2]), rg.float32, [2.0, 4.0]),
    (lambda: rg.tensor([1, 2]) * rg.tensor([1.0, 2.0]), rg.float32, [1.0, 4.0]),
    (lambda: rg.tensor([1.0, 2.0]) + rg.tensor(2, dtype=rg.int64), rg.float32, [3.0, 4.0]),
    # a 0-d float64 tensor does not promote a float32 tensor (category rule)
    (lambda: rg.tensor(3.5, dtype=rg.float64) * rg.tensor([1.0, 2.0]), rg.float32, [3.5, 7.0]),
    # ...but a 0-d tensor of a higher category (float over int) sets the dtype
    (lambda: rg.tensor(2.5, dtype=rg.float64) * rg.tensor([1, 2]), rg.float64, [2.5, 5.0]),
    (lambda: rg.tensor([1, 2]) * rg.tensor(2.5, dtype=rg.float64), rg.float64, [2.5, 5.0]),
    (lambda: rg.tensor([1, 2]) * rg.tensor(2.5), rg.float32, [2.5, 5.0]),
    (lambda: rg.tensor([True, False]) * rg.tensor(3), rg.int64, [3, 0]),
    (lambda: rg.tensor([1.0, 2.0], dtype=rg.float64) + rg.tensor(2.0), rg.float64, [3.0, 4.0]),
    (lambda: rg.tensor([1.0, 2.0]) + rg.tensor([2.0], dtype=rg.float64), rg.float64, [3.0, 4.0]),
    (lambda: rg.tensor([1.0, 2.0], dtype=rg.float64) * 2.5, rg.float64, [2.5, 5.0]),
    (lambda: rg.tensor([True, False]) + 1.5, rg.float32, [2.5, 1.5]),
    (lambda: rg.tensor([True, False]) * 2, rg.int64, [2, 0]),
    (lambda: rg.tensor([True, False]) + rg.tensor([True, True]), rg.bool, [True, True]),
    (lambda: rg.tensor([True, False]) * rg.tensor([True, True]), rg.bool, [True, False]),
    (lambda: rg.tensor([True, False]) / rg.tensor([True, True]), rg.float32, [1.0, 0.0]),
    (lambda: rg.tensor([1, 2, 3]).sum(), rg.int64, 6),
    (lambda: rg.tensor([True, True, False]).sum(), rg.int64, 2),
    (lambda: rg.tensor([[1, 2], [3, 4]]).sum(1), rg.int64, [3, 7]),
    (lambda: rg.tensor([1, 2]).sum(0, keepdim=True), rg.int64, [3]),
    (lambda: rg.ones(3).sum(dtype=rg.float64), rg.float64, 3.0),
    (lambda: rg.tensor([1, 2]).float().mean(), rg.float32, 1.5),
    (lambda: rg.tensor([1, 2]).sin(), rg.float32, np.sin([1.0, 2.0]).astype(np.float32)),
    (lambda: rg.tensor([1, 4]).sqrt(), rg.float32, [1.0, 2.0]),
    (lambda: rg.tensor([1, -2]).abs(), rg.int64, [1, 2]),
    (lambda: rg.tensor([1, -2]).relu(), rg.int64, [1, 0]),
    (lambda: rg.tensor([1, -2]).reciprocal(), rg.float32, [1.0, -0.5]),
    (lambda: rg.tensor([0, 0]).sigmoid(), rg.float32, [0.5, 0.5]),
    (lambda: -rg.tensor([1, -2]), rg.int64, [-1, 2]),
    (lambda: rg.tensor([1, 2]) < 1.5, rg.bool, [True, False]),
    (lambda: rg.tensor([1, 2]) == 1.0, rg.bool, [True, False]),
    (lambda: rg.tensor([1, 2]) < rg.tensor([1.5]), rg.bool, [True, False]),
    (lambda: rg.tensor([1.5, 0.0]).bool(), rg.bool, [True, False]),
    (lambda: rg.tensor([1.7, -2.7]).long(), rg.int64, [1, -2]),
    (lambda: rg.tensor([1.7, -2.7]).to(rg.int64), rg.int64, [1, -2]),
    (lambda: rg.tensor([1, 2]).double(), rg.float64, [1.0, 2.0]),
    (lambda: rg.tensor([1, 2]).to(dtype=rg.float32), rg.float32, [1.0, 2.0]),
    (lambda: rg.tensor([True, False]).float(), rg.float32, [1.0, 0.0]),
    (lambda: rg.tensor([1, 2, 3]).masked_fill(rg.tensor([True, False, True]), 2.5), rg.int64, [2, 2, 2]),
    (lambda: rg.tensor([1.0, 2, 3]).masked_fill(rg.tensor([True, False, True]), 2.5), rg.float32, [2.5, 2.0, 2.5]),
]


@pytest.mark.parametrize("case", range(len(PROMOTION)))
def test_dtype_promotion(case):
    expr, dtype, values = PROMOTION[case]
    out = expr()
    assert out.dtype == dtype
    np.testing.assert_allclose(N(out).astype(np.float64), np.asarray(values, dtype=np.float64), rtol=1e-6)


@pytest.mark.parametrize("case", range(len(PROMOTION)))
def test_dtype_promotion_matches_torch(torch, case):
    expr = PROMOTION[case][0]
    out_rg = expr()
    # Evaluate the same expression with torch by swapping the module global.
    g = expr.__globals__
    saved = g["rg"]
    g["rg"] = torch
    try:
        out_t = expr()
    finally:
        g["rg"] = saved
    assert str(out_rg.dtype) == str(out_t.dtype)
    np.testing.assert_array_equal(N(out_rg), out_t.numpy())


def test_int_pow_negative_int_exponent_raises():
    # PyTorch refuses integer tensors to negative integer powers.
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        rg.tensor([1, 2, 3]) ** -1


# ---------------------------------------------------------------------------
# unary element-wise ops
# ---------------------------------------------------------------------------

def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


UNARY = {
    # name: (rustgrad op, numpy reference, (low, high) input range)
    "neg": (lambda x: -x, np.negative, (-3, 3)),
    "neg_method": (lambda x: x.neg(), np.negative, (-3, 3)),
    "sin": (lambda x: x.sin(), np.sin, (-4, 4)),
    "cos": (lambda x: x.cos(), np.cos, (-4, 4)),
    "exp": (lambda x: x.exp(), np.exp, (-4, 4)),
    "log": (lambda x: x.log(), np.log, (0.05, 5)),
    "log1p": (lambda x: x.log1p(), np.log1p, (-0.9, 5)),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, (0.0, 5)),
    "tanh": (lambda x: x.tanh(), np.tanh, (-4, 4)),
    "sigmoid": (lambda x: x.sigmoid(), _np_sigmoid, (-6, 6)),
    "relu": (lambda x: x.relu(), lambda a: np.maximum(a, 0), (-3, 3)),
    "abs": (lambda x: x.abs(), np.abs, (-3, 3)),
    "builtin_abs": (lambda x: abs(x), np.abs, (-3, 3)),
    "reciprocal": (lambda x: x.reciprocal(), np.reciprocal, (0.2, 3)),
    "sign": (lambda x: x.sign(), np.sign, (-3, 3)),
    "torch.sin": (lambda x: rg.sin(x), np.sin, (-4, 4)),
    "torch.exp": (lambda x: rg.exp(x), np.exp, (-4, 4)),
    "nn.functional.relu": (lambda x: rg.nn.functional.relu(x), lambda a: np.maximum(a, 0), (-3, 3)),
    "nn.functional.sigmoid": (lambda x: rg.nn.functional.sigmoid(x), _np_sigmoid, (-6, 6)),
}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", list(UNARY))
@hsettings(25)
@given(shape=shapes(), seed=seeds)
def test_unary_matches_numpy(name, dtype, shape, seed):
    op, ref, (lo, hi) = UNARY[name]
    a = rand_array(seed, shape, dtype, low=lo, high=hi)
    out = op(T(a))
    assert out.dtype == getattr(rg, dtype)
    expected = ref(a.astype(np.float64)).astype(dtype)
    if dtype == "float32":
        assert_close(out, expected, rtol=3e-6, atol=3e-7)
    else:
        assert_close(out, expected, rtol=1e-13, atol=1e-15)


def test_unary_special_values():
    x = rg.tensor([0.0, -0.0, float("inf"), -float("inf")])
    assert N(x.exp()).tolist() == [1.0, 1.0, float("inf"), 0.0]
    assert N(x.sigmoid()).tolist() == [0.5, 0.5, 1.0, 0.0]
    assert N(x.tanh()).tolist() == [0.0, -0.0, 1.0, -1.0]
    assert N(rg.tensor([0.0, 1.0]).log()).tolist() == [-float("inf"), 0.0]
    assert math.isnan(rg.tensor([-1.0]).sqrt().item())
    # sigmoid must not overflow for large negative inputs
    np.testing.assert_allclose(N(rg.tensor([-100.0, 100.0], dtype=rg.float64).sigmoid()),
                               [_np_sigmoid(-100.0), 1.0], rtol=1e-12)
    assert N(rg.tensor([-0.0, 0.0, 2.0]).relu()).tolist() == [0.0, 0.0, 2.0]


# ---------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------



@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_all_ranks(sa, sb, dtype):
    a = rand_array(11, sa, dtype)
    b = rand_array(12, sb, dtype)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    for out in (T(a) @ T(b), T(a).matmul(T(b)), rg.matmul(T(a), T(b))):
        assert out.dtype == getattr(rg, dtype)
        assert tuple(out.shape) == expected.shape
        assert_close(out, expected, rtol=1e-5 if dtype == "float32" else 1e-12,
                     atol=1e-5 if dtype == "float32" else 1e-12)


@hsettings(40)
@given(
    batch=broadcast_pair(max_dims=2, max_side=3),
    n=st.integers(1, 5), k=st.integers(1, 5), m=st.integers(1, 5),
    seed=seeds, dtype=st.sampled_from(FLOAT_DTYPES),
)
def test_matmul_batched_broadcasting_random(batch, n, k, m, seed, dtype):
    sa, sb = batch
    a = rand_array(seed, sa + (n, k), dtype)
    b = rand_array(seed + 1, sb + (k, m), dtype)
    out = T(a) @ T(b)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert_close(out, expected, rtol=1e-5 if dtype == "float32" else 1e-12,
                 atol=1e-5 if dtype == "float32" else 1e-12)


def test_matmul_noncontiguous_operands():
    a = rand_array(3, (4, 3), "float64")
    b = rand_array(4, (5, 4), "float64")
    out = T(a).t() @ T(b).t()           # (3,4) @ (4,5), both transposed views
    np.testing.assert_allclose(N(out), a.T @ b.T, rtol=1e-12)
    c = rand_array(5, (2, 6, 3), "float64")
    out = T(c)[:, ::2, :] @ T(a).t()
    np.testing.assert_allclose(N(out), c[:, ::2, :] @ a.T, rtol=1e-12)


def test_matmul_integer():
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    b = np.arange(12, dtype=np.int64).reshape(3, 4)
    out = T(a) @ T(b)
    assert out.dtype == rg.int64
    assert N(out).tolist() == (a @ b).tolist()


def test_mm_method():
    a, b = rand_array(1, (2, 3)), rand_array(2, (3, 2))
    np.testing.assert_allclose(N(T(a).mm(T(b))), a @ b, rtol=1e-12)


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

@st.composite
def shape_and_dims(draw, min_dims=1, max_dims=4):
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims))
    nd = len(shape)
    dims = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
    # randomly use negative spellings
    dims = [d - nd if draw(st.booleans()) else d for d in dims]
    as_int = len(dims) == 1 and draw(st.booleans())
    return shape, (dims[0] if as_int else tuple(dims))


def _np_dims(dims, nd):
    dims = (dims,) if isinstance(dims, int) else dims
    return tuple(d % nd for d in dims)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@hsettings(40)
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=seeds)
def test_sum_mean_dims(dtype, sd, keepdim, seed):
    shape, dims = sd
    a = rand_array(seed, shape, dtype)
    nd_dims = _np_dims(dims, len(shape))
    a64 = a.astype(np.float64)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for got, want in (
        (T(a).sum(dims, keepdim=keepdim), a64.sum(axis=nd_dims, keepdims=keepdim)),
        (T(a).sum(dim=dims, keepdim=keepdim), a64.sum(axis=nd_dims, keepdims=keepdim)),
        (T(a).mean(dims, keepdim), a64.mean(axis=nd_dims, keepdims=keepdim)),
        (rg.sum(T(a), dims, keepdim=keepdim), a64.sum(axis=nd_dims, keepdims=keepdim)),
    ):
        assert got.dtype == getattr(rg, dtype)
        assert_close(got, want, **tol)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@hsettings(30)
@given(shape=shapes(), seed=seeds)
def test_sum_mean_all(dtype, shape, seed):
    a = rand_array(seed, shape, dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    s, m = T(a).sum(), T(a).mean()
    assert s.shape == () and m.shape == ()
    assert_close(s, np.asarray(a.astype(np.float64).sum()), **tol)
    assert_close(m, np.asarray(a.astype(np.float64).mean()), **tol)


def test_sum_large_float32_is_accurate():
    # naive sequential float32 accumulation of 1e6 values of 0.1 is far off
    x = rg.full((1_000_000,), 0.1)
    assert x.sum().item() == pytest.approx(100000.0, rel=1e-5)
    assert x.mean().item() == pytest.approx(0.1, rel=1e-5)


def test_sum_int_dims():
    a = rand_int_array(0, (2, 3, 4))
    out = T(a).sum((0, 2))
    assert out.dtype == rg.int64
    assert N(out).tolist() == a.sum(axis=(0, 2)).tolist()


def test_empty_reductions():
    assert N(rg.zeros(0, 3).sum(0)).tolist() == [0.0, 0.0, 0.0]
    s = rg.zeros(0).sum()
    assert s.item() == 0.0
    assert math.copysign(1.0, s.item()) == 1.0, "sum of an empty tensor must be +0.0, not -0.0"
    assert math.isnan(rg.zeros(0).mean().item())
    n = rg.zeros(0).norm()
    assert math.copysign(1.0, n.item()) == 1.0, "norm of an empty tensor must be +0.0"


def test_sum_empty_dim_tuple_reduces_everything():
    # PyTorch: sum(dim=()) / sum(dim=[]) reduce over all dims
    a = rg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert a.sum(()).item() == 10.0
    assert a.sum([]).item() == 10.0
    assert a.mean(()).item() == 2.5


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("p", [1, 2, 3, 1.5])
@hsettings(25)
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=seeds, use_dim=st.booleans())
def test_norm(dtype, p, sd, keepdim, seed, use_dim):
    shape, dims = sd
    a = rand_array(seed, shape, dtype)
    a64 = a.astype(np.float64)
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    if use_dim:
        nd_dims = _np_dims(dims, len(shape))
        want = (np.abs(a64) ** p).sum(axis=nd_dims, keepdims=keepdim) ** (1.0 / p)
        got = T(a).norm(p, dims, keepdim)
        got_kw = T(a).norm(p=p, dim=dims, keepdim=keepdim)
        assert_close(got_kw, want, **tol)
    else:
        want = np.asarray((np.abs(a64) ** p).sum() ** (1.0 / p))
        got = T(a).norm(p)
    assert got.dtype == getattr(rg, dtype)
    assert_close(got, want, **tol)


def test_norm_defaults():
    x = rg.tensor([[3.0, 4.0], [1.0, 2.0]])
    assert x.norm().item() == pytest.approx(math.sqrt(30), rel=1e-6)
    assert x.norm(p="fro").item() == pytest.approx(math.sqrt(30), rel=1e-6)
    assert rg.norm(x).item() == pytest.approx(math.sqrt(30), rel=1e-6)
    assert N(x.norm(p=1, dim=0, keepdim=True)).tolist() == [[4.0, 6.0]]
    assert rg.tensor([0.0, 0.0]).norm().item() == 0.0


# ---------------------------------------------------------------------------
# shape ops and indexing
# ---------------------------------------------------------------------------

def test_views_match_numpy():
    a = rand_array(0, (2, 3, 4))
    x = T(a)
    checks = [
        (x.transpose(0, 2), a.transpose(2, 1, 0)),
        (x.transpose(-1, 1), a.transpose(0, 2, 1)),
        (x[0].t(), a[0].T),
        (x.reshape(4, 6), a.reshape(4, 6)),
        (x.reshape((-1, 2)), a.reshape(-1, 2)),
        (x.reshape(24), a.reshape(24)),
        (x.view(6, 4), a.reshape(6, 4)),
        (x.view(-1), a.reshape(-1)),
        (x.flatten(), a.reshape(-1)),
        (x.unsqueeze(0), a[None]),
        (x.unsqueeze(-1), a[..., None]),
        (x.unsqueeze(1), a[:, None]),
        (x[:, :1].squeeze(), a[:, 0]),
        (x[:, :1].squeeze(1), a[:, 0]),
        (x[:, :1].squeeze(0), a[:, :1]),
        (x[:1].expand(5, 3, 4), np.broadcast_to(a[:1], (5, 3, 4))),
        (x[:1].expand(2, -1, -1, -1), np.broadcast_to(a[:1], (2, 1, 3, 4))),
        (x[:, :, :1].expand_as(x), np.broadcast_to(a[:, :, :1], (2, 3, 4))),
        (x.transpose(0, 1).reshape(6, 4), a.transpose(1, 0, 2).reshape(6, 4)),
        (x.transpose(0, 1).contiguous(), a.transpose(1, 0, 2)),
        (x.clone(), a),
        (x.T, a.transpose(2, 1, 0)),
        (x.mT, a.transpose(0, 2, 1)),
        (rg.t(x[0]), a[0].T),
        (rg.reshape(x, (3, 8)), a.reshape(3, 8)),
        (rg.squeeze(x[None]), a),
        (rg.unsqueeze(x, 0), a[None]),
    ]
    for got, want in checks:
        assert tuple(got.shape) == want.shape
        np.testing.assert_array_equal(N(got), want)


def test_views_share_storage():
    x = rg.zeros(2, 3)
    v = x.view(3, 2)
    t = x.t()
    e = x[:1].expand(4, 3)
    s = x[1, 1:]
    x.add_(1.0)
    for y in (v, t, e, s):
        assert N(y).min() == 1.0
    s.fill_(5.0)
    assert N(x).tolist() == [[1.0, 1.0, 1.0], [1.0, 5.0, 5.0]]
    assert not t.is_contiguous() and x.is_contiguous()
    assert t.contiguous().is_contiguous()
    # clone and contiguous() of a non-contiguous tensor are copies
    c = x.clone()
    x.zero_()
    assert N(c).sum() == 14.0


INDEXES = [
    1, -1, (0, 1), (1, -1, 2), slice(1, 3), slice(None, None, 2), slice(-2, None),
    (slice(None), 1), (slice(None), slice(1, 3)), (Ellipsis, 0), (0, Ellipsis),
    None, (None, 0), (slice(None), None), (Ellipsis, None), (0, slice(None), None, 1),
    (slice(None), slice(5, 9)), (slice(3, 1),), (1, slice(None, None, 3), -2),
    (), Ellipsis, (slice(None, -1), Ellipsis, slice(1, None)),
]


@pytest.mark.parametrize("index", INDEXES, ids=[repr(i) for i in INDEXES])
def test_basic_indexing_matches_numpy(index):
    a = rand_array(5, (3, 4, 5))
    got = T(a)[index]
    want = a[index]
    assert tuple(got.shape) == np.shape(want)
    np.testing.assert_array_equal(N(got), want)


def test_index_with_zero_d_int_tensor():
    a = rand_array(5, (3, 4))
    np.testing.assert_array_equal(N(T(a)[rg.tensor(2)]), a[2])


def test_setitem():
    x = rg.zeros(3, 4)
    x[1] = 2.0
    x[:, 0] = rg.tensor([7.0, 8.0, 9.0])
    x[2, 1:3] = 5
    want = np.zeros((3, 4), np.float32)
    want[1] = 2.0
    want[:, 0] = [7.0, 8.0, 9.0]
    want[2, 1:3] = 5
    np.testing.assert_array_equal(N(x), want)


def test_masked_fill_broadcast():
    a = rand_array(1, (3, 4))
    mask = np.random.default_rng(0).random((1, 4)) > 0.5
    got = T(a).masked_fill(T(mask), -7.5)
    np.testing.assert_array_equal(N(got), np.where(mask, -7.5, a))
    got = rg.masked_fill(T(a), T(a) > 0, 0.0)
    np.testing.assert_array_equal(N(got), np.where(a > 0, 0.0, a))


def test_masked_fill_mask_larger_than_input():
    # out-of-place masked_fill broadcasts the input against the mask (PyTorch)
    a = rand_array(2, (3,))
    mask = np.array([[True, False, False], [False, False, True]])
    got = T(a).masked_fill(T(mask), 0.0)
    assert tuple(got.shape) == (2, 3)
    np.testing.assert_array_equal(N(got), np.where(mask, 0.0, np.broadcast_to(a, (2, 3))))


# ---------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------

COMPARE = {
    "<": (lambda a, b: a < b, np.less), "<=": (lambda a, b: a <= b, np.less_equal),
    ">": (lambda a, b: a > b, np.greater), ">=": (lambda a, b: a >= b, np.greater_equal),
    "==": (lambda a, b: a == b, np.equal), "!=": (lambda a, b: a != b, np.not_equal),
    "lt": (lambda a, b: a.lt(b), np.less), "ge": (lambda a, b: a.ge(b), np.greater_equal),
    "eq": (lambda a, b: a.eq(b), np.equal), "ne": (lambda a, b: rg.ne(a, b), np.not_equal),
}


@pytest.mark.parametrize("name", list(COMPARE))
@hsettings(20)
@given(pair=broadcast_pair(), seed=seeds, dtype=st.sampled_from(["float32", "float64", "int64"]))
def test_comparisons(name, pair, seed, dtype):
    op, ref = COMPARE[name]
    sa, sb = pair
    # small integers so that equality happens often
    a = rand_int_array(seed, sa, -2, 3).astype(dtype)
    b = rand_int_array(seed + 1, sb, -2, 3).astype(dtype)
    out = op(T(a), T(b))
    assert out.dtype == rg.bool
    np.testing.assert_array_equal(N(out), ref(a, b))
    out = op(T(a), 1)
    assert out.dtype == rg.bool
    np.testing.assert_array_equal(N(out), ref(a, 1))
    out = op(T(a), 0.5)
    np.testing.assert_array_equal(N(out), ref(a, 0.5))


def test_reflected_comparisons():
    x = rg.tensor([1.0, 2.0, 3.0])
    assert N(2 < x).tolist() == [False, False, True]
    assert N(2 >= x).tolist() == [True, True, False]
    assert N(2.0 == x).tolist() == [False, True, False]


# ---------------------------------------------------------------------------
# conversions
# ---------------------------------------------------------------------------

def test_item_tolist_float_int():
    assert rg.tensor(2.5).item() == 2.5 and isinstance(rg.tensor(2.5).item(), float)
    assert rg.tensor(2).item() == 2 and isinstance(rg.tensor(2).item(), int)
    assert rg.tensor(True).item() is True
    assert rg.tensor([[3.0]]).item() == 3.0
    assert rg.tensor([1.5, 2.7]).tolist() == [1.5, float(np.float32(2.7))]
    assert rg.tensor([[1, 2]]).tolist() == [[1, 2]]
    assert rg.tensor([[True]]).tolist() == [[True]]
    assert rg.tensor(1.5).tolist() == 1.5
    assert rg.zeros(2, 0).tolist() == [[], []]
    assert float(rg.tensor([2.5])) == 2.5
    assert int(rg.tensor([[-2.5]])) == -2
    assert rg.tensor([[1.0, 2.0], [3.0, 4.0]]).t().tolist() == [[1.0, 3.0], [2.0, 4.0]]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_numpy_roundtrip_and_zero_copy(dtype):
    a = (rand_array(0, (3, 4)) * 3).astype(dtype)
    x = rg.tensor(a)
    assert x.dtype == getattr(rg, dtype)
    n = x.numpy()
    assert n.dtype == a.dtype
    np.testing.assert_array_equal(n, a)
    # zero-copy: writes through the array are visible in the tensor and back
    if dtype != "bool":
        n[0, 0] = 42
        assert x[0, 0].item() == 42
        x.fill_(3)
        assert (n == 3).all()
    # tensor(ndarray) copies
    a2 = a.copy()
    y = rg.tensor(a2)
    a2[...] = 0
    np.testing.assert_array_equal(N(y), a)


def test_numpy_of_noncontiguous_view():
    a = rand_array(0, (3, 4))
    x = T(a)
    n = x.t().numpy()
    np.testing.assert_array_equal(n, a.T)
    n2 = x[:, 1::2].numpy()
    np.testing.assert_array_equal(n2, a[:, 1::2])
    n2[0, 0] = 100.0
    assert x[0, 1].item() == 100.0
    np.testing.assert_array_equal(np.asarray(x.t()), N(x).T)


def test_tensor_from_data_dtypes():
    assert rg.tensor([1, 2.5]).dtype == rg.float32
    assert rg.tensor([True, 2]).dtype == rg.int64
    assert rg.tensor([]).dtype == rg.float32
    assert rg.tensor(3).dtype == rg.int64
    assert rg.tensor(True).dtype == rg.bool
    assert rg.tensor(np.array([1, 2], dtype=np.int32)).dtype == rg.int32
    assert rg.tensor(np.array([1, 2], dtype=np.uint16)).dtype == rg.int64
    assert rg.tensor([[1, 2], [3, 4]], dtype=rg.float64).dtype == rg.float64
    assert rg.tensor([1.7], dtype=rg.int64).tolist() == [1]
    assert rg.tensor(rg.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert rg.tensor([rg.tensor(1.0), rg.tensor(2.0)]).tolist() == [1.0, 2.0]
    assert rg.Tensor([1, 2]).dtype == rg.float32
    assert tuple(rg.Tensor(2, 3).shape) == (2, 3)


def test_tensor_from_numpy_scalars():
    # PyTorch accepts NumPy scalars like Python numbers.
    assert rg.tensor(np.float64(2.5)).item() == 2.5
    x = rg.tensor(np.float32(2.5))
    assert x.item() == 2.5 and x.dtype == rg.float32
    y = rg.tensor(np.int64(2))
    assert y.item() == 2 and y.dtype == rg.int64
    assert rg.tensor([np.float32(1.5), np.float32(2.5)]).tolist() == [1.5, 2.5]


def test_numpy_scalars_as_operands():
    x = rg.tensor([1.0, 2.0])
    assert N(x * np.float64(2.0)).tolist() == [2.0, 4.0]
    assert N(x + np.float32(1.0)).tolist() == [2.0, 3.0]


# ---------------------------------------------------------------------------
# factories
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("factory,value", [(rg.zeros, 0), (rg.ones, 1), (rg.empty, None)])
@pytest.mark.parametrize("spelling", ["args", "tuple", "list"])
def test_filled_factories(factory, value, spelling):
    shape = (2, 3, 1)
    x = {"args": lambda: factory(*shape), "tuple": lambda: factory(shape),
         "list": lambda: factory(list(shape))}[spelling]()
    assert tuple(x.shape) == shape and x.dtype == rg.float32
    assert x.device == rg.device("cpu") and not x.requires_grad and x.is_leaf
    if value is not None:
        assert (N(x) == value).all()
    for dt in (rg.float64, rg.int64, rg.bool):
        y = factory(shape, dtype=dt)
        assert y.dtype == dt and tuple(y.shape) == shape
    z = factory((), requires_grad=True)
    assert z.shape == () and z.requires_grad and z.is_leaf and z.grad_fn is None
    assert tuple(factory(0, 3).shape) == (0, 3)


def test_full_and_like_factories():
    x = rg.full((2, 2), 3)
    assert x.dtype == rg.int64 and N(x).tolist() == [[3, 3], [3, 3]]
    x = rg.full((2,), 1.5)
    assert x.dtype == rg.float32 and N(x).tolist() == [1.5, 1.5]
    x = rg.full((2,), True)
    assert x.dtype == rg.bool
    x = rg.full((), 7)
    assert x.shape == () and x.item() == 7
    x = rg.full([1, 2], -1.5, dtype=rg.float64)
    assert x.dtype == rg.float64 and N(x).tolist() == [[-1.5, -1.5]]
    base = rg.ones(2, 3, dtype=rg.int64)
    assert rg.zeros_like(base).dtype == rg.int64 and N(rg.zeros_like(base)).sum() == 0
    assert rg.ones_like(base, dtype=rg.float32).dtype == rg.float32
    assert N(rg.full_like(base, 3.7)).tolist() == [[3, 3, 3]] * 2
    assert N(rg.full_like(rg.ones(2), 3)).tolist() == [3.0, 3.0]
    assert rg.randn_like(base.double()).dtype == rg.float64
    assert tuple(rg.rand_like(base.float()).shape) == (2, 3)
    assert rg.zeros_like(rg.ones(2), requires_grad=True).requires_grad


def test_eye():
    np.testing.assert_array_equal(N(rg.eye(3)), np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal(N(rg.eye(2, 4)), np.eye(2, 4, dtype=np.float32))
    np.testing.assert_array_equal(N(rg.eye(4, 2)), np.eye(4, 2, dtype=np.float32))
    assert rg.eye(3, dtype=rg.int64).dtype == rg.int64
    assert rg.eye(3, dtype=rg.float64).dtype == rg.float64
    assert tuple(rg.eye(0).shape) == (0, 0)
    assert tuple(rg.eye(2, 0).shape) == (2, 0)


@pytest.mark.parametrize("args,kwargs,dtype", [
    ((5,), {}, rg.int64), ((5.0,), {}, rg.float32), ((1, 4), {}, rg.int64),
    ((-1, 1, 0.3), {}, rg.float32), ((3,), {"dtype": rg.float64}, rg.float64),
    ((10, 0, -3), {}, rg.int64), ((0.1, 1.0, 0.1), {}, rg.float32),
    ((0, 1.0000001, 0.1), {}, rg.float32), ((2, 2), {}, rg.int64),
    ((1, 2.5, 0.5), {"dtype": rg.float64}, rg.float64),
])
def test_arange(args, kwargs, dtype):
    x = rg.arange(*args, **kwargs)
    assert x.dtype == dtype
    start, end, step = (0, args[0], 1) if len(args) == 1 else (args + (1,))[:3]
    n = max(0, math.ceil((end - start) / step))
    assert tuple(x.shape) == (n,)
    want = start + step * np.arange(n, dtype=np.float64)
    np.testing.assert_allclose(N(x).astype(np.float64), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("start,end,steps", [
    (0, 1, 5), (-2.0, 3.0, 11), (1, 0, 5), (0, 1, 2), (0, 1, 1), (0, 1, 0),
    (-math.pi, math.pi, 7), (-math.pi, math.pi, 2000), (3, 3, 4), (-1e3, 1e3, 101),
])
@pytest.mark.parametrize("dtype", [None, rg.float64])
def test_linspace(start, end, steps, dtype):
    x = rg.linspace(start, end, steps) if dtype is None else rg.linspace(start, end, steps, dtype=dtype)
    assert x.dtype == (dtype or rg.float32)
    want = np.linspace(start, end, steps)
    assert tuple(x.shape) == want.shape
    tol = 1e-6 * max(1.0, abs(start), abs(end)) if dtype is None else 1e-13 * max(1.0, abs(start), abs(end))
    np.testing.assert_allclose(N(x).astype(np.float64), want, rtol=0, atol=tol)
    if steps >= 1:
        assert x[0].item() == pytest.approx(start, abs=tol), "linspace must start at `start`"
        assert x[-1].item() == pytest.approx(end if steps > 1 else start, abs=tol)


def test_linspace_int_dtype():
    assert N(rg.linspace(0, 10, 5, dtype=rg.int64)).tolist() == [0, 2, 5, 7, 10]


@pytest.mark.parametrize("start,end,steps", [
    (0, 1, 5), (-2.0, 3.0, 11), (0, 1, 1), (-math.pi, math.pi, 7), (-math.pi, math.pi, 2000),
    (-3.14159, 3.14159, 7), (0.1, 0.7, 13), (-1e3, 1e3, 101),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace_bitwise_matches_torch(torch, start, end, steps, dtype):
    ours = N(rg.linspace(start, end, steps, dtype=getattr(rg, dtype)))
    theirs = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("args", [(5,), (5.0,), (1, 4), (-1, 1, 0.3), (0.1, 1.0, 0.1), (10, 0, -3)])
def test_arange_matches_torch(torch, args):
    ours, theirs = rg.arange(*args), torch.arange(*args)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_array_equal(N(ours), theirs.numpy())


def test_eye_full_matches_torch(torch):
    for a, b in ((rg.eye(3, 5), torch.eye(3, 5)), (rg.full((2, 3), 7), torch.full((2, 3), 7)),
                 (rg.full((2,), 2.5), torch.full((2,), 2.5))):
        assert str(a.dtype) == str(b.dtype)
        np.testing.assert_array_equal(N(a), b.numpy())


def test_random_factories():
    rg.manual_seed(0)
    a = rg.randn(2000)
    rg.manual_seed(0)
    b = rg.randn(2000)
    np.testing.assert_array_equal(N(a), N(b))  # reproducible
    c = rg.randn(2000)
    assert not np.array_equal(N(a), N(c))
    v = N(a).astype(np.float64)
    assert abs(v.mean()) < 0.1 and abs(v.std() - 1.0) < 0.1
    u = N(rg.rand(5000, dtype=rg.float64))
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.03
    r = N(rg.randint(3, 7, (1000,)))
    assert r.dtype == np.int64 and r.min() == 3 and r.max() == 6
    r = rg.randint(5, (2, 2))
    assert r.dtype == rg.int64 and tuple(r.shape) == (2, 2)
    assert rg.randn((), requires_grad=True).shape == ()
    assert rg.randn(2, 3, dtype=rg.float64).dtype == rg.float64
    assert rg.initial_seed() == 0


# ---------------------------------------------------------------------------
# printing
# ---------------------------------------------------------------------------

def _repr_cases(m):
    """The same tensors built with rustgrad or torch (module ``m``)."""
    x = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    return [
        m.tensor([1.0, 2.0, 3.0]),
        m.tensor([1.5, -2.25]),
        m.tensor([[1, 2], [3, 40]]),
        m.tensor([True, False]),
        m.tensor(3.0),
        m.tensor(2, dtype=m.int64),
        m.tensor([0.001, 1000.0]),
        m.tensor([1e-5, 1.0]),
        m.tensor([1.0, 2.0], dtype=m.float64),
        m.zeros(0, 3),
        m.zeros(2, 0, dtype=m.int64),
        x,
        x * 2,
        (x * x).sum(),
        x.mean(),
        x.t(),
        x.norm(),
        m.arange(2000).reshape(2, 1000),
        m.ones(3, 4, 5) * 0.5,
        m.linspace(0.0, 1.0, 1001),
        m.tensor([float("nan"), float("inf"), -float("inf"), 1.5]),
        -m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True),
    ]


EXPECTED_REPRS = [
    "tensor([1., 2., 3.])",
    "tensor([ 1.5000, -2.2500])",
    "tensor([[ 1,  2],\n        [ 3, 40]])",
    "tensor([ True, False])",
    "tensor(3.)",
    "tensor(2)",
    "tensor([1.0000e-03, 1.0000e+03])",
    "tensor([1.0000e-05, 1.0000e+00])",
    "tensor([1., 2.], dtype=torch.float64)",
    "tensor([], size=(0, 3))",
    "tensor([], size=(2, 0), dtype=torch.int64)",
    "tensor([[1., 2.],\n        [3., 4.]], requires_grad=True)",
    "tensor([[2., 4.],\n        [6., 8.]], grad_fn=<MulBackward0>)",
    "tensor(30., grad_fn=<SumBackward0>)",
    "tensor(2.5000, grad_fn=<MeanBackward0>)",
    "tensor([[1., 3.],\n        [2., 4.]], grad_fn=<TBackward0>)",
    "tensor(5.4772, grad_fn=<LinalgVectorNormBackward0>)",
]


@pytest.mark.parametrize("i", range(len(EXPECTED_REPRS)))
def test_repr_fixed(i):
    t = _repr_cases(rg)[i]
    assert repr(t) == EXPECTED_REPRS[i]
    assert str(t) == EXPECTED_REPRS[i]


def test_repr_summarized_large_tensor():
    r = repr(rg.arange(2000).reshape(2, 1000))
    assert r == ("tensor([[   0,    1,    2,  ...,  997,  998,  999],\n"
                 "        [1000, 1001, 1002,  ..., 1997, 1998, 1999]])")


@pytest.mark.parametrize("i", range(22))
def test_repr_matches_torch(torch, i):
    ours = _repr_cases(rg)[i]
    theirs = _repr_cases(torch)[i]
    assert repr(ours) == repr(theirs)


def test_format_scalar():
    assert f"{rg.tensor(2.5):.2f}" == "2.50"
    assert f"{rg.tensor(3)}" == "3"            # 0-d: formats the item, like PyTorch
    assert f"{rg.ones(2)}" == "tensor([1., 1.])"


def test_size_and_metadata():
    x = rg.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and repr(x.shape) == "torch.Size([2, 3, 4])"
    assert isinstance(x.shape, rg.Size) and isinstance(x.shape[1:], rg.Size)
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.dim() == 3 and x.ndim == 3 and x.numel() == 24 and len(x) == 2
    assert x.stride() == (12, 4, 1)
    assert x.transpose(0, 2).stride() == (1, 4, 12)
    assert x.element_size() == 4 and rg.zeros(1, dtype=rg.float64).element_size() == 8
    assert x.is_floating_point() and not rg.zeros(1, dtype=rg.int64).is_floating_point()
    assert rg.zeros(()).shape == () and repr(rg.zeros(()).shape) == "torch.Size([])"
    assert x.shape.numel() == 24
    assert repr(rg.float32) == "torch.float32" and rg.float is rg.float32 and rg.double is rg.float64
    assert rg.long is rg.int64
    assert rg.float32.is_floating_point and not rg.int64.is_floating_point
    assert rg.get_default_dtype() == rg.float32
    assert str(x.device) == "cpu" and repr(x.device) == "device(type='cpu')"
    assert x.device.type == "cpu" and not x.is_cuda
    assert rg.is_tensor(x) and not rg.is_tensor(1.0)
