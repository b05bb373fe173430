//! Python index objects (`int`, `slice`, `None`, `...`, tuples) for
//! `__getitem__` / `__setitem__`.

use pyo3::exceptions::{PyNotImplementedError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyEllipsis, PyInt, PySlice, PyTuple};

use super::convert::tensor_from_data;
use super::tensor::PyTensor;
use crate::dtype::DType;
use crate::ops::index::{self, IndexItem};

use crate::tensor::Tensor;

fn item(obj: &Bound<'_, PyAny>) -> PyResult<IndexItem> {
    if obj.is_none() {
        return Ok(IndexItem::NewAxis);
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(IndexItem::Ellipsis);
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return Ok(IndexItem::Int(obj.extract()?));
    }
    if let Ok(s) = obj.cast::<PySlice>() {
        let part = |name: &str| -> PyResult<Option<i64>> {
            let v = s.getattr(name)?;
            if v.is_none() { Ok(None) } else { Ok(Some(v.extract()?)) }
        };
        return Ok(IndexItem::Slice { start: part("start")?, stop: part("stop")?, step: part("step")? });
    }
    if let Ok(t) = obj.cast::<PyTensor>() {
        let t = &t.get().tensor();
        if t.dtype() == DType::I64 && t.ndim() == 0 {
            if let crate::dtype::Scalar::Int(i) = t.item()? {
                return Ok(IndexItem::Int(i));
            }
        }
    }
    if obj.is_instance_of::<pyo3::types::PyFloat>() || obj.is_instance_of::<PyBool>() {
        return Err(pyo3::exceptions::PyIndexError::new_err(format!(
            "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got {})",
            obj.get_type().name()?
        )));
    }
    Err(PyNotImplementedError::new_err(format!(
        "indexing with {} (advanced indexing) is not supported yet; use ints, slices, None and ...",
        obj.get_type().name()?
    )))
}

fn items(index: &Bound<'_, PyAny>) -> PyResult<Vec<IndexItem>> {
    match index.cast::<PyTuple>() {
        Ok(t) => t.iter().map(|i| item(&i)).collect(),
        Err(_) => Ok(vec![item(index)?]),
    }
}

pub fn get(t: &Tensor, index_obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    Ok(index::index(t, &items(index_obj)?)?)
}

/// `t[index] = value`: writes into the selected view.
pub fn set(t: &Tensor, index_obj: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let value = match value.cast::<PyTensor>() {
        Ok(v) => v.get().tensor().clone(),
        Err(_) => tensor_from_data(value, Some(t.dtype())).map_err(|_| {
            PyTypeError::new_err("can't assign a non-numeric value to a tensor")
        })?,
    };
    let items = items(index_obj)?;
    // An index that selects everything (`...`, `:`) writes into `t` itself,
    // not into a view of it, as in PyTorch.
    let target = if index::selects_everything(&items, t.shape()) { t.clone() } else { index::index(t, &items)? };
    // Leading size-1 dimensions of the value beyond the target's are dropped
    // (PyTorch's setitem does so before broadcasting).
    let mut value = value;
    while value.ndim() > target.ndim() && value.shape()[0] == 1 {
        value = crate::ops::view::squeeze(&value, Some(0))?;
    }
    Ok(crate::ops::inplace::copy_(&target, &value)?)
}
