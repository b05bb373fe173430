//! Index-driven ops along one dimension: `gather` and `scatter_add`, each
//! the other's adjoint (so double backward works), and the reductions that
//! select elements (`max`/`min` along a dim, `argmax`/`argmin`).

use super::Arg;
use crate::autograd::{record, BackwardFn, Grads};
use crate::bail;
use crate::cpu_backend::CpuStorage;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::{contiguous_strides, join, normalize_dim, Shape};
use crate::tensor::Tensor;

/// The positions in `index` (int64, or int32 as PyTorch also takes).
fn indices(op: &str, index: &Tensor) -> Result<Vec<i64>> {
    match index.dtype() {
        DType::I64 => Ok(<i64 as crate::cpu_backend::Storable>::into_vec(index.to_dense())),
        DType::I32 => Ok(<i32 as crate::cpu_backend::Storable>::into_vec(index.to_dense()).into_iter().map(i64::from).collect()),
        _ => bail!(Runtime, "{op}(): Expected dtype int32/int64 for index"),
    }
}

/// For each element of a tensor shaped `shape` (row-major), its flat
/// position in a contiguous tensor shaped `target` where dimension `dim`
/// takes the value `index[i]` instead: the addressing of gather/scatter.
fn positions(shape: &[usize], target: &[usize], dim: usize, index: &[i64]) -> Result<Vec<usize>> {
    let strides = contiguous_strides(target);
    let n = crate::layout::numel(shape);
    let mut out = Vec::with_capacity(n);
    let mut coord: Shape = smallvec::smallvec![0; shape.len()];
    for &ix in index.iter().take(n) {
        let size = target[dim] as i64;
        if ix < 0 || ix >= size {
            bail!(Runtime, "index {ix} is out of bounds for dimension {dim} with size {size}");
        }
        let ix = ix as usize;
        let mut pos = 0isize;
        for (d, &c) in coord.iter().enumerate() {
            pos += strides[d] * if d == dim { ix } else { c } as isize;
        }
        out.push(pos as usize);
        for d in (0..shape.len()).rev() {
            coord[d] += 1;
            if coord[d] < shape[d] {
                break;
            }
            coord[d] = 0;
        }
    }
    Ok(out)
}

fn check_index_shape(op: &str, x: &[usize], index: &[usize], dim: usize) -> Result<()> {
    if x.len() != index.len() && !(x.is_empty() && index.len() <= 1) {
        bail!(Runtime, "Index tensor must have the same number of dimensions as input tensor");
    }
    for d in 0..index.len() {
        if d != dim && index[d] > x.get(d).copied().unwrap_or(1) {
            bail!(
                Runtime,
                "Size does not match at dimension {d} expected index [{}] to be no larger than self [{}] apart from dimension {dim}",
                join(index),
                join(x)
            );
        }
    }
    let _ = op;
    Ok(())
}

/// `torch.gather(input, dim, index)`: `out[i][j] = input[i][index[i][j]]`
/// (for `dim = 1`); `index` is int64 with `input`'s number of dimensions.
pub fn gather(x: &Tensor, dim: i64, index: &Tensor) -> Result<Tensor> {
    gather_as(x, dim, index, "GatherBackward0")
}

/// `gather` recorded as the node `node` (the values of `sort`, `cummax`, ...,
/// which PyTorch names after the op).
pub fn gather_as(x: &Tensor, dim: i64, index: &Tensor, node: &'static str) -> Result<Tensor> {
    let d = normalize_dim(dim, x.ndim().max(1))?;
    check_index_shape("gather", x.shape(), index.shape(), d)?;
    let shape: Vec<usize> = if x.ndim() == 0 { vec![1] } else { x.shape().to_vec() };
    let pos = positions(index.shape(), &shape, d, &indices("gather", index)?)?;
    let data = x.to_dense();
    let out = Tensor::from_cpu(crate::cpu_backend::gather_at(&data, &pos), index.shape());
    record(out, &[x], |_| PutBack::new(node, dim, index, x, scatter_add))
}

/// The rule of ops that pick elements by index (gather, index_select, max
/// along a dim): the gradient is added back at the picked places into zeros
/// shaped like the input, so repeated picks add up.
struct PutBack {
    name: &'static str,
    dim: i64,
    index: Tensor,
    shape: Shape,
    put: fn(&Tensor, i64, &Tensor, &Tensor) -> Result<Tensor>,
    /// The gradient reshaped to the index's shape first (max along a dim
    /// without keepdim).
    reshape: bool,
}

impl PutBack {
    fn new(name: &'static str, dim: i64, index: &Tensor, x: &Tensor, put: fn(&Tensor, i64, &Tensor, &Tensor) -> Result<Tensor>) -> PutBack {
        PutBack { name, dim, index: index.detach(), shape: x.shape_vec(), put, reshape: false }
    }
}

impl BackwardFn for PutBack {
    fn name(&self) -> &'static str {
        self.name
    }
    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        let zeros = Tensor::full(&self.shape, Scalar::Int(0), grad.dtype());
        let g = if self.reshape { super::view::reshape_to(grad, self.index.shape())? } else { grad.clone() };
        Ok(smallvec::smallvec![Some((self.put)(&zeros, self.dim, &self.index, &g)?)])
    }
    fn saves_tensors(&self) -> bool {
        false
    }
}

/// Where a scatter writes: the flat position in `base` (dense) of each
/// element of `index`, and `src`'s elements in `index`'s shape (`src` may be
/// larger), densely. Checks PyTorch's shape and dtype rules.
pub(crate) fn scatter_plan(op: &str, base: &Tensor, dim: i64, index: &Tensor, src: Option<&Tensor>) -> Result<(Vec<usize>, Option<CpuStorage>)> {
    let d = normalize_dim(dim, base.ndim().max(1))?;
    if let Some(src) = src {
        let fits = |limit: &[usize], k: usize| index.shape()[k] <= limit.get(k).copied().unwrap_or(1);
        if index.ndim() == src.ndim().max(index.ndim()) && (0..index.ndim()).any(|k| !fits(src.shape(), k) || (k != d && !fits(base.shape(), k))) {
            bail!(
                Runtime,
                "Expected index [{}] to be no larger than self [{}] apart from dimension {d} and to be no larger size than src [{}]",
                join(index.shape()),
                join(base.shape()),
                join(src.shape())
            );
        }
    }
    check_index_shape(op, base.shape(), index.shape(), d)?;
    let shape: Vec<usize> = if base.ndim() == 0 { vec![1] } else { base.shape().to_vec() };
    let pos = positions(index.shape(), &shape, d, &indices(op, index)?)?;
    let Some(src) = src else { return Ok((pos, None)) };
    if src.dtype() != base.dtype() {
        bail!(Runtime, "{op}(): Expected self.dtype to be equal to src.dtype");
    }
    let items: Vec<crate::ops::index::IndexItem> =
        index.shape().iter().map(|&n| crate::ops::index::IndexItem::Slice { start: None, stop: Some(n as i64), step: None }).collect();
    let src_part = if src.shape() == index.shape() { src.detach() } else { crate::ops::index::index(&src.detach(), &items)? };
    Ok((pos, Some(src_part.to_dense())))
}

/// `input.scatter(dim, index, src)` / `scatter(dim, index, value)`: a copy of
/// `input` with `src`'s elements (or `value`) written at the positions
/// `index` names along `dim` (for repeated positions one write wins, as
/// PyTorch leaves it unspecified). Gradients: `input`'s is the gradient with
/// the overwritten places zeroed, `src`'s the gradient gathered there.
pub fn scatter(base: &Tensor, dim: i64, index: &Tensor, src: Arg) -> Result<Tensor> {
    let (pos, values) = scatter_plan("scatter", base, dim, index, src.tensor())?;
    let mut data = base.to_dense();
    crate::with_dtype!(data.dtype(), T => {
        let to = T::slice_mut(&mut data);
        match (&values, src) {
            (Some(v), _) => pos.iter().zip(T::slice(v)).for_each(|(&o, &x)| to[o] = x),
            (None, Arg::Scalar(value)) => pos.iter().for_each(|&o| to[o] = T::from_scalar(value)),
            (None, Arg::Tensor(_)) => unreachable!("a tensor source has values"),
        }
    });
    struct ScatterBackward {
        name: &'static str,
        dim: i64,
        index: Tensor,
        src_shape: Option<Shape>,
    }
    impl BackwardFn for ScatterBackward {
        fn name(&self) -> &'static str {
            self.name
        }
        fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
            let base = needs[0].then(|| scatter(grad, self.dim, &self.index, Arg::Scalar(Scalar::Int(0)))).transpose()?;
            let src = match (&self.src_shape, needs.get(1).copied().unwrap_or(false)) {
                (Some(shape), true) => {
                    let g = gather(grad, self.dim, &self.index)?;
                    Some(if g.shape() == shape.as_slice() { g } else { pad_to(&g, shape)? })
                }
                _ => None,
            };
            Ok(smallvec::smallvec![base, src])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    let out = Tensor::from_cpu(data, base.shape());
    let index = index.detach();
    match src {
        Arg::Tensor(s) => record(out, &[base, s], |_| ScatterBackward { name: "ScatterBackward0", dim, index, src_shape: Some(s.shape_vec()) }),
        Arg::Scalar(_) => record(out, &[base], |_| ScatterBackward { name: "ScatterBackward1", dim, index, src_shape: None }),
    }
}

/// `input.scatter_add(dim, index, src)`: a copy of `input` with each element
/// of `src` added at the position `index` names along `dim`.
pub fn scatter_add(base: &Tensor, dim: i64, index: &Tensor, src: &Tensor) -> Result<Tensor> {
    let (pos, values) = scatter_plan("scatter_add", base, dim, index, Some(src))?;
    let mut data = base.to_dense();
    crate::cpu_backend::scatter_add(&mut data, pos.into_iter(), &values.expect("a tensor source"));
    struct ScatterAddBackward {
        dim: i64,
        index: Tensor,
        src_shape: Shape,
    }
    impl BackwardFn for ScatterAddBackward {
        fn name(&self) -> &'static str {
            "ScatterAddBackward0"
        }
        fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
            let src = if needs.get(1).copied().unwrap_or(false) {
                let g = gather(grad, self.dim, &self.index)?;
                Some(if g.shape() == self.src_shape.as_slice() { g } else { pad_to(&g, &self.src_shape)? })
            } else {
                None
            };
            Ok(smallvec::smallvec![needs[0].then(|| grad.clone()), src])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    let out = Tensor::from_cpu(data, base.shape());
    record(out, &[base, src], |_| ScatterAddBackward { dim, index: index.detach(), src_shape: src.shape_vec() })
}

/// `g` placed at the start of zeros shaped `shape` (the gradient of `src`
/// elements that `index` did not use is zero).
fn pad_to(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let items: Vec<crate::ops::index::IndexItem> =
        g.shape().iter().map(|&n| crate::ops::index::IndexItem::Slice { start: None, stop: Some(n as i64), step: None }).collect();
    crate::ops::index::embed(g, &items, shape)
}

/// Values and int64 indices of the max (or min) along `dim`; NaN wins, and
/// among equal values the first index, as in PyTorch.
pub fn max_dim(x: &Tensor, dim: i64, keepdim: bool, is_max: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, x.ndim().max(1))?;
    let size = x.shape().get(d).copied().unwrap_or(1);
    if size == 0 {
        bail!(
            Index,
            "{}(): Expected reduction dim {d} to have non-zero size.",
            if is_max { "max" } else { "min" }
        );
    }
    if x.dtype() == DType::Bool {
        // Bools order as 0 < 1; they carry no gradient.
        let (values, indices) = max_dim(&crate::ops::to_dtype(x, DType::U8)?, dim, keepdim, is_max)?;
        return Ok((crate::ops::to_dtype(&values, DType::Bool)?, indices));
    }
    // Move `dim` last so each reduced row is contiguous.
    let order: Vec<i64> = (0..x.ndim()).filter(|&i| i != d).chain(std::iter::once(d)).map(|i| i as i64).collect();
    let moved = if x.ndim() == 0 { x.detach() } else { super::view::permute(&x.detach(), &order)? };
    let dense = moved.to_dense();
    let rows = dense.len() / size.max(1);
    let mut idx: Vec<i64> = Vec::with_capacity(rows);
    crate::with_dtype!(dense.dtype(), T => {
        let v = T::slice(&dense);
        #[allow(clippy::eq_op)]
        let nan = |a: T| a != a;
        for r in 0..rows {
            let row = &v[r * size..(r + 1) * size];
            let mut best = 0;
            for (i, &val) in row.iter().enumerate().skip(1) {
                let cur = row[best];
                if nan(cur) {
                    break;
                }
                if nan(val) || (if is_max { val > cur } else { val < cur }) {
                    best = i;
                }
            }
            idx.push(best as i64);
        }
    });
    let mut keep_shape: Shape = x.shape().into();
    if x.ndim() > 0 {
        keep_shape[d] = 1;
    }
    let index_keep = Tensor::from_vec(idx, &keep_shape);
    let squeeze = |t: Tensor| if keepdim || x.ndim() == 0 { Ok(t) } else { super::view::squeeze(&t, Some(d as i64)) };
    let values = squeeze(gather(&x.detach(), d as i64, &index_keep)?)?.detach();
    let name = if is_max { "MaxBackward0" } else { "MinBackward0" };
    let values = record(values, &[x], |_| PutBack { reshape: true, ..PutBack::new(name, d as i64, &index_keep, x, scatter_add) })?;
    Ok((values, squeeze(index_keep)?.detach()))
}

/// For `index_select`-style ops: the flat positions, in a contiguous tensor
/// shaped `shape`, of the elements whose coordinate along `dim` is each of
/// `index` in turn (row-major over the result shaped like `shape` with `dim`
/// replaced by `index.len()`).
fn slice_positions(shape: &[usize], dim: usize, index: &[i64]) -> Result<Vec<usize>> {
    let mut out_shape: Shape = shape.into();
    out_shape[dim] = index.len();
    let n = crate::layout::numel(&out_shape);
    let per = index.len();
    // Each output element's coordinate along `dim` cycles through `index`.
    let inner: usize = shape[dim + 1..].iter().product();
    let coords: Vec<i64> = (0..n).map(|i| index[(i / inner.max(1)) % per.max(1)]).collect();
    positions(&out_shape, shape, dim, &coords)
}

fn index_vector(op: &str, index: &Tensor) -> Result<Vec<i64>> {
    if index.ndim() > 1 {
        bail!(Index, "{op}(): Index is supposed to be a vector");
    }
    if !matches!(index.dtype(), DType::I64 | DType::I32) {
        bail!(Runtime, "{op}(): Expected dtype int32 or int64 for index");
    }
    indices(op, index)
}

/// `x.index_select(dim, index)`: the slices of `dim` named by the 1-D int64
/// `index`, in its order (repeats allowed; their gradients add up).
pub fn index_select(x: &Tensor, dim: i64, index: &Tensor) -> Result<Tensor> {
    index_select_as(x, dim, index, "IndexSelectBackward0")
}

/// `index_select` whose node has the given name (`IndexBackward0` when it
/// serves advanced indexing, as PyTorch's `t[idx]`).
pub fn index_select_as(x: &Tensor, dim: i64, index: &Tensor, node: &'static str) -> Result<Tensor> {
    let idx = index_vector("index_select", index)?;
    // The dim is checked first, as PyTorch does.
    let d = normalize_dim(dim, x.ndim().max(1))?;
    if x.ndim() == 0 && idx.len() != 1 {
        bail!(Runtime, "index_select(): Index to scalar can have only 1 value, got {} value(s)", idx.len());
    }
    let shape: Vec<usize> = if x.ndim() == 0 { vec![1] } else { x.shape().to_vec() };
    if idx.iter().any(|&i| i < 0 || i >= shape[d] as i64) {
        bail!(Index, "index out of range in self");
    }
    let pos = slice_positions(&shape, d, &idx)?;
    let mut out_shape: Shape = x.shape().into();
    if x.ndim() > 0 {
        out_shape[d] = idx.len();
    }
    let out = Tensor::from_cpu(crate::cpu_backend::gather_at(&x.to_dense(), &pos), &out_shape);
    record(out, &[x], |_| PutBack::new(node, dim, index, x, index_add))
}

/// `base.index_add(dim, index, src)`: `src`'s slices added into `base`'s
/// slices of `dim` named by `index` (repeats add up).
pub fn index_add(base: &Tensor, dim: i64, index: &Tensor, src: &Tensor) -> Result<Tensor> {
    index_write(base, dim, index, src, true)
}

/// `base.index_copy(dim, index, src)`: `base` with its slices of `dim`
/// named by `index` replaced by `src`'s.
pub fn index_copy(base: &Tensor, dim: i64, index: &Tensor, src: &Tensor) -> Result<Tensor> {
    index_write(base, dim, index, src, false)
}

/// `base.index_fill(dim, index, value)`: `base` with its slices of `dim`
/// named by `index` set to `value`. IndexError for an index out of range
/// (RuntimeError on an empty tensor, as PyTorch).
pub fn index_fill(base: &Tensor, dim: i64, index: &Tensor, value: f64) -> Result<Tensor> {
    let idx = index_vector("index_fill", index)?;
    let d = normalize_dim(dim, base.ndim().max(1))?;
    let size = if base.ndim() == 0 { 1 } else { base.shape()[d] };
    if let Some(&bad) = idx.iter().find(|&&i| i < -(size as i64) || i >= size as i64) {
        if base.numel() == 0 {
            bail!(Runtime, "index_fill_(): index {bad} is out of bounds for an empty tensor");
        }
        bail!(Index, "index {bad} is out of bounds for dimension {d} with size {size}");
    }
    // Negative indices count from the end, as in PyTorch's index_fill.
    let wrapped: Vec<i64> = idx.iter().map(|&i| if i < 0 { i + size as i64 } else { i }).collect();
    let index = Tensor::from_vec(wrapped, &[idx.len()]);
    let mut shape = base.shape_vec();
    if base.ndim() > 0 {
        shape[d] = idx.len();
    }
    index_copy(base, dim, &index, &Tensor::full(&shape, Scalar::Float(value), base.dtype()))
}

fn index_write(base: &Tensor, dim: i64, index: &Tensor, src: &Tensor, add: bool) -> Result<Tensor> {
    let op = if add { "index_add" } else { "index_copy" };
    let idx = index_vector(op, index)?;
    let d = normalize_dim(dim, base.ndim().max(1))?;
    let shape: Vec<usize> = if base.ndim() == 0 { vec![1] } else { base.shape().to_vec() };
    let mut want: Shape = shape.as_slice().into();
    want[d] = idx.len();
    if src.numel() != crate::layout::numel(&want) {
        bail!(Runtime, "{op}(): Source/destination tensor must have same slice shapes. Destination slice shape: [{}] at dimension {d} and source slice shape: [{}]", join(&shape), join(src.shape()));
    }
    if let Some(&bad) = idx.iter().find(|&&i| i < 0 || i >= shape[d] as i64) {
        if add {
            bail!(Index, "index out of range in self");
        }
        bail!(Index, "index_copy_(): index {bad} is out of bounds for dimension {d} with size {}", shape[d]);
    }
    let src = if src.dtype() == base.dtype() { src.clone() } else { super::to_dtype(src, base.dtype())? };
    let pos = slice_positions(&shape, d, &idx)?;
    let mut data = base.to_dense();
    let values = src.to_dense();
    if add {
        crate::cpu_backend::scatter_add(&mut data, pos.into_iter(), &values);
    } else {
        crate::with_dtype!(data.dtype(), T => {
            let (to, from) = (T::slice_mut(&mut data), T::slice(&values));
            for (p, &v) in pos.iter().zip(from) {
                to[*p] = v;
            }
        });
    }
    struct IndexWriteBackward {
        add: bool,
        dim: i64,
        index: Tensor,
        src_shape: Shape,
    }
    impl BackwardFn for IndexWriteBackward {
        fn name(&self) -> &'static str {
            if self.add { "IndexAddBackward0" } else { "IndexCopyBackward0" }
        }
        fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
            let base = if !needs[0] {
                None
            } else if self.add {
                Some(grad.clone())
            } else {
                // The overwritten slices get no gradient.
                let zeros = Tensor::full(&self.src_shape, Scalar::Int(0), grad.dtype());
                Some(index_copy(grad, self.dim, &self.index, &zeros)?)
            };
            let src = match needs.get(1) {
                Some(true) => Some(super::view::reshape_to(&index_select(grad, self.dim, &self.index)?, &self.src_shape)?),
                _ => None,
            };
            Ok(smallvec::smallvec![base, src])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    let out = Tensor::from_cpu(data, base.shape());
    record(out, &[base, &src], |_| IndexWriteBackward { add, dim, index: index.detach(), src_shape: src.shape_vec() })
}

/// `x.nonzero()`: int64 `[n, ndim]`, the coordinates of the nonzero
/// elements in row-major order.
pub fn nonzero(x: &Tensor) -> Result<Tensor> {
    let truth = match super::to_dtype(&x.detach(), DType::Bool)?.to_dense() {
        CpuStorage::Bool(v) => v,
        _ => unreachable!("converted to bool"),
    };
    let strides = contiguous_strides(x.shape());
    let mut coords = Vec::new();
    let mut n = 0;
    for (i, &t) in truth.iter().enumerate() {
        if t {
            n += 1;
            for &s in strides.iter() {
                coords.push((i as isize / s.max(1)) as i64);
            }
        }
    }
    // Strides give the index along each dimension modulo its size.
    for (k, c) in coords.iter_mut().enumerate() {
        let d = k % x.ndim().max(1);
        if x.ndim() > 0 {
            *c %= x.shape()[d] as i64;
        }
    }
    let ndim = x.ndim();
    if ndim == 0 {
        return Ok(Tensor::from_vec(Vec::<i64>::new(), &[n, 0]));
    }
    Ok(Tensor::from_vec(coords, &[n, ndim]))
}
