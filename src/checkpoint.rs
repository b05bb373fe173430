//! Checkpoint files: named tensors and a string-to-string metadata map in the
//! safetensors format, read and written by Hugging Face's `safetensors`
//! crate (which validates the header, the offsets and the sizes of a file
//! before anything is read from it). `rustgrad.save`/`load` put the Python
//! structure around the tensors (dicts, lists, numbers) into the metadata.

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::tensor::{Dtype, SafeTensors, View};

use crate::bail;
use crate::cpu_backend::{CpuStorage, Storable};
use crate::dtype::DType;
use crate::error::Result;
use crate::tensor::Tensor;

/// The most dimensions a loaded tensor may have.
const MAX_DIMS: usize = 64;

/// One tensor's dense little-endian bytes, as the crate's `View`.
struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn file_dtype(dtype: DType) -> Dtype {
    match dtype {
        DType::Bool => Dtype::BOOL,
        DType::U8 => Dtype::U8,
        DType::I8 => Dtype::I8,
        DType::I16 => Dtype::I16,
        DType::I32 => Dtype::I32,
        DType::I64 => Dtype::I64,
        DType::F16 => Dtype::F16,
        DType::BF16 => Dtype::BF16,
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
    }
}

fn tensor_dtype(dtype: Dtype) -> Result<DType> {
    Ok(match dtype {
        Dtype::BOOL => DType::Bool,
        Dtype::U8 => DType::U8,
        Dtype::I8 => DType::I8,
        Dtype::I16 => DType::I16,
        Dtype::I32 => DType::I32,
        Dtype::I64 => DType::I64,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::F32 => DType::F32,
        Dtype::F64 => DType::F64,
        other => bail!(Runtime, "checkpoint holds a tensor of dtype {other:?}, which rustgrad does not support"),
    })
}

/// The elements' bytes in memory order (every supported element type is
/// plain data; the machines rustgrad builds for are little-endian, as the
/// format is).
fn bytes_of<T: Storable + Copy>(storage: &CpuStorage) -> Vec<u8> {
    let values = T::slice(storage);
    // SAFETY: `T` is a plain numeric type (or bool, one byte of 0 or 1) with
    // no padding, so its memory is `size_of::<T>() * len` initialised bytes.
    unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u8, std::mem::size_of_val(values)) }.to_vec()
}

/// Elements from little-endian bytes; any bit pattern is a valid number,
/// and bools are normalised (a hostile byte 2 must not become a `bool`).
fn values_of<T: Storable + Copy + Default>(bytes: &[u8], dtype: DType) -> CpuStorage {
    if dtype == DType::Bool {
        return CpuStorage::Bool(bytes.iter().map(|&b| b != 0).collect::<Vec<bool>>().into());
    }
    let n = bytes.len() / std::mem::size_of::<T>();
    let mut values = vec![T::default(); n];
    // SAFETY: `values` holds exactly `bytes.len()` bytes (the crate checked
    // that the length is `n * size_of::<T>()`), and every pattern is valid.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), values.as_mut_ptr() as *mut u8, n * std::mem::size_of::<T>()) };
    T::wrap(values)
}

/// The file's bytes for `tensors` (names must be distinct) and `metadata`.
pub fn serialize(tensors: &[(String, Tensor)], metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let views: Vec<(&str, Bytes)> = tensors
        .iter()
        .map(|(name, t)| {
            let dense = t.to_dense();
            let data = crate::with_dtype!(t.dtype(), T => bytes_of::<T>(&dense));
            (name.as_str(), Bytes { dtype: file_dtype(t.dtype()), shape: t.shape().to_vec(), data })
        })
        .collect();
    safetensors::serialize(views, Some(metadata)).or_else(|e| bail!(Runtime, "could not write the checkpoint: {e}"))
}

/// The tensors (in file order) and metadata of a file's bytes. A truncated
/// or malformed file (bad header, offsets out of bounds or overlapping,
/// sizes that do not match the dtype and shape) is a RuntimeError; nothing
/// is allocated beyond the file's own size.
pub fn deserialize(bytes: &[u8]) -> Result<(Vec<(String, Tensor)>, HashMap<String, String>)> {
    let file = SafeTensors::deserialize(bytes).or_else(|e| bail!(Runtime, "not a valid checkpoint (safetensors) file: {e}"))?;
    let (_, header) = SafeTensors::read_metadata(bytes).or_else(|e| bail!(Runtime, "not a valid checkpoint (safetensors) file: {e}"))?;
    let mut named: Vec<(String, Tensor)> = Vec::new();
    let mut views = file.tensors();
    // File order (by offset, then name: empty tensors share offsets), so
    // that loading is deterministic.
    views.sort_by(|(a, va), (b, vb)| (va.data().as_ptr() as usize, a).cmp(&(vb.data().as_ptr() as usize, b)));
    for (name, view) in views {
        let dtype = tensor_dtype(view.dtype())?;
        // Shapes a tensor cannot have: more dims than any library takes
        // (NumPy's 64), or strides that overflow even for an empty tensor.
        if view.shape().len() > MAX_DIMS {
            bail!(Runtime, "not a valid checkpoint: tensor '{name}' has {} dimensions (at most {MAX_DIMS})", view.shape().len());
        }
        crate::layout::check_size(view.shape(), dtype.itemsize())?;
        let storage = crate::with_dtype!(dtype, T => values_of::<T>(view.data(), dtype));
        named.push((name, Tensor::from_cpu(storage, view.shape())));
    }
    Ok((named, header.metadata().clone().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_names_dtypes_shapes_values_and_metadata() {
        let a = Tensor::from_vec(vec![1.5f32, -2.0, 3.25, 0.0, 7.0, 8.0], &[2, 3]);
        let b = Tensor::from_vec(vec![true, false], &[2]);
        let meta = HashMap::from([("k".to_string(), "v".to_string())]);
        let bytes = serialize(&[("a".into(), a), ("b".into(), b)], meta.clone()).unwrap();
        let (tensors, got_meta) = deserialize(&bytes).unwrap();
        assert_eq!(got_meta, meta);
        assert_eq!(tensors[0].0, "a");
        assert_eq!(tensors[0].1.shape(), &[2, 3]);
        assert_eq!(tensors[0].1.to_vec::<f32>().unwrap(), vec![1.5, -2.0, 3.25, 0.0, 7.0, 8.0]);
        assert_eq!(tensors[1].1.to_vec::<bool>().unwrap(), vec![true, false]);
    }

    #[test]
    fn truncated_and_garbage_files_are_errors() {
        let a = Tensor::from_vec(vec![1.0f64; 16], &[16]);
        let bytes = serialize(&[("a".into(), a)], HashMap::new()).unwrap();
        assert!(deserialize(&bytes[..bytes.len() - 1]).is_err());
        assert!(deserialize(&bytes[..5]).is_err());
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(deserialize(&huge).is_err());
    }
}
