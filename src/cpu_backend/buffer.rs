//! A CPU buffer: memory this crate allocated (a `Vec`), or memory another
//! library owns (a NumPy array, a DLPack producer's tensor) borrowed without
//! a copy, as `torch.from_numpy` and `torch.from_dlpack` do. Kernels see
//! both as a slice; a borrowed buffer keeps its owner alive until it drops.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// Whatever keeps borrowed memory alive (a Python reference, a DLPack
/// deleter); dropping it releases the memory.
pub type Owner = Box<dyn Send + Sync>;

pub struct Buffer<T>(Repr<T>);

enum Repr<T> {
    Owned(Vec<T>),
    Borrowed { ptr: *mut T, len: usize, _owner: Owner },
}

// SAFETY: a borrowed buffer is plain memory of `T`s whose owner is itself
// `Send + Sync`; access is synchronised by the storage's lock like a `Vec`.
unsafe impl<T: Send> Send for Buffer<T> {}
unsafe impl<T: Sync> Sync for Buffer<T> {}

impl<T> Buffer<T> {
    /// Borrows `len` elements at `ptr`, kept alive by `owner`.
    ///
    /// # Safety
    /// `ptr` must be non-null, aligned for `T`, and valid for reads and
    /// writes of `len` initialised `T`s for as long as `owner` lives, and
    /// nothing may free or move that memory before `owner` is dropped.
    pub unsafe fn borrowed(ptr: *mut T, len: usize, owner: Owner) -> Buffer<T> {
        Buffer(Repr::Borrowed { ptr, len, _owner: owner })
    }

    /// The elements as a `Vec`: free for an owned buffer, a copy of a
    /// borrowed one.
    pub fn into_vec(self) -> Vec<T>
    where
        T: Clone,
    {
        match self.0 {
            Repr::Owned(v) => v,
            Repr::Borrowed { .. } => self.to_vec(),
        }
    }
}

impl<T> From<Vec<T>> for Buffer<T> {
    fn from(v: Vec<T>) -> Buffer<T> {
        Buffer(Repr::Owned(v))
    }
}

impl<T> Deref for Buffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match &self.0 {
            Repr::Owned(v) => v,
            // SAFETY: the contract of `Buffer::borrowed`.
            Repr::Borrowed { ptr, len, .. } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

impl<T> DerefMut for Buffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.0 {
            Repr::Owned(v) => v,
            // SAFETY: the contract of `Buffer::borrowed`; `&mut self` makes
            // this the only reference through this buffer.
            Repr::Borrowed { ptr, len, .. } => unsafe { std::slice::from_raw_parts_mut(*ptr, *len) },
        }
    }
}

impl<T> FromIterator<T> for Buffer<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Buffer<T> {
        Buffer(Repr::Owned(iter.into_iter().collect()))
    }
}

impl<'a, T> IntoIterator for &'a Buffer<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A clone owns its copy of the elements, wherever the original lives.
impl<T: Clone> Clone for Buffer<T> {
    fn clone(&self) -> Buffer<T> {
        Buffer(Repr::Owned(self.to_vec()))
    }
}

impl<T: PartialEq> PartialEq for Buffer<T> {
    fn eq(&self, other: &Buffer<T>) -> bool {
        **self == **other
    }
}

impl<T: fmt::Debug> fmt::Debug for Buffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn borrowed_memory_is_shared_and_its_owner_dropped_with_the_buffer() {
        let mut backing = vec![1.0f32, 2.0, 3.0];
        let dropped = Arc::new(AtomicBool::new(false));
        let mut b = unsafe { Buffer::borrowed(backing.as_mut_ptr(), 3, Box::new(Flag(dropped.clone()))) };
        b[1] = 5.0;
        assert_eq!(&*b, &[1.0, 5.0, 3.0]);
        let copy = b.clone();
        drop(b);
        assert!(dropped.load(Ordering::SeqCst));
        assert_eq!(backing, vec![1.0, 5.0, 3.0]);
        assert_eq!(copy.into_vec(), vec![1.0, 5.0, 3.0]);
    }
}
