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
use crate::layout::{infer_shape, join, normalize_dim, normalize_dim_strict, Layout, Shape};
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
    crate::layout::check_size(shape, x.dtype().itemsize())?;
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
    match dim {
        Some(dim) => squeeze_listed(x, &[dim], "SqueezeBackward1"),
        None => {
            let src: Shape = x.shape_vec();
            let mut l = x.layout().clone();
            for d in (0..x.ndim()).rev() {
                l = l.squeeze(d);
            }
            record_view(x, x.view_with(l), "SqueezeBackward0", move |g| reshape_to(g, &src))
        }
    }
}

/// `x.squeeze(dims)` (SqueezeBackward2): each listed dim of size 1 removed,
/// the other listed dims kept (PyTorch 2.x).
pub fn squeeze_dims(x: &Tensor, dims: &[i64]) -> Result<Tensor> {
    squeeze_listed(x, dims, "SqueezeBackward2")
}

fn squeeze_listed(x: &Tensor, dims: &[i64], name: &'static str) -> Result<Tensor> {
    let mut ds = distinct_dims(dims, x.ndim())?;
    ds.sort_unstable();
    let src: Shape = x.shape_vec();
    let mut l = x.layout().clone();
    // From the last, so that removing a dim does not shift those still to
    // do; a 0-d tensor accepts dim 0 / -1 and has nothing to remove.
    for &d in ds.iter().rev().filter(|&&d| d < x.ndim()) {
        l = l.squeeze(d);
    }
    record_view(x, x.view_with(l), name, move |g| reshape_to(g, &src))
}

/// A list of dims (`flip`, `squeeze`) normalized, in the given order.
/// Checked one by one, as PyTorch's `dim_list_to_bitset`: IndexError for
/// one out of range, RuntimeError for one seen before, whichever comes first.
fn distinct_dims(dims: &[i64], ndim: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(dims.len());
    for &d in dims {
        let d = normalize_dim(d, ndim)?;
        if out.contains(&d) {
            bail!(Runtime, "dim {d} appears multiple times in the list of dims");
        }
        out.push(d);
    }
    Ok(out)
}

/// `x.squeeze_(dim)` on an op's fresh result `x`, as PyTorch's `matmul`
/// of a vector and a matrix drops the added dimension: SqueezeBackward4,
/// and the result is not a view.
pub fn squeeze_result(x: &Tensor, dim: usize) -> Result<Tensor> {
    let src: Shape = x.shape_vec();
    record_view(x, x.relaid(x.layout().squeeze(dim)), "SqueezeBackward4", move |g| reshape_to(g, &src))
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

/// `x.permute(dims)`: the dimensions reordered (a view).
pub fn permute(x: &Tensor, dims: &[i64]) -> Result<Tensor> {
    let n = x.ndim();
    if dims.len() != n {
        bail!(
            Runtime,
            "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to len(dims) = {}",
            dims.len()
        );
    }
    let order: Vec<usize> = dims.iter().map(|&d| normalize_dim(d, n)).collect::<Result<_>>()?;
    let mut seen = vec![false; n];
    for &d in &order {
        if std::mem::replace(&mut seen[d], true) {
            bail!(Runtime, "permute(): duplicate dims are not allowed.");
        }
    }
    let l = x.layout();
    let layout = Layout {
        shape: order.iter().map(|&d| l.shape[d]).collect(),
        strides: order.iter().map(|&d| l.strides[d]).collect(),
        offset: l.offset,
    };
    let mut inverse = vec![0i64; n];
    for (i, &d) in order.iter().enumerate() {
        inverse[d] = i as i64;
    }
    record_view(x, x.view_with(layout), "PermuteBackward0", move |g| permute(g, &inverse))
}

/// `x.movedim(source, destination)`.
pub fn movedim(x: &Tensor, source: &[i64], destination: &[i64]) -> Result<Tensor> {
    let n = x.ndim();
    if source.len() != destination.len() {
        bail!(
            Runtime,
            "movedim: Invalid source or destination dims: source ({:?} dims) should contain the same number of dims as destination ({:?} dims)",
            source,
            destination
        );
    }
    let src: Vec<usize> = source.iter().map(|&d| normalize_dim(d, n)).collect::<Result<_>>()?;
    let dst: Vec<usize> = destination.iter().map(|&d| normalize_dim(d, n)).collect::<Result<_>>()?;
    for (dims, given, name) in [(&src, source, "source"), (&dst, destination, "destination")] {
        if dims.iter().enumerate().any(|(i, d)| dims[..i].contains(d)) {
            bail!(Runtime, "movedim: repeated dim in `{name}` ({given:?})");
        }
    }
    if n == 0 {
        return permute(x, &[]);
    }
    let mut order = vec![usize::MAX; n];
    for (&s, &d) in src.iter().zip(&dst) {
        order[d] = s;
    }
    let mut rest = (0..n).filter(|d| !src.contains(d));
    for slot in order.iter_mut().filter(|s| **s == usize::MAX) {
        *slot = rest.next().unwrap_or(0);
    }
    permute(x, &order.iter().map(|&d| d as i64).collect::<Vec<_>>())
}

/// `x.flatten(start_dim, end_dim)`: those dimensions merged into one.
pub fn flatten(x: &Tensor, start_dim: i64, end_dim: i64) -> Result<Tensor> {
    if x.ndim() == 0 {
        // A 0-d tensor takes dims -1 and 0, as PyTorch's wrapping does.
        normalize_dim(start_dim, 1)?;
        normalize_dim(end_dim, 1)?;
        return reshape_to(x, &[1]);
    }
    let (s, e) = (normalize_dim(start_dim, x.ndim())?, normalize_dim(end_dim, x.ndim())?);
    if s > e {
        bail!(Runtime, "flatten() has invalid args: start_dim cannot come after end_dim");
    }
    if s == e {
        return Ok(x.clone());
    }
    let mut shape: Shape = x.shape()[..s].into();
    shape.push(x.shape()[s..=e].iter().product());
    shape.extend_from_slice(&x.shape()[e + 1..]);
    reshape_to(x, &shape)
}

/// `x.narrow(dim, start, length)`: `length` elements of `dim` from `start`
/// (a view).
pub fn narrow(x: &Tensor, dim: i64, start: i64, length: i64) -> Result<Tensor> {
    use crate::ops::index::{index, IndexItem};
    if x.ndim() == 0 {
        bail!(Runtime, "narrow() cannot be applied to a 0-dim tensor.");
    }
    let d = normalize_dim(dim, x.ndim())?;
    let size = x.shape()[d] as i64;
    let start = if start < 0 { start + size } else { start };
    if start < 0 || start > size {
        bail!(Index, "start out of range (expected to be in range of [{}, {}], but got {})", -size, size, start);
    }
    if length < 0 || start + length > size {
        bail!(Runtime, "start ({start}) + length ({length}) exceeds dimension size ({size}).");
    }
    let mut items = vec![IndexItem::Slice { start: None, stop: None, step: None }; d];
    items.push(IndexItem::Slice { start: Some(start), stop: Some(start + length), step: None });
    index(x, &items)
}

/// `x.select(dim, index)` (a view without `dim`).
pub fn select(x: &Tensor, dim: i64, i: i64) -> Result<Tensor> {
    use crate::ops::index::{index, IndexItem};
    let d = normalize_dim(dim, x.ndim())?;
    let mut items = vec![IndexItem::Slice { start: None, stop: None, step: None }; d];
    items.push(IndexItem::Int(i));
    index(x, &items)
}

/// `x.split(size, dim)` / `x.split([sizes], dim)`: consecutive views along
/// `dim` (the last may be shorter for an int size).
pub fn split(x: &Tensor, sizes: &[i64], as_sizes: bool, dim: i64) -> Result<Vec<Tensor>> {
    if x.ndim() == 0 {
        bail!(Runtime, "split expects at least a 1-dimensional tensor");
    }
    let d = normalize_dim(dim, x.ndim())?;
    let total = x.shape()[d] as i64;
    let lens: Vec<i64> = if as_sizes {
        if sizes.iter().sum::<i64>() != total {
            bail!(
                Runtime,
                "split_with_sizes expects split_sizes to sum exactly to {total} (input tensor's size at dimension {d}), but got split_sizes=[{}]",
                sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
            );
        }
        sizes.to_vec()
    } else {
        let step = sizes[0];
        if step <= 0 && total > 0 {
            bail!(Runtime, "split_size can only be 0 if dimension size is 0, but got dimension size of {total}");
        }
        let mut v = Vec::new();
        let mut at = 0;
        while at < total {
            v.push(step.min(total - at));
            at += step;
        }
        if v.is_empty() {
            v.push(0);
        }
        v
    };
    let node = if as_sizes { "SplitWithSizes" } else { "Split" };
    let mut out = Vec::with_capacity(lens.len());
    let mut at = 0;
    for (nr, len) in lens.into_iter().enumerate() {
        out.push(narrow(x, d as i64, at, len)?.as_multi_output_view(node, nr));
        at += len;
    }
    Ok(out)
}

/// `x.chunk(chunks, dim)`: `split` with size `ceil(n / chunks)`.
pub fn chunk(x: &Tensor, chunks: i64, dim: i64) -> Result<Vec<Tensor>> {
    if chunks <= 0 {
        bail!(Runtime, "chunk expects `chunks` to be greater than 0, got: {chunks}");
    }
    if x.ndim() == 0 {
        bail!(Runtime, "chunk expects at least a 1-dimensional tensor");
    }
    let d = normalize_dim(dim, x.ndim())?;
    let n = x.shape()[d] as i64;
    if n == 0 {
        // PyTorch gives `chunks` empty pieces of an empty dim.
        return split(x, &vec![0; chunks as usize], true, d as i64);
    }
    let size = ((n + chunks - 1) / chunks).max(1);
    split(x, &[size], false, d as i64)
}

/// `x.unbind(dim)`: the slices along `dim`, each without it.
pub fn unbind(x: &Tensor, dim: i64) -> Result<Vec<Tensor>> {
    let d = normalize_dim_strict(dim, x.ndim())?;
    (0..x.shape()[d]).map(|i| Ok(select(x, d as i64, i as i64)?.as_multi_output_view("Unbind", i))).collect()
}

/// `x.flip(dims)`: a copy with the order of `dims` reversed (its own
/// inverse, so its rule is itself).
pub fn flip(x: &Tensor, dims: &[i64]) -> Result<Tensor> {
    let ds = distinct_dims(dims, x.ndim())?;
    let mut l = x.layout().clone();
    // A 0-d tensor accepts dim 0 / -1 and has nothing to flip.
    let ndim = l.ndim();
    for &d in ds.iter().filter(|&&d| d < ndim) {
        if l.shape[d] > 0 {
            l.offset = (l.offset as isize + (l.shape[d] as isize - 1) * l.strides[d]) as usize;
        }
        l.strides[d] = -l.strides[d];
    }
    let values = x.with_cpu(|data, _| crate::cpu_backend::gather(data, &l));
    let out = Tensor::from_cpu(values, x.shape());
    let dims = dims.to_vec();
    record(out, &[x], |_| ShapeBackward { name: "FlipBackward0", rule: move |g: &Tensor| flip(g, &dims) })
}
