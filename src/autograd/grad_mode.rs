//! Grad mode and inference mode are per thread, as in PyTorch: `no_grad()`
//! on one thread does not stop recording on another.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    static INFERENCE: Cell<bool> = const { Cell::new(false) };
}

/// Whether `inference_mode` is on: tensors made now are inference tensors.
pub fn is_inference() -> bool {
    INFERENCE.with(Cell::get)
}

/// Sets inference mode and returns the previous setting (grad mode is set
/// apart, by the caller).
pub fn set_inference(enabled: bool) -> bool {
    INFERENCE.with(|g| g.replace(enabled))
}

pub fn is_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Sets grad mode and returns the previous setting.
pub fn set_enabled(enabled: bool) -> bool {
    GRAD_ENABLED.with(|g| g.replace(enabled))
}

/// Restores the previous grad mode when dropped.
pub struct GradModeGuard(bool);

impl GradModeGuard {
    pub fn new(enabled: bool) -> GradModeGuard {
        GradModeGuard(set_enabled(enabled))
    }
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        set_enabled(self.0);
    }
}
