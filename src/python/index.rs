//! Python index objects (`int`, `slice`, `None`, `...`, tuples) for
//! `__getitem__` / `__setitem__`.

use pyo3::exceptions::{PyNotImplementedError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyEllipsis, PyInt, PySlice, PyTuple};

use super::convert::tensor_from_data;
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

fn item(obj: &Bound<'_, PyAny>) -> PyResult<Item> {
    if obj.is_none() {
        return Ok(Item::Basic(IndexItem::NewAxis));
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(Item::Basic(IndexItem::Ellipsis));
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return Ok(Item::Basic(IndexItem::Int(obj.extract()?)));
    }
    if let Ok(s) = obj.cast::<PySlice>() {
        let part = |name: &str| -> PyResult<Option<i64>> {
            let v = s.getattr(name)?;
            if v.is_none() { Ok(None) } else { Ok(Some(v.extract()?)) }
        };
        return Ok(Item::Basic(IndexItem::Slice { start: part("start")?, stop: part("stop")?, step: part("step")? }));
    }
    if let Ok(t) = obj.cast::<PyTensor>() {
        let t = t.get().tensor().clone();
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
    if obj.is_instance_of::<pyo3::types::PyList>() {
        let t = tensor_from_data(obj, None)?;
        if matches!(t.dtype(), DType::I64 | DType::Bool) || t.numel() == 0 {
            return Ok(Item::Advanced(if t.numel() == 0 { crate::ops::to_dtype(&t, DType::I64)? } else { t }));
        }
    }
    Err(pyo3::exceptions::PyIndexError::new_err(format!(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got {})",
        obj.get_type().name()?
    )))
}

fn parse(index: &Bound<'_, PyAny>) -> PyResult<Vec<Item>> {
    match index.cast::<PyTuple>() {
        Ok(t) => t.iter().map(|i| item(&i)).collect(),
        Err(_) => Ok(vec![item(index)?]),
    }
}

/// An index with at most one advanced item, split into the basic items
/// (the advanced one replaced by full slices over the dims it covers) and
/// the advanced index: the dim of the basic view it applies to and the
/// flat int64 positions it selects there, with the shape they take.
struct Split {
    basic: Vec<IndexItem>,
    advanced: Option<(usize, Tensor, Vec<usize>, usize)>,
}

fn split(t: &Tensor, items: Vec<Item>) -> PyResult<Split> {
    let n_adv = items.iter().filter(|i| matches!(i, Item::Advanced(_))).count();
    if n_adv > 1 {
        return Err(PyNotImplementedError::new_err("indexing with more than one tensor index is not supported yet"));
    }
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
    let (mut basic, mut advanced) = (Vec::new(), None);
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
            Item::Advanced(a) => {
                let span = if a.dtype() == DType::Bool { a.ndim().max(1) } else { 1 };
                if a.dtype() == DType::Bool {
                    for k in 0..a.ndim() {
                        let (want, have) = (a.shape()[k], t.shape().get(src + k).copied().unwrap_or(0));
                        if want != have {
                            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                                "The shape of the mask [{}] at index {k} does not match the shape of the indexed tensor [{}] at index {}",
                                want,
                                have,
                                src + k
                            )));
                        }
                    }
                    let flat = crate::ops::view::reshape_to(&a, &[a.numel()])?;
                    let positions = crate::ops::gather::nonzero(&flat)?;
                    let n = positions.shape()[0];
                    let positions = crate::ops::view::reshape_to(&positions, &[n])?;
                    advanced = Some((dim, positions, vec![n], a.ndim()));
                    basic.extend(std::iter::repeat_n(full.clone(), a.ndim()));
                } else {
                    let size = t.shape().get(src).copied().unwrap_or(0) as i64;
                    let values = match a.to_dense() {
                        crate::cpu_backend::CpuStorage::I64(v) => v,
                        _ => unreachable!("int64 index"),
                    };
                    if let Some(bad) = values.iter().find(|&&v| v < -size || v >= size) {
                        return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                            "index {bad} is out of bounds for dimension {src} with size {size}"
                        )));
                    }
                    // Negative indices count from the end (index_select does not wrap).
                    let wrapped: Vec<i64> = values.iter().map(|&v| if v < 0 { v + size } else { v }).collect();
                    let flat = Tensor::from_vec(wrapped, &[a.numel()]);
                    advanced = Some((dim, flat, a.shape().to_vec(), 1));
                    basic.push(full.clone());
                }
                src += span;
                dim += 1;
            }
        }
    }
    Ok(Split { basic, advanced })
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
    let Some((d, flat, shape, span)) = advanced else { return Ok(view) };
    let selected = crate::ops::gather::index_select(&merge_dims(&view, d, span)?, d as i64, &flat)?;
    // The selected dim takes the index's shape.
    let mut out: Vec<usize> = selected.shape()[..d].to_vec();
    out.extend_from_slice(&shape);
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
    let Some((d, flat, shape, span)) = advanced else {
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
    let merged_shape: Vec<usize> = {
        let m = merge_dims(&target.detach(), d, span)?;
        let mut s = m.shape().to_vec();
        s[d] = flat.numel();
        s
    };
    let mut region: Vec<usize> = merged_shape[..d].to_vec();
    region.extend_from_slice(&shape);
    region.extend_from_slice(&merged_shape[d + 1..]);
    while value.ndim() > region.len() && value.shape()[0] == 1 {
        value = crate::ops::view::squeeze(&value, Some(0))?;
    }
    let values = crate::ops::view::expand_to(&crate::ops::to_dtype(&value, t.dtype())?, &region)?;
    let values = crate::ops::view::reshape_to(&values, &merged_shape)?;
    let target_shape = target.shape().to_vec();
    crate::ops::inplace::apply_(&target, |old| {
        let written = crate::ops::gather::index_copy(&merge_dims(old, d, span)?, d as i64, &flat, &values)?;
        crate::ops::view::reshape_to(&written, &target_shape)
    })?;
    Ok(())
}
