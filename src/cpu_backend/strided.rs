//! Walking strided operands together as runs of evenly spaced elements.
//!
//! A kernel over views would otherwise pay an odometer step per element
//! (`Layout::offsets`). Here the operands' dimensions are first coalesced
//! (size-1 dimensions dropped, neighbours merged where every operand steps
//! evenly across them), and the kernel is called once per run of the
//! innermost dimension with each operand's start offset and stride, so its
//! inner loop is a plain, vectorisable loop: stride 1 for dense data, 0 for
//! a broadcast operand.

use crate::layout::{Shape, Strides};

/// `N` operands viewed over one shape (broadcast operands carry stride 0),
/// coalesced.
pub struct Strided<const N: usize> {
    shape: Shape,
    strides: [Strides; N],
    offsets: [usize; N],
}

impl<const N: usize> Strided<N> {
    /// Operand `k` has element `idx` at `offsets[k] + sum(idx[d] * strides[k][d])`.
    pub fn new(shape: &[usize], strides: [&[isize]; N], offsets: [usize; N]) -> Strided<N> {
        let mut dims: smallvec::SmallVec<[(usize, [isize; N]); 6]> = smallvec::SmallVec::new();
        for d in (0..shape.len()).rev() {
            if shape[d] == 1 {
                continue;
            }
            let s: [isize; N] = std::array::from_fn(|k| strides[k][d]);
            match dims.last_mut() {
                // Dimension d steps over the merged inner block exactly.
                Some((n, inner)) if (0..N).all(|k| s[k] == inner[k] * *n as isize) => *n *= shape[d],
                _ => dims.push((shape[d], s)),
            }
        }
        if shape.contains(&0) {
            dims = smallvec::smallvec![(0, [0; N])];
        }
        dims.reverse();
        Strided {
            shape: dims.iter().map(|d| d.0).collect(),
            strides: std::array::from_fn(|k| dims.iter().map(|d| d.1[k]).collect()),
            offsets,
        }
    }

    /// `n` dense elements of each operand: one run, no coalescing to do.
    pub fn flat(n: usize, offsets: [usize; N]) -> Strided<N> {
        Strided { shape: smallvec::smallvec![n], strides: std::array::from_fn(|_| smallvec::smallvec![1]), offsets }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The number of dimensions left after coalescing (0 for one element).
    #[cfg(test)]
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Calls `f(starts, len, steps)` for each run covering the elements
    /// `start..end` in row-major order; a run's `i`-th element of operand `k`
    /// is at `starts[k] + i * steps[k]`.
    pub fn runs(&self, start: usize, end: usize, mut f: impl FnMut([usize; N], usize, [isize; N])) {
        if start >= end {
            return;
        }
        let nd = self.shape.len();
        if nd == 0 {
            return f(self.offsets, 1, [0; N]);
        }
        let inner = self.shape[nd - 1];
        let steps: [isize; N] = std::array::from_fn(|k| self.strides[k][nd - 1]);
        // The multi-index of `start`, and each operand's offset there.
        let mut index: Shape = smallvec::smallvec![0; nd];
        let mut rest = start;
        for d in (0..nd).rev() {
            index[d] = rest % self.shape[d];
            rest /= self.shape[d];
        }
        let mut pos: [isize; N] = std::array::from_fn(|k| {
            self.offsets[k] as isize + (0..nd).map(|d| index[d] as isize * self.strides[k][d]).sum::<isize>()
        });
        let mut done = start;
        while done < end {
            let len = (inner - index[nd - 1]).min(end - done);
            f(std::array::from_fn(|k| pos[k] as usize), len, steps);
            done += len;
            if done >= end {
                break;
            }
            // Move to the start of the next run: the inner index wraps to 0
            // and the outer dims step like an odometer.
            for k in 0..N {
                pos[k] -= index[nd - 1] as isize * steps[k];
            }
            index[nd - 1] = 0;
            for d in (0..nd - 1).rev() {
                index[d] += 1;
                for k in 0..N {
                    pos[k] += self.strides[k][d];
                }
                if index[d] < self.shape[d] {
                    break;
                }
                for k in 0..N {
                    pos[k] -= self.strides[k][d] * self.shape[d] as isize;
                }
                index[d] = 0;
            }
        }
    }
}

/// A walk whose two innermost dims step `(1, col_step)`: a stack of
/// transposed matrices. Row `r`, column `c` of the matrix at `base` (one of
/// `outer`'s offsets) is element `base + r + c * col_step`.
pub struct Transposed {
    pub outer: Strided<1>,
    pub rows: usize,
    pub cols: usize,
    pub col_step: isize,
}

impl Strided<1> {
    /// This walk as a stack of transposed matrices, when it is one.
    pub fn transposed(&self) -> Option<Transposed> {
        let nd = self.shape.len();
        let st = &self.strides[0];
        if nd < 2 || st[nd - 2] != 1 || st[nd - 1] <= 1 {
            return None;
        }
        Some(Transposed {
            outer: Strided { shape: self.shape[..nd - 2].into(), strides: [st[..nd - 2].into()], offsets: self.offsets },
            rows: self.shape[nd - 2],
            cols: self.shape[nd - 1],
            col_step: st[nd - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

    fn collect<const N: usize>(s: &Strided<N>, start: usize, end: usize) -> Vec<[usize; N]> {
        let mut out = Vec::new();
        s.runs(start, end, |o, len, st| {
            for i in 0..len {
                out.push(std::array::from_fn(|k| (o[k] as isize + i as isize * st[k]) as usize));
            }
        });
        out
    }

    #[test]
    fn runs_visit_the_same_offsets_as_the_odometer() {
        let layouts = [
            Layout::contiguous(&[2, 3, 4]),
            Layout::contiguous(&[2, 3, 4]).transpose(0, 2),
            Layout::contiguous(&[3, 1]).expand(&[2, 3, 5]).unwrap(),
            Layout { shape: smallvec::smallvec![2, 1, 3], strides: smallvec::smallvec![9, 7, 2], offset: 4 },
            Layout::contiguous(&[]),
            Layout::contiguous(&[0, 3]),
        ];
        for l in &layouts {
            let s = Strided::new(&l.shape, [&l.strides], [l.offset]);
            let want: Vec<usize> = l.offsets().collect();
            assert_eq!(collect(&s, 0, l.numel()).concat(), want, "{l:?}");
            // Any sub-range, as a parallel chunk sees it.
            for (a, b) in [(1, 5), (3, 4), (5, 17)] {
                let (a, b) = (a.min(want.len()), b.min(want.len()));
                assert_eq!(collect(&s, a, b).concat(), want[a..b].to_vec(), "{l:?} {a}..{b}");
            }
        }
    }

    #[test]
    fn dense_and_broadcast_operands_coalesce_to_one_run_when_they_can() {
        let s = Strided::new(&[4, 8], [&[8, 1], &[8, 1]], [0, 0]);
        assert_eq!(s.ndim(), 1);
        let row = Strided::new(&[4, 8], [&[8, 1], &[0, 1]], [0, 0]);
        assert_eq!(row.ndim(), 2, "a broadcast row keeps the outer dim");
        let scalar = Strided::new(&[4, 8], [&[8, 1], &[0, 0]], [0, 0]);
        assert_eq!(scalar.ndim(), 1, "a broadcast scalar merges");
    }
}
