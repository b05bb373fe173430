//! The tensor: a strided view into shared storage plus its autograd metadata.
//! `Tensor` is a cheap handle (`Arc`); clones are the same tensor.

use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::autograd::arena::{self, NodeId, NodeRef};
use crate::bail;
use crate::cpu_backend::{self, CpuStorage, Element};
use crate::device::Device;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::layout::{Layout, Shape};
use crate::storage::{BackendStorage, Storage};

/// What autograd knows about a tensor. A tensor with a `grad_fn` is the
/// output of a recorded op (not a leaf); a leaf requires grad only if asked.
#[derive(Default)]
pub struct AutogradMeta {
    pub requires_grad: bool,
    pub grad_fn: Option<NodeRef>,
    pub grad: Option<Tensor>,
    /// Hooks on this leaf's incoming gradient (a non-leaf's hooks live on
    /// its node).
    pub hooks: crate::autograd::node::Hooks,
}

pub struct TensorImpl {
    storage: Arc<Storage>,
    layout: Layout,
    dtype: DType,
    device: Device,
    /// Made by a view op (transpose, expand, ...): shares its base's storage.
    is_view: bool,
    meta: Mutex<AutogradMeta>,
}

#[derive(Clone)]
pub struct Tensor(Arc<TensorImpl>);

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?}, {:?})", self.dtype(), self.shape())
    }
}

impl Tensor {
    fn build(storage: Arc<Storage>, layout: Layout, dtype: DType, device: Device, is_view: bool) -> Tensor {
        Tensor(Arc::new(TensorImpl {
            storage,
            layout,
            dtype,
            device,
            is_view,
            meta: Mutex::new(AutogradMeta::default()),
        }))
    }

    /// A new contiguous CPU tensor owning `data`.
    pub fn from_cpu(data: CpuStorage, shape: &[usize]) -> Tensor {
        debug_assert_eq!(data.len(), crate::layout::numel(shape));
        let dtype = data.dtype();
        Tensor::build(Arc::new(Storage::cpu(data)), Layout::contiguous(shape), dtype, Device::Cpu, false)
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

    /// A tensor sharing this one's storage under another layout, with no
    /// autograd history (callers record one if needed).
    pub fn view_with(&self, layout: Layout) -> Tensor {
        Tensor::build(self.0.storage.clone(), layout, self.0.dtype, self.0.device, true)
    }

    /// Same storage and layout, no history: `detach()`.
    pub fn detach(&self) -> Tensor {
        Tensor::build(self.0.storage.clone(), self.0.layout.clone(), self.0.dtype, self.0.device, self.0.is_view)
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

    pub fn is_view(&self) -> bool {
        self.0.is_view
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.0.storage
    }

    pub fn version(&self) -> u64 {
        self.0.storage.version()
    }

    /// Identity of this tensor (not of its storage).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    pub fn same(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Whether nothing else holds this tensor or its storage.
    pub fn is_unshared(&self) -> bool {
        Arc::strong_count(&self.0) == 1 && Arc::strong_count(&self.0.storage) == 1
    }

    /// Whether this tensor is the only user of a dense buffer of exactly its
    /// elements, so that buffer may be adopted (as a leaf's first `.grad`)
    /// without a copy.
    pub fn owns_whole_storage(&self) -> bool {
        self.is_unshared()
            && self.0.layout.is_contiguous()
            && self.0.layout.offset == 0
            && self.0.storage.read().cpu().len() == self.numel()
    }

    pub fn meta(&self) -> MutexGuard<'_, AutogradMeta> {
        self.0.meta.lock()
    }

    pub fn requires_grad(&self) -> bool {
        let m = self.meta();
        m.requires_grad || m.grad_fn.is_some()
    }

    pub fn is_leaf(&self) -> bool {
        self.meta().grad_fn.is_none()
    }

    pub fn grad_fn(&self) -> Option<NodeId> {
        self.meta().grad_fn.as_ref().map(NodeRef::id)
    }

    pub fn grad_fn_ref(&self) -> Option<NodeRef> {
        self.meta().grad_fn.clone()
    }

    pub fn grad_fn_name(&self) -> Option<&'static str> {
        self.grad_fn().map(arena::name)
    }

    pub fn set_grad_fn(&self, node: Option<NodeRef>) {
        let old = std::mem::replace(&mut self.meta().grad_fn, node);
        drop(old); // outside the meta lock: dropping may free a graph
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
                bail!(Runtime, "assigned grad has data of a different type");
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

    /// Registers `hook` on the gradient arriving at this tensor; returns the
    /// key `remove_hook` takes.
    pub fn register_hook(&self, hook: crate::autograd::node::GradHook) -> Result<u64> {
        static NEXT_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        if !self.requires_grad() {
            bail!(Runtime, "cannot register a hook on a tensor that doesn't require gradient");
        }
        let key = NEXT_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.grad_fn() {
            Some(id) => arena::add_hook(id, key, hook),
            None => self.meta().hooks.push((key, hook)),
        }
        Ok(key)
    }

    pub fn remove_hook(&self, key: u64) {
        match self.grad_fn() {
            Some(id) => arena::remove_hook(id, key),
            None => {
                let removed: Vec<_> = {
                    let mut m = self.meta();
                    let (gone, kept) = std::mem::take(&mut m.hooks).into_iter().partition(|(k, _)| *k == key);
                    m.hooks = kept;
                    gone
                };
                drop(removed);
            }
        }
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
    pub fn write_dense(&self, src: &CpuStorage) -> Result<()> {
        if self.0.layout.has_internal_overlap() {
            bail!(
                Runtime,
                "unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation."
            );
        }
        {
            let mut guard = self.0.storage.write();
            cpu_backend::write_strided(guard.cpu_mut(), &self.0.layout, src);
        }
        self.0.storage.bump_version();
        Ok(())
    }

    pub fn fill_value(&self, value: Scalar) -> Result<()> {
        if self.0.layout.has_internal_overlap() {
            return self.write_dense(&CpuStorage::filled(self.dtype(), self.numel(), value));
        }
        {
            let mut guard = self.0.storage.write();
            cpu_backend::fill(guard.cpu_mut(), &self.0.layout, value);
        }
        self.0.storage.bump_version();
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
