//! The `parallel` feature: a large product's `C` cut into pieces, of rows or of columns, that
//! rayon's threads compute at once. Every element is computed by one thread, in the same order
//! as on one thread, so the result is the same bit for bit whatever the number of threads.
//!
//! Splitting costs a `rayon::join` per piece: a microsecond or two on one of rayon's threads
//! while the others look for work (the trainer keeps them at it, `crate::awake`), tens to
//! hundreds once they sleep, so a product is split only when its work is many times that. Run
//! a loop of steps inside `pool.install` so that its products are split from within the pool.

/// Row pieces have a multiple of this many rows (a multiple of every kernel's block height),
/// so that no piece adds a short block.
pub(super) const ROWS: usize = 12;

/// Column pieces have a multiple of this many columns (a multiple of every kernel's block
/// width), for the same reason.
pub(super) const COLUMNS: usize = 64;

/// The work (`2 m n k` flops) that makes a piece worth a join from one of rayon's threads,
/// about 40 µs of one core. Smaller pieces measured slower than one thread in a training
/// step: besides the join, which may have to wake a sleeping thread, each thread packs the
/// shared operand, and the other core's caches hold half of the result.
const MIN_FLOPS_IN_POOL: usize = 8_000_000;

/// As [`MIN_FLOPS_IN_POOL`], while the pool's other threads are kept looking for work (the
/// trainer's steps, `crate::awake`): a join then costs about a microsecond, but each thread
/// still packs the shared operand and reads what the other wrote. On the README's 2-vCPU
/// machine, W3 at batch 64 (whose second layer's products are 4.2 Mflop) ran 1.69–1.71× as
/// fast on two threads as on one with these splits; the digits recipe's 1 Mflop products,
/// cut, made its step slower.
const MIN_FLOPS_AWAKE: usize = 2_000_000;

/// As [`MIN_FLOPS_IN_POOL`], from a thread outside rayon's pool, which waits while the pool
/// computes: the hand-over costs tens of microseconds.
const MIN_FLOPS_OUTSIDE: usize = 16_000_000;

/// The side of `C` a product is cut along.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cut {
    /// Pieces of rows (of `A` and `C`).
    Rows,
    /// Pieces of columns (of `B` and `C`).
    Columns,
}

/// How to cut an `m × n × k` product: into how many pieces (one per thread of the current
/// pool, fewer when the pieces would be too small), and along which side. Rows while each
/// piece gets two blocks of rows or more, else the side with more room (a layer of 20 units
/// over a batch of 1,000 samples, `C` of 20 × 1,000, is cut into columns: rows would make
/// pieces of 12 and 8).
pub(super) fn plan(m: usize, n: usize, k: usize) -> (usize, Cut) {
    let threads = rayon::current_num_threads();
    if threads < 2 {
        return (1, Cut::Rows);
    }
    let min = if crate::awake::is_awake() {
        MIN_FLOPS_AWAKE
    } else if rayon::current_thread_index().is_some() {
        MIN_FLOPS_IN_POOL
    } else {
        MIN_FLOPS_OUTSIDE
    };
    let flops = 2usize.saturating_mul(m).saturating_mul(n).saturating_mul(k);
    let wanted = threads.min(flops / min);
    let (rows, columns) = (m / ROWS, n / COLUMNS);
    let (cut, room) = if rows >= 2 * wanted || rows >= columns {
        (Cut::Rows, rows)
    } else {
        (Cut::Columns, columns)
    };
    (wanted.min(room).max(1), cut)
}

/// Where [`split`] cuts `len` into `parts`: the length of the first `parts / 2` pieces (sizes
/// in proportion to their pieces, a multiple of `quantum`).
fn middle(parts: usize, len: usize, quantum: usize) -> usize {
    ((len * (parts / 2) / parts).div_ceil(quantum) * quantum).min(len)
}

/// Calls `f(len)` with the length of each piece [`split`] makes, in order.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(super) fn pieces(parts: usize, len: usize, quantum: usize, f: &mut impl FnMut(usize)) {
    if parts <= 1 {
        return f(len);
    }
    let mid = middle(parts, len, quantum);
    pieces(parts / 2, mid, quantum, f);
    pieces(parts - parts / 2, len - mid, quantum, f);
}

/// Calls `piece(start, len)` for `parts` pieces covering `start..start + len`, each but the
/// last a multiple of `quantum` long, on rayon's threads: split in two (sizes in proportion to
/// their pieces), each half in turn.
pub(super) fn split(
    parts: usize,
    start: usize,
    len: usize,
    quantum: usize,
    piece: &(impl Fn(usize, usize) + Sync),
) {
    if parts <= 1 {
        return piece(start, len);
    }
    let left = parts / 2;
    let mid = middle(parts, len, quantum);
    crate::awake::join(
        || split(left, start, mid, quantum, piece),
        || split(parts - left, start + mid, len - mid, quantum, piece),
    );
}
