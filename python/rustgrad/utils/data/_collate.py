"""Turning a list of samples into a batch: ``default_collate`` (stack
tensors, NumPy arrays and numbers into tensors with a new leading batch
dimension, recursing into mappings and sequences) and ``default_convert``
(convert NumPy values to tensors, no batching), both extensible through
``collate(batch, collate_fn_map=...)`` as in PyTorch."""

import collections.abc
import copy
import re

import numpy as np

import rustgrad

__all__ = ["collate", "default_collate", "default_collate_fn_map", "default_convert"]

# NumPy dtype codes of bytes, unicode and object arrays, which cannot become
# tensors.
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, "
    "dicts or lists; found {}"
)


def _rebuild_mapping(data, convert):
    """``data`` with ``convert(key)`` as each value, in ``data``'s own
    mapping type where it can be rebuilt, else as a plain dict."""
    try:
        if isinstance(data, collections.abc.MutableMapping):
            # A shallow copy keeps the type and any extra attributes
            # (e.g. a defaultdict's factory).
            clone = copy.copy(data)
            clone.update({key: convert(key) for key in data})
            return clone
        return type(data)({key: convert(key) for key in data})
    except TypeError:  # the mapping type cannot be built from a dict
        return {key: convert(key) for key in data}


def _rebuild_sequence(data, items):
    """The sequence ``data`` with ``items`` as its elements, in its own type
    where it can be rebuilt, else as a list."""
    try:
        if isinstance(data, collections.abc.MutableSequence):
            clone = copy.copy(data)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(data)(items)
    except TypeError:  # the sequence type cannot be built from a list
        return list(items)


def _is_numpy_value(data):
    """A NumPy array or scalar other than a string scalar."""
    elem_type = type(data)
    return elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_")


def default_convert(data):
    """Converts each NumPy array or scalar inside ``data`` (recursing into
    mappings, namedtuples and sequences) to a tensor, leaving everything
    else unchanged; tuples come back as lists, as in PyTorch. The
    ``DataLoader``'s ``collate_fn`` when automatic batching is off."""
    if isinstance(data, rustgrad.Tensor):
        return data
    if _is_numpy_value(data):
        if type(data).__name__ == "ndarray" and np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return rustgrad.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, lambda key: default_convert(data[key]))
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, for backwards compatibility
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def collate(batch, *, collate_fn_map=None):
    """Collates ``batch`` (a list of samples of one structure): an element
    type found in ``collate_fn_map`` (exactly, else by ``isinstance`` in
    the map's order) is handed to its function; mappings, namedtuples and
    sequences are collated field by field; anything else is a TypeError."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)

    def field(samples):
        return collate(samples, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, lambda key: field([d[key] for d in batch]))
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(field(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        elem_size = len(elem)
        if not all(len(e) == elem_size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [field(samples) for samples in transposed]  # a list, for backwards compatibility
        return _rebuild_sequence(elem, [field(samples) for samples in transposed])
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map=None):
    """Stacks tensors along a new dimension 0."""
    return rustgrad.stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    """NumPy arrays become tensors (sharing memory), then are collated as
    tensors; string and object arrays are a TypeError."""
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([rustgrad.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    """NumPy scalars become one 1-D tensor of their dtypes promoted
    together (PyTorch's promotion: int32 with float32 is float32)."""
    return rustgrad.as_tensor(batch)


def collate_float_fn(batch, *, collate_fn_map=None):
    """Python floats become a float64 tensor (not the default dtype)."""
    return rustgrad.tensor(batch, dtype=rustgrad.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    """Python ints become an int64 tensor (bools, an int subclass, a bool
    tensor)."""
    return rustgrad.tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    """Strings and bytes stay as they are, in a list."""
    return batch


default_collate_fn_map = {
    rustgrad.Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """Puts each data field of the samples in ``batch`` into a tensor with a
    new leading batch dimension: tensors are stacked, NumPy arrays and
    scalars converted, floats become float64 and ints int64 (bools bool)
    tensors, strings and bytes a list, and mappings, namedtuples and
    sequences are collated field by field (tuples come back as lists). The
    ``DataLoader``'s ``collate_fn`` when batching is on."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
