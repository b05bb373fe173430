"""Edge cases that once panicked or differed from PyTorch: empty views with
a storage offset, 0-d movedim, negative gather indices, keepdim with every
dim reduced, empty reductions' errors, the `var(unbiased)` overload, and the
zero-safe gradients of `norm` (p < 2) and `std`. Expected values are
PyTorch's."""

import numpy as np
import pytest

import rustgrad as rg
from rustgrad.autograd import gradcheck, gradgradcheck


def test_empty_views_with_an_offset_work():
    v = rg.zeros(0, 4)[:, 1:]
    assert (v + 1).shape == (0, 3) and v.exp().shape == (0, 3)
    assert v.sum().item() == 0.0 and v.fill_(1).shape == (0, 3)
    assert rg.zeros(0, 3).select(1, 2).shape == (0,)


def test_movedim_of_a_0d_tensor_and_repeated_dims():
    assert rg.tensor(2.0).movedim(0, 0).item() == 2.0
    with pytest.raises(RuntimeError, match="repeated dim in `source`"):
        rg.ones(2, 3).movedim((0, 0), (0, 1))


def test_gather_rejects_negative_indices_but_indexing_wraps_them():
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 1 with size 3"):
        rg.ones(2, 3).gather(1, rg.tensor([[-1, 0]]))
    assert rg.tensor([1, 2, 3])[rg.tensor([-1])].tolist() == [3]


@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "amax"])
def test_keepdim_with_every_dim_reduced_keeps_them_as_ones(op):
    x = rg.ones(2, 3)
    out = getattr(x, op)(None, keepdim=True) if op != "amax" else x.amax((), keepdim=True)
    assert tuple(out.shape) == (1, 1)


def test_empty_reduction_errors():
    with pytest.raises(IndexError, match=r"amin\(\): Expected reduction dim 1 to have non-zero size"):
        rg.zeros(3, 0).amin(1)
    with pytest.raises(RuntimeError, match=r"max\(\): Expected reduction dim to be specified"):
        rg.zeros(3, 0).max()


def test_var_and_std_take_unbiased_positionally():
    x = rg.tensor([1.0, 2.0, 4.0])
    assert x.std(False).item() == pytest.approx(np.std([1, 2, 4]))
    assert x.var(True).item() == pytest.approx(np.var([1, 2, 4], ddof=1))


@pytest.mark.parametrize("p, want", [(0.5, [0.0, 2.414213562373095, -1.7071067811865472]),
                                     (1.5, [0.0, 0.6392340078652324, -0.9040134034531215]),
                                     (3.0, [0.0, 0.2311204247835449, -0.9244816991341795])])
def test_norm_gradient_is_zero_at_zero_elements(p, want):
    x = rg.tensor([0.0, 1.0, -2.0], dtype=rg.float64, requires_grad=True)
    x.norm(p).backward()
    np.testing.assert_allclose(x.grad.tolist(), want, rtol=1e-12)


def test_std_gradient_where_std_is_zero_and_double_backward():
    y = rg.tensor([1.0, 1.0], dtype=rg.float64, requires_grad=True)
    s = y.std()
    s.backward()
    assert y.grad.tolist() == [0.0, 0.0] and type(s.grad_fn).__name__ == "StdBackward0"
    leaf = rg.rand(4, 3, dtype=rg.float64, requires_grad=True)
    assert gradcheck(lambda t: t.std(0), (leaf,))
    assert gradgradcheck(lambda t: t.std(), (leaf,))


def test_zero_dim_flip_narrow_and_index_select():
    assert rg.flip(rg.tensor(0.8), (0,)).item() == pytest.approx(0.8)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        rg.flip(rg.ones(2, 3), (0, 0))
    with pytest.raises(RuntimeError, match="narrow\\(\\) cannot be applied to a 0-dim tensor"):
        rg.narrow(rg.tensor(0.8), 0, 0, 0)
    with pytest.raises(RuntimeError, match="Index to scalar can have only 1 value"):
        rg.index_select(rg.tensor(1.5), 0, rg.tensor([], dtype=rg.int64))
    assert rg.index_select(rg.tensor(1.5), 0, rg.tensor([0])).item() == 1.5


def test_float64_to_half_types_rounds_as_pytorch():
    # c10 goes through float32, each step to nearest even; a direct f64
    # conversion that drops low mantissa bits gives -134 (issue 6).
    v = -134.50001196779692
    assert rg.tensor([v], dtype=rg.float64).to(rg.bfloat16).item() == -135.0
    assert rg.tensor([v], dtype=rg.bfloat16).item() == -135.0
    assert rg.tensor([65520.0], dtype=rg.float64).to(rg.float16).item() == float("inf")
    # ...and so double-rounds as PyTorch does: the 2**-40 is lost in float32,
    # leaving a tie that rounds to even.
    assert rg.tensor([1.0 + 2.0 ** -11 + 2.0 ** -40], dtype=rg.float64).to(rg.float16).item() == 1.0


@pytest.mark.parametrize("make", [
    lambda: rg.ones(1).expand(2 ** 61).numpy(),
    lambda: rg.zeros(2 ** 31, 2 ** 31),
    lambda: rg.arange(2 ** 62),
    lambda: rg.arange(0.0, 1e20),
    lambda: rg.linspace(0, 1, 2 ** 62),
    lambda: rg.randperm(2 ** 62),
    lambda: rg.ones(1).expand(2 ** 31, 2 ** 31).sum(),
    lambda: rg.zeros(2 ** 40),
    lambda: rg.ones(1).expand(2 ** 40).contiguous(),
    lambda: rg.ones(1).expand(2 ** 40) + 1,
])
def test_huge_sizes_raise_instead_of_crashing(make):
    # Sizes that overflow, or that no allocator can give, are RuntimeErrors
    # as in PyTorch, not a panic (capacity overflow), an abort or a segfault.
    with pytest.raises((RuntimeError, ValueError)):
        make()


def test_repeat_and_einsum_errors_as_pytorch():
    with pytest.raises(RuntimeError, match=r"negative dimension -4: \[1, -4\]"):
        rg.ones(2).repeat(1, -2)
    with pytest.raises(RuntimeError, match="output subscript l does not appear"):
        rg.einsum("ij,jk->il", rg.ones(2, 2), rg.ones(2, 2))
    with pytest.raises(RuntimeError, match="output subscript i appears more than once"):
        rg.einsum("ij,jk->ii", rg.ones(2, 2), rg.ones(2, 2))
