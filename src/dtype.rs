//! Element types, Python-style scalars, and PyTorch's type-promotion rules.

/// Declares the dtypes from one table: variant, PyTorch name, legacy scalar
/// name (`torch.HalfTensor`, "result type Half ..."), C type name used in some
/// messages, and bytes per element. The order is the promotion lattice's.
macro_rules! dtypes {
    ($(($variant:ident, $name:literal, $scalar:literal, $c:literal, $size:literal)),* $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DType {
            $($variant),*
        }

        impl DType {
            pub const ALL: &'static [DType] = &[$(DType::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(DType::$variant => $name),* }
            }

            pub fn scalar_name(self) -> &'static str {
                match self { $(DType::$variant => $scalar),* }
            }

            pub fn c_name(self) -> &'static str {
                match self { $(DType::$variant => $c),* }
            }

            /// Bytes per element.
            pub fn itemsize(self) -> usize {
                match self { $(DType::$variant => $size),* }
            }
        }
    };
}

dtypes! {
    (Bool, "bool", "Bool", "bool", 1),
    (U8, "uint8", "Byte", "unsigned char", 1),
    (I8, "int8", "Char", "signed char", 1),
    (I16, "int16", "Short", "short", 2),
    (I32, "int32", "Int", "int", 4),
    (I64, "int64", "Long", "long", 8),
    (F16, "float16", "Half", "c10::Half", 2),
    (BF16, "bfloat16", "BFloat16", "c10::BFloat16", 2),
    (F32, "float32", "Float", "float", 4),
    (F64, "float64", "Double", "double", 8),
}

/// What PyTorch calls the default dtype: the type of `torch.ones(3)` and of a
/// Python float mixed with integer tensors.
pub const DEFAULT_FLOAT: DType = DType::F32;

impl DType {
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// Integer types (not bool).
    pub fn is_int(self) -> bool {
        matches!(self, DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// The dtype kernels compute in: half floats in float32, as PyTorch's CPU
    /// kernels do, and narrow integers in int64, whose results converted back
    /// wrap exactly as the narrow type's own arithmetic would.
    pub fn compute(self) -> DType {
        match self {
            DType::F16 | DType::BF16 => DType::F32,
            d if d.is_int() => DType::I64,
            d => d,
        }
    }

    /// Checks that a Python number stored into a tensor of this dtype fits,
    /// as PyTorch does for `tensor`, `full` and `fill_` (c10's `overflows`:
    /// unsigned types also take negatives down to `-max`, which wrap).
    /// `name` is how the message names the type: `torch.tensor` says
    /// "int8", `full` and `fill_` say "int8_t".
    pub fn check_fits(self, s: Scalar, name: &str) -> crate::error::Result<()> {
        let (lo, hi): (i64, i64) = match self {
            // c10 lets integers wrap into uint8 from -255, but not floats.
            DType::U8 if matches!(s, Scalar::Float(_)) => (0, 255),
            DType::U8 => (-255, 255),
            DType::I8 => (i8::MIN as i64, i8::MAX as i64),
            DType::I16 => (i16::MIN as i64, i16::MAX as i64),
            DType::I32 => (i32::MIN as i64, i32::MAX as i64),
            DType::I64 => (i64::MIN, i64::MAX),
            _ => return Ok(()),
        };
        let fits = match s {
            // A float fits if it truncates into the range: c10 accepts the
            // open interval (lo - 1, hi + 1), and no NaN or infinity.
            Scalar::Float(v) if self == DType::U8 => (0.0..256.0).contains(&v),
            Scalar::Float(v) => v > lo as f64 - 1.0 && v < hi as f64 + 1.0,
            Scalar::Int(i) => (lo..=hi).contains(&i),
            Scalar::Bool(_) => true,
        };
        if !fits {
            crate::bail!(Runtime, "value cannot be converted to type {name} without overflow");
        }
        Ok(())
    }

    /// The C type name `full` and `fill_` use in overflow messages.
    pub fn overflow_name(self) -> &'static str {
        match self {
            DType::U8 => "uint8_t",
            DType::I8 => "int8_t",
            DType::I16 => "int16_t",
            DType::I32 => "int",
            other => other.name(),
        }
    }

    /// Whether a value of type `self` may be written into a tensor of type
    /// `to` by an in-place op (PyTorch's `canCast`: no float to integer or
    /// bool, no integer to bool).
    pub fn can_cast_to(self, to: DType) -> bool {
        !((self.is_float() && !to.is_float()) || (self != DType::Bool && to == DType::Bool))
    }
}

/// PyTorch's promotion table: the larger type in the order bool < uint8 <
/// int8 < int16 < int32 < int64 < float16 < bfloat16 < float32 < float64,
/// except that uint8 with int8 gives int16 and float16 with bfloat16 gives
/// float32 (neither holds the other's values).
pub fn promote(a: DType, b: DType) -> DType {
    match (a.min(b), a.max(b)) {
        (DType::U8, DType::I8) => DType::I16,
        (DType::F16, DType::BF16) => DType::F32,
        (_, hi) => hi,
    }
}

/// A Python number taking part in an op.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl Scalar {
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as i64 as f64,
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) => f,
        }
    }

    /// The dtype a wrapped number contributes to type promotion.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::Int(_) => DType::I64,
            Scalar::Float(_) => DEFAULT_FLOAT,
        }
    }
}

/// Accumulates operands the way `at::native::result_type` does: tensors with
/// dimensions dominate zero-dim tensors, which dominate Python numbers, except
/// when a lower class holds a higher category (e.g. `int_tensor * 2.5` is float).
#[derive(Default, Clone, Copy)]
pub struct ResultType {
    dim: Option<DType>,
    zero_dim: Option<DType>,
    wrapped: Option<DType>,
}

fn promote_opt(a: Option<DType>, b: DType) -> Option<DType> {
    Some(a.map_or(b, |a| promote(a, b)))
}

fn combine_categories(higher: Option<DType>, lower: Option<DType>) -> Option<DType> {
    match (higher, lower) {
        (Some(h), _) if h.is_float() => Some(h),
        (Some(h), Some(l)) if h == DType::Bool || l.is_float() => Some(promote(h, l)),
        (Some(h), _) => Some(h),
        (None, l) => l,
    }
}

impl ResultType {
    pub fn tensor(mut self, dtype: DType, ndim: usize) -> Self {
        if ndim == 0 {
            self.zero_dim = promote_opt(self.zero_dim, dtype);
        } else {
            self.dim = promote_opt(self.dim, dtype);
        }
        self
    }

    pub fn scalar(mut self, s: Scalar) -> Self {
        self.wrapped = promote_opt(self.wrapped, s.dtype());
        self
    }

    pub fn get(self) -> DType {
        combine_categories(self.dim, combine_categories(self.zero_dim, self.wrapped))
            .unwrap_or(DEFAULT_FLOAT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_follows_pytorch() {
        let rt = |f: fn(ResultType) -> ResultType| f(ResultType::default()).get();
        assert_eq!(rt(|r| r.tensor(DType::I64, 1).scalar(Scalar::Float(2.5))), DType::F32);
        assert_eq!(rt(|r| r.tensor(DType::F32, 1).tensor(DType::F64, 0)), DType::F32);
        assert_eq!(rt(|r| r.tensor(DType::I64, 1).tensor(DType::F64, 0)), DType::F64);
        assert_eq!(rt(|r| r.tensor(DType::F32, 1).tensor(DType::F64, 1)), DType::F64);
        assert_eq!(rt(|r| r.tensor(DType::I64, 1).scalar(Scalar::Int(2))), DType::I64);
        assert_eq!(rt(|r| r.tensor(DType::Bool, 1).scalar(Scalar::Int(2))), DType::I64);
        assert_eq!(rt(|r| r.tensor(DType::F64, 0).scalar(Scalar::Float(1.0))), DType::F64);
        assert_eq!(rt(|r| r.tensor(DType::I8, 1).scalar(Scalar::Int(300))), DType::I8);
        assert_eq!(rt(|r| r.tensor(DType::U8, 1).tensor(DType::I64, 0)), DType::U8);
        assert_eq!(rt(|r| r.tensor(DType::I32, 1).tensor(DType::F16, 0)), DType::F16);
        assert_eq!(rt(|r| r.tensor(DType::F16, 1).scalar(Scalar::Float(0.1))), DType::F16);
    }

    #[test]
    fn promotion_table_special_pairs() {
        assert_eq!(promote(DType::U8, DType::I8), DType::I16);
        assert_eq!(promote(DType::BF16, DType::F16), DType::F32);
        assert_eq!(promote(DType::U8, DType::I32), DType::I32);
        assert_eq!(promote(DType::I64, DType::F16), DType::F16);
        assert_eq!(promote(DType::Bool, DType::U8), DType::U8);
    }
}
