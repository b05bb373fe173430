//! Reverse-mode autodiff: grad mode, the node arena, backward rules and the
//! engine that runs them.

pub mod anomaly;
pub mod arena;
pub mod engine;
pub mod grad_mode;
pub mod node;

pub use engine::{backward, grad, BackwardOptions};
pub use node::{attach, edge_of, record, BackwardFn, Grads, SavedTensor};

/// A float32 vector leaf that requires grad, for unit tests.
#[cfg(test)]
pub(crate) fn test_leaf(values: Vec<f32>) -> crate::tensor::Tensor {
    let n = values.len();
    let t = crate::tensor::Tensor::from_vec(values, &[n]);
    t.set_requires_grad(true).expect("float tensors can require grad");
    t
}
