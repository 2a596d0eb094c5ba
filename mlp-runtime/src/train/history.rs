//! What a training run reports: each epoch's evaluation, the history, and the early-stopping
//! rule that reads it.

use std::time::Duration;

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
    pub(super) fn improves(&self, value: f64, best: Option<f64>) -> bool {
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
    pub(super) fn value(self, e: &Evaluation) -> Option<f64> {
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
    /// The fraction of samples the output classifies correctly ([`Loss::correct`](crate::loss::Loss::correct)), or `None`
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

/// The result of [`Trainer::fit`](super::Trainer::fit).
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
