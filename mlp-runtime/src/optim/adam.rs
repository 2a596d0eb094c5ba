//! Adam and AdamW.

use super::{check_non_negative, check_unit, ensure_len, invalid, Optimizer};
use crate::error::TrainError;
use crate::wide::{halves, none, wide};
use crate::{Network, Scalar};

/// Adam (Kingma and Ba, 2015), and AdamW (Loshchilov and Hutter, 2019) when the weight decay is
/// decoupled, with PyTorch's `torch.optim.Adam` / `AdamW` conventions.
///
/// At step `t = 1, 2, …` with gradient `g_t`, learning rate `η`, decay rates `β₁, β₂`, `ε` and
/// weight decay `λ`:
///
/// ```text
/// θ ← θ (1 − η λ)                   AdamW only (decoupled decay)
/// g ← g_t + λ θ                     Adam only (L2 decay, added to the gradient)
/// m_t = β₁ m_{t−1} + (1 − β₁) g      (m_0 = 0)
/// v_t = β₂ v_{t−1} + (1 − β₂) g²     (v_0 = 0)
/// θ ← θ − (η / (1 − β₁ᵗ)) m_t / (√v_t / √(1 − β₂ᵗ) + ε)
/// ```
///
/// `β₁ᵗ` and `β₂ᵗ` are kept as running products, so no power is computed.
///
/// ```
/// # use mlp::optim::Adam;
/// let adam = Adam::<f32>::new(1e-3);
/// assert_eq!((adam.beta1, adam.beta2, adam.eps, adam.weight_decay), (0.9, 0.999, 1e-8, 0.0));
/// let adamw = Adam::<f32>::adamw(1e-3);
/// assert_eq!((adamw.weight_decay, adamw.decoupled), (0.01, true));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<T> {
    /// The learning rate `η`.
    pub lr: f64,
    /// The decay rate `β₁` of the first moment.
    pub beta1: f64,
    /// The decay rate `β₂` of the second moment.
    pub beta2: f64,
    /// The `ε` added to the denominator.
    pub eps: f64,
    /// The weight decay `λ`.
    pub weight_decay: f64,
    /// Whether the decay is decoupled from the gradient (AdamW) or added to it (Adam's L2).
    pub decoupled: bool,
    /// The first moments `m`, flat in parameter order.
    m: Vec<T>,
    /// The second moments `v`, flat in parameter order.
    v: Vec<T>,
    /// `β₁ᵗ` after the last step.
    beta1_t: f64,
    /// `β₂ᵗ` after the last step.
    beta2_t: f64,
}

impl<T: Scalar> Adam<T> {
    /// Adam with PyTorch's defaults: `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`, no weight decay.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            m: Vec::new(),
            v: Vec::new(),
            beta1_t: 1.0,
            beta2_t: 1.0,
        }
    }

    /// AdamW with PyTorch's defaults: Adam's, with decoupled weight decay `λ = 0.01`.
    pub fn adamw(lr: f64) -> Self {
        Adam {
            weight_decay: 0.01,
            decoupled: true,
            ..Self::new(lr)
        }
    }

    /// Sets `β₁` and `β₂`.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets `ε`.
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the weight decay `λ` (decoupled for AdamW, L2 for Adam).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

impl<T: Scalar> Optimizer<T> for Adam<T> {
    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn step<N: Network<Scalar = T>>(&mut self, net: &mut N, grads: &N::Grads) {
        let n = N::num_params();
        if ensure_len(&mut self.m, n) | ensure_len(&mut self.v, n) {
            self.m.fill(T::ZERO);
            self.v.fill(T::ZERO);
            self.beta1_t = 1.0;
            self.beta2_t = 1.0;
        }
        self.beta1_t *= self.beta1;
        self.beta2_t *= self.beta2;
        let step_size = T::from_f64(self.lr / (1.0 - self.beta1_t));
        // 1/√(1 − β₂ᵗ), so that each element takes one division: the denominator's
        // `√v / √(1 − β₂ᵗ)` becomes a product, within an ulp of the quotient.
        let inv_bc2_sqrt = T::from_f64(1.0 / (1.0 - self.beta2_t).sqrt());
        let (b1, b2) = (T::from_f64(self.beta1), T::from_f64(self.beta2));
        let (one_b1, one_b2) = (T::from_f64(1.0 - self.beta1), T::from_f64(1.0 - self.beta2));
        let eps = T::from_f64(self.eps);
        let l2 = if self.decoupled {
            T::ZERO
        } else {
            T::from_f64(self.weight_decay)
        };
        let shrink = if self.decoupled {
            T::from_f64(1.0 - self.lr * self.weight_decay)
        } else {
            T::ONE
        };
        let update = |(theta, g, m, v): (&mut [T], &[T], &mut [T], &mut [T])| {
            wide(|| {
                for (((p, &gi), mi), vi) in theta.iter_mut().zip(g).zip(m).zip(v) {
                    *p *= shrink;
                    let g = gi + l2 * *p;
                    *mi = b1 * *mi + one_b1 * g;
                    *vi = b2 * *vi + one_b2 * g * g;
                    *p -= step_size * *mi / (vi.sqrt() * inv_bc2_sqrt + eps);
                }
            });
        };
        let (ms, vs) = (&mut self.m, &mut self.v);
        let mut offset = 0;
        net.visit_with_grads(grads, |_, theta, g| {
            let end = offset + theta.len();
            let (m, v) = (&mut ms[offset..end], &mut vs[offset..end]);
            offset = end;
            halves((theta, g, m, v), &update, none);
        });
    }

    fn reset(&mut self) {
        self.m.clear();
        self.v.clear();
        self.beta1_t = 1.0;
        self.beta2_t = 1.0;
    }

    fn check(&self) -> Result<(), TrainError> {
        check_non_negative("lr", self.lr)?;
        check_unit("beta1", self.beta1)?;
        check_unit("beta2", self.beta2)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(invalid("eps", self.eps, "a finite value above 0"));
        }
        Ok(())
    }
}
