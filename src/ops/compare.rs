//! Comparisons: bool results, no gradient.

use super::binary::{cast_arg, with_operands};
use super::{result_type, Arg};
use crate::cpu_backend;
use crate::error::Result;
use crate::layout::{broadcast_shapes, Layout};
use crate::op_traits::CmpOpT;
use crate::tensor::Tensor;

macro_rules! comparison {
    ($fn_name:ident, $kernel:ident, $op:tt) => {
        #[derive(Clone, Copy)]
        pub struct $kernel;
        impl CmpOpT for $kernel {
            const KERNEL: &'static str = stringify!($fn_name);
            fn apply<T: PartialOrd>(self, a: T, b: T) -> bool {
                a $op b
            }
        }

        pub fn $fn_name<'a>(a: &'a Tensor, b: impl Into<Arg<'a>>) -> Result<Tensor> {
            compare($kernel, Arg::Tensor(a), b.into())
        }
    };
}

comparison!(lt, LtKernel, <);
comparison!(le, LeKernel, <=);
comparison!(gt, GtKernel, >);
comparison!(ge, GeKernel, >=);
comparison!(eq, EqKernel, ==);
comparison!(ne, NeKernel, !=);

fn compare<O: CmpOpT>(op: O, a: Arg, b: Arg) -> Result<Tensor> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let dtype = result_type(a, b);
    let (ca, cb) = (cast_arg(a, dtype)?, cast_arg(b, dtype)?);
    let out = Layout::contiguous(&shape);
    let data = with_operands(&ca, &cb, |x, y| cpu_backend::compare(op, x, y, &out, dtype));
    Ok(Tensor::from_cpu(data, &shape))
}
