"""The sliding-window planner under convolution, ``unfold``/``fold`` and the
pools (``nn/functional/_windows.py``): non-finite inputs and gradients
against PyTorch (an inf or NaN stays in the windows that read it, forward
and backward), higher derivatives through every data path, and the plan
cache's byte bound."""

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn.functional as F
from conftest import REFERENCE, WINDOW_STRATEGIES, T, force_window_strategy


def _rand(seed, shape):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape)


# (name, input shape, extra argument shapes, call(F, x, *args)); small
# geometries, so the planner's own choice is a matmul plan for finite data
OPS = [
    ("conv2d", (2, 4, 6, 6), [(4, 4, 3, 3), (4,)], lambda F, x, w, b: F.conv2d(x, w, b, padding=1)),
    ("conv2d_depthwise", (2, 4, 6, 6), [(4, 1, 3, 3)], lambda F, x, w: F.conv2d(x, w, padding=1, groups=4)),
    ("conv2d_grouped_strided", (2, 4, 7, 7), [(6, 2, 3, 3)],
     lambda F, x, w: F.conv2d(x, w, stride=2, padding=1, groups=2)),
    ("conv1d", (2, 4, 9), [(4, 2, 3)], lambda F, x, w: F.conv1d(x, w, padding=2, dilation=2, groups=2)),
    ("conv_transpose2d", (2, 4, 4, 4), [(4, 1, 3, 3)],
     lambda F, x, w: F.conv_transpose2d(x, w, stride=2, groups=4)),
    ("max_pool2d", (2, 3, 6, 6), [], lambda F, x: F.max_pool2d(x, 3, stride=2, padding=1)),
    ("avg_pool2d", (2, 3, 6, 6), [], lambda F, x: F.avg_pool2d(x, 3, stride=2, padding=1)),
    ("adaptive_avg_pool2d", (2, 3, 7, 7), [], lambda F, x: F.adaptive_avg_pool2d(x, 3)),
    ("unfold", (2, 3, 5, 5), [], lambda F, x: F.unfold(x, 2, padding=1)),
    ("fold", (2, 12, 25), [], lambda F, x: F.fold(x, (4, 4), 2, padding=1)),
]


def _run(lib, Fn, call, arrays, grad_output=None, poison=None):
    """Forward (and, with ``grad_output``, backward) of ``call``; returns
    the output and the inputs' gradients as arrays. ``poison(g)`` edits the
    gradient array once the output's shape is known."""
    ts = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = call(Fn, *ts)
    g = np.random.default_rng(9).uniform(0.5, 1.5, size=tuple(out.shape))
    if poison is not None:
        poison(g)
    out.backward(lib.tensor(g))
    return [out.detach().numpy()] + [t.grad.numpy() for t in ts]


def _poison_input(value):
    def poison(arrays):
        x = arrays[0]
        x[(0, 1) + tuple(n // 2 for n in x.shape[2:])] = value
    return poison


def _poison_grad(value):
    def poison(g):
        g[(0, 0) + tuple(n // 2 for n in g.shape[2:])] = value
    return poison


@pytest.mark.parametrize("value", [np.inf, np.nan], ids=["inf", "nan"])
@pytest.mark.parametrize("where", ["input", "grad_output"])
@pytest.mark.parametrize("name, shape, extra, call", OPS, ids=[op[0] for op in OPS])
def test_nonfinite_values_stay_where_pytorch_has_them(torch, name, shape, extra, call, where, value):
    """An inf or NaN in the input or in the output's gradient: the output and
    every gradient are NaN, inf and finite exactly where PyTorch's are, and
    the finite elements agree."""
    arrays = [_rand(i, s) for i, s in enumerate([shape] + extra)]
    poison_grad = None
    if where == "input":
        _poison_input(value)(arrays)
    else:
        poison_grad = _poison_grad(value)
    ours = _run(rg, F, call, arrays, poison=poison_grad)
    theirs = _run(torch, torch.nn.functional, call, arrays, poison=poison_grad)
    for label, a, b in zip(["output"] + [f"grad {i}" for i in range(len(arrays))], ours, theirs):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{label}: NaN positions")
        np.testing.assert_array_equal(np.isposinf(a), np.isposinf(b), err_msg=f"{label}: +inf positions")
        np.testing.assert_array_equal(np.isneginf(a), np.isneginf(b), err_msg=f"{label}: -inf positions")
        finite = np.isfinite(a)
        np.testing.assert_allclose(a[finite], b[finite], rtol=1e-10, atol=1e-12, err_msg=label)


@pytest.fixture(params=WINDOW_STRATEGIES)
def forced(request, monkeypatch):
    """Forces one data path for every im2col/col2im, gradients included."""
    force_window_strategy(monkeypatch, request.param)
    return request.param


@pytest.mark.parametrize("name, shape, extra, call", OPS, ids=[op[0] for op in OPS])
def test_second_derivatives_through_every_data_path(forced, name, shape, extra, call):
    """im2col and col2im are autograd nodes whose backward is the other one:
    ``gradgradcheck`` passes on each data path (the max pool squared, so
    its second derivative is not zero)."""
    arrays = [_rand(10 + i, s) for i, s in enumerate([shape] + extra)]
    ts = [T(a, requires_grad=True) for a in arrays]
    assert rg.autograd.gradgradcheck(lambda *xs: call(F, *xs) ** 2, ts)


# ---------------------------------------------------------------------------
# the plan cache
# ---------------------------------------------------------------------------

class _Blob:
    def __init__(self, nbytes):
        self.nbytes = nbytes


@pytest.fixture
def internals():
    if REFERENCE:
        pytest.skip("rustgrad's planner internals")
    from rustgrad.nn.functional import _cache, _windows
    return _cache, _windows


def test_byte_lru_evicts_least_recently_used_beyond_its_budget(internals):
    _cache, _ = internals
    cache = _cache.ByteLRU(100)
    calls = []

    @cache.memoize
    def make(key, size):
        calls.append(key)
        return _Blob(size)

    a = make("a", 40)
    make("b", 40)
    assert make("a", 40) is a and calls == ["a", "b"]  # a hit, and now the most recent
    make("c", 40)  # 120 bytes: b, the least recently used, goes
    assert cache.nbytes == 80 and len(cache) == 2
    make("a", 40)
    make("b", 40)
    assert calls == ["a", "b", "c", "b"]
    big = make("d", 500)  # larger than the budget: kept alone, as the most recent
    assert len(cache) == 1 and make("d", 500) is big
    big.nbytes = 10  # a value that shrinks or grows: trim re-measures
    make("e", 50)
    a = make("a", 30)
    a.nbytes = 95
    cache.trim()
    assert len(cache) == 1 and cache.nbytes == 95


def test_plans_hold_one_index_array_and_stay_within_the_byte_budget(internals, monkeypatch):
    """A plan's only (L, K) array is its int64 index, shared with the tensor
    the gather uses; plans (and their matmul matrices, built later) are
    dropped by bytes, not count."""
    _, _windows = internals
    win = _windows.sliding((224, 224), (3, 3), (1, 1), (1, 1), (1, 1), (224, 224))
    per_plan = 224 * 224 * 9 * 8
    assert per_plan <= win.nbytes < 1.01 * per_plan
    index = win.const("index")
    assert np.shares_memory(index.numpy(), win.index) and win.nbytes < 1.01 * per_plan
    assert win.const("outside").dtype == rg.bool and win.nbytes < 1.2 * per_plan

    _windows.PLANS.clear()
    monkeypatch.setattr(_windows.PLANS, "budget", 3 * per_plan)
    for n in range(220, 226):
        _windows.sliding((n, 224), (3, 3), (1, 1), (1, 1), (1, 1), (n, 224))
        assert _windows.PLANS.nbytes <= 3 * per_plan
    assert len(_windows.PLANS) == 2  # three would be just over: index plus the small per-dim taps
    small = _windows.sliding((8, 8), (3, 3), (1, 1), (1, 1), (1, 1), (8, 8))
    small.const("dense", rg.float32)  # built after insertion: counted, and the cache re-trimmed
    assert small.nbytes > 64 * 9 * 64 * 4 and _windows.PLANS.nbytes <= 3 * per_plan
    _windows.PLANS.clear()

