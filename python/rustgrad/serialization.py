"""``torch.save`` / ``torch.load`` for checkpoints: tensors, state dicts,
optimizer states and nested dicts/lists/tuples of tensors and plain values.

Files are in the safetensors format (written and validated by the Rust
``safetensors`` crate), so other frameworks' safetensors tools read the
weights: a state dict's tensors are stored under their own keys
(``fc1.weight``), nested ones under dotted paths (``state.0.exp_avg``).
The Python structure around the tensors (and every non-tensor value) is
JSON in the file's metadata, with a SHA-256 digest of it and of the tensor
bytes. Loading never executes code (there is no pickle), checks the digest,
and builds the whole result before returning, so a truncated, corrupted or
hostile file raises RuntimeError and nothing is half-loaded. Saving to a
path writes a temporary file beside it and renames it over the target, so a
crash mid-save leaves the previous checkpoint intact.
"""

import collections
import hashlib
import json
import math
import os
import struct
import tempfile

import numpy as np

from . import _core

__all__ = ["save", "load"]

_STRUCTURE = "rustgrad.structure"
_DIGEST = "rustgrad.sha256"
# Deeper nesting than any real checkpoint; bounds the recursion on load.
_MAX_DEPTH = 200


class _Writer:
    """Flattens an object into named tensors and a JSON-able structure."""

    def __init__(self):
        self.tensors = []  # (name, tensor)
        self.names = set()
        # One copy of a tensor saved twice, also through different objects
        # that view the same memory the same way (tied weights in a
        # state_dict, whose entries are fresh `detach()`es).
        self.by_view = {}
        self.arrays = {}

    def name_for(self, path):
        name = ".".join(path) or "tensor"
        base, k = name, 1
        while name in self.names:
            name, k = f"{base}#{k}", k + 1
        self.names.add(name)
        return name

    def tensor(self, t, path, numpy=False):
        view = (t.data_ptr(), t.dtype, tuple(t.shape), t.stride()) if t.numel() else id(t)
        name = self.by_view.get(view)
        if name is None:
            name = self.by_view[view] = self.name_for(path)
            self.tensors.append((name, t))
        node = {"tensor": name}
        if t.requires_grad:
            node["requires_grad"] = True
        if type(t).__name__ == "Parameter":
            node["parameter"] = True
        if numpy:
            node["numpy"] = True
        return node

    def encode(self, obj, path=()):
        if len(path) > _MAX_DEPTH:
            raise RuntimeError(f"save: the object is nested more than {_MAX_DEPTH} levels deep")
        if isinstance(obj, _core.Tensor):
            return self.tensor(obj, path)
        if isinstance(obj, np.ndarray):
            # One tensor per array object (kept alive here, so ids stay unique).
            _, t = self.arrays.setdefault(id(obj), (obj, _core.tensor(obj)))
            return self.tensor(t, path, numpy=True)
        if isinstance(obj, np.generic):
            obj = obj.item()
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, _core.dtype):
            return {"dtype": str(obj)}
        if isinstance(obj, _core.device):
            return {"device": str(obj)}
        if isinstance(obj, (list, tuple)):
            items = [self.encode(v, path + (str(i),)) for i, v in enumerate(obj)]
            if isinstance(obj, list):
                return items
            kind = "size" if type(obj).__name__ == "Size" else "tuple"
            return {kind: items}
        if isinstance(obj, dict):
            items = [[self.encode(k, path + ("key",)), self.encode(v, path + (str(k),))] for k, v in obj.items()]
            return {"ordered_dict" if isinstance(obj, collections.OrderedDict) else "dict": items}
        raise TypeError(
            f"save: cannot save an object of type {type(obj).__qualname__}; checkpoints hold tensors, NumPy arrays, "
            "numbers, strings, None, dtypes, devices and lists, tuples and dicts of them")


# Written first, then replaced in place by the digest (the same length),
# so the file is serialized once.
_PLACEHOLDER = "0" * 64


def _digest(blob, structure):
    """SHA-256 of the header (with the digest's own value read as the
    placeholder), the tensor bytes and the structure; the data is read
    through a memoryview (no copy). The header holds each tensor's name,
    dtype, shape and offsets: an edit there is caught like one in the data."""
    (header_len,) = struct.unpack("<Q", bytes(blob[:8]))
    header = bytes(blob[8:8 + header_len])
    key = f'"{_DIGEST}":"'.encode()
    at = header.find(key)
    if at >= 0:
        start = at + len(key)
        header = header[:start] + _PLACEHOLDER.encode() + header[start + len(_PLACEHOLDER):]
    digest = hashlib.sha256(header)
    digest.update(memoryview(blob)[8 + header_len:])
    digest.update(structure.encode())
    return digest.hexdigest()


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """Saves ``obj`` (a tensor, or lists/tuples/dicts of tensors, NumPy
    arrays and plain values, e.g. a ``state_dict``) to ``f``: a path
    (written atomically through a temporary file) or a binary file object.
    Tensors keep dtype, shape, ``requires_grad`` and ``Parameter``-ness; a
    tensor saved twice is loaded as one. TypeError for other objects (there
    is no pickle: a checkpoint never runs code when loaded)."""
    writer = _Writer()
    structure = json.dumps(writer.encode(obj), allow_nan=False, separators=(",", ":"))
    blob = bytearray(_core._safetensors_dumps(writer.tensors, {_STRUCTURE: structure, _DIGEST: _PLACEHOLDER}))
    (header_len,) = struct.unpack("<Q", bytes(blob[:8]))
    slot = blob.find(f'"{_DIGEST}":"{_PLACEHOLDER}"'.encode(), 8, 8 + header_len)
    start = slot + len(_DIGEST) + 4
    blob[start:start + 64] = _digest(blob, structure).encode()
    if hasattr(f, "write"):
        f.write(blob)
        return
    # Through a link, the file it points to is replaced (as open() would
    # write it), with the permissions a new file gets (mkstemp's are 0600).
    path = os.path.realpath(os.fspath(f))
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".rustgrad-save-", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _Reader:
    """Rebuilds the saved object from its structure and named tensors."""

    def __init__(self, tensors):
        self.tensors = tensors
        self.made = {}

    def tensor(self, node):
        name = node["tensor"]
        if name not in self.tensors:
            raise RuntimeError(f"load: corrupted checkpoint: it refers to a tensor {name!r} that it does not hold")
        key = (name, bool(node.get("parameter")), bool(node.get("requires_grad")), bool(node.get("numpy")))
        if key not in self.made:
            t = self.tensors[name]
            if node.get("numpy"):
                t = t.numpy()
            elif node.get("parameter"):
                from .nn.parameter import Parameter

                t = Parameter(t, requires_grad=bool(node.get("requires_grad")))
            elif node.get("requires_grad"):
                t.requires_grad_(True)
            self.made[key] = t
        return self.made[key]

    def decode(self, node, depth=0):
        if depth > _MAX_DEPTH:
            raise RuntimeError(f"load: corrupted checkpoint: nested more than {_MAX_DEPTH} levels deep")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v, depth + 1) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise RuntimeError("load: corrupted checkpoint: unexpected structure")
        if "tensor" in node:
            return self.tensor(node)
        (kind, value), = list(node.items())[:1] if len(node) == 1 else [(None, None)]
        if kind == "float" and value in ("inf", "-inf", "nan"):
            return float(value)
        if kind == "dtype" and isinstance(value, str):
            dtype = getattr(_core, value.rsplit(".", 1)[-1], None)
            if isinstance(dtype, _core.dtype):
                return dtype
        if kind == "device":
            return _core.device(value)
        if kind in ("tuple", "size") and isinstance(value, list):
            items = tuple(self.decode(v, depth + 1) for v in value)
            if kind == "size":
                from ._size import Size

                return Size(items)
            return items
        if kind in ("dict", "ordered_dict") and isinstance(value, list):
            pairs = [(self.decode(k, depth + 1), self.decode(v, depth + 1)) for k, v in value]
            return collections.OrderedDict(pairs) if kind == "ordered_dict" else dict(pairs)
        raise RuntimeError("load: corrupted checkpoint: unexpected structure")


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Loads what ``save`` wrote to ``f`` (a path or a binary file object).
    A plain safetensors file from another tool loads as a dict of name to
    tensor. ``map_location`` may name the CPU (the only device). Nothing is
    ever executed, whatever ``weights_only`` says. RuntimeError for a
    truncated, corrupted (digest mismatch) or malformed file;
    FileNotFoundError for a missing path."""
    if map_location is not None and not callable(map_location) and not isinstance(map_location, dict):
        if _core.device(map_location).type != "cpu":
            raise RuntimeError(f"load: map_location={map_location!r}: rustgrad tensors live on the CPU")
    if hasattr(f, "read"):
        blob = f.read()
    else:
        with open(os.fspath(f), "rb") as fh:
            blob = fh.read()
    if blob[:4] == b"PK\x03\x04" or blob[:1] == b"\x80":
        raise RuntimeError(
            "load: this is a PyTorch pickle checkpoint (torch.save's zip or legacy format); rustgrad reads "
            "safetensors files only, since unpickling can run arbitrary code. Convert it where PyTorch is "
            "installed, e.g. safetensors.torch.save_file(torch.load(path), 'model.safetensors') for a state dict")
    tensors, metadata = _core._safetensors_loads(blob)
    if _STRUCTURE not in metadata and _DIGEST not in metadata:
        return dict(tensors)
    # One of the two keys alone: a corrupted name in the header.
    structure = metadata.get(_STRUCTURE, "")
    if metadata.get(_DIGEST) != _digest(blob, structure):
        raise RuntimeError("load: corrupted checkpoint: its contents do not match the digest written with them")
    try:
        tree = json.loads(structure)
        return _Reader(tensors).decode(tree)
    except (ValueError, RecursionError, TypeError, AttributeError) as e:
        raise RuntimeError(f"load: corrupted checkpoint: {e}") from None
