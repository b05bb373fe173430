"""PyTorch's argument errors: a wrong type is a TypeError naming the
argument (python/rustgrad/_arg_parser.py for the functions written in
Python, src/python/ints.rs for ints beyond int64 in the bindings), and the
checks added with them (0-d iteration, einsum's sublist form, huge
repeat_interleave counts, finfo/iinfo, pow of two numbers)."""

import re

import pytest

import rustgrad as torch
import rustgrad.nn.functional as F
from rustgrad._arg_parser import parsed

BIG = 2**63  # one past int64's largest value


def _raises(exc, text, fn, *args, **kwargs):
    with pytest.raises(exc, match=re.escape(text)):
        fn(*args, **kwargs)


@pytest.fixture
def x():
    return torch.ones(2, 3)


def test_a_tensor_argument_of_another_type_is_named_as_pytorch_does(x):
    _raises(TypeError, "mm(): argument 'mat2' (position 2) must be Tensor, not str", torch.mm, x, "a")
    _raises(TypeError, "mm(): argument 'mat2' must be Tensor, not NoneType", torch.mm, x, mat2=None)
    _raises(TypeError, "relu(): argument 'input' (position 1) must be Tensor, not str", F.relu, "a")
    _raises(TypeError, "linear(): argument 'bias' (position 3) must be Tensor, not str", F.linear, x, x, "a")
    _raises(TypeError, "addcdiv(): argument 'tensor1' (position 2) must be Tensor, not int", x.addcdiv, -99, 0)
    _raises(TypeError, "svd(): argument 'A' (position 1) must be Tensor, not str", torch.linalg.svd, "a")
    _raises(TypeError, "hstack(): argument 'tensors' (position 1) must be tuple of Tensors, not str",
            torch.hstack, "a")
    _raises(TypeError, "expected Tensor or tuple of Tensors as element 1 in argument 0, but got int",
            torch.meshgrid, x, 1)


def test_numbers_and_int_lists_of_another_type(x):
    _raises(TypeError, "celu(): argument 'alpha' (position 2) must be float, not Tensor", F.celu, x, x)
    _raises(TypeError, "avg_pool1d(): argument 'kernel_size' (position 2) must be int or tuple of ints, not Tensor",
            F.avg_pool1d, x, x)
    _raises(TypeError, "tril(): argument 'diagonal' (position 2) must be int, not Tensor", torch.tril, x, x)


def test_valid_calls_and_optional_arguments_are_untouched(x):
    assert torch.mm(x, x.t()).shape == (2, 2)
    assert F.linear(x, x, None).shape == (2, 2)
    # a 0-d tensor stands for a number, as in PyTorch's parser
    assert F.celu(x, torch.tensor(2.0)).shape == (2, 3)
    # an error about values, with arguments of the right types, stays
    _raises(RuntimeError, "mm: mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)", torch.mm, x, x)


def test_python_level_checks_come_first_where_pytorch_writes_them_in_python(x):
    # F.dropout checks p itself before ATen parses input (PyTorch's order)
    _raises(ValueError, "dropout probability has to be between 0 and 1", F.dropout, 2**40, 2**40)
    _raises(TypeError, "dropout(): argument 'input' (position 1) must be Tensor, not str", F.dropout, "a")


def test_ints_beyond_int64(x):
    for call in (lambda: x.sum(BIG), lambda: x.argmax(BIG), lambda: x[BIG], lambda: torch.cat([x], BIG),
                 lambda: F.softmax(x, BIG), lambda: x.size(BIG), lambda: x.repeat_interleave(BIG)):
        _raises(ValueError, "Overflow when unpacking long long", call)
    _raises(TypeError, "view(): argument 'size' failed to unpack the object at pos 1 with error "
            "\"Overflow when unpacking long long\"", x.view, BIG)
    _raises(TypeError, "failed to unpack the object at pos 2", x.reshape, 6, BIG)
    _raises(TypeError, "tile(): argument 'dims' failed to unpack the object at pos 1", torch.tile, x, BIG)
    _raises(TypeError, "layer_norm(): argument 'normalized_shape' failed to unpack the object at pos 1",
            F.layer_norm, x, BIG)


def test_device_index_must_not_be_negative(x):
    _raises(RuntimeError, "Device index must not be negative", torch.device, "cpu", -99)
    with pytest.raises(TypeError):
        torch.device(x, -99)


def test_the_parser_refuses_an_annotation_it_does_not_know():
    def f(input: "Tensr"):  # noqa: F821
        return input

    with pytest.raises(TypeError, match="unknown annotation 'Tensr'"):
        parsed(f)


def test_own_checks_first_keeps_pytorch_classes_and_replaces_the_others():
    @parsed(own_checks_first=True)
    def f(input: "Tensor", p=0.5):
        if p > 1:
            raise ValueError("p too big")
        return input.dim()

    _raises(ValueError, "p too big", f, "a", 2)
    _raises(TypeError, "f(): argument 'input' (position 1) must be Tensor, not str", f, "a")


def test_iterating_a_0d_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(torch.tensor(1.0))
    rows = list(torch.arange(6.0).reshape(3, 2))
    assert [r.tolist() for r in rows] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]


def test_einsum_sublist_form_and_missing_operands():
    a, b = torch.ones(2, 3), torch.ones(3, 4)
    assert torch.einsum(a, [0, 1], b, [1, 2], [0, 2]).shape == (2, 4)
    assert torch.einsum(a, [0, 1], b, [1, 2]).shape == (2, 4)
    assert torch.einsum(a, [Ellipsis, 1]).shape == (2, 3)
    assert torch.allclose(torch.einsum(a, [0, 1], b, [1, 2]), a @ b)
    _raises(ValueError, "einsum(): must specify the equation string and at least one operand", torch.einsum, a)
    _raises(ValueError, "einsum(): subscript in subscript list is not within the valid range [0, 52)",
            torch.einsum, a, [0, 60])


def test_repeat_interleave_checks_counts_and_fails_fast_on_huge_ones():
    x = torch.arange(6.0).reshape(2, 3)
    assert x.repeat_interleave(torch.tensor([1, 2]), 0).tolist() == [[0, 1, 2], [3, 4, 5], [3, 4, 5]]
    assert x.repeat_interleave(torch.tensor([2])).shape == (12,)
    _raises(RuntimeError, "Repeats must be non-negative", x.repeat_interleave, -1)
    _raises(RuntimeError, "repeats can not be negative", x.repeat_interleave, torch.tensor([1, -1]), 0)
    _raises(RuntimeError, "repeats must have the same size as input along dim, but got repeats.size(0) = 2 and "
            "input.size(1) = 3", x.repeat_interleave, torch.tensor([1, 2]), 1)
    _raises(IndexError, "Dimension out of range", x.repeat_interleave, 2, 5)
    _raises(RuntimeError, "DefaultCPUAllocator: can't allocate memory", x.repeat_interleave, 2**40)
    _raises(RuntimeError, "DefaultCPUAllocator: can't allocate memory", F.adaptive_avg_pool1d, x, 2**40)


def test_finfo_iinfo_pow_and_as_tensor_arguments():
    _raises(TypeError, "finfo(): argument 'type' (position 1) must be torch.dtype, not Tensor",
            torch.finfo, torch.ones(1))
    _raises(TypeError, "iinfo(): argument 'type' (position 1) must be torch.dtype, not str", torch.iinfo, "a")
    _raises(TypeError, "pow() received an invalid combination of arguments - got (int, int)", torch.pow, 2, 3)
    assert torch.pow(2, torch.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]
    with pytest.raises(TypeError):
        torch.as_tensor([1, 2], torch.float64)  # dtype is keyword-only, as in PyTorch
    assert torch.as_tensor([1, 2], dtype=torch.float64).dtype == torch.float64


def test_values_and_dtypes_pytorch_refuses_are_refused():
    x = torch.ones(2, 3)
    _raises(RuntimeError, "meshgrid expects a non-empty TensorList", torch.meshgrid)
    _raises(RuntimeError, "torch.meshgrid: Expected 0D or 1D tensor in the tensor list", torch.meshgrid, x)
    _raises(RuntimeError, "uniform_ expects to return a [from, to) range, but found from=99 > to=1", x.uniform_, 99)
    _raises(RuntimeError, "exponential_ expects lambda > 0.0, but found lambda=-1", x.exponential_, -1)
    _raises(RuntimeError, "random_ expects 'from' to be less than 'to', but got from=0 >= to=-99", x.random_, -99)
    _raises(RuntimeError, "Lower bound should be less than or equal to the upper bound", F.rrelu, x, 99)
    ints = torch.ones(2, 3, dtype=torch.int64)
    _raises(NotImplementedError, "\"normal_kernel_cpu\" not implemented for 'Long'", ints.normal_)
    _raises(NotImplementedError, "\"check_uniform_bounds\" not implemented for 'Long'", ints.uniform_)
    _raises(RuntimeError, "dtype must be a floating point but you specified Long", ints.exponential_)
    _raises(NotImplementedError, "\"bernoulli_tensor_cpu_p_\" not implemented for 'Bool'", torch.bernoulli,
            ints.bool())
    _raises(RuntimeError, "weight should have at least three dimensions", F.conv_transpose1d, torch.ones(0, 0),
            torch.ones(0, 0))


def test_bools_and_missing_arguments_are_checked_as_pytorch_does():
    x = torch.ones(2, 3)
    _raises(TypeError, "argument 'sorted' (position 2) must be bool, not int", torch.unique, x, 99)
    _raises(TypeError, "dropout(): argument 'train' (position 3) must be bool, not int", F.dropout, x, 0, 99)
    _raises(TypeError, "set_grad_enabled(): argument 'enabled' (position 1) must be bool, not str",
            torch.set_grad_enabled, "a")
    _raises(TypeError, "must be bool, not int", torch.use_deterministic_algorithms, 1)
    _raises(TypeError, "must be bool, not NoneType", torch.set_anomaly_enabled, None)
    _raises(TypeError, "new_zeros() missing 1 required positional arguments: \"size\"", x.new_zeros)
    _raises(TypeError, "where() received an invalid combination of arguments", torch.where, x, None)
    _raises(TypeError, "finfo(): argument 'type' (position 1) must be torch.dtype, not NoneType", torch.finfo, None)
    _raises(TypeError, "pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type float "
            "at pos 0", F.pad, x, (1.5, 1))
    assert torch.finfo().dtype == "float32"
    assert torch.set_grad_enabled(True) is not None


def test_a_warning_still_points_at_the_caller_through_the_parser():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.softmax(torch.ones(2, 3))  # implicit dim
        F.upsample(torch.ones(1, 1, 2), scale_factor=2)
    assert [w.filename for w in caught] == [__file__, __file__]


def test_repeat_and_tile_own_their_memory():
    # a 0-d or one-element input repeated was once a stride-0 view: writing
    # one repeat changed them all
    for t in (torch.tensor(1.0).repeat(3), torch.tensor([1.0]).repeat(3), torch.tensor([1.0]).tile((3,)),
              torch.tensor([[1.0], [1.0]]).repeat(1, 3)):
        flat = t.view(-1)
        flat[0] = 5.0
        assert flat.tolist() == [5.0] + [1.0] * (t.numel() - 1)


def test_review_findings_stay_fixed():
    import numpy as np

    x = torch.ones(2, 3)
    # a 0-d integer tensor is an int, as in PyTorch's parser
    assert torch.tril(x, torch.tensor(1)).tolist() == [[1, 1, 0], [1, 1, 1]]
    assert F.softmax(x, torch.tensor(1)).shape == (2, 3)
    # random_'s overloads: (), (to), (from, to), (from, None), (to=...)
    y = torch.zeros(2000)
    assert y.random_(to=10).max().item() <= 9
    assert y.random_(5, None).min().item() >= 5
    assert torch.zeros(50, dtype=torch.int64).random_(0, None).max().item() > 2**40
    assert sorted(set(y.random_(2, 4).tolist())) == [2.0, 3.0]
    # a wrong argument raises before dropout writes into its input
    z = torch.ones(3)
    with pytest.raises(TypeError, match="argument 'train' \\(position 3\\) must be bool"):
        F.dropout(z, 0.5, "yes", True)
    assert z.tolist() == [1.0, 1.0, 1.0]
    # flags PyTorch only tests for truth in Python take any value
    assert F.max_pool1d(torch.ones(1, 1, 4), 2, return_indices=1)[1].shape == (1, 1, 2)
    assert F.dropout(x, 0.5, False, 0) is x
    # NumPy scalars where numbers go; ints as unsized int lists are refused
    assert torch.allclose(x.norm(p=np.float64(3)), x.norm(p=3))
    assert torch.allclose(torch.linalg.vector_norm(x, ord=np.int64(3)), x.norm(p=3))
    _raises(TypeError, "tile(): argument 'dims' (position 2) must be tuple of ints, not int", torch.tile, x, 2)
    _raises(TypeError, "expected Tensor as element 1 in argument 0, but got str", torch.hstack, [x, "a"])
    with pytest.raises(TypeError, match="argument 'sorted' \\(position 2\\) must be bool"):
        torch.unique(x, np.bool_(True))  # PyTorch refuses NumPy's bools too

    def takes_kwargs(a, **kw: "int"):
        return a

    with pytest.raises(TypeError, match="cannot be annotated"):
        parsed(takes_kwargs)


def test_methods_take_sizes_spread_out_where_pytorch_does():
    x = torch.ones(3)
    assert x.tile(2).shape == (6,) and x.tile(2, 1).shape == (2, 3) and x.tile((2,)).shape == (6,)
    assert x.broadcast_to(2, 3).shape == (2, 3) and x.broadcast_to((2, 3)).shape == (2, 3)
    _raises(TypeError, "must be tuple of ints, not int", torch.tile, x, 2)  # the function form: one sequence


def test_what_a_user_trial_found():
    import numpy as np

    # a NumPy integer keeps its kind: int64, as PyTorch infers
    assert torch.arange(np.int64(4)).dtype == torch.int64
    assert torch.arange(np.int32(1), np.int32(4)).tolist() == [1, 2, 3]
    assert torch.full((2,), np.int64(3)).dtype == torch.int64
    assert torch.full((2,), np.float32(1.5)).dtype == torch.float32
    # torch.Size arithmetic stays a Size
    s = torch.Size([2, 3])
    assert type(s + (5,)) is torch.Size and type((1,) + s) is torch.Size and type(s * 2) is torch.Size
    assert s + (5,) == (2, 3, 5) and (1,) + s == (1, 2, 3)
    # manual_seed returns the default generator
    assert torch.manual_seed(0) is torch.default_generator
