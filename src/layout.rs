//! Shapes and strided layouts. A tensor is a view into its storage: element
//! `idx` lives at `offset + sum(idx[d] * strides[d])`. Views (transpose,
//! expand, unsqueeze, reshape of contiguous data) only change the layout and
//! so share storage with their base.

use smallvec::SmallVec;

use crate::bail;
use crate::error::Result;

pub type Shape = SmallVec<[usize; 4]>;
pub type Strides = SmallVec<[isize; 4]>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub shape: Shape,
    pub strides: Strides,
    pub offset: usize,
}

/// Checks that a tensor of `shape` with `itemsize`-byte elements has a size
/// that fits an allocation (at most `isize::MAX` bytes), with PyTorch's
/// RuntimeError otherwise; shapes from Python pass here before anything is
/// allocated or indexed, so a huge shape is an error, not a panic.
pub fn check_size(shape: &[usize], itemsize: usize) -> crate::error::Result<()> {
    let fits = |b: Option<usize>| b.is_some_and(|b| b <= isize::MAX as usize);
    if !fits(shape.iter().try_fold(itemsize.max(1), |acc, &n| acc.checked_mul(n))) {
        crate::bail!(Runtime, "Storage size calculation overflowed with sizes={}", format_dims(shape));
    }
    // Strides count empty dims as 1, so an empty tensor can still overflow
    // them (`empty(0, 2**40, 2**40)`), as in PyTorch.
    if !fits(shape.iter().try_fold(itemsize.max(1), |acc, &n| acc.checked_mul(n.max(1)))) {
        crate::bail!(Runtime, "Stride calculation overflowed");
    }
    Ok(())
}

fn format_dims(shape: &[usize]) -> String {
    format!("[{}]", shape.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "))
}

/// Checks that `bytes` can be allocated now, as PyTorch's CPU allocator
/// reports it (RuntimeError), instead of Rust's abort on a failed
/// allocation: the memory is reserved and released untouched.
pub fn check_allocation(numel: usize, itemsize: usize) -> crate::error::Result<()> {
    let bytes = numel.saturating_mul(itemsize);
    // Small requests cannot fail in a way worth probing for.
    if bytes < (1 << 30) {
        return Ok(());
    }
    if Vec::<u8>::new().try_reserve_exact(bytes).is_err() {
        crate::bail!(Runtime, "{}: you tried to allocate {bytes} bytes.", crate::cpu_backend::OUT_OF_MEMORY);
    }
    Ok(())
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

pub fn contiguous_strides(shape: &[usize]) -> Strides {
    let mut strides: Strides = smallvec::smallvec![0; shape.len()];
    let mut acc = 1isize;
    for d in (0..shape.len()).rev() {
        strides[d] = acc;
        acc *= shape[d].max(1) as isize;
    }
    strides
}

/// Wraps a possibly negative dimension index, with PyTorch's error.
pub fn normalize_dim(dim: i64, ndim: usize) -> Result<usize> {
    let n = ndim.max(1) as i64;
    if dim < -n || dim >= n {
        bail!(
            Index,
            "Dimension out of range (expected to be in range of [{}, {}], but got {})",
            -n,
            n - 1,
            dim
        );
    }
    Ok(if dim < 0 { (dim + n) as usize } else { dim as usize })
}

/// `normalize_dim` for ops that do not treat a 0-d tensor as 1-D (PyTorch's
/// `wrap_scalar=false`: `size(0)`, `unbind(0)` of a 0-d tensor fail).
pub fn normalize_dim_strict(dim: i64, ndim: usize) -> Result<usize> {
    if ndim == 0 {
        bail!(Index, "Dimension specified as {dim} but tensor has no dimensions");
    }
    normalize_dim(dim, ndim)
}

/// NumPy-style broadcasting of two shapes, with PyTorch's message on mismatch.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Shape> {
    if a == b {
        return Ok(a.into());
    }
    let n = a.len().max(b.len());
    let mut out: Shape = smallvec::smallvec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            (x, y) => bail!(
                Runtime,
                "The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton dimension {i}"
            ),
        };
    }
    Ok(out)
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Layout {
        Layout { shape: shape.into(), strides: contiguous_strides(shape), offset: 0 }
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// Row-major and dense: the elements are `storage[offset..offset + numel]`.
    pub fn is_contiguous(&self) -> bool {
        if self.numel() == 0 {
            return true;
        }
        let mut expected = 1isize;
        for d in (0..self.shape.len()).rev() {
            if self.shape[d] != 1 && self.strides[d] != expected {
                return false;
            }
            expected *= self.shape[d] as isize;
        }
        true
    }

    /// Whether two elements share one memory location (an expanded view);
    /// such tensors cannot be written in place.
    pub fn has_internal_overlap(&self) -> bool {
        self.shape.iter().zip(&self.strides).any(|(&s, &st)| s > 1 && st == 0)
    }

    pub fn transpose(&self, d0: usize, d1: usize) -> Layout {
        let mut l = self.clone();
        l.shape.swap(d0, d1);
        l.strides.swap(d0, d1);
        l
    }

    pub fn unsqueeze(&self, dim: usize) -> Layout {
        let mut l = self.clone();
        let stride = if dim < l.ndim() { l.strides[dim] * l.shape[dim] as isize } else { 1 };
        l.shape.insert(dim, 1);
        l.strides.insert(dim, stride);
        l
    }

    pub fn squeeze(&self, dim: usize) -> Layout {
        let mut l = self.clone();
        if l.shape[dim] == 1 {
            l.shape.remove(dim);
            l.strides.remove(dim);
        }
        l
    }

    /// A broadcast view to `shape` (stride 0 along expanded dimensions), with
    /// PyTorch's `expand` error on incompatible sizes.
    pub fn expand(&self, shape: &[usize]) -> Result<Layout> {
        if shape.len() < self.ndim() {
            bail!(
                Runtime,
                "expand(torch.FloatTensor{{[{}]}}, size=[{}]): the number of sizes provided ({}) must be greater or equal to the number of dimensions in the tensor ({})",
                join(&self.shape),
                join(shape),
                shape.len(),
                self.ndim()
            );
        }
        let lead = shape.len() - self.ndim();
        let mut strides: Strides = smallvec::smallvec![0; shape.len()];
        // Checked from the last dimension, so the error names the rightmost
        // mismatch, as PyTorch's does.
        for i in (0..self.ndim()).rev() {
            let (have, want) = (self.shape[i], shape[lead + i]);
            strides[lead + i] = if have == want {
                self.strides[i]
            } else if have == 1 {
                0
            } else {
                bail!(
                    Runtime,
                    "The expanded size of the tensor ({want}) must match the existing size ({have}) at non-singleton dimension {}.  Target sizes: [{}].  Tensor sizes: [{}]",
                    lead + i,
                    join(shape),
                    join(&self.shape)
                );
            };
        }
        Ok(Layout { shape: shape.into(), strides, offset: self.offset })
    }

    /// The same elements under a new shape, when that needs no copy
    /// (PyTorch's `computeStride`: each run of dimensions that is dense in
    /// memory may be split or merged freely).
    pub fn view_as(&self, shape: &[usize]) -> Option<Layout> {
        let with = |strides| Some(Layout { shape: shape.into(), strides, offset: self.offset });
        if self.is_contiguous() {
            return with(contiguous_strides(shape));
        }
        let (old, old_strides) = (&self.shape, &self.strides);
        let mut strides: Strides = smallvec::smallvec![0; shape.len()];
        let mut view_d = shape.len() as isize - 1;
        let mut chunk_base = *old_strides.last()?;
        let (mut tensor_numel, mut view_numel) = (1usize, 1usize);
        for d in (0..old.len()).rev() {
            tensor_numel *= old[d];
            let chunk_ends = d == 0 || (old[d - 1] != 1 && old_strides[d - 1] != tensor_numel as isize * chunk_base);
            if chunk_ends {
                while view_d >= 0 && (view_numel < tensor_numel || shape[view_d as usize] == 1) {
                    strides[view_d as usize] = view_numel as isize * chunk_base;
                    view_numel *= shape[view_d as usize];
                    view_d -= 1;
                }
                if view_numel != tensor_numel {
                    return None;
                }
                if d > 0 {
                    chunk_base = old_strides[d - 1];
                    tensor_numel = 1;
                    view_numel = 1;
                }
            }
        }
        if view_d != -1 {
            return None;
        }
        with(strides)
    }

    /// Storage offsets of every element in row-major order.
    pub fn offsets(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.numel();
        let nd = self.ndim();
        let mut index: Shape = smallvec::smallvec![0; nd];
        let mut pos = self.offset as isize;
        (0..n).map(move |i| {
            let here = pos as usize;
            if i + 1 < n {
                for d in (0..nd).rev() {
                    index[d] += 1;
                    pos += self.strides[d];
                    if index[d] < self.shape[d] {
                        break;
                    }
                    pos -= self.strides[d] * self.shape[d] as isize;
                    index[d] = 0;
                }
            }
            here
        })
    }
}

pub fn join(shape: &[usize]) -> String {
    shape.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
}

/// Resolves a `reshape`/`view` request with at most one `-1`.
pub fn infer_shape(request: &[i64], numel_: usize) -> Result<Shape> {
    let mut infer = None;
    let mut known = 1usize;
    for (i, &s) in request.iter().enumerate() {
        match s {
            -1 if infer.is_none() => infer = Some(i),
            -1 => bail!(Runtime, "only one dimension can be inferred"),
            s if s < 0 => bail!(
                Runtime,
                "invalid shape dimension {s} at index {i} of shape [{}]",
                request.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
            ),
            // A product past usize can't match any element count.
            s => known = known.saturating_mul(s as usize),
        }
    }
    let mut shape: Shape = request.iter().map(|&s| s.max(0) as usize).collect();
    match infer {
        Some(i) if known != 0 && numel_ % known == 0 => shape[i] = numel_ / known,
        None if known == numel_ => {}
        _ => bail!(
            Runtime,
            "shape '[{}]' is invalid for input of size {numel_}",
            request.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_walk_a_transposed_view_in_row_major_order() {
        let l = Layout::contiguous(&[2, 3]).transpose(0, 1);
        assert_eq!(l.offsets().collect::<Vec<_>>(), vec![0, 3, 1, 4, 2, 5]);
        assert!(!l.is_contiguous());
    }

    #[test]
    fn broadcasting_matches_numpy_and_reports_pytorch_errors() {
        assert_eq!(broadcast_shapes(&[3, 1], &[4]).unwrap().as_slice(), &[3, 4]);
        let err = broadcast_shapes(&[3], &[4]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0"
        );
    }

    #[test]
    fn expand_uses_zero_strides() {
        let l = Layout::contiguous(&[3, 1]).expand(&[2, 3, 4]).unwrap();
        assert_eq!(l.strides.as_slice(), &[0, 1, 0]);
        assert!(l.has_internal_overlap());
    }

    #[test]
    fn views_of_strided_layouts_follow_dense_runs() {
        let t = Layout::contiguous(&[2, 3]).transpose(0, 1); // (3, 2), strides (1, 3)
        assert_eq!(t.view_as(&[3, 2]).unwrap().strides.as_slice(), &[1, 3]);
        assert_eq!(t.view_as(&[3, 1, 2]).unwrap().strides.as_slice(), &[1, 6, 3], "as PyTorch");
        assert!(t.view_as(&[6]).is_none(), "not one dense run");
    }

    #[test]
    fn infer_shape_fills_minus_one() {
        assert_eq!(infer_shape(&[-1, 4], 12).unwrap().as_slice(), &[3, 4]);
        assert!(infer_shape(&[5, -1], 12).is_err());
    }
}
