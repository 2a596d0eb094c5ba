//! Training on a residual loss: a loop as short as `Trainer::fit`, with the same optimizers,
//! schedules and divergence checks.

use crate::error::{Divergence, TrainError};
use crate::optim::{Optimizer, Schedule};
use crate::{Network, Parameters, Scalar};
use alloc::vec::Vec;

/// The loss of every step of [`fit_residual`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResidualHistory {
    /// The loss the closure returned at each step, in order.
    pub losses: Vec<f64>,
}

impl ResidualHistory {
    /// The last step's loss, if any.
    pub fn last(&self) -> Option<f64> {
        self.losses.last().copied()
    }
}

/// Runs `steps` optimizer steps on a loss built from operators of the network (a PINN
/// residual). At each step the gradients are zeroed, `loss(net, step, grads)` adds
/// `∂Loss/∂θ` into them and returns the loss, and the optimizer steps with the schedule's
/// rate for `step`. A non-finite loss, gradient or weight stops with
/// [`TrainError::Diverged`] (its `epoch` is the 1-based step, `batch` is 1), leaving the
/// network with its last finite weights.
///
/// ```
/// use mlp::{init::Init, mlp, optim::{Adam, Schedule}, operators::{fit_residual, Laplacian}};
/// mlp! { struct Tiny { input: 1, layers: [4 tanh, 1 identity], scalar: f64, operators: [laplacian] } }
/// let mut net = Tiny::zeros();
/// Init::XAVIER_UNIFORM.init(&mut net, 1);
/// // Fit u'' = 0 with u(0) = 1 (a constant or a line): the loss falls.
/// let history = fit_residual(&mut net, &mut Adam::new(1e-2), Schedule::Constant, 200, |net, _, grads| {
///     let mut cache = Default::default();
///     let mut seed = mlp::operators::Jet::zeros();
///     let mut loss = 0.0;
///     for x in [0.25, 0.5, 0.75] {
///         let jet = net.jet(&[x], &Laplacian, &mut cache);
///         seed.second[0][0] = 2.0 * jet.second[0][0] / 3.0;
///         loss += jet.second[0][0].powi(2) / 3.0;
///         net.jet_backward(&Laplacian, &cache, &seed, grads);
///     }
///     let y = net.jet(&[0.0], &Laplacian, &mut cache);
///     seed.second[0][0] = 0.0;
///     seed.value[0] = 2.0 * (y.value[0] - 1.0);
///     net.jet_backward(&Laplacian, &cache, &seed, grads);
///     loss + (y.value[0] - 1.0).powi(2)
/// }).unwrap();
/// assert!(history.last().unwrap() < 1e-3 * history.losses[0]);
/// ```
pub fn fit_residual<N, O, F>(
    net: &mut N,
    optimizer: &mut O,
    schedule: Schedule,
    steps: usize,
    mut loss: F,
) -> Result<ResidualHistory, TrainError>
where
    N: Network,
    O: Optimizer<N::Scalar>,
    F: FnMut(&N, usize, &mut N::Grads) -> f64,
{
    optimizer.check()?;
    schedule.check()?;
    let base = optimizer.learning_rate();
    let mut grads = N::Grads::default();
    // The weights before each step, restored if the step makes one non-finite.
    let mut before: Vec<N::Scalar> = Vec::with_capacity(N::num_params());
    let mut history = ResidualHistory {
        losses: Vec::with_capacity(steps),
    };
    for step in 0..steps {
        let lr = schedule.lr(base, step);
        optimizer.set_learning_rate(lr);
        grads.fill(N::Scalar::ZERO);
        let value = loss(net, step, &mut grads);
        let diverged = |cause| TrainError::Diverged {
            epoch: step + 1,
            batch: 1,
            lr,
            cause,
        };
        if !value.is_finite() {
            return Err(diverged(Divergence::Loss(value)));
        }
        if let Some(name) = first_non_finite(&grads) {
            return Err(diverged(Divergence::Gradient(name)));
        }
        before.clear();
        net.visit(|_, values| before.extend_from_slice(values));
        optimizer.step(net, &grads);
        if let Some(name) = first_non_finite(net) {
            let mut rest = &before[..];
            net.visit_mut(|_, values| {
                let (head, tail) = rest.split_at(values.len());
                values.copy_from_slice(head);
                rest = tail;
            });
            return Err(diverged(Divergence::Weight(name)));
        }
        history.losses.push(value);
    }
    optimizer.set_learning_rate(base);
    Ok(history)
}

/// The name of the first tensor with a non-finite entry.
fn first_non_finite<P: Parameters>(p: &P) -> Option<&'static str> {
    let mut found = None;
    p.visit(|info, values| {
        if found.is_none() && values.iter().any(|v| !v.is_finite()) {
            found = Some(info.name);
        }
    });
    found
}
