//! Rust errors become the Python exceptions PyTorch raises, and Python
//! exceptions raised by user code inside the engine (hooks, custom
//! Functions) travel through it unchanged.

use std::sync::Arc;

use pyo3::exceptions::{PyIndexError, PyNotImplementedError, PyRuntimeError, PyTypeError, PyUserWarning, PyValueError};
use pyo3::{PyErr, Python};

use crate::error::{Error, Foreign};

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Runtime(m) => PyRuntimeError::new_err(m),
            Error::Value(m) => PyValueError::new_err(m),
            Error::Type(m) => PyTypeError::new_err(m),
            Error::Index(m) => PyIndexError::new_err(m),
            Error::NotImplemented(m) => PyNotImplementedError::new_err(m),
            Error::Foreign(f) => match f.value.downcast_ref::<PyErr>() {
                Some(err) => Python::attach(|py| err.clone_ref(py)),
                None => PyRuntimeError::new_err(f.message),
            },
            Error::Anomaly { node, trace, cause } => {
                // PyTorch reports the forward traceback as a warning, then
                // raises the node's own error.
                Python::attach(|py| {
                    let msg = format!("Error detected in {node}. Traceback of forward call that caused the error:\n{trace}");
                    let warning = std::ffi::CString::new(msg).unwrap_or_default();
                    match PyErr::warn(py, &py.get_type::<PyUserWarning>(), &warning, 1) {
                        Ok(()) => PyErr::from(*cause),
                        Err(raised) => raised,
                    }
                })
            }
        }
    }
}

/// Carries a Python exception through Rust code that returns `Error`.
pub fn foreign(err: PyErr) -> Error {
    let message = err.to_string();
    Error::Foreign(Foreign { value: Arc::new(err), message })
}
