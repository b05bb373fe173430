//! Python index objects (`int`, `slice`, `None`, `...`, tuples) for
//! `__getitem__` / `__setitem__`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyEllipsis, PyInt, PyList, PySlice, PyString, PyTuple};

use super::convert::{tensor_from_data, MAX_DIMS};
use super::tensor::PyTensor;
use crate::dtype::DType;
use crate::ops::index::{self, IndexItem};

use crate::tensor::Tensor;

/// One item of an index: basic (a view) or advanced (an int64 or bool
/// tensor, or a list, selecting elements by value).
enum Item {
    Basic(IndexItem),
    Advanced(Tensor),
}

/// PyTorch's message for an index of a type it does not take, `obj`'s.
fn invalid_index(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(format!(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got {})",
        obj.get_type().name()?
    ))
}

fn is_text(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>()
}

/// The text in the list `obj` (nested at most as deep as a tensor's data
/// may be), if any. PyTorch reads a sequence index (text is one) as a
/// tensor's data, and refuses text in it with a TypeError; its message,
/// "new(): invalid data type 'str'", names the constructor, so the index's
/// message is given with that class instead.
fn text_in<'py>(obj: &Bound<'py, PyAny>, depth: usize) -> Option<Bound<'py, PyAny>> {
    let list = obj.cast::<PyList>().ok().filter(|_| depth < MAX_DIMS)?;
    list.iter().find_map(|i| if is_text(&i) { Some(i) } else { text_in(&i, depth + 1) })
}

fn item(obj: &Bound<'_, PyAny>) -> PyResult<Item> {
    if is_text(obj) {
        return Err(PyTypeError::new_err(invalid_index(obj)?));
    }
    if obj.is_none() {
        return Ok(Item::Basic(IndexItem::NewAxis));
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(Item::Basic(IndexItem::Ellipsis));
    }
    // `t[True]` / `t[False]`: a 0-d mask.
    if obj.is_instance_of::<PyBool>() {
        return Ok(Item::Advanced(Tensor::from_vec(vec![obj.extract::<bool>()?], &[])));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(Item::Basic(IndexItem::Int(super::ints::int64(obj)?)));
    }
    if let Ok(s) = obj.cast::<PySlice>() {
        let part = |name: &str| -> PyResult<Option<i64>> {
            let v = s.getattr(name)?;
            if v.is_none() {
                return Ok(None);
            }
            match v.extract::<i64>() {
                Ok(i) => Ok(Some(i)),
                // Slice bounds outside int64 clamp, as Python's (and
                // PyTorch's) `PySlice_Unpack` does: `x[2**63:]` is empty.
                Err(e) if super::ints::is_overflow(obj.py(), &e) => Ok(Some(if v.gt(0)? { i64::MAX } else { i64::MIN })),
                Err(e) => Err(e),
            }
        };
        return Ok(Item::Basic(IndexItem::Slice { start: part("start")?, stop: part("stop")?, step: part("step")? }));
    }
    // NumPy arrays index as the tensors they hold; NumPy scalars as numbers.
    let tensor = match obj.cast::<PyTensor>() {
        Ok(t) => Some(t.get().tensor().clone()),
        Err(_) if obj.is_instance_of::<numpy::PyUntypedArray>() => Some(tensor_from_data(obj, None)?),
        Err(_) => match super::convert::numpy_scalar(obj) {
            Some(crate::dtype::Scalar::Int(i)) => return Ok(Item::Basic(IndexItem::Int(i))),
            Some(crate::dtype::Scalar::Bool(b)) => return Ok(Item::Advanced(Tensor::from_vec(vec![b], &[]))),
            _ => None,
        },
    };
    if let Some(t) = tensor {
        if t.dtype().is_int() && t.dtype() != DType::U8 && t.ndim() == 0 {
            if let crate::dtype::Scalar::Int(i) = t.item()? {
                return Ok(Item::Basic(IndexItem::Int(i)));
            }
        }
        match t.dtype() {
            DType::I64 | DType::Bool => return Ok(Item::Advanced(t)),
            // uint8 indices are masks (PyTorch's deprecated byte masks).
            DType::U8 => return Ok(Item::Advanced(crate::ops::to_dtype(&t, DType::Bool)?)),
            d if d.is_int() => return Ok(Item::Advanced(crate::ops::to_dtype(&t, DType::I64)?)),
            _ => {}
        }
    }
    if obj.is_instance_of::<PyList>() {
        let t = match tensor_from_data(obj, None) {
            Ok(t) => t,
            // Text is looked for only once the list failed, to spare valid
            // indices a pass.
            Err(e) => match text_in(obj, 0) {
                Some(text) => return Err(PyTypeError::new_err(invalid_index(&text)?)),
                None => return Err(e),
            },
        };
        if matches!(t.dtype(), DType::I64 | DType::Bool) || t.numel() == 0 {
            return Ok(Item::Advanced(if t.numel() == 0 { crate::ops::to_dtype(&t, DType::I64)? } else { t }));
        }
    }
    Err(pyo3::exceptions::PyIndexError::new_err(invalid_index(obj)?))
}

fn parse(index: &Bound<'_, PyAny>) -> PyResult<Vec<Item>> {
    match index.cast::<PyTuple>() {
        Ok(t) => t.iter().map(|i| item(&i)).collect(),
        Err(_) => Ok(vec![item(index)?]),
    }
}

/// An index split into its basic items (each advanced one replaced by full
/// slices over the dims it covers) and its advanced part, if any.
struct Split {
    basic: Vec<IndexItem>,
    advanced: Option<Advanced>,
}

/// The advanced indices of an index, as PyTorch's `index`/`index_put_` see
/// them: one int64 index per covered dim (a bool mask gives one per mask dim,
/// its `nonzero()` columns), broadcast together to `shape`.
struct Advanced {
    /// The dims of the basic view they index, ascending.
    dims: Vec<usize>,
    /// The flat position, in those dims merged (row-major), of each
    /// selected element.
    flat: Tensor,
    /// The broadcast shape of the index tensors: the shape the selection
    /// takes in the result.
    shape: Vec<usize>,
}

impl Advanced {
    /// Whether the indexed dims are next to each other: then the result's
    /// index dims replace them in place, otherwise they go first (NumPy's and
    /// PyTorch's rule).
    fn adjacent(&self) -> bool {
        self.dims.windows(2).all(|w| w[1] == w[0] + 1)
    }

    /// `view` with the indexed dims moved first when they are not adjacent,
    /// the dim where they start, and the permutation used (to undo it).
    fn arrange(&self, view: &Tensor) -> crate::Result<(Tensor, usize, Option<Vec<i64>>)> {
        if self.adjacent() {
            return Ok((view.clone(), self.dims[0], None));
        }
        let order: Vec<i64> = self
            .dims
            .iter()
            .copied()
            .chain((0..view.ndim()).filter(|d| !self.dims.contains(d)))
            .map(|d| d as i64)
            .collect();
        Ok((crate::ops::view::permute(view, &order)?, 0, Some(order)))
    }
}

/// Long index tensors for one advanced item at `src` in `t`: bounds-checked
/// and wrapped, one per dim it covers.
fn long_indices(t: &Tensor, a: &Tensor, src: usize) -> PyResult<Vec<Tensor>> {
    if a.dtype() == DType::Bool {
        for k in 0..a.ndim() {
            let (want, have) = (a.shape()[k], t.shape().get(src + k).copied().unwrap_or(0));
            if want != have {
                return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                    "The shape of the mask [{want}] at index {k} does not match the shape of the indexed tensor [{have}] at index {}",
                    src + k
                )));
            }
        }
        let positions = crate::ops::gather::nonzero(a)?;
        return Ok((0..a.ndim()).map(|k| crate::ops::view::select(&positions, 1, k as i64)).collect::<crate::Result<_>>()?);
    }
    let size = t.shape().get(src).copied().unwrap_or(0) as i64;
    let values = <i64 as crate::cpu_backend::Storable>::into_vec(a.to_dense());
    if let Some(bad) = values.iter().find(|&&v| v < -size || v >= size) {
        return Err(pyo3::exceptions::PyIndexError::new_err(format!(
            "index {bad} is out of bounds for dimension {src} with size {size}"
        )));
    }
    // Negative indices count from the end (index_select does not wrap).
    let wrapped: Vec<i64> = values.iter().map(|&v| if v < 0 { v + size } else { v }).collect();
    Ok(vec![Tensor::from_vec(wrapped, a.shape())])
}

fn split(t: &Tensor, items: Vec<Item>) -> PyResult<Split> {
    let full = IndexItem::Slice { start: None, stop: None, step: None };
    let consumed: usize = items
        .iter()
        .map(|i| match i {
            Item::Basic(IndexItem::Int(_) | IndexItem::Slice { .. }) => 1,
            Item::Advanced(a) if a.dtype() == DType::Bool => a.ndim(),
            Item::Advanced(_) => 1,
            _ => 0,
        })
        .sum();
    let mut basic = Vec::new();
    let (mut dims, mut sizes, mut indices) = (Vec::new(), Vec::new(), Vec::new());
    // `dim` counts the dims of the basic view produced so far, `src` those
    // of `t` consumed.
    let (mut dim, mut src) = (0usize, 0usize);
    for it in items {
        match it {
            Item::Basic(b) => {
                match b {
                    IndexItem::Int(_) => src += 1,
                    IndexItem::Slice { .. } => {
                        src += 1;
                        dim += 1
                    }
                    IndexItem::NewAxis => dim += 1,
                    IndexItem::Ellipsis => {
                        let skip = t.ndim().saturating_sub(consumed);
                        src += skip;
                        dim += skip
                    }
                }
                basic.push(b);
            }
            // A 0-d mask adds a dim of size 1 and keeps it (True) or not.
            Item::Advanced(a) if a.dtype() == DType::Bool && a.ndim() == 0 => {
                basic.push(IndexItem::NewAxis);
                let keep = a.item()?.to_f64() != 0.0;
                indices.push(Tensor::from_vec(if keep { vec![0i64] } else { vec![] }, &[keep as usize]));
                dims.push(dim);
                sizes.push(1);
                dim += 1;
            }
            Item::Advanced(a) => {
                for (k, index) in long_indices(t, &a, src)?.into_iter().enumerate() {
                    dims.push(dim + k);
                    sizes.push(t.shape()[src + k]);
                    indices.push(index);
                    basic.push(full.clone());
                }
                let span = if a.dtype() == DType::Bool { a.ndim() } else { 1 };
                src += span;
                dim += span;
            }
        }
    }
    if indices.is_empty() {
        return Ok(Split { basic, advanced: None });
    }
    let mut shape: Vec<usize> = Vec::new();
    for index in &indices {
        shape = crate::layout::broadcast_shapes(&shape, index.shape())
            .map_err(|_| {
                let shapes: Vec<String> = indices.iter().map(|i| format!("{:?}", i.shape())).collect();
                pyo3::exceptions::PyIndexError::new_err(format!(
                    "shape mismatch: indexing tensors could not be broadcast together with shapes {}",
                    shapes.join(", ")
                ))
            })?
            .to_vec();
    }
    // Row-major position in the merged indexed dims.
    let mut flat = vec![0i64; crate::layout::numel(&shape)];
    let mut stride = 1i64;
    for (index, &size) in indices.iter().zip(&sizes).rev() {
        let values = <i64 as crate::cpu_backend::Storable>::into_vec(crate::ops::view::expand_to(index, &shape)?.to_dense());
        for (f, v) in flat.iter_mut().zip(values) {
            *f += v * stride;
        }
        stride *= size as i64;
    }
    let flat = Tensor::from_vec(flat, &[crate::layout::numel(&shape)]);
    Ok(Split { basic, advanced: Some(Advanced { dims, flat, shape }) })
}

/// The basic view's dims `d..d+span` merged into one (the dims a bool mask
/// covers), so a flat index applies to them.
fn merge_dims(t: &Tensor, d: usize, span: usize) -> crate::Result<Tensor> {
    if span == 1 {
        return Ok(t.clone());
    }
    let mut shape: Vec<usize> = t.shape()[..d].to_vec();
    shape.push(t.shape()[d..d + span].iter().product());
    shape.extend_from_slice(&t.shape()[d + span..]);
    crate::ops::view::reshape_to(t, &shape)
}

pub fn get(t: &Tensor, index_obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let Split { basic, advanced } = split(t, parse(index_obj)?)?;
    let view = index::index(t, &basic)?;
    let Some(adv) = advanced else { return Ok(view) };
    let (view, d, _) = adv.arrange(&view)?;
    let span = adv.dims.len();
    let selected = crate::ops::gather::index_select_as(&merge_dims(&view, d, span)?, d as i64, &adv.flat, "IndexBackward0")?;
    // The selected dim takes the indices' broadcast shape.
    let mut out: Vec<usize> = selected.shape()[..d].to_vec();
    out.extend_from_slice(&adv.shape);
    out.extend_from_slice(&selected.shape()[d + 1..]);
    Ok(crate::ops::view::reshape_to(&selected, &out)?)
}

/// `t[index] = value`: writes into the selected view (and, for a tensor
/// index, into the elements it selects there: PyTorch's `index_put_`).
pub fn set(t: &Tensor, index_obj: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let given_tensor = value.cast::<PyTensor>().is_ok();
    let value = match value.cast::<PyTensor>() {
        Ok(v) => v.get().tensor().clone(),
        Err(_) => tensor_from_data(value, Some(t.dtype())).map_err(|_| {
            PyTypeError::new_err("can't assign a non-numeric value to a tensor")
        })?,
    };
    let Split { basic, advanced } = split(t, parse(index_obj)?)?;
    // An index that selects everything (`...`, `:`) writes into `t` itself,
    // not into a view of it, as in PyTorch.
    let target = if index::selects_everything(&basic, t.shape()) { t.clone() } else { index::index(t, &basic)? };
    // Leading size-1 dimensions of the value beyond the target's are dropped
    // (PyTorch's setitem does so before broadcasting).
    let mut value = value;
    let Some(adv) = advanced else {
        while value.ndim() > target.ndim() && value.shape()[0] == 1 {
            value = crate::ops::view::squeeze(&value, Some(0))?;
        }
        return Ok(crate::ops::inplace::copy_(&target, &value)?);
    };
    if given_tensor && value.dtype() != t.dtype() {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "Index put requires the source and destination dtypes match, got {} for the destination and {} for the source.",
            t.dtype().scalar_name(),
            value.dtype().scalar_name()
        )));
    }
    let (arranged, d, order) = adv.arrange(&target.detach())?;
    let (span, flat, shape) = (adv.dims.len(), &adv.flat, &adv.shape);
    let merged_shape: Vec<usize> = {
        let m = merge_dims(&arranged, d, span)?;
        let mut s = m.shape().to_vec();
        s[d] = flat.numel();
        s
    };
    let mut region: Vec<usize> = merged_shape[..d].to_vec();
    region.extend_from_slice(shape);
    region.extend_from_slice(&merged_shape[d + 1..]);
    while value.ndim() > region.len() && value.shape()[0] == 1 {
        value = crate::ops::view::squeeze(&value, Some(0))?;
    }
    let values = crate::ops::view::expand_to(&crate::ops::to_dtype(&value, t.dtype())?, &region)?;
    let values = crate::ops::view::reshape_to(&values, &merged_shape)?;
    let arranged_shape = arranged.shape().to_vec();
    crate::ops::inplace::apply_(&target, |old| {
        let old = match &order {
            Some(o) => crate::ops::view::permute(old, o)?,
            None => old.clone(),
        };
        let written = crate::ops::gather::index_copy(&merge_dims(&old, d, span)?, d as i64, flat, &values)?;
        let written = crate::ops::view::reshape_to(&written, &arranged_shape)?;
        match &order {
            Some(o) => crate::ops::view::permute(&written, &inverse(o)),
            None => Ok(written),
        }
    })?;
    Ok(())
}

/// The permutation that undoes `order`.
fn inverse(order: &[i64]) -> Vec<i64> {
    let mut back = vec![0i64; order.len()];
    for (i, &d) in order.iter().enumerate() {
        back[d as usize] = i as i64;
    }
    back
}
