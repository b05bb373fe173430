//! Views: new layouts over the same storage (transpose, expand, reshape of
//! dense data, unsqueeze, squeeze), and `as_strided` views of a base, with
//! which autograd replays a view after its base was modified in place.

use crate::autograd::arena::{NodeRef, OutputMeta};
use crate::autograd::node::make_node;
use crate::autograd::{edge_of, record, BackwardFn, Grads};
use crate::bail;
use crate::cpu_backend;
use crate::dtype::Scalar;
use crate::error::Result;
use crate::layout::{infer_shape, join, normalize_dim, Layout, Shape};
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
) -> Result<Tensor> {
    record(out, &[x], |_| ShapeBackward { name, rule })
}

pub fn transpose(x: &Tensor, d0: i64, d1: i64) -> Result<Tensor> {
    let (a, b) = (normalize_dim(d0, x.ndim())?, normalize_dim(d1, x.ndim())?);
    if x.ndim() == 0 {
        return record_view(x, x.view_with(x.layout().clone()), "TransposeBackward0", |g| Ok(g.clone()));
    }
    let out = x.view_with(x.layout().transpose(a, b));
    record_view(x, out, "TransposeBackward0", move |g| transpose(g, a as i64, b as i64))
}

/// `x.t()`: transpose of a matrix; vectors and scalars are returned as views.
pub fn t(x: &Tensor) -> Result<Tensor> {
    if x.ndim() > 2 {
        bail!(Runtime, "t() expects a tensor with <= 2 dimensions, but self is {}D", x.ndim());
    }
    let layout = if x.ndim() == 2 { x.layout().transpose(0, 1) } else { x.layout().clone() };
    record_view(x, x.view_with(layout), "TBackward0", t)
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
    record_view(x, x.view_with(layout), "ExpandBackward0", move |g| sum_to(g, &src))
}

/// `x.view(*shape)`: only for layouts that need no copy.
pub fn view(x: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let shape = infer_shape(shape, x.numel())?;
    match x.layout().view_as(&shape) {
        Some(layout) => view_record(x, x.view_with(layout), "ViewBackward0"),
        None => bail!(
            Runtime,
            "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        ),
    }
}

fn view_record(x: &Tensor, out: Tensor, name: &'static str) -> Result<Tensor> {
    let src: Shape = x.shape_vec();
    record_view(x, out, name, move |g| reshape_to(g, &src))
}

/// `x.reshape(*shape)`: a view when possible, else a copy.
pub fn reshape(x: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let shape = infer_shape(shape, x.numel())?;
    if x.shape() == shape.as_slice() {
        // Still a view (an alias), as in PyTorch.
        return view_record(x, x.view_with(x.layout().clone()), "ViewBackward0");
    }
    reshape_to(x, &shape)
}

pub fn reshape_to(x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if x.shape() == shape {
        return Ok(x.clone());
    }
    match x.layout().view_as(shape) {
        Some(layout) => view_record(x, x.view_with(layout), "ViewBackward0"),
        None => {
            let dense = contiguous_copy(x)?;
            let layout = dense.layout().view_as(shape).expect("dense");
            view_record(&dense, dense.view_with(layout), "UnsafeViewBackward0")
        }
    }
}

pub fn unsqueeze(x: &Tensor, dim: i64) -> Result<Tensor> {
    let d = normalize_dim(dim, x.ndim() + 1)?;
    let out = x.view_with(x.layout().unsqueeze(d));
    record_view(x, out, "UnsqueezeBackward0", move |g| squeeze(g, Some(d as i64)))
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
    record_view(x, x.view_with(layout), name, move |g| reshape_to(g, &src))
}

/// Formats a shape for messages such as `torch.Size([2, 3])`.
pub fn size_str(shape: &[usize]) -> String {
    format!("torch.Size([{}])", join(shape))
}

/// Where a view's elements lie inside its base, counted in the base's
/// row-major element order.
#[derive(Clone, Debug)]
pub enum Geometry {
    /// The view's layout with its offset counted from the base's first
    /// element (the base is dense, as every op's output is).
    Strided(Layout),
    /// For a base that is not dense (`detach()` or `.data` of a transposed
    /// tensor): the base element under each view element, and the shape.
    Indexed(Shape, std::sync::Arc<Vec<usize>>),
}

impl Geometry {
    /// The geometry of a view with layout `view` inside `base`.
    pub fn of(base: &Tensor, view: &Layout) -> Geometry {
        let b = base.layout();
        if b.is_contiguous() {
            let mut l = view.clone();
            l.offset -= b.offset;
            return Geometry::Strided(l);
        }
        let element_at: std::collections::HashMap<usize, usize> = b.offsets().enumerate().map(|(i, o)| (o, i)).collect();
        let index = view.offsets().map(|o| element_at.get(&o).copied().unwrap_or(0)).collect();
        Geometry::Indexed(view.shape.clone(), std::sync::Arc::new(index))
    }
}

/// `x.as_strided(...)` for a `x` shaped like the base: the view's elements
/// (a view of `x` for a strided geometry, a copy otherwise).
pub fn as_strided(x: &Tensor, geom: &Geometry) -> Result<Tensor> {
    let dense = super::contiguous(x)?;
    let base_shape = x.shape_vec();
    let rule_geom = geom.clone();
    let rule = move |g: &Tensor| as_strided_scatter(g, &base_shape, &rule_geom);
    match geom {
        Geometry::Strided(l) => {
            let mut layout = l.clone();
            layout.offset += dense.layout().offset;
            record_view(&dense, dense.view_with(layout), "AsStridedBackward0", rule)
        }
        Geometry::Indexed(shape, index) => {
            let start = dense.layout().offset;
            let offsets: Vec<usize> = index.iter().map(|i| start + i).collect();
            let out = Tensor::from_cpu(dense.with_cpu(|d, _| cpu_backend::gather_at(d, &offsets)), shape);
            record_view(&dense, out, "AsStridedBackward0", rule)
        }
    }
}

/// Zeros shaped like the base with `g` added at the view's elements (a
/// view that overlaps itself, such as an expand, gets the sums): the
/// adjoint of `as_strided`.
pub fn as_strided_scatter(g: &Tensor, base_shape: &[usize], geom: &Geometry) -> Result<Tensor> {
    let src = g.to_dense();
    let mut out = cpu_backend::CpuStorage::filled(g.dtype(), crate::layout::numel(base_shape), Scalar::Int(0));
    match geom {
        Geometry::Strided(l) => cpu_backend::scatter_add(&mut out, l.offsets(), &src),
        Geometry::Indexed(_, index) => cpu_backend::scatter_add(&mut out, index.iter().copied(), &src),
    }
    let out = Tensor::from_cpu(out, base_shape);
    let geom = geom.clone();
    record(out, &[g], |_| ShapeBackward { name: "AsStridedScatterBackward0", rule: move |gg: &Tensor| as_strided(gg, &geom) })
}

/// A fresh history for a view with layout `view` of `base`: an
/// `AsStridedBackward0` node fed by the base's current history.
pub fn as_strided_history(base: &Tensor, view: &Layout) -> Option<NodeRef> {
    let edge = edge_of(base)?;
    let geom = Geometry::of(base, view);
    let base_shape = base.shape_vec();
    let rule = ShapeBackward { name: "AsStridedBackward0", rule: move |g: &Tensor| as_strided_scatter(g, &base_shape, &geom) };
    let out = OutputMeta { shape: view.shape.clone(), dtype: base.dtype() };
    make_node(std::sync::Arc::new(rule), smallvec::smallvec![Some(edge)], smallvec::smallvec![out]).ok()
}
