"""Checkpoints (``rustgrad.save``/``load``): round trips of tensors, state
dicts and optimizer states, the safetensors layout other tools read,
atomic saving, and files that are truncated, corrupted or hostile."""

import copy
import io
import json
import os
import pickle
import struct

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn
from conftest import REFERENCE

pytestmark = pytest.mark.skipif(REFERENCE is not None, reason="rustgrad's own checkpoint format")


def roundtrip(obj):
    buf = io.BytesIO()
    rg.save(obj, buf)
    buf.seek(0)
    return rg.load(buf)


def same_tensor(a, b):
    return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad \
        and np.array_equal(a.detach().float().numpy(), b.detach().float().numpy(), equal_nan=True)


@pytest.mark.parametrize("dtype", [rg.float32, rg.float64, rg.float16, rg.bfloat16, rg.int64, rg.int32, rg.int16,
                                   rg.int8, rg.uint8, rg.bool])
def test_every_dtype_round_trips(dtype):
    t = (rg.randn(3, 4) * 50).to(dtype)
    assert same_tensor(roundtrip(t), t)


def test_views_scalars_and_empty_tensors_round_trip():
    base = rg.arange(12.0).reshape(3, 4)
    for t in (base.t(), base[:, 1], rg.tensor(2.5), rg.zeros(0, 3)):
        got = roundtrip(t)
        assert same_tensor(got, t.contiguous()) and got.is_contiguous()


def test_plain_values_and_containers_keep_their_types():
    obj = {"epoch": 3, "lr": 1e-3, "best": float("inf"), "nan": float("nan"), "name": "mlp", "none": None,
           "flag": True, "tuple": (1, (2, 3)), "list": [1, [2]], 7: "int key", "dtype": rg.float16,
           "size": rg.Size([2, 3]), "array": np.arange(4, dtype=np.int32)}
    got = roundtrip(obj)
    assert list(got) == list(obj)
    assert got["tuple"] == (1, (2, 3)) and isinstance(got["tuple"], tuple)
    assert got["best"] == float("inf") and np.isnan(got["nan"])
    assert got[7] == "int key" and got["dtype"] is rg.float16
    assert got["size"] == rg.Size([2, 3]) and type(got["size"]) is rg.Size
    assert isinstance(got["array"], np.ndarray) and got["array"].dtype == np.int32
    assert np.array_equal(got["array"], np.arange(4))


def test_a_tensor_saved_twice_loads_as_one_and_parameters_stay_parameters():
    w = nn.Parameter(rg.randn(2, 2))
    got = roundtrip({"a": w, "b": [w], "c": rg.ones(2, requires_grad=True)})
    assert got["a"] is got["b"][0]
    assert isinstance(got["a"], nn.Parameter) and got["a"].requires_grad
    assert got["c"].requires_grad and got["c"].is_leaf and type(got["c"]) is rg.Tensor


def test_model_and_optimizer_state_round_trip_through_a_path(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2), nn.BatchNorm1d(2))
    opt = rg.optim.Adam(model.parameters(), lr=0.01)
    model(rg.randn(5, 4)).sum().backward()
    opt.step()
    path = tmp_path / "ck.pt"
    rg.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 1}, path)
    ck = rg.load(path)
    fresh = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2), nn.BatchNorm1d(2))
    fresh.load_state_dict(ck["model"])
    for (k, a), (k2, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and same_tensor(a, b)
    opt2 = rg.optim.Adam(fresh.parameters(), lr=0.01)
    opt2.load_state_dict(ck["optim"])
    assert ck["epoch"] == 1
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    x = rg.randn(3, 4)
    for m, o in ((model, opt), (fresh, opt2)):
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


def test_a_missing_key_under_strict_loading_raises_pytorchs_error(tmp_path):
    model = nn.Linear(3, 2)
    state = model.state_dict()
    del state["bias"]
    rg.save(state, tmp_path / "w.pt")
    with pytest.raises(RuntimeError, match=r'Error\(s\) in loading state_dict for Linear:\n\tMissing key\(s\) in state_dict: "bias"'):
        nn.Linear(3, 2).load_state_dict(rg.load(tmp_path / "w.pt"))
    nn.Linear(3, 2).load_state_dict(rg.load(tmp_path / "w.pt"), strict=False)


def test_state_dict_files_are_plain_safetensors_for_other_tools(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    model = nn.Linear(3, 2)
    rg.save(model.state_dict(), tmp_path / "w.safetensors")
    other = safetensors_numpy.load_file(str(tmp_path / "w.safetensors"))
    assert sorted(other) == ["bias", "weight"]
    assert np.array_equal(other["weight"], model.weight.detach().numpy())
    # and files written by the safetensors tools load as a dict of tensors
    safetensors_numpy.save_file({"x": np.arange(6, dtype=np.float32).reshape(2, 3)}, str(tmp_path / "o.safetensors"))
    got = rg.load(tmp_path / "o.safetensors")
    assert list(got) == ["x"] and got["x"].tolist() == [[0, 1, 2], [3, 4, 5]]


def saved_bytes():
    buf = io.BytesIO()
    rg.save({"w": rg.randn(16, 16), "step": 3}, buf)
    return buf.getvalue()


@pytest.mark.parametrize("cut", [0, 4, 8, 20, -1, -100])
def test_a_truncated_file_raises(cut):
    data = saved_bytes()
    with pytest.raises(RuntimeError):
        rg.load(io.BytesIO(data[:cut]))


@pytest.mark.parametrize("where", ["data", "last", "header_json"])
def test_a_flipped_byte_is_detected(where):
    data = bytearray(saved_bytes())
    (header_len,) = struct.unpack("<Q", data[:8])
    pos = {"data": 8 + header_len + 5, "last": len(data) - 1, "header_json": 8 + header_len // 2}[where]
    data[pos] ^= 0x01
    with pytest.raises(RuntimeError):
        rg.load(io.BytesIO(bytes(data)))


def forged(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize("header, data", [
    ({"x": {"dtype": "F32", "shape": [1 << 40, 1 << 20], "data_offsets": [0, 16]}}, bytes(16)),
    ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)),
    ({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 60]}}, bytes(16)),
    ({"x": {"dtype": "Q99", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
    ({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)),
])
def test_hostile_headers_raise_without_allocating(header, data):
    with pytest.raises(RuntimeError):
        rg.load(io.BytesIO(forged(header, data)))


def test_a_huge_declared_header_length_raises():
    with pytest.raises(RuntimeError):
        rg.load(io.BytesIO(struct.pack("<Q", 1 << 62) + b"{}"))


def test_deep_nesting_in_the_structure_raises_a_clear_error():
    structure = "[" * 5000 + "]" * 5000
    blob = rg._core._safetensors_dumps([], {"rustgrad.structure": structure, "rustgrad.sha256": ""})
    import hashlib
    digest = hashlib.sha256(structure.encode()).hexdigest()
    blob = rg._core._safetensors_dumps([], {"rustgrad.structure": structure, "rustgrad.sha256": digest})
    with pytest.raises(RuntimeError, match="corrupted checkpoint"):
        rg.load(io.BytesIO(blob))


def test_unsupported_objects_are_refused_when_saving():
    with pytest.raises(TypeError, match="cannot save an object of type"):
        rg.save({"f": lambda x: x}, io.BytesIO())


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ck.pt"
    rg.save({"v": rg.ones(3)}, path)
    with pytest.raises(TypeError):
        rg.save({"v": rg.zeros(3), "bad": object()}, path)
    assert rg.load(path)["v"].tolist() == [1.0, 1.0, 1.0]
    assert os.listdir(tmp_path) == ["ck.pt"]


def test_tensors_deepcopy_and_pickle_like_pytorch():
    x = rg.randn(2, 3, requires_grad=True)
    x.grad = rg.ones(2, 3)
    y = copy.deepcopy(x)
    assert same_tensor(x, y) and y.data_ptr() != x.data_ptr() and same_tensor(y.grad, x.grad)
    z = pickle.loads(pickle.dumps(x))
    assert same_tensor(x, z)
    with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
        copy.deepcopy(x * 2)
    p = pickle.loads(pickle.dumps(nn.Parameter(rg.randn(3).double())))
    assert isinstance(p, nn.Parameter) and p.dtype == rg.float64


def test_tied_weights_are_written_once_and_load_as_one_tensor(tmp_path):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(64, 64), nn.Linear(64, 64)
            self.b.weight = self.a.weight

    rg.save(Tied().state_dict(), tmp_path / "tied.pt")
    rg.save(nn.Linear(64, 64).state_dict(), tmp_path / "one.pt")
    assert os.path.getsize(tmp_path / "tied.pt") < os.path.getsize(tmp_path / "one.pt") + 64 * 4 + 1024
    got = rg.load(tmp_path / "tied.pt")
    assert got["a.weight"] is got["b.weight"]
    Tied().load_state_dict(got)


def test_a_saved_file_has_the_permissions_of_a_new_file_and_links_are_followed(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    real, link = tmp_path / "real.pt", tmp_path / "link.pt"
    rg.save({"old": rg.ones(1)}, real)
    assert os.stat(real).st_mode & 0o777 == 0o666 & ~umask
    os.symlink(real, link)
    rg.save({"new": rg.ones(2)}, link)
    assert os.path.islink(link) and list(rg.load(real)) == ["new"]


def test_an_array_referenced_many_times_is_built_once():
    a = np.arange(1000.0)
    got = roundtrip({"x": [a] * 50})
    assert all(v is got["x"][0] for v in got["x"]) and np.array_equal(got["x"][0], a)


@pytest.mark.parametrize("shape", [[1] * 65, [0, 1 << 40, 1 << 40]])
def test_tensors_whose_shapes_no_tensor_can_have_are_refused(shape):
    with pytest.raises(RuntimeError):
        rg.load(io.BytesIO(forged({"x": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0 if 0 in shape else 4]}},
                                  bytes(0 if 0 in shape else 4))))
