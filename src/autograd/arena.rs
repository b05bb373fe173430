//! The graph's arena: backward nodes live in one slab and are named by
//! generational indices. A `NodeRef` is a counted reference to a slot (held
//! by the tensor the node produced and by the nodes downstream of it); the
//! slot is reclaimed, and its generation bumped, when the count reaches zero.
//!
//! The counts live outside the slab's lock, in atomics that never move
//! (`RefCounts`): every recorded op clones the `NodeRef`s of its inputs and
//! every freed tensor drops one, so counting without the lock keeps threads
//! that build graphs at once from queueing on it. The lock is taken only to
//! add a node, to free one, and to read or change a node's contents.

use std::cell::RefCell;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use smallvec::SmallVec;

use super::node::{BackwardFn, NodeHooks};
use crate::dtype::DType;
use crate::layout::Shape;
use crate::pyobj::PyObjSlot;
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId {
    index: u32,
    generation: u32,
}

/// Where the gradient for one input of a node goes.
#[derive(Clone)]
pub enum Edge {
    /// Into output `.1` of the node that produced the input.
    Node(NodeRef, u32),
    /// Into the `.grad` of a leaf that requires grad (PyTorch's
    /// `AccumulateGrad` node).
    Leaf(Tensor),
}

/// Shape and dtype of one tensor a node produced: the gradient arriving
/// for it must match them.
#[derive(Clone)]
pub struct OutputMeta {
    pub shape: Shape,
    pub dtype: DType,
}

pub struct Node {
    /// The backward rule; `None` once its saved tensors were freed.
    pub(super) op: Option<Arc<dyn BackwardFn>>,
    /// The names the freed rule saved its tensors under: `dir(grad_fn)`
    /// still lists `_saved_<name>` after a backward pass, as in PyTorch.
    pub(super) freed_saved: SmallVec<[&'static str; 2]>,
    pub(super) name: &'static str,
    /// One entry per input of the forward op; `None` where that input does
    /// not require grad.
    pub(super) edges: SmallVec<[Option<Edge>; 2]>,
    pub(super) outputs: SmallVec<[OutputMeta; 1]>,
    pub hooks: NodeHooks,
    /// The forward call's traceback, kept in anomaly mode.
    pub(super) trace: Option<Arc<str>>,
    /// The Python object standing for this node.
    pub pyobj: PyObjSlot,
    /// `grad_fn.metadata`: a Python dict, kept as long as the node.
    pub metadata: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

struct Slot {
    generation: u32,
    node: Option<Node>,
}

/// Per slot, the number of `NodeRef`s naming it, in chunks that are
/// allocated as the slab grows and never move nor are freed (a count is
/// read and written without the arena's lock).
struct RefCounts {
    chunks: [AtomicPtr<AtomicU32>; MAX_CHUNKS],
}

const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;
/// 2^30 nodes alive at once at most.
const MAX_CHUNKS: usize = 1 << 18;

static REFS: RefCounts = RefCounts { chunks: [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_CHUNKS] };

impl RefCounts {
    /// The count of slot `index`, whose chunk exists (the slot was handed
    /// out by `insert`).
    fn of(&self, index: u32) -> &'static AtomicU32 {
        let chunk = self.chunks[(index >> CHUNK_BITS) as usize].load(Ordering::Acquire);
        debug_assert!(!chunk.is_null());
        // SAFETY: chunks are leaked allocations of `CHUNK` counts, published
        // (Release) before any slot in them is handed out.
        unsafe { &*chunk.add(index as usize & (CHUNK - 1)) }
    }

    /// Makes sure slot `index` has a count; called with the arena locked,
    /// which orders chunk creation.
    fn ensure(&self, index: u32) {
        let Some(cell) = self.chunks.get((index >> CHUNK_BITS) as usize) else {
            panic!("more than {} autograd graph nodes alive at once", MAX_CHUNKS * CHUNK);
        };
        if cell.load(Ordering::Acquire).is_null() {
            let chunk: Box<[AtomicU32]> = (0..CHUNK).map(|_| AtomicU32::new(0)).collect();
            cell.store(Box::leak(chunk).as_mut_ptr(), Ordering::Release);
        }
    }
}

pub(super) struct Arena {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

static ARENA: Mutex<Arena> = Mutex::new(Arena { slots: Vec::new(), free: Vec::new(), live: 0 });

pub(super) fn lock() -> MutexGuard<'static, Arena> {
    ARENA.lock()
}

impl Arena {
    /// The live node `id` names, or `None` if that slot was reclaimed.
    pub(super) fn get(&self, id: NodeId) -> Option<&Node> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.node.as_ref()
    }

    pub(super) fn get_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.node.as_mut()
    }
}

/// A counted reference to a node.
pub struct NodeRef(NodeId);

impl NodeRef {
    pub fn id(&self) -> NodeId {
        self.0
    }
}

impl Clone for NodeRef {
    fn clone(&self) -> NodeRef {
        // As `Arc::clone`: the caller's reference keeps the count above zero.
        REFS.of(self.0.index).fetch_add(1, Ordering::Relaxed);
        NodeRef(self.0)
    }
}

impl Drop for NodeRef {
    fn drop(&mut self) {
        release(self.0);
    }
}

impl std::fmt::Debug for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeRef({:?})", self.0)
    }
}

/// Adds a node and returns the first reference to it.
pub fn insert(node: Node) -> NodeRef {
    let mut arena = lock();
    arena.live += 1;
    let index = match arena.free.pop() {
        Some(i) => {
            arena.slots[i as usize].node = Some(node);
            i
        }
        None => {
            let i = arena.slots.len() as u32;
            REFS.ensure(i);
            arena.slots.push(Slot { generation: 0, node: Some(node) });
            i
        }
    };
    REFS.of(index).store(1, Ordering::Relaxed);
    NodeRef(NodeId { index, generation: arena.slots[index as usize].generation })
}

/// The PyTorch name of a node (`MulBackward0`), or "" if it is gone.
pub fn name(id: NodeId) -> &'static str {
    lock().get(id).map_or("", |n| n.name)
}

/// A new counted reference to node `id`, if it is still alive.
pub fn make_ref(id: NodeId) -> Option<NodeRef> {
    // The lock keeps the slot from being reused while its generation is
    // checked; a count already at zero is a node being freed, which no new
    // reference may revive (as `Weak::upgrade`).
    let arena = lock();
    arena.get(id)?;
    REFS.of(id.index).fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n > 0).then_some(n + 1)).ok()?;
    drop(arena);
    Some(NodeRef(id))
}

/// Runs `f` on node `id` (nothing if it is gone). `f` must not touch the
/// arena (the lock is held) nor drop tensors.
pub fn with_node<R>(id: NodeId, f: impl FnOnce(&mut Node) -> R) -> Option<R> {
    lock().get_mut(id).map(f)
}

/// Runs `f` on node `id` if exactly one `NodeRef` names it (the caller's):
/// what the node holds is then the caller's alone. `f` must not touch the
/// arena nor drop tensors.
pub fn with_sole_node<R>(id: NodeId, f: impl FnOnce(&Node) -> R) -> Option<R> {
    let arena = lock();
    let node = arena.get(id)?;
    (REFS.of(id.index).load(Ordering::Acquire) == 1).then(|| f(node))
}

/// Removes the hook `key` from node `id`, if both still exist.
pub fn remove_hook(id: NodeId, key: u64) {
    let removed = with_node(id, |node| node.hooks.remove(key));
    drop(removed); // outside the lock: a hook may own tensors
}

/// Node `id`'s input edges (`next_functions`), or `None` if it is gone.
pub fn edges(id: NodeId) -> Option<Vec<Option<Edge>>> {
    Some(lock().get(id)?.edges.to_vec())
}

/// Node `id`'s backward rule (`None` once its saved tensors were freed).
pub fn op(id: NodeId) -> Option<Arc<dyn BackwardFn>> {
    lock().get(id).and_then(|n| n.op.clone())
}

/// The names node `id`'s rule saves tensors under (`grad_fn._saved_<name>`),
/// also once they were freed; empty if the node is gone.
pub fn saved_names(id: NodeId) -> SmallVec<[&'static str; 2]> {
    let (op, freed) = {
        let arena = lock();
        let Some(node) = arena.get(id) else { return SmallVec::new() };
        (node.op.clone(), node.freed_saved.clone())
    };
    // The rule is asked outside the lock (it may take locks of its own).
    op.map_or(freed, |op| op.saved().into_iter().map(|(name, _)| name).collect())
}

/// Shape and dtype of each output of node `id` (`grad_fn._input_metadata`:
/// the gradients it receives), or `None` if it is gone.
pub fn outputs(id: NodeId) -> Option<SmallVec<[OutputMeta; 1]>> {
    lock().get(id).map(|n| n.outputs.clone())
}

/// How many nodes are alive: a leak shows up here.
pub fn live_nodes() -> usize {
    lock().live
}

thread_local! {
    /// Nodes waiting to be dropped. Freeing one node can free the nodes it
    /// points to; queueing them (instead of recursing) keeps a 100,000-node
    /// chain from overflowing the stack.
    static DROP_QUEUE: RefCell<Option<Vec<Node>>> = const { RefCell::new(None) };
}

fn release(id: NodeId) {
    // As `Arc`'s drop: only the last reference frees, after every other
    // holder's use of the node (Release/Acquire).
    if REFS.of(id.index).fetch_sub(1, Ordering::Release) != 1 {
        return;
    }
    std::sync::atomic::fence(Ordering::Acquire);
    let freed = {
        let mut arena = lock();
        let slot = &mut arena.slots[id.index as usize];
        debug_assert_eq!(slot.generation, id.generation);
        slot.generation = slot.generation.wrapping_add(1);
        let node = slot.node.take();
        arena.free.push(id.index);
        arena.live -= 1;
        node
    };
    let Some(node) = freed else { return };
    let queued = DROP_QUEUE.with(|q| match &mut *q.borrow_mut() {
        Some(pending) => {
            pending.push(node);
            None
        }
        none => {
            *none = Some(Vec::new());
            Some(node)
        }
    });
    if let Some(first) = queued {
        drop(first);
        while let Some(next) = DROP_QUEUE.with(|q| q.borrow_mut().as_mut().and_then(Vec::pop)) {
            drop(next);
        }
        DROP_QUEUE.with(|q| *q.borrow_mut() = None);
    }
}

/// Frees the saved tensors of the given nodes (after a backward pass that did
/// not retain the graph); nodes that save nothing stay runnable, as in PyTorch.
pub(super) fn release_saved(ids: &[NodeId]) {
    // Rules are asked outside the lock (a rule may take locks of its own).
    let rules: Vec<(NodeId, Arc<dyn BackwardFn>)> = {
        let arena = lock();
        ids.iter().filter_map(|&id| arena.get(id).and_then(|n| n.op.clone()).map(|op| (id, op))).collect()
    };
    let saving: Vec<(NodeId, SmallVec<[&'static str; 2]>)> = rules
        .iter()
        .filter(|(_, op)| op.saves_tensors())
        .map(|(id, op)| (*id, op.saved().into_iter().map(|(name, _)| name).collect()))
        .collect();
    drop(rules);
    let mut ops = Vec::new();
    {
        let mut arena = lock();
        for (id, names) in saving {
            if let Some(node) = arena.get_mut(id) {
                ops.extend(node.op.take());
                node.freed_saved = names;
            }
        }
    }
    drop(ops); // outside the lock: saved tensors may hold the last reference to other nodes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{mul, sum, Arg};

    use crate::autograd::test_leaf as leaf;

    fn alive(id: NodeId) -> bool {
        lock().get(id).is_some()
    }

    #[test]
    fn slot_is_reclaimed_when_the_last_reference_drops() {
        let x = leaf(vec![1.0, 2.0]);
        let y = mul(&x, Arg::from(2.0)).unwrap();
        let held = y.grad_fn_ref().unwrap();
        let id = held.id();
        drop(y);
        assert!(alive(id), "a NodeRef still names the node");
        drop(held);
        assert!(!alive(id), "no reference left: the slot is free");
    }

    #[test]
    fn a_stale_id_never_names_the_node_that_reuses_its_slot() {
        let x = leaf(vec![1.0]);
        let old = mul(&x, Arg::from(2.0)).unwrap().grad_fn().unwrap();
        assert!(!alive(old));
        let fresh: Vec<Tensor> = (0..8).map(|_| mul(&x, Arg::from(3.0)).unwrap()).collect();
        for t in &fresh {
            assert_ne!(t.grad_fn().unwrap(), old);
        }
        assert!(!alive(old));
    }

    #[test]
    fn upstream_nodes_live_as_long_as_a_downstream_node_needs_them() {
        let x = leaf(vec![1.0, 2.0]);
        let y = mul(&x, &x).unwrap();
        let first = y.grad_fn().unwrap();
        let z = sum(&y, None, false, None).unwrap();
        drop(y);
        assert!(alive(first), "z's node points at y's node");
        drop(z);
        assert!(!alive(first));
    }

    #[test]
    fn dropping_a_long_chain_does_not_recurse() {
        // A small stack: freeing 100,000 nodes recursively would overflow it.
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let x = leaf(vec![1.0]);
                let mut y = x.clone();
                let mut ids = Vec::new();
                for _ in 0..100_000 {
                    y = mul(&y, Arg::from(1.0)).unwrap();
                    ids.push(y.grad_fn().unwrap());
                }
                drop(y);
                assert!(ids.iter().all(|&id| !alive(id)));
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn release_saved_frees_only_rules_that_save_tensors() {
        let x = leaf(vec![1.0, 2.0]);
        let y = mul(&x, &x).unwrap(); // saves x
        let z = sum(&y, None, false, None).unwrap(); // saves nothing
        let (yid, zid) = (y.grad_fn().unwrap(), z.grad_fn().unwrap());
        release_saved(&[yid, zid]);
        let arena = lock();
        assert!(arena.get(yid).unwrap().op.is_none());
        assert!(arena.get(zid).unwrap().op.is_some());
    }

    #[test]
    fn saved_names_and_outputs_outlive_the_freed_rule() {
        let x = leaf(vec![1.0, 2.0, 3.0]);
        let y = mul(&x, &x).unwrap();
        let id = y.grad_fn().unwrap();
        assert_eq!(saved_names(id).as_slice(), ["other", "self"]);
        release_saved(&[id]);
        assert!(op(id).is_none());
        assert_eq!(saved_names(id).as_slice(), ["other", "self"], "still listed once freed");
        let outs = outputs(id).unwrap();
        assert_eq!((outs.len(), outs[0].shape.as_slice(), outs[0].dtype), (1, &[3usize][..], DType::F32));
        let z = sum(&y, None, false, None).unwrap();
        assert!(saved_names(z.grad_fn().unwrap()).is_empty());
    }
}
