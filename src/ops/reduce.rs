//! Reductions: sum, mean, vector norm, and `sum_to` (the gradient of
//! broadcasting).

use smallvec::SmallVec;

use super::{binary, compare, masked::masked_fill, to_dtype, unary, view, Arg};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::bail;
use crate::cpu_backend;
use crate::dtype::DType;
use crate::error::Result;
use crate::layout::{normalize_dim, numel, Shape};
use crate::tensor::Tensor;

type Dims = SmallVec<[usize; 4]>;

/// Resolves a `dim=` argument: `None` (or an empty list) reduces everything.
fn resolve_dims(dims: Option<&[i64]>, ndim: usize) -> Result<Option<Dims>> {
    let Some(dims) = dims.filter(|d| !d.is_empty()) else { return Ok(None) };
    let mut out = Dims::new();
    for &d in dims {
        let d = normalize_dim(d, ndim)?;
        if out.contains(&d) {
            bail!(Runtime, "dim {d} appears multiple times in the list of dims");
        }
        out.push(d);
    }
    out.sort_unstable();
    // A 0-d tensor accepts dim 0 / -1 and has nothing to reduce.
    if ndim == 0 {
        out.clear();
    }
    Ok(Some(out))
}

/// Shape of a reduction's result.
fn reduced_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Shape {
    (0..shape.len())
        .filter_map(|d| match (dims.contains(&d), keepdim) {
            (false, _) => Some(shape[d]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// Sum without recording, in the sum's dtype.
fn raw_sum(x: &Tensor, dims: Option<&Dims>, keepdim: bool) -> Tensor {
    match dims {
        None => Tensor::from_cpu(x.with_cpu(cpu_backend::sum_all), &[]),
        Some(dims) => {
            let data = x.with_cpu(|d, l| cpu_backend::sum_dims(d, l, dims));
            Tensor::from_cpu(data, &reduced_shape(x.shape(), dims, keepdim))
        }
    }
}

/// Spreads a reduction's gradient back over the input's shape.
fn expand_back(g: &Tensor, shape: &[usize], dims: Option<&Dims>, keepdim: bool) -> Result<Tensor> {
    let mut g = g.clone();
    if let (Some(dims), false) = (dims, keepdim) {
        for &d in dims.iter() {
            g = view::unsqueeze(&g, d as i64)?;
        }
    }
    view::expand_to(&g, shape)
}

struct SumBackward {
    name: &'static str,
    shape: Shape,
    dims: Option<Dims>,
    keepdim: bool,
    /// 1 for sum, 1/n for mean.
    scale: f64,
}

impl BackwardFn for SumBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        let g = expand_back(grad, &self.shape, self.dims.as_ref(), self.keepdim)?;
        let g = if self.scale == 1.0 { g } else { binary::mul(&g, Arg::from(self.scale))? };
        Ok(smallvec::smallvec![Some(g)])
    }
    fn saves_tensors(&self) -> bool {
        false
    }
}

/// `x.sum(dim, keepdim, dtype)`.
pub fn sum(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    let src = match dtype {
        Some(dt) => to_dtype(x, dt)?,
        None => x.clone(),
    };
    let dims = resolve_dims(dims, src.ndim())?;
    let out = raw_sum(&src, dims.as_ref(), keepdim);
    let name = if dims.is_some() { "SumBackward1" } else { "SumBackward0" };
    let shape = src.shape_vec();
    record(out, &[&src], |_| SumBackward { name, shape, dims, keepdim, scale: 1.0 })
}

/// `x.mean(dim, keepdim, dtype)`.
pub fn mean(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    let src = match dtype {
        Some(dt) => to_dtype(x, dt)?,
        None => x.clone(),
    };
    if !src.dtype().is_float() {
        bail!(
            NotImplemented,
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: {}",
            src.dtype().scalar_name()
        );
    }
    let dims = resolve_dims(dims, src.ndim())?;
    let count = match &dims {
        None => src.numel(),
        Some(d) => d.iter().map(|&d| src.shape()[d]).product(),
    };
    let scale = 1.0 / count as f64;
    let total = raw_sum(&src, dims.as_ref(), keepdim);
    let out = Tensor::from_cpu(
        binary::mul(&total.detach(), Arg::from(scale))?.to_dense(),
        total.shape(),
    );
    let name = if dims.is_some() { "MeanBackward1" } else { "MeanBackward0" };
    let shape = src.shape_vec();
    record(out, &[&src], |_| SumBackward { name, shape, dims, keepdim, scale })
}

struct NormBackward {
    x: SavedTensor,
    result: SavedTensor,
    p: f64,
    dims: Option<Dims>,
    keepdim: bool,
}

impl BackwardFn for NormBackward {
    fn name(&self) -> &'static str {
        "LinalgVectorNormBackward0"
    }
    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        let x = &self.x.get()?;
        // The saved result (linked to this node under create_graph), shaped
        // to broadcast against `x`.
        let n = view::reshape_to(&self.result.get()?, &keep_shape(x.shape(), self.dims.as_ref()))?;
        let g = expand_back(grad, &keep_shape(x.shape(), self.dims.as_ref()), self.dims.as_ref(), self.keepdim)?;
        let local = if self.p == 1.0 {
            unary::sign(x)?
        } else {
            // x |x|^(p-2) / norm^(p-1); zero where the norm is zero, as in PyTorch.
            let scale = binary::div(&g, &binary::pow(&n, Arg::from(self.p - 1.0))?)?;
            let scale = masked_fill(&scale, &compare::eq(&n, Arg::from(0.0))?, 0.0)?;
            let local = if self.p == 2.0 { x.clone() } else { binary::mul(x, &binary::pow(&unary::abs(x)?, Arg::from(self.p - 2.0))?)? };
            return Ok(smallvec::smallvec![Some(binary::mul(&local, &scale)?)]);
        };
        Ok(smallvec::smallvec![Some(binary::mul(&g, &local)?)])
    }
}

fn keep_shape(shape: &[usize], dims: Option<&Dims>) -> Shape {
    match dims {
        None => shape.iter().map(|_| 1).collect(),
        Some(d) => reduced_shape(shape, d, true),
    }
}

/// `torch.linalg.vector_norm(x, p, dim, keepdim)` for finite `p > 0`.
pub fn norm(x: &Tensor, p: f64, dims: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
    if !x.dtype().is_float() {
        bail!(
            NotImplemented,
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got {}",
            x.dtype().scalar_name()
        );
    }
    if !(p.is_finite() && p > 0.0) {
        bail!(NotImplemented, "norm with p={p} is not supported yet (finite p > 0 is)");
    }
    let resolved = resolve_dims(dims, x.ndim())?;
    let out = {
        let _no_grad = crate::autograd::grad_mode::GradModeGuard::new(false);
        let a = unary::abs(x)?;
        let powered = if p == 1.0 { a } else if p == 2.0 { binary::mul(&a, &a)? } else { binary::pow(&a, Arg::from(p))? };
        let dims_i: Option<Vec<i64>> = resolved.as_ref().map(|d| d.iter().map(|&d| d as i64).collect());
        let s = sum(&powered, dims_i.as_deref(), keepdim, None)?;
        let r = if p == 1.0 { s } else if p == 2.0 { unary::sqrt(&s)? } else { binary::pow(&s, Arg::from(1.0 / p))? };
        r.detach()
    };
    let result = out.clone();
    record(out, &[x], |_| NormBackward {
        x: SavedTensor::new(x),
        result: SavedTensor::output(&result, 0, "LinalgVectorNormBackward0"),
        p,
        dims: resolved,
        keepdim,
    })
}

/// Sums `g` down to `shape` (which `g`'s shape broadcasts from).
pub fn sum_to(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let lead = g.ndim() - shape.len();
    let dims: Vec<i64> = (0..g.ndim())
        .filter(|&d| d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1))
        .map(|d| d as i64)
        .collect();
    let summed = if dims.is_empty() { g.clone() } else { sum(g, Some(&dims), true, None)? };
    if summed.shape() == shape || numel(shape) != summed.numel() {
        return Ok(summed);
    }
    view::reshape_to(&summed, shape)
}

/// Whether any element is NaN (anomaly mode's check on gradients).
pub fn has_nan(x: &Tensor) -> bool {
    x.with_cpu(|d, l| match d {
        cpu_backend::CpuStorage::F32(v) => l.offsets().any(|o| v[o].is_nan()),
        cpu_backend::CpuStorage::F64(v) => l.offsets().any(|o| v[o].is_nan()),
        _ => false,
    })
}
