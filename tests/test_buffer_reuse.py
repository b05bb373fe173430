"""Gradient buffers reused in backward (issue 8).

A backward rule may write its result over a gradient buffer instead of a new
one when nothing else can see that buffer: the incoming gradient of a node
that the engine holds alone (no post hook will read it, no hook kept it, the
user did not pass it), or a temporary the rule made itself (`cos(x)` in
`sin`'s rule). A leaf's `.grad` takes later gradients in place, as
PyTorch's `AccumulateGrad` does (`variable_grad += new_grad`).

The reused paths must give the same bits as the composites that run under
`create_graph=True`, and must never change a tensor someone else can see.
"""

import numpy as np
import pytest

import rustgrad as rg

N = 1000

OPS = {
    "exp": lambda x: x.exp(),
    "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "pow3": lambda x: x ** 3,
    "times_scalar": lambda x: x * 1.7,
    "times_tensor": lambda x: x * x.detach().cos(),
}


def bits(t):
    a = t.detach().numpy()
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("dtype", [rg.float32, rg.float64])
@pytest.mark.parametrize("n", [N, 300_000])
@pytest.mark.parametrize("name", sorted(OPS))
def test_rules_writing_over_gradients_give_the_composites_bits(name, n, dtype):
    op = OPS[name]
    gen = rg.Generator().manual_seed(n)
    x = rg.randn(n, generator=gen, dtype=dtype).requires_grad_(True)
    w = rg.randn(n, generator=gen, dtype=dtype)

    def loss():
        # Two of the op in a row: the inner one receives a gradient the
        # engine made and holds alone.
        return (op(op(x) * 0.9) * w).sum()

    reused, = rg.autograd.grad(loss(), x)
    composite, = rg.autograd.grad(loss(), x, create_graph=True)
    np.testing.assert_array_equal(bits(reused), bits(composite))


def test_both_operands_of_a_product_get_their_gradients():
    a = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = rg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    ((a * b).exp() * 0.5).sum().backward()
    g = 0.5 * np.exp(np.float32([4.0, 10.0, 18.0]))
    np.testing.assert_allclose(a.grad.numpy(), g * [4, 5, 6], rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), g * [1, 2, 3], rtol=1e-6)


def test_a_gradient_a_hook_kept_is_not_written_over():
    x = rg.randn(N, requires_grad=True)
    w = rg.randn(N)
    y = x * 2.0
    kept = []
    y.register_hook(kept.append)
    z = y.exp()
    (z * w).sum().backward()
    np.testing.assert_array_equal(kept[0].numpy(), (w * z).detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), (kept[0] * 2.0).numpy())


def test_a_node_post_hook_sees_the_gradients_the_node_received():
    x = rg.randn(N, requires_grad=True)
    w = rg.randn(N)
    y = x.tanh()
    seen = []
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append(grad_outputs[0].numpy().copy()))
    (y * w).sum().backward()
    np.testing.assert_array_equal(seen[0], w.numpy())


def test_a_retained_gradient_keeps_its_values():
    x = rg.randn(N, requires_grad=True)
    w = rg.randn(N)
    y = x * 3.0
    y.retain_grad()
    z = y.sigmoid()
    (z * w).sum().backward()
    s = z.detach().numpy()
    np.testing.assert_array_equal(y.grad.numpy(), (w.numpy() * (s * (1 - s))).astype(np.float32))


def test_the_gradient_passed_to_backward_is_not_written_over():
    x = rg.randn(N, requires_grad=True)
    g = rg.randn(N)
    before = g.numpy().copy()
    x.exp().backward(g)
    x.tanh().backward(g)
    np.testing.assert_array_equal(g.numpy(), before)


def test_leaf_gradients_accumulate_in_place():
    x = rg.randn(N, requires_grad=True)
    (x * 2.0).sum().backward()
    first = x.grad
    version = first._version
    (x * 3.0).sum().backward()
    assert x.grad is first, "the same .grad tensor, as PyTorch's in-place accumulation"
    np.testing.assert_array_equal(first.numpy(), np.full(N, 5.0, np.float32))
    assert first._version > version


def test_a_user_set_grad_takes_later_gradients_in_place():
    x = rg.ones(4, requires_grad=True)
    mine = rg.zeros(4)
    x.grad = mine
    (x * 2.0).sum().backward()
    assert x.grad is mine
    np.testing.assert_array_equal(mine.numpy(), [2.0] * 4)


def test_accumulating_a_gradient_into_a_view_grad_still_works():
    # A non-contiguous .grad takes the out-of-place path.
    x = rg.ones(3, 4, requires_grad=True)
    x.grad = rg.zeros(4, 3).t()
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 2.0, np.float32))
