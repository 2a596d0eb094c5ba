//! The ranks of an MPI communicator as the trainer's [`Team`]: one collective per step for
//! the gradients, one all-to-all per epoch for the rows of sharded data, and rank 0's
//! validation broadcast.

use super::shard::Layout;
use super::Reduction;
use crate::data::Dataset;
use crate::error::TrainError;
use crate::train::chunks::{
    chunk_count, chunk_range, combine_by, is_a_share_node, nodes, share_of, ChunkStats, Rows, Team,
};
use crate::train::snapshot::{copy_params, restore_params};
use crate::train::Evaluation;
use crate::{Parameters, Scalar};
use core::ops::Range;
use mpi::collective::SystemOperation;
use mpi::datatype::{Equivalence, Partition, PartitionMut};
use mpi::topology::Communicator;
use mpi::traits::{CommunicatorCollectives, Root};
use mpi::Count;
use ndarray::Array2;

/// The scalars that carry one chunk's statistics: each `f64` as four 16-bit pieces, which
/// every scalar type holds exactly.
const STATS_LEN: usize = 12;

/// The ranks of a communicator, with the buffers they reuse from step to step.
pub(super) struct Ranks<'c, C: Communicator, T> {
    pub(super) comm: &'c C,
    pub(super) reduction: Reduction,
    pub(super) layout: &'c Layout,
    /// The number of samples of the whole training set.
    pub(super) samples: usize,
    /// The number of parameters, the length of a gradient.
    pub(super) params: usize,
    /// What this rank sends and receives in a collective.
    pub(super) send: Vec<T>,
    pub(super) recv: Vec<T>,
    /// Every rank's chunk statistics ([`Reduction::Sum`]).
    pub(super) gathered: Vec<ChunkStats>,
    /// Elements per rank and where each rank's start, for the collectives of varying size.
    pub(super) counts: Vec<Count>,
    pub(super) displs: Vec<Count>,
    pub(super) from: Vec<Count>,
    pub(super) from_displs: Vec<Count>,
    /// The rank that computes each position of the epoch.
    pub(super) computer: Vec<u32>,
    /// This rank's segment of each chunk's gradient ([`Reduction::Ordered`]).
    pub(super) segments: Vec<Vec<T>>,
}

impl<'c, C: Communicator, T> Ranks<'c, C, T> {
    /// The ranks of `comm`, combining as `reduction` says, over the samples of `layout`.
    pub(super) fn new(
        comm: &'c C,
        reduction: Reduction,
        layout: &'c Layout,
        samples: usize,
        params: usize,
    ) -> Self {
        Ranks {
            comm,
            reduction,
            layout,
            samples,
            params,
            send: Vec::new(),
            recv: Vec::new(),
            gathered: Vec::new(),
            counts: Vec::new(),
            displs: Vec::new(),
            from: Vec::new(),
            from_displs: Vec::new(),
            computer: Vec::new(),
            segments: Vec::new(),
        }
    }
}

/// Sets `counts` to `sizes` and `displs` to the running sums before each, as MPI counts, and
/// returns their sum; an error when a message is longer than MPI can say (2³¹ − 1 elements),
/// the same on every rank.
fn displacements(
    sizes: impl Iterator<Item = usize>,
    counts: &mut Vec<Count>,
    displs: &mut Vec<Count>,
    what: &str,
) -> Result<usize, TrainError> {
    let too_long = || TrainError::Distributed {
        rank: 0,
        reason: format!("{what} are longer than one MPI message can be (2^31 - 1 elements)"),
    };
    counts.clear();
    displs.clear();
    let mut start = 0usize;
    for n in sizes {
        counts.push(Count::try_from(n).map_err(|_| too_long())?);
        displs.push(Count::try_from(start).map_err(|_| too_long())?);
        start += n;
    }
    Count::try_from(start).map_err(|_| too_long())?;
    Ok(start)
}

/// Appends `stats` as [`STATS_LEN`] scalars.
fn encode<T: Scalar>(stats: &ChunkStats, out: &mut Vec<T>) {
    for v in stats {
        let bits = v.to_bits();
        out.extend((0..4).map(|i| T::from_usize(((bits >> (16 * i)) & 0xffff) as usize)));
    }
}

/// The statistics [`encode`] wrote.
fn decode<T: Scalar>(scalars: &[T]) -> ChunkStats {
    let mut stats = [0.0; 3];
    for (v, four) in stats.iter_mut().zip(scalars.chunks(4)) {
        let bits = four
            .iter()
            .enumerate()
            .fold(0u64, |b, (i, s)| b | ((s.to_f64() as u64) << (16 * i)));
        *v = f64::from_bits(bits);
    }
    stats
}

/// Appends the elements `range` of `params`, flat in [`Parameters::visit`] order, to `out`.
fn append_range<P: Parameters>(params: &P, range: Range<usize>, out: &mut Vec<P::Scalar>) {
    let mut start = 0;
    params.visit(|_, p| {
        let end = start + p.len();
        let (lo, hi) = (range.start.max(start), range.end.min(end));
        if lo < hi {
            out.extend_from_slice(&p[lo - start..hi - start]);
        }
        start = end;
    });
}

/// The number of [`nodes`] of `share`.
fn node_count(share: Range<usize>, count: usize) -> usize {
    let mut n = 0;
    nodes(share, count, &mut |_| n += 1);
    n
}

impl<C: Communicator, T: Scalar + Equivalence> Ranks<'_, C, T> {
    /// [`Reduction::Ordered`]: the fixed tree, computed segment by segment. The gradient's
    /// `P` elements are cut into one segment per rank; one all-to-all sends every rank its
    /// segment of every node sum (and every chunk's statistics), each rank completes the
    /// tree over its segment, and one all-gather of the segments gives every rank the whole
    /// sum in `grads[0]`. Each element is summed by the same expression as in one process;
    /// a rank sends and receives about `(K/N + 1)·P` elements per step.
    fn reduce_in_segments<P: Parameters<Scalar = T>>(
        &mut self,
        stats: &mut [ChunkStats],
        grads: &mut [P],
    ) -> Result<(), TrainError> {
        let (rank, size, count) = (self.rank(), self.size(), stats.len());
        let params = self.params;
        let segment = |d: usize| params * d / size..params * (d + 1) / size;
        let share = share_of(rank, size, count);
        let mine = node_count(share.clone(), count);
        // To each rank d: this rank's statistics, then its nodes' segment d.
        let sent = displacements(
            (0..size).map(|d| STATS_LEN * share.len() + mine * segment(d).len()),
            &mut self.counts,
            &mut self.displs,
            "the gradient segments sent",
        )?;
        let received = displacements(
            (0..size).map(|q| {
                let theirs = share_of(q, size, count);
                STATS_LEN * theirs.len() + node_count(theirs, count) * segment(rank).len()
            }),
            &mut self.from,
            &mut self.from_displs,
            "the gradient segments received",
        )?;
        self.send.clear();
        self.send.reserve(sent);
        for d in 0..size {
            for s in &stats[share.clone()] {
                encode(s, &mut self.send);
            }
            let send = &mut self.send;
            nodes(share.clone(), count, &mut |node| {
                append_range(&grads[node.start], segment(d), send);
            });
        }
        self.recv.clear();
        self.recv.resize(received, T::ZERO);
        {
            let out = Partition::new(&self.send[..], &self.counts[..], &self.displs[..]);
            let mut into =
                PartitionMut::new(&mut self.recv[..], &self.from[..], &self.from_displs[..]);
            self.comm.all_to_all_varcount_into(&out, &mut into);
        }

        // Every node's segment `rank`, at its first chunk, then the tree above them.
        let len = segment(rank).len();
        self.segments.resize_with(count, Vec::new);
        for (q, &displ) in self.from_displs.iter().enumerate() {
            let theirs = share_of(q, size, count);
            let mut at = displ as usize;
            for k in theirs.clone() {
                stats[k] = decode(&self.recv[at..at + STATS_LEN]);
                at += STATS_LEN;
            }
            let (recv, segments) = (&self.recv, &mut self.segments);
            nodes(theirs, count, &mut |node| {
                let seg = &mut segments[node.start];
                seg.clear();
                seg.extend_from_slice(&recv[at..at + len]);
                at += len;
            });
        }
        let summed = |node| is_a_share_node(node, size, count);
        combine_by(
            &mut self.segments[..count],
            0,
            count.next_power_of_two(),
            count,
            &summed,
            &mut |d, s| d.iter_mut().zip(s).for_each(|(d, &s)| *d += s),
        );

        // Every rank's summed segment, to every rank.
        displacements(
            (0..size).map(|d| segment(d).len()),
            &mut self.counts,
            &mut self.displs,
            "the summed gradient",
        )?;
        self.recv.clear();
        self.recv.resize(params, T::ZERO);
        {
            let mut into =
                PartitionMut::new(&mut self.recv[..], &self.counts[..], &self.displs[..]);
            self.comm
                .all_gather_varcount_into(&self.segments[0][..len], &mut into);
        }
        restore_params(&mut grads[0], &self.recv);
        Ok(())
    }

    /// [`Reduction::Sum`]: the statistics all-gathered, then one `MPI_Allreduce` of each
    /// rank's nodes added left to right, into `grads[0]`.
    fn sum_nodes<P: Parameters<Scalar = T>>(
        &mut self,
        stats: &mut [ChunkStats],
        grads: &mut [P],
    ) -> Result<(), TrainError> {
        let (rank, size, count) = (self.rank(), self.size(), stats.len());
        self.gathered.resize(count * size, [0.0; 3]);
        self.comm
            .all_gather_into(stats.as_flattened(), self.gathered.as_flattened_mut());
        for r in (0..size).filter(|&r| r != rank) {
            for k in share_of(r, size, count) {
                stats[k] = self.gathered[r * count + k];
            }
        }
        let mut first = None;
        nodes(
            share_of(rank, size, count),
            count,
            &mut |node| match first {
                None => first = Some(node.start),
                Some(f) => {
                    let (left, right) = grads.split_at_mut(node.start);
                    crate::train::chunks::add(&mut left[f], &right[0]);
                }
            },
        );
        match first {
            Some(f) => copy_params(&grads[f], &mut self.send),
            None => {
                self.send.clear();
                self.send.resize(self.params, T::ZERO);
            }
        }
        self.recv.resize(self.params, T::ZERO);
        self.comm
            .all_reduce_into(&self.send[..], &mut self.recv[..], SystemOperation::sum());
        restore_params(&mut grads[0], &self.recv);
        Ok(())
    }
}

impl<T: Scalar + Equivalence, C: Communicator> Team<T> for Ranks<'_, C, T> {
    fn rank(&self) -> usize {
        self.comm.rank() as usize
    }

    fn size(&self) -> usize {
        self.comm.size() as usize
    }

    fn exchange<P: Parameters<Scalar = T>>(
        &mut self,
        stats: &mut [ChunkStats],
        grads: &mut [P],
    ) -> Result<bool, TrainError> {
        match self.reduction {
            Reduction::Ordered => self.reduce_in_segments(stats, grads).map(|()| true),
            Reduction::Sum => self.sum_nodes(stats, grads).map(|()| true),
        }
    }

    fn samples(&self, _local: usize) -> usize {
        self.samples
    }

    fn arrange<'a>(
        &mut self,
        train: &'a Dataset<T>,
        order: &'a [usize],
        (batch, chunks): (usize, Option<usize>),
        rows: &'a mut Rows<T>,
    ) -> Result<(&'a Dataset<T>, &'a [usize]), TrainError> {
        let (rank, size) = (self.rank(), self.size());
        // Alone, or with every sample everywhere, every row is here already, in place.
        if size == 1 || *self.layout == Layout::Whole {
            return Ok((train, order));
        }
        // Which rank computes each position of the epoch: its chunks of each batch.
        self.computer.clear();
        self.computer.resize(order.len(), 0);
        for start in (0..order.len()).step_by(batch.max(1)) {
            let b = batch.min(order.len() - start);
            let count = chunk_count(b, chunks);
            for r in 0..size {
                let share = share_of(r, size, count);
                if let (Some(first), Some(last)) = (share.clone().next(), share.last()) {
                    let positions =
                        chunk_range(b, count, first).start..chunk_range(b, count, last).end;
                    self.computer[start + positions.start..start + positions.end].fill(r as u32);
                }
            }
        }
        // The rows this rank sends to each rank, and receives from each, in position order.
        let mut to = vec![0usize; size];
        let mut from = vec![0usize; size];
        for (&g, &c) in order.iter().zip(&self.computer) {
            let (holder, _) = self.layout.holder(g);
            if holder == rank {
                to[c as usize] += 1;
            }
            if c as usize == rank {
                from[holder] += 1;
            }
        }
        let mine: usize = from.iter().sum();
        let (width_x, width_t) = (train.n_features(), train.n_targets());
        // The number of rows a rank computes in an epoch depends on the set's size and the
        // batch size alone: the buffers are made once.
        if rows.data.as_ref().map(Dataset::len) != Some(mine) {
            rows.data = Some(Dataset::from_checked(
                Array2::from_elem((mine, width_x), T::ZERO),
                Array2::from_elem((mine, width_t), T::ZERO),
            ));
        }
        // The received rows stay where they arrive: rank 0's, then rank 1's, … each in
        // position order; `rows.order` says where each of this rank's positions is.
        let mut next: Vec<usize> = from
            .iter()
            .scan(0, |start, &n| {
                let here = *start;
                *start += n;
                Some(here)
            })
            .collect();
        rows.order.clear();
        rows.order.resize(order.len(), 0);
        for ((&g, &c), at) in order.iter().zip(&self.computer).zip(&mut rows.order) {
            if c as usize == rank {
                let (holder, _) = self.layout.holder(g);
                *at = next[holder];
                next[holder] += 1;
            }
        }
        let Some(data) = rows.data.as_mut() else {
            unreachable!("the rows were just made")
        };
        let (features, targets) = data.arrays_mut();
        for (source, into, width) in [
            (train.features(), features, width_x),
            (train.targets(), targets, width_t),
        ] {
            let sent = displacements(
                to.iter().map(|n| n * width),
                &mut self.counts,
                &mut self.displs,
                "the rows sent",
            )?;
            displacements(
                from.iter().map(|n| n * width),
                &mut self.from,
                &mut self.from_displs,
                "the rows received",
            )?;
            let (Some(source), Some(into)) = (source.as_slice(), into.as_slice_mut()) else {
                unreachable!("data sets keep their arrays in standard layout")
            };
            self.send.clear();
            self.send.resize(sent, T::ZERO);
            let mut cursor: Vec<usize> = self.displs.iter().map(|&d| d as usize).collect();
            for (&g, &c) in order.iter().zip(&self.computer) {
                let (holder, row) = self.layout.holder(g);
                if holder == rank {
                    let at = &mut cursor[c as usize];
                    self.send[*at..*at + width]
                        .copy_from_slice(&source[row * width..(row + 1) * width]);
                    *at += width;
                }
            }
            let out = Partition::new(&self.send[..], &self.counts[..], &self.displs[..]);
            let mut received = PartitionMut::new(into, &self.from[..], &self.from_displs[..]);
            self.comm.all_to_all_varcount_into(&out, &mut received);
        }
        match &rows.data {
            Some(data) => Ok((data, &rows.order)),
            None => unreachable!("the rows were just made"),
        }
    }

    fn share_validation(
        &mut self,
        mine: Result<Option<Evaluation>, TrainError>,
    ) -> Result<Option<Evaluation>, TrainError> {
        // [kind (0 none, 1 some, 2 failed), loss, has accuracy, accuracy]
        let mut message = match &mine {
            Ok(None) => [0.0; 4],
            Ok(Some(e)) => [
                1.0,
                e.loss,
                f64::from(u8::from(e.accuracy.is_some())),
                e.accuracy.unwrap_or(0.0),
            ],
            Err(_) => [2.0, 0.0, 0.0, 0.0],
        };
        let root = self.comm.process_at_rank(0);
        root.broadcast_into(&mut message[..]);
        if self.rank() == 0 {
            return mine;
        }
        match message[0] as u8 {
            0 => Ok(None),
            1 => Ok(Some(Evaluation {
                loss: message[1],
                accuracy: (message[2] != 0.0).then_some(message[3]),
            })),
            _ => Err(TrainError::Distributed {
                rank: 0,
                reason: "it failed to evaluate the validation set".to_owned(),
            }),
        }
    }
}
