//! Data parallelism within a step: a mini-batch of `B` samples is cut into chunks whose
//! boundaries depend only on `B` ([`chunk_count`], [`chunk_range`]), each chunk's summed
//! gradient is computed on the batched path into its own gradients, and the chunks' gradients
//! are summed along one fixed binary tree ([`tree`]), then scaled by `1/B`.
//!
//! With the `parallel` feature the chunks run on the threads of the current rayon pool, and
//! the tree's additions and the scaling are split across it too. With the `mpi` feature each
//! process computes a share of the chunks ([`share_of`]). Neither changes an operation or
//! its order, so a step gives the same bits on one thread, on any number of threads and on
//! any number of processes.
//!
//! The chunks are few (at most [`MAX_CHUNKS`]) because each one costs a gradient's worth of
//! memory traffic: its products write a whole gradient, and the tree reads it once more.

use super::{batch_gradient, BatchStats, Evaluation};
use crate::data::Dataset;
use crate::error::TrainError;
use crate::loss::Loss;
use crate::wide::{halves, none};
use crate::{BatchNetwork, Parameters, Scalar};
use core::ops::Range;
use ndarray::Array2;
#[cfg(feature = "parallel")]
use rayon::prelude::*;

/// The rows per chunk a batch is cut for, once it has 128 samples or more.
const CHUNK_ROWS: usize = 64;

/// The most chunks a batch is cut into, unless the trainer sets their number.
pub const MAX_CHUNKS: usize = 4;

/// The work (`6 B P` flops for a batch of `B` samples and `P` parameters) below which a
/// step's chunks run one after the other on the calling thread, the same bits either way,
/// unless the trainer keeps the pool's other threads looking for work (`crate::awake`, from
/// 20 Mflop a step): waking one costs tens to hundreds of microseconds on a virtual machine.
#[cfg(feature = "parallel")]
const MIN_PARALLEL_FLOPS: usize = 150_000_000;

/// The work of a training step on a batch of `b` samples, `6 b P` flops for `P` parameters
/// (forward, backward and the weight gradient, a multiply-add each per sample and weight).
#[cfg(feature = "parallel")]
pub(crate) fn step_flops<P: Parameters>(b: usize) -> usize {
    6usize.saturating_mul(b).saturating_mul(P::num_params())
}

/// The number of chunks a batch of `b ≥ 1` samples is cut into: `chunks` when set (at most
/// `b`), else `b / 64` between 1 and 4 (one chunk up to `b = 127`, 2 of 64 rows at `b = 128`,
/// 4 of 64 at `b = 256`, 4 of 256 at `b = 1024`). It depends on `b` and the setting alone,
/// never on the number of threads or processes. Small batches stay whole: cutting a batch of
/// 32 in two made the digits job 1.4× slower on one thread, and such a step is far below the
/// work that pays for a second thread.
pub fn chunk_count(b: usize, chunks: Option<usize>) -> usize {
    match chunks {
        Some(k) => k.clamp(1, b.max(1)),
        None => (b / CHUNK_ROWS).clamp(1, MAX_CHUNKS),
    }
}

/// The positions within a batch of `b` samples of chunk `k` of `count`: `⌈b / count⌉` rows
/// each, the last fewer.
pub fn chunk_range(b: usize, count: usize, k: usize) -> Range<usize> {
    let rows = b.div_ceil(count);
    (k * rows).min(b)..((k + 1) * rows).min(b)
}

/// Sums the gradients of chunks `lo..hi` (a node of the binary tree over `0..2^⌈log₂ count⌉`,
/// cut at `count`) into `grads[lo]`: the left half's sum plus the right half's, when the
/// right half holds a chunk. Every element is summed by the same expression however the work
/// is spread.
pub fn tree<P: Parameters>(grads: &mut [P], lo: usize, hi: usize, count: usize) {
    combine(grads, lo, hi, count, &|_| false);
}

/// Completes the tree sum of `count` chunks into `grads[lo]` when the nodes for which `done`
/// holds are summed in place already (at `grads[node.start]`): [`tree`], which starts from
/// the chunks.
pub fn combine<P: Parameters>(
    grads: &mut [P],
    lo: usize,
    hi: usize,
    count: usize,
    done: &impl Fn(Range<usize>) -> bool,
) {
    combine_by(grads, lo, hi, count, done, &mut |d, s| add(d, s));
}

/// [`combine`] over any values with their addition `add(dst, src)`: `dst += src`.
pub fn combine_by<S>(
    items: &mut [S],
    lo: usize,
    hi: usize,
    count: usize,
    done: &impl Fn(Range<usize>) -> bool,
    add: &mut impl FnMut(&mut S, &S),
) {
    if hi - lo <= 1 || lo >= count || done(lo..hi) {
        return;
    }
    let mid = lo + (hi - lo) / 2;
    combine_by(items, lo, mid, count, done, add);
    if mid < count {
        combine_by(items, mid, hi, count, done, add);
        let (left, right) = items.split_at_mut(mid);
        add(&mut left[lo], &right[0]);
    }
}

/// The nodes of the tree over `count` chunks that together make up the chunks `share`: the
/// largest nodes whose chunks all lie in `share`, left to right. A process sums each of its
/// nodes with [`tree`]; the sums of all processes' nodes then combine along the same tree.
pub fn nodes(share: Range<usize>, count: usize, f: &mut impl FnMut(Range<usize>)) {
    fn walk(
        lo: usize,
        hi: usize,
        s: &Range<usize>,
        count: usize,
        f: &mut impl FnMut(Range<usize>),
    ) {
        if hi <= s.start || s.end <= lo || lo >= count {
            return;
        }
        if s.start <= lo && hi.min(count) <= s.end {
            return f(lo..hi);
        }
        let mid = lo + (hi - lo) / 2;
        walk(lo, mid, s, count, f);
        walk(mid, hi, s, count, f);
    }
    walk(0, count.next_power_of_two(), &share, count, f);
}

/// Whether `node` of the tree over `count` chunks lies within one process's share, of
/// `size` processes: the nodes [`nodes`] gives each process, and those below them.
pub fn is_a_share_node(node: Range<usize>, size: usize, count: usize) -> bool {
    (0..size).any(|r| {
        let s = share_of(r, size, count);
        s.start <= node.start && node.end.min(count) <= s.end
    })
}

/// Calls `f(dst, src)` on each tensor of `dst` and the same tensor of `src`.
fn zip_tensors<P: Parameters>(
    dst: &mut P,
    src: &P,
    mut f: impl FnMut(&mut [P::Scalar], &[P::Scalar]),
) {
    let mut t = 0;
    dst.visit_mut(|_, d| {
        let mut u = 0;
        src.visit(|_, s| {
            if u == t {
                f(d, s);
            }
            u += 1;
        });
        t += 1;
    });
}

/// `dst += src`, element by element, in pieces on the pool with `parallel`.
pub fn add<P: Parameters>(dst: &mut P, src: &P) {
    let add =
        |(d, s): (&mut [P::Scalar], &[P::Scalar])| d.iter_mut().zip(s).for_each(|(d, &s)| *d += s);
    zip_tensors(dst, src, |d, s| halves((d, s), &add, none));
}

/// `grads ← factor · grads`, in pieces on the pool with `parallel`.
fn scale<P: Parameters>(grads: &mut P, factor: P::Scalar) {
    let scale = |d: &mut [P::Scalar]| d.iter_mut().for_each(|d| *d *= factor);
    grads.visit_mut(|_, d| halves(d, &scale, none));
}

/// What a chunk tells the other processes: `[Σ ℓ, correct or −1, 1 if it failed]`.
pub type ChunkStats = [f64; 3];

/// The chunks, of `count`, that process `rank` of `size` computes: `⌊count·rank/size⌋` up to
/// `⌊count·(rank+1)/size⌋`, so that every chunk has one process and the processes' shares
/// follow rank order.
pub fn share_of(rank: usize, size: usize, count: usize) -> Range<usize> {
    count * rank / size..count * (rank + 1) / size
}

/// The process, of `size`, that computes chunk `k` of `count`.
pub fn owner(size: usize, count: usize, k: usize) -> usize {
    (0..size)
        .find(|&r| share_of(r, size, count).contains(&k))
        .unwrap_or(0)
}

/// The rows of the training set that a process reads in an epoch when it does not hold the
/// whole set: the rows it computes, gathered from the others ([`Team::arrange`]), kept between
/// epochs (their number depends on the set's size and the batch size alone).
#[derive(Default)]
// Only the `mpi` feature's processes fill and read them.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub struct Rows<T> {
    /// This process's rows of the epoch, in the order of their positions in it.
    pub data: Option<Dataset<T>>,
    /// For each position of the epoch's order, the row of `data` that holds its sample (0
    /// for the positions other processes compute).
    pub order: Vec<usize>,
}

/// The processes that share each step: one ([`Alone`]), or an MPI communicator's.
pub trait Team<T: Scalar> {
    /// This process's index among the team's, from 0.
    fn rank(&self) -> usize;

    /// The number of processes.
    fn size(&self) -> usize;

    /// Makes every chunk's statistics and gradient sum known to every process. On entry,
    /// `stats[share]` holds this process's statistics and each of its [`nodes`] is summed in
    /// place; on return, every process's are, in the same places. Returns `true` when
    /// `grads[0]` holds the sum of all chunks already (and the tree is not to be completed).
    fn exchange<P: Parameters<Scalar = T>>(
        &mut self,
        stats: &mut [ChunkStats],
        grads: &mut [P],
    ) -> Result<bool, TrainError>;

    /// The number of samples of the whole training set, of which this process holds `local`.
    fn samples(&self, local: usize) -> usize {
        local
    }

    /// Before each epoch, with the epoch's global `order` of the samples, cut into batches of
    /// `batching.0` samples and those into [`chunk_count`]`(b, batching.1)` chunks: the data
    /// set and order this process reads its chunks' rows from. By default, `train` and `order`: the
    /// process holds every sample.
    fn arrange<'a>(
        &mut self,
        train: &'a Dataset<T>,
        order: &'a [usize],
        _batching: (usize, Option<usize>),
        _rows: &'a mut Rows<T>,
    ) -> Result<(&'a Dataset<T>, &'a [usize]), TrainError> {
        Ok((train, order))
    }

    /// After each epoch: the validation result of process 0, which alone evaluates, on every
    /// process (an error on process 0 is an error on every one).
    fn share_validation(
        &mut self,
        mine: Result<Option<Evaluation>, TrainError>,
    ) -> Result<Option<Evaluation>, TrainError> {
        mine
    }
}

/// One process: every chunk is its own.
pub struct Alone;

impl<T: Scalar> Team<T> for Alone {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn exchange<P: Parameters<Scalar = T>>(
        &mut self,
        _: &mut [ChunkStats],
        _: &mut [P],
    ) -> Result<bool, TrainError> {
        Ok(true)
    }
}

/// One chunk's buffers but its gradients.
struct Part<N: BatchNetwork> {
    cache: N::BatchCache,
    dl_dy: Array2<N::Scalar>,
    result: Result<BatchStats, TrainError>,
}

/// The buffers of every chunk, kept between steps so that a step allocates nothing once the
/// largest batch has been seen.
pub struct Chunks<N: BatchNetwork> {
    parts: Vec<Part<N>>,
    /// Each chunk's summed gradient; after a step, the first holds the batch gradient.
    grads: Vec<N::Grads>,
    stats: Vec<ChunkStats>,
}

impl<N: BatchNetwork> Default for Chunks<N> {
    fn default() -> Self {
        Chunks {
            parts: Vec::new(),
            grads: Vec::new(),
            stats: Vec::new(),
        }
    }
}

impl<N: BatchNetwork> Chunks<N> {
    /// Computes the batch gradient `(1/B) Σᵢ ∂ℓ(yᵢ, tᵢ)/∂θ` over the samples `batch`: this
    /// process's chunks on the pool, then the fixed-order sum over all of `team`'s chunks.
    /// Returns the batch's loss sum (chunk by chunk, in order) and the gradient, on every
    /// process.
    pub fn gradient<L, M>(
        &mut self,
        net: &N,
        loss: &L,
        data: &Dataset<N::Scalar>,
        batch: &[usize],
        chunks: Option<usize>,
        team: &mut M,
    ) -> Result<(BatchStats, &N::Grads), TrainError>
    where
        L: Loss<N::Scalar>,
        M: Team<N::Scalar>,
    {
        let b = batch.len();
        let count = chunk_count(b, chunks);
        while self.parts.len() < count {
            self.parts.push(Part {
                cache: N::BatchCache::default(),
                dl_dy: Array2::from_elem((0, N::OUTPUT), N::Scalar::ZERO),
                result: Ok(BatchStats::default()),
            });
            self.grads.push(N::Grads::default());
            self.stats.push([0.0; 3]);
        }
        let (rank, size) = (team.rank(), team.size());
        let share = share_of(rank, size, count);
        let work = |k: usize, part: &mut Part<N>, grads: &mut N::Grads| {
            let rows = &batch[chunk_range(b, count, k)];
            part.result = batch_gradient(
                net,
                loss,
                data,
                rows,
                &mut part.cache,
                &mut part.dl_dy,
                grads,
            );
        };
        let parts = &mut self.parts[share.clone()];
        let grads = &mut self.grads[share.clone()];
        #[cfg(feature = "parallel")]
        if step_flops::<N>(b) >= MIN_PARALLEL_FLOPS || crate::awake::is_awake() {
            parts
                .par_iter_mut()
                .zip(grads.par_iter_mut())
                .enumerate()
                .for_each(|(i, (part, grads))| work(share.start + i, part, grads));
        } else {
            for (i, (part, grads)) in parts.iter_mut().zip(grads.iter_mut()).enumerate() {
                work(share.start + i, part, grads);
            }
        }
        #[cfg(not(feature = "parallel"))]
        for (i, (part, grads)) in parts.iter_mut().zip(grads.iter_mut()).enumerate() {
            work(share.start + i, part, grads);
        }

        let stats = &mut self.stats[..count];
        for (k, part) in share.clone().zip(&self.parts[share.clone()]) {
            stats[k] = match &part.result {
                Ok(s) => [s.loss_sum, s.correct.map_or(-1.0, |c| c as f64), 0.0],
                Err(_) => [0.0, 0.0, 1.0],
            };
        }
        let grads = &mut self.grads[..count];
        nodes(share.clone(), count, &mut |node| {
            tree(grads, node.start, node.end, count)
        });
        let whole = team.exchange(stats, grads)?;
        if let Some(part) = self.parts[share.clone()]
            .iter_mut()
            .find(|p| p.result.is_err())
        {
            return Err(
                match core::mem::replace(&mut part.result, Ok(BatchStats::default())) {
                    Err(e) => e,
                    Ok(_) => unreachable!("the part failed"),
                },
            );
        }
        if let Some(k) = stats.iter().position(|s| s[2] != 0.0) {
            return Err(TrainError::Distributed {
                rank: owner(size, count, k),
                reason: format!("it failed on chunk {k} of the batch"),
            });
        }
        if !whole {
            // Every process's nodes are summed in place: complete the tree above them.
            let summed = |node| is_a_share_node(node, size, count);
            combine(grads, 0, count.next_power_of_two(), count, &summed);
        }
        scale(&mut grads[0], N::Scalar::ONE / N::Scalar::from_usize(b));

        let mut total = BatchStats::default();
        for s in stats.iter() {
            total.loss_sum += s[0];
            if s[1] >= 0.0 {
                *total.correct.get_or_insert(0) += s[1] as usize;
            }
        }
        Ok((total, &self.grads[0]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ParamInfo, ParamKind};

    /// One scalar as a set of parameters.
    #[derive(Clone, Debug, PartialEq)]
    struct One(f32);

    impl Parameters for One {
        type Scalar = f32;
        const PARAM_INFO: &'static [ParamInfo] = &[ParamInfo {
            name: "x",
            layer: 1,
            kind: ParamKind::Bias,
            shape: &[1],
        }];
        fn visit(&self, mut f: impl FnMut(&ParamInfo, &[f32])) {
            f(&Self::PARAM_INFO[0], core::slice::from_ref(&self.0));
        }
        fn visit_mut(&mut self, mut f: impl FnMut(&ParamInfo, &mut [f32])) {
            f(&Self::PARAM_INFO[0], core::slice::from_mut(&mut self.0));
        }
    }

    fn ones(values: &[f32]) -> Vec<One> {
        values.iter().map(|&x| One(x)).collect()
    }

    #[test]
    fn chunks_cover_the_batch_in_order_and_depend_on_its_size_alone() {
        for b in 1..1200 {
            let count = chunk_count(b, None);
            assert!((1..=MAX_CHUNKS).contains(&count), "b = {b}");
            let mut next = 0;
            for k in 0..count {
                let r = chunk_range(b, count, k);
                assert_eq!(r.start, next, "b = {b}, chunk {k}");
                assert!(!r.is_empty(), "b = {b}, chunk {k} is empty");
                next = r.end;
            }
            assert_eq!(next, b);
        }
        let counts = [1, 32, 64, 128, 256, 1024].map(|b| chunk_count(b, None));
        assert_eq!(counts, [1, 1, 1, 2, 4, 4]);
    }

    /// The tree sum of the chunks, written out by hand for 5 chunks.
    #[test]
    fn the_tree_sums_in_its_fixed_order() {
        let v = [1e8f32, 1.0, -1e8, 0.5, 3.0];
        let mut grads = ones(&v);
        tree(&mut grads, 0, 8, 5);
        assert_eq!(grads[0].0, ((v[0] + v[1]) + (v[2] + v[3])) + v[4]);
    }

    /// Each process sums its nodes, then the nodes combine: the same bits as one process, for
    /// every way of sharing 1 to 8 chunks among 1 to 5 processes.
    #[test]
    fn shared_sums_equal_the_one_process_sum() {
        for count in 1..=8usize {
            let values: Vec<f32> = (0..count)
                .map(|k| (k as f32 * 0.37 + 0.1).powi(7) * if k % 2 == 0 { 1.0 } else { -1.3 })
                .collect();
            let mut alone = ones(&values);
            tree(&mut alone, 0, count.next_power_of_two(), count);
            for procs in 1..=5 {
                let mut grads = ones(&values);
                let mut owned = Vec::new();
                for r in 0..procs {
                    let share = count * r / procs..count * (r + 1) / procs;
                    nodes(share, count, &mut |n| {
                        tree(&mut grads, n.start, n.end, count);
                        owned.push(n);
                    });
                }
                combine(&mut grads, 0, count.next_power_of_two(), count, &|n| {
                    owned.contains(&n)
                });
                assert_eq!(
                    grads[0].0.to_bits(),
                    alone[0].0.to_bits(),
                    "{count} chunks, {procs} processes"
                );
            }
        }
    }
}
