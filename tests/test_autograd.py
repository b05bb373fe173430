"""Autograd semantics: .grad accumulation, retain_graph, errors, grad mode,
in-place rules, detach, several roots, create_graph, inputs=, grad_fn names."""

import threading

import numpy as np
import pytest

import rustgrad as rg
from conftest import N, rand_array

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)
IMPLICIT = "grad can be implicitly created only for scalar outputs"
NO_GRAD_FN = "element 0 of tensors does not require grad and does not have a grad_fn"
LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
VERSION = "one of the variables needed for gradient computation has been modified by an inplace operation"


def message(excinfo):
    return str(excinfo.value)


# ---------------------------------------------------------------------------
# accumulation, zeroing, retain_graph
# ---------------------------------------------------------------------------

def test_grad_accumulates_across_backward_calls():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x.grad is None
    (x * x).sum().backward()
    assert N(x.grad).tolist() == [2.0, 4.0, 6.0]
    (x * 3).sum().backward()
    assert N(x.grad).tolist() == [5.0, 7.0, 9.0]
    (x ** 3).sum().backward()
    assert N(x.grad).tolist() == [8.0, 19.0, 36.0]


def test_accumulation_updates_previously_read_grad_values():
    x = rg.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    # PyTorch accumulates into the existing gradient buffer
    assert N(g).tolist() == [5.0, 5.0]
    assert N(x.grad).tolist() == [5.0, 5.0]


def test_grad_zero_and_none():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    x.grad.zero_()
    assert N(x.grad).tolist() == [0.0, 0.0]
    (x * 3).sum().backward()
    assert N(x.grad).tolist() == [3.0, 3.0]
    x.grad = None
    assert x.grad is None
    (x * 4).sum().backward()
    assert N(x.grad).tolist() == [4.0, 4.0]


def test_grad_itself_does_not_require_grad():
    x = rg.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_retain_graph_allows_second_backward():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.sin() * x).sum()
    y.backward(retain_graph=True)
    first = N(x.grad).copy()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(N(x.grad), 2 * first, rtol=1e-6)
    y.backward()                      # frees the graph
    np.testing.assert_allclose(N(x.grad), 3 * first, rtol=1e-6)
    with pytest.raises(RuntimeError) as e:
        y.backward()
    assert message(e) == FREED


@pytest.mark.parametrize("op", [
    lambda x: (x * x).sum(),
    lambda x: x.sin().sum(),
    lambda x: (x[None] @ x[:, None]).sum(),
    lambda x: x.exp().mean(),
    lambda x: x.norm(),
    lambda x: (x / (x + 1)).sum(),
])
def test_freed_graph_error_text(op):
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = op(x)
    y.backward()
    with pytest.raises(RuntimeError) as e:
        y.backward()
    assert message(e) == FREED


def test_freed_graph_error_matches_torch(torch):
    msgs = []
    for m in (rg, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        with pytest.raises(RuntimeError) as e:
            y.backward()
        msgs.append(message(e))
    assert msgs[0] == msgs[1]


def test_graph_without_saved_tensors_can_be_reused():
    # add/sum save nothing: PyTorch allows backward twice
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1).sum()
    y.backward()
    y.backward()
    assert N(x.grad).tolist() == [2.0, 2.0]


def test_shared_subgraph_freed_by_first_backward():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    a = x * x
    b = a.sum()
    c = (a * 2).sum()
    b.backward()
    with pytest.raises(RuntimeError) as e:
        c.backward()
    assert message(e) == FREED


def test_implicit_gradient_error():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        (x * 2).backward()
    assert message(e) == IMPLICIT
    # a one-element non-scalar output is allowed
    (x[:1] * 2).backward()
    assert N(x.grad).tolist() == [2.0, 0.0]


def test_no_grad_fn_error():
    x = rg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError) as e:
        (x * 2).sum().backward()
    assert message(e) == NO_GRAD_FN
    y = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        (y > 0).sum().backward()
    assert message(e) == NO_GRAD_FN
    with rg.no_grad():
        z = (y * 2).sum()
    with pytest.raises(RuntimeError) as e:
        z.backward()
    assert message(e) == NO_GRAD_FN


def test_errors_match_torch(torch):
    def cases(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        return [
            lambda: (x * 2).backward(),
            lambda: (m.tensor([1.0]) * 2).sum().backward(),
            lambda: x.add_(1),
            lambda: (x * 2).backward(m.tensor([1.0, 2.0, 3.0])),
            lambda: m.autograd.backward([(x * 2).sum(), m.tensor(1.0)]),
        ]
    for f_rg, f_t in zip(cases(rg), cases(torch)):
        with pytest.raises(RuntimeError) as e1:
            f_rg()
        with pytest.raises(RuntimeError) as e2:
            f_t()
        assert message(e1) == message(e2)


def test_backward_on_a_leaf():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    x.backward(rg.tensor([3.0, 4.0]))
    assert N(x.grad).tolist() == [3.0, 4.0]
    s = rg.tensor(1.5, requires_grad=True)
    s.backward()
    s.backward()
    assert s.grad.item() == 2.0


def test_non_leaf_grad_is_none():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert y.grad is None
    assert N(x.grad).tolist() == [2.0, 2.0]


def test_same_tensor_used_many_times():
    x = rg.tensor(3.0, dtype=rg.float64, requires_grad=True)
    y = x * x * x + x * x - x + (x / x)
    y.backward()
    assert x.grad.item() == pytest.approx(3 * 9 + 2 * 3 - 1, rel=1e-14)


# ---------------------------------------------------------------------------
# gradient arguments, several roots, create_graph, inputs=
# ---------------------------------------------------------------------------

def test_backward_with_gradient_for_non_scalar_output():
    a = rand_array(0, (2, 3))
    g = rand_array(1, (2, 3))
    x = rg.tensor(a, requires_grad=True)
    y = x.sin() * 2
    y.backward(rg.tensor(g))
    np.testing.assert_allclose(N(x.grad), 2 * np.cos(a) * g, rtol=1e-12)
    x2 = rg.tensor(a, requires_grad=True)
    (x2 * 3).backward(gradient=rg.tensor(g))
    np.testing.assert_allclose(N(x2.grad), 3 * g, rtol=1e-12)


def test_backward_gradient_shape_mismatch():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of "
                                           r"torch.Size\(\[3\]\) and output\[0\] has a shape of torch.Size\(\[2\]\)"):
        (x * 2).backward(rg.tensor([1.0, 2.0, 3.0]))


def test_backward_gradient_of_other_dtype_is_cast():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).backward(rg.tensor([1.0, 2.0], dtype=rg.float64))
    assert x.grad.dtype == rg.float32 and N(x.grad).tolist() == [2.0, 4.0]


def test_autograd_backward_several_roots():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = rg.tensor(3.0, requires_grad=True)
    rg.autograd.backward([(x * y).sum(), x * x], [None, rg.tensor([1.0, 10.0])])
    assert N(x.grad).tolist() == [3.0 + 2.0, 3.0 + 40.0]
    assert y.grad.item() == 3.0


def test_autograd_backward_roots_sharing_graph():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    rg.autograd.backward([(h * 2).sum(), h.sum(), (x * 3).sum()])
    np.testing.assert_allclose(N(x.grad), 3 * np.exp([1.0, 2.0]) + 3, rtol=1e-6)


def test_autograd_backward_single_tensor_and_grad():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    rg.autograd.backward((x * 2).sum(), rg.tensor(5.0))
    assert N(x.grad).tolist() == [10.0, 10.0]
    x.grad = None
    rg.autograd.backward((x * 2,), grad_tensors=(rg.tensor([1.0, -1.0]),))
    assert N(x.grad).tolist() == [2.0, -2.0]


def test_create_graph_second_derivative_cubic():
    x = rg.tensor(2.0, dtype=rg.float64, requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    g = x.grad
    assert g.item() == pytest.approx(12.0)
    assert g.requires_grad and g.grad_fn is not None
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(12.0)          # d2/dx2 x^3 = 6x


@pytest.mark.parametrize("name,f,d2", [
    ("sin", lambda x: x.sin(), lambda a: -np.sin(a)),
    ("exp", lambda x: x.exp(), np.exp),
    ("x*sin", lambda x: x * x.sin(), lambda a: 2 * np.cos(a) - a * np.sin(a)),
    ("tanh", lambda x: x.tanh(), lambda a: -2 * np.tanh(a) * (1 - np.tanh(a) ** 2)),
    ("sigmoid", lambda x: x.sigmoid(), lambda a: (s := 1 / (1 + np.exp(-a))) * (1 - s) * (1 - 2 * s)),
    ("log", lambda x: x.log(), lambda a: -1 / a ** 2),
    ("sqrt", lambda x: x.sqrt(), lambda a: -0.25 * a ** -1.5),
    ("reciprocal", lambda x: x.reciprocal(), lambda a: 2 / a ** 3),
    ("div", lambda x: 1 / (x + 1), lambda a: 2 / (a + 1) ** 3),
    ("pow2.5", lambda x: x ** 2.5, lambda a: 2.5 * 1.5 * a ** 0.5),
    ("rpow", lambda x: 2 ** x, lambda a: np.log(2) ** 2 * 2 ** a),
    ("x^x", lambda x: x ** x, lambda a: a ** a * ((np.log(a) + 1) ** 2 + 1 / a)),
    ("cos", lambda x: x.cos(), lambda a: -np.cos(a)),
])
def test_create_graph_second_derivatives(name, f, d2):
    a = np.array([0.3, 0.9, 1.7])
    x = rg.tensor(a, requires_grad=True)
    f(x).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(N(x.grad), d2(a), rtol=1e-10, atol=1e-12)


def test_create_graph_matmul_and_norm_hessian_vector():
    a = rand_array(3, (3,))
    A = rand_array(4, (3, 3))
    x = rg.tensor(a, requires_grad=True)
    M = rg.tensor(A)
    # f = 0.5 x^T M x + |x|  ->  Hv = 0.5 (M + M^T) v + (I/|x| - x x^T/|x|^3) v
    f = 0.5 * (x * (M @ x)).sum() + x.norm()
    f.backward(create_graph=True)
    g = x.grad
    x.grad = None
    v = rand_array(5, (3,))
    (g * rg.tensor(v)).sum().backward()
    r = np.linalg.norm(a)
    H = 0.5 * (A + A.T) + np.eye(3) / r - np.outer(a, a) / r ** 3
    np.testing.assert_allclose(N(x.grad), H @ v, rtol=1e-10)


def test_create_graph_implies_retain_graph():
    x = rg.tensor(2.0, requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    y.backward()                                  # graph was retained
    assert x.grad.item() == pytest.approx(24.0)


def test_inputs_restricts_accumulation():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = rg.tensor(3.0, requires_grad=True)
    (x * y).sum().backward(inputs=[y])
    assert x.grad is None and y.grad.item() == 3.0
    (x * y).sum().backward(inputs=x)
    assert N(x.grad).tolist() == [3.0, 3.0] and y.grad.item() == 3.0
    z = rg.tensor(1.0, requires_grad=True)
    (x * y).sum().backward(inputs=[z])
    assert z.grad is None and N(x.grad).tolist() == [3.0, 3.0] and y.grad.item() == 3.0


def test_inputs_with_retained_graph():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = rg.tensor(3.0, requires_grad=True)
    loss = (x * y).sum()
    loss.backward(inputs=[y], retain_graph=True)
    loss.backward(inputs=[x])
    assert N(x.grad).tolist() == [3.0, 3.0] and y.grad.item() == 3.0


def test_autograd_backward_inputs():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = rg.tensor(3.0, requires_grad=True)
    rg.autograd.backward([(x * y).sum()], inputs=[x])
    assert N(x.grad).tolist() == [3.0, 3.0] and y.grad is None


def test_empty_inputs_error():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (x * 2).sum().backward(inputs=[])


# ---------------------------------------------------------------------------
# grad mode
# ---------------------------------------------------------------------------

def test_no_grad_context():
    x = rg.ones(2, requires_grad=True)
    with rg.no_grad():
        assert not rg.is_grad_enabled()
        y = x * 2
    assert rg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_no_grad_restores_on_exception():
    with pytest.raises(KeyError):
        with rg.no_grad():
            raise KeyError("x")
    assert rg.is_grad_enabled()


def test_no_grad_leaf_update_keeps_leaf():
    a = rg.tensor([1.0, 2.0], requires_grad=True)
    (a * 3).sum().backward()
    lr = 0.1
    with rg.no_grad():
        a -= lr * a.grad
        a.add_(1.0)
        a *= 2
        a.div_(2)
        a.sub_(a.grad, alpha=lr)
    assert a.is_leaf and a.requires_grad and a.grad_fn is None
    np.testing.assert_allclose(N(a), [1.0 - 0.6 + 1.0, 2.0 - 0.6 + 1.0], rtol=1e-6)
    with rg.no_grad():
        a.zero_()
        a.fill_(2.0)
    assert N(a).tolist() == [2.0, 2.0] and a.is_leaf and a.requires_grad
    # the leaf still works in a new graph
    (a * a).sum().backward()
    assert N(a.grad).tolist() == [3.0 + 4.0, 3.0 + 4.0]


def test_no_grad_decorator_forms():
    @rg.no_grad()
    def f(x):
        return x * 2, rg.is_grad_enabled()

    @rg.no_grad
    def g(x):
        return x * 2, rg.is_grad_enabled()

    x = rg.ones(2, requires_grad=True)
    for fn, name in ((f, "f"), (g, "g")):
        y, enabled = fn(x)
        assert not y.requires_grad and not enabled
        assert rg.is_grad_enabled()
        assert fn.__name__ == name


def test_enable_grad_nested():
    x = rg.ones(2, requires_grad=True)
    with rg.no_grad():
        with rg.enable_grad():
            assert rg.is_grad_enabled()
            y = x * 2
            with rg.no_grad():
                w = x * 2
            assert rg.is_grad_enabled()
        assert not rg.is_grad_enabled()
        z = x * 2
    assert rg.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad and not w.requires_grad

    @rg.enable_grad()
    def f(t):
        return t * 2

    with rg.no_grad():
        assert f(x).requires_grad


def test_set_grad_enabled_forms():
    rg.set_grad_enabled(False)
    try:
        assert not rg.is_grad_enabled()
        assert not (rg.ones(1, requires_grad=True) * 2).requires_grad
    finally:
        rg.set_grad_enabled(True)
    assert rg.is_grad_enabled()
    with rg.set_grad_enabled(False):
        assert not rg.is_grad_enabled()
    assert rg.is_grad_enabled()
    with rg.no_grad():
        with rg.set_grad_enabled(True):
            assert rg.is_grad_enabled()
        assert not rg.is_grad_enabled()
    assert rg.is_grad_enabled()

    @rg.set_grad_enabled(False)
    def f():
        return rg.is_grad_enabled()

    assert rg.is_grad_enabled()
    assert f() is False
    assert rg.is_grad_enabled()


def test_backward_inside_no_grad_still_computes_grads():
    x = rg.ones(2, requires_grad=True)
    y = (x * 2).sum()
    with rg.no_grad():
        y.backward()
    assert N(x.grad).tolist() == [2.0, 2.0]


def test_grad_mode_is_per_thread():
    x = rg.ones(2, requires_grad=True)
    entered = threading.Event()
    checked = threading.Event()
    results = {}

    def worker():
        with rg.no_grad():
            entered.set()
            checked.wait(10)
            results["worker_enabled"] = rg.is_grad_enabled()
            results["worker_rg"] = (x * 2).requires_grad

    t = threading.Thread(target=worker)
    t.start()
    assert entered.wait(10)
    # the worker is inside no_grad right now; this thread is unaffected
    results["main_enabled"] = rg.is_grad_enabled()
    results["main_rg"] = (x * 2).requires_grad
    checked.set()
    t.join(10)
    assert results == {"worker_enabled": False, "worker_rg": False, "main_enabled": True, "main_rg": True}


def test_new_thread_starts_with_grad_enabled():
    out = []
    with rg.no_grad():
        t = threading.Thread(target=lambda: out.append(rg.is_grad_enabled()))
        t.start()
        t.join()
    assert out == [True]


def test_requires_grad_propagation():
    x = rg.ones(2, requires_grad=True)
    y = rg.ones(2)
    assert (x * y).requires_grad and (y * x).requires_grad
    assert not (y * y).requires_grad
    assert not (x > 0).requires_grad and (x > 0).grad_fn is None
    assert not x.detach().requires_grad
    assert x.double().requires_grad


def test_integer_conversion_cuts_the_graph():
    # PyTorch: converting to an integer/bool dtype gives a tensor without grad
    x = rg.tensor([1.5, 2.5], requires_grad=True)
    for y in (x.long(), x.to(rg.int64), x.bool()):
        assert not y.requires_grad and y.grad_fn is None
    (x * x.long()).sum().backward()
    assert N(x.grad).tolist() == [1.0, 2.0]


def test_requires_grad_setters():
    x = rg.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    assert not x.requires_grad_(False).requires_grad
    x.requires_grad = True
    assert x.requires_grad and x.is_leaf
    y = x * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match=r"^you can only change requires_grad flags of leaf variables.$"):
        y.requires_grad = True        # the setter refuses non-leaves either way
    assert y.requires_grad_() is y    # requires_grad_(True) is a no-op on a non-leaf
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        rg.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype"):
        rg.tensor([1, 2], requires_grad=True)


# ---------------------------------------------------------------------------
# in-place rules
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("op", [
    lambda x: x.add_(1), lambda x: x.sub_(1), lambda x: x.mul_(2), lambda x: x.div_(2),
    lambda x: x.zero_(), lambda x: x.fill_(3.0), lambda x: x.__iadd__(1), lambda x: x.__isub__(1),
    lambda x: x.__imul__(2), lambda x: x.__itruediv__(2),
])
def test_inplace_on_leaf_requiring_grad_errors(op):
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        op(x)
    assert message(e) == LEAF_INPLACE
    assert N(x).tolist() == [1.0, 2.0]               # unchanged
    with pytest.raises(RuntimeError) as e:
        x[0] = 5.0
    assert message(e) == "a view of a leaf Variable that requires grad is being used in an in-place operation."
    with pytest.raises(RuntimeError) as e:
        x[...] = 5.0
    assert message(e) == LEAF_INPLACE


def test_augmented_assignment_on_leaf_errors():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        x += 1
    assert message(e) == LEAF_INPLACE


def test_inplace_on_non_leaf_rebases_grad_fn():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.grad_fn.name() == "MulBackward0"
    y += 3
    assert y.grad_fn.name() == "AddBackward0" and not y.is_leaf
    y.mul_(x)                                   # y = (2x + 3) * x
    assert y.grad_fn.name() == "MulBackward0"
    y.sub_(1)
    y.div_(2)                                   # y = ((2x+3)x - 1) / 2
    assert y.grad_fn.name() == "DivBackward0"
    y.sum().backward()
    a = np.array([1.0, 2.0])
    np.testing.assert_allclose(N(x.grad), (4 * a + 3) / 2, rtol=1e-6)


def test_inplace_on_non_leaf_then_more_ops():
    a = rand_array(0, (3,))
    x = rg.tensor(a, requires_grad=True)
    y = x.exp()
    z = y * 1.0
    z.mul_(y)                     # z = exp(2x); the original z is needed for y's gradient
    w = (z + x).sin().sum()
    w.backward()
    np.testing.assert_allclose(N(x.grad), np.cos(np.exp(2 * a) + a) * (2 * np.exp(2 * a) + 1), rtol=1e-10)


def test_inplace_with_itself_needs_overwritten_value():
    # z.mul_(z) overwrites the value its own backward needs: PyTorch raises
    x = rg.tensor([0.1, 0.2], requires_grad=True)
    z = x.exp() * 1.0
    z.mul_(z)
    with pytest.raises(RuntimeError, match=VERSION):
        z.sum().backward()


def test_version_counter_error():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y                     # saves y
    y.add_(1)
    with pytest.raises(RuntimeError) as e:
        z.sum().backward()
    assert message(e).startswith(VERSION)
    assert "is at version 1; expected version 0 instead" in message(e)


def test_version_counter_error_matches_torch(torch):
    msgs = []
    for m in (rg, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 1
        z = y.sin()
        y.mul_(2)
        with pytest.raises(RuntimeError) as e:
            z.sum().backward()
        msgs.append(message(e))
    assert msgs[0] == msgs[1]


def test_version_counter_error_on_non_requiring_saved_operand():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    w = rg.tensor([3.0, 4.0])
    y = x * w                     # saves w to compute x's gradient
    w.add_(1)
    with pytest.raises(RuntimeError, match=VERSION):
        y.sum().backward()


def test_version_counter_error_through_detach_and_no_grad():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    z = x * x
    with rg.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError, match=VERSION):
        z.sum().backward()
    x2 = rg.tensor([1.0, 2.0], requires_grad=True)
    z2 = x2 * x2
    x2.detach().add_(1)           # detach shares the version counter
    with pytest.raises(RuntimeError, match=VERSION):
        z2.sum().backward()


def test_inplace_on_unsaved_tensor_is_fine():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2                     # mul by a number saves nothing of y
    z = y + 1                     # add saves nothing
    y.mul_(3)
    z.sum().backward()
    assert N(x.grad).tolist() == [2.0, 2.0]


# ---------------------------------------------------------------------------
# .grad assignment and detach
# ---------------------------------------------------------------------------

def test_grad_assignment():
    x = rg.ones(2, requires_grad=True)
    x.grad = rg.tensor([5.0, 5.0])
    (x * 3).sum().backward()
    assert N(x.grad).tolist() == [8.0, 8.0]
    x.grad = None
    assert x.grad is None
    y = rg.ones(2)                 # allowed on tensors that don't require grad, too
    y.grad = rg.tensor([1.0, 2.0])
    assert N(y.grad).tolist() == [1.0, 2.0]


def test_grad_assignment_errors():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        x.grad = rg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError):
        x.grad = rg.tensor([1.0, 2.0], dtype=rg.float64)
    with pytest.raises(RuntimeError):
        x.grad = rg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't assign Variable as its own grad"):
        x.grad = x
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None"):
        x.grad = [1.0, 2.0]
    assert x.grad is None


def test_grad_assignment_size_error_message_matches_torch(torch):
    msgs = []
    for m in (rg, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            x.grad = m.tensor([1.0, 2.0, 3.0])
        msgs.append(message(e))
    assert msgs[0] == msgs[1]


def test_detach_shares_storage():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d.add_(1)
    assert N(y).tolist() == [3.0, 5.0]
    assert d.data_ptr() == y.data_ptr()
    xd = x.detach()
    xd[0] = 10.0
    assert x[0].item() == 10.0
    dd = x.data
    assert not dd.requires_grad and dd.data_ptr() == x.data_ptr()
    assert rg.detach(x).data_ptr() == x.data_ptr()


def test_detach_stops_gradient():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x.detach()
    y.sum().backward()
    assert N(x.grad).tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------
# grad_fn names
# ---------------------------------------------------------------------------

GRAD_FN_OPS = {
    "add": (lambda m, x: x + x, "AddBackward0"),
    "add_scalar": (lambda m, x: x + 1, "AddBackward0"),
    "radd": (lambda m, x: 1 + x, "AddBackward0"),
    "sub": (lambda m, x: x - x, "SubBackward0"),
    "sub_scalar": (lambda m, x: x - 1, "SubBackward0"),
    "rsub": (lambda m, x: 1 - x, "RsubBackward1"),
    "mul": (lambda m, x: x * x, "MulBackward0"),
    "mul_scalar": (lambda m, x: x * 2, "MulBackward0"),
    "div": (lambda m, x: x / x, "DivBackward0"),
    "div_scalar": (lambda m, x: x / 2, "DivBackward0"),
    "rdiv": (lambda m, x: 2 / x, "MulBackward0"),
    "pow": (lambda m, x: x ** 2, "PowBackward0"),
    "pow_tensor": (lambda m, x: x ** x, "PowBackward1"),
    "rpow": (lambda m, x: 2 ** x, "PowBackward2"),
    "neg": (lambda m, x: -x, "NegBackward0"),
    "sin": (lambda m, x: x.sin(), "SinBackward0"),
    "cos": (lambda m, x: x.cos(), "CosBackward0"),
    "exp": (lambda m, x: x.exp(), "ExpBackward0"),
    "log": (lambda m, x: x.log(), "LogBackward0"),
    "log1p": (lambda m, x: x.log1p(), "Log1PBackward0"),
    "sqrt": (lambda m, x: x.sqrt(), "SqrtBackward0"),
    "tanh": (lambda m, x: x.tanh(), "TanhBackward0"),
    "sigmoid": (lambda m, x: x.sigmoid(), "SigmoidBackward0"),
    "relu": (lambda m, x: x.relu(), "ReluBackward0"),
    "abs": (lambda m, x: x.abs(), "AbsBackward0"),
    "reciprocal": (lambda m, x: x.reciprocal(), "ReciprocalBackward0"),
    "sign": (lambda m, x: x.sign(), "SignBackward0"),
    "sum": (lambda m, x: x.sum(), "SumBackward0"),
    "sum_dim": (lambda m, x: x.sum(0), "SumBackward1"),
    "mean": (lambda m, x: x.mean(), "MeanBackward0"),
    "mean_dim": (lambda m, x: x.mean(1, keepdim=True), "MeanBackward1"),
    "norm": (lambda m, x: x.norm(), "LinalgVectorNormBackward0"),
    "norm_p1": (lambda m, x: x.norm(1), "LinalgVectorNormBackward0"),
    "norm_dim": (lambda m, x: x.norm(dim=1), "LinalgVectorNormBackward0"),
    "t": (lambda m, x: x.t(), "TBackward0"),
    "transpose": (lambda m, x: x.transpose(0, 1), "TransposeBackward0"),
    "reshape": (lambda m, x: x.reshape(6), "ViewBackward0"),
    "reshape_copy": (lambda m, x: x.t().reshape(6), "UnsafeViewBackward0"),
    "view": (lambda m, x: x.view(6), "ViewBackward0"),
    "unsqueeze": (lambda m, x: x.unsqueeze(0), "UnsqueezeBackward0"),
    "squeeze": (lambda m, x: x.unsqueeze(0).squeeze(), "SqueezeBackward0"),
    "squeeze_dim": (lambda m, x: x.unsqueeze(0).squeeze(0), "SqueezeBackward1"),
    "expand": (lambda m, x: x.unsqueeze(0).expand(2, 2, 3), "ExpandBackward0"),
    "clone": (lambda m, x: x.clone(), "CloneBackward0"),
    "contiguous": (lambda m, x: x.t().contiguous(), "CloneBackward0"),
    "select": (lambda m, x: x[1], "SelectBackward0"),
    "slice": (lambda m, x: x[:, 1:3], "SliceBackward0"),
    "index_none": (lambda m, x: x[None], "UnsqueezeBackward0"),
    "index_ellipsis": (lambda m, x: x[..., 0], "SelectBackward0"),
    "masked_fill": (lambda m, x: x.masked_fill(x > 0, 0.0), "MaskedFillBackward0"),
    "mm": (lambda m, x: x @ x.t(), "MmBackward0"),
    "mv": (lambda m, x: x @ m.ones(3), "MvBackward0"),
    "dot": (lambda m, x: x[0] @ x[1], "DotBackward0"),
    "bmm": (lambda m, x: x.unsqueeze(0).expand(4, 2, 3) @ m.ones(4, 3, 2), "UnsafeViewBackward0"),
    "to_double": (lambda m, x: x.double(), "ToCopyBackward0"),
    "bce": (lambda m, x: m.nn.functional.binary_cross_entropy_with_logits(x, m.ones(2, 3)),
            "BinaryCrossEntropyWithLogitsBackward0"),
}


@pytest.mark.parametrize("name", list(GRAD_FN_OPS))
def test_grad_fn_names(name):
    fn, expected = GRAD_FN_OPS[name]
    x = rg.ones(2, 3, requires_grad=True)
    y = fn(rg, x)
    assert y.grad_fn is not None
    assert y.grad_fn.name() == expected
    assert expected in repr(y.grad_fn)


@pytest.mark.parametrize("name", list(GRAD_FN_OPS))
def test_grad_fn_names_match_torch(torch, name):
    fn, _ = GRAD_FN_OPS[name]
    ours = fn(rg, rg.ones(2, 3, requires_grad=True))
    theirs = fn(torch, torch.ones(2, 3, requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name()


def test_grad_fn_identity_and_leaf_flags():
    x = rg.ones(2, requires_grad=True)
    assert x.grad_fn is None and x.is_leaf
    y = x * 2
    assert not y.is_leaf and y.grad_fn == y.grad_fn
    assert (x * 2).grad_fn != y.grad_fn
    assert rg.ones(2).is_leaf and (rg.ones(2) * 2).is_leaf
