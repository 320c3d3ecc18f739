//! A scan job's memory does not grow with its page count
//! (ARCHITECTURE.md, "Memory"): a counting global allocator measures the
//! peak heap of feeder jobs of 10 and 50 pages run through the real engine,
//! into one multipage PDF and into one PNG file per page.
//!
//! This file is a test binary of its own, so its allocator counts these
//! jobs only; it holds a single test function, so nothing else allocates
//! while a job is measured. Run with `--nocapture` to see the figures.
//! Its jobs keep no trace (a trace grows with every band, the very growth
//! this test rules out); the transfer layer's live message-order checker
//! still runs on them, and a broken rule fails the test.
#![allow(unsafe_code)] // `GlobalAlloc` can only be implemented with `unsafe`.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use streamscan::clock::VirtualClock;
use streamscan::engine::{Command, Engine, EngineConfig, Event, JobId, JobSummary, OutputTarget};
use streamscan::output::FileFormat;
use streamscan::transfer::{ColorMode, Outcome, PageSize, ScanSettings, Source};
use support::{files_output, sim_id};

/// Bytes currently allocated.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// Highest value `CURRENT` reached since the last [`reset_peak`].
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

fn shrank(by: usize) {
    CURRENT.fetch_sub(by, Ordering::SeqCst);
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counters do not touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees about `layout` are passed on.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            // A moving reallocation holds the old and the new block at
            // once: count that moment, to be on the safe side.
            PEAK.fetch_max(CURRENT.load(Ordering::SeqCst) + new_size, Ordering::SeqCst);
        }
        // SAFETY: the caller's guarantees about `ptr`, `layout` and
        // `new_size` are passed on.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Starts a new measurement: the peak restarts at what is allocated now,
/// which is returned as the baseline.
fn reset_peak() -> usize {
    let now = CURRENT.load(Ordering::SeqCst);
    PEAK.store(now, Ordering::SeqCst);
    now
}

/// Resolution of the measured jobs: big enough that a page is several
/// megabytes, small enough that 50 pages stay quick in a debug build.
const DPI: u32 = 150;

/// Pages of the unmeasured first job.
const WARM_UP_PAGES: u32 = 8;

/// What one measured job used.
#[derive(Debug, Clone, Copy)]
struct Usage {
    /// Highest heap above the baseline while the job ran.
    peak: usize,
    /// Heap above the baseline once the job had finished (the summary
    /// included).
    retained: isize,
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Runs one colour A4 feeder job of `pages` pages on a fresh virtual
/// scanner, draining every event, and measures its heap from the moment
/// the command is sent until its `JobFinished` arrives.
fn measured_scan(
    engine: &Engine,
    job: JobId,
    pages: u32,
    storage: &Path,
    format: FileFormat,
    output: OutputTarget,
) -> (JobSummary, Usage) {
    let command = Command::Scan {
        job,
        device: sim_id(&format!("pages={pages},speed=max"), storage),
        settings: ScanSettings {
            source: Source::Feeder,
            dpi: DPI,
            mode: ColorMode::Color,
            size: PageSize::A4,
            pages: 0,
            format,
            ..ScanSettings::default()
        },
        output,
        interactive: false,
    };
    let baseline = reset_peak();
    assert!(engine.send(command), "the engine is running");
    let result = loop {
        let event = engine
            .events()
            .recv_timeout(Duration::from_secs(600))
            .expect("the engine keeps sending events until the job finishes");
        // The live checker runs on these jobs too, keeping no trace.
        if let Event::ContractBroken { rule, .. } = &event {
            panic!("the {pages}-page job broke the message order: {rule}");
        }
        if let Event::JobFinished {
            job: finished,
            result,
        } = event
            && finished == job
        {
            break result;
        }
    };
    let usage = Usage {
        peak: PEAK.load(Ordering::SeqCst).saturating_sub(baseline),
        retained: CURRENT.load(Ordering::SeqCst) as isize - baseline as isize,
    };
    let summary = result.unwrap_or_else(|e| panic!("the {pages}-page job failed: {e}"));
    assert_eq!(summary.outcome, Outcome::Completed, "{pages} pages");
    assert_eq!(summary.totals.delivered, pages, "{pages} pages delivered");
    (summary, usage)
}

fn document(path: &Path) -> OutputTarget {
    OutputTarget::Document {
        path: path.to_path_buf(),
        overwrite: false,
    }
}

fn files(dir: &Path) -> OutputTarget {
    files_output(dir, "page-{n:03}.png")
}

/// Prints the figures of a short and a long job and checks that the long
/// job's peak is within 10 % of the short one's.
fn compare(what: &str, short: (u32, Usage), long: (u32, Usage)) {
    let ((short_pages, s), (long_pages, l)) = (short, long);
    let ratio = l.peak as f64 / s.peak.max(1) as f64;
    println!(
        "{what}: peak above baseline {short_pages} pages {:.2} MiB ({} B), \
         {long_pages} pages {:.2} MiB ({} B), ratio {ratio:.3}; \
         retained after the job {} B / {} B",
        mib(s.peak),
        s.peak,
        mib(l.peak),
        l.peak,
        s.retained,
        l.retained
    );
    assert!(
        ratio <= 1.10,
        "{what}: the {long_pages}-page job peaked at {} B, more than 10 % above the \
         {short_pages}-page job's {} B: memory grows with the page count",
        l.peak,
        s.peak
    );
}

#[test]
fn peak_heap_does_not_grow_with_the_page_count() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let storage = dir.path().join("storage");
    let clock: Arc<VirtualClock> = VirtualClock::shared();
    let config = EngineConfig {
        clock,
        ..EngineConfig::default()
    };
    let engine = Engine::start(config, Arc::new(|| {}));
    let started = Instant::now();

    // Fonts, glyph sets and scaled photo crops are made on first use and
    // cached: a job long enough to show every crop first, so that neither
    // measured job pays for them.
    let (_, warm_up) = measured_scan(
        &engine,
        1,
        WARM_UP_PAGES,
        &storage,
        FileFormat::Pdf,
        document(&dir.path().join("warm-up.pdf")),
    );
    println!(
        "warm-up, {WARM_UP_PAGES} pages: peak {:.2} MiB, retained {} B",
        mib(warm_up.peak),
        warm_up.retained
    );

    let mut job = 1;
    let mut pdf = Vec::new();
    for pages in [10, 50] {
        job += 1;
        let path = dir.path().join(format!("{pages}-pages.pdf"));
        let (summary, usage) = measured_scan(
            &engine,
            job,
            pages,
            &storage,
            FileFormat::Pdf,
            document(&path),
        );
        assert_eq!(summary.files, vec![path.clone()]);
        let bytes = std::fs::read(&path).expect("the document was written");
        assert!(bytes.starts_with(b"%PDF-"), "{} is a PDF", path.display());
        pdf.push((pages, usage));
    }
    compare(
        &format!("multipage PDF, {DPI} dpi colour A4"),
        pdf[0],
        pdf[1],
    );

    let mut png = Vec::new();
    for pages in [10, 50] {
        job += 1;
        let out = dir.path().join(format!("png-{pages}"));
        std::fs::create_dir(&out).expect("an output folder");
        let (summary, usage) =
            measured_scan(&engine, job, pages, &storage, FileFormat::Png, files(&out));
        assert_eq!(summary.files.len(), pages as usize);
        assert!(
            summary.files.iter().all(|f| f.is_file()),
            "every page file exists"
        );
        png.push((pages, usage));
    }
    compare(
        &format!("PNG file per page, {DPI} dpi colour A4"),
        png[0],
        png[1],
    );
    println!("all jobs took {:.1} s", started.elapsed().as_secs_f64());
}
