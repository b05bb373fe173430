//! Ops that work along one dimension row by row: `cumsum`, `sort` (and
//! `argsort`, `topk` through it), `all`/`any`/`count_nonzero`.

use super::gather::gather;
use super::view::permute;
use super::{contiguous, to_dtype};
use crate::autograd::{record, BackwardFn, Grads};
use crate::bail;
use crate::cpu_backend::{CpuStorage, Element};
use crate::dtype::DType;
use crate::error::Result;
use crate::layout::normalize_dim;
use crate::tensor::Tensor;

/// `x` with `dim` moved last and made dense, the order that moves it back,
/// and the row length.
fn rows_last(x: &Tensor, dim: usize) -> Result<(Tensor, Vec<i64>, usize)> {
    let n = x.ndim();
    let order: Vec<i64> = (0..n).filter(|&d| d != dim).chain(std::iter::once(dim)).map(|d| d as i64).collect();
    let mut back = vec![0i64; n];
    for (i, &d) in order.iter().enumerate() {
        back[d as usize] = i as i64;
    }
    let moved = contiguous(&permute(&x.detach(), &order)?)?;
    Ok((moved, back, x.shape()[dim]))
}

/// The dense rows `f` produced, in `moved`'s shape, moved back.
fn restore(data: CpuStorage, moved: &Tensor, back: &[i64]) -> Result<Tensor> {
    contiguous(&permute(&Tensor::from_cpu(data, moved.shape()), back)?).map(|t| t.detach())
}

/// `x.cumsum(dim)`: running sums along `dim` (integers and bools sum in
/// int64); its gradient is the reversed running sum of the gradient.
pub fn cumsum(x: &Tensor, dim: i64, dtype: Option<DType>) -> Result<Tensor> {
    let src = match (dtype, x.dtype()) {
        (Some(d), _) => to_dtype(x, d)?,
        (None, DType::Bool) => to_dtype(x, DType::I64)?,
        _ => x.clone(),
    };
    if src.ndim() == 0 {
        return Ok(src);
    }
    let d = normalize_dim(dim, src.ndim())?;
    let (moved, back, len) = rows_last(&src, d)?;
    let dense = moved.to_dense();
    fn running<T: Copy + std::ops::Add<Output = T>>(v: &[T], len: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(v.len());
        for row in v.chunks(len.max(1)) {
            let mut acc: Option<T> = None;
            for &x in row {
                let next = acc.map_or(x, |a| a + x);
                acc = Some(next);
                out.push(next);
            }
        }
        out
    }
    let data = match &dense {
        CpuStorage::I64(v) => CpuStorage::I64(running(v, len)),
        CpuStorage::F32(v) => CpuStorage::F32(running(v, len)),
        CpuStorage::F64(v) => CpuStorage::F64(running(v, len)),
        CpuStorage::Bool(_) => unreachable!("bools are summed as int64"),
    };
    let out = restore(data, &moved, &back)?;
    struct CumsumBackward(i64);
    impl BackwardFn for CumsumBackward {
        fn name(&self) -> &'static str {
            "CumsumBackward0"
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            let rev = super::view::flip(grad, &[self.0])?;
            Ok(smallvec::smallvec![Some(super::view::flip(&cumsum(&rev, self.0, None)?, &[self.0])?)])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    record(out, &[&src], |_| CumsumBackward(d as i64))
}

/// `x.sort(dim, descending, stable)`: sorted values (differentiable, via
/// `gather`) and the int64 indices they came from. NaN sorts last (first
/// when descending), as in PyTorch; equal values keep their order.
pub fn sort(x: &Tensor, dim: i64, descending: bool) -> Result<(Tensor, Tensor)> {
    if x.ndim() == 0 {
        return Ok((x.clone(), Tensor::from_vec(vec![0i64], &[])));
    }
    let d = normalize_dim(dim, x.ndim())?;
    let (moved, back, len) = rows_last(x, d)?;
    let dense = moved.to_dense();
    let mut idx: Vec<i64> = Vec::with_capacity(dense.len());
    crate::with_dtype!(dense.dtype(), T => {
        let v = T::slice(&dense);
        #[allow(clippy::eq_op)]
        let nan = |a: T| a != a;
        for row in v.chunks(len.max(1)) {
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_by(|&i, &j| {
                let (a, b) = (row[i], row[j]);
                let key = match (nan(a), nan(b)) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
                };
                if descending { key.reverse() } else { key }
            });
            idx.extend(order.into_iter().map(|i| i as i64));
        }
    });
    let indices = restore(CpuStorage::I64(idx), &moved, &back)?;
    Ok((gather(x, d as i64, &indices)?, indices))
}

/// `x.topk(k, dim, largest, sorted)`: the `k` largest (or smallest) values
/// along `dim` and their indices, in sorted order.
pub fn topk(x: &Tensor, k: i64, dim: i64, largest: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, x.ndim().max(1))?;
    let size = if x.ndim() == 0 { 1 } else { x.shape()[d] as i64 };
    if k < 0 || k > size {
        bail!(Runtime, "selected index k out of range");
    }
    let (_, indices) = sort(x, d as i64, largest)?;
    let picked = if x.ndim() == 0 { indices } else { contiguous(&super::view::narrow(&indices, d as i64, 0, k)?)?.detach() };
    Ok((gather(x, d as i64, &picked)?, picked))
}

/// `all`/`any` over `dims` (all when `None`): bool, nonzero is true.
pub fn all_any(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, all: bool) -> Result<Tensor> {
    let truth = to_dtype(&x.detach(), DType::Bool)?;
    let counted = super::sum(&to_dtype(&truth, DType::I64)?, dims, keepdim, None)?;
    let n = match dims.filter(|d| !d.is_empty()) {
        None => x.numel() as i64,
        Some(ds) => ds.iter().map(|&d| normalize_dim(d, x.ndim().max(1)).map(|d| x.shape().get(d).copied().unwrap_or(1) as i64)).product::<Result<i64>>()?,
    };
    let out = if all { super::compare::eq(&counted, crate::ops::Arg::Scalar(crate::dtype::Scalar::Int(n)))? } else { super::compare::gt(&counted, crate::ops::Arg::Scalar(crate::dtype::Scalar::Int(0)))? };
    Ok(out)
}

/// `count_nonzero(dim)`: int64 counts of nonzero elements.
pub fn count_nonzero(x: &Tensor, dims: Option<&[i64]>) -> Result<Tensor> {
    let truth = to_dtype(&to_dtype(&x.detach(), DType::Bool)?, DType::I64)?;
    super::sum(&truth, dims, false, None)
}
