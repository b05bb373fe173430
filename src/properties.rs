//! Property tests of the geometry every op relies on: broadcasting,
//! strides and contiguity, `expand`, `view_as`, the coalesced runs kernels
//! walk, and basic indexing. Each property compares the code with a plain
//! model written from the definitions (NumPy's broadcasting rule, Python's
//! slice semantics, row-major order), over random shapes that include 0-d
//! and empty tensors, broadcast (stride 0) and transposed views, and
//! out-of-range or huge arguments, which must be errors, never panics.

use proptest::prelude::*;

use crate::cpu_backend::strided::Strided;
use crate::layout::{broadcast_shapes, contiguous_strides, infer_shape, normalize_dim, Layout};
use crate::ops::index::{index_layout, IndexItem};

fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..4, 0..5)
}

/// A view over some storage: a contiguous layout with its dims permuted,
/// some dims broadcast (stride 0), and an offset.
fn layout() -> impl Strategy<Value = Layout> {
    (shape(), any::<u64>(), 0usize..8).prop_map(|(shape, seed, offset)| {
        let mut l = Layout::contiguous(&shape);
        let n = l.ndim();
        let mut s = seed;
        for d in (1..n).rev() {
            l = l.transpose(d, (s % (d as u64 + 1)) as usize);
            s /= 7;
        }
        for d in 0..n {
            if s % 5 == 0 {
                l.strides[d] = 0;
            }
            s /= 3;
        }
        l.offset = offset;
        l
    })
}

/// Row-major multi-indices of `shape`.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &n in shape {
        out = out.into_iter().flat_map(|i| (0..n).map(move |k| [i.clone(), vec![k]].concat())).collect();
    }
    out
}

fn model_offsets(l: &Layout) -> Vec<usize> {
    indices(&l.shape)
        .iter()
        .map(|i| (l.offset as isize + i.iter().zip(&l.strides).map(|(&k, &s)| k as isize * s).sum::<isize>()) as usize)
        .collect()
}

fn model_broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= n { s[i + s.len() - n] } else { 1 };
    (0..n)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// Python's `range(n)[start:stop:step]` for `step > 0`.
fn model_slice(n: usize, start: Option<i64>, stop: Option<i64>, step: i64) -> Vec<usize> {
    let n = n as i128;
    let clamp = |v: i64| {
        let v = v as i128;
        if v < 0 { (v + n).max(0) } else { v.min(n) }
    };
    let (lo, hi) = (start.map_or(0, clamp), stop.map_or(n, clamp));
    let mut out = Vec::new();
    let mut i = lo;
    while i < hi {
        out.push(i as usize);
        i += step as i128;
    }
    out
}

/// The offsets `items` select, or `None` where indexing must fail.
fn model_index(l: &Layout, items: &[IndexItem]) -> Option<Vec<usize>> {
    let consumed = items.iter().filter(|i| matches!(i, IndexItem::Int(_) | IndexItem::Slice { .. })).count();
    let ellipses = items.iter().filter(|i| **i == IndexItem::Ellipsis).count();
    if consumed > l.ndim() || ellipses > 1 {
        return None;
    }
    // Per output dim: the (stride, positions) it walks; ints fold into the base.
    let mut base = l.offset as isize;
    let mut dims: Vec<(isize, Vec<usize>)> = Vec::new();
    let mut dim = 0;
    let take = |dims: &mut Vec<(isize, Vec<usize>)>, d: usize| dims.push((l.strides[d], (0..l.shape[d]).collect()));
    for item in items {
        match *item {
            IndexItem::Int(i) => {
                let n = l.shape[dim] as i64;
                if i < -n || i >= n {
                    return None;
                }
                base += (if i < 0 { i + n } else { i }) as isize * l.strides[dim];
                dim += 1;
            }
            IndexItem::Slice { start, stop, step } => {
                let step = step.unwrap_or(1);
                if step <= 0 {
                    return None;
                }
                dims.push((l.strides[dim], model_slice(l.shape[dim], start, stop, step)));
                dim += 1;
            }
            IndexItem::NewAxis => dims.push((0, vec![0])),
            IndexItem::Ellipsis => {
                for _ in 0..l.ndim() - consumed {
                    take(&mut dims, dim);
                    dim += 1;
                }
            }
        }
    }
    for d in dim..l.ndim() {
        take(&mut dims, d);
    }
    let shape: Vec<usize> = dims.iter().map(|d| d.1.len()).collect();
    Some(
        indices(&shape)
            .iter()
            .map(|i| (base + i.iter().zip(&dims).map(|(&k, (s, pos))| pos[k] as isize * s).sum::<isize>()) as usize)
            .collect(),
    )
}

fn index_item() -> impl Strategy<Value = IndexItem> {
    let bound = prop_oneof![-6i64..6, Just(i64::MIN), Just(i64::MAX)];
    let opt = || prop::option::of(prop_oneof![-6i64..6, Just(i64::MIN), Just(i64::MAX)]);
    let step = prop::option::of(prop_oneof![-1i64..4, Just(i64::MAX)]);
    prop_oneof![
        bound.prop_map(IndexItem::Int),
        (opt(), opt(), step).prop_map(|(start, stop, step)| IndexItem::Slice { start, stop, step }),
        Just(IndexItem::NewAxis),
        Just(IndexItem::Ellipsis),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn broadcasting_follows_numpys_rule(a in shape(), b in shape()) {
        let got = broadcast_shapes(&a, &b).ok().map(|s| s.to_vec());
        prop_assert_eq!(&got, &model_broadcast(&a, &b));
        prop_assert_eq!(got, broadcast_shapes(&b, &a).ok().map(|s| s.to_vec()), "symmetric");
    }

    #[test]
    fn expand_views_each_element_at_its_broadcast_source(a in shape(), b in shape()) {
        let Some(out) = model_broadcast(&a, &b) else { return Ok(()) };
        let src = Layout::contiguous(&a);
        let e = src.expand(&out).unwrap();
        let lead = out.len() - a.len();
        let want: Vec<usize> = indices(&out)
            .iter()
            .map(|i| a.iter().enumerate().map(|(d, &n)| if n == 1 { 0 } else { i[lead + d] } as isize * src.strides[d]).sum::<isize>() as usize)
            .collect();
        prop_assert_eq!(e.offsets().collect::<Vec<_>>(), want);
        prop_assert_eq!(e.has_internal_overlap(), out.iter().zip(&e.strides).any(|(&n, &s)| n > 1 && s == 0));
    }

    #[test]
    fn offsets_and_contiguity_follow_the_strides(l in layout()) {
        let offsets: Vec<usize> = l.offsets().collect();
        prop_assert_eq!(&offsets, &model_offsets(&l));
        let dense = offsets.iter().enumerate().all(|(i, &o)| o == l.offset + i);
        prop_assert_eq!(l.is_contiguous(), dense);
        prop_assert_eq!(Layout::contiguous(&l.shape).strides, contiguous_strides(&l.shape));
    }

    #[test]
    fn runs_cover_the_elements_in_row_major_order(a in layout(), seed in any::<u64>(), cut in any::<(usize, usize)>()) {
        // A second operand over the same shape: contiguous, or `a` itself.
        let b = if seed % 2 == 0 { Layout::contiguous(&a.shape) } else { a.clone() };
        let s = Strided::new(&a.shape, [&a.strides, &b.strides], [a.offset, b.offset]);
        let n = a.numel();
        prop_assert_eq!(s.numel(), n);
        let (mut start, mut end) = (cut.0 % (n + 1), cut.1 % (n + 1));
        if start > end {
            std::mem::swap(&mut start, &mut end);
        }
        let mut got = Vec::new();
        s.runs(start, end, |o, len, st| {
            got.extend((0..len).map(|i| [0, 1].map(|k| (o[k] as isize + i as isize * st[k]) as usize)));
        });
        let want: Vec<[usize; 2]> = model_offsets(&a).into_iter().zip(model_offsets(&b)).map(|(x, y)| [x, y]).collect();
        prop_assert_eq!(got, want[start..end].to_vec());
    }

    #[test]
    fn a_view_without_a_copy_keeps_every_element(l in layout(), seed in any::<u64>()) {
        // A random factorisation of the element count as the new shape.
        let n = l.numel();
        let mut new_shape = Vec::new();
        let (mut rest, mut s) = (n, seed);
        while rest > 1 && new_shape.len() < 4 {
            let f = (2..=rest).find(|f| rest % f == 0 && s % 2 == 0).unwrap_or(rest);
            new_shape.push(f);
            rest /= f;
            s /= 3;
        }
        if rest != 1 || n == 0 {
            new_shape.push(rest);
        }
        if let Some(v) = l.view_as(&new_shape) {
            prop_assert_eq!(v.shape.as_slice(), new_shape.as_slice());
            prop_assert_eq!(v.offsets().collect::<Vec<_>>(), l.offsets().collect::<Vec<_>>());
        } else {
            prop_assert!(!l.is_contiguous(), "a contiguous layout always views");
        }
    }

    #[test]
    fn basic_indexing_selects_what_python_slicing_selects(l in layout(), items in prop::collection::vec(index_item(), 0..5)) {
        match (index_layout(&l, &items), model_index(&l, &items)) {
            (Ok(got), Some(want)) => prop_assert_eq!(got.offsets().collect::<Vec<_>>(), want),
            (Err(_), None) => {}
            (got, want) => prop_assert!(false, "index {:?} of {:?}: got {:?}, model {:?}", items, l, got, want),
        }
    }

    #[test]
    fn dims_and_reshape_requests_are_checked(dim in any::<i64>(), ndim in 0usize..6, request in prop::collection::vec(prop_oneof![-2i64..5, Just(i64::MIN), Just(i64::MAX)], 0..4), numel in 0usize..40) {
        let n = ndim.max(1) as i64;
        match normalize_dim(dim, ndim) {
            Ok(d) => {
                let want = if dim < 0 { dim + n } else { dim };
                prop_assert!(dim >= -n && dim < n && d as i64 == want);
            }
            Err(_) => prop_assert!(dim < -n || dim >= n),
        }
        if let Ok(shape) = infer_shape(&request, numel) {
            prop_assert_eq!(shape.iter().try_fold(1usize, |a, &b| a.checked_mul(b)), Some(numel));
            prop_assert_eq!(shape.len(), request.len());
        }
    }
}
