"""Linear, Bilinear, Identity, Flatten/Unflatten and the activation modules
(and their functional forms): values against NumPy, gradients against
hand-derived formulas or finite differences, errors and reprs as PyTorch's,
and outputs and gradients against PyTorch with the same weights loaded
through state_dict."""

import math
import warnings

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn
import rustgrad.nn.functional as F

from conftest import N, T, assert_close, check_grads, rand_array, raises_same


def _np_sigmoid(x):
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x << 0, giving the right 0
        return 1 / (1 + np.exp(-x))


def _np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_gelu(x):
    from math import erf

    return x * 0.5 * (1 + np.vectorize(erf)(x / math.sqrt(2)))


# (module, NumPy reference, points where the derivative jumps)
ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0), [0]),
    (nn.ReLU6(), lambda x: np.clip(x, 0, 6), [0, 6]),
    (nn.LeakyReLU(0.2), lambda x: np.where(x >= 0, x, 0.2 * x), [0]),
    (nn.ELU(alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)), [0]),
    (nn.SELU(), lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)), [0]),
    (nn.CELU(alpha=2.0), lambda x: np.maximum(x, 0) + np.minimum(0, 2.0 * np.expm1(x / 2.0)), [0]),
    (nn.GELU(), _np_gelu, []),
    (nn.SiLU(), lambda x: x * _np_sigmoid(x), []),
    (nn.Mish(), lambda x: x * np.tanh(np.log1p(np.exp(x))), []),
    (nn.Sigmoid(), _np_sigmoid, []),
    (nn.Tanh(), np.tanh, []),
    (nn.Softplus(beta=2.0, threshold=3.0), lambda x: _np_softplus(x, 2.0, 3.0), [1.5]),
    (nn.Softsign(), lambda x: x / (1 + np.abs(x)), []),
    (nn.Hardtanh(-0.5, 1.5), lambda x: np.clip(x, -0.5, 1.5), [-0.5, 1.5]),
    (nn.Hardsigmoid(), lambda x: np.clip(x + 3, 0, 6) / 6, [-3, 3]),
    (nn.Hardswish(), lambda x: x * np.clip(x + 3, 0, 6) / 6, [-3, 3]),
    (nn.Threshold(0.3, -2.0), lambda x: np.where(x <= 0.3, -2.0, x), [0.3]),
    (nn.LogSigmoid(), lambda x: np.log(_np_sigmoid(x)), []),
    (nn.Tanhshrink(), lambda x: x - np.tanh(x), []),
    (nn.Hardshrink(0.7), lambda x: np.where(np.abs(x) <= 0.7, 0.0, x), [-0.7, 0.7]),
    (nn.Softshrink(0.7), lambda x: np.where(x > 0.7, x - 0.7, np.where(x < -0.7, x + 0.7, 0.0)), [-0.7, 0.7]),
    (nn.Softmax(dim=1), lambda x: _np_softmax(x, 1), []),
    (nn.LogSoftmax(dim=0), lambda x: np.log(_np_softmax(x, 0)), []),
    (nn.Softmin(dim=1), lambda x: _np_softmax(-x, 1), []),
    (nn.GLU(dim=1), lambda x: x[:, :2] * _np_sigmoid(x[:, 2:]), []),
    (nn.RReLU(0.1, 0.3).eval(), lambda x: np.where(x >= 0, x, 0.2 * x), [0]),
]
IDS = [type(m).__name__ for m, _, _ in ACTIVATIONS]


# ---------------------------------------------------------------------------
# activation modules
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("module, ref, kinks", ACTIVATIONS, ids=IDS)
def test_activation_values(module, ref, kinks, dtype):
    x = rand_array(0, (3, 4), dtype, low=-4, high=4, avoid=kinks)
    out = module(T(x))
    assert out.dtype == getattr(rg, dtype)
    assert_close(out, ref(x.astype(np.float64)).astype(dtype), rtol=1e-5 if dtype == "float32" else 1e-10,
                 atol=1e-6 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("module, ref, kinks", ACTIVATIONS, ids=IDS)
def test_activation_gradients(module, ref, kinks):
    x = rand_array(1, (3, 4), low=-4, high=4, avoid=kinks)
    check_grads(module, [x])


def test_logsigmoid_is_stable_for_large_inputs():
    x = T(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]), requires_grad=True)
    y = F.logsigmoid(x)
    expected = np.array([-1000.0, -30.0 - math.log1p(math.exp(-30.0)), -math.log(2.0), -math.log1p(math.exp(-30.0)),
                         0.0])
    np.testing.assert_allclose(N(y), expected, rtol=1e-14, atol=0)
    y.sum().backward()
    np.testing.assert_allclose(N(x.grad), _np_sigmoid(-N(x)), rtol=1e-14)


def test_shrink_and_threshold_at_boundaries_and_nan():
    x = T(np.array([np.nan, -0.5, 0.5, 0.2, 2.0], dtype=np.float32))
    np.testing.assert_array_equal(N(F.threshold(x, 0.5, -3.0)), [np.nan, -3, -3, -3, 2])
    np.testing.assert_array_equal(N(F.hardshrink(x, 0.5)), [np.nan, 0, 0, 0, 2])
    np.testing.assert_allclose(N(F.softshrink(x, 0.5)), [np.nan, 0, 0, 0, 1.5])
    g = T(np.array([0.5, -0.5, 0.2, 1.0]), requires_grad=True)
    for fn in (lambda t: F.softshrink(t, 0.5), lambda t: F.hardshrink(t, 0.5), lambda t: F.threshold(t, 0.5, 2.0)):
        g.grad = None
        fn(g).sum().backward()
        np.testing.assert_array_equal(N(g.grad), [0, 0, 0, 1])


def test_threshold_keeps_integer_dtype():
    out = F.threshold(rg.tensor([1, 2]), 1.5, 7.9)
    assert out.dtype == rg.int64 and out.tolist() == [7, 2]


def test_prelu_per_channel():
    m = nn.PReLU(3, init=0.1)
    assert repr(m) == "PReLU(num_parameters=3)" and N(m.weight).tolist() == pytest.approx([0.1] * 3)
    with rg.no_grad():
        m.weight.copy_(rg.tensor([0.1, 0.2, 0.3]))
    x = rand_array(2, (2, 3, 4), "float32")
    xt = T(x, requires_grad=True)
    out = m(xt)
    w = np.array([0.1, 0.2, 0.3], dtype=np.float32).reshape(1, 3, 1)
    assert_close(out, np.where(x > 0, x, w * x))
    out.sum().backward()
    np.testing.assert_allclose(N(m.weight.grad), np.where(x > 0, 0, x).sum(axis=(0, 2)), rtol=1e-5)
    assert_close(xt.grad, np.where(x > 0, 1.0, np.broadcast_to(w, x.shape)).astype(np.float32))
    assert F.prelu(rg.tensor(-2.0), rg.tensor([0.5])).shape == ()


def test_prelu_errors():
    with pytest.raises(RuntimeError, match=r"^Mismatch of parameter numbers and input channel size. Found parameter "
                                           r"numbers = 3 and channel size = 2.$"):
        F.prelu(rg.ones(2, 2), rg.ones(3))
    with pytest.raises(RuntimeError, match=r"^Mismatch of parameter numbers and input channel size. Found parameter "
                                           r"numbers = 3 and channel size = 1.$"):
        F.prelu(rg.ones(3), rg.ones(3))
    with pytest.raises(RuntimeError, match=r"^prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                                           r"ndim = 2$"):
        F.prelu(rg.ones(2, 3), rg.ones(1, 3))


def test_activation_errors():
    with pytest.raises(RuntimeError, match=r"^Halving dimension must be even, but dimension 1 is size 3$"):
        F.glu(rg.ones(2, 3))
    with pytest.raises(RuntimeError, match="^glu does not support scalars because halving size must be even$"):
        F.glu(rg.tensor(1.0))
    with pytest.raises(RuntimeError, match=r"^lambda must be in range \[0, 3.40282e\+38\] for input dtype Float, "
                                           r"but found -1$"):
        F.softshrink(rg.ones(2), -1.0)
    with pytest.raises(ValueError, match="^min_val cannot be greater than max_val$"):
        F.hardtanh(rg.ones(1), 2.0, 1.0)
    with pytest.raises(AssertionError, match=r"^max_val \(0.0\) must be greater than min_val \(1.0\)$"):
        nn.Hardtanh(1.0, 0.0)
    with pytest.raises(TypeError, match="^dim must be an int or None, got <class 'float'>$"):
        nn.Softmax(dim=1.0)
    with pytest.raises(ValueError, match="^Softmax2d: expected input to be 3D or 4D, got 2D instead$"):
        nn.Softmax2d()(rg.ones(2, 2))


def test_softmax_implicit_dim_warns():
    x = rand_array(3, (2, 3), "float32")
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been deprecated"):
        out = F.softmax(T(x))
    assert_close(out, _np_softmax(x, 1))
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        out = nn.LogSoftmax()(T(rand_array(4, (2, 3, 4), "float32")))
    np.testing.assert_allclose(N(out.exp().sum(0)), np.ones((3, 4)), rtol=1e-5)  # dim 0 for 3-d inputs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(T(x), dim=0)


def test_softmax_dtype_argument():
    x = T(rand_array(5, (2, 3), "float32"))
    assert F.softmax(x, 1, dtype=rg.float64).dtype == rg.float64
    assert F.log_softmax(x, 1, dtype=rg.float64).dtype == rg.float64
    assert F.softmin(x, 1, dtype=rg.float64).dtype == rg.float64
    assert nn.Softmax2d()(rg.ones(2, 3, 2, 2)).shape == (2, 3, 2, 2)


def test_gumbel_softmax():
    rg.manual_seed(0)
    probs = np.array([0.1, 0.2, 0.7])
    logits = T(np.log(probs), requires_grad=True)
    batch = logits.float().expand(20000, 3)
    hard = F.gumbel_softmax(batch, hard=True)
    h = N(hard)
    assert set(np.unique(h)) == {0.0, 1.0} and (h.sum(1) == 1).all()
    np.testing.assert_allclose(h.mean(0), probs, atol=0.015)  # Gumbel-max samples the softmax
    soft = F.gumbel_softmax(batch, tau=0.5)
    np.testing.assert_allclose(N(soft.sum(1)), np.ones(20000), rtol=1e-5)
    (hard * T(np.array([0.0, 1.0, 2.0], dtype=np.float32))).sum().backward()
    assert logits.grad is not None and np.abs(N(logits.grad)).sum() > 0  # straight-through gradient
    with pytest.warns(UserWarning, match="^`eps` parameter is deprecated and has no effect.$"):
        F.gumbel_softmax(batch[:2], eps=1e-5)


@pytest.mark.parametrize("module", [nn.ReLU(inplace=True), nn.ELU(inplace=True), nn.LeakyReLU(0.1, True),
                                    nn.SiLU(inplace=True), nn.Hardtanh(inplace=True), nn.Threshold(0.0, 1.0, True)],
                         ids=lambda m: type(m).__name__)
def test_inplace_activation_writes_input_and_differentiates(module):
    x = rand_array(6, (5,), avoid=[0, -1, 1])
    leaf = T(x, requires_grad=True)
    h = leaf * 1.0
    out = module(h)
    assert out is h  # written into the input
    out.sum().backward()
    reference = T(x, requires_grad=True)
    type(module)(**{k: v for k, v in vars(module).items() if k in ("negative_slope", "alpha", "threshold", "value")})(
        reference).sum().backward()
    np.testing.assert_allclose(N(leaf.grad), N(reference.grad))


def test_inplace_on_leaf_requiring_grad_raises():
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        nn.ELU(inplace=True)(rg.ones(2, requires_grad=True))


def test_rrelu_training_draws_slopes_in_range():
    m = nn.RReLU(0.1, 0.3)
    x = -rg.ones(1000)
    slopes = N(m(x)) / -1.0
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    assert N(m(rg.ones(3))).tolist() == [1.0, 1.0, 1.0]


ACTIVATION_REPRS = [
    (lambda: nn.ReLU(), "ReLU()"),
    (lambda: nn.ReLU(inplace=True), "ReLU(inplace=True)"),
    (lambda: nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
    (lambda: nn.LeakyReLU(0.2, True), "LeakyReLU(negative_slope=0.2, inplace=True)"),
    (lambda: nn.Softmax(dim=1), "Softmax(dim=1)"),
    (lambda: nn.Softmin(), "Softmin(dim=None)"),
    (lambda: nn.LogSoftmax(-1), "LogSoftmax(dim=-1)"),
    (lambda: nn.RReLU(), "RReLU(lower=0.125, upper=0.3333333333333333)"),
    (lambda: nn.Hardswish(inplace=True), "Hardswish()"),
    (lambda: nn.Hardsigmoid(), "Hardsigmoid()"),
    (lambda: nn.SELU(inplace=True), "SELU(inplace=True)"),
    (lambda: nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"),
    (lambda: nn.CELU(), "CELU(alpha=1.0)"),
    (lambda: nn.ELU(inplace=True), "ELU(alpha=1.0, inplace=True)"),
    (lambda: nn.Softshrink(), "Softshrink(0.5)"),
    (lambda: nn.Hardshrink(0.3), "Hardshrink(0.3)"),
    (lambda: nn.GELU(approximate="tanh"), "GELU(approximate='tanh')"),
    (lambda: nn.GLU(), "GLU(dim=-1)"),
    (lambda: nn.SiLU(True), "SiLU(inplace=True)"),
    (lambda: nn.Mish(), "Mish()"),
    (lambda: nn.ReLU6(True), "ReLU6(inplace=True)"),
    (lambda: nn.Hardtanh(-2, 2, True), "Hardtanh(min_val=-2, max_val=2, inplace=True)"),
    (lambda: nn.Threshold(0.1, 20, True), "Threshold(threshold=0.1, value=20, inplace=True)"),
    (lambda: nn.Tanhshrink(), "Tanhshrink()"),
    (lambda: nn.LogSigmoid(), "LogSigmoid()"),
    (lambda: nn.Softsign(), "Softsign()"),
    (lambda: nn.Identity(3, a=1), "Identity()"),
    (lambda: nn.Flatten(), "Flatten(start_dim=1, end_dim=-1)"),
    (lambda: nn.Unflatten(1, (2, 3)), "Unflatten(dim=1, unflattened_size=(2, 3))"),
    (lambda: nn.Linear(3, 1), "Linear(in_features=3, out_features=1, bias=True)"),
    (lambda: nn.Bilinear(2, 3, 4, bias=False), "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=False)"),
]


@pytest.mark.parametrize("make, expected", ACTIVATION_REPRS, ids=[e for _, e in ACTIVATION_REPRS])
def test_layer_reprs(make, expected):
    assert repr(make()) == expected


# ---------------------------------------------------------------------------
# Linear / Bilinear / Identity
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3), (0, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_numpy_with_gradients(shape, bias, dtype):
    lin = nn.Linear(3, 2, bias=bias, dtype=getattr(rg, dtype))
    w = N(lin.weight)
    b = N(lin.bias) if bias else np.zeros(2, dtype)
    x = rand_array(7, shape, dtype)
    xt = T(x, requires_grad=True)
    out = lin(xt)
    assert out.dtype == getattr(rg, dtype) and tuple(out.shape) == shape[:-1] + (2,)
    assert_close(out, x @ w.T + b)
    g = rand_array(8, shape[:-1] + (2,), dtype)
    (out * T(g)).sum().backward()
    assert_close(xt.grad, g @ w)
    g2, x2 = g.reshape(-1, 2), x.reshape(-1, 3)
    assert_close(lin.weight.grad, g2.T @ x2)
    if bias:
        assert_close(lin.bias.grad, g2.sum(0))
    else:
        assert lin.bias is None


def test_linear_parameters_and_init_bounds():
    rg.manual_seed(0)
    lin = nn.Linear(400, 300)
    assert isinstance(lin.weight, nn.Parameter) and tuple(lin.weight.shape) == (300, 400)
    assert tuple(lin.bias.shape) == (300,) and lin.weight.dtype == rg.float32
    bound = 1 / math.sqrt(400)
    w, b = N(lin.weight), N(lin.bias)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-bound, bound): std bound / sqrt(3), mean 0
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound and abs(w.mean()) < 0.01 * bound
    assert np.abs(w).max() > 0.99 * bound
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    assert nn.Linear(2, 2, dtype=rg.float64, device="cpu").weight.dtype == rg.float64


def test_linear_reset_parameters_is_reproducible():
    rg.manual_seed(3)
    a = nn.Linear(4, 5)
    rg.manual_seed(3)
    b = nn.Linear(4, 5)
    np.testing.assert_array_equal(N(a.weight), N(b.weight))
    a.reset_parameters()
    assert not np.array_equal(N(a.weight), N(b.weight))


def test_linear_shape_errors():
    with pytest.raises(RuntimeError, match=r"^mm: mat1 and mat2 shapes cannot be multiplied \(14x3 and 4x5\)$"):
        F.linear(rg.ones(7, 2, 3), rg.ones(5, 4))
    with pytest.raises(RuntimeError, match=r"^addmm: mat1 and mat2 shapes cannot be multiplied \(1x3 and 4x5\)$"):
        F.linear(rg.ones(3), rg.ones(5, 4), rg.ones(5))
    with pytest.raises(RuntimeError, match="^self and mat2 must have the same dtype, but got Double and Float$"):
        F.linear(rg.ones(2, 3), rg.ones(4, 3), rg.ones(4, dtype=rg.float64))


def test_linear_one_dimensional_weight():
    x = rand_array(9, (2, 3), "float32")
    w = rand_array(10, (3,), "float32")
    assert_close(F.linear(T(x), T(w)), x @ w)


def test_linear_bias_second_derivatives():
    """The bias is added by a matmul with ones (faster than the core's
    broadcasting add): its derivatives of every order are still the add's."""
    ts = [T(rand_array(40 + i, s), requires_grad=True) for i, s in enumerate([(2, 3, 4), (5, 4), (5,)])]
    assert rg.autograd.gradgradcheck(lambda x, w, b: F.linear(x, w, b) ** 2, ts)


@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
def test_bilinear_matches_numpy_and_finite_differences(batch):
    x1 = rand_array(11, batch + (2,))
    x2 = rand_array(12, batch + (3,))
    w = rand_array(13, (4, 2, 3))
    b = rand_array(14, (4,))
    expected = np.einsum("...i,oij,...j->...o", x1, w, x2) + b
    assert_close(F.bilinear(T(x1), T(x2), T(w), T(b)), expected)
    check_grads(F.bilinear, [x1, x2, w, b])


def test_bilinear_module():
    m = nn.Bilinear(2, 3, 4)
    bound = 1 / math.sqrt(2)
    assert tuple(m.weight.shape) == (4, 2, 3) and np.abs(N(m.weight)).max() <= bound
    x1, x2 = rand_array(15, (5, 2), "float32"), rand_array(16, (5, 3), "float32")
    assert_close(m(T(x1), T(x2)), np.einsum("bi,oij,bj->bo", x1, N(m.weight), x2) + N(m.bias), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"^in1_features must be > 0, but got \(in1_features=0\)$"):
        nn.Bilinear(0, 2, 3)


@pytest.mark.parametrize("args, message", [
    (((2, 3), (3, 4), (5, 3, 4), None), "bilinear(): input batch dimensions do not match at dim 0: got 2 and 3"),
    (((2, 3), (2, 4), (5, 2, 4), None), "bilinear(): input1 size does not match weight size: got 3 but expected 2"),
    (((2, 3), (2, 5), (5, 3, 4), None), "bilinear(): input2 size does not match weight size: got 5 but expected 4"),
    (((2, 3), (2, 4), (5, 3, 4), (4,)), "bilinear(): bias size does not match weight size: got 4 but expected 5"),
    (((2, 2, 3), (2, 4), (5, 3, 4), None), "bilinear(): input dimensions do not match: got 3 and 2"),
])
def test_bilinear_errors(args, message):
    tensors = [None if s is None else rg.ones(*s) for s in args]
    with pytest.raises(RuntimeError) as info:
        F.bilinear(*tensors)
    assert str(info.value) == message


def test_identity_returns_input():
    x = rg.ones(2)
    assert nn.Identity(1, 2, k=3)(x) is x


# ---------------------------------------------------------------------------
# Flatten / Unflatten
# ---------------------------------------------------------------------------


def test_flatten_and_unflatten():
    x = T(rand_array(17, (2, 3, 4, 5), "float32"), requires_grad=True)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    y = nn.Unflatten(1, (3, 20))(nn.Flatten()(x))
    assert y.shape == (2, 3, 20)
    np.testing.assert_array_equal(N(y).reshape(2, 3, 4, 5), N(x))
    assert nn.Unflatten(-1, [-1, 2])(rg.ones(3, 4)).shape == (3, 2, 2)
    y.sum().backward()
    np.testing.assert_array_equal(N(x.grad), np.ones((2, 3, 4, 5)))


def test_unflatten_errors():
    with pytest.raises(TypeError, match="^unflattened_size must be a tuple of ints, but found type int$"):
        nn.Unflatten(1, 3)
    with pytest.raises(TypeError, match="^unflattened_size must be tuple of ints, but found element of type float "
                                        "at pos 1$"):
        nn.Unflatten(1, (2, 3.0))
    with pytest.raises(RuntimeError):
        nn.Unflatten(1, (2, 3))(rg.ones(2, 7))


# ---------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------


def _load_from_torch(mine, ref):
    mine.load_state_dict({k: rg.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})


ACTIVATION_SPECS = [
    ("ReLU", {}), ("ReLU6", {}), ("LeakyReLU", {"negative_slope": 0.3}), ("ELU", {"alpha": 0.7}), ("SELU", {}),
    ("CELU", {"alpha": 1.5}), ("GELU", {}), ("GELU", {"approximate": "tanh"}), ("SiLU", {}), ("Mish", {}),
    ("Sigmoid", {}), ("Tanh", {}), ("Softplus", {"beta": 2.0, "threshold": 3.0}), ("Softsign", {}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}), ("Hardsigmoid", {}), ("Hardswish", {}),
    ("Threshold", {"threshold": 0.2, "value": -1.0}), ("LogSigmoid", {}), ("Tanhshrink", {}),
    ("Hardshrink", {"lambd": 0.4}), ("Softshrink", {"lambd": 0.4}), ("PReLU", {"num_parameters": 4}),
    ("GLU", {"dim": 1}), ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": -1}), ("Softmin", {"dim": 0}),
    ("Softmax2d", {}), ("Identity", {}), ("Flatten", {}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, kwargs", ACTIVATION_SPECS, ids=[n + str(sorted(k.items())) for n, k in ACTIVATION_SPECS])
def test_modules_match_pytorch(torch, name, kwargs, dtype):
    mine, ref = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(mine) == repr(ref)
    if name == "PReLU":
        with torch.no_grad():
            ref.weight.copy_(torch.tensor([0.1, -0.2, 0.3, 0.4]))
    ref.to(getattr(torch, dtype))
    mine.to(getattr(rg, dtype))
    _load_from_torch(mine, ref)
    x = rand_array(20, (2, 4, 3, 2), dtype, low=-3, high=3, avoid=[0, -0.4, 0.4, 0.2, -0.5, 2.0, 1.5, -3, 3])
    xr, xt = T(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_r, out_t = mine(xr), ref(xt)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(N(out_r), out_t.detach().numpy(), **tol)
    if name == "Hardsigmoid" and dtype == "float64":
        # PyTorch's hardsigmoid backward scales by 1.0f / 6.0f (a float32
        # constant) even in float64; rustgrad uses the exact 1/6.
        tol = dict(rtol=1e-7, atol=0)
    g = rand_array(21, tuple(out_t.shape), dtype)
    (out_r * T(g)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(N(xr.grad), xt.grad.numpy(), **tol)
    for (n1, p1), (n2, p2) in zip(mine.named_parameters(), ref.named_parameters()):
        assert n1 == n2
        np.testing.assert_allclose(N(p1.grad), p2.grad.numpy(), **tol)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_and_bilinear_match_pytorch(torch, bias):
    for mine, ref, shapes in [(nn.Linear(3, 2, bias=bias), torch.nn.Linear(3, 2, bias=bias), [(4, 5, 3)]),
                              (nn.Bilinear(3, 2, 4, bias=bias), torch.nn.Bilinear(3, 2, 4, bias=bias),
                               [(5, 3), (5, 2)])]:
        assert repr(mine) == repr(ref)
        assert [n for n, _ in mine.named_parameters()] == [n for n, _ in ref.named_parameters()]
        _load_from_torch(mine, ref)
        xs = [rand_array(30 + i, s, "float32") for i, s in enumerate(shapes)]
        xr = [T(x, requires_grad=True) for x in xs]
        xt = [torch.tensor(x, requires_grad=True) for x in xs]
        out_r, out_t = mine(*xr), ref(*xt)
        np.testing.assert_allclose(N(out_r), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
        out_r.pow(2).sum().backward()
        out_t.pow(2).sum().backward()
        for a, b in zip(xr, xt):
            np.testing.assert_allclose(N(a.grad), b.grad.numpy(), rtol=1e-5, atol=1e-5)
        for p1, p2 in zip(mine.parameters(), ref.parameters()):
            np.testing.assert_allclose(N(p1.grad), p2.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_functional_errors_match_pytorch(torch):
    cases = [
        lambda lib: lib.nn.functional.linear(lib.ones(7, 2, 3), lib.ones(5, 4)),
        lambda lib: lib.nn.functional.linear(lib.ones(3), lib.ones(5, 4), lib.ones(5)),
        lambda lib: lib.nn.functional.linear(lib.ones(2, 3), lib.ones(4, 3), lib.ones(4, dtype=lib.float64)),
        lambda lib: lib.nn.functional.linear(lib.ones(2, 3, dtype=lib.float64), lib.ones(4, 3)),
        lambda lib: lib.nn.functional.glu(lib.ones(3, 5), 1),
        lambda lib: lib.nn.functional.softshrink(lib.ones(2, dtype=lib.float64), -1.5),
        lambda lib: lib.nn.functional.prelu(lib.ones(2, 4, 3), lib.ones(3)),
        lambda lib: lib.nn.functional.bilinear(lib.ones(2, 3), lib.ones(2, 4), lib.ones(5, 2, 4)),
        lambda lib: lib.nn.Unflatten(1, (2, "a")),
        lambda lib: lib.nn.Hardtanh(0.5, 0.5),
    ]
    for case in cases:
        r = raises_same(lambda: case(rg), lambda: case(torch))
        assert r[0] == r[1]
