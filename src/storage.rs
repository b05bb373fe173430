//! Device-agnostic storage shared by a tensor and all its views. (The
//! version counter autograd checks lives on the tensor, shared by its views
//! and `detach()`, but not by `.data`: see `tensor.rs`.)

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::cpu_backend::CpuStorage;
use crate::cuda_backend::CudaStorage;
use crate::dtype::DType;

#[derive(Debug)]
pub enum BackendStorage {
    Cpu(CpuStorage),
    Cuda(CudaStorage),
}

impl BackendStorage {
    /// The CPU buffer. Kernels are CPU-only until the CUDA backend lands; the
    /// dummy `CudaStorage` has no values, so this cannot fail today.
    pub fn cpu(&self) -> &CpuStorage {
        match self {
            BackendStorage::Cpu(c) => c,
            BackendStorage::Cuda(c) => match *c {},
        }
    }

    pub fn cpu_mut(&mut self) -> &mut CpuStorage {
        match self {
            BackendStorage::Cpu(c) => c,
            BackendStorage::Cuda(c) => match *c {},
        }
    }

    pub fn dtype(&self) -> DType {
        self.cpu().dtype()
    }
}

#[derive(Debug)]
pub struct Storage {
    data: RwLock<BackendStorage>,
    /// The buffer's size, counted in `stats` while the storage lives.
    bytes: usize,
}

impl Storage {
    pub fn new(data: BackendStorage) -> Storage {
        let bytes = data.cpu().len() * data.dtype().itemsize();
        crate::stats::storage_made(bytes);
        Storage { data: RwLock::new(data), bytes }
    }

    pub fn cpu(data: CpuStorage) -> Storage {
        Storage::new(BackendStorage::Cpu(data))
    }

    pub fn read(&self) -> RwLockReadGuard<'_, BackendStorage> {
        self.data.read_recursive()
    }

    /// Write access; callers bump the tensor's version after writing.
    pub fn write(&self) -> RwLockWriteGuard<'_, BackendStorage> {
        self.data.write()
    }

    /// The write lock if no one holds the storage now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, BackendStorage>> {
        self.data.try_write()
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        crate::stats::storage_dropped(self.bytes);
    }
}
