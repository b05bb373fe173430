//! Binding of the fused optimizer step (`crate::optim`): `torch.optim`'s
//! classes call it once per parameter group, with the GIL released while
//! it runs.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::tensor::PyTensor;
use crate::optim::{self, Rule, Slot};
use crate::tensor::Tensor;

/// The rule named `name` with the hyper-parameters of `group` (a parameter
/// group dict: `lr`, `betas`, `weight_decay`, ... under PyTorch's names).
fn rule(name: &str, group: &Bound<'_, PyDict>) -> PyResult<Rule> {
    let get = |key: &str| -> PyResult<Bound<'_, PyAny>> {
        group.get_item(key)?.ok_or_else(|| PyValueError::new_err(format!("parameter group has no '{key}'")))
    };
    let num = |key: &str| -> PyResult<f64> { get(key)?.extract() };
    let flag = |key: &str| -> PyResult<bool> { Ok(group.get_item(key)?.map(|v| v.is_truthy()).transpose()?.unwrap_or(false)) };
    let beta = |i: usize| -> PyResult<f64> { get("betas")?.get_item(i)?.extract() };
    let (lr, weight_decay, maximize) = (num("lr")?, num("weight_decay")?, flag("maximize")?);
    Ok(match name {
        "sgd" => Rule::Sgd { lr, momentum: num("momentum")?, dampening: num("dampening")?, weight_decay, nesterov: flag("nesterov")?, maximize },
        "adam" | "adamw" => Rule::Adam {
            lr,
            beta1: beta(0)?,
            beta2: beta(1)?,
            eps: num("eps")?,
            weight_decay,
            decoupled: name == "adamw" || flag("decoupled_weight_decay")?,
            amsgrad: flag("amsgrad")?,
            maximize,
        },
        "rmsprop" => Rule::Rmsprop { lr, alpha: num("alpha")?, eps: num("eps")?, weight_decay, momentum: num("momentum")?, centered: flag("centered")?, maximize },
        "adagrad" => Rule::Adagrad { lr, lr_decay: num("lr_decay")?, weight_decay, eps: num("eps")?, maximize },
        "adadelta" => Rule::Adadelta { lr, rho: num("rho")?, eps: num("eps")?, weight_decay, maximize },
        "adamax" => Rule::Adamax { lr, beta1: beta(0)?, beta2: beta(1)?, eps: num("eps")?, weight_decay, maximize },
        "nadam" => Rule::Nadam {
            lr,
            beta1: beta(0)?,
            beta2: beta(1)?,
            eps: num("eps")?,
            weight_decay,
            momentum_decay: num("momentum_decay")?,
            decoupled: flag("decoupled_weight_decay")?,
            maximize,
        },
        "radam" => Rule::Radam { lr, beta1: beta(0)?, beta2: beta(1)?, eps: num("eps")?, weight_decay, decoupled: flag("decoupled_weight_decay")?, maximize },
        other => return Err(PyValueError::new_err(format!("unknown optimizer rule '{other}'"))),
    })
}

/// The state a parameter needs under rule `name` with `group`'s settings:
/// `(buffers, scalars)`, two tuples of PyTorch's state keys (`("exp_avg",
/// "exp_avg_sq")`, `("step",)`), in the order `_optimizer_step` takes them.
#[pyfunction]
pub fn _optimizer_state_names(name: &str, group: &Bound<'_, PyDict>) -> PyResult<(Vec<&'static str>, Vec<&'static str>)> {
    let rule = rule(name, group)?;
    Ok((rule.buffers(), rule.scalars()))
}

/// One fused step of rule `name` (`"sgd"`, `"adam"`, `"adamw"`, `"rmsprop"`,
/// `"adagrad"`, `"adadelta"`, `"adamax"`, `"nadam"`, `"radam"`) over a
/// parameter group: `params[i]` is updated in place from `grads[i]`, its
/// buffers `buffers[i]` and 0-d scalar states `scalars[i]` (named by
/// `_optimizer_state_names`; `step` is incremented here), `fresh[i]` saying
/// that its SGD momentum buffer was just created. PyTorch's single-tensor
/// formulas, per element. TypeError for non-float parameters, RuntimeError
/// for a state that does not match its parameter (nothing is written then).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn _optimizer_step(
    py: Python<'_>,
    name: &str,
    group: &Bound<'_, PyDict>,
    params: Vec<PyRef<'_, PyTensor>>,
    grads: Vec<PyRef<'_, PyTensor>>,
    buffers: Vec<Vec<PyRef<'_, PyTensor>>>,
    scalars: Vec<Vec<PyRef<'_, PyTensor>>>,
    fresh: Vec<bool>,
) -> PyResult<()> {
    let rule = rule(name, group)?;
    let n = params.len();
    if grads.len() != n || buffers.len() != n || scalars.len() != n || fresh.len() != n {
        return Err(PyValueError::new_err("_optimizer_step: one gradient, buffer list, scalar list and flag per parameter"));
    }
    let plain = |ts: &[PyRef<'_, PyTensor>]| -> Vec<Tensor> { ts.iter().map(|t| t.tensor().clone()).collect() };
    let (params, grads) = (plain(&params), plain(&grads));
    let buffers: Vec<Vec<Tensor>> = buffers.iter().map(|b| plain(b)).collect();
    let scalars: Vec<Vec<Tensor>> = scalars.iter().map(|s| plain(s)).collect();
    let slots: Vec<Slot<'_>> = (0..n)
        .map(|i| Slot { param: &params[i], grad: &grads[i], buffers: &buffers[i], scalars: &scalars[i], fresh: fresh[i] })
        .collect();
    py.detach(|| optim::step(&rule, &slots))?;
    Ok(())
}
