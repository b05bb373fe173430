"""Python code called from the backward pass (tensor and node hooks, custom
Functions' backward, saved-tensor unpack hooks) runs with the GIL held, also
when the engine runs nodes on rayon's worker threads; it must neither
deadlock nor change the result. Each case runs in a fresh interpreter with a
timeout, so a deadlock fails the test instead of hanging the suite."""

import pytest

from conftest import REFERENCE, run_python

pytestmark = pytest.mark.skipif(REFERENCE is not None, reason="runs rustgrad in a subprocess")

# Two heavy branches (large enough for the engine's parallel schedule), each
# with Python code in its backward: a custom Function, a tensor hook, a node
# pre-hook and a saved-tensor unpack hook.
PROGRAM = """
import numpy as np
import rustgrad as rg

class Cube(rg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g

def run():
    n = 1 << 17
    x = rg.linspace(-1, 1, n, dtype=rg.float64, requires_grad=True)
    with rg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        a = Cube.apply(x.sin())
    a.register_hook(lambda g: g * 2)
    b = (x * 2).exp()
    b.grad_fn.register_prehook(lambda gs: (gs[0] * 0.5,))
    loss = (a + b).sum()
    loss.backward()
    xs = np.linspace(-1, 1, n)
    expected = 2 * 3 * np.sin(xs) ** 2 * np.cos(xs) + 0.5 * 2 * np.exp(2 * xs)
    assert np.allclose(x.grad.numpy(), expected), "wrong gradient"
    return x.grad.numpy().copy()
"""


def check(code):
    result = run_python(PROGRAM + code, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_python_callbacks_on_rayon_workers():
    check("""
first = run()
for _ in range(3):
    assert (run() == first).all(), "results differ between runs"
print("OK")
""")


def test_python_callbacks_from_several_python_threads():
    check("""
import threading
first = run()
results, errors = [], []
def worker():
    try:
        results.append(run())
    except Exception as e:
        errors.append(e)
threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join(60)
assert not errors, errors
assert len(results) == 4 and all((r == first).all() for r in results)
print("OK")
""")


def test_exception_in_a_callback_on_a_worker_reaches_the_caller():
    check("""
n = 1 << 17
x = rg.ones(n, requires_grad=True)
a, b = x.exp(), x.sin()
def boom(g):
    raise KeyError("from the hook")
a.register_hook(boom)
try:
    (a + b).sum().backward()
except KeyError as e:
    assert "from the hook" in str(e)
    print("OK")
""")
