"""Tests for rustgrad._tensor_str (port of PyTorch's tensor printing).

The module is loaded standalone (it only needs numpy), so these tests do not
require the compiled rustgrad extension.  The comparison tests against the
real PyTorch are skipped when torch is not importable.
"""

import importlib.util
import math
import os

import numpy as np
import pytest

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PATH = os.path.join(_REPO, "python", "rustgrad", "_tensor_str.py")
_spec = importlib.util.spec_from_file_location("_tensor_str", _PATH)
ts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ts)
format_tensor = ts.format_tensor

f32 = np.float32
f64 = np.float64
i64 = np.int64
nan = float("nan")
inf = float("inf")


def _name(arr):
    return {"float32": "float32", "float64": "float64", "int64": "int64", "bool": "bool"}[
        str(arr.dtype)
    ]


# ---------------------------------------------------------------------------
# (a) fixed expected strings (all checked against PyTorch 2.x output)
# ---------------------------------------------------------------------------

FIXED = [
    # (values, dtype_name, kwargs, expected)
    (np.array([1.0, 2.0], f32), "float32", {"requires_grad": True},
     "tensor([1., 2.], requires_grad=True)"),
    (np.array([1.0, 2.0], f32), "float32", {"requires_grad": True, "grad_fn_name": "MulBackward0"},
     "tensor([1., 2.], grad_fn=<MulBackward0>)"),
    (np.array(5.0163, f32), "float32", {"grad_fn_name": "MeanBackward0"},
     "tensor(5.0163, grad_fn=<MeanBackward0>)"),
    (np.array([[1, 2]], i64), "int64", {}, "tensor([[1, 2]])"),
    (np.array([True, False]), "bool", {}, "tensor([ True, False])"),
    (np.array([True]), "bool", {}, "tensor([True])"),
    (np.zeros((0, 3), f32), "float32", {}, "tensor([], size=(0, 3))"),
    (np.zeros((0,), f32), "float32", {}, "tensor([])"),
    (np.zeros((0,), i64), "int64", {}, "tensor([], dtype=torch.int64)"),
    (np.zeros((0,), f64), "float64", {}, "tensor([], dtype=torch.float64)"),
    (np.zeros((2, 0, 3), bool), "bool", {}, "tensor([], size=(2, 0, 3), dtype=torch.bool)"),
    (np.array([1.0, 2.0], f64), "float64", {}, "tensor([1., 2.], dtype=torch.float64)"),
    (np.array([1.5, 2.5], f64), "float64", {}, "tensor([1.5000, 2.5000], dtype=torch.float64)"),
    (np.array([1.0, 2.0], f64), "float64", {"requires_grad": True},
     "tensor([1., 2.], dtype=torch.float64, requires_grad=True)"),
    (np.array([512.0, 768.0, 1024.0], f32), "float32", {"grad_fn_name": "MulBackward0"},
     "tensor([ 512.,  768., 1024.], grad_fn=<MulBackward0>)"),
    # fixed-point vs scientific notation
    (np.array([0.0026008, 1.5], f32), "float32", {}, "tensor([0.0026, 1.5000])"),
    (np.array([0.0026008], f32), "float32", {}, "tensor([0.0026])"),
    (np.array([1e-5, 1.0], f32), "float32", {}, "tensor([1.0000e-05, 1.0000e+00])"),
    (np.array([1e9, 1.0], f32), "float32", {}, "tensor([1.0000e+09, 1.0000e+00])"),
    (np.array([1.0, 2000.0], f32), "float32", {}, "tensor([1.0000e+00, 2.0000e+03])"),
    (np.array(1e-8, f32), "float32", {}, "tensor(1.0000e-08)"),
    # negatives
    (np.array([-1.5, 2.25, -3.125], f32), "float32", {}, "tensor([-1.5000,  2.2500, -3.1250])"),
    (np.array([-5, 10, 300], i64), "int64", {}, "tensor([ -5,  10, 300])"),
    # nan / inf / zeros
    (np.array([nan, inf, -inf, 1.5], f32), "float32", {}, "tensor([   nan,    inf,   -inf, 1.5000])"),
    (np.array([nan, 1.0, 2.0], f32), "float32", {}, "tensor([nan, 1., 2.])"),
    (np.array([nan, inf], f32), "float32", {}, "tensor([nan, inf])"),
    (np.array([0.0, 0.0], f32), "float32", {}, "tensor([0., 0.])"),
    (np.array([-0.0, 1.0], f32), "float32", {}, "tensor([-0., 1.])"),
    # 0-d
    (np.array(3, i64), "int64", {}, "tensor(3)"),
    (np.array(True), "bool", {}, "tensor(True)"),
    (np.array(2.0, f32), "float32", {}, "tensor(2.)"),
    (np.array(0.1, f64), "float64", {}, "tensor(0.1000, dtype=torch.float64)"),
    (np.array([0.1], f32), "float32", {}, "tensor([0.1000])"),
    (np.array([0.1], f64), "float64", {}, "tensor([0.1000], dtype=torch.float64)"),
    # device suffix
    (np.array([1.0, 2.0], f32), "float32", {"device": "cuda:0"},
     "tensor([1., 2.], device='cuda:0')"),
    (np.array([1.0, 2.0], f32), "float32", {"device": "cuda:0", "requires_grad": True},
     "tensor([1., 2.], device='cuda:0', requires_grad=True)"),
    # non-default default dtype
    (np.array([1.5, 2.5], f32), "float32", {"default_dtype_name": "float64"},
     "tensor([1.5000, 2.5000], dtype=torch.float32)"),
    (np.array([1.5], f64), "float64", {"default_dtype_name": "float64"}, "tensor([1.5000])"),
    (np.zeros((0,), f32), "float32", {"default_dtype_name": "float64"},
     "tensor([], dtype=torch.float32)"),
    # parameter
    (np.array([1.0, 2.0], f32), "float32", {"requires_grad": True, "is_nested_in_parameter": True},
     "Parameter containing:\ntensor([1., 2.], requires_grad=True)"),
    # 3-d
    (np.arange(24, dtype=f32).reshape(2, 3, 4), "float32", {},
     "tensor([[[ 0.,  1.,  2.,  3.],\n"
     "         [ 4.,  5.,  6.,  7.],\n"
     "         [ 8.,  9., 10., 11.]],\n"
     "\n"
     "        [[12., 13., 14., 15.],\n"
     "         [16., 17., 18., 19.],\n"
     "         [20., 21., 22., 23.]]])"),
    (np.arange(24, dtype=i64).reshape(2, 3, 4) - 12, "int64", {},
     "tensor([[[-12, -11, -10,  -9],\n"
     "         [ -8,  -7,  -6,  -5],\n"
     "         [ -4,  -3,  -2,  -1]],\n"
     "\n"
     "        [[  0,   1,   2,   3],\n"
     "         [  4,   5,   6,   7],\n"
     "         [  8,   9,  10,  11]]])"),
    # 1-d wrapping
    (np.arange(30, dtype=f32) / f32(3), "float32", {},
     "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
     "        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n"
     "        6.0000, 6.3333, 6.6667, 7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667,\n"
     "        9.0000, 9.3333, 9.6667])"),
    # suffix wrapped onto its own line
    (np.arange(27, dtype=f32) / f32(3), "float32", {"requires_grad": True},
     "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
     "        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n"
     "        6.0000, 6.3333, 6.6667, 7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667],\n"
     "       requires_grad=True)"),
    (np.arange(27, dtype=f32) / f32(3), "float64", {"grad_fn_name": "MulBackward0"},
     "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
     "        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n"
     "        6.0000, 6.3333, 6.6667, 7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667],\n"
     "       dtype=torch.float64, grad_fn=<MulBackward0>)"),
    # 2-d matrix with wrapping
    (np.arange(100, dtype=f32).reshape(4, 25) * f32(1.5), "float32", {},
     "tensor([[  0.0000,   1.5000,   3.0000,   4.5000,   6.0000,   7.5000,   9.0000,\n"
     "          10.5000,  12.0000,  13.5000,  15.0000,  16.5000,  18.0000,  19.5000,\n"
     "          21.0000,  22.5000,  24.0000,  25.5000,  27.0000,  28.5000,  30.0000,\n"
     "          31.5000,  33.0000,  34.5000,  36.0000],\n"
     "        [ 37.5000,  39.0000,  40.5000,  42.0000,  43.5000,  45.0000,  46.5000,\n"
     "          48.0000,  49.5000,  51.0000,  52.5000,  54.0000,  55.5000,  57.0000,\n"
     "          58.5000,  60.0000,  61.5000,  63.0000,  64.5000,  66.0000,  67.5000,\n"
     "          69.0000,  70.5000,  72.0000,  73.5000],\n"
     "        [ 75.0000,  76.5000,  78.0000,  79.5000,  81.0000,  82.5000,  84.0000,\n"
     "          85.5000,  87.0000,  88.5000,  90.0000,  91.5000,  93.0000,  94.5000,\n"
     "          96.0000,  97.5000,  99.0000, 100.5000, 102.0000, 103.5000, 105.0000,\n"
     "         106.5000, 108.0000, 109.5000, 111.0000],\n"
     "        [112.5000, 114.0000, 115.5000, 117.0000, 118.5000, 120.0000, 121.5000,\n"
     "         123.0000, 124.5000, 126.0000, 127.5000, 129.0000, 130.5000, 132.0000,\n"
     "         133.5000, 135.0000, 136.5000, 138.0000, 139.5000, 141.0000, 142.5000,\n"
     "         144.0000, 145.5000, 147.0000, 148.5000]])"),
    # summarization
    (np.arange(2000, dtype=i64), "int64", {}, "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
    (np.arange(2000, dtype=f32).reshape(40, 50) / f32(7), "float32", {},
     "tensor([[0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 6.7143e+00, 6.8571e+00,\n"
     "         7.0000e+00],\n"
     "        [7.1429e+00, 7.2857e+00, 7.4286e+00,  ..., 1.3857e+01, 1.4000e+01,\n"
     "         1.4143e+01],\n"
     "        [1.4286e+01, 1.4429e+01, 1.4571e+01,  ..., 2.1000e+01, 2.1143e+01,\n"
     "         2.1286e+01],\n"
     "        ...,\n"
     "        [2.6429e+02, 2.6443e+02, 2.6457e+02,  ..., 2.7100e+02, 2.7114e+02,\n"
     "         2.7129e+02],\n"
     "        [2.7143e+02, 2.7157e+02, 2.7171e+02,  ..., 2.7814e+02, 2.7829e+02,\n"
     "         2.7843e+02],\n"
     "        [2.7857e+02, 2.7871e+02, 2.7886e+02,  ..., 2.8529e+02, 2.8543e+02,\n"
     "         2.8557e+02]])"),
]


@pytest.mark.parametrize("values,dtype_name,kwargs,expected", FIXED)
def test_fixed(values, dtype_name, kwargs, expected):
    assert format_tensor(values, dtype_name, **kwargs) == expected


def test_summarized_3d():
    arr = np.arange(1001, dtype=f32).reshape(7, 11, 13)
    out = format_tensor(arr, "float32")
    lines = out.split("\n")
    assert lines[0] == "tensor([[[   0.,    1.,    2.,  ...,   10.,   11.,   12.],"
    assert lines[1] == "         [  13.,   14.,   15.,  ...,   23.,   24.,   25.],"
    assert lines[3] == "         ...,"
    assert "\n\n        ...,\n\n" in out
    assert lines[-1] == "         [ 988.,  989.,  990.,  ...,  998.,  999., 1000.]]])"
    # exactly 1000 elements: not summarized
    assert "..." not in format_tensor(np.arange(1000, dtype=i64), "int64")
    assert "..." in format_tensor(np.arange(1001, dtype=i64), "int64")


def test_summarization_uses_only_edge_values_for_width():
    # the big value in the (hidden) middle must not affect formatting
    arr = np.ones(2000, dtype=f32)
    arr[1000] = 1e10
    assert format_tensor(arr, "float32") == "tensor([1., 1., 1.,  ..., 1., 1., 1.])"


def test_values_cast_to_dtype():
    # float64 data passed for a float32 tensor is rounded to float32 first
    assert format_tensor(np.array([0.1]), "float32") == "tensor([0.1000])"
    assert format_tensor([1, 2], "int64") == "tensor([1, 2])"


def test_printoptions_roundtrip():
    old = ts.get_printoptions()
    try:
        ts.set_printoptions(precision=2)
        assert format_tensor(np.array([1.12345], f32), "float32") == "tensor([1.12])"
        ts.set_printoptions(threshold=5)
        assert format_tensor(np.arange(10, dtype=i64), "int64") == "tensor([0, 1, 2,  ..., 7, 8, 9])"
        ts.set_printoptions(profile="default")
        assert format_tensor(np.array([1.12345], f32), "float32") == "tensor([1.1235])"
    finally:
        ts.set_printoptions(**old)


def test_module_imports_only_stdlib_and_numpy():
    import ast

    with open(_PATH) as fh:
        tree = ast.parse(fh.read())
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            mods.add(node.module.split(".")[0])
    assert "rustgrad" not in mods and "torch" not in mods
    assert mods <= {"math", "dataclasses", "typing", "numpy"}


# ---------------------------------------------------------------------------
# (b) comparison against the real PyTorch
# ---------------------------------------------------------------------------

try:
    from hypothesis import HealthCheck, given, settings, strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    HealthCheck = given = settings = st = None


def _torch():
    return pytest.importorskip("torch")


if given is None:

    def test_hypothesis_missing():
        pytest.skip("hypothesis not installed")

else:
    _PROFILES = ["tiny", "huge", "intval", "negative", "mixed", "unit", "special", "bigint", "smallrange"]


    @st.composite
    def _arrays(draw, float_only=False):
        ndim = draw(st.integers(0, 3))
        if ndim == 0:
            shape = ()
        else:
            # mostly small shapes, sometimes large enough to trigger summarization
            big = draw(st.booleans()) if ndim >= 1 else False
            hi = 14 if big and ndim == 3 else (40 if big and ndim == 2 else (1300 if big else 8))
            shape = tuple(draw(st.integers(0, hi)) for _ in range(ndim))
        kinds = ["float32", "float64"] if float_only else ["float32", "float64", "int64", "bool"]
        dtype = draw(st.sampled_from(kinds))
        profile = draw(st.sampled_from(_PROFILES))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.RandomState(seed)
        n = int(np.prod(shape)) if shape else 1

        if dtype == "bool":
            data = rng.rand(n) < 0.5
            return np.asarray(data, dtype=bool).reshape(shape), dtype
        if dtype == "int64":
            if profile in ("huge", "bigint"):
                data = rng.randint(-(2**62), 2**62, size=n, dtype=np.int64)
            elif profile == "negative":
                data = -rng.randint(0, 1000, size=n)
            else:
                mag = 10 ** rng.randint(0, 8)
                data = rng.randint(-mag, mag + 1, size=n)
            return np.asarray(data, dtype=np.int64).reshape(shape), dtype

        if profile == "tiny":
            data = rng.uniform(-1, 1, n) * 10.0 ** rng.uniform(-40, -3, n)
        elif profile == "huge":
            data = rng.uniform(-1, 1, n) * 10.0 ** rng.uniform(5, 30, n)
        elif profile == "intval":
            data = np.round(rng.uniform(-1, 1, n) * 10.0 ** rng.randint(0, 6))
        elif profile == "bigint":
            data = np.round(rng.uniform(-1, 1, n) * 10.0 ** rng.randint(6, 12))
        elif profile == "negative":
            data = -rng.uniform(0, 1, n) * 10.0 ** rng.randint(-3, 5)
        elif profile == "unit":
            data = rng.randn(n)
        elif profile == "smallrange":
            # values around the sci-mode thresholds
            data = rng.choice([1e-4, 9.99e-5, 1.0001e-4, 0.1, 100.0, 1000.0, 99.99, 1e8, 1.0000001e8, 0.5, 2.0], n)
            data = data * rng.choice([-1.0, 1.0], n)
        elif profile == "special":
            data = rng.choice([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, 2.5, -3.0, 1e-5, 1e10], n)
        else:  # mixed
            data = rng.randn(n) * 10.0 ** rng.randint(-6, 9, n)
            mask = rng.rand(n)
            data[mask < 0.05] = 0.0
            data[(mask >= 0.05) & (mask < 0.08)] = np.nan
            data[(mask >= 0.08) & (mask < 0.1)] = np.inf
            data[(mask >= 0.1) & (mask < 0.3)] = np.round(data[(mask >= 0.1) & (mask < 0.3)])
        with np.errstate(over="ignore"):
            arr = np.asarray(data, dtype=np.float64).astype(dtype).reshape(shape)
        return arr, dtype


    _SETTINGS = settings(
        max_examples=400,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


    @_SETTINGS
    @given(_arrays())
    def test_matches_torch(case):
        torch = _torch()
        arr, name = case
        expected = repr(torch.tensor(arr))
        assert format_tensor(arr, name) == expected


    @_SETTINGS
    @given(_arrays(float_only=True), st.booleans())
    def test_matches_torch_requires_grad(case, with_grad_fn):
        torch = _torch()
        arr, name = case
        t = torch.tensor(arr, requires_grad=True)
        if with_grad_fn:
            t = t * 1
            got = format_tensor(arr, name, grad_fn_name="MulBackward0", requires_grad=True)
        else:
            got = format_tensor(arr, name, requires_grad=True)
        assert got == repr(t)


    @_SETTINGS
    @given(_arrays(float_only=True))
    def test_matches_torch_float64(case):
        torch = _torch()
        arr, _ = case
        arr = arr.astype(np.float64)
        assert format_tensor(arr, "float64") == repr(torch.tensor(arr, dtype=torch.float64))


    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_arrays())
    def test_matches_torch_default_dtype_float64(case):
        torch = _torch()
        arr, name = case
        old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            expected = repr(torch.tensor(arr))
        finally:
            torch.set_default_dtype(old)
        assert format_tensor(arr, name, default_dtype_name="float64") == expected


def test_matches_torch_parameter():
    torch = _torch()
    arr = np.array([[0.5, -1.25], [3.0, 4.0]], dtype=f32)
    p = torch.nn.Parameter(torch.tensor(arr))
    assert format_tensor(arr, "float32", requires_grad=True, is_nested_in_parameter=True) == repr(p)


@pytest.mark.parametrize("edge", [
    [1e-4, 1.0], [9.99e-5, 1.0], [1.0, 1000.0], [1.0, 1000.1], [1e8], [1.0000001e8],
    [0.5, 500.0], [0.5, 500.5], [2.5e-4], [-1e-4], [123456.7], [1e38, 1.0],
    [5e-45, 1.0], [0.99995], [9.99995], [0.00005], [1.5, nan, -inf],
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch_edges(edge, dtype):
    torch = _torch()
    arr = np.array(edge, dtype=dtype)
    assert format_tensor(arr, dtype) == repr(torch.tensor(arr))
    assert format_tensor(arr[0], dtype) == repr(torch.tensor(arr[0]))
