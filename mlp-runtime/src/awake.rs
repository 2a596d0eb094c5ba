//! The pool's other threads kept awake while the trainer runs (the `parallel` feature).
//!
//! Between two splits of a training step, rayon's idle threads go to sleep after a few dozen
//! rounds of looking for work, and waking one costs tens to hundreds of microseconds on a
//! virtual machine: more than a whole step of a small network. While an [`Awake`] guard lives,
//! each of the pool's other threads runs a job that keeps looking for work
//! (`rayon::yield_now`, and the operating system's `yield` between rounds, so that other
//! processes still get the core), and the splits made on the guard's thread take pieces down
//! to a few microseconds ([`is_awake`]). Where a piece runs never changes its arithmetic, so
//! the results are the same bit for bit either way.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the thread holding an [`Awake`] guard knows of its helpers.
struct Watch {
    /// Set when the guard drops, or when the helpers are late: their jobs return.
    done: Arc<AtomicBool>,
    /// The joins made so far through [`join`] whose second half another thread took.
    joins: u32,
    /// Those of them whose second half ended late.
    late: u32,
}

thread_local! {
    /// The watch of this thread's [`Awake`] guard, if it holds one.
    static AWAKE: RefCell<Option<Watch>> = const { RefCell::new(None) };
}

/// Whether the calling thread holds an [`Awake`] guard whose helpers are looking for work,
/// so that a [`join`] costs about a microsecond.
pub(crate) fn is_awake() -> bool {
    AWAKE.with(|a| {
        a.borrow()
            .as_ref()
            .is_some_and(|w| !w.done.load(Ordering::Relaxed))
    })
}

/// Keeps the current pool's other threads looking for work until dropped; see the module's
/// documentation. Does nothing outside a pool of two threads or more, or within another guard.
pub(crate) struct Awake {
    /// Whether this guard started the helpers (an inner guard leaves them to the outer).
    started: bool,
}

/// The work of a training step (`6 B P` flops for a batch of `B` samples and `P`
/// parameters) from which the trainer keeps the pool's threads awake: below it, no product
/// of the step is large enough to split even so (the digits example's steps, 3.7 Mflop, ran
/// no faster on two threads), and the spinning would only take a core from other processes.
pub(crate) const MIN_STEP_FLOPS: usize = 20_000_000;

impl Awake {
    /// [`Awake::new`] for steps of `flops` (`6 B P`), when they reach [`MIN_STEP_FLOPS`].
    pub(crate) fn for_steps_of(flops: usize) -> Option<Self> {
        (flops >= MIN_STEP_FLOPS).then(Self::new)
    }

    /// Starts one job per other thread of the current pool, when called from one of its
    /// threads and it has two or more.
    pub(crate) fn new() -> Self {
        let held = AWAKE.with(|a| a.borrow().is_some());
        let threads = rayon::current_num_threads();
        let started = match rayon::current_thread_index() {
            Some(owner) if threads > 1 && !held => {
                let done = Arc::new(AtomicBool::new(false));
                for _ in 1..threads {
                    let done = Arc::clone(&done);
                    rayon::spawn(move || look_for_work(&done, owner));
                }
                AWAKE.with(|a| {
                    *a.borrow_mut() = Some(Watch {
                        done,
                        joins: 0,
                        late: 0,
                    })
                });
                true
            }
            _ => false,
        };
        Awake { started }
    }
}

impl Drop for Awake {
    fn drop(&mut self) {
        if self.started {
            if let Some(watch) = AWAKE.with(|a| a.borrow_mut().take()) {
                watch.done.store(true, Ordering::Release);
            }
        }
    }
}

/// How much longer than twice the first half a second half taken by another thread may run:
/// a slack for uneven halves and cold caches.
const SLACK: Duration = Duration::from_micros(20);

/// The late second halves, and their share of the joins (one in `LATE_SHARE`), from which
/// the helpers are let go.
const LATE_MIN: u32 = 8;
const LATE_SHARE: u32 = 8;

/// `rayon::join(a, b)`, watched: under an [`Awake`] guard, a second half that another thread
/// took and that ran longer than twice the first half (plus [`SLACK`]) is late. A helper is
/// late when the operating system gives its core to another process in the middle of a
/// piece (a helper busy with other work takes the piece later, but not for longer); once one
/// join in eight is late, the helpers are let go (their jobs return) and the splits go back
/// to the sizes that pay for waking a thread, so that a busy machine is not made to wait on a
/// thread that does not run.
pub(crate) fn join<RA: Send, RB: Send>(
    a: impl FnOnce() -> RA + Send,
    b: impl FnOnce() -> RB + Send,
) -> (RA, RB) {
    if !is_awake() {
        return rayon::join(a, b);
    }
    let owner = rayon::current_thread_index();
    let start = Instant::now();
    // How long the second half ran, in nanoseconds, if another thread ran it.
    let b_time = AtomicU64::new(u64::MAX);
    let ((ra, a_time), rb) = rayon::join(
        || {
            let r = a();
            (r, start.elapsed())
        },
        || {
            let b_start = Instant::now();
            let r = b();
            if rayon::current_thread_index() != owner {
                let time = u64::try_from(b_start.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
                b_time.store(time, Ordering::Relaxed);
            }
            r
        },
    );
    let b_time = b_time.load(Ordering::Relaxed);
    if b_time != u64::MAX {
        let late = Duration::from_nanos(b_time) > 2 * a_time + SLACK;
        AWAKE.with(|a| {
            if let Some(w) = a.borrow_mut().as_mut() {
                w.joins += 1;
                w.late += u32::from(late);
                if w.late >= LATE_MIN && w.late * LATE_SHARE >= w.joins {
                    w.done.store(true, Ordering::Release);
                }
            }
        });
    }
    (ra, rb)
}

/// Idle rounds between two yields of the core to the operating system.
const SPINS_PER_YIELD: u32 = 64;

/// Runs the pool's pending jobs as they come, until `done`. Returns at once on the guard's
/// own thread (which may pick the job up while it waits for a join), so that it never waits
/// on itself.
fn look_for_work(done: &AtomicBool, owner: usize) {
    if rayon::current_thread_index() == Some(owner) {
        return;
    }
    let mut idle = 0u32;
    while !done.load(Ordering::Acquire) {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => idle = 0,
            _ => {
                idle += 1;
                if idle.is_multiple_of(SPINS_PER_YIELD) {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// The guard marks its thread, nests, and its jobs return when it drops: the pool then
    /// finishes other work (a hung job would leave `install` waiting forever).
    #[test]
    fn the_guard_marks_its_thread_and_lets_the_pool_go() {
        for threads in [1, 2, 3] {
            pool(threads).install(|| {
                assert!(!is_awake());
                {
                    let _outer = Awake::new();
                    assert_eq!(is_awake(), threads > 1, "{threads} threads");
                    {
                        let _inner = Awake::new();
                        assert_eq!(is_awake(), threads > 1);
                    }
                    assert_eq!(is_awake(), threads > 1);
                    let (a, b) = rayon::join(|| 1, || 2);
                    assert_eq!(a + b, 3);
                }
                assert!(!is_awake());
                let sum: u64 = (0..10_000u64).map(|i| rayon::join(|| i, || 1).0).sum();
                assert_eq!(sum, 10_000 * 9_999 / 2);
            });
        }
        // Outside a pool: nothing to keep awake.
        let _guard = Awake::new();
        assert!(!is_awake());
    }

    /// Helpers that run their halves late (here they sleep, as a thread whose core went to
    /// another process does) are let go: the thread is no longer awake, and the pool still
    /// runs joins. The first half waits (yielding its core, so that this holds on one core
    /// too) until the helper has taken the second, which then sleeps three times as long as
    /// that took, and 5 ms more: late by any measure.
    #[test]
    fn late_helpers_are_let_go() {
        use std::sync::atomic::AtomicBool;
        pool(2).install(|| {
            let _guard = Awake::new();
            let mut joins = 0;
            while is_awake() && joins < 200 {
                let start = Instant::now();
                let taken = AtomicBool::new(false);
                join(
                    || {
                        while !taken.load(Ordering::Acquire)
                            && start.elapsed() < Duration::from_millis(100)
                        {
                            std::thread::yield_now();
                        }
                    },
                    || {
                        taken.store(true, Ordering::Release);
                        std::thread::sleep(3 * start.elapsed() + Duration::from_millis(5));
                    },
                );
                joins += 1;
            }
            assert!(!is_awake(), "still awake after {joins} late joins");
            assert!(joins >= LATE_MIN as usize);
            assert_eq!(join(|| 1, || 2), (1, 2));
        });
    }
}
