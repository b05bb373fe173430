//! Module-level functions: factories, random numbers, grad mode, backward.

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyUserWarning};
use pyo3::prelude::*;
use pyo3::types::{PySequence, PyTuple};

use super::convert::{dtype_arg, scalar_of, shape_args, shape_of_sequence, tensor_from_data};
use super::dtype::parse_device;
use super::ints::{int64, int64_later, opt_int64};
use super::tensor::{not_a_number, required, tensor_not_number, wrap, PyTensor};
use crate::autograd::{self, grad_mode, BackwardOptions};
use crate::dtype::{DType, Scalar, DEFAULT_FLOAT};
use crate::ops::{factory, loss};
use crate::tensor::Tensor;

type Opt<'a, 'py> = Option<&'a Bound<'py, PyAny>>;

/// Applies the `device=` and `requires_grad=` keywords every factory takes.
fn finish<'py>(py: Python<'py>, t: Tensor, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    if let Some(d) = device.filter(|d| !d.is_none()) {
        parse_device(d)?;
    }
    if requires_grad {
        if !t.dtype().is_float() {
            return Err(PyRuntimeError::new_err("Only Tensors of floating point and complex dtype can require gradients"));
        }
        t.set_requires_grad(true)?;
    }
    wrap(py, t)
}

pub(super) fn as_tensor<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Bound<'a, PyTensor>> {
    obj.cast::<PyTensor>().cloned().map_err(|_| {
        PyTypeError::new_err(format!(
            "expected Tensor as argument, but got {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })
}

/// A new tensor copying `data`: a number, (nested) sequences, a NumPy array or
/// a tensor. The dtype is inferred as PyTorch does (bool, int64, else float32;
/// NumPy arrays keep theirs) unless `dtype` is given. ValueError for ragged
/// data, TypeError for strings, RuntimeError for other objects, or for
/// `requires_grad=True` with a non-float dtype.
#[pyfunction]
#[pyo3(signature = (data, *, dtype=None, device=None, requires_grad=false))]
pub fn tensor<'py>(py: Python<'py>, data: &Bound<'py, PyAny>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    let t = tensor_from_data(data, dtype_arg(dtype)?)?;
    finish(py, t, device, requires_grad)
}

fn filled<'py>(py: Python<'py>, func: &str, size: &Bound<'py, PyTuple>, value: Scalar, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    required(size, func, "size")?;
    let shape = shape_args(size, func)?;
    let t = factory::full(&shape, value, dtype_arg(dtype)?.unwrap_or(DEFAULT_FLOAT));
    finish(py, t, device, requires_grad)
}

/// A tensor of zeros of shape `size` (ints or one sequence), float32 unless
/// `dtype` is given. TypeError without `size`; RuntimeError for a negative
/// size, or for `requires_grad=True` with a non-float dtype.
#[pyfunction]
#[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false))]
pub fn zeros<'py>(py: Python<'py>, size: &Bound<'py, PyTuple>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    filled(py, "zeros", size, Scalar::Int(0), dtype, device, requires_grad)
}

/// A tensor of ones of shape `size` (ints or one sequence), float32 unless
/// `dtype` is given. TypeError without `size`; RuntimeError for a negative
/// size, or for `requires_grad=True` with a non-float dtype.
#[pyfunction]
#[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false))]
pub fn ones<'py>(py: Python<'py>, size: &Bound<'py, PyTuple>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    filled(py, "ones", size, Scalar::Int(1), dtype, device, requires_grad)
}

/// A tensor of shape `size` (ints or one sequence), float32 unless `dtype`
/// is given. Here the values are zeros, but as in PyTorch they are meant
/// to be overwritten. TypeError without `size`; RuntimeError for a negative
/// size.
#[pyfunction]
#[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false))]
pub fn empty<'py>(py: Python<'py>, size: &Bound<'py, PyTuple>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    filled(py, "empty", size, Scalar::Int(0), dtype, device, requires_grad)
}

/// The dtype `full`/`arange` infer from Python numbers.
fn inferred_dtype(values: &[Scalar]) -> DType {
    values.iter().map(|s| s.dtype()).max().unwrap_or(DEFAULT_FLOAT)
}

/// A Python number (or one-element tensor) argument as a scalar.
pub(crate) fn number(obj: &Bound<'_, PyAny>) -> PyResult<Scalar> {
    // A NumPy scalar keeps its kind (`arange(np.int64(4))` is int64, as in
    // PyTorch): read through `extract::<f64>` below it would become a float.
    if let Some(s) = scalar_of(obj).or_else(|| super::convert::numpy_scalar(obj)) {
        return Ok(s);
    }
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(t.get().tensor().item()?);
    }
    Ok(Scalar::Float(obj.extract::<f64>()?))
}

/// `number` for the argument `param` (at `position`) of `func` that PyTorch
/// types as a `Number`: a tensor counts only when 0-d (`tensor_not_number`).
fn number_arg(obj: &Bound<'_, PyAny>, func: &str, param: &str, position: usize) -> PyResult<Scalar> {
    if tensor_not_number(obj) {
        return Err(not_a_number(func, param, position, "Number"));
    }
    number(obj)
}

/// A tensor of shape `size` (a sequence of ints) filled with `fill_value`
/// (a number or a 0-d tensor); the dtype is inferred from the value (bool,
/// int64 or float32) unless given. TypeError for a `size` or `fill_value`
/// of another type, RuntimeError for a negative size, or for
/// `requires_grad=True` with a non-float dtype.
#[pyfunction]
#[pyo3(signature = (size, fill_value, *, dtype=None, device=None, requires_grad=false))]
pub fn full<'py>(py: Python<'py>, size: &Bound<'py, PyAny>, fill_value: &Bound<'py, PyAny>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    // The size first, as PyTorch's parser reads the arguments in order.
    let shape = shape_of_sequence(size, "full")?;
    let value = number_arg(fill_value, "full", "fill_value", 2)?;
    let dtype = dtype_arg(dtype)?.unwrap_or_else(|| inferred_dtype(&[value]));
    dtype.check_fits(value, dtype.overflow_name())?;
    finish(py, factory::full(&shape, value, dtype), device, requires_grad)
}

fn like<'py>(py: Python<'py>, input: &Bound<'py, PyAny>, dtype: Opt<'_, 'py>, make: impl FnOnce(&[usize], DType) -> crate::Result<Tensor>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    let input = as_tensor(input)?;
    let src = &input.get().tensor();
    let dtype = dtype_arg(dtype)?.unwrap_or(src.dtype());
    finish(py, make(src.shape(), dtype)?, device, requires_grad)
}

/// Zeros with the shape of `input` and, unless given, its dtype. TypeError if
/// `input` is not a Tensor.
#[pyfunction]
#[pyo3(signature = (input, *, dtype=None, device=None, requires_grad=false))]
pub fn zeros_like<'py>(py: Python<'py>, input: &Bound<'py, PyAny>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    like(py, input, dtype, |s, d| Ok(factory::full(s, Scalar::Int(0), d)), device, requires_grad)
}

/// Ones with the shape of `input` and, unless given, its dtype. TypeError if
/// `input` is not a Tensor.
#[pyfunction]
#[pyo3(signature = (input, *, dtype=None, device=None, requires_grad=false))]
pub fn ones_like<'py>(py: Python<'py>, input: &Bound<'py, PyAny>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    like(py, input, dtype, |s, d| Ok(factory::full(s, Scalar::Int(1), d)), device, requires_grad)
}

/// `fill_value` (a number or a 0-d tensor, cast to the dtype) with the
/// shape of `input` and, unless given, its dtype. TypeError if `input` is
/// not a Tensor or `fill_value` not a number.
#[pyfunction]
#[pyo3(signature = (input, fill_value, *, dtype=None, device=None, requires_grad=false))]
pub fn full_like<'py>(py: Python<'py>, input: &Bound<'py, PyAny>, fill_value: &Bound<'py, PyAny>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    let value = number_arg(fill_value, "full_like", "fill_value", 2)?;
    like(py, input, dtype, |s, d| Ok(factory::full(s, value, d)), device, requires_grad)
}

/// Standard normal samples (as `randn`) with the shape of `input` and, unless
/// given, its dtype. TypeError if `input` is not a Tensor,
/// NotImplementedError for a non-float dtype.
#[pyfunction]
#[pyo3(signature = (input, *, dtype=None, device=None, requires_grad=false))]
pub fn randn_like<'py>(py: Python<'py>, input: &Bound<'py, PyAny>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    like(py, input, dtype, |s, d| factory::randn(s, d, None), device, requires_grad)
}

/// Uniform samples on [0, 1) (as `rand`) with the shape of `input` and,
/// unless given, its dtype. TypeError if `input` is not a Tensor,
/// NotImplementedError for a non-float dtype.
#[pyfunction]
#[pyo3(signature = (input, *, dtype=None, device=None, requires_grad=false))]
pub fn rand_like<'py>(py: Python<'py>, input: &Bound<'py, PyAny>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    like(py, input, dtype, |s, d| factory::rand(s, d, None), device, requires_grad)
}

/// A 2-D `(n, m)` tensor with ones on the diagonal and zeros elsewhere; `m`
/// defaults to `n`, the dtype to float32. RuntimeError if `n` or `m` is
/// negative.
#[pyfunction]
#[pyo3(signature = (n, m=None, *, dtype=None, device=None, requires_grad=false))]
pub fn eye<'py>(py: Python<'py>, #[pyo3(from_py_with = int64)] n: i64, #[pyo3(from_py_with = opt_int64)] m: Option<i64>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    let m = m.unwrap_or(n);
    for (name, v) in [("n", n), ("m", m)] {
        if v < 0 {
            return Err(PyRuntimeError::new_err(format!("{name} must be greater or equal to 0, got {v}")));
        }
    }
    let t = factory::eye(n as usize, m as usize, dtype_arg(dtype)?.unwrap_or(DEFAULT_FLOAT))?;
    finish(py, t, device, requires_grad)
}

/// A 1-D tensor of `start, start + step, ...` up to but excluding `end`:
/// `ceil((end - start) / step)` values. With one bound it is `end` and
/// `start` is 0. int64 if all arguments are ints, else float32, unless
/// `dtype` is given. TypeError for a bound or step that is not a number (or
/// 0-d tensor), RuntimeError for `step == 0` or a step of the wrong sign.
#[pyfunction]
#[pyo3(signature = (start, end=None, step=None, *, dtype=None, device=None, requires_grad=false))]
pub fn arange<'py>(py: Python<'py>, start: &Bound<'py, PyAny>, end: Opt<'_, 'py>, step: Opt<'_, 'py>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    let end = end.filter(|e| !e.is_none());
    // With one bound, PyTorch's `arange(end)` names it `end`.
    let mut values = vec![number_arg(start, "arange", if end.is_some() { "start" } else { "end" }, 1)?];
    if let Some(e) = end {
        values.push(number_arg(e, "arange", "end", 2)?);
    } else {
        values.insert(0, Scalar::Int(0));
    }
    values.push(match step.filter(|s| !s.is_none()) {
        Some(s) => number_arg(s, "arange", "step", 3)?,
        None => Scalar::Int(1),
    });
    let dtype = dtype_arg(dtype)?.unwrap_or_else(|| inferred_dtype(&values));
    let t = factory::arange(values[0].to_f64(), values[1].to_f64(), values[2].to_f64(), dtype)?;
    finish(py, t, device, requires_grad)
}

/// A 1-D tensor of `steps` evenly spaced values from `start` to `end`, both
/// included; float32 unless `dtype` is given. RuntimeError if `steps` is
/// negative.
#[pyfunction]
#[pyo3(signature = (start, end, steps, *, dtype=None, device=None, requires_grad=false))]
pub fn linspace<'py>(py: Python<'py>, start: &Bound<'py, PyAny>, end: &Bound<'py, PyAny>, #[pyo3(from_py_with = int64)] steps: i64, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool) -> PyResult<Bound<'py, PyTensor>> {
    let t = factory::linspace(number(start)?.to_f64(), number(end)?.to_f64(), steps, dtype_arg(dtype)?.unwrap_or(DEFAULT_FLOAT))?;
    finish(py, t, device, requires_grad)
}

/// Samples from the standard normal distribution N(0, 1) in shape `size`,
/// float32 unless `dtype` is given, drawn from the global generator
/// (xoshiro256**, Box-Muller transform; seed with `manual_seed`).
/// `generator=` (a `torch.Generator`) draws from its stream instead.
/// TypeError without `size`; NotImplementedError for a non-float dtype.
#[pyfunction]
#[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false, generator=None))]
pub fn randn<'py>(py: Python<'py>, size: &Bound<'py, PyTuple>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool, generator: Opt<'_, 'py>) -> PyResult<Bound<'py, PyTensor>> {
    let generator = super::random::generator_arg(generator)?;
    required(size, "randn", "size")?;
    let t = factory::randn(&shape_args(size, "randn")?, dtype_arg(dtype)?.unwrap_or(DEFAULT_FLOAT), generator.as_ref())?;
    finish(py, t, device, requires_grad)
}

/// Samples from the uniform distribution on [0, 1) in shape `size`, float32
/// unless `dtype` is given, drawn from the global generator (xoshiro256**,
/// 53-bit uniforms; seed with `manual_seed`) or `generator=`.
/// TypeError without `size`; NotImplementedError for a non-float dtype.
#[pyfunction]
#[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false, generator=None))]
pub fn rand<'py>(py: Python<'py>, size: &Bound<'py, PyTuple>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool, generator: Opt<'_, 'py>) -> PyResult<Bound<'py, PyTensor>> {
    let generator = super::random::generator_arg(generator)?;
    required(size, "rand", "size")?;
    let t = factory::rand(&shape_args(size, "rand")?, dtype_arg(dtype)?.unwrap_or(DEFAULT_FLOAT), generator.as_ref())?;
    finish(py, t, device, requires_grad)
}

/// `randint(high, size)` or `randint(low, high, size)`: integers drawn
/// uniformly from `[low, high)` (`low` defaults to 0) in shape `size`, int64
/// unless `dtype` is given, from the global generator or `generator=`.
/// TypeError for a missing `size` or other arguments, RuntimeError if
/// `high <= low`.
#[pyfunction]
#[pyo3(signature = (*args, size=None, dtype=None, device=None, requires_grad=false, generator=None))]
pub fn randint<'py>(py: Python<'py>, args: &Bound<'py, PyTuple>, size: Opt<'_, 'py>, dtype: Opt<'_, 'py>, device: Opt<'_, 'py>, requires_grad: bool, generator: Opt<'_, 'py>) -> PyResult<Bound<'py, PyTensor>> {
    let mut bounds = Vec::new();
    let mut shape = None;
    for a in args.iter() {
        if a.cast::<PySequence>().is_ok() {
            shape = Some(shape_of_sequence(&a, "randint")?);
        } else {
            bounds.push(int64(&a)?);
        }
    }
    if let Some(s) = size.filter(|s| !s.is_none()) {
        shape = Some(shape_of_sequence(s, "randint")?);
    }
    let (low, high) = match bounds.as_slice() {
        [high] => (0, *high),
        [low, high] => (*low, *high),
        _ => return Err(PyTypeError::new_err("randint() expects (high, size) or (low, high, size)")),
    };
    let shape = shape.ok_or_else(|| PyTypeError::new_err("randint() missing required argument 'size'"))?;
    let generator = super::random::generator_arg(generator)?;
    let t = factory::randint(low, high, &shape, dtype_arg(dtype)?.unwrap_or(DType::I64), generator.as_ref())?;
    finish(py, t, device, requires_grad)
}

/// Reseeds the global random generator (xoshiro256** seeded by SplitMix64)
/// used by `rand`, `randn`, `randint` and their `_like` forms; negative seeds
/// wrap modulo 2**64. The seed is read with `int(seed)`, as PyTorch's
/// `manual_seed` does (a float truncates; a tensor of several elements is
/// `int()`'s ValueError). Returns None.
#[pyfunction]
pub fn manual_seed(seed: &Bound<'_, PyAny>) -> PyResult<()> {
    let seed: i128 = seed.py().get_type::<pyo3::types::PyInt>().call1((seed,))?.extract()?;
    crate::random::manual_seed(seed as u64);
    Ok(())
}

/// What rustgrad holds alive now, to find leaks: `live_tensors` (tensors,
/// including those autograd keeps: saved tensors, gradients, views),
/// `live_nodes` (backward nodes in the graph arena) and `storage_bytes`
/// (bytes of the buffers those tensors use, a buffer shared by views
/// counted once). All return to their earlier values once the tensors and
/// graphs made since are dropped.
#[pyfunction]
pub fn memory_stats(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
    let stats = pyo3::types::PyDict::new(py);
    stats.set_item("live_tensors", crate::stats::live_tensors())?;
    stats.set_item("live_nodes", crate::autograd::arena::live_nodes())?;
    stats.set_item("storage_bytes", crate::stats::storage_bytes())?;
    Ok(stats)
}

/// The seed of the global random generator: the last `manual_seed`, or the
/// one drawn from the clock at start-up.
#[pyfunction]
pub fn initial_seed() -> u64 {
    crate::random::initial_seed()
}

/// True if autograd records operations on this thread (False inside
/// `torch.no_grad()` or `torch.set_grad_enabled(False)`).
#[pyfunction]
pub fn is_grad_enabled() -> bool {
    grad_mode::is_enabled()
}

/// Sets this thread's grad mode; returns the previous one.
#[pyfunction]
pub fn _set_grad_enabled(enabled: bool) -> bool {
    grad_mode::set_enabled(enabled)
}

fn tensor_list(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Tensor>> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(vec![t.get().tensor().clone()]);
    }
    let seq = obj.cast::<PySequence>().map_err(|_| PyTypeError::new_err("expected a Tensor or a sequence of Tensors"))?;
    (0..seq.len()?).map(|i| Ok(as_tensor(&seq.get_item(i)?)?.get().tensor().clone())).collect()
}

fn tensor_seq(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Tensor>> {
    if obj.cast::<PyTensor>().is_ok() {
        return Err(PyTypeError::new_err(format!("{what}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")));
    }
    tensor_list(obj)
}

/// `torch.cat(tensors, dim=0)` (also `concat`, `concatenate`): joins a sequence
/// of tensors along the existing dimension `dim`, promoting to a common dtype;
/// the other sizes must match (empty 1-D tensors are skipped). Differentiable.
/// TypeError for a lone Tensor, RuntimeError for an empty sequence, 0-d
/// tensors or mismatched sizes, IndexError for a dim out of range.
#[pyfunction]
#[pyo3(signature = (tensors, dim=Ok(0)), text_signature = "(tensors, dim=0)")]
pub fn cat<'py>(py: Python<'py>, tensors: &Bound<'py, PyAny>, #[pyo3(from_py_with = int64_later)] dim: PyResult<i64>) -> PyResult<Bound<'py, PyTensor>> {
    let tensors = tensor_seq(tensors, "cat")?;
    wrap(py, crate::ops::join::cat(&tensors, dim?)?)
}

/// `torch.stack(tensors, dim=0)`: joins equal-shape tensors along a new
/// dimension `dim` (in `[-ndim-1, ndim]`), so the result has one more
/// dimension. Differentiable. TypeError for a lone Tensor, RuntimeError for an
/// empty sequence or unequal shapes, IndexError for a dim out of range.
#[pyfunction]
#[pyo3(signature = (tensors, dim=Ok(0)), text_signature = "(tensors, dim=0)")]
pub fn stack<'py>(py: Python<'py>, tensors: &Bound<'py, PyAny>, #[pyo3(from_py_with = int64_later)] dim: PyResult<i64>) -> PyResult<Bound<'py, PyTensor>> {
    let tensors = tensor_seq(tensors, "stack")?;
    wrap(py, crate::ops::join::stack(&tensors, dim?)?)
}

/// The roots of a backward pass and the gradients that seed them (ones for
/// a scalar root given none).
fn roots_and_grads(tensors: &Bound<'_, PyAny>, grad_tensors: Opt<'_, '_>) -> PyResult<(Vec<Tensor>, Vec<Tensor>)> {
    let roots = tensor_list(tensors)?;
    let given: Vec<Option<Tensor>> = match grad_tensors.filter(|g| !g.is_none()) {
        None => vec![None; roots.len()],
        Some(g) if g.cast::<PyTensor>().is_ok() => vec![Some(g.cast::<PyTensor>()?.get().tensor().clone())],
        Some(g) => {
            let seq = g.cast::<PySequence>()?;
            (0..seq.len()?)
                .map(|i| {
                    let item = seq.get_item(i)?;
                    if item.is_none() { Ok(None) } else { Ok(Some(as_tensor(&item)?.get().tensor().clone())) }
                })
                .collect::<PyResult<_>>()?
        }
    };
    if given.len() != roots.len() {
        // PyTorch's engine's check (python_engine.cpp).
        return Err(PyRuntimeError::new_err(format!("got {} tensors and {} gradients", roots.len(), given.len())));
    }
    let mut grads = Vec::with_capacity(roots.len());
    for (root, g) in roots.iter().zip(given) {
        grads.push(match g {
            Some(g) => g,
            None => {
                if root.requires_grad() {
                    if root.numel() != 1 {
                        return Err(PyRuntimeError::new_err("grad can be implicitly created only for scalar outputs"));
                    }
                    if !root.dtype().is_float() {
                        return Err(PyRuntimeError::new_err(format!(
                            "grad can be implicitly created only for real scalar outputs but got torch.{}",
                            root.dtype().name()
                        )));
                    }
                }
                Tensor::full(root.shape(), Scalar::Int(1), root.dtype())
            }
        });
    }
    Ok((roots, grads))
}

/// `torch.autograd.backward` (and `Tensor.backward`).
#[pyfunction]
#[pyo3(name = "_backward", signature = (tensors, grad_tensors=None, retain_graph=None, create_graph=false, inputs=None))]
pub fn run_backward(
    py: Python<'_>,
    tensors: &Bound<'_, PyAny>,
    grad_tensors: Opt<'_, '_>,
    retain_graph: Option<bool>,
    create_graph: bool,
    inputs: Opt<'_, '_>,
) -> PyResult<()> {
    let (roots, grads) = roots_and_grads(tensors, grad_tensors)?;
    let inputs = match inputs.filter(|i| !i.is_none()) {
        None => None,
        Some(i) => Some(tensor_list(i)?),
    };
    if inputs.as_ref().is_some_and(Vec::is_empty) {
        return Err(PyRuntimeError::new_err("`inputs` argument to `backward()` cannot be empty."));
    }
    // PyTorch gives this warning once per process.
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if create_graph && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        PyErr::warn(py, &py.get_type::<PyUserWarning>(), CREATE_GRAPH_WARNING, 1)?;
    }
    let opts = BackwardOptions { retain_graph: retain_graph.unwrap_or(create_graph), create_graph, parallel: None };
    py.detach(|| autograd::backward(&roots, &grads, opts, inputs.as_deref()))?;
    Ok(())
}

const CREATE_GRAPH_WARNING: &std::ffi::CStr = c"Using backward() with create_graph=True will create a reference cycle between the parameter and its gradient which can cause a memory leak. We recommend using autograd.grad when creating the graph to avoid this. If you have to use this function, make sure to reset the .grad fields of your parameters to None after use to break the cycle and avoid the leak.";

/// `torch.autograd.grad`'s engine call: one gradient (or `None`) per input.
#[pyfunction]
#[pyo3(name = "_grad", signature = (outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=false))]
pub fn run_grad<'py>(
    py: Python<'py>,
    outputs: &Bound<'py, PyAny>,
    inputs: &Bound<'py, PyAny>,
    grad_outputs: Opt<'_, 'py>,
    retain_graph: Option<bool>,
    create_graph: bool,
) -> PyResult<Vec<Option<Bound<'py, PyTensor>>>> {
    let (roots, grads) = roots_and_grads(outputs, grad_outputs)?;
    let inputs = tensor_list(inputs)?;
    let opts = BackwardOptions { retain_graph: retain_graph.unwrap_or(create_graph), create_graph, parallel: None };
    let result = py.detach(|| autograd::grad(&roots, &grads, opts, &inputs))?;
    result.into_iter().map(|g| g.map(|g| wrap(py, g)).transpose()).collect()
}

/// Binary cross-entropy between `sigmoid(input)` and `target` (same shape,
/// float): per element `(1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)`,
/// times `weight`, as in ATen's loss.cpp; `reduction` is 'none', 'mean' or
/// 'sum'. Differentiable in `input` and `target`. ValueError for a shape
/// mismatch or a bad reduction, RuntimeError for non-float inputs.
#[pyfunction]
#[pyo3(signature = (input, target, weight=None, pos_weight=None, reduction="mean"))]
pub fn binary_cross_entropy_with_logits<'py>(
    py: Python<'py>,
    input: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Opt<'_, 'py>,
    pos_weight: Opt<'_, 'py>,
    reduction: &str,
) -> PyResult<Bound<'py, PyTensor>> {
    let (input, target) = (as_tensor(input)?, as_tensor(target)?);
    let optional = |w: Opt<'_, 'py>| -> PyResult<Option<Tensor>> {
        w.filter(|w| !w.is_none()).map(|w| Ok(as_tensor(w)?.get().tensor().clone())).transpose()
    };
    let (weight, pos_weight) = (optional(weight)?, optional(pos_weight)?);
    let out = loss::binary_cross_entropy_with_logits(
        &input.get().tensor(),
        &target.get().tensor(),
        weight.as_ref(),
        pos_weight.as_ref(),
        loss::Reduction::parse(reduction)?,
    )?;
    wrap(py, out)
}

/// True if this build has a CUDA backend and the machine a usable GPU.
#[pyfunction]
pub fn cuda_is_available() -> bool {
    crate::cuda_backend::is_available()
}

/// The number of CUDA GPUs this build can use (0 without a CUDA backend).
#[pyfunction]
pub fn cuda_device_count() -> usize {
    crate::cuda_backend::device_count()
}

/// Live backward nodes in the arena (for leak tests).
#[pyfunction]
pub fn _live_nodes() -> usize {
    crate::autograd::arena::live_nodes()
}
