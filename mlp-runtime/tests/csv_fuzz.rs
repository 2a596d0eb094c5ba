//! The CSV reader against hostile input: a committed corpus (`tests/corpus/csv/`, one file per
//! kind of trouble) replayed on every run, and random CSV-like bytes from proptest. For every
//! input and every way of reading it, the reader returns (a data set or an error, never a
//! panic), and its cost is bounded by the input's length, counted by this binary's allocator:
//!
//! - peak live heap bytes ≤ `MEMORY_BASE + MEMORY_PER_BYTE · len`;
//! - allocations ≤ `ALLOCS_BASE + ALLOCS_PER_BYTE · len`, which also bounds the work, since
//!   the reader streams each record through one reused buffer;
//! - an error message of at most `MESSAGE_LIMIT` bytes, whatever the fields' lengths.
//!
//! To add a case to the corpus, drop a file into `tests/corpus/csv/`.

use mlp_runtime::data::{Csv, Target};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

thread_local! {
    /// Live bytes, the peak since the last reset, and allocations, on this thread.
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

/// Forwards to `System`, counting the calling thread's live bytes, peak and allocations.
struct Counting;

fn grow(bytes: usize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + bytes);
        let _ = PEAK.try_with(|p| p.set(p.get().max(live.get())));
    });
    let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
}

fn shrink(bytes: usize) {
    // Memory freed on another thread than the one that allocated it may take this below
    // zero on this thread; saturate.
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(bytes)));
}

// SAFETY: every call is forwarded to `System` with the same arguments; the counters are
// thread-local cells, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: the caller's contract is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        shrink(layout.size());
        grow(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const MEMORY_BASE: usize = 256 << 10;
const MEMORY_PER_BYTE: usize = 160;
const ALLOCS_BASE: usize = 200;
const ALLOCS_PER_BYTE: usize = 4;
const MESSAGE_LIMIT: usize = 300;

/// The ways an input is read: every target kind, chosen columns, headerless, a delimiter.
fn readers() -> Vec<Csv> {
    vec![
        Csv::new(Target::Label { classes: 10 }),
        Csv::new(Target::Values { columns: 2 }),
        Csv::classes("label").max_classes(16),
        Csv::classes(0).no_header().max_classes(16),
        Csv::classes("y").class_names(["a", "b"]).exclude(["id"]),
        Csv::new(Target::Label { classes: 3 })
            .delimiter(b';')
            .header(true),
        Csv::values(1, 1).features([0, 2]),
    ]
}

/// Reads `input` every way, in f32 and f64, and checks the bounds on each.
fn check(name: &str, input: &[u8]) {
    for (k, csv) in readers().iter().enumerate() {
        for scalar in ["f32", "f64"] {
            PEAK.with(|p| p.set(LIVE.with(Cell::get)));
            let (base, allocs0) = (LIVE.with(Cell::get), ALLOCS.with(Cell::get));
            let message = match scalar {
                "f32" => csv
                    .read::<f32>("fuzz.csv", input)
                    .err()
                    .map(|e| e.to_string()),
                _ => csv
                    .read::<f64>("fuzz.csv", input)
                    .err()
                    .map(|e| e.to_string()),
            };
            let peak = PEAK.with(Cell::get).saturating_sub(base);
            let allocs = ALLOCS.with(Cell::get) - allocs0;
            let len = input.len();
            assert!(
                peak <= MEMORY_BASE + MEMORY_PER_BYTE * len,
                "{name}, reader {k}, {scalar}: peak {peak} bytes for {len} bytes of input"
            );
            assert!(
                allocs <= ALLOCS_BASE + ALLOCS_PER_BYTE * len,
                "{name}, reader {k}, {scalar}: {allocs} allocations for {len} bytes of input"
            );
            if let Some(m) = message {
                assert!(
                    m.len() <= MESSAGE_LIMIT,
                    "{name}, reader {k}, {scalar}: a {}-byte message: {m:.200}",
                    m.len()
                );
            }
        }
    }
}

#[test]
fn the_corpus_reads_within_bounds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/csv");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the corpus has {} files", files.len());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        check(&path.display().to_string(), &bytes);
    }
}

#[test]
fn the_corpus_gets_the_errors_it_was_made_for() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/csv");
    let read = |file: &str| {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        Csv::new(Target::Label { classes: 10 })
            .read::<f32>(file, &bytes[..])
            .map(|d| d.len())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        read("overflow-f32.csv"),
        Err("overflow-f32.csv:3:2: column `b`: expected a finite f32, found `1e39`, which overflows it".into())
    );
    assert_eq!(read("cr-only.csv"), Ok(2));
    assert_eq!(
        read("crlf-blank-lines.csv"),
        Err("crlf-blank-lines.csv:6:1: column `a`: expected a finite number, found `x`".into())
    );
    assert_eq!(
        read("numeric-header.csv").unwrap_err(),
        "numeric-header.csv:1: the first line looks like data, not a header (3 of its 3 fields are numbers); read the file with `Csv::no_header()`, or with `Csv::header(true)` if these are the names"
    );
    assert_eq!(
        read("huge-label.csv"),
        Err("huge-label.csv:2:2: column `label`: expected an integer class label, found `99999999999999999999999`".into())
    );
}

/// Fragments that make CSV almost right.
const TOKENS: &[&str] = &[
    "0", "1", "2", "-3.5", "1e39", "1e-45", "nan", "inf", "label", "y", "id", "a", "b", "setosa",
    ",", ",", ",", ";", "\"", "\"\"", "\"x,y\"", "\n", "\n", "\r", "\r\n", " ", "\u{feff}",
    "\u{e9}", "\t", "",
];

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(TOKENS), 0..200)
            .prop_map(|t| t.concat().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..400),
        (
            prop::collection::vec(prop::sample::select(TOKENS), 0..100),
            prop::collection::vec(any::<u8>(), 0..50),
        )
            .prop_map(|(t, b)| {
                let mut v = t.concat().into_bytes();
                let at = v.len() / 2;
                v.splice(at..at, b);
                v
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_input_reads_within_bounds(bytes in input()) {
        check("random input", &bytes);
    }
}
