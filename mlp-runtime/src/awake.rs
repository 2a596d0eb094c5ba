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

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

thread_local! {
    /// Whether this thread holds an [`Awake`] guard.
    static AWAKE: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread holds an [`Awake`] guard: the pool's other threads are looking
/// for work, so a `rayon::join` costs about a microsecond.
pub(crate) fn is_awake() -> bool {
    AWAKE.with(Cell::get)
}

/// Keeps the current pool's other threads looking for work until dropped; see the module's
/// documentation. Does nothing outside a pool of two threads or more.
pub(crate) struct Awake {
    /// Set when the guard drops: the jobs return.
    done: Option<Arc<AtomicBool>>,
    /// Whether the thread held a guard already (the inner guard leaves it set).
    outer: bool,
}

impl Awake {
    /// Starts one job per other thread of the current pool, when called from one of its
    /// threads and it has two or more.
    pub(crate) fn new() -> Self {
        let outer = is_awake();
        let threads = rayon::current_num_threads();
        let done = match rayon::current_thread_index() {
            Some(owner) if threads > 1 && !outer => {
                let done = Arc::new(AtomicBool::new(false));
                for _ in 1..threads {
                    let done = Arc::clone(&done);
                    rayon::spawn(move || look_for_work(&done, owner));
                }
                AWAKE.with(|a| a.set(true));
                Some(done)
            }
            _ => None,
        };
        Awake { done, outer }
    }
}

impl Drop for Awake {
    fn drop(&mut self) {
        if let Some(done) = &self.done {
            done.store(true, Ordering::Release);
            AWAKE.with(|a| a.set(self.outer));
        }
    }
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
}
