"""Setting ``requires_grad`` (leaf-only rules and PyTorch's error texts) and
``Tensor.data``: an untracked alias of the values, and a setter that swaps
the tensor's storage while keeping its autograd identity."""

import numpy as np
import pytest

import rustgrad as rg
from conftest import N

LEAF_ONLY = "you can only change requires_grad flags of leaf variables."
LEAF_ONLY_FALSE = (LEAF_ONLY + " If you want to use a computed variable in a subgraph that doesn't "
                   "require differentiation use var_no_grad = var.detach().")


def message(excinfo):
    return str(excinfo.value)


# ---------------------------------------------------------------------------
# requires_grad on non-leaves
# ---------------------------------------------------------------------------

def test_setting_requires_grad_true_on_a_non_leaf_raises():
    a = rg.ones(2, requires_grad=True)
    b = a * 3
    with pytest.raises(RuntimeError) as e:
        b.requires_grad = True
    assert message(e) == LEAF_ONLY
    assert b.requires_grad and not b.is_leaf


def test_setting_requires_grad_false_on_a_non_leaf_raises_with_hint():
    a = rg.ones(2, requires_grad=True)
    b = a * 3
    with pytest.raises(RuntimeError) as e:
        b.requires_grad = False
    assert message(e) == LEAF_ONLY_FALSE
    assert b.requires_grad


def test_requires_grad_method_on_a_non_leaf():
    a = rg.ones(2, requires_grad=True)
    b = a * 3
    assert b.requires_grad_(True) is b                 # a no-op
    assert b.requires_grad and b.grad_fn is not None
    with pytest.raises(RuntimeError) as e:
        b.requires_grad_(False)
    assert message(e) == LEAF_ONLY_FALSE


def test_result_of_ops_without_grad_is_a_leaf():
    c = rg.ones(2) * 3
    assert c.is_leaf
    c.requires_grad = True
    assert c.requires_grad and c.is_leaf and c.grad_fn is None


def test_detached_tensor_is_a_leaf_that_can_require_grad():
    a = rg.ones(2, requires_grad=True)
    d = (a * 3).detach()
    d.requires_grad = True
    assert d.is_leaf and d.requires_grad
    (d * d).sum().backward()
    assert N(d.grad).tolist() == [6.0, 6.0] and a.grad is None


def test_leaf_can_stop_requiring_grad():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    w.requires_grad = False
    assert not w.requires_grad and w.is_leaf
    assert not (w * 2).requires_grad


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError) as e:
        rg.tensor([1, 2]).requires_grad = True
    assert message(e) == "only Tensors of floating point and complex dtype can require gradients"
    with pytest.raises(RuntimeError) as e:
        rg.tensor([1, 2]).requires_grad_()
    assert message(e) == "only Tensors of floating point dtype can require gradients"
    with pytest.raises(RuntimeError) as e:
        rg.tensor([1, 2], requires_grad=True)
    assert message(e) == "Only Tensors of floating point and complex dtype can require gradients"
    t = rg.tensor([1, 2])
    t.requires_grad = False                            # allowed
    t.requires_grad_(False)
    assert not t.requires_grad


def test_requires_grad_errors_match_torch(torch):
    def cases(m):
        a = m.ones(2, requires_grad=True)
        return [
            lambda: setattr(a * 3, "requires_grad", True),
            lambda: setattr(a * 3, "requires_grad", False),
            lambda: (a * 3).requires_grad_(False),
        ]
    for f_rg, f_t in zip(cases(rg), cases(torch)):
        with pytest.raises(RuntimeError) as e1:
            f_rg()
        with pytest.raises(RuntimeError) as e2:
            f_t()
        assert message(e1) == message(e2)


# ---------------------------------------------------------------------------
# .data getter
# ---------------------------------------------------------------------------

def test_data_is_an_untracked_alias():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert d.data_ptr() == w.data_ptr()
    assert d is not w
    z = d * 3
    assert not z.requires_grad and z.grad_fn is None


def test_data_of_a_non_leaf():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    yd = y.data
    assert not yd.requires_grad and yd.is_leaf and yd.grad_fn is None
    yd.mul_(10)
    assert N(y).tolist() == [20.0, 40.0]
    assert y.grad_fn is not None
    y.sum().backward()
    assert N(x.grad).tolist() == [2.0, 2.0]


def test_inplace_on_data_of_a_leaf_is_allowed():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    w.data.add_(1)
    assert N(w).tolist() == [2.0, 3.0]
    assert w.is_leaf and w.requires_grad and w.grad_fn is None


def test_sgd_step_through_data():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    lr = 0.1
    w.data -= lr * w.grad
    np.testing.assert_allclose(N(w), [0.8, 1.6], rtol=1e-6)
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    w.grad = None
    (w * w).sum().backward()
    np.testing.assert_allclose(N(w.grad), [1.6, 3.2], rtol=1e-6)


# ---------------------------------------------------------------------------
# .data setter
# ---------------------------------------------------------------------------

def test_data_setter_replaces_values_and_shape():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    t = rg.tensor([5.0, 6.0, 7.0])
    w.data = t
    assert N(w).tolist() == [5.0, 6.0, 7.0]
    assert tuple(w.shape) == (3,)
    assert w.requires_grad and w.is_leaf and w.grad_fn is None


def test_data_setter_shares_storage_with_the_new_tensor():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    t = rg.tensor([5.0, 6.0, 7.0])
    w.data = t
    assert w.data_ptr() == t.data_ptr()
    t.add_(1)
    assert N(w).tolist() == [6.0, 7.0, 8.0]


def test_data_setter_keeps_the_old_grad():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data = rg.tensor([5.0, 6.0, 7.0])
    assert N(w.grad).tolist() == [2.0, 4.0]


def test_data_setter_then_new_graph():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    w.data = rg.tensor([[1.0, 2.0], [3.0, 4.0]])
    (w * w).sum().backward()
    assert N(w.grad).tolist() == [[2.0, 4.0], [6.0, 8.0]]


def test_data_setter_can_change_dtype():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    w.data = rg.tensor([1.0, 2.0], dtype=rg.float64)
    assert w.dtype == rg.float64 and w.requires_grad


def test_data_setter_on_a_non_leaf_keeps_its_graph():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.data = rg.tensor([7.0, 8.0])
    assert N(y).tolist() == [7.0, 8.0]
    assert type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    assert N(x.grad).tolist() == [2.0, 2.0]


def test_data_setter_does_not_take_requires_grad_from_the_value():
    w = rg.ones(2)
    w.data = rg.ones(2, requires_grad=True)
    assert not w.requires_grad


def test_data_setter_errors():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError) as e:
        w.data = [1.0, 2.0]
    assert message(e) == "Variable data has to be a tensor, but got list"
    with pytest.raises(RuntimeError) as e:
        w.data = rg.tensor([1, 2])
    assert message(e) == "data set to a tensor that requires gradients must be floating point or complex dtype"


def test_assigning_a_grad_of_another_dtype_raises():
    x = rg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        x.grad = rg.ones(2, dtype=rg.float64)
    assert message(e).startswith(
        "attempting to assign a gradient with dtype 'double' to a tensor with grad_dtype 'Float'. "
        "The gradient must match the tensor's grad_dtype")
