//! CPU buffers and kernels. Kernels read `(buffer, layout)` pairs so they work
//! on views; the common case (contiguous, same shape) takes a straight loop
//! and large buffers are split across rayon's pool.

mod copy;
mod map;
mod matmul;
mod reduce;

pub use copy::{cast, fill, gather, gather_at, scatter_add, write_strided};
pub use map::{binary, compare, map_unary, unary, Operand};
pub use matmul::matmul;
pub use reduce::{sum_all, sum_dims};

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Sub};

use crate::dtype::{DType, Scalar};

/// Below this many elements a kernel runs on the calling thread: splitting
/// tiny loops across threads costs more than it saves.
pub const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

#[derive(Debug, Clone, PartialEq)]
pub enum CpuStorage {
    Bool(Vec<bool>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl CpuStorage {
    pub fn dtype(&self) -> DType {
        match self {
            CpuStorage::Bool(_) => DType::Bool,
            CpuStorage::I64(_) => DType::I64,
            CpuStorage::F32(_) => DType::F32,
            CpuStorage::F64(_) => DType::F64,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            CpuStorage::Bool(v) => v.len(),
            CpuStorage::I64(v) => v.len(),
            CpuStorage::F32(v) => v.len(),
            CpuStorage::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn filled(dtype: DType, n: usize, value: Scalar) -> CpuStorage {
        crate::with_dtype!(dtype, T => T::wrap(vec![T::from_scalar(value); n]))
    }

    pub fn from_f64s(dtype: DType, values: impl Iterator<Item = f64>) -> CpuStorage {
        crate::with_dtype!(dtype, T => T::wrap(values.map(T::from_f64).collect()))
    }
}

/// Runs `$body` with `$T` bound to the Rust element type of `$dtype`.
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::dtype::DType::Bool => {
                type $T = bool;
                $body
            }
            $crate::dtype::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::dtype::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::dtype::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

/// A Rust type that can be a tensor element.
pub trait Element: Copy + Send + Sync + Default + PartialOrd + Debug + 'static {
    const DTYPE: DType;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn from_scalar(s: Scalar) -> Self;
    fn to_scalar(self) -> Scalar;
    fn wrap(v: Vec<Self>) -> CpuStorage;
    /// The buffer as `&[Self]`; the caller has checked the dtype.
    fn slice(s: &CpuStorage) -> &[Self];
    fn slice_mut(s: &mut CpuStorage) -> &mut [Self];
}

/// Element types with arithmetic (everything but bool).
pub trait Arith:
    Element + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    fn pow(self, e: Self) -> Self;
    fn maximum(self, o: Self) -> Self;
    fn minimum(self, o: Self) -> Self;
}

macro_rules! element {
    ($t:ty, $variant:ident, $to_scalar:expr, $from_scalar:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_scalar(s: Scalar) -> Self {
                $from_scalar(s)
            }
            fn to_scalar(self) -> Scalar {
                $to_scalar(self)
            }
            fn wrap(v: Vec<Self>) -> CpuStorage {
                CpuStorage::$variant(v)
            }
            fn slice(s: &CpuStorage) -> &[Self] {
                match s {
                    CpuStorage::$variant(v) => v,
                    other => unreachable!("dtype checked by caller: {:?}", other.dtype()),
                }
            }
            fn slice_mut(s: &mut CpuStorage) -> &mut [Self] {
                match s {
                    CpuStorage::$variant(v) => v,
                    other => unreachable!("dtype checked by caller: {:?}", other.dtype()),
                }
            }
        }
    };
}

element!(f32, F32, |v: f32| Scalar::Float(v as f64), |s: Scalar| s.to_f64() as f32);
element!(f64, F64, Scalar::Float, |s: Scalar| s.to_f64());
element!(i64, I64, Scalar::Int, |s: Scalar| match s {
    Scalar::Int(i) => i,
    other => other.to_f64() as i64,
});

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn to_f64(self) -> f64 {
        self as i64 as f64
    }
    fn from_scalar(s: Scalar) -> Self {
        s.to_f64() != 0.0
    }
    fn to_scalar(self) -> Scalar {
        Scalar::Bool(self)
    }
    fn wrap(v: Vec<Self>) -> CpuStorage {
        CpuStorage::Bool(v)
    }
    fn slice(s: &CpuStorage) -> &[Self] {
        match s {
            CpuStorage::Bool(v) => v,
            other => unreachable!("dtype checked by caller: {:?}", other.dtype()),
        }
    }
    fn slice_mut(s: &mut CpuStorage) -> &mut [Self] {
        match s {
            CpuStorage::Bool(v) => v,
            other => unreachable!("dtype checked by caller: {:?}", other.dtype()),
        }
    }
}

macro_rules! float_arith {
    ($t:ty) => {
        impl Arith for $t {
            fn pow(self, e: Self) -> Self {
                // Small integer powers are common (x ** 2) and far cheaper
                // as products; the branch is loop-invariant for a scalar e.
                if e == 2.0 {
                    self * self
                } else if e == 3.0 {
                    self * self * self
                } else if e == 1.0 {
                    self
                } else if e == 0.5 {
                    self.sqrt()
                } else {
                    self.powf(e)
                }
            }
            fn maximum(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() { <$t>::NAN } else { self.max(o) }
            }
            fn minimum(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() { <$t>::NAN } else { self.min(o) }
            }
        }
    };
}
float_arith!(f32);
float_arith!(f64);

impl Arith for i64 {
    fn pow(self, e: Self) -> Self {
        // PyTorch: negative integer powers of integers other than +-1 are 0.
        match (self, e) {
            (_, e) if e >= 0 => self.wrapping_pow(e.min(u32::MAX as i64) as u32),
            (1, _) => 1,
            (-1, e) => if e % 2 == 0 { 1 } else { -1 },
            _ => 0,
        }
    }
    fn maximum(self, o: Self) -> Self {
        self.max(o)
    }
    fn minimum(self, o: Self) -> Self {
        self.min(o)
    }
}
