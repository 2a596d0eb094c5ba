//! The trainer and its settings, set one by one from the defaults.

use super::history::EarlyStopping;
use crate::data::Dataset;
use crate::error::DataError;
use crate::init::Init;
use crate::optim::Schedule;
use crate::Scalar;

/// Trains a network with a loss and an optimizer.
///
/// Each epoch visits the training samples in an order shuffled by `ChaCha8Rng` seeded with
/// [`Trainer::seed`] (stream 1), in mini-batches of [`Trainer::batch_size`] (the last may be
/// smaller). A batch's gradient is the mean `(1/B) Σᵢ ∂ℓᵢ/∂θ`, then the optimizer steps. The
/// same seed, data and initial weights give a bit-identical result.
///
/// Each batch of `B` samples is cut into chunks that depend on `B` alone (`B / 64` chunks,
/// between 1 and 4, of equal size but the last, or as many as [`Trainer::chunks`] sets);
/// each chunk's gradient is summed on the
/// batched path into its own buffer, and the chunks' sums are added along one fixed binary
/// tree before the scaling by `1/B`. With the `parallel` feature, [`Trainer::fit`] runs its
/// loop on a thread of the current rayon pool (the global one, or the one of an enclosing
/// `pool.install`). When its steps are 20 Mflop or more (`6 B P` for `P` parameters) and the
/// pool has two threads or more, it keeps the pool's other threads looking for work until it
/// returns (they spin, yielding the core between rounds, rather than sleep; they are let go
/// if the operating system gives their core to another process), so that handing them a
/// piece costs about a microsecond: the chunks run on the pool's threads, and within a chunk
/// the products of 2 Mflop or more are cut into pieces of rows or columns, one per thread.
/// Otherwise only steps of 150 Mflop or more hand out their chunks, and products of 8 Mflop
/// or more their pieces. The sum, the scaling, the finiteness checks, the copy of the weights,
/// the optimizer's update and the validation run on the pool too. No operation or order
/// changes with the number of threads, so a run gives the same bits on any number of threads,
/// and the same as without the feature.
///
/// After each batch the loss, the gradients and the new weights are checked: if one is NaN or
/// infinite, training stops with [`TrainError::Diverged`](crate::error::TrainError::Diverged) naming the epoch, the batch and the
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
    /// The number of chunks each batch is cut into (at most its size), or `None` for `B / 64`
    /// between 1 and 4.
    pub chunks: Option<usize>,
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
    /// epoch's earlier batches ([`Divergence::Growth`](crate::error::Divergence::Growth)), before its step; `None` (the
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
            chunks: None,
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

    /// Cuts every batch into `chunks` chunks (fewer when a batch has fewer samples) instead of
    /// `B / 64` between 1 and 4. The chunks are what threads and MPI ranks share out, so over
    /// MPI set it to the number of ranks or a multiple of it, or ranks past the number of
    /// chunks compute nothing; [`Trainer::fit`] with the same setting gives the same bits.
    /// Each chunk costs a gradient's buffer and its addition. At least 1.
    pub fn chunks(mut self, chunks: usize) -> Self {
        self.chunks = Some(chunks);
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
