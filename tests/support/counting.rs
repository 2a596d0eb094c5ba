//! A global allocator that forwards to `System` and counts allocations, both per thread (tests
//! of one binary run on several threads at once) and over every thread (for work a pool's
//! threads share). Included with `#[path]` by the allocation-counting test binaries.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    static THIS_THREAD: Cell<usize> = const { Cell::new(0) };
}

static ALL_THREADS: AtomicUsize = AtomicUsize::new(0);

struct Counting;

fn bump() {
    ALL_THREADS.fetch_add(1, Ordering::Relaxed);
    // `try_with` fails only while the thread is torn down; those allocations do not matter.
    let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded to `System` with the same arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The allocations the calling thread has made so far.
#[allow(dead_code)]
pub fn this_thread() -> usize {
    THIS_THREAD.with(Cell::get)
}

/// The allocations every thread has made so far.
#[allow(dead_code)]
pub fn all_threads() -> usize {
    ALL_THREADS.load(Ordering::Relaxed)
}
