//! Joining tensors: `cat` along an existing dimension and `stack` along a
//! new one. The gradient of each input is its slice of the output's.

use super::index::{index, IndexItem};
use super::to_dtype;
use crate::autograd::{record, BackwardFn, Grads};
use crate::bail;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::{join, normalize_dim, Shape};
use crate::tensor::Tensor;

/// The items selecting `start..stop` of dimension `dim`.
fn slice_items(dim: usize, start: usize, stop: usize) -> Vec<IndexItem> {
    let mut items = vec![IndexItem::Slice { start: None, stop: None, step: None }; dim];
    items.push(IndexItem::Slice { start: Some(start as i64), stop: Some(stop as i64), step: None });
    items
}

struct CatBackward {
    /// `CatBackward0`, or `StackBackward0` (whose inputs gained `dim`).
    name: &'static str,
    dim: usize,
    /// Each input's extent along `dim` (`None`: a skipped empty 1-D input).
    sizes: Vec<Option<usize>>,
}

impl BackwardFn for CatBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
        let stacked = self.name == "StackBackward0";
        let mut offset = 0;
        let mut grads = Grads::new();
        for (size, &need) in self.sizes.iter().zip(needs) {
            grads.push(match size {
                Some(n) => {
                    let part = need
                        .then(|| match stacked {
                            true => index(grad, &select_items(self.dim, offset)),
                            false => index(grad, &slice_items(self.dim, offset, offset + n)),
                        })
                        .transpose()?;
                    offset += n;
                    part
                }
                // A skipped empty 1-D input still gets its (empty) gradient.
                None => need.then(|| Tensor::full(&[0], Scalar::Int(0), grad.dtype())),
            });
        }
        Ok(grads)
    }
    fn saves_tensors(&self) -> bool {
        false
    }
}

/// The items selecting index `i` of dimension `dim`.
fn select_items(dim: usize, i: usize) -> Vec<IndexItem> {
    let mut items = vec![IndexItem::Slice { start: None, stop: None, step: None }; dim];
    items.push(IndexItem::Int(i as i64));
    items
}

/// `torch.cat(tensors, dim)`: inputs of one shape but along `dim`, promoted
/// to a common dtype. Legacy empty 1-D inputs (`torch.tensor([])`) are
/// skipped, as in PyTorch.
pub fn cat(tensors: &[Tensor], dim: i64) -> Result<Tensor> {
    let (out, d, sizes) = concatenate(tensors, dim)?;
    let inputs: Vec<&Tensor> = tensors.iter().collect();
    record(out, &inputs, |_| CatBackward { name: "CatBackward0", dim: d, sizes })
}

/// `cat`'s values without history: the result, the resolved dimension and
/// each input's extent along it.
fn concatenate(tensors: &[Tensor], dim: i64) -> Result<(Tensor, usize, Vec<Option<usize>>)> {
    if tensors.is_empty() {
        bail!(Runtime, "torch.cat(): expected a non-empty list of Tensors");
    }
    let skipped = |t: &Tensor| t.ndim() == 1 && t.numel() == 0;
    let dtype = tensors.iter().map(Tensor::dtype).fold(DType::Bool, |a, b| crate::dtype::promote(a, b));
    let Some(first) = tensors.iter().find(|t| !skipped(t)) else {
        // Only empty 1-D inputs: a new empty tensor (never an alias of one).
        return Ok((Tensor::full(&[0], crate::dtype::Scalar::Int(0), dtype), 0, vec![None; tensors.len()]));
    };
    if first.ndim() == 0 {
        bail!(Runtime, "zero-dimensional tensor (at position {}) cannot be concatenated", tensors.iter().position(|t| t.ndim() == 0).unwrap_or(0));
    }
    let d = normalize_dim(dim, first.ndim())?;
    let mut shape: Shape = first.shape_vec();
    shape[d] = 0;
    for (i, t) in tensors.iter().enumerate() {
        if skipped(t) {
            continue;
        }
        if t.ndim() != first.ndim() {
            bail!(Runtime, "Tensors must have same number of dimensions: got {} and {}", first.ndim(), t.ndim());
        }
        for k in 0..t.ndim() {
            if k != d && t.shape()[k] != first.shape()[k] {
                bail!(
                    Runtime,
                    "Sizes of tensors must match except in dimension {d}. Expected size {} but got size {} for tensor number {i} in the list.",
                    first.shape()[k],
                    t.shape()[k]
                );
            }
        }
        shape[d] += t.shape()[d];
    }
    let layout = crate::layout::Layout::contiguous(&shape);
    let mut data = crate::cpu_backend::CpuStorage::filled(dtype, crate::layout::numel(&shape), Scalar::Int(0));
    let mut offset = 0;
    let mut sizes = Vec::with_capacity(tensors.len());
    for t in tensors {
        if skipped(t) {
            sizes.push(None);
            continue;
        }
        let n = t.shape()[d];
        let part = super::index::index_layout(&layout, &slice_items(d, offset, offset + n))?;
        crate::cpu_backend::write_strided(&mut data, &part, &to_dtype(&t.detach(), dtype)?.to_dense());
        sizes.push(Some(n));
        offset += n;
    }
    Ok((Tensor::from_cpu(data, &shape), d, sizes))
}

/// `torch.stack(tensors, dim)`: inputs of one shape joined along a new
/// dimension.
pub fn stack(tensors: &[Tensor], dim: i64) -> Result<Tensor> {
    let Some(first) = tensors.first() else { bail!(Runtime, "stack expects a non-empty TensorList") };
    for (i, t) in tensors.iter().enumerate() {
        if t.shape() != first.shape() {
            bail!(
                Runtime,
                "stack expects each tensor to be equal size, but got [{}] at entry 0 and [{}] at entry {i}",
                join(first.shape()),
                join(t.shape())
            );
        }
    }
    let d = normalize_dim(dim, first.ndim() + 1)?;
    let parts: Vec<Tensor> = tensors.iter().map(|t| t.detach().view_with(t.layout().unsqueeze(d))).collect();
    let (out, _, sizes) = concatenate(&parts, d as i64)?;
    let inputs: Vec<&Tensor> = tensors.iter().collect();
    record(out, &inputs, |_| CatBackward { name: "StackBackward0", dim: d, sizes })
}
