//! In-place ops (`+=`, `add_`, `zero_`, ...). The new values are computed
//! out of place and written into the tensor's storage, bumping its version.
//! When autograd records the op, the tensor's history is rebased onto the
//! new node, as PyTorch does.

use super::{add, div, mul, sub, Arg};
use crate::autograd::{grad_mode, record, BackwardFn, Grads};
use crate::bail;
use crate::dtype::Scalar;
use crate::error::Result;
use crate::layout::join;
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug)]
pub enum InplaceOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// Refuses in-place writes PyTorch refuses; returns whether autograd must
/// record this write.
fn check(target: &Tensor, other: Option<&Tensor>) -> Result<bool> {
    if !grad_mode::is_enabled() {
        return Ok(false);
    }
    if target.is_leaf() && target.requires_grad() {
        bail!(Runtime, "a leaf Variable that requires grad is being used in an in-place operation.");
    }
    let recording = target.requires_grad() || other.is_some_and(Tensor::requires_grad);
    if recording && target.is_view() {
        bail!(
            NotImplemented,
            "in-place operations on views of tensors that require grad are not supported yet; use an out-of-place op (e.g. `y = y + x`) instead"
        );
    }
    Ok(recording)
}

/// A copy of `target`'s current values that carries its history, so that
/// the recorded op sees the values from before the write.
fn before_write(target: &Tensor) -> Tensor {
    let copy = Tensor::from_cpu(target.to_dense(), target.shape());
    copy.set_grad_fn(target.grad_fn_ref());
    copy
}

pub fn binary_(target: &Tensor, other: Arg, op: InplaceOp) -> Result<()> {
    let recording = check(target, other.tensor())?;
    let source = if recording { before_write(target) } else { target.detach() };
    let result = match op {
        InplaceOp::Add => add(&source, other)?,
        InplaceOp::Sub => sub(&source, other)?,
        InplaceOp::Mul => mul(&source, other)?,
        InplaceOp::Div => div(&source, other)?,
    };
    if !result.dtype().can_cast_to(target.dtype()) {
        bail!(
            Runtime,
            "result type {} can't be cast to the desired output type {}",
            result.dtype().scalar_name(),
            target.dtype().scalar_name()
        );
    }
    if result.shape() != target.shape() {
        bail!(
            Runtime,
            "output with shape [{}] doesn't match the broadcast shape [{}]",
            join(target.shape()),
            join(result.shape())
        );
    }
    let values = if result.dtype() == target.dtype() { result.clone() } else { super::to_dtype(&result.detach(), target.dtype())? };
    target.write_dense(&values.to_dense())?;
    if recording {
        target.set_grad_fn(result.grad_fn_ref());
    }
    Ok(())
}

/// `fill_(value)` / `zero_()`: afterwards the tensor no longer depends on
/// its old values, so its gradient stops here.
pub fn fill_(target: &Tensor, value: Scalar, zero: bool) -> Result<()> {
    let recording = check(target, None)?;
    target.fill_value(value)?;
    if recording {
        struct FillBackward(&'static str);
        impl BackwardFn for FillBackward {
            fn name(&self) -> &'static str {
                self.0
            }
            fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
                Ok(smallvec::smallvec![Some(mul(grad, Arg::from(0.0))?)])
            }
            fn saves_tensors(&self) -> bool {
                false
            }
        }
        let name = if zero { "ZeroBackward0" } else { "FillBackward2" };
        let history = target.detach();
        history.set_grad_fn(target.grad_fn_ref());
        let node = record(target.detach(), &[&history], |_| FillBackward(name));
        target.set_grad_fn(node.grad_fn_ref());
    }
    Ok(())
}
