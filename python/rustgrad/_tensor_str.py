"""Pure-Python port of PyTorch's tensor printing (``torch/_tensor_str.py``).

The goal is for ``repr`` of a rustgrad tensor to be byte-for-byte identical to
``repr`` of the equivalent ``torch.Tensor``.  The code below follows PyTorch's
``_Formatter``, ``_scalar_str``, ``_vector_str``, ``_tensor_str_with_formatter``,
``_tensor_str``, ``get_summarized_data``, ``_add_suffixes`` and the strided,
dense branch of ``_str_intern`` as closely as possible, operating on numpy
arrays instead of tensors.

This module deliberately depends only on the standard library and numpy (it
does not import ``rustgrad._core``) so it can be loaded and tested standalone.

Not ported: complex dtypes, sparse / quantized / nested / meta / functorch
tensors, named tensors, forward-AD tangents, float8/bfloat16 special cases.
"""

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = [
    "PRINT_OPTS",
    "set_printoptions",
    "get_printoptions",
    "format_tensor",
]


@dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: Optional[bool] = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(
    precision=None,
    threshold=None,
    edgeitems=None,
    linewidth=None,
    profile=None,
    sci_mode=None,
):
    """Same semantics as ``torch.set_printoptions``."""
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80
        elif profile == "short":
            PRINT_OPTS.precision = 2
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 2
            PRINT_OPTS.linewidth = 80
        elif profile == "full":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = math.inf
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80

    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    return {
        "precision": PRINT_OPTS.precision,
        "threshold": PRINT_OPTS.threshold,
        "edgeitems": PRINT_OPTS.edgeitems,
        "linewidth": PRINT_OPTS.linewidth,
        "sci_mode": PRINT_OPTS.sci_mode,
    }


# ---------------------------------------------------------------------------
# dtype helpers
# ---------------------------------------------------------------------------

_NUMPY_DTYPES = {
    "float16": np.float16,
    "float32": np.float32,
    "float64": np.float64,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "bool": np.bool_,
}

_ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
}


def _canonical_dtype_name(name):
    name = str(name)
    if name.startswith("torch."):
        name = name[len("torch."):]
    return _ALIASES.get(name, name)


def _is_floating(arr):
    return arr.dtype.kind == "f"


# ---------------------------------------------------------------------------
# Formatter
# ---------------------------------------------------------------------------


class _Formatter:
    def __init__(self, tensor):
        # ``tensor`` is a numpy array (possibly already summarized).
        self.floating_dtype = _is_floating(tensor)
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        tensor_view = tensor.reshape(-1)

        if not self.floating_dtype:
            for value in tensor_view.tolist():
                value_str = f"{value}"
                self.max_width = max(self.max_width, len(value_str))

        else:
            nonzero_finite_vals = tensor_view[
                np.isfinite(tensor_view) & (tensor_view != 0)
            ]

            if nonzero_finite_vals.size == 0:
                # no valid number, do nothing
                return

            # Convert to double for easy calculation (as PyTorch does).
            nonzero_finite_abs = np.abs(nonzero_finite_vals).astype(np.float64)
            nonzero_finite_min = float(nonzero_finite_abs.min())
            nonzero_finite_max = float(nonzero_finite_abs.max())

            if np.any(nonzero_finite_vals != np.ceil(nonzero_finite_vals)):
                self.int_mode = False

            self.sci_mode = (
                nonzero_finite_max / nonzero_finite_min > 1000.0
                or nonzero_finite_max > 1.0e8
                or nonzero_finite_min < 1.0e-4
                if PRINT_OPTS.sci_mode is None
                else PRINT_OPTS.sci_mode
            )

            # Python floats (float32 values widened to double, like Tensor.item()).
            values = nonzero_finite_vals.tolist()
            if self.int_mode:
                # in int_mode for floats, all numbers are integers, and we append a
                # decimal to nonfinites to indicate that the tensor is of floating
                # type. add 1 to the len to account for this.
                if self.sci_mode:
                    fmt = f"{{:.{PRINT_OPTS.precision}e}}"
                    for value in values:
                        value_str = fmt.format(value)
                        self.max_width = max(self.max_width, len(value_str))
                else:
                    for value in values:
                        value_str = f"{value:.0f}"
                        self.max_width = max(self.max_width, len(value_str) + 1)
            else:
                if self.sci_mode:
                    fmt = f"{{:.{PRINT_OPTS.precision}e}}"
                else:
                    fmt = f"{{:.{PRINT_OPTS.precision}f}}"
                for value in values:
                    value_str = fmt.format(value)
                    self.max_width = max(self.max_width, len(value_str))

    def width(self):
        return self.max_width

    def format(self, value):
        if self.floating_dtype:
            if self.sci_mode:
                ret = f"{{:{self.max_width}.{PRINT_OPTS.precision}e}}".format(value)
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{{:.{PRINT_OPTS.precision}f}}".format(value)
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


# ---------------------------------------------------------------------------
# Body formatting
# ---------------------------------------------------------------------------


def _scalar_str(self, formatter1):
    return formatter1.format(self.item())


def _vector_str(self, indent, summarize, formatter1):
    # length includes spaces and comma between elements
    element_length = formatter1.width() + 2

    elements_per_line = max(
        1, math.floor((PRINT_OPTS.linewidth - indent) / (element_length))
    )

    _val_formatter = formatter1.format

    if summarize and not PRINT_OPTS.edgeitems:
        data = ["..."]
    elif summarize and self.shape[0] > 2 * PRINT_OPTS.edgeitems:
        data = (
            [_val_formatter(val) for val in self[: PRINT_OPTS.edgeitems].tolist()]
            + [" ..."]
            + [_val_formatter(val) for val in self[-PRINT_OPTS.edgeitems :].tolist()]
        )
    else:
        data = [_val_formatter(val) for val in self.tolist()]

    data_lines = [
        data[i : i + elements_per_line] for i in range(0, len(data), elements_per_line)
    ]
    lines = [", ".join(line) for line in data_lines]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(self, indent, summarize, formatter1):
    dim = self.ndim

    if dim == 0:
        return _scalar_str(self, formatter1)

    if dim == 1:
        return _vector_str(self, indent, summarize, formatter1)

    n = self.shape[0]
    if summarize and n > 2 * PRINT_OPTS.edgeitems:
        slices = (
            [
                _tensor_str_with_formatter(self[i], indent + 1, summarize, formatter1)
                for i in range(PRINT_OPTS.edgeitems)
            ]
            + ["..."]
            + [
                _tensor_str_with_formatter(self[i], indent + 1, summarize, formatter1)
                for i in range(n - PRINT_OPTS.edgeitems, n)
            ]
        )
    else:
        slices = [
            _tensor_str_with_formatter(self[i], indent + 1, summarize, formatter1)
            for i in range(n)
        ]

    tensor_str = ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices)
    return "[" + tensor_str + "]"


def get_summarized_data(self):
    """numpy equivalent of torch's ``get_summarized_data``.

    PyTorch recurses dimension by dimension, keeping the first and last
    ``edgeitems`` entries of every dimension longer than ``2 * edgeitems``;
    since all sub-tensors share a shape that is the same as indexing each axis
    independently.
    """
    dim = self.ndim
    if dim == 0:
        return self
    if dim >= 2 and not PRINT_OPTS.edgeitems:
        return np.empty([0] * dim, dtype=self.dtype)
    e = PRINT_OPTS.edgeitems
    index = []
    for size in self.shape:
        if size > 2 * e:
            index.append(np.concatenate([np.arange(e), np.arange(size - e, size)]))
        else:
            index.append(np.arange(size))
    return self[np.ix_(*index)]


def _tensor_str(self, indent):
    if self.size == 0:
        return "[]"

    summarize = self.size > PRINT_OPTS.threshold

    formatter = _Formatter(get_summarized_data(self) if summarize else self)
    return _tensor_str_with_formatter(self, indent, summarize, formatter)


def _add_suffixes(tensor_str, suffixes, indent, force_newline):
    tensor_strs = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        suffix_len = len(suffix)
        if force_newline or last_line_len + suffix_len + 2 > PRINT_OPTS.linewidth:
            tensor_strs.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
            force_newline = False
        else:
            tensor_strs.append(", " + suffix)
            last_line_len += suffix_len + 2
    tensor_strs.append(")")
    return "".join(tensor_strs)


def _device_str(device):
    device = str(device)
    if device == "cuda":
        return "cuda:0"
    return device


def format_tensor(
    values,
    dtype_name,
    *,
    requires_grad=False,
    grad_fn_name=None,
    device="cpu",
    default_dtype_name="float32",
    is_nested_in_parameter=False,
):
    """Return exactly what ``repr(torch_tensor)`` would return.

    ``values``: numpy array (any ndim, including 0-d) with the tensor's data.
    ``dtype_name``: "float32", "float64", "int64", "bool" (other numpy-backed
    names such as "int32"/"float16" work too).
    ``is_nested_in_parameter``: render like ``repr(torch.nn.Parameter(...))``,
    i.e. prefixed by ``"Parameter containing:\\n"``.
    """
    dtype_name = _canonical_dtype_name(dtype_name)
    default_dtype_name = _canonical_dtype_name(default_dtype_name)
    np_dtype = _NUMPY_DTYPES.get(dtype_name)
    if np_dtype is not None:
        arr = np.asarray(values, dtype=np_dtype)
    else:
        arr = np.asarray(values)

    prefix = "tensor("
    indent = len(prefix)
    suffixes = []

    device = _device_str(device)
    if device.split(":", 1)[0] != "cpu":
        suffixes.append("device='" + device + "'")

    has_default_dtype = dtype_name in (default_dtype_name, "int64", "bool")
    dtype_str = "torch." + dtype_name

    if arr.size == 0:
        # Explicitly print the shape if it is not (0,), to match NumPy behavior
        if arr.ndim != 1:
            suffixes.append("size=" + str(tuple(int(s) for s in arr.shape)))
        # In an empty tensor, there are no elements to infer if the dtype
        # should be int64, so it must be shown explicitly.
        if dtype_name != default_dtype_name:
            suffixes.append("dtype=" + dtype_str)
        tensor_str = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(int(s) for s in arr.shape)))
        if not has_default_dtype:
            suffixes.append("dtype=" + dtype_str)
        tensor_str = _tensor_str(arr, indent)

    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")

    string_repr = _add_suffixes(prefix + tensor_str, suffixes, indent, False)

    if is_nested_in_parameter:
        string_repr = "Parameter containing:\n" + string_repr
    return string_repr
