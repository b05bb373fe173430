//! Reductions: sum, mean, prod, vector norm, amax/amin, var, softmax,
//! logsumexp, and `sum_to` (the gradient of broadcasting).

use smallvec::SmallVec;

use super::scan::count_elements;
use super::{binary, compare, masked::masked_fill, to_dtype, unary, view, Arg};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::bail;
use crate::cpu_backend;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::{normalize_dim, numel, Layout, Shape};
use crate::tensor::Tensor;

type Dims = SmallVec<[usize; 4]>;

/// Resolves a `dim=` argument: `None` (or an empty list) reduces everything.
fn resolve_dims(dims: Option<&[i64]>, ndim: usize) -> Result<Option<Dims>> {
    let Some(dims) = dims.filter(|d| !d.is_empty()) else { return Ok(None) };
    resolve_given_dims(dims, ndim).map(Some)
}

/// `resolve_dims` for reductions taking `keepdim`: with it, reducing
/// everything keeps every dim as size 1 (PyTorch's `x.sum(None, True)`).
fn resolve_dims_keep(dims: Option<&[i64]>, ndim: usize, keepdim: bool) -> Result<Option<Dims>> {
    match resolve_dims(dims, ndim)? {
        None if keepdim && ndim > 0 => Ok(Some((0..ndim).collect())),
        other => Ok(other),
    }
}

fn resolve_given_dims(dims: &[i64], ndim: usize) -> Result<Dims> {
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
    Ok(out)
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
    let dims = resolve_dims_keep(dims, src.ndim(), keepdim)?;
    let mut out = raw_sum(&src, dims.as_ref(), keepdim);
    // An asked-for narrow integer or bool dtype is the result's (integers
    // otherwise sum to int64).
    if let Some(dt) = dtype.filter(|&d| d != out.dtype()) {
        out = to_dtype(&out, dt)?;
    }
    let name = if dims.is_some() { "SumBackward1" } else { "SumBackward0" };
    let shape = src.shape_vec();
    record(out, &[&src], |_| SumBackward { name, shape, dims, keepdim, scale: 1.0 })
}

/// `x.mean(dim, keepdim, dtype)`.
pub fn mean(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    if dtype.is_none() {
        if let Some(r) = super::half_via_float32(x, |w| mean(w, dims, keepdim, None)) {
            return r;
        }
    }
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
    let dims = resolve_dims_keep(dims, src.ndim(), keepdim)?;
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
            // sgn(x) |x|^(p-1) / norm^(p-1) (PyTorch's norm_backward): zero
            // where the norm is zero, and for p < 1 where x is zero.
            let scale = binary::div(&g, &binary::pow(&n, Arg::from(self.p - 1.0))?)?;
            let scale = masked_fill(&scale, &compare::eq(&n, Arg::from(0.0))?, 0.0)?;
            let local = if self.p == 2.0 {
                x.clone()
            } else {
                let powered = binary::pow(&unary::abs(x)?, Arg::from(self.p - 1.0))?;
                let powered = if self.p < 1.0 { masked_fill(&powered, &compare::eq(x, Arg::from(0.0))?, 0.0)? } else { powered };
                binary::mul(&unary::sign(x)?, &powered)?
            };
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
    if let Some(r) = super::half_via_float32(x, |w| norm(w, p, dims, keepdim)) {
        return r;
    }
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
    let resolved = resolve_dims_keep(dims, x.ndim(), keepdim)?;
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
    x.with_cpu(|d, l| crate::with_dtype!(d.dtype(), T => {
        let v = T::slice(d);
        l.offsets().any(|o| v[o].to_f64().is_nan())
    }))
}

/// `amax`/`amin` over `dims` (all when `None`), and the whole-tensor
/// `max()`/`min()` (`name` MaxBackward1/MinBackward1): NaN propagates; the
/// gradient is shared evenly among the elements equal to the result, as
/// PyTorch does.
pub fn amax(x: &Tensor, dims: Option<&[i64]>, keepdim: bool, is_max: bool, name: &'static str) -> Result<Tensor> {
    if x.dtype() == DType::Bool {
        // Bools order as 0 < 1; they carry no gradient.
        return to_dtype(&amax(&to_dtype(x, DType::U8)?, dims, keepdim, is_max, name)?, DType::Bool);
    }
    let resolved = resolve_dims_keep(dims, x.ndim(), keepdim)?;
    let all: Dims = (0..x.ndim()).collect();
    let reduced: &[usize] = resolved.as_deref().unwrap_or(&all);
    let op = if name.starts_with("Max") || name.starts_with("Min") { if is_max { "max" } else { "min" } } else if is_max { "amax" } else { "amin" };
    if x.numel() == 0 {
        let given = dims.filter(|d| !d.is_empty()).and(resolved.as_deref());
        if let Some(&d) = given.and_then(|g| g.iter().find(|&&d| x.shape()[d] == 0)) {
            bail!(Index, "{op}(): Expected reduction dim {d} to have non-zero size.");
        }
        if given.is_none() && x.ndim() > 0 {
            bail!(
                Runtime,
                "{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument."
            );
        }
    }
    let (dense, k) = reduction_rows(x, reduced)?;
    let rows = if k == 0 { 0 } else { dense.len() / k };
    let data = crate::with_dtype!(dense.dtype(), T => {
        let v = T::slice(&dense);
        #[allow(clippy::eq_op)]
        let nan = |a: T| a != a;
        T::wrap((0..rows).map(|r| {
            v[r * k..(r + 1) * k].iter().copied().reduce(|a, b| if nan(a) { a } else if nan(b) || (if is_max { b > a } else { b < a }) { b } else { a }).unwrap_or_default()
        }).collect())
    });
    let out_shape = reduced_shape(x.shape(), reduced, keepdim);
    let out = Tensor::from_cpu(data, &out_shape);
    struct AmaxBackward {
        name: &'static str,
        x: SavedTensor,
        result: SavedTensor,
        dims: Dims,
        keepdim: bool,
    }
    impl BackwardFn for AmaxBackward {
        fn name(&self) -> &'static str {
            self.name
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            let x = self.x.get()?;
            let dims = Some(&self.dims);
            let r = expand_back(&self.result.get()?, x.shape(), dims, self.keepdim)?;
            let g = expand_back(grad, x.shape(), dims, self.keepdim)?;
            // The elements equal to the result share its gradient. A NaN
            // result of max()/min() is shared by the NaNs, as in PyTorch
            // (amax/amin's is NaN everywhere, as there).
            let equal = compare::eq(&x, &r)?;
            let hit = if self.name.starts_with("Amax") || self.name.starts_with("Amin") {
                equal
            } else {
                let nan = |t: &Tensor| compare::ne(t, t);
                super::logical::or(&equal, &super::logical::and(&nan(&x)?, &nan(&r)?)?)?
            };
            let hit = to_dtype(&hit, g.dtype())?;
            let d: Vec<i64> = self.dims.iter().map(|&d| d as i64).collect();
            let count = expand_back(&sum(&hit, Some(&d), true, None)?, x.shape(), None, true)?;
            Ok(smallvec::smallvec![Some(binary::div(&binary::mul(&g, &hit)?, &count)?)])
        }
    }
    let result = out.clone();
    record(out, &[x], |_| AmaxBackward {
        name,
        x: SavedTensor::new(x),
        result: SavedTensor::output(&result, 0, name),
        dims: reduced.iter().copied().collect(),
        keepdim,
    })
}

/// `x`'s elements with the `reduced` dims moved last, densely, and the
/// number `k` of reduced elements: each run of `k` is one output element.
fn reduction_rows(x: &Tensor, reduced: &[usize]) -> Result<(cpu_backend::CpuStorage, usize)> {
    let kept: Vec<usize> = (0..x.ndim()).filter(|d| !reduced.contains(d)).collect();
    let order: Vec<i64> = kept.iter().chain(reduced.iter()).map(|&d| d as i64).collect();
    let moved = if x.ndim() == 0 { x.detach() } else { view::permute(&x.detach(), &order)? };
    Ok((moved.to_dense(), reduced.iter().map(|&d| x.shape()[d]).product()))
}

/// `x.prod()` / `x.prod(dim, keepdim, dtype)`: the product of all elements
/// or along `dim` (integers and bools multiply in int64, as in PyTorch; an
/// empty product is 1).
///
/// Backward (PyTorch's `prod_backward`, FunctionsManual.cpp): without zeros,
/// `grad * out / x`; where a reduced slice holds one zero, that element gets
/// `grad * prod(other elements)` and the rest 0; with two or more zeros all
/// get 0. Built from differentiable ops, so double backward works.
pub fn prod(x: &Tensor, dim: Option<i64>, keepdim: bool, dtype: Option<DType>) -> Result<Tensor> {
    if dtype == Some(DType::Bool) {
        // A product of bools is their `all`.
        return to_dtype(&prod(&to_dtype(x, DType::Bool)?, dim, keepdim, Some(DType::I64))?, DType::Bool);
    }
    let src = match dtype {
        Some(d) => to_dtype(x, d)?,
        None if !x.dtype().is_float() => to_dtype(x, DType::I64)?,
        None => x.clone(),
    };
    let dims = resolve_dims(dim.as_ref().map(std::slice::from_ref), src.ndim())?;
    let all: Dims = (0..src.ndim()).collect();
    let reduced: &[usize] = dims.as_deref().unwrap_or(&all);
    let (dense, k) = reduction_rows(&src, reduced)?;
    let rows = numel(&reduced_shape(src.shape(), reduced, false));
    fn products<T: cpu_backend::Arith>(v: &[T], rows: usize, k: usize) -> Vec<T> {
        (0..rows).map(|r| v[r * k..(r + 1) * k].iter().fold(T::from_float(1.0), |a, &b| a * b)).collect()
    }
    let data = cpu_backend::in_compute_dtype(&dense, &Layout::contiguous(&[dense.len()]), |wide, _| match wide {
        cpu_backend::CpuStorage::I64(v) => cpu_backend::CpuStorage::I64(products(v, rows, k).into()),
        cpu_backend::CpuStorage::F32(v) => cpu_backend::CpuStorage::F32(products(v, rows, k).into()),
        cpu_backend::CpuStorage::F64(v) => cpu_backend::CpuStorage::F64(products(v, rows, k).into()),
        other => unreachable!("{:?} is not a compute dtype", other.dtype()),
    });
    let out = Tensor::from_cpu(data, &reduced_shape(src.shape(), reduced, keepdim));
    struct ProdBackward {
        name: &'static str,
        x: SavedTensor,
        result: SavedTensor,
        dim: Option<i64>,
        dims: Option<Dims>,
        keepdim: bool,
    }
    impl BackwardFn for ProdBackward {
        fn name(&self) -> &'static str {
            self.name
        }
        fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
            vec![("self", &self.x), ("result", &self.result)]
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            let x = self.x.get()?;
            if x.ndim() == 0 {
                self.result.get()?; // checks the saved result's version
                return Ok(smallvec::smallvec![Some(grad.clone())]);
            }
            let spread = |t: &Tensor| expand_back(t, x.shape(), self.dims.as_ref(), self.keepdim);
            let (g, out) = (spread(grad)?, spread(&self.result.get()?)?);
            if !super::scan::has_zero(&x) {
                return Ok(smallvec::smallvec![Some(binary::div(&binary::mul(&g, &out)?, &x)?)]);
            }
            // With zeros: the product of the other elements directly, as
            // exclusive running products from both sides (no division, and
            // differentiable again, as PyTorch's prod_safe_zeros_backward).
            let others = match self.dim {
                Some(d) => products_of_others(&x, d)?,
                // The whole product with two or more zeros and an inf or NaN:
                // every gradient is 0, as PyTorch's shortcut gives (the
                // exclusive products would make 0 * inf = NaN). Without
                // non-finite values the exclusive products are those zeros
                // too, and stay differentiable.
                None if count_elements(&x, |v| v == 0.0) > 1 && count_elements(&x, |v| !v.is_finite()) > 0 => {
                    return Ok(smallvec::smallvec![Some(super::factory::zeros_like(&x))])
                }
                None => view::reshape_to(&products_of_others(&view::reshape_to(&x, &[x.numel()])?, 0)?, x.shape())?,
            };
            Ok(smallvec::smallvec![Some(binary::mul(&g, &others)?)])
        }
    }
    let name = if dim.is_some() { "ProdBackward1" } else { "ProdBackward0" };
    let result = out.clone();
    record(out, &[&src], |_| ProdBackward {
        name,
        x: SavedTensor::new(&src),
        result: SavedTensor::output(&result, 0, name),
        dim,
        dims,
        keepdim,
    })
}

/// `prod_{i != k} x_i` along `dim` for every `k`: the exclusive running
/// product from the left times the one from the right.
fn products_of_others(x: &Tensor, dim: i64) -> Result<Tensor> {
    let d = normalize_dim(dim, x.ndim().max(1))?;
    let n = x.shape().get(d).copied().unwrap_or(1) as i64;
    let ones = |shape: &[usize]| Tensor::full(shape, Scalar::Int(1), x.dtype());
    if x.ndim() == 0 || n <= 1 {
        return Ok(ones(x.shape()));
    }
    let one = ones(view::narrow(x, d as i64, 0, 1)?.shape());
    let shifted_right = super::join::cat(&[one.clone(), view::narrow(x, d as i64, 0, n - 1)?], d as i64)?;
    let left = super::scan::cumprod(&shifted_right, d as i64, None)?;
    let shifted_left = super::join::cat(&[view::narrow(x, d as i64, 1, n - 1)?, one], d as i64)?;
    let flipped = view::flip(&super::scan::cumprod(&view::flip(&shifted_left, &[d as i64])?, d as i64, None)?, &[d as i64])?;
    binary::mul(&left, &flipped)
}

/// `argmax`/`argmin` along `dim` (over the flattened tensor when `None`):
/// int64, the first index of the extreme value.
pub fn argmax(x: &Tensor, dim: Option<i64>, keepdim: bool, is_max: bool) -> Result<Tensor> {
    if x.dtype() == DType::Bool {
        bail!(NotImplemented, "{}(): does not support bool input", if is_max { "argmax" } else { "argmin" });
    }
    match dim {
        Some(d) => Ok(super::gather::max_dim(x, d, keepdim, is_max)?.1),
        None => {
            let flat = view::reshape_to(&x.detach(), &[x.numel()])?;
            let i = super::gather::max_dim(&flat, 0, false, is_max)?.1;
            if keepdim { view::reshape_to(&i, &vec![1; x.ndim()]) } else { Ok(i) }
        }
    }
}

/// `var` over `dims` with Bessel's `correction` (1 = unbiased):
/// `sum((x - mean)^2) / (n - correction)`. Backward is PyTorch's
/// `var_backward`, `2 g (x - mean) / (n - correction)` (per element, so an
/// infinite input spoils only its own gradient, not the whole slice).
pub fn var(x: &Tensor, dims: Option<&[i64]>, correction: f64, keepdim: bool) -> Result<Tensor> {
    deviation(x, dims, correction, keepdim, false)
}

/// `std`: `sqrt(var(...))` with PyTorch's own rule (`std_backward`,
/// FunctionsManual.cpp): `grad / (2 std)` fed to var's gradient, taken as 0
/// where std is 0 (a constant slice) instead of the chain rule's NaN.
pub fn std(x: &Tensor, dims: Option<&[i64]>, correction: f64, keepdim: bool) -> Result<Tensor> {
    deviation(x, dims, correction, keepdim, true)
}

fn deviation(x: &Tensor, dims: Option<&[i64]>, correction: f64, keepdim: bool, is_std: bool) -> Result<Tensor> {
    if let Some(r) = super::half_via_float32(x, |w| deviation(w, dims, correction, keepdim, is_std)) {
        return r;
    }
    if !x.dtype().is_float() {
        // PyTorch's class for this check (TORCH_CHECK_NOT_IMPLEMENTED).
        bail!(NotImplemented, "std and var only support floating point and complex dtypes");
    }
    let resolved = resolve_dims_keep(dims, x.ndim(), keepdim)?;
    let n: usize = match &resolved {
        None => x.numel(),
        Some(d) => d.iter().map(|&d| x.shape()[d]).product(),
    };
    let out = {
        let _no_grad = crate::autograd::grad_mode::GradModeGuard::new(false);
        let centered = binary::sub(&x.detach(), &mean(&x.detach(), dims, true, None)?)?;
        let ss = sum(&binary::mul(&centered, &centered)?, dims, keepdim, None)?;
        let v = binary::div(&ss, Arg::from((n as f64 - correction).max(0.0)))?;
        if is_std { unary::sqrt(&v)? } else { v }
    };
    struct DeviationBackward {
        x: SavedTensor,
        /// std's result (var's rule needs none).
        result: Option<SavedTensor>,
        dims: Option<Vec<i64>>,
        correction: f64,
        keepdim: bool,
    }
    impl BackwardFn for DeviationBackward {
        fn name(&self) -> &'static str {
            if self.result.is_some() { "StdBackward0" } else { "VarBackward0" }
        }
        fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
            std::iter::once(("self", &self.x)).chain(self.result.as_ref().map(|r| ("result", r))).collect()
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            let x = self.x.get()?;
            let dims = resolve_dims_keep(self.dims.as_deref(), x.ndim(), self.keepdim)?;
            let spread = |t: &Tensor| expand_back(t, x.shape(), dims.as_ref(), self.keepdim);
            let n: usize = match &dims {
                None => x.numel(),
                Some(d) => d.iter().map(|&d| x.shape()[d]).product(),
            };
            // d var = 2 (x - mean) / (n - correction); std scales it by g / (2 std).
            let scale = match &self.result {
                None => binary::mul(&spread(grad)?, Arg::from(2.0))?,
                Some(r) => {
                    let r = spread(&r.get()?)?;
                    masked_fill(&binary::div(&spread(grad)?, &r)?, &compare::eq(&r, Arg::from(0.0))?, 0.0)?
                }
            };
            let centered = binary::sub(&x, &mean(&x, self.dims.as_deref(), true, None)?)?;
            let local = binary::div(&centered, Arg::from((n as f64 - self.correction).max(0.0)))?;
            Ok(smallvec::smallvec![Some(binary::mul(&scale, &local)?)])
        }
    }
    let result = out.clone();
    record(out, &[x], |_| DeviationBackward {
        x: SavedTensor::new(x),
        result: is_std.then(|| SavedTensor::output(&result, 0, "StdBackward0")),
        dims: dims.map(<[i64]>::to_vec),
        correction,
        keepdim,
    })
}

/// `softmax` (or `log_softmax`) along `dim`, shifted by the maximum for
/// stability; the rules reuse the result, as PyTorch's do.
pub fn softmax(x: &Tensor, dim: i64, log: bool) -> Result<Tensor> {
    if let Some(r) = super::half_via_float32(x, |w| softmax(w, dim, log)) {
        return r;
    }
    let d = normalize_dim(dim, x.ndim().max(1))? as i64;
    if !x.dtype().is_float() {
        bail!(NotImplemented, "\"{}\" not implemented for '{}'", if log { "log_softmax_lastdim_kernel_impl" } else { "softmax_lastdim_kernel_impl" }, x.dtype().scalar_name());
    }
    let src = x.detach();
    let _no_grad = crate::autograd::grad_mode::GradModeGuard::new(false);
    let m = if src.numel() == 0 { src.clone() } else { amax(&src, Some(&[d]), true, true, "AmaxBackward0")? };
    // A row of -inf gives NaN, as in PyTorch.
    let shifted = binary::sub(&src, &m)?;
    let e = unary::exp(&shifted)?;
    let s = sum(&e, Some(&[d]), true, None)?;
    let out = if log { binary::sub(&shifted, &unary::log(&s)?)? } else { binary::div(&e, &s)? };
    drop(_no_grad);
    struct SoftmaxBackward {
        log: bool,
        dim: i64,
        result: SavedTensor,
    }
    impl BackwardFn for SoftmaxBackward {
        fn name(&self) -> &'static str {
            if self.log { "LogSoftmaxBackward0" } else { "SoftmaxBackward0" }
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            let y = self.result.get()?;
            let d = [self.dim];
            Ok(smallvec::smallvec![Some(if self.log {
                // g - exp(y) sum(g)
                binary::sub(grad, &binary::mul(&unary::exp(&y)?, &sum(grad, Some(&d), true, None)?)?)?
            } else {
                // y (g - sum(g y))
                binary::mul(&y, &binary::sub(grad, &sum(&binary::mul(grad, &y)?, Some(&d), true, None)?)?)?
            })])
        }
    }
    let result = out.clone();
    let name = if log { "LogSoftmaxBackward0" } else { "SoftmaxBackward0" };
    record(out, &[x], |_| SoftmaxBackward { log, dim: d, result: SavedTensor::output(&result, 0, name) })
}

/// `logsumexp` over `dims`: `max + log(sum(exp(x - max)))`; its gradient is
/// `softmax`-like, `g * exp(x - result)`.
pub fn logsumexp(x: &Tensor, dims: &[i64], keepdim: bool) -> Result<Tensor> {
    if let Some(r) = super::half_via_float32(x, |w| logsumexp(w, dims, keepdim)) {
        return r;
    }
    let src = if x.dtype().is_float() { x.clone() } else { to_dtype(x, crate::dtype::DEFAULT_FLOAT)? };
    let m = {
        let _no_grad = crate::autograd::grad_mode::GradModeGuard::new(false);
        if src.numel() == 0 {
            // Nothing to shift by: the empty sum's zeros (the result is
            // log(0) = -inf, as in PyTorch).
            sum(&src.detach(), Some(dims), true, None)?
        } else {
            let m = amax(&src.detach(), Some(dims), true, true, "AmaxBackward0")?;
            // Infinite maxima are not subtracted (that would give NaN).
            super::masked::masked_fill(&m, &compare::eq(&unary::abs(&m)?, Arg::from(f64::INFINITY))?, 0.0)?
        }
    };
    let out = {
        let _no_grad = crate::autograd::grad_mode::GradModeGuard::new(false);
        let s = sum(&unary::exp(&binary::sub(&src, &m)?)?, Some(dims), true, None)?;
        let out = binary::add(&unary::log(&s)?, &m)?;
        if keepdim { out } else { squeeze_dims(&out, dims, x.ndim())? }
    };
    /// `g * exp(x - result)`, PyTorch's `logsumexp_backward`, from the saved
    /// input and result (so an in-place change of either is caught).
    struct LogsumexpBackward {
        x: SavedTensor,
        result: SavedTensor,
        dims: Option<Dims>,
        keepdim: bool,
    }
    impl BackwardFn for LogsumexpBackward {
        fn name(&self) -> &'static str {
            "LogsumexpBackward0"
        }
        fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
            vec![("self", &self.x), ("result", &self.result)]
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            let (x, result) = (self.x.get()?, self.result.get()?);
            let spread = |t: &Tensor| expand_back(t, x.shape(), self.dims.as_ref(), self.keepdim);
            let g = binary::mul(&spread(grad)?, &unary::exp(&binary::sub(&x, &spread(&result)?)?)?)?;
            Ok(smallvec::smallvec![Some(g)])
        }
    }
    let dims = resolve_dims(Some(dims), src.ndim())?;
    let saved = out.clone();
    record(out, &[&src], |_| LogsumexpBackward {
        x: SavedTensor::new(&src),
        result: SavedTensor::output(&saved, 0, "LogsumexpBackward0"),
        dims,
        keepdim,
    })
}

fn squeeze_dims(t: &Tensor, dims: &[i64], ndim: usize) -> Result<Tensor> {
    let mut ds: Vec<usize> = dims.iter().map(|&d| normalize_dim(d, ndim.max(1))).collect::<Result<_>>()?;
    ds.sort_unstable();
    let mut out = t.clone();
    for &d in ds.iter().rev() {
        if out.ndim() > 0 {
            out = view::squeeze(&out, Some(d as i64))?;
        }
    }
    Ok(out)
}
