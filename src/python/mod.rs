//! The `rustgrad._core` extension module.

mod checkpoint;
mod convert;
mod dtype;
mod elementwise;
mod errors;
mod function;
mod functions;
mod graph;
mod index;
mod ints;
mod linalg;
mod modes;
mod optim;
mod panics;
mod random;
mod shape;
mod sharing;
mod tensor;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<dtype::PyDType>()?;
    m.add_class::<dtype::PyDevice>()?;
    m.add_class::<random::PyGenerator>()?;
    m.add("default_generator", random::default_generator_object(m.py())?)?;
    m.add_class::<graph::PyNode>()?;
    m.add_class::<graph::PyAccumulateGrad>()?;
    m.add_class::<graph::InputMetadata>()?;
    m.add_class::<graph::RemovableHandle>()?;
    m.add_class::<function::SavedTensors>()?;
    modes::install_trace_provider();
    panics::install_hook();
    m.add("_OUT_OF_MEMORY", crate::cpu_backend::OUT_OF_MEMORY)?;
    m.add("_UNARY_FUNCTIONS", pyo3::types::PyTuple::new(m.py(), elementwise::UNARY_FUNCTIONS)?)?;
    let py = m.py();
    for &d in crate::dtype::DType::ALL {
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
        functions::memory_stats,
        panics::_panic_exception_type,
        panics::_panic_for_tests,
        functions::is_grad_enabled,
        functions::_set_grad_enabled,
        functions::run_backward,
        optim::_optimizer_step,
        optim::_optimizer_state_names,
        checkpoint::_safetensors_dumps,
        checkpoint::_safetensors_loads,
        functions::run_grad,
        functions::cat,
        functions::stack,
        elementwise::where_,
        elementwise::softplus,
        elementwise::leaky_relu,
        elementwise::elu,
        elementwise::selu,
        elementwise::celu,
        elementwise::hardtanh,
        elementwise::relu6,
        elementwise::hardsigmoid,
        elementwise::hardswish,
        elementwise::gelu,
        elementwise::logit,
        elementwise::silu,
        elementwise::mish,
        elementwise::softsign,
        function::_function_record,
        random::get_rng_state,
        random::set_rng_state,
        linalg::_linalg_inv,
        linalg::_linalg_det,
        linalg::_linalg_solve,
        linalg::_linalg_cholesky,
        linalg::_linalg_qr,
        linalg::_linalg_svd,
        linalg::_linalg_eigh,
        modes::_set_anomaly_enabled,
        modes::_is_anomaly_enabled,
        modes::_is_anomaly_check_nan_enabled,
        modes::_set_inference_mode,
        modes::is_inference_mode_enabled,
        modes::_push_saved_tensors_hooks,
        modes::_pop_saved_tensors_hooks,
        functions::binary_cross_entropy_with_logits,
        functions::cuda_is_available,
        functions::cuda_device_count,
        functions::_live_nodes,
        tensor::_set_size_class,
        sharing::from_numpy,
        sharing::from_dlpack,
    );
    Ok(())
}
