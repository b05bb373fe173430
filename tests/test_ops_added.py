"""The operators added for real training code (issue 6, first part):
element-wise functions and activations, selection (`where`, `clamp`,
`maximum`), reordering and splitting dimensions, the reductions that pick
elements, softmax-like reductions, `gather`/`scatter_add`.

Forward values are checked against NumPy in float64 (and PyTorch's signed
zero and NaN conventions by hand), backward rules by gradcheck, and, where
PyTorch is installed, values against PyTorch too."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rustgrad as rg
import rustgrad.nn.functional as F
from conftest import N, hsettings, rand_array, seeds, shapes

gradcheck = rg.autograd.gradcheck
erf = np.vectorize(math.erf)

# name -> (NumPy reference, domain low, domain high)
UNARY = {
    "neg": (np.negative, -2, 2), "sin": (np.sin, -2, 2), "cos": (np.cos, -2, 2), "tan": (np.tan, -1.2, 1.2),
    "asin": (np.arcsin, -0.9, 0.9), "acos": (np.arccos, -0.9, 0.9), "atan": (np.arctan, -2, 2),
    "sinh": (np.sinh, -2, 2), "cosh": (np.cosh, -2, 2), "exp": (np.exp, -2, 2), "exp2": (np.exp2, -2, 2),
    "expm1": (np.expm1, -2, 2), "log": (np.log, 0.1, 3), "log1p": (np.log1p, -0.5, 3), "log2": (np.log2, 0.1, 3),
    "log10": (np.log10, 0.1, 3), "sqrt": (np.sqrt, 0.1, 3), "rsqrt": (lambda a: 1 / np.sqrt(a), 0.1, 3),
    "tanh": (np.tanh, -2, 2), "sigmoid": (lambda a: 1 / (1 + np.exp(-a)), -3, 3), "abs": (np.abs, -2, 2),
    "relu": (lambda a: np.maximum(a, 0), -2, 2), "reciprocal": (np.reciprocal, 0.2, 3), "sign": (np.sign, -2, 2),
    "floor": (np.floor, -3, 3), "ceil": (np.ceil, -3, 3), "trunc": (np.trunc, -3, 3),
    "frac": (lambda a: a - np.trunc(a), -3, 3), "erf": (erf, -2, 2),
}
# functions with kinks or jumps: gradcheck stays away from them
KINKS = {"abs": [0], "relu": [0], "sign": [0], "floor": [-2, -1, 0, 1, 2], "ceil": [-2, -1, 0, 1, 2],
         "trunc": [-2, -1, 0, 1, 2], "frac": [-2, -1, 0, 1, 2]}


def test_every_unary_function_is_listed_and_tested():
    assert set(rg._core._UNARY_FUNCTIONS) == set(UNARY)


@pytest.mark.parametrize("name", sorted(UNARY))
@given(seed=seeds, shape=shapes(max_dims=3))
@hsettings(max_examples=8)
def test_unary_forward_matches_numpy(name, seed, shape):
    ref, lo, hi = UNARY[name]
    a = rand_array(seed, shape, low=lo, high=hi, avoid=KINKS.get(name))
    for method in (getattr(rg, name), lambda t: getattr(t, name)()):
        np.testing.assert_allclose(N(method(rg.tensor(a))), ref(a), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_backward_by_gradcheck(name):
    ref, lo, hi = UNARY[name]
    a = rand_array(7, (2, 3), low=lo, high=hi, avoid=KINKS.get(name), margin=0.05)
    assert gradcheck(getattr(rg, name), (rg.tensor(a, requires_grad=True),))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_in_place_form(name):
    ref, lo, hi = UNARY[name]
    a = rand_array(3, (4,), low=lo, high=hi, avoid=KINKS.get(name))
    t = rg.tensor(a)
    assert getattr(t, name + "_")() is t
    np.testing.assert_allclose(N(t), ref(a), rtol=1e-10, atol=1e-12)
    x = rg.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
        getattr(x, name + "_")()


def test_in_place_unary_on_a_non_leaf_differentiates():
    x = rg.tensor([0.5, 1.0], dtype=rg.float64, requires_grad=True)
    h = x * 2
    h.sin_()
    assert type(h.grad_fn).__name__ == "SinBackward0"
    h.sum().backward()
    np.testing.assert_allclose(N(x.grad), 2 * np.cos(2 * np.array([0.5, 1.0])))


def test_signed_zeros_and_nan_follow_pytorch():
    t = rg.tensor([-0.0, 0.0, math.nan, -1.5, 2.0])
    assert N(t.sign()).tolist()[:2] == [0.0, 0.0] and not np.signbit(N(t.sign())[:3]).any()
    assert N(t.sign())[2] == 0.0                                   # sign(nan) is 0
    r = N(t.relu())
    assert np.signbit(r[0]) and not np.signbit(r[1]) and math.isnan(r[2])   # -0 and NaN pass through
    x = rg.tensor([-0.0, 0.0], requires_grad=True)
    x.abs().sum().backward()
    assert N(x.grad).tolist() == [0.0, 0.0] and not np.signbit(N(x.grad)).any()


def test_round_is_half_to_even_with_decimals():
    assert N(rg.tensor([0.5, 1.5, 2.5, -0.5, -1.5]).round()).tolist() == [0.0, 2.0, 2.0, -0.0, -2.0]
    np.testing.assert_allclose(N(rg.tensor([1.2345, -2.5678], dtype=rg.float64).round(decimals=2)), [1.23, -2.57])


def test_integer_inputs():
    i = rg.tensor([-2, 3])
    assert i.abs().dtype == rg.int64 and i.sign().dtype == rg.int64 and i.floor().dtype == rg.int64
    assert i.sin().dtype == rg.float32 and i.square().dtype == rg.int64
    assert N(i.square()).tolist() == [4, 9]


# ---------------------------------------------------------------------------
# activations (torch.nn.functional)
# ---------------------------------------------------------------------------

def _selu(a):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * np.where(a > 0, a, alpha * np.expm1(a))


ACTIVATIONS = {
    "softplus": (F.softplus, lambda a: np.log1p(np.exp(a))),
    "leaky_relu": (F.leaky_relu, lambda a: np.where(a > 0, a, 0.01 * a)),
    "elu": (F.elu, lambda a: np.where(a > 0, a, np.expm1(a))),
    "selu": (F.selu, _selu),
    "celu": (lambda t: F.celu(t, alpha=0.5), lambda a: np.where(a > 0, a, 0.5 * np.expm1(a / 0.5))),
    "hardtanh": (F.hardtanh, lambda a: np.clip(a, -1, 1)),
    "relu6": (F.relu6, lambda a: np.clip(a, 0, 6)),
    "hardsigmoid": (F.hardsigmoid, lambda a: np.clip(a + 3, 0, 6) / 6),
    "hardswish": (F.hardswish, lambda a: a * np.clip(a + 3, 0, 6) / 6),
    "gelu": (F.gelu, lambda a: 0.5 * a * (1 + erf(a / math.sqrt(2)))),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"),
                  lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))),
    "silu": (F.silu, lambda a: a / (1 + np.exp(-a))),
    "mish": (F.mish, lambda a: a * np.tanh(np.log1p(np.exp(a)))),
    "softsign": (F.softsign, lambda a: a / (1 + np.abs(a))),
    "logit": (lambda t: rg.logit(t, eps=1e-6), lambda a: np.log(a / (1 - a))),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_forward_and_gradcheck(name):
    f, ref = ACTIVATIONS[name]
    lo, hi = (0.05, 0.95) if name == "logit" else (-7, 7)
    kinks = [] if name == "logit" else [-6, -3, -1, 0, 1, 3, 6]
    a = rand_array(11, (3, 5), low=lo, high=hi, avoid=kinks, margin=0.05)
    np.testing.assert_allclose(N(f(rg.tensor(a))), ref(a), rtol=1e-9, atol=1e-12)
    assert gradcheck(f, (rg.tensor(a, requires_grad=True),))


def test_activations_in_place_and_float32():
    x = rg.tensor([-1.0, 2.0])
    assert F.leaky_relu(x, 0.1, inplace=True) is x and N(x).tolist() == pytest.approx([-0.1, 2.0])
    assert F.gelu(rg.tensor([1, 2])).dtype == rg.float32


def test_activations_match_torch(torch):
    import torch.nn.functional as TF
    a = rand_array(5, (2, 6), low=-5, high=5)
    for name in ["softplus", "leaky_relu", "elu", "selu", "celu", "hardtanh", "relu6", "hardsigmoid",
                 "hardswish", "gelu", "silu", "mish", "softsign"]:
        ours = getattr(F, name)(rg.tensor(a, dtype=rg.float32))
        theirs = getattr(TF, name)(torch.tensor(a, dtype=torch.float32))
        np.testing.assert_allclose(N(ours), theirs.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


# ---------------------------------------------------------------------------
# selection
# ---------------------------------------------------------------------------

def test_where_broadcasts_and_routes_gradients():
    c = rg.tensor([[True, False, True]])
    a = rg.tensor([[1.0], [2.0]], dtype=rg.float64, requires_grad=True)
    b = rg.tensor([10.0, 20.0, 30.0], dtype=rg.float64, requires_grad=True)
    out = rg.where(c, a, b)
    assert N(out).tolist() == [[1, 20, 1], [2, 20, 2]]
    out.sum().backward()
    assert N(a.grad).tolist() == [[2.0], [2.0]] and N(b.grad).tolist() == [0.0, 2.0, 0.0]
    assert N(rg.where(c, a.detach(), 0.0)).tolist() == [[1, 0, 1], [2, 0, 2]]
    assert N(a.detach().where(rg.tensor([True, False]).reshape(2, 1), -1.0)).tolist() == [[1.0], [-1.0]]
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor"):
        rg.where(rg.tensor([1, 0]), a, b)


def test_clamp_bounds_numbers_and_tensors():
    x = rg.tensor([-2.0, 0.5, 3.0, math.nan], dtype=rg.float64)
    r = N(x.clamp(-1, 2))
    assert r[:3].tolist() == [-1.0, 0.5, 2.0] and math.isnan(r[3])
    assert N(rg.clamp(x[:3], min=0)).tolist() == [0.0, 0.5, 3.0]
    assert N(x[:3].clip(max=1)).tolist() == [-2.0, 0.5, 1.0]
    assert N(x[:3].clamp(min=rg.tensor([0.0, 1.0, 0.0], dtype=rg.float64))).tolist() == [0.0, 1.0, 3.0]
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        x.clamp()
    g = rg.tensor([-2.0, 0.5, 3.0], dtype=rg.float64, requires_grad=True)
    g.clamp(-1, 2).sum().backward()
    assert N(g.grad).tolist() == [0.0, 1.0, 0.0]
    assert gradcheck(lambda t: t.clamp(-1, 2), (rg.tensor([-2.0, 0.5, 3.0, 1.5], dtype=rg.float64, requires_grad=True),))


def test_maximum_minimum_nan_and_ties():
    a = rg.tensor([1.0, math.nan, 2.0], dtype=rg.float64, requires_grad=True)
    b = rg.tensor([3.0, 0.0, 2.0], dtype=rg.float64, requires_grad=True)
    m = rg.maximum(a, b)
    assert N(m)[0] == 3.0 and math.isnan(N(m)[1]) and N(m)[2] == 2.0
    assert N(rg.minimum(a, b))[0] == 1.0
    rg.maximum(a, b).sum().backward()
    # a tie splits, the loser gets nothing, NaN passes the gradient to both (PyTorch)
    assert N(a.grad).tolist() == [0.0, 1.0, 0.5] and N(b.grad).tolist() == [1.0, 1.0, 0.5]


def test_logical_ops():
    a, b = rg.tensor([True, False, True]), rg.tensor([1, 1, 0])
    assert N(a.logical_and(b)).tolist() == [True, False, False]
    assert N(rg.logical_or(a, b)).tolist() == [True, True, True]
    assert N(a.logical_xor(b)).tolist() == [False, True, True]
    assert N(b.logical_not()).tolist() == [False, False, True]


# ---------------------------------------------------------------------------
# dimensions
# ---------------------------------------------------------------------------

@given(seed=seeds, shape=shapes(min_dims=1, max_dims=4))
@hsettings(max_examples=20)
def test_permute_movedim_flip_against_numpy(seed, shape):
    a = rand_array(seed, shape)
    order = list(np.random.default_rng(seed).permutation(len(shape)))
    np.testing.assert_array_equal(N(rg.tensor(a).permute(*order)), a.transpose(order))
    np.testing.assert_array_equal(N(rg.tensor(a).movedim(0, -1)), np.moveaxis(a, 0, -1))
    np.testing.assert_array_equal(N(rg.tensor(a).flip(0)), np.flip(a, 0))
    assert rg.tensor(a).permute(*order)._is_view()


def test_split_chunk_unbind_narrow_select():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = rg.tensor(a)
    assert [p.shape[2] for p in t.split(3, 2)] == [3, 1]
    assert [p.shape[2] for p in t.split([1, 3], 2)] == [1, 3]
    assert [p.shape[1] for p in t.chunk(2, 1)] == [2, 1]
    assert len(t.unbind(1)) == 3 and N(t.unbind(1)[2]).tolist() == a[:, 2].tolist()
    assert N(t.narrow(2, 1, 2)).tolist() == a[:, :, 1:3].tolist()
    assert N(t.select(0, -1)).tolist() == a[-1].tolist()
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 4"):
        t.split([1, 2], 2)


def test_dimension_ops_gradients():
    x = rg.tensor(rand_array(2, (2, 3, 4)), requires_grad=True)
    for f in (lambda t: t.permute(2, 0, 1), lambda t: t.movedim(1, 0), lambda t: t.flip(0, 2),
              lambda t: t.narrow(1, 1, 2), lambda t: t.select(2, 1), lambda t: t.split(3, 2)[1],
              lambda t: t.chunk(2, 1)[0], lambda t: t.unbind(0)[1]):
        assert gradcheck(f, (x,))


# ---------------------------------------------------------------------------
# reductions that pick elements, softmax, var/std
# ---------------------------------------------------------------------------

@given(seed=seeds, shape=shapes(min_dims=1, max_dims=3), data=st.data())
@hsettings(max_examples=20)
def test_max_min_argmax_against_numpy(seed, shape, data):
    a = rand_array(seed, shape)
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    t = rg.tensor(a)
    values, indices = t.max(d)
    np.testing.assert_array_equal(N(values), a.max(d))
    np.testing.assert_array_equal(N(indices), a.argmax(d))
    assert N(t.min(d, keepdim=True).values).shape == np.min(a, d, keepdims=True).shape
    np.testing.assert_array_equal(N(t.argmin(d)), a.argmin(d))
    assert N(t.argmax()).item() == a.argmax() and N(t.max()).item() == a.max()
    np.testing.assert_array_equal(N(t.amax(d)), a.max(d))


def test_max_gradients_and_ties():
    x = rg.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], dtype=rg.float64, requires_grad=True)
    x.max().backward()
    assert N(x.grad).tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]     # shared among ties
    x.grad = None
    x.max(1).values.sum().backward()
    assert N(x.grad).tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]     # the first maximum
    y = rg.tensor(rand_array(4, (3, 4)), requires_grad=True)
    assert gradcheck(lambda t: t.max(1).values, (y,)) and gradcheck(lambda t: t.amin(0), (y,))
    with pytest.raises(IndexError, match=r"max\(\): Expected reduction dim 0 to have non-zero size."):
        rg.zeros(0).max(0)


@given(seed=seeds, shape=shapes(min_dims=1, max_dims=3), data=st.data())
@hsettings(max_examples=20)
def test_softmax_logsumexp_var_against_numpy(seed, shape, data):
    a = rand_array(seed, shape, low=-5, high=5)
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    e = np.exp(a - a.max(d, keepdims=True))
    np.testing.assert_allclose(N(rg.tensor(a).softmax(d)), e / e.sum(d, keepdims=True), rtol=1e-12, atol=1e-15)
    lse = np.log(np.exp(a).sum(d))
    np.testing.assert_allclose(N(rg.tensor(a).logsumexp(d)), lse, rtol=1e-12)
    np.testing.assert_allclose(N(rg.tensor(a).log_softmax(d)), a - np.expand_dims(lse, d), rtol=1e-10, atol=1e-12)
    if a.shape[d] > 1:
        np.testing.assert_allclose(N(rg.tensor(a).var(d)), a.var(d, ddof=1), rtol=1e-10)
        np.testing.assert_allclose(N(rg.tensor(a).std(d, unbiased=False)), a.std(d), rtol=1e-10)


def test_softmax_family_gradients_and_stability():
    x = rg.tensor(rand_array(9, (3, 4)), requires_grad=True)
    for f in (lambda t: t.softmax(1), lambda t: t.log_softmax(0), lambda t: t.logsumexp(1),
              lambda t: t.var(1), lambda t: t.std(), lambda t: t.var(0, correction=0)):
        assert gradcheck(f, (x,))
    big = rg.tensor([1000.0, 1000.0])
    assert N(big.softmax(0)).tolist() == [0.5, 0.5] and N(big.logsumexp(0)).item() == pytest.approx(1000 + math.log(2))


def test_gather_and_scatter_add():
    x = rg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=rg.float64, requires_grad=True)
    idx = rg.tensor([[2, 0], [1, 1]])
    out = x.gather(1, idx)
    assert N(out).tolist() == [[3.0, 1.0], [5.0, 5.0]]
    out.sum().backward()
    assert N(x.grad).tolist() == [[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]]          # duplicates accumulate
    s = rg.zeros(2, 3, dtype=rg.float64).scatter_add(1, idx, rg.ones(2, 2, dtype=rg.float64))
    assert N(s).tolist() == [[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]]
    assert gradcheck(lambda t: t.gather(1, idx), (x,))
    src = rg.tensor(rand_array(1, (2, 2)), requires_grad=True)
    assert gradcheck(lambda b, s: b.scatter_add(1, idx, s), (x, src))
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 1 with size 3"):
        x.gather(1, rg.tensor([[3]]))


def test_added_ops_match_torch(torch):
    a = rand_array(12, (3, 4, 5))
    cases = [
        lambda m, t: t.permute(1, 2, 0), lambda m, t: t.flip(1), lambda m, t: t.max(1).values,
        lambda m, t: t.max(1).indices, lambda m, t: t.amin((0, 2)), lambda m, t: t.softmax(-1),
        lambda m, t: t.log_softmax(0), lambda m, t: t.logsumexp(2), lambda m, t: t.var(1),
        lambda m, t: t.std(), lambda m, t: m.where(t > 0, t, 0.0), lambda m, t: t.clamp(-0.5, 0.5),
        lambda m, t: m.maximum(t, t.flip(0)), lambda m, t: t.chunk(2, 2)[1], lambda m, t: t.argmax(),
    ]
    for i, f in enumerate(cases):
        ours, theirs = f(rg, rg.tensor(a)), f(torch, torch.tensor(a))
        np.testing.assert_allclose(N(ours), theirs.numpy(), rtol=1e-10, atol=1e-12, err_msg=str(i))


def test_clamp_in_place_and_saved_input_version():
    a = rg.tensor([-1.0, 0.5, 2.0], dtype=rg.float64, requires_grad=True)
    x = a * 1
    assert x.clamp_(0, 1) is x
    x.sum().backward()
    assert N(a.grad).tolist() == [0.0, 1.0, 0.0]
    y = a * 1
    z = y.clamp(0, 1)
    y.mul_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# ---------------------------------------------------------------------------
# running sums, sorting, all/any
# ---------------------------------------------------------------------------

@given(seed=seeds, shape=shapes(min_dims=1, max_dims=3), data=st.data())
@hsettings(max_examples=20)
def test_cumsum_sort_topk_against_numpy(seed, shape, data):
    a = rand_array(seed, shape)
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    t = rg.tensor(a)
    np.testing.assert_allclose(N(t.cumsum(d)), np.cumsum(a, d), rtol=1e-12, atol=1e-12)
    values, indices = t.sort(d)
    np.testing.assert_array_equal(N(values), np.sort(a, d))
    np.testing.assert_array_equal(N(indices), np.argsort(a, d, kind="stable"))
    np.testing.assert_array_equal(N(t.argsort(d, descending=True)), np.argsort(-a, d, kind="stable"))
    k = data.draw(st.integers(0, a.shape[d]))
    np.testing.assert_array_equal(N(t.topk(k, d).values), np.take(-np.sort(-a, d), range(k), d))


def test_sorting_nan_and_gradients():
    t = rg.tensor([3.0, math.nan, 1.0, 2.0], dtype=rg.float64)
    assert N(t.sort().indices).tolist() == [2, 3, 0, 1]                  # NaN last
    assert N(t.sort(descending=True).indices).tolist() == [1, 0, 3, 2]    # NaN first
    x = rg.tensor(rand_array(5, (3, 4)), requires_grad=True)
    for f in (lambda u: u.cumsum(1), lambda u: u.sort(0).values, lambda u: u.topk(2).values):
        assert gradcheck(f, (x,))
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        x.topk(5)


def test_all_any_count_nonzero_and_int_cumsum():
    b = rg.tensor([[True, False], [True, True]])
    assert N(b.all(1)).tolist() == [False, True] and N(b.any(0)).tolist() == [True, True]
    assert N(b.all()).item() is False and N(rg.tensor([0, 2, 0]).count_nonzero()).item() == 1
    assert b.cumsum(1).dtype == rg.int64 and N(b.cumsum(1)).tolist() == [[1, 1], [1, 2]]


# ---------------------------------------------------------------------------
# products
# ---------------------------------------------------------------------------

def test_products_values_gradients_and_errors():
    a, b = rand_array(1, (2, 3)), rand_array(2, (3, 4))
    v, w = rand_array(3, (3,)), rand_array(4, (3,))
    np.testing.assert_allclose(N(rg.mm(rg.tensor(a), rg.tensor(b))), a @ b)
    np.testing.assert_allclose(N(rg.tensor(a).mv(rg.tensor(v))), a @ v)
    np.testing.assert_allclose(N(rg.dot(rg.tensor(v), rg.tensor(w))), v @ w)
    np.testing.assert_allclose(N(rg.outer(rg.tensor(v), rg.tensor(w))), np.outer(v, w))
    np.testing.assert_allclose(N(rg.bmm(rg.tensor(a[None]), rg.tensor(b[None]))), (a @ b)[None])
    c = rand_array(5, (4,))
    np.testing.assert_allclose(N(rg.addmm(rg.tensor(c), rg.tensor(a), rg.tensor(b), beta=0.5, alpha=2)), 0.5 * c + 2 * a @ b)
    x, y = rg.tensor(a, requires_grad=True), rg.tensor(b, requires_grad=True)
    assert gradcheck(lambda p, q: rg.addmm(rg.tensor(c), p, q, alpha=3), (x, y))
    assert gradcheck(lambda p, q: rg.bmm(p.unsqueeze(0), q.unsqueeze(0)), (x, y))
    for call, text in [
        (lambda: rg.dot(rg.ones(2, 2), rg.ones(2)), "1D tensors expected, but got 2D and 1D tensors"),
        (lambda: rg.mv(rg.ones(2, 3), rg.ones(4)), r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)"),
        (lambda: rg.bmm(rg.ones(2, 3), rg.ones(3, 2)), "batch1 must be a 3D tensor"),
        (lambda: rg.mm(rg.ones(3), rg.ones(3, 2)), "mm: self must be a matrix, got 1-D tensor"),
        (lambda: rg.outer(rg.ones(2, 2), rg.ones(2)), "outer: Expected 1-D argument self, but got 2-D"),
    ]:
        with pytest.raises(RuntimeError, match=text):
            call()


# ---------------------------------------------------------------------------
# compositions
# ---------------------------------------------------------------------------

def test_compositions_against_numpy():
    a, b = rand_array(1, (2, 3)), rand_array(2, (2, 3))
    x, y = rg.tensor(a), rg.tensor(b)
    np.testing.assert_array_equal(N(rg.hstack([x, y])), np.hstack([a, b]))
    np.testing.assert_array_equal(N(rg.vstack([x[0], y[0]])), np.vstack([a[0], b[0]]))
    for indexing in ("ij", "xy"):
        ours = rg.meshgrid(x[0], y[:, 0], indexing=indexing)
        for g, ref in zip(ours, np.meshgrid(a[0], b[:, 0], indexing=indexing)):
            np.testing.assert_array_equal(N(g), ref)
    np.testing.assert_array_equal(N(rg.tile(x, (2, 1, 2))), np.tile(a, (2, 1, 2)))
    np.testing.assert_array_equal(N(x.repeat(2, 2)), np.tile(a, (2, 2)))
    np.testing.assert_array_equal(N(x.flatten(0, 1)), a.reshape(-1))
    np.testing.assert_array_equal(N(x.unflatten(1, (3, 1))), a.reshape(2, 3, 1))
    np.testing.assert_allclose(N(rg.lerp(x, y, 0.25)), a + 0.25 * (b - a))
    np.testing.assert_allclose(N(rg.addcdiv(x, x, y, value=2)), a + 2 * a / b)
    np.testing.assert_allclose(N(rg.hypot(x, y)), np.hypot(a, b))
    n = rg.tensor([1.0, math.nan, math.inf, -math.inf])
    assert N(n.isnan()).tolist() == [False, True, False, False]
    assert N(n.isinf()).tolist() == [False, False, True, True] and N(n.isfinite()).tolist() == [True, False, False, False]
    assert N(rg.nan_to_num(n, posinf=9.0))[:3].tolist() == [1.0, 0.0, 9.0]
    assert N((x > 0) & (y > 0)).tolist() == ((a > 0) & (b > 0)).tolist() and N(~(x > 0)).tolist() == (a <= 0).tolist()
    assert gradcheck(lambda t: rg.tile(t, (2, 2)).sin(), (rg.tensor(a, requires_grad=True),))


# ---------------------------------------------------------------------------
# issue 6's faults: Python floats keep double precision on every path in
# ---------------------------------------------------------------------------

def _fill(t):
    t.fill_(0.1)
    return t


def _iadd(t):
    t += 0.1
    return t


def _setitem(t):
    t[0] = 0.1
    return t


def _setitem_mask(t):
    t[rg.tensor([True, False])] = 0.1
    return t


@pytest.mark.parametrize("make", [
    lambda: rg.tensor([0.1, 1 / 3], dtype=rg.float64),
    lambda: rg.tensor(0.1, dtype=rg.float64).reshape(1),
    lambda: rg.tensor([[0.1], [2]], dtype=rg.float64).reshape(-1),
    lambda: rg.tensor([0.1, 1], dtype=rg.float64),
    lambda: rg.tensor(np.float64(0.1), dtype=rg.float64).reshape(1),
    lambda: rg.full((2,), 0.1, dtype=rg.float64),
    lambda: _fill(rg.zeros(2, dtype=rg.float64)),
    lambda: _iadd(rg.zeros(2, dtype=rg.float64)),
    lambda: _setitem(rg.zeros(2, dtype=rg.float64)),
    lambda: _setitem_mask(rg.zeros(2, dtype=rg.float64)),
    lambda: rg.ones(2, dtype=rg.float64) * 0.1,
], ids=["list", "0d", "nested", "mixed", "numpy_scalar", "full", "fill_", "iadd", "setitem", "setitem_mask", "mul"])
def test_python_floats_are_converted_once_to_float64(make):
    assert make()[0].item() == 0.1


# ---------------------------------------------------------------------------
# fmod, remainder, floor_divide, atan2, copysign
# ---------------------------------------------------------------------------

def test_division_remainders_and_angles_against_numpy():
    a = np.array([5.3, -5.3, 7.0, -7.5, 0.0, -0.0])
    b = np.array([2.0, 2.0, -3.0, -2.0, 1.5, -1.0])
    x, y = rg.tensor(a), rg.tensor(b)
    np.testing.assert_array_equal(N(rg.fmod(x, y)), np.fmod(a, b))
    np.testing.assert_array_equal(N(x % y), np.remainder(a, b))
    np.testing.assert_array_equal(N(x // y), np.floor_divide(a, b))
    np.testing.assert_array_equal(N(rg.atan2(x, y)), np.arctan2(a, b))
    c = N(rg.copysign(x, y))
    np.testing.assert_array_equal(c, np.copysign(a, b))
    assert (np.signbit(c) == np.signbit(np.copysign(a, b))).all()
    i, j = np.array([7, -7, 7, -7]), np.array([3, 3, -3, -3])
    assert N(rg.tensor(i) % rg.tensor(j)).tolist() == np.remainder(i, j).tolist()
    assert N(rg.tensor(i) // rg.tensor(j)).tolist() == np.floor_divide(i, j).tolist()
    assert N(rg.fmod(rg.tensor(i), rg.tensor(j))).tolist() == np.fmod(i, j).tolist()
    assert (7 // rg.tensor(j)).dtype == rg.int64 and N(7 % rg.tensor(j)).tolist() == np.remainder(7, j).tolist()
    for op in (lambda: rg.tensor([1]) % 0, lambda: rg.tensor([1]) // rg.tensor([0]), lambda: rg.fmod(rg.tensor([1]), 0)):
        with pytest.raises(RuntimeError, match="^ZeroDivisionError$"):
            op()


def test_division_remainders_and_angles_gradients():
    x = rg.tensor([5.3, -5.3, 2.2], dtype=rg.float64, requires_grad=True)
    y = rg.tensor([2.0, 1.7, -3.1], dtype=rg.float64, requires_grad=True)
    for f in (rg.fmod, rg.remainder, rg.atan2):
        assert gradcheck(f, (x, y))
    assert gradcheck(lambda p: rg.copysign(p, y), (x,))
    z = rg.tensor([1.5, -2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        (z // 1.0).sum().backward()  # as PyTorch: floor_divide has no derivative


def test_triangles_diagonals_roll_repeat_interleave():
    a = np.arange(12.0).reshape(3, 4)
    x = rg.tensor(a)
    np.testing.assert_array_equal(N(rg.tril(x)), np.tril(a))
    np.testing.assert_array_equal(N(x.triu(1)), np.triu(a, 1))
    np.testing.assert_array_equal(N(x.diagonal(-1)), np.diagonal(a, -1))
    np.testing.assert_array_equal(N(rg.diag(rg.tensor([1.0, 2.0]), 1)), np.diag([1.0, 2.0], 1))
    np.testing.assert_array_equal(N(x.roll((1, -1), (0, 1))), np.roll(a, (1, -1), (0, 1)))
    np.testing.assert_array_equal(N(x.roll(5)), np.roll(a, 5))
    np.testing.assert_array_equal(N(x.repeat_interleave(rg.tensor([1, 0, 2]), 0)), np.repeat(a, [1, 0, 2], 0))
    assert N(rg.nansum(rg.tensor([1.0, math.nan, 2.0]))).item() == 3.0
    g = rg.tensor(a, requires_grad=True)
    for f in (lambda t: t.tril(), lambda t: t.diagonal(1), lambda t: t.roll(1, 1), lambda t: t.repeat_interleave(2, 0),
              lambda t: rg.diag(t[0])):
        assert gradcheck(f, (g,))


# ---------------------------------------------------------------------------
# random factories and in-place samplers (distributions, not PyTorch's numbers)
# ---------------------------------------------------------------------------

def test_random_factories_and_samplers():
    rg.manual_seed(0)
    assert sorted(N(rg.randperm(10)).tolist()) == list(range(10)) and rg.randperm(3).dtype == rg.int64
    w = rg.empty(20000)
    w.uniform_(-2, 3)
    assert N(w).min() >= -2 and N(w).max() < 3 and abs(N(w).mean() - 0.5) < 0.05
    w.normal_(1, 2)
    assert abs(N(w).mean() - 1) < 0.05 and abs(N(w).std() - 2) < 0.05
    w.exponential_(2.0)
    assert N(w).min() >= 0 and abs(N(w).mean() - 0.5) < 0.02
    assert abs(N(rg.bernoulli(rg.full((20000,), 0.25))).mean() - 0.25) < 0.02
    i = rg.zeros(1000, dtype=rg.int64)
    i.random_(0, 3)
    assert set(N(i).tolist()) == {0, 1, 2}
    assert rg.normal(rg.zeros(3), rg.ones(3)).shape == (3,) and rg.normal(0.0, 1.0, size=(2, 2)).shape == (2, 2)
    rg.manual_seed(7)
    first = N(rg.empty(4).uniform_()).tolist()
    rg.manual_seed(7)
    assert N(rg.empty(4).uniform_()).tolist() == first                      # seeded
    x = rg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
        x.uniform_()
    with rg.no_grad():
        x.normal_()
    assert x.is_leaf and x.requires_grad
    with pytest.raises(RuntimeError, match="Expected p_in >= 0 && p_in <= 1 to be true"):
        rg.bernoulli(rg.tensor([1.5]))


@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ij->ji", [(2, 3)]), ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]), ("i,i->", [(3,), (3,)]), ("i,j->ij", [(3,), (2,)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("...ij,jk->...ik", [(2, 3, 4), (4, 5)]), ("bij->b", [(2, 3, 4)]), (" b i j , b j k -> b i k", [(2, 3, 4), (2, 4, 2)]),
])
def test_einsum_against_numpy_and_gradcheck(equation, shapes):
    arrays = [rand_array(k, s) for k, s in enumerate(shapes)]
    np.testing.assert_allclose(N(rg.einsum(equation, *[rg.tensor(a) for a in arrays])),
                               np.einsum(equation.replace(" ", ""), *arrays), rtol=1e-12, atol=1e-12)
    tensors = tuple(rg.tensor(a, requires_grad=True) for a in arrays)
    assert gradcheck(lambda *ts: rg.einsum(equation, *ts), tensors)


def test_dtype_helpers():
    assert rg.promote_types(rg.int64, rg.float32) == rg.float32 and rg.promote_types(rg.bool, rg.int64) == rg.int64
    assert rg.result_type(rg.tensor([1]), 2.5) == rg.float32                        # a number only sets the category
    assert rg.result_type(rg.tensor([1.0], dtype=rg.float64), rg.tensor(1.0)) == rg.float64
    assert rg.result_type(rg.tensor([1]), rg.tensor(1.0)) == rg.float32             # a 0-d float still raises an int
    assert rg.result_type(rg.tensor(True), rg.tensor([False])) == rg.bool
    f = rg.finfo(rg.float32)
    assert f.eps == np.finfo(np.float32).eps and f.max == np.finfo(np.float32).max and f.tiny == np.finfo(np.float32).tiny
    assert rg.finfo(rg.float64).eps == np.finfo(np.float64).eps and rg.finfo().bits == 32
    assert rg.iinfo(rg.int64).max == 2 ** 63 - 1
    with pytest.raises(TypeError):
        rg.finfo(rg.int64)
