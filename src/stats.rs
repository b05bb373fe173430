//! Counters of live tensors and of the bytes their storages hold, behind
//! `rustgrad.memory_stats()` (arena nodes are counted by the arena).
//!
//! Every op makes and drops tensors, so the counts are kept per thread:
//! each thread owns a pair of counters that only it writes, with a plain
//! load and store (no locked read-modify-write, no shared cache line), and
//! reading sums the counters of the live threads and what exited threads
//! left. A tensor dropped on another thread than the one that made it
//! leaves one counter low and another high, which the sum cancels.

use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

#[repr(align(128))] // a thread's own pair of cache lines: no false sharing
#[derive(Default)]
struct Counters {
    tensors: AtomicIsize,
    bytes: AtomicIsize,
}

type Which = fn(&Counters) -> &AtomicIsize;

/// The counters of live threads, and the sums exited threads left (also
/// what is counted after a thread's own counters are gone).
struct Registry {
    live: Vec<Arc<Counters>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { live: Vec::new() });
static RETIRED: Counters = Counters { tensors: AtomicIsize::new(0), bytes: AtomicIsize::new(0) };

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// A thread's counters; on exit their counts move to `RETIRED`.
struct Mine(Arc<Counters>);

impl Drop for Mine {
    fn drop(&mut self) {
        let mut reg = registry();
        reg.live.retain(|c| !Arc::ptr_eq(c, &self.0));
        for which in [(|c| &c.tensors) as Which, |c| &c.bytes] {
            which(&RETIRED).fetch_add(which(&self.0).load(Relaxed), Relaxed);
        }
    }
}

thread_local! {
    static MINE: Mine = {
        let mine = Arc::new(Counters::default());
        registry().live.push(mine.clone());
        Mine(mine)
    };
}

/// Adds `n` to this thread's counter: only this thread writes it, so a load
/// and a store suffice, and a reader on another thread sees a whole value.
fn bump(which: Which, n: isize) {
    let own = MINE.try_with(|m| {
        let c = which(&m.0);
        c.store(c.load(Relaxed) + n, Relaxed)
    });
    // A tensor dropped by a thread-local destructor after `MINE`'s.
    if own.is_err() {
        which(&RETIRED).fetch_add(n, Relaxed);
    }
}

pub fn tensor_made() {
    bump(|c| &c.tensors, 1);
}

pub fn tensor_dropped() {
    bump(|c| &c.tensors, -1);
}

pub fn storage_made(bytes: usize) {
    bump(|c| &c.bytes, bytes as isize);
}

pub fn storage_dropped(bytes: usize) {
    bump(|c| &c.bytes, -(bytes as isize));
}

/// Live threads' counts plus retired ones, read under the registry's lock
/// so that a thread exiting meanwhile is counted once.
fn total(which: Which) -> isize {
    let reg = registry();
    reg.live.iter().map(|c| which(c).load(Relaxed)).sum::<isize>() + which(&RETIRED).load(Relaxed)
}

/// Tensors alive now (Python's and the ones Rust holds: saved tensors,
/// gradients, views).
pub fn live_tensors() -> usize {
    total(|c| &c.tensors).max(0) as usize
}

/// Bytes held by live storages (a storage shared by views counts once).
pub fn storage_bytes() -> usize {
    total(|c| &c.bytes).max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_and_bytes_return_to_their_count_when_dropped() {
        // Other tests run in parallel threads: count only this thread's.
        let mine = || MINE.with(|m| (m.0.tensors.load(Relaxed), m.0.bytes.load(Relaxed)));
        let (t0, b0) = mine();
        let t = crate::Tensor::from_vec(vec![1.0f32; 1000], &[1000]);
        let view = crate::ops::view::reshape(&t, &[10, 100]).unwrap();
        assert_eq!(mine().0 - t0, 2);
        assert_eq!(mine().1 - b0, 4000, "a view shares the storage");
        drop((t, view));
        assert_eq!(mine(), (t0, b0));
    }
}
