//! `matmul` / `@` with NumPy semantics: 1-D operands are promoted to
//! matrices and the added dimension removed from the result; leading
//! dimensions broadcast as a batch.

use super::{result_type, view, Arg};
use crate::autograd::node::present;
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

/// Each operand is saved only if the other one needs a gradient (PyTorch's
/// `mm` saves `self` for `mat2`'s gradient and `mat2` for `self`'s), so an
/// operand changed in place after the product breaks nothing that doesn't
/// read it. The shapes, and whether each matrix is a transposed dense one,
/// are kept from the forward.
struct MatmulBackward {
    name: &'static str,
    saved_as: [&'static str; 2],
    a: Option<SavedTensor>,
    b: Option<SavedTensor>,
    /// The operands' shapes as matrices (1-D promoted) and as given.
    shapes2: [Shape; 2],
    shapes: [Shape; 2],
    /// `is_transposed_matrix` of each operand, against the other.
    transposed: [bool; 2],
}

impl BackwardFn for MatmulBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        present([(self.saved_as[0], self.a.as_ref()), (self.saved_as[1], self.b.as_ref())])
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
        let [sa, sb] = &self.shapes2;
        let operand = |saved: &Option<SavedTensor>, shape2: &Shape| -> Result<Tensor> {
            let t = saved.as_ref().expect("saved where the other operand needs a gradient").get()?;
            view::reshape_to(&t, shape2)
        };
        // The gradient in the promoted (matrix) shape of the result.
        let (ra, rb) = (sa.len(), sb.len());
        let mut shape2 = broadcast_shapes(&sa[..ra - 2], &sb[..rb - 2])?;
        shape2.extend([sa[ra - 2], sb[rb - 1]]);
        let g2 = view::reshape_to(grad, &shape2)?;
        let t = view::transpose_last2;
        let ga = if needs[0] {
            let b2 = operand(&self.b, sb)?;
            // A transposed matrix (Linear's weight as `x @ W.T`) gets its
            // gradient in its own layout, as PyTorch's mm backward does: the
            // leaf then takes it without a transposing copy.
            let g = if self.transposed[0] { t(&matmul(&b2, &t(&g2)?)?)? } else { matmul(&g2, &t(&b2)?)? };
            Some(view::reshape_to(&sum_to(&g, sa)?, &self.shapes[0])?)
        } else {
            None
        };
        let gb = if needs[1] {
            let a2 = operand(&self.a, sa)?;
            let g = if self.transposed[1] { t(&matmul(&t(&g2)?, &a2)?)? } else { matmul(&t(&a2)?, &g2)? };
            Some(view::reshape_to(&sum_to(&g, sb)?, &self.shapes[1])?)
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
    record(out, &[a, b], |needs| MatmulBackward {
        name,
        saved_as,
        a: needs[1].then(|| SavedTensor::new(a)),
        b: needs[0].then(|| SavedTensor::new(b)),
        shapes2: [a2.shape_vec(), b2.shape_vec()],
        shapes: [a.shape_vec(), b.shape_vec()],
        transposed: [is_transposed_matrix(&a2, &b2), is_transposed_matrix(&b2, &a2)],
    })
}
