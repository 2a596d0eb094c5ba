//! Optimizers that update a network's parameters from its gradients, and learning-rate
//! schedules.
//!
//! Each optimizer keeps its state (momentum, moment estimates) as one flat vector in the order of
//! [`Parameters::PARAM_INFO`](crate::Parameters::PARAM_INFO), row-major within a tensor, and
//! steps through [`Network::visit_with_grads`]. The state is allocated on the first step and
//! reused afterwards, so a step allocates nothing.
//!
//! The update rules are PyTorch's (`torch.optim.SGD`, `Adam`, `AdamW`), written out on each type.

mod adam;
mod schedule;
mod sgd;

pub use adam::Adam;
pub use schedule::Schedule;
pub use sgd::Sgd;

use crate::error::TrainError;
use crate::{Network, Scalar};

/// Updates a network's parameters from the gradient of the loss, one step at a time.
pub trait Optimizer<T: Scalar> {
    /// The learning rate `η` the next step uses.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate, e.g. from a [`Schedule`].
    fn set_learning_rate(&mut self, lr: f64);

    /// Updates `net` from the gradients `grads = ∂L/∂θ`.
    fn step<N: Network<Scalar = T>>(&mut self, net: &mut N, grads: &N::Grads);

    /// Forgets the state (momentum, moments, step count), as for a fresh optimizer.
    fn reset(&mut self);

    /// Checks that the hyper-parameters can work, naming the first that cannot.
    fn check(&self) -> Result<(), TrainError>;
}

/// Resizes `state` to `n` zeros unless it already has `n` entries; returns whether it did.
fn ensure_len<T: Scalar>(state: &mut Vec<T>, n: usize) -> bool {
    if state.len() == n {
        false
    } else {
        state.clear();
        state.resize(n, T::ZERO);
        true
    }
}

/// The error for a hyper-parameter outside its range.
fn invalid(name: &'static str, value: f64, expected: &str) -> TrainError {
    TrainError::Config {
        name,
        reason: format!("expected {expected}, found {value}"),
    }
}

/// Checks `value` is finite and at least 0.
fn check_non_negative(name: &'static str, value: f64) -> Result<(), TrainError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(name, value, "a finite value at least 0"))
    }
}

/// Checks `value` lies in `[0, 1)`.
fn check_unit(name: &'static str, value: f64) -> Result<(), TrainError> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(invalid(name, value, "a value in [0, 1)"))
    }
}
