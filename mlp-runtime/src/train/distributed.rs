//! Data-parallel training over MPI (the `mpi` feature, through the `mpi` crate): every
//! process ("rank") of a communicator trains the same network on its share of each global
//! mini-batch, and the gradients are combined once per step.
//!
//! - **Bit-identical by default.** Each global batch of `B` samples is cut into the chunks the
//!   one-process [`Trainer`] cuts it into (they depend on `B` alone); rank `r` of `N` computes
//!   chunks `⌊Kr/N⌋..⌊K(r+1)/N⌋` of the `K`. Each rank sums its chunks along the trainer's
//!   fixed binary tree, sends those sums to rank 0 in rank order, rank 0 completes the same
//!   tree and broadcasts the sum ([`Reduction::Ordered`]). So `N` ranks give the same weights,
//!   bit for bit, as one process with the same batch size and seed.
//!   [`Reduction::Sum`] uses one `MPI_Allreduce` instead, faster on many ranks, whose order of
//!   addition is the MPI library's: results then differ from one process in the last bits.
//! - **Seeded and portable.** Every rank draws the same global permutation of the samples from
//!   the trainer's seed; the number of ranks only decides which rows a rank computes. Each
//!   rank therefore holds the same training set: it reads the rows it computes from it.
//! - **Rank 0 reports.** Only rank 0 draws the progress bar; every rank returns the same
//!   [`History`] (each evaluates the validation set, which gives the same result everywhere),
//!   so that early stopping ends all ranks at the same epoch. Save on rank 0.
//! - **Faults.** At start-up the ranks compare a hash of the network's
//!   [`PARAM_INFO`](crate::Parameters::PARAM_INFO) and layers, the data's widths and sizes and the settings;
//!   any difference, or a rank whose settings or data are refused, or a chunk that fails on
//!   one rank, is a [`TrainError::Distributed`] on every rank. [`agree`] does the same for a
//!   user's own step, such as loading a shard. A rank that dies ends the job: `mpirun`
//!   terminates the others (MPI's default error handler aborts on a broken communicator).
//!
//! ```no_run
//! use mlp::{data::{load_csv, Target}, loss::SoftmaxCrossEntropy, mlp, optim::Sgd, train::Trainer};
//! use mlp::train::distributed::{self, mpi, Reduction};
//! mlp! { pub struct Net { scalar: f32, input: 64, layers: [32 relu, 10 identity] } }
//! let universe = mpi::initialize().expect("MPI initialises once");
//! let world = universe.world();
//! let data = distributed::agree(&world, load_csv::<f32>("train.csv", Target::Label { classes: 10 }))?;
//! let mut net = Net::zeros();
//! let mut trainer = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1)).seed(1).init(mlp::init::Init::HE_UNIFORM);
//! trainer.fit_mpi(&world, Reduction::Ordered, &mut net, &data, None)?;
//! # Ok::<(), mlp::error::TrainError>(())
//! ```

use super::chunks::{add, combine, nodes, ChunkStats, Team};
use super::{copy_params, progress_bar, restore_params, History, Trainer};
use crate::data::Dataset;
use crate::error::TrainError;
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::{BatchNetwork, Network, Parameters, Scalar};
use core::fmt::Display;
use core::ops::Range;
use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::topology::Communicator;
use mpi::traits::{CommunicatorCollectives, Destination, Root, Source};

/// The `mpi` crate (rsmpi) these functions take communicators from, so that users name the
/// same version.
pub use mpi;

/// How the ranks combine each step's gradients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// Each rank's chunk sums go to rank 0 in rank order, rank 0 completes the trainer's fixed
    /// tree of sums and broadcasts it: the same bits as one process, whatever the number of
    /// ranks. Each rank sends rank 0 one gradient per node of the tree it owns (one when the
    /// number of ranks divides the `K ≤ 4` chunks, at most two otherwise), then rank 0
    /// broadcasts one.
    #[default]
    Ordered,
    /// One `MPI_Allreduce` (sum) of each rank's chunk sum. Floating-point addition is not
    /// associative, and the library picks the order (by the number of ranks, the message size
    /// and the algorithm), so results may differ from one process, and between runs on
    /// different numbers of ranks, by a rounding of each addition (about `log₂ N` units in the
    /// last place of the gradient); it is the same from run to run on the same ranks with the
    /// same library.
    Sum,
}

/// The ranks of an MPI communicator as the trainer's [`Team`].
struct Ranks<'c, C: Communicator, T> {
    comm: &'c C,
    reduction: Reduction,
    /// The number of parameters, the length of each gradient buffer.
    params: usize,
    /// Every rank's chunk statistics, as gathered.
    gathered: Vec<ChunkStats>,
    /// A gradient, flat in parameter order, as sent and received.
    buf: Vec<T>,
    /// The sum [`Reduction::Sum`] receives.
    sum: Vec<T>,
}

impl<C: Communicator, T> Ranks<'_, C, T> {
    fn rank(&self) -> usize {
        self.comm.rank() as usize
    }

    fn size(&self) -> usize {
        self.comm.size() as usize
    }

    fn share_of(&self, rank: usize, count: usize) -> Range<usize> {
        let n = self.size();
        count * rank / n..count * (rank + 1) / n
    }
}

impl<T: Scalar + Equivalence, C: Communicator> Team<T> for Ranks<'_, C, T> {
    fn share(&self, count: usize) -> Range<usize> {
        self.share_of(self.rank(), count)
    }

    fn owner(&self, count: usize, k: usize) -> usize {
        (0..self.size())
            .find(|&r| self.share_of(r, count).contains(&k))
            .unwrap_or(0)
    }

    fn exchange_stats(&mut self, stats: &mut [ChunkStats]) -> Result<(), TrainError> {
        let count = stats.len();
        let flat = stats.as_flattened_mut();
        self.gathered.resize(count * self.size(), [0.0; 3]);
        self.comm
            .all_gather_into(&*flat, self.gathered.as_flattened_mut());
        for r in 0..self.size() {
            let share = self.share_of(r, count);
            if r != self.rank() {
                for k in share {
                    stats[k] = self.gathered[r * count + k];
                }
            }
        }
        Ok(())
    }

    fn reduce<P: Parameters<Scalar = T>>(&mut self, grads: &mut [P]) -> Result<(), TrainError> {
        let count = grads.len();
        let root = self.comm.process_at_rank(0);
        // Taken out of `self` for the call, put back at the end (no allocation).
        let mut buf = core::mem::take(&mut self.buf);
        buf.resize(self.params, T::ZERO);
        match self.reduction {
            Reduction::Ordered => {
                if self.rank() == 0 {
                    for r in 1..self.size() {
                        let process = self.comm.process_at_rank(r as i32);
                        nodes(self.share_of(r, count), count, &mut |node| {
                            process.receive_into(&mut buf[..]);
                            restore_params(&mut grads[node.start], &buf);
                        });
                    }
                    let owned = |node: Range<usize>| {
                        (0..self.size()).any(|r| {
                            let s = self.share_of(r, count);
                            s.start <= node.start && node.end.min(count) <= s.end
                        })
                    };
                    combine(grads, 0, count.next_power_of_two(), count, &owned);
                    copy_params(&grads[0], &mut buf);
                } else {
                    nodes(self.share_of(self.rank(), count), count, &mut |node| {
                        copy_params(&grads[node.start], &mut buf);
                        root.send(&buf[..]);
                    });
                }
                root.broadcast_into(&mut buf[..]);
            }
            Reduction::Sum => {
                // This rank's nodes added left to right (zeros when it has none).
                let share = self.share_of(self.rank(), count);
                let mut first = None;
                nodes(share, count, &mut |node| match first {
                    None => first = Some(node.start),
                    Some(f) => {
                        let (left, right) = grads.split_at_mut(node.start);
                        add(&mut left[f], &right[0]);
                    }
                });
                match first {
                    Some(f) => copy_params(&grads[f], &mut buf),
                    None => buf.fill(T::ZERO),
                }
                self.sum.resize(self.params, T::ZERO);
                self.comm
                    .all_reduce_into(&buf[..], &mut self.sum[..], SystemOperation::sum());
                core::mem::swap(&mut buf, &mut self.sum);
            }
        }
        restore_params(&mut grads[0], &buf);
        self.buf = buf;
        Ok(())
    }
}

/// What every rank must agree on before training, each as a number.
fn fingerprint<N: Network, L, O>(
    trainer: &Trainer<L, O>,
    train: &Dataset<N::Scalar>,
    validation: Option<&Dataset<N::Scalar>>,
) -> [(&'static str, u64); 10] {
    // FNV-1a over the network's description: the same on every build and platform.
    let description = format!("{:?}{:?}", N::PARAM_INFO, N::LAYER_SPECS);
    let hash = description.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    [
        ("the hash of the network's PARAM_INFO and layers", hash),
        (
            "the scalar's size in bytes",
            core::mem::size_of::<N::Scalar>() as u64,
        ),
        ("the training features' width", train.n_features() as u64),
        ("the training targets' width", train.n_targets() as u64),
        ("the training samples", train.len() as u64),
        (
            "the validation samples",
            validation.map_or(u64::MAX, |v| v.len() as u64),
        ),
        ("the batch size", trainer.batch_size as u64),
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
    /// [`Trainer::fit`] on every rank of `comm` at once: each rank computes its share of each
    /// global batch of [`Trainer::batch_size`] samples and the gradients are combined as
    /// `reduction` says, so that every rank ends with the same weights (with
    /// [`Reduction::Ordered`], those of one process running [`Trainer::fit`]). Every rank
    /// passes the same training and validation sets; only rank 0 draws the progress bar. Call
    /// it on the thread that initialised MPI.
    ///
    /// Fails on every rank with [`TrainError::Distributed`] when the ranks disagree on the
    /// network, the data's widths or sizes, or the settings, or when one rank fails.
    pub fn fit_mpi<N, C>(
        &mut self,
        comm: &C,
        reduction: Reduction,
        net: &mut N,
        train: &Dataset<N::Scalar>,
        validation: Option<&Dataset<N::Scalar>>,
    ) -> Result<History, TrainError>
    where
        N: BatchNetwork,
        N::Scalar: Equivalence,
        C: Communicator,
        L: Loss<N::Scalar>,
        O: Optimizer<N::Scalar> + Send,
    {
        agree(comm, self.check::<N>(train, validation))?;
        check_fingerprints(comm, &fingerprint::<N, L, O>(self, train, validation))?;
        if let Some(init) = self.init {
            init.init(net, self.seed);
        }
        let base_lr = self.optimizer.learning_rate();
        let bar = progress_bar(self.progress && comm.rank() == 0, self.epochs);
        let mut ranks = Ranks {
            comm,
            reduction,
            params: N::num_params(),
            gathered: Vec::new(),
            buf: Vec::new(),
            sum: Vec::new(),
        };
        // On the calling thread, the one MPI was initialised on; the chunks still run on the
        // rayon pool with `parallel`.
        let result = self.run_epochs(net, train, validation, base_lr, &bar, &mut ranks);
        self.optimizer.set_learning_rate(base_lr);
        match result {
            Ok(_) => bar.finish_and_clear(),
            Err(_) => bar.abandon(),
        }
        result
    }
}
