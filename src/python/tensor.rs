//! The `Tensor` class: the Rust tensor itself, exposed to Python.

use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyUserWarning, PyValueError};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::PyTraverseError;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};

use super::convert::{self, dtype_arg, scalar_of, shape_args};
use super::dtype::{dtype_object, parse_device, PyDType, PyDevice};
use super::ints::{int64, int64_list, list_overflow, maybe_int64, opt_int64};
use crate::device::Device;
use crate::dtype::{DType, Scalar};
use crate::ops::{self, compare, inplace, matmul, unary, view, Arg};
use crate::tensor::{Tensor, TensorCell, TensorGuard};

/// A multi-dimensional array of `bool`, `int64`, `float32` or `float64`
/// elements that autograd can differentiate through (`torch.Tensor`).
/// `Tensor(data)` copies nested sequences of numbers or a NumPy array as
/// float32; `Tensor(*sizes)` is a float32 tensor of zeros of that shape.
/// ValueError for ragged data, TypeError for strings or for data that is no
/// sequence (None, a lone float), RuntimeError for a negative size.
#[pyclass(name = "Tensor", module = "rustgrad", frozen, subclass, weakref)]
pub struct PyTensor {
    cell: TensorCell,
}

impl PyTensor {
    pub fn wrapping(t: Tensor) -> PyTensor {
        PyTensor { cell: TensorCell::new(t) }
    }

    /// The tensor this object stands for now (`.data =` replaces it).
    pub fn tensor(&self) -> TensorGuard {
        self.cell.load()
    }
}

impl Drop for PyTensor {
    fn drop(&mut self) {
        self.tensor().pyobj().clear_if_owner(self as *const PyTensor as usize);
    }
}

/// Makes `slf` the Python object of its tensor if it has none: objects made
/// by `Tensor(...)` (or a subclass's constructor) are not registered when
/// created, since the constructor does not know its object yet.
fn adopt(slf: &Bound<'_, PyTensor>) {
    let t = slf.get().tensor();
    if super::graph::live_object(slf.py(), t.pyobj().get()).is_none() {
        t.pyobj().set(slf.as_ptr() as usize, slf.get() as *const PyTensor as usize);
    }
}

/// The Python object for `t`: the live one if there is one (so that
/// `x.grad is x.grad`, as in PyTorch), else a new one.
pub fn wrap(py: Python<'_>, t: Tensor) -> PyResult<Bound<'_, PyTensor>> {
    if let Some(obj) = super::graph::live_object(py, t.pyobj().get()) {
        // SAFETY: the tensor's slot only ever holds a `PyTensor` object.
        return Ok(unsafe { obj.cast_into_unchecked() });
    }
    let obj = Bound::new(py, PyTensor::wrapping(t))?;
    let payload = obj.get();
    payload.tensor().pyobj().set(obj.as_ptr() as usize, payload as *const PyTensor as usize);
    Ok(obj)
}

/// PyTorch's warning on reading `.grad` of a non-leaf.
const NON_LEAF_GRAD: &std::ffi::CStr = c"The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information.";

/// Tensors at least this large release the GIL while their op runs.
/// Kernels split work across rayon's pool from `PARALLEL_MIN_ELEMENTS` on;
/// a thread must never wait on that pool while holding the GIL.
const RELEASE_GIL_MIN: usize = crate::cpu_backend::PARALLEL_MIN_ELEMENTS;

/// Runs `f` without the GIL when the work is large enough to matter.
fn maybe_detached<R: Send>(py: Python<'_>, work: usize, f: impl FnOnce() -> R + Send) -> R {
    if work >= RELEASE_GIL_MIN { py.detach(f) } else { f() }
}

/// An operand from Python: a tensor or a number (a NumPy array is copied
/// into a tensor, also on the left of `ndarray + tensor`, which PyTorch
/// 2.15 refuses; a NumPy scalar is a number);
/// `None` for other types (so the operator can return `NotImplemented`).
pub enum PyArg {
    Tensor(Tensor),
    Scalar(Scalar),
}

impl PyArg {
    fn extract(obj: &Bound<'_, PyAny>) -> Option<PyArg> {
        if let Ok(t) = obj.cast::<PyTensor>() {
            return Some(PyArg::Tensor(t.get().tensor().clone()));
        }
        if let Some(s) = scalar_of(obj) {
            return Some(PyArg::Scalar(s));
        }
        if obj.is_instance_of::<numpy::PyUntypedArray>() {
            return convert::tensor_from_data(obj, None).ok().map(PyArg::Tensor);
        }
        convert::numpy_scalar(obj).map(PyArg::Scalar).or_else(|| {
            // Other numbers with __float__.
            obj.extract::<f64>().ok().map(|v| PyArg::Scalar(Scalar::Float(v)))
        })
    }

    pub fn arg(&self) -> Arg<'_> {
        match self {
            PyArg::Tensor(t) => Arg::Tensor(t),
            PyArg::Scalar(s) => Arg::Scalar(*s),
        }
    }

    pub fn require(obj: &Bound<'_, PyAny>) -> PyResult<PyArg> {
        PyArg::extract(obj).ok_or_else(|| {
            PyTypeError::new_err(format!(
                "unsupported operand type: expected a Tensor or a number, got {}",
                obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        })
    }
}

type Binary = for<'a> fn(Arg<'a>, Arg<'a>) -> crate::Result<Tensor>;

fn add_fn<'a>(a: Arg<'a>, b: Arg<'a>) -> crate::Result<Tensor> {
    ops::add(a, b)
}
fn sub_fn<'a>(a: Arg<'a>, b: Arg<'a>) -> crate::Result<Tensor> {
    ops::sub(a, b)
}
fn mul_fn<'a>(a: Arg<'a>, b: Arg<'a>) -> crate::Result<Tensor> {
    ops::mul(a, b)
}
fn div_fn<'a>(a: Arg<'a>, b: Arg<'a>) -> crate::Result<Tensor> {
    ops::div(a, b)
}
fn pow_fn<'a>(a: Arg<'a>, b: Arg<'a>) -> crate::Result<Tensor> {
    ops::pow(a, b)
}

/// `self op other` (or `other op self` when `reflected`), `NotImplemented`
/// for operands that are not tensors or numbers.
fn binary<'py>(slf: &Bound<'py, PyTensor>, other: &Bound<'py, PyAny>, f: Binary, reflected: bool) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let Some(other) = PyArg::extract(other) else { return Ok(py.NotImplemented()) };
    let me = &slf.get().tensor();
    let work = me.numel();
    let out = maybe_detached(py, work, || {
        if reflected { f(other.arg(), Arg::Tensor(me)) } else { f(Arg::Tensor(me), other.arg()) }
    })?;
    Ok(wrap(py, out)?.into_any().unbind())
}

fn inplace<'py>(slf: &Bound<'py, PyTensor>, other: &Bound<'py, PyAny>, op: inplace::InplaceOp) -> PyResult<Bound<'py, PyTensor>> {
    let other = PyArg::require(other)?;
    let me = &slf.get().tensor();
    maybe_detached(slf.py(), me.numel(), || inplace::binary_(me, other.arg(), op))?;
    Ok(slf.clone())
}

/// `dim=` as `None`, an int, or a sequence of ints (for `func`'s errors).
pub(super) fn dims_arg(dim: Option<&Bound<'_, PyAny>>, func: &str) -> PyResult<Option<Vec<i64>>> {
    dim.filter(|d| !d.is_none()).map(|d| int_or_list(d, func, "dim")).transpose()
}

/// The `dim` argument of a method whose dims PyTorch also takes spread out
/// (`x.squeeze(0, 1)` for `x.squeeze((0, 1))`): the one positional
/// argument, the tuple of several, or `dim=`; None when there is none.
pub(super) fn spread_dim<'py>(args: &Bound<'py, PyTuple>, dim: Option<Bound<'py, PyAny>>, func: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    match (args.len(), dim) {
        (0, dim) => Ok(dim),
        (1, None) => Ok(Some(args.get_item(0)?)),
        (_, None) => Ok(Some(args.clone().into_any())),
        (_, Some(_)) => Err(PyTypeError::new_err(format!("{func}() got multiple values for argument 'dim'"))),
    }
}

/// Whether `obj` is a tensor PyTorch's parser refuses for a number (`Number`,
/// `float`): any but a 0-d one. Reading a one-element tensor with more dims
/// (through `__float__` or `item()`) would accept it, a larger one fail with
/// another class (ValueError, RuntimeError).
pub(super) fn tensor_not_number(obj: &Bound<'_, PyAny>) -> bool {
    obj.cast::<PyTensor>().is_ok_and(|t| t.get().tensor().ndim() != 0)
}

/// PyTorch's TypeError for such a tensor as the argument `param` (at
/// `position`, `input` being 1) of `func`, a `kind` (`Number`, `float`).
pub(super) fn not_a_number(func: &str, param: &str, position: usize, kind: &str) -> PyErr {
    PyTypeError::new_err(format!("{func}(): argument '{param}' (position {position}) must be {kind}, not Tensor"))
}

/// An int or a sequence of ints, the argument `param` of `func` (named in
/// the error for a sequence element outside int64; a lone int outside it
/// is a ValueError, as in PyTorch). A one-element integer tensor is one int
/// (through its `__index__`), as PyTorch's parser allows; any other tensor
/// is a TypeError (`int64_list`).
pub(super) fn int_or_list(obj: &Bound<'_, PyAny>, func: &str, param: &str) -> PyResult<Vec<i64>> {
    match maybe_int64(obj)? {
        Some(i) => Ok(vec![i]),
        None => int64_list(obj, func, param),
    }
}

/// PyTorch's TypeError for a call without the argument `param` of `func`
/// (`x.flip()`, `torch.zeros()`): PyO3 lets a `*sizes` parameter take no
/// arguments at all, but PyTorch requires the sizes or dims.
pub(super) fn required(args: &Bound<'_, PyTuple>, func: &str, param: &str) -> PyResult<()> {
    if args.is_empty() {
        return Err(PyTypeError::new_err(format!("{func}() missing 1 required positional arguments: \"{param}\"")));
    }
    Ok(())
}

/// An optional argument that PyTorch does not let be None (`x.max(None)`,
/// `x.prod(None)`, `x.std(1, None)`: TypeError): PyO3 reads an explicit None
/// as the argument left out, except through `from_py_with`, which sees it.
/// With this, the binding's `=None` default means "left out" only, and the
/// body reads the value (None included) as it would any given value.
pub(super) fn given<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(Some(obj.clone()))
}

/// Sizes given as `f(2, 3)` or `f((2, 3))`, allowing -1: the argument
/// `param` of `func`, named in the error for a size outside int64.
pub(super) fn sizes_arg(args: &Bound<'_, PyTuple>, func: &str, param: &str) -> PyResult<Vec<i64>> {
    required(args, func, param)?;
    if args.len() == 1 {
        let first = args.get_item(0)?;
        // A tensor is one size at most, never a sequence of them.
        if first.is_instance_of::<PyTensor>() {
            return int_or_list(&first, func, param);
        }
        match first.extract::<Vec<i64>>() {
            Ok(v) => return Ok(v),
            Err(e) if super::ints::is_overflow(args.py(), &e) => return Err(list_overflow(&first, func, param)),
            Err(_) => {}
        }
    }
    int64_list(args.as_any(), func, param)
}

static SIZE_CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static FORMAT_TENSOR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Registers the Python `torch.Size` class that `shape` returns.
#[pyfunction]
pub fn _set_size_class(py: Python<'_>, cls: Py<PyAny>) {
    let _ = SIZE_CLASS.set(py, cls);
}

fn size_object<'py>(py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    let tuple = PyTuple::new(py, shape)?;
    match SIZE_CLASS.get(py) {
        Some(cls) => cls.bind(py).call1((tuple,)),
        None => Ok(tuple.into_any()),
    }
}

impl PyTensor {
    /// Applies an element-wise op, without the GIL for large tensors.
    pub fn map<'py>(&self, py: Python<'py>, op: fn(&Tensor) -> crate::Result<Tensor>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, maybe_detached(py, self.tensor().numel(), || op(&self.tensor()))?)
    }

    fn one_element(&self) -> PyResult<Scalar> {
        if self.tensor().numel() != 1 {
            return Err(PyValueError::new_err("only one element tensors can be converted to Python scalars"));
        }
        Ok(self.tensor().item()?)
    }
}

#[pymethods]
impl PyTensor {
    /// Tells Python's cycle collector what this tensor keeps alive through
    /// autograd (hook callables, a custom Function's `ctx`), so that a cycle
    /// such as `x.register_hook(lambda g: g * x)` is freed when dropped.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.cell.visit_owned(|owned| super::graph::visit_gc_ref(&visit, owned))
    }

    #[new]
    #[classmethod]
    #[pyo3(signature = (*args))]
    fn new(cls: &Bound<'_, pyo3::types::PyType>, args: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        // A subclass (`nn.Parameter`, PyTorch's `_make_subclass`) built on a
        // tensor is a new leaf that aliases the tensor's data, in any dtype.
        if args.len() == 1 && !cls.is(cls.py().get_type::<PyTensor>()) {
            if let Ok(data) = args.get_item(0)?.cast::<PyTensor>() {
                return Ok(PyTensor::wrapping(data.get().tensor().detach()));
            }
        }
        // torch.Tensor(data) or torch.Tensor(*sizes): float32.
        if args.len() == 1 && !args.get_item(0)?.is_instance_of::<pyo3::types::PyInt>() {
            let data = args.get_item(0)?;
            // PyTorch's legacy constructor takes data only as a sequence
            // (`PySequence_Check`: lists, tuples, arrays) or a tensor, never
            // None or a lone number as `tensor(data)` does.
            // SAFETY: `data` is a live object; the check only reads its type.
            if !data.is_instance_of::<PyTensor>() && unsafe { pyo3::ffi::PySequence_Check(data.as_ptr()) } == 0 {
                return Err(PyTypeError::new_err(format!("new(): data must be a sequence (got {})", data.get_type().name()?)));
            }
            return Ok(PyTensor::wrapping(convert::tensor_from_data(&data, Some(DType::F32))?));
        }
        let shape = shape_args(args, "new")?;
        Ok(PyTensor::wrapping(Tensor::full(&shape, Scalar::Float(0.0), DType::F32)))
    }

    // ---- metadata ---------------------------------------------------------

    /// The size of each dimension as a `torch.Size` (a tuple of ints); `()`
    /// for a 0-d tensor.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        size_object(py, self.tensor().shape())
    }

    /// The shape as a `torch.Size`, or with `dim` (an int, negative counts from
    /// the end) the size of that one dimension. IndexError if `dim` is out of
    /// range (any `dim` of a 0-d tensor).
    #[pyo3(signature = (dim=None))]
    fn size<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = opt_int64)] dim: Option<i64>) -> PyResult<Py<PyAny>> {
        match dim {
            None => Ok(size_object(py, self.tensor().shape())?.unbind()),
            Some(d) => {
                let d = crate::layout::normalize_dim_strict(d, self.tensor().ndim())?;
                Ok(self.tensor().shape()[d].into_pyobject(py)?.into_any().unbind())
            }
        }
    }

    /// The element type: `torch.bool`, `torch.int64`, `torch.float32` or
    /// `torch.float64` (the module's singletons, so `t.dtype is torch.float32`).
    #[getter]
    fn dtype(&self, py: Python<'_>) -> Py<PyDType> {
        dtype_object(py, self.tensor().dtype()).clone_ref(py)
    }

    /// The `torch.device` holding the data. Tensors made from Python are always
    /// on the CPU: `device=`, `.to(device)` and `.cuda()` do not move data.
    #[getter]
    fn device(&self) -> PyDevice {
        PyDevice(self.tensor().device())
    }

    /// True if the data is on a CUDA device (never for tensors made from Python;
    /// see `device`).
    #[getter]
    fn is_cuda(&self) -> bool {
        matches!(self.tensor().device(), Device::Cuda(_))
    }

    /// The number of dimensions (0 for a scalar tensor); the same as `dim()`.
    #[getter]
    fn ndim(&self) -> usize {
        self.tensor().ndim()
    }

    /// The number of dimensions (0 for a scalar tensor); the same as `ndim`.
    fn dim(&self) -> usize {
        self.tensor().ndim()
    }

    /// The number of elements: the product of `shape` (1 for a 0-d tensor).
    fn numel(&self) -> usize {
        self.tensor().numel()
    }

    /// The number of elements; an alias of `numel()`.
    fn nelement(&self) -> usize {
        self.tensor().numel()
    }

    /// Bytes per element (`dtype.itemsize`).
    fn element_size(&self) -> usize {
        self.tensor().dtype().itemsize()
    }

    /// True if `dtype` is float32 or float64.
    fn is_floating_point(&self) -> bool {
        self.tensor().dtype().is_float()
    }

    /// True if the elements lie in memory in row-major (C) order without gaps,
    /// so any `view` with the same number of elements needs no copy.
    fn is_contiguous(&self) -> bool {
        self.tensor().layout().is_contiguous()
    }

    /// The step in elements (not bytes) between neighbours along each
    /// dimension, as a tuple of ints (`(3, 1)` for a contiguous 2x3 tensor),
    /// or with `dim` (negative counts from the end) the step along that one.
    /// IndexError if `dim` is out of range (any `dim` of a 0-d tensor).
    #[pyo3(signature = (dim=None))]
    fn stride<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = opt_int64)] dim: Option<i64>) -> PyResult<Py<PyAny>> {
        let t = self.tensor();
        let strides = &t.layout().strides;
        match dim {
            None => Ok(PyTuple::new(py, strides.iter())?.into_any().unbind()),
            // As `size(dim)`: PyTorch does not read a 0-d tensor as 1-D here.
            Some(d) => Ok(strides[crate::layout::normalize_dim_strict(d, t.ndim())?].into_pyobject(py)?.into_any().unbind()),
        }
    }

    /// The address (an int) of the first element in memory; views and
    /// `detach()` share their base's memory.
    fn data_ptr(&self) -> usize {
        self.tensor().data_ptr() as usize
    }

    // ---- autograd -----------------------------------------------------------

    /// Whether autograd records operations on this tensor (settable).
    /// Setting it raises RuntimeError for a value that is not a bool, on a
    /// non-leaf, or when setting True on a bool or int64 tensor.
    #[getter]
    fn get_requires_grad(&self) -> bool {
        self.tensor().requires_grad()
    }

    #[setter]
    fn set_requires_grad(slf: &Bound<'_, Self>, flag: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        // PyTorch takes Python's bools only (not 1, nor NumPy's bools), and
        // refuses `del x.requires_grad` with the same RuntimeError.
        let flag = match flag {
            Some(f) if f.is_instance_of::<pyo3::types::PyBool>() => f.is_truthy()?,
            _ => return Err(PyRuntimeError::new_err("requires_grad must be a bool")),
        };
        adopt(slf);
        let this = slf.get();
        if !this.tensor().is_leaf() {
            return Err(PyRuntimeError::new_err(if flag {
                "you can only change requires_grad flags of leaf variables.".to_string()
            } else {
                "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().".to_string()
            }));
        }
        if flag && !this.tensor().dtype().is_float() {
            return Err(PyRuntimeError::new_err("only Tensors of floating point and complex dtype can require gradients"));
        }
        Ok(this.tensor().set_requires_grad(flag)?)
    }

    /// Sets `requires_grad` in place (default True) and returns self.
    /// RuntimeError when setting True on a bool or int64 tensor, or False on a
    /// non-leaf.
    #[pyo3(signature = (requires_grad=true))]
    fn requires_grad_<'py>(slf: &Bound<'py, Self>, requires_grad: bool) -> PyResult<Bound<'py, Self>> {
        slf.get().tensor().set_requires_grad(requires_grad)?;
        adopt(slf);
        Ok(slf.clone())
    }

    /// The gradient `backward()` accumulated here: a tensor of this shape and
    /// dtype, or None. Reading it on a non-leaf that does not `retain_grad()`
    /// warns (UserWarning). Settable to a Tensor or None: TypeError for other
    /// values, RuntimeError if the dtype or shape differs.
    #[getter]
    fn get_grad<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTensor>>> {
        let grad = self.tensor().grad();
        if grad.is_none() && !self.tensor().is_leaf() && !self.tensor().retains_grad() {
            PyErr::warn(py, &py.get_type::<PyUserWarning>(), NON_LEAF_GRAD, 1)?;
        }
        grad.map(|g| wrap(py, g)).transpose()
    }

    #[setter]
    fn set_grad(&self, grad: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let grad = match grad {
            None => None,
            Some(g) if g.is_none() => None,
            Some(g) => Some(
                g.cast::<PyTensor>()
                    .map_err(|_| PyTypeError::new_err("assigned grad expected to be a Tensor or None"))?
                    .get()
                    .tensor()
                    .clone(),
            ),
        };
        Ok(self.tensor().set_grad(grad)?)
    }

    /// The backward `Node` that made this tensor (its class is named after the
    /// op, e.g. `MulBackward0`), or None for a leaf.
    #[getter]
    fn grad_fn<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.tensor().grad_fn_ref().map(|n| super::graph::node_object(py, &n)).transpose()
    }

    /// True if this tensor has no `grad_fn`: made by the user, or by ops that
    /// did not record history. Only leaves that require grad get `.grad` filled.
    #[getter]
    fn is_leaf(&self) -> bool {
        self.tensor().is_leaf()
    }

    /// Which output of its `grad_fn` this tensor is (0 for leaves and
    /// single-output ops).
    #[getter]
    fn output_nr(&self) -> u32 {
        self.tensor().history().map_or(0, |(_, nr)| nr)
    }

    /// `.data`: the same values, detached, with a version counter of its own
    /// (writes through it are not seen by autograd). Assigning `x.data = y`
    /// gives `x` the storage, shape and dtype of the Tensor `y` (TypeError
    /// otherwise; RuntimeError for a non-float `y` when `x` requires grad).
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, self.tensor().data_alias())
    }

    /// `x.data = y`: `x` takes `y`'s values (sharing its storage, shape and
    /// dtype) and stays the same variable: history, `.grad`, `requires_grad`.
    #[setter]
    fn set_data(&self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let Some(value) = value else { return Err(PyTypeError::new_err("can't delete attribute 'data'")) };
        let src = value.cast::<PyTensor>().map_err(|_| {
            PyTypeError::new_err(format!("Variable data has to be a tensor, but got {}", value.get_type().name().map(|n| n.to_string()).unwrap_or_default()))
        })?;
        let me = self.tensor();
        if me.requires_grad() && !src.get().tensor().dtype().is_float() {
            return Err(PyRuntimeError::new_err("data set to a tensor that requires gradients must be floating point or complex dtype"));
        }
        let replaced = me.with_data(&src.get().tensor());
        self.cell.store(replaced);
        Ok(())
    }

    #[getter]
    fn _version(&self) -> PyResult<u64> {
        if self.tensor().is_inference() {
            return Err(PyRuntimeError::new_err("Inference tensors do not track version counter."));
        }
        Ok(self.tensor().version())
    }

    #[getter]
    fn _base<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTensor>>> {
        self.tensor().view_base().map(|b| wrap(py, b.clone())).transpose()
    }

    fn _is_view(&self) -> bool {
        self.tensor().is_view()
    }

    /// True if this tensor was made in `torch.inference_mode()`: it has no
    /// version counter and cannot be saved for backward outside that mode.
    fn is_inference(&self) -> bool {
        self.tensor().is_inference()
    }

    /// Makes this non-leaf keep its `.grad` after `backward()` (a no-op on a
    /// leaf). RuntimeError if it does not require grad.
    fn retain_grad(&self) -> PyResult<()> {
        Ok(self.tensor().retain_grad()?)
    }

    /// True if `retain_grad()` was called on this non-leaf.
    #[getter]
    fn retains_grad(&self) -> bool {
        self.tensor().retains_grad()
    }

    /// A new tensor sharing this one's storage, shape and dtype, with no
    /// history and `requires_grad=False`. In-place changes to either are seen by
    /// both (and by autograd's version checks).
    fn detach<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, self.tensor().detach())
    }

    /// Detaches this tensor from the graph in place (no `grad_fn`,
    /// `requires_grad=False`) and returns it. RuntimeError on a view that
    /// requires grad.
    fn detach_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        let t = &slf.get().tensor();
        if t.is_view() && t.requires_grad() {
            return Err(PyRuntimeError::new_err("Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence detach_() cannot be called on these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."));
        }
        t.set_history(None, 0);
        t.set_requires_grad(false)?;
        Ok(slf.clone())
    }

    /// Computes the gradient of this tensor with respect to the graph's leaves
    /// and accumulates it into their `.grad`. `gradient` (same shape) is needed
    /// unless this tensor has one element (RuntimeError otherwise, or if it does
    /// not require grad). The graph is freed unless `retain_graph` (default:
    /// `create_graph`); `inputs` limits which leaves are accumulated into.
    #[pyo3(signature = (gradient=None, retain_graph=None, create_graph=false, inputs=None))]
    fn backward(
        &self,
        py: Python<'_>,
        gradient: Option<&Bound<'_, PyAny>>,
        retain_graph: Option<bool>,
        create_graph: bool,
        inputs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let tensors = PyTuple::new(py, [wrap(py, self.tensor().clone())?])?;
        // As PyTorch's `_tensor_or_tensors_to_tuple`: a tensor is the one
        // gradient, anything else is iterated for them (`x.backward([g])`;
        // `x.backward({})` gives none, a RuntimeError for the count).
        let grads = match gradient.filter(|g| !g.is_none()) {
            None => None,
            Some(g) if g.is_instance_of::<PyTensor>() => Some(PyTuple::new(py, [g])?.into_any()),
            Some(g) => Some(PyTuple::new(py, g.try_iter()?.collect::<PyResult<Vec<_>>>()?)?.into_any()),
        };
        super::functions::run_backward(py, &tensors.into_any(), grads.as_ref(), retain_graph, create_graph, inputs)
    }

    /// Registers `hook(grad)` to run when this tensor's gradient is computed;
    /// a returned tensor replaces the gradient (it must keep its shape and
    /// dtype). Returns a `RemovableHandle`. RuntimeError if this tensor does
    /// not require grad.
    fn register_hook(&self, hook: Py<PyAny>) -> PyResult<super::graph::RemovableHandle> {
        let (hook, owned) = super::graph::traced(hook);
        let call = move |g: &Tensor| -> crate::Result<Option<Tensor>> {
            Python::attach(|py| {
                let out = hook.call1(py, (wrap(py, g.clone())?,))?;
                if out.is_none(py) {
                    return Ok(None);
                }
                let out = out.bind(py);
                let t = out
                    .cast::<PyTensor>()
                    .map_err(|_| PyTypeError::new_err(format!("expected Variable, but hook returned '{}'", out.get_type().name().map(|n| n.to_string()).unwrap_or_default())))?
                    .get()
                    .tensor()
                    .clone();
                super::graph::check_hook_value(hook.bind(py), g, &t)?;
                Ok(Some(t))
            })
            .map_err(super::errors::foreign)
        };
        let me = self.tensor();
        // The handle names where the hook lives now: after an in-place op the
        // tensor has another node, but the hook stays on this one.
        let target = match me.grad_fn() {
            Some(node) => super::graph::HookTarget::Node(node),
            None => super::graph::HookTarget::Tensor(me.clone()),
        };
        let key = me.register_hook(std::sync::Arc::new(call), Some(owned))?;
        Ok(super::graph::RemovableHandle { target, key })
    }

    /// Registers `hook(tensor)` to run after `backward()` accumulated into this
    /// leaf's `.grad`; the hook must return None (RuntimeError otherwise).
    /// Returns a `RemovableHandle`. RuntimeError on a non-leaf or a tensor that
    /// does not require grad.
    fn register_post_accumulate_grad_hook(&self, hook: Py<PyAny>) -> PyResult<super::graph::RemovableHandle> {
        let (hook, owned) = super::graph::traced(hook);
        let call = move |t: &Tensor, _grad: &Tensor| -> crate::Result<()> {
            Python::attach(|py| {
                if hook.call1(py, (wrap(py, t.clone())?,))?.is_none(py) {
                    Ok(())
                } else {
                    Err(PyRuntimeError::new_err("Tensor post accumulate grad hooks should return None."))
                }
            })
            .map_err(super::errors::foreign)
        };
        let key = self.tensor().register_post_accumulate_hook(std::sync::Arc::new(call), Some(owned))?;
        Ok(super::graph::RemovableHandle { target: super::graph::HookTarget::Tensor(self.tensor().clone()), key })
    }

    /// Copies `src` (a tensor or number) into this tensor in place, broadcast
    /// to its shape and converted to its dtype; returns self. Differentiable in
    /// both. RuntimeError if `src` does not broadcast, or on a leaf that
    /// requires grad. `non_blocking` is ignored.
    #[pyo3(signature = (src, non_blocking=false))]
    fn copy_<'py>(slf: &Bound<'py, Self>, src: &Bound<'py, PyAny>, non_blocking: bool) -> PyResult<Bound<'py, Self>> {
        let _ = non_blocking;
        let src = match PyArg::require(src)? {
            PyArg::Tensor(t) => t,
            PyArg::Scalar(s) => Tensor::scalar_tensor(s, s.dtype()),
        };
        inplace::copy_(&slf.get().tensor(), &src)?;
        Ok(slf.clone())
    }

    // ---- conversion -----------------------------------------------------------

    /// The value of a one-element tensor as a Python bool, int or float.
    /// RuntimeError if `numel() != 1`. Not differentiable.
    fn item(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        convert::scalar_to_py(py, self.tensor().item()?)
    }

    /// The values as nested Python lists of bool, int or float (a plain number
    /// for a 0-d tensor). Not differentiable.
    fn tolist(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        convert::to_list(py, &self.tensor())
    }

    /// A NumPy array sharing this tensor's memory (same shape, strides and
    /// dtype; writes are seen by both). RuntimeError if the tensor requires
    /// grad, unless `force=True`, which returns a copy instead.
    #[pyo3(signature = (*, force=false))]
    fn numpy<'py>(slf: &Bound<'py, Self>, force: bool) -> PyResult<Bound<'py, PyAny>> {
        let t = &slf.get().tensor();
        if t.requires_grad() && !force {
            return Err(PyRuntimeError::new_err(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.",
            ));
        }
        if force {
            return convert::to_numpy_copy(slf.py(), t);
        }
        super::sharing::to_numpy(slf.py(), t)
    }

    /// `np.asarray(t)`: `t.numpy()` (shared memory, and its RuntimeError for
    /// a tensor that requires grad), converted to `dtype` if one is given.
    // `copy` is keyword-only: NumPy 2 passes it by name, and PyTorch's
    // `__array__(self, dtype=None)` takes no second positional argument.
    #[pyo3(signature = (dtype=None, *, copy=None))]
    fn __array__<'py>(slf: &Bound<'py, Self>, dtype: Option<&Bound<'py, PyAny>>, copy: Option<bool>) -> PyResult<Bound<'py, PyAny>> {
        let arr = Self::numpy(slf, false)?;
        let arr = if copy == Some(true) { arr.call_method0("copy")? } else { arr };
        match dtype {
            Some(d) if !d.is_none() => arr.call_method1("astype", (d,)),
            _ => Ok(arr),
        }
    }

    fn __bool__(&self) -> PyResult<bool> {
        match self.tensor().numel() {
            0 => return Err(PyRuntimeError::new_err("Boolean value of Tensor with no values is ambiguous")),
            1 => {}
            _ => return Err(PyRuntimeError::new_err("Boolean value of Tensor with more than one value is ambiguous")),
        }
        Ok(self.tensor().item()?.to_f64() != 0.0)
    }

    fn __float__(&self) -> PyResult<f64> {
        Ok(self.one_element()?.to_f64())
    }

    fn __int__(&self) -> PyResult<i64> {
        Ok(match self.one_element()? {
            Scalar::Int(i) => i,
            s => s.to_f64().trunc() as i64,
        })
    }

    fn __index__(&self) -> PyResult<i64> {
        if self.tensor().dtype() != DType::I64 || self.tensor().numel() != 1 {
            return Err(PyTypeError::new_err("only integer tensors of a single element can be converted to an index"));
        }
        self.__int__()
    }

    fn __len__(&self) -> PyResult<usize> {
        match self.tensor().shape().first() {
            Some(&n) => Ok(n),
            None => Err(PyTypeError::new_err("len() of a 0-d tensor")),
        }
    }

    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let format = FORMAT_TENSOR.get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("rustgrad._tensor_str")?.getattr("format_tensor")?.unbind())
        })?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("requires_grad", self.tensor().requires_grad())?;
        kwargs.set_item("grad_fn_name", self.tensor().grad_fn_name())?;
        kwargs.set_item("device", self.tensor().device().name())?;
        // Printing shows bfloat16 values through float32 (NumPy has none).
        let tensor = self.tensor();
        let shown = if tensor.dtype() == DType::BF16 { ops::to_dtype(&tensor.detach(), DType::F32)? } else { tensor.clone() };
        let values = convert::to_numpy_copy(py, &shown)?;
        format.bind(py).call((values, self.tensor().dtype().name()), Some(&kwargs))?.extract()
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        self.__repr__(py)
    }

    fn __format__(&self, py: Python<'_>, spec: &str) -> PyResult<String> {
        if self.tensor().ndim() == 0 {
            let value = convert::scalar_to_py(py, self.tensor().item()?)?;
            return value.bind(py).call_method1("__format__", (spec,))?.extract();
        }
        if !spec.is_empty() {
            return Err(PyTypeError::new_err("unsupported format string passed to Tensor.__format__"));
        }
        self.__repr__(py)
    }

    // ---- arithmetic -------------------------------------------------------------

    fn __add__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary(slf, other, add_fn, false)
    }
    fn __radd__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary(slf, other, add_fn, true)
    }
    fn __sub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary(slf, other, sub_fn, false)
    }
    fn __rsub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary(slf, other, sub_fn, true)
    }
    fn __mul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary(slf, other, mul_fn, false)
    }
    fn __rmul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary(slf, other, mul_fn, true)
    }
    fn __truediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary(slf, other, div_fn, false)
    }
    fn __rtruediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary(slf, other, div_fn, true)
    }
    fn __pow__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, _modulo: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        binary(slf, other, pow_fn, false)
    }
    fn __rpow__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, _modulo: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        binary(slf, other, pow_fn, true)
    }
    fn __matmul__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let Ok(other) = other.cast::<PyTensor>() else { return Ok(py.NotImplemented()) };
        Ok(matmul_impl(py, &slf.get().tensor(), &other.get().tensor())?.into_any().unbind())
    }
    fn __rmatmul__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let Ok(other) = other.cast::<PyTensor>() else { return Ok(py.NotImplemented()) };
        Ok(matmul_impl(py, &other.get().tensor(), &slf.get().tensor())?.into_any().unbind())
    }
    fn __neg__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, unary::neg(&self.tensor())?)
    }
    fn __pos__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        // PyTorch's `positive` refuses bools (NotImplementedError in 2.15).
        if slf.get().tensor().dtype() == DType::Bool {
            return Err(pyo3::exceptions::PyNotImplementedError::new_err("The `+` operator, on a bool tensor is not supported."));
        }
        Ok(slf.clone())
    }
    fn __abs__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, unary::abs(&self.tensor())?)
    }

    fn __iadd__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<()> {
        inplace(slf, other, inplace::InplaceOp::Add).map(drop)
    }
    fn __isub__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<()> {
        inplace(slf, other, inplace::InplaceOp::Sub).map(drop)
    }
    fn __imul__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<()> {
        inplace(slf, other, inplace::InplaceOp::Mul).map(drop)
    }
    fn __itruediv__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<()> {
        inplace(slf, other, inplace::InplaceOp::Div).map(drop)
    }

    /// `self + alpha * other`, element-wise with broadcasting; `other` and `alpha`
    /// are tensors or numbers. The dtype follows PyTorch's type promotion (int64
    /// plus a float number gives float32). Differentiable. RuntimeError if the
    /// shapes do not broadcast, TypeError for other operand types.
    #[pyo3(signature = (other, *, alpha=None))]
    fn add<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>, alpha: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let py = slf.py();
        let other = scaled(PyArg::require(other)?, alpha)?;
        wrap(py, ops::add(&*slf.get().tensor(), other.arg())?)
    }
    /// `self - alpha * other`, element-wise with broadcasting and type
    /// promotion, like `add`. Differentiable. RuntimeError if the shapes do not
    /// broadcast, TypeError for other operand types.
    #[pyo3(signature = (other, *, alpha=None))]
    fn sub<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>, alpha: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let py = slf.py();
        let other = scaled(PyArg::require(other)?, alpha)?;
        wrap(py, ops::sub(&*slf.get().tensor(), other.arg())?)
    }
    /// `self * other` (a tensor or number), element-wise with broadcasting and
    /// type promotion. Differentiable. RuntimeError if the shapes do not
    /// broadcast, TypeError for other operand types.
    fn mul<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(slf.py(), ops::mul(&*slf.get().tensor(), PyArg::require(other)?.arg())?)
    }
    /// `self / other` (a tensor or number): true division with broadcasting;
    /// integer inputs give float32. Differentiable. RuntimeError if the shapes do
    /// not broadcast, TypeError for other operand types.
    fn div<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(slf.py(), ops::div(&*slf.get().tensor(), PyArg::require(other)?.arg())?)
    }
    /// `self ** exponent` (a tensor or number), element-wise with broadcasting
    /// and type promotion. Differentiable in both. RuntimeError for integers to
    /// negative integer powers or shapes that do not broadcast.
    fn pow<'py>(slf: &Bound<'py, Self>, exponent: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(slf.py(), ops::pow(&*slf.get().tensor(), PyArg::require(exponent)?.arg())?)
    }
    /// Matrix product as `torch.matmul`: 1-D @ 1-D is a 0-d dot product, 2-D @
    /// 2-D is (n, k) @ (k, m) -> (n, m), and more dims are batches with broadcast
    /// batch dimensions. Differentiable. RuntimeError for 0-d operands, unequal
    /// inner sizes or unequal dtypes; NotImplementedError for bool.
    fn matmul<'py>(&self, py: Python<'py>, other: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        matmul_impl(py, &self.tensor(), &other.tensor())
    }

    /// In place: `self += alpha * other`; returns self. `other` must broadcast
    /// to self's shape and the result type cast to self's dtype (RuntimeError
    /// otherwise, e.g. int64 += 1.5); RuntimeError on a leaf that requires grad
    /// or a view of one. Differentiable.
    #[pyo3(signature = (other, *, alpha=None))]
    fn add_<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>, alpha: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, Self>> {
        let other = scaled(PyArg::require(other)?, alpha)?;
        inplace::binary_(&slf.get().tensor(), other.arg(), inplace::InplaceOp::Add)?;
        Ok(slf.clone())
    }
    /// In place: `self -= alpha * other`; returns self. Errors as `add_`.
    /// Differentiable.
    #[pyo3(signature = (other, *, alpha=None))]
    fn sub_<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>, alpha: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, Self>> {
        let other = scaled(PyArg::require(other)?, alpha)?;
        inplace::binary_(&slf.get().tensor(), other.arg(), inplace::InplaceOp::Sub)?;
        Ok(slf.clone())
    }
    /// In place: `self *= other`; returns self. Errors as `add_`.
    /// Differentiable.
    fn mul_<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        inplace(slf, other, inplace::InplaceOp::Mul)
    }
    /// In place: `self /= other`; returns self. RuntimeError on an integer
    /// tensor (the float quotient cannot be cast back) and otherwise as `add_`.
    /// Differentiable.
    fn div_<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        inplace(slf, other, inplace::InplaceOp::Div)
    }
    /// Fills this tensor with zeros in place and returns it (the gradient
    /// through it is zero). RuntimeError on a leaf that requires grad.
    fn zero_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        inplace::fill_(&slf.get().tensor(), Scalar::Int(0), true)?;
        Ok(slf.clone())
    }
    /// Fills this tensor in place with `value` (a number or a 0-d tensor), cast
    /// to its dtype, and returns it. RuntimeError for a tensor value with
    /// dimensions, or on a leaf that requires grad.
    fn fill_<'py>(slf: &Bound<'py, Self>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        let value = match PyArg::require(value)? {
            PyArg::Scalar(s) => s,
            PyArg::Tensor(t) if t.ndim() == 0 => t.item()?,
            PyArg::Tensor(t) => {
                return Err(PyRuntimeError::new_err(format!(
                    "fill_ only supports 0-dimension value tensor but got tensor with {} dimensions.",
                    t.ndim()
                )))
            }
        };
        let dtype = slf.get().tensor().dtype();
        dtype.check_fits(value, dtype.overflow_name())?;
        inplace::fill_(&slf.get().tensor(), value, false)?;
        Ok(slf.clone())
    }

    // ---- comparisons -------------------------------------------------------------

    fn __richcmp__<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let Some(other) = PyArg::extract(other) else { return Ok(py.NotImplemented()) };
        let me = &slf.get().tensor();
        let out = match op {
            CompareOp::Lt => compare::lt(me, other.arg()),
            CompareOp::Le => compare::le(me, other.arg()),
            CompareOp::Gt => compare::gt(me, other.arg()),
            CompareOp::Ge => compare::ge(me, other.arg()),
            CompareOp::Eq => compare::eq(me, other.arg()),
            CompareOp::Ne => compare::ne(me, other.arg()),
        }?;
        Ok(wrap(py, out)?.into_any().unbind())
    }
    /// `self < other` element-wise with broadcasting (`other` a tensor or
    /// number): a bool tensor of the broadcast shape. Not differentiable.
    /// RuntimeError if the shapes do not broadcast.
    fn lt<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::lt(&self.tensor(), PyArg::require(other)?.arg())?)
    }
    /// `self <= other` element-wise with broadcasting: a bool tensor. Not
    /// differentiable. RuntimeError if the shapes do not broadcast.
    fn le<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::le(&self.tensor(), PyArg::require(other)?.arg())?)
    }
    /// `self > other` element-wise with broadcasting: a bool tensor. Not
    /// differentiable. RuntimeError if the shapes do not broadcast.
    fn gt<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::gt(&self.tensor(), PyArg::require(other)?.arg())?)
    }
    /// `self >= other` element-wise with broadcasting: a bool tensor. Not
    /// differentiable. RuntimeError if the shapes do not broadcast.
    fn ge<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::ge(&self.tensor(), PyArg::require(other)?.arg())?)
    }
    /// `self == other` element-wise with broadcasting: a bool tensor. Not
    /// differentiable. RuntimeError if the shapes do not broadcast.
    fn eq<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::eq(&self.tensor(), PyArg::require(other)?.arg())?)
    }
    /// `self != other` element-wise with broadcasting: a bool tensor. Not
    /// differentiable. RuntimeError if the shapes do not broadcast.
    fn ne<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::ne(&self.tensor(), PyArg::require(other)?.arg())?)
    }

    // ---- element-wise functions ----------------------------------------------------

    /// A copy with `value` (a float, cast to this dtype) where the bool `mask`
    /// is True; `mask` broadcasts and the result has the broadcast shape.
    /// Differentiable in self (zero gradient where filled). RuntimeError if
    /// `mask` is not bool or the shapes do not broadcast.
    fn masked_fill<'py>(&self, py: Python<'py>, mask: PyRef<'py, PyTensor>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        let value = match scalar_of(value) {
            Some(s) => s,
            None => Scalar::Float(value.extract::<f64>()?),
        };
        wrap(py, ops::masked::masked_fill_scalar(&self.tensor(), &mask.tensor(), value)?)
    }

    // ---- reductions -------------------------------------------------------------------

    /// The sum of all elements (a 0-d tensor), or over `dim` (an int or a
    /// sequence of ints), keeping reduced dims as size 1 if `keepdim`. bool and
    /// int64 sum to int64; `dtype` converts the input first. Differentiable.
    /// IndexError for a dim out of range, RuntimeError for a repeated dim.
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn sum<'py>(&self, py: Python<'py>, dim: Option<&Bound<'py, PyAny>>, keepdim: bool, dtype: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let (dims, dtype) = (dims_arg(dim, "sum")?, dtype_arg(dtype)?);
        wrap(py, maybe_detached(py, self.tensor().numel(), || ops::sum(&self.tensor(), dims.as_deref(), keepdim, dtype))?)
    }

    /// The arithmetic mean of all elements, or over `dim` (an int or a sequence
    /// of ints), keeping reduced dims as size 1 if `keepdim`. Float input only:
    /// NotImplementedError (a RuntimeError) for bool or int64 unless `dtype` is a
    /// float. Differentiable. IndexError for a dim out of range.
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn mean<'py>(&self, py: Python<'py>, dim: Option<&Bound<'py, PyAny>>, keepdim: bool, dtype: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let (dims, dtype) = (dims_arg(dim, "mean")?, dtype_arg(dtype)?);
        wrap(py, maybe_detached(py, self.tensor().numel(), || ops::mean(&self.tensor(), dims.as_deref(), keepdim, dtype))?)
    }

    /// The vector p-norm `(sum |x|^p)^(1/p)` of all elements, or over `dim`,
    /// as `torch.linalg.vector_norm`; `p` defaults to 2 (`'fro'` is 2). Float
    /// input and finite `p > 0` only (NotImplementedError otherwise; RuntimeError
    /// for other strings). Differentiable; the gradient is 0 where the norm is 0.
    #[pyo3(signature = (p=None, dim=None, keepdim=false))]
    fn norm<'py>(&self, py: Python<'py>, p: Option<&Bound<'py, PyAny>>, dim: Option<&Bound<'py, PyAny>>, keepdim: bool) -> PyResult<Bound<'py, PyTensor>> {
        let p = match p {
            None => 2.0,
            Some(p) if p.is_none() => 2.0,
            Some(p) => match p.extract::<String>() {
                Ok(s) if s == "fro" => 2.0,
                Ok(s) => return Err(PyRuntimeError::new_err(format!("norm: unsupported p '{s}'"))),
                Err(_) => p.extract::<f64>()?,
            },
        };
        let dims = dims_arg(dim, "norm")?;
        wrap(py, maybe_detached(py, self.tensor().numel(), || ops::norm(&self.tensor(), p, dims.as_deref(), keepdim))?)
    }

    // ---- shape ------------------------------------------------------------------------

    /// The transpose of a matrix, as a view; 0-d and 1-D tensors are returned
    /// as they are (as views). Differentiable. RuntimeError for more than 2 dims.
    fn t<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::t(&self.tensor())?)
    }
    /// This tensor with all its dimensions reversed, as a view (the transpose
    /// of a matrix). Differentiable.
    #[getter(T)]
    fn big_t<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        let mut out = self.tensor().clone();
        let n = out.ndim() as i64;
        for i in 0..n / 2 {
            out = view::transpose(&out, i, n - 1 - i)?;
        }
        wrap(py, out)
    }
    /// This tensor with its last two dimensions swapped, as a view: the
    /// transpose of each matrix in a batch. Meant for tensors with at least 2
    /// dims. Differentiable.
    #[getter(mT)]
    fn matrix_t<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        let t = self.tensor();
        if t.ndim() < 2 {
            return Err(PyRuntimeError::new_err(format!(
                "tensor.mT is only supported on matrices or batches of matrices. Got {}-D tensor.",
                t.ndim()
            )));
        }
        wrap(py, view::transpose_last2(&t)?)
    }
    /// A view with dimensions `dim0` and `dim1` swapped (negative dims count
    /// from the end); shares storage. Differentiable. IndexError for a dim out of
    /// range.
    fn transpose<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim0: i64, #[pyo3(from_py_with = int64)] dim1: i64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::transpose(&self.tensor(), dim0, dim1)?)
    }
    /// The same elements in shape `shape` (ints or one sequence; one -1 is
    /// inferred): a view when the strides allow, otherwise a copy.
    /// Differentiable. RuntimeError if the number of elements differs.
    #[pyo3(signature = (*shape))]
    fn reshape<'py>(&self, py: Python<'py>, shape: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::reshape(&self.tensor(), &sizes_arg(shape, "reshape", "shape")?)?)
    }
    /// A view of the same storage with shape `shape` (ints or one sequence; one
    /// -1 is inferred). Differentiable. RuntimeError if the number of elements
    /// differs or the strides cannot express it without a copy (use `reshape`).
    #[pyo3(signature = (*shape))]
    fn view<'py>(&self, py: Python<'py>, shape: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::view(&self.tensor(), &sizes_arg(shape, "view", "size")?)?)
    }
    /// `flatten(start_dim=0, end_dim=-1)`: dims `start_dim..=end_dim` merged
    /// into one (`(1,)` for a 0-d tensor), a view when possible.
    /// Differentiable. RuntimeError when `start_dim` comes after `end_dim`.
    #[pyo3(signature = (start_dim=0, end_dim=-1))]
    fn flatten<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] start_dim: i64, #[pyo3(from_py_with = int64)] end_dim: i64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::flatten(&self.tensor(), start_dim, end_dim)?)
    }
    /// A view with a new dimension of size 1 at `dim` (in `[-ndim-1, ndim]`).
    /// Differentiable. IndexError for a dim out of range.
    fn unsqueeze<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::unsqueeze(&self.tensor(), dim)?)
    }
    /// A view without dimensions of size 1: all of them, or only `dim`, or
    /// only the dims listed (`squeeze((0, 1))` or `squeeze(0, 1)`); a listed
    /// dim whose size is not 1 is kept. Differentiable. IndexError for a dim
    /// out of range, RuntimeError for a dim listed twice.
    #[pyo3(signature = (*dims, dim=None))]
    fn squeeze<'py>(&self, py: Python<'py>, dims: &Bound<'py, PyTuple>, #[pyo3(from_py_with = given)] dim: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let t = &self.tensor();
        wrap(py, match spread_dim(dims, dim, "squeeze")? {
            None => view::squeeze(t, None)?,
            // A list of dims is an op of its own to autograd (SqueezeBackward2).
            Some(d) if d.is_instance_of::<PyTuple>() || d.is_instance_of::<pyo3::types::PyList>() => {
                view::squeeze_dims(t, &int64_list(&d, "squeeze", "dim")?)?
            }
            Some(d) => view::squeeze(t, Some(int64(&d)?))?,
        })
    }
    /// A view that repeats size-1 dimensions to `sizes` (ints or one sequence;
    /// -1 keeps a size; new leading dims may be added) without copying.
    /// Differentiable: the gradient sums over the repeats. RuntimeError if a
    /// size other than 1 would change.
    #[pyo3(signature = (*sizes))]
    fn expand<'py>(&self, py: Python<'py>, sizes: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::expand(&self.tensor(), &sizes_arg(sizes, "expand", "size")?)?)
    }
    /// `self.expand(other.shape)`: a view broadcast to `other`'s shape.
    /// Differentiable. RuntimeError if the shapes are not compatible.
    fn expand_as<'py>(&self, py: Python<'py>, other: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::expand_to(&self.tensor(), other.tensor().shape())?)
    }
    /// Self if it is already contiguous, otherwise a row-major copy.
    /// Differentiable.
    fn contiguous<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        let t = &slf.get().tensor();
        if t.layout().is_contiguous() {
            return Ok(slf.clone());
        }
        wrap(slf.py(), ops::contiguous(t)?)
    }
    /// A contiguous copy with its own storage, same shape and dtype.
    /// Differentiable (`CloneBackward0`).
    fn clone<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, ops::contiguous_copy(&self.tensor())?)
    }

    // ---- dtype / device ------------------------------------------------------------

    /// This tensor converted to `other.dtype` (self if they are equal).
    /// Differentiable between float dtypes.
    fn type_as<'py>(slf: &Bound<'py, Self>, other: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        convert_to(slf, other.tensor().dtype())
    }

    /// `to(dtype)`, `to(device)`, `to(tensor)` (its dtype), with `dtype=`/`device=`
    /// keywords: this tensor converted to the dtype, or self if nothing changes.
    /// Devices are only checked (RuntimeError for a bad string or CUDA without a
    /// backend); `non_blocking`, `copy`, `memory_format` are ignored, other
    /// keywords raise TypeError. Differentiable between float dtypes.
    #[pyo3(signature = (*args, **kwargs))]
    fn to<'py>(slf: &Bound<'py, Self>, args: &Bound<'py, PyTuple>, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyTensor>> {
        let mut dtype = None;
        // Positional bools are `non_blocking` then `copy`, as in PyTorch's signatures.
        let (flags, mut positional): (Vec<Bound<'py, PyAny>>, Vec<Bound<'py, PyAny>>) =
            args.iter().partition(|a| a.is_instance_of::<pyo3::types::PyBool>());
        // At most a device then a dtype (or one of them, or a tensor) besides
        // the two flags, as in PyTorch's signatures: `to(1, 1)` is no device
        // and dtype.
        let well_formed = flags.len() <= 2
            && match positional.as_slice() {
                [] | [_] => true,
                [device, dtype] => !device.is_instance_of::<PyDType>() && (dtype.is_none() || dtype.is_instance_of::<PyDType>()),
                _ => false,
            };
        if !well_formed {
            return Err(to_invalid(args, kwargs));
        }
        let mut copy = flags.get(1).map(|f| f.is_truthy()).transpose()?.unwrap_or(false);
        if let Some(kw) = kwargs {
            for (k, v) in kw.iter() {
                match k.extract::<String>()?.as_str() {
                    "dtype" | "device" => positional.push(v),
                    "copy" => copy = v.is_truthy()?,
                    "non_blocking" | "memory_format" => {}
                    other => return Err(PyTypeError::new_err(format!("to() got an unexpected keyword argument '{other}'"))),
                }
            }
        }
        // `to(other)` takes no device or dtype besides (`to(x, None)`).
        if positional.len() > 1 && positional.iter().any(|a| a.is_instance_of::<PyTensor>()) {
            return Err(to_invalid(args, kwargs));
        }
        for a in positional {
            if a.is_none() {
                continue;
            }
            if let Ok(d) = a.cast::<PyDType>() {
                dtype = Some(d.get().0);
            } else if let Ok(t) = a.cast::<PyTensor>() {
                dtype = Some(t.get().tensor().dtype());
            } else {
                parse_device(&a)?;
            }
        }
        let converted = match dtype {
            Some(d) => convert_to(slf, d)?,
            None => slf.clone(),
        };
        if copy && converted.is(slf) {
            return wrap(slf.py(), ops::convert::contiguous_copy(&slf.get().tensor())?);
        }
        Ok(converted)
    }
    /// Self: tensors made from Python are already on the CPU.
    fn cpu<'py>(slf: &Bound<'py, Self>) -> Bound<'py, Self> {
        slf.clone()
    }
    /// Self, unchanged: the data is not moved. RuntimeError unless this build has
    /// a CUDA backend and the machine a GPU; a bad `device` fails as in `to`.
    #[pyo3(signature = (device=None))]
    fn cuda<'py>(slf: &Bound<'py, Self>, device: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, Self>> {
        // A bad `device` fails first, as in PyTorch (TypeError, ValueError
        // for an int outside int64, RuntimeError for a negative index).
        if let Some(d) = device {
            parse_device(d)?;
        }
        Device::parse("cuda")?;
        Ok(slf.clone())
    }

    // ---- indexing ------------------------------------------------------------------

    fn __getitem__<'py>(&self, py: Python<'py>, index: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, super::index::get(&self.tensor(), index)?)
    }

    fn __setitem__(&self, index: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        super::index::set(&self.tensor(), index, value)
    }
}

/// PyTorch's TypeError for `to(...)` arguments none of its overloads takes.
#[cold]
fn to_invalid(args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyErr {
    let type_name = |v: &Bound<'_, PyAny>| v.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    let mut got: Vec<String> = args.iter().map(|a| type_name(&a)).collect();
    got.extend(kwargs.into_iter().flat_map(|kw| kw.iter()).map(|(k, v)| format!("{k}={}", type_name(&v))));
    PyTypeError::new_err(format!(
        "to() received an invalid combination of arguments - got ({}), but expected one of:\n \
         * (torch.device device = None, torch.dtype dtype = None, bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None)\n \
         * (torch.dtype dtype, bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None)\n \
         * (Tensor other, bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None)\n",
        got.join(", ")
    ))
}

fn scaled(other: PyArg, alpha: Option<&Bound<'_, PyAny>>) -> PyResult<PyArg> {
    let Some(alpha) = alpha.filter(|a| !a.is_none()) else { return Ok(other) };
    let alpha = PyArg::require(alpha)?;
    Ok(PyArg::Tensor(ops::mul(other.arg(), alpha.arg())?))
}

fn matmul_impl<'py>(py: Python<'py>, a: &Tensor, b: &Tensor) -> PyResult<Bound<'py, PyTensor>> {
    let work = a.numel().max(b.numel());
    wrap(py, maybe_detached(py, work, || matmul::matmul(a, b))?)
}

fn convert_to<'py>(slf: &Bound<'py, PyTensor>, dtype: DType) -> PyResult<Bound<'py, PyTensor>> {
    let t = &slf.get().tensor();
    if t.dtype() == dtype {
        return Ok(slf.clone());
    }
    wrap(slf.py(), ops::to_dtype(t, dtype)?)
}


/// The dtype shorthands (`t.float()`, `t.half()`, `t.long()`, ...): each
/// converts to one dtype, returning self if the tensor already has it.
/// Differentiable between float dtypes; conversions to integers truncate
/// toward zero and wrap on overflow, to bool give True where nonzero.
macro_rules! dtype_shorthands {
    ($($name:ident => $dtype:ident, $doc:literal;)*) => {
        #[pymethods]
        impl PyTensor {
            $(
                #[doc = $doc]
                fn $name<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
                    convert_to(slf, DType::$dtype)
                }
            )*
        }
    };
}

dtype_shorthands! {
    float => F32, "This tensor as float32 (self if it already is); differentiable.";
    double => F64, "This tensor as float64 (self if it already is); differentiable.";
    half => F16, "This tensor as float16 (self if it already is); differentiable.";
    bfloat16 => BF16, "This tensor as bfloat16 (self if it already is); differentiable.";
    long => I64, "This tensor as int64 (self if it already is), floats truncated toward zero.";
    int => I32, "This tensor as int32 (self if it already is), floats truncated toward zero, wrapping.";
    short => I16, "This tensor as int16 (self if it already is), floats truncated toward zero, wrapping.";
    char => I8, "This tensor as int8 (self if it already is), floats truncated toward zero, wrapping.";
    byte => U8, "This tensor as uint8 (self if it already is), floats truncated toward zero, wrapping.";
    bool => Bool, "This tensor as bool (self if it already is): True where nonzero.";
}
