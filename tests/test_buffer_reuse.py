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


# ---- in-place arithmetic written straight into the tensor ----------------------------

INPLACE = {"add_": lambda t, o: t.add_(o), "sub_": lambda t, o: t.sub_(o),
           "mul_": lambda t, o: t.mul_(o), "div_": lambda t, o: t.div_(o)}


@pytest.mark.parametrize("dtype", [rg.float32, rg.float64])
@pytest.mark.parametrize("other", ["number", "tensor", "one_element", "broadcast"])
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place_arithmetic_gives_the_out_of_place_bits(name, other, dtype):
    gen = rg.Generator().manual_seed(7)
    t = rg.randn(3, 5, generator=gen, dtype=dtype)
    o = {"number": 1.3, "tensor": rg.randn(3, 5, generator=gen, dtype=dtype),
         "one_element": rg.randn(1, generator=gen, dtype=dtype), "broadcast": rg.randn(5, generator=gen, dtype=dtype)}[other]
    want = {"add_": t + o, "sub_": t - o, "mul_": t * o, "div_": t / o}[name]
    version = t._version
    with rg.no_grad():
        INPLACE[name](t, o)
    np.testing.assert_array_equal(bits(t), bits(want))
    assert t._version == version + 1


def test_in_place_arithmetic_on_views_and_aliases():
    x = rg.arange(6.0)
    x[1:3] += 2
    np.testing.assert_array_equal(x.numpy(), [0, 3, 4, 3, 4, 5])
    x += x  # the operand is the target itself
    np.testing.assert_array_equal(x.numpy(), [0, 6, 8, 6, 8, 10])
    y = rg.arange(6.0).reshape(2, 3)
    y.t().mul_(2)  # a transposed view: written through its strides
    np.testing.assert_array_equal(y.numpy(), [[0, 2, 4], [6, 8, 10]])
    z = rg.arange(4.0)
    z[1:] -= z[:-1]  # overlapping views of one storage
    np.testing.assert_array_equal(z.numpy(), [0, 1, 1, 1])


def test_in_place_arithmetic_keeps_its_errors():
    i = rg.arange(4)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        i += 1.5
    f = rg.ones(2, 3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        f += rg.ones(4, 2, 3)
    leaf = rg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        leaf += 1
    with rg.no_grad():
        leaf -= 0.5
    np.testing.assert_array_equal(leaf.detach().numpy(), [0.5] * 3)


def test_in_place_arithmetic_is_caught_by_a_saved_tensor_check():
    x = rg.ones(3, requires_grad=True)
    w = rg.full((3,), 2.0)
    y = x * w  # saves w
    with rg.no_grad():
        w += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_in_place_arithmetic_on_empty_views():
    # Found by the long fuzz run: an empty view's offset lies past the end
    # of its buffer, and the direct in-place path sliced from it (a panic).
    b = rg.zeros(0, 3, dtype=rg.float64)
    v = b[:, 1::2]  # shape (0, 1), offset 1 into an empty buffer
    v.mul_(2.0)
    v += rg.zeros(0, 1, dtype=rg.float64)
    assert v.shape == (0, 1)
    x = rg.zeros(2, 0, requires_grad=True)
    x.grad = rg.zeros(4, 0)[2:]
    (x * 2.0).sum().backward()
    assert x.grad.shape == (2, 0)


def test_crossed_in_place_adds_on_two_threads_do_not_deadlock():
    # Big enough that each op runs without the GIL: `a += b` on one thread
    # and `b += a` on another lock the two storages in opposite orders.
    import threading
    a, b = rg.zeros(1 << 16), rg.zeros(1 << 16)

    def loop(x, y):
        for _ in range(300):
            x += y

    threads = [threading.Thread(target=loop, args=p, daemon=True) for p in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "deadlocked"
