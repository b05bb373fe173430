"""Zero-copy NumPy and DLPack interop (issue 6): ``torch.from_numpy``,
``Tensor.numpy``, ``as_tensor``, ``asarray``, ``__dlpack__`` /
``from_dlpack``. Sharing is checked by writing through one side and
reading the other; lifetimes by the lender's reference count and by using
the memory after the other side is gone."""

import gc
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rustgrad as rg
from conftest import REFERENCE, hsettings, run_python

NUMPY_DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def one_of(dtype):
    return np.array(True) if dtype == "bool" else np.array(7, dtype=dtype)


# ---------------------------------------------------------------------------
# from_numpy and numpy()
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_from_numpy_shares_memory_both_ways(dtype):
    a = np.zeros((2, 3), dtype=dtype)
    t = rg.from_numpy(a)
    assert str(t.dtype) == f"torch.{dtype}" and tuple(t.shape) == (2, 3)
    a[0, 1] = one_of(dtype)
    assert t[0, 1].item() == one_of(dtype).item()
    t[1, 2] = one_of(dtype).item()
    assert a[1, 2] == one_of(dtype)


@hsettings(30)
@given(data=st.data())
def test_from_numpy_keeps_shape_and_strides_of_views(data):
    base = data.draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
                                elements=st.floats(-1e3, 1e3)))
    index = data.draw(hnp.basic_indices(base.shape, allow_newaxis=True, allow_ellipsis=True))
    view = base[index]
    if not isinstance(view, np.ndarray) or any(s < 0 for s in view.strides):
        return  # a NumPy scalar, or negative strides (rejected as in PyTorch, tested below)
    t = rg.from_numpy(view)
    assert tuple(t.shape) == view.shape
    assert t.stride() == tuple(s // 8 for s in view.strides)
    np.testing.assert_array_equal(t.numpy(), view)
    if view.size:
        view[...] = -view  # written through NumPy, seen by the tensor
        np.testing.assert_array_equal(np.array(t.tolist()), view)


def test_from_numpy_zero_dim_and_empty():
    a = np.array(3.5)
    t = rg.from_numpy(a)
    assert t.shape == () and t.item() == 3.5
    a[()] = 1.0
    assert t.item() == 1.0
    e = rg.from_numpy(np.zeros((2, 0, 3), dtype=np.float32))
    assert tuple(e.shape) == (2, 0, 3) and e.numel() == 0


def test_from_numpy_errors():
    with pytest.raises(TypeError, match=r"expected np.ndarray \(got list\)"):
        rg.from_numpy([1, 2])
    with pytest.raises(ValueError, match="At least one stride in the given numpy array is negative"):
        rg.from_numpy(np.arange(3)[::-1])
    with pytest.raises(ValueError, match="byte order different from the native byte order"):
        rg.from_numpy(np.arange(3, dtype=">i8" if sys.byteorder == "little" else "<i8"))
    with pytest.raises(ValueError, match="strides not a multiple of the element byte size"):
        rg.from_numpy(np.zeros(4, dtype=[("a", "i1"), ("b", "f8")])["b"])


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch has uint16")
def test_from_numpy_unsupported_dtype():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.uint16"):
        rg.from_numpy(np.arange(3, dtype=np.uint16))


def test_from_numpy_read_only_warns_once_and_shares():
    out = run_python("""
        import warnings, numpy as np, rustgrad as torch
        a = np.arange(3.0); a.flags.writeable = False
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            t = torch.from_numpy(a); torch.from_numpy(a)
        print(len(w), w[0].category.__name__, "not writable" in str(w[0].message), t.data_ptr() == a.ctypes.data)
    """)
    assert out.stdout.split() == ["1", "UserWarning", "True", "True"]


def test_unaligned_array_is_copied_correctly():
    raw = bytearray(8 * 3 + 1)
    a = np.frombuffer(raw, dtype=np.float64, offset=1, count=3)  # misaligned for float64
    a[:] = [1.5, -2.0, 3.0]
    t = rg.from_numpy(a)
    np.testing.assert_array_equal(t.numpy(), a)


def test_from_numpy_keeps_the_array_alive_and_releases_it():
    a = np.arange(6.0)
    before = sys.getrefcount(a)
    t = rg.from_numpy(a)
    assert sys.getrefcount(a) > before
    del t
    gc.collect()
    assert sys.getrefcount(a) == before
    t = rg.from_numpy(np.arange(4.0) * 2)  # the tensor holds the only reference
    gc.collect()
    assert t.tolist() == [0.0, 2.0, 4.0, 6.0]


def test_numpy_shares_and_outlives_the_tensor_and_data_assignment():
    t = rg.arange(4.0)
    n = t.numpy()
    n[0] = 9
    assert t[0].item() == 9
    t.data = rg.zeros(2)  # the tensor moves to other storage; the array keeps the old one
    del t
    gc.collect()
    np.testing.assert_array_equal(n, [9, 1, 2, 3])


def test_numpy_of_a_from_numpy_tensor_is_the_same_memory():
    a = np.arange(6.0).reshape(2, 3)
    b = rg.from_numpy(a).t().numpy()
    b[2, 1] = -1
    assert a[1, 2] == -1


def test_autograd_on_shared_memory():
    a = np.array([1.0, 2.0, 3.0])
    x = rg.from_numpy(a).requires_grad_()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    with rg.no_grad():
        x.mul_(2)
    np.testing.assert_array_equal(a, [2.0, 4.0, 6.0])


# ---------------------------------------------------------------------------
# as_tensor and asarray
# ---------------------------------------------------------------------------


def test_as_tensor():
    a = np.arange(3.0)
    t = rg.as_tensor(a)
    a[0] = 5
    assert t[0].item() == 5
    c = rg.as_tensor(a, dtype=rg.float32)  # another dtype: a copy
    a[1] = 6
    assert c.dtype == rg.float32 and c[1].item() == 1
    x = rg.ones(2)
    assert rg.as_tensor(x) is x and rg.as_tensor(x, dtype=rg.float32) is x
    assert rg.as_tensor(x, dtype=rg.float64).dtype == rg.float64
    assert rg.as_tensor([1, 2], dtype=rg.float64).tolist() == [1.0, 2.0]
    assert rg.as_tensor(x, device="cpu") is x


def test_asarray_shares_unless_asked_to_copy():
    a = np.arange(3.0)
    t = rg.asarray(a)
    a[0] = 7
    assert t[0].item() == 7
    c = rg.asarray(a, copy=True)
    a[0] = 8
    assert c[0].item() == 7
    x = rg.ones(2)
    assert rg.asarray(x) is x
    y = rg.asarray(x, copy=True)
    assert y is not x and y.data_ptr() != x.data_ptr()
    assert rg.asarray(rg.ones(2, dtype=rg.int64), dtype=rg.float32).dtype == rg.float32
    assert rg.asarray([1, 2.5]).tolist() == [1.0, 2.5]
    assert rg.asarray(3.5).item() == 3.5 and rg.asarray(np.float32(2)).dtype == rg.float32
    assert rg.asarray(b"ab").tolist() == [97, 98] and rg.asarray(b"ab").dtype == rg.uint8
    buf = bytearray(b"\x01\x02")
    shared = rg.asarray(buf)
    buf[0] = 9
    assert shared.tolist() == [9, 2]


def test_asarray_copy_false_errors():
    with pytest.raises(ValueError, match="can't alias arbitrary sequence into a tensor."):
        rg.asarray([1, 2], copy=False)
    with pytest.raises(ValueError, match="can't alias tensor with dtype 'Long' into dtype 'Float'."):
        rg.asarray(np.arange(3), dtype=rg.float32, copy=False)
    with pytest.raises(RuntimeError, match="can't alias NumPy scalars"):
        rg.asarray(np.int64(3), copy=False)


def test_asarray_requires_grad():
    y = rg.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="unspecified requires_grad now defaults to obj.requires_grad"):
        assert rg.asarray(y) is y
    d = rg.asarray(y, dtype=rg.float64)  # converted with its history
    assert d.grad_fn is not None
    c = rg.asarray(y, copy=True, requires_grad=True)
    assert c.grad_fn is not None  # a differentiable copy (CloneBackward0)
    assert rg.asarray(y, dtype=rg.float64, requires_grad=False).grad_fn is None
    assert rg.asarray(y, requires_grad=False) is y and not y.requires_grad  # PyTorch sets the flag in place
    assert rg.asarray([1.0, 2.0], requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        rg.asarray([1, 2], requires_grad=True)


def test_asarray_and_as_tensor_reject_cuda_on_a_cpu_build():
    if rg.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(RuntimeError, match="CUDA|NVIDIA"):
        rg.asarray([1.0], device="cuda")
    with pytest.raises(RuntimeError, match="CUDA|NVIDIA"):
        rg.as_tensor(np.ones(2), device="cuda")


# ---------------------------------------------------------------------------
# DLPack
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_dlpack_round_trip_with_numpy_shares_memory(dtype):
    t = rg.zeros(2, 3, dtype=getattr(rg, dtype))
    n = np.from_dlpack(t)
    assert n.dtype == np.dtype(dtype) and n.shape == (2, 3)
    n[1, 0] = one_of(dtype)
    assert t[1, 0].item() == one_of(dtype).item()
    a = np.zeros((3, 2), dtype=dtype)
    back = rg.from_dlpack(a)
    assert str(back.dtype) == f"torch.{dtype}"
    back[2, 1] = one_of(dtype).item()
    assert a[2, 1] == one_of(dtype)


def test_dlpack_keeps_strides_and_views():
    t = rg.arange(12.0).reshape(3, 4)[:, 1::2]
    n = np.from_dlpack(t)
    assert n.strides == (16, 8)  # float32: 4 and 2 elements
    np.testing.assert_array_equal(n, t.numpy())
    a = np.arange(12.0).reshape(3, 4).T
    x = rg.from_dlpack(a)
    assert x.stride() == (1, 4)
    np.testing.assert_array_equal(x.numpy(), a)


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch rejects negative DLPack strides")
def test_dlpack_negative_strides_are_shared():
    a = np.arange(6, dtype=np.int16)
    x = rg.from_dlpack(a[::-2])
    assert x.tolist() == [5, 3, 1] and x.stride() == (-2,)
    a[5] = 50
    assert x[0].item() == 50


def test_dlpack_device_and_protocol_versions():
    t = rg.ones(2)
    assert tuple(t.__dlpack_device__()) == (1, 0)
    legacy = t.__dlpack__()
    assert "dltensor" in repr(legacy) and "versioned" not in repr(legacy)
    assert "dltensor_versioned" in repr(t.__dlpack__(max_version=(1, 0)))
    assert rg.from_dlpack(legacy).tolist() == [1.0, 1.0]
    with pytest.raises((BufferError, RuntimeError)):
        rg.from_dlpack(legacy)  # a capsule can be consumed once


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch takes only legacy capsules directly")
def test_from_dlpack_takes_a_versioned_capsule():
    assert rg.from_dlpack(rg.ones(2).__dlpack__(max_version=(1, 0))).tolist() == [1.0, 1.0]


def test_dlpack_export_errors():
    with pytest.raises(BufferError, match="Can't export tensors that require gradient, use tensor.detach()"):
        rg.ones(2, requires_grad=True).__dlpack__()
    assert rg.ones(2, requires_grad=True).detach().__dlpack__() is not None


def test_dlpack_copy_flag():
    t = rg.zeros(3)
    n = np.from_dlpack(t, copy=True)
    n[0] = 1
    assert t[0].item() == 0
    m = np.from_dlpack(t, copy=False)
    m[0] = 2
    assert t[0].item() == 2


def test_dlpack_import_keeps_producer_alive_and_releases_it():
    a = np.arange(5.0)
    before = sys.getrefcount(a)
    x = rg.from_dlpack(a)
    assert sys.getrefcount(a) > before
    del x
    gc.collect()
    assert sys.getrefcount(a) == before
    x = rg.from_dlpack(np.arange(3.0) + 1)  # only the tensor keeps it alive
    gc.collect()
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_unconsumed_capsule_releases_the_tensor():
    t = rg.arange(3.0)
    n = t.numpy()  # holds the storage too, so the check reads live memory
    capsule = t.__dlpack__()
    del capsule
    gc.collect()
    assert n.tolist() == [0.0, 1.0, 2.0]


def test_utils_dlpack():
    t = rg.arange(3.0)
    back = rg.utils.dlpack.from_dlpack(rg.utils.dlpack.to_dlpack(t))
    back[0] = 4
    assert t[0].item() == 4


def test_dlpack_with_pytorch(torch):
    t = rg.arange(6.0).reshape(2, 3)
    pt = torch.from_dlpack(t)
    pt[0, 0] = 100
    assert t[0, 0].item() == 100
    source = torch.arange(4, dtype=torch.int32)
    mine = rg.from_dlpack(source)
    mine[1] = -7
    assert source[1].item() == -7 and mine.dtype == rg.int32
    bf = rg.from_dlpack(torch.ones(2, dtype=torch.bfloat16))
    assert bf.dtype == rg.bfloat16 and bf.tolist() == [1.0, 1.0]
    back = torch.from_dlpack(rg.ones(2, dtype=rg.bfloat16))
    assert back.dtype == torch.bfloat16


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch has complex dtypes")
def test_from_dlpack_unsupported_dtype(torch):
    with pytest.raises(RuntimeError, match="Unsupported kComplex bits 64"):
        rg.from_dlpack(torch.ones(2, dtype=torch.complex64))


def test_numpy_values_as_indices():
    t = rg.arange(6.0)
    assert t[np.int64(2)].item() == 2.0
    assert t[np.array([0, 3])].tolist() == [0.0, 3.0]
    assert t[np.array([True, False] * 3)].tolist() == [0.0, 2.0, 4.0]
    t[np.array([1, 2])] = 9.0
    assert t.tolist()[:3] == [0.0, 9.0, 9.0]


def test_tensor_from_lists_of_arrays_and_one_element_tensors():
    x = rg.tensor([np.arange(2.0), np.ones(2)])
    assert x.dtype == rg.float64 and x.tolist() == [[0.0, 1.0], [1.0, 1.0]]
    assert rg.tensor([rg.tensor([1.0]), rg.tensor([2.0])]).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="only one element tensors"):
        rg.tensor([rg.ones(2), rg.ones(2)])


def test_np_asarray_shares_and_refuses_grad():
    t = rg.zeros(3)
    a = np.asarray(t)
    a[0] = 5
    assert t[0].item() == 5
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(rg.ones(2, requires_grad=True))
