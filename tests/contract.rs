//! The transfer contract (`shared/design/wia-transfers.md`), one test per
//! rule, each named after it. Every run goes through the shared
//! message-order checker (`support::run`, or `support::check_trace` where a
//! test drives a `Transfer` by hand).

// Scripts are attached to a fresh callback right before the run they shape.
#![allow(clippy::field_reassign_with_default)]

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamscan::clock::{CancelToken, Clock, VirtualClock};
use streamscan::output::{FileFormat, salvage};
use streamscan::raster::{Page, PixelFormat};
use streamscan::transfer::codes::download_flags::ACQUIRE_CHILDREN;
use streamscan::transfer::{
    AcquireEnd, AcquireRequest, AcquireSink, Capabilities, DeviceInfo, DeviceStatus, Driver,
    DriverError, Flow, Item, MessageKind, Outcome, ScanSettings, Side, Source, StatusAnswer,
    StatusCode, StatusHandler, TraceEvent, Transfer, TransferOptions,
};
use support::*;

fn feeder(pages: u32) -> ScanSettings {
    ScanSettings {
        source: Source::Feeder,
        dpi: 75,
        pages,
        ..Default::default()
    }
}

fn multipage(pages: u32, format: FileFormat) -> ScanSettings {
    ScanSettings {
        multipage: true,
        format,
        ..feeder(pages)
    }
}

#[test]
fn stream_is_requested_before_the_first_byte_of_every_page() {
    let dir = tmp();
    let mut driver = sim("pages=3", dir.path());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    // Every STATUS of page n comes after the request for page n.
    let mut requested = 0;
    for event in &r.trace.events {
        match event {
            TraceEvent::StreamRequest { page, .. } => requested = *page,
            TraceEvent::Message { message, .. } if message.kind == MessageKind::Status => {
                assert_eq!(message.page, requested, "data of a page before its stream")
            }
            _ => {}
        }
    }
    let names: Vec<(String, u32)> = cb
        .streams
        .iter()
        .map(|(req, _)| (req.item_name.clone(), req.page))
        .collect();
    assert_eq!(
        names,
        vec![
            ("Feeder".into(), 1),
            ("Feeder".into(), 2),
            ("Feeder".into(), 3)
        ]
    );
    assert!(
        cb.streams
            .iter()
            .all(|(req, _)| req.full_item_name == "Root/Feeder")
    );
}

#[test]
fn every_completed_stream_gets_end_of_stream_including_the_last() {
    let dir = tmp();
    let mut driver = sim("pages=3", dir.path());
    let mut cb = MemCallback::default();
    run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    let eos = cb.pages_of(MessageKind::EndOfStream);
    assert_eq!(eos, vec![1, 2, 3]);
    // The last END_OF_STREAM comes right before END_OF_TRANSFER.
    let kinds = kinds(&cb.messages);
    assert_eq!(
        &kinds[kinds.len() - 2..],
        &[MessageKind::EndOfStream, MessageKind::EndOfTransfer]
    );
    // The next stream is requested only after the previous one ended.
    assert_eq!(cb.completed().len(), 3);
}

#[test]
fn end_of_stream_means_the_page_is_complete() {
    let dir = tmp();
    let mut driver = sim("pages=2", dir.path());
    let mut cb = MemCallback::default();
    run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    for (i, bytes) in cb.completed().iter().enumerate() {
        let page = decode(bytes);
        assert_eq!(page.header.width, 620, "75 dpi A4 width");
        assert_eq!(page.height(), 877, "75 dpi A4 height");
        assert_eq!(strip(bytes).page, i as u32 + 1);
    }
}

#[test]
fn status_carries_percent_and_bytes_written_to_the_current_stream() {
    let dir = tmp();
    let mut driver = sim("pages=2", dir.path());
    let mut cb = MemCallback::default();
    run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    let completed = cb.completed();
    for page in 1..=2u32 {
        let statuses: Vec<_> = cb
            .messages
            .iter()
            .filter(|m| m.kind == MessageKind::Status && m.page == page)
            .collect();
        assert!(statuses.len() > 5, "several STATUS per page");
        let percents: Vec<i32> = statuses.iter().map(|m| m.percent).collect();
        assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
        assert_eq!(*percents.last().expect("status"), 100);
        let bytes: Vec<u64> = statuses.iter().map(|m| m.bytes).collect();
        assert!(bytes.windows(2).all(|w| w[0] <= w[1]));
        // Bytes restart with each stream: the first STATUS of page 2 is
        // below the final size of page 1.
        let last = *bytes.last().expect("status");
        assert_eq!(last, completed[page as usize - 1].len() as u64);
    }
    let first_of_2 = cb
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::Status && m.page == 2)
        .expect("page 2");
    assert!(first_of_2.bytes < completed[0].len() as u64);
}

#[test]
fn multipage_stream_gets_new_page_at_every_page_the_first_included() {
    let dir = tmp();
    let mut driver = sim("pages=3", dir.path());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &multipage(0, FileFormat::Tiff),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(cb.streams.len(), 1, "one stream for the job");
    let new_pages = cb.pages_of(MessageKind::NewPage);
    assert_eq!(new_pages, vec![1, 2, 3]);
    // STATUS bytes count the whole stream: they never go back.
    let bytes: Vec<u64> = cb
        .messages
        .iter()
        .filter(|m| m.kind == MessageKind::Status)
        .map(|m| m.bytes)
        .collect();
    assert!(bytes.windows(2).all(|w| w[0] <= w[1]));
    let kinds = kinds(&cb.messages);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == MessageKind::EndOfStream)
            .count(),
        1
    );
    assert_eq!(cb.completed().len(), 1);
}

#[test]
fn end_of_transfer_is_sent_exactly_once_and_last_also_after_cancel_and_error() {
    let dir = tmp();
    for (rest, cancel_at) in [
        ("pages=2", None),
        ("pages=2", Some(2)),
        ("pages=3,fault=jam@2", None),
    ] {
        let mut driver = sim(rest, dir.path());
        let mut cb = MemCallback::default();
        if let Some(page) = cancel_at {
            cb.on_message = Some(Box::new(move |m| {
                if m.kind == MessageKind::Status && m.page == page && m.percent >= 50 {
                    Flow::Cancel
                } else {
                    Flow::Continue
                }
            }));
        }
        run(
            &mut driver,
            "Feeder",
            &feeder(0),
            &mut cb,
            RunOptions::default(),
        );
        let kinds = kinds(&cb.messages);
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == MessageKind::EndOfTransfer)
                .count(),
            1,
            "{rest}"
        );
        assert_eq!(kinds.last(), Some(&MessageKind::EndOfTransfer), "{rest}");
    }
}

#[test]
fn skip_drops_only_that_page_and_page_numbers_have_no_gaps() {
    let dir = tmp();
    let mut driver = sim("pages=4", dir.path());
    let mut cb = MemCallback::default();
    let asked = Arc::new(AtomicU32::new(0));
    let counter = asked.clone();
    cb.on_stream = Some(Box::new(move |_req| {
        // The second sheet the device offers is skipped.
        if counter.fetch_add(1, Ordering::SeqCst) == 1 {
            StreamReply::Skip
        } else {
            StreamReply::Stream
        }
    }));
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(r.totals.delivered, 3);
    assert_eq!(r.totals.skipped, 1);
    let requested: Vec<u32> = cb.streams.iter().map(|(req, _)| req.page).collect();
    assert_eq!(
        requested,
        vec![1, 2, 3],
        "delivered pages numbered without gaps"
    );
    // The content shows which sheets came: sheet 2 was dropped.
    let sheets: Vec<u32> = cb.completed().iter().map(|b| strip(b).page).collect();
    assert_eq!(sheets, vec![1, 3, 4]);
}

fn cancelled_run_keeps_completed_pages(cb: &mut MemCallback, options: RunOptions) {
    let dir = tmp();
    let mut driver = sim("pages=4", dir.path());
    let r = run(&mut driver, "Feeder", &feeder(0), cb, options);
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    let completed = cb.completed();
    assert_eq!(completed.len(), 1, "page 1 kept");
    assert_eq!(strip(&completed[0]).page, 1);
    assert_eq!(cb.discarded(), 1, "the page in progress was discarded");
    assert!(
        !cb.messages
            .iter()
            .any(|m| m.kind == MessageKind::EndOfStream && m.page == 2),
        "no END_OF_STREAM for an abandoned page"
    );
}

#[test]
fn cancel_returned_from_a_message_ends_cancelled_keeping_completed_pages() {
    let mut cb = MemCallback::default();
    cb.on_message = Some(Box::new(|m| {
        if m.kind == MessageKind::Status && m.page == 2 && m.percent >= 40 {
            Flow::Cancel
        } else {
            Flow::Continue
        }
    }));
    cancelled_run_keeps_completed_pages(&mut cb, RunOptions::default());
}

#[test]
fn cancel_from_another_thread_ends_cancelled_keeping_completed_pages() {
    let cancel = CancelToken::new();
    let (reached_tx, reached_rx) = crossbeam_channel::bounded::<()>(1);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    let token = cancel.clone();
    let canceller = std::thread::spawn(move || {
        reached_rx.recv().expect("page 2 reached");
        token.cancel();
        done_tx.send(()).expect("signal");
    });
    let mut cb = MemCallback::default();
    let mut signalled = false;
    cb.on_message = Some(Box::new(move |m| {
        if !signalled && m.kind == MessageKind::Status && m.page == 2 && m.percent >= 40 {
            signalled = true;
            reached_tx.send(()).expect("signal");
            // Wait until the other thread has cancelled.
            done_rx.recv().expect("cancelled");
        }
        Flow::Continue
    }));
    let options = RunOptions {
        cancel,
        ..Default::default()
    };
    cancelled_run_keeps_completed_pages(&mut cb, options);
    canceller.join().expect("canceller");
}

#[test]
fn cancel_returned_from_next_stream_ends_cancelled() {
    let dir = tmp();
    let mut driver = sim("pages=4", dir.path());
    let mut cb = MemCallback::default();
    cb.on_stream = Some(Box::new(|req| {
        if req.page == 3 {
            StreamReply::Cancel
        } else {
            StreamReply::Stream
        }
    }));
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    assert_eq!(cb.completed().len(), 2);
    assert_eq!(cb.discarded(), 0, "nothing of page 3 was written");
}

#[test]
fn cancel_from_a_status_handler_ends_cancelled() {
    let dir = tmp();
    let mut driver = sim("pages=2,warmup=2", dir.path());
    let mut cb = MemCallback::default();
    let handler = ScriptedHandler::new(|status, _| {
        if status.code == StatusCode::WARMING_UP && status.percent >= Some(50) {
            StatusAnswer::Cancel
        } else {
            StatusAnswer::NotHandled
        }
    });
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions {
            handler: Some(handler),
            ..Default::default()
        },
    );
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    assert!(cb.streams.is_empty(), "no page was started");
}

#[test]
fn after_a_cancel_every_later_callback_answers_cancel_and_the_device_stays_usable() {
    let dir = tmp();
    let mut driver = sim("pages=4", dir.path());
    let mut cb = MemCallback::default();
    cb.on_message = Some(Box::new(|m| {
        if m.kind == MessageKind::Status && m.page == 1 && m.percent >= 30 {
            Flow::Cancel
        } else {
            Flow::Continue
        }
    }));
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    // Nothing but END_OF_TRANSFER after the cancelling STATUS.
    let cancel_at = cb
        .messages
        .iter()
        .position(|m| m.kind == MessageKind::Status && m.percent >= 30)
        .expect("cancelling status");
    assert_eq!(
        kinds(&cb.messages[cancel_at + 1..]),
        vec![MessageKind::EndOfTransfer]
    );
    // The same device scans the next job normally.
    let mut again = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(2),
        &mut again,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(again.completed().len(), 2);
}

#[test]
fn stop_after_this_page_is_a_cancel_at_the_next_stream_or_new_page() {
    let dir = tmp();
    // One stream per page: Cancel at page 3's next_stream.
    let mut driver = sim("pages=5", dir.path());
    let mut cb = MemCallback::default();
    cb.on_stream = Some(Box::new(|req| {
        if req.page == 3 {
            StreamReply::Cancel
        } else {
            StreamReply::Stream
        }
    }));
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    assert_eq!(cb.completed().len(), 2);
    // Multipage: Cancel at page 3's NEW_PAGE; the document keeps 2 pages.
    let mut cb = MemCallback::default();
    cb.on_message = Some(Box::new(|m| {
        if m.kind == MessageKind::NewPage && m.page == 3 {
            Flow::Cancel
        } else {
            Flow::Continue
        }
    }));
    let r = run(
        &mut driver,
        "Feeder",
        &multipage(0, FileFormat::Tiff),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    let doc = cb.completed();
    assert_eq!(doc.len(), 1, "the document was finalised");
    assert_eq!(tiff_page_count(&doc[0]), 2);
    assert!(
        !r.trace
            .events
            .iter()
            .any(|e| matches!(e, TraceEvent::PageAbandoned { .. })),
        "nothing of page 3 was written"
    );
}

/// Counts the pages of a TIFF.
fn tiff_page_count(bytes: &[u8]) -> usize {
    tiff_pages(bytes).expect("valid TIFF").len()
}

#[test]
fn cancelled_multipage_document_is_finalised_with_the_completed_pages() {
    let dir = tmp();
    let mut driver = sim("pages=4", dir.path());
    let mut cb = MemCallback::default();
    cb.on_message = Some(Box::new(|m| {
        if m.kind == MessageKind::Status && m.page == 3 && m.percent >= 50 {
            Flow::Cancel
        } else {
            Flow::Continue
        }
    }));
    let r = run(
        &mut driver,
        "Feeder",
        &multipage(0, FileFormat::Tiff),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    let doc = cb.completed();
    assert_eq!(doc.len(), 1);
    assert_eq!(tiff_page_count(&doc[0]), 2);
    let eos = cb
        .messages
        .iter()
        .filter(|m| m.kind == MessageKind::EndOfStream)
        .count();
    assert_eq!(
        eos, 1,
        "the document's END_OF_STREAM comes after the cancel"
    );
}

#[test]
fn feeder_emptied_with_pages_zero_is_completed() {
    let dir = tmp();
    let mut driver = sim("pages=3", dir.path());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(cb.completed().len(), 3);
}

#[test]
fn feeder_running_out_before_n_pages_is_end_of_media_not_an_error() {
    let dir = tmp();
    let mut driver = sim("pages=2", dir.path());
    let mut cb = MemCallback::default();
    let seen = ScriptedHandler::new(|_, _| StatusAnswer::NotHandled);
    let statuses = seen.seen.clone();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(5),
        &mut cb,
        RunOptions {
            handler: Some(seen),
            ..Default::default()
        },
    );
    assert_eq!(r.result, Ok(Outcome::EndOfMedia { pages: 2 }));
    assert_eq!(cb.completed().len(), 2);
    assert!(
        statuses
            .lock()
            .expect("seen")
            .iter()
            .all(|s| !s.code.is_error()),
        "never a question to the user"
    );
}

#[test]
fn feeder_empty_before_the_first_page_is_raised_as_a_status_first() {
    let dir = tmp();
    // Unhandled: the job fails with PAPER_EMPTY.
    let mut driver = sim("pages=2,fault=empty", dir.path());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result.map_err(|e| e.code), Err(StatusCode::PAPER_EMPTY));
    assert!(r.trace.statuses().contains(&StatusCode::PAPER_EMPTY));
    assert!(cb.streams.is_empty());
    // Handled (paper loaded, Retry): the job goes on.
    let mut driver = sim("pages=2,fault=empty", dir.path());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions {
            handler: Some(ScriptedHandler::retry_errors()),
            ..Default::default()
        },
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(cb.completed().len(), 2);
}

#[test]
fn multi_feed_and_paper_jam_fail_after_keeping_the_completed_pages() {
    let dir = tmp();
    for (fault, code) in [
        ("multifeed@3", StatusCode::MULTI_FEED),
        ("jam@3", StatusCode::PAPER_JAM),
    ] {
        let mut driver = sim(&format!("pages=4,fault={fault}"), dir.path());
        let mut cb = MemCallback::default();
        let r = run(
            &mut driver,
            "Feeder",
            &feeder(0),
            &mut cb,
            RunOptions::default(),
        );
        let error = r.result.expect_err(fault);
        assert_eq!(error.code, code);
        assert_eq!(error.page, Some(3));
        assert_eq!(error.pages_completed, 2);
        assert_eq!(cb.completed().len(), 2, "{fault}");
        assert_eq!(
            cb.discarded(),
            1,
            "{fault}: the interrupted page is dropped"
        );
    }
}

#[test]
fn duplex_order_is_front_back_front_back_and_sides_count_as_pages() {
    let dir = tmp();
    let mut driver = sim("pages=3", dir.path());
    let mut cb = MemCallback::default();
    let settings = ScanSettings {
        source: Source::Duplex,
        ..feeder(5)
    };
    let r = run(
        &mut driver,
        "Feeder",
        &settings,
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    let sides: Vec<Side> = cb.streams.iter().map(|(req, _)| req.side).collect();
    assert_eq!(
        sides,
        vec![
            Side::Front,
            Side::Back,
            Side::Front,
            Side::Back,
            Side::Front
        ],
        "N odd: the back of the last sheet is not transferred"
    );
    let strips: Vec<(u32, Side)> = cb
        .completed()
        .iter()
        .map(|b| {
            let s = strip(b);
            (s.page, s.side)
        })
        .collect();
    assert_eq!(
        strips,
        vec![
            (1, Side::Front),
            (2, Side::Back),
            (3, Side::Front),
            (4, Side::Back),
            (5, Side::Front)
        ]
    );
}

#[test]
fn retried_page_trace_is_clear_rewind_and_same_stream() {
    let dir = tmp();
    for (fault, settings) in [
        ("jam@2", feeder(0)),
        ("coveropen@2", multipage(0, FileFormat::Tiff)),
    ] {
        let mut driver = sim(&format!("pages=3,fault={fault}"), dir.path());
        let mut cb = MemCallback::default();
        let r = run(
            &mut driver,
            "Feeder",
            &settings,
            &mut cb,
            RunOptions {
                handler: Some(ScriptedHandler::retry_errors()),
                ..Default::default()
            },
        );
        assert_eq!(r.result, Ok(Outcome::Completed), "{fault}");
        let events = &r.trace.events;
        let error_at = events
            .iter()
            .position(|e| matches!(e, TraceEvent::DeviceStatus { code, .. } if code.is_error()))
            .expect("the fault");
        assert!(
            matches!(
                events[error_at + 1],
                TraceEvent::DeviceStatus {
                    code: StatusCode::CLEAR,
                    ..
                }
            ),
            "{fault}: CLEAR follows the handled error"
        );
        assert_eq!(events[error_at + 2], TraceEvent::PageRewound { page: 2 });
        // No new stream request and no repeated NEW_PAGE for the retried page.
        let requests = events
            .iter()
            .filter(|e| matches!(e, TraceEvent::StreamRequest { .. }))
            .count();
        let new_pages = cb
            .messages
            .iter()
            .filter(|m| m.kind == MessageKind::NewPage)
            .count();
        if settings.multipage {
            assert_eq!(requests, 1);
            assert_eq!(new_pages, 3);
        } else {
            assert_eq!(requests, 3);
        }
        // STATUS bytes after the retry continue from the page's start.
        let before: Vec<u64> = events[..error_at]
            .iter()
            .filter_map(|e| match e {
                TraceEvent::Message { message, .. }
                    if message.kind == MessageKind::Status && message.page == 2 =>
                {
                    Some(message.bytes)
                }
                _ => None,
            })
            .collect();
        let after_first = events[error_at..]
            .iter()
            .find_map(|e| match e {
                TraceEvent::Message { message, .. } if message.kind == MessageKind::Status => {
                    Some(message.bytes)
                }
                _ => None,
            })
            .expect("status after retry");
        assert!(after_first <= *before.last().expect("status before the fault"));
        // The retried page is intact and appears once.
        if settings.multipage {
            assert_eq!(tiff_page_count(&cb.completed()[0]), 3);
        } else {
            let pages: Vec<u32> = cb.completed().iter().map(|b| strip(b).page).collect();
            assert_eq!(pages, vec![1, 2, 3], "{fault}");
        }
    }
}

/// A driver wrapper around the virtual scanner with its own status handler,
/// to see the chain order app -> driver -> default.
struct WithDriverHandler {
    inner: streamscan::device::sim::SimDriver,
    answer: StatusAnswer,
    log: Arc<Mutex<Vec<&'static str>>>,
}

struct LoggingHandler {
    name: &'static str,
    answer: StatusAnswer,
    log: Arc<Mutex<Vec<&'static str>>>,
}

impl StatusHandler for LoggingHandler {
    fn handle(&mut self, status: &DeviceStatus, _cancel: &CancelToken) -> StatusAnswer {
        if status.code.is_error() {
            self.log.lock().expect("log").push(self.name);
            self.answer
        } else {
            StatusAnswer::NotHandled
        }
    }
}

impl Driver for WithDriverHandler {
    fn info(&self) -> DeviceInfo {
        self.inner.info()
    }
    fn items(&self) -> Result<Item, DriverError> {
        self.inner.items()
    }
    fn capabilities(&self) -> Result<Capabilities, DriverError> {
        self.inner.capabilities()
    }
    fn acquire(
        &mut self,
        request: &AcquireRequest,
        sink: &mut dyn AcquireSink,
    ) -> Result<AcquireEnd, DriverError> {
        self.inner.acquire(request, sink)
    }
    fn status_handler(&mut self) -> Option<Box<dyn StatusHandler>> {
        Some(Box::new(LoggingHandler {
            name: "driver",
            answer: self.answer,
            log: self.log.clone(),
        }))
    }
}

#[test]
fn status_handler_chain_runs_application_then_driver_then_default() {
    let dir = tmp();
    for (app, driver_answer, expect_log, expect_ok) in [
        (
            StatusAnswer::NotHandled,
            StatusAnswer::Handled,
            vec!["app", "driver"],
            true,
        ),
        (
            StatusAnswer::Handled,
            StatusAnswer::NotHandled,
            vec!["app"],
            true,
        ),
        (
            StatusAnswer::NotHandled,
            StatusAnswer::NotHandled,
            vec!["app", "driver"],
            false,
        ),
    ] {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut driver = WithDriverHandler {
            inner: sim("pages=2,fault=jam@1", dir.path()),
            answer: driver_answer,
            log: log.clone(),
        };
        let mut app_handler = LoggingHandler {
            name: "app",
            answer: app,
            log: log.clone(),
        };
        let handler =
            ScriptedHandler::new(move |status, cancel| app_handler.handle(status, cancel));
        let mut cb = MemCallback::default();
        let options = RunOptions {
            handler: Some(handler),
            ..RunOptions::default()
        };
        let r = run(&mut driver, "Feeder", &feeder(0), &mut cb, options);
        assert_eq!(*log.lock().expect("log"), expect_log);
        if expect_ok {
            assert_eq!(r.result, Ok(Outcome::Completed));
        } else {
            // The default handler handles nothing: the error fails the job.
            assert_eq!(r.result.map_err(|e| e.code), Err(StatusCode::PAPER_JAM));
        }
    }
}

#[test]
fn handler_failing_with_a_code_fails_the_job_with_it() {
    let dir = tmp();
    let mut driver = sim("pages=2,fault=coveropen@1", dir.path());
    let mut cb = MemCallback::default();
    let handler = ScriptedHandler::new(|status, _| {
        if status.code.is_error() {
            StatusAnswer::Fail(StatusCode::USER_INTERVENTION)
        } else {
            StatusAnswer::NotHandled
        }
    });
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions {
            handler: Some(handler),
            ..Default::default()
        },
    );
    assert_eq!(
        r.result.map_err(|e| e.code),
        Err(StatusCode::USER_INTERVENTION)
    );
}

#[test]
fn unhandled_success_status_continues() {
    let dir = tmp();
    let mut driver = sim("pages=1,warmup=3", dir.path());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    let warm: Vec<StatusCode> = r
        .trace
        .statuses()
        .into_iter()
        .filter(|c| *c == StatusCode::WARMING_UP)
        .collect();
    assert!(warm.len() >= 5, "warm-up reported with a rising percent");
    // The "please wait" is cleared before the first stream.
    let events = &r.trace.events;
    let first_request = events
        .iter()
        .position(|e| matches!(e, TraceEvent::StreamRequest { .. }))
        .expect("request");
    assert!(matches!(
        events[first_request - 1],
        TraceEvent::DeviceStatus {
            code: StatusCode::CLEAR,
            ..
        }
    ));
}

#[test]
fn handler_waiting_for_a_person_is_cancellable() {
    let dir = tmp();
    let mut driver = sim("pages=2,fault=coveropen@2", dir.path());
    let cancel = CancelToken::new();
    let token = cancel.clone();
    let (asked_tx, asked_rx) = crossbeam_channel::bounded::<()>(1);
    let canceller = std::thread::spawn(move || {
        asked_rx.recv().expect("question asked");
        token.cancel();
    });
    // The handler "shows a dialog" and waits until cancelled.
    let handler = ScriptedHandler::new(move |status, cancel| {
        if status.code.is_error() {
            asked_tx.send(()).expect("ask");
            cancel.wait();
            StatusAnswer::Cancel
        } else {
            StatusAnswer::NotHandled
        }
    });
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions {
            handler: Some(handler),
            cancel,
            ..Default::default()
        },
    );
    canceller.join().expect("canceller");
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    assert_eq!(cb.completed().len(), 1);
}

#[test]
fn no_data_timeout_turns_a_hung_device_into_device_communication() {
    let dir = tmp();
    let mut driver = sim("pages=3,fault=hang@2,warmup=0", dir.path());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    let error = r.result.expect_err("hang");
    assert_eq!(error.code, StatusCode::DEVICE_COMMUNICATION);
    assert_eq!(error.page, Some(2));
    assert_eq!(cb.completed().len(), 1);
    // It fired 30 s (virtual) after the last activity: 1.5 pages at 2.4 s
    // each, then 30 s of silence.
    let t = r.clock.now().as_secs_f64();
    assert!((32.0..34.0).contains(&t), "timed out at {t} s");
}

#[test]
fn no_data_timeout_is_restarted_by_device_activity() {
    let dir = tmp();
    // A 20 s warm-up reporting every 2 s, against a 5 s timeout: no error.
    let mut driver = sim("pages=1,warmup=20", dir.path());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions {
            timeout: Duration::from_secs(5),
            ..Default::default()
        },
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
}

#[test]
fn no_data_timeout_is_paused_while_a_handler_waits_for_a_person() {
    let dir = tmp();
    let mut driver = sim("pages=2,fault=jam@1,warmup=0", dir.path());
    let clock = VirtualClock::shared();
    let person_clock = clock.clone();
    // The person takes 10 minutes to clear the jam.
    let handler = ScriptedHandler::new(move |status, _| {
        if status.code.is_error() {
            person_clock.advance(Duration::from_secs(600));
            StatusAnswer::Handled
        } else {
            StatusAnswer::NotHandled
        }
    });
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions {
            handler: Some(handler),
            clock,
            ..Default::default()
        },
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(cb.completed().len(), 2);
}

#[test]
fn folder_download_with_acquire_children_gives_one_stream_per_leaf() {
    let dir = tmp();
    std::fs::write(dir.path().join("a.txt"), b"first file").expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("sub").join("b.bin"), vec![7u8; 200_000]).expect("write");
    let mut driver = sim("", dir.path());
    let mut cb = MemCallback::default();
    let options = TransferOptions {
        clock: VirtualClock::shared(),
        ..Default::default()
    };
    let mut transfer = Transfer::new(&mut driver, options);
    // Without the flag a folder cannot be downloaded.
    let refused = transfer.download("Storage", 0, &ScanSettings::default(), &mut cb);
    assert_eq!(
        refused.map_err(|e| e.code),
        Err(StatusCode::INVALID_COMMAND)
    );
    check_trace("the refused download", transfer.trace());
    let mut cb = MemCallback::default();
    let result = transfer.download(
        "Storage",
        ACQUIRE_CHILDREN,
        &ScanSettings::default(),
        &mut cb,
    );
    check_trace("the folder download", transfer.trace());
    assert_eq!(result, Ok(Outcome::Completed));
    let names: Vec<String> = cb
        .streams
        .iter()
        .map(|(r, _)| r.full_item_name.clone())
        .collect();
    assert_eq!(names, vec!["Root/Storage/a.txt", "Root/Storage/sub/b.bin"]);
    let files = cb.completed();
    assert_eq!(files[0], b"first file");
    assert_eq!(files[1], vec![7u8; 200_000]);
}

#[test]
fn upload_goes_to_an_existing_item_created_with_create_child_item() {
    let dir = tmp();
    let mut driver = sim("", dir.path());
    let options = TransferOptions {
        clock: VirtualClock::shared(),
        ..Default::default()
    };
    let mut transfer = Transfer::new(&mut driver, options);
    let data = vec![42u8; 300_000];
    let item = transfer
        .create_child_item("Storage", "photo.jpg")
        .expect("child created");
    assert_eq!(item.full_name, "Root/Storage/photo.jpg");
    let mut messages = Vec::new();
    let stored = transfer
        .upload(
            &item.full_name,
            &mut data.as_slice(),
            Some(data.len() as u64),
            &mut |m| {
                messages.push(m.clone());
                Flow::Continue
            },
        )
        .expect("upload");
    check_trace("the upload", transfer.trace());
    assert_eq!(stored, 300_000);
    assert_eq!(
        std::fs::read(dir.path().join("photo.jpg")).expect("stored"),
        data
    );
    let statuses: Vec<_> = messages
        .iter()
        .filter(|m| m.kind == MessageKind::Status)
        .collect();
    assert!(statuses.len() >= 2);
    assert_eq!(
        statuses.last().map(|m| (m.percent, m.bytes)),
        Some((100, 300_000))
    );
    assert_eq!(
        messages.last().map(|m| m.kind),
        Some(MessageKind::EndOfTransfer)
    );
    // A second file of the same name gets a new name, never overwriting.
    let again = transfer
        .create_child_item("Storage", "photo.jpg")
        .expect("child");
    assert_eq!(again.name, "photo (2).jpg");
}

#[test]
fn upload_refuses_an_empty_source_a_full_store_and_honours_cancel() {
    let dir = tmp();
    let mut driver = sim("capacity=1000", dir.path());
    let options = TransferOptions {
        clock: VirtualClock::shared(),
        ..Default::default()
    };
    let mut transfer = Transfer::new(&mut driver, options);
    let empty = transfer
        .create_child_item("Storage", "empty.png")
        .expect("child");
    let r = transfer.upload(&empty.full_name, &mut std::io::empty(), None, &mut |_| {
        Flow::Continue
    });
    assert!(r.expect_err("empty").message.contains("empty"));
    check_trace("the empty upload", transfer.trace());
    let big = transfer
        .create_child_item("Storage", "big.png")
        .expect("child");
    let data = vec![1u8; 5000];
    let r = transfer.upload(
        &big.full_name,
        &mut data.as_slice(),
        Some(5000),
        &mut |_| Flow::Continue,
    );
    assert!(r.expect_err("full").message.contains("full"));
    check_trace("the upload of a known size", transfer.trace());
    // Unknown size: refused once the store fills up.
    let big = transfer
        .create_child_item("Storage", "big2.png")
        .expect("child");
    let mut reader = std::io::Read::chain(data.as_slice(), std::io::empty());
    let r = transfer.upload(&big.full_name, &mut reader, None, &mut |_| Flow::Continue);
    assert!(r.expect_err("full").message.contains("full"));
    check_trace("the upload of an unknown size", transfer.trace());
    // Cancel from a message.
    let mut driver = sim("", dir.path());
    let mut transfer = Transfer::new(&mut driver, TransferOptions::default());
    let item = transfer
        .create_child_item("Storage", "c.bin")
        .expect("child");
    let data = vec![3u8; 1_000_000];
    let r = transfer.upload(
        &item.full_name,
        &mut data.as_slice(),
        Some(1_000_000),
        &mut |m| {
            if m.kind == MessageKind::Status {
                Flow::Cancel
            } else {
                Flow::Continue
            }
        },
    );
    assert!(r.is_err());
    check_trace("the cancelled upload", transfer.trace());
    // Nothing half-uploaded remains: no files but none of these.
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn destination_that_cannot_be_written_fails_with_destination_keeping_completed_pages() {
    let dir = tmp();
    let mut driver = sim("pages=3", dir.path());
    // Page 1 fits; page 2 hits a full disk after 10 kB.
    let mut cb = MemCallback::default();
    cb.on_stream = Some(Box::new(|request| {
        if request.page > 1 {
            StreamReply::Limited(10_000)
        } else {
            StreamReply::Stream
        }
    }));
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0),
        &mut cb,
        RunOptions::default(),
    );
    let error = r.result.expect_err("disk full");
    assert_eq!(error.code, StatusCode::DESTINATION);
    assert_eq!(error.pages_completed, 1);
    assert_eq!(error.page, Some(2));
    assert_eq!(cb.completed().len(), 1);
    assert_eq!(cb.discarded(), 1);
    assert!(error.message.contains("space"), "{}", error.message);
}

/// A device sending five pages of every kind: raw colour, gray of unknown
/// height and black-and-white rows, and a JPEG body as a network scanner
/// sends it (embedded untouched in a PDF, decoded for a TIFF).
fn five_page_device() -> ScriptedDriver {
    let textured = |format: PixelFormat, width: u32, height: u32| {
        let mut page = Page::filled(width, height, format, 100, 0);
        for (i, byte) in page.data.iter_mut().enumerate() {
            *byte = (i * 7 + i / 13) as u8;
        }
        page
    };
    let raw = |page: Page, known_height: bool| ScriptedPage::Raw {
        page,
        rows: 7,
        known_height,
    };
    let mut device = ScriptedDriver::raw(textured(PixelFormat::Rgb8, 60, 40), 7, true);
    device.pages.extend([
        raw(textured(PixelFormat::Gray8, 50, 30), false),
        ScriptedPage::Encoded {
            body: sample_jpeg(),
            format: FileFormat::Jpeg,
            chunk: 500,
            gate: None,
        },
        raw(textured(PixelFormat::Bw1, 70, 33), true),
        raw(textured(PixelFormat::Rgb8, 45, 20), false),
    ]);
    device
}

#[test]
fn a_full_disk_cuts_a_multipage_document_back_to_its_last_complete_page() {
    let rotated = streamscan::filter::FilterSettings {
        rotation: streamscan::filter::Rotation::Cw90,
        ..Default::default()
    };
    for format in [FileFormat::Pdf, FileFormat::Tiff] {
        // Rows streaming into the encoder, and whole pages through the
        // filter.
        for filter in [Default::default(), rotated] {
            let settings = ScanSettings {
                source: Source::Flatbed,
                multipage: true,
                format,
                filter,
                ..Default::default()
            };
            let mut cb = MemCallback::default();
            let whole = run(
                &mut five_page_device(),
                "Flatbed",
                &settings,
                &mut cb,
                RunOptions::default(),
            );
            assert_eq!(whole.result, Ok(Outcome::Completed));
            let stream = cb.streams[0].1.clone();
            let reference = stream.bytes();
            let mut ends: Vec<usize> = Vec::new();
            for (len, pages) in stream.checkpoints() {
                if pages as usize > ends.len() {
                    ends.push(len as usize);
                }
            }
            assert_eq!(ends.len(), 5, "{format:?}");
            // The document as it was after page k: the whole one cut there
            // (and, in a TIFF, the link to page k + 1 not made yet).
            let after_page = |k: usize| {
                let mut bytes = reference[..ends[k - 1]].to_vec();
                let found = salvage::complete_pages(&mut std::io::Cursor::new(&bytes))
                    .expect("reads from memory");
                assert_eq!(found.pages as usize, k);
                if let Some(at) = found.unlink {
                    bytes[at as usize..at as usize + 4].fill(0);
                }
                bytes
            };
            // A dense sweep over the document's length, plus every page's
            // end and the bytes either side of it.
            let step = (reference.len() / 300).max(1);
            let mut limits: Vec<usize> = (0..reference.len()).step_by(step).collect();
            for &end in &ends[..4] {
                limits.extend([end - 1, end, end + 1]);
            }
            for limit in limits {
                let what = format!("{format:?} ({:?}) on {limit} bytes", filter.rotation);
                let mut cb = MemCallback::default();
                cb.on_stream = Some(Box::new(move |_| StreamReply::Limited(limit)));
                let r = run(
                    &mut five_page_device(),
                    "Flatbed",
                    &settings,
                    &mut cb,
                    RunOptions::default(),
                );
                let kept = ends.iter().filter(|&&end| end <= limit).count();
                let error = r.result.expect_err(&what);
                assert_eq!(error.code, StatusCode::DESTINATION, "{what}");
                assert_eq!(error.pages_completed as usize, kept, "{what}");
                assert_eq!(error.page, Some(kept as u32 + 1), "{what}: {error:?}");
                assert!(error.message.contains("space"), "{what}: {}", error.message);
                assert_eq!(r.totals.delivered as usize, kept, "{what}");
                let ends_of_stream = cb.pages_of(MessageKind::EndOfStream);
                if kept == 0 {
                    assert!(cb.completed().is_empty(), "{what}");
                    assert_eq!(cb.discarded(), 1, "{what}");
                    assert!(ends_of_stream.is_empty(), "{what}");
                } else {
                    // The document holds the completed pages, exactly as it
                    // was after the last of them, and is finalised.
                    let completed = cb.completed();
                    assert_eq!(completed.len(), 1, "{what}");
                    assert!(completed[0] == after_page(kept), "{what}");
                    assert_eq!(ends_of_stream, vec![kept as u32], "{what}");
                }
            }
        }
    }
}

/// A small JPEG as a network scanner sends it.
fn sample_jpeg() -> Vec<u8> {
    let mut image = image::RgbImage::new(64, 48);
    for (x, y, p) in image.enumerate_pixels_mut() {
        *p = image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]);
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&image)
        .expect("encode");
    out
}

#[test]
fn device_bytes_pass_through_untouched_when_format_matches_and_filter_is_neutral() {
    let jpeg = sample_jpeg();
    // A device that sends its page as a JPEG body (like an eSCL scanner).
    let mut device = ScriptedDriver::encoded(jpeg.clone(), FileFormat::Jpeg, 1000);
    let mut cb = MemCallback::default();
    let settings = ScanSettings {
        format: FileFormat::Jpeg,
        ..Default::default()
    };
    let r = run(
        &mut device,
        "Flatbed",
        &settings,
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(cb.completed(), vec![jpeg.clone()]);
    // Into PNG it is decoded and re-encoded.
    let mut cb = MemCallback::default();
    let r = run(
        &mut device,
        "Flatbed",
        &ScanSettings::default(),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    let png = &cb.completed()[0];
    assert_eq!(&png[1..4], b"PNG");
    assert_eq!(decode(png).header.width, 64);
}

#[test]
fn a_cancel_ends_the_wait_for_the_rest_of_a_device_body() {
    let jpeg = sample_jpeg();
    let gate = BodyGate::after_bytes(jpeg.len() / 2);
    let mut device = ScriptedDriver::encoded(jpeg, FileFormat::Jpeg, 1000).gated(&gate);
    let cancel = CancelToken::new();
    let options = RunOptions {
        cancel: cancel.clone(),
        ..RunOptions::default()
    };
    let job = std::thread::spawn(move || {
        let mut cb = MemCallback::default();
        let r = run(
            &mut device,
            "Flatbed",
            &ScanSettings::default(),
            &mut cb,
            options,
        );
        (r, cb)
    });
    // The body stops half-way and stays there until the job is cancelled.
    gate.wait_until_reached();
    cancel.cancel();
    let (r, cb) = job.join().expect("the job thread");
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    assert_eq!(r.totals.abandoned, 1, "the half page is abandoned");
    assert!(cb.completed().is_empty());
    assert_eq!(
        kinds(&cb.messages).last(),
        Some(&MessageKind::EndOfTransfer)
    );
}

#[test]
fn a_device_body_held_part_way_completes_untouched_once_it_goes_on() {
    let jpeg = sample_jpeg();
    let gate = BodyGate::after_bytes(jpeg.len() / 3);
    let mut device = ScriptedDriver::encoded(jpeg.clone(), FileFormat::Jpeg, 1000).gated(&gate);
    let settings = ScanSettings {
        format: FileFormat::Jpeg,
        ..Default::default()
    };
    let job = std::thread::spawn(move || {
        let mut cb = MemCallback::default();
        let r = run(
            &mut device,
            "Flatbed",
            &settings,
            &mut cb,
            RunOptions::default(),
        );
        (r, cb)
    });
    gate.wait_until_reached();
    gate.open();
    let (r, cb) = job.join().expect("the job thread");
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(cb.completed(), vec![jpeg]);
}

#[test]
fn download_of_an_unknown_or_untransferable_item_fails_with_end_of_transfer() {
    let dir = tmp();
    let mut driver = sim("", dir.path());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Nowhere",
        &ScanSettings::default(),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result.map_err(|e| e.code), Err(StatusCode::ITEM_DELETED));
    assert_eq!(kinds(&cb.messages), vec![MessageKind::EndOfTransfer]);
}

#[test]
fn multipage_end_of_stream_names_the_last_delivered_page_after_a_dropped_blank() {
    let dir = tmp();
    let mut driver = sim("pages=3,blank=3", dir.path());
    let mut cb = MemCallback::default();
    let mut settings = multipage(0, FileFormat::Tiff);
    settings.filter.blank = Some(streamscan::filter::BlankAction::Drop);
    let r = run(
        &mut driver,
        "Feeder",
        &settings,
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!((r.totals.delivered, r.totals.dropped), (2, 1));
    let eos = cb.pages_of(MessageKind::EndOfStream);
    assert_eq!(eos, vec![2]);
    assert_eq!(tiff_page_count(&cb.completed()[0]), 2);
}

/// Runs `item` on the virtual scanner (`rest`, files in `dir`) with the
/// callback answering `replies` to its stream requests in turn.
fn run_replying(
    rest: &str,
    dir: &std::path::Path,
    item: &str,
    flags: u32,
    settings: &ScanSettings,
    replies: &[StreamReply],
) -> (Run, MemCallback) {
    let mut driver = sim(rest, dir);
    let mut cb = MemCallback::replying(replies.iter().copied());
    let options = RunOptions {
        flags,
        ..RunOptions::default()
    };
    let r = run(&mut driver, item, settings, &mut cb, options);
    (r, cb)
}

#[test]
fn skip_answered_to_a_multipage_job_s_one_stream_request_skips_the_item() {
    let dir = tmp();
    for format in [FileFormat::Pdf, FileFormat::Tiff] {
        let (r, cb) = run_replying(
            "pages=3,speed=max",
            dir.path(),
            "Feeder",
            0,
            &multipage(0, format),
            &[StreamReply::Skip],
        );
        assert_eq!(r.result, Ok(Outcome::Completed), "{format:?}");
        // One request, answered Skip; the sheets still pass through.
        assert_eq!(cb.streams.len(), 0, "{format:?}");
        assert_eq!(r.totals.delivered, 0);
        assert_eq!(r.totals.skipped, 3);
        let requests = r
            .trace
            .events
            .iter()
            .filter(|e| matches!(e, TraceEvent::StreamRequest { .. }))
            .count();
        assert_eq!(requests, 1, "{format:?}: asked once for the item");
        assert!(cb.pages_of(MessageKind::EndOfStream).is_empty());
        assert!(cb.pages_of(MessageKind::NewPage).is_empty());
    }
}

#[test]
fn skip_answered_on_the_flatbed_ends_the_job_with_nothing_written() {
    let dir = tmp();
    let (r, cb) = run_replying(
        "speed=max",
        dir.path(),
        "Flatbed",
        0,
        &ScanSettings::default(),
        &[StreamReply::Skip],
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!((r.totals.delivered, r.totals.skipped), (0, 1));
    assert!(cb.completed().is_empty());
    assert!(cb.pages_of(MessageKind::EndOfStream).is_empty());
}

#[test]
fn skip_answered_for_a_folder_child_drops_that_child_only() {
    let dir = tmp();
    for (name, body) in [("a.txt", "first"), ("b.txt", "second"), ("c.txt", "third")] {
        std::fs::write(dir.path().join(name), body).expect("write");
    }
    let (r, cb) = run_replying(
        "",
        dir.path(),
        "Storage",
        ACQUIRE_CHILDREN,
        &ScanSettings::default(),
        &[StreamReply::Stream, StreamReply::Skip],
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!((r.totals.delivered, r.totals.skipped), (2, 1));
    assert_eq!(cb.completed(), vec![b"first".to_vec(), b"third".to_vec()]);
    // Delivered pages are numbered without the skipped child.
    assert_eq!(cb.pages_of(MessageKind::EndOfStream), vec![1, 2]);
}

#[test]
fn skip_answered_for_a_region_drops_that_region_only() {
    let dir = tmp();
    let mut driver = sim("photos=2,warmup=0,speed=max", dir.path());
    let options = TransferOptions {
        clock: VirtualClock::shared(),
        ..Default::default()
    };
    let mut transfer = Transfer::new(&mut driver, options);
    // Centres and sizes on the glass; region 2 is 60 mm wide.
    let regions = [(60.0, 50.0, 50.0, 40.0), (130.0, 150.0, 60.0, 30.0)].map(
        |(x_mm, y_mm, width_mm, height_mm)| streamscan::transfer::ItemArea {
            x_mm,
            y_mm,
            width_mm,
            height_mm,
            angle_deg: 0.0,
        },
    );
    transfer
        .create_region_items("Flatbed", &regions)
        .expect("regions created");
    let mut cb = MemCallback::replying([StreamReply::Skip]);
    let settings = ScanSettings {
        dpi: 75,
        ..Default::default()
    };
    let result = transfer.download("Flatbed", ACQUIRE_CHILDREN, &settings, &mut cb);
    check_trace("the region download with a skip", transfer.trace());
    assert_eq!(result, Ok(Outcome::Completed));
    let totals = transfer.totals();
    assert_eq!((totals.delivered, totals.skipped), (1, 1));
    let names: Vec<String> = cb
        .streams
        .iter()
        .map(|(r, _)| r.item_name.clone())
        .collect();
    assert_eq!(names, vec!["Region 2"]);
    let page = decode(&cb.completed()[0]);
    assert!((f64::from(page.header.width) - 60.0 * 75.0 / 25.4).abs() <= 2.0);
}
