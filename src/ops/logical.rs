//! Logical ops: any dtype in (nonzero is true), bool out, no gradient.

use super::{broadcast_dense, Arg};
use crate::cpu_backend::CpuStorage;
use crate::dtype::DType;
use crate::error::Result;
use crate::layout::broadcast_shapes;
use crate::tensor::Tensor;

fn truth(t: &Tensor, shape: &[usize]) -> Result<Vec<bool>> {
    match broadcast_dense(Arg::Tensor(t), shape, DType::Bool)? {
        CpuStorage::Bool(v) => Ok(v),
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
