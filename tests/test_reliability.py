"""Reliability: what a Rust panic becomes, what rustgrad holds alive
(``memory_stats``), free-threaded interpreters refused at import, and
results that do not depend on the number of threads or on other Python
threads working at the same time."""

import gc
import threading
import traceback

import numpy as np
import pytest

from conftest import REFERENCE, run_python

pytestmark = pytest.mark.skipif(REFERENCE is not None, reason="rustgrad's own guards and counters")

import rustgrad as rg  # noqa: E402
from rustgrad._errors import REPORT  # noqa: E402


# ---------------------------------------------------------------------------
# panics
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("in_pool", [False, True], ids=["calling-thread", "rayon-worker"])
def test_a_panic_is_a_runtime_error_asking_for_a_report(in_pool):
    try:
        rg._core._panic_for_tests("index 7 out of bounds in a kernel", in_pool=in_pool)
    except Exception as e:  # noqa: BLE001  (a BaseException would escape this)
        error = e
    assert isinstance(error, RuntimeError)
    assert type(error).__name__ == "RuntimeError"
    assert "index 7 out of bounds in a kernel" in str(error) and REPORT in str(error)
    assert traceback.format_exception_only(type(error), error)[0].startswith("RuntimeError: index 7")


def test_rustgrad_still_works_after_a_panic():
    with pytest.raises(RuntimeError):
        rg._core._panic_for_tests("boom", in_pool=True)
    x = rg.ones(1 << 16, requires_grad=True)
    (x * 3).sum().backward()
    assert x.grad.sum().item() == 3 * (1 << 16)


def test_free_threaded_python_is_refused_at_import():
    result = run_python("""
import sysconfig
real = sysconfig.get_config_var
sysconfig.get_config_var = lambda name: 1 if name == "Py_GIL_DISABLED" else real(name)
try:
    import rustgrad
except ImportError as e:
    print("refused:", e)
""")
    assert result.returncode == 0, result.stderr
    assert "refused: rustgrad does not support free-threaded CPython (3.13t/3.14t)" in result.stdout


# ---------------------------------------------------------------------------
# memory_stats
# ---------------------------------------------------------------------------

def _stats():
    gc.collect()
    return rg.memory_stats()


def test_memory_stats_counts_what_a_graph_holds_and_returns_to_its_start():
    start = _stats()
    assert set(start) == {"live_tensors", "live_nodes", "storage_bytes"}
    x = rg.ones(1000, dtype=rg.float64, requires_grad=True)
    y = (x * 2).sin()  # MulBackward0 saves nothing (a number), SinBackward0 saves x * 2
    mid = _stats()
    assert mid["live_nodes"] - start["live_nodes"] == 2
    assert mid["live_tensors"] - start["live_tensors"] >= 3
    assert mid["storage_bytes"] - start["storage_bytes"] == 3 * 8000  # x, x * 2, y
    y.sum().backward()
    assert x.grad is not None
    del x, y
    assert _stats() == start


def test_memory_stats_views_share_their_bytes():
    start = _stats()
    x = rg.zeros(256, 256)
    views = [x.t(), x[1:], x.reshape(-1), x.unsqueeze(0)]
    assert _stats()["storage_bytes"] - start["storage_bytes"] == 256 * 256 * 4
    del x, views
    assert _stats() == start


def _hook_cycle():
    x = rg.randn(1000, requires_grad=True)
    x.register_hook(lambda g: g * x.detach())  # x -> its hook -> the closure -> x


def _ctx_cycle():
    class Keep(rg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    out = Keep.apply(rg.randn(1000, requires_grad=True))
    out.grad_fn.output = out  # the ctx (the node) -> the output -> its node


def _node_hook_cycle():
    y = rg.randn(1000, requires_grad=True) * 3
    y.grad_fn.register_hook(lambda inputs, outputs: print(y.shape))  # y -> node -> hook -> y


@pytest.mark.parametrize("make_cycle", [_hook_cycle, _ctx_cycle, _node_hook_cycle],
                         ids=["tensor-hook", "function-ctx", "node-hook"])
def test_reference_cycles_through_autograd_are_collected(make_cycle):
    start = _stats()
    for _ in range(3):
        make_cycle()
    assert _stats() == start


# ---------------------------------------------------------------------------
# threads and determinism
# ---------------------------------------------------------------------------

# A training step large enough that every kernel and the GEMMs split across
# threads; prints the parameters' bytes after a few Adam steps.
TRAIN = """
import hashlib, os, sys
import rustgrad as rg
rg.use_deterministic_algorithms(os.environ.get("DETERMINISTIC") == "1")
rg.manual_seed(0)
model = rg.nn.Sequential(rg.nn.Linear(256, 512), rg.nn.Tanh(), rg.nn.Linear(512, 512), rg.nn.ReLU(),
                         rg.nn.Linear(512, 10))
opt = rg.optim.Adam(model.parameters(), lr=1e-3)
x, y = rg.randn(256, 256), rg.randint(0, 10, (256,))
for _ in range(3):
    opt.zero_grad()
    loss = rg.nn.functional.cross_entropy(model(x), y) + sum(p.pow(2).sum() for p in model.parameters()) * 1e-4
    loss.backward()
    opt.step()
digest = hashlib.sha256()
for p in model.parameters():
    digest.update(p.detach().numpy().tobytes())
    digest.update(p.grad.numpy().tobytes())
print(digest.hexdigest())
"""


def test_training_is_bitwise_identical_across_runs_and_thread_counts():
    digests = {}
    for threads in ("1", "2"):
        for deterministic in ("0", "1"):
            result = run_python(TRAIN, env={"RAYON_NUM_THREADS": threads, "DETERMINISTIC": deterministic})
            assert result.returncode == 0, result.stderr
            digests[threads, deterministic] = result.stdout.strip()
    assert len(set(digests.values())) == 1, digests


def _graph_result(seed):
    rng = np.random.default_rng(seed)
    x = rg.tensor(rng.standard_normal((64, 300)), requires_grad=True)
    w = rg.tensor(rng.standard_normal((300, 40)), requires_grad=True)
    h = (x @ w).tanh()
    loss = (h * h.sigmoid()).sum() + x.exp().mean()
    gx, gw = rg.autograd.grad(loss, (x, w))
    return loss.item(), gx.numpy().copy(), gw.numpy().copy()


def test_graphs_built_in_several_python_threads_give_the_single_threaded_results():
    expected = {seed: _graph_result(seed) for seed in range(8)}
    got, errors = {}, []

    def work(seeds):
        try:
            for _ in range(3):
                for seed in seeds:
                    got.setdefault(seed, []).append(_graph_result(seed))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(range(i, 8, 4),)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads)
    for seed, runs in got.items():
        for loss, gx, gw in runs:
            assert loss == expected[seed][0]
            assert np.array_equal(gx, expected[seed][1]) and np.array_equal(gw, expected[seed][2])


def test_grad_mode_is_per_thread():
    seen = {}
    entered, release = threading.Event(), threading.Event()

    def no_grad_thread():
        with rg.no_grad():
            entered.set()
            release.wait(30)
            seen["inside"] = (rg.ones(2, requires_grad=True) * 2).requires_grad

    t = threading.Thread(target=no_grad_thread)
    t.start()
    entered.wait(30)
    seen["main"] = (rg.ones(2, requires_grad=True) * 2).requires_grad  # while the other is in no_grad
    release.set()
    t.join(30)
    assert seen == {"main": True, "inside": False}


def test_slices_with_a_huge_step_select_what_python_selects():
    # Found by the Rust property tests (src/properties.rs): the length of a
    # slice overflowed for steps near 2**63 (a huge empty-looking view).
    x = rg.arange(10.0)
    assert x[0:5:2**63 - 1].tolist() == list(range(10))[0:5:2**63 - 1]
    assert x[-2::2**63 - 1].tolist() == [8.0]
    assert x[3:3:2**63 - 1].shape == (0,)


def test_reshape_to_sizes_whose_product_overflows_is_an_error():
    # Found by the property tests: the product of the requested sizes
    # wrapped around, so one element "reshaped" to [2**63-1, 2**63-1].
    with pytest.raises(RuntimeError, match="is invalid for input of size 1"):
        rg.ones(1).reshape(2**63 - 1, 2**63 - 1)
    assert rg.ones(0).reshape(2**62, -1).shape == (2**62, 0)


def test_diagonal_checks_its_dims():
    # Found by the API walk: diagonal wrapped any dim modulo ndim, so a 0-d
    # tensor raised ZeroDivisionError and diagonal(0, 0, 5) of a matrix
    # silently took dims 0 and 1 (PyTorch: IndexError).
    with pytest.raises(IndexError, match=r"expected to be in range of \[-1, 0\], but got 1"):
        rg.tensor(1.0).diagonal()
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 5"):
        rg.ones(2, 2).diagonal(0, 0, 5)
    assert rg.ones(2, 3).diagonal(0, -1, 0).tolist() == [1.0, 1.0]
