//! The tensor: a strided view into shared storage plus its autograd metadata.
//! `Tensor` is a cheap handle (`Arc`); clones are the same tensor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, MutexGuard};

use crate::autograd::arena::{self, NodeId, NodeRef};
use crate::autograd::grad_mode;
use crate::autograd::node::{GcRef, GradHook, Hooks, PostAccumulateHook};
use crate::bail;
use crate::cpu_backend::{self, CpuStorage, Element};
use crate::device::Device;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::{Layout, Shape};
use crate::pyobj::PyObjSlot;
use crate::storage::{BackendStorage, Storage};

/// What autograd knows about a tensor. A tensor with a `grad_fn` is the
/// output of a recorded op (not a leaf); a leaf requires grad only if asked.
#[derive(Default)]
pub struct AutogradMeta {
    pub requires_grad: bool,
    pub grad_fn: Option<NodeRef>,
    /// Which output of `grad_fn` this tensor is.
    pub output_nr: u32,
    pub grad: Option<Tensor>,
    /// Hooks on this leaf's incoming gradient (a non-leaf's hooks live on
    /// its node).
    pub hooks: Hooks,
    /// Hooks run after this leaf's `.grad` was updated.
    pub post_accumulate_hooks: Vec<(u64, PostAccumulateHook)>,
    /// The Python objects this leaf's hooks call, by hook key (see `GcRef`).
    pub owned: Vec<(u64, GcRef)>,
    /// `retain_grad()` was called (on a non-leaf).
    pub retains_grad: bool,
    /// The Python `AccumulateGrad` object standing for this leaf's node.
    pub accumulator: PyObjSlot,
}

/// A differentiable view's link to the tensor whose storage it views.
struct ViewInfo {
    /// The root base: never itself a view.
    base: Tensor,
    /// Made with grad mode on; a view made under `no_grad` is not rebased.
    tracked: bool,
    /// The version at which this view's `grad_fn` was last set: after an
    /// in-place write elsewhere (base or sibling view) it is stale and is
    /// regenerated from the base's new history, as in PyTorch.
    attr_version: AtomicU64,
    /// Made by a function returning several views (`split`, `chunk`,
    /// `unbind`), or a view of such an output: the function's name as
    /// PyTorch's error gives it (`Split`) and the output's number. Such
    /// views may not be modified in place while they require grad.
    multi_output: Option<(&'static str, usize)>,
}

pub struct TensorImpl {
    storage: Arc<Storage>,
    layout: Layout,
    dtype: DType,
    device: Device,
    /// Bumped by every in-place write; shared by views and `detach()` (not by
    /// `.data`), so a saved tensor's modification is caught.
    version: Arc<AtomicU64>,
    view: Option<ViewInfo>,
    /// Made under `inference_mode`.
    inference: bool,
    var: Arc<Variable>,
}

impl Drop for TensorImpl {
    fn drop(&mut self) {
        crate::stats::tensor_dropped();
    }
}

/// What stays when `.data` is assigned: the autograd identity of a tensor
/// (PyTorch's variable) and its Python object.
#[derive(Default)]
struct Variable {
    meta: Mutex<AutogradMeta>,
    pyobj: PyObjSlot,
    /// Serialises accumulation into `.grad` (see the engine).
    accumulate: Mutex<()>,
}

#[derive(Clone)]
#[repr(transparent)]
pub struct Tensor(Arc<TensorImpl>);

/// A tensor whose data can be replaced (`x.data = y`) while it stays the
/// same variable: what a Python `Tensor` object holds.
pub struct TensorCell(arc_swap::ArcSwap<TensorImpl>);

/// A loaded `TensorCell`, used as a `&Tensor`.
pub struct TensorGuard(arc_swap::Guard<Arc<TensorImpl>>);

impl TensorCell {
    pub fn new(t: Tensor) -> TensorCell {
        TensorCell(arc_swap::ArcSwap::new(t.0))
    }

    pub fn load(&self) -> TensorGuard {
        TensorGuard(self.0.load())
    }

    pub fn store(&self, t: Tensor) {
        self.0.store(t.0);
    }

    /// Calls `visit` on what the tensor in this cell alone keeps alive for
    /// Python (see `Tensor::visit_owned`), if the cell is its only holder.
    pub fn visit_owned<E>(&self, visit: impl FnMut(&GcRef) -> std::result::Result<(), E>) -> std::result::Result<(), E> {
        let t = Tensor(self.0.load_full());
        // The cell's reference and the one just loaded.
        if Arc::strong_count(&t.0) != 2 {
            return Ok(());
        }
        t.visit_owned(visit)
    }
}

impl std::ops::Deref for TensorGuard {
    type Target = Tensor;
    fn deref(&self) -> &Tensor {
        let arc: &Arc<TensorImpl> = &self.0;
        // SAFETY: `Tensor` is a `repr(transparent)` wrapper of this `Arc`.
        unsafe { &*(arc as *const Arc<TensorImpl> as *const Tensor) }
    }
}

/// A reference that does not keep the tensor alive (a node's link to an
/// output that retains its grad).
#[derive(Clone)]
pub struct WeakTensor(Weak<TensorImpl>);

impl WeakTensor {
    pub fn upgrade(&self) -> Option<Tensor> {
        self.0.upgrade().map(Tensor)
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?}, {:?})", self.dtype(), self.shape())
    }
}

impl Tensor {
    fn build(storage: Arc<Storage>, layout: Layout, dtype: DType, device: Device, version: Arc<AtomicU64>, view: Option<ViewInfo>) -> Tensor {
        Tensor::build_as(storage, layout, dtype, device, version, view, grad_mode::is_inference())
    }

    /// An alias of this tensor's storage; it is an inference tensor if this
    /// one is (or inference mode is on).
    fn alias(&self, layout: Layout, version: Arc<AtomicU64>, view: Option<ViewInfo>) -> Tensor {
        let inference = self.0.inference || grad_mode::is_inference();
        Tensor::build_as(self.0.storage.clone(), layout, self.0.dtype, self.0.device, version, view, inference)
    }

    fn build_as(storage: Arc<Storage>, layout: Layout, dtype: DType, device: Device, version: Arc<AtomicU64>, view: Option<ViewInfo>, inference: bool) -> Tensor {
        crate::stats::tensor_made();
        Tensor(Arc::new(TensorImpl {
            storage,
            layout,
            dtype,
            device,
            version,
            view,
            inference,
            var: Arc::default(),
        }))
    }

    /// A new contiguous CPU tensor owning `data`.
    pub fn from_cpu(data: CpuStorage, shape: &[usize]) -> Tensor {
        debug_assert_eq!(data.len(), crate::layout::numel(shape));
        let dtype = data.dtype();
        Tensor::build(Arc::new(Storage::cpu(data)), Layout::contiguous(shape), dtype, Device::Cpu, Arc::default(), None)
    }

    /// A new CPU tensor over `data` viewed through `layout` (which must
    /// address elements inside `data`): how borrowed NumPy and DLPack
    /// memory, with its own strides, becomes a tensor.
    pub fn from_storage(data: CpuStorage, layout: Layout) -> Tensor {
        debug_assert!(layout.shape.contains(&0) || layout.offset < data.len());
        let dtype = data.dtype();
        Tensor::build(Arc::new(Storage::cpu(data)), layout, dtype, Device::Cpu, Arc::default(), None)
    }

    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Tensor {
        Tensor::from_cpu(T::wrap(data), shape)
    }

    pub fn full(shape: &[usize], value: Scalar, dtype: DType) -> Tensor {
        Tensor::from_cpu(CpuStorage::filled(dtype, crate::layout::numel(shape), value), shape)
    }

    pub fn scalar_tensor(value: Scalar, dtype: DType) -> Tensor {
        Tensor::full(&[], value, dtype)
    }

    /// A view: this tensor's storage and version counter under another
    /// layout, with no autograd history (callers record one if needed).
    pub fn view_with(&self, layout: Layout) -> Tensor {
        let base = self.0.view.as_ref().map_or_else(|| self.clone(), |v| v.base.clone());
        let multi_output = self.0.view.as_ref().and_then(|v| v.multi_output);
        let view = ViewInfo { base, tracked: grad_mode::is_enabled(), attr_version: AtomicU64::new(self.version()), multi_output };
        self.alias(layout, self.0.version.clone(), Some(view))
    }

    /// This view as output `nr` of `node`, a function returning several
    /// views (see `ViewInfo::multi_output`), with the same history.
    pub fn as_multi_output_view(&self, node: &'static str, nr: usize) -> Tensor {
        let Some(v) = &self.0.view else { return self.clone() };
        let view = ViewInfo {
            base: v.base.clone(),
            tracked: v.tracked,
            attr_version: AtomicU64::new(v.attr_version.load(Ordering::Acquire)),
            multi_output: Some((node, nr)),
        };
        let out = Tensor::build_as(self.0.storage.clone(), self.0.layout.clone(), self.0.dtype, self.0.device, self.0.version.clone(), Some(view), self.0.inference);
        if let Some((node, nr)) = self.history() {
            out.set_history(Some(node), nr);
        }
        out
    }

    /// The function and output number of a view made by a function that
    /// returns several views (see `as_multi_output_view`).
    pub fn multi_output_view(&self) -> Option<(&'static str, usize)> {
        self.0.view.as_ref().and_then(|v| v.multi_output)
    }

    /// A fresh op result laid out anew in place (PyTorch's `squeeze_` on a
    /// result nobody else holds yet): same storage, not a view, no history.
    pub fn relaid(&self, layout: Layout) -> Tensor {
        self.alias(layout, self.0.version.clone(), None)
    }

    /// Same storage, layout and version counter, no history: `detach()`.
    pub fn detach(&self) -> Tensor {
        self.alias(self.0.layout.clone(), self.0.version.clone(), None)
    }

    /// `.data`: same storage and layout but a version counter of its own, so
    /// autograd does not see writes through it (PyTorch's semantics).
    pub fn data_alias(&self) -> Tensor {
        self.alias(self.0.layout.clone(), Arc::default(), None)
    }

    /// The slot for the Python object wrapping this tensor.
    pub fn pyobj(&self) -> &PyObjSlot {
        &self.0.var.pyobj
    }

    /// `x.data = src`: the same variable (history, `.grad`, hooks, Python
    /// object, version counter) over `src`'s storage, layout and dtype.
    pub fn with_data(&self, src: &Tensor) -> Tensor {
        crate::stats::tensor_made();
        Tensor(Arc::new(TensorImpl {
            storage: src.0.storage.clone(),
            layout: src.0.layout.clone(),
            dtype: src.0.dtype,
            device: src.0.device,
            version: self.0.version.clone(),
            view: None,
            inference: src.0.inference,
            var: self.0.var.clone(),
        }))
    }

    pub fn downgrade(&self) -> WeakTensor {
        WeakTensor(Arc::downgrade(&self.0))
    }

    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }

    pub fn shape(&self) -> &[usize] {
        &self.0.layout.shape
    }

    pub fn shape_vec(&self) -> Shape {
        self.0.layout.shape.clone()
    }

    pub fn ndim(&self) -> usize {
        self.0.layout.ndim()
    }

    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }

    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    pub fn device(&self) -> Device {
        self.0.device
    }

    /// Whether this tensor is a view of another (`_is_view()`).
    pub fn is_view(&self) -> bool {
        self.0.view.is_some()
    }

    /// The tensor this one is a view of (`_base`).
    pub fn view_base(&self) -> Option<&Tensor> {
        self.0.view.as_ref().map(|v| &v.base)
    }

    /// Whether the view was made with grad mode on.
    pub fn is_tracked_view(&self) -> bool {
        self.0.view.as_ref().is_some_and(|v| v.tracked)
    }

    pub fn is_inference(&self) -> bool {
        self.0.inference
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.0.storage
    }

    pub fn version(&self) -> u64 {
        self.0.version.load(Ordering::Acquire)
    }

    pub fn bump_version(&self) {
        self.0.version.fetch_add(1, Ordering::AcqRel);
    }

    /// Identity of this tensor as an autograd variable (kept when `.data`
    /// is assigned), not of its storage.
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0.var) as usize
    }

    pub fn same(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.var, &other.0.var)
    }

    /// Whether nothing else holds this tensor or its storage.
    pub fn is_unshared(&self) -> bool {
        Arc::strong_count(&self.0) == 1 && Arc::strong_count(&self.0.storage) == 1
    }

    /// Whether this tensor is the only user of a dense buffer of exactly its
    /// elements, so that buffer may be adopted (as a leaf's first `.grad`)
    /// without a copy.
    /// Whether the two tensors view one storage.
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }

    pub fn owns_whole_storage(&self) -> bool {
        self.is_unshared()
            && self.0.layout.is_contiguous()
            && self.0.layout.offset == 0
            && self.0.storage.read().cpu().len() == self.numel()
    }

    pub fn meta(&self) -> MutexGuard<'_, AutogradMeta> {
        self.0.var.meta.lock()
    }

    /// Held while a gradient is accumulated into `.grad`.
    pub fn accumulation_lock(&self) -> MutexGuard<'_, ()> {
        self.0.var.accumulate.lock()
    }

    pub fn requires_grad(&self) -> bool {
        self.refresh_view_history();
        let m = self.meta();
        m.requires_grad || m.grad_fn.is_some()
    }

    pub fn is_leaf(&self) -> bool {
        self.refresh_view_history();
        self.meta().grad_fn.is_none()
    }

    pub fn grad_fn(&self) -> Option<NodeId> {
        self.grad_fn_ref().map(|r| r.id())
    }

    pub fn grad_fn_ref(&self) -> Option<NodeRef> {
        self.refresh_view_history();
        self.meta().grad_fn.clone()
    }

    /// The node that produced this tensor and which of its outputs it is.
    pub fn history(&self) -> Option<(NodeRef, u32)> {
        self.refresh_view_history();
        let m = self.meta();
        m.grad_fn.clone().map(|r| (r, m.output_nr))
    }

    pub fn grad_fn_name(&self) -> Option<&'static str> {
        self.grad_fn().map(arena::name)
    }

    pub fn set_grad_fn(&self, node: Option<NodeRef>) {
        self.set_history(node, 0);
    }

    /// Makes `node`'s output `output_nr` this tensor's history (after an op
    /// or an in-place write); a view's history is then current.
    pub fn set_history(&self, node: Option<NodeRef>, output_nr: u32) {
        if let Some(v) = &self.0.view {
            v.attr_version.store(self.version(), Ordering::Release);
        }
        let (old, retains) = {
            let mut m = self.meta();
            m.output_nr = output_nr;
            let new = node.as_ref().map(NodeRef::id);
            (std::mem::replace(&mut m.grad_fn, node), m.retains_grad.then_some(new).flatten())
        };
        // `retain_grad()` keeps the gradient of the tensor's current value.
        if let Some(new) = retains {
            let me = Arc::as_ptr(&self.0);
            if let Some(old) = &old {
                arena::with_node(old.id(), |n| n.hooks.retain.retain(|(_, w)| w.0.as_ptr() != me));
            }
            let weak = self.downgrade();
            arena::with_node(new, |n| n.hooks.retain.push((output_nr, weak)));
        }
        drop(old); // outside the meta lock: dropping may free a graph
    }

    /// A view whose storage was written in place since its history was set
    /// (through its base or a sibling view) gets a new history: an
    /// `AsStridedBackward0` over its base's current one, as PyTorch does.
    fn refresh_view_history(&self) {
        let Some(v) = &self.0.view else { return };
        let now = self.version();
        if v.attr_version.load(Ordering::Acquire) == now {
            return;
        }
        v.attr_version.store(now, Ordering::Release);
        if !v.tracked || !v.base.requires_grad() {
            return;
        }
        self.set_history(crate::ops::view::as_strided_history(&v.base, self.layout()), 0);
    }

    pub fn set_requires_grad(&self, flag: bool) -> Result<()> {
        let mut m = self.meta();
        if m.grad_fn.is_some() {
            if flag {
                return Ok(());
            }
            bail!(
                Runtime,
                "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            );
        }
        if flag && !self.dtype().is_float() {
            bail!(Runtime, "only Tensors of floating point dtype can require gradients");
        }
        if flag && self.0.inference && !grad_mode::is_inference() {
            bail!(Runtime, "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.");
        }
        m.requires_grad = flag;
        Ok(())
    }

    pub fn grad(&self) -> Option<Tensor> {
        self.meta().grad.clone()
    }

    /// Assigns `.grad`, with PyTorch's checks.
    pub fn set_grad(&self, grad: Option<Tensor>) -> Result<()> {
        if let Some(g) = &grad {
            if g.same(self) {
                bail!(Runtime, "can't assign Variable as its own grad");
            }
            if g.dtype() != self.dtype() {
                bail!(
                    Runtime,
                    "attempting to assign a gradient with dtype '{}' to a tensor with grad_dtype '{}'. The gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may break downstream systems that assume they match.",
                    g.dtype().scalar_name().to_lowercase(),
                    self.dtype().scalar_name()
                );
            }
            if g.shape() != self.shape() {
                bail!(
                    Runtime,
                    "attempting to assign a gradient of size '[{}]' to a tensor of size '[{}]'. Please ensure that the gradient and the tensor are the same size",
                    crate::layout::join(g.shape()),
                    crate::layout::join(self.shape())
                );
            }
        }
        let old = std::mem::replace(&mut self.meta().grad, grad);
        drop(old);
        Ok(())
    }

    /// Calls `visit` on each Python object kept alive through this tensor's
    /// autograd state that it alone owns: its hooks' callables and, when no
    /// other tensor or node names its `grad_fn`, that node's hooks and its
    /// Python extra (a custom Function's `ctx`, a `metadata` dict). Python's
    /// cycle collector may only be told of references an object owns alone
    /// (PyTorch's `THPVariable_subclass_traverse` follows the same rule): a
    /// shared one would be subtracted once per sharer.
    fn visit_owned<E>(&self, mut visit: impl FnMut(&GcRef) -> std::result::Result<(), E>) -> std::result::Result<(), E> {
        if Arc::strong_count(&self.0.var) != 1 {
            return Ok(()); // shared with a `.data` alias
        }
        let node = {
            let Some(m) = self.0.var.meta.try_lock() else { return Ok(()) };
            for (_, owned) in &m.owned {
                visit(owned)?;
            }
            m.grad_fn.as_ref().map(|n| n.id())
        };
        let Some(node) = node else { return Ok(()) };
        arena::with_sole_node(node, |n| {
            for (_, owned) in &n.hooks.owned {
                visit(owned)?;
            }
            n.metadata.as_ref().map_or(Ok(()), &mut visit)
        })
        .unwrap_or(Ok(()))
    }

    /// Registers `hook` on the gradient arriving at this tensor; returns the
    /// key `remove_hook` takes. `owned` is what the hook keeps alive for
    /// Python (see `GcRef`).
    pub fn register_hook(&self, hook: GradHook, owned: Option<GcRef>) -> Result<u64> {
        if !self.requires_grad() {
            bail!(Runtime, "cannot register a hook on a tensor that doesn't require gradient");
        }
        let key = crate::autograd::node::next_hook_key();
        match self.history() {
            Some((node, nr)) => {
                arena::with_node(node.id(), |n| {
                    n.hooks.tensor.push((key, nr, hook));
                    n.hooks.owned.extend(owned.map(|o| (key, o)));
                });
            }
            None => {
                let mut m = self.meta();
                m.hooks.push((key, hook));
                m.owned.extend(owned.map(|o| (key, o)));
            }
        }
        Ok(key)
    }

    /// `register_post_accumulate_grad_hook`: runs after `.grad` is updated.
    pub fn register_post_accumulate_hook(&self, hook: PostAccumulateHook, owned: Option<GcRef>) -> Result<u64> {
        if !self.is_leaf() {
            bail!(Runtime, "post accumulate grad hooks cannot be registered on non-leaf tensors");
        }
        if !self.requires_grad() {
            bail!(Runtime, "cannot register a hook on a tensor that doesn't require gradient");
        }
        let key = crate::autograd::node::next_hook_key();
        let mut m = self.meta();
        m.post_accumulate_hooks.push((key, hook));
        m.owned.extend(owned.map(|o| (key, o)));
        Ok(key)
    }

    /// Removes the hook `key` wherever this tensor keeps it.
    pub fn remove_hook(&self, key: u64) {
        if let Some(node) = self.grad_fn_ref() {
            arena::remove_hook(node.id(), key);
        }
        let removed = {
            let mut m = self.meta();
            let hooks: Hooks = std::mem::take(&mut m.hooks);
            let (gone, kept): (Hooks, Hooks) = hooks.into_iter().partition(|(k, _)| *k == key);
            m.hooks = kept;
            let post = std::mem::take(&mut m.post_accumulate_hooks);
            let (gone_post, kept_post): (Vec<_>, Vec<_>) = post.into_iter().partition(|(k, _)| *k == key);
            m.post_accumulate_hooks = kept_post;
            let (gone_owned, kept_owned): (Vec<_>, Vec<_>) = std::mem::take(&mut m.owned).into_iter().partition(|(k, _)| *k == key);
            m.owned = kept_owned;
            (gone, gone_post, gone_owned)
        };
        drop(removed); // outside the lock: a hook may own tensors
    }

    /// `retain_grad()`: a non-leaf keeps the gradient that reaches it in
    /// `.grad`; a no-op on leaves.
    pub fn retain_grad(&self) -> Result<()> {
        if !self.requires_grad() {
            bail!(Runtime, "can't retain_grad on Tensor that has requires_grad=False");
        }
        let Some((node, nr)) = self.history() else { return Ok(()) };
        let mut m = self.meta();
        if m.retains_grad {
            return Ok(());
        }
        m.retains_grad = true;
        drop(m);
        let weak = self.downgrade();
        arena::with_node(node.id(), |n| n.hooks.retain.push((nr, weak)));
        Ok(())
    }

    pub fn retains_grad(&self) -> bool {
        !self.is_leaf() && self.meta().retains_grad
    }

    /// Runs `f` on this tensor's CPU buffer and layout.
    pub fn with_cpu<R>(&self, f: impl FnOnce(&CpuStorage, &Layout) -> R) -> R {
        let guard = self.0.storage.read();
        f(guard.cpu(), &self.0.layout)
    }

    /// The elements, densely, in row-major order.
    pub fn to_dense(&self) -> CpuStorage {
        self.with_cpu(cpu_backend::gather)
    }

    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if self.dtype() != T::DTYPE {
            bail!(Runtime, "expected dtype {:?}, got {:?}", T::DTYPE, self.dtype());
        }
        Ok(T::slice(&self.to_dense()).to_vec())
    }

    /// The value of a one-element tensor, with PyTorch's error otherwise.
    pub fn item(&self) -> Result<Scalar> {
        if self.numel() != 1 {
            bail!(
                Runtime,
                "a Tensor with {} elements cannot be converted to Scalar",
                self.numel()
            );
        }
        Ok(self.with_cpu(|d, l| {
            crate::with_dtype!(d.dtype(), T => T::slice(d)[l.offset].to_scalar())
        }))
    }

    /// Overwrites this tensor's elements (in its layout) with dense `src`
    /// of the same dtype and element count, and bumps the version.
    /// Runs `f` on this dense tensor's buffer, write-locked, with the offset
    /// and length of its elements there, and counts a write if `f` says it
    /// wrote; `None` if the tensor is not dense, is empty, or another thread
    /// holds the buffer.
    pub fn write_cpu(&self, f: impl FnOnce(&mut CpuStorage, usize, usize) -> bool) -> Option<bool> {
        // An empty view's offset may lie past the end of its buffer.
        if !self.0.layout.is_contiguous() || self.numel() == 0 {
            return None;
        }
        let written = f(self.0.storage.try_write()?.cpu_mut(), self.0.layout.offset, self.numel());
        if written {
            self.bump_version();
        }
        Some(written)
    }

    pub fn write_dense(&self, src: &CpuStorage) -> Result<()> {
        if self.numel() > 0 && self.0.layout.has_internal_overlap() {
            bail!(
                Runtime,
                "unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation."
            );
        }
        {
            let mut guard = self.0.storage.write();
            cpu_backend::write_strided(guard.cpu_mut(), &self.0.layout, src);
        }
        self.bump_version();
        Ok(())
    }

    /// Sets every element to `value` (elements sharing memory are fine:
    /// they get the same value).
    pub fn fill_value(&self, value: Scalar) -> Result<()> {
        {
            let mut guard = self.0.storage.write();
            cpu_backend::fill(guard.cpu_mut(), &self.0.layout, value);
        }
        self.bump_version();
        Ok(())
    }

    /// Raw access for zero-copy export (NumPy): a pointer to the first
    /// element of the view. Storage buffers never move or shrink, so the
    /// pointer stays valid while this tensor's storage is alive.
    pub fn data_ptr(&self) -> *const u8 {
        let guard = self.0.storage.read();
        match &*guard {
            BackendStorage::Cpu(c) => crate::with_dtype!(c.dtype(), T => {
                T::slice(c).as_ptr().wrapping_add(self.0.layout.offset) as *const u8
            }),
            BackendStorage::Cuda(c) => match *c {},
        }
    }
}
