"""The normalization functionals (``layer_norm``, ``rms_norm``,
``group_norm``, ``batch_norm``, ``instance_norm``, ``normalize``,
``local_response_norm``): values against NumPy transcriptions of their
definitions, gradients against finite differences, second derivatives by
``gradgradcheck``, running-statistics updates, and values, gradients and
errors against PyTorch (``torch`` fixture)."""

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn.functional as F

from conftest import N, T, assert_close, check_grads, rand_array, raises_same

gradgradcheck = rg.autograd.gradgradcheck


# ---------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------


def np_standardize(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def np_layer_norm(x, k, w=None, b=None, eps=1e-5):
    out = np_standardize(x, tuple(range(x.ndim - k, x.ndim)), eps)
    return out * (1 if w is None else w) + (0 if b is None else b)


def np_rms_norm(x, k, w=None, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    out = x / np.sqrt((x * x).mean(axis=axes, keepdims=True) + eps)
    return out * (1 if w is None else w)


def channel(v, ndim):
    return None if v is None else v.reshape([1, -1] + [1] * (ndim - 2))


def np_group_norm(x, g, w=None, b=None, eps=1e-5):
    out = np_standardize(x.reshape(x.shape[0], g, -1), (2,), eps).reshape(x.shape)
    return out * (1 if w is None else channel(w, x.ndim)) + (0 if b is None else channel(b, x.ndim))


def np_batch_norm_train(x, w=None, b=None, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    out = np_standardize(x, axes, eps)
    return out * (1 if w is None else channel(w, x.ndim)) + (0 if b is None else channel(b, x.ndim))


def np_local_response_norm(x, size, alpha, beta, k):
    sq = np.pad(x * x, [(0, 0), (size // 2, (size - 1) // 2)] + [(0, 0)] * (x.ndim - 2))
    c = x.shape[1]
    avg = sum(sq[:, j:j + c] for j in range(size)) / size
    return x / (k + alpha * avg) ** beta


# ---------------------------------------------------------------------------
# layer_norm / rms_norm
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape, k", [((4, 5), 1), ((2, 3, 4), 2), ((3, 4), 2), ((5,), 1), ((0, 3), 1)])
@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm_matches_numpy(shape, k, affine, dtype):
    x = rand_array(0, shape, dtype)
    w = rand_array(1, shape[len(shape) - k:], dtype) if affine else None
    b = rand_array(2, shape[len(shape) - k:], dtype) if affine else None
    out = F.layer_norm(T(x), shape[len(shape) - k:], None if w is None else T(w), None if b is None else T(b))
    assert out.dtype == getattr(rg, dtype)
    assert_close(out, np_layer_norm(x.astype(np.float64), k, w, b), rtol=1e-4 if dtype == "float32" else 1e-10,
                 atol=1e-5 if dtype == "float32" else 1e-10)


def test_layer_norm_gradients_and_second_order():
    x, w, b = rand_array(3, (3, 4)), rand_array(4, (4,)), rand_array(5, (4,))
    check_grads(lambda x, w, b: F.layer_norm(x, (4,), w, b, eps=1e-3), [x, w, b])
    ts = [T(a, requires_grad=True) for a in (x, w, b)]
    assert gradgradcheck(lambda x, w, b: F.layer_norm(x, [4], w, b), ts)


def test_layer_norm_low_precision_keeps_dtype():
    x = rand_array(6, (3, 8), "float32")
    for dtype in (rg.float16, rg.bfloat16):
        out = F.layer_norm(T(x).to(dtype), (8,))
        assert out.dtype == dtype
        np.testing.assert_allclose(N(out.float()), np_layer_norm(x.astype(np.float64), 1), atol=0.05)


@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_matches_numpy_and_differentiates(eps):
    x, w = rand_array(7, (2, 3, 4)), rand_array(8, (3, 4))
    out = F.rms_norm(T(x), (3, 4), T(w), eps=eps)
    ref_eps = np.finfo(np.float64).eps if eps is None else eps
    assert_close(out, np_rms_norm(x, 2, w, ref_eps))
    check_grads(lambda x, w: F.rms_norm(x, (4,), w, eps=1e-2), [x, w[0]])
    assert gradgradcheck(lambda x, w: F.rms_norm(x, (4,), w, eps=1e-2),
                         [T(x, requires_grad=True), T(w[0], requires_grad=True)])


def test_rms_norm_default_eps_is_float32_epsilon_for_float32():
    # A zero row: the output is 0 * rsqrt(0 + eps) = 0 and finite only
    # because eps > 0; the scale itself shows eps.
    x = np.zeros((1, 4), np.float32)
    x[0, 0] = 1e-4
    out = F.rms_norm(T(x), (4,))
    expected = 1e-4 / np.sqrt(np.float32(1e-8 / 4) + np.finfo(np.float32).eps)
    np.testing.assert_allclose(N(out)[0, 0], expected, rtol=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda x: F.layer_norm(x, (3,)), "Given normalized_shape=[3], expected input with shape [*, 3], but got "
                                      "input of size[2, 3, 4]"),
    (lambda x: F.layer_norm(x, ()), "Expected normalized_shape to be at least 1-dimensional"),
    (lambda x: F.layer_norm(x, (4,), rg.ones(3)), "Expected weight to be of same shape as normalized_shape, but "
                                                  "got weight of shape [3] and normalized_shape = [4]"),
    (lambda x: F.layer_norm(x, (4,), None, rg.ones(3)), "Expected bias to be of same shape"),
    (lambda x: F.rms_norm(x, (3,)), "expected input with shape [*3], but got input of size[2, 3, 4]"),
    (lambda x: F.group_norm(x, 2), "Expected number of channels in input to be divisible by num_groups, but got "
                                   "input of shape [2, 3, 4] and num_groups=2"),
    (lambda x: F.group_norm(x, 3, rg.ones(2)), "Expected weight to be a vector of size equal to the number of "
                                               "channels in input"),
    (lambda x: F.batch_norm(x, None, None), "running_mean must be defined in evaluation mode"),
    (lambda x: F.batch_norm(x, rg.zeros(2), rg.ones(3), training=True), "running_mean should contain 3 elements "
                                                                        "not 2"),
    (lambda x: F.batch_norm(x, rg.zeros(3), rg.ones(3), rg.ones(2)), "weight should contain 3 elements not 2"),
    (lambda x: F.instance_norm(x, use_input_stats=False), "Expected running_mean and running_var to be defined"),
])
def test_shape_errors(call, message):
    with pytest.raises(RuntimeError) as info:
        call(rg.zeros(2, 3, 4))
    assert message in str(info.value)


def test_value_and_type_errors():
    with pytest.raises(TypeError, match="must be tuple of ints, not int"):
        F.layer_norm(rg.zeros(2, 4), 4)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"torch.Size\(\[1, 3\]\)"):
        F.batch_norm(rg.zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"got input size \[1, 3\]"):
        F.group_norm(rg.zeros(1, 3), 3)
    with pytest.raises(ValueError, match="batch_norm eps must be positive during training, but got 0"):
        F.batch_norm(rg.zeros(4, 3), None, None, training=True, eps=0)
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        F.instance_norm(rg.zeros(2, 3, 1))
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality"):
        F.local_response_norm(rg.zeros(3, 3), 2)
    with pytest.raises(NotImplementedError, match="\"LayerNormKernelImpl\" not implemented for 'Long'"):
        F.layer_norm(rg.zeros(2, 4, dtype=rg.int64), (4,))


# ---------------------------------------------------------------------------
# group_norm / batch_norm / instance_norm
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape, groups", [((2, 6, 5), 3), ((3, 4), 2), ((2, 4, 2, 3), 4), ((2, 4, 3), 1)])
def test_group_norm_matches_numpy_and_differentiates(shape, groups):
    x, w, b = rand_array(9, shape), rand_array(10, shape[1:2]), rand_array(11, shape[1:2])
    assert_close(F.group_norm(T(x), groups, T(w), T(b)), np_group_norm(x, groups, w, b))
    assert_close(F.group_norm(T(x), groups), np_group_norm(x, groups))
    small = [rand_array(12, (2, 4, 3)), rand_array(1, (4,)), rand_array(2, (4,))]
    check_grads(lambda x, w, b: F.group_norm(x, 2, w, b), small)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (2, 3, 2, 2)])
def test_batch_norm_training_statistics_and_running_update(shape):
    x, w, b = rand_array(13, shape), rand_array(14, (3,)), rand_array(15, (3,))
    rm, rv = rand_array(16, (3,)), rand_array(17, (3,), low=0.5, high=2)
    running_mean, running_var = T(rm), T(rv)
    out = F.batch_norm(T(x), running_mean, running_var, T(w), T(b), training=True, momentum=0.3)
    assert_close(out, np_batch_norm_train(x, w, b))
    axes = (0,) + tuple(range(2, x.ndim))
    # The running variance takes the unbiased (n - 1) batch variance.
    assert_close(running_mean, 0.7 * rm + 0.3 * x.mean(axis=axes))
    assert_close(running_var, 0.7 * rv + 0.3 * x.var(axis=axes, ddof=1))
    assert not running_mean.requires_grad


def test_batch_norm_eval_uses_running_statistics():
    x, w, b = rand_array(18, (4, 3, 2)), rand_array(19, (3,)), rand_array(20, (3,))
    rm, rv = rand_array(21, (3,)), rand_array(22, (3,), low=0.5, high=2)
    running_mean, running_var = T(rm), T(rv)
    out = F.batch_norm(T(x), running_mean, running_var, T(w), T(b), training=False, eps=1e-3)
    expected = (x - channel(rm, 3)) / np.sqrt(channel(rv, 3) + 1e-3) * channel(w, 3) + channel(b, 3)
    assert_close(out, expected)
    assert_close(running_mean, rm)  # untouched
    check_grads(lambda x, w, b: F.batch_norm(x, T(rm), T(rv), w, b, eps=1e-3), [x, w, b])
    ts = [T(a, requires_grad=True) for a in (x, w, b)]
    assert gradgradcheck(lambda x, w, b: F.batch_norm(x, T(rm), T(rv), w, b, eps=1e-3) ** 2, ts)


def test_batch_norm_gradients_and_second_order_in_training():
    x, w, b = rand_array(23, (4, 3, 2)), rand_array(24, (3,)), rand_array(25, (3,))
    check_grads(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, w, b])
    ts = [T(a, requires_grad=True) for a in (x, w, b)]
    assert gradgradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), ts)


def test_batch_norm_empty_batch_leaves_running_statistics():
    running_mean, running_var = rg.zeros(3), rg.ones(3)
    out = F.batch_norm(rg.zeros(0, 3, 2), running_mean, running_var, training=True)
    assert tuple(out.shape) == (0, 3, 2)
    assert_close(running_mean, np.zeros(3))
    assert_close(running_var, np.ones(3))


def test_instance_norm_matches_numpy_and_averages_running_statistics():
    x, w, b = rand_array(26, (2, 3, 5)), rand_array(27, (3,)), rand_array(28, (3,))
    running_mean, running_var = rg.zeros(3, dtype=rg.float64), rg.ones(3, dtype=rg.float64)
    out = F.instance_norm(T(x), running_mean, running_var, T(w), T(b), momentum=0.2)
    assert_close(out, np_standardize(x, (2,), 1e-5) * channel(w, 3) + channel(b, 3))
    assert_close(running_mean, 0.2 * x.mean(axis=2).mean(axis=0))
    assert_close(running_var, 0.8 + 0.2 * x.var(axis=2, ddof=1).mean(axis=0))
    check_grads(lambda x, w: F.instance_norm(x, weight=w), [x, w])
    # Without input statistics the running ones normalize.
    out = F.instance_norm(T(x), running_mean, running_var, use_input_stats=False)
    assert_close(out, (x - channel(N(running_mean), 3)) / np.sqrt(channel(N(running_var), 3) + 1e-5))


# ---------------------------------------------------------------------------
# normalize / local_response_norm
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize_matches_numpy_and_differentiates(p, dim):
    x = rand_array(29, (3, 4), avoid=[0])
    norm = (np.abs(x) ** p).sum(axis=dim, keepdims=True) ** (1 / p)
    assert_close(F.normalize(T(x), p, dim), x / np.maximum(norm, 1e-12))
    check_grads(lambda x: F.normalize(x, p, dim), [x])


def test_normalize_clamps_small_norms_and_writes_out():
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert_close(F.normalize(T(x)), np.array([[0.0, 0.0], [0.6, 0.8]]))
    out = rg.empty(2, 2, dtype=rg.float64)
    result = F.normalize(T(x), out=out)
    assert result is out
    assert_close(out, np.array([[0.0, 0.0], [0.6, 0.8]]))


@pytest.mark.parametrize("shape, size", [((2, 5, 3), 3), ((1, 4, 2, 3), 2), ((2, 3, 2, 2, 2), 5)])
def test_local_response_norm_matches_numpy(shape, size):
    x = rand_array(30, shape)
    assert_close(F.local_response_norm(T(x), size, alpha=0.5, beta=0.75, k=2.0),
                 np_local_response_norm(x, size, 0.5, 0.75, 2.0))
    check_grads(lambda x: F.local_response_norm(x, size, alpha=0.5, k=2.0), [rand_array(31, (1, 4, 2))])


# ---------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------


CASES = [
    ("layer_norm", lambda lib, F, x, w, b: F.layer_norm(x, (3, 4), w.reshape(3, 4), b.reshape(3, 4))),
    ("rms_norm", lambda lib, F, x, w, b: F.rms_norm(x, (4,), w[:4])),
    ("group_norm", lambda lib, F, x, w, b: F.group_norm(x, 3, w[:6], b[:6])),
    ("batch_norm", lambda lib, F, x, w, b: F.batch_norm(x, None, None, w[:6], b[:6], training=True)),
    ("instance_norm", lambda lib, F, x, w, b: F.instance_norm(x, weight=w[:6], bias=b[:6])),
    ("normalize", lambda lib, F, x, w, b: F.normalize(x, 3.0, 2)),
    ("local_response_norm", lambda lib, F, x, w, b: F.local_response_norm(x, 3, 0.1, 0.6, 1.5)),
    # evaluation folds weight * rsqrt(var) into one scale and shift; (N, C) input has no spatial dims
    ("batch_norm_eval", lambda lib, F, x, w, b: F.batch_norm(
        x, lib.linspace(-1, 1, 6, dtype=x.dtype), lib.linspace(0.5, 2, 6, dtype=x.dtype), w[:6], b[:6])),
    ("batch_norm_2d_input", lambda lib, F, x, w, b: F.batch_norm(
        x.reshape(4, 36), None, None, w.repeat(3), b.repeat(3), training=True)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, call", CASES, ids=[c[0] for c in CASES])
def test_functionals_match_pytorch(torch, name, call, dtype):
    arrays = [rand_array(32, (2, 6, 3, 4), dtype), rand_array(33, (12,), dtype), rand_array(34, (12,), dtype)]
    weights = None
    results = []
    for lib, Fn in ((rg, F), (torch, torch.nn.functional)):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = call(lib, Fn, *ts)
        if weights is None:
            weights = rand_array(35, tuple(out.shape), dtype, low=0.5, high=1.5)
        (out * lib.tensor(weights)).sum().backward()
        grads = [np.zeros(a.shape) if t.grad is None else t.grad.numpy() for a, t in zip(arrays, ts)]
        results.append((out.detach().numpy(), grads))
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(results[0][0], results[1][0], **tol)
    for g_rg, g_torch in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(g_rg, g_torch, **tol)


def test_batch_norm_running_statistics_match_pytorch(torch):
    x = rand_array(36, (5, 3, 4))
    stats = []
    for lib, Fn in ((rg, F), (torch, torch.nn.functional)):
        rm, rv = lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)
        for momentum in (0.1, 0.5, 1.0):
            Fn.batch_norm(lib.tensor(x * momentum), rm, rv, training=True, momentum=momentum)
        stats.append((rm.numpy().copy(), rv.numpy().copy()))
    np.testing.assert_allclose(stats[0][0], stats[1][0], rtol=1e-12)
    np.testing.assert_allclose(stats[0][1], stats[1][1], rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")  # PyTorch's fused-kernel note
@pytest.mark.parametrize("param_dtype", ["same", "float32"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name, call", CASES[:4], ids=[c[0] for c in CASES[:4]])
def test_low_precision_matches_pytorch(torch, name, call, dtype, param_dtype):
    """float16/bfloat16 input is normalized in float32 and rounded once; the
    output keeps the input's dtype, also with float32 parameters."""
    x = rand_array(37, (2, 6, 3, 4), "float32")
    w, b = rand_array(38, (12,), "float32"), rand_array(39, (12,), "float32")
    outs = []
    for lib, Fn in ((rg, F), (torch, torch.nn.functional)):
        low = getattr(lib, dtype)
        pdt = low if param_dtype == "same" else lib.float32
        out = call(lib, Fn, lib.tensor(x).to(low), lib.tensor(w).to(pdt), lib.tensor(b).to(pdt))
        assert out.dtype == low
        outs.append(out.float().numpy())
    ulp = 2.0 ** (-7 if dtype == "bfloat16" else -10)
    np.testing.assert_allclose(outs[0], outs[1], rtol=0, atol=4 * ulp * max(1.0, np.abs(outs[1]).max()))


ERROR_CASES = [
    lambda lib, F: F.layer_norm(lib.zeros(2, 3, 4), (3,)),
    lambda lib, F: F.layer_norm(lib.zeros(2, 3, 4), ()),
    lambda lib, F: F.layer_norm(lib.zeros(2, 3, 4), (4,), lib.ones(3)),
    lambda lib, F: F.layer_norm(lib.zeros(2, 3, 4), 4),
    lambda lib, F: F.layer_norm(lib.zeros(2, 4, dtype=lib.int64), (4,)),
    lambda lib, F: F.rms_norm(lib.zeros(2, 3, 4), (3,)),
    lambda lib, F: F.rms_norm(lib.zeros(2, 4, dtype=lib.int64), (4,)),
    lambda lib, F: F.group_norm(lib.zeros(2, 3, 4), 2),
    lambda lib, F: F.group_norm(lib.zeros(2, 3, 4), 3, lib.ones(3), lib.ones(2)),
    lambda lib, F: F.group_norm(lib.zeros(2, 3, 4), 0),
    lambda lib, F: F.group_norm(lib.zeros(3), 1),
    lambda lib, F: F.group_norm(lib.zeros(1, 3), 3),
    lambda lib, F: F.batch_norm(lib.zeros(2, 3), None, None),
    lambda lib, F: F.batch_norm(lib.zeros(2, 3), None, lib.ones(3)),
    lambda lib, F: F.batch_norm(lib.zeros(2, 3), lib.zeros(3), None, training=True),
    lambda lib, F: F.batch_norm(lib.zeros(2, 3), lib.zeros(3), lib.ones(2), training=True),
    lambda lib, F: F.batch_norm(lib.zeros(2, 3), lib.zeros(3), lib.ones(3), None, lib.ones(2), training=True),
    lambda lib, F: F.batch_norm(lib.zeros(1, 3), None, None, training=True),
    lambda lib, F: F.batch_norm(lib.zeros(4, 3), None, None, training=True, eps=0.0),
    lambda lib, F: F.batch_norm(lib.zeros(4, 3), lib.zeros(3), lib.ones(3), eps=-1.0),
    lambda lib, F: F.batch_norm(lib.zeros(4, 3, dtype=lib.int64), None, None, training=True),
    lambda lib, F: F.instance_norm(lib.zeros(2, 3, 1)),
    lambda lib, F: F.instance_norm(lib.zeros(2, 3, 4), use_input_stats=False),
    lambda lib, F: F.normalize(lib.zeros(3)),
    lambda lib, F: F.normalize(lib.zeros(3, 2, dtype=lib.int64)),
    lambda lib, F: F.local_response_norm(lib.zeros(3, 3), 2),
]


@pytest.mark.parametrize("case", range(len(ERROR_CASES)))
def test_errors_match_pytorch(torch, case):
    call = ERROR_CASES[case]
    got, expected = raises_same(lambda: call(rg, F), lambda: call(torch, torch.nn.functional))
    assert expected[0] is not None, "the case should raise in PyTorch"
    assert got == expected
