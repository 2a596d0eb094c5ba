//! The `parallel` feature: a large product's rows of `C` split into pieces that rayon's
//! threads compute at once. Every element is computed by one thread, in the same order as on
//! one thread, so the result is the same bit for bit whatever the number of threads.
//!
//! Splitting costs a `rayon::join` per piece: a microsecond or two on one of rayon's threads,
//! tens from another thread (which waits while the pool computes), so a product is split only
//! when its work is many times that. Run a loop of steps inside `pool.install` so that its
//! products are split from within the pool.

/// Pieces have a multiple of this many rows (a multiple of every kernel's block height), so
/// that no piece adds a short block.
const QUANTUM: usize = 12;

/// The work (`2 m n k` flops) that makes a piece worth a join from one of rayon's threads,
/// about 40 µs of one core. Smaller pieces measured slower than one thread in a training
/// step: besides the join, each thread packs the shared operand, and the other core's caches
/// hold half of the result.
const MIN_FLOPS_IN_POOL: usize = 8_000_000;

/// As [`MIN_FLOPS_IN_POOL`], from a thread outside rayon's pool, which waits while the pool
/// computes: the hand-over costs tens of microseconds.
const MIN_FLOPS_OUTSIDE: usize = 16_000_000;

/// How many pieces to split an `m × n × k` product into: one per thread of the current pool,
/// fewer when the pieces would be too small.
pub(super) fn parts(m: usize, n: usize, k: usize) -> usize {
    let threads = rayon::current_num_threads();
    if threads < 2 {
        return 1;
    }
    let min = if rayon::current_thread_index().is_some() {
        MIN_FLOPS_IN_POOL
    } else {
        MIN_FLOPS_OUTSIDE
    };
    let flops = 2usize.saturating_mul(m).saturating_mul(n).saturating_mul(k);
    threads.min(flops / min).min(m / QUANTUM).max(1)
}

/// Calls `piece(row0, rows)` for `parts` pieces covering rows `row0..row0 + rows`, on
/// rayon's threads: split in two (sizes in proportion to their pieces), each half in turn.
pub(super) fn split(
    parts: usize,
    row0: usize,
    rows: usize,
    piece: &(impl Fn(usize, usize) + Sync),
) {
    if parts <= 1 {
        return piece(row0, rows);
    }
    let left = parts / 2;
    let mid = (rows * left / parts).div_ceil(QUANTUM) * QUANTUM;
    let mid = mid.min(rows);
    rayon::join(
        || split(left, row0, mid, piece),
        || split(parts - left, row0 + mid, rows - mid, piece),
    );
}
