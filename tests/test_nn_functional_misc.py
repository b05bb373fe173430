"""The functionals ``dropout*``, ``embedding``, ``one_hot``, ``pad``,
``interpolate`` and the distances (``cosine_similarity``,
``pairwise_distance``, ``pdist``): values against NumPy (``np.pad``,
``np.interp``, direct transcriptions of the definitions), gradients against
finite differences and second derivatives by ``gradgradcheck``, the random
masks' structure and reproducibility, and values, gradients and errors
against PyTorch on drawn cases (``torch`` fixture)."""

import math
import warnings

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn.functional as F

from conftest import N, T, assert_close, check_grads, rand_array, raises_same

gradgradcheck = rg.autograd.gradgradcheck


def run_both(torch, call, arrays, weights_seed=99, grad=True):
    """``call(lib, F, *tensors)`` in rustgrad and PyTorch: returns, per
    library, (error, output, input gradients), the gradients of
    ``sum(out * w)`` for a fixed random ``w``."""
    results = []
    for lib, Fn in ((rg, F), (torch, torch.nn.functional)):
        ts = [lib.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        try:
            out = call(lib, Fn, *ts)
        except Exception as e:  # noqa: BLE001  (compared below)
            results.append(((type(e).__name__, str(e)), None, None))
            continue
        grads = None
        if grad and out.requires_grad and out.numel() > 0:
            w = np.random.default_rng(weights_seed).uniform(0.5, 1.5, tuple(out.shape))
            (out.double() * lib.tensor(w)).sum().backward()
            grads = [None if t.grad is None else t.grad.double().numpy() for t in ts]
        results.append((None, out.detach().double().numpy(), grads))
    return results


def assert_same(results, atol):
    (err_rg, out_rg, g_rg), (err_t, out_t, g_t) = results
    assert err_rg == err_t
    if err_t is not None:
        return
    assert out_rg.shape == out_t.shape
    np.testing.assert_allclose(out_rg, out_t, rtol=0, atol=atol)
    if g_t is not None:
        for a, b in zip(g_rg, g_t):
            assert (a is None) == (b is None)
            if b is not None:
                np.testing.assert_allclose(a, b, rtol=0, atol=10 * atol)


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_keeps_or_scales_and_gradient_is_the_mask(p, dtype):
    x = rand_array(0, (50, 40), dtype, low=0.5, high=1.5)
    xt = T(x, requires_grad=True)
    out = F.dropout(xt, p)
    assert out.dtype == getattr(rg, dtype)
    y = N(out)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / np.asarray(1 - p, dtype), rtol=1e-12 if dtype == "float64" else 1e-6)
    assert abs(kept.mean() - (1 - p)) < 0.05
    out.sum().backward()
    assert_close(xt.grad, kept / (1 - p))


def test_dropout_follows_manual_seed_and_is_identity_when_not_training():
    x = T(rand_array(1, (6, 7)))
    rg.manual_seed(3)
    a = F.dropout(x, 0.5)
    rg.manual_seed(3)
    b = F.dropout(x, 0.5)
    assert_close(a, N(b))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_p_one_zeroes_values_and_gradients():
    xt = T(rand_array(2, (3, 4)), requires_grad=True)
    out = F.dropout(xt, 1.0)
    assert_close(out, np.zeros((3, 4)))
    out.sum().backward()
    assert_close(xt.grad, np.zeros((3, 4)))


def test_dropout_inplace_writes_input():
    x = T(rand_array(3, (20, 10), low=0.5, high=1.5))
    before = N(x)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x
    y = N(x)
    assert np.all((y == 0) | np.isclose(y, 2 * before))


@pytest.mark.parametrize("fn, shape, lead", [(F.dropout1d, (4, 6, 5), 2), (F.dropout1d, (6, 5), 1),
                                             (F.dropout2d, (4, 6, 3, 2), 2), (F.dropout3d, (3, 5, 2, 2, 2), 2),
                                             (F.dropout3d, (5, 2, 2, 2), 1)])
def test_feature_dropout_zeroes_whole_channels(fn, shape, lead):
    """``lead``: the leading dims that name a channel ((N, C) or (C,))."""
    y = N(fn(T(np.ones(shape)), 0.5))
    per_channel = y.reshape(math.prod(shape[:lead]), -1)
    assert set(np.unique(per_channel)) == {0.0, 2.0}
    assert np.all(per_channel.min(axis=1) == per_channel.max(axis=1)), "a channel was partly dropped"


def test_alpha_dropout_keeps_mean_and_variance():
    rg.manual_seed(0)
    x = rg.randn(200000, dtype=rg.float64)
    y = N(F.alpha_dropout(x, 0.3, training=True))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    # Dropped units all take the same value a * (-alpha') + b.
    values, counts = np.unique(np.round(y, 12), return_counts=True)
    assert counts.max() > 0.25 * y.size
    assert_close(F.alpha_dropout(x, 0.3), N(x))  # training defaults to False
    ys = N(F.feature_alpha_dropout(T(np.ones((50, 40, 3))), 0.5, training=True))
    assert np.all(ys.min(axis=2) == ys.max(axis=2))


def test_dropout_errors_and_warnings():
    for fn in (F.dropout, F.dropout1d, F.dropout2d, F.alpha_dropout):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
            fn(rg.ones(2, 3, 4), 1.5)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(rg.ones(2, 3, 4, 5))
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(rg.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        F.dropout2d(rg.ones(2, 3))


def test_dropout_errors_match_pytorch(torch):
    cases = [lambda lib, F: F.dropout(lib.ones(3), -0.1), lambda lib, F: F.dropout1d(lib.ones(3), 0.5),
             lambda lib, F: F.feature_alpha_dropout(lib.ones(3), 0.5, True)]
    for call in cases:
        got, expected = raises_same(lambda: call(rg, F), lambda: call(torch, torch.nn.functional))
        assert expected[0] is not None and got == expected


# ---------------------------------------------------------------------------
# embedding / one_hot
# ---------------------------------------------------------------------------


def test_embedding_gathers_rows_and_accumulates_gradients():
    w = rand_array(4, (6, 3))
    idx = np.array([[0, 2, 2], [5, 0, 1]])
    wt = T(w, requires_grad=True)
    out = F.embedding(T(idx), wt)
    assert_close(out, w[idx])
    g = rand_array(5, (2, 3, 3))
    out.backward(T(g))
    expected = np.zeros_like(w)
    np.add.at(expected, idx, g)
    assert_close(wt.grad, expected)


@pytest.mark.parametrize("padding_idx", [2, -4])
def test_embedding_padding_idx_row_gets_no_gradient(padding_idx):
    w = rand_array(6, (6, 3))
    idx = np.array([[0, 2, 2], [5, 2, 1]])
    wt = T(w, requires_grad=True)
    out = F.embedding(T(idx), wt, padding_idx=padding_idx)
    assert_close(out, w[idx])  # the values are not masked
    out.sum().backward()
    counts = np.bincount(idx.ravel(), minlength=6).astype(float)
    counts[2] = 0
    assert_close(wt.grad, np.repeat(counts[:, None], 3, 1))


def test_embedding_scale_grad_by_freq_and_double_backward():
    w = rand_array(7, (5, 2))
    idx = np.array([1, 1, 1, 3, 0, 3])
    wt = T(w, requires_grad=True)
    F.embedding(T(idx), wt, scale_grad_by_freq=True).sum().backward()
    expected = np.zeros((5, 2))
    expected[[0, 1, 3]] = 1.0  # each row's summed gradient divided by its count
    assert_close(wt.grad, expected)
    # (scale_grad_by_freq's gradient is not a derivative of the forward, so
    # only padding_idx's, which is, can be checked to second order.)
    assert gradgradcheck(lambda w: F.embedding(T(idx), w, padding_idx=0) ** 2, [T(w, requires_grad=True)])


def test_embedding_max_norm_renormalizes_used_rows_in_place():
    w = rand_array(8, (5, 3), low=1, high=3)
    wt = T(w)
    F.embedding(T(np.array([0, 2, 2])), wt, max_norm=1.0)
    norms = np.linalg.norm(N(wt), axis=1)
    np.testing.assert_allclose(norms[[0, 2]], 1.0, rtol=1e-6)
    assert_close(wt[[1, 3, 4]], w[[1, 3, 4]])
    wt = T(w)
    F.embedding(T(np.array([1])), wt, max_norm=2.0, norm_type=1.0)
    np.testing.assert_allclose(np.abs(N(wt)[1]).sum(), 2.0, rtol=1e-6)


def test_embedding_errors():
    w = rg.zeros(5, 3)
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices' to have one of the following "
                                           "scalar types: Long, Int; but got torch.FloatTensor instead"):
        F.embedding(rg.zeros(2), w)
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(rg.tensor([5]), w)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(rg.tensor([1]), w, padding_idx=5)
    with pytest.raises(RuntimeError, match="'weight' must be 2-D"):
        F.embedding(rg.tensor([1]), rg.zeros(5))
    assert tuple(F.embedding(rg.tensor([1, 2], dtype=rg.int32), w).shape) == (2, 3)


def test_one_hot():
    t = np.array([[0, 3], [1, 1]])
    out = F.one_hot(T(t))
    assert out.dtype == rg.int64
    assert_close(out, np.eye(4, dtype=np.int64)[t])
    assert tuple(F.one_hot(T(t), 6).shape) == (2, 2, 6)
    assert tuple(F.one_hot(rg.tensor([], dtype=rg.int64), 3).shape) == (0, 3)
    for bad, message in [((rg.tensor([1, -1]),), "Class values must be non-negative."),
                         ((rg.tensor([1, 2]), 2), "Class values must be smaller than num_classes."),
                         ((rg.tensor([], dtype=rg.int64),), "Can not infer total number of classes"),
                         ((rg.tensor([1.0]),), "one_hot is only applicable to index tensor of type LongTensor.")]:
        with pytest.raises(RuntimeError, match=message):
            F.one_hot(*bad)


def test_embedding_and_one_hot_match_pytorch(torch):
    w = rand_array(9, (7, 4))
    idx = np.array([[6, 0, 3], [3, 3, 1]])
    for kwargs in ({}, {"padding_idx": 3}, {"padding_idx": -1, "scale_grad_by_freq": True},
                   {"max_norm": 1.5, "norm_type": 3.0}):
        results = run_both(torch, lambda lib, F, w: F.embedding(lib.tensor(idx), w, **kwargs), [w])
        assert_same(results, 1e-12)
    for call in [lambda lib, F: F.one_hot(lib.tensor([[2, 0], [1, 4]])),
                 lambda lib, F: F.one_hot(lib.tensor([2, 0]), 5), lambda lib, F: F.one_hot(lib.tensor([2, 0]), 2),
                 lambda lib, F: F.one_hot(lib.tensor([0, 1], dtype=lib.int32)),
                 lambda lib, F: F.one_hot(lib.tensor([], dtype=lib.int64), 0),
                 lambda lib, F: F.embedding(lib.tensor([0, 7]), lib.tensor(w)),
                 lambda lib, F: F.embedding(lib.tensor([0.0]), lib.tensor(w)),
                 lambda lib, F: F.embedding(lib.tensor([0]), lib.tensor(w), padding_idx=-8)]:
        got, expected = raises_same(lambda: call(rg, F), lambda: call(torch, torch.nn.functional))
        assert got == expected


# ---------------------------------------------------------------------------
# pad
# ---------------------------------------------------------------------------


def np_pad(x, pad, mode, value=0.0):
    """``F.pad`` in NumPy: crop by the negative pads, then ``np.pad``."""
    widths = [(0, 0)] * x.ndim
    for j in range(len(pad) // 2):
        d = x.ndim - 1 - j
        left, right = pad[2 * j], pad[2 * j + 1]
        x = x[(slice(None),) * d + (slice(max(-left, 0), x.shape[d] - max(-right, 0)),)]
        widths[d] = (max(left, 0), max(right, 0))
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}.get(mode)
    if np_mode is None:
        return np.pad(x, widths, constant_values=value)
    return np.pad(x, widths, mode=np_mode)


PAD_CASES = [
    ((2, 3, 4), (1, 2), "constant"), ((2, 3, 4), (1, 0, 2, 1), "constant"), ((2, 3), (-1, 2, 0, 1), "constant"),
    ((2, 3, 4), (2, 1, 1, 1, 1, 0), "constant"), ((3, 4), (2, 3), "reflect"), ((2, 3, 4), (3, 1, 2, 0), "reflect"),
    ((1, 2, 3, 3, 4), (1, 2, 2, 1, 1, 0), "reflect"), ((2, 3, 4), (4, 1), "replicate"),
    ((2, 3, 4), (2, 0, 3, 1), "replicate"), ((1, 1, 2, 2, 3), (1, 1, 2, 0, 1, 3), "replicate"),
    ((2, 3, 4), (4, 2), "circular"), ((1, 2, 3, 4), (1, 3, 2, 3), "circular"),
    ((1, 1, 2, 3, 2), (1, 2, 3, 0, 1, 2), "circular"), ((2, 3, 4), (-1, 2), "replicate"),
]


@pytest.mark.parametrize("shape, pad, mode", PAD_CASES)
def test_pad_matches_numpy_and_differentiates(shape, pad, mode):
    x = rand_array(10, shape)
    kwargs = {"value": 1.5} if mode == "constant" else {}
    out = F.pad(T(x), pad, mode=mode, **kwargs)
    expected = np_pad(x, pad, mode, 1.5) if mode != "replicate" or min(pad) >= 0 else None
    if expected is not None:
        assert_close(out, expected)
    check_grads(lambda x: F.pad(x, pad, mode=mode, **kwargs), [rand_array(11, shape)])


def test_pad_second_order_and_dtypes():
    x = T(rand_array(12, (1, 2, 3, 3)), requires_grad=True)
    for mode in ("constant", "reflect", "replicate", "circular"):
        assert gradgradcheck(lambda x: F.pad(x, (1, 2, 2, 1), mode=mode) ** 2, [x])
    out = F.pad(rg.tensor([[1, 2]]), (1, 1), value=2.7)
    assert out.dtype == rg.int64 and N(out).tolist() == [[2, 1, 2, 2]]
    assert N(F.pad(rg.tensor([[True]]), (1, 0), value=1.0)).tolist() == [[True, True]]


def test_pad_errors():
    x = rg.zeros(1, 2, 3)
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        F.pad(x, (1,))
    with pytest.raises(RuntimeError, match="Padding length should be less than or equal to two times the input "
                                           "dimension but got padding length 8 and input of dimension 3"):
        F.pad(x, (1,) * 8)
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode bogus"):
        F.pad(x, (1, 1), mode="bogus")
    with pytest.raises(RuntimeError, match="Padding mode \"reflect\" doesn't take in value argument"):
        F.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(RuntimeError, match=r"Argument #4: Padding size should be less than the corresponding input "
                                           r"dimension, but got: padding \(3, 3\) at dimension 2 of input \[1, 2, 3\]"):
        F.pad(x, (3, 3), mode="reflect")
    with pytest.raises(RuntimeError, match="Padding value causes wrapping around more than once."):
        F.pad(x, (4, 0), mode="circular")
    with pytest.raises(NotImplementedError, match="Padding size 6 is not supported for 3D input tensor."):
        F.pad(x, (1,) * 6, mode="replicate")
    with pytest.raises(TypeError, match="must be tuple of ints, but found element of type float at pos 0"):
        F.pad(x, (1.5, 1))
    with pytest.raises(RuntimeError, match="narrow"):
        F.pad(x, (1, -5))


def test_pad_matches_pytorch_on_drawn_cases(torch):
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(400):
        nd = int(rng.integers(1, 6))
        shape = tuple(int(s) for s in rng.integers(0 if rng.random() < 0.1 else 1, 5, size=nd))
        k = int(rng.integers(1, min(nd, 3) + 1))
        pad = tuple(int(v) for v in rng.integers(-3, 4, size=2 * k))
        mode = str(rng.choice(["constant", "reflect", "replicate", "circular"]))
        # ATen reads memory it never wrote when circular padding wraps a
        # dim already cropped below the pad; rustgrad raises there.
        cropped = [shape[-1 - j] + min(pad[2 * j], 0) + min(pad[2 * j + 1], 0) for j in range(k)]
        if mode == "circular" and any(max(pad[2 * j], pad[2 * j + 1]) > cropped[j] for j in range(k)):
            continue
        value = None if rng.random() < 0.7 else 2.0
        x = rng.normal(size=shape)
        results = run_both(torch, lambda lib, F, x: F.pad(x, pad, mode=mode, value=value), [x])
        assert_same(results, 1e-12)
        checked += results[1][0] is None
    assert checked > 50


# ---------------------------------------------------------------------------
# interpolate
# ---------------------------------------------------------------------------


def interp_axis(x, axis, out, align_corners):
    """Linear interpolation along ``axis`` with ``np.interp`` at PyTorch's
    source coordinates (clamped at the edges)."""
    n = x.shape[axis]
    i = np.arange(out, dtype=np.float64)
    if align_corners:
        src = i * ((n - 1) / (out - 1) if out > 1 else 0.0)
    else:
        src = np.maximum((i + 0.5) * n / out - 0.5, 0)
    return np.apply_along_axis(lambda v: np.interp(src, np.arange(n), v), axis, x)


def keys_cubic(d, a=-0.75):
    d = np.abs(d)
    return np.where(d <= 1, (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1,
                    np.where(d < 2, a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a, 0.0))


def cubic_axis(x, axis, out, align_corners):
    """Keys' cubic convolution along ``axis`` over the 4 nearest samples,
    indices clamped to the input."""
    n = x.shape[axis]
    i = np.arange(out, dtype=np.float64)
    src = i * ((n - 1) / (out - 1) if out > 1 else 0.0) if align_corners else (i + 0.5) * n / out - 0.5
    base = np.floor(src)
    taps = base[:, None] + np.arange(-1, 3)
    w = keys_cubic(src[:, None] - taps)
    xs = np.take(x, np.clip(taps, 0, n - 1).astype(int), axis=axis)  # (..., out, 4, ...)
    shape = [1] * xs.ndim
    shape[axis], shape[axis + 1] = out, 4
    return (xs * w.reshape(shape)).sum(axis=axis + 1)


def area_axis(x, axis, out):
    n = x.shape[axis]
    parts = [np.take(x, range(i * n // out, -(-(i + 1) * n // out)), axis=axis).mean(axis=axis, keepdims=True)
             for i in range(out)]
    return np.concatenate(parts, axis=axis)


def nearest_axis(x, axis, out, exact):
    n = x.shape[axis]
    i = np.arange(out)
    src = np.floor((i + 0.5) * n / out) if exact else np.floor(i * n / out)
    return np.take(x, np.minimum(src, n - 1).astype(int), axis=axis)


def np_interpolate(x, size, mode, align_corners=False):
    for axis, out in zip(range(2, x.ndim), size):
        if mode in ("linear", "bilinear", "trilinear"):
            x = interp_axis(x, axis, out, align_corners)
        elif mode == "bicubic":
            x = cubic_axis(x, axis, out, align_corners)
        elif mode == "area":
            x = area_axis(x, axis, out)
        else:
            x = nearest_axis(x, axis, out, mode == "nearest-exact")
    return x


INTERP_CASES = [
    ((2, 3, 5), (9,), "nearest", None), ((2, 3, 6), (4,), "nearest", None), ((1, 2, 3, 4), (7, 5), "nearest", None),
    ((1, 2, 5), (3,), "nearest-exact", None), ((1, 2, 3, 4), (5, 9), "nearest-exact", None),
    ((2, 3, 4), (7,), "linear", False), ((2, 3, 4), (7,), "linear", True), ((2, 3, 6), (4,), "linear", False),
    ((1, 2, 3, 4), (5, 7), "bilinear", False), ((1, 2, 5, 4), (3, 6), "bilinear", True),
    ((1, 1, 2, 3, 4), (3, 2, 5), "trilinear", False), ((1, 2, 4, 5), (7, 3), "bicubic", False),
    ((1, 2, 4, 5), (6, 8), "bicubic", True), ((1, 2, 6, 5), (4, 3), "area", None), ((2, 3, 7), (3,), "area", None),
]


@pytest.mark.parametrize("shape, size, mode, align", INTERP_CASES)
def test_interpolate_matches_numpy(shape, size, mode, align):
    x = rand_array(13, shape)
    kwargs = {} if align is None else {"align_corners": align}
    out = F.interpolate(T(x), size=size, mode=mode, **kwargs)
    assert_close(out, np_interpolate(x, size, mode, bool(align)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic", "area"])
def test_interpolate_gradients_and_second_order(mode):
    x = rand_array(14, (1, 2, 3, 4))
    kwargs = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    check_grads(lambda x: F.interpolate(x, size=(5, 3), mode=mode, **kwargs), [x])
    assert gradgradcheck(lambda x: F.interpolate(x, scale_factor=1.5, mode=mode, **kwargs) ** 2,
                         [T(x, requires_grad=True)])


def test_interpolate_scale_factor_sets_size_and_step():
    x = T(np.arange(3.0).reshape(1, 1, 3))
    # Output size int(3 * 2.0000001) = 6; the step 1 / 2.0000001 (float32)
    # puts output 2 on source 0, as ATen's 1-D kernel.
    assert N(F.interpolate(x, scale_factor=2.0000001)).ravel().tolist() == [0, 0, 0, 1, 1, 2]
    # The 2-D kernel copies when the size doubles (ATen's nearest_idx).
    y = F.interpolate(x.reshape(1, 1, 3, 1), scale_factor=(2.0000001, 1.0))
    assert N(y).ravel().tolist() == [0, 0, 1, 1, 2, 2]
    assert N(F.interpolate(x, scale_factor=2.0000001, recompute_scale_factor=True)).ravel().tolist() == \
        [0, 0, 1, 1, 2, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert tuple(F.upsample(x, scale_factor=1.5, mode="linear").shape) == (1, 1, 4)


def test_interpolate_low_precision_and_uint8():
    x = rand_array(15, (1, 2, 3, 4), "float32")
    for dtype in (rg.float16, rg.bfloat16):
        out = F.interpolate(T(x).to(dtype), size=(5, 6), mode="bilinear")
        assert out.dtype == dtype
        np.testing.assert_allclose(N(out.float()), np_interpolate(x.astype(np.float64), (5, 6), "bilinear"),
                                   atol=0.05)
    img = rg.tensor(np.array([[[[0, 100], [200, 255]]]], dtype=np.uint8))
    assert N(F.interpolate(img, size=(4, 4))).dtype == np.uint8
    out = F.interpolate(img, size=(3, 3), mode="bilinear", align_corners=True)
    assert out.dtype == rg.uint8 and N(out)[0, 0, 1, 1] == 139  # round(138.75)


def test_interpolate_errors():
    x = rg.zeros(1, 2, 3)
    cases = [
        (ValueError, "only one of size or scale_factor should be defined", dict(size=2, scale_factor=2)),
        (ValueError, "either size or scale_factor should be defined", {}),
        (ValueError, "align_corners option can only be set with the interpolating modes",
         dict(size=2, align_corners=True)),
        (ValueError, "Input and output must have the same number of spatial dimensions", dict(size=(2, 2))),
        (TypeError, "expected size to be one of int or", dict(size=(2.5,))),
        (RuntimeError, r"Input and output sizes should be greater than 0, but got input \(W: 3\) and output \(W: 0\)",
         dict(size=0)),
        (NotImplementedError, "Got 3D input, but bilinear mode needs 4D input", dict(size=2, mode="bilinear")),
        (ValueError, "Anti-alias option is restricted", dict(size=2, mode="linear", antialias=True)),
    ]
    for error, message, kwargs in cases:
        with pytest.raises(error, match=message):
            F.interpolate(x, **kwargs)
    with pytest.raises(NotImplementedError, match="Only 3D, 4D and 5D input Tensors supported"):
        F.interpolate(rg.zeros(2, 3), size=2)
    with pytest.raises(NotImplementedError, match="\"compute_indices_weights_nearest\" not implemented for 'Long'"):
        F.interpolate(rg.zeros(1, 2, 3, dtype=rg.int64), size=2)


INTERP_MODES = ["nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic", "area"]


def draw_interpolate_case(rng):
    nd = int(rng.integers(3, 6))
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) + tuple(int(s) for s in rng.integers(1, 7, nd - 2))
    mode = str(rng.choice(INTERP_MODES))
    kwargs = {"mode": mode}
    if rng.random() < 0.5:
        kwargs["size"] = tuple(int(s) for s in rng.integers(1, 12, nd - 2))
    else:
        kwargs["scale_factor"] = tuple(float(s) for s in rng.choice([0.5, 0.75, 1.5, 1.7, 2.0, 2.0000001, 3.0],
                                                                   nd - 2))
        if rng.random() < 0.3:
            kwargs["recompute_scale_factor"] = True
    if mode not in ("nearest", "nearest-exact", "area") and rng.random() < 0.6:
        kwargs["align_corners"] = bool(rng.random() < 0.5)
    # ATen's antialiased kernel mishandles an output width of 1 (it then
    # ignores the row index), so those draws skip antialiasing.
    if mode in ("bilinear", "bicubic") and rng.random() < 0.3 and nd == 4:
        kwargs["antialias"] = True
    return shape, kwargs


def test_interpolate_matches_pytorch_on_drawn_cases(torch):
    rng = np.random.default_rng(1)
    compared = 0
    for _ in range(300):
        shape, kwargs = draw_interpolate_case(rng)
        dtype = "float32" if rng.random() < 0.3 else "float64"
        x = rng.normal(size=shape).astype(dtype)
        results = run_both(torch, lambda lib, F, x: F.interpolate(x, **kwargs), [x])
        if kwargs.get("antialias") and results[1][1] is not None and results[1][1].shape[-1] == 1:
            continue
        # ATen's nearest backward takes nearest_idx's shortcuts in every
        # rank while its 1-D and 3-D forward kernels do not; rustgrad's
        # gradient follows its forward, so compare values only there.
        # Likewise ATen's antialiased forward skips a dim whose size is
        # unchanged (whatever the scale) while its backward does not.
        unchanged = results[1][1] is not None and any(
            a == b for a, b in zip(shape[2:], results[1][1].shape[2:]))
        if kwargs["mode"] == "nearest" and "scale_factor" in kwargs or kwargs.get("antialias") and unchanged:
            results = [(e, o, None) for e, o, _ in results]
        assert_same(results, 1e-4 if dtype == "float32" else 1e-10)
        compared += 1
    assert compared > 250


INTERP_ERRORS = [
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3, 4), size=(0, 2), mode="bilinear"),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 2, 3, 4), size=(1, 0, 2), mode="trilinear"),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3), size=2, mode="bogus"),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3), size=2, mode="bicubic"),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3, 4), size=2, mode="linear"),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3, 4), size=(2, 3, 4)),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3, 4), scale_factor=(2, 3, 4)),
    lambda lib, F: F.interpolate(lib.zeros(1, 0, 3), size=5),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 0), size=5),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3), scale_factor=-1.5),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3, 4), scale_factor=-1.5, mode="area"),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3, 4), size=5, recompute_scale_factor=True),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3, 4, dtype=lib.int64), size=5, mode="bilinear"),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3, dtype=lib.int64), size=5, mode="linear"),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3, 4, dtype=lib.uint8), size=5, mode="area"),
    lambda lib, F: F.interpolate(lib.zeros(1, 2, 3, dtype=lib.bool), size=5),
    lambda lib, F: F.interpolate(lib.zeros(0, 2, 3), size=5),
    lambda lib, F: F.interpolate(lib.zeros(1, 0, 3, 4), size=2, mode="area"),
]


@pytest.mark.parametrize("case", range(len(INTERP_ERRORS)))
def test_interpolate_errors_match_pytorch(torch, case):
    call = INTERP_ERRORS[case]
    got, expected = raises_same(lambda: call(rg, F), lambda: call(torch, torch.nn.functional))
    assert got == expected


# ---------------------------------------------------------------------------
# distances
# ---------------------------------------------------------------------------


def test_cosine_similarity_matches_numpy_and_differentiates():
    a, b = rand_array(16, (4, 3, 5)), rand_array(17, (3, 1))
    a_, b_ = np.broadcast_arrays(a, b)
    expected = (a_ * b_).sum(1) / (np.linalg.norm(a_, axis=1) * np.linalg.norm(b_, axis=1))
    assert_close(F.cosine_similarity(T(a), T(b)), expected, rtol=1e-12, atol=1e-12)
    check_grads(lambda a, b: F.cosine_similarity(a, b, dim=-1), [a, rand_array(18, (5,))])
    assert gradgradcheck(lambda a, b: F.cosine_similarity(a, b, dim=0),
                         [T(a[:, 0], requires_grad=True), T(rand_array(19, (4, 5)), requires_grad=True)])


def test_cosine_similarity_clamps_each_norm_outside_autograd():
    # ||a|| = 0.01 < eps = 0.1: the value uses eps, the gradient flows
    # through the norm as if unclamped (PyTorch's formula).
    a = np.array([0.006, 0.008])
    b = np.array([1.0, 0.0])
    at = T(a, requires_grad=True)
    out = F.cosine_similarity(at, T(b), dim=0, eps=0.1)
    assert_close(out, np.array(0.006 / 0.1))
    out.backward()
    # d/da (a0 / n) with n = ||a|| in the graph but valued 0.1:
    # [1/n - a0*a0/(||a|| n^2), -a0*a1/(||a|| n^2)]
    norm, n = 0.01, 0.1
    assert_close(at.grad, np.array([1 / n - a[0] * a[0] / (norm * n * n), -a[0] * a[1] / (norm * n * n)]))
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point, yet common dtype is Long"):
        F.cosine_similarity(rg.tensor([[1, 2]]), rg.tensor([[1, 2]]))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_pairwise_distance_matches_numpy(p):
    a, b = rand_array(20, (4, 5)), rand_array(21, (5,))
    expected = np.linalg.norm(a - b + 1e-6, ord=p, axis=-1)
    assert_close(F.pairwise_distance(T(a), T(b), p), expected)
    assert tuple(F.pairwise_distance(T(a), T(b), p, keepdim=True).shape) == (4, 1)
    check_grads(lambda a, b: F.pairwise_distance(a, b, p), [a, b])


@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, float("inf")])
def test_pdist_matches_numpy(p):
    x = rand_array(22, (5, 3))
    i, j = np.triu_indices(5, 1)
    diff = np.abs(x[i] - x[j])
    expected = diff.max(1) if p == float("inf") else (diff ** p).sum(1) ** (1 / p)
    assert_close(F.pdist(T(x), p), expected)
    check_grads(lambda x: F.pdist(x, p), [x])


def test_pdist_edge_cases():
    assert tuple(F.pdist(rg.zeros(1, 3)).shape) == (0,)
    assert_close(F.pdist(rg.zeros(3, 0, dtype=rg.float64)), np.zeros(3))
    # Equal rows: zero distance and zero gradient.
    x = T(np.array([[1.0, 2.0], [1.0, 2.0]]), requires_grad=True)
    F.pdist(x).sum().backward()
    assert_close(x.grad, np.zeros((2, 2)))
    # p = inf sends the whole gradient to every coordinate tied for the max.
    x = T(np.array([[0.0, 0.0], [2.0, -2.0]]), requires_grad=True)
    F.pdist(x, float("inf")).backward()
    assert_close(x.grad, np.array([[-1.0, 1.0], [1.0, -1.0]]))
    for bad, message in [((rg.zeros(3),), "pdist only supports 2D tensors, got: 1D"),
                         ((rg.zeros(3, 2, dtype=rg.int64),), "pdist only supports floating-point dtypes"),
                         ((rg.zeros(3, 2), -1.0), "pdist only supports non-negative p values")]:
        with pytest.raises(RuntimeError, match=message):
            F.pdist(*bad)


DISTANCE_CASES = [
    (lambda lib, F, a, b: F.cosine_similarity(a, b), [(4, 3, 5), (3, 1)]),
    (lambda lib, F, a, b: F.cosine_similarity(a * 1e-9, b, dim=-1, eps=1e-3), [(4, 3), (3,)]),
    (lambda lib, F, a, b: F.cosine_similarity(a[0, 0], b[0, 0], dim=0), [(2, 2), (2, 2)]),
    (lambda lib, F, a, b: F.pairwise_distance(a, b), [(4, 5), (5,)]),
    (lambda lib, F, a, b: F.pairwise_distance(a, b, 3.0, 1e-3, True), [(2, 4, 5), (4, 5)]),
    (lambda lib, F, a, b: F.pairwise_distance(a, b, 1.0), [(3,), (3,)]),
    (lambda lib, F, a, b: F.pdist(lib.cat([a, a[:1]]), 2.0), [(4, 3), (1,)]),
    (lambda lib, F, a, b: F.pdist(lib.cat([a, a[:1]]), 0.0), [(4, 3), (1,)]),
    (lambda lib, F, a, b: F.pdist(lib.cat([a, a[:1]]), 0.5), [(4, 3), (1,)]),
    (lambda lib, F, a, b: F.pdist(a, float("inf")), [(4, 3), (1,)]),
    (lambda lib, F, a, b: F.cosine_similarity(a, b), [(3, 4), (2, 4)]),
    (lambda lib, F, a, b: F.cosine_similarity(a, b, dim=2), [(3, 4), (3, 4)]),
]


@pytest.mark.parametrize("case", range(len(DISTANCE_CASES)))
def test_distances_match_pytorch(torch, case):
    call, shapes = DISTANCE_CASES[case]
    arrays = [rand_array(23 + i, s) for i, s in enumerate(shapes)]
    assert_same(run_both(torch, call, arrays), 1e-12)


def test_distance_errors_match_pytorch(torch):
    for call in [lambda lib, F: F.cosine_similarity(lib.ones(2, 3, dtype=lib.int64), lib.ones(2, 3)),
                 lambda lib, F: F.cosine_similarity(lib.ones(2, 3, dtype=lib.int64), lib.ones(2, 3, dtype=lib.int64)),
                 lambda lib, F: F.pdist(lib.ones(3)), lambda lib, F: F.pdist(lib.ones(3, 2), -1.0),
                 lambda lib, F: F.pairwise_distance(lib.ones(3, 2), lib.ones(2, 2))]:
        got, expected = raises_same(lambda: call(rg, F), lambda: call(torch, torch.nn.functional))
        assert got == expected
