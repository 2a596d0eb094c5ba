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

pub use crate::error::LossError;
use crate::error::ShapeError;
use crate::Scalar;
use core::fmt::Debug;

/// A loss `ℓ(y, t)` of a network's output `y` against a target `t`, with its gradient.
pub trait Loss<T: Scalar>: Copy + Debug + Send + Sync + 'static {
    /// A short name, e.g. `"mse"`.
    const NAME: &'static str;

    /// Returns `ℓ(y, t)` and writes `∂ℓ/∂y` into `grad`.
    ///
    /// Fails if `output` is empty, or `target` or `grad` differs from it in length; `grad`
    /// is then unchanged.
    fn value_grad(&self, output: &[T], target: &[T], grad: &mut [T]) -> Result<T, LossError>;

    /// Returns `ℓ(y, t)` alone.
    ///
    /// Fails if `output` is empty or `target` differs from it in length.
    fn value(&self, output: &[T], target: &[T]) -> Result<T, LossError>;

    /// Whether the output predicts the target's class, for losses that classify; `None` for a
    /// regression loss.
    fn correct(&self, output: &[T], target: &[T]) -> Option<bool> {
        let _ = (output, target);
        None
    }
}

/// Checks that `output` has entries and that `target` and `grad` (when given) have as many.
fn check_lengths(
    loss: &'static str,
    output: usize,
    target: Option<usize>,
    grad: Option<usize>,
) -> Result<(), LossError> {
    if output == 0 {
        return Err(LossError::Empty { loss });
    }
    let entries = |what, found: Option<usize>| match found {
        Some(found) if found != output => Err(ShapeError {
            what,
            axis: "entries",
            expected: output,
            found,
        }),
        _ => Ok(()),
    };
    entries("loss target", target)?;
    entries("loss gradient", grad)?;
    Ok(())
}

/// `(1/K) Σ_k f(y_k, t_k)`, for a loss that is a mean over the outputs, after checking the
/// lengths.
fn elementwise<T: Scalar>(
    loss: &'static str,
    output: &[T],
    target: &[T],
    f: impl Fn(T, T) -> T,
) -> Result<T, LossError> {
    check_lengths(loss, output.len(), Some(target.len()), None)?;
    let mut sum = T::ZERO;
    for (&y, &t) in output.iter().zip(target) {
        sum += f(y, t);
    }
    Ok(sum / T::from_usize(output.len()))
}

/// [`elementwise`] where `f` also gives `∂ℓ/∂y_k`, written into `grad`.
fn elementwise_grad<T: Scalar>(
    loss: &'static str,
    output: &[T],
    target: &[T],
    grad: &mut [T],
    f: impl Fn(T, T) -> (T, T),
) -> Result<T, LossError> {
    check_lengths(loss, output.len(), Some(target.len()), Some(grad.len()))?;
    let mut sum = T::ZERO;
    for ((g, &y), &t) in grad.iter_mut().zip(output).zip(target) {
        let (value, derivative) = f(y, t);
        sum += value;
        *g = derivative;
    }
    Ok(sum / T::from_usize(output.len()))
}

/// The mean squared error over the `K` outputs, `ℓ = (1/K) Σ_k (y_k − t_k)²`, with
/// `∂ℓ/∂y_k = (2/K)(y_k − t_k)`: PyTorch's `MSELoss` (no factor ½).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mse;

impl<T: Scalar> Loss<T> for Mse {
    const NAME: &'static str = "mse";

    fn value_grad(&self, output: &[T], target: &[T], grad: &mut [T]) -> Result<T, LossError> {
        let two_over_k = (T::ONE + T::ONE) / T::from_usize(output.len());
        let name = <Self as Loss<T>>::NAME;
        elementwise_grad(name, output, target, grad, |y, t| {
            let d = y - t;
            (d * d, two_over_k * d)
        })
    }

    fn value(&self, output: &[T], target: &[T]) -> Result<T, LossError> {
        elementwise(<Self as Loss<T>>::NAME, output, target, |y, t| {
            (y - t) * (y - t)
        })
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
    /// Fails if `output` is empty, `class` is not below `output.len()` or `grad` differs in
    /// length from `output`; `grad` is then unchanged.
    pub fn value_grad_class<T: Scalar>(
        &self,
        output: &[T],
        class: usize,
        grad: &mut [T],
    ) -> Result<T, LossError> {
        check_lengths(CROSS_ENTROPY, output.len(), None, Some(grad.len()))?;
        let y_c = class_value(output, class)?;
        let (m, sum) = shifted_exp_sum(output, Some(grad));
        let inv = T::ONE / sum;
        grad.iter_mut().for_each(|g| *g *= inv);
        if let Some(g) = grad.get_mut(class) {
            *g -= T::ONE;
        }
        Ok(sum.ln() + (m - y_c))
    }

    /// Returns `ℓ = lse(y) − y_c` for the class index `c`.
    ///
    /// Fails if `output` is empty or `class` is not below `output.len()`.
    pub fn value_class<T: Scalar>(&self, output: &[T], class: usize) -> Result<T, LossError> {
        check_lengths(CROSS_ENTROPY, output.len(), None, None)?;
        let y_c = class_value(output, class)?;
        let (m, sum) = shifted_exp_sum(output, None);
        Ok(sum.ln() + (m - y_c))
    }
}

/// [`SoftmaxCrossEntropy`]'s name.
const CROSS_ENTROPY: &str = "softmax_cross_entropy";

/// `y_c`, or the error for a class out of range.
fn class_value<T: Scalar>(output: &[T], class: usize) -> Result<T, LossError> {
    output.get(class).copied().ok_or(LossError::Class {
        loss: CROSS_ENTROPY,
        class,
        outputs: output.len(),
    })
}

/// Returns `m = max y` and `Σ e^(y_k − m)`, writing each `e^(y_k − m)` into `out` when given.
/// For an empty `y`, `m = −∞` and the sum is 0 (callers refuse empty outputs first).
fn shifted_exp_sum<T: Scalar>(y: &[T], out: Option<&mut [T]>) -> (T, T) {
    let m = y
        .iter()
        .fold(T::from_f64(f64::NEG_INFINITY), |a, &b| a.max(b));
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
/// Fails if `logits` is empty or `probs` differs from it in length; `probs` is then
/// unchanged.
pub fn softmax<T: Scalar>(logits: &[T], probs: &mut [T]) -> Result<(), LossError> {
    check_lengths("softmax", logits.len(), None, Some(probs.len()))?;
    let (_, sum) = shifted_exp_sum(logits, Some(probs));
    let inv = T::ONE / sum;
    probs.iter_mut().for_each(|p| *p *= inv);
    Ok(())
}

/// The index of the largest entry (the first one on ties), e.g. the predicted class; 0 for
/// an empty `y`.
pub fn argmax<T: Scalar>(y: &[T]) -> usize {
    let mut best = (0, None);
    for (i, &v) in y.iter().enumerate() {
        if best.1.is_none_or(|b| v > b) {
            best = (i, Some(v));
        }
    }
    best.0
}

impl<T: Scalar> Loss<T> for SoftmaxCrossEntropy {
    const NAME: &'static str = CROSS_ENTROPY;

    fn value_grad(&self, output: &[T], target: &[T], grad: &mut [T]) -> Result<T, LossError> {
        check_lengths(
            <Self as Loss<T>>::NAME,
            output.len(),
            Some(target.len()),
            Some(grad.len()),
        )?;
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
        Ok(loss)
    }

    fn value(&self, output: &[T], target: &[T]) -> Result<T, LossError> {
        check_lengths(
            <Self as Loss<T>>::NAME,
            output.len(),
            Some(target.len()),
            None,
        )?;
        let (m, sum) = shifted_exp_sum(output, None);
        let ln_sum = sum.ln();
        let mut loss = T::ZERO;
        for (&y, &t) in output.iter().zip(target) {
            if t != T::ZERO {
                loss += t * (ln_sum + (m - y));
            }
        }
        Ok(loss)
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

    fn value_grad(&self, output: &[T], target: &[T], grad: &mut [T]) -> Result<T, LossError> {
        let k = T::from_usize(output.len());
        let name = <Self as Loss<T>>::NAME;
        elementwise_grad(name, output, target, grad, |y, t| {
            (bce_term(y, t), (crate::math::logistic(y) - t) / k)
        })
    }

    fn value(&self, output: &[T], target: &[T]) -> Result<T, LossError> {
        elementwise(<Self as Loss<T>>::NAME, output, target, bce_term)
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
