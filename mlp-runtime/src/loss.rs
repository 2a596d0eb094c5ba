//! Loss functions, each computing its value and its gradient with respect to the network's
//! output in one numerically stable pass.
//!
//! For one sample with output `y` and target `t`, both of length `K`, a loss gives `ℓ(y, t)` and
//! `∂ℓ/∂y`. For a mini-batch of `B` samples (the rows of an array) the loss is the mean
//! `L = (1/B) Σᵢ ℓ(yᵢ, tᵢ)`, so the gradient of row `i` is `(1/B) ∂ℓ/∂yᵢ`.
//!
//! | loss | `ℓ(y, t)` | `∂ℓ/∂y_k` |
//! | --- | --- | --- |
//! | [`Mse`] | `(1/K) Σ_k (y_k − t_k)²` | `(2/K)(y_k − t_k)` |
//! | [`SoftmaxCrossEntropy`] | `−Σ_k t_k log softmax(y)_k` | `softmax(y)_k Σ_j t_j − t_k` |
//! | [`BinaryCrossEntropy`] | `(1/K) Σ_k [max(y_k, 0) − y_k t_k + ln(1 + e^(−|y_k|))]` | `(σ(y_k) − t_k)/K` |
//!
//! These are PyTorch's `MSELoss`, `CrossEntropyLoss` and `BCEWithLogitsLoss` with their default
//! `reduction = "mean"`: over a batch, MSE and BCE average over all `B·K` entries and
//! cross-entropy over the `B` samples.

use crate::error::ShapeError;
use crate::Scalar;
use core::fmt::Debug;
use ndarray::{ArrayView2, ArrayViewMut2};

/// A loss `ℓ(y, t)` of a network's output `y` against a target `t`, with its gradient.
pub trait Loss<T: Scalar>: Copy + Debug + Send + Sync + 'static {
    /// A short name, e.g. `"mse"`.
    const NAME: &'static str;

    /// Returns `ℓ(y, t)` and writes `∂ℓ/∂y` into `grad`.
    ///
    /// # Panics
    /// If `output`, `target` and `grad` differ in length.
    fn value_grad(&self, output: &[T], target: &[T], grad: &mut [T]) -> T;

    /// Returns `ℓ(y, t)` alone.
    ///
    /// # Panics
    /// If `output` and `target` differ in length.
    fn value(&self, output: &[T], target: &[T]) -> T;

    /// Whether the output predicts the target's class, for losses that classify; `None` for a
    /// regression loss.
    fn correct(&self, output: &[T], target: &[T]) -> Option<bool> {
        let _ = (output, target);
        None
    }

    /// Returns the batch mean `L = (1/B) Σᵢ ℓ(yᵢ, tᵢ)` over the rows and writes
    /// `∂L/∂yᵢ = (1/B) ∂ℓ/∂yᵢ` into the rows of `grads`.
    fn batch_value_grad(
        &self,
        outputs: ArrayView2<'_, T>,
        targets: ArrayView2<'_, T>,
        mut grads: ArrayViewMut2<'_, T>,
    ) -> Result<T, ShapeError> {
        check_batch(&outputs, &targets)?;
        ShapeError::rows("gradients", outputs.nrows(), grads.nrows())?;
        ShapeError::columns("gradients", outputs.ncols(), grads.ncols())?;
        let (b, k) = outputs.dim();
        let inv_b = T::ONE / T::from_usize(b);
        let mut o = vec![T::ZERO; k];
        let mut t = vec![T::ZERO; k];
        let mut g = vec![T::ZERO; k];
        let mut sum = T::ZERO;
        for i in 0..b {
            o.iter_mut().zip(outputs.row(i)).for_each(|(d, &s)| *d = s);
            t.iter_mut().zip(targets.row(i)).for_each(|(d, &s)| *d = s);
            sum += self.value_grad(&o, &t, &mut g);
            grads
                .row_mut(i)
                .iter_mut()
                .zip(&g)
                .for_each(|(d, &s)| *d = s * inv_b);
        }
        Ok(sum * inv_b)
    }

    /// Returns the batch mean `L = (1/B) Σᵢ ℓ(yᵢ, tᵢ)` over the rows.
    fn batch_value(
        &self,
        outputs: ArrayView2<'_, T>,
        targets: ArrayView2<'_, T>,
    ) -> Result<T, ShapeError> {
        check_batch(&outputs, &targets)?;
        let (b, k) = outputs.dim();
        let mut o = vec![T::ZERO; k];
        let mut t = vec![T::ZERO; k];
        let mut sum = T::ZERO;
        for i in 0..b {
            o.iter_mut().zip(outputs.row(i)).for_each(|(d, &s)| *d = s);
            t.iter_mut().zip(targets.row(i)).for_each(|(d, &s)| *d = s);
            sum += self.value(&o, &t);
        }
        Ok(sum / T::from_usize(b))
    }
}

fn check_batch<T>(
    outputs: &ArrayView2<'_, T>,
    targets: &ArrayView2<'_, T>,
) -> Result<(), ShapeError> {
    if outputs.nrows() == 0 {
        return Err(ShapeError {
            what: "outputs",
            axis: "rows",
            expected: 1,
            found: 0,
        });
    }
    ShapeError::rows("targets", outputs.nrows(), targets.nrows())?;
    ShapeError::columns("targets", outputs.ncols(), targets.ncols())
}

fn assert_same_len(output: usize, target: usize, grad: Option<usize>) {
    assert_eq!(
        output, target,
        "loss: output has {output} entries, target has {target}"
    );
    if let Some(g) = grad {
        assert_eq!(
            output, g,
            "loss: output has {output} entries, gradient buffer has {g}"
        );
    }
}

/// The mean squared error over the `K` outputs, `ℓ = (1/K) Σ_k (y_k − t_k)²`, with
/// `∂ℓ/∂y_k = (2/K)(y_k − t_k)`: PyTorch's `MSELoss` (no factor ½).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mse;

impl<T: Scalar> Loss<T> for Mse {
    const NAME: &'static str = "mse";

    fn value_grad(&self, output: &[T], target: &[T], grad: &mut [T]) -> T {
        assert_same_len(output.len(), target.len(), Some(grad.len()));
        let k = T::from_usize(output.len());
        let two_over_k = (T::ONE + T::ONE) / k;
        let mut sum = T::ZERO;
        for ((g, &y), &t) in grad.iter_mut().zip(output).zip(target) {
            let d = y - t;
            sum += d * d;
            *g = two_over_k * d;
        }
        sum / k
    }

    fn value(&self, output: &[T], target: &[T]) -> T {
        assert_same_len(output.len(), target.len(), None);
        let mut sum = T::ZERO;
        for (&y, &t) in output.iter().zip(target) {
            sum += (y - t) * (y - t);
        }
        sum / T::from_usize(output.len())
    }
}

/// Cross-entropy of the softmax of logits `y` against a probability vector `t` (one-hot for a
/// class label): `ℓ = −Σ_k t_k log softmax(y)_k = Σ_k t_k (lse(y) − y_k)`, with
/// `∂ℓ/∂y_k = softmax(y)_k Σ_j t_j − t_k` (that is `softmax(y) − t` when `t` sums to 1).
///
/// Each term is evaluated as `lse(y) − y_k = ln Σ_j e^(y_j − m) + (m − y_k)` with `m = max_j y_j`,
/// so no exponential overflows and no large terms cancel: the loss is finite and accurate for
/// logits as large as ±1e4, even in `f32`. PyTorch's `CrossEntropyLoss`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

impl SoftmaxCrossEntropy {
    /// Returns `ℓ = lse(y) − y_c` for the class index `c` (evaluated as above) and writes
    /// `∂ℓ/∂y = softmax(y) − e_c` into `grad`.
    ///
    /// # Panics
    /// If `class >= output.len()` or `grad` differs in length from `output`.
    pub fn value_grad_class<T: Scalar>(&self, output: &[T], class: usize, grad: &mut [T]) -> T {
        assert!(
            class < output.len(),
            "loss: class {class} out of range for {} outputs",
            output.len()
        );
        assert_same_len(output.len(), grad.len(), None);
        let (m, sum) = shifted_exp_sum(output, Some(grad));
        let inv = T::ONE / sum;
        grad.iter_mut().for_each(|g| *g *= inv);
        grad[class] -= T::ONE;
        sum.ln() + (m - output[class])
    }

    /// Returns `ℓ = lse(y) − y_c` for the class index `c`.
    ///
    /// # Panics
    /// If `class >= output.len()`.
    pub fn value_class<T: Scalar>(&self, output: &[T], class: usize) -> T {
        assert!(
            class < output.len(),
            "loss: class {class} out of range for {} outputs",
            output.len()
        );
        let (m, sum) = shifted_exp_sum(output, None);
        sum.ln() + (m - output[class])
    }
}

/// Returns `m = max y` and `Σ e^(y_k − m)`, writing each `e^(y_k − m)` into `out` when given.
fn shifted_exp_sum<T: Scalar>(y: &[T], out: Option<&mut [T]>) -> (T, T) {
    let m = y.iter().fold(y[0], |a, &b| a.max(b));
    let mut sum = T::ZERO;
    match out {
        Some(out) => {
            for (e, &yk) in out.iter_mut().zip(y) {
                *e = (yk - m).exp();
                sum += *e;
            }
        }
        None => y.iter().for_each(|&yk| sum += (yk - m).exp()),
    }
    (m, sum)
}

/// Writes `softmax(y)_k = e^(y_k − m) / Σ_j e^(y_j − m)` into `probs`, with `m = max y`.
///
/// # Panics
/// If `logits` is empty or `probs` differs in length.
pub fn softmax<T: Scalar>(logits: &[T], probs: &mut [T]) {
    assert_same_len(logits.len(), probs.len(), None);
    let (_, sum) = shifted_exp_sum(logits, Some(probs));
    let inv = T::ONE / sum;
    probs.iter_mut().for_each(|p| *p *= inv);
}

/// The index of the largest entry (the first one on ties), e.g. the predicted class.
///
/// # Panics
/// If `y` is empty.
pub fn argmax<T: Scalar>(y: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in y.iter().enumerate().skip(1) {
        if v > y[best] {
            best = i;
        }
    }
    best
}

impl<T: Scalar> Loss<T> for SoftmaxCrossEntropy {
    const NAME: &'static str = "softmax_cross_entropy";

    fn value_grad(&self, output: &[T], target: &[T], grad: &mut [T]) -> T {
        assert_same_len(output.len(), target.len(), Some(grad.len()));
        let (m, sum) = shifted_exp_sum(output, Some(grad));
        let ln_sum = sum.ln();
        let t_sum: T = target.iter().copied().sum();
        let scale = t_sum / sum;
        let mut loss = T::ZERO;
        for ((g, &y), &t) in grad.iter_mut().zip(output).zip(target) {
            *g = *g * scale - t;
            if t != T::ZERO {
                loss += t * (ln_sum + (m - y));
            }
        }
        loss
    }

    fn value(&self, output: &[T], target: &[T]) -> T {
        assert_same_len(output.len(), target.len(), None);
        let (m, sum) = shifted_exp_sum(output, None);
        let ln_sum = sum.ln();
        let mut loss = T::ZERO;
        for (&y, &t) in output.iter().zip(target) {
            if t != T::ZERO {
                loss += t * (ln_sum + (m - y));
            }
        }
        loss
    }

    /// Whether the largest logit is at the target's largest entry (its class, if one-hot).
    fn correct(&self, output: &[T], target: &[T]) -> Option<bool> {
        Some(argmax(output) == argmax(target))
    }
}

/// Binary cross-entropy of independent logistic outputs `σ(y_k)` against targets `t_k ∈ [0, 1]`,
/// averaged over the `K` outputs:
/// `ℓ = (1/K) Σ_k −[t_k ln σ(y_k) + (1 − t_k) ln(1 − σ(y_k))]`, with `∂ℓ/∂y_k = (σ(y_k) − t_k)/K`.
///
/// Evaluated as `max(y, 0) − y t + ln(1 + e^(−|y|))`, which never overflows: finite for logits
/// as large as ±1e4. PyTorch's `BCEWithLogitsLoss`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropy;

#[inline]
fn bce_term<T: Scalar>(y: T, t: T) -> T {
    y.max(T::ZERO) - y * t + (-y.abs()).exp().ln_1p()
}

impl<T: Scalar> Loss<T> for BinaryCrossEntropy {
    const NAME: &'static str = "binary_cross_entropy";

    fn value_grad(&self, output: &[T], target: &[T], grad: &mut [T]) -> T {
        assert_same_len(output.len(), target.len(), Some(grad.len()));
        let k = T::from_usize(output.len());
        let mut sum = T::ZERO;
        for ((g, &y), &t) in grad.iter_mut().zip(output).zip(target) {
            sum += bce_term(y, t);
            *g = (crate::activation::sigmoid(y) - t) / k;
        }
        sum / k
    }

    fn value(&self, output: &[T], target: &[T]) -> T {
        assert_same_len(output.len(), target.len(), None);
        let mut sum = T::ZERO;
        for (&y, &t) in output.iter().zip(target) {
            sum += bce_term(y, t);
        }
        sum / T::from_usize(output.len())
    }

    /// Whether every output is on the target's side of ½ (`y > 0` exactly when `t > ½`).
    fn correct(&self, output: &[T], target: &[T]) -> Option<bool> {
        let half = T::from_f64(0.5);
        Some(
            output
                .iter()
                .zip(target)
                .all(|(&y, &t)| (y > T::ZERO) == (t > half)),
        )
    }
}
