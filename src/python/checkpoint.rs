//! Bindings of `crate::checkpoint`: `rustgrad.save`/`load` (in
//! `serialization.py`) turn Python structures into named tensors and
//! metadata and call these for the bytes.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::tensor::{wrap, PyTensor};
use crate::checkpoint;
use crate::tensor::Tensor;

/// The safetensors bytes of `tensors` (a list of `(name, Tensor)` pairs with
/// distinct names; each is written densely, its data only) with `metadata`
/// (str to str). RuntimeError if the names repeat.
#[pyfunction]
pub fn _safetensors_dumps<'py>(py: Python<'py>, tensors: Vec<(String, PyRef<'py, PyTensor>)>, metadata: HashMap<String, String>) -> PyResult<Bound<'py, PyBytes>> {
    let named: Vec<(String, Tensor)> = tensors.into_iter().map(|(n, t)| (n, t.tensor().detach())).collect();
    let bytes = py.detach(|| checkpoint::serialize(&named, metadata))?;
    Ok(PyBytes::new(py, &bytes))
}

/// `(tensors, metadata)` from safetensors bytes: a dict of name to a new
/// tensor (in file order) and the metadata dict. RuntimeError for a
/// truncated, corrupted or malformed file.
#[pyfunction]
pub fn _safetensors_loads<'py>(py: Python<'py>, data: &[u8]) -> PyResult<(Bound<'py, PyDict>, HashMap<String, String>)> {
    let (named, metadata) = checkpoint::deserialize(data)?;
    let tensors = PyDict::new(py);
    for (name, t) in named {
        tensors.set_item(name, wrap(py, t)?)?;
    }
    Ok((tensors, metadata))
}
