//! The training samples a rank holds: all of them, or its shard, read by rank from one file or
//! from one file per rank.

use super::agree;
use crate::data::{Csv, Dataset, Standardizer};
use crate::error::{DataError, TrainError};
use crate::Scalar;
use mpi::datatype::Equivalence;
use mpi::topology::Communicator;
use mpi::traits::CommunicatorCollectives;
use std::path::Path;

/// Where the samples of the whole training set are: sample `g` (its row in the one file, or
/// in the files of all ranks one after the other) is row `row` of rank `rank`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Layout {
    /// Every rank holds every sample.
    Whole,
    /// Sample `g` is row `g / size` of rank `g % size`.
    Strided { size: usize },
    /// Rank `q` holds samples `offsets[q]..offsets[q + 1]`, in order.
    Blocks { offsets: Vec<usize> },
}

impl Layout {
    /// The rank that holds sample `g`, and its row there.
    pub(super) fn holder(&self, g: usize) -> (usize, usize) {
        match self {
            Layout::Whole => (0, g),
            Layout::Strided { size } => (g % size, g / size),
            Layout::Blocks { offsets } => {
                let q = offsets.partition_point(|&o| o <= g) - 1;
                (q, g - offsets[q])
            }
        }
    }

    /// A number per kind, for the ranks to compare.
    pub(super) fn kind(&self) -> u64 {
        match self {
            Layout::Whole => 0,
            Layout::Strided { .. } => 1,
            Layout::Blocks { .. } => 2,
        }
    }
}

/// The training samples one rank holds for [`Trainer::fit_mpi`](crate::train::Trainer::fit_mpi):
/// the whole set ([`Shard::whole`]) or its share of it, read from one file
/// ([`Shard::load_csv`]) or from a file of its own ([`Shard::load_csv_per_rank`]).
///
/// The whole training set is the samples of all ranks in a fixed order (the file's rows, or
/// rank 0's file, then rank 1's, …), and training on it over any number of ranks gives the
/// weights of [`Trainer::fit`](crate::train::Trainer::fit) on that whole set in one process.
/// At the start of each epoch, the ranks exchange the rows each one computes in it (one
/// all-to-all: about the shard's size in bytes per rank and epoch).
#[derive(Clone, Debug, PartialEq)]
pub struct Shard<T> {
    pub(super) data: Dataset<T>,
    pub(super) layout: Layout,
    /// The number of samples of the whole set.
    pub(super) samples: usize,
}

impl<T: Scalar> Shard<T> {
    /// The samples this rank holds.
    pub fn data(&self) -> &Dataset<T> {
        &self.data
    }

    /// The number of samples of the whole training set, over all ranks.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Standardises this rank's features with `s` ([`Dataset::standardize`]).
    pub fn standardize(&mut self, s: &Standardizer<T>) -> Result<(), DataError> {
        self.data.standardize(s)
    }
}

impl<T: Scalar + Equivalence> Shard<T> {
    /// Every rank holds the whole training set, `data`.
    pub fn whole(data: Dataset<T>) -> Self {
        let samples = data.len();
        Shard {
            data,
            layout: Layout::Whole,
            samples,
        }
    }

    /// Rank `r` of `N` reads rows `r`, `r + N`, `r + 2N`, … of the CSV file at `path`
    /// ([`Csv::every`]): each rank reads the file through but parses only its rows, so each
    /// holds about `1/N` of the samples. Collective: call it on every rank; a rank that fails
    /// to read its rows (or finds none, in a file of fewer rows than ranks) is an error on
    /// every rank ([`agree`]). For very large sets, one file per rank
    /// ([`Shard::load_csv_per_rank`]) spares each rank the others' bytes.
    ///
    /// With [`Target::Classes`](crate::data::Target::Classes), give the class names
    /// ([`Csv::class_names`]): each rank numbers the names its rows hold, so a rank that lacks
    /// a class numbers the others differently; ranks whose names differ are refused when
    /// training starts.
    pub fn load_csv<C: Communicator>(
        comm: &C,
        csv: &Csv,
        path: impl AsRef<Path>,
    ) -> Result<Self, TrainError> {
        let path = path.as_ref();
        let (rank, size) = (comm.rank() as usize, comm.size() as usize);
        let data = agree(comm, csv.clone().every(size, rank).load(path))?;
        let lens = gather_lens(comm, data.len());
        let samples = lens.iter().sum::<usize>();
        // Rank q holds ⌈(M − q)/N⌉ rows of a file of M: a file that changed between the
        // ranks' reads, or a filesystem that differs, shows here.
        if let Some(q) = (0..size).find(|&q| lens[q] != (samples + size - 1 - q) / size) {
            return Err(TrainError::Distributed {
                rank: q,
                reason: format!(
                    "it read {} rows of {}, but every {size}th row from row {q} of {samples} \
                     rows is {}",
                    lens[q],
                    path.display(),
                    (samples + size - 1 - q) / size
                ),
            });
        }
        Ok(Shard {
            data,
            layout: Layout::Strided { size },
            samples,
        })
    }

    /// Each rank reads a file of its own: `pattern` with `{rank}` replaced by its rank
    /// (`"train-{rank}.csv"`). The whole set is rank 0's file, then rank 1's, and so on.
    /// Collective: call it on every rank; a rank that fails to read its file is an error on
    /// every rank ([`agree`]).
    pub fn load_csv_per_rank<C: Communicator>(
        comm: &C,
        csv: &Csv,
        pattern: &str,
    ) -> Result<Self, TrainError> {
        let rank = comm.rank();
        let path = pattern.replace("{rank}", &rank.to_string());
        let named = if path == pattern {
            Err(format!(
                "the pattern `{pattern}` has no `{{rank}}`, so every rank would read the same file"
            ))
        } else {
            Ok(())
        };
        agree(comm, named)?;
        let data = agree(comm, csv.load(&path))?;
        Ok(Self::blocks(comm, data))
    }

    /// This rank's block of consecutive samples of the whole set, which is rank 0's block,
    /// then rank 1's, and so on. Collective: call it on every rank.
    pub fn blocks<C: Communicator>(comm: &C, data: Dataset<T>) -> Self {
        let lens = gather_lens(comm, data.len());
        let mut offsets = Vec::with_capacity(lens.len() + 1);
        let mut end = 0;
        offsets.push(0);
        for len in lens {
            end += len;
            offsets.push(end);
        }
        Shard {
            data,
            layout: Layout::Blocks { offsets },
            samples: end,
        }
    }

    /// The standardiser of the whole training set: the mean and population standard deviation
    /// of each feature over every rank's samples, as [`Standardizer::fit`] gives on the whole
    /// set (in one process, the sums over the samples are added in another order, so the `f64`
    /// statistics may differ in their last bits, which rounding to `f32` almost always hides;
    /// on integer data they are exact). Collective: call it on every rank.
    pub fn standardizer<C: Communicator>(&self, comm: &C) -> Result<Standardizer<T>, TrainError> {
        if self.layout == Layout::Whole {
            return agree(comm, Standardizer::fit(self.data.features()));
        }
        let n = self.samples as f64;
        let x = self.data.features();
        let sums: Vec<f64> = x
            .columns()
            .into_iter()
            .map(|c| c.iter().map(|v| v.to_f64()).sum())
            .collect();
        let means: Vec<f64> = in_rank_order(comm, &sums)
            .into_iter()
            .map(|s| s / n)
            .collect();
        let squares: Vec<f64> = x
            .columns()
            .into_iter()
            .zip(&means)
            .map(|(c, &mu)| c.iter().map(|v| (v.to_f64() - mu).powi(2)).sum())
            .collect();
        let vars = in_rank_order(comm, &squares);
        agree(
            comm,
            Standardizer::from_moments(means.into_iter().zip(vars.into_iter().map(|v| v / n))),
        )
    }
}

/// Every rank's number of samples, in rank order.
fn gather_lens<C: Communicator>(comm: &C, len: usize) -> Vec<usize> {
    let mut lens = vec![0u64; comm.size() as usize];
    comm.all_gather_into(&(len as u64), &mut lens[..]);
    lens.into_iter().map(|l| l as usize).collect()
}

/// The element-wise sum of every rank's `values` (of one length on every rank), added in rank
/// order, on every rank.
fn in_rank_order<C: Communicator>(comm: &C, values: &[f64]) -> Vec<f64> {
    let mut all = vec![0.0; values.len() * comm.size() as usize];
    comm.all_gather_into(values, &mut all[..]);
    let mut sum = vec![0.0; values.len()];
    for part in all.chunks(values.len().max(1)) {
        sum.iter_mut().zip(part).for_each(|(s, &v)| *s += v);
    }
    sum
}
