//! Data-parallel training over MPI (the `mpi` feature, through the `mpi` crate): every
//! process ("rank") of a communicator trains the same network on its share of each global
//! mini-batch, and the gradients are combined once per step.
//!
//! - **Shards.** Each rank holds a [`Shard`] of the training set: its rows of one file
//!   ([`Shard::load_csv`]: rank `r` of `N` reads rows `r`, `r + N`, …), a file of its own
//!   ([`Shard::load_csv_per_rank`]), or the whole set ([`Shard::whole`]). The whole set is
//!   the samples of all shards in a fixed order: the file's rows, or rank 0's file, then
//!   rank 1's, and so on.
//! - **Bit-identical by default.** Each global batch of `B` samples is cut into the chunks the
//!   one-process [`Trainer`] cuts it into (they depend on `B` alone); rank `r` of `N` computes
//!   chunks `⌊Kr/N⌋..⌊K(r+1)/N⌋` of the `K`, and sums them along the trainer's fixed binary
//!   tree. One all-gather per step then gives every rank every rank's sums (and the chunks'
//!   loss statistics), and each rank completes the same tree ([`Reduction::Ordered`]). So
//!   `N` ranks give the same weights, bit for bit, as one process training on the whole set
//!   with the same batch size and seed. [`Reduction::Sum`] uses one `MPI_Allreduce` of the
//!   gradients instead, whose order of addition is the MPI library's: results then differ
//!   from one process in the last bits.
//! - **Seeded and portable.** Every rank draws the same global permutation of the whole set
//!   from the trainer's seed; the number of ranks only decides which rows a rank computes.
//!   At the start of each epoch the ranks trade the rows each will compute in it (one
//!   all-to-all, about a shard's bytes per rank).
//! - **Rank 0 reports.** Only rank 0 draws the progress bar and evaluates the validation set
//!   (the other ranks may pass none); its result reaches every rank, so every rank returns
//!   the same [`History`] and early stopping ends all ranks at the same epoch. Save on rank 0.
//! - **Faults.** At start-up the ranks compare a hash of the network's
//!   [`PARAM_INFO`](crate::Parameters::PARAM_INFO) and layers, the data's widths, names and
//!   sizes and the settings; any difference, or a rank whose settings or data are refused,
//!   or a chunk that fails or diverges on one rank, is an error on every rank
//!   ([`TrainError::Distributed`] naming the rank, or the same [`TrainError::Diverged`]).
//!   [`agree`] does the same for a user's own step. A rank that dies ends the job: `mpirun`
//!   terminates the others (MPI's default error handler aborts on a broken communicator).
//!
//! ```no_run
//! use mlp::{data::{Csv, Target}, loss::SoftmaxCrossEntropy, mlp, optim::Sgd, train::Trainer};
//! use mlp::train::distributed::{mpi, Reduction, Shard};
//! mlp! { pub struct Net { scalar: f32, input: 64, layers: [32 relu, 10 identity] } }
//! let universe = mpi::initialize().expect("MPI initialises once");
//! let world = universe.world();
//! // Rank r of N reads rows r, r + N, r + 2N, … of the file.
//! let mut shard = Shard::<f32>::load_csv(&world, &Csv::new(Target::Label { classes: 10 }), "train.csv")?;
//! let standardizer = shard.standardizer(&world)?;
//! shard.standardize(&standardizer)?;
//! let mut net = Net::zeros();
//! let mut trainer = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1)).seed(1).init(mlp::init::Init::HE_UNIFORM);
//! trainer.fit_mpi(&world, Reduction::Ordered, &mut net, &shard, None)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::{progress_bar, History, Trainer};
use crate::data::Dataset;
use crate::error::TrainError;
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::{BatchNetwork, Network};
use core::fmt::Display;
use mpi::datatype::Equivalence;
use mpi::topology::Communicator;
use mpi::traits::{CommunicatorCollectives, Root};

mod ranks;
mod shard;

use ranks::Ranks;
pub use shard::Shard;

/// The `mpi` crate (rsmpi) these functions take communicators from, so that users name the
/// same version.
pub use mpi;

/// How the ranks combine each step's gradients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// One all-gather per step: every rank sends every other its chunks' gradient sums (one
    /// per node of the trainer's tree it owns: one when the number of ranks divides the
    /// `K ≤ 4` chunks, at most two otherwise) and their loss statistics, and each rank
    /// completes the tree in the same fixed order: the same bits as one process, whatever
    /// the number of ranks. Each rank receives at most `K` gradients per step.
    #[default]
    Ordered,
    /// One `MPI_Allreduce` (sum) of each rank's gradient sum, after a small all-gather of
    /// the loss statistics. Floating-point addition is not associative, and the library picks
    /// the order (by the number of ranks, the message size and the algorithm), so results
    /// may differ from one process, and between runs on different numbers of ranks, by a
    /// rounding of each addition (about `log₂ N` units in the last place of the gradient);
    /// it is the same from run to run on the same ranks with the same library. Each rank
    /// sends and receives about two gradients per step, whatever the number of ranks.
    Sum,
}

/// FNV-1a of `text`: the same on every build and platform.
fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What every rank must agree on before training, each as a number.
fn fingerprint<N: Network, L: Loss<N::Scalar>, O: Optimizer<N::Scalar>>(
    trainer: &Trainer<L, O>,
    train: &Shard<N::Scalar>,
    reduction: Reduction,
) -> [(&'static str, u64); 14] {
    let data = train.data();
    // Settings that decide when a rank stops or how it reduces: ranks that differ in them
    // would wait for each other at different steps.
    let settings = format!(
        "{} {:?} {:?} {:?} {:?} {:?}",
        L::NAME,
        trainer.optimizer.learning_rate().to_bits(),
        trainer.schedule,
        trainer.early_stopping,
        trainer.divergence_factor.map(f64::to_bits),
        reduction,
    );
    [
        (
            "the hash of the loss, learning rate, schedule, early stopping, divergence factor \
             and reduction",
            hash(&settings),
        ),
        (
            "the hash of the network's PARAM_INFO and layers",
            hash(&format!("{:?}{:?}", N::PARAM_INFO, N::LAYER_SPECS)),
        ),
        (
            "the scalar's size in bytes",
            core::mem::size_of::<N::Scalar>() as u64,
        ),
        ("the training features' width", data.n_features() as u64),
        ("the training targets' width", data.n_targets() as u64),
        (
            "the hash of the feature names",
            hash(&format!("{:?}", data.feature_names())),
        ),
        (
            "the hash of the class names (give them with Csv::class_names)",
            hash(&format!("{:?}", data.class_names())),
        ),
        ("the training samples in all", train.samples() as u64),
        ("the shards' layout", train.layout.kind()),
        ("the batch size", trainer.batch_size as u64),
        (
            "the chunks per batch (0: automatic)",
            trainer.chunks.map_or(0, |k| k as u64),
        ),
        ("the seed", trainer.seed),
        ("the epochs", trainer.epochs as u64),
        ("shuffling", u64::from(trainer.shuffle)),
    ]
}

/// Returns `result` on every rank of `comm` if it is `Ok` on every rank; otherwise, on every
/// rank, the error of the lowest failing rank as [`TrainError::Distributed`] (its message is
/// sent to the others). Call it after any step that may fail on one rank only, such as
/// loading its data, so that no rank goes on to wait for one that has stopped.
pub fn agree<C: Communicator, T, E: Display>(
    comm: &C,
    result: Result<T, E>,
) -> Result<T, TrainError> {
    let message = match &result {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    let failed = i32::from(result.is_err());
    let mut all = vec![0i32; comm.size() as usize];
    comm.all_gather_into(&failed, &mut all[..]);
    let Some(rank) = all.iter().position(|&f| f != 0) else {
        // No rank failed, this one included.
        return result.map_err(|e| TrainError::Distributed {
            rank: comm.rank() as usize,
            reason: e.to_string(),
        });
    };
    // The failing rank's message, its length first.
    let mut len = message.len() as u64;
    let sender = comm.process_at_rank(rank as i32);
    sender.broadcast_into(&mut len);
    let mut bytes = vec![0u8; len as usize];
    if comm.rank() as usize == rank {
        bytes.copy_from_slice(message.as_bytes());
    }
    sender.broadcast_into(&mut bytes[..]);
    Err(TrainError::Distributed {
        rank,
        reason: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Checks that every rank has the same [`fingerprint`].
fn check_fingerprints<C: Communicator>(
    comm: &C,
    mine: &[(&'static str, u64)],
) -> Result<(), TrainError> {
    let values: Vec<u64> = mine.iter().map(|&(_, v)| v).collect();
    let mut all = vec![0u64; values.len() * comm.size() as usize];
    comm.all_gather_into(&values[..], &mut all[..]);
    for (rank, theirs) in all.chunks(values.len()).enumerate().skip(1) {
        let first = all[..values.len()]
            .iter()
            .zip(theirs)
            .position(|(a, b)| a != b);
        if let Some(i) = first {
            return Err(TrainError::Distributed {
                rank,
                reason: format!("it has {} {}, rank 0 has {}", mine[i].0, theirs[i], all[i]),
            });
        }
    }
    Ok(())
}

impl<L, O> Trainer<L, O> {
    /// [`Trainer::fit`] on every rank of `comm` at once, over the whole training set that the
    /// ranks' shards make up: each rank computes its share of each global batch of
    /// [`Trainer::batch_size`] samples and the gradients are combined as `reduction` says, so
    /// that every rank ends with the same weights (with [`Reduction::Ordered`], those of one
    /// process running [`Trainer::fit`] on the whole set). Rank 0 evaluates `validation`
    /// (the other ranks' is not read: they may pass `None`) and draws the progress bar; every
    /// rank returns the same history. Call it on the thread that initialised MPI.
    ///
    /// Fails on every rank with [`TrainError::Distributed`] when the ranks disagree on the
    /// network, the data's widths, names or sizes, or the settings, or when one rank fails.
    pub fn fit_mpi<N, C>(
        &mut self,
        comm: &C,
        reduction: Reduction,
        net: &mut N,
        train: &Shard<N::Scalar>,
        validation: Option<&Dataset<N::Scalar>>,
    ) -> Result<History, TrainError>
    where
        N: BatchNetwork,
        N::Scalar: Equivalence,
        C: Communicator,
        L: Loss<N::Scalar>,
        O: Optimizer<N::Scalar> + Send,
    {
        let rank = comm.rank();
        let validation = validation.filter(|_| rank == 0);
        let mut watched = u8::from(validation.is_some());
        comm.process_at_rank(0).broadcast_into(&mut watched);
        let checked = self
            .check_settings::<N::Scalar>(watched != 0)
            .and_then(|()| super::check_data::<N>("training", train.data()))
            .and_then(|()| match validation {
                Some(v) => super::check_data::<N>("validation", v),
                None => Ok(()),
            });
        agree(comm, checked)?;
        check_fingerprints(comm, &fingerprint::<N, L, O>(self, train, reduction))?;
        if let Some(init) = self.init {
            init.init(net, self.seed);
        }
        let base_lr = self.optimizer.learning_rate();
        let bar = progress_bar(self.progress && rank == 0, self.epochs);
        let mut ranks = Ranks::new(
            comm,
            reduction,
            &train.layout,
            train.samples(),
            N::num_params(),
        );
        // On the calling thread, the one MPI was initialised on; the chunks still run on the
        // rayon pool with `parallel`.
        let result = self.run_epochs(net, train.data(), validation, base_lr, &bar, &mut ranks);
        self.optimizer.set_learning_rate(base_lr);
        match result {
            Ok(_) => bar.finish_and_clear(),
            Err(_) => bar.abandon(),
        }
        result
    }
}
