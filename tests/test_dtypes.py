"""The narrow dtypes (uint8, int8, int16, int32, float16, bfloat16): storage,
PyTorch's promotion table, conversions that wrap, and kernels that compute
half floats in float32 and narrow integers in int64. Expected values are
PyTorch 2.x's."""

import numpy as np
import pytest

import rustgrad as rg

ALL = [rg.bool, rg.uint8, rg.int8, rg.int16, rg.int32, rg.int64, rg.float16, rg.bfloat16, rg.float32, rg.float64]
NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def test_dtype_objects_and_aliases():
    assert [str(d) for d in ALL] == ["torch." + n for n in NAMES]
    assert rg.half is rg.float16 and rg.short is rg.int16 and rg.int is rg.int32
    assert [d.itemsize for d in ALL] == [1, 1, 1, 2, 4, 8, 2, 2, 4, 8]
    assert [d.is_floating_point for d in ALL] == [False] * 6 + [True] * 4
    assert not rg.uint8.is_signed and rg.int8.is_signed and not rg.bool.is_signed


# PyTorch's promote_types over the table above (rows and columns in ALL's order).
PROMOTION = """
bool uint8 int8 int16 int32 int64 float16 bfloat16 float32 float64
uint8 uint8 int16 int16 int32 int64 float16 bfloat16 float32 float64
int8 int16 int8 int16 int32 int64 float16 bfloat16 float32 float64
int16 int16 int16 int16 int32 int64 float16 bfloat16 float32 float64
int32 int32 int32 int32 int32 int64 float16 bfloat16 float32 float64
int64 int64 int64 int64 int64 int64 float16 bfloat16 float32 float64
float16 float16 float16 float16 float16 float16 float16 float32 float32 float64
bfloat16 bfloat16 bfloat16 bfloat16 bfloat16 bfloat16 float32 bfloat16 float32 float64
float32 float32 float32 float32 float32 float32 float32 float32 float32 float64
float64 float64 float64 float64 float64 float64 float64 float64 float64 float64
"""


@pytest.mark.parametrize("i", range(len(ALL)))
def test_promotion_table(i):
    want = PROMOTION.split("\n")[i + 1].split()
    assert [str(rg.promote_types(ALL[i], b)).replace("torch.", "") for b in ALL] == want
    for b, w in zip(ALL, want):
        assert str((rg.ones(2, dtype=ALL[i]) + rg.ones(2, dtype=b)).dtype) == "torch." + w


def test_python_scalars_and_zero_dim_tensors_do_not_widen():
    i8 = rg.tensor([1, 2], dtype=rg.int8)
    assert (i8 + 1000).dtype == rg.int8
    assert (i8 + 1.5).dtype == rg.float32
    assert (i8 + rg.tensor(3)).dtype == rg.int8
    assert (rg.ones(2, dtype=rg.float16) * 0.1).dtype == rg.float16
    assert (rg.ones(2, dtype=rg.int32) + rg.tensor(1.0, dtype=rg.float64)).dtype == rg.float64


def test_integer_conversion_and_arithmetic_wrap():
    x = rg.tensor([300, -7, 5], dtype=rg.int16)
    assert x.to(rg.int8).tolist() == [44, -7, 5]
    assert x.to(rg.uint8).tolist() == [44, 249, 5]
    assert (x * 200).tolist() == [-5536, -1400, 1000]
    assert (x // 3).tolist() == [100, -3, 1]
    assert (x / 2).dtype == rg.float32
    assert x.sum().dtype == rg.int64 and x.sum().item() == 298
    assert x.cumsum(0).dtype == rg.int64
    assert (rg.tensor([200, 3], dtype=rg.uint8) * 2).tolist() == [144, 6]
    assert rg.tensor([-1], dtype=rg.uint8).tolist() == [255]
    assert rg.tensor([1.5, -2.5]).int().tolist() == [1, -2] and rg.tensor([1.5]).int().dtype == rg.int32
    assert rg.tensor([-1]).byte().tolist() == [255]


def test_half_floats_round_once():
    h = rg.tensor([0.1, 1 / 3, 65504, 1e-5], dtype=rg.float16)
    assert h.tolist() == [np.float16(v).item() for v in [0.1, 1 / 3, 65504, 1e-5]]
    assert (h * 2).tolist()[2] == float("inf")
    b = rg.tensor([0.1, 1 / 3], dtype=rg.bfloat16)
    assert b.tolist() == [0.10009765625, 0.333984375]
    a = rg.arange(6, dtype=rg.float16).reshape(2, 3)
    np.testing.assert_array_equal(a.softmax(1).numpy(), np.array([[0.0900, 0.2448, 0.6650]] * 2, dtype=np.float16))
    assert (a @ a.T).dtype == rg.float16 and (a @ a.T).tolist() == [[5.0, 14.0], [14.0, 50.0]]
    assert str(rg.tensor([0.1], dtype=rg.bfloat16)) == "tensor([0.1001], dtype=torch.bfloat16)"


def test_half_gradients():
    w = rg.tensor([1.0, 2.0, 3.0], dtype=rg.float16, requires_grad=True)
    (w * w).sum().backward()
    assert w.grad.dtype == rg.float16 and w.grad.tolist() == [2.0, 4.0, 6.0]


def test_numpy_round_trip_keeps_narrow_dtypes():
    for np_type, dt in [(np.int8, rg.int8), (np.uint8, rg.uint8), (np.int16, rg.int16), (np.int32, rg.int32), (np.float16, rg.float16)]:
        t = rg.tensor(np.array([1, 2], dtype=np_type))
        assert t.dtype == dt and t.numpy().dtype == np_type
    with pytest.raises(TypeError, match="BFloat16"):
        rg.zeros(2, dtype=rg.bfloat16).numpy()


def test_narrow_integer_tensors_index():
    t = rg.tensor([10, 20, 30])
    assert t[rg.tensor([2, 0], dtype=rg.int32)].tolist() == [30, 10]
    assert t[rg.tensor([1, 0, 1], dtype=rg.uint8)].tolist() == [10, 30]


def test_finfo_iinfo():
    assert rg.finfo(rg.float16).max == 65504.0 and rg.finfo(rg.bfloat16).eps == 0.0078125
    assert (rg.iinfo(rg.int8).min, rg.iinfo(rg.int8).max) == (-128, 127)
    assert (rg.iinfo(rg.uint8).min, rg.iinfo(rg.uint8).max) == (0, 255)
    assert rg.iinfo(rg.int32).bits == 32
    with pytest.raises(TypeError):
        rg.iinfo(rg.float16)
    with pytest.raises(TypeError):
        rg.finfo(rg.int32)


@pytest.mark.parametrize("make, message", [
    (lambda: rg.tensor([300], dtype=rg.int8), "type int8 without"),
    (lambda: rg.tensor(300, dtype=rg.uint8), "type uint8 without"),
    (lambda: rg.full((1,), 70000, dtype=rg.int16), "type int16_t without"),
    (lambda: rg.full((1,), 2 ** 40, dtype=rg.int32), "type int without"),
    (lambda: rg.zeros(1, dtype=rg.int8).fill_(300), "type int8_t without"),
])
def test_python_numbers_that_overflow_a_narrow_dtype_raise(make, message):
    with pytest.raises(RuntimeError, match=message):
        make()
