//! A borrowed pointer from a Rust object (tensor, graph node, leaf
//! accumulator) to the Python object that wraps it, so that every access
//! from Python returns that same object, as in PyTorch (`x.grad is x.grad`,
//! `y.grad_fn is y.grad_fn`). The slot does not own the Python object: the
//! wrapper clears it when it dies. The bindings read and write it only with
//! the GIL held, which orders every access.

use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Default, Debug)]
pub struct PyObjSlot {
    /// The Python object (`PyObject*`), 0 when none is alive.
    object: AtomicUsize,
    /// The address of the wrapper's Rust payload, which its `Drop` knows.
    owner: AtomicUsize,
}

impl PyObjSlot {
    pub fn get(&self) -> usize {
        self.object.load(Ordering::Acquire)
    }

    pub fn set(&self, object: usize, owner: usize) {
        self.owner.store(owner, Ordering::Release);
        self.object.store(object, Ordering::Release);
    }

    /// Forgets the object if `owner` is the wrapper recorded here.
    pub fn clear_if_owner(&self, owner: usize) {
        if self.owner.load(Ordering::Acquire) == owner {
            self.object.store(0, Ordering::Release);
            self.owner.store(0, Ordering::Release);
        }
    }
}
