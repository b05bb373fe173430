//! Element types, Python-style scalars, and PyTorch's type-promotion rules.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    I64,
    F32,
    F64,
}

/// What PyTorch calls the default dtype: the type of `torch.ones(3)` and of a
/// Python float mixed with integer tensors.
pub const DEFAULT_FLOAT: DType = DType::F32;

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I64 => "int64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// The legacy name used in messages such as `torch.FloatTensor` or
    /// "result type Float can't be cast ...".
    pub fn scalar_name(self) -> &'static str {
        match self {
            DType::Bool => "Bool",
            DType::I64 => "Long",
            DType::F32 => "Float",
            DType::F64 => "Double",
        }
    }

    /// The C type name PyTorch uses in some messages (`float`, `long`).
    pub fn c_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I64 => "long",
            DType::F32 => "float",
            DType::F64 => "double",
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// Whether a value of type `self` may be written into a tensor of type
    /// `to` by an in-place op (PyTorch's `canCast`).
    pub fn can_cast_to(self, to: DType) -> bool {
        match (self, to) {
            (DType::F32 | DType::F64, DType::I64 | DType::Bool) => false,
            (DType::I64, DType::Bool) => false,
            _ => true,
        }
    }
}

/// The larger of two types in the lattice bool < int64 < float32 < float64.
pub fn promote(a: DType, b: DType) -> DType {
    a.max(b)
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
    }
}
