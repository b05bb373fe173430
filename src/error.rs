//! Errors carry the Python exception kind they map to, so the bindings raise
//! what PyTorch raises (`RuntimeError`, `ValueError`, ...) with its wording.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Runtime(String),
    Value(String),
    Type(String),
    Index(String),
    NotImplemented(String),
    /// An exception raised by user code (a hook, a custom Function's
    /// backward) that must reach the caller unchanged.
    Foreign(Foreign),
    /// An error in a backward node while anomaly mode was on, with the
    /// traceback of the forward call that made the node.
    Anomaly { node: String, trace: String, cause: Box<Error> },
}

/// An opaque error value from the embedding language (a Python exception).
#[derive(Clone)]
pub struct Foreign {
    pub value: Arc<dyn Any + Send + Sync>,
    pub message: String,
}

impl PartialEq for Foreign {
    fn eq(&self, other: &Foreign) -> bool {
        Arc::ptr_eq(&self.value, &other.value)
    }
}

impl Eq for Foreign {}

impl fmt::Debug for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Foreign({:?})", self.message)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Runtime(m)
            | Error::Value(m)
            | Error::Type(m)
            | Error::Index(m)
            | Error::NotImplemented(m) => f.write_str(m),
            Error::Foreign(e) => f.write_str(&e.message),
            Error::Anomaly { cause, .. } => cause.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// `bail!(Runtime, "...")` returns early with the given error kind.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::error::Error::$kind(format!($($arg)*)))
    };
}
