//! Tensor factories: constants, ranges, identity, random values.

use crate::bail;
use crate::cpu_backend::CpuStorage;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::numel;
use crate::random;
use crate::tensor::Tensor;

/// Zeros shaped and typed like `t`, with no history (the gradient of rules
/// whose derivative vanishes, as PyTorch's `zeros_like(grad)`).
pub fn zeros_like(t: &Tensor) -> Tensor {
    Tensor::full(t.shape(), Scalar::Int(0), t.dtype())
}

pub fn full(shape: &[usize], value: Scalar, dtype: DType) -> Tensor {
    Tensor::full(shape, value, dtype)
}

pub fn eye(n: usize, m: usize, dtype: DType) -> Result<Tensor> {
    crate::layout::check_size(&[n, m], dtype.itemsize())?;
    crate::layout::check_allocation(n * m, dtype.itemsize())?;
    let data = CpuStorage::from_f64s(dtype, (0..n * m).map(|i| if i / m == i % m { 1.0 } else { 0.0 }));
    Ok(Tensor::from_cpu(data, &[n, m]))
}

/// `linspace(start, end, steps)`, filled from both ends as PyTorch does so
/// the last element is exactly `end`.
pub fn linspace(start: f64, end: f64, steps: i64, dtype: DType) -> Result<Tensor> {
    if steps < 0 {
        bail!(Runtime, "number of steps must be non-negative");
    }
    let n = steps as usize;
    crate::layout::check_size(&[n], dtype.itemsize())?;
    crate::layout::check_allocation(n, dtype.itemsize())?;
    if n == 1 || !dtype.is_float() {
        let step = if n > 1 { (end - start) / (n - 1) as f64 } else { 0.0 };
        let values = (0..n).map(|i| start + step * i as f64);
        return Ok(Tensor::from_cpu(CpuStorage::from_f64s(dtype, values), &[n]));
    }
    // PyTorch's recipe, in the target precision, bit for bit: the step in
    // that type, the first half counted up from `start` and the second half
    // down from `end`, each with a fused multiply-add.
    macro_rules! fill {
        ($t:ty) => {{
            let (s, e) = (start as $t, end as $t);
            let step = (e - s) / (n - 1) as $t;
            let half = n / 2;
            (0..n)
                .map(|i| if i < half { step.mul_add(i as $t, s) } else { (-step).mul_add((n - 1 - i) as $t, e) })
                .collect::<Vec<$t>>()
        }};
    }
    Ok(match dtype {
        DType::F32 => Tensor::from_vec(fill!(f32), &[n]),
        _ => Tensor::from_vec(fill!(f64), &[n]),
    })
}

/// `arange(start, end, step)`.
pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
    if step == 0.0 {
        bail!(Runtime, "step must be nonzero");
    }
    if (step > 0.0 && end < start) || (step < 0.0 && end > start) {
        bail!(Runtime, "upper bound and lower bound inconsistent with step sign");
    }
    let count = ((end - start) / step).ceil().max(0.0);
    if count >= isize::MAX as f64 {
        bail!(Runtime, "Storage size calculation overflowed with sizes=[{count}]");
    }
    let n = count as usize;
    crate::layout::check_size(&[n], dtype.itemsize())?;
    crate::layout::check_allocation(n, dtype.itemsize())?;
    let data = CpuStorage::from_f64s(dtype, (0..n).map(|i| start + step * i as f64));
    Ok(Tensor::from_cpu(data, &[n]))
}

/// PyTorch's error for a sampler without a kernel for `dtype`: its dtype
/// dispatch's NotImplementedError.
fn require_float(dtype: DType, what: &str) -> Result<()> {
    if !dtype.is_float() {
        bail!(NotImplemented, "\"{what}\" not implemented for '{}'", dtype.scalar_name());
    }
    Ok(())
}

pub fn randn(shape: &[usize], dtype: DType, generator: Option<&random::SharedGenerator>) -> Result<Tensor> {
    require_float(dtype, "normal_kernel_cpu")?;
    let values: Vec<f64> = random::with_generator(generator, |g| (0..numel(shape)).map(|_| g.normal()).collect());
    Ok(Tensor::from_cpu(CpuStorage::from_f64s(dtype, values.into_iter()), shape))
}

pub fn rand(shape: &[usize], dtype: DType, generator: Option<&random::SharedGenerator>) -> Result<Tensor> {
    require_float(dtype, "check_uniform_bounds")?;
    let values: Vec<f64> = random::with_generator(generator, |g| (0..numel(shape)).map(|_| g.uniform()).collect());
    Ok(Tensor::from_cpu(CpuStorage::from_f64s(dtype, values.into_iter()), shape))
}

pub fn randint(low: i64, high: i64, shape: &[usize], dtype: DType, generator: Option<&random::SharedGenerator>) -> Result<Tensor> {
    if high <= low {
        bail!(Runtime, "random_ expects 'from' to be less than 'to', but got from={low} >= to={high}");
    }
    let values: Vec<i64> = random::with_generator(generator, |g| (0..numel(shape)).map(|_| g.int_range(low, high)).collect());
    Ok(Tensor::from_cpu(CpuStorage::from_f64s(dtype, values.into_iter().map(|v| v as f64)), shape))
}
