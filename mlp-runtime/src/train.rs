//! The training loop: mini-batches, seeded shuffling, epochs, validation, early stopping,
//! divergence detection and a per-epoch history.
//!
//! This file holds the epoch loop ([`Trainer::fit`]) and the batch-gradient step; the
//! chunks of a step, on the pool, and their fixed-order sum are in `train/chunks.rs`,
//! training over MPI in `train/distributed.rs` (the `mpi` feature), the
//! trainer's settings are in `train/builder.rs`, the history and early stopping in
//! `train/history.rs`, evaluation in `train/evaluate.rs`, the weight snapshots in
//! `train/snapshot.rs` and the progress bar in `train/progress.rs`.
//!
//! One seed ([`Trainer::seed`]) drives the initialisation (when [`Trainer::init`] asks for
//! one), the shuffling and [`Trainer::split`], each from its own stream of `ChaCha8Rng`, so
//! that a run is reproduced from one number; the per-part seeds ([`crate::init::Init::init`],
//! [`Dataset::split`]) stay available.
//!
//! ```
//! use mlp::{data::Dataset, init::Init, loss::Mse, mlp, optim::Sgd, train::Trainer};
//! mlp! { pub struct Line { scalar: f64, input: 1, layers: [1 identity] } }
//! let x = mlp::ndarray::Array2::from_shape_fn((20, 1), |(i, _)| i as f64 / 20.0);
//! let data = Dataset::regression(x.clone(), x.mapv(|v| 2.0 * v + 1.0))?;
//! let mut trainer = Trainer::new(Mse, Sgd::new(0.5)).epochs(200).seed(7).init(Init::XAVIER_UNIFORM);
//! let (train, val) = trainer.split(&data, 0.25)?;
//! let mut net = Line::zeros();
//! let history = trainer.fit(&mut net, &train, Some(&val))?;
//! assert!(history.epochs.last().unwrap().train.loss < 1e-6);
//! assert!((net.w1[0][0] - 2.0).abs() < 1e-3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::data::Dataset;
use crate::error::{Divergence, ShapeError, TrainError};
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::{BatchNetwork, Network, Scalar, Vector};
use ndarray::{s, Array2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

mod builder;
pub(crate) mod chunks;
#[cfg(feature = "mpi")]
pub mod distributed;
mod evaluate;
mod history;
mod progress;
mod snapshot;

use evaluate::{batch_error, check_data, evaluate_with};
use progress::{progress_bar, progress_message};
use snapshot::{copy_params, first_non_finite, restore_params};

use chunks::{Alone, Chunks, Rows, Team};

pub use builder::Trainer;
pub use evaluate::evaluate;
pub use history::{EarlyStopping, EpochStats, Evaluation, History, Monitor};

impl<L, O> Trainer<L, O> {
    /// Trains `net` on `train` for [`Trainer::epochs`] epochs, evaluating on `validation` after
    /// each epoch, and returns the history.
    ///
    /// With early stopping, the network ends with the weights of the epoch of lowest validation
    /// loss, whether or not training stopped early. The optimizer keeps its state (momentum,
    /// moments) between calls, so a second call continues training; call
    /// [`Optimizer::reset`] to start afresh. Its learning rate is set back to the base rate.
    pub fn fit<N>(
        &mut self,
        net: &mut N,
        train: &Dataset<N::Scalar>,
        validation: Option<&Dataset<N::Scalar>>,
    ) -> Result<History, TrainError>
    where
        N: BatchNetwork,
        L: Loss<N::Scalar>,
        O: Optimizer<N::Scalar> + Send,
    {
        self.check::<N>(train, validation)?;
        if let Some(init) = self.init {
            init.init(net, self.seed);
        }
        let base_lr = self.optimizer.learning_rate();
        let bar = progress_bar(self.progress, self.epochs);
        let result = in_pool(|| self.run_epochs(net, train, validation, base_lr, &bar, &mut Alone));
        self.optimizer.set_learning_rate(base_lr);
        match result {
            Ok(_) => bar.finish_and_clear(),
            Err(_) => bar.abandon(),
        }
        result
    }

    /// The loop over the epochs of [`Trainer::fit`], on checked settings and data.
    fn run_epochs<N>(
        &mut self,
        net: &mut N,
        train: &Dataset<N::Scalar>,
        validation: Option<&Dataset<N::Scalar>>,
        base_lr: f64,
        bar: &indicatif::ProgressBar,
        team: &mut impl Team<N::Scalar>,
    ) -> Result<History, TrainError>
    where
        N: BatchNetwork,
        L: Loss<N::Scalar>,
        O: Optimizer<N::Scalar>,
    {
        let samples = team.samples(train.len());
        let mut work = Workspace::<N>::new(samples);
        // The pool's other threads look for work until training ends, so that the splits of
        // a large enough step cost about a microsecond each.
        #[cfg(feature = "parallel")]
        let _awake = crate::awake::Awake::for_steps_of(chunks::step_flops::<N>(self.batch_size));
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(1);
        let mut history = History::default();
        let mut best: Option<f64> = None;
        let mut since_best = 0;
        let stop = self.early_stopping;
        let monitor = stop.map_or(Monitor::ValidationLoss, |s| s.monitor);

        for epoch in 1..=self.epochs {
            let start = Instant::now();
            let lr = self.schedule.lr(base_lr, epoch - 1);
            self.optimizer.set_learning_rate(lr);
            if self.shuffle {
                work.order.shuffle(&mut rng);
            }
            let (data, order) = team.arrange(
                train,
                &work.order,
                (self.batch_size, self.chunks),
                &mut work.rows,
            )?;
            let epoch_rows = EpochRows {
                data,
                order,
                samples,
            };
            let stats = self.run_epoch(net, &epoch_rows, epoch, &mut work.step, team)?;
            // Process 0 evaluates; the others learn its result.
            let val = team.share_validation(match (validation, team.rank()) {
                (Some(v), 0) => evaluate_with(net, &self.loss, v).map(Some),
                _ => Ok(None),
            })?;
            history.epochs.push(EpochStats {
                epoch,
                lr,
                train: stats,
                validation: val,
                duration: start.elapsed(),
            });
            if !bar.is_hidden() {
                bar.set_message(progress_message(&stats, val.as_ref()));
            }
            bar.inc(1);

            let Some(v) = val else {
                continue;
            };
            let Some(value) = monitor.value(&v) else {
                return Err(TrainError::Config {
                    name: "monitor",
                    reason: format!(
                        "{monitor:?} needs a classifying loss, and `{}` gives no accuracy",
                        L::NAME
                    ),
                });
            };
            let improved = match stop {
                Some(stop) => stop.improves(value, best),
                None => EarlyStopping::new(1).improves(value, best),
            };
            if improved {
                best = Some(value);
                since_best = 0;
                history.best_epoch = Some(epoch - 1);
                if stop.is_some() {
                    copy_params(net, &mut work.step.best);
                }
            } else if let Some(stop) = stop {
                since_best += 1;
                if since_best >= stop.patience {
                    history.stopped_early = epoch < self.epochs;
                    break;
                }
            }
        }
        if self.early_stopping.is_some() && history.best_epoch.is_some() {
            restore_params(net, &work.step.best);
        }
        Ok(history)
    }

    /// Runs one epoch of mini-batch steps over `rows.order`.
    fn run_epoch<N>(
        &mut self,
        net: &mut N,
        rows: &EpochRows<'_, N::Scalar>,
        epoch: usize,
        work: &mut StepBuffers<N>,
        team: &mut impl Team<N::Scalar>,
    ) -> Result<Evaluation, TrainError>
    where
        N: BatchNetwork,
        L: Loss<N::Scalar>,
        O: Optimizer<N::Scalar>,
    {
        let mut loss_sum = 0.0;
        let mut correct = 0usize;
        let mut classified = false;
        let lr = self.optimizer.learning_rate();
        // The sum of the epoch's batch means so far, for the divergence factor.
        let mut means = 0.0;
        for (b, batch) in rows.order.chunks(self.batch_size).enumerate() {
            let diverged = |cause| TrainError::Diverged {
                epoch,
                batch: b + 1,
                lr,
                cause,
            };
            let (stats, grads) =
                work.chunks
                    .gradient(net, &self.loss, rows.data, batch, self.chunks, team)?;
            let mean = stats.loss_sum / batch.len() as f64;
            if !mean.is_finite() {
                return Err(diverged(Divergence::Loss(mean)));
            }
            if let (Some(factor), true) = (self.divergence_factor, b > 0) {
                let reference = means / b as f64;
                if mean > factor * reference {
                    return Err(diverged(Divergence::Growth {
                        loss: mean,
                        reference,
                        factor,
                    }));
                }
            }
            means += mean;
            if let Some(name) = first_non_finite(grads) {
                return Err(diverged(Divergence::Gradient(name)));
            }
            copy_params(net, &mut work.backup);
            self.optimizer.step(net, grads);
            if let Some(name) = first_non_finite(net) {
                restore_params(net, &work.backup);
                return Err(diverged(Divergence::Weight(name)));
            }
            loss_sum += stats.loss_sum;
            if let Some(c) = stats.correct {
                correct += c;
                classified = true;
            }
        }
        let n = rows.samples as f64;
        Ok(Evaluation {
            loss: loss_sum / n,
            accuracy: classified.then(|| correct as f64 / n),
        })
    }

    /// Checks the settings and that the data fit the network.
    fn check<N>(
        &self,
        train: &Dataset<N::Scalar>,
        validation: Option<&Dataset<N::Scalar>>,
    ) -> Result<(), TrainError>
    where
        N: Network,
        O: Optimizer<N::Scalar>,
    {
        self.check_settings(validation.is_some())?;
        check_data::<N>("training", train)?;
        if let Some(v) = validation {
            check_data::<N>("validation", v)?;
        }
        Ok(())
    }

    /// Checks the settings, given whether a validation set is watched.
    fn check_settings<T: Scalar>(&self, has_validation: bool) -> Result<(), TrainError>
    where
        O: Optimizer<T>,
    {
        let config = |name, reason: &str| {
            Err(TrainError::Config {
                name,
                reason: reason.to_owned(),
            })
        };
        if self.epochs == 0 {
            return config("epochs", "expected at least 1 epoch, found 0");
        }
        if self.batch_size == 0 {
            return config("batch_size", "expected a batch size of at least 1, found 0");
        }
        if self.chunks == Some(0) {
            return config("chunks", "expected at least 1 chunk per batch, found 0");
        }
        if let Some(factor) = self.divergence_factor {
            if !(factor.is_finite() && factor > 1.0) {
                return Err(TrainError::Config {
                    name: "divergence_factor",
                    reason: format!("expected a finite factor above 1, found {factor}"),
                });
            }
        }
        if let Some(stop) = self.early_stopping {
            if !has_validation {
                return config(
                    "early_stopping",
                    "early stopping watches a validation metric, but no validation set was given",
                );
            }
            if stop.patience == 0 {
                return config(
                    "patience",
                    "expected a patience of at least 1 epoch, found 0",
                );
            }
            if !(stop.min_delta.is_finite() && stop.min_delta >= 0.0) {
                return Err(TrainError::Config {
                    name: "min_delta",
                    reason: format!(
                        "expected a finite value at least 0, found {}",
                        stop.min_delta
                    ),
                });
            }
        }
        self.optimizer.check()?;
        self.schedule.check()?;
        Ok(())
    }
}

/// The buffers a training run reuses, so that a step allocates nothing.
struct Workspace<N: BatchNetwork> {
    /// The sample order, shuffled in place each epoch.
    order: Vec<usize>,
    /// The rows this process reads when it does not hold every sample.
    rows: Rows<N::Scalar>,
    /// What each step writes.
    step: StepBuffers<N>,
}

/// The buffers of a step.
struct StepBuffers<N: BatchNetwork> {
    /// The buffers of each chunk of a batch, and the batch gradient.
    chunks: Chunks<N>,
    /// The weights before the current step, restored if the step makes them non-finite.
    backup: Vec<N::Scalar>,
    /// The weights of the best epoch, for early stopping.
    best: Vec<N::Scalar>,
}

impl<N: BatchNetwork> Workspace<N> {
    fn new(samples: usize) -> Self {
        Workspace {
            order: (0..samples).collect(),
            rows: Rows::default(),
            step: StepBuffers {
                chunks: Chunks::default(),
                backup: Vec::with_capacity(N::num_params()),
                best: Vec::with_capacity(N::num_params()),
            },
        }
    }
}

/// What an epoch reads: the data set and, for each position of the epoch's order, the row of
/// it that holds that sample.
struct EpochRows<'a, T> {
    data: &'a Dataset<T>,
    order: &'a [usize],
    /// The number of samples in the whole training set.
    samples: usize,
}

/// The sums over one batch.
#[derive(Debug, Default)]
pub(crate) struct BatchStats {
    /// `Σᵢ ℓᵢ`.
    pub(crate) loss_sum: f64,
    /// The number of samples classified correctly, for a classifying loss.
    pub(crate) correct: Option<usize>,
}

/// Computes the summed gradient `grads = Σᵢ ∂ℓ(yᵢ, tᵢ)/∂θ` over the samples `batch` (a chunk
/// of a mini-batch, [`Chunks::gradient`]) on the batched path (one matrix product per layer
/// and pass), and returns the loss sum.
///
/// This is the one place that computes gradients. The samples are gathered straight into the
/// batch cache; the loss reads each output row and writes `∂ℓ/∂y` into `dl_dy`, which grows
/// to the largest batch once and is then reused.
fn batch_gradient<N, L>(
    net: &N,
    loss: &L,
    data: &Dataset<N::Scalar>,
    batch: &[usize],
    cache: &mut N::BatchCache,
    dl_dy: &mut Array2<N::Scalar>,
    grads: &mut N::Grads,
) -> Result<BatchStats, TrainError>
where
    N: BatchNetwork,
    L: Loss<N::Scalar>,
{
    if dl_dy.nrows() < batch.len() {
        *dl_dy = Array2::from_elem((batch.len(), N::OUTPUT), N::Scalar::ZERO);
    }
    let mut dl_dy = dl_dy.slice_mut(s![..batch.len(), ..]);
    let mut loss_sum = 0.0;
    let mut correct = 0;
    let mut classified = false;
    let y = net
        .forward_batch_rows(data.features(), batch, cache)
        .map_err(batch_error)?;
    let mut yi = N::Output::zeros();
    for ((&i, y_row), mut g_row) in batch.iter().zip(y.rows()).zip(dl_dy.rows_mut()) {
        yi.as_mut_slice()
            .iter_mut()
            .zip(y_row)
            .for_each(|(d, &v)| *d = v);
        let (_, t) = sample::<N>(data, i)?;
        let g = g_row.as_slice_mut().ok_or(ShapeError {
            what: "output gradient",
            axis: "columns",
            expected: N::OUTPUT,
            found: 0,
        })?;
        loss_sum += loss.value_grad(yi.as_slice(), t, g)?.to_f64();
        if let Some(c) = loss.correct(yi.as_slice(), t) {
            correct += usize::from(c);
            classified = true;
        }
    }
    net.gradient_batch(cache, dl_dy.view(), grads)
        .map_err(batch_error)?;
    Ok(BatchStats {
        loss_sum,
        correct: classified.then_some(correct),
    })
}

/// Sample `i` as the network's input and the target slice.
fn sample<N: Network>(
    data: &Dataset<N::Scalar>,
    i: usize,
) -> Result<(N::Input, &[N::Scalar]), TrainError> {
    let bad = || ShapeError {
        what: "sample",
        axis: "columns",
        expected: N::INPUT,
        found: data.n_features(),
    };
    let (x, t) = data.sample(i).ok_or_else(bad)?;
    let x = N::Input::from_slice(x).ok_or_else(bad)?;
    Ok((x, t))
}

/// Runs `f` on a thread of the current rayon pool (the global one unless called inside
/// `pool.install`), so that a training loop's parallel work is handed out from within the
/// pool, which costs a microsecond or two, not the tens a thread outside it waits.
#[cfg(feature = "parallel")]
fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        f()
    } else {
        rayon::scope(|_| f())
    }
}

/// Runs `f` (no pool without the `parallel` feature).
#[cfg(not(feature = "parallel"))]
fn in_pool<R>(f: impl FnOnce() -> R) -> R {
    f()
}
