//! Reverse-mode autodiff: grad mode, the node arena, backward rules and the
//! engine that runs them.

pub mod arena;
pub mod engine;
pub mod grad_mode;
pub mod node;

pub use engine::{backward, BackwardOptions};
pub use node::{record, BackwardFn, Grads, SavedTensor};
