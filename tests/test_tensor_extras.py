"""The conveniences training scripts use beside the ops: ``new_*``
factories, ``reshape_as``, ``isclose``/``allclose``, the accelerator
switches that must be settable on a CPU machine, and a clear error for
PyTorch's own checkpoint files."""

import io
import warnings

import numpy as np
import pytest

import rustgrad as rg
from conftest import REFERENCE


@pytest.mark.parametrize("make, args", [("new_zeros", ((2, 3),)), ("new_zeros", (2, 3)), ("new_ones", ([4],)),
                                        ("new_empty", (0, 2)), ("new_full", ((2,), 7))])
def test_new_factories_take_the_dtype_of_self(make, args):
    x = rg.ones(1, dtype=rg.float64)
    out = getattr(x, make)(*args)
    assert out.dtype == rg.float64 and not out.requires_grad and out.is_leaf
    if make != "new_empty":
        want = {"new_zeros": 0, "new_ones": 1, "new_full": 7}[make]
        assert (out == want).all()
    assert getattr(x, make)(*args, dtype=rg.int32, requires_grad=False).dtype == rg.int32


def test_new_tensor_copies_with_self_dtype_and_warns_for_a_tensor():
    x = rg.zeros(1, dtype=rg.float64)
    assert x.new_tensor([1, 2]).dtype == rg.float64
    src = rg.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        copy = x.new_tensor(src)
    assert not copy.requires_grad and copy.data_ptr() != src.data_ptr()
    assert x.new_ones(2, requires_grad=True).requires_grad


def test_reshape_as():
    assert rg.arange(6).reshape_as(rg.zeros(2, 3)).shape == (2, 3)


@pytest.mark.parametrize("a, b, kw", [
    ([1.0, 2.0, float("inf"), float("nan"), -float("inf")], [1.0 + 1e-6, 2.1, float("inf"), float("nan"), float("inf")], {}),
    ([1.0, float("nan")], [1.0, float("nan")], {"equal_nan": True}),
    ([1.0, 100.0], [1.01, 101.0], {"rtol": 0.02}),
    ([0.0, 1e-9], [1e-9, 0.0], {"atol": 0.0, "rtol": 0.0}),
])
def test_isclose_follows_pytorchs_formula(a, b, kw):
    got = rg.isclose(rg.tensor(a), rg.tensor(b), **kw).tolist()
    want = np.isclose(a, b, rtol=kw.get("rtol", 1e-5), atol=kw.get("atol", 1e-8), equal_nan=kw.get("equal_nan", False))
    assert got == want.tolist()
    assert rg.allclose(rg.tensor(a), rg.tensor(b), **kw) == bool(want.all())
    assert rg.tensor(a).allclose(rg.tensor(b), **kw) == bool(want.all())


def test_isclose_on_integers_and_its_errors():
    assert rg.isclose(rg.tensor([1, 2]), rg.tensor([1, 3])).tolist() == [True, False]
    with pytest.raises(RuntimeError, match="Float did not match Long"):
        rg.isclose(rg.tensor([1.0]), rg.tensor([1]))
    with pytest.raises(RuntimeError, match="rtol must be greater than or equal to zero, but got -1"):
        rg.isclose(rg.tensor([1.0]), rg.tensor([1.0]), rtol=-1)
    with pytest.raises(TypeError, match="must be Tensor, not float"):
        rg.isclose(rg.tensor([1.0]), 1.0)


def test_seeding_and_backend_switches_run_on_a_cpu_machine():
    rg.cuda.manual_seed(0)
    rg.cuda.manual_seed_all(0)
    rg.backends.cudnn.benchmark = False
    rg.backends.cudnn.deterministic = True
    assert not rg.backends.mps.is_available()
    rg.use_deterministic_algorithms(True)
    assert rg.are_deterministic_algorithms_enabled()
    rg.use_deterministic_algorithms(False)
    assert rg.is_floating_point(rg.ones(1)) and not rg.is_floating_point(rg.ones(1, dtype=rg.int64))


@pytest.mark.skipif(REFERENCE is not None, reason="rustgrad's checkpoint format")
def test_loading_a_pytorch_pickle_checkpoint_says_how_to_convert_it(torch):
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)
    buf.seek(0)
    with pytest.raises(RuntimeError, match="PyTorch pickle checkpoint.*safetensors"):
        rg.load(buf)
