//! Tensor methods for reordering, slicing and joining dimensions, for the
//! reductions that pick elements (max/min/argmax/amax) and for softmax-like
//! reductions.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};

use super::ints::{int64, opt_int64};
use super::tensor::{dims_arg, given, int_or_list, sizes_arg, spread_dim, wrap, PyTensor};
use crate::ops::{gather, reduce, scan, view};
use crate::tensor::Tensor;


fn tensors<'py>(py: Python<'py>, ts: Vec<Tensor>) -> PyResult<Bound<'py, PyTuple>> {
    let items: Vec<Bound<'py, PyTensor>> = ts.into_iter().map(|t| wrap(py, t)).collect::<PyResult<_>>()?;
    PyTuple::new(py, items)
}

/// PyTorch's `torch.return_types.<name>`: a named tuple `(values, indices)`.
fn values_indices<'py>(py: Python<'py>, name: &'static str, values: Tensor, indices: Tensor) -> PyResult<Bound<'py, PyAny>> {
    static TYPES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    let types = TYPES.get_or_init(py, || PyDict::new(py).unbind()).bind(py);
    let cls = match types.get_item(name)? {
        Some(c) => c,
        None => {
            let c = py.import("collections")?.getattr("namedtuple")?.call1((name, ("values", "indices")))?;
            c.setattr("__module__", "torch.return_types")?;
            types.set_item(name, &c)?;
            c
        }
    };
    cls.call1((wrap(py, values)?, wrap(py, indices)?))
}

/// `max`/`min` with `dim` as given (None is a TypeError, as in PyTorch: see
/// `given`).
fn extremum<'py>(t: &Tensor, py: Python<'py>, dim: Option<Bound<'py, PyAny>>, keepdim: bool, is_max: bool) -> PyResult<Bound<'py, PyAny>> {
    match dim {
        None => {
            let name = if is_max { "MaxBackward1" } else { "MinBackward1" };
            Ok(wrap(py, reduce::amax(t, None, false, is_max, name)?)?.into_any())
        }
        Some(d) => {
            if let Ok(other) = d.cast::<PyTensor>() {
                let other = other.get().tensor().clone();
                let f = if is_max { crate::ops::select::maximum } else { crate::ops::select::minimum };
                return Ok(wrap(py, f(t, &other)?)?.into_any());
            }
            let (values, indices) = gather::max_dim(t, int64(&d)?, keepdim, is_max)?;
            values_indices(py, if is_max { "max" } else { "min" }, values, indices)
        }
    }
}

#[pymethods]
impl PyTensor {
    /// `permute(*dims)`: a view with the dimensions in the order `dims`.
    /// RuntimeError when `dims` is not a permutation of the dimensions.
    #[pyo3(signature = (*dims))]
    fn permute<'py>(&self, py: Python<'py>, dims: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::permute(&self.tensor(), &sizes_arg(dims, "permute", "dims")?)?)
    }
    /// `movedim(source, destination)`: dimensions moved to new positions
    /// (ints or sequences), the others keeping their order. A view.
    fn movedim<'py>(&self, py: Python<'py>, source: &Bound<'py, PyAny>, destination: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::movedim(&self.tensor(), &int_or_list(source, "movedim", "source")?, &int_or_list(destination, "movedim", "destination")?)?)
    }
    /// `moveaxis`: the same as `movedim`.
    fn moveaxis<'py>(&self, py: Python<'py>, source: &Bound<'py, PyAny>, destination: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTensor>> {
        self.movedim(py, source, destination)
    }
    /// `swapaxes(dim0, dim1)`: the same as `transpose`.
    fn swapaxes<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] axis0: i64, #[pyo3(from_py_with = int64)] axis1: i64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::transpose(&self.tensor(), axis0, axis1)?)
    }
    /// `swapdims(dim0, dim1)`: the same as `transpose`.
    fn swapdims<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim0: i64, #[pyo3(from_py_with = int64)] dim1: i64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::transpose(&self.tensor(), dim0, dim1)?)
    }
    /// `narrow(dim, start, length)`: `length` elements of `dim` from
    /// `start`, as a view.
    fn narrow<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, #[pyo3(from_py_with = int64)] start: i64, #[pyo3(from_py_with = int64)] length: i64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::narrow(&self.tensor(), dim, start, length)?)
    }
    /// `select(dim, index)`: the slice at `index` of `dim`, without `dim`.
    fn select<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, #[pyo3(from_py_with = int64)] index: i64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::select(&self.tensor(), dim, index)?)
    }
    /// `split(split_size_or_sections, dim=0)`: views of `split_size`
    /// elements (the last may be smaller), or of the listed sizes (which
    /// must add up to the dimension's size).
    #[pyo3(signature = (split_size_or_sections, dim=0))]
    fn split<'py>(&self, py: Python<'py>, split_size_or_sections: &Bound<'py, PyAny>, #[pyo3(from_py_with = int64)] dim: i64) -> PyResult<Bound<'py, PyTuple>> {
        let as_sizes = split_size_or_sections.extract::<i64>().is_err();
        tensors(py, view::split(&self.tensor(), &int_or_list(split_size_or_sections, "split_with_sizes", "split_sizes")?, as_sizes, dim)?)
    }
    /// `chunk(chunks, dim=0)`: at most `chunks` views of equal size (the
    /// last may be smaller).
    #[pyo3(signature = (chunks, dim=0))]
    fn chunk<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] chunks: i64, #[pyo3(from_py_with = int64)] dim: i64) -> PyResult<Bound<'py, PyTuple>> {
        tensors(py, view::chunk(&self.tensor(), chunks, dim)?)
    }
    /// `unbind(dim=0)`: the slices along `dim`, each without it.
    #[pyo3(signature = (dim=0))]
    fn unbind<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64) -> PyResult<Bound<'py, PyTuple>> {
        tensors(py, view::unbind(&self.tensor(), dim)?)
    }
    /// `flip(dims)`: a copy with the order of `dims` reversed.
    #[pyo3(signature = (*dims))]
    fn flip<'py>(&self, py: Python<'py>, dims: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, view::flip(&self.tensor(), &sizes_arg(dims, "flip", "dims")?)?)
    }
    /// `max()`: the largest element (NaN wins); `max(dim, keepdim=False)`:
    /// the named tuple `(values, indices)` along `dim` (first index among
    /// ties); `max(other)`: `maximum`. The gradient goes to the selected
    /// elements (shared among ties for the whole-tensor form).
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn max<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = given)] dim: Option<Bound<'py, PyAny>>, keepdim: bool) -> PyResult<Bound<'py, PyAny>> {
        extremum(&self.tensor(), py, dim, keepdim, true)
    }
    /// `min()`, `min(dim, keepdim=False)`, `min(other)`: as `max`.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn min<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = given)] dim: Option<Bound<'py, PyAny>>, keepdim: bool) -> PyResult<Bound<'py, PyAny>> {
        extremum(&self.tensor(), py, dim, keepdim, false)
    }
    /// `amax(dim=(), keepdim=False)`: the maximum over `dim` (all dims when
    /// empty); the gradient is shared evenly among equal maxima.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn amax<'py>(&self, py: Python<'py>, dim: Option<&Bound<'py, PyAny>>, keepdim: bool) -> PyResult<Bound<'py, PyTensor>> {
        let dims = dims_arg(dim, "amax")?;
        wrap(py, reduce::amax(&self.tensor(), dims.as_deref(), keepdim, true, "AmaxBackward0")?)
    }
    /// `amin(dim=(), keepdim=False)`: as `amax`, for the minimum.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn amin<'py>(&self, py: Python<'py>, dim: Option<&Bound<'py, PyAny>>, keepdim: bool) -> PyResult<Bound<'py, PyTensor>> {
        let dims = dims_arg(dim, "amin")?;
        wrap(py, reduce::amax(&self.tensor(), dims.as_deref(), keepdim, false, "AminBackward0")?)
    }
    /// `argmax(dim=None, keepdim=False)`: int64 index of the first maximum
    /// (over the flattened tensor when `dim` is None).
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn argmax<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = opt_int64)] dim: Option<i64>, keepdim: bool) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, reduce::argmax(&self.tensor(), dim, keepdim, true)?)
    }
    /// `argmin(dim=None, keepdim=False)`: as `argmax`, for the minimum.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn argmin<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = opt_int64)] dim: Option<i64>, keepdim: bool) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, reduce::argmax(&self.tensor(), dim, keepdim, false)?)
    }
    /// `softmax(dim)`: `exp(x) / sum(exp(x))` along `dim`, computed shifted
    /// by the maximum; integer inputs give float32.
    #[pyo3(signature = (dim, dtype=None))]
    fn softmax<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, dtype: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let x = cast(&self.tensor(), dtype)?;
        wrap(py, reduce::softmax(&x, dim, false)?)
    }
    /// `log_softmax(dim)`: `x - logsumexp(x, dim)`, stably.
    #[pyo3(signature = (dim, dtype=None))]
    fn log_softmax<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, dtype: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let x = cast(&self.tensor(), dtype)?;
        wrap(py, reduce::softmax(&x, dim, true)?)
    }
    /// `logsumexp(dim, keepdim=False)`: `log(sum(exp(x)))` over `dim`,
    /// stably (shifted by the maximum).
    #[pyo3(signature = (dim, keepdim=false))]
    fn logsumexp<'py>(&self, py: Python<'py>, dim: &Bound<'py, PyAny>, keepdim: bool) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, reduce::logsumexp(&self.tensor(), &int_or_list(dim, "logsumexp", "dim")?, keepdim)?)
    }
    /// `var(dim=None, unbiased=None, keepdim=False, *, correction=None)`:
    /// `sum((x - mean)^2) / (n - correction)`, correction 1 by default
    /// (`unbiased=False` means 0; `unbiased=None` given is a TypeError, as in
    /// PyTorch). Floating-point inputs only (NotImplementedError otherwise).
    #[pyo3(signature = (dim=None, unbiased=None, keepdim=false, *, correction=None))]
    fn var<'py>(&self, py: Python<'py>, dim: Option<&Bound<'py, PyAny>>, #[pyo3(from_py_with = given)] unbiased: Option<Bound<'py, PyAny>>, keepdim: bool, correction: Option<f64>) -> PyResult<Bound<'py, PyTensor>> {
        let (dims, c) = var_args(dim, unbiased.map(|u| u.extract()).transpose()?, correction, "var")?;
        wrap(py, reduce::var(&self.tensor(), dims.as_deref(), c, keepdim)?)
    }
    /// `std(...)`: the square root of `var(...)`, same arguments.
    #[pyo3(signature = (dim=None, unbiased=None, keepdim=false, *, correction=None))]
    fn std<'py>(&self, py: Python<'py>, dim: Option<&Bound<'py, PyAny>>, #[pyo3(from_py_with = given)] unbiased: Option<Bound<'py, PyAny>>, keepdim: bool, correction: Option<f64>) -> PyResult<Bound<'py, PyTensor>> {
        let (dims, c) = var_args(dim, unbiased.map(|u| u.extract()).transpose()?, correction, "std")?;
        wrap(py, reduce::std(&self.tensor(), dims.as_deref(), c, keepdim)?)
    }
    /// `gather(dim, index)`: `out[i][j] = self[i][index[i][j]]` for `dim=1`;
    /// `index` is int64 with as many dimensions as `self`.
    fn gather<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, index: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, gather::gather(&self.tensor(), dim, &index.tensor())?)
    }
    /// `scatter(dim, index, src)` or `scatter(dim, index, value)`: a copy of
    /// `self` with `src`'s elements (or the number `value`) written at the
    /// positions `index` (int64, `self`'s number of dims) names along `dim`.
    /// Differentiable in `self` and `src`. RuntimeError for a bad index shape
    /// or dtype, or an out-of-range index; `reduce=` is not supported
    /// (PyTorch deprecates it for `scatter_reduce`).
    #[pyo3(signature = (dim, index, src=None, value=None, *, reduce=None))]
    fn scatter<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, index: PyRef<'py, PyTensor>, src: Option<&Bound<'py, PyAny>>, value: Option<&Bound<'py, PyAny>>, reduce: Option<&str>) -> PyResult<Bound<'py, PyTensor>> {
        if let Some(r) = reduce {
            return Err(pyo3::exceptions::PyNotImplementedError::new_err(format!("scatter(reduce='{r}') is not supported; use scatter_add or scatter_reduce")));
        }
        let source = match (src, value) {
            (Some(s), None) | (None, Some(s)) => s,
            _ => return Err(pyo3::exceptions::PyTypeError::new_err("scatter() expects exactly one of src or value")),
        };
        let out = match source.cast::<PyTensor>() {
            Ok(t) => gather::scatter(&self.tensor(), dim, &index.tensor(), crate::ops::Arg::Tensor(&t.get().tensor()))?,
            Err(_) => gather::scatter(&self.tensor(), dim, &index.tensor(), crate::ops::Arg::Scalar(super::functions::number(source)?))?,
        };
        wrap(py, out)
    }
    /// `scatter_add(dim, index, src)`: a copy of `self` with `src`'s
    /// elements added at the positions `index` names along `dim`.
    fn scatter_add<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, index: PyRef<'py, PyTensor>, src: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, gather::scatter_add(&self.tensor(), dim, &index.tensor(), &src.tensor())?)
    }
    /// `scatter_reduce(dim, index, src, reduce, *, include_self=True)`: a
    /// copy of `self` with each element of `src` combined, by `reduce`
    /// ('sum', 'prod', 'mean', 'amax' or 'amin'), into the position `index`
    /// (int64, `self`'s number of dims) names along `dim`; without
    /// `include_self`, `self`'s values at scattered positions are left out.
    /// `mean` of integers divides with floor. Differentiable in `self` and
    /// `src` (amax/amin share the gradient among equal maxima; prod handles
    /// zeros). RuntimeError for a bad `reduce`, index shape, dtype or index;
    /// NotImplementedError for the mean of bools.
    #[pyo3(signature = (dim, index, src, reduce, *, include_self=true))]
    fn scatter_reduce<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, index: PyRef<'py, PyTensor>, src: PyRef<'py, PyTensor>, reduce: &str, include_self: bool) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, crate::ops::scatter_reduce::scatter_reduce(&self.tensor(), dim, &index.tensor(), &src.tensor(), reduce, include_self)?)
    }
}

#[pymethods]
impl PyTensor {
    /// `index_select(dim, index)`: the slices of `dim` named by the 1-D int64
    /// `index` (repeats allowed; their gradients add up). IndexError for a
    /// non-vector or non-int64 index.
    fn index_select<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, index: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, gather::index_select(&self.tensor(), dim, &index.tensor())?)
    }
    /// `index_add(dim, index, source, *, alpha=1)`: a copy with `alpha *
    /// source`'s slices added at the slices of `dim` named by `index`.
    #[pyo3(signature = (dim, index, source, *, alpha=None))]
    fn index_add<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, index: PyRef<'py, PyTensor>, source: PyRef<'py, PyTensor>, alpha: Option<f64>) -> PyResult<Bound<'py, PyTensor>> {
        let src = match alpha {
            Some(a) => crate::ops::mul(&*source.tensor(), crate::ops::Arg::from(a))?,
            None => source.tensor().clone(),
        };
        wrap(py, gather::index_add(&self.tensor(), dim, &index.tensor(), &src)?)
    }
    /// `index_copy(dim, index, source)`: a copy with the slices of `dim`
    /// named by `index` replaced by `source`'s.
    fn index_copy<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, index: PyRef<'py, PyTensor>, source: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, gather::index_copy(&self.tensor(), dim, &index.tensor(), &source.tensor())?)
    }
    /// `index_fill(dim, index, value)`: a copy with the slices of `dim`
    /// named by `index` set to `value`.
    fn index_fill<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, index: PyRef<'py, PyTensor>, value: f64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, gather::index_fill(&self.tensor(), dim, &index.tensor(), value)?)
    }
    /// `masked_select(mask)`: the 1-D tensor of the elements where the
    /// (broadcast) bool `mask` is set. RuntimeError for a non-bool mask.
    fn masked_select<'py>(&self, py: Python<'py>, mask: PyRef<'py, PyTensor>) -> PyResult<Bound<'py, PyTensor>> {
        let (t, m) = (self.tensor().clone(), mask.tensor().clone());
        // PyTorch checks the mask's dtype before broadcasting: `nonzero`
        // below would take any dtype's nonzero elements.
        if m.dtype() != crate::dtype::DType::Bool {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("masked_select: expected BoolTensor for mask"));
        }
        let shape = crate::layout::broadcast_shapes(t.shape(), m.shape())?;
        let flat = crate::ops::view::reshape_to(&crate::ops::contiguous(&view::expand_to(&t, &shape)?)?, &[crate::layout::numel(&shape)])?;
        let mflat = crate::ops::view::reshape_to(&crate::ops::contiguous(&view::expand_to(&m, &shape)?)?, &[crate::layout::numel(&shape)])?;
        let at = gather::nonzero(&mflat)?;
        let n = at.shape()[0];
        wrap(py, gather::index_select(&flat, 0, &crate::ops::view::reshape_to(&at, &[n])?)?)
    }
    /// `nonzero(*, as_tuple=False)`: int64 `[n, ndim]` coordinates of the
    /// nonzero elements (row-major), or one 1-D tensor per dim.
    #[pyo3(signature = (*, as_tuple=false))]
    fn nonzero<'py>(&self, py: Python<'py>, as_tuple: bool) -> PyResult<Bound<'py, PyAny>> {
        let coords = gather::nonzero(&self.tensor())?;
        if !as_tuple {
            return Ok(wrap(py, coords)?.into_any());
        }
        if self.tensor().ndim() == 0 {
            // PyTorch treats a 0-d tensor as one element along one dim.
            let flat = view::reshape_to(&self.tensor(), &[1])?;
            return Ok(tensors(py, vec![view::reshape_to(&gather::nonzero(&flat)?, &[coords.shape()[0]])?])?.into_any());
        }
        let cols = (0..self.tensor().ndim().max(1) as i64).map(|d| view::select(&coords, 1, d).and_then(|c| crate::ops::contiguous(&c))).collect::<crate::Result<Vec<_>>>()?;
        Ok(tensors(py, cols)?.into_any())
    }
}

#[pymethods]
impl PyTensor {
    /// `cumprod(dim, *, dtype=None)`: running products along `dim` (bool and
    /// integers multiply in int64; `dtype` converts first). Differentiable,
    /// with zeros too (PyTorch's `cumprod_backward`). IndexError for a bad dim.
    #[pyo3(signature = (dim, *, dtype=None))]
    fn cumprod<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, dtype: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, scan::cumprod(&self.tensor(), dim, super::convert::dtype_arg(dtype)?)?)
    }

    /// `prod(dim=None, keepdim=False, *, dtype=None)`: the product of all
    /// elements (0-d), or along the int `dim`. bool and integers multiply in
    /// int64; `dtype` converts first; an empty product is 1. Differentiable,
    /// with zeros too (PyTorch's `prod_backward`). IndexError for a bad dim.
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn prod<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = given)] dim: Option<Bound<'py, PyAny>>, keepdim: bool, dtype: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let dim = dim.as_ref().map(int64).transpose()?;
        wrap(py, crate::ops::reduce::prod(&self.tensor(), dim, keepdim, super::convert::dtype_arg(dtype)?)?)
    }

    /// `cumsum(dim, *, dtype=None)`: running sums along `dim` (bool and
    /// integer inputs sum in int64). Differentiable.
    #[pyo3(signature = (dim, *, dtype=None))]
    fn cumsum<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, dtype: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, scan::cumsum(&self.tensor(), dim, super::convert::dtype_arg(dtype)?)?)
    }
    /// `cummax(dim)`: the named tuple `(values, indices)` of the running
    /// maximum along `dim` (a later equal value takes the index; NaN, once
    /// met, stays). Differentiable. IndexError for a bad dim.
    fn cummax<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64) -> PyResult<Bound<'py, PyAny>> {
        let (values, indices) = scan::cummax(&self.tensor(), dim, true)?;
        values_indices(py, "cummax", values, indices)
    }
    /// `cummin(dim)`: the named tuple `(values, indices)` of the running
    /// minimum along `dim`, as `cummax`.
    fn cummin<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64) -> PyResult<Bound<'py, PyAny>> {
        let (values, indices) = scan::cummax(&self.tensor(), dim, false)?;
        values_indices(py, "cummin", values, indices)
    }
    /// `logcumsumexp(dim)`: `log(cumsum(exp(x)))` along `dim`, computed
    /// stably. Floating dtypes only (NotImplementedError otherwise).
    /// Differentiable. IndexError for a bad dim.
    fn logcumsumexp<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, scan::logcumsumexp(&self.tensor(), dim)?)
    }
    /// `sort(dim=-1, descending=False, stable=False)`: the named tuple
    /// `(values, indices)`; NaN sorts last, equal values keep their order.
    #[pyo3(signature = (dim=-1, descending=false, *, stable=false))]
    fn sort<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, descending: bool, stable: bool) -> PyResult<Bound<'py, PyAny>> {
        let _ = stable;
        let (values, indices) = scan::sort(&self.tensor(), dim, descending)?;
        values_indices(py, "sort", values, indices)
    }
    /// `argsort(dim=-1, descending=False, stable=False)`: the int64 indices
    /// that sort `dim`.
    #[pyo3(signature = (dim=-1, descending=false, *, stable=false))]
    fn argsort<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] dim: i64, descending: bool, stable: bool) -> PyResult<Bound<'py, PyTensor>> {
        let _ = stable;
        wrap(py, scan::sort(&self.tensor(), dim, descending)?.1)
    }
    /// `topk(k, dim=-1, largest=True, sorted=True)`: the named tuple
    /// `(values, indices)` of the `k` largest (or smallest) along `dim`.
    /// RuntimeError when `k` exceeds the dimension.
    #[pyo3(signature = (k, dim=-1, largest=true, sorted=true))]
    fn topk<'py>(&self, py: Python<'py>, #[pyo3(from_py_with = int64)] k: i64, #[pyo3(from_py_with = int64)] dim: i64, largest: bool, sorted: bool) -> PyResult<Bound<'py, PyAny>> {
        let _ = sorted;
        let (values, indices) = scan::topk(&self.tensor(), k, dim, largest)?;
        values_indices(py, "topk", values, indices)
    }
    /// `all(dim=None, keepdim=False)`: bool, whether every element (along
    /// `dim`) is nonzero.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn all<'py>(&self, py: Python<'py>, dim: Option<&Bound<'py, PyAny>>, keepdim: bool) -> PyResult<Bound<'py, PyTensor>> {
        let dims = dims_arg(dim, "all")?;
        wrap(py, scan::all_any(&self.tensor(), dims.as_deref(), keepdim, true)?)
    }
    /// `any(dim=None, keepdim=False)`: bool, whether some element (along
    /// `dim`) is nonzero.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn any<'py>(&self, py: Python<'py>, dim: Option<&Bound<'py, PyAny>>, keepdim: bool) -> PyResult<Bound<'py, PyTensor>> {
        let dims = dims_arg(dim, "any")?;
        wrap(py, scan::all_any(&self.tensor(), dims.as_deref(), keepdim, false)?)
    }
    /// `count_nonzero(dim=None)`: int64 counts of nonzero elements, over
    /// all dims or those of `dim` (an int, a sequence, or ints spread out:
    /// `count_nonzero(0, 1)`). IndexError for a dim out of range,
    /// RuntimeError for a dim listed twice.
    #[pyo3(signature = (*dims, dim=None))]
    fn count_nonzero<'py>(&self, py: Python<'py>, dims: &Bound<'py, PyTuple>, dim: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTensor>> {
        let dim = spread_dim(dims, dim.cloned(), "count_nonzero")?;
        let dims = dims_arg(dim.as_ref(), "count_nonzero")?;
        wrap(py, scan::count_nonzero(&self.tensor(), dims.as_deref())?)
    }
}

fn var_args(dim: Option<&Bound<'_, PyAny>>, unbiased: Option<bool>, correction: Option<f64>, func: &str) -> PyResult<(Option<Vec<i64>>, f64)> {
    // `x.var(False)`: PyTorch's `var(unbiased)` overload.
    if let Some(flag) = dim.filter(|d| d.is_instance_of::<pyo3::types::PyBool>()) {
        return var_args(None, Some(flag.extract()?), correction, func);
    }
    let dims = dims_arg(dim, func)?;
    if unbiased.is_some() && correction.is_some() {
        return Err(PyTypeError::new_err("var(): cannot specify both unbiased and correction"));
    }
    Ok((dims, correction.unwrap_or(if unbiased == Some(false) { 0.0 } else { 1.0 })))
}

fn cast(t: &Tensor, dtype: Option<&Bound<'_, PyAny>>) -> PyResult<Tensor> {
    match super::convert::dtype_arg(dtype)? {
        Some(d) => Ok(crate::ops::to_dtype(t, d)?),
        None => Ok(t.clone()),
    }
}
