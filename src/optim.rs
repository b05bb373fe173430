//! Fused optimizer updates: one call updates every parameter of a parameter
//! group in place ("foreach"), with no Python between the element-wise steps.
//!
//! Each rule is PyTorch's single-tensor implementation (the one its CPU
//! optimizers run: `torch/optim/adam.py` `_single_tensor_adam`, ...) written
//! per element, op for op: every tensor op of the reference rounds to the
//! parameter's dtype at the same place here, and every Python-float
//! expression of the reference (bias corrections, step sizes) is computed in
//! `f64` first, so trajectories match PyTorch's to the last few ulps.
//!
//! The state of a parameter is its element-wise buffers (`exp_avg`, ...), in
//! the order [`Rule::buffers`] names them, and its 0-d scalar states (`step`,
//! NAdam's `mu_product`), which live in tensors as in PyTorch's
//! `state_dict`.

use num_traits::Float;
use rayon::prelude::*;

use crate::bail;
use crate::cpu_backend::Storable;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::tensor::Tensor;

/// An update rule with its hyper-parameters (PyTorch's names).
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    Sgd { lr: f64, momentum: f64, dampening: f64, weight_decay: f64, nesterov: bool, maximize: bool },
    Adam { lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, decoupled: bool, amsgrad: bool, maximize: bool },
    Rmsprop { lr: f64, alpha: f64, eps: f64, weight_decay: f64, momentum: f64, centered: bool, maximize: bool },
    Adagrad { lr: f64, lr_decay: f64, weight_decay: f64, eps: f64, maximize: bool },
    Adadelta { lr: f64, rho: f64, eps: f64, weight_decay: f64, maximize: bool },
    Adamax { lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, maximize: bool },
    Nadam { lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, momentum_decay: f64, decoupled: bool, maximize: bool },
    Radam { lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, decoupled: bool, maximize: bool },
}

impl Rule {
    /// The names of the element-wise state buffers, in the order `step`
    /// takes them (PyTorch's `state` keys).
    pub fn buffers(&self) -> Vec<&'static str> {
        match *self {
            Rule::Sgd { momentum, .. } => if momentum != 0.0 { vec!["momentum_buffer"] } else { vec![] },
            Rule::Adam { amsgrad, .. } => {
                if amsgrad { vec!["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] } else { vec!["exp_avg", "exp_avg_sq"] }
            }
            Rule::Rmsprop { momentum, centered, .. } => {
                let mut names = vec!["square_avg"];
                if momentum > 0.0 {
                    names.push("momentum_buffer");
                }
                if centered {
                    names.push("grad_avg");
                }
                names
            }
            Rule::Adagrad { .. } => vec!["sum"],
            Rule::Adadelta { .. } => vec!["square_avg", "acc_delta"],
            Rule::Adamax { .. } => vec!["exp_avg", "exp_inf"],
            Rule::Nadam { .. } | Rule::Radam { .. } => vec!["exp_avg", "exp_avg_sq"],
        }
    }

    /// The names of the 0-d scalar states, in the order `step` takes them.
    pub fn scalars(&self) -> Vec<&'static str> {
        match self {
            Rule::Sgd { .. } => vec![],
            Rule::Nadam { .. } => vec!["step", "mu_product"],
            _ => vec!["step"],
        }
    }
}

/// One parameter's share of a step: the parameter, its gradient, its buffers
/// (in [`Rule::buffers`] order), its scalar states (in [`Rule::scalars`]
/// order), and for SGD whether its momentum buffer was just created (PyTorch
/// then starts it at the gradient instead of decaying it).
pub struct Slot<'a> {
    pub param: &'a Tensor,
    pub grad: &'a Tensor,
    pub buffers: &'a [Tensor],
    pub scalars: &'a [Tensor],
    pub fresh: bool,
}

/// Updates each slot's parameter and state in place by `rule`. Errors (a
/// dtype or shape that does not match the parameter, a missing buffer) are
/// found before anything is written.
pub fn step(rule: &Rule, slots: &[Slot<'_>]) -> Result<()> {
    let (nbuf, nscalar) = (rule.buffers().len(), rule.scalars().len());
    for s in slots {
        check(s, nbuf, nscalar)?;
    }
    for s in slots {
        let consts = Consts::advance(rule, s.scalars)?;
        match s.param.dtype() {
            DType::F64 => update::<f64>(rule, &consts, s)?,
            DType::F32 => update::<f32>(rule, &consts, s)?,
            _ => update_halves(rule, &consts, s)?,
        }
    }
    Ok(())
}

fn check(s: &Slot<'_>, nbuf: usize, nscalar: usize) -> Result<()> {
    let dtype = s.param.dtype();
    if !dtype.is_float() {
        bail!(Type, "rustgrad's optimizers update floating-point parameters, got {}", dtype.name());
    }
    if s.buffers.len() != nbuf || s.scalars.len() != nscalar {
        bail!(Runtime, "optimizer state has {} buffers and {} scalars, the rule needs {nbuf} and {nscalar}", s.buffers.len(), s.scalars.len());
    }
    if let Some(t) = s.scalars.iter().find(|t| t.numel() != 1) {
        bail!(Runtime, "optimizer: a scalar state (step) must have one element, got shape {:?}", t.shape());
    }
    for t in std::iter::once(s.grad).chain(s.buffers) {
        if t.dtype() != dtype || t.shape() != s.param.shape() {
            bail!(
                Runtime,
                "optimizer: a gradient or state of shape {:?} and dtype {} does not match its parameter ({:?}, {})",
                t.shape(),
                t.dtype().name(),
                s.param.shape(),
                dtype.name()
            );
        }
    }
    Ok(())
}

/// The per-parameter numbers of one step, computed as PyTorch computes them
/// in Python floats (`f64`) from the parameter's scalar states, which are
/// advanced here (`step += 1`, NAdam's `mu_product *= mu`) in their dtypes.
#[derive(Default, Clone, Copy)]
struct Consts {
    /// Adam/Adamax: `lr / (1 - beta1**step)`; Adagrad: the decayed lr;
    /// NAdam: the coefficient of the gradient.
    step_size: f64,
    /// Adam: `sqrt(1 - beta2**step)`; NAdam and RAdam: `1 - beta2**step`.
    bias2: f64,
    /// NAdam: the coefficient of `exp_avg`; RAdam: `1 - beta1**step`.
    other: f64,
    /// RAdam: the rectification term, or `None` while `rho_t <= 5`.
    rect: Option<f64>,
}

/// Sets a 0-d state to `f(value)`, rounded to its dtype, and returns what it
/// now holds (PyTorch reads these back with `.item()`).
fn advance_scalar(t: &Tensor, f: impl FnOnce(f64) -> f64) -> Result<f64> {
    let v = f(t.item()?.to_f64());
    t.fill_value(Scalar::Float(v))?;
    Ok(t.item()?.to_f64())
}

impl Consts {
    fn advance(rule: &Rule, scalars: &[Tensor]) -> Result<Consts> {
        let step = match scalars.first() {
            Some(t) => advance_scalar(t, |s| s + 1.0)?,
            None => 0.0,
        };
        Ok(match *rule {
            Rule::Sgd { .. } | Rule::Rmsprop { .. } | Rule::Adadelta { .. } => Consts::default(),
            Rule::Adam { lr, beta1, beta2, .. } => {
                Consts { step_size: lr / (1.0 - beta1.powf(step)), bias2: (1.0 - beta2.powf(step)).sqrt(), ..Default::default() }
            }
            Rule::Adagrad { lr, lr_decay, .. } => Consts { step_size: lr / (1.0 + (step - 1.0) * lr_decay), ..Default::default() },
            Rule::Adamax { lr, beta1, .. } => Consts { step_size: lr / (1.0 - beta1.powf(step)), ..Default::default() },
            Rule::Nadam { lr, beta1, beta2, momentum_decay, .. } => {
                let mu = beta1 * (1.0 - 0.5 * 0.96f64.powf(step * momentum_decay));
                let mu_next = beta1 * (1.0 - 0.5 * 0.96f64.powf((step + 1.0) * momentum_decay));
                // `mu_product *= mu` is a tensor op: the number is rounded to
                // the state's dtype first (exact in f64 for f32 operands).
                let mu_rounded = crate::with_dtype!(scalars[1].dtype(), T => T::from_scalar(Scalar::Float(mu)).to_scalar().to_f64());
                let mu_product = advance_scalar(&scalars[1], |p| p * mu_rounded)?;
                let mu_product_next = mu_product * mu_next;
                Consts {
                    step_size: -lr * (1.0 - mu) / (1.0 - mu_product),
                    bias2: 1.0 - beta2.powf(step),
                    other: (-lr * mu_next) / (1.0 - mu_product_next),
                    rect: None,
                }
            }
            Rule::Radam { beta1, beta2, .. } => {
                let bias2 = 1.0 - beta2.powf(step);
                let rho_inf = 2.0 / (1.0 - beta2) - 1.0;
                let rho_t = rho_inf - 2.0 * step * beta2.powf(step) / bias2;
                let rect = (rho_t > 5.0)
                    .then(|| ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)).sqrt());
                Consts { step_size: 0.0, bias2, other: 1.0 - beta1.powf(step), rect }
            }
        })
    }
}

/// Runs the rule over one parameter: in place on the storages when every
/// tensor is contiguous and owns a distinct storage (the usual case), else on
/// dense copies written back.
fn update<T: Float + Storable + Send + Sync>(rule: &Rule, c: &Consts, s: &Slot<'_>) -> Result<()> {
    let tensors: Vec<&Tensor> = std::iter::once(s.param).chain(std::iter::once(s.grad)).chain(s.buffers).collect();
    let distinct = tensors.iter().enumerate().all(|(i, a)| tensors[..i].iter().all(|b| !std::sync::Arc::ptr_eq(a.storage(), b.storage())));
    if distinct && tensors.iter().all(|t| t.layout().is_contiguous()) {
        let n = s.param.numel();
        let range = |t: &Tensor| t.layout().offset..t.layout().offset + n;
        let mut param = s.param.storage().write();
        let grad = s.grad.storage().read();
        let mut bufs: Vec<_> = s.buffers.iter().map(|b| b.storage().write()).collect();
        let p = &mut T::slice_mut(param.cpu_mut())[range(s.param)];
        let g = &T::slice(grad.cpu())[range(s.grad)];
        let mut b: Vec<&mut [T]> = bufs.iter_mut().zip(s.buffers).map(|(guard, t)| &mut T::slice_mut(guard.cpu_mut())[range(t)]).collect();
        run(rule, c, s.fresh, p, g, &mut b);
    } else {
        let mut p = T::into_vec(s.param.to_dense());
        let g = T::into_vec(s.grad.to_dense());
        let mut owned: Vec<Vec<T>> = s.buffers.iter().map(|t| T::into_vec(t.to_dense())).collect();
        let mut b: Vec<&mut [T]> = owned.iter_mut().map(|v| v.as_mut_slice()).collect();
        run(rule, c, s.fresh, &mut p, &g, &mut b);
        s.param.write_dense(&T::wrap(p))?;
        for (t, v) in s.buffers.iter().zip(owned) {
            t.write_dense(&T::wrap(v))?;
        }
        return Ok(());
    }
    s.param.bump_version();
    s.buffers.iter().for_each(Tensor::bump_version);
    Ok(())
}

/// float16/bfloat16 parameters: the rule runs in float32 (the type
/// PyTorch's half kernels compute in) on copies, rounded back once at the
/// end rather than after each op, so results can differ from PyTorch's in
/// the last bit of a half.
fn update_halves(rule: &Rule, c: &Consts, s: &Slot<'_>) -> Result<()> {
    let as_f32 = |t: &Tensor| t.with_cpu(|d, l| <f32 as Storable>::into_vec(crate::cpu_backend::cast(d, l, DType::F32)));
    let mut p = as_f32(s.param);
    let g = as_f32(s.grad);
    let mut owned: Vec<Vec<f32>> = s.buffers.iter().map(as_f32).collect();
    let mut b: Vec<&mut [f32]> = owned.iter_mut().map(|v| v.as_mut_slice()).collect();
    run(rule, c, s.fresh, &mut p, &g, &mut b);
    let back = |t: &Tensor, v: Vec<f32>| {
        let dense = Tensor::from_vec(v, t.shape());
        t.write_dense(&dense.with_cpu(|d, l| crate::cpu_backend::cast(d, l, t.dtype())))
    };
    back(s.param, p)?;
    for (t, v) in s.buffers.iter().zip(owned) {
        back(t, v)?;
    }
    Ok(())
}

/// Splits the element range across rayon's pool when it is large enough.
fn run<T: Float + Send + Sync>(rule: &Rule, c: &Consts, fresh: bool, p: &mut [T], g: &[T], bufs: &mut [&mut [T]]) {
    if !crate::cpu_backend::parallel_worth(p.len(), crate::cpu_backend::PARALLEL_MIN_ELEMENTS) {
        return kernel(rule, c, fresh, p, g, bufs);
    }
    let size = p.len().div_ceil(rayon::current_num_threads());
    let mut chunks: Vec<Vec<&mut [T]>> = p.chunks(size).map(|_| Vec::new()).collect();
    for b in bufs.iter_mut() {
        for (k, part) in b.chunks_mut(size).enumerate() {
            chunks[k].push(part);
        }
    }
    p.par_chunks_mut(size).zip(g.par_chunks(size)).zip(chunks).for_each(|((p, g), mut b)| kernel(rule, c, fresh, p, g, &mut b));
}

/// ATen's `lerp` with a number weight (`self.lerp_(end, weight)`).
fn lerp<T: Float>(a: T, b: T, w: T) -> T {
    if w.abs() < T::from(0.5).unwrap() { a + w * (b - a) } else { b - (b - a) * (T::one() - w) }
}

/// ATen's `maximum`: NaN if either is NaN.
fn maximum<T: Float>(a: T, b: T) -> T {
    if a.is_nan() || b.is_nan() { T::nan() } else { a.max(b) }
}

/// The gradient a rule steps along: `grad = -grad if maximize`, then L2
/// decay, `grad = grad.add(param, alpha=weight_decay)`.
fn direction<T: Float>(g: T, p: T, maximize: bool, weight_decay: f64) -> T {
    let d = if maximize { -g } else { g };
    if weight_decay != 0.0 { d + T::from(weight_decay).unwrap() * p } else { d }
}

/// The start the Adam family shares (Adam/AdamW, NAdam, RAdam).
struct AdamFamily {
    lr: f64,
    beta1: f64,
    beta2: f64,
    weight_decay: f64,
    decoupled: bool,
    maximize: bool,
}

impl AdamFamily {
    /// Applies the weight decay (decoupled: `param.mul_(1 - lr * wd)`, else
    /// L2 on the gradient) and updates the moments, `m.lerp_(g, 1 - b1)` and
    /// `v.mul_(b2).addcmul_(g, g, value=1 - b2)`; returns the gradient used.
    fn moments<T: Float>(&self, g: T, p: &mut T, m: &mut T, v: &mut T) -> T {
        let k = |x: f64| T::from(x).unwrap();
        if self.decoupled && self.weight_decay != 0.0 {
            *p = *p * k(1.0 - self.lr * self.weight_decay);
        }
        let d = direction(g, *p, self.maximize, if self.decoupled { 0.0 } else { self.weight_decay });
        *m = lerp(*m, d, k(1.0 - self.beta1));
        *v = *v * k(self.beta2) + k(1.0 - self.beta2) * d * d;
        d
    }
}

/// The element-wise rules. Comments quote the reference's tensor ops; a
/// Python number used in a tensor op is rounded to `T` (`k`) as ATen does.
fn kernel<T: Float>(rule: &Rule, c: &Consts, fresh: bool, p: &mut [T], g: &[T], bufs: &mut [&mut [T]]) {
    let k = |x: f64| T::from(x).unwrap();
    match (*rule, bufs) {
        (Rule::Sgd { lr, momentum, dampening, weight_decay, nesterov, maximize }, bufs) => {
            // Zipped iterators and hoisted constants: the loops vectorise.
            let (neg_lr, momentum, keep) = (k(-lr), k(momentum), k(1.0 - dampening));
            match bufs {
                [buf] => {
                    for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                        let d = direction(g, *p, maximize, weight_decay);
                        // buf = grad.clone() at first, else buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                        *b = if fresh { d } else { *b * momentum + keep * d };
                        let d = if nesterov { d + momentum * *b } else { *b };
                        *p = *p + neg_lr * d;
                    }
                }
                _ if !maximize && weight_decay == 0.0 => {
                    for (p, &g) in p.iter_mut().zip(g) {
                        *p = *p + neg_lr * g;
                    }
                }
                _ => {
                    for (p, &g) in p.iter_mut().zip(g) {
                        *p = *p + neg_lr * direction(g, *p, maximize, weight_decay);
                    }
                }
            }
        }
        (Rule::Adam { lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize }, [m, v, rest @ ..]) => {
            let family = AdamFamily { lr, beta1, beta2, weight_decay, decoupled, maximize };
            for i in 0..p.len() {
                family.moments(g[i], &mut p[i], &mut m[i], &mut v[i]);
                let second = if amsgrad {
                    rest[0][i] = maximum(rest[0][i], v[i]);
                    rest[0][i]
                } else {
                    v[i]
                };
                // denom = (v.sqrt() / bias_correction2_sqrt).add_(eps); param.addcdiv_(m, denom, value=-step_size)
                let denom = second.sqrt() / k(c.bias2) + k(eps);
                p[i] = p[i] + k(-c.step_size) * m[i] / denom;
            }
        }
        (Rule::Rmsprop { lr, alpha, eps, weight_decay, momentum, centered, maximize }, [sq, rest @ ..]) => {
            for i in 0..p.len() {
                let d = direction(g[i], p[i], maximize, weight_decay);
                sq[i] = sq[i] * k(alpha) + k(1.0 - alpha) * d * d;
                let avg = if centered {
                    let ga = rest.last_mut().unwrap();
                    ga[i] = lerp(ga[i], d, k(1.0 - alpha));
                    (sq[i] + k(-1.0) * ga[i] * ga[i]).sqrt()
                } else {
                    sq[i].sqrt()
                } + k(eps);
                if momentum > 0.0 {
                    let buf = &mut rest[0];
                    buf[i] = buf[i] * k(momentum) + T::one() * d / avg;
                    p[i] = p[i] + k(-lr) * buf[i];
                } else {
                    p[i] = p[i] + k(-lr) * d / avg;
                }
            }
        }
        (Rule::Adagrad { weight_decay, eps, maximize, .. }, [sum]) => {
            for i in 0..p.len() {
                let d = direction(g[i], p[i], maximize, weight_decay);
                sum[i] = sum[i] + T::one() * d * d;
                p[i] = p[i] + k(-c.step_size) * d / (sum[i].sqrt() + k(eps));
            }
        }
        (Rule::Adadelta { lr, rho, eps, weight_decay, maximize }, [sq, acc]) => {
            for i in 0..p.len() {
                let d = direction(g[i], p[i], maximize, weight_decay);
                sq[i] = sq[i] * k(rho) + k(1.0 - rho) * d * d;
                let std = (sq[i] + k(eps)).sqrt();
                let delta = (acc[i] + k(eps)).sqrt() / std * d;
                acc[i] = acc[i] * k(rho) + k(1.0 - rho) * delta * delta;
                p[i] = p[i] + k(-lr) * delta;
            }
        }
        (Rule::Adamax { beta1, beta2, eps, weight_decay, maximize, .. }, [m, inf]) => {
            for i in 0..p.len() {
                let d = direction(g[i], p[i], maximize, weight_decay);
                m[i] = lerp(m[i], d, k(1.0 - beta1));
                inf[i] = maximum(inf[i] * k(beta2), d.abs() + k(eps));
                p[i] = p[i] + k(-c.step_size) * m[i] / inf[i];
            }
        }
        (Rule::Nadam { lr, beta1, beta2, eps, weight_decay, decoupled, maximize, .. }, [m, v]) => {
            let family = AdamFamily { lr, beta1, beta2, weight_decay, decoupled, maximize };
            for i in 0..p.len() {
                let d = family.moments(g[i], &mut p[i], &mut m[i], &mut v[i]);
                let denom = (v[i] / k(c.bias2)).sqrt() + k(eps);
                p[i] = p[i] + k(c.step_size) * d / denom;
                p[i] = p[i] + k(c.other) * m[i] / denom;
            }
        }
        (Rule::Radam { lr, beta1, beta2, eps, weight_decay, decoupled, maximize }, [m, v]) => {
            let family = AdamFamily { lr, beta1, beta2, weight_decay, decoupled, maximize };
            for i in 0..p.len() {
                family.moments(g[i], &mut p[i], &mut m[i], &mut v[i]);
                let corrected = m[i] / k(c.other) * k(lr);
                // adaptive lr = bias_correction2**0.5 / (v.sqrt() + eps), times the rectification
                let update = match c.rect {
                    Some(rect) => corrected * (k(c.bias2.sqrt()) / (v[i].sqrt() + k(eps))) * k(rect),
                    None => corrected,
                };
                p[i] = p[i] + k(-1.0) * update;
            }
        }
        (rule, _) => unreachable!("buffer count checked for {rule:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64]) -> Tensor {
        Tensor::from_vec(v.to_vec(), &[v.len()])
    }

    #[test]
    fn sgd_with_momentum_starts_the_buffer_at_the_gradient() {
        let rule = Rule::Sgd { lr: 0.1, momentum: 0.9, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false };
        let (p, g, buf) = (t(&[1.0, 2.0]), t(&[0.5, -1.0]), t(&[0.0, 0.0]));
        let buffers = [buf.clone()];
        step(&rule, &[Slot { param: &p, grad: &g, buffers: &buffers, scalars: &[], fresh: true }]).unwrap();
        assert_eq!(p.to_vec::<f64>().unwrap(), vec![1.0 - 0.05, 2.0 + 0.1]);
        step(&rule, &[Slot { param: &p, grad: &g, buffers: &buffers, scalars: &[], fresh: false }]).unwrap();
        assert_eq!(buf.to_vec::<f64>().unwrap(), vec![0.5 * 0.9 + 0.5, -1.0 * 0.9 - 1.0]);
    }

    #[test]
    fn adam_first_step_moves_each_element_by_lr() {
        let rule = Rule::Adam { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 0.0, weight_decay: 0.0, decoupled: false, amsgrad: false, maximize: false };
        let (p, g) = (t(&[1.0, 2.0]), t(&[3.0, -4.0]));
        let buffers = [t(&[0.0, 0.0]), t(&[0.0, 0.0])];
        let scalars = [Tensor::scalar_tensor(Scalar::Float(0.0), DType::F32)];
        step(&rule, &[Slot { param: &p, grad: &g, buffers: &buffers, scalars: &scalars, fresh: false }]).unwrap();
        let got = p.to_vec::<f64>().unwrap();
        assert!((got[0] - 0.99).abs() < 1e-12 && (got[1] - 2.01).abs() < 1e-12, "{got:?}");
        assert_eq!(scalars[0].item().unwrap().to_f64(), 1.0);
    }

    #[test]
    fn mismatched_state_is_refused_before_writing() {
        let rule = Rule::Adagrad { lr: 0.1, lr_decay: 0.0, weight_decay: 0.0, eps: 1e-10, maximize: false };
        let (p, g) = (t(&[1.0]), t(&[1.0, 2.0]));
        let buffers = [t(&[0.0])];
        let scalars = [Tensor::scalar_tensor(Scalar::Float(0.0), DType::F32)];
        assert!(step(&rule, &[Slot { param: &p, grad: &g, buffers: &buffers, scalars: &scalars, fresh: false }]).is_err());
        assert_eq!(p.to_vec::<f64>().unwrap(), vec![1.0]);
    }
}
