//! Basic indexing (`x[1]`, `x[:, 1:3]`, `x[None]`, `x[..., 0]`): views whose
//! gradient is scattered back into zeros of the input's shape.

use crate::autograd::{record, BackwardFn, Grads};
use crate::bail;
use crate::dtype::Scalar;
use crate::error::Result;
use crate::layout::{Layout, Shape};
use crate::tensor::Tensor;

#[derive(Clone, Debug, PartialEq)]
pub enum IndexItem {
    Int(i64),
    Slice { start: Option<i64>, stop: Option<i64>, step: Option<i64> },
    NewAxis,
    Ellipsis,
}

/// The layout `items` select from `layout`.
pub fn index_layout(layout: &Layout, items: &[IndexItem]) -> Result<Layout> {
    if layout.ndim() == 0 {
        match items.first() {
            // A lone slice has its step checked first (PyTorch's fast path
            // for `x[::-1]`); in a tuple, the count of indices is.
            Some(IndexItem::Slice { step: Some(step), .. }) if items.len() == 1 && *step <= 0 => {
                bail!(Value, "step must be greater than zero")
            }
            Some(IndexItem::Int(_)) => bail!(
                Index,
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            ),
            Some(IndexItem::Slice { .. }) => bail!(Index, "slice() cannot be applied to a 0-dim tensor."),
            _ => {}
        }
    }
    let consumed = items.iter().filter(|i| matches!(i, IndexItem::Int(_) | IndexItem::Slice { .. })).count();
    if consumed > layout.ndim() {
        bail!(Index, "too many indices for tensor of dimension {}", layout.ndim());
    }
    if items.iter().filter(|i| **i == IndexItem::Ellipsis).count() > 1 {
        bail!(Index, "an index can only have a single ellipsis ('...')");
    }
    let mut out = Layout { shape: Shape::new(), strides: Default::default(), offset: layout.offset };
    let mut dim = 0;
    let take_rest = |out: &mut Layout, from: usize, to: usize| {
        for d in from..to {
            out.shape.push(layout.shape[d]);
            out.strides.push(layout.strides[d]);
        }
    };
    for item in items {
        match *item {
            IndexItem::Int(i) => {
                let n = layout.shape[dim] as i64;
                if i < -n || i >= n {
                    bail!(Index, "index {i} is out of bounds for dimension {dim} with size {n}");
                }
                let i = if i < 0 { i + n } else { i };
                out.offset = (out.offset as isize + i as isize * layout.strides[dim]) as usize;
                dim += 1;
            }
            IndexItem::Slice { start, stop, step } => {
                let step = step.unwrap_or(1);
                if step <= 0 {
                    bail!(Value, "step must be greater than zero");
                }
                let n = layout.shape[dim] as i64;
                let clamp = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) };
                let lo = start.map_or(0, clamp);
                let hi = stop.map_or(n, clamp).max(lo);
                // Elements lo, lo + step, ... below hi (no overflow for a huge step).
                let len = if hi > lo { (hi - lo - 1) / step + 1 } else { 0 };
                if len > 0 {
                    out.offset = (out.offset as isize + lo as isize * layout.strides[dim]) as usize;
                }
                out.shape.push(len as usize);
                // A dim of at most one element never steps: its stride stays
                // the input's (a huge step times it would overflow).
                out.strides.push(if len > 1 { layout.strides[dim] * step as isize } else { layout.strides[dim] });
                dim += 1;
            }
            IndexItem::NewAxis => {
                out.shape.push(1);
                out.strides.push(1);
            }
            IndexItem::Ellipsis => {
                let skip = layout.ndim() - consumed;
                take_rest(&mut out, dim, dim + skip);
                dim += skip;
            }
        }
    }
    take_rest(&mut out, dim, layout.ndim());
    Ok(out)
}

/// Whether `items` select all of a tensor of `shape` as it is (only `...`
/// and slices covering whole dimensions): index assignment then writes into
/// the tensor itself, as in PyTorch.
pub fn selects_everything(items: &[IndexItem], shape: &[usize]) -> bool {
    let consumed = items.iter().filter(|i| matches!(i, IndexItem::Slice { .. })).count();
    let mut dim = 0;
    for item in items {
        match *item {
            IndexItem::Ellipsis => dim += shape.len().saturating_sub(consumed),
            IndexItem::Slice { start, stop, step } => {
                let Some(&n) = shape.get(dim) else { return false };
                let n = n as i64;
                let from_start = start.is_none_or(|s| s == 0 || s <= -n);
                let to_end = stop.is_none_or(|s| s >= n);
                if !(from_start && to_end && step.is_none_or(|s| s == 1)) {
                    return false;
                }
                dim += 1;
            }
            IndexItem::Int(_) | IndexItem::NewAxis => return false,
        }
    }
    true
}

/// PyTorch applies an index item by item, so the node is named after the
/// last item that did something (a bare `:` or `...` does nothing).
fn node_name(items: &[IndexItem]) -> &'static str {
    items
        .iter()
        .rev()
        .find_map(|item| match item {
            IndexItem::Int(_) => Some("SelectBackward0"),
            IndexItem::Slice { start: None, stop: None, step: None } | IndexItem::Ellipsis => None,
            IndexItem::Slice { .. } => Some("SliceBackward0"),
            IndexItem::NewAxis => Some("UnsqueezeBackward0"),
        })
        .unwrap_or("AliasBackward0")
}

struct IndexBackward {
    name: &'static str,
    items: Vec<IndexItem>,
    input_shape: Shape,
}

impl BackwardFn for IndexBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        Ok(smallvec::smallvec![Some(embed(grad, &self.items, &self.input_shape)?)])
    }
    fn saves_tensors(&self) -> bool {
        false
    }
}

/// `x[items]` as a view.
pub fn index(x: &Tensor, items: &[IndexItem]) -> Result<Tensor> {
    let out = x.view_with(index_layout(x.layout(), items)?);
    let (name, items, input_shape) = (node_name(items), items.to_vec(), x.shape_vec());
    record(out, &[x], |_| IndexBackward { name, items, input_shape })
}

struct EmbedBackward(Vec<IndexItem>);

impl BackwardFn for EmbedBackward {
    fn name(&self) -> &'static str {
        "IndexPutBackward0"
    }
    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        Ok(smallvec::smallvec![Some(index(grad, &self.0)?)])
    }
    fn saves_tensors(&self) -> bool {
        false
    }
}

/// Zeros of `shape` with `g` written at `items`: the adjoint of `index`.
pub fn embed(g: &Tensor, items: &[IndexItem], shape: &[usize]) -> Result<Tensor> {
    let out = Tensor::full(shape, Scalar::Int(0), g.dtype());
    let target = out.view_with(index_layout(out.layout(), items)?);
    target.write_dense(&g.to_dense())?;
    record(out.detach(), &[g], |_| EmbedBackward(items.to_vec()))
}
