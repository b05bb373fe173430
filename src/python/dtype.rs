//! `torch.dtype` and `torch.device` objects.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

use crate::device::Device;
use crate::dtype::DType;

/// The element type of a tensor (`torch.dtype`): `torch.bool`, `torch.uint8`,
/// `torch.int8`, `torch.int16`, `torch.int32`, `torch.int64`,
/// `torch.float16`, `torch.bfloat16`, `torch.float32` or `torch.float64`. There is one object per dtype, so
/// `t.dtype is torch.float32`; it pickles by name. Not constructible.
#[pyclass(name = "dtype", module = "rustgrad", frozen, eq, hash, skip_from_py_object)]
#[derive(PartialEq, Eq, Hash, Clone, Copy)]
pub struct PyDType(pub DType);

#[pymethods]
impl PyDType {
    fn __repr__(&self) -> String {
        format!("torch.{}", self.0.name())
    }

    /// True for float16, bfloat16, float32 and float64.
    #[getter]
    fn is_floating_point(&self) -> bool {
        self.0.is_float()
    }

    /// True for every dtype but bool and uint8.
    #[getter]
    fn is_signed(&self) -> bool {
        !matches!(self.0, DType::Bool | DType::U8)
    }

    /// Bytes per element: 1 (bool, uint8, int8), 2 (int16, float16,
    /// bfloat16), 4 (int32, float32) or 8 (int64, float64).
    #[getter]
    fn itemsize(&self) -> usize {
        self.0.itemsize()
    }

    fn __reduce__(&self) -> (String,) {
        (self.0.name().to_string(),)
    }
}

static DTYPES: PyOnceLock<Vec<Py<PyDType>>> = PyOnceLock::new();

/// The one Python object for each dtype, so `t.dtype is torch.float32`.
pub fn dtype_object(py: Python<'_>, dtype: DType) -> &Py<PyDType> {
    let all = DTYPES.get_or_init(py, || {
        DType::ALL.iter().map(|&d| Py::new(py, PyDType(d)).expect("dtype object")).collect()
    });
    &all[dtype as usize]
}

/// Where a tensor's data lives (`torch.device`): `device('cpu')`,
/// `device('cuda')`, `device('cuda:1')`, `device('cuda', 1)` or `device(1)`
/// (a CUDA index; `index` is ignored for the CPU). RuntimeError for an
/// unknown string, a negative index, or CUDA when this build or machine has
/// none; ValueError for an index outside int64; TypeError for other argument
/// types.
#[pyclass(name = "device", module = "rustgrad", frozen, eq, hash, skip_from_py_object)]
#[derive(PartialEq, Eq, Hash, Clone, Copy)]
pub struct PyDevice(pub Device);

#[pymethods]
impl PyDevice {
    #[new]
    #[pyo3(signature = (spec, index=None))]
    fn new(spec: &Bound<'_, PyAny>, index: Option<&Bound<'_, PyAny>>) -> PyResult<PyDevice> {
        // PyTorch matches the argument types before it reads any value:
        // `device(tensor, -99)` and `device(1, 1)` are TypeErrors.
        if let (Some(i), false) = (index, spec.is_instance_of::<PyString>()) {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "device() received an invalid combination of arguments - got ({}, {}), but expected one of: \
                 (torch.device device), (str type, int index), (int index)",
                spec.get_type().name()?,
                i.get_type().name()?
            )));
        }
        let mut device = parse_device(spec)?;
        if let Some(i) = index {
            let i = device_index(super::ints::int64(i)?)?;
            if let Device::Cuda(_) = device {
                device = Device::Cuda(i);
            }
        }
        Ok(PyDevice(device))
    }

    /// The device type: 'cpu' or 'cuda'.
    #[getter]
    fn r#type(&self) -> &'static str {
        match self.0 {
            Device::Cpu => "cpu",
            Device::Cuda(_) => "cuda",
        }
    }

    /// The CUDA device index (an int), or None for the CPU.
    #[getter]
    fn index(&self) -> Option<usize> {
        match self.0 {
            Device::Cpu => None,
            Device::Cuda(i) => Some(i),
        }
    }

    fn __repr__(&self) -> String {
        match self.0 {
            Device::Cpu => "device(type='cpu')".into(),
            Device::Cuda(i) => format!("device(type='cuda', index={i})"),
        }
    }

    fn __str__(&self) -> String {
        self.0.name()
    }
}

/// A `device=` argument: a string, a `device`, or an index for CUDA.
pub fn parse_device(spec: &Bound<'_, PyAny>) -> PyResult<Device> {
    if let Ok(d) = spec.cast::<PyDevice>() {
        return Ok(d.get().0);
    }
    if let Ok(s) = spec.cast::<PyString>() {
        return Ok(Device::parse(&s.to_cow()?)?);
    }
    if let Some(i) = super::ints::maybe_int64(spec)? {
        return Ok(Device::parse(&format!("cuda:{}", device_index(i)?))?);
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "Expected a torch.device or a string, but got {}",
        spec.get_type().name()?
    )))
}

/// A device index from Python: PyTorch refuses a negative one (C++'s -1,
/// "the current device", is not for Python).
fn device_index(i: i64) -> PyResult<usize> {
    usize::try_from(i).map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("Device index must not be negative"))
}
