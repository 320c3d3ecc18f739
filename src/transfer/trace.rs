//! The message trace of a transfer and the one shared checker of the
//! contract's message order.
//!
//! The transfer layer records every stream request, message, device status
//! and destination operation of a job into a [`Trace`], and runs an
//! [`OrderChecker`] live over the same events (also when it keeps no
//! trace). [`check`] verifies the rules of `wia-transfers.md` on a recorded
//! trace; every test of every back end runs it over its jobs, so a back
//! end cannot break the order unnoticed.

use super::callback::{Flow, Side, StatusAnswer, TransferMessage};
use super::codes::{MessageKind, StatusCode};
use serde::Serialize;
use std::fmt;

/// How the application answered a stream request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StreamReply {
    /// It gave a stream.
    Stream,
    /// It skipped the item.
    Skip,
    /// It cancelled the job.
    Cancel,
}

/// One event of a transfer, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TraceEvent {
    /// `next_stream` was called, and how it was answered.
    StreamRequest {
        /// The item's name.
        item: String,
        /// The page number the page would get.
        page: u32,
        /// The side.
        side: Side,
        /// The answer.
        reply: StreamReply,
    },
    /// A message went to the transfer callback, and how it was answered.
    Message {
        /// The message.
        message: TransferMessage,
        /// The callback's answer.
        answer: Flow,
    },
    /// A device status travelled the handler chain.
    DeviceStatus {
        /// The status code.
        code: StatusCode,
        /// Its percent, when given.
        percent: Option<u8>,
        /// The chain's final answer.
        answer: StatusAnswer,
    },
    /// A handled error: the destination was rewound to where the page began
    /// and the page is scanned again.
    PageRewound {
        /// The page.
        page: u32,
    },
    /// The page in progress was abandoned (cancel, fault, dropped): its
    /// destination was told to discard it.
    PageAbandoned {
        /// The page.
        page: u32,
    },
    /// The filter found the page blank and dropped it: its destination
    /// discarded it like a skipped page (no END_OF_STREAM, no page number
    /// used).
    PageDropped {
        /// The page number it had while it flowed.
        page: u32,
    },
    /// `cancel()` was called from outside the callbacks.
    CancelRequested,
    /// A multipage stream without a completed page was discarded (no
    /// END_OF_STREAM).
    StreamDiscarded,
    /// What the application's destination saw: recorded where the layer
    /// hands it the bytes, so the checker verifies what really happened
    /// to the stream.
    Destination(DestinationOp),
}

/// One operation on the open stream's destination, as it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DestinationOp {
    /// Bytes were written; the destination is now `len` bytes long.
    /// (Consecutive writes are recorded as one.)
    Wrote {
        /// Its length after the writes.
        len: u64,
    },
    /// It was cut (or extended) to `len` bytes.
    Truncated {
        /// Its new length.
        len: u64,
    },
    /// `complete` succeeded: the stream is permanent.
    Completed,
    /// `discard` was called: nothing of the stream stays.
    Discarded,
}

/// Everything that happened in one transfer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Trace {
    /// True when the job wrote one multipage stream.
    pub multipage: bool,
    /// True for an upload (STATUS counts the bytes read from the source;
    /// there are no streams).
    pub upload: bool,
    /// The events in order.
    pub events: Vec<TraceEvent>,
}

impl Trace {
    /// The transfer messages only, in order.
    pub fn messages(&self) -> impl Iterator<Item = &TransferMessage> {
        self.events.iter().filter_map(|e| match e {
            TraceEvent::Message { message, .. } => Some(message),
            _ => None,
        })
    }

    /// The kinds of the transfer messages, in order.
    pub fn kinds(&self) -> Vec<MessageKind> {
        self.messages().map(|m| m.kind).collect()
    }

    /// The device status codes that travelled the chain, in order.
    pub fn statuses(&self) -> Vec<StatusCode> {
        self.events
            .iter()
            .filter_map(|e| match e {
                TraceEvent::DeviceStatus { code, .. } => Some(*code),
                _ => None,
            })
            .collect()
    }

    /// Pages whose stream (or page of a multipage stream) completed, in
    /// order, with their side.
    pub fn delivered_pages(&self) -> Vec<(u32, Side)> {
        let mut out = Vec::new();
        if self.multipage {
            let mut current: Option<(u32, Side)> = None;
            for e in &self.events {
                match e {
                    TraceEvent::Message { message, .. } if message.kind == MessageKind::NewPage => {
                        if let Some(p) = current.take() {
                            out.push(p);
                        }
                        current = Some((message.page, message.side));
                    }
                    TraceEvent::PageAbandoned { .. } | TraceEvent::PageDropped { .. } => {
                        current = None
                    }
                    TraceEvent::Message { message, .. }
                        if message.kind == MessageKind::EndOfStream =>
                    {
                        if let Some(p) = current.take() {
                            out.push(p);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            for e in &self.events {
                if let TraceEvent::Message { message, .. } = e
                    && message.kind == MessageKind::EndOfStream
                {
                    out.push((message.page, message.side));
                }
            }
        }
        out
    }
}

/// A broken rule of the contract, with the index of the offending event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Index into `Trace::events`.
    pub at: usize,
    /// Which rule, in words.
    pub rule: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event {}: {}", self.at, self.rule)
    }
}

impl std::error::Error for Violation {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamState {
    /// No stream open.
    None,
    /// A stream is open for `page`.
    Open { page: u32 },
}

/// What the checker saw happen at the destination of the open stream.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    /// The destination's length.
    len: u64,
    /// Where the page in progress began (0 for a stream per page; the
    /// length at NEW_PAGE in a multipage stream).
    page_start: u64,
    /// The page in progress was rewound or abandoned and its bytes must be
    /// cut off the destination before anything else is written.
    must_cut: Option<u32>,
    /// `complete` was called on it.
    completed: bool,
    /// `discard` was called on it.
    discarded: bool,
}

/// The contract's message-order checker, fed one event at a time: the
/// transfer layer runs one live on every transfer (so a job that keeps no
/// trace is checked too), and [`check`] runs one over a recorded
/// [`Trace`]. The first violation is kept; later events are ignored.
///
/// Rules (`wia-transfers.md`), checked against what the application's
/// callback and destination actually saw, not against the layer's own
/// account of what it did:
///
/// - END_OF_TRANSFER exactly once, and last;
/// - at most one stream open; END_OF_STREAM only for an open stream whose
///   destination was completed (never for a page only partly written or
///   abandoned), once; every opened stream ends completed or abandoned, an
///   abandoned per-page stream with its destination discarded;
/// - delivered page numbers 1, 2, 3 ... without gaps (skipped pages use no
///   number); a multipage stream asks once and has NEW_PAGE before every
///   page, the first included;
/// - STATUS percent in -1..=100, naming the page in progress, and its
///   bytes what the stream's destination holds (so they restart at 0 with
///   every stream, and go back only when the destination was cut);
/// - a rewound (or, in a multipage stream, abandoned) page is really cut
///   off its destination, back to where it began, before anything more is
///   written; nothing before that point is cut;
/// - after a Cancel answer (or `cancel()`): no stream request, STATUS or
///   NEW_PAGE; only completions, abandonment and END_OF_TRANSFER;
/// - a handled error status is followed by CLEAR before anything else; a
///   "please wait" status (warming up, calibrating) is cleared before the
///   next message or stream request, and before a different one.
#[derive(Debug, Clone)]
pub struct OrderChecker {
    multipage: bool,
    upload: bool,
    at: usize,
    failure: Option<Violation>,
    ended: bool,
    stream: StreamState,
    seen: Seen,
    /// A per-page stream was abandoned and its destination not (yet) seen
    /// discarded.
    undiscarded: Option<u32>,
    /// Per-page: pages that got their END_OF_STREAM.
    delivered: u32,
    /// Multipage: the page announced by the last NEW_PAGE, if still open.
    open_page: Option<u32>,
    multipage_requests: u32,
    multipage_pages: u32,
    eos_seen: bool,
    cancelled: bool,
    last_bytes: Option<u64>,
    needs_clear: bool,
    /// The "please wait" status in force (not yet cleared).
    waiting: Option<StatusCode>,
}

impl OrderChecker {
    /// A checker for a download (`multipage`: one stream for all pages)
    /// or an upload.
    pub fn new(multipage: bool, upload: bool) -> OrderChecker {
        OrderChecker {
            multipage,
            upload,
            at: 0,
            failure: None,
            ended: false,
            stream: StreamState::None,
            seen: Seen::default(),
            undiscarded: None,
            delivered: 0,
            open_page: None,
            multipage_requests: 0,
            multipage_pages: 0,
            eos_seen: false,
            cancelled: false,
            last_bytes: None,
            needs_clear: false,
            waiting: None,
        }
    }

    /// Checks the next event; the first violation is returned again for
    /// every later event.
    pub fn observe(&mut self, event: &TraceEvent) -> Result<(), Violation> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        let result = self.event(event);
        if let Err(violation) = &result {
            self.failure = Some(violation.clone());
        }
        self.at += 1;
        result
    }

    /// Checks that the transfer ended as it must; call after the last
    /// event.
    pub fn finish(&mut self) -> Result<(), Violation> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        let result = if !self.ended {
            self.fail("END_OF_TRANSFER is missing")
        } else if let StreamState::Open { page } = self.stream {
            self.fail(format!(
                "the stream of page {page} was neither completed nor abandoned"
            ))
        } else if let Some(page) = self.undiscarded {
            self.fail(format!(
                "the stream of abandoned page {page} was never discarded"
            ))
        } else {
            Ok(())
        };
        if let Err(violation) = &result {
            self.failure = Some(violation.clone());
        }
        result
    }

    /// The first violation seen, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.failure.as_ref()
    }

    fn fail<T>(&self, rule: impl Into<String>) -> Result<T, Violation> {
        Err(Violation {
            at: self.at,
            rule: rule.into(),
        })
    }

    fn event(&mut self, event: &TraceEvent) -> Result<(), Violation> {
        if self.ended {
            return match event {
                TraceEvent::Message { message, .. }
                    if message.kind == MessageKind::EndOfTransfer =>
                {
                    self.fail("END_OF_TRANSFER sent more than once")
                }
                _ => self.fail("END_OF_TRANSFER is not the last event"),
            };
        }
        match event {
            TraceEvent::CancelRequested => {
                self.cancelled = true;
                Ok(())
            }
            TraceEvent::StreamDiscarded => {
                if !self.multipage {
                    return self.fail("a per-page stream is discarded by abandoning its page");
                }
                if self.seen.completed {
                    return self.fail("a multipage stream was discarded after it was completed");
                }
                self.open_page = None;
                self.stream = StreamState::None;
                Ok(())
            }
            TraceEvent::StreamRequest { page, reply, .. } => self.stream_request(*page, *reply),
            TraceEvent::Message { message, answer } => {
                self.message(message)?;
                if *answer == Flow::Cancel {
                    self.cancelled = true;
                }
                Ok(())
            }
            TraceEvent::DeviceStatus { code, answer, .. } => self.device_status(*code, *answer),
            TraceEvent::PageRewound { page } => {
                if self.needs_clear {
                    return self.fail("a page was rewound before CLEAR was sent");
                }
                if !self.in_progress(*page) {
                    return self.fail(format!("page {page} rewound while not in progress"));
                }
                self.must_cut(*page);
                Ok(())
            }
            TraceEvent::PageAbandoned { page } | TraceEvent::PageDropped { page } => {
                if self.multipage {
                    if self.open_page != Some(*page) {
                        return self.fail(format!("page {page} abandoned while not in progress"));
                    }
                    self.open_page = None;
                    self.must_cut(*page);
                } else {
                    match self.stream {
                        StreamState::Open { page: p } if p == *page => {
                            if self.seen.completed {
                                return self.fail(format!(
                                    "page {page} abandoned after its destination was completed"
                                ));
                            }
                            self.stream = StreamState::None;
                            if !self.seen.discarded {
                                self.undiscarded = Some(*page);
                            }
                        }
                        _ => {
                            return self
                                .fail(format!("page {page} abandoned but its stream is not open"));
                        }
                    }
                }
                Ok(())
            }
            TraceEvent::Destination(op) => self.destination(*op),
        }
    }

    fn in_progress(&self, page: u32) -> bool {
        match self.stream {
            StreamState::Open { page: p } if !self.multipage => p == page,
            StreamState::Open { .. } => self.open_page == Some(page),
            StreamState::None => false,
        }
    }

    /// The bytes of `page` must leave the destination (unless none came).
    fn must_cut(&mut self, page: u32) {
        if self.seen.len > self.seen.page_start {
            self.seen.must_cut = Some(page);
        }
    }

    fn destination(&mut self, op: DestinationOp) -> Result<(), Violation> {
        if self.upload {
            return self.fail("an upload has no destination stream");
        }
        if self.seen.discarded {
            return self.fail("a destination was used after it was discarded");
        }
        match op {
            DestinationOp::Wrote { len } => {
                if matches!(self.stream, StreamState::None) && self.undiscarded.is_none() {
                    return self.fail("bytes written with no stream open");
                }
                if self.seen.completed {
                    return self.fail("bytes written to a destination after it was completed");
                }
                if let Some(page) = self.seen.must_cut {
                    return self.fail(format!(
                        "page {page} was rewound or abandoned, but its bytes were not cut off the stream before more were written"
                    ));
                }
                if len < self.seen.len {
                    return self.fail("a write made the destination shorter");
                }
                self.seen.len = len;
            }
            DestinationOp::Truncated { len } => {
                if self.seen.completed {
                    return self.fail("a destination was cut after it was completed");
                }
                if len < self.seen.page_start {
                    return self.fail(format!(
                        "the stream was cut to {len} bytes, into the pages completed before (they end at {})",
                        self.seen.page_start
                    ));
                }
                if len <= self.seen.page_start {
                    self.seen.must_cut = None;
                }
                self.seen.len = len;
            }
            DestinationOp::Completed => {
                if let Some(page) = self.seen.must_cut {
                    return self.fail(format!(
                        "the stream was completed with the bytes of abandoned page {page} in it"
                    ));
                }
                self.seen.completed = true;
            }
            DestinationOp::Discarded => {
                if self.seen.completed {
                    return self.fail("a destination was discarded after it was completed");
                }
                self.seen.discarded = true;
                self.undiscarded = None;
            }
        }
        Ok(())
    }

    fn device_status(&mut self, code: StatusCode, answer: StatusAnswer) -> Result<(), Violation> {
        if code == StatusCode::CLEAR {
            self.needs_clear = false;
            self.waiting = None;
        } else if self.needs_clear {
            return self.fail("a handled error must be followed by CLEAR");
        } else if code.is_error() {
            if let Some(waiting) = self.waiting {
                return self.fail(format!(
                    "{} came while {} was not cleared",
                    code.name(),
                    waiting.name()
                ));
            }
            if answer == StatusAnswer::Handled {
                self.needs_clear = true;
            }
        } else if !matches!(answer, StatusAnswer::Cancel | StatusAnswer::Fail(_)) {
            match self.waiting {
                Some(waiting) if waiting != code => {
                    return self.fail(format!(
                        "{} came while {} was not cleared",
                        code.name(),
                        waiting.name()
                    ));
                }
                _ => self.waiting = Some(code),
            }
        }
        if answer == StatusAnswer::Cancel {
            self.cancelled = true;
        }
        Ok(())
    }

    fn uncleared(&self, what: &str) -> Result<(), Violation> {
        if self.needs_clear {
            return self.fail(format!(
                "a handled error must be followed by CLEAR before {what}"
            ));
        }
        if let Some(waiting) = self.waiting {
            return self.fail(format!("{} was not cleared before {what}", waiting.name()));
        }
        Ok(())
    }

    fn stream_request(&mut self, page: u32, reply: StreamReply) -> Result<(), Violation> {
        if self.cancelled {
            return self.fail("a stream was requested after the job was cancelled");
        }
        self.uncleared("the next stream request")?;
        if let Some(page) = self.undiscarded {
            return self.fail(format!(
                "the stream of abandoned page {page} was not discarded before the next request"
            ));
        }
        if self.multipage {
            self.multipage_requests += 1;
            if self.multipage_requests > 1 {
                return self.fail("a multipage job asked for more than one stream");
            }
        } else {
            if let StreamState::Open { page: open } = self.stream {
                return self.fail(format!(
                    "stream of page {open} still open when the next stream was requested"
                ));
            }
            if page != self.delivered + 1 {
                return self.fail(format!(
                    "stream requested for page {page}, but {} pages were delivered (numbers must have no gaps)",
                    self.delivered
                ));
            }
        }
        match reply {
            StreamReply::Stream => {
                self.stream = StreamState::Open { page };
                self.seen = Seen::default();
                self.last_bytes = None;
            }
            StreamReply::Skip => {}
            StreamReply::Cancel => self.cancelled = true,
        }
        Ok(())
    }

    fn upload_message(&mut self, m: &TransferMessage) -> Result<(), Violation> {
        match m.kind {
            MessageKind::Status => {
                if self.cancelled {
                    return self.fail("STATUS sent after the upload was cancelled");
                }
                if !(-1..=100).contains(&m.percent) {
                    return self.fail(format!("STATUS percent {} out of -1..=100", m.percent));
                }
                if self.last_bytes.is_some_and(|last| m.bytes < last) {
                    return self.fail("upload STATUS bytes went back");
                }
                self.last_bytes = Some(m.bytes);
                Ok(())
            }
            MessageKind::EndOfTransfer => {
                self.ended = true;
                Ok(())
            }
            other => self.fail(format!("{} in an upload", other.name())),
        }
    }

    fn message(&mut self, m: &TransferMessage) -> Result<(), Violation> {
        if self.needs_clear {
            return self.fail(format!(
                "a handled error must be followed by CLEAR before {}",
                m.kind.name()
            ));
        }
        if self.upload {
            return self.upload_message(m);
        }
        self.uncleared(m.kind.name())?;
        match m.kind {
            MessageKind::Status => {
                if self.cancelled {
                    return self.fail("STATUS sent after the job was cancelled");
                }
                if !(-1..=100).contains(&m.percent) {
                    return self.fail(format!("STATUS percent {} out of -1..=100", m.percent));
                }
                let page = match self.stream {
                    StreamState::Open { page } => page,
                    StreamState::None => return self.fail("STATUS without an open stream"),
                };
                let expected = if self.multipage {
                    self.open_page
                } else {
                    Some(page)
                };
                if expected != Some(m.page) {
                    return self.fail(format!(
                        "STATUS names page {} but page {:?} is in progress",
                        m.page, expected
                    ));
                }
                if let Some(page) = self.seen.must_cut {
                    return self.fail(format!(
                        "STATUS of page {page} while its rewound bytes are still in the stream"
                    ));
                }
                if m.bytes != self.seen.len {
                    return self.fail(format!(
                        "STATUS says {} bytes, but the stream's destination holds {}",
                        m.bytes, self.seen.len
                    ));
                }
                self.last_bytes = Some(m.bytes);
                Ok(())
            }
            MessageKind::NewPage => {
                if !self.multipage {
                    return self.fail("NEW_PAGE in a job with one stream per page");
                }
                if self.cancelled {
                    return self.fail("NEW_PAGE sent after the job was cancelled");
                }
                if !matches!(self.stream, StreamState::Open { .. }) {
                    return self.fail("NEW_PAGE without an open stream");
                }
                if let Some(page) = self.seen.must_cut {
                    return self.fail(format!(
                        "NEW_PAGE while the bytes of abandoned page {page} are still in the stream"
                    ));
                }
                if let Some(open) = self.open_page.take() {
                    // The previous page completed.
                    self.multipage_pages = self.multipage_pages.max(open);
                }
                if m.page != self.multipage_pages + 1 {
                    return self.fail(format!(
                        "NEW_PAGE {} after {} completed pages (numbers must have no gaps)",
                        m.page, self.multipage_pages
                    ));
                }
                self.open_page = Some(m.page);
                self.seen.page_start = self.seen.len;
                Ok(())
            }
            MessageKind::EndOfStream => {
                let page = match self.stream {
                    StreamState::Open { page } => page,
                    StreamState::None => {
                        return self.fail("END_OF_STREAM for a stream that is not open");
                    }
                };
                if !self.seen.completed {
                    return self.fail(format!(
                        "END_OF_STREAM for page {} whose destination was never completed",
                        m.page
                    ));
                }
                if m.bytes != self.seen.len {
                    return self.fail(format!(
                        "END_OF_STREAM says {} bytes, but the destination holds {}",
                        m.bytes, self.seen.len
                    ));
                }
                if self.multipage {
                    if self.eos_seen {
                        return self.fail("END_OF_STREAM twice for one multipage stream");
                    }
                    if let Some(open) = self.open_page.take() {
                        self.multipage_pages = self.multipage_pages.max(open);
                    }
                    if self.multipage_pages == 0 {
                        return self.fail("END_OF_STREAM for a multipage stream without pages");
                    }
                    self.eos_seen = true;
                } else {
                    if m.page != page {
                        return self.fail(format!(
                            "END_OF_STREAM names page {} for the stream of page {page}",
                            m.page
                        ));
                    }
                    self.delivered += 1;
                }
                self.stream = StreamState::None;
                Ok(())
            }
            MessageKind::EndOfTransfer => {
                if let Some(page) = self.undiscarded {
                    return self.fail(format!(
                        "the stream of abandoned page {page} was not discarded by the end"
                    ));
                }
                self.ended = true;
                Ok(())
            }
            MessageKind::DeviceStatus => {
                self.fail("DEVICE_STATUS must go to the handler chain, not the callback")
            }
        }
    }
}

/// Checks a recorded trace against the contract's message-order rules
/// (listed at [`OrderChecker`]).
pub fn check(trace: &Trace) -> Result<(), Violation> {
    let mut checker = OrderChecker::new(trace.multipage, trace.upload);
    for event in &trace.events {
        checker.observe(event)?;
    }
    checker.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: MessageKind, page: u32, percent: i32, bytes: u64) -> TraceEvent {
        TraceEvent::Message {
            message: TransferMessage {
                kind,
                item: "Feeder".into(),
                page,
                side: Side::Front,
                percent,
                bytes,
            },
            answer: Flow::Continue,
        }
    }

    fn request(page: u32, reply: StreamReply) -> TraceEvent {
        TraceEvent::StreamRequest {
            item: "Feeder".into(),
            page,
            side: Side::Front,
            reply,
        }
    }

    fn status(code: StatusCode, answer: StatusAnswer) -> TraceEvent {
        TraceEvent::DeviceStatus {
            code,
            percent: None,
            answer,
        }
    }

    fn wrote(len: u64) -> TraceEvent {
        TraceEvent::Destination(DestinationOp::Wrote { len })
    }

    fn cut(len: u64) -> TraceEvent {
        TraceEvent::Destination(DestinationOp::Truncated { len })
    }

    const COMPLETED: TraceEvent = TraceEvent::Destination(DestinationOp::Completed);
    const DISCARDED: TraceEvent = TraceEvent::Destination(DestinationOp::Discarded);

    fn per_page(events: Vec<TraceEvent>) -> Trace {
        Trace {
            multipage: false,
            upload: false,
            events,
        }
    }

    fn multipage(events: Vec<TraceEvent>) -> Trace {
        Trace {
            multipage: true,
            upload: false,
            events,
        }
    }

    /// Two pages, one stream each, as the layer records them.
    fn good_two_pages() -> Trace {
        per_page(vec![
            request(1, StreamReply::Stream),
            wrote(10),
            msg(MessageKind::Status, 1, 50, 10),
            wrote(20),
            msg(MessageKind::Status, 1, 100, 20),
            COMPLETED,
            msg(MessageKind::EndOfStream, 1, 100, 20),
            request(2, StreamReply::Stream),
            wrote(5),
            msg(MessageKind::Status, 2, 100, 5),
            COMPLETED,
            msg(MessageKind::EndOfStream, 2, 100, 5),
            msg(MessageKind::EndOfTransfer, 0, 100, 0),
        ])
    }

    /// Two pages in one document, the second jammed, retried and
    /// rewound; warming up first.
    fn good_document() -> Trace {
        multipage(vec![
            status(StatusCode::WARMING_UP, StatusAnswer::NotHandled),
            status(StatusCode::WARMING_UP, StatusAnswer::NotHandled),
            status(StatusCode::CLEAR, StatusAnswer::NotHandled),
            request(1, StreamReply::Stream),
            msg(MessageKind::NewPage, 1, 0, 0),
            wrote(10),
            msg(MessageKind::Status, 1, 100, 10),
            msg(MessageKind::NewPage, 2, 0, 10),
            wrote(15),
            msg(MessageKind::Status, 2, 50, 15),
            status(StatusCode::PAPER_JAM, StatusAnswer::Handled),
            status(StatusCode::CLEAR, StatusAnswer::NotHandled),
            TraceEvent::PageRewound { page: 2 },
            cut(10),
            wrote(12),
            msg(MessageKind::Status, 2, 50, 12),
            wrote(30),
            msg(MessageKind::Status, 2, 100, 30),
            COMPLETED,
            msg(MessageKind::EndOfStream, 2, 100, 30),
            msg(MessageKind::EndOfTransfer, 0, 100, 0),
        ])
    }

    /// `trace` with `edit` applied must break a rule whose text contains
    /// `rule`.
    fn rejects(name: &str, mut trace: Trace, edit: impl FnOnce(&mut Vec<TraceEvent>), rule: &str) {
        edit(&mut trace.events);
        match check(&trace) {
            Ok(()) => panic!("{name}: the checker accepted {:#?}", trace.events),
            Err(v) => assert!(
                v.rule.contains(rule),
                "{name}: broke {v} instead of `{rule}`"
            ),
        }
    }

    #[test]
    fn accepts_correct_traces() {
        assert_eq!(check(&good_two_pages()), Ok(()));
        assert_eq!(check(&good_document()), Ok(()));
        assert_eq!(good_document().delivered_pages().len(), 2);
    }

    #[test]
    fn rejects_each_broken_rule() {
        use MessageKind::*;
        let two = good_two_pages;
        let doc = good_document;
        rejects(
            "no EOT",
            two(),
            |e| drop(e.pop()),
            "END_OF_TRANSFER is missing",
        );
        rejects(
            "two EOTs",
            two(),
            |e| e.push(msg(EndOfTransfer, 0, 100, 0)),
            "more than once",
        );
        rejects(
            "EOT not last",
            two(),
            |e| e.push(request(3, StreamReply::Stream)),
            "not the last",
        );
        rejects(
            "second stream open",
            two(),
            |e| drop(e.remove(6)),
            "still open",
        );
        rejects(
            "gap in page numbers",
            two(),
            |e| e[7] = request(3, StreamReply::Stream),
            "no gaps",
        );
        rejects(
            "bytes not what the destination holds",
            two(),
            |e| e[2] = msg(Status, 1, 50, 9),
            "destination holds",
        );
        rejects(
            "bytes not restarting at 0 per stream",
            two(),
            |e| {
                e.remove(8);
                e[8] = msg(Status, 2, 100, 25);
            },
            "destination holds 0",
        );
        rejects(
            "END_OF_STREAM for a half-written page",
            two(),
            |e| drop(e.remove(5)),
            "never completed",
        );
        rejects(
            "written after completion",
            two(),
            |e| e.insert(6, wrote(30)),
            "after it was completed",
        );
        rejects(
            "STATUS after cancel",
            two(),
            |e| {
                e[2] = TraceEvent::Message {
                    message: TransferMessage {
                        kind: Status,
                        item: "Feeder".into(),
                        page: 1,
                        side: Side::Front,
                        percent: 50,
                        bytes: 10,
                    },
                    answer: Flow::Cancel,
                }
            },
            "cancelled",
        );
        rejects(
            "percent out of range",
            two(),
            |e| e[2] = msg(Status, 1, 101, 10),
            "out of -1..=100",
        );
        rejects(
            "END_OF_STREAM after abandon",
            per_page(vec![
                request(1, StreamReply::Stream),
                wrote(4),
                DISCARDED,
                TraceEvent::PageAbandoned { page: 1 },
                msg(EndOfStream, 1, 100, 0),
                msg(EndOfTransfer, 0, 100, 0),
            ]),
            |_| {},
            "not open",
        );
        rejects(
            "abandoned stream never discarded",
            per_page(vec![
                request(1, StreamReply::Stream),
                wrote(4),
                TraceEvent::PageAbandoned { page: 1 },
                msg(EndOfTransfer, 0, 100, 0),
            ]),
            |_| {},
            "not discarded",
        );
        rejects(
            "rewound page not cut off",
            doc(),
            |e| drop(e.remove(13)),
            "not cut off",
        );
        rejects(
            "rewind cut into the completed page",
            doc(),
            |e| e[13] = cut(8),
            "into the pages completed",
        );
        rejects(
            "bytes going back without a cut",
            doc(),
            |e| {
                e.remove(14);
                e.remove(13);
                e[13] = msg(Status, 2, 50, 12);
            },
            "rewound bytes are still in the stream",
        );
        rejects(
            "handled error without CLEAR",
            doc(),
            |e| drop(e.remove(11)),
            "CLEAR",
        );
        rejects(
            "please-wait never cleared",
            doc(),
            |e| drop(e.remove(2)),
            "WARMING_UP was not cleared",
        );
        rejects(
            "a different please-wait without CLEAR",
            doc(),
            |e| e[1] = status(StatusCode::CALIBRATING, StatusAnswer::NotHandled),
            "was not cleared",
        );
        rejects(
            "NEW_PAGE missing",
            doc(),
            |e| drop(e.remove(7)),
            "names page 2",
        );
        rejects(
            "NEW_PAGE per page stream",
            two(),
            |e| e.insert(1, msg(NewPage, 1, 0, 0)),
            "NEW_PAGE in a job with one stream per page",
        );
        rejects(
            "document completed with an abandoned page in it",
            doc(),
            |e| {
                e.truncate(10);
                e.push(TraceEvent::PageAbandoned { page: 2 });
                e.push(COMPLETED);
                e.push(msg(EndOfStream, 1, 100, 15));
                e.push(msg(EndOfTransfer, 0, 100, 0));
            },
            "abandoned page 2",
        );
        rejects(
            "DEVICE_STATUS to the callback",
            two(),
            |e| e.insert(2, msg(DeviceStatus, 1, 0, 10)),
            "handler chain",
        );
    }

    #[test]
    fn the_live_checker_keeps_its_first_violation() {
        let mut trace = good_two_pages();
        trace.events[2] = msg(MessageKind::Status, 1, 50, 9);
        let mut checker = OrderChecker::new(false, false);
        let results: Vec<bool> = trace
            .events
            .iter()
            .map(|e| checker.observe(e).is_ok())
            .collect();
        assert_eq!(&results[..3], &[true, true, false]);
        assert!(results[3..].iter().all(|ok| !ok));
        let first = checker.violation().cloned().expect("a violation");
        assert_eq!(first.at, 2);
        assert_eq!(checker.finish(), Err(first));
    }
}
