"""``rustgrad.load`` on truncated, corrupted and hostile files: each is
refused with a clear Python exception, within a bounded amount of memory,
and nothing in a file is ever executed.

``rustgrad.save`` writes one format: safetensors, with the Python structure
around the tensors as JSON in the metadata and a SHA-256 digest of it and the
tensor bytes. ``load`` also reads plain safetensors files, and refuses
PyTorch's pickle formats (zip and legacy) outright. The cases below cover
each: truncations, appended bytes, every flipped byte, random bytes, forged
safetensors headers (huge, overflowing, overlapping or out-of-file sizes and
offsets, unknown dtypes, non-UTF-8 and deeply nested headers), hostile
structures with a valid digest, and pickles that would run code.

All loads run in a child interpreter (this file run as a script) under a
2 GiB address-space limit; the child prints one JSON line per case with the
outcome and its peak memory, and the parent resumes after a crash or a hang,
which is reported against the case. A pickle payload writes a marker file
when it runs; no marker may appear. PyTorch's ``torch.load`` with
``weights_only=True`` (its default) raises ``pickle.UnpicklingError`` for such
files; rustgrad raises RuntimeError (the exception classes allowed are
RuntimeError, ValueError and ``pickle.UnpicklingError``).
"""

import collections
import hashlib
import io
import json
import math
import os
import pickle
import random
import struct
import subprocess
import sys
import zipfile

import pytest

if __name__ != "__main__":
    from conftest import REFERENCE, child_env, stream_child

    pytestmark = pytest.mark.skipif(REFERENCE is not None, reason="rustgrad's own checkpoint format")

REFUSED = (RuntimeError, ValueError, pickle.UnpicklingError)
PANIC_MARK = "This is a bug in rustgrad"
RLIMIT = 2 * 2**30
# Peak memory a load may add (the largest case file is a few MB).
MEMORY_SLACK = 256 * 2**20


# ---------------------------------------------------------------------------
# building files
# ---------------------------------------------------------------------------


def forge(header, data=b"", raw_header=None):
    """A safetensors file: 8-byte little-endian header length, the JSON
    header (or ``raw_header`` bytes), the data."""
    text = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def tensor_entries(tensors):
    """(header dict, data) for [(name, dtype, shape, raw bytes)], contiguous."""
    header, data = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return header, data


def forge_rustgrad(structure, tensors=(), digest=None):
    """A file as ``rustgrad.save`` writes it, with ``structure`` (a JSON
    string) and, unless given, its correct digest (anyone can compute it)."""
    header, data = tensor_entries(tensors)
    # The digest covers the header as written, with its own value read as 64 zeros.
    header["__metadata__"] = {"rustgrad.structure": structure, "rustgrad.sha256": "0" * 64}
    if digest is None:
        text = json.dumps(header, separators=(",", ":")).encode()
        digest = hashlib.sha256(text + data + structure.encode()).hexdigest()
    header["__metadata__"]["rustgrad.sha256"] = digest
    return forge(header, data)


def saved(obj):
    import rustgrad

    buf = io.BytesIO()
    rustgrad.save(obj, buf)
    return buf.getvalue()


def header_length(blob):
    return struct.unpack("<Q", blob[:8])[0]


F32_2x3 = struct.pack("<6f", 0.5, -1.5, 2.0, 3.0, -0.25, 1.0)


def valid_files():
    """Each kind of file ``load`` reads, by name: what ``rustgrad.save``
    writes for a tensor, a state dict, a training checkpoint, an empty dict
    and edge-case tensors (0-d, size-0, uint8), and plain safetensors files
    as other tools write them."""
    return {
        "tensor": saved(_objects()["tensor"]),
        "state_dict": saved(_objects()["state_dict"]),
        "checkpoint": saved(_objects()["checkpoint"]),
        "empty_dict": saved({}),
        "edge_tensors": saved(_objects()["edge_tensors"]),
        "safetensors": forge(*tensor_entries([("x", "F32", [2, 3], F32_2x3),
                                              ("y", "I64", [3], struct.pack("<3q", 1, -2, 3))])),
        "safetensors_hf": forge({**tensor_entries([("w", "F32", [2, 3], F32_2x3)])[0],
                                 "__metadata__": {"format": "pt"}}, F32_2x3),
    }


def _objects():
    """The objects behind valid_files() (rebuilt in the child to compare)."""
    import numpy as np
    import rustgrad as rg

    w = rg.tensor([[0.5, -1.5, 2.0], [3.0, -0.25, 1.0]])
    return {
        "tensor": w,
        "state_dict": collections.OrderedDict([("fc.weight", w), ("fc.bias", rg.tensor([1.0, 2.0], dtype=rg.float64)),
                                      ("steps", rg.tensor([7, -8])), ("mask", rg.tensor([True, False])),
                                      ("half", w.to(rg.float16)), ("bf", w.to(rg.bfloat16))]),
        "checkpoint": {"model": {"w": w}, "optim": {"state": {0: {"step": rg.tensor(3.0), "exp_avg": w * 2}},
                                                    "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999),
                                                                      "params": [0]}]},
                       "epoch": 3, "best": math.inf, "name": "mlp", "dtype": rg.float16, "size": rg.Size([2, 3]),
                       "array": np.arange(3, dtype=np.int32), "none": None},
        "edge_tensors": {"scalar": rg.tensor(2.5), "empty": rg.zeros(0, 3), "ints": rg.tensor([1, 2], dtype=rg.uint8)},
    }


def _same(a, b):
    """Deep equality of loaded and saved objects (tensors by dtype, shape,
    values)."""
    import numpy as np
    import rustgrad as rg

    if isinstance(a, rg.Tensor) or isinstance(b, rg.Tensor):
        return (isinstance(a, rg.Tensor) and isinstance(b, rg.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and a.float().tolist() == b.float().tolist())
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# Formats whose every byte is covered by a check (the digest covers the
# structure and the tensor bytes; names, dtypes and shapes in the header are
# checked against them: see test_a_corrupted_header_is_detected for the gap).
FLIP_FORMATS = ["tensor", "state_dict", "checkpoint", "empty_dict"]


def truncation_points(blob):
    hl = header_length(blob) if len(blob) >= 8 else 0
    points = {0, 1, 4, 7, 8, 9, 8 + hl // 2, 8 + hl - 1, 8 + hl, 8 + hl + 1, (8 + hl + len(blob)) // 2,
              len(blob) - 1}
    return sorted(p for p in points if 0 <= p < len(blob))


def structure_nesting(depth, kind):
    if kind == "list":
        return "[" * depth + "]" * depth
    if kind == "tuple":
        return '{"tuple":[' * depth + "]}" * depth
    return '{"dict":[["k",' * depth + "null" + "]]}" * depth


ONE = ("x", "F32", [1], struct.pack("<f", 1.0))
INT = ("n", "I64", [1], struct.pack("<q", 5))
BF = ("b", "BF16", [1], b"\x80\x3f")


def forged_cases():
    """name -> (bytes, expectation): "refused", "loads" or "any" (loads or
    is refused; never crashes)."""
    x = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}
    cases = {
        # sizes and offsets
        "shape_2**40_elements_in_16_bytes": ({"x": {**x, "shape": [2**40]}}, bytes(16), "refused"),
        "shape_2**40_with_matching_offsets": ({"x": {**x, "shape": [2**40], "data_offsets": [0, 2**42]}}, bytes(16),
                                              "refused"),
        "shape_product_overflows_u64_to_0": ({"x": {**x, "shape": [2**32, 2**32, 2**32], "data_offsets": [0, 0]}},
                                             b"", "refused"),
        "shape_u64_max": ({"x": {**x, "shape": [2**64 - 1]}}, bytes(16), "refused"),
        "shape_beyond_u64": ({"x": {**x, "shape": [2**64]}}, bytes(16), "refused"),
        "shape_negative": ({"x": {**x, "shape": [-4]}}, bytes(16), "refused"),
        "shape_float": ({"x": {**x, "shape": [4.0]}}, bytes(16), "refused"),
        "shape_string": ({"x": {**x, "shape": ["4"]}}, bytes(16), "refused"),
        "shape_null": ({"x": {**x, "shape": None}}, bytes(16), "refused"),
        "shape_65_dims": ({"x": {**x, "shape": [1] * 65, "data_offsets": [0, 4]}}, bytes(4), "refused"),
        "shape_10000_dims": ({"x": {**x, "shape": [1] * 10000, "data_offsets": [0, 4]}}, bytes(4), "refused"),
        "empty_with_huge_dims": ({"x": {**x, "shape": [0, 2**40, 2**40], "data_offsets": [0, 0]}}, b"", "refused"),
        "size_mismatch": ({"x": {**x, "shape": [3]}}, bytes(16), "refused"),
        "offset_end_beyond_file": ({"x": {**x, "data_offsets": [0, 2**60]}}, bytes(16), "refused"),
        "offsets_beyond_file": ({"x": {**x, "data_offsets": [2**62, 2**62 + 16]}}, bytes(16), "refused"),
        "offsets_u64_max": ({"x": {**x, "data_offsets": [2**64 - 1, 2**64 - 1]}}, bytes(16), "refused"),
        "offsets_reversed": ({"x": {**x, "data_offsets": [16, 0]}}, bytes(16), "refused"),
        "offsets_negative": ({"x": {**x, "data_offsets": [-16, 0]}}, bytes(16), "refused"),
        "offsets_three": ({"x": {**x, "data_offsets": [0, 8, 16]}}, bytes(16), "refused"),
        "offsets_overlap": ({"x": {**x, "shape": [2], "data_offsets": [0, 8]},
                             "y": {**x, "shape": [2], "data_offsets": [4, 12]}}, bytes(12), "refused"),
        "offsets_alias": ({"x": {**x, "shape": [2], "data_offsets": [0, 8]},
                           "y": {**x, "shape": [2], "data_offsets": [0, 8]}}, bytes(8), "refused"),
        "offsets_gap": ({"x": {**x, "shape": [1], "data_offsets": [0, 4]},
                         "y": {**x, "shape": [1], "data_offsets": [8, 12]}}, bytes(12), "refused"),
        "data_shorter_than_offsets": ({"x": x}, bytes(8), "refused"),
        "data_longer_than_offsets": ({"x": x}, bytes(24), "refused"),
        "20000_empty_tensors": ({f"t{i}": {**x, "shape": [0], "data_offsets": [0, 0]} for i in range(20000)}, b"",
                                "loads"),
        # dtypes
        "dtype_unknown": ({"x": {**x, "dtype": "Q99"}}, bytes(16), "refused"),
        "dtype_empty": ({"x": {**x, "dtype": ""}}, bytes(16), "refused"),
        "dtype_lowercase": ({"x": {**x, "dtype": "f32"}}, bytes(16), "refused"),
        "dtype_number": ({"x": {**x, "dtype": 7}}, bytes(16), "refused"),
        "dtype_null": ({"x": {**x, "dtype": None}}, bytes(16), "refused"),
        "dtype_F8_E4M3_unsupported": ({"x": {**x, "dtype": "F8_E4M3"}}, bytes(4), "refused"),
        "dtype_C64_unsupported": ({"x": {**x, "dtype": "C64", "shape": [2]}}, bytes(16), "refused"),
        "dtype_U64_unsupported": ({"x": {**x, "dtype": "U64", "shape": [2]}}, bytes(16), "refused"),
        "dtype_U16_unsupported": ({"x": {**x, "dtype": "U16", "shape": [8]}}, bytes(16), "refused"),
        "dtype_F4_unsupported": ({"x": {**x, "dtype": "F4", "shape": [32]}}, bytes(16), "refused"),
        # structure of the header
        "header_not_an_object": (None, b"", "refused", b"[]"),
        "header_string": (None, b"", "refused", b'"x"'),
        "header_null": (None, b"", "refused", b"null"),
        "header_empty": (None, b"", "refused", b""),
        "header_unclosed": (None, b"", "refused", b'{"x":'),
        "header_trailing_garbage": (None, b"", "refused", b"{}}"),
        "header_utf8_bom": (None, b"", "refused", b"\xef\xbb\xbf{}"),
        "header_not_utf8_key": (None, bytes(4), "refused",
                                b'{"\xff\xfe":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'),
        "header_not_utf8_metadata": (None, b"", "refused", b'{"__metadata__":{"rustgrad.structure":"\xc3\x28"}}'),
        "header_overlong_utf8": (None, b"", "refused", b'{"__metadata__":{"a":"\xc0\xaf"}}'),
        "header_lone_surrogate": (None, b"", "refused", b'{"__metadata__":{"rustgrad.structure":"\\ud800"}}'),
        "header_nul_bytes": (None, b"", "refused", b"{\x00\x00}"),
        "header_nested_10000_in_metadata": (None, b"", "refused",
                                            b'{"__metadata__":{"a":' + b"[" * 10000 + b"]" * 10000 + b"}}"),
        "header_nested_100000_in_shape": (None, bytes(4), "refused",
                                          b'{"x":{"dtype":"F32","data_offsets":[0,4],"shape":'
                                          + b"[" * 100000 + b"]" * 100000 + b"}}"),
        "metadata_number_value": ({"__metadata__": {"a": 1}}, b"", "refused"),
        "metadata_list": ({"__metadata__": ["a"]}, b"", "refused"),
        "metadata_null": ({"__metadata__": None}, b"", "any"),
        "tensor_entry_missing_fields": ({"x": {"dtype": "F32"}}, b"", "refused"),
        "tensor_entry_not_an_object": ({"x": [1, 2]}, b"", "refused"),
        "duplicate_names": (None, bytes(4), "any",
                            b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                            b'"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'),
    }
    out = {}
    for name, case in cases.items():
        header, data, expect = case[:3]
        raw = case[3] if len(case) > 3 else None
        out[name] = (forge(header, data, raw), expect)
    # the 8-byte header length
    small = forge({"x": x}, bytes(16))
    for name, n in [("length_beyond_file", len(small)), ("length_2**62", 2**62), ("length_u64_max", 2**64 - 1),
                    ("length_zero", 0), ("length_100MB", 100_000_001)]:
        out["header_" + name] = (struct.pack("<Q", n) + small[8:], "refused")
    return out


def structure_cases():
    """Files with a valid digest and a hostile structure (the digest is no
    secret: anyone can compute it)."""
    cases = {
        "nested_lists_10000": (structure_nesting(10000, "list"), (), "refused"),
        "nested_tuples_10000": (structure_nesting(10000, "tuple"), (), "refused"),
        "nested_dicts_10000": (structure_nesting(10000, "dict"), (), "refused"),
        "nested_lists_100000": (structure_nesting(100000, "list"), (), "refused"),
        "nested_lists_250": (structure_nesting(250, "list"), (), "refused"),
        "nested_lists_150": (structure_nesting(150, "list"), (), "loads"),
        "not_json": ("{not json", (), "refused"),
        "empty": ("", (), "refused"),
        "missing_tensor": ('{"tensor":"nope"}', [ONE], "refused"),
        "tensor_name_unhashable": ('{"tensor":["x"]}', [ONE], "refused"),
        "tensor_name_number": ('{"tensor":5}', [ONE], "refused"),
        "unknown_kind": ('{"pickle":"x"}', (), "refused"),
        "two_kinds": ('{"tuple":[],"dict":[]}', (), "refused"),
        "empty_object": ("{}", (), "refused"),
        "dtype_names_a_function": ('{"dtype":"_panic_for_tests"}', (), "refused"),
        "dtype_names_load": ('{"dtype":"load"}', (), "refused"),
        "dtype_dunder": ('{"dtype":"__class__"}', (), "refused"),
        "dtype_not_a_string": ('{"dtype":["float32"]}', (), "refused"),
        "device_not_a_string": ('{"device":{"a":1}}', (), "refused"),
        "device_unknown": ('{"device":"quantum:0"}', (), "refused"),
        "float_other_than_inf_nan": ('{"float":"1e999"}', (), "refused"),
        "dict_unhashable_key": ('{"dict":[[["k"],1]]}', (), "refused"),
        "dict_pair_of_one": ('{"dict":[[1]]}', (), "refused"),
        "dict_items_not_pairs": ('{"dict":[1]}', (), "refused"),
        "dict_not_a_list": ('{"dict":"ab"}', (), "refused"),
        "int_with_5000_digits": ("9" * 5000, (), "any"),
        "int_parameter_requiring_grad": ('{"tensor":"n","parameter":true,"requires_grad":true}', [INT], "refused"),
        "int_requiring_grad": ('{"tensor":"n","requires_grad":true}', [INT], "refused"),
        "bfloat16_as_numpy": ('{"tensor":"b","numpy":true}', [BF], "any"),
        "size_of_strings": ('{"size":["a"]}', (), "any"),
        "nan_literal": ("NaN", (), "any"),
        "one_tensor_100000_times": ("[" + ",".join(['{"tensor":"x"}'] * 100000) + "]", [ONE], "loads"),
        "list_of_a_million": ("[" + ",".join(["0"] * 10**6) + "]", (), "loads"),
    }
    out = {name: (forge_rustgrad(s, t), expect) for name, (s, t, expect) in cases.items()}
    w = [ONE]
    out["digest_missing"] = (forge({**tensor_entries(w)[0], "__metadata__": {"rustgrad.structure": '{"tensor":"x"}'}},
                                   tensor_entries(w)[1]), "refused")
    out["digest_wrong"] = (forge_rustgrad('{"tensor":"x"}', w, digest="0" * 64), "refused")
    out["digest_of_other_data"] = (forge_rustgrad('{"tensor":"x"}', w,
                                                  digest=hashlib.sha256(b'{"tensor":"x"}').hexdigest()), "refused")
    out["structure_missing"] = (forge({**tensor_entries(w)[0], "__metadata__": {"rustgrad.sha256": "0" * 64}},
                                      tensor_entries(w)[1]), "refused")
    return out


# --- pickles that run code -------------------------------------------------


def _payload(marker, how):
    """A pickle whose loading writes ``marker`` (through os.system, or exec)."""
    if how == "os_system":
        return f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()  # protocol 0, by hand

    class Exec:
        def __reduce__(self):
            return exec, (f"open({marker!r}, 'w').write('ran')",)

    return pickle.dumps(Exec(), protocol=2 if how == "exec_protocol2" else 5)


def torch_zip(payload):
    """PyTorch's zip checkpoint (torch.save's default) with ``payload`` as
    its data.pkl."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
        z.writestr("archive/.data/serialization_id", "0" * 40)
    return buf.getvalue()


def torch_legacy(payload):
    """PyTorch's legacy (pre-1.6) format: magic number, protocol version,
    system info, then the object's pickle."""
    head = b"".join(pickle.dumps(v, protocol=2) for v in (
        0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True,
                                       "type_sizes": {"short": 2, "int": 4, "long": 4}}))
    return head + payload


PICKLE_KINDS = ["pickle_os_system_protocol0", "pickle_exec_protocol2", "pickle_exec_protocol5",
                "torch_zip_exec", "torch_zip_os_system", "torch_legacy_exec"]
LOAD_OPTIONS = {"default": {}, "weights_only_false": {"weights_only": False},
                "pickle_module": {"weights_only": False, "pickle_module": "pickle"}}


def pickle_file(kind, marker):
    how = "os_system" if kind.endswith("os_system") or kind.endswith("protocol0") else (
        "exec_protocol2" if kind.endswith("protocol2") else "exec")
    payload = _payload(marker, how)
    if kind.startswith("torch_zip"):
        return torch_zip(payload)
    if kind.startswith("torch_legacy"):
        return torch_legacy(payload)
    return payload


def nested_pickle(depth):
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


# ---------------------------------------------------------------------------
# the child: loads case files [start:], one JSON line each
# ---------------------------------------------------------------------------


def _maxrss():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _summary(obj):
    import rustgrad as rg

    if isinstance(obj, rg.Tensor):
        return [str(obj.dtype), list(obj.shape)]
    if isinstance(obj, dict):
        return {str(k): _summary(v) for k, v in list(obj.items())[:4]}
    return type(obj).__name__


def child_main(argv):
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (RLIMIT, RLIMIT))
    manifest_path, start = argv[0], int(argv[1])
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import rustgrad

    with open(manifest_path) as fh:
        manifest = json.load(fh)
    objects = _objects()
    out.write(json.dumps({"ready": True, "rss": _maxrss()}) + "\n")
    for i in range(start, len(manifest)):
        case = manifest[i]
        kwargs = dict(case.get("kwargs", {}))
        if kwargs.get("pickle_module") == "pickle":
            kwargs["pickle_module"] = pickle
        record = {"i": i}
        if case.get("selftest") == "abort":
            os.abort()
        try:
            if case["via"] == "path":
                obj = rustgrad.load(case["file"], **kwargs)
            else:
                with open(case["file"], "rb") as fh:
                    obj = rustgrad.load(io.BytesIO(fh.read()), **kwargs)
            record["o"] = "ok"
            record["summary"] = _summary(obj)
            if case.get("equals") is not None:
                record["equal"] = _same(obj, objects[case["equals"]])
        except BaseException as e:  # noqa: BLE001  (a Rust panic may be a BaseException)
            record["o"] = type(e).__name__
            record["refused"] = isinstance(e, REFUSED) and PANIC_MARK not in str(e)
            record["msg"] = str(e)[:200]
        record["rss"] = _maxrss()
        out.write(json.dumps(record) + "\n")
    out.write(json.dumps({"done": True}) + "\n")


# ---------------------------------------------------------------------------
# the parent
# ---------------------------------------------------------------------------




def run_loads(manifest, workdir, case_timeout=30.0):
    """Loads every case in child processes. Returns (records by case name,
    the child's memory after start-up)."""
    path = os.path.join(workdir, "manifest.json")
    with open(path, "w") as fh:
        json.dump(manifest, fh)
    records, start, base_rss = {}, 0, None
    while start < len(manifest):
        state = {"last": start - 1, "done": False, "rss": base_rss}

        def on_record(rec):
            if rec.get("ready"):
                state["rss"] = rec["rss"] if state["rss"] is None else state["rss"]
            elif rec.get("done"):
                state["done"] = True
            else:
                state["last"] = rec["i"]
                records[manifest[rec["i"]]["name"]] = rec

        rc, hung = stream_child([sys.executable, os.path.abspath(__file__), path, str(start)], on_record, cwd=workdir,
                                stderr_path=os.path.join(workdir, "stderr.txt"), timeout=case_timeout,
                                env=child_env())
        last, done, base_rss = state["last"], state["done"], state["rss"]
        if done and rc == 0:
            break
        with open(os.path.join(workdir, "stderr.txt"), "rb") as fh:
            tail = fh.read()[-300:].decode(errors="replace").strip().replace("\n", " | ")
        records[manifest[last + 1]["name"]] = {"o": "hang" if hung else f"crash (exit status {rc}): ...{tail}",
                                               "refused": False, "msg": ""}
        start = last + 2
    return records, base_rss


def _all_cases(tmp):
    """Every case, by name ("category/..."): (bytes, expectation)."""
    files = valid_files()
    cases = {}
    for fmt, blob in files.items():
        cases[f"valid/{fmt}"] = (blob, "loads")
        for cut in truncation_points(blob):
            cases[f"truncated/{fmt}/{cut}"] = (blob[:cut], "refused")
        cases[f"appended/{fmt}/nul"] = (blob + b"\x00", "refused")
        cases[f"appended/{fmt}/text"] = (blob + b"trailing garbage", "refused")
        if fmt in FLIP_FORMATS or fmt.startswith("safetensors"):
            for pos in range(len(blob)):
                flipped = bytearray(blob)
                flipped[pos] ^= 0x01
                cases[f"flipped/{fmt}/{pos}"] = (bytes(flipped), "refused" if fmt in FLIP_FORMATS else "any")
    rng = random.Random(1234)
    for n in range(40):
        size = rng.choice([1, 7, 8, 9, 16, 64, 1000, 4096])
        blob = bytes(rng.getrandbits(8) for _ in range(size))
        if n % 2:  # a plausible header length and a '{'
            blob = struct.pack("<Q", rng.randrange(1, 2 * size)) + b"{" + blob
        cases[f"random/{n}"] = (blob, "refused")
    for name, (blob, expect) in forged_cases().items():
        cases[f"forged/{name}"] = (blob, expect)
    for name, (blob, expect) in structure_cases().items():
        cases[f"structure/{name}"] = (blob, expect)
    for kind in PICKLE_KINDS:
        for option in LOAD_OPTIONS:
            marker = os.path.join(tmp, "markers", f"{kind}-{option}")
            cases[f"pickle/{kind}/{option}"] = (pickle_file(kind, marker), "refused")
    cases["pickle/nested_10000"] = (nested_pickle(10000), "refused")
    cases["pickle/torch_zip_nested_10000"] = (torch_zip(nested_pickle(10000)), "refused")
    return cases


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Loads every case once, in one child (resumed after a crash)."""
    tmp = str(tmp_path_factory.mktemp("hostile"))
    os.makedirs(os.path.join(tmp, "markers"))
    cases = _all_cases(tmp)
    manifest = []
    for n, (name, (blob, _)) in enumerate(cases.items()):
        file = os.path.join(tmp, f"case-{n}.bin")
        with open(file, "wb") as fh:
            fh.write(blob)
        option = name.rsplit("/", 1)[-1]
        entry = {"name": name, "file": file, "via": "path" if n % 2 else "bytes",
                 "kwargs": LOAD_OPTIONS.get(option, {}) if name.startswith("pickle/") else {}}
        if name.startswith("valid/"):
            entry["equals"] = None if name.startswith("valid/safetensors") or name == "valid/empty_dict" else \
                name.split("/")[1]
        manifest.append(entry)
    records, base_rss = run_loads(manifest, tmp)
    return Results(records, base_rss, tmp, {name: expect for name, (_, expect) in cases.items()})


Results = collections.namedtuple("Results", "records base_rss tmp expectations")


def _failures(results, prefix):
    out = []
    for name, expect in results.expectations.items():
        if not name.startswith(prefix):
            continue
        rec = results.records.get(name, {"o": "not run"})
        ok = rec["o"] == "ok"
        if expect == "loads" and not ok:
            out.append(f"{name}: should load, got {rec['o']}: {rec.get('msg', '')!r}")
        elif expect == "refused" and not rec.get("refused"):
            out.append(f"{name}: should be refused, got {rec['o']}: {rec.get('msg', rec.get('summary'))!r}")
        elif expect == "any" and not (ok or rec.get("refused")):
            out.append(f"{name}: got {rec['o']}: {rec.get('msg', '')!r}")
        elif not ok and not rec.get("msg"):
            out.append(f"{name}: {rec['o']} with no message")
    return out


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["tensor", "state_dict", "checkpoint", "empty_dict", "edge_tensors", "safetensors",
                                 "safetensors_hf"])
def test_the_valid_files_load(results, fmt):
    rec = results.records[f"valid/{fmt}"]
    assert rec["o"] == "ok", rec
    assert rec.get("equal", True) is True, rec
    if fmt == "safetensors":
        assert rec["summary"] == {"x": ["torch.float32", [2, 3]], "y": ["torch.int64", [3]]}


@pytest.mark.parametrize("category", ["truncated", "appended", "flipped", "random", "forged", "structure", "pickle"])
def test_hostile_files_are_refused(results, category):
    """Each case raises RuntimeError/ValueError/UnpicklingError with a
    message (or, for "any" cases, loads), without crashing or hanging."""
    failures = _failures(results, category + "/")
    count = sum(1 for n in results.expectations if n.startswith(category + "/"))
    assert count > 0
    assert not failures, f"{len(failures)} of {count} {category} files:\n" + "\n".join(failures)


def test_the_classes_raised(results):
    """RuntimeError throughout (what load documents), never a panic."""
    classes = collections.Counter(r["o"] for r in results.records.values() if r["o"] != "ok")
    assert set(classes) <= {"RuntimeError", "ValueError", "UnpicklingError"}, classes
    assert not any(PANIC_MARK in r.get("msg", "") for r in results.records.values())


def test_no_load_allocates_much(results):
    records, base_rss = results.records, results.base_rss
    assert base_rss is not None
    heavy = [f"{n}: peak {r['rss'] / 2**20:.0f} MiB" for n, r in records.items()
             if r.get("rss", 0) > base_rss + MEMORY_SLACK]
    assert not heavy, f"loads past {MEMORY_SLACK / 2**20:.0f} MiB above the start-up {base_rss / 2**20:.0f} MiB " \
                      "(ru_maxrss only grows: the first is the culprit):\n" + "\n".join(heavy[:10])


def test_no_pickle_ran(results):
    assert sum(n.startswith("pickle/") for n in results.records) == len(PICKLE_KINDS) * len(LOAD_OPTIONS) + 2
    assert os.listdir(os.path.join(results.tmp, "markers")) == []


def test_the_pickles_run_code_when_unpickled(tmp_path):
    """The payloads are real: plain pickle.loads runs them (in a child)."""
    markers = {kind: str(tmp_path / kind) for kind in ("os_system", "exec_protocol2", "exec")}
    code = "import pickle, sys\nfor f in sys.argv[1:]:\n    pickle.loads(open(f, 'rb').read())\n"
    files = []
    for kind, marker in markers.items():
        f = tmp_path / f"{kind}.pkl"
        f.write_bytes(_payload(marker, kind))
        files.append(str(f))
    r = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert all(os.path.exists(m) for m in markers.values())


def test_pytorch_refuses_the_pickles_with_weights_only_and_runs_them_without(torch, tmp_path):
    """torch.load (weights_only=True, its default) raises UnpicklingError for
    the PyTorch-format files, and runs them with weights_only=False: they
    are real PyTorch checkpoints, and refusing them is what PyTorch does."""
    code = """
import json, os, pickle, sys, torch
for path, marker in zip(sys.argv[1::2], sys.argv[2::2]):
    got = {}
    try:
        torch.load(path)
        got["default"] = "loaded"
    except Exception as e:
        got["default"] = type(e).__name__
    got["ran_by_default"] = os.path.exists(marker)
    try:
        torch.load(path, weights_only=False)
    except Exception:
        pass
    got["ran_without_weights_only"] = os.path.exists(marker)
    print(json.dumps(got))
"""
    args = []
    for kind in ("torch_zip_exec", "torch_legacy_exec"):
        marker = str(tmp_path / kind)
        path = tmp_path / f"{kind}.pt"
        path.write_bytes(pickle_file(kind, marker))
        args += [str(path), marker]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert r.returncode == 0, r.stderr[-2000:]
    got = [json.loads(line) for line in r.stdout.splitlines()]
    assert got == [{"default": "UnpicklingError", "ran_by_default": False, "ran_without_weights_only": True}] * 2


@pytest.mark.parametrize("kind", ["list", "tuple", "dict"])
def test_what_save_writes_at_the_nesting_limit_loads(kind):
    """The deepest object save accepts loads back; one level more is refused
    by save (so load's limit never refuses a file save wrote)."""
    import rustgrad as rg

    def nest(depth):
        obj = None
        for _ in range(depth):
            obj = [obj] if kind == "list" else (obj,) if kind == "tuple" else {"k": obj}
        return obj

    deepest = None
    for depth in range(1, 400):
        try:
            blob = saved(nest(depth))
        except RuntimeError:
            break
        deepest = depth, blob
    assert deepest is not None and 100 <= deepest[0] < 399
    assert rg.load(io.BytesIO(deepest[1])) == nest(deepest[0])


def test_the_harness_reports_a_crash(tmp_path):
    manifest = [{"name": "first", "file": os.devnull, "via": "bytes"},
                {"name": "crash", "file": os.devnull, "via": "bytes", "selftest": "abort"},
                {"name": "after", "file": os.devnull, "via": "bytes"}]
    records, _ = run_loads(manifest, str(tmp_path))
    assert records["crash"]["o"].startswith("crash (exit status -6)")
    assert records["first"]["o"] == records["after"]["o"] == "RuntimeError" and records["after"]["refused"]


def test_a_plain_safetensors_file_loads_in_one_key_order():
    import rustgrad as rg

    blob = forge({f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(6)})
    orders = {tuple(rg.load(io.BytesIO(blob))) for _ in range(5)}
    assert len(orders) == 1, orders


@pytest.mark.parametrize("corruption", ["swapped_shape", "empty_shape", "swapped_names"])
def test_a_corrupted_header_is_detected(corruption):
    import rustgrad as rg

    a, b = rg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), rg.tensor([[7.0, 8.0, 9.0], [1.0, 2.0, 3.0]])
    blob = saved({"a": a, "b": b, "e": rg.zeros(0, 3)})
    end = 8 + header_length(blob)
    head = blob[:end]
    if corruption == "swapped_shape":
        head = head.replace(b'"shape":[2,3]', b'"shape":[3,2]', 1)
    elif corruption == "empty_shape":
        head = head.replace(b'"shape":[0,3]', b'"shape":[0,2]')
    else:
        head = head.replace(b'"a":{', b'"@":{').replace(b'"b":{', b'"a":{').replace(b'"@":{', b'"b":{')
    assert head != blob[:end] and len(head) == end
    try:
        got = rg.load(io.BytesIO(head + blob[end:]))
    except RuntimeError:
        return
    raise AssertionError(f"loaded: { {k: (tuple(v.shape), v.tolist()) for k, v in got.items()} }")


if __name__ == "__main__":
    child_main(sys.argv[1:])
