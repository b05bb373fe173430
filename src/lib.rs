//! rustgrad: PyTorch-style tensors and reverse-mode autograd in Rust.
//!
//! Layers, bottom up: `layout` and `dtype` (shapes, strides, promotion),
//! `storage` with its device backends (`cpu_backend`, `cuda_backend`),
//! `tensor`, `autograd` (arena, engine), `ops` (each op's forward and
//! backward together), and `python` (the PyO3 bindings, behind the `python`
//! feature).

pub mod autograd;
pub mod checkpoint;
pub mod cpu_backend;
pub mod cuda_backend;
pub mod device;
pub mod dtype;
pub mod error;
pub mod layout;
pub mod op_traits;
pub mod ops;
pub mod optim;
pub mod pyobj;
pub mod random;
pub mod stats;
pub mod storage;
pub mod tensor;

#[cfg(test)]
mod properties;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
pub use tensor::Tensor;
