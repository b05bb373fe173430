//! CPU buffers and kernels. Kernels read `(buffer, layout)` pairs so they work
//! on views; the common case (contiguous, same shape) takes a straight loop
//! and large buffers are split across rayon's pool.

mod buffer;
mod copy;
mod map;
mod matmul;
mod reduce;
pub(crate) mod strided;
pub mod vmath;

pub use buffer::{Buffer, Owner};
pub use copy::{cast, fill, gather, gather_at, in_compute_dtype, scatter_add, write_strided};
pub use map::{binary, binary_over, compare, map_unary, unary, Operand};
pub use matmul::matmul;
pub use reduce::{dot, sum_all, sum_dims};

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Sub};

use half::{bf16, f16};

use crate::dtype::{DType, Scalar};

/// Below this many elements a kernel with costly elements (transcendentals,
/// optimizer rules) runs on the calling thread: splitting tiny loops across
/// threads costs more than it saves.
pub const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

/// The same for cheap, memory-bound kernels (arithmetic, copies, sums).
/// Handing work to rayon's pool costs 20-40 us when its workers are asleep
/// (measured on a 2-vCPU VM: a float32 add of 65,536 elements took 41-54 us
/// through the pool and 11 us inline; `exp` of as many, 52 us against 77),
/// so these split only where the loop itself takes that long.
pub const PARALLEL_MIN_CHEAP: usize = 1 << 18;

/// Whether rayon's thread pools can run work in this process. A process
/// forked after its parent started them (a DataLoader worker) has none of
/// their threads, since fork copies only the calling thread, and work sent
/// to them would wait forever; such a child runs every kernel on its own
/// thread. The pools belong to the first process that asks here, which
/// every parallel path does before it first touches a pool.
pub fn threads_usable() -> bool {
    static OWNER: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let pid = std::process::id();
    *OWNER.get_or_init(|| pid) == pid
}

/// Whether a kernel over `n` elements should split across threads, given
/// the size `min` from which that pays for it.
pub fn parallel_worth(n: usize, min: usize) -> bool {
    n >= min && threads_usable()
}

/// Declares the storage enum and its `Element` types from one table.
macro_rules! storages {
    ($(($variant:ident, $t:ty)),* $(,)?) => {
        #[derive(Debug, Clone, PartialEq)]
        pub enum CpuStorage {
            $($variant(Buffer<$t>)),*
        }

        impl CpuStorage {
            pub fn dtype(&self) -> DType {
                match self { $(CpuStorage::$variant(_) => DType::$variant),* }
            }

            pub fn len(&self) -> usize {
                match self { $(CpuStorage::$variant(v) => v.len()),* }
            }
        }

        $(
            impl Storable for $t {
                const DTYPE: DType = DType::$variant;
                fn wrap(v: Vec<Self>) -> CpuStorage {
                    CpuStorage::$variant(v.into())
                }
                fn wrap_buffer(b: Buffer<Self>) -> CpuStorage {
                    CpuStorage::$variant(b)
                }
                fn into_vec(s: CpuStorage) -> Vec<Self> {
                    match s {
                        CpuStorage::$variant(v) => v.into_vec(),
                        other => unreachable!("dtype checked by caller: {:?}", other.dtype()),
                    }
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
        )*
    };
}

storages! {
    (Bool, bool), (U8, u8), (I8, i8), (I16, i16), (I32, i32), (I64, i64),
    (F16, f16), (BF16, bf16), (F32, f32), (F64, f64),
}

/// PyTorch's message for a failed allocation; the bindings raise a panic
/// that carries it as a RuntimeError without asking for a bug report.
pub const OUT_OF_MEMORY: &str = "DefaultCPUAllocator: can't allocate memory";

/// An empty buffer with room for `n` elements. If the memory cannot be had,
/// it unwinds with PyTorch's message (`OUT_OF_MEMORY`) instead of letting
/// Rust abort the process: kernels cannot return errors, and an op on a
/// huge view (`ones(1).expand(2**30).double()`) must fail as in PyTorch.
pub fn buffer<T>(n: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::new();
    let bytes = n.saturating_mul(std::mem::size_of::<T>());
    if v.try_reserve_exact(n).is_err() {
        std::panic::panic_any(format!("{OUT_OF_MEMORY}: you tried to allocate {bytes} bytes."));
    }
    if bytes >= HUGE_PAGES_FROM {
        advise_huge_pages(v.as_mut_ptr().cast(), bytes);
    }
    v
}

/// Buffers from this size on are backed by transparent huge pages where
/// the kernel allows them (`madvise` mode, the common default): a fresh
/// 64 MiB buffer then faults 32 times instead of 16,384, which was most of
/// the time of a memory-bound op at that size (see `benches/RESULTS.md`).
const HUGE_PAGES_FROM: usize = 4 << 20;

/// Asks Linux to back the 2 MiB-aligned interior of a new, untouched
/// allocation with huge pages; a no-op elsewhere or when refused.
fn advise_huge_pages(ptr: *mut u8, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = (ptr as usize).next_multiple_of(HUGE);
        let end = (ptr as usize + bytes) & !(HUGE - 1);
        if end > start {
            // SAFETY: the range lies inside the allocation just made; the
            // advice changes how it is backed, not its contents.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, bytes);
}

impl CpuStorage {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn filled(dtype: DType, n: usize, value: Scalar) -> CpuStorage {
        crate::with_dtype!(dtype, T => {
            let mut v = buffer(n);
            v.resize(n, T::from_scalar(value));
            T::wrap(v)
        })
    }

    pub fn from_f64s(dtype: DType, values: impl Iterator<Item = f64>) -> CpuStorage {
        crate::with_dtype!(dtype, T => T::wrap(values.map(T::from_float).collect()))
    }
}

/// Runs `$body` with `$T` bound to the Rust element type of `$dtype`.
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {{
        use $crate::dtype::DType as D;
        #[allow(unused_imports)]
        use $crate::cpu_backend::{Element as _, Storable as _};
        match $dtype {
            D::Bool => { type $T = bool; $body }
            D::U8 => { type $T = u8; $body }
            D::I8 => { type $T = i8; $body }
            D::I16 => { type $T = i16; $body }
            D::I32 => { type $T = i32; $body }
            D::I64 => { type $T = i64; $body }
            D::F16 => { type $T = half::f16; $body }
            D::BF16 => { type $T = half::bf16; $body }
            D::F32 => { type $T = f32; $body }
            D::F64 => { type $T = f64; $body }
        }
    }};
}

/// The buffer-level side of an element type (generated by `storages!`).
pub trait Storable: Sized {
    const DTYPE: DType;
    fn wrap(v: Vec<Self>) -> CpuStorage;
    fn wrap_buffer(b: Buffer<Self>) -> CpuStorage;
    /// The buffer's elements as a `Vec` (a copy if it is borrowed memory);
    /// the caller has checked the dtype.
    fn into_vec(s: CpuStorage) -> Vec<Self>;
    /// The buffer as `&[Self]`; the caller has checked the dtype.
    fn slice(s: &CpuStorage) -> &[Self];
    fn slice_mut(s: &mut CpuStorage) -> &mut [Self];
}

/// A Rust type that can be a tensor element. Conversions go through `f64`
/// for floats and `i64` for integers, so integer casts wrap as C's do
/// (`300` becomes `44` in int8, as in PyTorch) instead of saturating.
pub trait Element: Storable + Copy + Send + Sync + Default + PartialOrd + Debug + 'static {
    /// From a double, rounded as PyTorch rounds (named apart from the half
    /// types' inherent `from_f64`, which would shadow it).
    fn from_float(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn from_i64(v: i64) -> Self;
    fn to_i64(self) -> i64;
    fn from_scalar(s: Scalar) -> Self;
    fn to_scalar(self) -> Scalar;
    /// `self + o` in the element's own arithmetic (or for bool), for
    /// accumulating scattered values.
    fn accumulate(self, o: Self) -> Self;
}

/// Element types with arithmetic: the compute dtypes (`DType::compute`)
/// other than bool.
pub trait Arith:
    Element + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    fn pow(self, e: Self) -> Self;
    fn maximum(self, o: Self) -> Self;
    fn minimum(self, o: Self) -> Self;
}

macro_rules! int_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            fn from_float(v: f64) -> Self {
                v as i64 as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn from_scalar(s: Scalar) -> Self {
                match s {
                    Scalar::Int(i) => i as $t,
                    other => Self::from_float(other.to_f64()),
                }
            }
            fn to_scalar(self) -> Scalar {
                Scalar::Int(self as i64)
            }
            fn accumulate(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
        }
    )*};
}
int_element!(u8, i8, i16, i32, i64);

macro_rules! float_element {
    ($($t:ty => $from_f64:expr),*) => {$(
        impl Element for $t {
            fn from_float(v: f64) -> Self {
                $from_f64(v)
            }
            fn to_f64(self) -> f64 {
                <$t as num_traits::ToPrimitive>::to_f64(&self).expect("floats convert")
            }
            fn from_i64(v: i64) -> Self {
                <$t as num_traits::FromPrimitive>::from_i64(v).expect("floats convert")
            }
            fn to_i64(self) -> i64 {
                Element::to_f64(self) as i64
            }
            fn from_scalar(s: Scalar) -> Self {
                Self::from_float(s.to_f64())
            }
            fn to_scalar(self) -> Scalar {
                Scalar::Float(Element::to_f64(self))
            }
            fn accumulate(self, o: Self) -> Self {
                self + o
            }
        }
    )*};
}
// Halves from f64 through f32, each step rounded to nearest even, as c10's
// Half/BFloat16 constructors do (half's own from_f64 drops the low mantissa
// bits first: it makes float64 -134.50001 bfloat16 -134, PyTorch -135).
float_element!(
    f16 => |v: f64| half::f16::from_f32(v as f32),
    bf16 => |v: f64| half::bf16::from_f32(v as f32),
    f32 => |v: f64| v as f32,
    f64 => |v: f64| v
);

impl Element for bool {
    fn from_float(v: f64) -> Self {
        v != 0.0
    }
    fn to_f64(self) -> f64 {
        self as i64 as f64
    }
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_scalar(s: Scalar) -> Self {
        s.to_f64() != 0.0
    }
    fn to_scalar(self) -> Scalar {
        Scalar::Bool(self)
    }
    fn accumulate(self, o: Self) -> Self {
        self | o
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
