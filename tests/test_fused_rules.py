"""One-pass backward rules (issue 8) against the composites they replace.

Where no graph is recorded, ReLU, tanh, sigmoid and `x ** e` run their
backward as one fused kernel with the composite's operations in the same
order; under `create_graph=True` the composite runs (its nodes are needed
for double backward). Both paths must give the same bits, also for the
gradient of the scalar in `scalar * tensor`, a one-pass dot product.
"""

import numpy as np
import pytest

import rustgrad as rg

FUSED = {
    "relu": rg.relu,
    "tanh": rg.tanh,
    "sigmoid": rg.sigmoid,
    "pow3": lambda x: x ** 3,
    "pow_half": lambda x: x.abs() ** 0.5,
}


def bits(t):
    a = t.detach().numpy()
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("dtype", [rg.float32, rg.float64])
@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_rule_gives_the_composites_bits(name, dtype):
    f = FUSED[name]
    # Large enough to take the parallel path of the kernels too.
    x = (rg.randn(300_000, dtype=dtype) * 3).requires_grad_(True)
    g = rg.randn(300_000, dtype=dtype)
    fused, = rg.autograd.grad(f(x), x, g)
    # Grad mode is on inside a create_graph pass: the composite runs.
    composite, = rg.autograd.grad(f(x), x, g, create_graph=True)
    np.testing.assert_array_equal(bits(fused), bits(composite))


@pytest.mark.parametrize("n", [7, 2000, 1_000_003])
def test_scalar_gradient_of_a_product_is_the_composites_dot(n):
    rng = np.random.default_rng(n)
    xs, gs = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    a = rg.tensor(1.5, requires_grad=True)
    x, g = rg.tensor(xs), rg.tensor(gs)
    fused, = rg.autograd.grad(a * x, a, g)
    composite, = rg.autograd.grad(a * x, a, g, create_graph=True)
    assert fused.dtype == rg.float32 and fused.shape == ()
    np.testing.assert_array_equal(bits(fused), bits(composite))


def test_fused_scalar_gradient_keeps_double_backward():
    a = rg.tensor(2.0, requires_grad=True)
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ga, = rg.autograd.grad((a * x * x).sum(), a, create_graph=True)
    gx, = rg.autograd.grad(ga, x)
    np.testing.assert_allclose(gx.numpy(), [2.0, 4.0, 6.0])
