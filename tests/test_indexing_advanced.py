"""Advanced indexing (one int64/bool tensor or list index among basic
items) for reading and for assignment, and the index ops behind it:
`index_select`, `index_add`, `index_copy`, `index_fill`, `masked_select`,
`nonzero`. NumPy is the reference for values; gradients by gradcheck."""

import numpy as np
import pytest

import rustgrad as rg
from conftest import N, rand_array

A = np.arange(24.0).reshape(2, 3, 4)

GETS = [
    ("int_tensor", lambda m, t: t[m.tensor([1, 0, 1])], lambda a: a[[1, 0, 1]]),
    ("after_slice", lambda m, t: t[:, m.tensor([2, 0])], lambda a: a[:, [2, 0]]),
    ("2d_index", lambda m, t: t[..., m.tensor([[3], [0]])], lambda a: a[..., np.array([[3], [0]])]),
    ("mask", lambda m, t: t[t > 10], lambda a: a[a > 10]),
    ("partial_mask", lambda m, t: t[t.sum(-1) > 20], lambda a: a[a.sum(-1) > 20]),
    ("list", lambda m, t: t[[1, 0]], lambda a: a[[1, 0]]),
    ("bool_list", lambda m, t: t[:, [True, False, True]], lambda a: a[:, [True, False, True]]),
    ("negative", lambda m, t: t[1, m.tensor([-1, 0])], lambda a: a[1, [-1, 0]]),
]


@pytest.mark.parametrize("name,get,ref", GETS, ids=[g[0] for g in GETS])
def test_advanced_getitem_matches_numpy(name, get, ref):
    np.testing.assert_array_equal(N(get(rg, rg.tensor(A))), ref(A))


@pytest.mark.parametrize("name,get,ref", GETS, ids=[g[0] for g in GETS])
def test_advanced_getitem_gradients(name, get, ref):
    x = rg.tensor(rand_array(1, A.shape), requires_grad=True)
    a = rg.tensor(A)
    # the index is computed from the fixed array `a`, the values from `x`
    assert rg.autograd.gradcheck(lambda t: get(rg, t + 0 * a) if name not in ("mask", "partial_mask") else
                                 (t[a > 10] if name == "mask" else t[a.sum(-1) > 20]), (x,))


def test_duplicate_indices_accumulate_gradients():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[rg.tensor([0, 0, 2])].sum().backward()
    assert N(x.grad).tolist() == [2.0, 0.0, 1.0]


def test_out_of_range_and_mask_shape_errors():
    t = rg.tensor(A)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 2"):
        t[rg.tensor([5])]
    with pytest.raises(IndexError, match=r"The shape of the mask \[2\] at index 0 does not match the shape of the indexed tensor \[3\] at index 1"):
        t[:, rg.tensor([True, False])]


def test_advanced_setitem():
    t = rg.tensor(A)
    t[t > 10] = 0
    t[0, rg.tensor([1, 2])] = -1
    t[:, [True, False, True], 0] = rg.tensor([7.0, 8.0], dtype=rg.float64)
    a = A.copy()
    a[a > 10] = 0
    a[0, [1, 2]] = -1
    a[:, [True, False, True], 0] = [7.0, 8.0]
    np.testing.assert_array_equal(N(t), a)
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match"):
        t[t > 0] = rg.tensor([1.0])


def test_mask_assignment_on_leaves_and_non_leaves():
    w = rg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
        w[w > 0] = 0
    with rg.no_grad():
        w[rg.tensor([True, False, True])] = 0
    assert N(w).tolist() == [0.0, 1.0, 0.0] and w.is_leaf and w.requires_grad
    x = rg.tensor([1.0, 20.0, 3.0], requires_grad=True)
    h = x * 2
    h[h > 10] = 0
    h.sum().backward()
    assert N(x.grad).tolist() == [2.0, 0.0, 2.0]
    v = rg.tensor([5.0], requires_grad=True)
    h = x * 1
    h[rg.tensor([1])] = v * 3
    h.sum().backward()
    assert N(v.grad).tolist() == [3.0]


def test_index_ops():
    x = rg.tensor(rand_array(2, (3, 4)), requires_grad=True)
    idx = rg.tensor([2, 0, 2])
    np.testing.assert_array_equal(N(x.index_select(0, idx)), N(x.detach())[[2, 0, 2]])
    src = rg.tensor(rand_array(3, (3, 4)), requires_grad=True)
    base = N(x.detach()).copy()
    np.add.at(base, [2, 0, 2], N(src.detach()))
    np.testing.assert_allclose(N(x.index_add(0, idx, src)), base)
    copied = x.index_copy(0, rg.tensor([1, 0]), src[:2])
    np.testing.assert_array_equal(N(copied)[[1, 0]], N(src.detach())[:2])
    assert N(x.index_fill(1, rg.tensor([0, 3]), -1.0))[:, [0, 3]].tolist() == [[-1.0, -1.0]] * 3
    for f in (lambda t: t.index_select(1, idx), lambda t: t.index_add(0, idx, src), lambda t: t.index_copy(0, rg.tensor([1, 0]), src[:2])):
        assert rg.autograd.gradcheck(f, (x,))
    m = rg.tensor([[True, False, False, True]])
    np.testing.assert_array_equal(N(x.masked_select(m)), N(x.detach())[np.broadcast_to(N(m), (3, 4))])
    assert N(rg.tensor([[0, 1], [2, 0]]).nonzero()).tolist() == [[0, 1], [1, 0]]
    rows, cols = rg.tensor([[0, 1], [2, 0]]).nonzero(as_tuple=True)
    assert N(rows).tolist() == [0, 1] and N(cols).tolist() == [1, 0]
    with pytest.raises(IndexError, match="index_select\\(\\): Index is supposed to be a vector"):
        x.index_select(0, rg.tensor([[0]]))


def test_constants_and_accelerator():
    import math
    assert rg.pi == math.pi and rg.e == math.e and rg.inf == math.inf and math.isnan(rg.nan)
    assert rg.accelerator.is_available() is False and rg.accelerator.current_accelerator() is None


def test_indexing_matches_torch(torch):
    for name, get, _ in GETS:
        np.testing.assert_array_equal(N(get(rg, rg.tensor(A))), get(torch, torch.tensor(A)).numpy(), err_msg=name)
