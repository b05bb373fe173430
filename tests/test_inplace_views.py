"""In-place operations on views: forbidden on views of leaves that require
grad, rebased into ``CopySlices`` on non-leaf bases, views of views, the base
changing under a view, index assignment of values that require grad."""

import numpy as np
import pytest

import rustgrad as rg
from conftest import N

VIEW_OF_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place operation."
LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."


def message(excinfo):
    return str(excinfo.value)


# ---------------------------------------------------------------------------
# views of leaves
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("op", [
    lambda w: w[1:].mul_(2),
    lambda w: w[0].zero_(),
    lambda w: w.view(3).add_(1),
    lambda w: w.reshape(3).sub_(1),
    lambda w: w.unsqueeze(0).div_(2),
    lambda w: w[1:][0].fill_(1.0),
    lambda w: w[None].__iadd__(1),
])
def test_inplace_on_a_view_of_a_leaf_raises(op):
    w = rg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        op(w)
    assert message(e) == VIEW_OF_LEAF
    assert N(w).tolist() == [1.0, 1.0, 1.0]


def test_augmented_assignment_on_a_view_of_a_leaf_raises():
    w = rg.ones(2, 3, requires_grad=True)
    v = w.t()
    with pytest.raises(RuntimeError) as e:
        v += 1
    assert message(e) == VIEW_OF_LEAF


@pytest.mark.parametrize("index,expected", [
    (0, VIEW_OF_LEAF),
    (slice(1, None), VIEW_OF_LEAF),
    ((None,), VIEW_OF_LEAF),
    # indexes that select the whole tensor write into the leaf itself
    (Ellipsis, LEAF_INPLACE),
    (slice(None), LEAF_INPLACE),
], ids=["int", "slice", "none", "ellipsis", "full_slice"])
def test_setitem_on_a_leaf_raises(index, expected):
    w = rg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        w[index] = 5.0
    assert message(e) == expected
    assert N(w).tolist() == [1.0, 1.0, 1.0]


def test_view_of_leaf_error_matches_torch(torch):
    msgs = []
    for m in (rg, torch):
        w = m.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            w[1:].mul_(2)
        msgs.append(message(e))
    assert msgs[0] == msgs[1]


def test_views_of_leaves_not_requiring_grad_are_fine():
    t = rg.ones(3)
    t[1:].mul_(2)
    assert N(t).tolist() == [1.0, 2.0, 2.0]


def test_inplace_on_a_view_of_a_leaf_under_no_grad():
    w = rg.ones(3, requires_grad=True)
    with rg.no_grad():
        w[1:].mul_(2)
        w[0] = 7.0
    assert N(w).tolist() == [7.0, 2.0, 2.0]
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    (w * w).sum().backward()
    assert N(w.grad).tolist() == [14.0, 4.0, 4.0]


def test_inplace_on_a_detached_view_of_a_leaf_is_allowed():
    w = rg.ones(3, requires_grad=True)
    w.detach()[0].fill_(5.0)
    assert N(w).tolist() == [5.0, 1.0, 1.0]
    assert w.is_leaf and w.grad_fn is None


# ---------------------------------------------------------------------------
# views of non-leaves
# ---------------------------------------------------------------------------

def test_setitem_and_view_mul_on_a_non_leaf():
    x = rg.ones(2, 3, requires_grad=True)
    h = x * 1
    h[0] = 0.0
    h[:, 1].mul_(2)
    assert N(h).tolist() == [[0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]
    h.sum().backward()
    # row 0 was overwritten (no gradient); column 1 doubled
    assert N(x.grad).tolist() == [[0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]


def test_base_grad_fn_becomes_copy_slices():
    x = rg.ones(2, 3, requires_grad=True)
    h = x * 1
    h[0] = 0.0
    assert type(h.grad_fn).__name__ == "CopySlices"
    assert h.grad_fn.name() == "torch::autograd::CopySlices"
    assert not h.is_leaf
    nf = h.grad_fn.next_functions
    assert type(nf[0][0]).__name__ == "MulBackward0" and nf[0][1] == 0


def test_view_grad_fn_after_inplace_on_it():
    x = rg.ones(2, 3, requires_grad=True)
    h = x * 1
    v = h[:, 1]
    assert type(v.grad_fn).__name__ == "SelectBackward0"
    v.mul_(2)
    assert type(v.grad_fn).__name__ == "AsStridedBackward0"
    assert type(h.grad_fn).__name__ == "CopySlices"
    assert v._base is h and not v.is_leaf


def test_gradient_through_a_modified_view_and_its_base():
    x = rg.ones(2, 3, requires_grad=True)
    h = x * 1
    v = h[:, 1]
    v.mul_(2)
    (h * h).sum().backward()
    # h = x with column 1 doubled; d(h^2)/dx = 2h * dh/dx
    assert N(x.grad).tolist() == [[2.0, 8.0, 2.0], [2.0, 8.0, 2.0]]


def test_views_of_views():
    x = rg.arange(6.0, requires_grad=True)
    h = x * 1
    v = h.view(2, 3)
    vv = v[1]
    vvv = vv[1:]
    vvv.mul_(10)
    assert N(h).tolist() == [0.0, 1.0, 2.0, 3.0, 40.0, 50.0]
    assert N(v).tolist() == [[0.0, 1.0, 2.0], [3.0, 40.0, 50.0]]
    assert [type(t.grad_fn).__name__ for t in (v, vv, vvv)] == ["AsStridedBackward0"] * 3
    assert vvv._base is h and vv._base is h and v._base is h
    (h * rg.arange(6.0)).sum().backward()
    assert N(x.grad).tolist() == [0.0, 1.0, 2.0, 3.0, 40.0, 50.0]


def test_transposed_view_inplace():
    x = rg.ones(2, 3, requires_grad=True)
    h = x * 2
    h.t()[0].mul_(5)
    assert N(h).tolist() == [[10.0, 2.0, 2.0], [10.0, 2.0, 2.0]]
    h.sum().backward()
    assert N(x.grad).tolist() == [[10.0, 2.0, 2.0], [10.0, 2.0, 2.0]]


def test_unsqueezed_view_inplace():
    x = rg.ones(3, requires_grad=True)
    h = x * 1
    h.unsqueeze(0).mul_(3)
    assert type(h.grad_fn).__name__ == "CopySlices"
    h.sum().backward()
    assert N(x.grad).tolist() == [3.0, 3.0, 3.0]


def test_inplace_on_an_expanded_view_raises():
    x = rg.ones(3, requires_grad=True)
    h = x * 1
    with pytest.raises(RuntimeError) as e:
        h.expand(2, 3).mul_(2)
    assert message(e) == ("unsupported operation: more than one element of the written-to tensor refers "
                          "to a single memory location. Please clone() the tensor before performing the "
                          "operation.")


def test_inplace_on_the_base_is_seen_by_the_view():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2
    v = h[1:]
    h.mul_(x)                                   # h = 2 x^2
    assert N(v).tolist() == [8.0, 18.0]
    assert type(v.grad_fn).__name__ == "AsStridedBackward0"
    v.sum().backward()
    assert N(x.grad).tolist() == [0.0, 8.0, 12.0]   # 4x, only where v looks


def test_modified_view_invalidates_a_saved_base():
    x = rg.ones(3, requires_grad=True)
    h = x.exp()
    v = h[:2]
    v.zero_()
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation "
                                           "has been modified by an inplace operation"):
        h.sum().backward()


def test_non_leaf_modified_under_no_grad_keeps_its_graph():
    x = rg.ones(3, requires_grad=True)
    h = x * 2
    with rg.no_grad():
        h[0] = 10.0
    assert N(h).tolist() == [10.0, 2.0, 2.0]
    assert type(h.grad_fn).__name__ == "MulBackward0"
    h.sum().backward()
    assert N(x.grad).tolist() == [2.0, 2.0, 2.0]


def test_modifying_a_detached_alias_keeps_the_graph():
    x = rg.ones(3, requires_grad=True)
    h = x * 2
    d = h.detach()
    d[0] = 5.0
    assert N(h).tolist() == [5.0, 2.0, 2.0]
    h.sum().backward()
    assert N(x.grad).tolist() == [2.0, 2.0, 2.0]


# ---------------------------------------------------------------------------
# assigning values that require grad
# ---------------------------------------------------------------------------

def test_setitem_value_requiring_grad_gets_gradient():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    val = rg.tensor(5.0, requires_grad=True)
    h = x * 1
    h[1] = val * 2
    (h * rg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert N(x.grad).tolist() == [1.0, 0.0, 3.0]
    assert val.grad.item() == 4.0                  # 2 * weight 2


def test_setitem_slice_with_a_tensor_value():
    a = np.array([1.0, 2.0, 3.0])
    x = rg.tensor(a, dtype=rg.float64, requires_grad=True)
    val = rg.tensor([5.0, 6.0], dtype=rg.float64, requires_grad=True)
    h = x.sin()
    h[1:] = val
    (h * h).sum().backward()
    np.testing.assert_allclose(N(x.grad), [2 * np.sin(1.0) * np.cos(1.0), 0.0, 0.0], rtol=1e-12)
    assert N(val.grad).tolist() == [10.0, 12.0]


def test_setitem_into_a_plain_tensor_makes_it_require_grad():
    b = rg.zeros(3)
    val = rg.tensor([5.0, 6.0], requires_grad=True)
    b[1:] = val
    assert b.requires_grad and not b.is_leaf
    assert type(b.grad_fn).__name__ == "CopySlices"
    (b * b).sum().backward()
    assert N(val.grad).tolist() == [10.0, 12.0]


def test_inplace_add_of_grad_value_into_a_view_of_a_plain_tensor():
    b = rg.zeros(2, 2)
    v = b[0]
    val = rg.ones(2, requires_grad=True)
    v.add_(val)
    assert b.requires_grad and type(b.grad_fn).__name__ == "CopySlices"
    assert type(v.grad_fn).__name__ == "AsStridedBackward0"
    (b * rg.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert N(val.grad).tolist() == [1.0, 2.0]


def test_inplace_on_a_no_grad_view_of_a_base_requiring_grad_raises():
    x = rg.ones(3, requires_grad=True)
    base = x.clone()
    with rg.no_grad():
        v = base[:2]
    with pytest.raises(RuntimeError) as e:
        v.mul_(2)
    assert message(e).startswith("A view was created in no_grad mode and is being modified inplace with grad mode enabled.")


def test_assigning_a_tensor_into_a_view_links_copy_slices_to_the_source():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2
    h[1] = x[0] * 10
    assert [type(n).__name__ for n, _ in h.grad_fn.next_functions] == ["MulBackward0", "MulBackward0"]
    h.sum().backward()
    assert N(x.grad).tolist() == [12.0, 0.0, 2.0]
