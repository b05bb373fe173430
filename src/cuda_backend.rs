//! The CUDA backend slot. Without the `cuda` feature it is a dummy, as in
//! candle: `CudaStorage` has no values, so every match over devices is total
//! while only the CPU arm can run.

#[derive(Debug)]
pub enum CudaStorage {}

pub fn is_available() -> bool {
    false
}

pub fn device_count() -> usize {
    0
}
