//! The guard at the binding boundary for Rust panics.
//!
//! Every fallible path returns an error that becomes PyTorch's exception;
//! a panic is a bug. PyO3 catches any panic at its boundary and raises
//! `pyo3_runtime.PanicException`, a `BaseException` that `except Exception`
//! misses, and offers no hook to raise something else. So that type is
//! reshaped once at import (`rustgrad._errors`): it becomes a
//! `RuntimeError`, by class and by name, whose message asks for a report.

use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The type PyO3 raises for a caught panic, for `rustgrad._errors` to
/// reshape.
#[pyfunction]
pub fn _panic_exception_type(py: Python<'_>) -> Bound<'_, PyType> {
    py.get_type::<PanicException>()
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
