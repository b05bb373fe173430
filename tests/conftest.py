"""Shared helpers and hypothesis strategies for the rustgrad test suite.

Conventions used throughout the suite:

* ``rg`` is ``rustgrad`` (spelled like ``torch``).
* NumPy is the reference for forward values; float64 central finite
  differences (computed through rustgrad's own float64 forward) are the
  reference for gradients.
* Comparisons with the real PyTorch are only made in tests that use the
  ``torch`` fixture, which skips when PyTorch is not installed.
* Hypothesis runs derandomized (reproducible) with a small example budget and
  no deadline; set ``RUSTGRAD_HYPOTHESIS_RANDOM=1`` to explore new examples.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# RUSTGRAD_TEST_REFERENCE=torch runs the suite's tests against PyTorch itself
# (``rustgrad`` and its submodules are aliased to ``torch``'s), to check that
# the tests encode PyTorch's real behaviour. Tests that only make sense for
# rustgrad skip themselves when ``REFERENCE`` is set.
REFERENCE = os.environ.get("RUSTGRAD_TEST_REFERENCE") or None
if REFERENCE == "torch":
    import importlib

    import torch as _ref

    sys.modules["rustgrad"] = _ref
    for _name in (".autograd", ".autograd.functional", ".autograd.graph", ".autograd.function",
                  ".autograd.gradcheck", ".nn", ".nn.functional", ".nn.init", ".nn.utils",
                  ".optim", ".optim.lr_scheduler", ".utils", ".utils.data"):
        sys.modules["rustgrad" + _name] = importlib.import_module("torch" + _name)
elif REFERENCE is not None:
    raise RuntimeError(f"RUSTGRAD_TEST_REFERENCE={REFERENCE!r}: only 'torch' is supported")

import rustgrad as rg  # noqa: E402

# ---------------------------------------------------------------------------
# hypothesis settings
# ---------------------------------------------------------------------------

_RANDOM = os.environ.get("RUSTGRAD_HYPOTHESIS_RANDOM") == "1"


def hsettings(max_examples=40):
    """The settings every property test here uses."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=not _RANDOM,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
    )


FLOAT_DTYPES = ["float32", "float64"]

# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcast_pair(max_dims=4, max_side=4, min_dims=0):
    """Two shapes that broadcast together (NumPy rules), as a tuple."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side
    ).map(lambda bs: bs.input_shapes)


def broadcast_triple(max_dims=3, max_side=3):
    return hnp.mutually_broadcastable_shapes(
        num_shapes=3, min_dims=0, max_dims=max_dims, min_side=1, max_side=max_side
    ).map(lambda bs: bs.input_shapes)


seeds = st.integers(min_value=0, max_value=2**32 - 1)


def rand_array(seed, shape, dtype="float64", low=-2.0, high=2.0, avoid=None, margin=0.1):
    """Uniform random values in [low, high]. ``avoid`` is a list of points
    (e.g. 0 for abs/relu kinks) kept at least ``margin`` away."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(low, high, size=shape)
    if avoid is not None:
        for p in avoid:
            close = np.abs(a - p) < margin
            a = np.where(close, p + np.where(a >= p, margin, -margin) * 2, a)
    return np.asarray(a, dtype=dtype)


def rand_int_array(seed, shape, low=-5, high=6):
    rng = np.random.default_rng(seed)
    return rng.integers(low, high, size=shape, dtype=np.int64)


# ---------------------------------------------------------------------------
# conversions / comparisons
# ---------------------------------------------------------------------------


def T(a, requires_grad=False, dtype=None):
    """A rustgrad tensor holding a copy of NumPy array ``a``."""
    a = np.asarray(a)
    if dtype is not None:
        a = a.astype(dtype)
    return rg.tensor(a, requires_grad=requires_grad)


def N(t):
    """A NumPy copy of a rustgrad tensor (detached)."""
    return np.array(t.detach().numpy(), copy=True)


def np_dtype(t):
    return {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}[
        str(t.dtype).replace("torch.", "")
    ]


def rg_dtype(name):
    return getattr(rg, name)


def tols(dtype):
    if str(dtype).endswith("float32"):
        return dict(rtol=2e-5, atol=2e-6)
    return dict(rtol=1e-12, atol=1e-12)


def assert_close(actual, expected, rtol=None, atol=None, dtype=None):
    """Compare a rustgrad tensor (or array) with an expected array: shape
    exactly, values with dtype-appropriate tolerances."""
    if isinstance(actual, rg.Tensor):
        if dtype is None:
            dtype = actual.dtype
        actual = N(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    t = tols(dtype if dtype is not None else actual.dtype)
    np.testing.assert_allclose(
        actual, expected, rtol=t["rtol"] if rtol is None else rtol, atol=t["atol"] if atol is None else atol
    )


# ---------------------------------------------------------------------------
# gradient checking
# ---------------------------------------------------------------------------


def numeric_grads(fn, arrays, weights, eps=1e-6, wrt=None):
    """Central finite differences of ``sum(fn(*tensors) * weights)`` w.r.t.
    each float64 input array (rustgrad's float64 forward, no grad)."""
    wrt = range(len(arrays)) if wrt is None else wrt
    w = T(weights)
    out = []
    with rg.no_grad():
        def f(arrs):
            return float((fn(*[T(a) for a in arrs]) * w).sum().item())

        for i in range(len(arrays)):
            if i not in wrt:
                out.append(None)
                continue
            a = arrays[i]
            g = np.zeros_like(a, dtype=np.float64)
            for idx in np.ndindex(a.shape):
                plus = [x.copy() for x in arrays]
                minus = [x.copy() for x in arrays]
                plus[i][idx] += eps
                minus[i][idx] -= eps
                g[idx] = (f(plus) - f(minus)) / (2 * eps)
            out.append(g)
    return out


def analytic_grads(fn, arrays, weights, wrt=None, dtype="float64"):
    """Gradients of ``sum(fn(*tensors) * weights)`` from rustgrad's backward.
    Returns (grads, output tensor)."""
    wrt = range(len(arrays)) if wrt is None else wrt
    ts = [T(a.astype(dtype), requires_grad=(i in wrt)) for i, a in enumerate(arrays)]
    out = fn(*ts)
    loss = (out * T(weights.astype(dtype))).sum()
    loss.backward()
    grads = []
    for i, t in enumerate(ts):
        if i in wrt:
            assert t.grad is not None, f"input {i} got no gradient"
            assert tuple(t.grad.shape) == t.shape, f"grad shape {tuple(t.grad.shape)} != {tuple(t.shape)}"
            assert t.grad.dtype == t.dtype
            grads.append(N(t.grad))
        else:
            assert t.grad is None
            grads.append(None)
    return grads, out


def check_grads(fn, arrays, seed=0, wrt=None, rtol=1e-4, atol=1e-6, eps=1e-6):
    """Checks rustgrad's float64 gradients of ``fn`` against central finite
    differences, with a random (non-uniform) upstream gradient. Returns the
    analytic gradients."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    with rg.no_grad():
        out_shape = tuple(fn(*[T(a) for a in arrays]).shape)
    weights = np.random.default_rng(seed + 1).uniform(0.5, 1.5, size=out_shape)
    grads, out = analytic_grads(fn, arrays, weights, wrt=wrt)
    num = numeric_grads(fn, arrays, weights, eps=eps, wrt=wrt)
    for i, (g, n) in enumerate(zip(grads, num)):
        if n is None:
            continue
        scale = max(1.0, float(np.max(np.abs(n))) if n.size else 1.0)
        np.testing.assert_allclose(g, n, rtol=rtol, atol=atol * scale, err_msg=f"gradient of input {i}")
    return grads


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


def _import_torch():
    try:
        import torch as _torch  # noqa: F401
    except Exception as e:  # noqa: BLE001  (absent, or installed but broken)
        pytest.skip(f"PyTorch is not available: {e}")
    return _torch


@pytest.fixture(scope="session")
def torch():
    """The real PyTorch; the test is skipped without it (like
    ``pytest.importorskip("torch")``, but also skips on a broken install)."""
    return _import_torch()


@pytest.fixture
def live_nodes():
    return rg._core._live_nodes


def run_python(code, timeout=120, env=None):
    """Runs ``code`` in a fresh interpreter (for things that might crash the
    process, like a segfault or a stack overflow), with ``env`` added to the
    environment. Returns CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def child_env():
    """The environment for a child interpreter that imports this rustgrad
    and the tests' modules, with short panic reports, and PyTorch kept on
    the CPU."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(rg.__file__)), os.path.dirname(os.path.abspath(__file__))]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["RUST_BACKTRACE"] = "0"
    env["CUDA_VISIBLE_DEVICES"] = ""
    env.pop("RUSTGRAD_TEST_REFERENCE", None)
    return env


def stream_child(cmd, on_record, *, cwd, stderr_path, timeout, env=None, preexec_fn=None, start_timeout=120):
    """Runs ``cmd`` (a child that prints one JSON object per line), calling
    ``on_record`` with each object as it arrives. The child is killed when it
    prints nothing for ``timeout`` seconds (``start_timeout`` before its
    first line), so a hang is found, not waited on. Its stderr goes to
    ``stderr_path``. Returns (exit status, whether it hung)."""
    import json
    import select
    import time

    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd,
                                env=env, preexec_fn=preexec_fn)
    fd, buf, hung = proc.stdout.fileno(), b"", False
    deadline = time.monotonic() + start_timeout
    while True:
        if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            hung = True
            proc.kill()
            break
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        *lines, buf = (buf + chunk).split(b"\n")
        for line in lines:
            on_record(json.loads(line))
        deadline = time.monotonic() + timeout
    proc.stdout.close()
    return proc.wait(), hung


def raises_same(fn_rg, fn_torch):
    """Runs both callables; returns ((type name, message) for rustgrad,
    (type name, message) for torch). A callable that returns normally gives
    (None, repr(result))."""
    out = []
    for f in (fn_rg, fn_torch):
        try:
            r = f()
        except Exception as e:  # noqa: BLE001
            out.append((type(e).__name__, str(e)))
        else:
            out.append((None, repr(r)))
    return out


def functional_error_tests(cases):
    """The two tests of a table of ``(fn, exception class, message)`` error
    cases, where ``fn(F, zeros)`` calls ``nn.functional`` with a tensor
    factory: rustgrad raises exactly ``message``, and raises what PyTorch
    raises for the same call. Assign the pair to two ``test_`` names."""
    F = rg.nn.functional

    @pytest.mark.parametrize("case", range(len(cases)))
    def test_errors(case):
        fn, cls, message = cases[case]
        with pytest.raises(cls) as info:
            fn(F, rg.zeros)
        assert str(info.value) == message

    @pytest.mark.parametrize("case", range(len(cases)))
    def test_errors_same_as_torch(torch, case):
        fn = cases[case][0]
        ours, theirs = raises_same(lambda: fn(F, rg.zeros), lambda: fn(torch.nn.functional, torch.zeros))
        assert ours == theirs

    return test_errors, test_errors_same_as_torch


# The data paths of nn.functional's window planner (im2col/col2im).
WINDOW_STRATEGIES = ["dense", "separable", "gather"]


def force_window_strategy(monkeypatch, name):
    """Makes every im2col/col2im (gradients included) take data path
    ``name``; skips under PyTorch, which has no such paths."""
    if REFERENCE:
        pytest.skip("forces a rustgrad-internal code path")
    from rustgrad.nn.functional import _windows

    monkeypatch.setattr(_windows._Windows, "strategy", lambda self, t: name)


@pytest.fixture(params=[None] + WINDOW_STRATEGIES)
def window_strategy(request, monkeypatch):
    """Runs a test with the planner's own choice (None) and with each data
    path forced."""
    if request.param is not None:
        force_window_strategy(monkeypatch, request.param)
    return request.param


def ntuple(v, nd):
    """An int repeated ``nd`` times, or a sequence as a tuple (PyTorch's
    argument convention for kernel sizes, strides, ...)."""
    return (v,) * nd if isinstance(v, int) else tuple(v)


VIEW_KINDS = ["contiguous", "transposed", "strided", "expanded"]


def view_of(seed, shape, dtype="float64", kind="contiguous", **kw):
    """A rustgrad tensor of ``shape`` laid out as ``kind`` (a contiguous
    tensor, a transposed view, a stepped slice, or an expanded view) and the
    NumPy array with the same values."""
    shape = tuple(shape)
    if kind == "contiguous" or len(shape) == 0:
        a = rand_array(seed, shape, dtype, **kw)
        return T(a), a
    if kind == "transposed":
        base = rand_array(seed, shape[::-1], dtype, **kw)
        return T(base).T, base.T
    if kind == "strided":
        base = rand_array(seed, tuple(2 * s for s in shape), dtype, **kw)
        idx = tuple(slice(1, None, 2) for _ in shape)
        return T(base)[idx], base[idx]
    if kind == "expanded":
        base = rand_array(seed, (1,) + shape[1:], dtype, **kw)
        return T(base).expand(*shape), np.broadcast_to(base, shape)
    raise ValueError(kind)


# Operand shapes for matmul: every rank case, batch broadcasting, empty sizes.
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((1, 1), (1, 1)),
    ((5, 2, 3), (3, 4)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((1, 2, 3), (5, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 2)),
    ((2, 1, 4, 3), (1, 5, 3, 2)),
    ((4, 0), (0, 3)),
    ((0, 3), (3, 2)),
]


# ---------------------------------------------------------------------------
# random-program helpers (test_autograd_vs_torch, test_fuzz_programs)
# ---------------------------------------------------------------------------


def broadcastable(*shapes):
    """Whether ``shapes`` broadcast together (NumPy's rules, PyTorch's too)."""
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


def broadcasts_to(src, dst):
    """Whether ``src`` broadcasts to exactly ``dst`` (as ``expand`` needs)."""
    return broadcastable(src, dst) and np.broadcast_shapes(src, dst) == tuple(dst)


def pick_dim(nd, k, extra=0):
    """A dim for a tensor of ``nd`` dims (``extra`` more for unsqueeze/stack):
    0, -1, 1, -2, ... by ``k``; ``k == 7`` gives one out of range."""
    m = max(nd + extra, 1)
    if k == 7:
        return m
    order = [d for i in range(m) for d in (i, -1 - i)]
    return order[k % len(order)]
