//! Grad mode is per thread, as in PyTorch: `no_grad()` on one thread does not
//! stop recording on another.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
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
