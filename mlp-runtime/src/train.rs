//! The training loop: mini-batches, seeded shuffling, epochs, validation, early stopping,
//! divergence detection and a per-epoch history.
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

pub(crate) mod chunks;
#[cfg(feature = "mpi")]
pub mod distributed;

use crate::data::Dataset;
use crate::error::{DataError, Divergence, ShapeError, TrainError};
use crate::init::Init;
use crate::loss::Loss;
use crate::optim::{Optimizer, Schedule};
use crate::{BatchError, BatchNetwork, Network, Parameters, Scalar, Vector};
use ndarray::{s, Array2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use chunks::{Alone, Chunks, Team};

/// Stops training when the monitored validation metric has not improved for `patience`
/// epochs, and restores the weights of the best epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// The number of epochs without improvement after which training stops, at least 1.
    pub patience: usize,
    /// The amount by which the metric must beat the best so far to count as an improvement
    /// (the loss must fall below `best − min_delta`, the accuracy rise above
    /// `best + min_delta`).
    pub min_delta: f64,
    /// The validation metric watched.
    pub monitor: Monitor,
}

impl EarlyStopping {
    /// Stops after `patience` epochs without a lower validation loss (`min_delta` 0).
    pub fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            min_delta: 0.0,
            monitor: Monitor::ValidationLoss,
        }
    }

    /// Sets the least improvement that counts.
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// Sets the metric watched.
    pub fn monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// Whether `value` improves on `best` by more than `min_delta`.
    fn improves(&self, value: f64, best: Option<f64>) -> bool {
        match (self.monitor, best) {
            (_, None) => true,
            (Monitor::ValidationLoss, Some(b)) => value < b - self.min_delta,
            (Monitor::ValidationAccuracy, Some(b)) => value > b + self.min_delta,
        }
    }
}

/// The validation metric early stopping watches and the best epoch is chosen by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Monitor {
    /// The mean validation loss, lower is better.
    #[default]
    ValidationLoss,
    /// The validation accuracy, higher is better (needs a classifying loss).
    ValidationAccuracy,
}

impl Monitor {
    /// The watched value of an evaluation, if the evaluation has it.
    fn value(self, e: &Evaluation) -> Option<f64> {
        match self {
            Monitor::ValidationLoss => Some(e.loss),
            Monitor::ValidationAccuracy => e.accuracy,
        }
    }
}

/// The mean loss and, for a classifying loss, the accuracy over a set of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean loss `(1/n) Σᵢ ℓ(yᵢ, tᵢ)`.
    pub loss: f64,
    /// The fraction of samples the output classifies correctly ([`Loss::correct`]), or `None`
    /// for a regression loss.
    pub accuracy: Option<f64>,
}

/// What happened in one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// The epoch, 1-based.
    pub epoch: usize,
    /// The learning rate the epoch used.
    pub lr: f64,
    /// The training loss and accuracy, averaged over the epoch's samples as each batch saw
    /// them (before its step).
    pub train: Evaluation,
    /// The validation loss and accuracy after the epoch, if there is a validation set.
    pub validation: Option<Evaluation>,
    /// The time the epoch took, validation included.
    pub duration: Duration,
}

/// The result of [`Trainer::fit`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One entry per epoch run: `epochs[i]` is epoch number `i + 1` ([`EpochStats::epoch`]).
    pub epochs: Vec<EpochStats>,
    /// The **0-based index into [`History::epochs`]** of the epoch with the best validation
    /// metric (the monitored one with early stopping, else the loss), whose weights the
    /// network holds when early stopping is on; `None` without a validation set.
    /// [`History::best`] returns that entry.
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended training before the last epoch.
    pub stopped_early: bool,
}

impl History {
    /// The statistics of the best epoch, `epochs[best_epoch]`.
    pub fn best(&self) -> Option<&EpochStats> {
        self.epochs.get(self.best_epoch?)
    }
}

/// Trains a network with a loss and an optimizer.
///
/// Each epoch visits the training samples in an order shuffled by `ChaCha8Rng` seeded with
/// [`Trainer::seed`] (stream 1), in mini-batches of [`Trainer::batch_size`] (the last may be
/// smaller). A batch's gradient is the mean `(1/B) Σᵢ ∂ℓᵢ/∂θ`, then the optimizer steps. The
/// same seed, data and initial weights give a bit-identical result.
///
/// Each batch of `B` samples is cut into chunks that depend on `B` alone (`B / 64` chunks,
/// between 2 and 4, of equal size but the last); each chunk's gradient is summed on the
/// batched path into its own buffer, and the chunks' sums are added along one fixed binary
/// tree before the scaling by `1/B`. With the `parallel` feature, [`Trainer::fit`] runs its
/// loop on a thread of the current rayon pool (the global one, or the one of an enclosing
/// `pool.install`): the chunks of a step of at least 150 Mflop (`6 B P` for `P` parameters)
/// run on the pool's threads, smaller steps' one after the other, and the sum, the
/// validation and the optimizer's step run on the pool too. No operation or order changes with the number of threads, so a
/// run gives the same bits on any number of threads, and the same as without the feature.
///
/// After each batch the loss, the gradients and the new weights are checked: if one is NaN or
/// infinite, training stops with [`TrainError::Diverged`] naming the epoch, the batch and the
/// learning rate, and the network keeps its last finite weights. With
/// [`Trainer::divergence_factor`], a finite loss that explodes stops training too.
#[derive(Clone, Debug)]
pub struct Trainer<L, O> {
    /// The loss.
    pub loss: L,
    /// The optimizer; its learning rate is the base rate of the schedule.
    pub optimizer: O,
    /// The number of epochs, at least 1.
    pub epochs: usize,
    /// The mini-batch size `B`, at least 1.
    pub batch_size: usize,
    /// The seed of the shuffling (stream 1), of [`Trainer::init`]'s initialisation (stream 0)
    /// and of [`Trainer::split`] (stream 2); 0 unless set.
    pub seed: u64,
    /// The initialisation [`Trainer::fit`] applies, with [`Trainer::seed`], before training;
    /// `None` trains the weights as they are.
    pub init: Option<Init>,
    /// Whether to shuffle the samples every epoch.
    pub shuffle: bool,
    /// The learning rate per epoch.
    pub schedule: Schedule,
    /// Early stopping on a validation metric, if any.
    pub early_stopping: Option<EarlyStopping>,
    /// Whether to show a progress bar on stderr (epoch, loss, validation metrics, ETA). It is
    /// drawn only when stderr is a terminal, so logs and pipes stay clean.
    pub progress: bool,
    /// Stops training when a batch's mean loss exceeds this factor times the mean of the
    /// epoch's earlier batches ([`Divergence::Growth`]), before its step; `None` (the
    /// default) never does.
    pub divergence_factor: Option<f64>,
}

impl<L, O> Trainer<L, O> {
    /// A trainer with 10 epochs, batches of 32, seed 0, no initialisation (the weights are
    /// trained as they are), shuffling, a constant learning rate, no early stopping, and a
    /// progress bar when stderr is a terminal.
    pub fn new(loss: L, optimizer: O) -> Self {
        Trainer {
            loss,
            optimizer,
            epochs: 10,
            batch_size: 32,
            seed: 0,
            init: None,
            shuffle: true,
            schedule: Schedule::Constant,
            early_stopping: None,
            progress: true,
            divergence_factor: None,
        }
    }

    /// Sets the number of epochs.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets the mini-batch size.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the one seed of the shuffling, the initialisation and the split.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Initialises the network with `init` and [`Trainer::seed`] at the start of
    /// [`Trainer::fit`] (the same weights as `init.init(&mut net, seed)`).
    pub fn init(mut self, init: Init) -> Self {
        self.init = Some(init);
        self
    }

    /// Splits `data` into `(train, validation)` with [`Trainer::seed`]: stratified by class
    /// for a classification data set ([`Dataset::split_stratified`]), else at random
    /// ([`Dataset::split`]).
    pub fn split<T: Scalar>(
        &self,
        data: &Dataset<T>,
        validation_fraction: f64,
    ) -> Result<(Dataset<T>, Dataset<T>), DataError> {
        data.split_stratified(validation_fraction, self.seed)
    }

    /// Turns shuffling on or off.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Sets the learning-rate schedule.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Stops after `patience` epochs without a validation loss below the best, and restores
    /// the best weights; [`Trainer::early_stopping_with`] sets `min_delta` and the metric.
    pub fn early_stopping(self, patience: usize) -> Self {
        self.early_stopping_with(EarlyStopping::new(patience))
    }

    /// Early stopping as `stop` says.
    pub fn early_stopping_with(mut self, stop: EarlyStopping) -> Self {
        self.early_stopping = Some(stop);
        self
    }

    /// Turns the progress bar on (when stderr is a terminal) or off.
    pub fn progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// Stops training, before the step, when a batch's mean loss is more than `factor` times
    /// the mean of the epoch's earlier batch losses: a finite loss that explodes, as a too
    /// large learning rate makes it. `factor` must be finite and above 1; 100 leaves room for
    /// the noise of small batches.
    pub fn divergence_factor(mut self, factor: f64) -> Self {
        self.divergence_factor = Some(factor);
        self
    }

    /// Silences the progress bar (`quiet(true)` is `progress(false)`).
    pub fn quiet(self, quiet: bool) -> Self {
        self.progress(!quiet)
    }
}

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
        let mut work = Workspace::<N>::new(train.len());
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
            let stats = self.run_epoch(net, train, epoch, &mut work, team)?;
            let val = match validation {
                Some(v) => Some(evaluate_with(net, &self.loss, v)?),
                None => None,
            };
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
                    copy_params(net, &mut work.best);
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
            restore_params(net, &work.best);
        }
        Ok(history)
    }

    /// Runs one epoch of mini-batch steps over `work.order`.
    fn run_epoch<N>(
        &mut self,
        net: &mut N,
        train: &Dataset<N::Scalar>,
        epoch: usize,
        work: &mut Workspace<N>,
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
        for (b, batch) in work.order.chunks(self.batch_size).enumerate() {
            let diverged = |cause| TrainError::Diverged {
                epoch,
                batch: b + 1,
                lr,
                cause,
            };
            let (stats, grads) = work.chunks.gradient(net, &self.loss, train, batch, team)?;
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
        let n = train.len() as f64;
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
        if let Some(factor) = self.divergence_factor {
            if !(factor.is_finite() && factor > 1.0) {
                return Err(TrainError::Config {
                    name: "divergence_factor",
                    reason: format!("expected a finite factor above 1, found {factor}"),
                });
            }
        }
        if let Some(stop) = self.early_stopping {
            if validation.is_none() {
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
        check_data::<N>("training", train)?;
        if let Some(v) = validation {
            check_data::<N>("validation", v)?;
        }
        Ok(())
    }
}

/// The buffers a training run reuses at every step, so that a step allocates nothing.
struct Workspace<N: BatchNetwork> {
    /// The buffers of each chunk of a batch, and the batch gradient.
    chunks: Chunks<N>,
    /// The sample order, shuffled in place each epoch.
    order: Vec<usize>,
    /// The weights before the current step, restored if the step makes them non-finite.
    backup: Vec<N::Scalar>,
    /// The weights of the best epoch, for early stopping.
    best: Vec<N::Scalar>,
}

impl<N: BatchNetwork> Workspace<N> {
    fn new(samples: usize) -> Self {
        Workspace {
            chunks: Chunks::default(),
            order: (0..samples).collect(),
            backup: Vec::with_capacity(N::num_params()),
            best: Vec::with_capacity(N::num_params()),
        }
    }
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

/// A batch error as a training error (the data were checked before, so this does not occur).
fn batch_error(e: BatchError) -> TrainError {
    match e {
        BatchError::Shape(s) => TrainError::Shape(s),
        BatchError::RowIndex { what, index, rows } => TrainError::Shape(ShapeError {
            what,
            axis: "rows",
            expected: rows,
            found: index + 1,
        }),
        other => TrainError::Config {
            name: "batch",
            reason: other.to_string(),
        },
    }
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

/// Evaluates `net` on `data` on the batched path ([`crate::predict`]): the mean loss and, for
/// a classifying loss, the accuracy.
pub fn evaluate<N, L>(
    net: &N,
    loss: &L,
    data: &Dataset<N::Scalar>,
) -> Result<Evaluation, TrainError>
where
    N: BatchNetwork,
    L: Loss<N::Scalar>,
{
    check_data::<N>("evaluation", data)?;
    evaluate_with(net, loss, data)
}

/// [`evaluate`] on data already checked: outputs by chunks of [`crate::predict::CHUNK`] rows
/// on the batched path, the chunks spread over the pool with `parallel`, then the loss of
/// each row. The chunks' sums are added in order, so the result does not depend on the
/// number of threads.
fn evaluate_with<N, L>(
    net: &N,
    loss: &L,
    data: &Dataset<N::Scalar>,
) -> Result<Evaluation, TrainError>
where
    N: BatchNetwork,
    L: Loss<N::Scalar>,
{
    const CHUNK: usize = crate::predict::CHUNK;
    let n = data.len();
    let chunk = |cache: &mut N::BatchCache, k: usize| {
        let rows = k * CHUNK..((k + 1) * CHUNK).min(n);
        let outputs = net
            .predict_batch(data.features().slice(s![rows.clone(), ..]), cache)
            .map_err(batch_error)?;
        let targets = data.targets();
        let (mut loss_sum, mut correct, mut classified) = (0.0, 0usize, false);
        let mut y = N::Output::zeros();
        for (i, row) in rows.zip(outputs.rows()) {
            // The outputs are a feature-major view: copy each row out.
            y.as_mut_slice()
                .iter_mut()
                .zip(row)
                .for_each(|(d, &v)| *d = v);
            let row = targets.row(i);
            let copied;
            let t = match row.to_slice() {
                Some(t) => t,
                None => {
                    copied = row.to_vec();
                    &copied
                }
            };
            loss_sum += loss.value(y.as_slice(), t)?.to_f64();
            if let Some(c) = loss.correct(y.as_slice(), t) {
                correct += usize::from(c);
                classified = true;
            }
        }
        Ok::<_, TrainError>((loss_sum, correct, classified))
    };
    let chunks = n.div_ceil(CHUNK);
    #[cfg(feature = "parallel")]
    let sums: Vec<_> = {
        use rayon::prelude::*;
        (0..chunks)
            .into_par_iter()
            .map_init(N::BatchCache::default, chunk)
            .collect()
    };
    #[cfg(not(feature = "parallel"))]
    let sums: Vec<_> = {
        let mut cache = N::BatchCache::default();
        (0..chunks).map(|k| chunk(&mut cache, k)).collect()
    };
    let (mut loss_sum, mut correct, mut classified) = (0.0, 0usize, false);
    for s in sums {
        let (l, c, k) = s?;
        loss_sum += l;
        correct += c;
        classified |= k;
    }
    let n = n as f64;
    Ok(Evaluation {
        loss: loss_sum / n,
        accuracy: classified.then(|| correct as f64 / n),
    })
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

/// Checks `data` has samples shaped for `N`.
fn check_data<N: Network>(what: &'static str, data: &Dataset<N::Scalar>) -> Result<(), TrainError> {
    if data.is_empty() {
        return Err(TrainError::NoSamples { what });
    }
    let (features, targets) = match what {
        "training" => ("training features", "training targets"),
        "validation" => ("validation features", "validation targets"),
        _ => ("features", "targets"),
    };
    ShapeError::columns(features, N::INPUT, data.n_features())?;
    ShapeError::columns(targets, N::OUTPUT, data.n_targets())?;
    Ok(())
}

/// Copies every parameter into `buf`, flat in parameter order (no allocation once `buf` has
/// the capacity).
fn copy_params<P: Parameters>(p: &P, buf: &mut Vec<P::Scalar>) {
    buf.clear();
    p.visit(|_, v| buf.extend_from_slice(v));
}

/// Copies `buf`, as written by [`copy_params`], back into the parameters.
fn restore_params<P: Parameters>(p: &mut P, buf: &[P::Scalar]) {
    let mut offset = 0;
    p.visit_mut(|_, v| {
        v.copy_from_slice(&buf[offset..offset + v.len()]);
        offset += v.len();
    });
}

/// The name of the first tensor holding a NaN or an infinity.
fn first_non_finite<P: Parameters>(p: &P) -> Option<&'static str> {
    let mut found = None;
    p.visit(|info, v| {
        if found.is_none() && !crate::wide::all_finite(v) {
            found = Some(info.name);
        }
    });
    found
}

/// A progress bar over the epochs, drawn on stderr only when asked and stderr is a terminal.
fn progress_bar(show: bool, epochs: usize) -> indicatif::ProgressBar {
    if !(show && std::io::stderr().is_terminal()) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(epochs as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30.cyan/blue} epoch {pos}/{len} {msg} [{elapsed}<{eta}]",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The progress bar's message: the epoch's losses and accuracies.
fn progress_message(train: &Evaluation, val: Option<&Evaluation>) -> String {
    let mut msg = format!("loss {:.4}", train.loss);
    if let Some(a) = train.accuracy {
        msg += &format!(" acc {a:.4}");
    }
    if let Some(v) = val {
        msg += &format!(" val_loss {:.4}", v.loss);
        if let Some(a) = v.accuracy {
            msg += &format!(" val_acc {a:.4}");
        }
    }
    msg
}
