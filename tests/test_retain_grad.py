"""``.grad`` of non-leaf tensors: PyTorch's UserWarning when it is read
without ``retain_grad()``, ``retain_grad()`` and ``retains_grad``."""

import re
import warnings

import pytest

import rustgrad as rg
from conftest import N

NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
    "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
    "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor "
    "by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 "
    "for more information."
)
NON_LEAF_GRAD_RE = "^" + re.escape(NON_LEAF_GRAD)
NO_RETAIN = "can't retain_grad on Tensor that has requires_grad=False"


def message(excinfo):
    return str(excinfo.value)


def grad_warnings(f):
    """Runs ``f``; returns (its result, the non-leaf .grad warnings raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = f()
    return r, [w for w in caught if "not a leaf Tensor" in str(w.message)]


# ---------------------------------------------------------------------------
# the warning
# ---------------------------------------------------------------------------

def test_reading_grad_of_a_non_leaf_warns():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.warns(UserWarning, match=NON_LEAF_GRAD_RE):
        assert y.grad is None


def test_warning_repeats_and_survives_backward():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    for _ in range(2):
        g, caught = grad_warnings(lambda: y.grad)
        assert g is None and len(caught) == 1
    (y * y).sum().backward()
    g, caught = grad_warnings(lambda: y.grad)
    assert g is None and len(caught) == 1
    assert caught[0].category is UserWarning


def test_warning_points_at_the_caller():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    _, caught = grad_warnings(lambda: y.grad)
    assert caught[0].filename == __file__


def test_no_warning_for_leaves():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    g, caught = grad_warnings(lambda: (x.grad, rg.ones(2).grad, x.detach().grad))
    assert caught == []
    assert N(g[0]).tolist() == [2.0, 2.0] and g[1] is None and g[2] is None


def test_no_warning_when_retaining_or_when_grad_was_set():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    g, caught = grad_warnings(lambda: y.grad)
    assert g is None and caught == []
    z = x * 3
    z.grad = rg.ones(2)
    g, caught = grad_warnings(lambda: z.grad)
    assert caught == [] and N(g).tolist() == [1.0, 1.0]
    assert not z.retains_grad


def test_warning_matches_torch(torch):
    msgs = []
    for m in (rg, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        _, caught = grad_warnings(lambda: (x * 2).grad)
        assert len(caught) == 1
        msgs.append(str(caught[0].message).split(" (Triggered internally")[0])
    assert msgs[0] == msgs[1] == NON_LEAF_GRAD


# ---------------------------------------------------------------------------
# retain_grad
# ---------------------------------------------------------------------------

def test_retain_grad_populates_grad():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    assert not y.retains_grad
    assert y.retain_grad() is None
    assert y.retains_grad
    (y * y).sum().backward()
    assert N(y.grad).tolist() == [6.0, 12.0]            # 2y
    assert N(x.grad).tolist() == [18.0, 36.0]
    assert not y.grad.requires_grad


def test_retained_grad_accumulates_over_backwards():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    loss = (y * y).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert N(y.grad).tolist() == [12.0, 24.0]


def test_retained_grad_reset_to_none_starts_over():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x + 1
    y.retain_grad()
    y.sum().backward(retain_graph=True)
    y.grad = None
    (y * 2).sum().backward()
    assert N(y.grad).tolist() == [2.0, 2.0]


def test_retain_grad_twice_is_harmless():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.retain_grad()
    y.sum().backward()
    assert N(y.grad).tolist() == [1.0, 1.0]


def test_retain_grad_on_a_leaf_is_a_no_op():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    x.retain_grad()
    assert not x.retains_grad
    (x * 5).sum().backward()
    assert N(x.grad).tolist() == [5.0, 5.0]


def test_retain_grad_on_a_tensor_not_requiring_grad_raises():
    with pytest.raises(RuntimeError) as e:
        rg.ones(2).retain_grad()
    assert message(e) == NO_RETAIN
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        x.detach().retain_grad()
    assert message(e) == NO_RETAIN
    with rg.no_grad():
        z = x * 2
    with pytest.raises(RuntimeError) as e:
        z.retain_grad()
    assert message(e) == NO_RETAIN


def test_retain_grad_inside_no_grad_still_works():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with rg.no_grad():
        y.retain_grad()
    y.sum().backward()
    assert N(y.grad).tolist() == [1.0, 1.0]


def test_retains_grad_is_read_only():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(AttributeError):
        y.retains_grad = True
    assert not y.retains_grad


def test_retain_grad_on_a_view():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    v = y[0]
    v.retain_grad()
    (v * 3).backward()
    assert v.grad.item() == 3.0 and tuple(v.grad.shape) == ()
    assert N(x.grad).tolist() == [6.0, 0.0]


def test_retain_grad_follows_inplace_updates():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    assert y.retains_grad
    (y * y).sum().backward()
    # the gradient of the tensor's current value (6x): 2 * 6x
    assert N(y.grad).tolist() == [12.0, 24.0]
    assert N(x.grad).tolist() == [72.0, 144.0]


def test_retained_grad_sees_tensor_hooks_whatever_the_order():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert N(y.grad).tolist() == [10.0, 10.0]
    assert N(x.grad).tolist() == [30.0, 30.0]
    x.grad = None
    z = x * 3
    z.register_hook(lambda g: g * 10)
    z.retain_grad()
    z.sum().backward()
    assert N(z.grad).tolist() == [10.0, 10.0]
    assert N(x.grad).tolist() == [30.0, 30.0]


def test_retain_grad_with_inputs_restriction():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward(inputs=[x])
    assert N(x.grad).tolist() == [18.0, 36.0]
    assert N(y.grad).tolist() == [6.0, 12.0]
