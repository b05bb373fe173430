//! `torch.Generator`, `get_rng_state`/`set_rng_state`, and reading a
//! `generator=` argument.

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;

use super::tensor::{wrap, PyTensor};
use crate::dtype::DType;
use crate::random::{self, Generator, SharedGenerator, STATE_BYTES};
use crate::tensor::Tensor;

/// A random number generator (`torch.Generator`): pass it as `generator=` to
/// `rand`, `randn`, `randint`, `randperm`, `normal`, `multinomial`, the
/// in-place samplers and `DataLoader`, to draw from a stream of its own.
/// `device` must be "cpu" (RuntimeError otherwise). Its numbers are
/// rustgrad's (xoshiro256**), not PyTorch's Mersenne Twister's.
#[pyclass(name = "Generator", module = "rustgrad", frozen)]
pub struct PyGenerator(pub SharedGenerator);

#[pymethods]
impl PyGenerator {
    #[new]
    #[pyo3(signature = (device=None))]
    fn new(device: Option<&Bound<'_, PyAny>>) -> PyResult<PyGenerator> {
        if let Some(d) = device {
            if let crate::device::Device::Cuda(_) = super::dtype::parse_device(d)? {
                return Err(PyRuntimeError::new_err("CUDA generators are not available in this build"));
            }
        }
        Ok(PyGenerator(std::sync::Arc::new(parking_lot::Mutex::new(Generator::nondeterministic()))))
    }

    /// Reseeds with `seed` (an int; negative values wrap to 64 bits) and
    /// returns the generator.
    fn manual_seed(slf: Bound<'_, Self>, seed: i128) -> Bound<'_, Self> {
        *slf.get().0.lock() = Generator::new(seed as u64);
        slf
    }

    /// Reseeds from the clock and returns the new seed.
    fn seed(&self) -> u64 {
        let mut g = self.0.lock();
        *g = Generator::nondeterministic();
        g.seed()
    }

    /// The seed this generator was last seeded with.
    fn initial_seed(&self) -> u64 {
        self.0.lock().seed()
    }

    /// The full state as a uint8 tensor of 40 bytes, for `set_state`.
    fn get_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, Tensor::from_vec(self.0.lock().state(), &[STATE_BYTES]))
    }

    /// Restores a state from `get_state`; returns the generator.
    /// TypeError for a non-uint8 tensor, RuntimeError for a wrong size.
    fn set_state<'py>(slf: Bound<'py, Self>, state: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, Self>> {
        set_state(&slf.get().0, &state.tensor())?;
        Ok(slf)
    }

    /// Always `device(type='cpu')`.
    #[getter]
    fn device<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, super::dtype::PyDevice>> {
        Bound::new(py, super::dtype::PyDevice(crate::device::Device::Cpu))
    }
}

fn set_state(generator: &SharedGenerator, state: &Tensor) -> PyResult<()> {
    if state.dtype() != DType::U8 {
        return Err(PyTypeError::new_err(format!(
            "expected a torch.ByteTensor, but got {} tensor",
            state.dtype().name()
        )));
    }
    let bytes: Vec<u8> = <u8 as crate::cpu_backend::Storable>::into_vec(state.to_dense());
    generator
        .lock()
        .set_state(&bytes)
        .ok_or_else(|| PyRuntimeError::new_err(format!("Expected RNG state of {STATE_BYTES} bytes, got {}", bytes.len())))
}

/// The default generator's state (`torch.get_rng_state()`): a uint8 tensor.
#[pyfunction]
pub fn get_rng_state(py: Python<'_>) -> PyResult<Bound<'_, PyTensor>> {
    wrap(py, Tensor::from_vec(random::default_generator().lock().state(), &[STATE_BYTES]))
}

/// Restores the default generator from `get_rng_state()`. TypeError for a
/// non-uint8 tensor, RuntimeError for a wrong size.
#[pyfunction]
pub fn set_rng_state(new_state: PyRef<'_, PyTensor>) -> PyResult<()> {
    set_state(&random::default_generator(), &new_state.tensor())
}

/// A `generator=` argument: None (the default generator) or a Generator.
pub fn generator_arg(generator: Option<&Bound<'_, PyAny>>) -> PyResult<Option<SharedGenerator>> {
    match generator {
        None => Ok(None),
        Some(g) if g.is_none() => Ok(None),
        Some(g) => match g.cast::<PyGenerator>() {
            Ok(g) => Ok(Some(g.get().0.clone())),
            Err(_) => Err(PyTypeError::new_err(format!(
                "generator must be a torch.Generator, not {}",
                g.get_type().name()?
            ))),
        },
    }
}

/// `torch.default_generator`: the generator `manual_seed` reseeds.
pub fn default_generator_object(py: Python<'_>) -> PyResult<Py<PyGenerator>> {
    Py::new(py, PyGenerator(random::default_generator()))
}
