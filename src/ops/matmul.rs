//! `matmul` / `@` with NumPy semantics: 1-D operands are promoted to
//! matrices and the added dimension removed from the result; leading
//! dimensions broadcast as a batch.

use super::{result_type, view, Arg};
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::bail;
use crate::cpu_backend;
use crate::error::Result;
use crate::layout::{broadcast_shapes, Shape};
use crate::ops::reduce::sum_to;
use crate::tensor::Tensor;

/// PyTorch's error for operands that cannot be multiplied, per case.
fn shape_error(a: &[usize], b: &[usize]) -> crate::error::Error {
    let msg = match (a.len(), b.len()) {
        (1, 1) => format!(
            "inconsistent tensor size, expected tensor [{}] and src [{}] to have the same number of elements, but got {} and {} elements respectively",
            a[0], b[0], a[0], b[0]
        ),
        (2, 1) => format!("size mismatch, got input ({}), mat ({}x{}), vec ({})", a[0], a[0], a[1], b[0]),
        (1, 2) => format!("mm: mat1 and mat2 shapes cannot be multiplied (1x{} and {}x{})", a[0], b[0], b[1]),
        (2, 2) => format!("mm: mat1 and mat2 shapes cannot be multiplied ({}x{} and {}x{})", a[0], a[1], b[0], b[1]),
        (_, 1) => {
            let rows: usize = a[..a.len() - 1].iter().product();
            format!("size mismatch, got input ({rows}), mat ({rows}x{}), vec ({})", a[a.len() - 1], b[0])
        }
        _ => {
            let (an, bn) = (a.len(), b.len());
            let batch: usize = a[..an.saturating_sub(2)].iter().product::<usize>().max(1);
            let k = a[an - 1];
            format!(
                "Expected size for first two dimensions of batch2 tensor to be: [{batch}, {k}] but got: [{batch}, {}].",
                b[bn - 2]
            )
        }
    };
    crate::error::Error::Runtime(msg)
}

/// PyTorch's node name for each operand-rank case, and the names its
/// saved operands go by (a vector times a matrix is `mm` then `squeeze_`).
fn node_names(a: usize, b: usize) -> (&'static str, [&'static str; 2]) {
    match (a, b) {
        (1, 1) => ("DotBackward0", ["self", "tensor"]),
        (2, 1) => ("MvBackward0", ["self", "vec"]),
        (2, 2) => ("MmBackward0", ["self", "mat2"]),
        _ => ("UnsafeViewBackward0", ["self", "mat2"]),
    }
}

struct MatmulBackward {
    name: &'static str,
    saved_as: [&'static str; 2],
    a: SavedTensor,
    b: SavedTensor,
}

impl BackwardFn for MatmulBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        vec![(self.saved_as[0], &self.a), (self.saved_as[1], &self.b)]
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
        let (a, b) = (&self.a.get()?, &self.b.get()?);
        let (a2, b2) = (as_matrix_lhs(a)?, as_matrix_rhs(b)?);
        // The gradient in the promoted (matrix) shape of the result.
        let (ra, rb) = (a2.ndim(), b2.ndim());
        let mut shape2 = broadcast_shapes(&a2.shape()[..ra - 2], &b2.shape()[..rb - 2])?;
        shape2.extend([a2.shape()[ra - 2], b2.shape()[rb - 1]]);
        let g2 = view::reshape_to(grad, &shape2)?;
        let t = view::transpose_last2;
        let ga = if needs[0] {
            // A transposed matrix (Linear's weight as `x @ W.T`) gets its
            // gradient in its own layout, as PyTorch's mm backward does: the
            // leaf then takes it without a transposing copy.
            let g = if is_transposed_matrix(&a2, &b2) { t(&matmul(&b2, &t(&g2)?)?)? } else { matmul(&g2, &t(&b2)?)? };
            Some(view::reshape_to(&sum_to(&g, a2.shape())?, a.shape())?)
        } else {
            None
        };
        let gb = if needs[1] {
            let g = if is_transposed_matrix(&b2, &a2) { t(&matmul(&t(&g2)?, &a2)?)? } else { matmul(&t(&a2)?, &g2)? };
            Some(view::reshape_to(&sum_to(&g, b2.shape())?, b.shape())?)
        } else {
            None
        };
        Ok(smallvec::smallvec![ga, gb])
    }
}

/// Whether `m` is a column-major matrix (the transpose of a dense one) in a
/// product of two matrices without batch dimensions.
fn is_transposed_matrix(m: &Tensor, other: &Tensor) -> bool {
    m.ndim() == 2 && other.ndim() == 2 && !m.layout().is_contiguous() && m.layout().transpose(0, 1).is_contiguous()
}

fn as_matrix_lhs(a: &Tensor) -> Result<Tensor> {
    if a.ndim() == 1 { view::unsqueeze(a, 0) } else { Ok(a.clone()) }
}

fn as_matrix_rhs(b: &Tensor) -> Result<Tensor> {
    if b.ndim() == 1 { view::unsqueeze(b, 1) } else { Ok(b.clone()) }
}

pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (an, bn) = (a.ndim(), b.ndim());
    if an == 0 || bn == 0 {
        bail!(Runtime, "both arguments to matmul need to be at least 1D, but they are {an}D and {bn}D");
    }
    let k_a = a.shape()[an - 1];
    let k_b = if bn == 1 { b.shape()[0] } else { b.shape()[bn - 2] };
    if k_a != k_b {
        return Err(shape_error(a.shape(), b.shape()));
    }
    let dtype = result_type(Arg::Tensor(a), Arg::Tensor(b));
    if dtype == crate::dtype::DType::Bool {
        bail!(NotImplemented, "\"addmm_impl_cpu_\" not implemented for 'Bool'");
    }
    if a.dtype() != b.dtype() {
        match (an, bn) {
            (1, 1) => bail!(
                Runtime,
                "dot : expected both vectors to have same dtype, but found {} and {}",
                a.dtype().scalar_name(),
                b.dtype().scalar_name()
            ),
            _ => bail!(
                Runtime,
                "expected m1 and m2 to have the same dtype, but got: {} != {}",
                a.dtype().c_name(),
                b.dtype().c_name()
            ),
        }
    }
    if an == 1 && bn == 2 {
        // PyTorch's `mm(a.unsqueeze(0), b).squeeze_(0)`, both nodes recorded.
        return view::squeeze_result(&matmul(&view::unsqueeze(a, 0)?, b)?, 0);
    }
    // Promote to matrices (views, no history needed: the node covers it).
    let a2 = a.detach().view_with(if an == 1 { a.layout().unsqueeze(0) } else { a.layout().clone() });
    let b2 = b.detach().view_with(if bn == 1 { b.layout().unsqueeze(1) } else { b.layout().clone() });
    let (ra, rb) = (a2.ndim(), b2.ndim());
    let batch = broadcast_shapes(&a2.shape()[..ra - 2], &b2.shape()[..rb - 2])?;
    let (n, k, m) = (a2.shape()[ra - 2], a2.shape()[ra - 1], b2.shape()[rb - 1]);
    let mut sa: Shape = batch.clone();
    sa.extend([n, k]);
    let mut sb: Shape = batch.clone();
    sb.extend([k, m]);
    let (la, lb) = (a2.layout().expand(&sa)?, b2.layout().expand(&sb)?);
    let data = a2.with_cpu(|da, _| b2.with_cpu(|db, _| cpu_backend::matmul(da, &la, db, &lb)));
    let mut out_shape: Shape = batch;
    if an > 1 {
        out_shape.push(n);
    }
    if bn > 1 {
        out_shape.push(m);
    }
    let out = Tensor::from_cpu(data, &out_shape);
    let (name, saved_as) = node_names(an, bn);
    record(out, &[a, b], |_| MatmulBackward { name, saved_as, a: SavedTensor::new(a), b: SavedTensor::new(b) })
}
