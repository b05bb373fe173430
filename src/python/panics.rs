//! The guard at the binding boundary for Rust panics.
//!
//! Every fallible path returns an error that becomes PyTorch's exception;
//! a panic is a bug. PyO3 catches any panic at its boundary and raises
//! `pyo3_runtime.PanicException`, a `BaseException` that `except Exception`
//! misses, and offers no hook to raise something else. So that type is
//! reshaped once at import (`rustgrad._errors`): it becomes a
//! `RuntimeError`, by class and by name, whose message asks for a report.

use pyo3::panic::PanicException;

use crate::cpu_backend::OUT_OF_MEMORY;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The type PyO3 raises for a caught panic, for `rustgrad._errors` to
/// reshape.
#[pyfunction]
pub fn _panic_exception_type(py: Python<'_>) -> Bound<'_, PyType> {
    py.get_type::<PanicException>()
}

/// Keeps the default panic report (on stderr) for bugs only: a failed
/// allocation unwinds too (`cpu_backend::buffer`), but it is PyTorch's
/// RuntimeError, not a bug.
pub fn install_hook() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<String>();
        if !message.is_some_and(|m| m.starts_with(OUT_OF_MEMORY)) {
            report(info);
        }
    }));
}

/// Panics with `message`, on the calling thread or inside rayon's pool
/// (`in_pool`), so tests can check what a panic becomes in Python.
#[pyfunction]
#[pyo3(signature = (message, in_pool = false))]
pub fn _panic_for_tests(py: Python<'_>, message: String, in_pool: bool) {
    if in_pool {
        py.detach(|| rayon::scope(|s| s.spawn(|_| panic!("{message}"))));
    } else {
        panic!("{message}");
    }
}
