//! The `Tensor` class: the Rust tensor itself, exposed to Python.

use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyUserWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};

use super::convert::{self, dtype_arg, scalar_of, shape_args};
use super::dtype::{dtype_object, parse_device, PyDType, PyDevice};
use crate::device::Device;
use crate::dtype::{DType, Scalar};
use crate::ops::{self, compare, inplace, matmul, unary, view, Arg};
use crate::tensor::{Tensor, TensorCell, TensorGuard};

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
    let current = t.pyobj().get();
    // SAFETY: as in `wrap`.
    if current == 0 || unsafe { pyo3::ffi::Py_REFCNT(current as *mut pyo3::ffi::PyObject) } <= 0 {
        t.pyobj().set(slf.as_ptr() as usize, slf.get() as *const PyTensor as usize);
    }
}

/// The Python object for `t`: the live one if there is one (so that
/// `x.grad is x.grad`, as in PyTorch), else a new one.
pub fn wrap(py: Python<'_>, t: Tensor) -> PyResult<Bound<'_, PyTensor>> {
    let existing = t.pyobj().get();
    if existing != 0 {
        // SAFETY: the slot names a live object (its Drop clears the slot),
        // read with the GIL held.
        unsafe {
            let obj = existing as *mut pyo3::ffi::PyObject;
            if pyo3::ffi::Py_REFCNT(obj) > 0 {
                return Ok(Bound::from_borrowed_ptr(py, obj).cast_into_unchecked());
            }
        }
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

/// An operand from Python: a tensor or a number; `None` for other types (so
/// the operator can return `NotImplemented`).
enum PyArg {
    Tensor(Tensor),
    Scalar(Scalar),
}

impl PyArg {
    fn extract(obj: &Bound<'_, PyAny>) -> Option<PyArg> {
        if let Ok(t) = obj.cast::<PyTensor>() {
            return Some(PyArg::Tensor(t.get().tensor().clone()));
        }
        scalar_of(obj).map(PyArg::Scalar).or_else(|| {
            // NumPy scalars and other numbers with __float__.
            obj.extract::<f64>().ok().map(|v| PyArg::Scalar(Scalar::Float(v)))
        })
    }

    fn arg(&self) -> Arg<'_> {
        match self {
            PyArg::Tensor(t) => Arg::Tensor(t),
            PyArg::Scalar(s) => Arg::Scalar(*s),
        }
    }

    fn require(obj: &Bound<'_, PyAny>) -> PyResult<PyArg> {
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

/// `dim=` as `None`, an int, or a sequence of ints.
fn dims_arg(dim: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<i64>>> {
    match dim {
        None => Ok(None),
        Some(d) if d.is_none() => Ok(None),
        Some(d) => match d.extract::<i64>() {
            Ok(i) => Ok(Some(vec![i])),
            Err(_) => Ok(Some(d.extract::<Vec<i64>>()?)),
        },
    }
}

/// Sizes given as `f(2, 3)` or `f((2, 3))`, allowing -1.
fn sizes_arg(args: &Bound<'_, PyTuple>) -> PyResult<Vec<i64>> {
    if args.len() == 1 {
        let first = args.get_item(0)?;
        if let Ok(v) = first.extract::<Vec<i64>>() {
            return Ok(v);
        }
    }
    args.extract::<Vec<i64>>()
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
    fn map<'py>(&self, py: Python<'py>, op: fn(&Tensor) -> crate::Result<Tensor>) -> PyResult<Bound<'py, PyTensor>> {
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
    #[new]
    #[pyo3(signature = (*args))]
    fn new(args: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
        // torch.Tensor(data) or torch.Tensor(*sizes): float32.
        if args.len() == 1 && !args.get_item(0)?.is_instance_of::<pyo3::types::PyInt>() {
            return Ok(PyTensor::wrapping(convert::tensor_from_data(&args.get_item(0)?, Some(DType::F32))?));
        }
        let shape = shape_args(args)?;
        Ok(PyTensor::wrapping(Tensor::full(&shape, Scalar::Float(0.0), DType::F32)))
    }

    // ---- metadata ---------------------------------------------------------

    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        size_object(py, self.tensor().shape())
    }

    #[pyo3(signature = (dim=None))]
    fn size<'py>(&self, py: Python<'py>, dim: Option<i64>) -> PyResult<Py<PyAny>> {
        match dim {
            None => Ok(size_object(py, self.tensor().shape())?.unbind()),
            Some(d) => {
                let d = crate::layout::normalize_dim(d, self.tensor().ndim())?;
                Ok(self.tensor().shape().get(d).copied().unwrap_or(1).into_pyobject(py)?.into_any().unbind())
            }
        }
    }

    #[getter]
    fn dtype(&self, py: Python<'_>) -> Py<PyDType> {
        dtype_object(py, self.tensor().dtype()).clone_ref(py)
    }

    #[getter]
    fn device(&self) -> PyDevice {
        PyDevice(self.tensor().device())
    }

    #[getter]
    fn is_cuda(&self) -> bool {
        matches!(self.tensor().device(), Device::Cuda(_))
    }

    #[getter]
    fn ndim(&self) -> usize {
        self.tensor().ndim()
    }

    fn dim(&self) -> usize {
        self.tensor().ndim()
    }

    fn numel(&self) -> usize {
        self.tensor().numel()
    }

    fn nelement(&self) -> usize {
        self.tensor().numel()
    }

    fn element_size(&self) -> usize {
        match self.tensor().dtype() {
            DType::Bool => 1,
            DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    fn is_floating_point(&self) -> bool {
        self.tensor().dtype().is_float()
    }

    fn is_contiguous(&self) -> bool {
        self.tensor().layout().is_contiguous()
    }

    fn stride<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.tensor().layout().strides.iter())
    }

    fn data_ptr(&self) -> usize {
        self.tensor().data_ptr() as usize
    }

    // ---- autograd -----------------------------------------------------------

    #[getter]
    fn get_requires_grad(&self) -> bool {
        self.tensor().requires_grad()
    }

    #[setter]
    fn set_requires_grad(slf: &Bound<'_, Self>, flag: bool) -> PyResult<()> {
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

    #[pyo3(signature = (requires_grad=true))]
    fn requires_grad_<'py>(slf: &Bound<'py, Self>, requires_grad: bool) -> PyResult<Bound<'py, Self>> {
        slf.get().tensor().set_requires_grad(requires_grad)?;
        adopt(slf);
        Ok(slf.clone())
    }

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

    #[getter]
    fn grad_fn<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.tensor().grad_fn_ref().map(|n| super::graph::node_object(py, &n)).transpose()
    }

    #[getter]
    fn is_leaf(&self) -> bool {
        self.tensor().is_leaf()
    }

    #[getter]
    fn output_nr(&self) -> u32 {
        self.tensor().history().map_or(0, |(_, nr)| nr)
    }

    /// `.data`: the same values, detached, with a version counter of its own
    /// (writes through it are not seen by autograd).
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

    fn is_inference(&self) -> bool {
        self.tensor().is_inference()
    }

    fn retain_grad(&self) -> PyResult<()> {
        Ok(self.tensor().retain_grad()?)
    }

    #[getter]
    fn retains_grad(&self) -> bool {
        self.tensor().retains_grad()
    }

    fn detach<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, self.tensor().detach())
    }

    fn detach_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        let t = &slf.get().tensor();
        if t.is_view() && t.requires_grad() {
            return Err(PyRuntimeError::new_err("Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence detach_() cannot be called on these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."));
        }
        t.set_history(None, 0);
        t.set_requires_grad(false)?;
        Ok(slf.clone())
    }

    #[pyo3(signature = (gradient=None, retain_graph=None, create_graph=false, inputs=None))]
    fn backward(
        &self,
        py: Python<'_>,
        gradient: Option<&Bound<'_, PyAny>>,
        retain_graph: Option<bool>,
        create_graph: bool,
        inputs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let gradient = gradient.filter(|g| !g.is_none()).map(|g| g.clone().into_any());
        let tensors = PyTuple::new(py, [wrap(py, self.tensor().clone())?])?;
        let grads = match gradient {
            Some(g) => Some(PyTuple::new(py, [g])?.into_any()),
            None => None,
        };
        super::functions::run_backward(py, &tensors.into_any(), grads.as_ref(), retain_graph, create_graph, inputs)
    }

    /// Registers `hook(grad)` to run when this tensor's gradient is computed;
    /// a returned tensor replaces the gradient (it must keep its size).
    fn register_hook(&self, hook: Py<PyAny>) -> PyResult<super::graph::RemovableHandle> {
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
        let key = me.register_hook(std::sync::Arc::new(call))?;
        Ok(super::graph::RemovableHandle { target, key })
    }

    /// Registers `hook(tensor)` to run after this leaf's `.grad` was updated.
    fn register_post_accumulate_grad_hook(&self, hook: Py<PyAny>) -> PyResult<super::graph::RemovableHandle> {
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
        let key = self.tensor().register_post_accumulate_hook(std::sync::Arc::new(call))?;
        Ok(super::graph::RemovableHandle { target: super::graph::HookTarget::Tensor(self.tensor().clone()), key })
    }

    /// `self.copy_(src)`: `src`'s values (broadcast, converted) written in.
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

    fn item(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        convert::scalar_to_py(py, self.tensor().item()?)
    }

    fn tolist(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        convert::to_list(py, &self.tensor())
    }

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
        convert::to_numpy(slf)
    }

    #[pyo3(signature = (dtype=None))]
    fn __array__<'py>(slf: &Bound<'py, Self>, dtype: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let arr = convert::to_numpy_copy(slf.py(), &slf.get().tensor())?;
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
        let values = convert::to_numpy_copy(py, &self.tensor())?;
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
    fn __pos__<'py>(slf: &Bound<'py, Self>) -> Bound<'py, Self> {
        slf.clone()
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

    #[pyo3(signature = (other, *, alpha=None))]
    fn add<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>, alpha: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let py = slf.py();
        let other = scaled(PyArg::require(other)?, alpha)?;
        wrap(py, ops::add(&*slf.get().tensor(), other.arg())?)
    }
    #[pyo3(signature = (other, *, alpha=None))]
    fn sub<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>, alpha: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let py = slf.py();
        let other = scaled(PyArg::require(other)?, alpha)?;
        wrap(py, ops::sub(&*slf.get().tensor(), other.arg())?)
    }
    fn mul<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(slf.py(), ops::mul(&*slf.get().tensor(), PyArg::require(other)?.arg())?)
    }
    fn div<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(slf.py(), ops::div(&*slf.get().tensor(), PyArg::require(other)?.arg())?)
    }
    fn pow<'py>(slf: &Bound<'py, Self>, exponent: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(slf.py(), ops::pow(&*slf.get().tensor(), PyArg::require(exponent)?.arg())?)
    }
    fn matmul<'py>(&self, py: Python<'py>, other: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        matmul_impl(py, &self.tensor(), &other.tensor())
    }
    fn mm<'py>(&self, py: Python<'py>, other: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        if self.tensor().ndim() != 2 || other.tensor().ndim() != 2 {
            return Err(PyRuntimeError::new_err(format!(
                "{} must be a matrix",
                if self.tensor().ndim() != 2 { "self" } else { "mat2" }
            )));
        }
        matmul_impl(py, &self.tensor(), &other.tensor())
    }

    #[pyo3(signature = (other, *, alpha=None))]
    fn add_<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>, alpha: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, Self>> {
        let other = scaled(PyArg::require(other)?, alpha)?;
        inplace::binary_(&slf.get().tensor(), other.arg(), inplace::InplaceOp::Add)?;
        Ok(slf.clone())
    }
    #[pyo3(signature = (other, *, alpha=None))]
    fn sub_<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>, alpha: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, Self>> {
        let other = scaled(PyArg::require(other)?, alpha)?;
        inplace::binary_(&slf.get().tensor(), other.arg(), inplace::InplaceOp::Sub)?;
        Ok(slf.clone())
    }
    fn mul_<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        inplace(slf, other, inplace::InplaceOp::Mul)
    }
    fn div_<'py>(slf: &Bound<'py, Self>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        inplace(slf, other, inplace::InplaceOp::Div)
    }
    fn zero_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        inplace::fill_(&slf.get().tensor(), Scalar::Int(0), true)?;
        Ok(slf.clone())
    }
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
    fn lt<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::lt(&self.tensor(), PyArg::require(other)?.arg())?)
    }
    fn le<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::le(&self.tensor(), PyArg::require(other)?.arg())?)
    }
    fn gt<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::gt(&self.tensor(), PyArg::require(other)?.arg())?)
    }
    fn ge<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::ge(&self.tensor(), PyArg::require(other)?.arg())?)
    }
    fn eq<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::eq(&self.tensor(), PyArg::require(other)?.arg())?)
    }
    fn ne<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, compare::ne(&self.tensor(), PyArg::require(other)?.arg())?)
    }

    // ---- element-wise functions ----------------------------------------------------

    fn neg<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::neg)
    }
    fn sin<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::sin)
    }
    fn cos<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::cos)
    }
    fn exp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::exp)
    }
    fn log<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::log)
    }
    fn log1p<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::log1p)
    }
    fn sqrt<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::sqrt)
    }
    fn tanh<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::tanh)
    }
    fn sigmoid<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::sigmoid)
    }
    fn relu<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::relu)
    }
    fn abs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::abs)
    }
    fn sign<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::sign)
    }
    fn reciprocal<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        self.map(py, unary::reciprocal)
    }
    fn masked_fill<'py>(&self, py: Python<'py>, mask: PyRef<'py, PyTensor>, value: f64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, ops::masked::masked_fill(&self.tensor(), &mask.tensor(), value)?)
    }

    // ---- reductions -------------------------------------------------------------------

    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn sum<'py>(&self, py: Python<'py>, dim: Option<&Bound<'py, PyAny>>, keepdim: bool, dtype: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let (dims, dtype) = (dims_arg(dim)?, dtype_arg(dtype)?);
        wrap(py, maybe_detached(py, self.tensor().numel(), || ops::sum(&self.tensor(), dims.as_deref(), keepdim, dtype))?)
    }

    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn mean<'py>(&self, py: Python<'py>, dim: Option<&Bound<'py, PyAny>>, keepdim: bool, dtype: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let (dims, dtype) = (dims_arg(dim)?, dtype_arg(dtype)?);
        wrap(py, maybe_detached(py, self.tensor().numel(), || ops::mean(&self.tensor(), dims.as_deref(), keepdim, dtype))?)
    }

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
        let dims = dims_arg(dim)?;
        wrap(py, maybe_detached(py, self.tensor().numel(), || ops::norm(&self.tensor(), p, dims.as_deref(), keepdim))?)
    }

    // ---- shape ------------------------------------------------------------------------

    fn t<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::t(&self.tensor())?)
    }
    #[getter(T)]
    fn big_t<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        let mut out = self.tensor().clone();
        let n = out.ndim() as i64;
        for i in 0..n / 2 {
            out = view::transpose(&out, i, n - 1 - i)?;
        }
        wrap(py, out)
    }
    #[getter(mT)]
    fn matrix_t<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::transpose_last2(&self.tensor())?)
    }
    fn transpose<'py>(&self, py: Python<'py>, dim0: i64, dim1: i64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::transpose(&self.tensor(), dim0, dim1)?)
    }
    #[pyo3(signature = (*shape))]
    fn reshape<'py>(&self, py: Python<'py>, shape: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::reshape(&self.tensor(), &sizes_arg(shape)?)?)
    }
    #[pyo3(signature = (*shape))]
    fn view<'py>(&self, py: Python<'py>, shape: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::view(&self.tensor(), &sizes_arg(shape)?)?)
    }
    fn flatten<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::reshape(&self.tensor(), &[-1])?)
    }
    fn unsqueeze<'py>(&self, py: Python<'py>, dim: i64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::unsqueeze(&self.tensor(), dim)?)
    }
    #[pyo3(signature = (dim=None))]
    fn squeeze<'py>(&self, py: Python<'py>, dim: Option<i64>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::squeeze(&self.tensor(), dim)?)
    }
    #[pyo3(signature = (*sizes))]
    fn expand<'py>(&self, py: Python<'py>, sizes: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::expand(&self.tensor(), &sizes_arg(sizes)?)?)
    }
    fn expand_as<'py>(&self, py: Python<'py>, other: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::expand_to(&self.tensor(), other.tensor().shape())?)
    }
    fn contiguous<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        let t = &slf.get().tensor();
        if t.layout().is_contiguous() {
            return Ok(slf.clone());
        }
        wrap(slf.py(), ops::contiguous(t)?)
    }
    fn clone<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, ops::contiguous_copy(&self.tensor())?)
    }

    // ---- dtype / device ------------------------------------------------------------

    fn float<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        convert_to(slf, DType::F32)
    }
    fn double<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        convert_to(slf, DType::F64)
    }
    fn long<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        convert_to(slf, DType::I64)
    }
    fn bool<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTensor>> {
        convert_to(slf, DType::Bool)
    }
    fn type_as<'py>(slf: &Bound<'py, Self>, other: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        convert_to(slf, other.tensor().dtype())
    }

    /// `to(dtype)`, `to(device)`, `to(tensor)`, with `dtype=`/`device=` keywords.
    #[pyo3(signature = (*args, **kwargs))]
    fn to<'py>(slf: &Bound<'py, Self>, args: &Bound<'py, PyTuple>, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyTensor>> {
        let mut dtype = None;
        let mut positional: Vec<Bound<'py, PyAny>> = args.iter().collect();
        if let Some(kw) = kwargs {
            for (k, v) in kw.iter() {
                match k.extract::<String>()?.as_str() {
                    "dtype" | "device" => positional.push(v),
                    "non_blocking" | "copy" | "memory_format" => {}
                    other => return Err(PyTypeError::new_err(format!("to() got an unexpected keyword argument '{other}'"))),
                }
            }
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
        match dtype {
            Some(d) => convert_to(slf, d),
            None => Ok(slf.clone()),
        }
    }
    fn cpu<'py>(slf: &Bound<'py, Self>) -> Bound<'py, Self> {
        slf.clone()
    }
    #[pyo3(signature = (device=None))]
    fn cuda<'py>(slf: &Bound<'py, Self>, device: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, Self>> {
        let _ = device;
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

