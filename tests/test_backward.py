"""Every backward rule against float64 central finite differences (through
rustgrad's own float64 forward), over random broadcasting shapes; and, with
PyTorch installed, against torch's gradients on the same inputs."""

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rustgrad as rg
from conftest import (
    N, T, VIEW_KINDS, analytic_grads, broadcast_pair, broadcast_triple, check_grads, hsettings,
    rand_array, seeds, shapes, MATMUL_SHAPES,
)

F = rg.nn.functional

# ---------------------------------------------------------------------------
# element-wise binary ops with broadcasting
# ---------------------------------------------------------------------------

BINARY = {
    # name: (fn(m, a, b), range of a, range of b)
    "add": (lambda m, a, b: a + b, (-2, 2), (-2, 2)),
    "sub": (lambda m, a, b: a - b, (-2, 2), (-2, 2)),
    "mul": (lambda m, a, b: a * b, (-2, 2), (-2, 2)),
    "div": (lambda m, a, b: a / b, (-2, 2), (0.3, 2)),
    "div_neg_denominator": (lambda m, a, b: a / b, (-2, 2), (-2, -0.3)),
    "pow_tensor_exponent": (lambda m, a, b: a ** b, (0.2, 2), (-2, 2)),
    "add_alpha": (lambda m, a, b: a.add(b, alpha=2.5), (-2, 2), (-2, 2)),
    "sub_alpha": (lambda m, a, b: a.sub(b, alpha=-1.5), (-2, 2), (-2, 2)),
    "chain": (lambda m, a, b: (a * b + a / (b * b + 1)) - b.exp() * a, (-2, 2), (-2, 2)),
}


@pytest.mark.parametrize("name", list(BINARY))
@hsettings(30)
@given(pair=broadcast_pair(max_dims=4, max_side=3), seed=seeds)
def test_binary_grad_broadcasting(name, pair, seed):
    fn, ra, rb = BINARY[name]
    a = rand_array(seed, pair[0], low=ra[0], high=ra[1])
    b = rand_array(seed + 1, pair[1], low=rb[0], high=rb[1])
    check_grads(functools.partial(fn, rg), [a, b], seed=seed)


@pytest.mark.parametrize("name", ["add", "mul", "div", "pow_tensor_exponent"])
@hsettings(15)
@given(pair=broadcast_pair(max_dims=3, max_side=3), seed=seeds)
def test_binary_grad_only_one_side_requires_grad(name, pair, seed):
    fn, ra, rb = BINARY[name]
    a = rand_array(seed, pair[0], low=ra[0], high=ra[1])
    b = rand_array(seed + 1, pair[1], low=rb[0], high=rb[1])
    check_grads(functools.partial(fn, rg), [a, b], seed=seed, wrt=[0])
    check_grads(functools.partial(fn, rg), [a, b], seed=seed, wrt=[1])


@hsettings(20)
@given(shapes3=broadcast_triple(), seed=seeds)
def test_three_way_broadcast_grad(shapes3, seed):
    a, b, c = (rand_array(seed + i, s) for i, s in enumerate(shapes3))
    check_grads(lambda x, y, z: x * y + y * z - z / (x * x + 1), [a, b, c], seed=seed)


SCALAR_OPS = {
    "x+s": lambda x: x + 1.5, "s+x": lambda x: 1.5 + x,
    "x-s": lambda x: x - 2, "s-x": lambda x: 2 - x,
    "x*s": lambda x: x * -3.0, "s*x": lambda x: -3.0 * x,
    "x/s": lambda x: x / 4.0, "s/x": lambda x: 3.0 / x,
    "neg": lambda x: -x,
    "x**2": lambda x: x ** 2, "x**3": lambda x: x ** 3, "x**0.5": lambda x: x ** 0.5,
    "x**-1": lambda x: x ** -1, "x**-2.5": lambda x: x ** -2.5, "x**1": lambda x: x ** 1,
    "x**0": lambda x: x ** 0, "pow(x,1.7)": lambda x: x.pow(1.7),
    "2**x": lambda x: 2 ** x, "0.5**x": lambda x: 0.5 ** x, "e**x": lambda x: 2.718281828 ** x,
    "torch.pow(3,x)": lambda x: rg.pow(3.0, x),
    "x.mul(s)": lambda x: x.mul(2.5), "x.div(s)": lambda x: x.div(-2.0),
}


@pytest.mark.parametrize("name", list(SCALAR_OPS))
@hsettings(15)
@given(shape=shapes(max_dims=3, max_side=3), seed=seeds)
def test_scalar_operand_grad(name, shape, seed):
    # positive inputs so that fractional / negative powers are defined
    x = rand_array(seed, shape, low=0.3, high=2.0)
    check_grads(SCALAR_OPS[name], [x], seed=seed)


def test_pow_zero_exponent_grad_is_zero():
    x = rg.tensor([0.0, 1.0, -2.0], requires_grad=True)
    (x ** 0).sum().backward()
    assert N(x.grad).tolist() == [0.0, 0.0, 0.0]


def test_pow_integer_exponent_negative_base_grad():
    x = rg.tensor([-2.0, -0.5, 3.0], dtype=rg.float64, requires_grad=True)
    (x ** 3).sum().backward()
    np.testing.assert_allclose(N(x.grad), 3 * np.array([-2.0, -0.5, 3.0]) ** 2, rtol=1e-14)


# ---------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------

# Finite differences need elements to perturb: no empty operands.
MATMUL_SHAPES = [(a, b) for a, b in MATMUL_SHAPES if 0 not in a + b]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_grad_all_ranks(sa, sb):
    a, b = rand_array(1, sa), rand_array(2, sb)
    check_grads(lambda x, y: x @ y, [a, b], seed=3)
    check_grads(lambda x, y: x.matmul(y), [a, b], seed=4, wrt=[1])


@hsettings(25)
@given(batch=broadcast_pair(max_dims=2, max_side=3), n=st.integers(1, 3), k=st.integers(1, 3),
       m=st.integers(1, 3), seed=seeds)
def test_matmul_grad_batched_broadcasting_random(batch, n, k, m, seed):
    a = rand_array(seed, batch[0] + (n, k))
    b = rand_array(seed + 1, batch[1] + (k, m))
    check_grads(lambda x, y: x @ y, [a, b], seed=seed)


def test_matmul_grad_transposed_operands():
    a, b = rand_array(1, (4, 3)), rand_array(2, (5, 4))
    check_grads(lambda x, y: x.t() @ y.t(), [a, b])
    check_grads(lambda x, y: x.mm(x.t()) @ y.t(), [a, b])


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

@st.composite
def shape_and_dims(draw, max_dims=4):
    shape = draw(shapes(min_dims=1, max_dims=max_dims, max_side=3))
    nd = len(shape)
    dims = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
    dims = [d - nd if draw(st.booleans()) else d for d in dims]
    return shape, (dims[0] if len(dims) == 1 and draw(st.booleans()) else tuple(dims))


@pytest.mark.parametrize("op", ["sum", "mean"])
@hsettings(30)
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=seeds)
def test_sum_mean_dim_grad(op, sd, keepdim, seed):
    shape, dims = sd
    x = rand_array(seed, shape)
    check_grads(lambda t: getattr(t, op)(dims, keepdim=keepdim) * 1.0, [x], seed=seed)


@pytest.mark.parametrize("op", ["sum", "mean"])
@hsettings(15)
@given(shape=shapes(max_dims=4, max_side=3), seed=seeds)
def test_sum_mean_all_grad(op, shape, seed):
    x = rand_array(seed, shape)
    g = check_grads(lambda t: getattr(t, op)(), [x], seed=seed)[0]
    # the gradient of a full reduction is the same for every element
    np.testing.assert_allclose(g, np.full(x.shape, g.flat[0]), rtol=1e-12)
    xt = rg.tensor(x, requires_grad=True)
    getattr(xt, op)().backward()
    np.testing.assert_allclose(N(xt.grad), np.full(x.shape, 1.0 if op == "sum" else 1.0 / x.size), rtol=1e-12)


@pytest.mark.parametrize("p", [2, 1, 3, 1.5])
@hsettings(25)
@given(sd=shape_and_dims(), keepdim=st.booleans(), seed=seeds, use_dim=st.booleans())
def test_norm_grad(p, sd, keepdim, seed, use_dim):
    shape, dims = sd
    # keep away from 0 (|x| kink for p=1)
    x = rand_array(seed, shape, avoid=[0.0], margin=0.15)
    if use_dim:
        check_grads(lambda t: t.norm(p, dims, keepdim), [x], seed=seed)
    else:
        check_grads(lambda t: t.norm(p=p), [x], seed=seed)


def test_norm_grad_at_zero_is_zero():
    for p in (1, 2, 3):
        x = rg.zeros(3, requires_grad=True)
        x.norm(p).backward()
        assert N(x.grad).tolist() == [0.0, 0.0, 0.0]
    x = rg.zeros(2, 3, requires_grad=True)
    x.norm(dim=1).sum().backward()
    assert np.all(N(x.grad) == 0.0)


# ---------------------------------------------------------------------------
# unary ops
# ---------------------------------------------------------------------------

UNARY = {
    "sin": (lambda x: x.sin(), (-3, 3)),
    "cos": (lambda x: x.cos(), (-3, 3)),
    "exp": (lambda x: x.exp(), (-3, 3)),
    "log": (lambda x: x.log(), (0.1, 4)),
    "log1p": (lambda x: x.log1p(), (-0.8, 4)),
    "sqrt": (lambda x: x.sqrt(), (0.1, 4)),
    "tanh": (lambda x: x.tanh(), (-3, 3)),
    "sigmoid": (lambda x: x.sigmoid(), (-5, 5)),
    "relu": (lambda x: x.relu(), (-3, 3)),
    "abs": (lambda x: x.abs(), (-3, 3)),
    "reciprocal": (lambda x: x.reciprocal(), (0.2, 3)),
    "neg": (lambda x: x.neg(), (-3, 3)),
    "sign": (lambda x: x.sign() * x, (-3, 3)),
    "torch.tanh": (lambda x: rg.tanh(x), (-3, 3)),
    "F.relu": (lambda x: F.relu(x), (-3, 3)),
    "F.sigmoid": (lambda x: F.sigmoid(x), (-5, 5)),
    "composite": (lambda x: (x.sin() * x.exp()).tanh() + x.sigmoid().log(), (-2, 2)),
}


@pytest.mark.parametrize("name", list(UNARY))
@hsettings(20)
@given(shape=shapes(max_dims=4, max_side=3), seed=seeds)
def test_unary_grad(name, shape, seed):
    fn, (lo, hi) = UNARY[name]
    x = rand_array(seed, shape, low=lo, high=hi, avoid=[0.0], margin=0.05)
    if lo > 0:
        x = np.abs(x)
    check_grads(fn, [x], seed=seed)


def test_relu_abs_sign_grad_at_zero():
    x = rg.tensor([0.0, -1.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    assert N(x.grad).tolist() == [0.0, 0.0, 1.0]
    x.grad = None
    x.abs().sum().backward()
    assert N(x.grad).tolist() == [0.0, -1.0, 1.0]
    x.grad = None
    x.sign().sum().backward()
    assert N(x.grad).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("name", ["sin", "exp", "sigmoid", "tanh", "sqrt", "log"])
def test_unary_grad_float32(name):
    fn, (lo, hi) = UNARY[name]
    x64 = np.abs(rand_array(0, (3, 4), low=lo, high=hi)) if lo > 0 else rand_array(0, (3, 4), low=lo, high=hi)
    w = rand_array(1, (3, 4), low=0.5, high=1.5)
    g32, _ = analytic_grads(fn, [x64.astype(np.float32)], w.astype(np.float32), dtype="float32")
    g64, _ = analytic_grads(fn, [x64], w)
    assert g32[0].dtype == np.float32
    np.testing.assert_allclose(g32[0], g64[0], rtol=2e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# shape ops, indexing, masked_fill, conversions
# ---------------------------------------------------------------------------

VIEWS = {
    "transpose": lambda x: x.transpose(0, 2),
    "transpose_neg": lambda x: x.transpose(-1, 0) * 2.0,
    "t": lambda x: x[0].t(),
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "reshape": lambda x: x.reshape(6, 4),
    "reshape_infer": lambda x: x.reshape(-1, 3),
    "reshape_noncontig": lambda x: x.transpose(0, 1).reshape(-1),
    "view": lambda x: x.view(4, 6),
    "flatten": lambda x: x.flatten(),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "unsqueeze_neg": lambda x: x.unsqueeze(-1),
    "squeeze": lambda x: x[:, :1].squeeze(),
    "squeeze_dim": lambda x: x[:, :, 1:2].squeeze(2),
    "expand": lambda x: x[:, :1].expand(2, 3, 4) * x,
    "expand_new_dims": lambda x: x[0].expand(5, 3, 4),
    "expand_as": lambda x: x[:1, :, :1].expand_as(x),
    "index_int": lambda x: x[1],
    "index_neg": lambda x: x[-1, 2],
    "index_slice": lambda x: x[:, 1:3],
    "index_step": lambda x: x[:, ::2, 1::2],
    "index_none": lambda x: x[None],
    "index_ellipsis": lambda x: x[..., 0],
    "index_mixed": lambda x: x[1, None, :, -1],
    "index_twice": lambda x: x[1][0] * x[1][2],
    "clone": lambda x: x.clone() * x,
    "contiguous": lambda x: x.transpose(0, 1).contiguous(),
    "masked_fill": lambda x: x.masked_fill(x > 0.3, 0.5),
    "masked_fill_broadcast": lambda x: x.masked_fill(T(np.array([True, False, True, False])), -1.0),
    "overlapping_views": lambda x: x[0] * x[:, 1:2, :].sum(0) + x.transpose(1, 2)[1].t(),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_and_index_grad(name):
    x = rand_array(7, (2, 3, 4), avoid=[0.3], margin=0.05)
    check_grads(VIEWS[name], [x], seed=1)


@pytest.mark.parametrize("kind", VIEW_KINDS)
def test_grad_through_noncontiguous_input_views(kind):
    # ops on views of the leaf: gradients flow back into the leaf's layout
    def make(x):
        if kind == "transposed":
            return x.transpose(0, 1)
        if kind == "strided":
            return x[::2, 1::2]
        if kind == "expanded":
            return x[:1].expand(4, 4)
        return x

    x = rand_array(3, (4, 4), low=0.3, high=2.0)
    check_grads(lambda t: make(t).exp() * make(t).sqrt() + (make(t) @ make(t)).sum(0), [x])


def test_dtype_conversion_grad():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * rg.tensor([3.0, 4.0], dtype=rg.float64)
    assert y.dtype == rg.float64
    y.sum().backward()
    assert x.grad.dtype == rg.float32
    assert N(x.grad).tolist() == [3.0, 4.0]
    x.grad = None
    (x.to(rg.float64) ** 2).sum().backward()
    assert x.grad.dtype == rg.float32 and N(x.grad).tolist() == [2.0, 4.0]
    # float() of a float32 tensor is the same tensor: grads still flow
    x.grad = None
    (x.float() * 2).sum().backward()
    assert N(x.grad).tolist() == [2.0, 2.0]


def test_mixed_dtype_binary_grad_dtypes():
    a = rg.tensor([1.0, 2.0], requires_grad=True)
    b = rg.tensor([3.0, 4.0], dtype=rg.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == rg.float32 and b.grad.dtype == rg.float64
    assert N(a.grad).tolist() == [3.0, 4.0] and N(b.grad).tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------
# binary_cross_entropy_with_logits
# ---------------------------------------------------------------------------

def _np_bce(x, t, weight=None, pos_weight=None, reduction="mean"):
    log_sig = -np.logaddexp(0, -x)
    log_one_minus = -np.logaddexp(0, x)
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * t * log_sig + (1 - t) * log_one_minus)
    if weight is not None:
        loss = loss * weight
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


BCE_CASES = [
    # (input shape, weight shape or None, pos_weight shape or None)
    ((5,), None, None),
    ((3, 4), None, None),
    ((3, 4), (3, 4), None),
    ((3, 4), (4,), None),
    ((3, 4), (3, 1), None),
    ((3, 4), None, (4,)),
    ((3, 4), None, (1,)),
    ((2, 3, 4), (3, 4), (4,)),
    ((), None, None),
    ((2, 3), (2, 3), (3,)),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", BCE_CASES, ids=[str(c) for c in BCE_CASES])
def test_bce_with_logits_forward_and_grads(case, reduction):
    shape, wshape, pshape = case
    x = rand_array(1, shape, low=-4, high=4)
    t = rand_array(2, shape, low=0, high=1)
    w = None if wshape is None else rand_array(3, wshape, low=0.2, high=2)
    pw = None if pshape is None else rand_array(4, pshape, low=0.2, high=3)
    kwargs = dict(reduction=reduction)
    if w is not None:
        kwargs["weight"] = T(w)
    if pw is not None:
        kwargs["pos_weight"] = T(pw)

    out = F.binary_cross_entropy_with_logits(T(x), T(t), **kwargs)
    want = _np_bce(x, t, w, pw, reduction)
    np.testing.assert_allclose(N(out), want, rtol=1e-12, atol=1e-14)
    assert tuple(out.shape) == np.shape(want)

    def fn(a, b):
        return F.binary_cross_entropy_with_logits(a, b, **kwargs)

    check_grads(fn, [x, t], seed=5)                 # w.r.t. input and target together
    check_grads(fn, [x, t], seed=6, wrt=[0])        # input only
    check_grads(fn, [x, t], seed=7, wrt=[1])        # target only


def test_bce_with_logits_float32_and_extreme_logits():
    x = rg.tensor([100.0, -100.0, 0.0, 30.0], requires_grad=True)
    t = rg.tensor([0.0, 1.0, 0.5, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    assert loss.dtype == rg.float32
    np.testing.assert_allclose(N(loss), _np_bce(N(x).astype(np.float64), N(t).astype(np.float64),
                                                reduction="none"), rtol=1e-6, atol=1e-6)
    loss.sum().backward()
    sig = 1 / (1 + np.exp(-np.array([100.0, -100.0, 0.0, 30.0])))
    np.testing.assert_allclose(N(x.grad), sig - np.array([0.0, 1.0, 0.5, 1.0]), rtol=1e-6, atol=1e-7)
    assert np.isfinite(N(x.grad)).all()


def test_bce_legacy_flags():
    x, t = rg.tensor([0.5, -1.0]), rg.tensor([1.0, 0.0])
    full = N(F.binary_cross_entropy_with_logits(x, t, reduction="none"))
    assert F.binary_cross_entropy_with_logits(x, t, size_average=False).item() == pytest.approx(full.sum(), rel=1e-6)
    np.testing.assert_allclose(N(F.binary_cross_entropy_with_logits(x, t, reduce=False)), full)


# ---------------------------------------------------------------------------
# comparison with PyTorch's gradients
# ---------------------------------------------------------------------------

TORCH_CASES = {
    # name: (fn(m, *tensors), input shapes, value ranges)
    "add_bcast": (lambda m, a, b: a + b, [(2, 1, 3), (4, 1)], None),
    "sub_bcast": (lambda m, a, b: a - b, [(3,), (2, 3)], None),
    "rsub": (lambda m, a: 1.5 - a, [(2, 3)], None),
    "mul_bcast": (lambda m, a, b: a * b, [(2, 1, 3), (4, 1)], None),
    "div_bcast": (lambda m, a, b: a / b, [(2, 3), (3,)], [(-2, 2), (0.3, 2)]),
    "rdiv": (lambda m, a: 2.0 / a, [(2, 3)], [(0.3, 2)]),
    "pow_scalar": (lambda m, a: a ** 3, [(2, 3)], None),
    "pow_frac": (lambda m, a: a ** 1.5, [(2, 3)], [(0.2, 2)]),
    "pow_tensor": (lambda m, a, b: a ** b, [(2, 3), (3,)], [(0.2, 2), (-2, 2)]),
    "rpow": (lambda m, a: 2.5 ** a, [(2, 3)], None),
    "matmul_1d_1d": (lambda m, a, b: a @ b, [(3,), (3,)], None),
    "matmul_2d_1d": (lambda m, a, b: a @ b, [(2, 3), (3,)], None),
    "matmul_1d_2d": (lambda m, a, b: a @ b, [(3,), (3, 2)], None),
    "matmul_2d_2d": (lambda m, a, b: a @ b, [(2, 3), (3, 4)], None),
    "matmul_batched_bcast": (lambda m, a, b: a @ b, [(2, 1, 2, 3), (3, 3, 4)], None),
    "matmul_3d_1d": (lambda m, a, b: a @ b, [(2, 2, 3), (3,)], None),
    "matmul_1d_3d": (lambda m, a, b: a @ b, [(3,), (2, 3, 4)], None),
    "sum_dims": (lambda m, a: a.sum((0, 2), keepdim=True), [(2, 3, 4)], None),
    "mean_dim": (lambda m, a: a.mean(-1), [(2, 3, 4)], None),
    "norm2": (lambda m, a: a.norm(), [(2, 3)], None),
    "norm1_dim": (lambda m, a: a.norm(1, dim=1), [(2, 3)], None),
    "norm3_dim_keep": (lambda m, a: a.norm(3, dim=0, keepdim=True), [(2, 3)], None),
    "unary_chain": (lambda m, a: a.sin().exp().tanh().sigmoid().relu().abs() + a.cos(), [(2, 3)], None),
    "log_sqrt": (lambda m, a: a.log() + a.sqrt() + a.reciprocal() + a.log1p(), [(2, 3)], [(0.2, 3)]),
    "views": (lambda m, a: a.t().reshape(3, 2).unsqueeze(0).expand(2, 3, 2).squeeze() * 2, [(2, 3)], None),
    "indexing": (lambda m, a: a[1, 1:] * a[..., 0][None], [(2, 3)], None),
    "masked_fill": (lambda m, a: a.masked_fill(a > 0, 2.0), [(2, 3)], None),
    "bce_all": (lambda m, a, b: m.nn.functional.binary_cross_entropy_with_logits(
        a, b, weight=m.tensor([1.0, 2.0, 0.5], dtype=m.float64),
        pos_weight=m.tensor([3.0, 1.0, 2.0], dtype=m.float64)), [(2, 3), (2, 3)], [(-3, 3), (0, 1)]),
    "bce_sum": (lambda m, a, b: m.nn.functional.binary_cross_entropy_with_logits(a, b, reduction="sum"),
                [(4,), (4,)], [(-3, 3), (0, 1)]),
    "bce_none": (lambda m, a, b: m.nn.functional.binary_cross_entropy_with_logits(a, b, reduction="none"),
                 [(4,), (4,)], [(-3, 3), (0, 1)]),
}


@pytest.mark.parametrize("name", list(TORCH_CASES))
def test_grads_match_torch(torch, name):
    fn, in_shapes, ranges = TORCH_CASES[name]
    ranges = ranges or [(-2, 2)] * len(in_shapes)
    arrays = [rand_array(10 + i, s, low=lo, high=hi) for i, (s, (lo, hi)) in enumerate(zip(in_shapes, ranges))]

    ours = [rg.tensor(a, requires_grad=True) for a in arrays]
    out = fn(rg, *ours)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_t = fn(torch, *theirs)
    assert tuple(out.shape) == tuple(out_t.shape)
    np.testing.assert_allclose(N(out), out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert out.grad_fn.name() == out_t.grad_fn.name()

    w = rand_array(99, tuple(out.shape), low=0.5, high=1.5)
    (out * rg.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(N(a.grad), b.grad.numpy(), rtol=1e-11, atol=1e-12, err_msg=f"input {i}")
