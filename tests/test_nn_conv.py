"""Convolutions: ``F.conv1d``/``conv2d``, ``conv_transpose1d``/``2d``,
``unfold``/``fold`` and the ``nn.Conv*``/``nn.ConvTranspose*`` layers.

Forward values are checked against direct-loop NumPy references (small
sizes) for many geometries (stride, padding incl. 'same'/'valid', dilation,
groups, output_padding, unbatched input), through each of the three ways
the window planner moves data (dense matmul, separable matmuls,
index_select gather). Gradients are checked by float64 finite differences
and ``gradgradcheck``, and, where PyTorch is installed, values, gradients,
errors and reprs against PyTorch itself."""

import itertools
import math
import warnings

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn
import rustgrad.nn.functional as F
from conftest import REFERENCE, N, T, assert_close, check_grads, functional_error_tests, ntuple, run_python

# ---------------------------------------------------------------------------
# NumPy references (direct loops)
# ---------------------------------------------------------------------------

def np_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation by loops; ``padding`` is an int/tuple (both sides)
    or a list of (before, after) pairs."""
    nd = x.ndim - 2
    stride, dilation = ntuple(stride, nd), ntuple(dilation, nd)
    pads = padding if isinstance(padding, list) else [(p, p) for p in ntuple(padding, nd)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    kernel = w.shape[2:]
    out = [(xp.shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(nd)]
    n, c, o = x.shape[0], x.shape[1], w.shape[0]
    cg, og = c // groups, o // groups
    y = np.zeros((n, o, *out))
    for idx in np.ndindex(*out):
        for k in np.ndindex(*kernel):
            pos = tuple(i * s + kk * d for i, s, kk, d in zip(idx, stride, k, dilation))
            patch = xp[(slice(None), slice(None)) + pos]
            for g in range(groups):
                wk = w[(slice(g * og, (g + 1) * og), slice(None)) + k]
                y[(slice(None), slice(g * og, (g + 1) * og)) + idx] += patch[:, g * cg:(g + 1) * cg] @ wk.T
    if b is not None:
        y += b.reshape((1, o) + (1,) * nd)
    return y


def np_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution by scattering every input element."""
    nd = x.ndim - 2
    stride, padding, dilation, output_padding = (ntuple(v, nd) for v in (stride, padding, dilation, output_padding))
    kernel, size = w.shape[2:], x.shape[2:]
    full = [(n - 1) * s + d * (k - 1) + 1 + op
            for n, s, d, k, op in zip(size, stride, dilation, kernel, output_padding)]
    n, cin = x.shape[0], x.shape[1]
    cog, cig = w.shape[1], cin // groups
    y = np.zeros((n, cog * groups, *full))
    for idx in np.ndindex(*size):
        for k in np.ndindex(*kernel):
            pos = tuple(i * s + kk * d for i, s, kk, d in zip(idx, stride, k, dilation))
            for g in range(groups):
                xs = x[(slice(None), slice(g * cig, (g + 1) * cig)) + idx]
                y[(slice(None), slice(g * cog, (g + 1) * cog)) + pos] += xs @ w[(slice(g * cig, (g + 1) * cig),
                                                                                 slice(None)) + k]
    y = y[(slice(None), slice(None)) + tuple(slice(p, f - p) for p, f in zip(padding, full))]
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * nd)
    return y


def np_unfold(x, kernel, dilation=1, padding=0, stride=1):
    kernel, dilation, padding, stride = (ntuple(v, 2) for v in (kernel, dilation, padding, stride))
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    out = [(xp.shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(2)]
    n, c = x.shape[:2]
    cols = np.zeros((n, c, kernel[0], kernel[1], out[0], out[1]))
    for i, j, ki, kj in itertools.product(range(out[0]), range(out[1]), range(kernel[0]), range(kernel[1])):
        cols[:, :, ki, kj, i, j] = xp[:, :, i * stride[0] + ki * dilation[0], j * stride[1] + kj * dilation[1]]
    return cols.reshape(n, c * kernel[0] * kernel[1], out[0] * out[1])


def np_fold(cols, output_size, kernel, dilation=1, padding=0, stride=1):
    kernel, dilation, padding, stride, size = (ntuple(v, 2) for v in (kernel, dilation, padding, stride, output_size))
    out = [(size[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(2)]
    n, ck = cols.shape[:2]
    c = ck // (kernel[0] * kernel[1])
    cols = cols.reshape(n, c, kernel[0], kernel[1], out[0], out[1])
    y = np.zeros((n, c, size[0] + 2 * padding[0], size[1] + 2 * padding[1]))
    for i, j, ki, kj in itertools.product(range(out[0]), range(out[1]), range(kernel[0]), range(kernel[1])):
        y[:, :, i * stride[0] + ki * dilation[0], j * stride[1] + kj * dilation[1]] += cols[:, :, ki, kj, i, j]
    return y[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]]


def _same_pads(kernel, dilation):
    """PyTorch's 'same' padding: total d*(k-1), the odd element after."""
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]


# ---------------------------------------------------------------------------
# conv1d / conv2d forward and gradients
# ---------------------------------------------------------------------------

# (input shape, weight shape, kwargs)
CONV2D_CASES = [
    ((2, 3, 6, 7), (4, 3, 3, 3), {}),
    ((2, 3, 6, 7), (4, 3, 3, 3), dict(padding=1)),
    ((2, 3, 6, 7), (4, 3, 2, 3), dict(stride=2, padding=(1, 0))),
    ((1, 2, 9, 8), (3, 2, 3, 2), dict(stride=(2, 3), padding=(2, 1), dilation=(2, 1))),
    ((2, 4, 6, 6), (6, 2, 3, 3), dict(padding=1, groups=2)),
    ((2, 4, 5, 5), (4, 1, 3, 3), dict(padding=1, groups=4)),  # depthwise
    ((2, 3, 6, 7), (4, 3, 3, 3), dict(padding="same")),
    ((2, 3, 6, 7), (4, 3, 2, 4), dict(padding="same")),  # even kernels: asymmetric
    ((2, 3, 7, 6), (2, 3, 3, 2), dict(padding="same", dilation=(2, 3))),
    ((2, 3, 6, 7), (4, 3, 3, 3), dict(padding="valid", stride=2)),
    ((3, 6, 7), (4, 3, 3, 3), dict(padding=1)),  # unbatched
    ((2, 3, 1, 1), (5, 3, 1, 1), {}),
    ((2, 3, 4, 4), (2, 3, 4, 4), {}),  # one window
]

CONV1D_CASES = [
    ((2, 3, 9), (4, 3, 3), {}),
    ((2, 4, 10), (6, 2, 3), dict(stride=2, padding=2, dilation=2, groups=2)),
    ((2, 3, 8), (4, 3, 4), dict(padding="same")),
    ((3, 9), (2, 3, 2), dict(padding=1, stride=3)),  # unbatched
]


def _np_args(kw, kernel):
    """The NumPy reference's padding for PyTorch's keyword arguments."""
    kw = dict(kw)
    nd = len(kernel)
    if kw.get("padding") == "same":
        kw["padding"] = _same_pads(kernel, ntuple(kw.get("dilation", 1), nd))
    elif kw.get("padding") == "valid":
        kw["padding"] = 0
    return kw


def _rand(rng, shape):
    return rng.uniform(-1, 1, size=shape)


@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES + CONV1D_CASES)
def test_conv_matches_numpy(xs, ws, kw, window_strategy):
    rng = np.random.default_rng(len(xs) * 7 + ws[0])
    x, w, b = _rand(rng, xs), _rand(rng, ws), _rand(rng, ws[:1])
    conv = F.conv2d if len(ws) == 4 else F.conv1d
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = conv(T(x), T(w), T(b), **kw)
    xb = x if len(xs) == len(ws) else x[None]
    expected = np_conv(xb, w, b, **_np_args(kw, ws[2:]))
    assert_close(out, expected if len(xs) == len(ws) else expected[0])
    assert out.dtype == rg.float64


@pytest.mark.parametrize("xs,ws,kw", [CONV2D_CASES[i] for i in (1, 3, 4, 7, 10)] + [CONV1D_CASES[1]])
def test_conv_gradients_finite_differences(xs, ws, kw, window_strategy):
    rng = np.random.default_rng(3)
    conv = F.conv2d if len(ws) == 4 else F.conv1d
    arrays = [_rand(rng, (1,) + xs[1:] if len(xs) == len(ws) else xs), _rand(rng, ws), _rand(rng, ws[:1])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_grads(lambda x, w, b: conv(x, w, b, **kw), arrays)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES + CONV1D_CASES)
def test_conv_vs_torch(torch, xs, ws, kw, dtype):
    rng = np.random.default_rng(11)
    arrays = [_rand(rng, xs).astype(dtype), _rand(rng, ws).astype(dtype), _rand(rng, ws[:1]).astype(dtype)]
    name = "conv2d" if len(ws) == 4 else "conv1d"
    ours = [T(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(F, name)(*ours, **kw)
        ref = getattr(torch.nn.functional, name)(*theirs, **kw)
    g = rng.uniform(0.5, 1.5, size=tuple(ref.shape)).astype(dtype)
    (out * T(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(N(out), ref.detach().numpy(), **tol)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(N(a.grad), b.grad.numpy(), **tol)


def test_conv_demo_sizes_float32(window_strategy):
    """The demo's layer (batch 64, 16 -> 32 channels, 8x8, 3x3, padding 1)
    in float32 against the float64 NumPy reference."""
    rng = np.random.default_rng(0)
    x, w, b = _rand(rng, (64, 16, 8, 8)), _rand(rng, (32, 16, 3, 3)), _rand(rng, (32,))
    out = F.conv2d(T(x, dtype="float32"), T(w, dtype="float32"), T(b, dtype="float32"), padding=1)
    assert out.dtype == rg.float32
    assert_close(out, np_conv(x, w, b, padding=1), rtol=1e-4, atol=1e-5)


def test_outputs_are_contiguous():
    """PyTorch returns contiguous outputs; code relies on it (``out.view(n, -1)``)."""
    x = rg.randn(2, 3, 6, 6)
    for out in (F.conv2d(x, rg.randn(4, 3, 3, 3), padding=1), F.conv1d(x[:, :, 0], rg.randn(4, 3, 2)),
                F.conv_transpose2d(x, rg.randn(3, 2, 3, 3), stride=2), F.unfold(x, 2), F.fold(F.unfold(x, 2), 6, 2)):
        assert out.is_contiguous()
        out.view(out.shape[0], -1)


@pytest.mark.parametrize("groups", [1, 2])
def test_empty_batch(groups):
    """A batch of 0 gives an empty output of the right shape (PyTorch's),
    and gradients of the right shapes."""
    x = rg.zeros(0, 4, 5, 5, requires_grad=True)
    w, b = rg.ones(6, 4 // groups, 3, 3, requires_grad=True), rg.ones(6, requires_grad=True)
    out = F.conv2d(x, w, b, padding=1, groups=groups)
    assert tuple(out.shape) == (0, 6, 5, 5)
    out.sum().backward()
    assert tuple(x.grad.shape) == (0, 4, 5, 5) and N(w.grad).sum() == 0 and N(b.grad).sum() == 0
    wt = rg.ones(4, 3, 2, 2)  # (C_in, C_out / groups, kH, kW)
    assert tuple(F.conv_transpose2d(x, wt, stride=2, groups=groups).shape) == (0, 3 * groups, 10, 10)


def test_conv_bias_none_and_no_grad_inputs():
    rng = np.random.default_rng(1)
    x, w = _rand(rng, (2, 3, 5, 5)), _rand(rng, (2, 3, 3, 3))
    xt, wt = T(x), T(w, requires_grad=True)
    out = F.conv2d(xt, wt)
    assert_close(out, np_conv(x, w))
    out.sum().backward()
    assert xt.grad is None and wt.grad is not None
    with rg.no_grad():
        assert F.conv2d(xt, wt).grad_fn is None


def test_conv_integer_dtype():
    """Integer convolution is exact, as PyTorch's CPU kernel."""
    x = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5)
    w = np.arange(4 * 3 * 3 * 3).reshape(4, 3, 3, 3) % 5 - 2
    b = np.array([1, -2, 3, 0])
    out = F.conv2d(T(x), T(w), T(b), padding=1)
    assert out.dtype == rg.int64
    np.testing.assert_array_equal(N(out), np_conv(x, w, b, padding=1).astype(np.int64))


def test_conv_nonfinite_input_stays_local(window_strategy):
    """An inf in the input only reaches the outputs whose windows read it
    (the matmul data paths would smear NaN over the row: the planner must
    fall back to the gather)."""
    if window_strategy is not None:
        pytest.skip("the automatic choice is what handles non-finite data")
    x = np.zeros((1, 1, 6, 6))
    x[0, 0, 0, 0] = np.inf
    out = N(F.conv2d(T(x), T(np.ones((1, 1, 3, 3))), padding=1))
    assert np.isinf(out[0, 0, :2, :2]).all()
    out[0, 0, :2, :2] = 0
    np.testing.assert_array_equal(out, np.zeros_like(out))


@pytest.mark.parametrize("groups", [2, 4])
def test_grouped_conv_nonfinite_input_stays_in_its_group(groups):
    """An inf in one group's input only reaches that group's outputs whose
    windows read it (as PyTorch; a block-diagonal weight would meet it with
    the other groups' zeros: 0 * inf = NaN)."""
    rng = np.random.default_rng(11)
    x, w = _rand(rng, (2, 4, 6, 6)), _rand(rng, (4, 4 // groups, 3, 3))
    x[0, 0, 2, 2] = np.inf
    out = N(F.conv2d(T(x), T(w), padding=1, groups=groups))
    reads = np.zeros(out.shape, dtype=bool)
    reads[0, :4 // groups, 1:4, 1:4] = True  # group 0's outputs over the inf's 3x3 neighbourhood
    assert np.isinf(out[reads]).all() and np.isfinite(out[~reads]).all()
    clean = x.copy()
    clean[0, 0, 2, 2] = 0
    np.testing.assert_allclose(out[~reads], np_conv(clean, w, padding=1, groups=groups)[~reads], rtol=1e-12)


@pytest.mark.parametrize("groups", [1, 4])
def test_conv_nonfinite_grad_output_stays_local(groups):
    """An inf in the output's gradient only reaches the input gradient at the
    positions its window read and the weight and bias gradient of its
    channel (PyTorch's pattern), never NaN everywhere: the backward of the
    window gather is chosen on the gradient it moves."""
    rng = np.random.default_rng(12)
    x, w, b = _rand(rng, (2, 4, 6, 6)), _rand(rng, (4, 4 // groups, 3, 3)), _rand(rng, (4,))
    g = _rand(rng, (2, 4, 6, 6))
    grads = []
    for value in (np.inf, 0.0):
        g[0, 0, 2, 2] = value
        ts = [T(a, requires_grad=True) for a in (x, w, b)]
        F.conv2d(*ts, padding=1, groups=groups).backward(T(g))
        grads.append([N(t.grad) for t in ts])
    reads = np.zeros(x.shape, dtype=bool)
    reads[0, :4 // groups, 1:4, 1:4] = True
    gx, clean = grads[0][0], grads[1][0]
    assert np.isinf(gx[reads]).all()
    np.testing.assert_allclose(gx[~reads], clean[~reads], rtol=1e-12)
    for got, ref in zip(grads[0][1:], grads[1][1:]):  # weight and bias: channel 0's row only
        assert np.isinf(got[0]).all()
        np.testing.assert_allclose(got[1:], ref[1:], rtol=1e-12)


def test_grouped_conv_transpose_nonfinite_input_stays_in_its_group():
    """The adjoint path (``col2im`` of the grouped product) keeps an inf in
    its group too."""
    rng = np.random.default_rng(13)
    x, w = _rand(rng, (1, 4, 4, 4)), _rand(rng, (4, 1, 3, 3))
    x[0, 1, 1, 1] = np.inf
    out = N(F.conv_transpose2d(T(x), T(w), groups=4))
    reads = np.zeros(out.shape, dtype=bool)
    reads[0, 1, 1:4, 1:4] = True
    assert np.isinf(out[reads]).all() and np.isfinite(out[~reads]).all()


def test_conv_double_backward():
    """gradgradcheck through conv2d, conv1d (input, weight and bias)."""
    rng = np.random.default_rng(5)
    x = T(_rand(rng, (1, 2, 4, 4)), requires_grad=True)
    w = T(_rand(rng, (2, 1, 2, 3)), requires_grad=True)
    b = T(_rand(rng, (2,)), requires_grad=True)
    fn = lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1, groups=2)  # noqa: E731
    assert rg.autograd.gradcheck(fn, (x, w, b))
    assert rg.autograd.gradgradcheck(fn, (x, w, b))
    x1 = T(_rand(rng, (2, 2, 5)), requires_grad=True)
    w1 = T(_rand(rng, (3, 2, 3)), requires_grad=True)
    assert rg.autograd.gradgradcheck(lambda x, w: F.conv1d(x, w, padding="same", dilation=2), (x1, w1))


def test_conv_same_even_kernel_warns_once():
    """PyTorch warns once per process (TORCH_WARN_ONCE) about the extra
    padded copy an asymmetric 'same' padding needs."""
    result = run_python("""
        import warnings
        import rustgrad.nn.functional as F, rustgrad as rg
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            F.conv2d(rg.zeros(1, 1, 4, 4), rg.zeros(1, 1, 3, 3), padding="same")
            F.conv2d(rg.zeros(1, 1, 4, 4), rg.zeros(1, 1, 2, 2), padding="same")
            F.conv1d(rg.zeros(1, 1, 4), rg.zeros(1, 1, 2), padding="same")
        print(len(caught), caught[0].category.__name__)
        print(str(caught[0].message))
    """.replace("rustgrad", "torch" if REFERENCE else "rustgrad"))
    assert result.returncode == 0, result.stderr
    count, message = result.stdout.split("\n", 1)
    assert count == "1 UserWarning"
    # (PyTorch appends where in ATen it was raised)
    assert message.startswith("Using padding='same' with even kernel lengths and odd dilation may require a "
                              "zero-padded copy of the input be created")


# ---------------------------------------------------------------------------
# transposed convolution
# ---------------------------------------------------------------------------

# (input shape, weight shape, kwargs)
CONVT_CASES = [
    ((2, 3, 4, 5), (3, 2, 3, 3), {}),
    ((2, 3, 4, 5), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 3, 4), (4, 3, 3, 2), dict(stride=2, groups=2)),
    ((1, 3, 4, 5), (3, 2, 3, 3), dict(dilation=2, output_padding=1)),  # output_padding < dilation
    ((3, 4, 5), (3, 2, 2, 3), dict(stride=(2, 3), padding=(0, 2), dilation=(1, 2))),  # unbatched
    ((2, 3, 7), (3, 4, 3), dict(stride=2, padding=1, output_padding=1)),
    ((3, 6), (3, 2, 4), dict(stride=3, dilation=2, groups=1)),
]


@pytest.mark.parametrize("xs,ws,kw", CONVT_CASES)
def test_conv_transpose_matches_numpy(xs, ws, kw, window_strategy):
    rng = np.random.default_rng(2)
    x, w, b = _rand(rng, xs), _rand(rng, ws), _rand(rng, (ws[1] * kw.get("groups", 1),))
    fn = F.conv_transpose2d if len(ws) == 4 else F.conv_transpose1d
    out = fn(T(x), T(w), T(b), **kw)
    batched = len(xs) == len(ws)
    expected = np_conv_transpose(x if batched else x[None], w, b, **kw)
    assert_close(out, expected if batched else expected[0])


@pytest.mark.parametrize("xs,ws,kw", [CONVT_CASES[i] for i in (1, 2, 5)])
def test_conv_transpose_gradients(xs, ws, kw, window_strategy):
    rng = np.random.default_rng(4)
    fn = F.conv_transpose2d if len(ws) == 4 else F.conv_transpose1d
    arrays = [_rand(rng, (1,) + xs[1:]), _rand(rng, ws), _rand(rng, (ws[1] * kw.get("groups", 1),))]
    check_grads(lambda x, w, b: fn(x, w, b, **kw), arrays)


def test_conv_transpose_is_adjoint_of_conv():
    """<conv(x), y> == <x, conv_transpose(y)> for the same weight and geometry."""
    rng = np.random.default_rng(6)
    x, w = T(_rand(rng, (2, 4, 9, 8))), T(_rand(rng, (6, 2, 3, 2)))
    kw = dict(stride=(2, 3), padding=(1, 1), dilation=(1, 2), groups=2)
    y = F.conv2d(x, w, **kw)
    z = T(_rand(rng, tuple(y.shape)))
    back = F.conv_transpose2d(z, w, output_padding=(0, 0), **kw)
    op = tuple(a - b for a, b in zip(x.shape[2:], back.shape[2:]))
    back = F.conv_transpose2d(z, w, output_padding=op, **kw)
    np.testing.assert_allclose(float((y * z).sum()), float((x * back).sum()), rtol=1e-12)


@pytest.mark.parametrize("xs,ws,kw", CONVT_CASES)
def test_conv_transpose_vs_torch(torch, xs, ws, kw):
    rng = np.random.default_rng(8)
    arrays = [_rand(rng, xs), _rand(rng, ws), _rand(rng, (ws[1] * kw.get("groups", 1),))]
    name = "conv_transpose2d" if len(ws) == 4 else "conv_transpose1d"
    ours = [T(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = getattr(F, name)(*ours, **kw), getattr(torch.nn.functional, name)(*theirs, **kw)
    g = rng.uniform(0.5, 1.5, size=tuple(ref.shape))
    (out * T(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(N(out), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(N(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_transpose_double_backward():
    rng = np.random.default_rng(9)
    x = T(_rand(rng, (1, 2, 3, 3)), requires_grad=True)
    w = T(_rand(rng, (2, 1, 2, 2)), requires_grad=True)
    b = T(_rand(rng, (2,)), requires_grad=True)
    fn = lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, output_padding=1, groups=2)  # noqa: E731
    assert rg.autograd.gradgradcheck(fn, (x, w, b))


# ---------------------------------------------------------------------------
# unfold / fold
# ---------------------------------------------------------------------------

UNFOLD_CASES = [
    ((2, 3, 6, 7), dict(kernel_size=2)),
    ((2, 3, 6, 7), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))),
    ((1, 2, 5, 5), dict(kernel_size=3, padding=2, stride=2)),
]


@pytest.mark.parametrize("xs,kw", UNFOLD_CASES)
def test_unfold_fold_match_numpy(xs, kw, window_strategy):
    rng = np.random.default_rng(10)
    x = _rand(rng, xs)
    cols = F.unfold(T(x), **kw)
    geometry = (kw["kernel_size"], kw.get("dilation", 1), kw.get("padding", 0), kw.get("stride", 1))
    assert_close(cols, np_unfold(x, *geometry))
    c = _rand(rng, tuple(cols.shape))
    folded = F.fold(T(c), xs[2:], **kw)
    assert_close(folded, np_fold(c, xs[2:], *geometry))
    # unbatched forms
    assert_close(F.unfold(T(x[0]), **kw), N(cols)[0])
    assert_close(F.fold(T(c[0]), xs[2:], **kw), N(folded)[0])


def test_fold_is_adjoint_of_unfold_and_gradients():
    rng = np.random.default_rng(12)
    kw = dict(kernel_size=(2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2))
    x = _rand(rng, (1, 2, 5, 6))
    check_grads(lambda x: F.unfold(x, **kw), [x])
    cols = _rand(rng, tuple(F.unfold(T(x), **kw).shape))
    check_grads(lambda c: F.fold(c, (5, 6), **kw), [cols])
    lhs = float((F.unfold(T(x), **kw) * T(cols)).sum())
    rhs = float((T(x) * F.fold(T(cols), (5, 6), **kw)).sum())
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)
    xt = T(x[:, :1, :3, :4], requires_grad=True)
    assert rg.autograd.gradgradcheck(lambda x: F.unfold(x, 2, padding=1) ** 2, (xt,))


@pytest.mark.parametrize("xs,kw", UNFOLD_CASES)
def test_unfold_fold_vs_torch(torch, xs, kw):
    rng = np.random.default_rng(13)
    x = _rand(rng, xs)
    np.testing.assert_array_equal(N(F.unfold(T(x), **kw)), torch.nn.functional.unfold(torch.tensor(x), **kw).numpy())
    c = _rand(rng, tuple(F.unfold(T(x), **kw).shape))
    np.testing.assert_allclose(N(F.fold(T(c), xs[2:], **kw)),
                               torch.nn.functional.fold(torch.tensor(c), xs[2:], **kw).numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------
# errors (PyTorch's classes and messages)
# ---------------------------------------------------------------------------

ERROR_CASES = [
    (lambda F, z: F.conv2d(z(1, 4, 8, 8), z(16, 3, 3, 3)), RuntimeError,
     "Given groups=1, weight of size [16, 3, 3, 3], expected input[1, 4, 8, 8] to have 3 channels, but got 4 "
     "channels instead"),
    (lambda F, z: F.conv2d(z(4, 8, 8), z(16, 3, 3, 3)), RuntimeError,
     "Given groups=1, weight of size [16, 3, 3, 3], expected input[1, 4, 8, 8] to have 3 channels, but got 4 "
     "channels instead"),
    (lambda F, z: F.conv2d(z(2, 3), z(16, 3, 3, 3)), RuntimeError,
     "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 3]"),
    (lambda F, z: F.conv1d(z(1, 3, 8, 8), z(4, 3, 3)), RuntimeError,
     "Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: [1, 3, 8, 8]"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(4, 3, 3, 3), padding="same", stride=2), RuntimeError,
     "padding='same' is not supported for strided convolutions"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(4, 3, 3, 3), padding="foo"), RuntimeError,
     "Invalid padding string: 'foo'"),
    (lambda F, z: F.conv2d(z(1, 3, 2, 2), z(4, 3, 3, 3)), RuntimeError,
     "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than "
     "actual input size"),
    (lambda F, z: F.conv1d(z(1, 3, 4), z(3, 3, 3), dilation=2), RuntimeError,
     "Calculated padded input size per channel: (4). Kernel size: (5). Kernel size can't be greater than actual "
     "input size"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(16, 3, 3, 3), groups=2), RuntimeError,
     "Given groups=2, weight of size [16, 3, 3, 3], expected input[1, 3, 8, 8] to have 6 channels, but got 3 "
     "channels instead"),
    (lambda F, z: F.conv2d(z(1, 4, 8, 8), z(6, 2, 3, 3), groups=4), RuntimeError,
     "Given groups=4, expected weight to be divisible by 4 at dimension 0, but got weight of size [[6, 2, 3, 3]] "
     "instead"),
    (lambda F, z: F.conv2d(z(1, 4, 8, 8), z(6, 2, 3, 3), z(5), groups=2), RuntimeError,
     "Given weight of size [6, 2, 3, 3], expected bias to be 1-dimensional with 6 elements, but got bias of size "
     "[5] instead"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(3, 3, 3, 3), stride=0), RuntimeError,
     "non-positive stride is not supported"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(3, 3, 3, 3), padding=(0, -1)), RuntimeError,
     "negative padding is not supported"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(3, 3, 3, 3), dilation=(1, 0)), RuntimeError,
     "dilation should be greater than zero, but got [1, 0]"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(3, 3, 3, 3), groups=0), RuntimeError,
     "non-positive groups is not supported"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(3, 3, 3, 3), stride=(1, 1, 1)), RuntimeError,
     "expected stride to be a single integer value or a list of 2 values to match the convolution dimensions, "
     "but got stride=[1, 1, 1]"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(3, 3, 3, 3).double()), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(3, 3, 3, 3), z(3).double()), RuntimeError,
     "Input type (float) and bias type (double) should be the same"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(0, 3, 3, 3)), RuntimeError,
     "Given groups=1, expected weight to be at least 1 at dimension 0, but got weight of size [0, 3, 3, 3] instead"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8), z(3, 3, 0, 3)), RuntimeError,
     "kernel size should be greater than zero, but got kernel_height: 0 kernel_width: 3"),
    (lambda F, z: F.conv2d(z(1, 3, 8, 8).bool(), z(3, 3, 3, 3).bool()), NotImplementedError,
     "\"slow_conv2d_cpu\" not implemented for 'Bool'"),
    (lambda F, z: F.conv_transpose2d(z(1, 3, 4, 4), z(3, 2, 3, 3), stride=2, output_padding=2), RuntimeError,
     "output padding must be smaller than either stride or dilation, but got output_padding_height: 2 "
     "output_padding_width: 2 stride_height: 2 stride_width: 2 dilation_height: 1 dilation_width: 1"),
    (lambda F, z: F.conv_transpose1d(z(1, 3, 4), z(3, 2, 3), stride=2, output_padding=2), RuntimeError,
     "output padding must be smaller than either stride or dilation, but got output_padding_height: 0 "
     "output_padding_width: 2 stride_height: 1 stride_width: 2 dilation_height: 1 dilation_width: 1"),
    (lambda F, z: F.conv_transpose2d(z(1, 4, 4, 4), z(3, 2, 3, 3)), RuntimeError,
     "Given transposed=1, weight of size [3, 2, 3, 3], expected input[1, 4, 4, 4] to have 3 channels, but got 4 "
     "channels instead"),
    (lambda F, z: F.conv_transpose2d(z(1, 3, 4, 4), z(3, 2, 3, 3), z(3)), RuntimeError,
     "Given transposed=1, weight of size [3, 2, 3, 3], expected bias to be 1-dimensional with 2 elements, but got "
     "bias of size [3] instead"),
    (lambda F, z: F.conv_transpose2d(z(1, 3, 4, 4), z(3, 2, 3, 3), padding=3), RuntimeError,
     "Given input size per channel: (4 x 4). Calculated output size per channel: (0 x 0). Output size is too small"),
    (lambda F, z: F.conv_transpose1d(z(1, 3, 4), z(3, 2, 3), padding=3), RuntimeError,
     "Given input size per channel: (1 x 4). Calculated output size per channel: (1 x 0). Output size is too small"),
    (lambda F, z: F.conv_transpose2d(z(1, 3, 4, 4), z(3, 2, 3, 3), output_padding=-1), RuntimeError,
     "negative output_padding is not supported"),
    (lambda F, z: F.conv_transpose2d(z(3, 4), z(3, 2, 3, 3)), RuntimeError,
     "Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: [3, 4]"),
    (lambda F, z: F.unfold(z(1, 3, 8, 8), 9), RuntimeError,
     "Given input with spatial size (8, 8), kernel_size=(9, 9), dilation=(1, 1), padding=(0, 0), calculated shape "
     "of the array of sliding blocks as (0, 0), but its components must be at least one."),
    (lambda F, z: F.unfold(z(1, 3, 8, 8), 0), RuntimeError,
     "kernel size should be greater than zero, but got kernel_height: 0 kernel_width: 0"),
    (lambda F, z: F.fold(z(1, 13, 49), (8, 8), 2), RuntimeError,
     "Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got input.size(1)=13 "
     "and kernel_size=(2, 2)."),
    (lambda F, z: F.fold(z(1, 12, 48), (8, 8), 2), RuntimeError,
     "Given output_size=(8, 8), kernel_size=(2, 2), dilation=(1, 1), padding=(0, 0), stride=(1, 1), expected size "
     "of input's dimension 2 to match the calculated number of sliding blocks 7 * 7 = 49, but got "
     "input.size(2)=48."),
    (lambda F, z: F.fold(z(1, 12, 49, 1), (8, 8), 2), RuntimeError,
     "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero dimensions for input, "
     "but got: [1, 12, 49, 1]"),
]


test_errors, test_errors_same_as_torch = functional_error_tests(ERROR_CASES)


# ---------------------------------------------------------------------------
# layers
# ---------------------------------------------------------------------------

REPRS = [
    ("Conv2d(1, 16, 3, padding=1)", "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"),
    ("Conv2d(16, 32, (3, 5), stride=2)", "Conv2d(16, 32, kernel_size=(3, 5), stride=(2, 2))"),
    ("Conv1d(4, 8, 3, stride=2, groups=2, bias=False, padding_mode='reflect')",
     "Conv1d(4, 8, kernel_size=(3,), stride=(2,), groups=2, bias=False, padding_mode=reflect)"),
    ("Conv2d(2, 4, (2, 3), padding='same', dilation=2)",
     "Conv2d(2, 4, kernel_size=(2, 3), stride=(1, 1), padding=same, dilation=(2, 2))"),
    ("ConvTranspose2d(3, 6, 3, stride=2, output_padding=1, groups=3)",
     "ConvTranspose2d(3, 6, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1), groups=3)"),
    ("ConvTranspose1d(3, 4, 2, padding=1, dilation=2)",
     "ConvTranspose1d(3, 4, kernel_size=(2,), stride=(1,), padding=(1,), dilation=(2,))"),
]


@pytest.mark.parametrize("ctor,expected", REPRS)
def test_layer_repr(ctor, expected):
    assert repr(eval("nn." + ctor)) == expected


@pytest.mark.parametrize("ctor,expected", REPRS)
def test_layer_repr_same_as_torch(torch, ctor, expected):
    assert repr(eval("torch.nn." + ctor)) == expected


@pytest.mark.parametrize("ctor,weight,bias", [
    ("Conv2d(3, 16, 3)", (16, 3, 3, 3), (16,)),
    ("Conv2d(4, 6, (2, 3), groups=2)", (6, 2, 2, 3), (6,)),
    ("Conv1d(4, 6, 5, bias=False)", (6, 4, 5), None),
    ("ConvTranspose2d(4, 6, 3, groups=2)", (4, 3, 3, 3), (6,)),
    ("ConvTranspose1d(3, 5, 4)", (3, 5, 4), (5,)),
])
def test_layer_parameters_and_init_bounds(ctor, weight, bias):
    rg.manual_seed(0)
    m = eval("nn." + ctor)
    assert tuple(m.weight.shape) == weight and isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    names = [n for n, _ in m.named_parameters()]
    assert names == (["weight", "bias"] if bias else ["weight"])
    # kaiming_uniform_(a=sqrt(5)) and the bias both draw from U(-b, b), b = 1/sqrt(fan_in)
    fan_in = weight[1] * math.prod(weight[2:])
    bound = 1 / math.sqrt(fan_in)
    w = N(m.weight)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound and w.std() > 0.3 * bound
    if bias:
        assert tuple(m.bias.shape) == bias
        assert np.abs(N(m.bias)).max() <= bound
    else:
        assert m.bias is None


def test_layer_dtype_and_forward():
    m = nn.Conv2d(2, 3, 3, padding=1, dtype=rg.float64)
    assert m.weight.dtype == rg.float64 and m.bias.dtype == rg.float64
    x = np.random.default_rng(0).uniform(-1, 1, (2, 2, 5, 4))
    assert_close(m(T(x)), np_conv(x, N(m.weight), N(m.bias), padding=1))
    m(T(x)).sum().backward()
    assert m.weight.grad.shape == m.weight.shape and m.bias.grad.shape == m.bias.shape


def test_layer_constructor_errors():
    with pytest.raises(ValueError, match="^groups must be a positive integer$"):
        nn.Conv2d(2, 4, 3, groups=0)
    with pytest.raises(ValueError, match="^in_channels must be divisible by groups$"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="^out_channels must be divisible by groups$"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="^padding='same' is not supported for strided convolutions$"):
        nn.Conv2d(4, 3, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="^Invalid padding string 'full', should be one of"):
        nn.Conv1d(4, 3, 3, padding="full")
    with pytest.raises(ValueError, match="^padding_mode must be one of .*, but got padding_mode='edge'$"):
        nn.Conv2d(4, 3, 3, padding_mode="edge")
    with pytest.raises(ValueError, match='^Only "zeros" padding mode is supported for ConvTranspose2d$'):
        nn.ConvTranspose2d(4, 3, 3, padding_mode="reflect")


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd", [1, 2])
def test_layer_padding_modes_vs_torch(torch, mode, nd):
    ours = (nn.Conv1d if nd == 1 else nn.Conv2d)(2, 3, 3, padding=2 if nd == 1 else (1, 2), padding_mode=mode,
                                                 dtype=rg.float64)
    theirs = (torch.nn.Conv1d if nd == 1 else torch.nn.Conv2d)(2, 3, 3, padding=2 if nd == 1 else (1, 2),
                                                               padding_mode=mode, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(N(ours.weight)))
        theirs.bias.copy_(torch.tensor(N(ours.bias)))
    x = np.random.default_rng(nd).uniform(-1, 1, (2, 2, 5) if nd == 1 else (2, 2, 5, 6))
    np.testing.assert_allclose(N(ours(T(x))), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)
    xs = np.random.default_rng(0).uniform(-1, 1, (2, 5) if nd == 1 else (2, 5, 6))  # unbatched
    np.testing.assert_allclose(N(ours(T(xs))), theirs(torch.tensor(xs)).detach().numpy(), rtol=1e-12, atol=1e-12)


def test_layer_same_padding_mode_reflect_vs_numpy():
    m = nn.Conv2d(1, 1, (2, 3), padding="same", padding_mode="reflect", bias=False, dtype=rg.float64)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 1, 5, 6))
    # 'same' for kernel (2, 3): (0, 1) rows, (1, 1) columns, reflected
    xp = np.pad(x, [(0, 0), (0, 0), (0, 1), (1, 1)], mode="reflect")
    assert_close(m(T(x)), np_conv(xp, N(m.weight)))


def test_conv_transpose_layer_output_size():
    m = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, dtype=rg.float64)
    x = T(np.random.default_rng(0).uniform(-1, 1, (1, 2, 4, 5)))
    assert tuple(m(x).shape) == (1, 3, 7, 9)
    for size in ([8, 10], [1, 3, 8, 9], (7, 10)):
        out = m(x, output_size=size)
        assert tuple(out.shape[2:]) == tuple(size[-2:])
        op = [s - d for s, d in zip(size[-2:], (7, 9))]
        assert_close(out, np_conv_transpose(N(x), N(m.weight), N(m.bias), stride=2, padding=1, output_padding=op))
    with pytest.raises(ValueError, match=r"^requested an output size of \[9, 9\], but valid sizes range from "
                                         r"\[7, 9\] to \[8, 10\] \(for an input of torch.Size\(\[4, 5\]\)\)$"):
        m(x, output_size=[9, 9])
    with pytest.raises(ValueError, match=r"^ConvTranspose2D: for 4D input, output_size must have 2 or 4 elements "
                                         r"\(got 3\)$"):
        m(x, output_size=[1, 8, 9])


def test_layers_in_a_small_cnn_train_step():
    """A conv -> relu -> pool -> conv -> linear step on the demo's sizes:
    every parameter gets a finite gradient of the right shape."""
    rg.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(32, 10))
    x = rg.randn(64, 1, 8, 8)
    loss = F.cross_entropy(net(x), rg.randint(0, 10, (64,)))
    loss.backward()
    for p in net.parameters():
        assert p.grad is not None and p.grad.shape == p.shape and bool(p.grad.isfinite().all())
