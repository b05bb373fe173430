//! `torch.autograd.Function`'s Rust half: after the Python `forward` ran,
//! `_function_record` makes the node whose backward calls the Python
//! `backward`, and keeps `ctx.save_for_backward`'s tensors as saved tensors
//! (version-checked, and freed by a backward pass that does not retain the
//! graph, like a built-in op's).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use smallvec::SmallVec;

use super::errors::foreign;
use super::graph::{NodeExtra, WeakNode};
use super::tensor::{wrap, PyTensor};
use crate::autograd::arena::{self, OutputMeta};
use crate::autograd::node::{make_node, FREED_GRAPH};
use crate::autograd::{edge_of, grad_mode, BackwardFn, Grads, SavedTensor};
use crate::dtype::Scalar;
use crate::tensor::Tensor;

/// `ctx.saved_tensors`'s store; emptied when the graph is freed.
type SavedSlot = Mutex<Option<Vec<Option<Arc<SavedTensor>>>>>;

/// `ctx.saved_tensors`' store for a custom autograd Function: `unpack()`
/// gives the saved tensors, checked against in-place changes; RuntimeError
/// once the graph is freed.
#[pyclass(module = "rustgrad.autograd.function", frozen)]
pub struct SavedTensors(Arc<SavedSlot>);

#[pymethods]
impl SavedTensors {
    /// The saved tensors, checked against in-place changes.
    fn unpack<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        // Unpacked outside the lock: unpacking may take the arena's lock or
        // run Python.
        let saved = self.0.lock().clone().ok_or_else(|| PyRuntimeError::new_err(FREED_GRAPH))?;
        let items: Vec<Bound<'py, PyAny>> = saved
            .iter()
            .map(|s| match s {
                None => Ok(py.None().into_bound(py)),
                Some(s) => Ok(wrap(py, s.get()?)?.into_any()),
            })
            .collect::<PyResult<_>>()?;
        PyTuple::new(py, items)
    }
}

struct PyFunctionBackward {
    name: &'static str,
    ctx: Arc<Py<PyAny>>,
    saved: Arc<SavedSlot>,
    outputs: Vec<OutputMeta>,
    materialize: bool,
    /// Whether `save_for_backward` kept anything (read without the slot's
    /// lock: the arena asks while holding its own).
    saves: bool,
}

impl Drop for PyFunctionBackward {
    fn drop(&mut self) {
        self.saved.lock().take();
    }
}

impl BackwardFn for PyFunctionBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> crate::Result<Grads> {
        self.apply_outputs(&[Some(grad.clone())], needs)
    }
    fn apply_outputs(&self, grads: &[Option<Tensor>], needs: &[bool]) -> crate::Result<Grads> {
        let grads: Vec<Option<Tensor>> = grads
            .iter()
            .zip(&self.outputs)
            .map(|(g, meta)| match g {
                None if self.materialize => Some(Tensor::full(&meta.shape, Scalar::Int(0), meta.dtype)),
                g => g.clone(),
            })
            .collect();
        Python::attach(|py| -> PyResult<Grads> {
            let args: Vec<Bound<'_, PyAny>> = grads
                .iter()
                .map(|g| g.as_ref().map_or(Ok(py.None().into_bound(py)), |g| wrap(py, g.clone()).map(Bound::into_any)))
                .collect::<PyResult<_>>()?;
            let out = self.ctx.call_method1(py, "_do_backward", (PyTuple::new(py, args)?, PyTuple::new(py, needs)?))?;
            out.bind(py)
                .try_iter()?
                .map(|g| {
                    let g = g?;
                    if g.is_none() { Ok(None) } else { Ok(Some(g.cast::<PyTensor>()?.get().tensor().clone())) }
                })
                .collect()
        })
        .map_err(foreign)
    }
    fn saves_tensors(&self) -> bool {
        self.saves
    }
    fn runs_without_grads(&self) -> bool {
        self.materialize
    }
}

/// Node names live as long as the program (one per Function class).
fn intern(name: String) -> &'static str {
    static NAMES: Mutex<Option<HashMap<String, &'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock();
    let names = names.get_or_insert_with(HashMap::new);
    if let Some(n) = names.get(&name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
    names.insert(name, leaked);
    leaked
}

fn tensor_of(obj: &Bound<'_, PyAny>) -> Option<Tensor> {
    obj.cast::<PyTensor>().ok().map(|t| t.get().tensor().clone())
}

/// Records a custom Function call. `args` are the forward's arguments,
/// `outputs` what it returned (a tuple); returns the outputs to hand back
/// (an input returned unchanged becomes a view of it, as in PyTorch).
#[pyfunction]
#[pyo3(signature = (ctx, name, args, outputs, to_save, dirty, non_differentiable, materialize_grads))]
#[allow(clippy::too_many_arguments)]
pub fn _function_record<'py>(
    py: Python<'py>,
    ctx: Bound<'py, PyAny>,
    name: String,
    args: &Bound<'py, PyTuple>,
    outputs: &Bound<'py, PyTuple>,
    to_save: &Bound<'py, PyAny>,
    dirty: &Bound<'py, PyAny>,
    non_differentiable: &Bound<'py, PyAny>,
    materialize_grads: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let inputs: Vec<Option<Tensor>> = args.iter().map(|a| tensor_of(&a)).collect();
    let collect = |obj: &Bound<'py, PyAny>| -> PyResult<Vec<Tensor>> {
        if obj.is_none() {
            return Ok(Vec::new());
        }
        obj.try_iter()?.map(|t| Ok(tensor_of(&t?).into_iter().collect::<Vec<_>>())).collect::<PyResult<Vec<_>>>().map(|v| v.concat())
    };
    let dirty = collect(dirty)?;
    let non_diff = collect(non_differentiable)?;
    let recording = grad_mode::is_enabled() && inputs.iter().flatten().any(Tensor::requires_grad);
    for d in &dirty {
        if recording && d.is_leaf() && d.requires_grad() {
            return Err(PyRuntimeError::new_err("a leaf Variable that requires grad has been used in an in-place operation."));
        }
    }
    // What the caller gets back: an input returned as is is aliased by a view
    // (unless it was modified in place), so its own history stays intact.
    let mut results: Vec<Bound<'py, PyAny>> = Vec::with_capacity(outputs.len());
    let mut out_tensors: Vec<(usize, Tensor)> = Vec::new();
    for (i, o) in outputs.iter().enumerate() {
        let Some(t) = tensor_of(&o) else {
            results.push(o);
            continue;
        };
        let is_input = inputs.iter().flatten().any(|x| x.same(&t));
        let is_dirty = dirty.iter().any(|x| x.same(&t));
        let t = if is_input && !is_dirty && recording { t.view_with(t.layout().clone()) } else { t };
        results.push(if is_input && !is_dirty && recording { wrap(py, t.clone())?.into_any() } else { o });
        out_tensors.push((i, t));
    }
    let saved: Vec<Option<Tensor>> = if to_save.is_none() {
        Vec::new()
    } else {
        to_save.try_iter()?.map(|t| t.map(|t| tensor_of(&t))).collect::<PyResult<_>>()?
    };
    if !recording {
        let slot: Vec<Option<Arc<SavedTensor>>> = saved.iter().map(|s| s.as_ref().map(|s| Arc::new(SavedTensor::new(s)))).collect();
        ctx.setattr("_saved", SavedTensors(Arc::new(Mutex::new(Some(slot)))))?;
        return PyTuple::new(py, results);
    }
    let name = intern(name);
    let outputs_meta: Vec<OutputMeta> = out_tensors.iter().map(|(_, t)| OutputMeta { shape: t.shape_vec(), dtype: t.dtype() }).collect();
    let slot: Vec<Option<Arc<SavedTensor>>> = saved
        .iter()
        .map(|s| {
            s.as_ref().map(|s| {
                Arc::new(match out_tensors.iter().position(|(_, t)| t.same(s)) {
                    Some(nr) => SavedTensor::output(s, nr as u32, name),
                    None => SavedTensor::new(s),
                })
            })
        })
        .collect();
    let saves = !slot.is_empty();
    let saved_slot = Arc::new(Mutex::new(Some(slot)));
    ctx.setattr("_saved", SavedTensors(saved_slot.clone()))?;
    let ctx_ref = Arc::new(ctx.clone().unbind());
    let op = PyFunctionBackward { name, ctx: ctx_ref.clone(), saved: saved_slot, outputs: outputs_meta.clone(), materialize: materialize_grads, saves };
    let edges: SmallVec<[_; 2]> = inputs.iter().map(|t| t.as_ref().and_then(edge_of)).collect();
    let node = make_node(Arc::new(op), edges, outputs_meta.into_iter().collect())?;
    let extra: Arc<dyn std::any::Any + Send + Sync> = Arc::new(NodeExtra::Ctx(ctx_ref));
    arena::with_node(node.id(), |n| n.metadata = Some(extra));
    ctx.setattr("_node", WeakNode(node.id()))?;
    for (nr, (_, t)) in out_tensors.iter().enumerate() {
        let differentiable = t.dtype().is_float() && !non_diff.iter().any(|x| x.same(t));
        if !differentiable {
            continue;
        }
        if t.is_tracked_view() && dirty.iter().any(|x| x.same(t)) {
            // A view modified in place: its base's history becomes
            // CopySlices over this node, as for a built-in in-place op.
            let written = t.detach();
            written.set_history(Some(node.clone()), nr as u32);
            crate::ops::inplace::rebase_history(t, &written)?;
        } else {
            t.set_history(Some(node.clone()), nr as u32);
        }
    }
    PyTuple::new(py, results)
}
