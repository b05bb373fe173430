//! Ops that work along one dimension row by row: `cumsum`, `cumprod`,
//! `cummax`/`cummin`, `logcumsumexp`, `sort` (and `argsort`, `topk` through
//! it), `all`/`any`/`count_nonzero`.

use super::gather::gather_as;
use super::view::permute;
use super::{contiguous, to_dtype};
use super::binary::{AddKernel, MulKernel};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::bail;
use crate::cpu_backend::{self, Arith, CpuStorage};
use super::select::where_;
use super::Arg;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::{normalize_dim, Layout};
use crate::op_traits::BinaryOpT;
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

/// The dtype of a running sum or product: `dtype` if given, else int64 for
/// integers and bools (as PyTorch), else the input's.
fn scan_source(x: &Tensor, dtype: Option<DType>, op: &str) -> Result<Tensor> {
    if dtype == Some(DType::Bool) {
        bail!(NotImplemented, "\"{op}_cpu\" not implemented for 'Bool'");
    }
    match dtype {
        Some(d) => to_dtype(x, d),
        None if !x.dtype().is_float() => to_dtype(x, DType::I64),
        None => Ok(x.clone()),
    }
}

/// Running `op` along `dim` of `src`, row by row, in the compute dtype.
fn running<O: BinaryOpT>(op: O, src: &Tensor, dim: usize) -> Result<Tensor> {
    let (moved, back, len) = rows_last(src, dim)?;
    let dense = moved.to_dense();
    // From the op's identity, so a leading -0.0 sums to +0.0 as in PyTorch.
    fn rows<T: Arith, O: BinaryOpT>(op: O, v: &[T], len: usize, identity: T) -> Vec<T> {
        let mut out = Vec::with_capacity(v.len());
        for row in v.chunks(len.max(1)) {
            let mut acc = identity;
            for &x in row {
                acc = op.apply(acc, x);
                out.push(acc);
            }
        }
        out
    }
    let identity = if O::KERNEL == "mul" { 1.0 } else { 0.0 };
    let data = cpu_backend::in_compute_dtype(&dense, &Layout::contiguous(&[dense.len()]), |wide, _| match wide {
        CpuStorage::I64(v) => CpuStorage::I64(rows(op, v, len, identity as i64).into()),
        CpuStorage::F32(v) => CpuStorage::F32(rows(op, v, len, identity as f32).into()),
        CpuStorage::F64(v) => CpuStorage::F64(rows(op, v, len, identity).into()),
        other => unreachable!("{:?} is not a compute dtype", other.dtype()),
    });
    restore(data, &moved, &back)
}

/// The running op along `d`; a 0-d tensor's is a copy of it (a new tensor,
/// as PyTorch's, never the input itself).
fn running_or_copy<O: BinaryOpT>(op: O, src: &Tensor, d: usize) -> Result<Tensor> {
    if src.ndim() == 0 {
        return Ok(Tensor::from_cpu(src.to_dense(), &[]));
    }
    running(op, src, d)
}

/// `x.cumsum(dim, dtype=None)`: running sums along `dim` (integers and bools
/// sum in int64); its gradient is the reversed running sum of the gradient.
pub fn cumsum(x: &Tensor, dim: i64, dtype: Option<DType>) -> Result<Tensor> {
    let src = scan_source(x, dtype, "cumsum")?;
    let d = normalize_dim(dim, src.ndim())?;
    let out = running_or_copy(AddKernel, &src, d)?;
    struct CumsumBackward(i64);
    impl BackwardFn for CumsumBackward {
        fn name(&self) -> &'static str {
            "CumsumBackward0"
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            let g = if grad.ndim() == 0 { grad.clone() } else { reverse_cumsum(grad, self.0)? };
            Ok(smallvec::smallvec![Some(g)])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    record(out, &[&src], |_| CumsumBackward(d as i64))
}

/// `sum_{j >= i} g_j` along `dim`.
fn reverse_cumsum(g: &Tensor, dim: i64) -> Result<Tensor> {
    super::view::flip(&cumsum(&super::view::flip(g, &[dim])?, dim, None)?, &[dim])
}

/// `x.cumprod(dim, dtype=None)`: running products along `dim` (integers and
/// bools multiply in int64).
///
/// Backward: without zeros in a row, `grad_k = (sum_{j>=k} g_j out_j) / x_k`
/// (differentiable again). Rows holding a zero use the exact division-free
/// form `grad_k = (prod_{i<k} x_i) * S_k` with `S_k = g_k + x_{k+1} S_{k+1}`,
/// which is PyTorch's `cumprod_backward` result (FunctionsManual.cpp) but,
/// computed by a kernel, has no graph for a double backward.
pub fn cumprod(x: &Tensor, dim: i64, dtype: Option<DType>) -> Result<Tensor> {
    let src = scan_source(x, dtype, "cumprod")?;
    let d = normalize_dim(dim, src.ndim())?;
    let out = running_or_copy(MulKernel, &src, d)?;
    let saved = out.clone();
    struct CumprodBackward {
        input: SavedTensor,
        result: SavedTensor,
        dim: usize,
    }
    impl BackwardFn for CumprodBackward {
        fn name(&self) -> &'static str {
            "CumprodBackward0"
        }
        fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
            vec![("self", &self.input), ("result", &self.result)]
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            let (x, out) = (self.input.get()?, self.result.get()?);
            let g = if x.ndim() == 0 {
                grad.clone()
            } else if !has_zero(&x) {
                let weighted = super::mul(grad, &out)?;
                super::div(&reverse_cumsum(&weighted, self.dim as i64)?, &x)?
            } else {
                cumprod_grad_with_zeros(&x.detach(), &grad.detach(), self.dim)?
            };
            Ok(smallvec::smallvec![Some(g)])
        }
    }
    record(out, &[&src], |_| CumprodBackward {
        input: SavedTensor::new(&src),
        result: SavedTensor::output(&saved, 0, "CumprodBackward0"),
        dim: d,
    })
}

/// How many elements of `x` satisfy `f` (seen as f64).
pub(crate) fn count_elements(x: &Tensor, f: impl Fn(f64) -> bool) -> usize {
    let d = x.to_dense();
    crate::with_dtype!(d.dtype(), T => T::slice(&d).iter().filter(|v| f(v.to_f64())).count())
}

/// Whether any element of `x` is zero.
pub(crate) fn has_zero(x: &Tensor) -> bool {
    count_elements(x, |v| v == 0.0) > 0
}

fn cumprod_grad_with_zeros(x: &Tensor, g: &Tensor, dim: usize) -> Result<Tensor> {
    let (moved, back, len) = rows_last(x, dim)?;
    let (gm, _, _) = rows_last(&to_dtype(g, x.dtype())?, dim)?;
    fn rows<T: Arith>(x: &[T], g: &[T], len: usize) -> Vec<T> {
        let mut out = vec![T::default(); x.len()];
        for ((xr, gr), dst) in x.chunks(len.max(1)).zip(g.chunks(len.max(1))).zip(out.chunks_mut(len.max(1))) {
            let n = xr.len();
            let mut s = T::default();
            for k in (0..n).rev() {
                s = if k + 1 < n { gr[k] + xr[k + 1] * s } else { gr[k] };
                dst[k] = s;
            }
            let mut left = T::from_float(1.0);
            for k in 0..n {
                dst[k] = left * dst[k];
                left = left * xr[k];
            }
        }
        out
    }
    let (xd, gd) = (moved.to_dense(), gm.to_dense());
    let data = match (&xd, &gd) {
        (CpuStorage::F32(x), CpuStorage::F32(g)) => CpuStorage::F32(rows(x, g, len).into()),
        (CpuStorage::F64(x), CpuStorage::F64(g)) => CpuStorage::F64(rows(x, g, len).into()),
        _ => {
            let wide = |t: &Tensor| to_dtype(t, crate::dtype::DType::F32);
            let back_dtype = x.dtype();
            let g32 = cumprod_grad_with_zeros(&wide(x)?, &wide(g)?, dim)?;
            return to_dtype(&g32, back_dtype);
        }
    };
    restore(data, &moved, &back)
}

/// `x.cummax(dim)` / `x.cummin(dim)`: the running maximum (minimum) along
/// `dim` and the int64 index it came from. As PyTorch, a later equal value
/// takes over the index and NaN, once met, stays (at the latest NaN's
/// index). The values are differentiable: the gradient goes to the indices.
pub fn cummax(x: &Tensor, dim: i64, is_max: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, x.ndim())?;
    let node = if is_max { "CummaxBackward0" } else { "CumminBackward0" };
    if x.ndim() == 0 {
        return Ok((gather_as(x, 0, &Tensor::from_vec(vec![0i64], &[]), node)?, Tensor::from_vec(vec![0i64], &[])));
    }
    let (moved, back, len) = rows_last(x, d)?;
    let dense = moved.to_dense();
    let mut idx: Vec<i64> = Vec::with_capacity(dense.len());
    crate::with_dtype!(dense.dtype(), T => {
        #[allow(clippy::eq_op)]
        let nan = |a: T| a != a;
        for row in T::slice(&dense).chunks(len.max(1)) {
            let mut best = 0usize;
            for (k, &v) in row.iter().enumerate() {
                let wins = if is_max { v >= row[best] } else { v <= row[best] };
                if nan(v) || (!nan(row[best]) && wins) {
                    best = k;
                }
                idx.push(best as i64);
            }
        }
    });
    let indices = restore(CpuStorage::I64(idx.into()), &moved, &back)?;
    Ok((gather_as(x, d as i64, &indices, node)?, indices))
}

/// `x.logcumsumexp(dim)`: `log(sum_{j<=i} exp(x_j))` along `dim`, as a running
/// log-add-exp (stable for large and -inf inputs; PyTorch's
/// `_log_add_exp_helper`). Floating dtypes only (halves in float32).
///
/// Backward (PyTorch's `logcumsumexp_backward`, after TensorFlow's): with
/// `r = result`, the positive and negative parts of the gradient are taken
/// in log space, `exp(revlogcumsumexp(log|g±| - r) + x)`, and subtracted.
pub fn logcumsumexp(x: &Tensor, dim: i64) -> Result<Tensor> {
    let d = normalize_dim(dim, x.ndim())?;
    if !x.dtype().is_float() {
        bail!(NotImplemented, "\"logcumsumexp_out_cpu\" not implemented for '{}'", x.dtype().scalar_name());
    }
    let out = if x.ndim() == 0 {
        Tensor::from_cpu(x.to_dense(), x.shape())
    } else {
        let (moved, back, len) = rows_last(x, d)?;
        let dense = moved.to_dense();
        fn rows<T: num_traits::Float>(v: &[T], len: usize) -> Vec<T> {
            let mut out = Vec::with_capacity(v.len());
            for row in v.chunks(len.max(1)) {
                let mut acc = T::neg_infinity();
                for &x in row {
                    let (lo, hi) = if x < acc { (x, acc) } else { (acc, x) };
                    acc = if lo != hi || lo.is_finite() { hi + (lo - hi).exp().ln_1p() } else { x };
                    out.push(acc);
                }
            }
            out
        }
        let data = cpu_backend::in_compute_dtype(&dense, &Layout::contiguous(&[dense.len()]), |wide, _| match wide {
            CpuStorage::F32(v) => CpuStorage::F32(rows(v, len).into()),
            CpuStorage::F64(v) => CpuStorage::F64(rows(v, len).into()),
            other => unreachable!("{:?} is not a float compute dtype", other.dtype()),
        });
        restore(data, &moved, &back)?
    };
    let saved = out.clone();
    struct LogcumsumexpBackward {
        input: SavedTensor,
        result: SavedTensor,
        dim: i64,
    }
    impl BackwardFn for LogcumsumexpBackward {
        fn name(&self) -> &'static str {
            "LogcumsumexpBackward0"
        }
        fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
            vec![("self", &self.input), ("result", &self.result)]
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            let (x, result, dim) = (self.input.get()?, self.result.get()?, self.dim);
            if x.ndim() == 0 {
                return Ok(smallvec::smallvec![Some(grad.clone())]);
            }
            // The lowest finite value stands for log(0), as in PyTorch.
            let lowest = Scalar::Float(match grad.dtype() {
                DType::F16 => half::f16::MIN.to_f64(),
                DType::BF16 => half::bf16::MIN.to_f64(),
                DType::F32 => f32::MIN as f64,
                _ => f64::MIN,
            });
            let log_abs = super::unary::log(&super::unary::abs(grad)?)?;
            let zero = Arg::Scalar(Scalar::Int(0));
            let part = |sign: Tensor| -> Result<Tensor> {
                let log_part = where_(&sign, Arg::Tensor(&log_abs), Arg::Scalar(lowest))?;
                let reversed = super::view::flip(&logcumsumexp(&super::view::flip(&super::sub(&log_part, &result)?, &[dim])?, dim)?, &[dim])?;
                super::unary::exp(&super::add(&reversed, &x)?)
            };
            let positive = part(super::compare::gt(grad, zero)?)?;
            let negative = part(super::compare::lt(grad, zero)?)?;
            Ok(smallvec::smallvec![Some(super::sub(&positive, &negative)?)])
        }
    }
    record(out, &[x], |_| LogcumsumexpBackward {
        input: SavedTensor::new(x),
        result: SavedTensor::output(&saved, 0, "LogcumsumexpBackward0"),
        dim: d as i64,
    })
}

/// `x.sort(dim, descending, stable)`: sorted values (differentiable, via
/// `gather`) and the int64 indices they came from. NaN sorts last (first
/// when descending), as in PyTorch; equal values keep their order.
pub fn sort(x: &Tensor, dim: i64, descending: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, x.ndim())?;
    if x.ndim() == 0 {
        return Ok((x.clone(), Tensor::from_vec(vec![0i64], &[])));
    }
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
    let indices = restore(CpuStorage::I64(idx.into()), &moved, &back)?;
    Ok((gather_as(x, d as i64, &indices, "SortBackward0")?, indices))
}

/// `x.topk(k, dim, largest, sorted)`: the `k` largest (or smallest) values
/// along `dim` and their indices, in sorted order.
pub fn topk(x: &Tensor, k: i64, dim: i64, largest: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, x.ndim().max(1))?;
    let size = if x.ndim() == 0 { 1 } else { x.shape()[d] as i64 };
    if k < 0 || k > size {
        bail!(Runtime, "selected index k out of range");
    }
    // PyTorch's CPU kernel has no bool version (even for k = 0).
    if x.dtype() == DType::Bool {
        bail!(NotImplemented, "topk does not support bool dtypes on CPU");
    }
    let (_, indices) = sort(x, d as i64, largest)?;
    let picked = if x.ndim() == 0 { indices } else { contiguous(&super::view::narrow(&indices, d as i64, 0, k)?)?.detach() };
    Ok((gather_as(x, d as i64, &picked, "TopkBackward0")?, picked))
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
