//! Loss functions.

use super::{binary, mean, sum, unary, view, Arg};
use crate::autograd::grad_mode::GradModeGuard;
use crate::autograd::{record, BackwardFn, Grads, SavedTensor};
use crate::bail;
use crate::error::Result;
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    None,
    Mean,
    Sum,
}

impl Reduction {
    pub fn parse(s: &str) -> Result<Reduction> {
        Ok(match s {
            "none" => Reduction::None,
            "mean" => Reduction::Mean,
            "sum" => Reduction::Sum,
            other => bail!(Value, "{other} is not a valid value for reduction"),
        })
    }

    fn apply(self, loss: &Tensor) -> Result<Tensor> {
        match self {
            Reduction::None => Ok(loss.clone()),
            Reduction::Mean => mean(loss, None, false, None),
            Reduction::Sum => sum(loss, None, false, None),
        }
    }
}

struct BceWithLogitsBackward {
    x: SavedTensor,
    target: SavedTensor,
    weight: Option<SavedTensor>,
    pos_weight: Option<SavedTensor>,
    reduction: Reduction,
}

impl BackwardFn for BceWithLogitsBackward {
    fn name(&self) -> &'static str {
        "BinaryCrossEntropyWithLogitsBackward0"
    }
    fn saved(&self) -> Vec<(&'static str, &SavedTensor)> {
        let all = [("self", Some(&self.x)), ("target", Some(&self.target)), ("weight", self.weight.as_ref()), ("pos_weight", self.pos_weight.as_ref())];
        crate::autograd::node::present(all)
    }
    fn apply(&self, grad: &Tensor, needs: &[bool]) -> Result<Grads> {
        let (x, t) = (&self.x.get()?, &self.target.get()?);
        // The upstream gradient per element, with the weight and the mean's 1/n.
        let mut g = view::expand_to(grad, x.shape())?;
        if self.reduction == Reduction::Mean {
            g = binary::mul(&g, Arg::from(1.0 / x.numel() as f64))?;
        }
        if let Some(w) = &self.weight {
            g = binary::mul(&g, &w.get()?)?;
        }
        let pos_weight = self.pos_weight.as_ref().map(SavedTensor::get).transpose()?;
        let gx = if needs[0] {
            // sigmoid(x) - t, or (pw t + 1 - t) sigmoid(x) - pw t
            let s = unary::sigmoid(x)?;
            let d = match &pos_weight {
                None => binary::sub(&s, t)?,
                Some(pw) => {
                    let tp = binary::mul(pw, t)?;
                    let coef = binary::sub(&binary::add(&tp, Arg::from(1.0))?, t)?;
                    binary::sub(&binary::mul(&coef, &s)?, &tp)?
                }
            };
            Some(binary::mul(&d, &g)?)
        } else {
            None
        };
        let gt = if needs.get(1).copied().unwrap_or(false) {
            // -x, or -x + (pw - 1) softplus(-x)
            let d = match &pos_weight {
                None => unary::neg(x)?,
                Some(pw) => {
                    let sp = softplus_neg(x)?;
                    binary::add(&unary::neg(x)?, &binary::mul(&binary::sub(pw, Arg::from(1.0))?, &sp)?)?
                }
            };
            Some(binary::mul(&d, &g)?)
        } else {
            None
        };
        Ok(smallvec::smallvec![gx, gt])
    }
}

/// `log(1 + exp(-x))` computed without overflow: `m + log(exp(-m) + exp(-x - m))`
/// with `m = max(-x, 0)`.
fn softplus_neg(x: &Tensor) -> Result<Tensor> {
    let m = unary::relu(&unary::neg(x)?)?;
    let a = unary::exp(&unary::neg(&m)?)?;
    let b = unary::exp(&binary::sub(&unary::neg(x)?, &m)?)?;
    binary::add(&m, &unary::log(&binary::add(&a, &b)?)?)
}

/// `torch.nn.functional.binary_cross_entropy_with_logits`.
pub fn binary_cross_entropy_with_logits(
    x: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    pos_weight: Option<&Tensor>,
    reduction: Reduction,
) -> Result<Tensor> {
    if x.shape() != target.shape() {
        bail!(
            Value,
            "Target size ({}) must be the same as input size ({})",
            view::size_str(target.shape()),
            view::size_str(x.shape())
        );
    }
    if !target.dtype().is_float() || !x.dtype().is_float() {
        bail!(
            Runtime,
            "result type Float can't be cast to the desired output type {}",
            if x.dtype().is_float() { target.dtype() } else { x.dtype() }.scalar_name()
        );
    }
    let loss = {
        let _no_grad = GradModeGuard::new(false);
        let (xd, td) = (x.detach(), target.detach());
        let sp = softplus_neg(&xd)?;
        let per_element = match pos_weight {
            None => binary::add(&binary::mul(&binary::sub(Arg::from(1.0), &td)?, &xd)?, &sp)?,
            Some(pw) => {
                let log_weight = binary::add(&binary::mul(&binary::sub(&pw.detach(), Arg::from(1.0))?, &td)?, Arg::from(1.0))?;
                binary::add(&binary::mul(&binary::sub(Arg::from(1.0), &td)?, &xd)?, &binary::mul(&log_weight, &sp)?)?
            }
        };
        let weighted = match weight {
            Some(w) => binary::mul(&per_element, &w.detach())?,
            None => per_element,
        };
        reduction.apply(&weighted)?.detach()
    };
    record(loss, &[x, target], |_| BceWithLogitsBackward {
        x: SavedTensor::new(x),
        target: SavedTensor::new(target),
        weight: weight.map(SavedTensor::new),
        pos_weight: pos_weight.map(SavedTensor::new),
        reduction,
    })
}
