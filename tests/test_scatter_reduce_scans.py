"""Tests for scatter_reduce, cummax/cummin, logcumsumexp, the sort/topk
backward node names, and NumPy operands in arithmetic/comparisons.

Forward values are checked against hand-computed results or NumPy references
(``np.add.at``, ``np.maximum.accumulate``, ``np.logaddexp.accumulate`` and a
plain-Python scatter-reduce); gradients against hand-computed values and
``gradcheck``/``gradgradcheck`` in float64.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rustgrad as rg
from conftest import N, REFERENCE, T, assert_close, broadcast_pair, hsettings, seeds, shapes
from rustgrad.autograd import gradcheck, gradgradcheck

REDUCTIONS = ["sum", "prod", "mean", "amax", "amin"]
INF = float("inf")
NAN = float("nan")


def L(t):
    """A rustgrad tensor as a (nested) Python list."""
    return t.detach().tolist()


# ---------------------------------------------------------------------------
# a plain-Python reference for scatter_reduce
# ---------------------------------------------------------------------------


def ref_scatter_reduce(a, dim, index, src, reduce, include_self=True):
    """out = a.copy(); for every position p of ``index``, src[p] goes to the
    position p with p[dim] replaced by index[p]; each target that receives
    something becomes reduce(self value (if include_self) + received values).
    Integer 'mean' uses floor division; bool sum/amax are 'any', prod/amin
    'all'."""
    a = np.asarray(a)
    index = np.asarray(index)
    src = np.asarray(src)
    out = a.copy()
    if a.ndim:
        dim = dim % a.ndim
    groups = {}
    for p in np.ndindex(index.shape):
        tgt = list(p)
        if a.ndim:
            tgt[dim] = int(index[p])
        groups.setdefault(tuple(tgt), []).append(src[p])
    for tgt, vals in groups.items():
        v = np.array(([a[tgt]] if include_self else []) + vals, dtype=a.dtype)
        if a.dtype == np.bool_:
            r = {"sum": v.any(), "amax": v.any(), "prod": v.all(), "amin": v.all()}[reduce]
        elif reduce == "sum":
            r = v.sum()
        elif reduce == "prod":
            r = v.prod()
        elif reduce == "mean":
            if np.issubdtype(a.dtype, np.integer):
                r = np.floor_divide(v.sum(), len(v))
            else:
                r = v.sum() / len(v)
        elif reduce == "amax":
            r = np.max(v)  # propagates NaN
        elif reduce == "amin":
            r = np.min(v)
        else:
            raise ValueError(reduce)
        out[tgt] = r
    return out


def distinct_values(seed, n, lo=-3.0, step=0.37):
    """n distinct float64 values (spaced by >= ``step``) in random order, so no
    finite-difference perturbation creates or breaks a tie."""
    rng = np.random.default_rng(seed)
    return lo + step * rng.permutation(n).astype(np.float64)


# ---------------------------------------------------------------------------
# scatter_reduce: forward
# ---------------------------------------------------------------------------


def test_scatter_reduce_hand_computed_1d():
    x = T(np.array([1.0, 2.0, 3.0, 4.0]))
    idx = rg.tensor([0, 1, 0, 1, 2])
    src = T(np.array([5.0, 6.0, 7.0, 8.0, 9.0]))
    # position 0 gets 5, 7; position 1 gets 6, 8; position 2 gets 9; 3 untouched
    expected = {
        ("sum", True): [13.0, 16.0, 12.0, 4.0],
        ("sum", False): [12.0, 14.0, 9.0, 4.0],
        ("prod", True): [35.0, 96.0, 27.0, 4.0],
        ("prod", False): [35.0, 48.0, 9.0, 4.0],
        ("mean", True): [13.0 / 3, 16.0 / 3, 6.0, 4.0],
        ("mean", False): [6.0, 7.0, 9.0, 4.0],
        ("amax", True): [7.0, 8.0, 9.0, 4.0],
        ("amax", False): [7.0, 8.0, 9.0, 4.0],
        ("amin", True): [1.0, 2.0, 3.0, 4.0],
        ("amin", False): [5.0, 6.0, 9.0, 4.0],
    }
    for (red, inc), exp in expected.items():
        out = x.scatter_reduce(0, idx, src, red, include_self=inc)
        assert out.dtype == rg.float64
        assert out.shape == (4,)
        np.testing.assert_allclose(N(out), exp, rtol=1e-6, err_msg=f"{red} include_self={inc}")
        # the input is not modified
        assert L(x) == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_scatter_reduce_2d_vs_reference(reduce, include_self, dim):
    rng = np.random.default_rng(7)
    a = rng.uniform(-2, 2, size=(3, 4))
    # index/src bigger than self along dim, equal in the other dimension
    d = dim % 2
    ishape = (5, 4) if d == 0 else (3, 6)
    src = rng.uniform(-2, 2, size=ishape)
    idx = rng.integers(0, a.shape[d], size=ishape)
    out = T(a).scatter_reduce(dim, rg.tensor(idx), T(src), reduce, include_self=include_self)
    assert out.dtype == rg.float64
    assert_close(out, ref_scatter_reduce(a, dim, idx, src, reduce, include_self), rtol=1e-12, atol=1e-12)
    # the function form gives the same
    out2 = rg.scatter_reduce(T(a), dim, rg.tensor(idx), T(src), reduce, include_self=include_self)
    assert_close(out2, N(out))
    out3 = rg.scatter_reduce(T(a), dim, rg.tensor(idx), T(src), reduce=reduce, include_self=include_self)
    assert_close(out3, N(out))


def test_scatter_reduce_dim1_hand_computed():
    x = T(np.zeros((2, 3)))
    idx = rg.tensor([[2, 2, 0], [1, 1, 1]])
    src = T(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    assert L(x.scatter_reduce(1, idx, src, "sum")) == [[3.0, 0.0, 3.0], [0.0, 15.0, 0.0]]
    assert L(x.scatter_reduce(-1, idx, src, "amax", include_self=False)) == [[3.0, 0.0, 2.0], [0.0, 6.0, 0.0]]
    assert L(x.scatter_reduce(1, idx, src, "mean")) == [[1.5, 0.0, 1.0], [0.0, 3.75, 0.0]]
    assert L(x.scatter_reduce(1, idx, src, "mean", include_self=False)) == [[3.0, 0.0, 1.5], [0.0, 5.0, 0.0]]
    assert L(x.scatter_reduce(1, idx, src, "prod", include_self=False)) == [[3.0, 0.0, 2.0], [0.0, 120.0, 0.0]]


def test_scatter_reduce_index_smaller_than_src():
    # index (2, 2) with src (3, 4): only src[:2, :2] is used
    x = T(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    src = T(np.arange(12.0).reshape(3, 4) + 10)
    idx = rg.tensor([[2, 0], [1, 1]])
    out = x.scatter_reduce(1, idx, src, "sum")
    assert L(out) == [[1.0 + 11.0, 2.0, 3.0 + 10.0], [4.0, 5.0 + 14.0 + 15.0, 6.0]]
    out = x.scatter_reduce(0, rg.tensor([[1, 0]]), src, "amax", include_self=False)
    assert L(out) == [[1.0, 11.0, 3.0], [10.0, 5.0, 6.0]]


def test_scatter_reduce_empty_index_is_identity():
    x = T(np.array([1.0, 2.0]))
    out = x.scatter_reduce(0, rg.tensor(np.zeros(0, dtype=np.int64)), T(np.zeros(0)), "prod", include_self=False)
    assert L(out) == [1.0, 2.0]


def test_scatter_reduce_0d():
    x = rg.tensor(2.0)
    out = x.scatter_reduce(0, rg.tensor(0), rg.tensor(5.0), "sum")
    assert out.shape == () and out.item() == 7.0
    assert x.scatter_reduce(0, rg.tensor(0), rg.tensor(5.0), "prod").item() == 10.0
    assert x.scatter_reduce(-1, rg.tensor(0), rg.tensor(5.0), "mean").item() == 3.5
    assert x.scatter_reduce(0, rg.tensor(0), rg.tensor(5.0), "mean", include_self=False).item() == 5.0
    assert x.scatter_reduce(0, rg.tensor(0), rg.tensor(5.0), "amin").item() == 2.0
    assert x.scatter_reduce(0, rg.tensor(0), rg.tensor(5.0), "amin", include_self=False).item() == 5.0
    with pytest.raises(IndexError):
        x.scatter_reduce(1, rg.tensor(0), rg.tensor(5.0), "sum")


def test_scatter_reduce_int_mean_floor_division():
    x = rg.tensor([1, 2, 3])
    out = x.scatter_reduce(0, rg.tensor([0, 1, 0]), rg.tensor([-4, 5, -1]), "mean")
    assert out.dtype == rg.int64
    # position 0: (1 - 4 - 1) / 3 = -4/3 -> floor -2; position 1: (2 + 5) / 2 -> 3
    assert L(out) == [-2, 3, 3]
    out = x.scatter_reduce(0, rg.tensor([0, 1, 0]), rg.tensor([-4, 5, -1]), "mean", include_self=False)
    assert L(out) == [-3, 5, 3]  # -5/2 -> -3


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_int64_vs_reference(reduce, include_self):
    rng = np.random.default_rng(3)
    a = rng.integers(-9, 10, size=(4, 3))
    src = rng.integers(-9, 10, size=(6, 3))
    idx = rng.integers(0, 4, size=(6, 3))
    out = rg.tensor(a).scatter_reduce(0, rg.tensor(idx), rg.tensor(src), reduce, include_self=include_self)
    assert out.dtype == rg.int64
    np.testing.assert_array_equal(N(out), ref_scatter_reduce(a, 0, idx, src, reduce, include_self))


def test_scatter_reduce_int32():
    x = rg.tensor([10, 20], dtype=rg.int32)
    out = x.scatter_reduce(0, rg.tensor([1, 1]), rg.tensor([3, -7], dtype=rg.int32), "amin")
    assert out.dtype == rg.int32 and L(out) == [10, -7]


def test_scatter_reduce_bool():
    x = rg.tensor([True, False, False])
    idx = rg.tensor([1, 1, 2])
    src = rg.tensor([True, False, False])
    out = x.scatter_reduce(0, idx, src, "sum")
    assert out.dtype == rg.bool and L(out) == [True, True, False]
    x = rg.tensor([True, False, True])
    assert L(x.scatter_reduce(0, rg.tensor([0, 1, 2]), rg.tensor([False, False, True]), "prod")) == [False, False, True]
    assert L(x.scatter_reduce(0, rg.tensor([0, 1, 2]), rg.tensor([False, True, True]), "amax")) == [True, True, True]
    assert L(x.scatter_reduce(0, rg.tensor([0, 1, 2]), rg.tensor([False, True, True]), "amin")) == [False, False, True]
    assert L(x.scatter_reduce(0, rg.tensor([0, 0]), rg.tensor([False, False]), "sum", include_self=False)) == [
        False, False, True]
    with pytest.raises(NotImplementedError):
        rg.tensor([True, False]).scatter_reduce(0, rg.tensor([0, 1]), rg.tensor([True, True]), "mean")


def test_scatter_reduce_float16():
    x = rg.tensor([1.0, 2.0], dtype=rg.float16)
    src = rg.tensor([1.5, 1.0, 3.0], dtype=rg.float16)
    idx = rg.tensor([0, 1, 1])
    out = x.scatter_reduce(0, idx, src, "mean")
    assert out.dtype == rg.float16
    assert L(out) == [1.25, 2.0]
    assert L(x.scatter_reduce(0, idx, src, "sum")) == [2.5, 6.0]
    assert L(x.scatter_reduce(0, idx, src, "prod", include_self=False)) == [1.5, 3.0]
    assert L(x.scatter_reduce(0, idx, src, "amax")) == [1.5, 3.0]


def test_scatter_reduce_nan():
    x = T(np.array([1.0, 2.0, NAN]))
    idx = rg.tensor([0, 1, 1])
    src = T(np.array([1.0, NAN, 3.0]))
    out = N(x.scatter_reduce(0, idx, src, "amax"))
    assert out[0] == 1.0 and np.isnan(out[1]) and np.isnan(out[2])
    out = N(x.scatter_reduce(0, idx, src, "amin"))
    assert out[0] == 1.0 and np.isnan(out[1]) and np.isnan(out[2])
    # NaN in self at a target position propagates with include_self, not without
    x = T(np.array([1.0, NAN]))
    src = T(np.array([1.0, 5.0, 3.0]))
    out = N(x.scatter_reduce(0, idx, src, "amin"))
    assert out[0] == 1.0 and np.isnan(out[1])
    assert L(x.scatter_reduce(0, idx, src, "amin", include_self=False)) == [1.0, 3.0]
    assert L(x.scatter_reduce(0, idx, src, "amax", include_self=False)) == [1.0, 5.0]


def test_scatter_reduce_inplace():
    x = T(np.array([1.0, 2.0, 3.0]))
    r = x.scatter_reduce_(0, rg.tensor([0, 0]), T(np.array([5.0, 6.0])), "amax")
    assert r is x
    assert L(x) == [6.0, 2.0, 3.0]
    x.scatter_reduce_(0, rg.tensor([2, 1]), T(np.array([2.0, 4.0])), "prod", include_self=False)
    assert L(x) == [6.0, 4.0, 2.0]
    x.scatter_reduce_(0, rg.tensor([1, 1, 1]), T(np.array([2.0, 4.0, 5.0])), "mean")
    assert L(x) == [6.0, 15.0 / 4, 2.0]
    # in place on a view writes through to the base
    base = T(np.zeros((2, 3)))
    base[1].scatter_reduce_(0, rg.tensor([0, 2, 2]), T(np.array([1.0, 2.0, 3.0])), "sum")
    assert L(base) == [[0.0, 0.0, 0.0], [1.0, 0.0, 5.0]]


def test_scatter_reduce_inplace_autograd():
    a = T(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(RuntimeError):
        a.scatter_reduce_(0, rg.tensor([0]), T(np.array([1.0])), "sum")
    x = a * 2  # [2, 4, 6]
    s = T(np.array([3.0, 5.0]), requires_grad=True)
    x.scatter_reduce_(0, rg.tensor([1, 1]), s, "prod")  # x[1] = 4 * 3 * 5
    assert L(x) == [2.0, 60.0, 6.0]
    assert x.requires_grad and x.grad_fn is not None


# a = [1, 2, 3]; x = 2a = [2, 4, 6]; x.scatter_reduce_(0, [1, 1], s=[3, 5]); x.sum().backward()
INPLACE_GRADS = {
    ("sum", True): ([2.0, 2.0, 2.0], [1.0, 1.0]),
    ("sum", False): ([2.0, 0.0, 2.0], [1.0, 1.0]),
    ("prod", True): ([2.0, 30.0, 2.0], [20.0, 12.0]),  # 4*3*5: d/da1 = 2*15, d/ds = 4*5, 4*3
    ("prod", False): ([2.0, 0.0, 2.0], [5.0, 3.0]),
    ("mean", True): ([2.0, 2.0 / 3, 2.0], [1.0 / 3, 1.0 / 3]),
    ("mean", False): ([2.0, 0.0, 2.0], [0.5, 0.5]),
    ("amax", True): ([2.0, 0.0, 2.0], [0.0, 1.0]),  # max(4, 3, 5) = s[1]
    ("amax", False): ([2.0, 0.0, 2.0], [0.0, 1.0]),
    ("amin", True): ([2.0, 0.0, 2.0], [1.0, 0.0]),  # min(4, 3, 5) = s[0]
    ("amin", False): ([2.0, 0.0, 2.0], [1.0, 0.0]),
}


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_inplace_backward(reduce):
    for include_self in (True, False):
        a = T(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        s = T(np.array([3.0, 5.0]), requires_grad=True)
        x = a * 2
        x.scatter_reduce_(0, rg.tensor([1, 1]), s, reduce, include_self=include_self)
        x.sum().backward()
        ga, gs = INPLACE_GRADS[reduce, include_self]
        assert_close(a.grad, ga)
        assert_close(s.grad, gs)
    # only src requires grad
    x = T(np.zeros(3))
    s = T(np.array([3.0, 5.0]), requires_grad=True)
    x.scatter_reduce_(0, rg.tensor([1, 1]), s, reduce)
    x.sum().backward()
    assert s.grad is not None


@pytest.mark.xfail(REFERENCE is None, strict=True,
                   reason="rustgrad's in-place scatter_reduce_ records 'torch::autograd::CopyBackwards', "
                          "PyTorch records 'ScatterReduceBackward0'")
def test_scatter_reduce_inplace_grad_fn_name():
    x = T(np.array([1.0, 2.0, 3.0]), requires_grad=True) * 2
    x.scatter_reduce_(0, rg.tensor([1, 1]), T(np.array([3.0, 5.0])), "sum")
    assert x.grad_fn.name() == "ScatterReduceBackward0"


def test_scatter_reduce_errors():
    x = T(np.array([1.0, 2.0]))
    src = T(np.array([1.0, 1.0]))
    idx = rg.tensor([0, 1])
    for bad in ["foo", "add", "multiply", ""]:
        with pytest.raises(RuntimeError, match=r"reduce argument must be either sum, prod, mean, amax or amin, got "
                           + bad):
            x.scatter_reduce(0, idx, src, bad)
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        x.scatter_reduce(0, idx, src.float(), "sum")
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        x.scatter_reduce_(0, idx, src.float(), "amax")
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        rg.tensor([1, 2]).scatter_reduce(0, idx, src, "amax")
    with pytest.raises(RuntimeError, match="index 2 is out of bounds for dimension 0 with size 2"):
        x.scatter_reduce(0, rg.tensor([0, 2]), src, "sum")
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        x.scatter_reduce(0, rg.tensor([0, -1]), src, "amin")
    with pytest.raises(RuntimeError, match="Expected dtype"):
        x.scatter_reduce(0, rg.tensor([0.0, 1.0]), src, "sum")
    with pytest.raises(RuntimeError, match="Expected dtype"):
        x.scatter_reduce(0, rg.tensor([False, True]), src, "sum")
    # index larger than self outside ``dim``
    with pytest.raises(RuntimeError):
        T(np.zeros((2, 2))).scatter_reduce(0, rg.tensor([[0, 0, 0]]), T(np.zeros((3, 3))), "sum")
    # index rank differs from self's
    with pytest.raises(RuntimeError):
        T(np.zeros((2, 2))).scatter_reduce(0, rg.tensor([0, 0]), T(np.zeros((2, 2))), "sum")
    with pytest.raises(IndexError):
        x.scatter_reduce(1, idx, src, "sum")
    # the input is untouched by failed in-place calls
    assert L(x) == [1.0, 2.0]


def test_scatter_reduce_index_larger_than_src_raises():
    with pytest.raises(RuntimeError, match="no larger"):
        T(np.array([1.0, 2.0])).scatter_reduce(0, rg.tensor([0, 1, 1]), T(np.array([1.0, 10.0])), "sum")
    with pytest.raises(RuntimeError, match="no larger"):
        T(np.zeros((2, 3))).scatter_reduce(1, rg.tensor([[0, 1, 2], [0, 0, 0]]),
                                           T(np.arange(1.0, 5.0).reshape(2, 2)), "amax", include_self=False)


def test_scatter_reduce_int32_index_accepted():
    out = T(np.array([1.0, 2.0])).scatter_reduce(0, rg.tensor([1, 1], dtype=rg.int32), T(np.array([3.0, 4.0])), "sum")
    assert L(out) == [1.0, 9.0]


def test_scatter_reduce_max_min_aliases():
    x = T(np.array([1.0, 2.0, 7.0]))
    idx = rg.tensor([0, 1, 1])
    src = T(np.array([3.0, 1.0, 5.0]))
    assert L(x.scatter_reduce(0, idx, src, "max")) == [3.0, 5.0, 7.0]
    assert L(x.scatter_reduce(0, idx, src, "min")) == [1.0, 1.0, 7.0]


# ---------------------------------------------------------------------------
# scatter_reduce: properties
# ---------------------------------------------------------------------------


@st.composite
def scatter_case(draw, max_dims=3):
    shape = draw(shapes(min_dims=1, max_dims=max_dims, max_side=4))
    nd = len(shape)
    dim = draw(st.integers(-nd, nd - 1))
    d = dim % nd
    # index: any size along dim (src at least as big), at most self's size elsewhere
    ishape = tuple(draw(st.integers(0, 5)) if i == d else draw(st.integers(1, shape[i])) for i in range(nd))
    sshape = tuple(s + draw(st.integers(0, 1)) for s in ishape)
    seed = draw(seeds)
    return shape, dim, ishape, sshape, seed


@hsettings(max_examples=40)
@given(scatter_case(), st.sampled_from(REDUCTIONS), st.booleans())
def test_scatter_reduce_property_vs_reference(case, reduce, include_self):
    shape, dim, ishape, sshape, seed = case
    rng = np.random.default_rng(seed)
    a = rng.uniform(-2, 2, size=shape)
    src = rng.uniform(-2, 2, size=sshape)
    idx = rng.integers(0, shape[dim % len(shape)], size=ishape)
    out = T(a).scatter_reduce(dim, rg.tensor(idx), T(src), reduce, include_self=include_self)
    assert_close(out, ref_scatter_reduce(a, dim, idx, src, reduce, include_self), rtol=1e-12, atol=1e-12)


@hsettings(max_examples=40)
@given(scatter_case())
def test_scatter_reduce_sum_matches_np_add_at(case):
    shape, dim, ishape, sshape, seed = case
    rng = np.random.default_rng(seed)
    a = rng.integers(-50, 50, size=shape).astype(np.float64)
    src = rng.integers(-50, 50, size=sshape).astype(np.float64)
    idx = rng.integers(0, shape[dim % len(shape)], size=ishape)
    d = dim % len(shape)
    expected = a.copy()
    used = src[tuple(slice(0, s) for s in ishape)]
    coords = list(np.indices(ishape))
    coords[d] = idx
    np.add.at(expected, tuple(coords), used)
    out = T(a).scatter_reduce(dim, rg.tensor(idx), T(src), "sum")
    np.testing.assert_array_equal(N(out), expected)  # integer-valued: exact
    # include_self=False zeroes the touched positions first
    touched = np.zeros(shape, dtype=bool)
    touched[tuple(coords)] = True
    out = T(a).scatter_reduce(dim, rg.tensor(idx), T(src), "sum", include_self=False)
    np.testing.assert_array_equal(N(out), expected - np.where(touched, a, 0.0))


# ---------------------------------------------------------------------------
# scatter_reduce: gradients
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [0, -1])
def test_scatter_reduce_gradcheck(reduce, include_self, dim):
    rng = np.random.default_rng(11)
    d = dim % 2
    ishape = (5, 4) if d == 0 else (3, 5)
    vals = distinct_values(5, 12 + int(np.prod(ishape)))
    if reduce == "prod":
        # away from zero, mixed signs
        vals = np.sign(vals + 0.01) * (0.5 + np.abs(vals) / 6)
    a = T(vals[:12].reshape(3, 4), requires_grad=True)
    src = T(vals[12:].reshape(ishape), requires_grad=True)
    # include position 0 untouched along dim (so some self entries pass through)
    idx = rg.tensor(rng.integers(1, (3, 4)[d], size=ishape))

    def f(x, s):
        return x.scatter_reduce(dim, idx, s, reduce, include_self=include_self)

    out = f(a, src)
    assert out.grad_fn.name() == "ScatterReduceBackward0"
    assert gradcheck(f, (a, src))
    assert gradgradcheck(f, (a, src))


def test_scatter_reduce_grad_hand_computed_mean():
    x = T(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    s = T(np.array([4.0, 5.0, 6.0]), requires_grad=True)
    idx = rg.tensor([0, 0, 1])
    w = T(np.array([6.0, 10.0, 7.0]))
    (x.scatter_reduce(0, idx, s, "mean") * w).sum().backward()
    # position 0 averages 3 values, position 1 averages 2, position 2 is self
    assert_close(x.grad, [2.0, 5.0, 7.0])
    assert_close(s.grad, [2.0, 2.0, 5.0])
    x.grad = None
    s.grad = None
    (x.scatter_reduce(0, idx, s, "mean", include_self=False) * w).sum().backward()
    assert_close(x.grad, [0.0, 0.0, 7.0])
    assert_close(s.grad, [3.0, 3.0, 10.0])


def test_scatter_reduce_grad_hand_computed_sum_amax():
    x = T(np.array([1.0, 9.0, 3.0]), requires_grad=True)
    s = T(np.array([4.0, 5.0, 6.0, 2.0]), requires_grad=True)
    idx = rg.tensor([0, 0, 1, 2])
    w = T(np.array([2.0, 3.0, 5.0]))
    (x.scatter_reduce(0, idx, s, "sum", include_self=False) * w).sum().backward()
    assert_close(x.grad, [0.0, 0.0, 0.0])
    assert_close(s.grad, [2.0, 2.0, 3.0, 5.0])
    x.grad = None
    s.grad = None
    # amax: position 0 -> s[1]=5; position 1 -> self 9; position 2 -> self 3
    (x.scatter_reduce(0, idx, s, "amax") * w).sum().backward()
    assert_close(x.grad, [0.0, 3.0, 5.0])
    assert_close(s.grad, [0.0, 2.0, 0.0, 0.0])
    x.grad = None
    s.grad = None
    # without self: position 1 -> s[2]=6, position 2 -> s[3]=2
    (x.scatter_reduce(0, idx, s, "amax", include_self=False) * w).sum().backward()
    assert_close(x.grad, [0.0, 0.0, 0.0])
    assert_close(s.grad, [0.0, 2.0, 3.0, 5.0])


def test_scatter_reduce_grad_ties_shared_evenly():
    x = T(np.array([1.0, 5.0]), requires_grad=True)
    s = T(np.array([5.0, 5.0]), requires_grad=True)
    out = x.scatter_reduce(0, rg.tensor([1, 1]), s, "amax")
    assert L(out) == [1.0, 5.0]
    out.sum().backward()
    assert_close(x.grad, [1.0, 1.0 / 3])
    assert_close(s.grad, [1.0 / 3, 1.0 / 3])

    # amin: tie between self and two src values, with an incoming weight
    x = T(np.array([5.0, 1.0]), requires_grad=True)
    s = T(np.array([5.0, 5.0, 7.0]), requires_grad=True)
    (x.scatter_reduce(0, rg.tensor([0, 0, 0]), s, "amin") * T(np.array([3.0, 2.0]))).sum().backward()
    assert_close(x.grad, [1.0, 2.0])
    assert_close(s.grad, [1.0, 1.0, 0.0])

    # include_self=False: only the two tied src values share; self gets nothing
    x = T(np.array([5.0, 1.0]), requires_grad=True)
    s = T(np.array([5.0, 5.0]), requires_grad=True)
    x.scatter_reduce(0, rg.tensor([0, 0]), s, "amax", include_self=False).sum().backward()
    assert_close(x.grad, [0.0, 1.0])
    # PyTorch counts self (equal to the result) when sharing, even though it
    # is excluded: 1/3 each, not 1/2
    assert_close(s.grad, [1.0 / 3, 1.0 / 3])


def test_scatter_reduce_grad_index_smaller_than_src():
    x = T(np.zeros((2, 3)), requires_grad=True)
    s = T(np.arange(8.0).reshape(2, 4), requires_grad=True)
    idx = rg.tensor([[0, 1, 2]])
    out = x.scatter_reduce(1, idx, s, "sum")
    assert L(out) == [[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]
    if REFERENCE:
        # PyTorch's backward returns a gradient of index's shape for src
        with pytest.raises(RuntimeError, match="invalid gradient"):
            out.sum().backward()
        return
    (out * T(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))).sum().backward()
    assert L(x.grad) == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert L(s.grad) == [[1.0, 2.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0]]


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch's backward fails when index is smaller than src")
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_gradcheck_index_smaller_than_src(reduce):
    vals = distinct_values(2, 6 + 12)
    if reduce == "prod":
        vals = np.sign(vals + 0.01) * (0.5 + np.abs(vals) / 6)
    a = T(vals[:6].reshape(2, 3), requires_grad=True)
    s = T(vals[6:].reshape(3, 4), requires_grad=True)
    idx = rg.tensor([[0, 0, 2], [1, 0, 0]])

    def f(x, y):
        return x.scatter_reduce(1, idx, y, reduce, include_self=False)

    assert gradcheck(f, (a, s))
    f(a, s).sum().backward()
    g = N(s.grad)
    assert np.all(g[:, 3] == 0) and np.all(g[2] == 0)


def _prod_grads(x, src, idx, w, include_self=True):
    xt = T(np.array(x), requires_grad=True)
    st_ = T(np.array(src), requires_grad=True)
    out = xt.scatter_reduce(0, rg.tensor(idx), st_, "prod", include_self=include_self)
    (out * T(np.array(w))).sum().backward()
    return out, N(xt.grad), N(st_.grad)


def test_scatter_reduce_prod_grad_zero_in_self():
    # position 1: self 0, src 4, 3, 5 -> d/dself = 4*3*5, d/dsrc = 0 (self's zero)
    out, gx, gs = _prod_grads([2.0, 0.0], [4.0, 3.0, 5.0], [1, 1, 1], [1.0, 2.0])
    assert L(out) == [2.0, 0.0]
    np.testing.assert_allclose(gx, [1.0, 2.0 * 60.0])
    np.testing.assert_allclose(gs, [0.0, 0.0, 0.0])


def test_scatter_reduce_prod_grad_one_zero_in_src():
    # position 1: self 3, src 4, 0, 5 -> d/dsrc[1] = 3*4*5, everything else 0
    out, gx, gs = _prod_grads([2.0, 3.0], [4.0, 0.0, 5.0], [1, 1, 1], [1.0, 2.0])
    assert L(out) == [2.0, 0.0]
    np.testing.assert_allclose(gx, [1.0, 0.0])
    np.testing.assert_allclose(gs, [0.0, 2.0 * 60.0, 0.0])
    # without self: d/dsrc[1] = 4*5
    out, gx, gs = _prod_grads([2.0, 3.0], [4.0, 0.0, 5.0], [1, 1, 1], [1.0, 2.0], include_self=False)
    np.testing.assert_allclose(gx, [1.0, 0.0])
    np.testing.assert_allclose(gs, [0.0, 2.0 * 20.0, 0.0])


def test_scatter_reduce_prod_grad_two_zeros():
    # two zeros in src at one position: every exclusive product contains a zero
    out, gx, gs = _prod_grads([2.0, 3.0], [0.0, 4.0, 0.0, 7.0], [1, 1, 1, 0], [5.0, 2.0])
    assert L(out) == [14.0, 0.0]
    np.testing.assert_allclose(gx, [5.0 * 7.0, 0.0])
    np.testing.assert_allclose(gs, [0.0, 0.0, 0.0, 5.0 * 2.0])
    # one zero in self and one in src at the same position
    out, gx, gs = _prod_grads([2.0, 0.0], [0.0, 4.0], [1, 1], [1.0, 3.0])
    np.testing.assert_allclose(gx, [1.0, 0.0])
    np.testing.assert_allclose(gs, [0.0, 0.0])
    # ... and without self, the src zero's exclusive product is 4
    out, gx, gs = _prod_grads([2.0, 0.0], [0.0, 4.0], [1, 1], [1.0, 3.0], include_self=False)
    np.testing.assert_allclose(gx, [1.0, 0.0])
    np.testing.assert_allclose(gs, [3.0 * 4.0, 0.0])


def test_scatter_reduce_prod_gradcheck_with_zeros():
    idx = rg.tensor([1, 1, 1, 0, 2, 2])
    for inc in (True, False):
        # one zero per position (self zero at 0, src zero at 1)
        a = T(np.array([0.0, 1.5, -2.0]), requires_grad=True)
        s = T(np.array([0.7, 0.0, -1.3, 2.0, 1.1, 0.9]), requires_grad=True)

        def f(x, y):
            return x.scatter_reduce(0, idx, y, "prod", include_self=inc)

        assert gradcheck(f, (a, s))
        assert gradgradcheck(f, (a, s))
        # two zeros at position 1: first-order gradients still correct
        s2 = T(np.array([0.0, 0.0, -1.3, 2.0, 1.1, 0.9]), requires_grad=True)
        assert gradcheck(f, (a, s2))


# ---------------------------------------------------------------------------
# cummax / cummin
# ---------------------------------------------------------------------------


def test_cummax_cummin_hand_computed():
    x = T(np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]))
    r = x.cummax(0)
    assert L(r.values) == [3.0, 3.0, 4.0, 4.0, 5.0, 9.0, 9.0, 9.0]
    assert L(r.indices) == [0, 0, 2, 2, 4, 5, 5, 5]
    assert r.indices.dtype == rg.int64 and r.values.dtype == rg.float64
    r = x.cummin(0)
    assert L(r.values) == [3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert L(r.indices) == [0, 1, 1, 3, 3, 3, 3, 3]  # the later tie wins


def test_cummax_named_tuple():
    x = T(np.array([1.0, 3.0, 2.0]))
    r = x.cummax(0)
    v, i = r
    assert len(r) == 2
    assert L(r[0]) == L(v) == L(r.values) == [1.0, 3.0, 3.0]
    assert L(r[1]) == L(i) == L(r.indices) == [0, 1, 1]
    assert type(r).__name__ == "cummax"
    assert type(x.cummin(0)).__name__ == "cummin"
    f = rg.cummax(x, 0)
    assert L(f.values) == [1.0, 3.0, 3.0] and L(f.indices) == [0, 1, 1]
    f = rg.cummin(x, dim=0)
    assert L(f.values) == [1.0, 1.0, 1.0] and L(f.indices) == [0, 0, 0]
    f = x.cummax(dim=-1)
    assert L(f.indices) == [0, 1, 1]


def test_cummax_ties_take_later_index():
    assert L(rg.tensor([1.0, 1.0]).cummax(0).indices) == [0, 1]
    assert L(rg.tensor([1.0, 1.0]).cummin(0).indices) == [0, 1]
    assert L(rg.tensor([2.0, 1.0, 2.0, 2.0]).cummax(0).indices) == [0, 0, 2, 3]
    assert L(rg.tensor([0.0, -0.0]).cummax(0).indices) == [0, 1]


def test_cummax_nan():
    x = T(np.array([1.0, NAN, 2.0, NAN, 3.0]))
    for op in ("cummax", "cummin"):
        r = getattr(x, op)(0)
        v = N(r.values)
        assert v[0] == 1.0 and np.all(np.isnan(v[1:])), op
        assert L(r.indices) == [0, 1, 1, 3, 3], op
    r = T(np.array([NAN, 5.0, -5.0])).cummin(0)
    assert np.all(np.isnan(N(r.values))) and L(r.indices) == [0, 0, 0]
    r = T(np.array([INF, NAN, -INF])).cummax(0)
    assert N(r.values)[0] == INF and L(r.indices) == [0, 1, 1]


def test_cummax_2d_dims():
    a = np.array([[1.0, 5.0, 2.0], [4.0, 0.0, 2.0], [3.0, 6.0, 1.0]])
    x = T(a)
    r = x.cummax(0)
    assert L(r.values) == [[1.0, 5.0, 2.0], [4.0, 5.0, 2.0], [4.0, 6.0, 2.0]]
    assert L(r.indices) == [[0, 0, 0], [1, 0, 1], [1, 2, 1]]
    r = x.cummin(1)
    assert L(r.values) == [[1.0, 1.0, 1.0], [4.0, 0.0, 0.0], [3.0, 3.0, 1.0]]
    assert L(r.indices) == [[0, 0, 0], [0, 1, 1], [0, 0, 2]]
    r2 = x.cummin(-1)
    assert L(r2.values) == L(r.values) and L(r2.indices) == L(r.indices)
    r3 = x.cummax(-2)
    assert L(r3.indices) == [[0, 0, 0], [1, 0, 1], [1, 2, 1]]
    # a non-contiguous input
    r4 = x.T.cummax(1)
    assert L(r4.values) == [[1.0, 4.0, 4.0], [5.0, 5.0, 6.0], [2.0, 2.0, 2.0]]
    assert L(r4.indices) == [[0, 1, 1], [0, 0, 2], [0, 1, 1]]


def test_cummax_0d_and_empty():
    for op in ("cummax", "cummin"):
        r = getattr(rg.tensor(2.5), op)(0)
        assert r.values.shape == () and r.values.item() == 2.5
        assert r.indices.shape == () and r.indices.item() == 0 and r.indices.dtype == rg.int64
        r = getattr(rg.tensor(2.5), op)(-1)
        assert r.values.item() == 2.5
        with pytest.raises(IndexError):
            getattr(rg.tensor(2.5), op)(1)
        r = getattr(rg.zeros(0), op)(0)
        assert r.values.shape == (0,) and r.indices.shape == (0,) and r.indices.dtype == rg.int64
        r = getattr(rg.zeros(2, 0, 3), op)(1)
        assert r.values.shape == (2, 0, 3) and r.indices.shape == (2, 0, 3)
        r = getattr(rg.zeros(2, 0, 3), op)(2)
        assert r.values.shape == (2, 0, 3)


def test_cummax_int_bool():
    x = rg.tensor([3, 1, 4, 1, 5], dtype=rg.int32)
    r = x.cummin(0)
    assert r.values.dtype == rg.int32 and L(r.values) == [3, 1, 1, 1, 1]
    assert L(r.indices) == [0, 1, 1, 3, 3]
    r = rg.tensor([-3, 7, 7, 2]).cummax(0)
    assert r.values.dtype == rg.int64 and L(r.values) == [-3, 7, 7, 7] and L(r.indices) == [0, 1, 2, 2]
    b = rg.tensor([True, False, True])
    r = b.cummax(0)
    assert r.values.dtype == rg.bool and L(r.values) == [True, True, True] and L(r.indices) == [0, 0, 2]
    r = b.cummin(0)
    assert L(r.values) == [True, False, False] and L(r.indices) == [0, 1, 1]
    r = rg.tensor([1.5, 0.5, 2.5], dtype=rg.float16).cummax(0)
    assert r.values.dtype == rg.float16 and L(r.values) == [1.5, 1.5, 2.5]


def test_cummax_bad_dim():
    x = T(np.zeros((2, 3)))
    for op in ("cummax", "cummin"):
        with pytest.raises(IndexError):
            getattr(x, op)(2)
        with pytest.raises(IndexError):
            getattr(x, op)(-3)
        with pytest.raises(IndexError):
            getattr(rg, op)(x, 5)


def _ref_cum_indices(a, values, axis):
    """For each position i along ``axis``: the latest j <= i with
    a[j] == values[i]."""
    a = np.moveaxis(a, axis, -1)
    v = np.moveaxis(values, axis, -1)
    out = np.zeros(a.shape, dtype=np.int64)
    for p in np.ndindex(a.shape):
        i = p[-1]
        row = a[p[:-1]]
        out[p] = max(j for j in range(i + 1) if row[j] == v[p])
    return np.moveaxis(out, -1, axis)


@hsettings(max_examples=40)
@given(shapes(min_dims=1, max_dims=3, max_side=5), seeds, st.data())
def test_cummax_cummin_property(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    # small integer-valued floats: lots of ties
    a = rng.integers(-3, 4, size=shape).astype(np.float64)
    x = T(a)
    for op, ufunc in (("cummax", np.maximum), ("cummin", np.minimum)):
        r = getattr(x, op)(dim)
        exp = ufunc.accumulate(a, axis=dim)
        np.testing.assert_array_equal(N(r.values), exp)
        idx = N(r.indices)
        np.testing.assert_array_equal(np.take_along_axis(a, idx, axis=dim), exp)
        np.testing.assert_array_equal(idx, _ref_cum_indices(a, exp, dim % len(shape)))
        # int64 gives the same
        ri = getattr(rg.tensor(a.astype(np.int64)), op)(dim)
        np.testing.assert_array_equal(N(ri.values), exp.astype(np.int64))
        np.testing.assert_array_equal(N(ri.indices), idx)


def test_cummax_grad_hand_computed_with_ties():
    w = T(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    x = T(np.array([2.0, 1.0, 2.0, 3.0, 3.0]), requires_grad=True)
    r = x.cummax(0)
    assert L(r.indices) == [0, 0, 2, 3, 4]
    assert r.values.grad_fn.name() == "CummaxBackward0"
    assert r.indices.grad_fn is None and not r.indices.requires_grad
    (r.values * w).sum().backward()
    assert L(x.grad) == [3.0, 0.0, 3.0, 4.0, 5.0]

    x = T(np.array([2.0, 1.0, 2.0, 1.0, 3.0]), requires_grad=True)
    r = rg.cummin(x, 0)
    assert L(r.indices) == [0, 1, 1, 3, 3]
    assert r.values.grad_fn.name() == "CumminBackward0"
    (r.values * w).sum().backward()
    assert L(x.grad) == [1.0, 5.0, 0.0, 9.0, 0.0]


def test_cummax_grad_2d_dim1():
    x = T(np.array([[1.0, 3.0, 2.0], [5.0, 4.0, 6.0]]), requires_grad=True)
    x.cummax(1).values.sum().backward()
    assert L(x.grad) == [[1.0, 2.0, 0.0], [2.0, 0.0, 1.0]]


@pytest.mark.parametrize("op", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cummax_gradcheck(op, dim):
    a = T(distinct_values(op == "cummin", 12).reshape(3, 4), requires_grad=True)

    def f(x):
        return getattr(x, op)(dim).values

    assert gradcheck(f, (a,))
    assert gradgradcheck(f, (a,))
    a0 = T(np.array(1.25), requires_grad=True)
    assert gradcheck(f if dim != 1 else (lambda x: getattr(x, op)(0).values), (a0,))


# ---------------------------------------------------------------------------
# logcumsumexp
# ---------------------------------------------------------------------------


def test_logcumsumexp_hand_computed():
    x = T(np.array([0.0, 0.0, math.log(2.0)]))
    out = x.logcumsumexp(0)
    assert_close(out, [0.0, math.log(2.0), math.log(4.0)])
    assert_close(rg.logcumsumexp(x, 0), [0.0, math.log(2.0), math.log(4.0)])
    assert_close(rg.logcumsumexp(x, dim=-1), [0.0, math.log(2.0), math.log(4.0)])


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_logcumsumexp_vs_numpy(dim):
    a = np.random.default_rng(4).normal(0, 3, size=(3, 4, 5))
    out = T(a).logcumsumexp(dim)
    assert out.dtype == rg.float64
    assert_close(out, np.logaddexp.accumulate(a, axis=dim), rtol=1e-12, atol=1e-12)
    # non-contiguous input
    out = T(a).transpose(0, 2).logcumsumexp(dim)
    assert_close(out, np.logaddexp.accumulate(a.transpose(2, 1, 0), axis=dim), rtol=1e-12, atol=1e-12)


def test_logcumsumexp_large_values():
    a = np.array([1000.0, 1000.0, -1000.0, 999.0, 1001.0])
    out = N(T(a).logcumsumexp(0))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, np.logaddexp.accumulate(a), rtol=1e-14)
    np.testing.assert_allclose(out[1], 1000.0 + math.log(2.0), rtol=1e-15)
    a = np.array([-1000.0, -1000.0, -1001.0])
    out = N(T(a).logcumsumexp(0))
    np.testing.assert_allclose(out, np.logaddexp.accumulate(a), rtol=1e-14)
    assert out[1] == pytest.approx(-1000.0 + math.log(2.0), rel=1e-15)
    # float32 as well
    out = T(np.array([1000.0, 1000.0, 80.0])).float().logcumsumexp(0)
    assert out.dtype == rg.float32
    np.testing.assert_allclose(N(out), [1000.0, 1000.0 + math.log(2.0), 1000.0 + math.log(2.0)], rtol=1e-6)


def test_logcumsumexp_infinities():
    a = np.array([-INF, -INF, 0.0, -INF, 1.0])
    out = N(T(a).logcumsumexp(0))
    assert out[0] == -INF and out[1] == -INF
    np.testing.assert_allclose(out[2:], np.logaddexp.accumulate(a)[2:], rtol=1e-14)
    out = N(T(np.array([1.0, INF, 2.0])).logcumsumexp(0))
    assert out[0] == 1.0 and out[1] == INF and out[2] == INF
    out = N(T(np.array([1.0, NAN, 2.0])).logcumsumexp(0))
    assert out[0] == 1.0 and np.isnan(out[1]) and np.isnan(out[2])


def test_logcumsumexp_float32_float16():
    a = np.random.default_rng(8).normal(0, 2, size=(4, 6))
    out = T(a.astype(np.float32)).logcumsumexp(1)
    assert out.dtype == rg.float32
    np.testing.assert_allclose(N(out), np.logaddexp.accumulate(a.astype(np.float32).astype(np.float64), axis=1),
                               rtol=2e-6, atol=2e-6)
    h = rg.tensor([1.0, 2.0, -1.0, 0.5], dtype=rg.float16)
    out = h.logcumsumexp(0)
    assert out.dtype == rg.float16
    np.testing.assert_allclose(N(out).astype(np.float64),
                               np.logaddexp.accumulate(np.array([1.0, 2.0, -1.0, 0.5])), rtol=2e-3)


def test_logcumsumexp_0d_and_empty():
    out = rg.tensor(1.5).logcumsumexp(0)
    assert out.shape == () and out.item() == 1.5
    assert rg.tensor(1.5).logcumsumexp(-1).item() == 1.5
    assert rg.zeros(0).logcumsumexp(0).shape == (0,)
    assert rg.zeros(3, 0).logcumsumexp(0).shape == (3, 0)


def test_logcumsumexp_errors():
    with pytest.raises(NotImplementedError):
        rg.tensor([1, 2]).logcumsumexp(0)
    with pytest.raises(NotImplementedError):
        rg.tensor([True]).logcumsumexp(0)
    # the dim is checked before the dtype
    with pytest.raises(IndexError):
        rg.tensor(1).logcumsumexp(1)
    with pytest.raises(IndexError):
        rg.tensor([1, 2]).logcumsumexp(-2)
    with pytest.raises(IndexError):
        T(np.zeros((2, 2))).logcumsumexp(2)


@hsettings(max_examples=40)
@given(shapes(min_dims=1, max_dims=3, max_side=5), seeds, st.data())
def test_logcumsumexp_property(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    scale = data.draw(st.sampled_from([1.0, 30.0, 800.0]))
    a = np.random.default_rng(seed).normal(0, scale, size=shape)
    out = T(a).logcumsumexp(dim)
    exp = np.logaddexp.accumulate(a, axis=dim)
    np.testing.assert_allclose(N(out), exp, rtol=1e-12, atol=1e-12)
    # monotone non-decreasing along dim, and >= the inputs
    assert np.all(np.diff(N(out), axis=dim) >= 0)
    assert np.all(N(out) >= a)


def _lcse_grad_ref(a, w):
    """d/da_j of sum_i w_i * logcumsumexp(a)_i along the last axis
    = sum_{i >= j} w_i * exp(a_j - out_i)."""
    out = np.logaddexp.accumulate(a, axis=-1)
    n = a.shape[-1]
    g = np.zeros_like(a)
    for j in range(n):
        for i in range(j, n):
            g[..., j] += w[..., i] * np.exp(a[..., j] - out[..., i])
    return g


@pytest.mark.parametrize("large", [False, True])
def test_logcumsumexp_grad_hand_computed(large):
    rng = np.random.default_rng(1)
    a = rng.normal(0, 2, size=(2, 5))
    if large:
        a = a + np.array([[1000.0], [-1000.0]])
    w = np.array([[1.0, -2.0, 0.5, -0.25, 3.0], [-1.0, -1.0, 2.0, 0.5, -3.0]])
    x = T(a, requires_grad=True)
    out = x.logcumsumexp(1)
    assert out.grad_fn.name() == "LogcumsumexpBackward0"
    (out * T(w)).sum().backward(retain_graph=True)
    g = N(x.grad)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, _lcse_grad_ref(a, w), rtol=1e-10, atol=1e-12)
    # all-negative incoming gradient
    x.grad = None
    (out * T(-np.abs(w))).sum().backward()
    np.testing.assert_allclose(N(x.grad), _lcse_grad_ref(a, -np.abs(w)), rtol=1e-10, atol=1e-12)


def test_logcumsumexp_grad_with_neg_inf():
    # a -inf after a finite value gets a zero gradient
    x = T(np.array([0.0, -INF, 1.0]), requires_grad=True)
    x.logcumsumexp(0).sum().backward()
    np.testing.assert_allclose(N(x.grad), [2.0 + 1.0 / (1.0 + math.e), 0.0, math.e / (1.0 + math.e)], rtol=1e-12)
    # a leading -inf (where the output is -inf too) gets NaN, as in PyTorch;
    # the finite entries are unaffected
    x = T(np.array([-INF, 0.0, 1.0]), requires_grad=True)
    x.logcumsumexp(0).sum().backward()
    g = N(x.grad)
    assert np.isnan(g[0])
    np.testing.assert_allclose(g[1:], [1.0 + 1.0 / (1.0 + math.e), math.e / (1.0 + math.e)], rtol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp_gradcheck(dim):
    rng = np.random.default_rng(2)
    a = T(rng.normal(0, 1.5, size=(3, 4)), requires_grad=True)
    w = T(np.array([[1.0, -2.0, 0.5, -1.5], [-0.5, 2.0, -3.0, 1.0], [0.25, -0.75, 1.5, -2.5]]))

    def f(x):
        return x.logcumsumexp(dim)

    def g(x):
        return (x.logcumsumexp(dim) * w).sum()

    assert gradcheck(f, (a,))
    assert gradgradcheck(f, (a,))
    assert gradcheck(g, (a,))
    assert gradgradcheck(g, (a,))
    # explicit mixed-sign grad_outputs
    assert gradgradcheck(f, (a,), (T(-N(w)) if dim == 0 else w.neg(),))


# ---------------------------------------------------------------------------
# sort / topk backward nodes
# ---------------------------------------------------------------------------


def test_sort_grad_fn_and_grad():
    x = T(np.array([3.0, 1.0, 2.0, 5.0]), requires_grad=True)
    v, i = x.sort()
    assert v.grad_fn.name() == "SortBackward0"
    assert i.grad_fn is None and i.dtype == rg.int64
    assert L(v) == [1.0, 2.0, 3.0, 5.0] and L(i) == [1, 2, 0, 3]
    (v * T(np.array([1.0, 2.0, 3.0, 4.0]))).sum().backward()
    assert L(x.grad) == [3.0, 1.0, 2.0, 4.0]
    x.grad = None
    v = rg.sort(x, descending=True).values
    assert v.grad_fn.name() == "SortBackward0"
    (v * T(np.array([1.0, 2.0, 3.0, 4.0]))).sum().backward()
    assert L(x.grad) == [2.0, 4.0, 3.0, 1.0]


def test_topk_grad_fn_and_grad():
    x = T(np.array([[3.0, 1.0, 2.0, 5.0], [0.0, 4.0, -1.0, 2.0]]), requires_grad=True)
    r = x.topk(2)
    assert r.values.grad_fn.name() == "TopkBackward0"
    assert L(r.values) == [[5.0, 3.0], [4.0, 2.0]] and L(r.indices) == [[3, 0], [1, 3]]
    (r.values * T(np.array([[1.0, 2.0], [3.0, 4.0]]))).sum().backward()
    assert L(x.grad) == [[2.0, 0.0, 0.0, 1.0], [0.0, 3.0, 0.0, 4.0]]
    x.grad = None
    r = rg.topk(x, 1, dim=0, largest=False)
    assert r.values.grad_fn.name() == "TopkBackward0"
    r.values.sum().backward()
    assert L(x.grad) == [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 1.0]]


def test_sort_topk_gradcheck():
    a = T(distinct_values(9, 12).reshape(3, 4), requires_grad=True)
    assert gradcheck(lambda x: x.sort(dim=0).values, (a,))
    assert gradgradcheck(lambda x: x.sort(dim=1, descending=True).values, (a,))
    assert gradcheck(lambda x: x.topk(2, dim=1).values, (a,))
    assert gradgradcheck(lambda x: x.topk(2, dim=0, largest=False).values, (a,))


@hsettings(max_examples=30)
@given(shapes(min_dims=1, max_dims=3, max_side=5), seeds, st.data())
def test_sort_topk_grad_property(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    k = data.draw(st.integers(0, n))
    a = distinct_values(seed, int(np.prod(shape))).reshape(shape)
    w = np.random.default_rng(seed + 1).uniform(-1, 1, size=shape)
    x = T(a, requires_grad=True)
    v, i = x.sort(dim)
    assert v.grad_fn.name() == "SortBackward0"
    (v * T(w)).sum().backward()
    exp = np.zeros(shape)
    np.put_along_axis(exp, N(i), w, axis=dim)
    np.testing.assert_array_equal(N(x.grad), exp)
    x.grad = None
    r = x.topk(k, dim)
    wk = np.take(w, np.arange(k), axis=dim)
    if k:
        assert r.values.grad_fn.name() == "TopkBackward0"
        (r.values * T(wk)).sum().backward()
        exp = np.zeros(shape)
        np.put_along_axis(exp, N(r.indices), wk, axis=dim)
        np.testing.assert_array_equal(N(x.grad), exp)


# ---------------------------------------------------------------------------
# NumPy operands
# ---------------------------------------------------------------------------


def test_array_priority():
    assert rg.Tensor.__array_priority__ == 1000
    assert rg.ones(2).__array_priority__ == 1000


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch raises for ndarray (op) tensor")
def test_ndarray_left_operand_gives_tensor():
    r = np.ones(2) + rg.ones(2)
    assert isinstance(r, rg.Tensor)
    assert r.dtype == rg.float64 and L(r) == [2.0, 2.0]
    r = np.arange(3.0) - rg.ones(3)
    assert isinstance(r, rg.Tensor) and L(r) == [-1.0, 0.0, 1.0]
    r = np.full(2, 3.0, dtype=np.float32) * rg.ones(2)
    assert isinstance(r, rg.Tensor) and r.dtype == rg.float32 and L(r) == [3.0, 3.0]
    r = np.array([6.0, 9.0]) / rg.tensor([2.0, 3.0])
    assert isinstance(r, rg.Tensor) and r.dtype == rg.float64 and L(r) == [3.0, 3.0]
    r = np.array([1, 2]) + rg.tensor([True, False])
    assert isinstance(r, rg.Tensor) and r.dtype == rg.int64 and L(r) == [2, 2]
    r = np.array([[1.0], [2.0]]) * rg.tensor([1.0, 10.0])
    assert isinstance(r, rg.Tensor) and r.shape == (2, 2) and L(r) == [[1.0, 10.0], [2.0, 20.0]]
    # gradients flow to the tensor operand
    x = rg.ones(2, requires_grad=True)
    (np.array([2.0, 3.0]) * x).sum().backward()
    assert x.grad.dtype == rg.float32 and L(x.grad) == [2.0, 3.0]


@pytest.mark.filterwarnings("ignore:__array_wrap__:DeprecationWarning")
def test_tensor_left_operand_with_ndarray():
    r = rg.ones(2) * np.ones(2)
    assert isinstance(r, rg.Tensor) and r.dtype == rg.float64 and L(r) == [1.0, 1.0]
    r = rg.tensor([1, 2]) + np.array([3, 4])
    assert isinstance(r, rg.Tensor) and r.dtype == rg.int64 and L(r) == [4, 6]
    r = rg.ones(2) == np.ones(2)
    assert isinstance(r, rg.Tensor) and r.dtype == rg.bool and L(r) == [True, True]


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch raises TypeError for ordering comparisons with "
                    "ndarrays, and returns a Python bool for tensor != ndarray")
def test_ordering_comparisons_with_ndarray():
    r = rg.ones(2) < np.full(2, 2.0)
    assert isinstance(r, rg.Tensor) and r.dtype == rg.bool and L(r) == [True, True]
    r = np.ones(2) < rg.ones(2)
    assert isinstance(r, rg.Tensor) and L(r) == [False, False]
    r = np.array([1.0, 3.0]) >= rg.tensor([2.0, 3.0])
    assert isinstance(r, rg.Tensor) and L(r) == [False, True]
    r = np.array([1.0, 3.0]) == rg.tensor([2.0, 3.0])
    assert isinstance(r, rg.Tensor) and L(r) == [False, True]
    # (PyTorch 2.15 returns the Python bool True for tensor != ndarray)
    r = rg.tensor([1.0, 2.0]) != np.array([1.0, 5.0])
    assert isinstance(r, rg.Tensor) and L(r) == [False, True]


def test_numpy_scalars_keep_tensor_dtype():
    r = rg.ones(2, dtype=rg.int64) * np.int64(3)
    assert r.dtype == rg.int64 and L(r) == [3, 3]
    r = np.int64(3) * rg.ones(2, dtype=rg.int64)
    assert isinstance(r, rg.Tensor) and r.dtype == rg.int64 and L(r) == [3, 3]
    r = rg.ones(2, dtype=rg.int32) * np.int64(3)
    assert r.dtype == rg.int32 and L(r) == [3, 3]
    r = rg.ones(2, dtype=rg.int64) + np.float64(0.5)
    assert r.dtype == rg.float32 and L(r) == [1.5, 1.5]
    r = np.float32(3) * rg.ones(2, dtype=rg.int64)
    assert r.dtype == rg.float32 and L(r) == [3.0, 3.0]
    r = rg.ones(2) * np.float64(2.0)
    assert r.dtype == rg.float32 and L(r) == [2.0, 2.0]
    r = rg.tensor([1, 2]) - np.int32(1)
    assert r.dtype == rg.int64 and L(r) == [0, 1]


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch raises for ndarray (op) tensor")
@hsettings(max_examples=30)
@given(broadcast_pair(max_dims=3), seeds, st.sampled_from(["add", "sub", "mul", "lt", "eq", "ne"]))
def test_ndarray_operands_property(shape_pair, seed, op):
    sa, sb = shape_pair
    rng = np.random.default_rng(seed)
    a = rng.integers(-3, 4, size=sa).astype(np.float64)
    b = rng.integers(-3, 4, size=sb).astype(np.float64)
    f = {"add": lambda p, q: p + q, "sub": lambda p, q: p - q, "mul": lambda p, q: p * q,
         "lt": lambda p, q: p < q, "eq": lambda p, q: p == q, "ne": lambda p, q: p != q}[op]
    exp = f(a, b)
    for r in (f(a, T(b)), f(T(a), b)):
        assert isinstance(r, rg.Tensor)
        assert r.dtype == (rg.bool if op in ("lt", "eq", "ne") else rg.float64)
        np.testing.assert_array_equal(N(r), exp)
