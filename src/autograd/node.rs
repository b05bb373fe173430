//! Backward rules and how ops record them.

use std::sync::Arc;

use smallvec::SmallVec;

use super::arena::{self, Edge, Node};
use super::grad_mode;
use crate::bail;
use crate::error::Result;
use crate::tensor::Tensor;

/// A function run on a gradient when it arrives at a tensor (before it is
/// accumulated into a leaf, or passed to the backward rule of a non-leaf's
/// node); returning a tensor replaces the gradient.
pub type GradHook = Arc<dyn Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync>;

/// Hooks with the ids their handles remove them by.
pub type Hooks = Vec<(u64, GradHook)>;

/// Runs `hooks` in order on `grad`.
pub fn run_hooks(hooks: &Hooks, mut grad: Tensor) -> Result<Tensor> {
    for (_, hook) in hooks {
        if let Some(replaced) = hook(&grad)? {
            grad = replaced;
        }
    }
    Ok(grad)
}

/// Which inputs of an op need a gradient.
pub type Needs = SmallVec<[bool; 2]>;
/// One gradient per input of an op (`None`: not needed, or zero).
pub type Grads = SmallVec<[Option<Tensor>; 2]>;

/// The backward half of an op. `apply` is written with the same tensor ops
/// as the forward, so under `create_graph=True` it records its own graph.
pub trait BackwardFn: Send + Sync + 'static {
    /// PyTorch's node name, e.g. `MulBackward0`.
    fn name(&self) -> &'static str;
    /// Gradients of the op's inputs given the gradient of its output.
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads>;
    /// Whether the rule keeps tensors alive (freed by a backward pass that
    /// does not retain the graph; running it again is then an error).
    fn saves_tensors(&self) -> bool {
        true
    }
}

/// A tensor kept for backward, with the version it had when saved so that a
/// later in-place change is caught instead of giving a wrong gradient.
pub struct SavedTensor {
    tensor: Tensor,
    version: u64,
}

impl SavedTensor {
    pub fn new(tensor: &Tensor) -> SavedTensor {
        SavedTensor { tensor: tensor.clone(), version: tensor.version() }
    }

    pub fn get(&self) -> Result<&Tensor> {
        let now = self.tensor.version();
        if now != self.version {
            let t = &self.tensor;
            let output_of = t
                .grad_fn_name()
                .map(|n| format!(", which is output 0 of {},", n.trim_end_matches(char::is_numeric).trim_end_matches("Backward")))
                .unwrap_or_default();
            bail!(
                Runtime,
                "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.{}Tensor [{}]]{} is at version {}; expected version {} instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).",
                t.dtype().scalar_name(),
                crate::layout::join(t.shape()),
                output_of,
                now,
                self.version
            );
        }
        Ok(&self.tensor)
    }
}

/// The message PyTorch gives when a graph is run after its saved tensors
/// were freed.
pub const FREED_GRAPH: &str = "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.";

/// Whether an op with these inputs would be recorded.
pub fn any_requires_grad(inputs: &[&Tensor]) -> bool {
    grad_mode::is_enabled() && inputs.iter().any(|t| t.requires_grad())
}

/// Attaches a backward node to `out` if grad mode is on and any input
/// requires grad. `make` builds the rule, saving only what `needs` calls for.
pub fn record<F: BackwardFn>(out: Tensor, inputs: &[&Tensor], make: impl FnOnce(&[bool]) -> F) -> Tensor {
    // Integer and bool results are not differentiable (e.g. `x.long()`).
    if !grad_mode::is_enabled() || !out.dtype().is_float() {
        return out;
    }
    let mut edges: SmallVec<[Option<Edge>; 2]> = SmallVec::with_capacity(inputs.len());
    let mut any = false;
    for t in inputs {
        let meta = t.meta();
        let edge = match &meta.grad_fn {
            Some(node) => Some(Edge::Node(node.clone())),
            None if meta.requires_grad => Some(Edge::Leaf((*t).clone())),
            None => None,
        };
        any |= edge.is_some();
        edges.push(edge);
    }
    if !any {
        return out;
    }
    let needs: Needs = edges.iter().map(Option::is_some).collect();
    let op = make(&needs);
    let node = Node {
        name: op.name(),
        op: Some(Arc::new(op)),
        edges,
        out_shape: out.shape_vec(),
        out_dtype: out.dtype(),
        hooks: Vec::new(),
    };
    out.set_grad_fn(Some(arena::insert(node)));
    out
}
