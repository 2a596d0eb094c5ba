//! Stochastic gradient descent with momentum, Nesterov momentum and weight decay.

use super::{check_non_negative, check_unit, ensure_len, Optimizer};
use crate::error::TrainError;
use crate::wide::{halves, none, wide};
use crate::{Network, Scalar};

/// Stochastic gradient descent, with PyTorch's `torch.optim.SGD` conventions.
///
/// At step `t` with gradient `g_t`, learning rate `η`, momentum `μ`, dampening `τ` and weight
/// decay `λ`:
///
/// ```text
/// g ← g_t + λ θ                                  (L2 weight decay, added to the gradient)
/// b_t = g                     if t = 1           (the buffer starts at the first gradient,
/// b_t = μ b_{t−1} + (1 − τ) g if t > 1            undamped)
/// d = g + μ b_t   if Nesterov, else d = b_t       (d = g when μ = 0)
/// θ ← θ − η d
/// ```
///
/// ```
/// # use mlp::optim::Sgd;
/// let sgd = Sgd::<f64>::new(0.1).with_momentum(0.9).with_nesterov(true).with_weight_decay(1e-4);
/// assert_eq!((sgd.lr, sgd.momentum, sgd.nesterov, sgd.weight_decay), (0.1, 0.9, true, 1e-4));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd<T> {
    /// The learning rate `η`.
    pub lr: f64,
    /// The momentum `μ` (0: none).
    pub momentum: f64,
    /// The dampening `τ` of the gradient in the momentum buffer (0: none).
    pub dampening: f64,
    /// Whether to use Nesterov momentum (needs `μ > 0` and `τ = 0`).
    pub nesterov: bool,
    /// The L2 weight decay `λ`, added to the gradient as `λ θ`.
    pub weight_decay: f64,
    /// The momentum buffers `b`, flat in parameter order.
    velocity: Vec<T>,
    /// Whether the buffers hold `b_{t−1}` (false before the first step).
    started: bool,
}

impl<T: Scalar> Sgd<T> {
    /// Plain SGD, `θ ← θ − η g`.
    pub fn new(lr: f64) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            velocity: Vec::new(),
            started: false,
        }
    }

    /// Sets the momentum `μ`.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets the dampening `τ`.
    pub fn with_dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// Turns Nesterov momentum on or off.
    pub fn with_nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the L2 weight decay `λ`.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

impl<T: Scalar> Optimizer<T> for Sgd<T> {
    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn step<N: Network<Scalar = T>>(&mut self, net: &mut N, grads: &N::Grads) {
        let lr = T::from_f64(self.lr);
        let wd = T::from_f64(self.weight_decay);
        let use_wd = self.weight_decay != 0.0;
        if self.momentum == 0.0 {
            let update = |(theta, g): (&mut [T], &[T])| {
                wide(|| {
                    if use_wd {
                        for (p, &gi) in theta.iter_mut().zip(g) {
                            *p -= lr * (gi + wd * *p);
                        }
                    } else {
                        for (p, &gi) in theta.iter_mut().zip(g) {
                            *p -= lr * gi;
                        }
                    }
                });
            };
            net.visit_with_grads(grads, |_, theta, g| halves((theta, g), &update, none));
            return;
        }
        if ensure_len(&mut self.velocity, N::num_params()) {
            self.started = false;
        }
        let mu = T::from_f64(self.momentum);
        let keep = T::from_f64(1.0 - self.dampening);
        let (first, nesterov) = (!self.started, self.nesterov);
        let velocity = &mut self.velocity;
        let mut offset = 0;
        let update = |(theta, g, buf): (&mut [T], &[T], &mut [T])| {
            wide(|| {
                for ((p, &gi), b) in theta.iter_mut().zip(g).zip(buf) {
                    let d = if use_wd { gi + wd * *p } else { gi };
                    *b = if first { d } else { mu * *b + keep * d };
                    let step = if nesterov { d + mu * *b } else { *b };
                    *p -= lr * step;
                }
            });
        };
        net.visit_with_grads(grads, |_, theta, g| {
            let buf = &mut velocity[offset..offset + theta.len()];
            offset += theta.len();
            halves((theta, g, buf), &update, none);
        });
        self.started = true;
    }

    fn reset(&mut self) {
        self.velocity.clear();
        self.started = false;
    }

    fn check(&self) -> Result<(), TrainError> {
        check_non_negative("lr", self.lr)?;
        check_unit("momentum", self.momentum)?;
        check_non_negative("dampening", self.dampening)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        if self.nesterov && (self.momentum == 0.0 || self.dampening != 0.0) {
            return Err(TrainError::Config {
                name: "nesterov",
                reason: format!(
                    "Nesterov momentum needs momentum above 0 and dampening 0, found momentum {} and dampening {}",
                    self.momentum, self.dampening
                ),
            });
        }
        Ok(())
    }
}
