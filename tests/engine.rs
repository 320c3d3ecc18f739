//! The engine's own behaviour, driven through `Command`s and observed
//! through `Event`s on a virtual clock: event order, concurrency across
//! devices and queueing per device, the ways to cancel, questions to a
//! person, throttled progress, preview bands, statistics, the no-data
//! timeout, uploads, downloads and item listings.
//!
//! Nothing here waits on wall-clock time: points inside a job are reached
//! by holding its worker after an event (see `support::Gate`), and
//! `recv_timeout` only detects a hung engine.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use streamscan::clock::Clock;
use streamscan::device::sim::render::{PageSpec, render_page};
use streamscan::engine::{Command, DeviceStats, Event, JobId, JobSummary, OutputTarget, Stage};
use streamscan::output::FileFormat;
use streamscan::transfer::{
    ColorMode, MessageKind, Outcome, ScanSettings, Side, Source, StatusAnswer, StatusCode,
    TransferError,
};
use support::*;

/// Pixels of an A4 page at 75 dpi.
const PAGE_PIXELS: (u32, u32) = (620, 877);

/// Feeder settings: `pages` pages (0: all) in gray at 75 dpi.
fn feeder(pages: u32, format: FileFormat) -> ScanSettings {
    ScanSettings {
        source: Source::Feeder,
        dpi: 75,
        mode: ColorMode::Gray,
        pages,
        format,
        ..ScanSettings::default()
    }
}

/// One PNG per page in `dir`.
fn png_files(dir: &Path) -> OutputTarget {
    files_output(dir, "page-{n}.png")
}

fn scan(
    job: JobId,
    device: &str,
    settings: ScanSettings,
    output: OutputTarget,
    interactive: bool,
) -> Command {
    Command::Scan {
        job,
        device: device.to_string(),
        settings,
        output,
        interactive,
    }
}

/// The summary of a job that must have succeeded.
fn summary(what: &str, result: Result<JobSummary, TransferError>) -> JobSummary {
    result.unwrap_or_else(|e| panic!("{what}: the job failed: {e:?}"))
}

/// The error of a job that must have failed.
fn failure(what: &str, result: Result<JobSummary, TransferError>) -> TransferError {
    match result {
        Ok(s) => panic!("{what}: the job should have failed, it ended {s:?}"),
        Err(e) => e,
    }
}

/// Index of the first logged event satisfying `matches`.
fn position(log: &[Event], what: &str, matches: impl Fn(&Event) -> bool) -> usize {
    log.iter()
        .position(matches)
        .unwrap_or_else(|| panic!("no {what} among the events"))
}

/// Checks that `dir` holds exactly the index-stripped pages `1..=pages`.
fn assert_png_pages(what: &str, dir: &Path, pages: u32) {
    let expected: Vec<String> = (1..=pages).map(|n| format!("page-{n}.png")).collect();
    assert_eq!(
        dir_names(dir),
        expected,
        "{what}: files in the output directory"
    );
    for n in 1..=pages {
        let bytes = std::fs::read(dir.join(format!("page-{n}.png"))).expect("page file");
        let strip = read_strip(&decode(&bytes)).unwrap_or_else(|e| panic!("{what}: page {n}: {e}"));
        assert_eq!(
            (strip.page, strip.side),
            (n, Side::Front),
            "{what}: page {n}"
        );
    }
}

/// Answers the question of `job` with `answer`.
fn answer(engine: &EngineHarness, job: JobId, question: u64, answer: StatusAnswer) {
    engine.send(Command::Answer {
        job,
        question,
        answer,
    });
}

/// Waits for the first question of `job`; returns its id and status code.
fn question_of(engine: &mut EngineHarness, job: JobId) -> (u64, StatusCode) {
    match engine.until(
        &format!("a question of job {job}"),
        |e| matches!(e, Event::Question { job: j, .. } if *j == job),
    ) {
        Event::Question {
            question, status, ..
        } => (question, status.code),
        _ => unreachable!("until returns a matching event"),
    }
}

fn is_status_of_page(event: &Event, job: JobId, page: u32) -> bool {
    matches!(event, Event::Transfer { job: j, message }
        if *j == job && message.kind == MessageKind::Status && message.page == page)
}

#[test]
fn a_job_starts_first_and_finishes_last_exactly_once() {
    let dirs = Dirs::new();
    let device = sim_id("pages=2,speed=25", &dirs.storage);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        false,
    ));
    let done = summary("job 1", engine.finish(1));
    assert_eq!(done.outcome, Outcome::Completed);
    // A later job on the same device starts only after job 1 is over; once
    // it has finished, job 1 cannot have sent anything more unseen.
    engine.send(Command::ListItems {
        job: 2,
        device: device.clone(),
    });
    summary("job 2", engine.finish(2));

    let events = engine.framed_events_of(1, "job 1");
    assert!(
        matches!(events.first(), Some(Event::JobStarted { device: d, .. }) if *d == device),
        "first event: {:?}",
        events.first()
    );

    // Per page: PageStarted, its preview, END_OF_STREAM, PageDone; then
    // END_OF_TRANSFER as the last transfer message, before JobFinished.
    let log: Vec<Event> = events.into_iter().cloned().collect();
    let mut after = 0;
    for page in 1..=2u32 {
        let start = position(
            &log,
            "PageStarted",
            |e| matches!(e, Event::PageStarted { page: p, .. } if *p == page),
        );
        let preview = position(
            &log,
            "Preview",
            |e| matches!(e, Event::Preview { band, .. } if band.page == page),
        );
        let eos = position(
            &log,
            "END_OF_STREAM",
            |e| matches!(e, Event::Transfer { message, .. } if message.kind == MessageKind::EndOfStream && message.page == page),
        );
        let done = position(
            &log,
            "PageDone",
            |e| matches!(e, Event::PageDone { page: p, .. } if *p == page),
        );
        assert!(
            after < start && start < preview && preview < eos && eos < done,
            "page {page}: PageStarted {start}, Preview {preview}, END_OF_STREAM {eos}, PageDone {done} after {after}"
        );
        after = done;
    }
    let eot = position(
        &log,
        "END_OF_TRANSFER",
        |e| matches!(e, Event::Transfer { message, .. } if message.kind == MessageKind::EndOfTransfer),
    );
    let last_transfer = log
        .iter()
        .rposition(|e| matches!(e, Event::Transfer { .. }))
        .expect("transfer messages");
    assert_eq!(
        eot, last_transfer,
        "END_OF_TRANSFER is the last transfer message"
    );
    assert!(after < eot && eot < log.len() - 1);
}

#[test]
fn jobs_on_two_devices_run_at_the_same_time() {
    let (a, b) = (Dirs::new(), Dirs::new());
    let device_a = sim_id("pages=2,speed=25,fault=coveropen@1", &a.storage);
    let device_b = sim_id("pages=2,speed=25", &b.storage);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(scan(
        1,
        &device_a,
        feeder(0, FileFormat::Png),
        png_files(&a.out),
        true,
    ));
    // Job 1 now waits for a person, in the middle of its first page.
    let (question, code) = question_of(&mut engine, 1);
    assert_eq!(code, StatusCode::COVER_OPEN);
    engine.send(scan(
        2,
        &device_b,
        feeder(0, FileFormat::Png),
        png_files(&b.out),
        false,
    ));
    let second = summary("job 2 on device B", engine.finish(2));
    assert_eq!(second.outcome, Outcome::Completed);
    assert_eq!(second.totals.delivered, 2);
    assert!(
        !engine
            .log
            .iter()
            .any(|e| matches!(e, Event::JobFinished { job: 1, .. })),
        "job 1 must still be waiting for its answer"
    );
    assert!(
        !engine
            .log
            .iter()
            .any(|e| matches!(e, Event::JobQueued { .. })),
        "jobs on different devices never queue"
    );
    answer(&engine, 1, question, StatusAnswer::Handled);
    let first = summary("job 1 on device A", engine.finish(1));
    assert_eq!(first.outcome, Outcome::Completed);
    assert_png_pages("device A", &a.out, 2);
    assert_png_pages("device B", &b.out, 2);
}

#[test]
fn a_second_job_for_the_same_device_queues_and_starts_after_the_first() {
    let dirs = Dirs::new();
    let (out2, out3) = (dirs.root.path().join("out2"), dirs.root.path().join("out3"));
    std::fs::create_dir(&out2).expect("dir");
    std::fs::create_dir(&out3).expect("dir");
    let device = sim_id("pages=1,speed=25,fault=coveropen@1", &dirs.storage);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        true,
    ));
    let (question, _) = question_of(&mut engine, 1);
    engine.send(scan(
        2,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&out2),
        true,
    ));
    match engine.until("JobQueued of job 2", |e| {
        matches!(e, Event::JobQueued { job: 2, .. })
    }) {
        Event::JobQueued {
            device: d, ahead, ..
        } => {
            assert_eq!(d, device);
            assert_eq!(ahead, 1, "one job ahead of job 2 (the running one)");
        }
        _ => unreachable!(),
    }
    engine.send(scan(
        3,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&out3),
        true,
    ));
    match engine.until("JobQueued of job 3", |e| {
        matches!(e, Event::JobQueued { job: 3, .. })
    }) {
        Event::JobQueued { ahead, .. } => assert_eq!(ahead, 2, "two jobs ahead of job 3"),
        _ => unreachable!(),
    }
    answer(&engine, 1, question, StatusAnswer::Handled);
    for job in 1..=3 {
        let done = summary(
            &format!("job {job}"),
            engine.finish_answering(job, |_| StatusAnswer::Handled),
        );
        assert_eq!(done.outcome, Outcome::Completed, "job {job}");
    }
    let at = |what: &str, m: &dyn Fn(&Event) -> bool| position(&engine.log, what, m);
    let finished1 = at("JobFinished 1", &|e| {
        matches!(e, Event::JobFinished { job: 1, .. })
    });
    let started2 = at("JobStarted 2", &|e| {
        matches!(e, Event::JobStarted { job: 2, .. })
    });
    let finished2 = at("JobFinished 2", &|e| {
        matches!(e, Event::JobFinished { job: 2, .. })
    });
    let started3 = at("JobStarted 3", &|e| {
        matches!(e, Event::JobStarted { job: 3, .. })
    });
    assert!(
        finished1 < started2,
        "job 2 started ({started2}) before job 1 finished ({finished1})"
    );
    assert!(
        finished2 < started3,
        "job 3 started ({started3}) before job 2 finished ({finished2})"
    );
    for dir in [&dirs.out, &out2, &out3] {
        assert_png_pages("queued jobs", dir, 1);
    }
}

/// Cancels (or stops after the page) a held job in the middle of page 2,
/// and makes sure the engine took the command before the job goes on.
fn interrupt_in_page_two(
    engine: &mut EngineHarness,
    job: JobId,
    command: Command,
    marker_storage: &Path,
) {
    engine.step_until(job, "STATUS of page 2", |e| is_status_of_page(e, job, 2));
    engine.send(command);
    // The coordinator handles commands in order: once a later command's job
    // has finished, the first one has been applied.
    let marker = job + 1000;
    engine.send(Command::ListItems {
        job: marker,
        device: sim_id("", marker_storage),
    });
    summary("the marker job", engine.finish(marker));
    engine.gate.release(job);
}

#[test]
fn cancel_of_a_running_job_keeps_completed_pages_and_frees_the_device() {
    let dirs = Dirs::new();
    let out2 = dirs.root.path().join("out2");
    std::fs::create_dir(&out2).expect("dir");
    let marker = Dirs::new();
    let device = sim_id("pages=4,speed=25", &dirs.storage);
    let mut engine = EngineHarness::start(|_| {});
    engine.gate.hold(1);
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        false,
    ));
    // The next job of the device waits behind job 1.
    engine.send(scan(
        2,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&out2),
        false,
    ));
    interrupt_in_page_two(&mut engine, 1, Command::Cancel { job: 1 }, &marker.storage);
    let cancelled = summary("job 1", engine.finish(1));
    assert_eq!(cancelled.outcome, Outcome::Cancelled);
    assert_eq!(
        cancelled.totals.delivered, 1,
        "page 1 was complete before the cancel"
    );
    assert_eq!(cancelled.files, vec![dirs.out.join("page-1.png")]);
    assert!(
        engine
            .events_of(1)
            .iter()
            .any(|e| matches!(e, Event::PageAbandoned { page: 2, .. })),
        "page 2 is abandoned"
    );
    assert_png_pages("cancelled job", &dirs.out, 1);
    let next = summary("job 2 after the cancel", engine.finish(2));
    assert_eq!(next.outcome, Outcome::Completed);
    assert_png_pages("job after the cancel", &out2, 4);
}

#[test]
fn cancel_of_a_queued_job_finishes_it_without_starting_it() {
    let dirs = Dirs::new();
    let out2 = dirs.root.path().join("out2");
    std::fs::create_dir(&out2).expect("dir");
    let device = sim_id("pages=1,speed=25,fault=coveropen@1", &dirs.storage);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        true,
    ));
    let (question, _) = question_of(&mut engine, 1);
    engine.send(scan(
        2,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&out2),
        true,
    ));
    engine.until("JobQueued of job 2", |e| {
        matches!(e, Event::JobQueued { job: 2, .. })
    });
    engine.send(Command::Cancel { job: 2 });
    let cancelled = summary("queued job 2", engine.finish(2));
    assert_eq!(cancelled.outcome, Outcome::Cancelled);
    assert_eq!(cancelled.totals.delivered, 0);
    assert!(cancelled.files.is_empty());
    answer(&engine, 1, question, StatusAnswer::Handled);
    summary("job 1", engine.finish(1));
    // A later job of the device runs; job 2 would have run before it.
    engine.send(Command::ListItems {
        job: 3,
        device: device.clone(),
    });
    summary("job 3", engine.finish(3));
    let kinds: Vec<&str> = engine
        .events_of(2)
        .iter()
        .map(|e| match e {
            Event::JobQueued { .. } => "JobQueued",
            Event::JobFinished { .. } => "JobFinished",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["JobQueued", "JobFinished"],
        "events of the cancelled queued job"
    );
    assert!(
        dir_names(&out2).is_empty(),
        "the cancelled job wrote nothing"
    );
}

#[test]
fn stop_after_page_completes_the_current_page_and_keeps_it() {
    for document in [false, true] {
        let what = if document {
            "multipage PDF"
        } else {
            "one PNG per page"
        };
        let dirs = Dirs::new();
        let marker = Dirs::new();
        let device = sim_id("pages=4,speed=25", &dirs.storage);
        let doc = dirs.out.join("doc.pdf");
        let (format, output) = if document {
            (
                FileFormat::Pdf,
                OutputTarget::Document {
                    path: doc.clone(),
                    overwrite: false,
                },
            )
        } else {
            (FileFormat::Png, png_files(&dirs.out))
        };
        let mut engine = EngineHarness::start(|_| {});
        engine.gate.hold(1);
        engine.send(scan(1, &device, feeder(0, format), output, false));
        interrupt_in_page_two(
            &mut engine,
            1,
            Command::StopAfterPage { job: 1 },
            &marker.storage,
        );
        let stopped = summary(what, engine.finish(1));
        assert_eq!(stopped.outcome, Outcome::Cancelled, "{what}");
        assert_eq!(
            stopped.totals.delivered, 2,
            "{what}: page 2 completes, page 3 never starts"
        );
        assert_eq!(stopped.totals.abandoned, 0, "{what}: nothing abandoned");
        assert!(
            !engine
                .events_of(1)
                .iter()
                .any(|e| matches!(e, Event::PageStarted { page: 3, .. })),
            "{what}: page 3 must not start"
        );
        if document {
            assert_eq!(dir_names(&dirs.out), ["doc.pdf"], "{what}");
            assert_eq!(pdf_page_count(&doc), Ok(2), "{what}");
            let strips: Vec<u32> = pdf_pages(&doc, 75)
                .expect("readable PDF")
                .iter()
                .map(|p| read_strip(p).expect("strip").page)
                .collect();
            assert_eq!(strips, [1, 2], "{what}");
        } else {
            assert_png_pages(what, &dirs.out, 2);
        }
    }
}

#[test]
fn a_question_answered_cancel_cancels_and_not_handled_fails() {
    for (reply, expect_error) in [
        (StatusAnswer::Cancel, false),
        (StatusAnswer::NotHandled, true),
    ] {
        let what = format!("answer {reply:?}");
        let dirs = Dirs::new();
        let device = sim_id("pages=3,speed=25,fault=coveropen@2", &dirs.storage);
        let mut engine = EngineHarness::start(|_| {});
        engine.send(scan(
            1,
            &device,
            feeder(0, FileFormat::Png),
            png_files(&dirs.out),
            true,
        ));
        let (question, code) = question_of(&mut engine, 1);
        assert_eq!(code, StatusCode::COVER_OPEN, "{what}");
        answer(&engine, 1, question, reply);
        let result = engine.finish(1);
        if expect_error {
            let error = failure(&what, result);
            assert_eq!(error.code, StatusCode::COVER_OPEN, "{what}");
            assert_eq!(error.pages_completed, 1, "{what}");
        } else {
            let done = summary(&what, result);
            assert_eq!(done.outcome, Outcome::Cancelled, "{what}");
            assert_eq!(done.totals.delivered, 1, "{what}");
        }
        assert!(
            engine
                .events_of(1)
                .iter()
                .any(|e| matches!(e, Event::QuestionClosed { question: q, .. } if *q == question)),
            "{what}: the question is closed"
        );
        assert_png_pages(&what, &dirs.out, 1);
    }
}

#[test]
fn a_cancel_wakes_a_job_waiting_for_an_answer() {
    let dirs = Dirs::new();
    let device = sim_id("pages=3,speed=25,fault=coveropen@2", &dirs.storage);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        true,
    ));
    let (question, _) = question_of(&mut engine, 1);
    engine.send(Command::Cancel { job: 1 });
    // No answer is ever sent: only the cancel can end the wait.
    let done = summary("cancelled while asking", engine.finish(1));
    assert_eq!(done.outcome, Outcome::Cancelled);
    assert_eq!(done.totals.delivered, 1);
    assert!(
        engine
            .events_of(1)
            .iter()
            .any(|e| matches!(e, Event::QuestionClosed { question: q, .. } if *q == question)),
        "the question is closed"
    );
    assert_png_pages("cancelled while asking", &dirs.out, 1);
}

#[test]
fn progress_events_are_throttled_but_every_page_has_one() {
    let dirs = Dirs::new();
    let device = sim_id("pages=3,speed=25", &dirs.storage);
    let mut engine = EngineHarness::start(|c| c.progress_interval = Duration::from_secs(1));
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        false,
    ));
    summary("job", engine.finish(1));
    let statuses = engine
        .messages_of(1)
        .iter()
        .filter(|m| m.kind == MessageKind::Status)
        .count();
    let progress: Vec<(u32, i32)> = engine
        .events_of(1)
        .iter()
        .filter_map(|e| match e {
            Event::Progress { progress, .. } => Some((progress.page, progress.percent)),
            _ => None,
        })
        .collect();
    let last = engine
        .events_of(1)
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Progress { progress, .. } => Some(*progress),
            _ => None,
        })
        .expect("progress events");
    // The virtual scanner feeds 25 pages a minute, on the virtual clock.
    assert!(
        (24.0..27.0).contains(&last.pages_per_minute),
        "pages per minute at the end: {last:?}"
    );
    assert_eq!((last.page, last.percent, last.pages_total), (3, 100, None));
    // 3 pages of 2.4 s each: a progress event is due about once a second,
    // plus one forced at every page change and end of stream; the device
    // sends 29 STATUS messages a page.
    assert!(
        progress.len() * 4 < statuses,
        "{} progress events for {statuses} STATUS messages: not throttled ({progress:?})",
        progress.len()
    );
    for page in 1..=3 {
        assert!(
            progress.iter().any(|(p, _)| *p == page),
            "no progress event for page {page}: {progress:?}"
        );
    }
}

/// A page's number, its announced preview size and the preview rows seen.
type PreviewPage = (u32, (u32, Option<u32>), Vec<u8>);

#[test]
fn preview_bands_cover_every_row_once_and_show_the_page() {
    let dirs = Dirs::new();
    let device = sim_id("pages=2,speed=25", &dirs.storage);
    // 620 pixels wide into at most 155: a factor of 4.
    let mut engine = EngineHarness::start(|c| c.preview_width = 155);
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        false,
    ));
    // Per page: its number, the announced preview size, the preview rows.
    let mut pages: Vec<PreviewPage> = Vec::new();
    let mut next_row = 0;
    loop {
        match engine.next("preview of job 1") {
            Event::PageStarted {
                page,
                side,
                header,
                preview_size,
                ..
            } => {
                assert_eq!(side, Side::Front);
                assert_eq!(
                    (header.width, header.height),
                    (PAGE_PIXELS.0, Some(PAGE_PIXELS.1))
                );
                assert_eq!(preview_size, (155, Some(220)), "page {page}");
                pages.push((page, preview_size, Vec::new()));
                next_row = 0;
            }
            Event::Preview { band, .. } => {
                let (page, size, rgb) = pages.last_mut().expect("PageStarted before Preview");
                assert_eq!(band.page, *page);
                assert_eq!(
                    band.first_row, next_row,
                    "page {page}: bands in order, no row twice"
                );
                assert_eq!(band.width, size.0);
                assert!(
                    band.rows > 0 && Some(band.rows) < size.1,
                    "page {page}: band of {} rows",
                    band.rows
                );
                assert_eq!(band.rgb.len(), (band.rows * band.width * 3) as usize);
                next_row += band.rows;
                rgb.extend_from_slice(&band.rgb);
            }
            Event::PageDone { page, path, .. } => {
                let path = path.unwrap_or_else(|| panic!("PageDone of page {page} names no file"));
                assert_eq!(path, dirs.out.join(format!("page-{page}.png")));
                assert!(
                    path.is_file(),
                    "{} exists when PageDone arrives",
                    path.display()
                );
                assert_eq!(next_row, 220, "page {page}: every preview row arrived");
            }
            Event::JobFinished { result, .. } => {
                summary("preview job", result);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(pages.len(), 2);
    for (page, (width, height), rgb) in &pages {
        let rendered = render_page(&PageSpec {
            number: *page,
            side: Side::Front,
            seed: 1,
            dpi: 75,
            mode: ColorMode::Gray,
            ..PageSpec::default()
        })
        .page;
        let (w, h, expected) = box_downscale(&rendered, 4);
        assert_eq!((w, Some(h)), (*width, *height));
        assert_eq!(rgb.len(), expected.len(), "page {page}: preview bytes");
        // Some points across the page (strip, text, photo, margins), then
        // every pixel within rounding.
        for (x, y) in [(0, 0), (20, 5), (77, 60), (120, 110), (154, 219), (60, 200)] {
            let at = ((y * w + x) * 3) as usize;
            assert_eq!(
                &rgb[at..at + 3],
                &expected[at..at + 3],
                "page {page}: preview pixel ({x}, {y})"
            );
        }
        let off = rgb
            .iter()
            .zip(&expected)
            .filter(|(a, b)| a.abs_diff(**b) > 1)
            .count();
        assert_eq!(
            off, 0,
            "page {page}: preview samples differing from the box-downscaled page"
        );
    }
}

#[test]
fn stats_count_acquisitions_and_bytes_per_device() {
    let (a, unused) = (Dirs::new(), Dirs::new());
    let device = sim_id("pages=2,speed=25", &a.storage);
    let other = sim_id("pages=2,speed=25", &unused.storage);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&a.out),
        false,
    ));
    summary("job", engine.finish(1));
    let page_bytes = u64::from(PAGE_PIXELS.0 * PAGE_PIXELS.1);
    let stats = engine.engine.stats().device(&device);
    assert_eq!(stats.acquisitions, 1, "{stats:?}");
    assert_eq!(
        stats.bytes_read,
        2 * page_bytes,
        "two gray pages: {stats:?}"
    );
    assert_eq!(stats.uploads, 0);
    assert_eq!(engine.engine.stats().device(&other), DeviceStats::default());
    assert_eq!(engine.engine.stats().total(), stats);
}

#[test]
fn a_silent_device_times_out_after_the_no_data_timeout() {
    let dirs = Dirs::new();
    let device = sim_id("pages=2,speed=25,fault=hang@1", &dirs.storage);
    let mut engine = EngineHarness::start(|c| c.no_data_timeout = Duration::from_secs(30));
    engine.gate.hold(1);
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        false,
    ));
    // The worker is held after every event, so the virtual clock reads the
    // time each event was sent.
    let mut last_status = None;
    let finished_at;
    loop {
        let event = engine.next("job 1");
        if event.job() != 1 {
            continue;
        }
        let now = engine.clock.now();
        match &event {
            Event::Transfer { message, .. } if message.kind == MessageKind::Status => {
                last_status = Some(now);
            }
            Event::JobFinished { result, .. } => {
                let error = failure("hang", result.clone());
                assert_eq!(
                    error.code,
                    StatusCode::DEVICE_COMMUNICATION,
                    "{}",
                    error.message
                );
                assert_eq!(error.pages_completed, 0);
                finished_at = now;
                break;
            }
            _ => {}
        }
        engine.gate.step(1);
    }
    let last_status = last_status.expect("page 1 sent some rows before it hung");
    let silence = finished_at - last_status;
    assert!(
        silence.abs_diff(Duration::from_secs(30)) < Duration::from_millis(1),
        "the job failed {silence:?} after the device's last activity"
    );
    assert!(
        dir_names(&dirs.out).is_empty(),
        "nothing of the hung page stays"
    );
}

#[test]
fn warm_up_statuses_keep_a_job_alive_past_a_short_timeout() {
    let dirs = Dirs::new();
    let device = sim_id("pages=2,speed=25,warmup=2", &dirs.storage);
    let mut engine = EngineHarness::start(|c| c.no_data_timeout = Duration::from_secs(1));
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        false,
    ));
    let done = summary("warm-up with a 1 s timeout", engine.finish(1));
    assert_eq!(done.outcome, Outcome::Completed);
    assert!(
        engine.clock.now() > Duration::from_secs(2),
        "the warm-up alone lasts longer than the timeout"
    );
    let warming = engine
        .events_of(1)
        .iter()
        .filter(|e| matches!(e, Event::DeviceStatus { status, .. } if status.code == StatusCode::WARMING_UP))
        .count();
    assert!(warming >= 10, "{warming} WARMING_UP statuses");
    assert!(
        engine.events_of(1).iter().any(|e| matches!(
            e,
            Event::Progress { progress, .. } if matches!(progress.stage, Stage::WarmingUp(_))
        )),
        "a warming-up progress event"
    );
    assert_png_pages("warm-up", &dirs.out, 2);
}

#[test]
fn the_no_data_timer_is_paused_while_a_question_waits() {
    let dirs = Dirs::new();
    let device = sim_id("pages=2,speed=25,fault=coveropen@1", &dirs.storage);
    let mut engine = EngineHarness::start(|c| c.no_data_timeout = Duration::from_secs(30));
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        true,
    ));
    let (question, _) = question_of(&mut engine, 1);
    let before = engine.clock.now();
    engine.clock.advance(Duration::from_secs(100));
    answer(&engine, 1, question, StatusAnswer::Handled);
    let done = summary("a person took 100 s", engine.finish(1));
    assert_eq!(done.outcome, Outcome::Completed);
    assert!(engine.clock.now() >= before + Duration::from_secs(100));
    assert_png_pages("paused timer", &dirs.out, 2);
}

/// Writes `len` bytes of a recognisable pattern to `path`.
fn sample_file(path: &Path, len: usize, salt: u8) -> Vec<u8> {
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
        .collect();
    std::fs::write(path, &bytes).expect("sample file");
    bytes
}

/// One file of an upload: the item name and size stored, or the error.
type UploadResult = (PathBuf, Result<(String, u64), String>);

fn uploads_of(engine: &EngineHarness, job: JobId) -> Vec<UploadResult> {
    engine
        .events_of(job)
        .iter()
        .filter_map(|e| match e {
            Event::Uploaded { report, .. } => Some((
                report.file.clone(),
                report.result.clone().map(|(item, size)| (item.name, size)),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn uploads_store_each_file_in_the_device_storage() {
    let dirs = Dirs::new();
    let device = sim_id("", &dirs.storage);
    let a = dirs.root.path().join("notes.txt");
    let b = dirs.root.path().join("report.pdf");
    let bytes_a = sample_file(&a, 3000, 1);
    let bytes_b = sample_file(&b, 150_000, 2);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(Command::Upload {
        job: 1,
        device: device.clone(),
        files: vec![a.clone(), b.clone()],
        folder: String::from("Storage"),
    });
    let done = summary("upload", engine.finish(1));
    assert_eq!(done.outcome, Outcome::Completed);
    assert_eq!(done.totals.delivered, 2);
    assert_eq!(
        uploads_of(&engine, 1),
        vec![
            (a, Ok((String::from("notes.txt"), 3000))),
            (b, Ok((String::from("report.pdf"), 150_000))),
        ]
    );
    assert_eq!(dir_names(&dirs.storage), ["notes.txt", "report.pdf"]);
    assert_eq!(
        std::fs::read(dirs.storage.join("notes.txt")).expect("stored"),
        bytes_a
    );
    assert_eq!(
        std::fs::read(dirs.storage.join("report.pdf")).expect("stored"),
        bytes_b
    );
    assert_eq!(engine.engine.stats().device(&device).uploads, 2);
}

#[test]
fn an_upload_beyond_the_capacity_is_refused_as_storage_full() {
    let dirs = Dirs::new();
    let device = sim_id("capacity=4000", &dirs.storage);
    let small = dirs.root.path().join("small.bin");
    let big = dirs.root.path().join("big.bin");
    let bytes_small = sample_file(&small, 1000, 3);
    sample_file(&big, 5000, 4);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(Command::Upload {
        job: 1,
        device,
        files: vec![small.clone(), big.clone()],
        folder: String::from("Storage"),
    });
    summary("upload", engine.finish(1));
    let reports = uploads_of(&engine, 1);
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0], (small, Ok((String::from("small.bin"), 1000))));
    assert_eq!(reports[1].0, big);
    let error = reports[1].1.clone().expect_err("the storage is full");
    assert!(
        error.to_lowercase().contains("storage is full"),
        "the error names the full storage: {error}"
    );
    assert_eq!(
        dir_names(&dirs.storage),
        ["small.bin"],
        "nothing of the refused file stays"
    );
    assert_eq!(
        std::fs::read(dirs.storage.join("small.bin")).expect("stored"),
        bytes_small
    );
}

#[test]
fn a_download_gets_identical_bytes() {
    let dirs = Dirs::new();
    let device = sim_id("", &dirs.storage);
    let stored = sample_file(&dirs.storage.join("report.pdf"), 200_000, 5);
    let target = dirs.out.join("copy.pdf");
    let mut engine = EngineHarness::start(|_| {});
    engine.send(Command::Download {
        job: 1,
        device,
        item: String::from("Storage/report.pdf"),
        path: target.clone(),
        overwrite: false,
    });
    let done = summary("download", engine.finish(1));
    assert_eq!(done.outcome, Outcome::Completed);
    assert_eq!(done.files, vec![target.clone()]);
    assert_eq!(std::fs::read(&target).expect("downloaded"), stored);
    assert_eq!(dir_names(&dirs.out), ["copy.pdf"]);
    let messages = engine.messages_of(1);
    assert_eq!(
        messages
            .iter()
            .map(|m| m.kind)
            .filter(|k| *k != MessageKind::Status)
            .collect::<Vec<_>>(),
        [MessageKind::EndOfStream, MessageKind::EndOfTransfer]
    );
}

#[test]
fn list_items_shows_the_sources_and_the_storage() {
    let dirs = Dirs::new();
    let device = sim_id("", &dirs.storage);
    sample_file(&dirs.storage.join("a.png"), 10, 6);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(Command::ListItems { job: 1, device });
    let root = match engine.until("Items", |e| matches!(e, Event::Items { job: 1, .. })) {
        Event::Items { result, .. } => result.expect("the item tree"),
        _ => unreachable!(),
    };
    let names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Flatbed", "Feeder", "Storage"]);
    let storage = root.find("Storage").expect("storage");
    let files: Vec<(&str, Option<u64>)> = storage
        .children
        .iter()
        .map(|c| (c.name.as_str(), c.size))
        .collect();
    assert_eq!(files, [("a.png", Some(10))]);
    let done = summary("list", engine.finish(1));
    assert_eq!(done.outcome, Outcome::Completed);
}

#[test]
fn a_cancel_wakes_a_device_that_stopped_responding() {
    let dirs = Dirs::new();
    let marker = Dirs::new();
    let device = sim_id("pages=2,speed=25,fault=hang@2", &dirs.storage);
    // Without a no-data timeout only a cancel ends the device's silence.
    let mut engine = EngineHarness::start(|c| c.no_data_timeout = Duration::MAX);
    engine.gate.hold(1);
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        false,
    ));
    engine.step_until(1, "STATUS of page 2", |e| is_status_of_page(e, 1, 2));
    engine.gate.release(1);
    // Page 2 hangs half-way; whether the job is already waiting or not,
    // the cancel must end it.
    engine.send(Command::Cancel { job: 1 });
    let done = summary("cancelled while the device is silent", engine.finish(1));
    assert_eq!(done.outcome, Outcome::Cancelled);
    assert_eq!(done.totals.delivered, 1);
    assert_png_pages("hung device", &dirs.out, 1);
    // The device is usable again.
    engine.send(Command::ListItems {
        job: 2,
        device: sim_id("", &marker.storage),
    });
    summary("next job", engine.finish(2));
}

#[test]
fn commands_for_a_finished_job_change_nothing() {
    let dirs = Dirs::new();
    let device = sim_id("pages=1,speed=25", &dirs.storage);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(scan(
        1,
        &device,
        feeder(0, FileFormat::Png),
        png_files(&dirs.out),
        false,
    ));
    summary("job 1", engine.finish(1));
    engine.send(Command::Cancel { job: 1 });
    engine.send(Command::StopAfterPage { job: 1 });
    engine.send(Command::Answer {
        job: 1,
        question: 1,
        answer: StatusAnswer::Handled,
    });
    engine.send(Command::ListItems { job: 2, device });
    summary("job 2", engine.finish(2));
    let finished = engine
        .events_of(1)
        .iter()
        .filter(|e| matches!(e, Event::JobFinished { .. }))
        .count();
    assert_eq!(finished, 1, "job 1 finished once");
    assert!(matches!(
        engine.events_of(1).last(),
        Some(Event::JobFinished { .. })
    ));
}

#[test]
fn many_jobs_on_many_devices_all_finish_in_queue_order() {
    const DEVICES: usize = 5;
    const JOBS_PER_DEVICE: u64 = 3;
    let dirs: Vec<Dirs> = (0..DEVICES).map(|_| Dirs::new()).collect();
    let devices: Vec<String> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            // Every other device asks a person about its cover each job.
            let fault = if i % 2 == 0 { ",fault=coveropen@1" } else { "" };
            sim_id(&format!("pages=2,speed=25{fault}"), &d.storage)
        })
        .collect();
    let mut engine = EngineHarness::start(|_| {});
    let mut outputs = Vec::new();
    for round in 0..JOBS_PER_DEVICE {
        for (i, device) in devices.iter().enumerate() {
            let job = round * 100 + i as u64 + 1;
            let out = dirs[i].root.path().join(format!("job-{job}"));
            std::fs::create_dir(&out).expect("dir");
            engine.send(scan(
                job,
                device,
                feeder(0, FileFormat::Png),
                png_files(&out),
                true,
            ));
            outputs.push((job, i, out));
        }
    }
    let mut unfinished: Vec<JobId> = outputs.iter().map(|(job, ..)| *job).collect();
    while !unfinished.is_empty() {
        match engine.next("the jobs on many devices") {
            Event::Question { job, question, .. } => {
                answer(&engine, job, question, StatusAnswer::Handled);
            }
            Event::JobFinished { job, result } => {
                let done = summary(&format!("job {job}"), result);
                assert_eq!(done.outcome, Outcome::Completed, "job {job}");
                unfinished.retain(|j| *j != job);
            }
            _ => {}
        }
    }
    for (job, _, out) in &outputs {
        assert_png_pages(&format!("job {job}"), out, 2);
    }
    for (i, device) in devices.iter().enumerate() {
        let jobs: Vec<JobId> = (0..JOBS_PER_DEVICE)
            .map(|r| r * 100 + i as u64 + 1)
            .collect();
        // Started in the order they were sent, each after the previous ended.
        let mut previous_end = None;
        for &job in &jobs {
            let start = position(
                &engine.log,
                "JobStarted",
                |e| matches!(e, Event::JobStarted { job: j, .. } if *j == job),
            );
            if let Some(end) = previous_end {
                assert!(
                    end < start,
                    "{device}: job {job} started before the previous job ended"
                );
            }
            previous_end = Some(position(
                &engine.log,
                "JobFinished",
                |e| matches!(e, Event::JobFinished { job: j, .. } if *j == job),
            ));
        }
        let stats = engine.engine.stats().device(device);
        assert_eq!(stats.acquisitions, JOBS_PER_DEVICE, "{device}");
    }
}

#[test]
fn a_document_in_a_single_page_format_never_overwrites_its_own_pages() {
    // A PNG cannot hold several pages: the second page of a feeder job
    // must not silently replace the first in the same file.
    for overwrite in [false, true] {
        let what = format!("doc.png, overwrite {overwrite}");
        let dirs = Dirs::new();
        let device = sim_id("pages=3,speed=25", &dirs.storage);
        let path = dirs.out.join("doc.png");
        let mut engine = EngineHarness::start(|_| {});
        let output = OutputTarget::Document {
            path: path.clone(),
            overwrite,
        };
        engine.send(scan(1, &device, feeder(0, FileFormat::Png), output, false));
        let error = failure(&what, engine.finish(1));
        assert_eq!(
            error.code,
            StatusCode::DESTINATION,
            "{what}: {}",
            error.message
        );
        assert_eq!(error.pages_completed, 1, "{what}: {}", error.message);
        assert!(
            error.message.contains(&path.display().to_string()),
            "{what}: the error names the document: {}",
            error.message
        );
        assert_eq!(dir_names(&dirs.out), ["doc.png"], "{what}");
        let bytes = std::fs::read(&path).expect("the document");
        let strip = read_strip(&decode(&bytes)).expect("index strip");
        assert_eq!(strip.page, 1, "{what}: the file keeps page 1");
    }
}
