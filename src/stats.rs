//! Counters of live tensors and of the bytes their storages hold, behind
//! `rustgrad.memory_stats()` (arena nodes are counted by the arena).
//!
//! Every op makes tensors, so the counters are sharded: each thread adds to
//! its own cache line and threads building graphs at once do not contend.
//! Reading sums the shards; a tensor dropped on another thread than the one
//! that made it leaves one shard negative and another positive, which the
//! sum cancels.

use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};

const SHARDS: usize = 16;

#[repr(align(128))] // one shard per pair of cache lines: no false sharing
struct Shard {
    tensors: AtomicIsize,
    bytes: AtomicIsize,
}

static COUNTS: [Shard; SHARDS] = [const { Shard { tensors: AtomicIsize::new(0), bytes: AtomicIsize::new(0) } }; SHARDS];

fn shard() -> &'static Shard {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static INDEX: usize = NEXT.fetch_add(1, Relaxed) % SHARDS);
    &COUNTS[INDEX.with(|i| *i)]
}

pub fn tensor_made() {
    shard().tensors.fetch_add(1, Relaxed);
}

pub fn tensor_dropped() {
    shard().tensors.fetch_sub(1, Relaxed);
}

pub fn storage_made(bytes: usize) {
    shard().bytes.fetch_add(bytes as isize, Relaxed);
}

pub fn storage_dropped(bytes: usize) {
    shard().bytes.fetch_sub(bytes as isize, Relaxed);
}

/// Tensors alive now (Python's and the ones Rust holds: saved tensors,
/// gradients, views).
pub fn live_tensors() -> usize {
    COUNTS.iter().map(|s| s.tensors.load(Relaxed)).sum::<isize>().max(0) as usize
}

/// Bytes held by live storages (a storage shared by views counts once).
pub fn storage_bytes() -> usize {
    COUNTS.iter().map(|s| s.bytes.load(Relaxed)).sum::<isize>().max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_and_bytes_return_to_their_count_when_dropped() {
        // Other tests run in parallel threads: count only this thread's shard.
        let (t0, b0) = (shard().tensors.load(Relaxed), shard().bytes.load(Relaxed));
        let t = crate::Tensor::from_vec(vec![1.0f32; 1000], &[1000]);
        let view = crate::ops::view::reshape(&t, &[10, 100]).unwrap();
        assert_eq!(shard().tensors.load(Relaxed) - t0, 2);
        assert_eq!(shard().bytes.load(Relaxed) - b0, 4000, "a view shares the storage");
        drop((t, view));
        assert_eq!((shard().tensors.load(Relaxed), shard().bytes.load(Relaxed)), (t0, b0));
    }
}
