//! Learning-rate schedules.

use crate::error::TrainError;

/// The learning rate `η_e` of epoch `e = 0, 1, …` from the base rate `η₀`.
///
/// ```
/// # use mlp::optim::Schedule;
/// let step = Schedule::Step { every: 10, gamma: 0.5 };
/// assert_eq!([step.lr(0.1, 0), step.lr(0.1, 9), step.lr(0.1, 10), step.lr(0.1, 25)], [0.1, 0.1, 0.05, 0.025]);
/// let cosine = Schedule::Cosine { epochs: 10, min_lr: 0.0 };
/// assert_eq!([cosine.lr(0.1, 0), cosine.lr(0.1, 10), cosine.lr(0.1, 99)], [0.1, 0.0, 0.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Schedule {
    /// `η_e = η₀`.
    #[default]
    Constant,
    /// `η_e = η₀ γ^⌊e / every⌋`: multiplied by `γ` every `every` epochs (PyTorch's `StepLR`).
    Step {
        /// The number of epochs between decays, at least 1.
        every: usize,
        /// The factor `γ`.
        gamma: f64,
    },
    /// `η_e = η_min + (η₀ − η_min)(1 + cos(π e / E))/2` for `e ≤ E`, and `η_min` after: half a
    /// cosine from `η₀` down to `η_min` over `E` epochs (PyTorch's `CosineAnnealingLR`, held at
    /// `η_min` past `E` instead of rising again).
    Cosine {
        /// `E`, the epochs from `η₀` to `η_min`, at least 1.
        epochs: usize,
        /// `η_min`.
        min_lr: f64,
    },
}

impl Schedule {
    /// The learning rate of epoch `epoch` (0-based) for the base rate `base`.
    pub fn lr(&self, base: f64, epoch: usize) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => {
                let k = epoch / every.max(1);
                (0..k).fold(base, |lr, _| lr * gamma)
            }
            Schedule::Cosine { epochs, min_lr } => {
                if epoch >= epochs {
                    min_lr
                } else {
                    let phase = core::f64::consts::PI * epoch as f64 / epochs as f64;
                    // `libm`'s cosine, so the rate is the same on every machine.
                    min_lr + (base - min_lr) * (1.0 + libm::cos(phase)) / 2.0
                }
            }
        }
    }

    /// Checks the schedule's parameters.
    pub fn check(&self) -> Result<(), TrainError> {
        let bad = |name, reason: String| Err(TrainError::Config { name, reason });
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step { every: 0, .. } => bad(
                "every",
                "expected at least 1 epoch between decays, found 0".into(),
            ),
            Schedule::Step { gamma, .. } if !(gamma.is_finite() && gamma >= 0.0) => bad(
                "gamma",
                format!("expected a finite factor at least 0, found {gamma}"),
            ),
            Schedule::Cosine { epochs: 0, .. } => bad(
                "epochs",
                "expected a cosine period of at least 1 epoch, found 0".into(),
            ),
            Schedule::Cosine { min_lr, .. } if !(min_lr.is_finite() && min_lr >= 0.0) => bad(
                "min_lr",
                format!("expected a finite rate at least 0, found {min_lr}"),
            ),
            _ => Ok(()),
        }
    }
}
