"""``torch.inference_mode``: context manager and decorator, inference tensors
and PyTorch's errors when they meet autograd, nesting with
``no_grad``/``enable_grad``, per-thread state."""

import threading

import pytest

import rustgrad as rg
from conftest import N

SAVED = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in inference "
    "mode in computation tracked by autograd. To work around this, you can make a clone to get a normal "
    "tensor and use it in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`."
)
INPLACE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to get "
    "a normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for more "
    "details."
)
REQUIRES_GRAD = "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed."


def message(excinfo):
    return str(excinfo.value)


def make_inference_tensor():
    with rg.inference_mode():
        return rg.ones(3)


# ---------------------------------------------------------------------------
# the mode
# ---------------------------------------------------------------------------

def test_inference_mode_context_manager():
    assert not rg.is_inference_mode_enabled()
    with rg.inference_mode():
        assert rg.is_inference_mode_enabled()
        assert not rg.is_grad_enabled()
    assert not rg.is_inference_mode_enabled()
    assert rg.is_grad_enabled()


def test_inference_mode_restores_on_exception():
    with pytest.raises(KeyError):
        with rg.inference_mode():
            raise KeyError("x")
    assert not rg.is_inference_mode_enabled() and rg.is_grad_enabled()


def test_inference_mode_decorator_forms():
    x = rg.ones(2, requires_grad=True)

    @rg.inference_mode()
    def f(a):
        return a * 2, rg.is_inference_mode_enabled()

    @rg.inference_mode
    def g(a):
        return a * 2, rg.is_inference_mode_enabled()

    for fn, name in ((f, "f"), (g, "g")):
        y, enabled = fn(x)
        assert enabled and y.is_inference() and not y.requires_grad
        assert fn.__name__ == name
        assert not rg.is_inference_mode_enabled()


def test_inference_mode_false_is_a_no_op():
    with rg.inference_mode(False):
        assert not rg.is_inference_mode_enabled()
        assert rg.is_grad_enabled()


def test_inference_mode_false_inside_inference_mode():
    x = rg.ones(2, requires_grad=True)
    with rg.inference_mode():
        with rg.inference_mode(False):
            assert not rg.is_inference_mode_enabled() and rg.is_grad_enabled()
            z = x * 2
            assert z.requires_grad and not z.is_inference()
        assert rg.is_inference_mode_enabled()


def test_enable_grad_inside_inference_mode():
    x = rg.ones(2, requires_grad=True)
    with rg.inference_mode():
        with rg.enable_grad():
            assert rg.is_grad_enabled() and rg.is_inference_mode_enabled()
            z = x * 2
            assert not z.requires_grad and z.is_inference()
        assert not rg.is_grad_enabled()


def test_inference_mode_inside_no_grad():
    with rg.no_grad():
        with rg.inference_mode():
            assert not rg.is_grad_enabled() and rg.is_inference_mode_enabled()
        assert not rg.is_grad_enabled() and not rg.is_inference_mode_enabled()
        with rg.inference_mode(False):
            assert rg.is_grad_enabled()
        assert not rg.is_grad_enabled()
    assert rg.is_grad_enabled()


def test_inference_mode_is_per_thread():
    entered = threading.Event()
    checked = threading.Event()
    results = {}

    def worker():
        try:
            with rg.inference_mode():
                entered.set()
                checked.wait(10)
                results["worker"] = rg.is_inference_mode_enabled()
        finally:
            entered.set()

    t = threading.Thread(target=worker)
    t.start()
    assert entered.wait(10)
    results["main"] = rg.is_inference_mode_enabled()
    results["main_grad"] = rg.is_grad_enabled()
    checked.set()
    t.join(10)
    assert results == {"worker": True, "main": False, "main_grad": True}


def test_new_thread_starts_outside_inference_mode():
    out = []
    with rg.inference_mode():
        t = threading.Thread(target=lambda: out.append(rg.is_inference_mode_enabled()))
        t.start()
        t.join()
    assert out == [False]


# ---------------------------------------------------------------------------
# inference tensors
# ---------------------------------------------------------------------------

def test_tensors_made_in_inference_mode_are_inference_tensors():
    x = rg.ones(2, requires_grad=True)
    with rg.inference_mode():
        y = x * 2
        t = rg.ones(3)
        assert y.is_inference() and t.is_inference()
        assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert not x.is_inference()
    assert not (x * 2).is_inference()
    assert not rg.ones(1).is_inference()


def test_views_of_inference_tensors_are_inference_tensors():
    t = make_inference_tensor()
    assert t.view(3).is_inference() and t[0].is_inference()
    assert not t.clone().is_inference()
    assert not (t + 1).is_inference()


def test_inference_tensor_in_plain_ops_outside():
    t = make_inference_tensor()
    r = t * 2
    assert N(r).tolist() == [2.0, 2.0, 2.0]
    assert not r.requires_grad and not r.is_inference()


@pytest.mark.parametrize("op", [
    lambda t, x: t * x,
    lambda t, x: x * t,
    lambda t, x: x.exp() * t,
    lambda t, x: (x.sin() * t).sum(),
])
def test_inference_tensor_cannot_be_saved_for_backward(op):
    t = make_inference_tensor()
    x = rg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        op(t, x)
    assert message(e) == SAVED


def test_inference_tensor_not_saved_is_fine_in_a_graph():
    t = make_inference_tensor()
    x = rg.ones(3, requires_grad=True)
    (x + t).sum().backward()
    assert N(x.grad).tolist() == [1.0, 1.0, 1.0]


def test_clone_of_an_inference_tensor_works_with_autograd():
    t = make_inference_tensor().clone()
    x = rg.ones(3, requires_grad=True)
    (t * x).sum().backward()
    assert N(x.grad).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("op", [
    lambda t: t.add_(1), lambda t: t.mul_(2), lambda t: t.zero_(), lambda t: t.fill_(2.0),
    lambda t: t.__setitem__(0, 1.0),
])
def test_inplace_on_inference_tensor_outside_raises(op):
    t = make_inference_tensor()
    with pytest.raises(RuntimeError) as e:
        op(t)
    assert message(e) == INPLACE
    with rg.no_grad():
        with pytest.raises(RuntimeError) as e:
            op(t)
        assert message(e) == INPLACE


def test_inplace_on_inference_tensor_inside_is_allowed():
    t = make_inference_tensor()
    with rg.inference_mode():
        t.add_(1)
        t[0] = 5.0
    assert N(t).tolist() == [5.0, 2.0, 2.0]


def test_requires_grad_on_inference_tensor_outside_raises():
    t = make_inference_tensor()
    with pytest.raises(RuntimeError) as e:
        t.requires_grad_()
    assert message(e) == REQUIRES_GRAD


def test_inference_tensors_have_no_version_counter():
    t = make_inference_tensor()
    with pytest.raises(RuntimeError) as e:
        t._version
    assert message(e) == "Inference tensors do not track version counter."


def test_leaf_made_in_inference_mode_with_requires_grad():
    with rg.inference_mode():
        p = rg.ones(2, requires_grad=True)
        assert p.requires_grad and p.is_inference() and p.is_leaf
        assert not (p * 2).requires_grad
    x = rg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        (p * x).sum()
    assert message(e) == SAVED


def test_inference_errors_match_torch(torch):
    def cases(m):
        with m.inference_mode():
            t = m.ones(3)
        x = m.ones(3, requires_grad=True)
        return [lambda: t * x, lambda: t.add_(1), lambda: t.requires_grad_()]
    for f_rg, f_t in zip(cases(rg), cases(torch)):
        with pytest.raises(RuntimeError) as e1:
            f_rg()
        with pytest.raises(RuntimeError) as e2:
            f_t()
        assert message(e1) == message(e2)
