//! Backward rules, the tensors they save, their hooks, and how ops record
//! them.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use smallvec::SmallVec;

use super::arena::{self, Edge, Node, NodeId, NodeRef, OutputMeta};
use super::{anomaly, grad_mode};
use crate::bail;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, WeakTensor};

/// A function run on a gradient when it arrives at a tensor (before it is
/// accumulated into a leaf, or passed to the backward rule of a non-leaf's
/// node); returning a tensor replaces the gradient.
pub type GradHook = Arc<dyn Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync>;

/// Tensor hooks with the keys their handles remove them by.
pub type Hooks = Vec<(u64, GradHook)>;

/// A node's gradients, one per output or per input (`None`: zero).
pub type GradList = Vec<Option<Tensor>>;

/// `Node.register_prehook`: sees the gradients of the node's outputs and may
/// replace them.
pub type PreHook = Arc<dyn Fn(&[Option<Tensor>]) -> Result<Option<GradList>> + Send + Sync>;

/// `Node.register_hook`: sees the gradients the node computed for its
/// inputs and those of its outputs; may replace the former.
pub type PostHook = Arc<dyn Fn(&[Option<Tensor>], &[Option<Tensor>]) -> Result<Option<GradList>> + Send + Sync>;

/// `register_post_accumulate_grad_hook`: called with the leaf after its
/// `.grad` was updated.
/// Called with the leaf and the gradient that was accumulated.
pub type PostAccumulateHook = Arc<dyn Fn(&Tensor, &Tensor) -> Result<()> + Send + Sync>;

/// What a hook made by the bindings keeps alive for Python (its callable):
/// listed beside the hook so that the bindings can report it to Python's
/// cycle collector, which cannot see inside a Rust closure.
pub type GcRef = Arc<dyn std::any::Any + Send + Sync>;

/// Everything hooked onto one node.
#[derive(Default, Clone)]
pub struct NodeHooks {
    /// Hooks of output tensors: (key, output number, hook).
    pub tensor: Vec<(u64, u32, GradHook)>,
    /// Outputs that `retain_grad()`: their gradient is kept in `.grad`.
    pub retain: Vec<(u32, WeakTensor)>,
    pub pre: Vec<(u64, PreHook)>,
    pub post: Vec<(u64, PostHook)>,
    /// The Python objects these hooks call, by hook key.
    pub owned: Vec<(u64, GcRef)>,
}

impl NodeHooks {
    pub fn is_empty(&self) -> bool {
        self.tensor.is_empty() && self.retain.is_empty() && self.pre.is_empty() && self.post.is_empty()
    }

    pub fn remove(&mut self, key: u64) -> NodeHooks {
        fn split<T>(v: &mut Vec<T>, gone: impl Fn(&T) -> bool) -> Vec<T> {
            let (out, kept) = std::mem::take(v).into_iter().partition(gone);
            *v = kept;
            out
        }
        NodeHooks {
            tensor: split(&mut self.tensor, |h| h.0 == key),
            retain: Vec::new(),
            pre: split(&mut self.pre, |h| h.0 == key),
            post: split(&mut self.post, |h| h.0 == key),
            owned: split(&mut self.owned, |h| h.0 == key),
        }
    }
}

/// A fresh key for a hook handle.
pub fn next_hook_key() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs tensor `hooks` in order on `grad`.
pub fn run_hooks<'a>(hooks: impl IntoIterator<Item = &'a GradHook>, mut grad: Tensor) -> Result<Tensor> {
    for hook in hooks {
        if let Some(replaced) = hook(&grad)? {
            grad = replaced;
        }
    }
    Ok(grad)
}

/// Which inputs of an op need a gradient.
pub type Needs = SmallVec<[bool; 2]>;
/// One gradient per input of an op (`None`: not needed, or zero).
pub type Grads = SmallVec<[Option<Tensor>; 2]>;

/// The backward half of an op. `apply` is written with the same tensor ops
/// as the forward, so under `create_graph=True` it records its own graph.
pub trait BackwardFn: Send + Sync + 'static {
    /// PyTorch's node name, e.g. `MulBackward0`.
    fn name(&self) -> &'static str;
    /// Gradients of the op's inputs given the gradient of its (single)
    /// output.
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads>;
    /// Gradients of the inputs given one gradient per output (`None` for an
    /// output no gradient reached). Ops with several outputs override this.
    fn apply_outputs(&self, grads: &[Option<Tensor>], needs: &[bool]) -> Result<Grads> {
        match grads.first() {
            Some(Some(g)) => self.apply(g, needs),
            _ => Ok(Grads::new()),
        }
    }
    /// Whether the rule keeps tensors alive (freed by a backward pass that
    /// does not retain the graph; running it again is then an error).
    fn saves_tensors(&self) -> bool {
        true
    }
    /// Whether the rule runs when no gradient reached any output (a custom
    /// Function that materializes zeros); others are skipped then.
    fn runs_without_grads(&self) -> bool {
        false
    }
    /// The saved tensors by PyTorch's attribute names (`self`, `other`,
    /// `result`), shown as `grad_fn._saved_<name>`.
    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        Vec::new()
    }
}

/// The named saved tensors that are there: `BackwardFn::saved` for a rule
/// that saves some operands only when a gradient needs them.
pub fn present<'a>(named: impl IntoIterator<Item = (&'static str, Option<&'a SavedTensor>)>) -> Vec<(&'static str, &'a SavedTensor)> {
    named.into_iter().filter_map(|(name, t)| Some((name, t?))).collect()
}

/// A saved tensor in a form only a `saved_tensors_hooks` unpack can read.
pub trait PackedTensor: Send + Sync {
    fn unpack(&self) -> Result<Tensor>;
}

/// `saved_tensors_hooks(pack, unpack)`: what every saved tensor goes
/// through while the hooks are installed on this thread.
pub trait SavedTensorHooks: Send + Sync {
    fn pack(&self, t: &Tensor) -> Result<Box<dyn PackedTensor>>;
}

thread_local! {
    static SAVED_HOOKS: RefCell<Vec<Arc<dyn SavedTensorHooks>>> = const { RefCell::new(Vec::new()) };
    /// An error met while saving a tensor, reported by `record` (saving
    /// happens inside the closure that builds a rule, which cannot fail).
    static SAVE_ERROR: RefCell<Option<Error>> = const { RefCell::new(None) };
    /// The node the engine is running on this thread: an output a rule saved
    /// is given it back as history when the rule runs under `create_graph`.
    static CURRENT_NODE: RefCell<Option<NodeId>> = const { RefCell::new(None) };
}

/// This thread's `saved_tensors_hooks` stack.
pub fn saved_hooks() -> Vec<Arc<dyn SavedTensorHooks>> {
    SAVED_HOOKS.with(|s| s.borrow().clone())
}

/// Installs a `saved_tensors_hooks` stack on this thread until dropped (the
/// engine hands its caller's to its workers).
pub struct SavedHooksScope(Vec<Arc<dyn SavedTensorHooks>>);

impl SavedHooksScope {
    pub fn install(hooks: Vec<Arc<dyn SavedTensorHooks>>) -> SavedHooksScope {
        SavedHooksScope(SAVED_HOOKS.with(|s| std::mem::replace(&mut *s.borrow_mut(), hooks)))
    }
}

impl Drop for SavedHooksScope {
    fn drop(&mut self) {
        let previous = std::mem::take(&mut self.0);
        SAVED_HOOKS.with(|s| *s.borrow_mut() = previous);
    }
}

pub fn push_saved_hooks(hooks: Arc<dyn SavedTensorHooks>) {
    SAVED_HOOKS.with(|s| s.borrow_mut().push(hooks));
}

pub fn pop_saved_hooks() {
    SAVED_HOOKS.with(|s| s.borrow_mut().pop());
}

fn save_error(e: Error) {
    SAVE_ERROR.with(|s| {
        s.borrow_mut().get_or_insert(e);
    });
}

thread_local! {
    /// Whether the rule running now may write over its incoming gradients
    /// (see `grads_given_up`).
    static GRADS_GIVEN_UP: Cell<bool> = const { Cell::new(false) };
}

/// Whether the rule running on this thread may write its result over an
/// incoming gradient that nothing else holds: the engine gives a node's
/// gradients up to its rule unless a post hook will read them. Such a
/// gradient's buffer then serves as the result's, one buffer fewer.
pub fn grads_given_up() -> bool {
    GRADS_GIVEN_UP.with(Cell::get)
}

/// Sets the node being run on this thread, and whether its rule may write
/// over its gradients, until the guard drops.
pub(super) struct CurrentNode(Option<NodeId>, bool);

impl CurrentNode {
    pub(super) fn enter(id: NodeId, grads_given_up: bool) -> CurrentNode {
        let given = GRADS_GIVEN_UP.with(|g| g.replace(grads_given_up));
        CurrentNode(CURRENT_NODE.with(|c| c.borrow_mut().replace(id)), given)
    }
}

impl Drop for CurrentNode {
    fn drop(&mut self) {
        CURRENT_NODE.with(|c| *c.borrow_mut() = self.0);
        GRADS_GIVEN_UP.with(|g| g.set(self.1));
    }
}

enum Saved {
    Tensor(Tensor),
    /// Packed by `saved_tensors_hooks`, with where the tensor's gradient
    /// went (its history, or its leaf) so the unpacked value can be
    /// differentiated again.
    Packed(Box<dyn PackedTensor>, Option<Edge>),
}

/// A node that passes its gradient to an unpacked copy's leaf.
struct UnpackedLeaf;

impl BackwardFn for UnpackedLeaf {
    fn name(&self) -> &'static str {
        "AliasBackward0"
    }
    fn apply(&self, grad: &Tensor, _: &[bool]) -> Result<Grads> {
        Ok(smallvec::smallvec![Some(grad.clone())])
    }
    fn saves_tensors(&self) -> bool {
        false
    }
}

/// A tensor kept for backward, with the version it had when saved so that a
/// later in-place change is caught instead of giving a wrong gradient.
pub struct SavedTensor {
    saved: Saved,
    version: u64,
    /// For an output of the node that saves it: its number and the node's
    /// name. It is kept without history (the node would otherwise own
    /// itself) and given the running node back when unpacked.
    output: Option<(u32, &'static str)>,
}

impl SavedTensor {
    /// Saves an input of the op.
    pub fn new(tensor: &Tensor) -> SavedTensor {
        SavedTensor::save(tensor.clone(), None)
    }

    /// Saves output `nr` of the op named `node`.
    pub fn output(tensor: &Tensor, nr: u32, node: &'static str) -> SavedTensor {
        SavedTensor::save(tensor.detach(), Some((nr, node)))
    }

    fn save(tensor: Tensor, output: Option<(u32, &'static str)>) -> SavedTensor {
        let version = tensor.version();
        if tensor.is_inference() && !grad_mode::is_inference() {
            save_error(Error::Runtime("Inference tensors cannot be saved for backward. Please do not use Tensors created in inference mode in computation tracked by autograd. To work around this, you can make a clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`.".into()));
        }
        let hooks = SAVED_HOOKS.with(|s| s.borrow().last().cloned());
        let saved = match hooks {
            None => Saved::Tensor(tensor),
            // The hooks themselves must not see the tensors they create.
            Some(h) => {
                let _off = SavedHooksOff::new();
                let link = if output.is_some() { None } else { edge_of(&tensor) };
                match h.pack(&tensor) {
                    Ok(p) => Saved::Packed(p, link),
                    Err(e) => {
                        save_error(e);
                        Saved::Tensor(tensor)
                    }
                }
            }
        };
        SavedTensor { saved, version, output }
    }

    pub fn get(&self) -> Result<Tensor> {
        let t = match &self.saved {
            Saved::Packed(p, link) => return self.relink(p.unpack()?, link.as_ref()),
            Saved::Tensor(t) => t,
        };
        let now = t.version();
        if now != self.version {
            // PyTorch names generated nodes without their `Backward0` suffix
            // here, and hand-written ones by their C++ class.
            let output_of = self
                .output
                .or_else(|| t.grad_fn_name().map(|n| (0, n)))
                .map(|(nr, n)| match qualified_name(n) {
                    q if q != n => format!(", which is output {nr} of {q},"),
                    n => format!(", which is output {nr} of {},", n.trim_end_matches(char::is_numeric).trim_end_matches("Backward")),
                })
                .unwrap_or_default();
            bail!(
                Runtime,
                "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.{}Tensor [{}]]{} is at version {}; expected version {} instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).",
                t.dtype().scalar_name(),
                crate::layout::join(t.shape()),
                output_of,
                now,
                self.version
            );
        }
        if self.output.is_some() {
            return self.relink(t.clone(), None);
        }
        Ok(t.clone())
    }

    /// Under grad mode (a backward pass with `create_graph`), an unpacked
    /// value is linked back into the graph: an output to the running node,
    /// an input to its history or leaf.
    fn relink(&self, t: Tensor, link: Option<&Edge>) -> Result<Tensor> {
        if !grad_mode::is_enabled() {
            return Ok(t);
        }
        let alias = t.detach();
        match (self.output, link) {
            (Some((nr, _)), _) => match CURRENT_NODE.with(|c| *c.borrow()).and_then(arena::make_ref) {
                Some(node) => alias.set_history(Some(node), nr),
                None => return Ok(t),
            },
            (None, Some(Edge::Node(node, nr))) => alias.set_history(Some(node.clone()), *nr),
            (None, Some(Edge::Leaf(leaf))) => {
                let out = OutputMeta { shape: alias.shape_vec(), dtype: alias.dtype() };
                let node = make_node(Arc::new(UnpackedLeaf), smallvec::smallvec![Some(Edge::Leaf(leaf.clone()))], smallvec::smallvec![out])?;
                alias.set_history(Some(node), 0);
            }
            (None, None) => return Ok(t),
        }
        Ok(alias)
    }
}

/// Turns `saved_tensors_hooks` off on this thread until dropped.
struct SavedHooksOff(Vec<Arc<dyn SavedTensorHooks>>);

impl SavedHooksOff {
    fn new() -> SavedHooksOff {
        SavedHooksOff(SAVED_HOOKS.with(|s| std::mem::take(&mut *s.borrow_mut())))
    }
}

impl Drop for SavedHooksOff {
    fn drop(&mut self) {
        let stack = std::mem::take(&mut self.0);
        SAVED_HOOKS.with(|s| *s.borrow_mut() = stack);
    }
}

/// A node's `name()` as PyTorch gives it: hand-written nodes are named by
/// their C++ class.
pub fn qualified_name(name: &'static str) -> &'static str {
    match name {
        "CopySlices" => "torch::autograd::CopySlices",
        "CopyBackwards" => "torch::autograd::CopyBackwards",
        n => n,
    }
}

/// The message PyTorch gives when a graph is run after its saved tensors
/// were freed.
pub const FREED_GRAPH: &str = "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.";

/// The edge a gradient for `t` travels along: into its node, into its
/// `.grad` (a leaf that requires grad), or nowhere.
pub fn edge_of(t: &Tensor) -> Option<Edge> {
    match t.history() {
        Some((node, nr)) => Some(Edge::Node(node, nr)),
        None if t.requires_grad() => Some(Edge::Leaf(t.clone())),
        None => None,
    }
}

/// Attaches a backward node to `out` if grad mode is on and any input
/// requires grad. `make` builds the rule, saving only what `needs` calls for.
pub fn record<F: BackwardFn>(out: Tensor, inputs: &[&Tensor], make: impl FnOnce(&[bool]) -> F) -> Result<Tensor> {
    record_padded(out, inputs, 0, make)
}

/// `record` for an op that PyTorch gives `pad` more inputs that never need a
/// gradient (a Python number it wraps as a tensor: `x * 2` has
/// `next_functions` `((AccumulateGrad, 0), (None, 0))`).
pub fn record_padded<F: BackwardFn>(out: Tensor, inputs: &[&Tensor], pad: usize, make: impl FnOnce(&[bool]) -> F) -> Result<Tensor> {
    // Integer and bool results are not differentiable (e.g. `x.long()`);
    // inference mode records nothing, whatever the grad mode.
    if !grad_mode::is_enabled() || grad_mode::is_inference() || !out.dtype().is_float() {
        return Ok(out);
    }
    let mut edges: SmallVec<[Option<Edge>; 2]> = inputs.iter().map(|t| edge_of(t)).collect();
    if edges.iter().all(Option::is_none) {
        return Ok(out);
    }
    edges.extend((0..pad).map(|_| None));
    let needs: Needs = edges.iter().map(Option::is_some).collect();
    let op = make(&needs);
    attach(Arc::new(op), edges, &[&out])?;
    Ok(out)
}

/// Makes a node running `op` with these input edges the history of each of
/// `outputs` (output `i` of the node is `outputs[i]`).
pub fn attach(op: Arc<dyn BackwardFn>, edges: SmallVec<[Option<Edge>; 2]>, outputs: &[&Tensor]) -> Result<()> {
    let meta = outputs.iter().map(|o| OutputMeta { shape: o.shape_vec(), dtype: o.dtype() }).collect();
    let node = make_node(op, edges, meta)?;
    for (nr, out) in outputs.iter().enumerate() {
        out.set_history(Some(node.clone()), nr as u32);
    }
    Ok(())
}

/// A new node in the arena (an error met while saving its tensors is
/// reported here).
pub fn make_node(op: Arc<dyn BackwardFn>, edges: SmallVec<[Option<Edge>; 2]>, outputs: SmallVec<[OutputMeta; 1]>) -> Result<NodeRef> {
    if let Some(e) = SAVE_ERROR.with(|s| s.borrow_mut().take()) {
        return Err(e);
    }
    Ok(arena::insert(Node {
        name: op.name(),
        op: Some(op),
        freed_saved: SmallVec::new(),
        edges,
        outputs,
        hooks: NodeHooks::default(),
        trace: anomaly::forward_trace(),
        pyobj: Default::default(),
        metadata: None,
    }))
}
