//! Anomaly detection (`torch.autograd.detect_anomaly`): while it is on,
//! every recorded node keeps the traceback of the forward call that made it,
//! and a backward rule that returns NaN is an error naming the node. The
//! mode is global, as in PyTorch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};
use crate::tensor::Tensor;

static ENABLED: AtomicBool = AtomicBool::new(false);
static CHECK_NAN: AtomicBool = AtomicBool::new(true);

/// Where the forward traceback comes from (the Python binding registers the
/// interpreter's stack; plain Rust has none).
pub type TraceProvider = Box<dyn Fn() -> Option<String> + Send + Sync>;
static TRACE: OnceLock<TraceProvider> = OnceLock::new();

pub fn set_trace_provider(provider: TraceProvider) {
    let _ = TRACE.set(provider);
}

pub fn set_enabled(enabled: bool, check_nan: bool) {
    CHECK_NAN.store(check_nan, Ordering::Release);
    ENABLED.store(enabled, Ordering::Release);
}

pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

pub fn check_nan() -> bool {
    CHECK_NAN.load(Ordering::Acquire)
}

/// The traceback to keep on a node recorded now, if anomaly mode is on.
pub fn forward_trace() -> Option<Arc<str>> {
    if !is_enabled() {
        return None;
    }
    TRACE.get().and_then(|f| f()).map(Arc::from)
}

/// PyTorch's error for a rule that returned NaN in input gradient `index`.
pub fn check_grads(node: &str, grads: &[Option<Tensor>]) -> Result<()> {
    for (i, g) in grads.iter().enumerate() {
        if let Some(g) = g {
            if g.dtype().is_float() && crate::ops::reduce::has_nan(g) {
                return Err(Error::Runtime(format!("Function '{node}' returned nan values in its {i}th output.")));
            }
        }
    }
    Ok(())
}
