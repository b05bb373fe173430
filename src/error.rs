//! Errors carry the Python exception kind they map to, so the bindings raise
//! what PyTorch raises (`RuntimeError`, `ValueError`, ...) with its wording.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Runtime(String),
    Value(String),
    Type(String),
    Index(String),
    NotImplemented(String),
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
