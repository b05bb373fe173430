//! Int arguments read as PyTorch reads them. For an int outside int64
//! (`x.sum(2**63)`), PyO3's `i64` extraction raises OverflowError, which is
//! outside the exceptions PyTorch raises: its argument parser raises
//! ValueError for an int argument, and TypeError naming the function, the
//! argument and the element for an element of an int list
//! (`x.view(2**63)`). These helpers extract as PyO3 does and reword only
//! the overflow, on the error path: a valid call costs nothing more.
//!
//! Int parameters of bindings take `#[pyo3(from_py_with = int64)] dim: i64`
//! (or `opt_int64` for `Option<i64>`), which keeps their defaults and text
//! signatures; int lists go through `int64_list` (or `list_overflow`).

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;

use super::tensor::PyTensor;

/// PyTorch's message for an int outside int64 (`THPUtils_unpackLong`).
const OVERFLOW: &str = "Overflow when unpacking long long";

/// Whether `err` is PyO3's error for an int outside the target type.
pub fn is_overflow(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<PyOverflowError>(py)
}

/// An int argument (`dim`, `index`, `k`, ...) as i64. ValueError for an int
/// outside int64; other errors (TypeError for a non-int) are PyO3's.
pub fn int64(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    obj.extract::<i64>().map_err(|e| if is_overflow(obj.py(), &e) { PyValueError::new_err(OVERFLOW) } else { e })
}

/// `obj` as an int64 when it is an int (or has `__index__`, as a 0-d
/// integer tensor), None when it is not one; a Python int beyond int64 is
/// `int64`'s ValueError rather than "not an int".
pub fn maybe_int64(obj: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    match int64(obj) {
        Ok(i) => Ok(Some(i)),
        Err(e) if obj.is_instance_of::<pyo3::types::PyInt>() => Err(e),
        Err(_) => Ok(None),
    }
}

/// An optional int argument (`dim=None`), as `int64`.
pub fn opt_int64(obj: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    if obj.is_none() { Ok(None) } else { int64(obj).map(Some) }
}

/// An int argument read in the body rather than before it (`Ok` always):
/// PyTorch matches every argument's type before it unpacks any int, so
/// `cat(tensor, 2**63)` is a TypeError for the tensor, not the overflow.
pub fn int64_later(obj: &Bound<'_, PyAny>) -> PyResult<PyResult<i64>> {
    Ok(int64(obj))
}

/// A sequence of ints (sizes, dims), the argument `param` of `func`, as
/// `Vec<i64>`; an element outside int64 gives PyTorch's TypeError, and so
/// does a tensor: PyO3 would iterate it (`x.sum(torch.empty(0))` read as
/// `dim=[]`, all dims), but PyTorch's parser never takes one for an int list
/// (a one-element integer tensor as one int is the callers' `int64`).
pub fn int64_list(obj: &Bound<'_, PyAny>, func: &str, param: &str) -> PyResult<Vec<i64>> {
    if obj.is_instance_of::<PyTensor>() {
        return Err(PyTypeError::new_err(format!("{func}(): argument '{param}' must be tuple of ints, not Tensor")));
    }
    obj.extract::<Vec<i64>>().map_err(|e| if is_overflow(obj.py(), &e) { list_overflow(obj, func, param) } else { e })
}

/// PyTorch's TypeError for the sequence `obj` (argument `param` of `func`)
/// with an element outside int64, e.g. `expand(): argument 'size' failed to
/// unpack the object at pos 1 with error "Overflow when unpacking long long"`.
#[cold]
pub fn list_overflow(obj: &Bound<'_, PyAny>, func: &str, param: &str) -> PyErr {
    // PyO3 does not say which element overflowed: find it (1-based, as
    // PyTorch counts).
    let py = obj.py();
    let pos = obj
        .try_iter()
        .ok()
        .and_then(|items| items.into_iter().position(|item| item.and_then(|i| i.extract::<i64>()).is_err_and(|e| is_overflow(py, &e))))
        .map_or(1, |p| p + 1);
    PyTypeError::new_err(format!("{func}(): argument '{param}' failed to unpack the object at pos {pos} with error \"{OVERFLOW}\""))
}
