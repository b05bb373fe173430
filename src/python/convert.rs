//! Conversions between Python values and tensors: nested lists, NumPy
//! arrays (zero-copy out), numbers, shapes and dtype arguments.

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyBool, PyBytes, PyFloat, PyInt, PyList, PySequence, PyString, PyTuple};

use super::dtype::PyDType;
use super::tensor::PyTensor;
use crate::cpu_backend::CpuStorage;
use crate::dtype::{DType, Scalar, DEFAULT_FLOAT};
use crate::layout::Shape;
use crate::tensor::Tensor;

/// A Python number as a scalar, if it is one (bools before ints: `bool`
/// subclasses `int`).
pub fn scalar_of(obj: &Bound<'_, PyAny>) -> Option<Scalar> {
    if obj.is_instance_of::<PyBool>() {
        obj.extract::<bool>().ok().map(Scalar::Bool)
    } else if obj.is_instance_of::<PyInt>() {
        obj.extract::<i64>().ok().map(Scalar::Int)
    } else if obj.is_instance_of::<PyFloat>() {
        obj.extract::<f64>().ok().map(Scalar::Float)
    } else {
        None
    }
}

pub fn dtype_arg(dtype: Option<&Bound<'_, PyAny>>) -> PyResult<Option<DType>> {
    match dtype {
        None => Ok(None),
        Some(d) if d.is_none() => Ok(None),
        Some(d) => match d.cast::<PyDType>() {
            Ok(d) => Ok(Some(d.get().0)),
            Err(_) => Err(PyTypeError::new_err(format!(
                "dtype must be torch.dtype (got {})",
                d.get_type().name()?
            ))),
        },
    }
}

/// A size given as `f(2, 3)`, `f((2, 3))`, `f([2, 3])` or `f(())`, the
/// argument `size` of `func` (named in the error for a size outside int64).
pub fn shape_args(args: &Bound<'_, PyTuple>, func: &str) -> PyResult<Shape> {
    if args.len() == 1 {
        let first = args.get_item(0)?;
        if !first.is_instance_of::<PyInt>() {
            return shape_of_sequence(&first, func);
        }
    }
    shape_of_sequence(args.as_any(), func)
}

/// A sequence of sizes, the argument `size` of `func`.
pub fn shape_of_sequence(obj: &Bound<'_, PyAny>, func: &str) -> PyResult<Shape> {
    let seq = obj.cast::<PySequence>().map_err(|_| {
        PyTypeError::new_err(format!("{func}(): argument 'size' must be tuple of ints, not {}", obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()))
    })?;
    let mut shape = Shape::new();
    let dims: Vec<i64> = (0..seq.len()?)
        .map(|i| seq.get_item(i)?.extract::<i64>())
        .collect::<PyResult<_>>()
        .map_err(|e| {
            if super::ints::is_overflow(obj.py(), &e) {
                super::ints::list_overflow(obj, func, "size")
            } else {
                PyTypeError::new_err("size must be a tuple of ints")
            }
        })?;
    for &d in &dims {
        if d < 0 {
            return Err(PyRuntimeError::new_err(format!(
                "Trying to create tensor with negative dimension {d}: {dims:?}"
            )));
        }
        shape.push(d as usize);
    }
    // Every factory takes its shape here: the largest dtype bounds the size.
    crate::layout::check_size(&shape, 8)?;
    crate::layout::check_allocation(crate::layout::numel(&shape), 8)?;
    Ok(shape)
}

/// Flattened nested-list data and what it holds.
#[derive(Default)]
struct Collected {
    values: Vec<f64>,
    ints: Vec<i64>,
    kind: Option<DType>,
}

/// More nesting than any tensor has dimensions: a self-containing list.
pub(super) const MAX_DIMS: usize = 64;

/// A NumPy scalar (`np.float32(1.5)`) as a Python number.
pub fn numpy_scalar(obj: &Bound<'_, PyAny>) -> Option<Scalar> {
    let generic = obj.py().import("numpy").and_then(|np| np.getattr("generic")).ok()?;
    if !obj.is_instance(&generic).unwrap_or(false) {
        return None;
    }
    scalar_of(&obj.call_method0("item").ok()?)
}

/// The dtype of a NumPy scalar; unsigned types rustgrad lacks widen to
/// int64 and long doubles narrow to float64, as for arrays.
fn numpy_scalar_dtype(obj: &Bound<'_, PyAny>) -> Option<DType> {
    let name: String = obj.getattr("dtype").ok()?.getattr("name").ok()?.extract().ok()?;
    Some(match name.as_str() {
        "bool" => DType::Bool,
        "uint8" => DType::U8,
        "int8" => DType::I8,
        "int16" => DType::I16,
        "int32" => DType::I32,
        "float16" => DType::F16,
        "float32" => DType::F32,
        n if n.starts_with("float") => DType::F64,
        n if n.starts_with("int") || n.starts_with("uint") => DType::I64,
        _ => return None,
    })
}

fn collect(obj: &Bound<'_, PyAny>, depth: usize, shape: &mut Shape, out: &mut Collected) -> PyResult<()> {
    if depth > MAX_DIMS {
        return Err(PyValueError::new_err(format!("too many dimensions: nesting deeper than {MAX_DIMS}")));
    }
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        let kind = obj.get_type().name()?;
        return Err(if depth == 0 || obj.is_instance_of::<PyBytes>() {
            PyTypeError::new_err(format!("new(): invalid data type '{kind}'"))
        } else {
            PyValueError::new_err(format!("too many dimensions '{kind}'"))
        });
    }
    // A NumPy scalar counts with its own dtype (`np.float64` subclasses
    // `float` but makes float64, as in PyTorch); exact Python numbers skip
    // the NumPy check, which is the slow part.
    let exact = obj.is_exact_instance_of::<PyFloat>() || obj.is_exact_instance_of::<PyInt>() || obj.is_exact_instance_of::<PyBool>();
    let typed = if exact { None } else { numpy_scalar(obj).zip(numpy_scalar_dtype(obj)) };
    if let Some((s, kind)) = typed.or_else(|| scalar_of(obj).map(|s| (s, s.dtype()))) {
        if depth != shape.len() {
            return Err(PyValueError::new_err(format!(
                "expected sequence of length {} at dim {} (got {})",
                shape[depth], depth, "a number"
            )));
        }
        out.kind = Some(out.kind.map_or(kind, |k| crate::dtype::promote(k, kind)));
        out.values.push(s.to_f64());
        out.ints.push(if let Scalar::Int(i) = s { i } else { s.to_f64() as i64 });
        return Ok(());
    }
    // An array inside a list is a sequence with its dtype (PyTorch keeps
    // float64 for `tensor([np.zeros(2), np.ones(2)])`).
    if depth > 0 && obj.is_instance_of::<numpy::PyUntypedArray>() {
        if let Some(t) = copy_numpy(obj)? {
            out.kind = Some(out.kind.map_or(t.dtype(), |k| crate::dtype::promote(k, t.dtype())));
        }
        return collect(&obj.call_method0("tolist")?, depth, shape, out);
    }
    if let Ok(t) = obj.cast::<PyTensor>() {
        let t = &t.get().tensor();
        if t.ndim() > 0 && depth > 0 {
            // A one-element tensor in a list is its number, as in PyTorch.
            if t.numel() != 1 {
                return Err(PyValueError::new_err("only one element tensors can be converted to Python scalars"));
            }
        }
        if t.ndim() == 0 || (depth > 0 && t.numel() == 1) {
            let s = t.item()?;
            out.kind = Some(out.kind.map_or(t.dtype(), |k| crate::dtype::promote(k, t.dtype())));
            out.values.push(s.to_f64());
            out.ints.push(if let Scalar::Int(i) = s { i } else { s.to_f64() as i64 });
            return Ok(());
        }
    }
    let seq = obj.cast::<PySequence>().map_err(|_| {
        PyRuntimeError::new_err(format!(
            "Could not infer dtype of {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })?;
    let len = seq.len()?;
    if depth == shape.len() {
        if !out.values.is_empty() {
            return Err(PyValueError::new_err(format!("expected a number at dim {depth}, got a sequence")));
        }
        shape.push(len);
    } else if shape[depth] != len {
        return Err(PyValueError::new_err(format!(
            "expected sequence of length {} at dim {} (got {})",
            shape[depth], depth, len
        )));
    }
    for i in 0..len {
        collect(&seq.get_item(i)?, depth + 1, shape, out)?;
    }
    Ok(())
}

/// A copy of a NumPy array's values, or None for other objects. NumPy
/// types rustgrad has no dtype for are widened: uint16/32 exactly to int64,
/// uint64 to int64 with values from 2**63 wrapping, float128 to float64.
fn copy_numpy(obj: &Bound<'_, PyAny>) -> PyResult<Option<Tensor>> {
    if !obj.is_instance_of::<numpy::PyUntypedArray>() {
        return Ok(None);
    }
    let kind: String = obj.getattr("dtype")?.getattr("kind")?.extract()?;
    let widened = match kind.as_str() {
        "u" if obj.getattr("dtype")?.getattr("itemsize")?.extract::<usize>()? > 1 => Some("int64"),
        "f" if obj.getattr("dtype")?.getattr("itemsize")?.extract::<usize>()? > 8 => Some("float64"),
        "b" | "i" | "u" | "f" => None,
        _ => return Err(PyTypeError::new_err(format!("can't convert np.ndarray of type {} to a tensor", obj.getattr("dtype")?))),
    };
    let native;
    let obj = match widened {
        Some(target) => {
            native = obj.call_method1("astype", (target,))?;
            &native
        }
        // Strides of any sign and byte order: NumPy makes the copy shareable.
        None => {
            let kwargs = [("order", "C")].into_py_dict(obj.py())?;
            kwargs.set_item("copy", false)?;
            native = obj.call_method("astype", (obj.getattr("dtype")?.call_method1("newbyteorder", ("=",))?,), Some(&kwargs))?;
            &native
        }
    };
    let shared = super::sharing::share_numpy(obj)?;
    Ok(Some(Tensor::from_cpu(shared.to_dense(), shared.shape())))
}

/// `torch.tensor(data)`: copies numbers, nested sequences, NumPy arrays or
/// tensors into a new tensor, inferring the dtype as PyTorch does.
pub fn tensor_from_data(data: &Bound<'_, PyAny>, dtype: Option<DType>) -> PyResult<Tensor> {
    let as_array;
    let data = if numpy_scalar(data).is_some() {
        // NumPy scalars keep their dtype, as 0-d arrays do.
        as_array = data.py().import("numpy")?.call_method1("asarray", (data,))?;
        &as_array
    } else {
        data
    };
    let t = if let Ok(t) = data.cast::<PyTensor>() {
        Tensor::from_cpu(t.get().tensor().to_dense(), t.get().tensor().shape())
    } else if let Some(t) = copy_numpy(data)? {
        t
    } else {
        let mut shape = Shape::new();
        let mut got = Collected::default();
        collect(data, 0, &mut shape, &mut got)?;
        match got.kind.unwrap_or(DEFAULT_FLOAT) {
            int if int.is_int() => {
                let target = dtype.filter(|d| d.is_int()).unwrap_or(int);
                for &v in &got.ints {
                    target.check_fits(Scalar::Int(v), target.name())?;
                }
                crate::ops::to_dtype(&Tensor::from_vec(got.ints, &shape), target)?
            }
            DType::Bool => Tensor::from_vec(got.values.iter().map(|&v| v != 0.0).collect::<Vec<_>>(), &shape),
            // Python floats are doubles: converted once, to the dtype asked for.
            float => {
                if let Some(int) = dtype.filter(|d| d.is_int()) {
                    for &v in &got.values {
                        int.check_fits(Scalar::Float(v), int.name())?;
                    }
                }
                let dtype = dtype.filter(|d| d.is_float()).unwrap_or(float);
                Tensor::from_cpu(CpuStorage::from_f64s(dtype, got.values.into_iter()), &shape)
            }
        }
    };
    match dtype {
        Some(d) if d != t.dtype() => Ok(crate::ops::to_dtype(&t, d)?),
        _ => Ok(t),
    }
}

pub fn scalar_to_py(py: Python<'_>, s: Scalar) -> PyResult<Py<PyAny>> {
    Ok(match s {
        Scalar::Bool(b) => PyBool::new(py, b).to_owned().into_any().unbind(),
        Scalar::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Scalar::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
    })
}

/// `t.tolist()`: nested lists of Python numbers (a number for 0-d).
pub fn to_list(py: Python<'_>, t: &Tensor) -> PyResult<Py<PyAny>> {
    let dense = t.to_dense();
    let items: Vec<Py<PyAny>> = crate::with_dtype!(dense.dtype(), T => {
        T::slice(&dense).iter().map(|v| scalar_to_py(py, v.to_scalar())).collect::<PyResult<_>>()?
    });
    fn nest(py: Python<'_>, items: &[Py<PyAny>], shape: &[usize]) -> PyResult<Py<PyAny>> {
        match shape {
            [] => Ok(items[0].clone_ref(py)),
            [_, rest @ ..] => {
                let step: usize = rest.iter().product();
                let parts = (0..shape[0])
                    .map(|i| nest(py, &items[i * step..(i + 1) * step], rest))
                    .collect::<PyResult<Vec<_>>>()?;
                Ok(PyList::new(py, parts)?.into_any().unbind())
            }
        }
    }
    nest(py, &items, t.shape())
}

/// A dense NumPy copy.
pub fn to_numpy_copy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    super::sharing::has_numpy_dtype(t.dtype())?;
    let dense = t.to_dense();
    let shape: Vec<usize> = t.shape().to_vec();
    Ok(crate::with_dtype!(dense.dtype(), T => {
        numpy::PyArrayMethods::reshape(&numpy::PyArray1::<T>::from_vec(py, T::slice(&dense).to_vec()), shape)?.into_any()
    }))
}
