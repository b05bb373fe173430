//! In-place ops (`+=`, `add_`, `zero_`, `copy_`, index assignment). The new
//! values are computed out of place and written into the tensor's storage,
//! bumping its version. When autograd records the op, the tensor's history
//! is rebased onto the new node, as PyTorch does; for a view, the base's
//! history becomes a `CopySlices` node (the view's region comes from the
//! op, the rest from the base's old history) and the view is replayed on
//! top of it.

use std::sync::Arc;

use super::view::{self, as_strided, as_strided_history, as_strided_scatter, Geometry};
use super::{add, div, mul, sub, Arg};
use crate::autograd::arena::OutputMeta;
use crate::autograd::node::make_node;
use crate::autograd::{edge_of, grad_mode, record, BackwardFn, Grads};
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
    if target.is_inference() && !grad_mode::is_inference() {
        bail!(Runtime, "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to get a normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for more details.");
    }
    if !grad_mode::is_enabled() {
        return Ok(false);
    }
    if let Some((function, nr)) = target.multi_output_view().filter(|_| target.requires_grad()) {
        bail!(Runtime, "Output {nr} of {function} is a view and is being modified inplace. This view is the output of a function that returns multiple views. Such functions do not allow the output views to be modified inplace. You should replace the inplace operation by an out-of-place one.");
    }
    if let Some(base) = target.view_base() {
        if base.is_leaf() && base.requires_grad() {
            bail!(Runtime, "a view of a leaf Variable that requires grad is being used in an in-place operation.");
        }
        if !target.is_tracked_view() && base.requires_grad() {
            bail!(Runtime, "{NO_GRAD_VIEW}");
        }
    }
    if target.is_leaf() && target.requires_grad() {
        bail!(Runtime, "a leaf Variable that requires grad is being used in an in-place operation.");
    }

    Ok(target.requires_grad() || other.is_some_and(Tensor::requires_grad))
}

const NO_GRAD_VIEW: &str = "A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both the view and the inplace either both inside the no_grad block (if you don't want the inplace to be tracked) or both outside (if you want the inplace to be tracked).";

/// A copy of `target`'s current values that carries its history, so that
/// the recorded op sees the values from before the write.
fn before_write(target: &Tensor) -> Tensor {
    let copy = Tensor::from_cpu(target.to_dense(), target.shape());
    link_history(target, &copy);
    copy
}

/// Gives `to` the history of `target`'s current value. For a view that is
/// the base's history seen through the view (PyTorch's CopySlices routes the
/// old values' gradient into the base, not through the view's own node).
fn link_history(target: &Tensor, to: &Tensor) {
    match target.view_base().filter(|b| target.is_tracked_view() && b.requires_grad()) {
        Some(base) => to.set_history(as_strided_history(base, target.layout()), 0),
        None => {
            if let Some((node, nr)) = target.history() {
                to.set_history(Some(node), nr);
            }
        }
    }
}

/// An alias of `target` that carries its history, for rules that do not read
/// the old values (their gradient is zero).
fn history_alias(target: &Tensor) -> Tensor {
    let alias = target.detach();
    link_history(target, &alias);
    alias
}

/// Writes `result` (already broadcast to `target`'s shape) into `target`
/// and, when `recording`, makes it `target`'s history.
fn commit(target: &Tensor, result: &Tensor, recording: bool) -> Result<()> {
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
        let values = if result.dtype() == target.dtype() { result.clone() } else { super::to_dtype(result, target.dtype())? };
        rebase_history(target, &values)?;
    }
    Ok(())
}

/// After a recorded write of `result` into `target`: `target`'s history is
/// `result`'s, or, for a view, its base's history becomes `CopySlices`.
pub fn rebase_history(target: &Tensor, result: &Tensor) -> Result<()> {
    let Some(base) = target.view_base().filter(|_| target.is_tracked_view()).cloned() else {
        match result.history() {
            Some((node, nr)) => target.set_history(Some(node), nr),
            None => target.set_history(None, 0),
        }
        return Ok(());
    };
    let geom = Geometry::of(&base, target.layout());
    let edges = smallvec::smallvec![edge_of(&base), edge_of(result)];
    let out = OutputMeta { shape: base.shape_vec(), dtype: base.dtype() };
    let node = make_node(Arc::new(CopySlices { geom }), edges, smallvec::smallvec![out])?;
    base.set_history(Some(node), 0);
    target.set_history(as_strided_history(&base, target.layout()), 0);
    Ok(())
}

/// The base's node after an in-place write into one of its views: the
/// gradient of the view's region flows into the op that wrote it, the rest
/// into the base's earlier history.
struct CopySlices {
    geom: Geometry,
}

impl BackwardFn for CopySlices {
    fn name(&self) -> &'static str {
        "CopySlices"
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
        let region = as_strided(grad, &self.geom)?;
        let rest = if needs[0] {
            // grad with the region zeroed: grad - scatter(region).
            Some(sub(grad, &as_strided_scatter(&region, grad.shape(), &self.geom)?)?)
        } else {
            None
        };
        Ok(smallvec::smallvec![rest, needs.get(1).copied().unwrap_or(false).then_some(region)])
    }
    /// Freed by a backward pass like the op it stands in for, so a second
    /// pass raises PyTorch's error.
    fn saves_tensors(&self) -> bool {
        true
    }
}

pub fn binary_(target: &Tensor, other: Arg, op: InplaceOp) -> Result<()> {
    let recording = check(target, other.tensor())?;
    // Unrecorded, with no broadcast nor dtype change: straight into the
    // tensor's own elements (an optimizer's `p -= lr * p.grad`).
    if !recording {
        use super::binary::{write_into, AddKernel, DivKernel, MulKernel, SubKernel};
        let written = match op {
            InplaceOp::Add => write_into(AddKernel, target, other, false),
            InplaceOp::Sub => write_into(SubKernel, target, other, false),
            InplaceOp::Mul => write_into(MulKernel, target, other, false),
            InplaceOp::Div => write_into(DivKernel, target, other, false),
        };
        if written {
            return Ok(());
        }
    }
    let source = if recording { before_write(target) } else { target.detach() };
    let result = match op {
        InplaceOp::Add => add(&source, other)?,
        InplaceOp::Sub => sub(&source, other)?,
        InplaceOp::Mul => mul(&source, other)?,
        InplaceOp::Div => div(&source, other)?,
    };
    commit(target, &result, recording)
}

/// `target.copy_(src)` (and `target[index] = src` on the selected view):
/// `src` is broadcast to `target`'s shape and converted to its dtype.
pub fn copy_(target: &Tensor, src: &Tensor) -> Result<()> {
    let recording = check(target, Some(src))?;
    let src = if recording { src.clone() } else { src.detach() };
    let values = if src.shape() == target.shape() { src } else { view::expand_to(&src, target.shape())? };
    let values = super::to_dtype(&values, target.dtype())?;
    if !recording {
        return commit(target, &values, false);
    }
    if target.is_tracked_view() {
        // The view's region takes the source's gradient directly: CopySlices
        // links to the source's history, as PyTorch's does.
        return commit(target, &values, true);
    }
    /// The old values get no gradient; the source gets all of it.
    struct CopyBackwards;
    impl BackwardFn for CopyBackwards {
        fn name(&self) -> &'static str {
            "CopyBackwards"
        }
        fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
            let old = needs[0].then(|| super::factory::zeros_like(grad));
            Ok(smallvec::smallvec![old, needs[1].then(|| grad.clone())])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    let copied = Tensor::from_cpu(values.to_dense(), target.shape());
    let result = record(copied, &[&history_alias(target), &values], |_| CopyBackwards)?;
    commit(target, &result, true)
}

/// `fill_(value)` / `zero_()`: afterwards the tensor no longer depends on
/// its old values, so its gradient stops here.
pub fn fill_(target: &Tensor, value: Scalar, zero: bool) -> Result<()> {
    let recording = check(target, None)?;
    if !recording {
        return target.fill_value(value);
    }
    struct FillBackward(&'static str);
    impl BackwardFn for FillBackward {
        fn name(&self) -> &'static str {
            self.0
        }
        fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
            Ok(smallvec::smallvec![Some(super::factory::zeros_like(grad))])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }
    let name = if zero { "ZeroBackward0" } else { "FillBackward2" };
    let filled = Tensor::full(target.shape(), value, target.dtype());
    let result = record(filled, &[&history_alias(target)], |_| FillBackward(name))?;
    commit(target, &result, true)
}

/// `x.sin_()`, `x.clamp_(...)` and the other in-place element-wise
/// functions: `f` of the old values, written back (the node is `f`'s own,
/// as in PyTorch).
pub fn apply_(target: &Tensor, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<()> {
    let recording = check(target, None)?;
    let source = if recording { before_write(target) } else { target.detach() };
    commit(target, &f(&source)?, recording)
}
