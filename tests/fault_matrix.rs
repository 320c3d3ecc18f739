//! The fault matrix: every fault of the virtual scanner x every source
//! (flatbed, feeder, duplex) x both output shapes (one file per page, one
//! multipage TIFF or PDF document), each run through the engine into real
//! files, once non-interactively (errors unhandled) and once with a person
//! answering every question with Retry. Each case checks the job's result,
//! the files left in the output directory (decoded page by page, index
//! strips included), the transfer messages the engine passed on, and runs
//! the same job at the transfer level through the shared message-order
//! checker.
//!
//! Cases run one after the other inside one test per fault; a failing case
//! is reported by name and the remaining cases still run.

mod support;

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;
use streamscan::clock::Clock;
use streamscan::engine::{Command, Event, JobSummary, OutputTarget};
use streamscan::output::FileFormat;
use streamscan::raster::Page;
use streamscan::transfer::{
    ColorMode, MessageKind, Outcome, PageSize, ScanSettings, Side, Source, StatusAnswer,
    StatusCode, TransferError,
};
use support::*;

/// Sheets in the virtual feeder.
const SHEETS: u32 = 4;
/// Resolution of every scan (the virtual scanner's lowest: fast, and the
/// index strip still reads).
const DPI: u32 = 75;
/// An A4 page at 75 dpi.
const PAGE_PIXELS: (u32, u32) = (620, 877);
/// The job's id in every case (one engine per case).
const JOB: u64 = 1;
/// The engine's (and the transfer layer's) no-data timeout.
const NO_DATA_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Jam,
    MultiFeed,
    CoverOpen,
    Empty,
    Disconnect,
    Hang,
    Busy,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Jam => "jam",
            Fault::MultiFeed => "multifeed",
            Fault::CoverOpen => "coveropen",
            Fault::Empty => "empty",
            Fault::Disconnect => "disconnect",
            Fault::Hang => "hang",
            Fault::Busy => "busy",
        }
    }

    /// Faults that fire in the middle of page k (the others fire when the
    /// job starts).
    fn at_page(self) -> bool {
        !matches!(self, Fault::Empty | Fault::Busy)
    }

    /// Feeder conditions: a flatbed scan is not affected.
    fn feeder_only(self) -> bool {
        matches!(self, Fault::Jam | Fault::MultiFeed | Fault::Empty)
    }

    /// Conditions a person can clear (Retry scans the page again).
    fn recoverable(self) -> bool {
        !matches!(self, Fault::Disconnect | Fault::Hang)
    }

    /// The WIA code of the job's error when nobody handles the fault.
    fn code(self) -> StatusCode {
        match self {
            Fault::Jam => StatusCode::PAPER_JAM,
            Fault::MultiFeed => StatusCode::MULTI_FEED,
            Fault::CoverOpen => StatusCode::COVER_OPEN,
            Fault::Empty => StatusCode::PAPER_EMPTY,
            Fault::Busy => StatusCode::BUSY,
            Fault::Disconnect | Fault::Hang => StatusCode::DEVICE_COMMUNICATION,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One PNG file per page.
    PerPage,
    /// One multipage document of this format.
    Document(FileFormat),
}

#[derive(Debug, Clone, Copy)]
struct Case {
    fault: Fault,
    /// The page the fault fires at (faults at a page only).
    k: Option<u32>,
    source: Source,
    shape: Shape,
    interactive: bool,
    /// Colour mode of the pages.
    mode: ColorMode,
    /// A4, or `Auto` (the page length is only known at the page's end).
    size: PageSize,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.fault.name())?;
        if let Some(k) = self.k {
            write!(f, "@{k}")?;
        }
        write!(f, " {} ", self.source.as_str())?;
        match self.shape {
            Shape::PerPage => f.write_str("per-page-png")?,
            Shape::Document(format) => write!(f, "multipage-{}", format.name())?,
        }
        write!(
            f,
            " {} {}",
            self.mode.as_str(),
            if self.size == PageSize::Auto {
                "auto-length"
            } else {
                "a4"
            }
        )?;
        f.write_str(if self.interactive {
            " retry"
        } else {
            " unhandled"
        })
    }
}

/// What a case must end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Every page, and whether a question was asked (and answered Retry).
    Completed { pages: u32, asked: bool },
    /// The job fails with `code` after keeping `kept` pages; `mid_page`
    /// when a page was in progress at the fault.
    Failed {
        code: StatusCode,
        kept: u32,
        mid_page: bool,
    },
}

impl Case {
    /// Pages the job transfers without a fault.
    fn pages(&self) -> u32 {
        match self.source {
            Source::Flatbed => 1,
            Source::Feeder => SHEETS,
            Source::Duplex => 2 * SHEETS,
        }
    }

    fn expect(&self) -> Expect {
        let pages = self.pages();
        let applies = !(self.fault.feeder_only() && self.source == Source::Flatbed)
            && self.k.is_none_or(|k| k <= pages);
        if !applies {
            return Expect::Completed {
                pages,
                asked: false,
            };
        }
        if self.fault.recoverable() && self.interactive {
            return Expect::Completed { pages, asked: true };
        }
        Expect::Failed {
            code: self.fault.code(),
            kept: self.k.map_or(0, |k| k - 1),
            mid_page: self.k.is_some(),
        }
    }

    fn format(&self) -> FileFormat {
        match self.shape {
            Shape::PerPage => FileFormat::Png,
            Shape::Document(format) => format,
        }
    }

    fn settings(&self) -> ScanSettings {
        ScanSettings {
            source: self.source,
            dpi: DPI,
            mode: self.mode,
            size: self.size,
            pages: 0,
            format: self.format(),
            multipage: matches!(self.shape, Shape::Document(_)),
            ..ScanSettings::default()
        }
    }

    /// The sim options after `sim:` (storage aside).
    fn device_options(&self) -> String {
        let fault = match self.k {
            Some(k) => format!("{}@{k}", self.fault.name()),
            None => self.fault.name().to_string(),
        };
        format!("pages={SHEETS},speed=25,fault={fault}")
    }

    fn document_name(&self) -> Option<String> {
        match self.shape {
            Shape::PerPage => None,
            Shape::Document(format) => Some(format!("doc.{}", format.extension())),
        }
    }
}

/// Every case of one fault: sources x shapes x pages x modes. Multipage
/// documents alternate between TIFF and PDF, so that every source meets
/// both formats; the colour mode changes with the source (flatbed colour,
/// feeder gray, duplex black and white), and half the cases scan with an
/// automatic page length (height unknown until the page ends), so retries
/// and abandoned pages meet both kinds of header.
fn cases(fault: Fault) -> Vec<Case> {
    let ks: Vec<Option<u32>> = if fault.at_page() {
        // k = 1: nothing is kept; k = 4: three pages are kept, and the
        // fault hits a later sheet; in duplex its back, so a handled fault
        // re-feeds the sheet and the front already delivered must not
        // come twice.
        vec![Some(1), Some(4)]
    } else {
        vec![None]
    };
    let sources = [
        (Source::Flatbed, ColorMode::Color),
        (Source::Feeder, ColorMode::Gray),
        (Source::Duplex, ColorMode::Bw),
    ];
    let mut out = Vec::new();
    for (s, (source, mode)) in sources.into_iter().enumerate() {
        for (k_index, &k) in ks.iter().enumerate() {
            for interactive in [false, true] {
                let document = if (s + usize::from(interactive)) % 2 == 0 {
                    FileFormat::Tiff
                } else {
                    FileFormat::Pdf
                };
                let size = if (k_index + usize::from(interactive)) % 2 == 1 {
                    PageSize::Auto
                } else {
                    PageSize::A4
                };
                for shape in [Shape::PerPage, Shape::Document(document)] {
                    out.push(Case {
                        fault,
                        k,
                        source,
                        shape,
                        interactive,
                        mode,
                        size,
                    });
                }
            }
        }
    }
    out
}

/// Runs every case of `fault`; fails listing each case that failed.
fn matrix(fault: Fault) {
    let cases = cases(fault);
    let mut failed = Vec::new();
    for case in &cases {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            engine_case(case);
            transfer_case(case);
        }));
        if let Err(panic) = outcome {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let name = format!("[{case}]");
            failed.push(if why.contains(&name) {
                why
            } else {
                format!("{name} {why}")
            });
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases of `{}` failed:\n{}",
        failed.len(),
        cases.len(),
        fault.name(),
        failed.join("\n")
    );
}

/// Decodes every page of what the job left in `out`.
fn decode_output(case: &Case, out: &Path, kept: u32) -> Vec<Page> {
    match case.shape {
        Shape::PerPage => (1..=kept)
            .map(|n| {
                let path = out.join(format!("page-{n}.png"));
                let bytes = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("[{case}] cannot read {}: {e}", path.display()));
                decode(&bytes)
            })
            .collect(),
        Shape::Document(format) => {
            let path = out.join(case.document_name().unwrap_or_default());
            if kept == 0 {
                return Vec::new();
            }
            match format {
                FileFormat::Tiff => {
                    let bytes = std::fs::read(&path)
                        .unwrap_or_else(|e| panic!("[{case}] cannot read {}: {e}", path.display()));
                    tiff_pages(&bytes).unwrap_or_else(|e| panic!("[{case}] invalid TIFF: {e}"))
                }
                _ => {
                    let count = pdf_page_count(&path)
                        .unwrap_or_else(|e| panic!("[{case}] invalid PDF: {e}"));
                    assert_eq!(count, kept as usize, "[{case}] pdfinfo page count");
                    pdf_pages(&path, DPI).unwrap_or_else(|e| panic!("[{case}] invalid PDF: {e}"))
                }
            }
        }
    }
}

/// The job through the engine into real files.
fn engine_case(case: &Case) {
    let dirs = Dirs::new();
    let device = sim_id(&case.device_options(), &dirs.storage);
    let output = match case.document_name() {
        None => files_output(&dirs.out, "page-{n}.png"),
        Some(name) => OutputTarget::Document {
            path: dirs.out.join(name),
            overwrite: false,
        },
    };
    let mut engine = EngineHarness::start(|c| c.no_data_timeout = NO_DATA_TIMEOUT);
    engine.send(Command::Scan {
        job: JOB,
        device,
        settings: case.settings(),
        output,
        interactive: case.interactive,
    });
    let result = if case.interactive {
        engine.finish_answering(JOB, |_| StatusAnswer::Handled)
    } else {
        engine.finish(JOB)
    };
    let expect = case.expect();

    // The result.
    let kept = check_result(case, expect, &result);
    let questions: Vec<StatusCode> = engine
        .events_of(JOB)
        .iter()
        .filter_map(|e| match e {
            Event::Question { status, .. } => Some(status.code),
            _ => None,
        })
        .collect();
    let asked = matches!(expect, Expect::Completed { asked: true, .. });
    let expected_questions = if asked {
        vec![case.fault.code()]
    } else {
        Vec::new()
    };
    assert_eq!(questions, expected_questions, "[{case}] questions asked");
    if case.fault == Fault::Hang && matches!(expect, Expect::Failed { .. }) {
        assert!(
            engine.clock.now() >= NO_DATA_TIMEOUT,
            "[{case}] the hang ended after {:?} of virtual time, before the {:?} no-data timeout",
            engine.clock.now(),
            NO_DATA_TIMEOUT
        );
    }

    // The files: only final names, every page intact and in order.
    let names = dir_names(&dirs.out);
    let expected_names: Vec<String> = match case.document_name() {
        None => (1..=kept).map(|n| format!("page-{n}.png")).collect(),
        Some(_) if kept == 0 => Vec::new(),
        Some(name) => vec![name],
    };
    assert_eq!(
        names, expected_names,
        "[{case}] files left in the output directory"
    );
    if let Ok(summary) = &result {
        let listed: Vec<PathBuf> = expected_names.iter().map(|n| dirs.out.join(n)).collect();
        assert_eq!(summary.files, listed, "[{case}] files named by the summary");
    }
    let pages = decode_output(case, &dirs.out, kept);
    assert_eq!(pages.len(), kept as usize, "[{case}] pages in the output");
    for (i, page) in pages.iter().enumerate() {
        let number = i as u32 + 1;
        assert_eq!(
            (page.header.width, page.height()),
            PAGE_PIXELS,
            "[{case}] size of page {number}"
        );
        let strip = read_strip(page).unwrap_or_else(|e| panic!("[{case}] page {number}: {e}"));
        let side = side_of(number, case.source == Source::Duplex);
        assert_eq!(
            (strip.page, strip.side, strip.seed),
            (number, side, 1),
            "[{case}] index strip of output page {number}"
        );
    }

    // The events and the transfer messages the engine passed on.
    let events = engine.framed_events_of(JOB, &format!("[{case}]"));
    check_messages(case, expect, kept, &engine);
    let done: Vec<(u32, Side)> = events
        .iter()
        .filter_map(|e| match e {
            Event::PageDone { page, side, .. } => Some((*page, *side)),
            _ => None,
        })
        .collect();
    let expected_done: Vec<(u32, Side)> = (1..=kept)
        .map(|n| (n, side_of(n, case.source == Source::Duplex)))
        .collect();
    assert_eq!(done, expected_done, "[{case}] PageDone events");
}

/// Checks the job's result; returns the pages it kept.
fn check_result(case: &Case, expect: Expect, result: &Result<JobSummary, TransferError>) -> u32 {
    match (expect, result) {
        (Expect::Completed { pages, .. }, Ok(summary)) => {
            assert_eq!(summary.outcome, Outcome::Completed, "[{case}] outcome");
            assert_eq!(summary.totals.delivered, pages, "[{case}] pages delivered");
            assert_eq!(
                (summary.totals.skipped, summary.totals.abandoned),
                (0, 0),
                "[{case}] skipped and abandoned pages (a retried page is neither)"
            );
            pages
        }
        (Expect::Failed { code, kept, .. }, Err(error)) => {
            assert_eq!(
                error.code, code,
                "[{case}] error code (message: {})",
                error.message
            );
            assert_eq!(
                error.pages_completed, kept,
                "[{case}] pages_completed (message: {})",
                error.message
            );
            kept
        }
        (expect, result) => panic!("[{case}] expected {expect:?}, got {result:?}"),
    }
}

/// END_OF_TRANSFER once and last; END_OF_STREAM per delivered page (or
/// once per document); NEW_PAGE numbered without gaps or repeats.
fn check_messages(case: &Case, expect: Expect, kept: u32, engine: &EngineHarness) {
    let messages = engine.messages_of(JOB);
    let count = |kind: MessageKind| messages.iter().filter(|m| m.kind == kind).count();
    assert_eq!(
        count(MessageKind::EndOfTransfer),
        1,
        "[{case}] END_OF_TRANSFER messages"
    );
    assert_eq!(
        messages.last().map(|m| m.kind),
        Some(MessageKind::EndOfTransfer),
        "[{case}] the last transfer message"
    );
    let end_of_stream: Vec<(u32, Side)> = messages
        .iter()
        .filter(|m| m.kind == MessageKind::EndOfStream)
        .map(|m| (m.page, m.side))
        .collect();
    let duplex = case.source == Source::Duplex;
    match case.shape {
        Shape::PerPage => {
            let expected: Vec<(u32, Side)> = (1..=kept).map(|n| (n, side_of(n, duplex))).collect();
            assert_eq!(
                end_of_stream, expected,
                "[{case}] END_OF_STREAM messages (page, side)"
            );
            assert_eq!(count(MessageKind::NewPage), 0, "[{case}] NEW_PAGE messages");
        }
        Shape::Document(_) => {
            assert_eq!(
                end_of_stream.len(),
                usize::from(kept > 0),
                "[{case}] END_OF_STREAM messages of the document"
            );
            let in_progress = matches!(expect, Expect::Failed { mid_page: true, .. });
            let announced = kept + u32::from(in_progress);
            let new_pages: Vec<(u32, Side)> = messages
                .iter()
                .filter(|m| m.kind == MessageKind::NewPage)
                .map(|m| (m.page, m.side))
                .collect();
            let expected: Vec<(u32, Side)> =
                (1..=announced).map(|n| (n, side_of(n, duplex))).collect();
            assert_eq!(
                new_pages, expected,
                "[{case}] NEW_PAGE messages (page, side), none repeated for a retried page"
            );
        }
    }
}

/// The same job at the transfer level, in memory, through the shared
/// message-order checker (`run` panics on a violation).
fn transfer_case(case: &Case) {
    let dirs = Dirs::new();
    let mut driver = sim(
        &format!("warmup=0,{}", case.device_options()),
        &dirs.storage,
    );
    let mut callback = MemCallback::default();
    let options = RunOptions {
        handler: case.interactive.then(ScriptedHandler::retry_errors),
        timeout: NO_DATA_TIMEOUT,
        ..RunOptions::default()
    };
    let settings = case.settings();
    let run = run(
        &mut driver,
        case.source.item_name(),
        &settings,
        &mut callback,
        options,
    );
    let streams = callback.completed().len();
    match (case.expect(), &run.result) {
        (Expect::Completed { pages, .. }, Ok(Outcome::Completed)) => {
            assert_eq!(
                run.totals.delivered, pages,
                "[{case}] transfer: pages delivered"
            );
            let expected = if settings.multipage {
                1
            } else {
                pages as usize
            };
            assert_eq!(streams, expected, "[{case}] transfer: completed streams");
        }
        (Expect::Failed { code, kept, .. }, Err(error)) => {
            assert_eq!(error.code, code, "[{case}] transfer: error code");
            assert_eq!(error.pages_completed, kept, "[{case}] transfer: pages kept");
            let expected = if settings.multipage {
                usize::from(kept > 0)
            } else {
                kept as usize
            };
            assert_eq!(streams, expected, "[{case}] transfer: completed streams");
        }
        (expect, result) => panic!("[{case}] transfer: expected {expect:?}, got {result:?}"),
    }
    assert_eq!(
        run.trace.delivered_pages().len() as u32,
        run.totals.delivered,
        "[{case}] transfer: pages the trace shows delivered"
    );
}

#[test]
fn jam() {
    matrix(Fault::Jam);
}

#[test]
fn multifeed() {
    matrix(Fault::MultiFeed);
}

#[test]
fn cover_open() {
    matrix(Fault::CoverOpen);
}

#[test]
fn empty() {
    matrix(Fault::Empty);
}

#[test]
fn disconnect() {
    matrix(Fault::Disconnect);
}

#[test]
fn hang() {
    matrix(Fault::Hang);
}

#[test]
fn busy() {
    matrix(Fault::Busy);
}

/// Runs a plain feeder job through the engine and returns its result and
/// the decoded pages' index strips.
fn feeder_job(
    sheets: u32,
    source: Source,
    asked: u32,
    shape: Shape,
) -> (Result<JobSummary, TransferError>, Vec<(u32, Side)>, String) {
    let dirs = Dirs::new();
    let device = sim_id(&format!("pages={sheets},speed=25"), &dirs.storage);
    let format = match shape {
        Shape::PerPage => FileFormat::Png,
        Shape::Document(format) => format,
    };
    let case = format!("{sheets} sheets, {} pages asked, {shape:?}", asked);
    let output = match shape {
        Shape::PerPage => files_output(&dirs.out, "page-{n}.png"),
        Shape::Document(format) => OutputTarget::Document {
            path: dirs.out.join(format!("doc.{}", format.extension())),
            overwrite: false,
        },
    };
    let settings = ScanSettings {
        source,
        dpi: DPI,
        mode: ColorMode::Gray,
        pages: asked,
        format,
        ..ScanSettings::default()
    };
    let mut engine = EngineHarness::start(|_| {});
    engine.send(Command::Scan {
        job: JOB,
        device,
        settings,
        output,
        interactive: false,
    });
    let result = engine.finish(JOB);
    let kept = match &result {
        Ok(summary) => summary.totals.delivered,
        Err(_) => 0,
    };
    let probe = Case {
        fault: Fault::Busy,
        k: None,
        source,
        shape,
        interactive: false,
        mode: ColorMode::Gray,
        size: PageSize::A4,
    };
    let strips = decode_output(&probe, &dirs.out, kept)
        .iter()
        .map(|p| {
            let s = read_strip(p).unwrap_or_else(|e| panic!("[{case}] {e}"));
            (s.page, s.side)
        })
        .collect();
    (result, strips, case)
}

#[test]
fn a_feeder_that_runs_out_ends_with_end_of_media() {
    for (source, sides) in [(Source::Feeder, 1), (Source::Duplex, 2)] {
        for shape in [
            Shape::PerPage,
            Shape::Document(FileFormat::Tiff),
            Shape::Document(FileFormat::Pdf),
        ] {
            let (result, strips, case) = feeder_job(2, source, 5, shape);
            let case = format!("{} {case}", source.as_str());
            let delivered = 2 * sides;
            match result {
                Ok(summary) => {
                    assert_eq!(
                        summary.outcome,
                        Outcome::EndOfMedia { pages: delivered },
                        "[{case}] outcome"
                    );
                    assert_eq!(summary.totals.delivered, delivered, "[{case}] delivered");
                }
                Err(e) => panic!("[{case}] the job failed: {e:?}"),
            }
            let expected: Vec<(u32, Side)> = (1..=delivered)
                .map(|n| (n, side_of(n, source == Source::Duplex)))
                .collect();
            assert_eq!(strips, expected, "[{case}] pages in the output");
        }
    }
}

#[test]
fn pages_zero_scans_until_the_feeder_is_empty() {
    for (source, sides) in [(Source::Feeder, 1), (Source::Duplex, 2)] {
        for shape in [Shape::PerPage, Shape::Document(FileFormat::Pdf)] {
            let (result, strips, case) = feeder_job(3, source, 0, shape);
            let case = format!("{} {case}", source.as_str());
            let delivered = 3 * sides;
            match result {
                Ok(summary) => {
                    assert_eq!(summary.outcome, Outcome::Completed, "[{case}] outcome");
                    assert_eq!(summary.totals.delivered, delivered, "[{case}] delivered");
                }
                Err(e) => panic!("[{case}] the job failed: {e:?}"),
            }
            let expected: Vec<(u32, Side)> = (1..=delivered)
                .map(|n| (n, side_of(n, source == Source::Duplex)))
                .collect();
            assert_eq!(strips, expected, "[{case}] pages in the output");
        }
    }
}
