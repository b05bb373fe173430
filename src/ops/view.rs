//! Views: new layouts over the same storage (transpose, expand, reshape of
//! dense data, unsqueeze, squeeze).

use crate::autograd::{record, BackwardFn, Grads};
use crate::bail;
use crate::error::Result;
use crate::layout::{infer_shape, join, normalize_dim, Shape};
use crate::ops::{contiguous_copy, sum_to};
use crate::tensor::Tensor;

/// A backward rule that needs no saved tensors, from a closure over `Copy`
/// or cloned metadata.
struct ShapeBackward<F: Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static> {
    name: &'static str,
    rule: F,
}

impl<F: Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static> BackwardFn for ShapeBackward<F> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        Ok(smallvec::smallvec![Some((self.rule)(grad)?)])
    }
    fn saves_tensors(&self) -> bool {
        false
    }
}

fn record_view(
    x: &Tensor,
    out: Tensor,
    name: &'static str,
    rule: impl Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static,
) -> Tensor {
    record(out, &[x], |_| ShapeBackward { name, rule })
}

pub fn transpose(x: &Tensor, d0: i64, d1: i64) -> Result<Tensor> {
    let (a, b) = (normalize_dim(d0, x.ndim())?, normalize_dim(d1, x.ndim())?);
    if x.ndim() == 0 {
        return Ok(record_view(x, x.view_with(x.layout().clone()), "TransposeBackward0", |g| Ok(g.clone())));
    }
    let out = x.view_with(x.layout().transpose(a, b));
    Ok(record_view(x, out, "TransposeBackward0", move |g| transpose(g, a as i64, b as i64)))
}

/// `x.t()`: transpose of a matrix; vectors and scalars are returned as views.
pub fn t(x: &Tensor) -> Result<Tensor> {
    if x.ndim() > 2 {
        bail!(Runtime, "t() expects a tensor with <= 2 dimensions, but self is {}D", x.ndim());
    }
    let layout = if x.ndim() == 2 { x.layout().transpose(0, 1) } else { x.layout().clone() };
    Ok(record_view(x, x.view_with(layout), "TBackward0", t))
}

/// `x.mT`-style swap of the last two dimensions (no node name of its own:
/// used inside backward rules).
pub fn transpose_last2(x: &Tensor) -> Result<Tensor> {
    let n = x.ndim() as i64;
    transpose(x, n - 2, n - 1)
}

/// `x.expand(*sizes)`; `-1` keeps a dimension's size.
pub fn expand(x: &Tensor, sizes: &[i64]) -> Result<Tensor> {
    let lead = sizes.len().saturating_sub(x.ndim());
    let mut shape = Shape::new();
    for (i, &s) in sizes.iter().enumerate() {
        shape.push(match s {
            -1 if i >= lead => x.shape()[i - lead],
            s if s < 0 => bail!(Runtime, "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension {i}"),
            s => s as usize,
        });
    }
    expand_to(x, &shape)
}

pub fn expand_to(x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let layout = x.layout().expand(shape).map_err(|e| match e {
        crate::error::Error::Runtime(m) => crate::error::Error::Runtime(m.replace("torch.FloatTensor", &format!("torch.{}Tensor", x.dtype().scalar_name()))),
        other => other,
    })?;
    let src: Shape = x.shape_vec();
    Ok(record_view(x, x.view_with(layout), "ExpandBackward0", move |g| sum_to(g, &src)))
}

/// `x.view(*shape)`: only for layouts that need no copy.
pub fn view(x: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let shape = infer_shape(shape, x.numel())?;
    match x.layout().view_as(&shape) {
        Some(layout) => Ok(view_record(x, x.view_with(layout), "ViewBackward0")),
        None => bail!(
            Runtime,
            "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        ),
    }
}

fn view_record(x: &Tensor, out: Tensor, name: &'static str) -> Tensor {
    let src: Shape = x.shape_vec();
    record_view(x, out, name, move |g| reshape_to(g, &src))
}

/// `x.reshape(*shape)`: a view when possible, else a copy.
pub fn reshape(x: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let shape = infer_shape(shape, x.numel())?;
    reshape_to(x, &shape)
}

pub fn reshape_to(x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if x.shape() == shape {
        return Ok(x.clone());
    }
    match x.layout().view_as(shape) {
        Some(layout) => Ok(view_record(x, x.view_with(layout), "ViewBackward0")),
        None => {
            let dense = contiguous_copy(x)?;
            let layout = dense.layout().view_as(shape).expect("dense");
            Ok(view_record(&dense, dense.view_with(layout), "UnsafeViewBackward0"))
        }
    }
}

pub fn unsqueeze(x: &Tensor, dim: i64) -> Result<Tensor> {
    let d = normalize_dim(dim, x.ndim() + 1)?;
    let out = x.view_with(x.layout().unsqueeze(d));
    Ok(record_view(x, out, "UnsqueezeBackward0", move |g| squeeze(g, Some(d as i64))))
}

/// `x.squeeze(dim)` (SqueezeBackward1) or `x.squeeze()` (SqueezeBackward0).
pub fn squeeze(x: &Tensor, dim: Option<i64>) -> Result<Tensor> {
    let src: Shape = x.shape_vec();
    let (layout, name) = match dim {
        Some(dim) => {
            if x.ndim() == 0 {
                normalize_dim(dim, 1)?;
                (x.layout().clone(), "SqueezeBackward1")
            } else {
                (x.layout().squeeze(normalize_dim(dim, x.ndim())?), "SqueezeBackward1")
            }
        }
        None => {
            let mut l = x.layout().clone();
            for d in (0..x.ndim()).rev() {
                l = l.squeeze(d);
            }
            (l, "SqueezeBackward0")
        }
    };
    Ok(record_view(x, x.view_with(layout), name, move |g| reshape_to(g, &src)))
}

/// Formats a shape for messages such as `torch.Size([2, 3])`.
pub fn size_str(shape: &[usize]) -> String {
    format!("torch.Size([{}])", join(shape))
}
