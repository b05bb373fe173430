//! The graph as Python sees it: `grad_fn` objects (one Python class per
//! node name, `MulBackward0`, all subclasses of `Node`), `AccumulateGrad`
//! objects for leaves, `next_functions`, node hooks and hook handles.
//! Each node and leaf has at most one live Python object, so `y.grad_fn is
//! y.grad_fn`, as in PyTorch.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::PyTraverseError;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use super::errors::foreign;
use super::tensor::{wrap, PyTensor};
use crate::autograd::arena::{self, Edge, NodeId, NodeRef};
use crate::autograd::node::{next_hook_key, GcRef, GradList, PostHook, PreHook};
use crate::tensor::Tensor;

/// What the Python layer keeps on a node for as long as the node lives.
pub enum NodeExtra {
    /// A custom Function's node: its Python object is the `ctx`.
    /// Shared with the node's rule, which calls it: one reference to the
    /// ctx, reported once to the cycle collector.
    Ctx(Arc<Py<PyAny>>),
    /// A built-in node's `metadata` dict.
    Metadata(Py<PyDict>),
}

/// A hook's Python callable, held once and shared by the hook's closure and
/// by the entry that reports it to Python's cycle collector (`GcRef`).
pub fn traced(hook: Py<PyAny>) -> (Arc<Py<PyAny>>, GcRef) {
    let callable = Arc::new(hook);
    (callable.clone(), callable)
}

/// Reports what a `GcRef` holds to Python's cycle collector: a hook's
/// callable, or a node's `ctx` or `metadata` dict.
pub fn visit_gc_ref(visit: &PyVisit<'_>, owned: &GcRef) -> Result<(), PyTraverseError> {
    if let Some(callable) = owned.downcast_ref::<Py<PyAny>>() {
        return visit.call(callable);
    }
    match owned.downcast_ref::<NodeExtra>() {
        Some(NodeExtra::Ctx(ctx)) => visit.call(&**ctx),
        Some(NodeExtra::Metadata(dict)) => visit.call(dict),
        None => Ok(()),
    }
}

fn extra_of(id: NodeId) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
    arena::with_node(id, |n| n.metadata.clone()).flatten()
}

/// The live object a `PyObjSlot` records (`ptr`), if any.
pub fn live_object<'py>(py: Python<'py>, ptr: usize) -> Option<Bound<'py, PyAny>> {
    if ptr == 0 {
        return None;
    }
    // SAFETY: the slot holds a pointer to a live object (its wrapper clears
    // the slot when it dies), read with the GIL held.
    unsafe {
        let obj = ptr as *mut pyo3::ffi::PyObject;
        (pyo3::ffi::Py_REFCNT(obj) > 0).then(|| Bound::from_borrowed_ptr(py, obj))
    }
}

/// Hands a node to `Node.__new__` (Python subclasses are instantiated
/// through it).
#[pyclass(module = "rustgrad.autograd.graph", frozen)]
pub struct NodeToken(Mutex<Option<NodeRef>>);

/// A backward node (`tensor.grad_fn`); its Python class is named after it.
#[pyclass(name = "Node", module = "rustgrad.autograd.graph", subclass, frozen, weakref)]
pub struct PyNode {
    node: NodeRef,
}

impl Drop for PyNode {
    fn drop(&mut self) {
        let owner = self as *const PyNode as usize;
        arena::with_node(self.node.id(), |n| n.pyobj.clear_if_owner(owner));
    }
}

static NODE_CLASSES: PyOnceLock<Mutex<HashMap<&'static str, Py<PyType>>>> = PyOnceLock::new();

fn node_class<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyType>> {
    let classes = NODE_CLASSES.get_or_init(py, || Mutex::new(HashMap::new()));
    if let Some(c) = classes.lock().get(name) {
        return Ok(c.bind(py).clone());
    }
    let dict = PyDict::new(py);
    dict.set_item("__module__", "rustgrad.autograd.graph")?;
    dict.set_item("__slots__", PyTuple::empty(py))?;
    let cls = py.get_type::<PyType>().call1((name, (py.get_type::<PyNode>(),), dict))?.cast_into::<PyType>()?;
    classes.lock().insert(name, cls.clone().unbind());
    Ok(cls)
}

/// The Python object standing for `node` (created on first use).
pub fn node_object<'py>(py: Python<'py>, node: &NodeRef) -> PyResult<Bound<'py, PyAny>> {
    let id = node.id();
    if let Some(extra) = extra_of(id) {
        if let Some(NodeExtra::Ctx(ctx)) = extra.downcast_ref::<NodeExtra>() {
            return Ok(ctx.bind(py).clone());
        }
    }
    if let Some(obj) = live_object(py, arena::with_node(id, |n| n.pyobj.get()).unwrap_or(0)) {
        return Ok(obj);
    }
    let cls = node_class(py, arena::name(id))?;
    let token = Bound::new(py, NodeToken(Mutex::new(Some(node.clone()))))?;
    let obj = cls.call1((token,))?;
    let owner = obj.cast::<PyNode>()?.get() as *const PyNode as usize;
    arena::with_node(id, |n| n.pyobj.set(obj.as_ptr() as usize, owner));
    Ok(obj)
}

/// A leaf's `AccumulateGrad` node.
#[pyclass(name = "AccumulateGrad", module = "rustgrad.autograd.graph", frozen, weakref)]
pub struct PyAccumulateGrad {
    leaf: Tensor,
    metadata: Py<PyDict>,
}

impl Drop for PyAccumulateGrad {
    fn drop(&mut self) {
        self.leaf.meta().accumulator.clear_if_owner(self as *const PyAccumulateGrad as usize);
    }
}

fn accumulate_grad_object<'py>(py: Python<'py>, leaf: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    if let Some(obj) = live_object(py, leaf.meta().accumulator.get()) {
        return Ok(obj);
    }
    let obj = Bound::new(py, PyAccumulateGrad { leaf: leaf.clone(), metadata: PyDict::new(py).unbind() })?;
    let owner = obj.get() as *const PyAccumulateGrad as usize;
    leaf.meta().accumulator.set(obj.as_ptr() as usize, owner);
    Ok(obj.into_any())
}

#[pymethods]
impl PyAccumulateGrad {
    #[getter]
    fn variable<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTensor>> {
        wrap(py, self.leaf.clone())
    }
    fn name(&self) -> &'static str {
        "torch::autograd::AccumulateGrad"
    }
    #[getter]
    fn next_functions<'py>(&self, py: Python<'py>) -> Bound<'py, PyTuple> {
        PyTuple::empty(py)
    }
    #[getter]
    fn metadata(&self, py: Python<'_>) -> Py<PyDict> {
        self.metadata.clone_ref(py)
    }
    /// A pre-hook of `AccumulateGrad` sees the leaf's incoming gradient.
    fn register_prehook(&self, py: Python<'_>, hook: Py<PyAny>) -> PyResult<RemovableHandle> {
        let (hook, owned) = traced(hook);
        let f = move |g: &Tensor| -> crate::Result<Option<Tensor>> {
            Python::attach(|py| {
                let out = hook.call1(py, (PyTuple::new(py, [wrap(py, g.clone())?])?,))?;
                first_tensor(out.bind(py))
            })
            .map_err(foreign)
        };
        let _ = py;
        let key = self.leaf.register_hook(Arc::new(f), Some(owned))?;
        Ok(RemovableHandle { target: HookTarget::Tensor(self.leaf.clone()), key })
    }
    /// A post-hook of `AccumulateGrad` runs after the leaf's `.grad` was
    /// updated, with no input gradients and the accumulated one.
    fn register_hook(&self, hook: Py<PyAny>) -> PyResult<RemovableHandle> {
        let (hook, owned) = traced(hook);
        let f = move |_leaf: &Tensor, g: &Tensor| -> crate::Result<()> {
            Python::attach(|py| hook.call1(py, (PyTuple::empty(py), PyTuple::new(py, [wrap(py, g.clone())?])?)).map(drop)).map_err(foreign)
        };
        let key = self.leaf.register_post_accumulate_hook(Arc::new(f), Some(owned))?;
        Ok(RemovableHandle { target: HookTarget::Tensor(self.leaf.clone()), key })
    }
    /// The leaf's shape and dtype: the gradient this node accumulates.
    #[getter]
    fn _input_metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, [InputMetadata { shape: self.leaf.shape_vec(), dtype: self.leaf.dtype() }])
    }
    fn __repr__(slf: &Bound<'_, Self>) -> String {
        format!("<AccumulateGrad object at {:#x}>", slf.as_ptr() as usize)
    }
}

/// `grad_fn._input_metadata[i]`: the shape and dtype that the gradient
/// arriving for output `i` of a node has (PyTorch's `_InputMetadata`).
#[pyclass(name = "_InputMetadata", module = "rustgrad._C._autograd", frozen)]
pub struct InputMetadata {
    shape: crate::layout::Shape,
    dtype: crate::dtype::DType,
}

#[pymethods]
impl InputMetadata {
    /// The shape as a list of ints, as PyTorch gives it.
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.shape.to_vec()
    }
    #[getter]
    fn dtype(&self, py: Python<'_>) -> Py<super::dtype::PyDType> {
        super::dtype::dtype_object(py, self.dtype).clone_ref(py)
    }
    fn __repr__(&self) -> String {
        format!("_InputMetadata(shape={:?}, dtype={})", self.shape.as_slice(), self.dtype.name())
    }
}

/// `None` or the tensor in a hook's returned `(grad,)` tuple (or bare
/// tensor).
fn first_tensor(out: &Bound<'_, PyAny>) -> PyResult<Option<Tensor>> {
    if out.is_none() {
        return Ok(None);
    }
    if let Ok(t) = out.cast::<PyTensor>() {
        return Ok(Some(t.get().tensor().clone()));
    }
    let item = out.get_item(0)?;
    if item.is_none() {
        return Ok(None);
    }
    Ok(Some(item.cast::<PyTensor>()?.get().tensor().clone()))
}

/// `next_functions` of node `id`.
pub fn next_functions<'py>(py: Python<'py>, id: NodeId) -> PyResult<Bound<'py, PyTuple>> {
    let edges = arena::edges(id).unwrap_or_default();
    let mut items = Vec::with_capacity(edges.len());
    for edge in edges {
        let (obj, nr) = match edge {
            None => (py.None().into_bound(py), 0u32),
            Some(Edge::Node(node, nr)) => (node_object(py, &node)?, nr),
            Some(Edge::Leaf(t)) => (accumulate_grad_object(py, &t)?, 0),
        };
        items.push(PyTuple::new(py, [obj, nr.into_pyobject(py)?.into_any()])?);
    }
    PyTuple::new(py, items)
}

fn grads_tuple<'py>(py: Python<'py>, grads: &[Option<Tensor>]) -> PyResult<Bound<'py, PyTuple>> {
    let items: Vec<Bound<'py, PyAny>> =
        grads.iter().map(|g| g.as_ref().map_or(Ok(py.None().into_bound(py)), |g| wrap(py, g.clone()).map(Bound::into_any))).collect::<PyResult<_>>()?;
    PyTuple::new(py, items)
}

fn hook_name(hook: &Bound<'_, PyAny>) -> String {
    hook.getattr("__name__").map(|n| n.to_string()).unwrap_or_else(|_| hook.to_string())
}

/// PyTorch's checks on a value a hook returned in place of `old`.
pub fn check_hook_value(hook: &Bound<'_, PyAny>, old: &Tensor, new: &Tensor) -> PyResult<()> {
    if new.dtype() != old.dtype() {
        return Err(PyRuntimeError::new_err(format!(
            "hook '{}' has changed the type of value (was torch.{}Tensor got torch.{}Tensor)",
            hook_name(hook),
            old.dtype().scalar_name(),
            new.dtype().scalar_name()
        )));
    }
    if new.shape() != old.shape() {
        return Err(PyRuntimeError::new_err(format!("hook '{}' has changed the size of value", hook_name(hook))));
    }
    Ok(())
}

/// A node hook's result: `None`, or replacements for `old` (same count,
/// sizes and dtypes).
fn grads_from(hook: &Bound<'_, PyAny>, out: &Bound<'_, PyAny>, old: &[Option<Tensor>]) -> PyResult<Option<GradList>> {
    if out.is_none() {
        return Ok(None);
    }
    let seq = out.cast::<PyTuple>().map_err(|_| PyTypeError::new_err("hooks must return None or a tuple of Tensors"))?;
    if seq.len() != old.len() {
        return Err(PyRuntimeError::new_err(format!(
            "hook '{}' has returned an incorrect number of values (got {}, but expected {})",
            hook_name(hook),
            seq.len(),
            old.len()
        )));
    }
    let mut new = GradList::with_capacity(old.len());
    for (g, before) in seq.iter().zip(old) {
        if g.is_none() {
            new.push(None);
            continue;
        }
        let t = g
            .cast::<PyTensor>()
            .map_err(|_| PyTypeError::new_err(format!("expected Variable, but hook returned '{}'", g.get_type().name().map(|n| n.to_string()).unwrap_or_default())))?
            .get()
            .tensor()
            .clone();
        if let Some(before) = before {
            check_hook_value(hook, before, &t)?;
        }
        new.push(Some(t));
    }
    Ok(Some(new))
}

/// `register_prehook(hook(grad_outputs))` on node `id`.
pub fn register_prehook(id: NodeId, hook: Py<PyAny>) -> RemovableHandle {
    let (hook, owned) = traced(hook);
    let f: PreHook = Arc::new(move |grads: &[Option<Tensor>]| {
        Python::attach(|py| grads_from(hook.bind(py), hook.call1(py, (grads_tuple(py, grads)?,))?.bind(py), grads)).map_err(foreign)
    });
    let key = next_hook_key();
    arena::with_node(id, |n| {
        n.hooks.pre.push((key, f));
        n.hooks.owned.push((key, owned));
    });
    RemovableHandle { target: HookTarget::Node(id), key }
}

/// `register_hook(hook(grad_inputs, grad_outputs))` on node `id`.
pub fn register_posthook(id: NodeId, hook: Py<PyAny>) -> RemovableHandle {
    let (hook, owned) = traced(hook);
    let f: PostHook = Arc::new(move |inputs: &[Option<Tensor>], outputs: &[Option<Tensor>]| {
        Python::attach(|py| grads_from(hook.bind(py), hook.call1(py, (grads_tuple(py, inputs)?, grads_tuple(py, outputs)?))?.bind(py), inputs))
            .map_err(foreign)
    });
    let key = next_hook_key();
    arena::with_node(id, |n| {
        n.hooks.post.push((key, f));
        n.hooks.owned.push((key, owned));
    });
    RemovableHandle { target: HookTarget::Node(id), key }
}

/// `grad_fn.metadata`: one dict per node, kept as long as the node.
pub fn metadata(py: Python<'_>, id: NodeId) -> PyResult<Py<PyDict>> {
    if let Some(extra) = extra_of(id) {
        if let Some(NodeExtra::Metadata(d)) = extra.downcast_ref::<NodeExtra>() {
            return Ok(d.clone_ref(py));
        }
    }
    let dict = PyDict::new(py).unbind();
    let extra: Arc<dyn std::any::Any + Send + Sync> = Arc::new(NodeExtra::Metadata(dict.clone_ref(py)));
    arena::with_node(id, |n| n.metadata = Some(extra));
    Ok(dict)
}

#[pymethods]
impl PyNode {
    #[new]
    fn new(token: &Bound<'_, NodeToken>) -> PyResult<PyNode> {
        let node = token.get().0.lock().take().ok_or_else(|| PyRuntimeError::new_err("nodes are made by autograd, not constructed"))?;
        Ok(PyNode { node })
    }
    fn name(&self) -> &'static str {
        crate::autograd::node::qualified_name(arena::name(self.node.id()))
    }
    #[getter]
    fn next_functions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        next_functions(py, self.node.id())
    }
    #[getter]
    fn metadata(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        metadata(py, self.node.id())
    }
    fn register_hook(&self, hook: Py<PyAny>) -> RemovableHandle {
        register_posthook(self.node.id(), hook)
    }
    fn register_prehook(&self, hook: Py<PyAny>) -> RemovableHandle {
        register_prehook(self.node.id(), hook)
    }
    /// Shape and dtype of each gradient this node receives (one per output
    /// of the forward op).
    #[getter]
    fn _input_metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        input_metadata(py, self.node.id())
    }
    /// The usual attributes plus `_saved_<name>` for each tensor the rule
    /// saves, also once they were freed (reading one then raises).
    fn __dir__(slf: &Bound<'_, Self>) -> PyResult<Vec<String>> {
        let object = slf.py().get_type::<pyo3::types::PyAny>();
        let mut names: Vec<String> = object.getattr("__dir__")?.call1((slf,))?.extract()?;
        names.extend(arena::saved_names(slf.get().node.id()).iter().map(|n| format!("_saved_{n}")));
        Ok(names)
    }
    /// `grad_fn._saved_<name>`: a tensor the rule saved (unpacked, so
    /// version-checked), or PyTorch's error once it was freed.
    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyTensor>> {
        let missing = || pyo3::exceptions::PyAttributeError::new_err(format!("'{}' object has no attribute '{name}'", arena::name(self.node.id())));
        let Some(key) = name.strip_prefix("_saved_") else { return Err(missing()) };
        let Some(op) = arena::op(self.node.id()) else {
            return Err(PyRuntimeError::new_err(crate::autograd::node::FREED_GRAPH));
        };
        let saved = op.saved().into_iter().find(|(n, _)| *n == key).map(|(_, s)| s.get());
        match saved {
            Some(t) => wrap(py, t?),
            None => Err(missing()),
        }
    }
    fn __repr__(slf: &Bound<'_, Self>) -> String {
        format!("<{} object at {:#x}>", arena::name(slf.get().node.id()), slf.as_ptr() as usize)
    }
}

/// `_input_metadata` of node `id`: one entry per output of the forward op.
fn input_metadata(py: Python<'_>, id: NodeId) -> PyResult<Bound<'_, PyTuple>> {
    let outputs = arena::outputs(id).unwrap_or_default();
    PyTuple::new(py, outputs.into_iter().map(|o| InputMetadata { shape: o.shape, dtype: o.dtype }))
}

/// A custom Function's `ctx` names its node without owning it (the node
/// owns the ctx).
#[pyclass(module = "rustgrad.autograd.graph", frozen)]
pub struct WeakNode(pub NodeId);

#[pymethods]
impl WeakNode {
    fn name(&self) -> &'static str {
        arena::name(self.0)
    }
    fn _input_metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        input_metadata(py, self.0)
    }
    fn next_functions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        next_functions(py, self.0)
    }
    fn register_hook(&self, hook: Py<PyAny>) -> RemovableHandle {
        register_posthook(self.0, hook)
    }
    fn register_prehook(&self, hook: Py<PyAny>) -> RemovableHandle {
        register_prehook(self.0, hook)
    }
}

pub enum HookTarget {
    Tensor(Tensor),
    Node(NodeId),
}

/// What `register_hook` returns: `handle.remove()` unregisters the hook.
#[pyclass(module = "rustgrad.utils.hooks", frozen)]
pub struct RemovableHandle {
    pub target: HookTarget,
    pub key: u64,
}

#[pymethods]
impl RemovableHandle {
    fn remove(&self) {
        match &self.target {
            HookTarget::Tensor(t) => t.remove_hook(self.key),
            HookTarget::Node(id) => arena::remove_hook(*id, self.key),
        }
    }
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }
    fn __exit__(&self, _a: Py<PyAny>, _b: Py<PyAny>, _c: Py<PyAny>) {
        self.remove();
    }
}
