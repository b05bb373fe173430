"""Bad input gives the Python exception PyTorch raises (type and, where it is
part of the contract, the message) -- never a crash."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rustgrad as rg
from conftest import hsettings, run_python, shapes


def _bce(m, *args, **kwargs):
    return m.nn.functional.binary_cross_entropy_with_logits(*args, **kwargs)


def _setitem(m, x, index, value):
    x[index] = value


def _set_grad(x, g):
    x.grad = g


def _bool(x):
    return bool(x)


# (id, fn(m), exception type, regex the rustgrad message must match (None: any),
#  compare the message with torch's exactly)
CASES = [
    # broadcasting
    ("add_broadcast", lambda m: m.ones(3) + m.ones(4), RuntimeError,
     r"^The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 0$", True),
    ("mul_broadcast_2d", lambda m: m.ones(2, 3) * m.ones(4, 3), RuntimeError,
     r"^The size of tensor a \(2\) must match the size of tensor b \(4\) at non-singleton dimension 0$", True),
    ("sub_broadcast_inner", lambda m: m.ones(2, 3) - m.ones(2, 2), RuntimeError,
     r"at non-singleton dimension 1$", True),
    ("inplace_broadcast_output", lambda m: m.ones(2, 3).add_(m.ones(3, 2, 3)), RuntimeError,
     r"^output with shape \[2, 3\] doesn't match the broadcast shape \[3, 2, 3\]$", True),
    ("inplace_int_float", lambda m: m.tensor([1, 2]).add_(1.5), RuntimeError,
     r"^result type Float can't be cast to the desired output type Long$", True),
    ("inplace_bool_int", lambda m: m.tensor([True]).add_(1), RuntimeError,
     r"^result type Long can't be cast to the desired output type Bool$", True),
    # matmul
    ("mm_shapes", lambda m: m.ones(2, 3) @ m.ones(4, 5), RuntimeError,
     r"^mm: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)$", True),
    ("dot_shapes", lambda m: m.ones(3) @ m.ones(4), RuntimeError,
     r"^inconsistent tensor size, expected tensor \[3\] and src \[4\] to have the same number of elements, "
     r"but got 3 and 4 elements respectively$", True),
    ("mv_shapes", lambda m: m.ones(2, 3) @ m.ones(4), RuntimeError,
     r"^size mismatch, got input \(2\), mat \(2x3\), vec \(4\)$", True),
    ("vm_shapes", lambda m: m.ones(3) @ m.ones(4, 5), RuntimeError,
     r"^mm: mat1 and mat2 shapes cannot be multiplied \(1x3 and 4x5\)$", True),
    ("bmm_inner", lambda m: m.ones(2, 2, 3) @ m.ones(2, 4, 5), RuntimeError, None, True),
    ("bmm_broadcast_batch", lambda m: m.ones(2, 2, 3) @ m.ones(3, 3, 5), RuntimeError,
     r"^The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton dimension 0$", True),
    ("matmul_0d", lambda m: m.ones(()) @ m.ones(3), RuntimeError,
     r"^both arguments to matmul need to be at least 1D, but they are 0D and 1D$", True),
    ("matmul_dtype_mismatch", lambda m: m.ones(2, 2) @ m.ones(2, 2, dtype=m.float64), RuntimeError,
     r"^expected m1 and m2 to have the same dtype", False),
    ("matmul_not_tensor", lambda m: m.ones(2) @ 3, TypeError, None, False),
    # dims
    ("sum_dim_range", lambda m: m.ones(2, 3).sum(2), IndexError,
     r"^Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)$", True),
    ("sum_dim_range_neg", lambda m: m.ones(2, 3).sum(-3), IndexError,
     r"^Dimension out of range \(expected to be in range of \[-2, 1\], but got -3\)$", True),
    ("mean_dim_range", lambda m: m.ones(2, 3).mean((0, 5)), IndexError, r"but got 5\)$", True),
    ("norm_dim_range", lambda m: m.ones(2, 3).norm(dim=2), IndexError, r"but got 2\)$", True),
    ("sum_dup_dims", lambda m: m.ones(2, 3).sum((0, 0)), RuntimeError,
     r"^dim 0 appears multiple times in the list of dims$", True),
    ("sum_dup_dims_neg", lambda m: m.ones(2, 3).sum((1, -1)), RuntimeError,
     r"^dim 1 appears multiple times in the list of dims$", True),
    ("transpose_dim", lambda m: m.ones(2, 3).transpose(0, 2), IndexError, r"but got 2\)$", True),
    ("t_3d", lambda m: m.ones(2, 3, 4).t(), RuntimeError,
     r"^t\(\) expects a tensor with <= 2 dimensions, but self is 3D$", True),
    ("squeeze_dim", lambda m: m.ones(2, 3).squeeze(3), IndexError, r"but got 3\)$", True),
    ("unsqueeze_dim", lambda m: m.ones(2, 3).unsqueeze(3), IndexError,
     r"^Dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)$", True),
    ("size_dim", lambda m: m.ones(2, 3).size(2), IndexError, r"but got 2\)$", True),
    ("len_0d", lambda m: len(m.ones(())), TypeError, r"^len\(\) of a 0-d tensor$", True),
    # indexing
    ("index_oob", lambda m: m.ones(2, 3)[2], IndexError,
     r"^index 2 is out of bounds for dimension 0 with size 2$", True),
    ("index_oob_neg", lambda m: m.ones(2, 3)[:, -4], IndexError,
     r"^index -4 is out of bounds for dimension 1 with size 3$", True),
    ("too_many_indices", lambda m: m.ones(2, 3)[0, 0, 0], IndexError,
     r"^too many indices for tensor of dimension 2$", True),
    ("negative_step", lambda m: m.ones(3)[::-1], ValueError, r"^step must be greater than zero$", True),
    ("zero_step", lambda m: m.ones(3)[::0], ValueError, None, False),
    ("float_index", lambda m: m.ones(3)[1.5], IndexError, None, False),
    ("setitem_shape", lambda m: _setitem(m, m.ones(2, 3), 0, m.ones(5)), RuntimeError,
     r"^The expanded size of the tensor \(3\) must match the existing size \(5\) at non-singleton dimension 0\.",
     True),
    # views
    ("view_noncontig", lambda m: m.ones(2, 2).t().view(4), RuntimeError,
     r"^view size is not compatible with input tensor's size and stride \(at least one dimension spans across "
     r"two contiguous subspaces\)\. Use \.reshape\(\.\.\.\) instead\.$", True),
    ("view_size", lambda m: m.ones(2, 2).view(3), RuntimeError,
     r"^shape '\[3\]' is invalid for input of size 4$", True),
    ("reshape_size", lambda m: m.ones(2, 3).reshape(-1, 4), RuntimeError,
     r"^shape '\[-1, 4\]' is invalid for input of size 6$", True),
    ("reshape_two_infer", lambda m: m.ones(4).reshape(2, -1, -1), RuntimeError,
     r"^only one dimension can be inferred$", True),
    ("reshape_negative", lambda m: m.ones(4).reshape(-2, 2), RuntimeError, r"^invalid shape dimension -2", True),
    ("expand_size", lambda m: m.ones(1, 3).expand(2, 4), RuntimeError,
     r"^The expanded size of the tensor \(4\) must match the existing size \(3\) at non-singleton dimension 1\.  "
     r"Target sizes: \[2, 4\]\.  Tensor sizes: \[1, 3\]$", True),
    ("expand_too_few", lambda m: m.ones(1, 3).expand(3), RuntimeError,
     r"the number of sizes provided \(1\) must be greater or equal to the number of dimensions in the tensor \(2\)",
     True),
    ("expand_leading_minus_one", lambda m: m.ones(1, 3).expand(-1, 2, 3), RuntimeError,
     r"^The expanded size of the tensor \(-1\) isn't allowed in a leading, non-existing dimension 0$", True),
    # scalars / conversion
    ("item_multi", lambda m: m.ones(2).item(), RuntimeError,
     r"^a Tensor with 2 elements cannot be converted to Scalar$", True),
    ("item_empty", lambda m: m.ones(0).item(), RuntimeError,
     r"^a Tensor with 0 elements cannot be converted to Scalar$", True),
    ("float_multi", lambda m: float(m.ones(2)), ValueError,
     r"^only one element tensors can be converted to Python scalars$", True),
    ("int_multi", lambda m: int(m.ones(2)), ValueError,
     r"^only one element tensors can be converted to Python scalars$", True),
    ("bool_multi", lambda m: _bool(m.ones(2)), RuntimeError,
     r"^Boolean value of Tensor with more than one value is ambiguous$", True),
    ("bool_empty", lambda m: _bool(m.ones(0)), RuntimeError,
     r"^Boolean value of Tensor with no values is ambiguous$", True),
    ("index_float_tensor", lambda m: range(m.tensor(2.5)), TypeError,
     r"^only integer tensors of a single element can be converted to an index$", True),
    ("numpy_requires_grad", lambda m: m.ones(2, requires_grad=True).numpy(), RuntimeError,
     r"^Can't call numpy\(\) on Tensor that requires grad\. Use tensor\.detach\(\)\.numpy\(\) instead\.$", True),
    # dtypes
    ("requires_grad_int_kwarg", lambda m: m.tensor([1, 2], requires_grad=True), RuntimeError,
     r"^Only Tensors of floating point and complex dtype can require gradients$", False),
    ("requires_grad_int_attr", lambda m: setattr(m.tensor([1, 2]), "requires_grad", True), RuntimeError,
     r"^only Tensors of floating point and complex dtype can require gradients$", False),
    ("requires_grad_int_method", lambda m: m.zeros(2, dtype=m.int64).requires_grad_(), RuntimeError,
     r"^only Tensors of floating point dtype can require gradients$", False),
    ("requires_grad_bool", lambda m: m.ones(2, dtype=m.bool, requires_grad=True), RuntimeError,
     r"^Only Tensors of floating point and complex dtype can require gradients$", False),
    ("int_pow_negative", lambda m: m.tensor([1, 2, 3]) ** -1, RuntimeError,
     r"^Integers to negative integer powers are not allowed\.$", True),
    ("neg_bool", lambda m: -m.tensor([True, False]), NotImplementedError,
     r"^Negation, the `-` operator, on a bool tensor is not supported\.", True),
    ("sub_bool", lambda m: m.tensor([True]) - m.tensor([True]), NotImplementedError,
     r"^Subtraction, the `-` operator, with two bool tensors is not supported\.", True),
    ("mean_int", lambda m: m.tensor([1, 2]).mean(), NotImplementedError,
     r"^mean\(\): could not infer output dtype\. Input dtype must be either a floating point or complex dtype\. "
     r"Got: Long$", True),
    ("norm_int", lambda m: m.tensor([1, 2]).norm(), NotImplementedError,
     r"^linalg\.vector_norm: Expected a floating point or complex tensor as input\. Got Long$", True),
    ("matmul_bool", lambda m: m.ones(2, 2, dtype=m.bool) @ m.ones(2, 2, dtype=m.bool), NotImplementedError,
     r"not implemented for 'Bool'$", True),
    ("dtype_string", lambda m: m.ones(2, dtype="float32"), TypeError, None, False),
    ("sum_dtype_string", lambda m: m.ones(2).sum(dtype="float"), TypeError, None, False),
    ("masked_fill_float_mask", lambda m: m.ones(2, 3).masked_fill(m.ones(2, 3), 0.0), RuntimeError,
     r"^masked_fill_ only supports boolean masks, but got mask with dtype float$", True),
    ("masked_fill_shape", lambda m: m.ones(2, 3).masked_fill(m.ones(4, 3, dtype=m.bool), 0.0), RuntimeError,
     r"^The size of tensor a \(4\) must match the size of tensor b \(2\) at non-singleton dimension 0$", True),
    ("fill_multi", lambda m: m.ones(2).fill_(m.ones(2)), RuntimeError,
     r"^fill_ only supports 0-dimension value tensor but got tensor with 1 dimensions\.$", True),
    # operands of the wrong type
    ("add_str", lambda m: m.ones(2) + "a", TypeError, None, False),
    ("radd_list", lambda m: None + m.ones(2), TypeError, None, False),
    ("pow_str", lambda m: m.ones(2).pow("a"), TypeError, None, False),
    ("add_alpha_str", lambda m: m.ones(2).add(m.ones(2), alpha="a"), TypeError, None, False),
    ("grad_list", lambda m: _set_grad(m.ones(2, requires_grad=True), [1.0, 2.0]), TypeError,
     r"^assigned grad expected to be a Tensor or None", False),
    ("grad_size", lambda m: _set_grad(m.ones(2, requires_grad=True), m.ones(3)), RuntimeError, None, True),
    ("grad_dtype", lambda m: _set_grad(m.ones(2, requires_grad=True), m.ones(2, dtype=m.float64)),
     RuntimeError, None, False),
    # factories
    ("zeros_negative", lambda m: m.zeros(-1), RuntimeError, None, False),
    ("randn_negative", lambda m: m.randn(-1), RuntimeError, None, False),
    ("eye_negative", lambda m: m.eye(-1), RuntimeError, r"^n must be greater or equal to 0, got -1$", True),
    ("ones_float_size", lambda m: m.ones(2.5), TypeError, None, False),
    ("ones_str_size", lambda m: m.ones("a"), TypeError, None, False),
    ("full_str", lambda m: m.full((2,), "a"), TypeError, None, False),
    ("arange_zero_step", lambda m: m.arange(0, 10, 0), RuntimeError, r"^step must be nonzero$", True),
    ("arange_wrong_sign", lambda m: m.arange(10, 0, 1), RuntimeError,
     r"^upper bound and (larger|lower) bound inconsistent with step sign$", True),
    ("linspace_negative", lambda m: m.linspace(0, 1, -1), RuntimeError,
     r"^number of steps must be non-negative$", True),
    ("randint_bounds", lambda m: m.randint(5, 3, (2,)), RuntimeError,
     r"^random_ expects 'from' to be less than 'to', but got from=5 >= to=3$", True),
    ("tensor_ragged", lambda m: m.tensor([[1, 2], [3]]), ValueError,
     r"^expected sequence of length 2 at dim 1 \(got 1\)$", True),
    ("tensor_object", lambda m: m.tensor([object()]), (TypeError, RuntimeError), None, False),
    # devices
    ("cuda_tensor", lambda m: m.tensor([1.0], device="cuda"), RuntimeError, None, False),
    ("cuda_zeros", lambda m: m.zeros(2, device="cuda"), RuntimeError, None, False),
    ("cuda_index", lambda m: m.zeros(2, device="cuda:0"), RuntimeError, None, False),
    ("cuda_to", lambda m: m.zeros(2).to("cuda"), RuntimeError, None, False),
    ("cuda_method", lambda m: m.zeros(2).cuda(), RuntimeError, None, False),
    ("bad_device", lambda m: m.zeros(2, device="tpu"), RuntimeError,
     r"^Expected one of cpu, cuda.* device type at start of device string: tpu$", False),
    # loss
    ("bce_reduction", lambda m: _bce(m, m.zeros(2), m.zeros(2), reduction="avg"), ValueError,
     r"^avg is not a valid value for reduction$", True),
    ("bce_target_size", lambda m: _bce(m, m.zeros(2), m.zeros(3)), ValueError,
     r"^Target size \(torch\.Size\(\[3\]\)\) must be the same as input size \(torch\.Size\(\[2\]\)\)$", True),
    ("bce_weight_shape", lambda m: _bce(m, m.zeros(2), m.zeros(2), weight=m.ones(3)), RuntimeError,
     r"must match the size of tensor", True),
    ("bce_int_target", lambda m: _bce(m, m.zeros(2), m.zeros(2, dtype=m.int64)), RuntimeError,
     r"^result type Float can't be cast to the desired output type Long$", True),
    # autograd
    ("backward_no_grad_fn", lambda m: m.ones(2).sum().backward(), RuntimeError,
     r"^element 0 of tensors does not require grad and does not have a grad_fn$", True),
    ("backward_implicit", lambda m: (m.ones(2, requires_grad=True) * 2).backward(), RuntimeError,
     r"^grad can be implicitly created only for scalar outputs$", True),
    ("backward_grad_shape", lambda m: (m.ones(2, requires_grad=True) * 2).backward(m.ones(3)), RuntimeError,
     r"^Mismatch in shape: grad_output\[0\] has a shape of torch\.Size\(\[3\]\) and output\[0\] has a shape of "
     r"torch\.Size\(\[2\]\)\.$", True),
    ("backward_empty_inputs", lambda m: (m.ones(2, requires_grad=True) * 2).sum().backward(inputs=[]),
     RuntimeError, r"inputs.? argument to .?backward\(\).? cannot be empty\.$", True),
    ("leaf_inplace", lambda m: m.ones(2, requires_grad=True).mul_(2), RuntimeError,
     r"^a leaf Variable that requires grad is being used in an in-place operation\.$", True),
    ("leaf_setitem", lambda m: _setitem(m, m.ones(2, requires_grad=True), 0, 1.0), RuntimeError,
     r"a leaf Variable that requires grad is being used in an in-place operation\.$", False),
    ("non_leaf_requires_grad_false", lambda m: setattr(m.ones(2, requires_grad=True) * 2, "requires_grad", False),
     RuntimeError, r"^you can only change requires_grad flags of leaf variables\.", True),
]

IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_error_type_and_message(case):
    _, fn, exc, pattern, _ = case
    with pytest.raises(exc) as e:
        fn(rg)
    if pattern is not None:
        assert re.search(pattern, str(e.value)), f"message {str(e.value)!r} does not match {pattern!r}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_error_matches_torch(torch, case):
    name, fn, _, _, same_message = case
    if name.startswith(("cuda", "requires_grad_int", "requires_grad_bool")) and torch.cuda.is_available():
        pytest.skip("torch has CUDA here")
    try:
        fn(torch)
    except Exception as e:  # noqa: BLE001
        t_type, t_msg = type(e), str(e)
    else:
        pytest.fail("torch did not raise (the case table is wrong)")
    with pytest.raises(Exception) as e:
        fn(rg)
    assert type(e.value).__name__ == t_type.__name__, (
        f"rustgrad raised {type(e.value).__name__}({e.value}), torch raised {t_type.__name__}({t_msg})")
    if same_message:
        assert str(e.value) == t_msg


# ---------------------------------------------------------------------------
# inputs that used to crash the interpreter: each runs in its own process
# ---------------------------------------------------------------------------

CRASHERS = {
    "tensor_list_of_str": "rg.tensor(['a'])",
    "tensor_str": "rg.tensor('a')",
    "tensor_list_of_strs": "rg.tensor(['ab', 'cd'])",
    "setitem_str": "x = rg.ones(2, 3); x[0] = 'a'",
    "tensor_bytes": "rg.tensor([b'a'])",
    "tensor_nested_str": "rg.tensor([[1.0, 2.0], ['a', 'b']])",
    "tensor_dict": "rg.tensor({'a': 1})",
    "tensor_self_referencing_list": "l = []; l.append(l); rg.tensor(l)",
    "deeply_nested_list": "import functools; rg.tensor(functools.reduce(lambda a, _: [a], range(100000), 1.0))",
}


@pytest.mark.parametrize("name", list(CRASHERS))
def test_bad_data_raises_instead_of_crashing(name):
    code = f"""
import rustgrad as rg
try:
    {CRASHERS[name]}
except (TypeError, ValueError, RuntimeError, RecursionError) as e:
    print("RAISED", type(e).__name__)
else:
    print("NO ERROR")
"""
    r = run_python(code, timeout=60)
    assert r.returncode == 0, f"interpreter crashed (return code {r.returncode}): {r.stderr[-1500:]}"
    assert "RAISED" in r.stdout, f"no exception was raised: {r.stdout!r}"


def test_bad_data_errors_match_torch_types(torch):
    mismatches = []
    for code in ("tensor(['a'])", "tensor('a')", "tensor([b'a'])", "tensor({'a': 1})"):
        try:
            eval("torch." + code, {"torch": torch})
        except Exception as e:  # noqa: BLE001
            expected = type(e).__name__
        else:
            expected = None
        r = run_python(f"""
import rustgrad as rg
try:
    rg.{code}
except Exception as e:
    print("RAISED", type(e).__name__)
else:
    print("RAISED None")
""")
        if r.returncode != 0:
            mismatches.append(f"{code}: interpreter crashed ({r.returncode}); torch raised {expected}")
        elif f"RAISED {expected}" not in r.stdout:
            mismatches.append(f"{code}: torch raised {expected}, rustgrad: {r.stdout.strip()}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 3, 2), (2, 0, 3), (0, 0)])
@pytest.mark.parametrize("transposed", [False, True])
def test_reshape_and_view_of_empty_tensors(shape, transposed):
    # PyTorch reshapes and views any tensor with no elements to shape (0,)
    x = rg.ones(shape)
    if transposed:
        x = x.transpose(0, -1)
    for f in (lambda: x.reshape(-1), lambda: x.view(-1), lambda: x.flatten(), lambda: x.reshape(0)):
        try:
            out = f()
        except BaseException as e:  # noqa: BLE001
            pytest.fail(f"{type(e).__name__}: {e}")
        assert out.numel() == 0 and out.shape[0] == 0


# ---------------------------------------------------------------------------
# random shape combinations: either both libraries succeed with the same
# shape, or both raise the same exception type
# ---------------------------------------------------------------------------

OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "matmul": lambda a, b: a @ b,
    "masked_fill": lambda a, b: a.masked_fill(b > 0, 1.0),
    "bce": lambda a, b: _bce_generic(a, b),
    "expand": lambda a, b: a.expand(tuple(b.shape)),
    "view": lambda a, b: a.view(tuple(b.shape)),
    "reshape": lambda a, b: a.reshape(tuple(b.shape)),
    "transposed_reshape": lambda a, b: a.transpose(0, -1).reshape(tuple(b.shape)),
    "transposed_view": lambda a, b: a.transpose(0, -1).view(tuple(b.shape)),
    "inplace_add": lambda a, b: a.add_(b),
}


def _bce_generic(a, b):
    mod = rg if isinstance(a, rg.Tensor) else __import__("torch")
    return mod.nn.functional.binary_cross_entropy_with_logits(a, b.sigmoid())


@pytest.mark.parametrize("op", list(OPS))
@hsettings(40)
@given(sa=shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
       sb=shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
def test_random_shapes_error_or_result_like_torch(torch, op, sa, sb):
    fn = OPS[op]
    out = []
    for m in (rg, torch):
        a = m.ones(sa)
        b = m.ones(sb)
        try:
            r = fn(a, b)
        except BaseException as e:  # noqa: BLE001  (a Rust panic is a BaseException)
            out.append(("error", type(e).__name__))
        else:
            out.append(("ok", tuple(r.shape)))
    assert out[0] == out[1], f"{op}{sa, sb}: rustgrad {out[0]}, torch {out[1]}"


FUZZ_SCRIPT = r"""
import random, itertools
import rustgrad as rg
random.seed(0)
allowed = (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError)
def rshape():
    return tuple(random.randint(0, 3) for _ in range(random.randint(0, 3)))
def rtensor():
    dt = random.choice([rg.float32, rg.float64, rg.int64, rg.bool])
    t = rg.ones(rshape(), dtype=dt)
    if random.random() < 0.3 and t.ndim >= 2:
        t = t.transpose(0, 1)
    return t
def rdim():
    return random.choice([-4, -3, -2, -1, 0, 1, 2, 3, (0, 1), (0, 0), (), None])
ops = [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
    lambda a, b: a ** b, lambda a, b: a @ b, lambda a, b: a < b, lambda a, b: a.masked_fill(b, 1.0),
    lambda a, b: a.sum(rdim()), lambda a, b: a.mean(rdim(), keepdim=True), lambda a, b: a.norm(dim=rdim()),
    lambda a, b: a.transpose(random.randint(-3, 3), random.randint(-3, 3)), lambda a, b: a.t(),
    lambda a, b: a.reshape(rshape()), lambda a, b: a.view(rshape()), lambda a, b: a.expand(*rshape()),
    lambda a, b: a.squeeze(random.randint(-4, 4)), lambda a, b: a.unsqueeze(random.randint(-4, 4)),
    lambda a, b: a[random.randint(-4, 4)], lambda a, b: a[..., random.randint(-4, 4)],
    lambda a, b: a[:, random.randint(-4, 4):random.randint(-4, 4)], lambda a, b: a.add_(b),
    lambda a, b: a.mul_(b), lambda a, b: a.item(), lambda a, b: a.tolist(), lambda a, b: a.numpy(),
    lambda a, b: a.sin(), lambda a, b: a.sqrt(), lambda a, b: a.relu(), lambda a, b: -a,
    lambda a, b: a.requires_grad_(), lambda a, b: (a.double().requires_grad_() * b).sum().backward(),
    lambda a, b: rg.nn.functional.binary_cross_entropy_with_logits(a, b),
    lambda a, b: a.to(random.choice([rg.float32, rg.float64, rg.int64, rg.bool])), lambda a, b: repr(a),
    lambda a, b: bool(a), lambda a, b: float(a), lambda a, b: a.clone().contiguous(),
]
counts = {"ok": 0, "err": 0}
unexpected = {}
for i in range(4000):
    a, b = rtensor(), rtensor()
    k = random.randrange(len(ops))
    try:
        ops[k](a, b)
        counts["ok"] += 1
    except allowed:
        counts["err"] += 1
    except BaseException as e:   # e.g. a Rust panic surfacing as PanicException
        key = (k, type(e).__name__, str(e)[:80])
        unexpected.setdefault(key, f"op #{k} on {tuple(a.shape)} {a.dtype} strides {a.stride()}, "
                                   f"{tuple(b.shape)} {b.dtype}")
for (k, name, msg), example in unexpected.items():
    print("UNEXPECTED", name, repr(msg), "e.g.", example)
print("DONE", counts, "unexpected:", len(unexpected))
"""


def test_fuzz_random_ops_never_crash():
    r = run_python(FUZZ_SCRIPT, timeout=300)
    assert r.returncode == 0, f"fuzzing crashed or raised an unexpected exception type " \
                              f"(return code {r.returncode}):\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"
    assert "DONE" in r.stdout
    assert "UNEXPECTED" not in r.stdout, r.stdout[-3000:]


def test_set_default_device():
    rg.set_default_device("cpu")
    assert rg.get_default_device() == rg.device("cpu")
    with pytest.raises(RuntimeError):
        rg.set_default_device("cuda")
    assert rg.get_default_device() == rg.device("cpu")
    assert rg.zeros(2).device == rg.device("cpu")
    assert rg.cuda.is_available() is False
    assert rg.cuda.device_count() == 0
    assert np.array_equal(rg.zeros(2, device="cpu").numpy(), np.zeros(2, np.float32))
    assert rg.zeros(2, device=rg.device("cpu")).device.type == "cpu"
