"""Division with a rounding mode (``div``/``divide``/``true_divide`` and
their in-place forms), ``torch.where(condition)``, ``torch.equal``,
``Tensor.type``, the bit shifts (``bitwise_left_shift``,
``bitwise_right_shift``, ``<<``, ``>>`` and their reflected and in-place
forms), and the Python-composite fixes of ``nan_to_num``, ``nansum``,
``lerp`` and ``hypot``.

Most expected values are written out by hand (from PyTorch's kernels:
ATen's ``div_trunc`` / ``div_floor_floating``, ``lshift`` / ``rshift``), so
the file runs without PyTorch; the tests that take the ``torch`` fixture
compare with PyTorch itself and skip without it."""

import math

import numpy as np
import pytest

import rustgrad as rg
from conftest import REFERENCE, N, rand_array, raises_same

inf, nan = math.inf, math.nan
gradcheck, gradgradcheck = rg.autograd.gradcheck, rg.autograd.gradgradcheck
INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64")
BITS = {"uint8": 8, "int8": 8, "int16": 16, "int32": 32, "int64": 64}


def dt(name):
    return getattr(rg, name)


def t(values, dtype=None, **kw):
    return rg.tensor(values, dtype=None if dtype is None else dt(dtype), **kw)


def same_floats(actual, expected):
    """Element-wise equal, NaN matching NaN and the sign of a zero mattering."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    for a, e in zip(actual.ravel(), expected.ravel()):
        if math.isnan(e):
            assert math.isnan(a), (actual, expected)
        else:
            assert a == e and math.copysign(1, a) == math.copysign(1, e), (actual, expected)


def error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return type(e), str(e)
    return None


# ---------------------------------------------------------------------------
# div with rounding_mode: integers
# ---------------------------------------------------------------------------

A_INT, B_INT = [7, -7, 5, -5, 0, 6], [2, 2, -3, -3, 1, -3]
TRUNC_INT, FLOOR_INT = [3, -3, -1, 1, 0, -2], [3, -4, -2, 1, 0, -2]


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64"])
def test_integer_trunc_and_floor_stay_integer(dtype):
    a, b = t(A_INT, dtype), t(B_INT, dtype)
    trunc, floor = a.div(b, rounding_mode="trunc"), rg.div(a, b, rounding_mode="floor")
    assert trunc.dtype == floor.dtype == dt(dtype)
    assert trunc.tolist() == TRUNC_INT and floor.tolist() == FLOOR_INT
    assert floor.tolist() == (a // b).tolist()  # floor is floor_divide
    assert a.div(b).dtype == rg.float32  # no rounding mode: true division


def test_uint8_division():
    a, b = t([200, 7, 255, 0], "uint8"), t([3, 255, 2, 9], "uint8")
    assert a.div(b, rounding_mode="trunc").tolist() == [66, 0, 127, 0]
    assert a.div(b, rounding_mode="floor").tolist() == [66, 0, 127, 0]
    assert a.div(b, rounding_mode="trunc").dtype == rg.uint8


def test_narrow_integer_overflow_wraps():
    # -128 / -1 = 128 does not fit int8: it wraps to -128, as in PyTorch
    for mode in ("trunc", "floor"):
        assert t([-128], "int8").div(-1, rounding_mode=mode).tolist() == [-128]
        assert t([-32768], "int16").div(t([-1], "int16"), rounding_mode=mode).tolist() == [-32768]
    assert t([-2 ** 63]).div(-1, rounding_mode="floor").tolist() == [-2 ** 63]
    assert t([-2 ** 63, 7]).div(t([-1, -1]), rounding_mode="floor").tolist() == [-2 ** 63, -7]


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch's trunc division of int64/int32 min by -1 is SIGFPE")
def test_int64_min_trunc_by_minus_one_wraps():
    assert t([-2 ** 63, 9]).div(t([-1, -1]), rounding_mode="trunc").tolist() == [-2 ** 63, -9]
    assert t([-2 ** 31], "int32").div(-1, rounding_mode="trunc").tolist() == [-2 ** 31]


def test_number_operands_wrap_into_the_integer_dtype():
    a = t([5, 6, -7], "int8")
    assert a.div(300, rounding_mode="trunc").tolist() == [0, 0, 0]  # 300 -> 44 in int8
    assert a.div(300, rounding_mode="trunc").dtype == rg.int8
    assert a.div(-3, rounding_mode="trunc").tolist() == [-1, -2, 2]
    assert a.div(-3, rounding_mode="floor").tolist() == [-2, -2, 2]
    assert a.div(True, rounding_mode="floor").tolist() == [5, 6, -7]
    assert a.div(2.5, rounding_mode="trunc").dtype == rg.float32
    assert a.div(2.5, rounding_mode="trunc").tolist() == [2.0, 2.0, -2.0]
    # a number first: torch.div(number, tensor)
    r = rg.div(7, t([3, -3]), rounding_mode="trunc")
    assert r.dtype == rg.int64 and r.tolist() == [2, -2]
    assert rg.div(-7, t([2]), rounding_mode="floor").tolist() == [-4]
    assert rg.div(2, t([4.0])).tolist() == [0.5]
    # ints in [2**63, 2**64) read as unsigned 64-bit values: wrapped in an integer dtype, not in a float one
    assert t([-5]).div(2 ** 64 - 1, rounding_mode="trunc").tolist() == [5]
    assert t([1.0]).div(2 ** 63, rounding_mode="floor").tolist() == [0.0]
    assert error_of(lambda: t([1.0]).div(2 ** 64, rounding_mode="floor"))[0] is OverflowError


def test_integer_promotion():
    i32 = t([7, -7], "int32")
    assert i32.div(t(2), rounding_mode="trunc").dtype == rg.int32            # a 0-d int64 yields
    assert i32.div(t([2, 2]), rounding_mode="trunc").dtype == rg.int64       # a 1-D int64 does not
    assert i32.div(t(2.0), rounding_mode="trunc").dtype == rg.float32        # float beats int
    assert i32.div(2.0, rounding_mode="floor").tolist() == [3.0, -4.0]
    assert t([7]).div(t([2.0]), rounding_mode="trunc").tolist() == [3.0]
    assert t([7.5]).div(t([2]), rounding_mode="trunc").tolist() == [3.0]
    u, s = t([250], "uint8"), t([-3], "int8")
    r = u.div(s, rounding_mode="trunc")
    assert r.dtype == rg.int16 and r.tolist() == [-83]


def test_bool_operands():
    a, b = t([True, False]), t([True, True])
    for mode in ("trunc", "floor"):
        err = error_of(lambda: a.div(b, rounding_mode=mode))
        assert err == (NotImplementedError, f"\"div_{mode}_cpu\" not implemented for 'Bool'")
        err = error_of(lambda: a.div(True, rounding_mode=mode))
        assert err == (NotImplementedError, f"\"div_{mode}_cpu\" not implemented for 'Bool'")
    r = a.div(2, rounding_mode="floor")
    assert r.dtype == rg.int64 and r.tolist() == [0, 0]
    assert a.div(t([2, -2]), rounding_mode="floor").tolist() == [0, 0]
    assert t([True, True]).div(t([2, -2]), rounding_mode="floor").tolist() == [0, -1]
    assert a.div(b).dtype == rg.float32 and a.div(b).tolist() == [1.0, 0.0]


def test_integer_division_by_zero_raises():
    for mode in ("trunc", "floor"):
        assert error_of(lambda: t([1, 2]).div(t([1, 0]), rounding_mode=mode)) == (RuntimeError, "ZeroDivisionError")
        assert error_of(lambda: t([1], "uint8").div(0, rounding_mode=mode)) == (RuntimeError, "ZeroDivisionError")


# ---------------------------------------------------------------------------
# div with rounding_mode: floats
# ---------------------------------------------------------------------------

X = [7.0, -7.0, 0.0, -0.0, inf, -inf, nan, 5.0, 1.0, 7.5, -0.5]
Y = [2.0, 2.0, -3.0, 3.0, 2.0, 2.0, 1.0, 0.0, -0.0, -2.0, 3.0]
X_TRUNC_Y = [3.0, -3.0, -0.0, -0.0, inf, -inf, nan, inf, -inf, -3.0, -0.0]
X_FLOOR_Y = [3.0, -4.0, -0.0, -0.0, nan, nan, nan, inf, -inf, -4.0, -1.0]
Y_TRUNC_X = [0.0, -0.0, -inf, -inf, 0.0, -0.0, nan, 0.0, -0.0, -0.0, -6.0]
Y_FLOOR_X = [0.0, -1.0, -inf, -inf, 0.0, -1.0, nan, 0.0, -0.0, -1.0, -6.0]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_float_trunc_and_floor_with_special_values(dtype):
    x, y = t(X, dtype), t(Y, dtype)
    for got, want in ((x.div(y, rounding_mode="trunc"), X_TRUNC_Y), (x.div(y, rounding_mode="floor"), X_FLOOR_Y),
                      (y.div(x, rounding_mode="trunc"), Y_TRUNC_X), (y.div(x, rounding_mode="floor"), Y_FLOOR_X)):
        assert got.dtype == dt(dtype)
        same_floats(got.tolist(), want)


def test_float_division_by_a_number():
    x = t([7.0, -7.0, 0.5, -0.5, inf])
    same_floats(x.div(2, rounding_mode="trunc").tolist(), [3.0, -3.0, 0.0, -0.0, inf])
    same_floats(x.div(2, rounding_mode="floor").tolist(), [3.0, -4.0, 0.0, -1.0, nan])
    same_floats(x.div(0, rounding_mode="floor").tolist(), [inf, -inf, inf, -inf, inf])
    same_floats(x.div(-0.0, rounding_mode="trunc").tolist(), [-inf, inf, -inf, inf, -inf])
    same_floats(rg.div(1.0, t([-inf, inf]), rounding_mode="floor").tolist(), [-1.0, 0.0])


def test_reduced_float_divisor_of_one_element_rounds_once():
    # ATen's float16/bfloat16 kernels by a single-element divisor compute in
    # float32 and round once: 2047 / 1.0001 = 2046.795 truncates to 2046
    # (rounding the quotient to float16 first would give 2048)
    x = t([2047.0], "float16")
    assert x.div(1.0001, rounding_mode="trunc").tolist() == [2046.0]
    assert x.div(1.0001, rounding_mode="floor").tolist() == [2046.0]
    assert x.div(t(1.0001, "float64"), rounding_mode="trunc").tolist() == [2046.0]


def test_rounding_mode_errors():
    x = t([1.0, 2.0])
    assert error_of(lambda: x.div(2, rounding_mode="foo")) == (
        RuntimeError, "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'foo'")
    assert error_of(lambda: rg.div(x, x, rounding_mode="Floor"))[0] is RuntimeError
    assert error_of(lambda: x.div(2, rounding_mode=1))[0] is TypeError
    assert error_of(lambda: x.div(2, "floor"))[0] is TypeError  # keyword-only
    assert error_of(lambda: x.div("a", rounding_mode="floor"))[0] is TypeError
    assert error_of(lambda: rg.true_divide(x, 2, rounding_mode="floor"))[0] is TypeError
    for mode in (None, "trunc", "floor"):
        err = error_of(lambda: x.div(t([1.0, 2.0, 3.0]), rounding_mode=mode))
        assert err == (RuntimeError, "The size of tensor a (2) must match the size of tensor b (3) at non-singleton "
                                     "dimension 0")


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_broadcasting_zero_dim_and_empty(mode):
    a = t([[1.0], [-7.0]])
    b = t([2.0, -4.0, 3.0])
    assert tuple(a.div(b, rounding_mode=mode).shape) == (2, 3)
    assert tuple(t(7.0).div(t(2.0), rounding_mode=mode).shape) == ()
    assert tuple(t(7).div(2, rounding_mode=mode).shape) == ()
    assert tuple(t([]).div(t([]), rounding_mode=mode).shape) == (0,)
    assert tuple(rg.zeros(0, 3).div(b, rounding_mode=mode).shape) == (0, 3)
    assert tuple(rg.zeros(0, 3, dtype=rg.int64).div(t([1, 2, 3]), rounding_mode=mode or "trunc").shape) == (0, 3)
    if mode is not None:
        same_floats(a.div(b, rounding_mode=mode).tolist(),
                    {"trunc": [[0.0, -0.0, 0.0], [-3.0, 1.0, -2.0]],
                     "floor": [[0.0, -1.0, 0.0], [-4.0, 1.0, -3.0]]}[mode])


def test_divide_and_true_divide_aliases():
    a, b = t([7, -7]), t([2, 2])
    assert rg.divide(a, b, rounding_mode="floor").tolist() == [3, -4]
    assert a.divide(b, rounding_mode="trunc").tolist() == [3, -3]
    assert a.divide(b).tolist() == [3.5, -3.5]
    assert rg.true_divide(a, b).tolist() == [3.5, -3.5] and rg.true_divide(a, b).dtype == rg.float32
    assert a.true_divide(2).tolist() == [3.5, -3.5]


def test_in_place_forms():
    x = t([7, -7])
    assert x.div_(2, rounding_mode="floor") is x and x.tolist() == [3, -4] and x.dtype == rg.int64
    x = t([7, -7])
    assert x.divide_(t([2, 2]), rounding_mode="trunc").tolist() == [3, -3]
    x = t([7, -7])
    assert error_of(lambda: x.div_(2)) == (RuntimeError, "result type Float can't be cast to the desired output type "
                                                         "Long")
    assert error_of(lambda: x.div_(2.5, rounding_mode="floor"))[0] is RuntimeError
    assert x.tolist() == [7, -7]
    y = t([7.0, -7.0])
    assert y.divide_(2, rounding_mode="trunc").tolist() == [3.0, -3.0]
    assert y.true_divide_(2).tolist() == [1.5, -1.5]
    assert y.div_(t([0.5, 0.5])).tolist() == [3.0, -3.0]
    z = t([1.0, 2.0])
    assert error_of(lambda: z.div_(t([[1.0], [2.0]]), rounding_mode="floor"))[0] is RuntimeError
    leaf = t([1.0], requires_grad=True)
    assert error_of(lambda: leaf.div_(2, rounding_mode="floor"))[0] is RuntimeError


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_gradient_with_a_rounding_mode_is_zero(mode):
    a = t([[7.0, -7.0, 3.0]], "float64", requires_grad=True)
    b = t([[2.0], [0.0]], "float64", requires_grad=True)
    out = rg.div(a, b, rounding_mode=mode)
    assert out.requires_grad and out.dtype == rg.float64
    out.backward(t([[1.0, inf, nan], [2.0, 3.0, 4.0]], "float64"))
    assert a.grad.tolist() == [[0.0, 0.0, 0.0]] and b.grad.tolist() == [[0.0], [0.0]]
    c = t([1.0, 2.0], "float32", requires_grad=True)
    rg.div(c, t([3.0], "float64"), rounding_mode=mode).sum().backward()
    assert c.grad.dtype == rg.float32 and c.grad.tolist() == [0.0, 0.0]
    with rg.no_grad():
        assert not rg.div(c, 2, rounding_mode=mode).requires_grad
    assert not t([1, 2]).div(2, rounding_mode=mode).requires_grad


def test_gradient_without_a_rounding_mode():
    a = rg.tensor(rand_array(0, (2, 3)), requires_grad=True)
    b = rg.tensor(rand_array(1, (3,), low=0.5, high=2.0), requires_grad=True)
    assert gradcheck(lambda x, y: rg.div(x, y, rounding_mode=None), (a, b))
    assert gradcheck(lambda x, y: rg.divide(x, y), (a, b))
    assert gradgradcheck(lambda x, y: x.true_divide(y), (a, b))
    assert gradcheck(lambda x, y: rg.div(x, y, rounding_mode="floor"), (a, b))  # zero, and so is the numeric one


@pytest.mark.skipif(REFERENCE is not None, reason="rustgrad's own node name")
def test_grad_fn_name():
    out = rg.div(t([1.0], requires_grad=True), 2, rounding_mode="floor")
    assert type(out.grad_fn).__name__ == "DivBackward2"


# ---------------------------------------------------------------------------
# shifts
# ---------------------------------------------------------------------------


def shift_reference(value, amount, dtype, left):
    """ATen's lshift/rshift of one element, in Python integers."""
    bits = BITS[dtype]
    signed = dtype != "uint8"
    as_signed = amount - (1 << bits) if amount >= 1 << (bits - 1) else amount  # make_signed_t<T>(b)
    if left:
        if as_signed < 0 or amount >= bits:
            return 0
        out = (value << amount) & ((1 << bits) - 1)
    else:
        limit = bits - 1 if signed else bits
        if as_signed < 0 or amount >= limit:
            amount = limit
        out = (value >> amount) & ((1 << bits) - 1)
    return out - (1 << bits) if signed and out >= 1 << (bits - 1) else out


def wrap(v, dtype):
    bits = BITS[dtype]
    v &= (1 << bits) - 1
    return v - (1 << bits) if dtype != "uint8" and v >= 1 << (bits - 1) else v


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_shifts_by_every_kind_of_amount(dtype):
    bits = BITS[dtype]
    values = [wrap(v, dtype) for v in (0, 1, -1, 5, -5, 100, -100, 127, -128, 2 ** (bits - 2), 2 ** (bits - 1) - 1)]
    amounts = [wrap(s, dtype) for s in (0, 1, 2, bits - 2, bits - 1, bits, bits + 1, -1, -2, 100, -100, 200)]
    a, s = t(values, dtype).reshape(-1, 1), t(amounts, dtype).reshape(1, -1)
    left, right = a << s, a >> s
    assert left.dtype == right.dtype == dt(dtype) and tuple(left.shape) == (len(values), len(amounts))
    assert left.tolist() == [[shift_reference(v, k, dtype, True) for k in amounts] for v in values]
    assert right.tolist() == [[shift_reference(v, k, dtype, False) for k in amounts] for v in values]
    assert rg.bitwise_left_shift(a, s).tolist() == left.tolist()
    assert a.bitwise_right_shift(s).tolist() == right.tolist()


def test_shift_values_written_out():
    assert (t([1, 5, -5], "int8") << 7).tolist() == [-128, -128, -128]
    assert (t([100, 1], "int8") << t([1, 8], "int8")).tolist() == [-56, 0]
    assert (t([-5, -5, 5, -128], "int8") >> t([1, 100, 7, 7], "int8")).tolist() == [-3, -1, 0, -1]
    assert (t([5, -5], "int8") >> -1).tolist() == [0, -1]
    assert (t([255, 128, 200, 255, 255], "uint8") << t([1, 1, 0, 8, 200], "uint8")).tolist() == [254, 0, 200, 0, 0]
    assert (t([200, 255, 255], "uint8") >> t([3, 7, 8], "uint8")).tolist() == [25, 1, 0]
    assert (t([1, 1, -1, 2 ** 62]) << t([63, 64, 63, 1])).tolist() == [-2 ** 63, 0, -2 ** 63, -2 ** 63]
    assert (t([-1, 2 ** 62, -2 ** 63]) >> t([63, 62, 200])).tolist() == [-1, 1, -1]


def test_shift_number_operands():
    i8 = t([1, 2, 3], "int8")
    assert (1 << t([1, 2, 3])).tolist() == [2, 4, 8]
    r = 300 << i8  # 300 wraps to 44 in int8
    assert r.dtype == rg.int8 and r.tolist() == [88, -80, 96]
    assert (-300 >> i8).tolist() == [-22, -11, -6]
    assert (i8 << 300).tolist() == [0, 0, 0]
    assert (t([1]) << 2 ** 63).tolist() == [0]        # 2**63 reads as int64's -2**63: a negative shift
    assert ((2 ** 64 - 1) << i8).tolist() == [-2, -4, -8]
    assert error_of(lambda: t([1]) << 2 ** 64)[0] is OverflowError
    assert (t(3) << 2).tolist() == 12 and tuple((t(3) << 2).shape) == ()
    assert (2 << t(3)).tolist() == 16
    assert rg.bitwise_left_shift(2, t([1])).tolist() == [4]
    assert rg.bitwise_right_shift(t([-16]), other=2).tolist() == [-4]
    assert error_of(lambda: rg.bitwise_left_shift(2, 3))[0] is TypeError


def test_shift_promotion_and_dtypes():
    assert (t([1, 2, 3], "uint8") >> t([1], "int8")).dtype == rg.int16
    assert (t([-100], "int8") >> t([1], "uint8")).tolist() == [-50]
    assert (t([1, 2, 3], "int8") << t(7)).dtype == rg.int8
    r = t([1, 2, 3], "int8") << t([7])
    assert r.dtype == rg.int64 and r.tolist() == [128, 256, 384]
    r = t([True, False]) << 1
    assert r.dtype == rg.int64 and r.tolist() == [2, 0]
    assert (t([True]) << t([1], "int16")).dtype == rg.int16


@pytest.mark.parametrize("make, message", [
    (lambda: t([1.5]) << 2, "\"lshift_cpu\" not implemented for 'Float'"),
    (lambda: t([1.5]) >> 2, "\"rshift_cpu\" not implemented for 'Float'"),
    (lambda: t([1]) << 2.0, "\"lshift_cpu\" not implemented for 'Float'"),
    (lambda: 2.0 << t([1], "int8"), "\"lshift_cpu\" not implemented for 'Float'"),
    (lambda: rg.bitwise_left_shift(t([1]), t([1.0], "float64")), "\"lshift_cpu\" not implemented for 'Double'"),
    (lambda: t([1], "float16") << 1, "\"lshift_cpu\" not implemented for 'Half'"),
    (lambda: t([1], "bfloat16") >> 1, "\"rshift_cpu\" not implemented for 'BFloat16'"),
    (lambda: t([True]) << True, "\"lshift_cpu\" not implemented for 'Bool'"),
    (lambda: t([True]) >> t([True]), "\"rshift_cpu\" not implemented for 'Bool'"),
])
def test_shift_errors_for_float_and_bool(make, message):
    assert error_of(make) == (NotImplementedError, message)


def test_shift_other_errors():
    assert error_of(lambda: t([1, 2, 3]) << t([1, 2]))[0] is RuntimeError
    assert error_of(lambda: t([1]) << "a")[0] is TypeError
    assert error_of(lambda: "a" >> t([1]))[0] is TypeError
    assert error_of(lambda: t([1]).bitwise_left_shift("a"))[0] is TypeError


def test_shift_broadcasting_and_empty():
    assert (t([[1], [2]]) << t([0, 1, 2])).tolist() == [[1, 2, 4], [2, 4, 8]]
    assert tuple((rg.zeros(0, dtype=rg.int64) << t([1])).shape) == (0,)
    assert tuple((rg.zeros(2, 0, dtype=rg.int8) >> t(1, "int8")).shape) == (2, 0)
    assert (t([[8, 16]], "int16").T >> t([1, 2], "int16")).tolist() == [[4, 2], [8, 4]]


def test_shift_in_place():
    x = t([3])
    y = x
    y <<= 2
    assert y is x and x.tolist() == [12]
    x >>= 1
    assert x.tolist() == [6]
    z = t([3], "int8")
    assert z.bitwise_left_shift_(t([1])) is z and z.tolist() == [6] and z.dtype == rg.int8
    assert z.bitwise_right_shift_(1).tolist() == [3]
    assert error_of(lambda: t([1]).bitwise_left_shift_(t([[1], [2]])))[0] is RuntimeError


# ---------------------------------------------------------------------------
# where(condition), equal, type
# ---------------------------------------------------------------------------


def test_where_with_only_a_condition():
    cond = t([[True, False, True], [False, False, True]])
    rows, cols = rg.where(cond)
    assert rows.tolist() == [0, 0, 1] and cols.tolist() == [0, 2, 2] and rows.dtype == rg.int64
    (i,) = rg.where(t([0.0, 1.5, -0.0, nan]))
    assert i.tolist() == [1, 3]
    (i,) = rg.where(t([0, 3, 0, -1]))
    assert i.tolist() == [1, 3]
    assert [x.tolist() for x in rg.where(t(True))] == [[0]]
    assert [x.tolist() for x in rg.where(t(0.0))] == [[]]
    out = rg.where(rg.zeros(2, 0, 3, dtype=rg.bool))
    assert len(out) == 3 and all(tuple(x.shape) == (0,) for x in out)
    assert not rg.where(t([1.0, 0.0], requires_grad=True))[0].requires_grad
    assert rg.where(cond, 1.0, 0.0).tolist() == [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]  # three arguments as before
    assert error_of(lambda: rg.where(cond, t([1.0])))[0] is TypeError


def test_equal():
    assert rg.equal(t([1, 2]), t([1, 2])) is True
    assert rg.equal(t([1, 2]), t([1.0, 2.0])) is True          # compared after promotion
    assert rg.equal(t([1, 2]), t([1.5, 2.0])) is False
    assert rg.equal(t([1, 2], "int8"), t([1, 2])) is True
    assert rg.equal(t([True, False]), t([1, 0])) is True
    assert rg.equal(t([256]), t([0], "uint8")) is False
    assert rg.equal(t([0.1], "float64"), t([0.1])) is False
    assert rg.equal(t([0.0]), t([-0.0])) is True
    x = t([nan, 1.0])
    assert rg.equal(x, x) is False and rg.equal(x, x.clone()) is False
    assert rg.equal(t([1, 2]), t([[1, 2]])) is False             # no broadcasting
    assert rg.equal(t(1.0), t([1.0])) is False
    assert rg.equal(t([]), t([], "int64")) is True
    assert rg.equal(t([]), rg.zeros(1, 0)) is False
    assert rg.equal(t([1.0, 2.0]).expand(2, 2), t([[1.0, 2.0], [1.0, 2.0]])) is True
    assert t([1.0, 2.0], requires_grad=True).equal(t([1.0, 2.0])) is True
    assert error_of(lambda: rg.equal(t(1.0), 1.0)) == (
        TypeError, "equal(): argument 'other' (position 2) must be Tensor, not float")
    assert error_of(lambda: t([1.0]).equal(1.0)) == (
        TypeError, "equal(): argument 'other' (position 1) must be Tensor, not float")


TYPE_NAMES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "int64": "torch.LongTensor",
              "int32": "torch.IntTensor", "int16": "torch.ShortTensor", "int8": "torch.CharTensor",
              "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor", "float16": "torch.HalfTensor",
              "bfloat16": "torch.BFloat16Tensor"}


@pytest.mark.parametrize("dtype", sorted(TYPE_NAMES))
def test_type_names_and_conversions(dtype):
    x = t([1.0, 0.0]).to(dt(dtype))
    assert x.type() == TYPE_NAMES[dtype] and t(3.0).to(dt(dtype)).type() == TYPE_NAMES[dtype]
    assert x.type(None) == TYPE_NAMES[dtype]
    y = t([1.5, 0.0]).type(TYPE_NAMES[dtype])
    assert y.dtype == dt(dtype) and y.tolist() == t([1.5, 0.0]).to(dt(dtype)).tolist()
    assert t([1.5, 0.0]).type(dt(dtype)).dtype == dt(dtype)
    assert x.type(dt(dtype)) is x and x.type(TYPE_NAMES[dtype]) is x


def test_type_arguments_and_errors():
    x = t([1.0])
    assert x.type(dtype=rg.int64).tolist() == [1]
    assert x.type(rg.float64, True).dtype == rg.float64
    assert x.type(rg.float64, non_blocking=True).dtype == rg.float64
    assert error_of(lambda: x.type("torch.Foo")) == (ValueError, "invalid type: 'torch.Foo'")
    assert error_of(lambda: x.type("float64")) == (ValueError, "invalid type: 'float64'")
    assert error_of(lambda: x.type(5)) == (TypeError, "dtype must be a type, str, or dtype object")
    assert error_of(lambda: x.type(rg.float64, foo=1)) == (TypeError, "type() got an unexpected keyword argument "
                                                                      "'foo'")
    with pytest.raises((RuntimeError, AssertionError)):  # no CUDA here
        x.type("torch.cuda.FloatTensor")
    a = t([1.0, 2.0], requires_grad=True)
    (a.type(rg.float64) * 3).sum().backward()
    assert a.grad.tolist() == [3.0, 3.0] and a.grad.dtype == rg.float32


# ---------------------------------------------------------------------------
# nan_to_num, nansum, lerp, hypot
# ---------------------------------------------------------------------------


def test_nan_to_num_keeps_the_dtype():
    for values, dtype in (([1, 2], "int64"), ([True, False], "bool"), ([1, -2], "int8"), ([7], "uint8")):
        x = t(values, dtype)
        out = rg.nan_to_num(x, nan=1.5, posinf=10.0)
        assert out.dtype == x.dtype and out.tolist() == x.tolist() and out is not x
    special = [1.0, nan, inf, -inf]
    assert t(special, "float16").nan_to_num().tolist() == [1.0, 0.0, 65504.0, -65504.0]
    assert t(special, "bfloat16").nan_to_num().tolist() == [1.0, 0.0, 3.3895313892515355e38, -3.3895313892515355e38]
    assert t(special, "float64").nan_to_num().tolist() == [1.0, 0.0, 1.7976931348623157e308,
                                                           -1.7976931348623157e308]
    # a replacement out of range becomes inf, and is not replaced again
    assert t(special, "float16").nan_to_num(nan=1e5).tolist() == [1.0, inf, 65504.0, -65504.0]
    assert t(special).nan_to_num(nan=None, posinf=-1.0, neginf=2.0).tolist() == [1.0, 0.0, -1.0, 2.0]
    a = t(special, "float64", requires_grad=True)
    a.nan_to_num().sum().backward()
    assert a.grad.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_nansum_dtypes():
    assert rg.nansum(t([1, 2])).dtype == rg.int64 and rg.nansum(t([1, 2])).tolist() == 3
    assert rg.nansum(t([True, True, False])).tolist() == 2 and rg.nansum(t([True])).dtype == rg.int64
    assert rg.nansum(t([100, 100], "int8")).tolist() == 200
    out = rg.nansum(t([[1, 2]], "uint8"), 1)
    assert out.dtype == rg.int64 and out.tolist() == [3]
    assert rg.nansum(t([1.0, nan], "float16")).dtype == rg.float16
    assert rg.nansum(t([1.0, nan]), dtype=rg.float64).dtype == rg.float64
    assert t([[1.0, nan], [nan, nan]]).nansum(1, keepdim=True).tolist() == [[1.0], [0.0]]
    a = t([1.0, nan, 2.0], "float64", requires_grad=True)
    a.nansum().backward()
    assert a.grad.tolist() == [1.0, 0.0, 1.0]


LERP_START = [0.0, 1.0, inf, -inf, nan, 1.0, 2.0]
LERP_END = [inf, -inf, 1.0, inf, 1.0, nan, 3.0]
LERP_EXPECTED = {  # ATen: start + w (end - start) for |w| < 0.5, else end - (end - start)(1 - w)
    0.0: [nan, nan, nan, nan, nan, nan, 2.0],
    0.25: [inf, -inf, nan, nan, nan, nan, 2.25],
    0.5: [nan, nan, inf, nan, nan, nan, 2.5],
    1.0: [nan, nan, nan, nan, nan, nan, 3.0],
    1.5: [inf, -inf, -inf, inf, nan, nan, 3.5],
}


@pytest.mark.parametrize("weight", sorted(LERP_EXPECTED))
def test_lerp_with_infinite_ends(weight):
    same_floats(rg.lerp(t(LERP_START), t(LERP_END), weight).tolist(), LERP_EXPECTED[weight])
    same_floats(rg.lerp(t(LERP_START), t(LERP_END), t([weight] * 7)).tolist(), LERP_EXPECTED[weight])


def test_lerp_values_gradients_and_errors():
    assert rg.lerp(t([0.0, 1.0]), t([5.0, 3.0]), t([0.25, 0.75])).tolist() == [1.25, 2.5]
    assert rg.lerp(t([0.0, 1.0]), t([5.0, 3.0]), 2).tolist() == [10.0, 5.0]
    assert rg.lerp(t([0.0, 1.0], "float16"), t([5.0, 3.0], "float16"), 0.3).tolist() == [1.5, 1.599609375]
    x = t([inf, 2.0], requires_grad=True)
    y = t([3.0, inf], requires_grad=True)
    w = t([0.25, 0.75], requires_grad=True)
    rg.lerp(x, y, w).backward(t([1.0, 1.0]))
    assert x.grad.tolist() == [0.75, 0.25] and y.grad.tolist() == [0.25, 0.75] and w.grad.tolist() == [-inf, inf]
    a = rg.tensor(rand_array(2, (2, 3)), requires_grad=True)
    b = rg.tensor(rand_array(3, (3,)), requires_grad=True)
    c = rg.tensor(rand_array(4, (2, 1), low=0.0, high=1.0), requires_grad=True)
    assert gradcheck(rg.lerp, (a, b, c)) and gradgradcheck(rg.lerp, (a, b, c))
    assert gradcheck(lambda p, q: rg.lerp(p, q, 0.75), (a, b)) and gradcheck(lambda p, q: p.lerp(q, -0.3), (a, b))
    assert error_of(lambda: rg.lerp(t([0.0]), t([5.0], "float64"), 0.5)) == (
        RuntimeError, "expected dtype float for `end` but got dtype double")
    assert error_of(lambda: rg.lerp(t([0.0]), t([5.0]), t([0.5], "float64"))) == (
        RuntimeError, "expected dtype float for `weight` but got dtype double")
    assert error_of(lambda: rg.lerp(t([0, 1]), t([5, 3]), 0.5)) == (
        NotImplementedError, "\"lerp_kernel_scalar\" not implemented for 'Long'")
    assert error_of(lambda: rg.lerp(t([0.0, 1.0]), t([5.0, 3.0, 4.0]), 0.5))[0] is RuntimeError
    assert error_of(lambda: rg.lerp(t([0.0]), 5.0, 0.5))[0] is TypeError


def test_hypot_promotes_first_and_rejects_integers():
    assert rg.hypot(t([3.0, 4.0]), t([4, 3])).tolist() == [5.0, 5.0]
    assert rg.hypot(t([3.0, 4.0]), t([True, False])).tolist() == pytest.approx([math.sqrt(10), 4.0])
    r = rg.hypot(t([3.0, 4.0], "float16"), t([3.0, 4.0]))
    assert r.dtype == rg.float32 and r.tolist() == pytest.approx([math.sqrt(18), math.sqrt(32)])
    assert rg.hypot(t(3.0, "float64"), t([3.0, 4.0])).dtype == rg.float32
    assert rg.hypot(t(3.0), t([3.0, 4.0], "float16")).dtype == rg.float16
    assert error_of(lambda: rg.hypot(t([3, 4]), t([4, 3]))) == (
        NotImplementedError, "\"hypot_cpu\" not implemented for 'Long'")
    assert error_of(lambda: rg.hypot(t([True]), t([True, False]))) == (
        NotImplementedError, "\"hypot_cpu\" not implemented for 'Bool'")
    assert error_of(lambda: rg.hypot(t([3.0]), 2.0)) == (
        TypeError, "hypot(): argument 'other' (position 2) must be Tensor, not float")
    assert error_of(lambda: rg.hypot(t([3.0, 4.0]), t([3.0, 4.0, 5.0])))[0] is RuntimeError


def test_hypot_range_and_special_values():
    # squared, these over/underflow float32 (and float16): computed without that
    assert rg.hypot(t([3e30, 1e-30]), t([4e30, 1e-30])).tolist() == pytest.approx([5e30, math.sqrt(2) * 1e-30])
    assert rg.hypot(t([3e300, 3e-300], "float64"), t([4e300, 4e-300], "float64")).tolist() == pytest.approx(
        [5e300, 5e-300])
    assert rg.hypot(t([300.0], "float16"), t([300.0], "float16")).tolist() == [424.25]
    same_floats(rg.hypot(t([inf, nan, inf, nan, 0.0]), t([nan, inf, -inf, 1.0, -0.0])).tolist(),
                [inf, inf, inf, nan, 0.0])
    same_floats(rg.hypot(t([inf, nan, 0.0], "float64"), t([nan, -inf, 0.0], "float64")).tolist(), [inf, inf, 0.0])


def test_hypot_gradients():
    a = rg.tensor(rand_array(5, (2, 3)), requires_grad=True)
    b = rg.tensor(rand_array(6, (3,)), requires_grad=True)
    assert gradcheck(rg.hypot, (a, b)) and gradgradcheck(rg.hypot, (a, b))
    x, y = t([3.0, 0.0], requires_grad=True), t([4.0, 0.0], "float64", requires_grad=True)
    rg.hypot(x, y).sum().backward()
    assert x.grad.dtype == rg.float32 and y.grad.dtype == rg.float64
    assert x.grad[0].item() == pytest.approx(0.6) and math.isnan(x.grad[1].item())  # NaN at (0, 0), as PyTorch
    assert y.grad[0].item() == pytest.approx(0.8) and math.isnan(y.grad[1].item())


@pytest.mark.skipif(REFERENCE is not None, reason="checks rustgrad's own docstrings")
def test_docstrings():
    for f in (rg.div, rg.divide, rg.true_divide, rg.equal, rg.where, rg.bitwise_left_shift, rg.bitwise_right_shift,
              rg.nan_to_num, rg.nansum, rg.lerp, rg.hypot, rg.Tensor.type, rg.Tensor.equal, rg.Tensor.div_,
              rg.Tensor.divide_, rg.Tensor.true_divide_, rg.Tensor.bitwise_left_shift_,
              rg.Tensor.bitwise_right_shift_):
        assert (f.__doc__ or "").strip(), f


# ---------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------


def both(torch, make, *arrays, dtypes=None):
    """``make(module, *tensors)`` in rustgrad and PyTorch, tensors built from
    NumPy ``arrays`` (converted to ``dtypes``, names, when given)."""
    out = []
    for m in (rg, torch):
        ts = [m.tensor(a) for a in arrays]
        if dtypes is not None:
            ts = [x.to(getattr(m, d)) for x, d in zip(ts, dtypes)]
        out.append(make(m, *ts))
    return out


def assert_same(got, want):
    assert str(got.dtype) == str(want.dtype) and tuple(got.shape) == tuple(want.shape)
    same_floats(np.asarray(got.tolist(), dtype=np.float64), np.asarray(want.tolist(), dtype=np.float64))


def special_floats(seed, shape):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-30, 30, size=shape)
    pick = rng.random(shape) < 0.3
    a[pick] = rng.choice([0.0, -0.0, inf, -inf, nan, 1.0, -1.0, 2.5, 3.0], size=int(pick.sum()))
    return a


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
@pytest.mark.parametrize("seed", range(3))
def test_float_division_matches_pytorch(torch, dtype, mode, seed):
    a, b = special_floats(seed, (4, 5)), special_floats(seed + 100, (5,))
    got, want = both(torch, lambda m, x, y: m.div(x, y, rounding_mode=mode), a, b, dtypes=(dtype, dtype))
    assert_same(got, want)
    got, want = both(torch, lambda m, x: m.div(x, 1.7, rounding_mode=mode), a, dtypes=(dtype,))
    assert_same(got, want)
    got, want = both(torch, lambda m, x, y: m.div(x.T, y[2], rounding_mode=mode), a, b, dtypes=(dtype, dtype))
    assert_same(got, want)


@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("int8", "int8"), ("uint8", "uint8"), ("int16", "int32"),
                                    ("int32", "float32"), ("bool", "int64"), ("uint8", "int8")])
@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_integer_division_matches_pytorch(torch, dtypes, mode):
    rng = np.random.default_rng(7)
    a, b = rng.integers(-130, 130, size=(3, 6)), rng.integers(-9, 9, size=(6,))
    b[b == 0] = 3
    got, want = both(torch, lambda m, x, y: m.div(x, y, rounding_mode=mode), a, b, dtypes=dtypes)
    assert_same(got, want)
    got, want = both(torch, lambda m, x: m.div(x, -7, rounding_mode=mode), a, dtypes=dtypes[:1])
    assert_same(got, want)


@pytest.mark.parametrize("mode", ["trunc", "floor", "round"])
def test_division_errors_match_pytorch(torch, mode):
    for arrays, dtypes in ((([True], [False]), ("bool", "bool")), (([1, 2], [1, 0]), ("int64", "int64")),
                           (([1.0, 2.0], [1.0, 2.0, 3.0]), ("float32", "float32"))):
        got, want = raises_same(
            lambda: both(torch, lambda m, x, y: m.div(x, y, rounding_mode=mode), *arrays, dtypes=dtypes)[0],
            lambda: both(torch, lambda m, x, y: m.div(x, y, rounding_mode=mode), *arrays, dtypes=dtypes)[1])
        assert want[0] is not None and got == want


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_rounded_division_gradient_matches_pytorch(torch, mode):
    out = []
    for m in (rg, torch):
        a = m.tensor([[1.0, -2.5, 3.0]], dtype=m.float64, requires_grad=True)
        b = m.tensor([[2.0], [0.0]], requires_grad=True)
        m.div(a, b, rounding_mode=mode).backward(m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=m.float64))
        out.append((a.grad.tolist(), str(a.grad.dtype), b.grad.tolist(), str(b.grad.dtype)))
    assert out[0] == out[1]


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("amount_dtype", ["same", "int64", "uint8"])
def test_shifts_match_pytorch(torch, dtype, amount_dtype):
    rng = np.random.default_rng(BITS[dtype])
    a = rng.integers(-2 ** 40, 2 ** 40, size=(5, 1))
    s = np.concatenate([rng.integers(-3, BITS[dtype] + 3, size=8), [BITS[dtype], BITS[dtype] - 1, 200, -200]])
    dtypes = (dtype, dtype if amount_dtype == "same" else amount_dtype)
    for op in (lambda m, x, y: x << y, lambda m, x, y: x >> y, lambda m, x, y: m.bitwise_left_shift(y, x),
               lambda m, x, y: y.bitwise_right_shift(x)):
        got, want = both(torch, op, a, s, dtypes=dtypes)
        assert_same(got, want)
    for number in (3, -3, 300, 70, -70):
        for op in (lambda m, x: x << number, lambda m, x: x >> number, lambda m, x: number << x,
                   lambda m, x: number >> x):
            got, want = both(torch, op, s, dtypes=dtypes[1:])
            assert_same(got, want)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("dtypes", [("float32", "int64"), ("bool", "bool"), ("float16", "float16"),
                                    ("int64", "float64")])
def test_shift_errors_match_pytorch(torch, left, dtypes):
    make = (lambda m, x, y: x << y) if left else (lambda m, x, y: x >> y)
    got, want = raises_same(lambda: both(torch, make, [1], [1], dtypes=dtypes)[0],
                            lambda: both(torch, make, [1], [1], dtypes=dtypes)[1])
    assert want[0] is not None and got == want


def test_equal_type_and_where_match_pytorch(torch):
    pairs = [(([1, 2], "int64"), ([1.0, 2.0], "float32")), (([nan], "float32"), ([nan], "float32")),
             (([300], "int64"), ([44], "uint8")), (([1.0, 2.0], "float16"), ([1.0, 2.0], "bfloat16")),
             (([], "float32"), ([], "bool"))]
    for (a, da), (b, db) in pairs:
        got, want = both(torch, lambda m, x, y: m.equal(x, y), a, b, dtypes=(da, db))
        assert got is want
    for d in TYPE_NAMES:
        got, want = both(torch, lambda m, x: x.type(), [1.0], dtypes=(d,))
        assert got == want
    cond = np.array([[0.0, 1.0, nan], [2.0, 0.0, -0.0]])
    got, want = both(torch, lambda m, c: m.where(c), cond)
    assert [x.tolist() for x in got] == [x.tolist() for x in want]


def test_composite_fixes_match_pytorch(torch):
    for d in ("int64", "bool", "int8", "float16", "bfloat16", "float32"):
        values = [1.0, nan, inf, -inf, 0.0] if d.startswith(("float", "bfloat")) else [1.0, 3.0, -1.0, 0.0]
        got, want = both(torch, lambda m, x: m.nan_to_num(x, nan=2.0), values, dtypes=(d,))
        assert_same(got, want)
        values = [1.0, nan, 1.0, 0.0] if d.startswith(("float", "bfloat")) else [1.0, 3.0, 1.0, 0.0]
        got, want = both(torch, lambda m, x: m.nansum(x), values, dtypes=(d,))
        assert_same(got, want)
    for w in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, -0.5):
        got, want = both(torch, lambda m, x, y: m.lerp(x, y, w), LERP_START, LERP_END)
        assert_same(got, want)
    for da, db in (("float32", "float64"), ("float16", "bfloat16"), ("bfloat16", "bfloat16"), ("int64", "float16")):
        a, b = special_floats(11, (6,)), special_floats(12, (6,))
        if da == "int64":
            a = np.nan_to_num(a).astype(np.int64)
        got, want = both(torch, lambda m, x, y: m.hypot(x, y), a, b, dtypes=(da, db))
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_allclose(np.asarray(got.float().tolist()), np.asarray(want.float().tolist()), rtol=1e-2)
