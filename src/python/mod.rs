//! The `rustgrad._core` extension module.

mod convert;
mod dtype;
mod errors;
mod functions;
mod index;
mod tensor;

use pyo3::prelude::*;

use crate::autograd::arena::{self, NodeRef};

/// A backward node, as `tensor.grad_fn` shows it.
#[pyclass(name = "Node", module = "rustgrad.autograd", frozen)]
pub struct PyNode(NodeRef);

#[pymethods]
impl PyNode {
    fn name(&self) -> &'static str {
        arena::name(self.0.id())
    }

    fn __repr__(slf: &Bound<'_, Self>) -> String {
        format!("<{} object at {:#x}>", slf.get().name(), slf.as_ptr() as usize)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyNode>().is_ok_and(|o| o.get().0.id() == self.0.id())
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.0.id().hash(&mut h);
        h.finish()
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<dtype::PyDType>()?;
    m.add_class::<dtype::PyDevice>()?;
    m.add_class::<PyNode>()?;
    let py = m.py();
    for d in [crate::dtype::DType::Bool, crate::dtype::DType::I64, crate::dtype::DType::F32, crate::dtype::DType::F64] {
        m.add(d.name(), dtype::dtype_object(py, d).clone_ref(py))?;
    }
    macro_rules! functions {
        ($($f:path),* $(,)?) => { $( m.add_function(wrap_pyfunction!($f, m)?)?; )* };
    }
    functions!(
        functions::tensor,
        functions::zeros,
        functions::ones,
        functions::empty,
        functions::full,
        functions::zeros_like,
        functions::ones_like,
        functions::full_like,
        functions::randn_like,
        functions::rand_like,
        functions::eye,
        functions::arange,
        functions::linspace,
        functions::randn,
        functions::rand,
        functions::randint,
        functions::manual_seed,
        functions::initial_seed,
        functions::is_grad_enabled,
        functions::_set_grad_enabled,
        functions::run_backward,
        functions::binary_cross_entropy_with_logits,
        functions::cuda_is_available,
        functions::cuda_device_count,
        functions::_live_nodes,
        tensor::_set_size_class,
    );
    Ok(())
}
