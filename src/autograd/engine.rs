//! The backward pass. It snapshots the reachable graph from the arena in one
//! step, counts each node's dependencies, and runs nodes as they become
//! ready: on the calling thread for small graphs, on rayon's pool when the
//! tensors are large enough to pay for it. Gradients arriving at one node
//! from several branches are summed in an order fixed by the graph (not by
//! which thread finished first), so results are bitwise reproducible.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use smallvec::SmallVec;

use super::arena::{self, Edge, NodeId};
use super::grad_mode::GradModeGuard;
use super::node::{run_hooks, BackwardFn, Hooks, FREED_GRAPH};
use crate::bail;
use crate::cpu_backend::PARALLEL_MIN_ELEMENTS;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::{join, Shape};
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
    op: Option<Arc<dyn BackwardFn>>,
    name: &'static str,
    edges: SmallVec<[Option<Slot>; 2]>,
    needs: SmallVec<[bool; 2]>,
    shape: Shape,
    dtype: DType,
    hooks: Hooks,
}

/// An edge in the snapshot before leaves are numbered after the nodes.
enum EdgeTarget {
    Node(usize),
    Leaf(usize),
}

/// The part of the graph reachable from the roots.
struct Snapshot {
    ids: Vec<NodeId>,
    tasks: Vec<Task>,
    leaves: Vec<Tensor>,
    deps: Vec<AtomicUsize>,
}

impl Snapshot {
    fn take(roots: &[NodeId]) -> Snapshot {
        let mut ids: Vec<NodeId> = Vec::new();
        let mut index: HashMap<NodeId, Slot> = HashMap::new();
        let mut leaves: Vec<Tensor> = Vec::new();
        let mut leaf_index: HashMap<usize, usize> = HashMap::new();
        let mut raw_edges: Vec<SmallVec<[Option<EdgeTarget>; 2]>> = Vec::new();
        let mut tasks = Vec::new();
        let arena = arena::lock();
        let mut stack: Vec<NodeId> = Vec::new();
        for &r in roots {
            if !index.contains_key(&r) {
                index.insert(r, ids.len());
                ids.push(r);
                stack.push(r);
            }
        }
        let mut next = 0;
        while next < ids.len() {
            let node = arena.get(ids[next]).expect("reachable nodes are alive");
            let mut edges = SmallVec::new();
            for edge in &node.edges {
                edges.push(match edge {
                    None => None,
                    Some(Edge::Node(r)) => {
                        let id = r.id();
                        let slot = *index.entry(id).or_insert_with(|| {
                            ids.push(id);
                            ids.len() - 1
                        });
                        Some(EdgeTarget::Node(slot))
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
                op: node.op.clone(),
                name: node.name,
                edges: SmallVec::new(),
                needs: node.edges.iter().map(Option::is_some).collect(),
                shape: node.out_shape.clone(),
                dtype: node.out_dtype,
                hooks: node.hooks.clone(),
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
                        let slot = match e {
                            EdgeTarget::Node(node) => node,
                            EdgeTarget::Leaf(leaf) => n + leaf,
                        };
                        deps[slot].fetch_add(1, Ordering::Relaxed);
                        slot
                    })
                })
                .collect();
        }
        Snapshot { ids, tasks, leaves, deps }
    }
}

/// A gradient on its way to a slot, keyed by where it came from so that
/// contributions are summed in the same order on every run.
type Contribution = (u64, Tensor);

struct Run<'a> {
    snap: &'a Snapshot,
    inbox: Vec<Mutex<Vec<Contribution>>>,
    opts: BackwardOptions,
    /// Leaves to accumulate into; `None` means all.
    only: Option<Vec<usize>>,
    error: Mutex<Option<Error>>,
}

impl<'a> Run<'a> {
    fn failed(&self) -> bool {
        self.error.lock().is_some()
    }

    fn fail(&self, e: Error) {
        self.error.lock().get_or_insert(e);
    }

    /// Sums a slot's contributions in key order.
    fn gather(&self, slot: Slot) -> Result<Option<Tensor>> {
        let mut parts = std::mem::take(&mut *self.inbox[slot].lock());
        parts.sort_by_key(|(k, _)| *k);
        let mut parts = parts.into_iter().map(|(_, g)| g);
        let Some(mut sum) = parts.next() else { return Ok(None) };
        for g in parts {
            sum = ops::add(&sum, &g)?;
        }
        Ok(Some(sum))
    }

    /// Runs one slot and returns the slots it made ready.
    fn execute(&self, slot: Slot) -> Result<SmallVec<[Slot; 4]>> {
        let _mode = GradModeGuard::new(self.opts.create_graph);
        let grad = self.gather(slot)?;
        let n = self.snap.tasks.len();
        if slot >= n {
            if let Some(g) = grad {
                let leaf = &self.snap.leaves[slot - n];
                if self.only.as_ref().is_none_or(|o| o.contains(&leaf.id())) {
                    let hooks = leaf.meta().hooks.clone();
                    accumulate_grad(leaf, run_hooks(&hooks, g)?, self.opts.create_graph)?;
                }
            }
            return Ok(SmallVec::new());
        }
        let task = &self.snap.tasks[slot];
        let grads = match grad {
            Some(g) => {
                let op = task.op.as_ref().ok_or_else(|| Error::Runtime(FREED_GRAPH.into()))?;
                op.apply(&run_hooks(&task.hooks, g)?, &task.needs)?
            }
            None => SmallVec::new(),
        };
        let mut ready = SmallVec::new();
        for (i, target) in task.edges.iter().enumerate() {
            let Some(target) = *target else { continue };
            if let Some(Some(g)) = grads.get(i) {
                let g = self.validate(task, i, target, g.clone())?;
                let key = ((slot as u64 + 1) << 16) | i as u64;
                self.inbox[target].lock().push((key, g));
            }
            if self.snap.deps[target].fetch_sub(1, Ordering::AcqRel) == 1 {
                ready.push(target);
            }
        }
        Ok(ready)
    }

    /// Checks a gradient against the shape and dtype its target expects.
    fn validate(&self, task: &Task, index: usize, target: Slot, g: Tensor) -> Result<Tensor> {
        let n = self.snap.tasks.len();
        let (shape, dtype): (&[usize], DType) = if target < n {
            (&self.snap.tasks[target].shape, self.snap.tasks[target].dtype)
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
        rayon::scope(|scope| ready.into_iter().for_each(|s| spawn(self, scope, s)));
        match self.error.lock().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Adds `g` into `leaf.grad` (PyTorch's `AccumulateGrad`).
/// The leaf's metadata lock is held throughout, so backward passes running
/// on several threads never lose each other's contributions.
fn accumulate_grad(leaf: &Tensor, g: Tensor, create_graph: bool) -> Result<()> {
    let mut meta = leaf.meta();
    let new = match meta.grad.clone() {
        None if g.owns_whole_storage() && (create_graph || !g.requires_grad()) => g,
        None => ops::contiguous_copy(&g)?,
        Some(old) if create_graph => ops::add(&old, &g)?,
        Some(old) => {
            let sum = ops::add(&old, &g)?;
            return old.write_dense(&sum.to_dense());
        }
    };
    let old = std::mem::replace(&mut meta.grad, Some(new));
    drop(meta);
    drop(old); // outside the lock: it may free a graph
    Ok(())
}

/// Runs backward from `roots`, seeding each with the matching entry of
/// `grads`; gradients accumulate into the `.grad` of leaves (only those in
/// `inputs`, when given).
pub fn backward(roots: &[Tensor], grads: &[Tensor], opts: BackwardOptions, inputs: Option<&[Tensor]>) -> Result<()> {
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
        match root.grad_fn() {
            Some(id) => root_nodes.push((id, i, grad)),
            None => root_leaves.push((root.clone(), grad)),
        }
    }
    let only = match inputs {
        None => None,
        Some(inputs) => {
            if inputs.iter().any(|t| !t.is_leaf()) {
                bail!(NotImplemented, "backward(inputs=...) with non-leaf tensors is not supported yet");
            }
            Some(inputs.iter().map(Tensor::id).collect::<Vec<_>>())
        }
    };
    let ids: Vec<NodeId> = root_nodes.iter().map(|(id, _, _)| *id).collect();
    let snap = Snapshot::take(&ids);
    if snap.tasks.iter().any(|t| t.op.is_none()) {
        bail!(Runtime, "{FREED_GRAPH}");
    }
    let slots = snap.tasks.len() + snap.leaves.len();
    let run = Run {
        snap: &snap,
        inbox: (0..slots).map(|_| Mutex::new(Vec::new())).collect(),
        opts,
        only,
        error: Mutex::new(None),
    };
    for (id, i, grad) in root_nodes {
        let slot = snap.ids.iter().position(|x| *x == id).expect("root in snapshot");
        run.inbox[slot].lock().push((i as u64, grad));
    }
    let ready: Vec<Slot> = (0..snap.tasks.len()).filter(|&s| snap.deps[s].load(Ordering::Relaxed) == 0).collect();
    let parallel = opts.parallel.unwrap_or_else(|| {
        snap.tasks.len() > 2 && snap.tasks.iter().filter(|t| crate::layout::numel(&t.shape) >= PARALLEL_MIN_ELEMENTS).count() >= 2
    });
    let result = if parallel { run.run_parallel(ready) } else { run.run_sequential(ready) };
    for (leaf, grad) in root_leaves {
        if run.only.as_ref().is_none_or(|o| o.contains(&leaf.id())) {
            let _mode = GradModeGuard::new(opts.create_graph);
            let hooks = leaf.meta().hooks.clone();
            accumulate_grad(&leaf, run_hooks(&hooks, grad)?, opts.create_graph)?;
        }
    }
    if !opts.retain_graph {
        arena::release_saved(&snap.ids);
    }
    result
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
        }))
        .unwrap();
        x.register_hook(std::sync::Arc::new(|g: &Tensor| Ok(Some(add(g, Arg::from(1.0))?)))).unwrap();
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
}
