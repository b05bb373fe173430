//! Zero-copy exchange with NumPy and DLPack (`torch.from_numpy`,
//! `Tensor.numpy`, `Tensor.__dlpack__`, `torch.from_dlpack`): a tensor and
//! the other library's array view the same memory, so a write through one
//! is seen by the other. Memory we lend out is kept alive by an `Arc` of its
//! storage; memory we borrow by the lender's own handle (see `Buffer`).

use std::ffi::{c_void, CStr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dlpark::ffi::{DLDataType, DLDataTypeCode, DLDevice, DLDeviceType, DLManagedTensor, DLManagedTensorVersioned};
use dlpark::{DlpackFlags, Managed, ManagedTensorBase};
use ndarray::{ArrayViewD, IxDyn, ShapeBuilder};
use numpy::{PyArray, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyBufferError, PyRuntimeError, PyTypeError, PyUserWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::ffi;
use pyo3::types::IntoPyDict;

use super::tensor::{wrap, PyTensor};
use crate::cpu_backend::{Buffer, Element, Owner};
use crate::dtype::DType;
use crate::layout::{Layout, Strides};
use crate::storage::Storage;
use crate::tensor::Tensor;

/// Keeps a tensor's storage alive for as long as NumPy views it: the base
/// object of arrays from `Tensor.numpy()`. It holds the storage, not the
/// tensor, since `x.data = y` can give the tensor other storage later.
#[pyclass(frozen, module = "rustgrad")]
struct SharedStorage(#[allow(dead_code)] Arc<Storage>);

/// A NumPy array viewing the tensor's memory (same shape, strides, dtype).
pub fn to_numpy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    fn view<'py, T: Element + numpy::Element>(t: &Tensor, owner: Bound<'py, PyAny>) -> Bound<'py, PyAny> {
        let shape = IxDyn(t.shape());
        let strides = IxDyn(&t.layout().strides.iter().map(|&s| s as usize).collect::<Vec<_>>());
        // SAFETY: the pointer and strides address this tensor's elements in
        // a buffer that never moves; `owner`, holding the storage, becomes
        // the array's base, so the memory outlives the array.
        unsafe {
            let v = ArrayViewD::from_shape_ptr(shape.strides(strides), t.data_ptr() as *const T);
            PyArray::<T, IxDyn>::borrow_from_array(&v, owner).into_any()
        }
    }
    has_numpy_dtype(t.dtype())?;
    if crate::layout::check_size(t.shape(), t.dtype().itemsize()).is_err() {
        return Err(PyValueError::new_err("array is too big; `arr.size * arr.dtype.itemsize` is larger than the maximum possible size."));
    }
    let owner = Bound::new(py, SharedStorage(t.storage().clone()))?.into_any();
    Ok(crate::with_dtype!(t.dtype(), T => view::<T>(t, owner)))
}

/// NumPy has no bfloat16: PyTorch's TypeError for such tensors.
pub fn has_numpy_dtype(dtype: DType) -> PyResult<()> {
    if dtype == DType::BF16 {
        return Err(PyTypeError::new_err("Got unsupported ScalarType BFloat16"));
    }
    Ok(())
}

/// `torch.from_numpy(array)`: a tensor sharing the array's memory, shape
/// and strides. TypeError for a non-array or an unsupported dtype,
/// ValueError for negative strides, strides that are not whole elements or
/// a non-native byte order, as PyTorch; a UserWarning (once) for a
/// read-only array, which is shared all the same.
#[pyfunction]
pub fn from_numpy(ndarray: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
    let t = share_numpy(ndarray)?;
    Ok(wrap(ndarray.py(), t)?.unbind())
}

pub fn share_numpy(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let Ok(array) = obj.cast::<PyUntypedArray>() else {
        return Err(PyTypeError::new_err(format!("expected np.ndarray (got {})", obj.get_type().name()?)));
    };
    for share in [share_typed::<f32>, share_typed::<f64>, share_typed::<i64>, share_typed::<bool>, share_typed::<i32>,
        share_typed::<i16>, share_typed::<i8>, share_typed::<u8>, share_typed::<half::f16>]
    {
        if let Some(t) = share(array)? {
            return Ok(t);
        }
    }
    let dtype = array.dtype();
    if !dtype.is_native_byteorder().unwrap_or(true) {
        return Err(PyValueError::new_err(
            "given numpy array has byte order different from the native byte order. Conversion between byte orders is currently not supported.",
        ));
    }
    Err(PyTypeError::new_err(format!(
        "can't convert np.ndarray of type numpy.{}. The only supported types are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool.",
        dtype.getattr("name")?
    )))
}

fn share_typed<T: Element + numpy::Element>(array: &Bound<'_, PyUntypedArray>) -> PyResult<Option<Tensor>> {
    let Ok(typed) = array.cast::<PyArrayDyn<T>>() else { return Ok(None) };
    let item = std::mem::size_of::<T>() as isize;
    let mut strides = Strides::new();
    for &s in typed.strides() {
        if s < 0 {
            return Err(PyValueError::new_err(
                "At least one stride in the given numpy array is negative, and tensors with negative strides are not currently supported. (You can probably work around this by making a copy of your array  with array.copy().) ",
            ));
        }
        if s % item != 0 {
            return Err(PyValueError::new_err(
                "given numpy array strides not a multiple of the element byte size. Copy the numpy array to reallocate the memory.",
            ));
        }
        strides.push(s / item);
    }
    if !typed.getattr("flags")?.getattr("writeable")?.extract::<bool>()? {
        warn_read_only(array.py())?;
    }
    let layout = Layout { shape: typed.shape().into(), strides, offset: 0 };
    let owner: Owner = Box::new(typed.clone().into_any().unbind());
    Ok(Some(borrow::<T>(typed.data(), layout, owner)?))
}

/// PyTorch's warning for read-only arrays, once per process.
fn warn_read_only(py: Python<'_>) -> PyResult<()> {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        PyErr::warn(
            py,
            &py.get_type::<PyUserWarning>(),
            c"The given NumPy array is not writable, and PyTorch does not support non-writable tensors. This means writing to this tensor will result in undefined behavior. You may want to copy the array to protect its data or make it writable before converting it to a tensor. This type of warning will be suppressed for the rest of this program.",
            1,
        )?;
    }
    Ok(())
}

/// A tensor over foreign memory at `ptr` seen through `layout` (element
/// strides, which may be negative, and an offset to the first element),
/// kept alive by `owner`. Memory that is misaligned for `T` (a NumPy array
/// over a byte buffer at an odd offset) cannot be a Rust slice, so it is
/// copied instead; so is an empty tensor, which has no memory to share.
fn borrow<T: Element>(ptr: *mut T, layout: Layout, owner: Owner) -> PyResult<Tensor> {
    let (low, high) = extent(&layout).ok_or_else(|| PyBufferError::new_err("array extent overflows the address space"))?;
    let len = (high - low) as usize;
    let start = ptr.wrapping_offset(low);
    if len > 0 && start.is_null() {
        return Err(PyBufferError::new_err("array data pointer is null"));
    }
    let layout = Layout { offset: (layout.offset as isize - low) as usize, ..layout };
    // A Rust bool must be 0 or 1; other libraries' bool bytes can be any
    // value (a uint8 view written through), so such memory is copied and
    // normalised rather than shared.
    let odd_bools = T::DTYPE == DType::Bool
        && len > 0
        // SAFETY: the lender guarantees `len` readable bytes from `start`.
        && unsafe { std::slice::from_raw_parts(start as *const u8, len) }.iter().any(|&b| b > 1);
    if len == 0 || odd_bools || start.align_offset(std::mem::align_of::<T>()) != 0 {
        let dense = if len == 0 {
            Vec::new()
        } else {
            // SAFETY: the lender guarantees `len` readable elements from
            // `start`; read as bytes, unaligned, into our own buffer.
            (0..len).map(|i| read_element::<T>(start, i)).collect()
        };
        return Ok(Tensor::from_storage(T::wrap(dense), layout));
    }
    // SAFETY: the lender (NumPy, a DLPack producer) guarantees the memory
    // between the lowest and highest addressed element, which `extent`
    // computed, for as long as `owner` lives; it is aligned (checked above).
    let buffer = unsafe { Buffer::borrowed(start, len, owner) };
    Ok(Tensor::from_storage(T::wrap_buffer(buffer), layout))
}

/// Element `i` from `start`, unaligned; a bool from any nonzero byte.
fn read_element<T: Element>(start: *mut T, i: usize) -> T {
    if T::DTYPE == DType::Bool {
        // SAFETY: in bounds (caller); a byte is always a valid u8.
        return T::from_i64(unsafe { (start as *const u8).add(i).read() } as i64);
    }
    // SAFETY: in bounds (caller); T is not bool, so every bit pattern the
    // lender's dtype allows is a valid T.
    unsafe { start.add(i).read_unaligned() }
}

/// The element offsets, relative to the first element, of the lowest
/// element and one past the highest: the memory a strided view spans.
/// `None` if a hostile shape or stride overflows.
fn extent(layout: &Layout) -> Option<(isize, isize)> {
    if layout.shape.contains(&0) {
        return Some((0, 0));
    }
    let (mut low, mut high) = (layout.offset as isize, layout.offset as isize);
    for (&n, &s) in layout.shape.iter().zip(&layout.strides) {
        let span = isize::try_from(n).ok()?.checked_sub(1)?.checked_mul(s)?;
        if span < 0 {
            low = low.checked_add(span)?;
        } else {
            high = high.checked_add(span)?;
        }
    }
    Some((low, high.checked_add(1)?))
}

/// A managed-tensor type and the capsule names the protocol gives it:
/// unconsumed, and renamed by the consumer that took it.
trait Capsule: ManagedTensorBase + 'static {
    const NAME: &'static CStr;
    const USED: &'static CStr;
}

impl Capsule for DLManagedTensor {
    const NAME: &'static CStr = c"dltensor";
    const USED: &'static CStr = c"used_dltensor";
}

impl Capsule for DLManagedTensorVersioned {
    const NAME: &'static CStr = c"dltensor_versioned";
    const USED: &'static CStr = c"used_dltensor_versioned";
}

fn dl_dtype(dtype: DType) -> DLDataType {
    let (code, bits) = match dtype {
        DType::Bool => (DLDataTypeCode::BOOL, 8),
        DType::U8 => (DLDataTypeCode::UINT, 8),
        DType::I8 => (DLDataTypeCode::INT, 8),
        DType::I16 => (DLDataTypeCode::INT, 16),
        DType::I32 => (DLDataTypeCode::INT, 32),
        DType::I64 => (DLDataTypeCode::INT, 64),
        DType::F16 => (DLDataTypeCode::FLOAT, 16),
        DType::BF16 => (DLDataTypeCode::BFLOAT, 16),
        DType::F32 => (DLDataTypeCode::FLOAT, 32),
        DType::F64 => (DLDataTypeCode::FLOAT, 64),
    };
    DLDataType::scalar(code, bits)
}

/// The dtype of a DLPack type descriptor; PyTorch's RuntimeError for the
/// ones it has no dtype for.
fn from_dl_dtype(t: DLDataType) -> PyResult<DType> {
    if t.lanes != 1 {
        return Err(PyRuntimeError::new_err("ATen does not support lanes != 1"));
    }
    DType::ALL.iter().copied().find(|&d| dl_dtype(d) == t).ok_or_else(|| {
        let kind = match t.code {
            DLDataTypeCode::INT => "kInt",
            DLDataTypeCode::UINT => "kUInt",
            DLDataTypeCode::FLOAT => "kFloat",
            DLDataTypeCode::BFLOAT => "kBfloat",
            DLDataTypeCode::BOOL => "kBool",
            DLDataTypeCode::COMPLEX => "kComplex",
            _ => return PyRuntimeError::new_err(format!("Unsupported dtype code {}", t.code.0)),
        };
        PyRuntimeError::new_err(format!("Unsupported {kind} bits {}", t.bits))
    })
}

/// Frees a capsule's tensor if no consumer took it (a consumer renames the
/// capsule to `used_...` and calls the deleter itself).
unsafe extern "C" fn release_capsule<M: Capsule>(capsule: *mut ffi::PyObject) {
    let name = M::NAME;
    // SAFETY: called by Python with a live capsule; `PyCapsule_IsValid`
    // checks the name without raising.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, name.as_ptr()) == 1 {
            let ptr = ffi::PyCapsule_GetPointer(capsule, name.as_ptr()) as *mut M;
            drop(Managed::from_raw(ptr));
        }
    }
}

/// Lends `t` as a DLPack capsule of the managed tensor type `M`.
fn export<M: Capsule>(py: Python<'_>, t: &Tensor, read_only: bool) -> PyResult<Py<PyAny>> {
    let shape: Vec<i64> = t.shape().iter().map(|&n| n as i64).collect();
    let strides: Vec<i64> = t.layout().strides.iter().map(|&s| s as i64).collect();
    let context = Box::new(t.storage().clone());
    let mut init = dlpark::metadata::Dynamic::new(shape, strides)
        .initialize_as::<M>(context)
        .map_err(|e| PyBufferError::new_err(e.to_string()))?;
    init.set_data(t.data_ptr() as *mut c_void).set_device(DLDevice::CPU).set_dtype(dl_dtype(t.dtype()));
    if read_only {
        init.set_flags(DlpackFlags::READ_ONLY).map_err(|e| PyBufferError::new_err(e.to_string()))?;
    }
    // SAFETY: the data pointer addresses the tensor's elements in storage
    // that the context (an `Arc` of it) keeps alive and in place; shape and
    // strides were copied into the allocation.
    let managed = unsafe { init.finish() };
    let raw = managed.into_raw();
    // SAFETY: the capsule owns `raw` until a consumer renames it; the
    // destructor frees it otherwise.
    unsafe {
        let capsule = ffi::PyCapsule_New(raw as *mut c_void, M::NAME.as_ptr(), Some(release_capsule::<M>));
        if capsule.is_null() {
            drop(Managed::from_raw(raw));
            return Err(PyErr::fetch(py));
        }
        Ok(Bound::from_owned_ptr(py, capsule).unbind())
    }
}

#[pymethods]
impl PyTensor {
    /// The DLPack capsule of this tensor (the Python array API's
    /// `__dlpack__`): its memory, shared, with shape and element strides.
    /// A versioned capsule (`dltensor_versioned`) when the consumer passes
    /// `max_version >= (1, 0)`, else a legacy `dltensor` one. `copy=True`
    /// lends a copy. BufferError for a tensor that requires grad (PyTorch's
    /// wording) or a `dl_device` other than the CPU; TypeError for a
    /// `stream` that is not None or an int.
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None, read_only=false))]
    fn __dlpack__(
        &self,
        py: Python<'_>,
        stream: Option<&Bound<'_, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
        read_only: bool,
    ) -> PyResult<Py<PyAny>> {
        let t = self.tensor();
        if t.requires_grad() {
            return Err(PyBufferError::new_err("Can't export tensors that require gradient, use tensor.detach()"));
        }
        if let Some(s) = stream.filter(|s| !s.is_none()) {
            if s.extract::<i64>().is_err() {
                return Err(PyTypeError::new_err("stream must be ``int`` or ``none``"));
            }
        }
        if let Some((kind, _)) = dl_device.filter(|&d| d != (DLDeviceType::CPU.0 as i32, 0)) {
            return Err(PyBufferError::new_err(format!("cannot export a CPU tensor to DLPack device type {kind}")));
        }
        let t = if copy == Some(true) { Tensor::from_cpu(t.to_dense(), t.shape()) } else { (*t).clone() };
        match max_version {
            Some((major, _)) if major >= 1 => export::<DLManagedTensorVersioned>(py, &t, read_only),
            _ => export::<DLManagedTensor>(py, &t, read_only),
        }
    }

    /// Makes NumPy defer to the tensor's reflected operators, so that
    /// `ndarray + tensor` is a tensor, as in PyTorch.
    #[classattr]
    fn __array_priority__() -> i32 {
        1000
    }

    /// `(device_type, device_id)` in DLPack's numbering: `(1, 0)`, the CPU.
    fn __dlpack_device__(&self) -> (i32, i32) {
        (DLDeviceType::CPU.0 as i32, 0)
    }
}

/// Takes the managed tensor out of a DLPack capsule named `name`, renaming
/// it `used` so that its destructor leaves the tensor to us.
fn take<M: Capsule>(capsule: &Bound<'_, PyAny>) -> PyResult<Option<Managed<M>>> {
    let (name, used) = (M::NAME, M::USED);
    // SAFETY: the capsule API checks the object and name itself.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule.as_ptr(), name.as_ptr()) != 1 {
            return Ok(None);
        }
        let ptr = ffi::PyCapsule_GetPointer(capsule.as_ptr(), name.as_ptr()) as *mut M;
        // Renamed before we own it, so a failure leaves the capsule's own
        // destructor in charge and the deleter never runs twice.
        if ffi::PyCapsule_SetName(capsule.as_ptr(), used.as_ptr()) != 0 {
            return Err(PyErr::fetch(capsule.py()));
        }
        Managed::from_raw(ptr).map(Some).map_err(|e| PyBufferError::new_err(e.to_string()))
    }
}

/// A tensor over the memory of a managed DLPack tensor, which it keeps
/// alive (and releases through its deleter when the storage drops).
fn adopt<M: Capsule>(managed: Managed<M>) -> PyResult<Tensor> {
    let view = managed.validate().map_err(|e| PyBufferError::new_err(e.to_string()))?;
    let device = view.device();
    if device.device_type != DLDeviceType::CPU {
        return Err(PyRuntimeError::new_err(format!(
            "from_dlpack: only CPU tensors can be imported (DLPack device type {})",
            device.device_type.0
        )));
    }
    let dtype = from_dl_dtype(view.dtype())?;
    let shape: Vec<usize> = view.shape().iter().map(|&n| n as usize).collect();
    let strides = view.strides_or_compact().map_err(|e| PyBufferError::new_err(e.to_string()))?;
    let layout = Layout { shape: shape.into(), strides: strides.iter().map(|&s| s as isize).collect(), offset: 0 };
    let ptr = view.data_ptr().cast::<u8>().wrapping_add(view.byte_offset() as usize) as *mut u8;
    let owner: Owner = Box::new(managed);
    crate::with_dtype!(dtype, T => borrow::<T>(ptr as *mut T, layout, owner))
}

/// `torch.from_dlpack(ext_tensor)`: a tensor sharing the memory of any
/// object with `__dlpack__` (a NumPy array, a PyTorch or JAX tensor) or of a
/// DLPack capsule. Asks for a versioned capsule and falls back to the
/// legacy protocol for producers that do not take `max_version`.
/// RuntimeError for memory on another device or an unsupported dtype;
/// BufferError for a capsule already consumed.
#[pyfunction]
pub fn from_dlpack(ext_tensor: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
    let py = ext_tensor.py();
    let capsule = if ext_tensor.hasattr("__dlpack__")? {
        let kwargs = [("max_version", (1u32, 0u32))].into_py_dict(py)?;
        match ext_tensor.call_method("__dlpack__", (), Some(&kwargs)) {
            Err(e) if e.is_instance_of::<PyTypeError>(py) => ext_tensor.call_method0("__dlpack__")?,
            other => other?,
        }
    } else {
        ext_tensor.clone()
    };
    let t = if let Some(m) = take::<DLManagedTensorVersioned>(&capsule)? {
        adopt(m)?
    } else if let Some(m) = take::<DLManagedTensor>(&capsule)? {
        adopt(m)?
    } else {
        // PyTorch's error class for a consumed or foreign capsule.
        return Err(PyRuntimeError::new_err(
            "from_dlpack received an invalid capsule. Note that DLTensor capsules can be consumed only once, so you might have already constructed a tensor from it once.",
        ));
    };
    Ok(wrap(py, t)?.unbind())
}
