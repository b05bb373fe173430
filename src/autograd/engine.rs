//! The backward pass. It snapshots the reachable graph from the arena in one
//! step, counts each node's dependencies, and runs nodes as they become
//! ready: on the calling thread for small graphs, on rayon's pool when the
//! tensors are large enough to pay for it. Gradients arriving at one node
//! from several branches are summed in an order fixed by the graph (not by
//! which thread finished first), so results are bitwise reproducible.
//!
//! One pass either accumulates into `.grad` (`backward`) or captures the
//! gradients of chosen tensors and leaves `.grad` alone (`grad`); with
//! `inputs`, only nodes on a path to them run, as in PyTorch.

use rustc_hash::FxHashMap as HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use smallvec::SmallVec;

use super::arena::{self, Edge, NodeId, OutputMeta};
use super::grad_mode::GradModeGuard;
use super::node::{run_hooks, saved_hooks, BackwardFn, CurrentNode, Grads, NodeHooks, SavedHooksScope, SavedTensorHooks, FREED_GRAPH};
use super::anomaly;
use crate::bail;
use crate::cpu_backend::PARALLEL_MIN_ELEMENTS;
use crate::error::{Error, Result};
use crate::layout::join;
use crate::ops;
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, Default)]
pub struct BackwardOptions {
    pub retain_graph: bool,
    pub create_graph: bool,
    /// `None` decides by size; tests force either schedule.
    pub parallel: Option<bool>,
}

/// A target of gradient flow in the snapshot: nodes first, then leaves.
type Slot = usize;

struct Task {
    id: NodeId,
    op: Option<Arc<dyn BackwardFn>>,
    name: &'static str,
    /// Per input: the slot and output number its gradient goes to.
    edges: SmallVec<[Option<(Slot, u32)>; 2]>,
    needs: SmallVec<[bool; 2]>,
    outputs: SmallVec<[OutputMeta; 1]>,
    hooks: NodeHooks,
    trace: Option<Arc<str>>,
}

impl Task {
    /// In anomaly mode, an error in this node carries the traceback of the
    /// forward call that made it.
    fn with_trace(&self, e: Error) -> Error {
        match (&self.trace, anomaly::is_enabled()) {
            (Some(trace), true) if !matches!(e, Error::Anomaly { .. }) => {
                Error::Anomaly { node: self.name.to_string(), trace: trace.to_string(), cause: Box::new(e) }
            }
            _ => e,
        }
    }
}

/// An edge in the snapshot before leaves are numbered after the nodes.
enum EdgeTarget {
    Node(usize, u32),
    Leaf(usize),
}

/// The part of the graph reachable from the roots.
struct Snapshot {
    tasks: Vec<Task>,
    leaves: Vec<Tensor>,
    deps: Vec<AtomicUsize>,
    node_slot: HashMap<NodeId, Slot>,
    leaf_slot: HashMap<usize, Slot>,
}

impl Snapshot {
    fn take(roots: &[NodeId], root_leaves: &[Tensor]) -> Snapshot {
        let mut ids: Vec<NodeId> = Vec::new();
        let mut index: HashMap<NodeId, usize> = HashMap::default();
        let mut leaves: Vec<Tensor> = Vec::new();
        let mut leaf_index: HashMap<usize, usize> = HashMap::default();
        for t in root_leaves {
            leaf_index.entry(t.id()).or_insert_with(|| {
                leaves.push(t.clone());
                leaves.len() - 1
            });
        }
        let mut raw_edges: Vec<SmallVec<[Option<EdgeTarget>; 2]>> = Vec::new();
        let mut tasks = Vec::new();
        let arena = arena::lock();
        for &r in roots {
            if !index.contains_key(&r) {
                index.insert(r, ids.len());
                ids.push(r);
            }
        }
        let mut next = 0;
        while next < ids.len() {
            let node = arena.get(ids[next]).expect("reachable nodes are alive");
            let mut edges = SmallVec::new();
            for edge in &node.edges {
                edges.push(match edge {
                    None => None,
                    Some(Edge::Node(r, nr)) => {
                        let id = r.id();
                        let slot = *index.entry(id).or_insert_with(|| {
                            ids.push(id);
                            ids.len() - 1
                        });
                        Some(EdgeTarget::Node(slot, *nr))
                    }
                    Some(Edge::Leaf(t)) => {
                        let l = *leaf_index.entry(t.id()).or_insert_with(|| {
                            leaves.push(t.clone());
                            leaves.len() - 1
                        });
                        Some(EdgeTarget::Leaf(l))
                    }
                });
            }
            raw_edges.push(edges);
            tasks.push(Task {
                id: ids[next],
                op: node.op.clone(),
                name: node.name,
                edges: SmallVec::new(),
                needs: node.edges.iter().map(Option::is_some).collect(),
                outputs: node.outputs.clone(),
                hooks: node.hooks.clone(),
                trace: node.trace.clone(),
            });
            next += 1;
        }
        drop(arena);
        let n = tasks.len();
        let deps: Vec<AtomicUsize> = (0..n + leaves.len()).map(|_| AtomicUsize::new(0)).collect();
        for (task, raw) in tasks.iter_mut().zip(raw_edges) {
            task.edges = raw
                .into_iter()
                .map(|e| {
                    e.map(|e| {
                        let (slot, nr) = match e {
                            EdgeTarget::Node(node, nr) => (node, nr),
                            EdgeTarget::Leaf(leaf) => (n + leaf, 0),
                        };
                        deps[slot].fetch_add(1, Ordering::Relaxed);
                        (slot, nr)
                    })
                })
                .collect();
        }
        let node_slot = ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect();
        let leaf_slot = leaf_index.into_iter().map(|(id, l)| (id, n + l)).collect();
        Snapshot { tasks, leaves, deps, node_slot, leaf_slot }
    }

    /// The slot and output number the gradient of `t` arrives at, if `t`
    /// is part of this graph.
    fn slot_of(&self, t: &Tensor) -> Option<(Slot, u32)> {
        match t.history() {
            Some((node, nr)) => self.node_slot.get(&node.id()).map(|&s| (s, nr)),
            None => self.leaf_slot.get(&t.id()).map(|&s| (s, 0)),
        }
    }

    /// Whether running independent nodes on the engine's threads pays:
    /// when the heavy nodes (outputs of at least `PARALLEL_MIN_ELEMENTS`)
    /// spread over branches, i.e. there are half again as many as lie on
    /// the longest chain of them. A chain (an MLP's backward) runs on the
    /// calling thread, its kernels still using all cores: hopping between
    /// workers gains nothing there, and spreads buffers over the workers'
    /// malloc arenas, which then grow in steps (measured: 2-4 MiB over 500
    /// MLP steps, none on one thread).
    fn branches_worth_threads(&self) -> bool {
        let n = self.tasks.len();
        let heavy: Vec<bool> = self
            .tasks
            .iter()
            .map(|t| t.outputs.first().is_some_and(|o| crate::layout::numel(&o.shape) >= PARALLEL_MIN_ELEMENTS))
            .collect();
        let total = heavy.iter().filter(|&&h| h).count();
        if total < 2 {
            return false;
        }
        // Heavy nodes on the longest path from a root, in Kahn's order.
        let mut pending: Vec<usize> = self.deps[..n].iter().map(|d| d.load(Ordering::Relaxed)).collect();
        let mut depth = vec![0usize; n];
        let mut queue: Vec<Slot> = (0..n).filter(|&s| pending[s] == 0).collect();
        let mut longest = 0;
        while let Some(slot) = queue.pop() {
            let d = depth[slot] + heavy[slot] as usize;
            longest = longest.max(d);
            for &(target, _) in self.tasks[slot].edges.iter().flatten().filter(|(t, _)| *t < n) {
                depth[target] = depth[target].max(d);
                pending[target] -= 1;
                if pending[target] == 0 {
                    queue.push(target);
                }
            }
        }
        2 * total >= 3 * longest
    }

    /// Which slots must run for gradients to reach `targets`: those on a
    /// path to one, and the targets themselves if `run_targets`.
    fn needed_for(&self, targets: &[Slot], run_targets: bool) -> Vec<bool> {
        let n = self.tasks.len();
        let mut parents: Vec<Vec<Slot>> = vec![Vec::new(); n + self.leaves.len()];
        for (slot, task) in self.tasks.iter().enumerate() {
            for &(target, _) in task.edges.iter().flatten() {
                parents[target].push(slot);
            }
        }
        let mut reaches = vec![false; n + self.leaves.len()];
        let mut stack: Vec<Slot> = targets.to_vec();
        while let Some(s) = stack.pop() {
            if !std::mem::replace(&mut reaches[s], true) {
                stack.extend(parents[s].iter().copied());
            }
        }
        if run_targets {
            return reaches;
        }
        (0..n + self.leaves.len())
            .map(|s| s < n && self.tasks[s].edges.iter().flatten().any(|&(t, _)| reaches[t]))
            .collect()
    }
}

/// A gradient on its way to a slot: (order key, output number, gradient).
/// The key makes contributions sum in the same order on every run.
type Contribution = (u64, u32, Tensor);

struct Run<'a> {
    snap: &'a Snapshot,
    inbox: Vec<Mutex<Vec<Contribution>>>,
    opts: BackwardOptions,
    /// Per slot: whether it runs at all.
    needed: Vec<bool>,
    /// Per leaf: whether its `.grad` receives the gradient.
    accumulate: Vec<bool>,
    /// Per slot: (output number, index into `captured`) to record.
    captures: Vec<SmallVec<[(u32, usize); 1]>>,
    captured: Vec<Mutex<Option<Tensor>>>,
    /// The caller's `saved_tensors_hooks`, for nodes recorded on workers
    /// under `create_graph`.
    saved_hooks: Vec<Arc<dyn SavedTensorHooks>>,
    error: Mutex<Option<Error>>,
}

impl<'a> Run<'a> {
    fn failed(&self) -> bool {
        self.error.lock().is_some()
    }

    fn fail(&self, e: Error) {
        self.error.lock().get_or_insert(e);
    }

    /// Sums a slot's contributions per output, in key order.
    fn gather(&self, slot: Slot, outputs: usize) -> Result<Vec<Option<Tensor>>> {
        let mut parts = std::mem::take(&mut *self.inbox[slot].lock());
        parts.sort_by_key(|(k, _, _)| *k);
        let mut sums: Vec<Option<Tensor>> = vec![None; outputs];
        for (_, nr, g) in parts {
            let sum = &mut sums[nr as usize];
            *sum = Some(match sum.take() {
                None => g,
                Some(s) => ops::add(&s, &g)?,
            });
        }
        Ok(sums)
    }

    /// Runs one slot and returns the slots it made ready.
    fn execute(&self, slot: Slot) -> Result<SmallVec<[Slot; 4]>> {
        let _mode = GradModeGuard::new(self.opts.create_graph);
        let _hooks = SavedHooksScope::install(self.saved_hooks.clone());
        let n = self.snap.tasks.len();
        if slot >= n {
            self.run_leaf(slot)?;
            return Ok(SmallVec::new());
        }
        let task = &self.snap.tasks[slot];
        let mut grads = self.gather(slot, task.outputs.len())?;
        let input_grads = self.run_node(slot, task, &mut grads).map_err(|e| task.with_trace(e))?;
        let mut ready = SmallVec::new();
        for (i, target) in task.edges.iter().enumerate() {
            let Some((target, nr)) = *target else { continue };
            if let Some(Some(g)) = input_grads.get(i) {
                let g = self.validate(task, i, target, nr, g.clone())?;
                let key = ((slot as u64 + 1) << 16) | i as u64;
                self.inbox[target].lock().push((key, nr, g));
            }
            if self.snap.deps[target].fetch_sub(1, Ordering::AcqRel) == 1 {
                ready.push(target);
            }
        }
        Ok(ready)
    }

    /// A node's hooks and rule, in PyTorch's order: tensor hooks, retained
    /// gradients, captures, node pre-hooks, the rule, node post-hooks.
    fn run_node(&self, slot: Slot, task: &Task, grads: &mut Vec<Option<Tensor>>) -> Result<Grads> {
        if !self.needed[slot] && self.captures[slot].is_empty() {
            return Ok(Grads::new());
        }
        for (_, nr, hook) in &task.hooks.tensor {
            if let Some(g) = grads[*nr as usize].take() {
                grads[*nr as usize] = Some(run_hooks([hook], g)?);
            }
        }
        for (nr, weak) in &task.hooks.retain {
            if let (Some(g), Some(t)) = (&grads[*nr as usize], weak.upgrade()) {
                retain_grad(&t, g)?;
            }
        }
        for &(nr, index) in &self.captures[slot] {
            *self.captured[index].lock() = grads[nr as usize].clone();
        }
        if !self.needed[slot] {
            return Ok(Grads::new());
        }
        if grads.iter().all(Option::is_none) && !task.op.as_ref().is_some_and(|op| op.runs_without_grads()) {
            return Ok(Grads::new());
        }
        for (_, hook) in &task.hooks.pre {
            if let Some(new) = hook(grads)? {
                if new.len() != grads.len() {
                    bail!(Runtime, "hook returned an incorrect number of gradients (expected {}, got {})", grads.len(), new.len());
                }
                *grads = new;
            }
        }
        let op = task.op.as_ref().ok_or_else(|| Error::Runtime(FREED_GRAPH.into()))?;
        let mut out = {
            // With no post hook to read them, the gradients are the rule's
            // to write over (a buffer fewer where the engine holds one alone).
            let _current = CurrentNode::enter(task.id, task.hooks.post.is_empty());
            op.apply_outputs(grads, &task.needs)?
        };
        out.resize(task.edges.len(), None);
        if anomaly::is_enabled() && anomaly::check_nan() {
            anomaly::check_grads(task.name, &out)?;
        }
        for (_, hook) in &task.hooks.post {
            if let Some(new) = hook(&out, grads)? {
                if new.len() != out.len() {
                    bail!(Runtime, "hook returned an incorrect number of gradients (expected {}, got {})", out.len(), new.len());
                }
                out = new.into_iter().collect();
            }
        }
        Ok(out)
    }

    /// A leaf's `AccumulateGrad`: its hooks, then capture or accumulation,
    /// then post-accumulate hooks.
    fn run_leaf(&self, slot: Slot) -> Result<()> {
        let Some(g) = self.gather(slot, 1)?.pop().flatten() else { return Ok(()) };
        if !self.needed[slot] && self.captures[slot].is_empty() {
            return Ok(());
        }
        let leaf = &self.snap.leaves[slot - self.snap.tasks.len()];
        let hooks = leaf.meta().hooks.clone();
        let g = run_hooks(hooks.iter().map(|(_, h)| h), g)?;
        for &(_, index) in &self.captures[slot] {
            *self.captured[index].lock() = Some(g.clone());
        }
        if self.accumulate[slot - self.snap.tasks.len()] {
            accumulate_grad(leaf, g.clone(), self.opts.create_graph)?;
            let post = leaf.meta().post_accumulate_hooks.clone();
            for (_, hook) in post {
                hook(leaf, &g)?;
            }
        }
        Ok(())
    }

    /// Checks a gradient against the shape and dtype its target expects.
    fn validate(&self, task: &Task, index: usize, target: Slot, nr: u32, g: Tensor) -> Result<Tensor> {
        let n = self.snap.tasks.len();
        let (shape, dtype) = if target < n {
            let out = &self.snap.tasks[target].outputs[nr as usize];
            (out.shape.as_slice(), out.dtype)
        } else {
            let leaf = &self.snap.leaves[target - n];
            (leaf.shape(), leaf.dtype())
        };
        let g = if g.shape() == shape {
            g
        } else if crate::layout::broadcast_shapes(shape, g.shape()).is_ok_and(|s| s.as_slice() == g.shape()) {
            ops::sum_to(&g, shape)?
        } else {
            bail!(
                Runtime,
                "Function {} returned an invalid gradient at index {} - got [{}] but expected shape compatible with [{}]",
                task.name,
                index,
                join(g.shape()),
                join(shape)
            );
        };
        if g.dtype() != dtype { ops::to_dtype(&g, dtype) } else { Ok(g) }
    }

    fn run_sequential(&self, ready: Vec<Slot>) -> Result<()> {
        let mut queue = ready;
        while let Some(slot) = queue.pop() {
            queue.extend(self.execute(slot)?);
        }
        Ok(())
    }

    fn run_parallel(&self, ready: Vec<Slot>) -> Result<()> {
        fn spawn<'s>(run: &'s Run<'s>, scope: &rayon::Scope<'s>, slot: Slot) {
            scope.spawn(move |scope| {
                if run.failed() {
                    return;
                }
                match run.execute(slot) {
                    Ok(next) => next.into_iter().for_each(|s| spawn(run, scope, s)),
                    Err(e) => run.fail(e),
                }
            });
        }
        match backward_pool() {
            Some(pool) => pool.scope(|scope| ready.into_iter().for_each(|s| spawn(self, scope, s))),
            None => return self.run_sequential(ready),
        }
        match self.error.lock().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The engine's own thread pool. Python callbacks (hooks, a Function's
/// backward) run on its workers and wait there for the GIL; a thread that
/// holds the GIL while an element-wise kernel waits on rayon's global pool
/// must never wait behind them, so the two pools are kept apart. `None`
/// (run on the calling thread) if no thread could be started.
fn backward_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .thread_name(|i| format!("rustgrad-backward-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Adds `g` into `leaf.grad` (PyTorch's `AccumulateGrad`). Accumulations
/// into one leaf are serialised (backward passes on several threads never
/// lose each other's contributions) by a lock of their own: the metadata
/// lock is only taken to read and swap `.grad`, never across tensor ops,
/// which may call back into Python.
fn accumulate_grad(leaf: &Tensor, g: Tensor, create_graph: bool) -> Result<()> {
    let _serial = leaf.accumulation_lock();
    let new = match leaf.grad() {
        None if g.owns_whole_storage() && (create_graph || !g.requires_grad()) => g,
        None => ops::contiguous_copy(&g)?,
        Some(old) if create_graph => ops::add(&old, &g)?,
        Some(old) => {
            // In place where both are dense and alike (the same bits).
            if ops::binary::write_into(ops::binary::AddKernel, &old, ops::Arg::Tensor(&g), false) {
                return Ok(());
            }
            let sum = ops::add(&old, &g)?;
            return old.write_dense(&sum.to_dense());
        }
    };
    let old = std::mem::replace(&mut leaf.meta().grad, Some(new));
    drop(old); // outside the lock: it may free a graph
    Ok(())
}

/// `retain_grad()`'s hook: a non-leaf's `.grad` gets the arriving gradient
/// (a copy), summed out of place with an earlier one.
fn retain_grad(t: &Tensor, g: &Tensor) -> Result<()> {
    // Under create_graph (grad mode on) the copy keeps the gradient's history.
    let old = t.grad();
    let new = match old {
        None => ops::contiguous_copy(g)?,
        Some(old) => ops::add(&old, g)?,
    };
    let replaced = std::mem::replace(&mut t.meta().grad, Some(new));
    drop(replaced);
    Ok(())
}

/// What a pass does with the gradients it computes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `backward()`: accumulate into `.grad` (of `inputs` only, if given).
    Accumulate,
    /// `autograd.grad()`: return the gradients of `inputs`.
    Capture,
}

/// Runs backward from `roots`, seeding each with the matching entry of
/// `grads`; gradients accumulate into the `.grad` of leaves (only those in
/// `inputs`, when given, which may also be non-leaves).
pub fn backward(roots: &[Tensor], grads: &[Tensor], opts: BackwardOptions, inputs: Option<&[Tensor]>) -> Result<()> {
    run(roots, grads, opts, inputs, Mode::Accumulate).map(drop)
}

/// `torch.autograd.grad`: the gradients of `roots` with respect to each of
/// `inputs` (`None` where an input is not reached); `.grad` is untouched.
pub fn grad(roots: &[Tensor], grads: &[Tensor], opts: BackwardOptions, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
    for t in inputs {
        if !t.requires_grad() {
            bail!(Runtime, "One of the differentiated Tensors does not require grad");
        }
    }
    run(roots, grads, opts, Some(inputs), Mode::Capture)
}

fn run(roots: &[Tensor], grads: &[Tensor], opts: BackwardOptions, inputs: Option<&[Tensor]>, mode: Mode) -> Result<Vec<Option<Tensor>>> {
    let mut seeds = Vec::new();
    let mut root_nodes = Vec::new();
    let mut root_leaves = Vec::new();
    for (i, (root, grad)) in roots.iter().zip(grads).enumerate() {
        if !root.requires_grad() {
            bail!(Runtime, "element {i} of tensors does not require grad and does not have a grad_fn");
        }
        if grad.shape() != root.shape() {
            bail!(
                Runtime,
                "Mismatch in shape: grad_output[{i}] has a shape of torch.Size([{}]) and output[{i}] has a shape of torch.Size([{}]).",
                join(grad.shape()),
                join(root.shape())
            );
        }
        let grad = if grad.dtype() != root.dtype() { ops::to_dtype(grad, root.dtype())? } else { grad.clone() };
        match root.history() {
            Some((node, _)) => root_nodes.push(node.id()),
            None => root_leaves.push(root.clone()),
        }
        seeds.push((root, grad));
    }
    let snap = Snapshot::take(&root_nodes, &root_leaves);
    let slots = snap.tasks.len() + snap.leaves.len();
    let mut captures: Vec<SmallVec<[(u32, usize); 1]>> = vec![SmallVec::new(); slots];
    let (needed, accumulate) = match inputs {
        None => (vec![true; slots], vec![true; snap.leaves.len()]),
        Some(inputs) => {
            let mut targets = Vec::new();
            for (i, t) in inputs.iter().enumerate() {
                if let Some((slot, nr)) = snap.slot_of(t) {
                    captures[slot].push((nr, i));
                    targets.push(slot);
                }
            }
            let accumulate = match mode {
                Mode::Capture => vec![false; snap.leaves.len()],
                Mode::Accumulate => (0..snap.leaves.len()).map(|l| !captures[snap.tasks.len() + l].is_empty()).collect(),
            };
            // grad() captures at its targets without running their nodes
            // (unless another target lies behind them); backward(inputs=)
            // runs them, as PyTorch does.
            (snap.needed_for(&targets, mode == Mode::Accumulate), accumulate)
        }
    };
    if let Some(freed) = snap.tasks.iter().enumerate().find(|(s, t)| needed[*s] && t.op.is_none()).map(|(_, t)| t) {
        return Err(freed.with_trace(Error::Runtime(FREED_GRAPH.into())));
    }
    let run = Run {
        snap: &snap,
        inbox: (0..slots).map(|_| Mutex::new(Vec::new())).collect(),
        opts,
        needed,
        accumulate,
        captures,
        captured: (0..inputs.map_or(0, <[Tensor]>::len)).map(|_| Mutex::new(None)).collect(),
        saved_hooks: saved_hooks(),
        error: Mutex::new(None),
    };
    for (i, (root, grad)) in seeds.into_iter().enumerate() {
        let (slot, nr) = snap.slot_of(root).expect("roots are in the snapshot");
        run.inbox[slot].lock().push((i as u64, nr, grad));
    }
    let ready: Vec<Slot> = (0..slots).filter(|&s| snap.deps[s].load(Ordering::Relaxed) == 0).collect();
    let parallel = opts.parallel.unwrap_or_else(|| snap.branches_worth_threads()) && crate::cpu_backend::threads_usable();
    let result = if parallel { run.run_parallel(ready) } else { run.run_sequential(ready) };
    if !opts.retain_graph {
        let ran: Vec<NodeId> = snap.tasks.iter().enumerate().filter(|(s, _)| run.needed[*s]).map(|(_, t)| t.id).collect();
        arena::release_saved(&ran);
    }
    result?;
    let captured: Vec<Option<Tensor>> = run.captured.into_iter().map(Mutex::into_inner).collect();
    if mode == Mode::Accumulate {
        // Non-leaf `inputs` of backward() accumulate into their own `.grad`.
        let _grad_mode = GradModeGuard::new(opts.create_graph);
        for (t, g) in inputs.unwrap_or(&[]).iter().zip(&captured) {
            if let (false, Some(g)) = (t.is_leaf(), g) {
                accumulate_grad(t, g.clone(), opts.create_graph)?;
            }
        }
    }
    Ok(captured)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::Scalar;
    use crate::ops::{add, mul, sum, unary, Arg};

    use crate::autograd::test_leaf as leaf;

    fn ones_like(t: &Tensor) -> Tensor {
        Tensor::full(t.shape(), Scalar::Int(1), t.dtype())
    }

    fn run(root: &Tensor, opts: BackwardOptions) -> Result<()> {
        backward(&[root.clone()], &[ones_like(root)], opts, None)
    }

    fn grad_of(t: &Tensor) -> Vec<f32> {
        t.grad().expect("grad").to_vec::<f32>().unwrap()
    }

    #[test]
    fn gradients_accumulate_across_calls() {
        let x = leaf(vec![1.0, -2.0, 3.0]);
        let loss = sum(&mul(&x, &x).unwrap(), None, false, None).unwrap();
        let retain = BackwardOptions { retain_graph: true, ..Default::default() };
        run(&loss, retain).unwrap();
        assert_eq!(grad_of(&x), vec![2.0, -4.0, 6.0]);
        run(&loss, retain).unwrap();
        assert_eq!(grad_of(&x), vec![4.0, -8.0, 12.0]);
    }

    #[test]
    fn a_freed_graph_refuses_a_second_pass() {
        let x = leaf(vec![1.0, 2.0]);
        let loss = sum(&mul(&x, &x).unwrap(), None, false, None).unwrap();
        run(&loss, BackwardOptions::default()).unwrap();
        let err = run(&loss, BackwardOptions::default()).unwrap_err();
        assert_eq!(err, Error::Runtime(FREED_GRAPH.into()));
    }

    #[test]
    fn a_root_without_grad_is_an_error() {
        let x = Tensor::from_vec(vec![1.0f32], &[1]);
        let err = run(&x, BackwardOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "element 0 of tensors does not require grad and does not have a grad_fn"
        );
    }

    /// One leaf fanned out into many branches of different lengths, summed.
    fn wide_graph(x: &Tensor, branches: usize) -> Tensor {
        let mut total: Option<Tensor> = None;
        for b in 0..branches {
            let mut y = mul(x, Arg::from(1.0 + b as f64 * 0.1)).unwrap();
            for _ in 0..(b % 4) {
                y = unary::sin(&y).unwrap();
            }
            total = Some(match total {
                None => y,
                Some(t) => add(&t, &y).unwrap(),
            });
        }
        sum(&total.unwrap(), None, false, None).unwrap()
    }

    #[test]
    fn parallel_and_sequential_passes_agree_bitwise() {
        let n = 1 << 16;
        let values: Vec<f32> = (0..n).map(|i| (i as f32 * 0.001).sin()).collect();
        let grads: Vec<Vec<f32>> = [Some(false), Some(true), Some(true), Some(true)]
            .into_iter()
            .map(|parallel| {
                let x = leaf(values.clone());
                let loss = wide_graph(&x, 16);
                run(&loss, BackwardOptions { parallel, ..Default::default() }).unwrap();
                grad_of(&x)
            })
            .collect();
        for g in &grads[1..] {
            assert!(g.iter().zip(&grads[0]).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    #[test]
    fn grad_mode_inside_backward_follows_create_graph() {
        let x = leaf(vec![2.0]);
        let y = mul(&mul(&x, &x).unwrap(), &x).unwrap(); // x^3
        let g = ones_like(&y);
        let opts = BackwardOptions { create_graph: true, retain_graph: true, ..Default::default() };
        backward(&[y], &[g], opts, None).unwrap();
        let dx = x.grad().unwrap();
        assert_eq!(dx.to_vec::<f32>().unwrap(), vec![12.0]);
        assert!(dx.requires_grad(), "with create_graph the gradient has history");
        x.set_grad(None).unwrap();
        run(&dx, BackwardOptions::default()).unwrap();
        assert_eq!(grad_of(&x), vec![12.0], "d2/dx2 x^3 = 6x");
    }

    #[test]
    fn hooks_see_and_may_replace_arriving_gradients() {
        let x = leaf(vec![1.0, 2.0]);
        let y = mul(&x, Arg::from(3.0)).unwrap();
        let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let log = seen.clone();
        y.register_hook(std::sync::Arc::new(move |g: &Tensor| {
            log.lock().push(g.to_vec::<f32>().unwrap());
            Ok(Some(mul(g, Arg::from(10.0))?))
        }), None)
        .unwrap();
        x.register_hook(std::sync::Arc::new(|g: &Tensor| Ok(Some(add(g, Arg::from(1.0))?))), None).unwrap();
        let loss = sum(&y, None, false, None).unwrap();
        run(&loss, BackwardOptions::default()).unwrap();
        assert_eq!(*seen.lock(), vec![vec![1.0, 1.0]]);
        assert_eq!(grad_of(&x), vec![31.0, 31.0], "(1 * 10) * 3 + 1");
    }

    #[test]
    fn inputs_restrict_accumulation() {
        let (a, b) = (leaf(vec![1.0]), leaf(vec![2.0]));
        let y = mul(&a, &b).unwrap();
        backward(&[y.clone()], &[ones_like(&y)], BackwardOptions::default(), Some(&[a.clone()])).unwrap();
        assert_eq!(grad_of(&a), vec![2.0]);
        assert!(b.grad().is_none());
    }

    #[test]
    fn grad_captures_non_leaf_inputs_and_leaves_grad_alone() {
        let x = leaf(vec![1.0, 2.0]);
        let h = mul(&x, Arg::from(3.0)).unwrap();
        let loss = sum(&mul(&h, &h).unwrap(), None, false, None).unwrap();
        let got = grad(&[loss.clone()], &[ones_like(&loss)], BackwardOptions::default(), &[h.clone(), x.clone()]).unwrap();
        assert_eq!(got[0].as_ref().unwrap().to_vec::<f32>().unwrap(), vec![6.0, 12.0], "d/dh h^2 = 2h");
        assert_eq!(got[1].as_ref().unwrap().to_vec::<f32>().unwrap(), vec![18.0, 36.0], "d/dx (3x)^2 = 18x");
        assert!(x.grad().is_none());
    }

    #[test]
    fn grad_prunes_branches_that_do_not_reach_the_inputs() {
        let (a, b) = (leaf(vec![1.0]), leaf(vec![2.0]));
        let used = mul(&a, Arg::from(2.0)).unwrap();
        let other = mul(&b, &b).unwrap();
        let loss = add(&used, &other).unwrap();
        // Free `other`'s saved tensors: running it would now be an error.
        backward(&[other.clone()], &[ones_like(&other)], BackwardOptions::default(), None).unwrap();
        let got = grad(&[loss.clone()], &[ones_like(&loss)], BackwardOptions::default(), &[a]).unwrap();
        assert_eq!(got[0].as_ref().unwrap().to_vec::<f32>().unwrap(), vec![2.0]);
    }

    /// A node with two outputs: `(x * 2, x * 3)`, gradients per output.
    struct TwoOutputs;
    impl BackwardFn for TwoOutputs {
        fn name(&self) -> &'static str {
            "TwoOutputsBackward"
        }
        fn apply(&self, _: &Tensor, _: &[bool]) -> Result<Grads> {
            unreachable!("apply_outputs is overridden")
        }
        fn apply_outputs(&self, grads: &[Option<Tensor>], _: &[bool]) -> Result<Grads> {
            let mut total: Option<Tensor> = None;
            for (g, k) in grads.iter().zip([2.0, 3.0]) {
                if let Some(g) = g {
                    let part = mul(g, Arg::from(k))?;
                    total = Some(match total {
                        None => part,
                        Some(t) => add(&t, &part)?,
                    });
                }
            }
            Ok(smallvec::smallvec![total])
        }
        fn saves_tensors(&self) -> bool {
            false
        }
    }

    #[test]
    fn multi_output_nodes_receive_one_gradient_per_output() {
        let x = leaf(vec![1.0, 1.0]);
        let (o1, o2) = (x.detach(), x.detach());
        let edges = smallvec::smallvec![crate::autograd::edge_of(&x)];
        crate::autograd::attach(Arc::new(TwoOutputs), edges, &[&o1, &o2]).unwrap();
        assert_eq!(o2.history().unwrap().1, 1);
        run(&sum(&o2, None, false, None).unwrap(), BackwardOptions::default()).unwrap();
        assert_eq!(grad_of(&x), vec![3.0, 3.0], "only the second output got a gradient");
        let both = add(&sum(&o1, None, false, None).unwrap(), &sum(&o2, None, false, None).unwrap()).unwrap();
        run(&both, BackwardOptions::default()).unwrap();
        assert_eq!(grad_of(&x), vec![8.0, 8.0], "3 before, then 2 + 3");
    }

    #[test]
    fn inplace_write_into_a_view_rebases_the_base_onto_copy_slices() {
        let x = leaf(vec![1.0, 2.0, 3.0]);
        let h = mul(&x, Arg::from(1.0)).unwrap();
        let items = [crate::ops::index::IndexItem::Slice { start: Some(1), stop: None, step: None }];
        let v = crate::ops::index::index(&h, &items).unwrap();
        crate::ops::inplace::binary_(&v, Arg::from(5.0), crate::ops::inplace::InplaceOp::Mul).unwrap();
        assert_eq!(h.grad_fn_name(), Some("CopySlices"));
        assert_eq!(v.grad_fn_name(), Some("AsStridedBackward0"));
        run(&sum(&h, None, false, None).unwrap(), BackwardOptions::default()).unwrap();
        assert_eq!(grad_of(&x), vec![1.0, 5.0, 5.0]);
    }
}
