//! Devices. CPU always; CUDA only in a build with the `cuda` feature and a GPU.

use crate::bail;
use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    Cuda(usize),
}

impl Device {
    /// Parses `"cpu"`, `"cuda"`, `"cuda:1"`, refusing devices this build or
    /// machine cannot provide.
    pub fn parse(spec: &str) -> Result<Device> {
        let (kind, index) = match spec.split_once(':') {
            Some((k, i)) => match i.parse::<usize>() {
                Ok(i) => (k, Some(i)),
                Err(_) => bail!(Runtime, "Invalid device string: '{spec}'"),
            },
            None => (spec, None),
        };
        match kind {
            "cpu" => Ok(Device::Cpu),
            "cuda" => {
                if !crate::cuda_backend::is_available() {
                    bail!(
                        Runtime,
                        "Torch not compiled with CUDA enabled: this rustgrad build has no CUDA backend (device '{spec}' requested)"
                    );
                }
                Ok(Device::Cuda(index.unwrap_or(0)))
            }
            _ => bail!(
                Runtime,
                "Expected one of cpu, cuda device type at start of device string: {spec}"
            ),
        }
    }

    pub fn name(self) -> String {
        match self {
            Device::Cpu => "cpu".into(),
            Device::Cuda(i) => format!("cuda:{i}"),
        }
    }
}
