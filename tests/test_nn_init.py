"""nn.init: gains, fans, the statistics of every initialiser (fixed seeds and
generators, large tensors so the sample moments are tight), orthogonality,
no-grad behaviour on parameters, PyTorch's errors and warnings."""

import math

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn
import rustgrad.nn.init as init

from conftest import N, raises_same


def gen(seed=0):
    return rg.Generator().manual_seed(seed)


def big(*shape, dtype=rg.float32):
    return nn.Parameter(rg.zeros(*shape, dtype=dtype))


# ---------------------------------------------------------------------------
# gains and fans
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, param, expected", [
    ("linear", None, 1), ("conv2d", None, 1), ("conv_transpose3d", None, 1), ("sigmoid", None, 1),
    ("tanh", None, 5.0 / 3), ("relu", None, math.sqrt(2.0)), ("selu", None, 0.75),
    ("leaky_relu", None, math.sqrt(2.0 / (1 + 0.01 ** 2))), ("leaky_relu", 0.2, math.sqrt(2.0 / 1.04)),
    ("leaky_relu", 3, math.sqrt(2.0 / 10)), ("leaky_relu", math.sqrt(5), math.sqrt(2.0 / 6)),
])
def test_calculate_gain(name, param, expected):
    assert init.calculate_gain(name, param) == pytest.approx(expected, rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="^Unsupported nonlinearity foo$"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="^negative_slope True not a valid number$"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape, fans", [((3, 5), (5, 3)), ((4, 2, 3, 3), (18, 36)), ((6, 1, 7), (7, 42)),
                                         ((2, 3, 0), (0, 0))])
def test_fan_in_and_fan_out(shape, fans):
    t = rg.empty(*shape)
    assert init._calculate_fan_in_and_fan_out(t) == fans
    assert init._calculate_correct_fan(t, "fan_in") == fans[0]
    assert init._calculate_correct_fan(t, "FAN_OUT") == fans[1]


def test_fan_errors():
    with pytest.raises(ValueError, match="^Fan in and fan out can not be computed for tensor with fewer than 2 "
                                         "dimensions$"):
        init._calculate_fan_in_and_fan_out(rg.ones(3))
    with pytest.raises(ValueError, match=r"^Mode fan_avg not supported, please use one of \['fan_in', 'fan_out'\]$"):
        init._calculate_correct_fan(rg.ones(2, 2), "fan_avg")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_uniform_(rg.ones(3))


# ---------------------------------------------------------------------------
# distributions
# ---------------------------------------------------------------------------


def _check_uniform(t, low, high):
    a = N(t).astype(np.float64).ravel()
    width = high - low
    assert a.min() >= low and a.max() <= high
    assert a.min() < low + 0.01 * width and a.max() > high - 0.01 * width
    assert abs(a.mean() - (low + high) / 2) < 0.01 * width
    assert abs(a.std() - width / math.sqrt(12)) < 0.01 * width


def _check_normal(t, mean, std):
    a = N(t).astype(np.float64).ravel()
    assert abs(a.mean() - mean) < 0.01 * std
    assert abs(a.std() - std) < 0.01 * std


def test_uniform_and_normal():
    p = big(200, 300)
    out = init.uniform_(p, -2.0, 3.0, generator=gen())
    assert out is p and p.grad_fn is None and p.requires_grad and p.is_leaf
    _check_uniform(p, -2.0, 3.0)
    _check_uniform(init.uniform_(big(50_000)), 0.0, 1.0)  # defaults
    init.normal_(p, 1.5, 0.5, generator=gen())
    _check_normal(p, 1.5, 0.5)
    _check_normal(init.normal_(big(60_000)), 0.0, 1.0)


def test_generator_makes_draws_reproducible():
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_,
               init.trunc_normal_):
        a, b = fn(rg.empty(6, 5), generator=gen(7)), fn(rg.empty(6, 5), generator=gen(7))
        np.testing.assert_array_equal(N(a), N(b))
        assert not np.array_equal(N(a), N(fn(rg.empty(6, 5), generator=gen(8))))


def test_global_seed_makes_draws_reproducible():
    rg.manual_seed(11)
    a = N(init.kaiming_uniform_(rg.empty(4, 4)))
    rg.manual_seed(11)
    np.testing.assert_array_equal(a, N(init.kaiming_uniform_(rg.empty(4, 4))))


def test_constant_ones_zeros_keep_dtype():
    p = nn.Parameter(rg.empty(2, 3, dtype=rg.float64))
    assert init.constant_(p, 2.5) is p and N(p).tolist() == [[2.5] * 3] * 2 and p.dtype == rg.float64
    assert N(init.ones_(p)).sum() == 6 and N(init.zeros_(p)).sum() == 0
    assert p.grad_fn is None and p.requires_grad


def test_eye():
    assert N(init.eye_(big(2, 4))).tolist() == [[1, 0, 0, 0], [0, 1, 0, 0]]
    np.testing.assert_array_equal(N(init.eye_(rg.empty(3, 2, dtype=rg.float64))), np.eye(3, 2))
    with pytest.raises(ValueError, match="^Only tensors with 2 dimensions are supported$"):
        init.eye_(rg.ones(3))


@pytest.mark.parametrize("shape, groups", [((4, 3, 5), 1), ((4, 2, 3, 3), 2), ((2, 2, 3, 3, 3), 1), ((6, 2, 3), 3)])
def test_dirac(shape, groups):
    w = N(init.dirac_(big(*shape), groups))
    expected = np.zeros(shape, dtype=np.float32)
    per_group = shape[0] // groups
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            expected[(g * per_group + d, d) + centre] = 1
    np.testing.assert_array_equal(w, expected)


def test_dirac_errors():
    with pytest.raises(ValueError, match="^Only tensors with 3, 4, or 5 dimensions are supported$"):
        init.dirac_(rg.ones(3, 3))
    with pytest.raises(ValueError, match="^dim 0 must be divisible by groups$"):
        init.dirac_(rg.ones(3, 3, 3), groups=2)


def test_xavier():
    p = big(300, 500)  # fan_in 500, fan_out 300
    std = 1.5 * math.sqrt(2.0 / 800)
    init.xavier_uniform_(p, gain=1.5, generator=gen(1))
    bound = math.sqrt(3.0) * std
    _check_uniform(p, -bound, bound)
    init.xavier_normal_(p, gain=1.5, generator=gen(2))
    _check_normal(p, 0.0, std)
    conv = big(64, 32, 3, 3)  # fans 288 / 576
    init.xavier_normal_(conv, generator=gen(3))
    _check_normal(conv, 0.0, math.sqrt(2.0 / (288 + 576)))


@pytest.mark.parametrize("a, mode, nonlinearity, fan", [
    (0, "fan_in", "leaky_relu", 500), (math.sqrt(5), "fan_in", "leaky_relu", 500), (0.1, "fan_out", "leaky_relu", 300),
    (0, "fan_in", "relu", 500), (0, "fan_out", "tanh", 300), (0, "fan_in", "linear", 500),
])
def test_kaiming(a, mode, nonlinearity, fan):
    gain = init.calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    p = big(300, 500)
    init.kaiming_uniform_(p, a=a, mode=mode, nonlinearity=nonlinearity, generator=gen(4))
    _check_uniform(p, -math.sqrt(3.0) * std, math.sqrt(3.0) * std)
    init.kaiming_normal_(p, a=a, mode=mode, nonlinearity=nonlinearity, generator=gen(5))
    _check_normal(p, 0.0, std)


def test_kaiming_on_empty_tensor_warns_and_returns():
    t = rg.empty(0, 3)
    for fn in (init.kaiming_uniform_, init.kaiming_normal_):
        with pytest.warns(UserWarning, match="^Initializing zero-element tensors is a no-op$"):
            assert fn(t) is t


def _truncnorm_moments(mean, std, a, b):
    """Mean and standard deviation of N(mean, std^2) truncated to [a, b]."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2  # noqa: E731
    z = cdf(beta) - cdf(alpha)
    m = mean + std * (pdf(alpha) - pdf(beta)) / z
    var = std ** 2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / z - ((pdf(alpha) - pdf(beta)) / z) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean, std, a, b", [
    (0.0, 1.0, -2.0, 2.0),  # most of the mass inside: resampling path
    (0.5, 2.0, -1.0, 4.0),
    (0.0, 1.0, 1.5, 3.0),  # little mass inside: uniform-proposal path
    (0.0, 0.02, -0.04, 0.04),
])
def test_trunc_normal(mean, std, a, b):
    p = big(100_000)
    assert init.trunc_normal_(p, mean, std, a, b, generator=gen(6)) is p
    x = N(p).astype(np.float64)
    assert x.min() >= a and x.max() <= b
    m, s = _truncnorm_moments(mean, std, a, b)
    assert abs(x.mean() - m) < 0.01 * s and abs(x.std() - s) < 0.015 * s


def test_trunc_normal_warns_when_mean_far_outside():
    with pytest.warns(UserWarning, match=r"^mean is more than 2 std from \[a, b\] in nn.init.trunc_normal_. The "
                                         r"distribution of values may be incorrect.$"):
        init.trunc_normal_(rg.empty(10), mean=10.0)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (4, 2, 3), (3, 2, 2, 2)])
@pytest.mark.parametrize("dtype", [rg.float32, rg.float64])
def test_orthogonal(shape, dtype):
    p = nn.Parameter(rg.empty(*shape, dtype=dtype))
    assert init.orthogonal_(p, gain=2.0, generator=gen(9)) is p and p.dtype == dtype
    q = N(p).reshape(shape[0], -1).astype(np.float64) / 2.0
    rows, cols = q.shape
    gram = q.T @ q if rows >= cols else q @ q.T
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-5 if dtype == rg.float32 else 1e-12)


def test_orthogonal_errors_and_empty():
    with pytest.raises(ValueError, match="^Only tensors with 2 or more dimensions are supported$"):
        init.orthogonal_(rg.ones(3))
    t = rg.empty(0, 3)
    assert init.orthogonal_(t) is t


def test_sparse():
    p = big(100, 20)
    init.sparse_(p, 0.3, std=0.5, generator=gen(10))
    w = N(p)
    assert ((w == 0).sum(axis=0) == 30).all()
    nonzero = w[w != 0]
    assert abs(nonzero.std() - 0.5) < 0.05
    with pytest.raises(ValueError, match="^Only tensors with 2 dimensions are supported$"):
        init.sparse_(rg.ones(3), 0.1)


def test_deprecated_aliases_warn():
    with pytest.warns(FutureWarning, match=r"^`nn.init.uniform` is now deprecated in favor of `nn.init.uniform_`.$"):
        init.uniform(rg.empty(2))
    with pytest.warns(FutureWarning, match="nn.init.kaiming_normal_"):
        init.kaiming_normal(rg.empty(2, 2))


def test_initialisers_do_not_record_graph():
    p = big(3, 4)
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_uniform_, init.orthogonal_,
               init.trunc_normal_, init.ones_, init.zeros_, init.eye_):
        fn(p)
        assert p.grad_fn is None and p.is_leaf and p._version > 0


# ---------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------


def test_gains_fans_and_errors_match_pytorch(torch):
    for name, param in [("tanh", None), ("leaky_relu", 0.3), ("selu", None), ("conv1d", None)]:
        assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    for shape in [(3, 5), (4, 2, 3, 3)]:
        assert (init._calculate_fan_in_and_fan_out(rg.empty(*shape))
                == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape)))
    cases = [
        lambda lib: lib.nn.init.calculate_gain("swish"),
        lambda lib: lib.nn.init.calculate_gain("leaky_relu", "x"),
        lambda lib: lib.nn.init.xavier_uniform_(lib.ones(3)),
        lambda lib: lib.nn.init.kaiming_normal_(lib.ones(2, 2), mode="fan"),
        lambda lib: lib.nn.init.dirac_(lib.ones(3, 3, 3), groups=2),
        lambda lib: lib.nn.init.orthogonal_(lib.ones(2)),
    ]
    for case in cases:
        r = raises_same(lambda: case(rg), lambda: case(torch))
        assert r[0] == r[1]
