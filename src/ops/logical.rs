//! Logical ops (any dtype in, nonzero is true, bool out) and bitwise ops
//! on integers and bools; no gradient.

use super::{broadcast_dense, Arg};
use crate::cpu_backend::CpuStorage;
use crate::dtype::DType;
use crate::error::Result;
use crate::layout::broadcast_shapes;
use crate::tensor::Tensor;

fn truth(t: &Tensor, shape: &[usize]) -> Result<Vec<bool>> {
    match broadcast_dense(Arg::Tensor(t), shape, DType::Bool)? {
        CpuStorage::Bool(v) => Ok(v.into_vec()),
        _ => unreachable!("converted to bool"),
    }
}

fn combine(a: &Tensor, b: &Tensor, f: impl Fn(bool, bool) -> bool) -> Result<Tensor> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let (x, y) = (truth(a, &shape)?, truth(b, &shape)?);
    Ok(Tensor::from_vec(x.iter().zip(&y).map(|(&x, &y)| f(x, y)).collect::<Vec<bool>>(), &shape))
}

pub fn and(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    combine(a, b, |x, y| x && y)
}

pub fn or(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    combine(a, b, |x, y| x || y)
}

pub fn xor(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    combine(a, b, |x, y| x != y)
}

pub fn not(a: &Tensor) -> Result<Tensor> {
    let x = truth(a, a.shape())?;
    Ok(Tensor::from_vec(x.iter().map(|&x| !x).collect::<Vec<bool>>(), a.shape()))
}

/// Bitwise `and`/`or`/`xor` (`&`, `|`, `^`): on integers bit by bit in the
/// promoted dtype (numbers wrap to it first, as PyTorch's), on bools the
/// logical op; NotImplementedError for floats, as PyTorch's kernels.
pub fn bitwise(a: Arg, b: Arg, op: &'static str) -> Result<Tensor> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let dtype = super::result_type(a, b);
    if dtype.is_float() {
        crate::bail!(NotImplemented, "\"{op}_cpu\" not implemented for '{}'", dtype.scalar_name());
    }
    let f: fn(i64, i64) -> i64 = match op {
        "bitwise_and" => |x, y| x & y,
        "bitwise_or" => |x, y| x | y,
        _ => |x, y| x ^ y,
    };
    let ints = |x: Arg| match broadcast_dense(x.rounded_to(dtype, false), &shape, DType::I64) {
        Ok(CpuStorage::I64(v)) => Ok(v),
        Ok(_) => unreachable!("converted to int64"),
        Err(e) => Err(e),
    };
    let (x, y) = (ints(a)?, ints(b)?);
    let out = Tensor::from_vec(x.iter().zip(&y).map(|(&p, &q)| f(p, q)).collect::<Vec<i64>>(), &shape);
    super::to_dtype(&out, dtype)
}

/// `~x`: bitwise not of integers (`-x - 1`), logical not of bools;
/// NotImplementedError for floats.
pub fn bitwise_not(a: &Tensor) -> Result<Tensor> {
    match a.dtype() {
        DType::Bool => not(a),
        d if d.is_float() => crate::bail!(NotImplemented, "\"bitwise_not_cpu\" not implemented for '{}'", d.scalar_name()),
        d => {
            let x = match broadcast_dense(Arg::Tensor(a), a.shape(), DType::I64)? {
                CpuStorage::I64(v) => v,
                _ => unreachable!("converted to int64"),
            };
            super::to_dtype(&Tensor::from_vec(x.iter().map(|&v| !v).collect::<Vec<i64>>(), a.shape()), d)
        }
    }
}
