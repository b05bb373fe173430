//! Element-wise kernels as small traits, in the style of candle's `UnaryOpT`:
//! an op file implements one of these next to its backward rule, and each
//! backend (CPU now, CUDA later) applies it to whole buffers.

use std::mem::MaybeUninit;

use num_traits::Float;

use crate::cpu_backend::Arith;

/// `out = f(x)`.
pub trait UnaryOpT: Copy + Send + Sync + 'static {
    /// The kernel's name, for backends that look kernels up by name.
    const KERNEL: &'static str;
    /// Whether integer tensors stay integer (`neg`, `abs`); float-only ops
    /// promote integer inputs to the default float dtype first.
    const KEEPS_INT: bool = false;
    /// Whether bool tensors stay bool (`sign`); others compute in int64 or
    /// float.
    const KEEPS_BOOL: bool = false;
    fn float<T: Float>(self, x: T) -> T;
    fn int(self, x: i64) -> i64 {
        x
    }
    /// The op on a dense float32 run. By default `float` per element; ops
    /// with a vectorised kernel (`cpu_backend::vmath`) override it.
    fn f32_run(self, src: &[f32], dst: &mut [MaybeUninit<f32>]) {
        for (d, &x) in dst.iter_mut().zip(src) {
            d.write(self.float(x));
        }
    }
}

/// `out = f(a, b)` on operands of one dtype.
pub trait BinaryOpT: Copy + Send + Sync + 'static {
    const KERNEL: &'static str;
    fn apply<T: Arith>(self, a: T, b: T) -> T;
}

/// `out = a ? b` as a bool tensor.
pub trait CmpOpT: Copy + Send + Sync + 'static {
    const KERNEL: &'static str;
    fn apply<T: PartialOrd>(self, a: T, b: T) -> bool;
}
