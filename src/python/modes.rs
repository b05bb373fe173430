//! Switches with a Python face: anomaly detection, inference mode and
//! `saved_tensors_hooks`.

use std::sync::Arc;

use pyo3::prelude::*;

use super::errors::foreign;
use super::tensor::{wrap, PyTensor};
use crate::autograd::node::{pop_saved_hooks, push_saved_hooks, PackedTensor, SavedTensorHooks};
use crate::autograd::{anomaly, grad_mode};
use crate::tensor::Tensor;

#[pyfunction]
#[pyo3(signature = (enabled, check_nan=true))]
pub fn _set_anomaly_enabled(enabled: bool, check_nan: bool) {
    anomaly::set_enabled(enabled, check_nan);
}

#[pyfunction]
pub fn _is_anomaly_enabled() -> bool {
    anomaly::is_enabled()
}

#[pyfunction]
pub fn _is_anomaly_check_nan_enabled() -> bool {
    anomaly::check_nan()
}

/// Anomaly mode keeps the Python stack of each node's forward call.
pub fn install_trace_provider() {
    anomaly::set_trace_provider(Box::new(|| {
        Python::attach(|py| -> PyResult<String> {
            let stack = py.import("traceback")?.call_method0("format_stack")?;
            Ok(stack.extract::<Vec<String>>()?.concat())
        })
        .ok()
    }));
}

/// Sets this thread's inference mode; returns the previous one.
#[pyfunction]
pub fn _set_inference_mode(enabled: bool) -> bool {
    grad_mode::set_inference(enabled)
}

/// True if this thread is inside `torch.inference_mode()`.
#[pyfunction]
pub fn is_inference_mode_enabled() -> bool {
    grad_mode::is_inference()
}

struct PythonHooks {
    pack: Py<PyAny>,
    unpack: Arc<Py<PyAny>>,
}

struct Packed {
    value: Py<PyAny>,
    unpack: Arc<Py<PyAny>>,
}

impl PackedTensor for Packed {
    fn unpack(&self) -> crate::Result<Tensor> {
        let _no_grad = crate::autograd::grad_mode::GradModeGuard::new(false);
        Python::attach(|py| -> PyResult<Tensor> {
            let out = self.unpack.call1(py, (self.value.clone_ref(py),))?;
            let t = out.bind(py).cast::<PyTensor>().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err("Output of saved tensor unpack_hook expected to be a Tensor but got result of type ...".replace("...", &out.bind(py).get_type().name().map(|n| n.to_string()).unwrap_or_default()))
            })?;
            Ok(t.get().tensor().clone())
        })
        .map_err(foreign)
    }
}

impl SavedTensorHooks for PythonHooks {
    fn pack(&self, t: &Tensor) -> crate::Result<Box<dyn PackedTensor>> {
        let _no_grad = crate::autograd::grad_mode::GradModeGuard::new(false);
        Python::attach(|py| -> PyResult<Box<dyn PackedTensor>> {
            let value = self.pack.call1(py, (wrap(py, t.clone())?,))?;
            Ok(Box::new(Packed { value, unpack: self.unpack.clone() }))
        })
        .map_err(foreign)
    }
}

#[pyfunction]
pub fn _push_saved_tensors_hooks(pack_hook: Py<PyAny>, unpack_hook: Py<PyAny>) {
    push_saved_hooks(Arc::new(PythonHooks { pack: pack_hook, unpack: Arc::new(unpack_hook) }));
}

#[pyfunction]
pub fn _pop_saved_tensors_hooks() {
    pop_saved_hooks();
}
