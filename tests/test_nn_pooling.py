"""Pooling: ``F.max_pool1d/2d`` (with indices), ``avg_pool1d/2d``, the
adaptive pools, ``lp_pool1d/2d`` and their ``nn`` layers.

Values, indices and gradients are checked against direct-loop NumPy
references that follow ATen's kernels (output sizes with ``ceil_mode``,
-inf padding, the first maximum of a window winning ties, the average's
divisor rules, the adaptive windows ``[floor(i*n/o), ceil((i+1)*n/o))``),
through each of the window planner's three data paths; double backward by
``gradgradcheck``; and, where PyTorch is installed, values, indices,
gradients, errors and reprs against PyTorch itself."""

import itertools
import math

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn
import rustgrad.nn.functional as F
from conftest import REFERENCE, N, T, assert_close, functional_error_tests, ntuple

# ---------------------------------------------------------------------------
# NumPy references (loops over output positions, vectorized over N and C)
# ---------------------------------------------------------------------------

def np_out_size(n, k, s, p, d, ceil_mode):
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _window_taps(size, windows):
    """Per output position: the list of (position tuple) taps inside the input, row-major."""
    for o, axes in windows:
        taps = [t for t in itertools.product(*axes) if all(0 <= a < n for a, n in zip(t, size))]
        yield o, taps


def _sliding_axes(size, kernel, stride, padding, dilation, ceil_mode):
    out = [np_out_size(*a, ceil_mode) for a in zip(size, kernel, stride, padding, dilation)]
    windows = []
    for o in np.ndindex(*out):
        axes = [[i * s - p + j * d for j in range(k)] for i, k, s, p, d in zip(o, kernel, stride, padding, dilation)]
        windows.append((o, axes))
    return out, windows


def _adaptive_axes(size, out):
    windows = []
    for o in np.ndindex(*out):
        axes = [list(range(i * n // m, -(-(i + 1) * n // m))) for i, n, m in zip(o, size, out)]
        windows.append((o, axes))
    return windows


def np_max(x, out, windows):
    """ATen's max: start from the first tap inside the input, take strictly
    greater values or NaN. Returns values and flat indices."""
    size = x.shape[2:]
    vals = np.zeros(x.shape[:2] + tuple(out), dtype=x.dtype)
    idx = np.zeros(x.shape[:2] + tuple(out), dtype=np.int64)
    for o, taps in _window_taps(size, windows):
        best = np.full(x.shape[:2], -np.inf)
        where = np.full(x.shape[:2], np.ravel_multi_index(taps[0], size))
        for t in taps:
            v = x[(slice(None), slice(None)) + t]
            take = (v > best) | np.isnan(v)
            best, where = np.where(take, v, best), np.where(take, np.ravel_multi_index(t, size), where)
        vals[(...,) + o], idx[(...,) + o] = best, where
    return vals, idx


def np_max_grad(idx, g, x_shape):
    """The gradient of a max pool: each upstream value to its window's max."""
    n, c = x_shape[:2]
    grad = np.zeros((n, c, math.prod(x_shape[2:])))
    for i, j in np.ndindex(n, c):
        np.add.at(grad[i, j], idx[i, j].reshape(-1), g[i, j].reshape(-1))
    return grad.reshape(x_shape)


def np_avg(x, out, windows, divisors):
    """Sums over the taps inside the input, divided per window; returns
    values and the gradient's linear map as a function of upstream g."""
    size = x.shape[2:]
    vals = np.zeros(x.shape[:2] + tuple(out))
    plan = list(_window_taps(size, windows))
    for (o, taps), div in zip(plan, divisors):
        vals[(...,) + o] = sum(x[(slice(None), slice(None)) + t] for t in taps) / div

    def grad(g):
        gx = np.zeros(x.shape)
        for (o, taps), div in zip(plan, divisors):
            for t in taps:
                gx[(slice(None), slice(None)) + t] += g[(...,) + o] / div
        return gx
    return vals, grad


def avg_divisors(size, kernel, stride, padding, out, windows, count_include_pad, divisor_override):
    """ATen's avg_pool divide factor per window."""
    divs = []
    for o, _ in windows:
        start = [i * s - p for i, s, p in zip(o, stride, padding)]
        end = [min(a + k, n + p) for a, k, n, p in zip(start, kernel, size, padding)]
        pool = math.prod(e - a for a, e in zip(start, end))
        clipped = math.prod(min(e, n) - max(a, 0) for a, e, n in zip(start, end, size))
        divs.append(divisor_override or (pool if count_include_pad else clipped))
    return divs


def _rand(seed, shape):
    """Distinct random values (no ties unless a test makes them)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(math.prod(shape)).reshape(shape) / 7.0 - 3.0


# ---------------------------------------------------------------------------
# max pooling
# ---------------------------------------------------------------------------

# (input shape, kwargs)
MAX_CASES = [
    (2, (2, 3, 8, 8), dict(kernel_size=2)),
    (2, (2, 3, 7, 9), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 3, 7, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (2, (1, 1, 5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    (2, (2, 2, 9, 8), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), dilation=(2, 1))),
    (2, (3, 7, 9), dict(kernel_size=(3, 2), stride=(2, 1))),  # unbatched
    (1, (2, 3, 10), dict(kernel_size=3)),
    (1, (2, 3, 10), dict(kernel_size=4, stride=3, padding=2, dilation=2, ceil_mode=True)),
    (1, (3, 11), dict(kernel_size=2, padding=1)),  # unbatched 1-d
]


def _max_reference(x, nd, kw):
    kernel = ntuple(kw["kernel_size"], nd)
    stride = ntuple(kw.get("stride", kernel), nd)
    out, windows = _sliding_axes(x.shape[2:], kernel, stride, ntuple(kw.get("padding", 0), nd),
                                 ntuple(kw.get("dilation", 1), nd), kw.get("ceil_mode", False))
    return np_max(x, out, windows)


def _pool_fn(name, nd):
    return getattr(F, f"{name}{nd}d")


@pytest.mark.parametrize("nd,xs,kw", MAX_CASES)
def test_max_pool_matches_numpy(nd, xs, kw, window_strategy):
    x = _rand(len(xs), xs)
    batched = len(xs) == nd + 2
    xb = x if batched else x[None]
    values, idx = _max_reference(xb, nd, kw)
    xt = T(x, requires_grad=True)
    out, ind = _pool_fn("max_pool", nd)(xt, **kw, return_indices=True)
    assert_close(out, values if batched else values[0])
    assert ind.dtype == rg.int64
    np.testing.assert_array_equal(N(ind), idx if batched else idx[0])
    g = np.random.default_rng(0).uniform(0.5, 1.5, size=values.shape)
    (out * T(g if batched else g[0])).sum().backward()
    grad = np_max_grad(idx, g, xb.shape)
    assert_close(xt.grad, grad if batched else grad[0])
    # without return_indices: values only
    assert_close(_pool_fn("max_pool", nd)(T(x), **kw), values if batched else values[0])


def test_max_pool_ties_go_to_the_first_maximum(window_strategy):
    """Equal values: the index and the gradient go to each window's first
    tap (ATen compares with a strict >); overlapping windows add up."""
    x = T(np.ones((1, 1, 4, 5)), requires_grad=True)
    out, ind = F.max_pool2d(x, 3, stride=1, return_indices=True)
    np.testing.assert_array_equal(N(ind), [[[[0, 1, 2], [5, 6, 7]]]])
    out.sum().backward()
    expected = np.zeros((4, 5))
    for i, j in itertools.product(range(2), range(3)):
        expected[i, j] += 1
    assert_close(x.grad, expected[None, None])
    x1 = T(np.array([[[2.0, 5.0, 5.0, 1.0, 5.0]]]), requires_grad=True)
    out1, ind1 = F.max_pool1d(x1, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(N(ind1), [[[1, 1, 2, 4]]])
    out1.sum().backward()
    assert_close(x1.grad, [[[0.0, 2.0, 1.0, 0.0, 1.0]]])


def test_max_pool_all_minus_inf_windows_pick_the_first_real_tap(window_strategy):
    """-inf inputs tie with the -inf padding: ATen starts from the first tap
    inside the input, so index and gradient go there, not to the padding."""
    if window_strategy is not None:
        pytest.skip("non-finite data always takes the gather path")
    a = np.full((1, 1, 4, 4), -np.inf)
    a[0, 0, 2, 2] = 1.0
    x = T(a, requires_grad=True)
    out, ind = F.max_pool2d(x, 3, stride=1, padding=1, return_indices=True)
    values, idx = _max_reference(a, 2, dict(kernel_size=3, stride=1, padding=1))
    np.testing.assert_array_equal(N(out), values)
    np.testing.assert_array_equal(N(ind), idx)
    out.backward(T(np.ones(values.shape)))
    assert_close(x.grad, np_max_grad(idx, np.ones(values.shape), a.shape))


def test_max_pool_nan_and_inf_stay_local(window_strategy):
    """A NaN wins its windows (ATen takes NaN), an inf only its own: neither
    leaks into other windows (non-finite data takes the gather path)."""
    if window_strategy is not None:
        pytest.skip("non-finite data always takes the gather path")
    a = _rand(0, (1, 1, 6, 6))
    a[0, 0, 0, 0], a[0, 0, 5, 5] = np.nan, np.inf
    out, ind = F.max_pool2d(T(a), 2, return_indices=True)
    values, idx = _max_reference(a, 2, dict(kernel_size=2))
    np.testing.assert_array_equal(N(out), values)
    np.testing.assert_array_equal(N(ind), idx)
    assert np.isnan(N(out)[0, 0, 0, 0]) and np.isinf(N(out)[0, 0, 2, 2]) and np.isfinite(N(out)).sum() == 7


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_nonfinite_grad_output_stays_in_its_window(pool):
    """An inf in the output's gradient reaches only what its window passed
    the gradient to (a max pool's maximum, an average pool's taps), as in
    PyTorch, not every element as NaN: the gradient's own finiteness picks
    the backward's data path."""
    x = _rand(20, (2, 3, 6, 6))
    g = np.random.default_rng(3).uniform(0.5, 1.5, size=(2, 3, 3, 3))
    kw = dict(kernel_size=3, stride=2, padding=1)
    grads = []
    for value in (np.inf, 0.0):
        g[0, 1, 1, 1] = value
        xt = T(x, requires_grad=True)
        getattr(F, f"{pool}_pool2d")(xt, **kw).backward(T(g))
        grads.append(N(xt.grad))
    reads = np.zeros(x.shape, dtype=bool)
    if pool == "max":
        index = int(N(F.max_pool2d(T(x), **kw, return_indices=True)[1])[0, 1, 1, 1])
        reads[0, 1, index // 6, index % 6] = True
    else:
        reads[0, 1, 1:4, 1:4] = True  # output (1, 1) averages rows and columns 1..3
    assert np.isinf(grads[0][reads]).all()
    np.testing.assert_allclose(grads[0][~reads], grads[1][~reads], rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("nd,xs,kw", MAX_CASES)
def test_max_pool_vs_torch(torch, nd, xs, kw, dtype):
    x = _rand(3, xs).astype(dtype)
    ours, theirs = T(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ind = _pool_fn("max_pool", nd)(ours, **kw, return_indices=True)
    ref, rind = getattr(torch.nn.functional, f"max_pool{nd}d")(theirs, **kw, return_indices=True)
    np.testing.assert_array_equal(N(out), ref.detach().numpy())
    np.testing.assert_array_equal(N(ind), rind.numpy())
    g = np.random.default_rng(1).uniform(0.5, 1.5, size=tuple(ref.shape)).astype(dtype)
    (out * T(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    # overlapping windows add their gradients in another order
    np.testing.assert_allclose(N(ours.grad), theirs.grad.numpy(), rtol=1e-6 if dtype == "float32" else 1e-14)


def test_max_pool_integer_input_pads_with_the_lowest_value():
    x = -np.arange(1, 26).reshape(1, 1, 5, 5)
    for dtype in ("int64", "int32"):
        out, ind = F.max_pool2d(T(x, dtype=dtype), 2, padding=1, return_indices=True)
        values, idx = _max_reference(x, 2, dict(kernel_size=2, padding=1))
        assert out.dtype == getattr(rg, dtype)
        np.testing.assert_array_equal(N(out), values)
        np.testing.assert_array_equal(N(ind), idx)


def test_max_pool_double_backward():
    x = T(_rand(4, (1, 2, 5, 5)), requires_grad=True)
    assert rg.autograd.gradgradcheck(lambda x: F.max_pool2d(x, 3, stride=2, padding=1) ** 2, (x,))
    x1 = T(_rand(5, (2, 7)), requires_grad=True)
    assert rg.autograd.gradgradcheck(lambda x: F.max_pool1d(x, 2, ceil_mode=True) ** 3, (x1,))


# ---------------------------------------------------------------------------
# average pooling
# ---------------------------------------------------------------------------

AVG_CASES = [
    (2, (2, 3, 8, 8), dict(kernel_size=2)),
    (2, (2, 3, 7, 9), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 3, 7, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (2, (2, 3, 7, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    (2, (1, 1, 5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    (2, (3, 7, 9), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), divisor_override=5)),  # unbatched
    (1, (2, 3, 10), dict(kernel_size=3)),
    (1, (2, 3, 10), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)),
    (1, (3, 11), dict(kernel_size=2, padding=1)),  # unbatched 1-d
]


def _avg_reference(x, nd, kw):
    kernel = ntuple(kw["kernel_size"], nd)
    stride = ntuple(kw.get("stride", kernel), nd)
    padding = ntuple(kw.get("padding", 0), nd)
    out, windows = _sliding_axes(x.shape[2:], kernel, stride, padding, (1,) * nd, kw.get("ceil_mode", False))
    divs = avg_divisors(x.shape[2:], kernel, stride, padding, out, windows, kw.get("count_include_pad", True),
                        kw.get("divisor_override"))
    return np_avg(x, out, windows, divs)


@pytest.mark.parametrize("nd,xs,kw", AVG_CASES)
def test_avg_pool_matches_numpy(nd, xs, kw, window_strategy):
    x = _rand(7, xs)
    batched = len(xs) == nd + 2
    values, grad = _avg_reference(x if batched else x[None], nd, kw)
    xt = T(x, requires_grad=True)
    out = _pool_fn("avg_pool", nd)(xt, **kw)
    assert_close(out, values if batched else values[0])
    g = np.random.default_rng(2).uniform(0.5, 1.5, size=values.shape)
    (out * T(g if batched else g[0])).sum().backward()
    gx = grad(g)
    assert_close(xt.grad, gx if batched else gx[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("nd,xs,kw", AVG_CASES)
def test_avg_pool_vs_torch(torch, nd, xs, kw, dtype):
    x = _rand(8, xs).astype(dtype)
    ours, theirs = T(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = _pool_fn("avg_pool", nd)(ours, **kw)
    ref = getattr(torch.nn.functional, f"avg_pool{nd}d")(theirs, **kw)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(N(out), ref.detach().numpy(), **tol)
    g = np.random.default_rng(1).uniform(0.5, 1.5, size=tuple(ref.shape)).astype(dtype)
    (out * T(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(N(ours.grad), theirs.grad.numpy(), **tol)


def test_avg_pool_integer_input_truncates():
    x = np.array([[[[-3, 0, 7], [0, 0, 2], [5, -6, 1]]]])
    out = F.avg_pool2d(T(x), 2, stride=1)
    assert out.dtype == rg.int64
    np.testing.assert_array_equal(N(out), [[[[-0, 2], [-0, -0]]]])  # -3/4 and -1/4 truncate to 0, 9/4 to 2
    np.testing.assert_array_equal(N(F.avg_pool1d(T(x[0]), 2)), [[[-1], [0], [-0]]])


def test_avg_pool_double_backward():
    x = T(_rand(9, (1, 2, 5, 4)), requires_grad=True)
    assert rg.autograd.gradgradcheck(
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False) ** 2, (x,))


# ---------------------------------------------------------------------------
# adaptive pooling
# ---------------------------------------------------------------------------

ADAPTIVE_CASES = [(2, (2, 3, 7, 9), 3), (2, (3, 7, 9), (4, None)), (2, (2, 3, 5, 5), (7, 2)), (2, (2, 3, 8, 8), 1),
                  (2, (2, 3, 6, 6), (3, 3)), (1, (2, 3, 7), 3), (1, (3, 5), 7), (1, (2, 3, 10), 4)]


def _adaptive_reference(x, nd, output_size):
    size = x.shape[2:]
    out = ntuple(output_size, nd)
    out = tuple(n if o is None else o for n, o in zip(size, out))
    windows = _adaptive_axes(size, out)
    return out, windows


@pytest.mark.parametrize("nd,xs,output_size", ADAPTIVE_CASES)
def test_adaptive_pools_match_numpy(nd, xs, output_size, window_strategy):
    batched = len(xs) == nd + 2
    x = _rand(10, xs)
    xb = x if batched else x[None]
    out, windows = _adaptive_reference(xb, nd, output_size)
    unb = (lambda a: a) if batched else (lambda a: a[0])
    # average: each window's mean
    divs = [math.prod(len(a) for a in axes) for _, axes in windows]
    values, grad = np_avg(xb, out, windows, divs)
    xt = T(x, requires_grad=True)
    avg = _pool_fn("adaptive_avg_pool", nd)(xt, output_size)
    assert_close(avg, unb(values))
    g = np.random.default_rng(3).uniform(0.5, 1.5, size=values.shape)
    (avg * T(unb(g))).sum().backward()
    assert_close(xt.grad, unb(grad(g)))
    # max: values, indices and gradient
    mvals, idx = np_max(xb, out, windows)
    xt = T(x, requires_grad=True)
    mx, ind = _pool_fn("adaptive_max_pool", nd)(xt, output_size, return_indices=True)
    assert_close(mx, unb(mvals))
    np.testing.assert_array_equal(N(ind), unb(idx))
    (mx * T(unb(g))).sum().backward()
    assert_close(xt.grad, unb(np_max_grad(idx, g, xb.shape)))


@pytest.mark.parametrize("nd,xs,output_size", ADAPTIVE_CASES)
def test_adaptive_pools_vs_torch(torch, nd, xs, output_size):
    x = _rand(11, xs)
    for name in ("adaptive_avg_pool", "adaptive_max_pool"):
        ours, theirs = T(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        kw = {"return_indices": True} if "max" in name else {}
        out = _pool_fn(name, nd)(ours, output_size, **kw)
        ref = getattr(torch.nn.functional, f"{name}{nd}d")(theirs, output_size, **kw)
        if kw:
            np.testing.assert_array_equal(N(out[1]), ref[1].numpy())
            out, ref = out[0], ref[0]
        np.testing.assert_allclose(N(out), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
        g = np.random.default_rng(1).uniform(0.5, 1.5, size=tuple(ref.shape))
        (out * T(g)).sum().backward()
        (ref * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(N(ours.grad), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_adaptive_double_backward():
    x = T(_rand(12, (1, 2, 5, 7)), requires_grad=True)
    assert rg.autograd.gradgradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 2)) ** 2, (x,))
    assert rg.autograd.gradgradcheck(lambda x: F.adaptive_max_pool2d(x, (2, 3)) ** 2, (x,))


# ---------------------------------------------------------------------------
# power-average pooling, edge sizes
# ---------------------------------------------------------------------------

def test_lp_pool_matches_numpy():
    x = np.abs(_rand(13, (2, 3, 7, 9))) + 0.1
    for p in (2.0, 3):
        out = F.lp_pool2d(T(x), p, 3, stride=2, ceil_mode=True)
        kw = dict(kernel_size=3, stride=2, ceil_mode=True)
        values, _ = _avg_reference(x ** p, 2, kw)
        assert_close(out, (values * 9) ** (1 / p))
    out1 = F.lp_pool1d(T(x[0]), 2, 2)
    values1, _ = _avg_reference(x[0] ** 2, 1, dict(kernel_size=2))
    assert_close(out1, (values1 * 2) ** 0.5)
    assert_close(F.lp_pool2d(T(-x), float("inf"), 2), N(F.max_pool2d(T(x), 2)))
    with pytest.raises(ValueError, match="^norm_type must be a non-zero value, but got 0$"):
        F.lp_pool2d(T(x), 0, 2)
    xt = T(x[:1, :1, :4, :4], requires_grad=True)
    assert rg.autograd.gradgradcheck(lambda x: F.lp_pool2d(x, 2, 2), (xt,))


def test_lp_pool_vs_torch(torch):
    x = np.abs(_rand(14, (2, 3, 7, 9))) + 0.1
    for args in ((2, 3, 2, True), (3, (2, 3), None, False), (float("inf"), 2, None, False)):
        np.testing.assert_allclose(N(F.lp_pool2d(T(x), *args)),
                                   torch.nn.functional.lp_pool2d(torch.tensor(x), *args).numpy(), rtol=1e-12)
        np.testing.assert_allclose(N(F.lp_pool1d(T(x[0]), args[0], 3)),
                                   torch.nn.functional.lp_pool1d(torch.tensor(x[0]), args[0], 3).numpy(), rtol=1e-12)


def test_outputs_are_contiguous():
    x = rg.randn(2, 3, 7, 6).transpose(2, 3)  # a non-contiguous input
    for out in (F.max_pool2d(x, 2), F.max_pool2d(x, 3, 1, 1, return_indices=True)[1], F.avg_pool2d(x, 2),
                F.adaptive_avg_pool2d(x, 3), F.adaptive_max_pool2d(x, (2, 5)), F.max_pool1d(x[:, :, 0], 2),
                F.avg_pool1d(x[:, :, 0], 2), F.adaptive_avg_pool1d(x[:, :, 0], 4)):
        assert out.is_contiguous()
        out.view(-1)


def test_empty_batch_and_empty_output():
    out, ind = F.max_pool2d(rg.zeros(0, 4, 8, 8), 2, return_indices=True)
    assert tuple(out.shape) == (0, 4, 4, 4) and tuple(ind.shape) == (0, 4, 4, 4) and ind.dtype == rg.int64
    assert tuple(F.avg_pool2d(rg.zeros(0, 4, 8, 8), 2).shape) == (0, 4, 4, 4)
    assert tuple(F.adaptive_avg_pool2d(rg.zeros(0, 4, 8, 8), 3).shape) == (0, 4, 3, 3)
    assert tuple(F.adaptive_avg_pool2d(rg.zeros(1, 4, 8, 8), 0).shape) == (1, 4, 0, 0)
    out, ind = F.adaptive_max_pool1d(rg.zeros(2, 3, 8), 0, return_indices=True)
    assert tuple(out.shape) == (2, 3, 0) and tuple(ind.shape) == (2, 3, 0)


# ---------------------------------------------------------------------------
# errors (PyTorch's classes and messages)
# ---------------------------------------------------------------------------

ERROR_CASES = [
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8), 3, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1"),
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8), 0), RuntimeError, "stride should not be zero"),
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8), 0, stride=1), RuntimeError,
     "kernel size should be greater than zero, but got kH: 0 kW: 0"),
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8), 2, stride=-1), RuntimeError,
     "stride should be greater than zero, but got dH: -1 dW: -1"),
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8), 2, padding=-1), RuntimeError,
     "pad must be non-negative, but got pad: -1"),
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8), 2, dilation=0), RuntimeError,
     "dilation should be greater than zero, but got dilationH: 0 dilationW: 0"),
    (lambda F, z: F.max_pool2d(z(4, 8), 2), RuntimeError, "non-empty 3D or 4D (batch mode) tensor expected for input"),
    (lambda F, z: F.max_pool2d(z(4, 0, 8, 8), 2), RuntimeError,
     "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[4, 0, 8, 8]"),
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8), 9), RuntimeError,
     "Given input size: (4x8x8). Calculated output size: (4x0x0). Output size is too small"),
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8), (2, 2, 2)), RuntimeError,
     "max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8), 2, stride=(1, 2, 3)), RuntimeError,
     "max_pool2d: stride must either be omitted, a single int, or a tuple of two ints"),
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8), 2, padding=(1, 2, 3)), RuntimeError,
     "max_pool2d: padding must either be a single int, or a tuple of two ints"),
    (lambda F, z: F.max_pool2d(z(1, 4, 8, 8).bool(), 2), NotImplementedError,
     "\"max_pool2d\" not implemented for 'Bool'"),
    (lambda F, z: F.max_pool1d(z(1, 4, 8, 8), 2), RuntimeError,
     "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but "
     "got:[1, 4, 8, 8]"),
    (lambda F, z: F.max_pool1d(z(2, 3, 8), 9), RuntimeError, "max_pool1d() Invalid computed output size: 0"),
    (lambda F, z: F.max_pool1d(z(2, 3, 8), 3, padding=2), RuntimeError,
     "max_pool1d() padding should be at most half of kernel size, but got padding=2 and kernel_size=3"),
    (lambda F, z: F.max_pool1d(z(2, 3, 8), 0), RuntimeError,
     "max_pool1d() kernel_size must be greater than zero, but got 0"),
    (lambda F, z: F.max_pool1d(z(2, 3, 8), 2, stride=0), RuntimeError,
     "max_pool1d() stride must be greater than zero, but got 0"),
    (lambda F, z: F.max_pool1d(z(2, 3, 8), 2, padding=-1), RuntimeError,
     "max_pool1d() padding must be non-negative, but got -1"),
    (lambda F, z: F.max_pool1d(z(2, 3, 8), 2, dilation=0), RuntimeError,
     "max_pool1d() dilation must be greater than zero, but got 0"),
    (lambda F, z: F.max_pool1d(z(2, 3, 8), (2, 2)), RuntimeError,
     "max_pool1d() kernel_size must be an int, list of ints or tuple of ints of size 1 but got size 2"),
    (lambda F, z: F.max_pool1d(z(2, 3, 8).long(), 2), NotImplementedError,
     "\"max_pool1d_impl\" not implemented for 'Long'"),
    (lambda F, z: F.avg_pool2d(z(4, 8), 2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got -3)"),
    (lambda F, z: F.avg_pool2d(z(1, 4, 8, 8), 3, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1"),
    (lambda F, z: F.avg_pool2d(z(1, 4, 8, 8), 2, divisor_override=0), RuntimeError, "divisor must be not zero"),
    (lambda F, z: F.avg_pool2d(z(1, 4, 8, 8), (2, 2, 2)), RuntimeError,
     "avg_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    (lambda F, z: F.avg_pool2d(z(1, 4, 8, 8).bool(), 2), NotImplementedError,
     "\"avg_pool2d\" not implemented for 'Bool'"),
    (lambda F, z: F.avg_pool1d(z(4, 8, 8, 8), 2), RuntimeError,
     "Expected 2 to 3 dimensions, but got 4-dimensional tensor for argument #1 'self' (while checking arguments "
     "for avg_pool1d)"),
    (lambda F, z: F.avg_pool1d(z(2, 3, 8), 9), RuntimeError,
     "Given input size: (3x1x8). Calculated output size: (3x1x0). Output size is too small"),
    (lambda F, z: F.avg_pool1d(z(2, 3, 8), (2, 2)), RuntimeError,
     "avg_pool1d() argument 'kernel_size' should contain one int (got 2)"),
    (lambda F, z: F.adaptive_avg_pool2d(z(4, 8), 2), RuntimeError,
     "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [4, 8]"),
    (lambda F, z: F.adaptive_max_pool2d(z(4, 8), 2), RuntimeError,
     "adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: [4, 8]"),
    (lambda F, z: F.adaptive_avg_pool2d(z(1, 4, 8, 8), (2, 2, 2)), RuntimeError,
     "adaptive_avg_pool2d: output_size must be 2"),
    (lambda F, z: F.adaptive_avg_pool2d(z(1, 4, 0, 8), 2), RuntimeError,
     "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes "
     "[1, 4, 0, 8] with dimension 2 being empty"),
    (lambda F, z: F.adaptive_avg_pool2d(z(1, 4, 8, 8), -1), RuntimeError,
     "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {-1, -1}"),
    (lambda F, z: F.adaptive_avg_pool2d(z(1, 4, 8, 8).long(), 2), NotImplementedError,
     "\"adaptive_avg_pool2d\" not implemented for 'Long'"),
    (lambda F, z: F.adaptive_avg_pool1d(z(1, 4, 8, 8), 3), RuntimeError,
     "Expected 2 to 3 dimensions, but got 4-dimensional tensor for argument #1 'self' (while checking arguments "
     "for adaptive_avg_pool1d)"),
    (lambda F, z: F.adaptive_max_pool1d(z(1, 4, 8), (3, 4)), RuntimeError,
     "adaptive_max_pool1d() argument 'output_size' should contain one int (got 2)"),
    (lambda F, z: F.adaptive_max_pool1d(z(2, 3, 0), 2), RuntimeError,
     "adaptive_max_pool1d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes "
     "[2, 3, 0] with dimension 2 being empty"),
]


test_errors, test_errors_same_as_torch = functional_error_tests(ERROR_CASES)


# ---------------------------------------------------------------------------
# layers
# ---------------------------------------------------------------------------

REPRS = [
    ("MaxPool2d(2)", "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"),
    ("MaxPool1d(3, 2, 1, ceil_mode=True)", "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)"),
    ("MaxPool2d((2, 3), stride=1, return_indices=True)",
     "MaxPool2d(kernel_size=(2, 3), stride=1, padding=0, dilation=1, ceil_mode=False)"),
    ("AvgPool1d(3)", "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"),
    ("AvgPool2d((2, 3), divisor_override=2)", "AvgPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0)"),
    ("AdaptiveAvgPool2d((None, 3))", "AdaptiveAvgPool2d(output_size=(None, 3))"),
    ("AdaptiveAvgPool1d(5)", "AdaptiveAvgPool1d(output_size=5)"),
    ("AdaptiveMaxPool1d(4, True)", "AdaptiveMaxPool1d(output_size=4)"),
    ("AdaptiveMaxPool2d(1)", "AdaptiveMaxPool2d(output_size=1)"),
    ("LPPool2d(2, 3)", "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"),
    ("LPPool1d(1.5, 2, 1)", "LPPool1d(norm_type=1.5, kernel_size=2, stride=1, ceil_mode=False)"),
]


@pytest.mark.parametrize("ctor,expected", REPRS)
def test_layer_repr(ctor, expected):
    assert repr(eval("nn." + ctor)) == expected


@pytest.mark.parametrize("ctor,expected", REPRS)
def test_layer_repr_same_as_torch(torch, ctor, expected):
    assert repr(eval("torch.nn." + ctor)) == expected


def test_layers_forward_their_functional():
    x = T(_rand(15, (2, 3, 7, 8)))
    x1 = T(_rand(16, (2, 3, 9)))
    pairs = [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), lambda: F.max_pool2d(x, 3, 2, 1, ceil_mode=True)),
        (nn.MaxPool1d(2), lambda: F.max_pool1d(x1, 2)),
        (nn.AvgPool2d(2, count_include_pad=False, padding=1), lambda: F.avg_pool2d(x, 2, padding=1,
                                                                                    count_include_pad=False)),
        (nn.AvgPool1d(3, 2), lambda: F.avg_pool1d(x1, 3, 2)),
        (nn.AdaptiveAvgPool2d((3, None)), lambda: F.adaptive_avg_pool2d(x, (3, None))),
        (nn.AdaptiveAvgPool1d(4), lambda: F.adaptive_avg_pool1d(x1, 4)),
        (nn.AdaptiveMaxPool2d(2), lambda: F.adaptive_max_pool2d(x, 2)),
        (nn.AdaptiveMaxPool1d(4), lambda: F.adaptive_max_pool1d(x1, 4)),
    ]
    for layer, fn in pairs:
        inp = x1 if "1d" in type(layer).__name__ else x
        np.testing.assert_array_equal(N(layer(inp)), N(fn()))
    out, ind = nn.MaxPool2d(2, return_indices=True)(x)
    np.testing.assert_array_equal(N(ind), N(F.max_pool2d(x, 2, return_indices=True)[1]))
    out, ind = nn.AdaptiveMaxPool1d(3, return_indices=True)(x1)
    np.testing.assert_array_equal(N(ind), N(F.adaptive_max_pool1d(x1, 3, return_indices=True)[1]))
    assert list(nn.MaxPool2d(2).parameters()) == []
    with pytest.raises(ValueError, match="^norm_type must be a non-zero value, but got 0$"):
        nn.LPPool2d(0, 2)
