//! The message trace of a transfer and the one shared checker of the
//! contract's message order.
//!
//! The transfer layer records every stream request, message, device status
//! and destination event of a job into a [`Trace`]. [`check`] verifies the
//! rules of `wia-transfers.md` on it; every test of every back end runs it
//! over its jobs, so a back end cannot break the order unnoticed.

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

struct Checker<'t> {
    trace: &'t Trace,
    at: usize,
    stream: StreamState,
    /// Per-page: pages that got their END_OF_STREAM.
    delivered: u32,
    /// Multipage: the page announced by the last NEW_PAGE, if still open.
    open_page: Option<u32>,
    multipage_requests: u32,
    multipage_pages: u32,
    eos_seen: bool,
    cancelled: bool,
    last_bytes: Option<u64>,
    rewound: bool,
    needs_clear: bool,
}

impl Checker<'_> {
    fn fail<T>(&self, rule: impl Into<String>) -> Result<T, Violation> {
        Err(Violation {
            at: self.at,
            rule: rule.into(),
        })
    }

    fn run(mut self) -> Result<(), Violation> {
        let events = &self.trace.events;
        let eot: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, TraceEvent::Message { message, .. } if message.kind == MessageKind::EndOfTransfer))
            .map(|(i, _)| i)
            .collect();
        match eot.as_slice() {
            [only] if *only + 1 == events.len() => {}
            [] => return self.fail("END_OF_TRANSFER is missing"),
            [only] => {
                self.at = *only;
                return self.fail("END_OF_TRANSFER is not the last event");
            }
            [_, second, ..] => {
                self.at = *second;
                return self.fail("END_OF_TRANSFER sent more than once");
            }
        }
        for (i, event) in events.iter().enumerate() {
            self.at = i;
            self.event(event)?;
        }
        if let StreamState::Open { page } = self.stream {
            return self.fail(format!(
                "the stream of page {page} was neither completed nor abandoned"
            ));
        }
        Ok(())
    }

    fn event(&mut self, event: &TraceEvent) -> Result<(), Violation> {
        match event {
            TraceEvent::CancelRequested => {
                self.cancelled = true;
                Ok(())
            }
            TraceEvent::StreamDiscarded => {
                if !self.trace.multipage {
                    return self.fail("a per-page stream is discarded by abandoning its page");
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
            TraceEvent::DeviceStatus { code, answer, .. } => {
                if *code == StatusCode::CLEAR {
                    self.needs_clear = false;
                } else if self.needs_clear {
                    return self.fail("a handled error must be followed by CLEAR");
                } else if code.is_error() && *answer == StatusAnswer::Handled {
                    self.needs_clear = true;
                }
                if *answer == StatusAnswer::Cancel {
                    self.cancelled = true;
                }
                Ok(())
            }
            TraceEvent::PageRewound { page } => {
                if self.needs_clear {
                    return self.fail("a page was rewound before CLEAR was sent");
                }
                let open = match self.stream {
                    StreamState::Open { page: p } if !self.trace.multipage => p == *page,
                    StreamState::Open { .. } => self.open_page == Some(*page),
                    StreamState::None => false,
                };
                if !open {
                    return self.fail(format!("page {page} rewound while not in progress"));
                }
                self.rewound = true;
                Ok(())
            }
            TraceEvent::PageAbandoned { page } | TraceEvent::PageDropped { page } => {
                if self.trace.multipage {
                    if self.open_page != Some(*page) {
                        return self.fail(format!("page {page} abandoned while not in progress"));
                    }
                    self.open_page = None;
                } else {
                    match self.stream {
                        StreamState::Open { page: p } if p == *page => {
                            self.stream = StreamState::None
                        }
                        _ => {
                            return self
                                .fail(format!("page {page} abandoned but its stream is not open"));
                        }
                    }
                }
                Ok(())
            }
        }
    }

    fn stream_request(&mut self, page: u32, reply: StreamReply) -> Result<(), Violation> {
        if self.cancelled {
            return self.fail("a stream was requested after the job was cancelled");
        }
        if self.needs_clear {
            return self.fail("a handled error must be followed by CLEAR");
        }
        if self.trace.multipage {
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
            MessageKind::EndOfTransfer => Ok(()),
            other => self.fail(format!("{} in an upload", other.name())),
        }
    }

    fn message(&mut self, m: &TransferMessage) -> Result<(), Violation> {
        if m.kind != MessageKind::EndOfTransfer && self.needs_clear {
            return self.fail("a handled error must be followed by CLEAR");
        }
        if self.trace.upload {
            return self.upload_message(m);
        }
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
                let expected = if self.trace.multipage {
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
                if let Some(last) = self.last_bytes
                    && m.bytes < last
                    && !self.rewound
                {
                    return self.fail(format!(
                        "STATUS bytes went back from {last} to {} without a rewind",
                        m.bytes
                    ));
                }
                self.rewound = false;
                self.last_bytes = Some(m.bytes);
                Ok(())
            }
            MessageKind::NewPage => {
                if !self.trace.multipage {
                    return self.fail("NEW_PAGE in a job with one stream per page");
                }
                if self.cancelled {
                    return self.fail("NEW_PAGE sent after the job was cancelled");
                }
                if !matches!(self.stream, StreamState::Open { .. }) {
                    return self.fail("NEW_PAGE without an open stream");
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
                Ok(())
            }
            MessageKind::EndOfStream => {
                let page = match self.stream {
                    StreamState::Open { page } => page,
                    StreamState::None => {
                        return self.fail("END_OF_STREAM for a stream that is not open");
                    }
                };
                if self.trace.multipage {
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
            MessageKind::EndOfTransfer => Ok(()),
            MessageKind::DeviceStatus => {
                self.fail("DEVICE_STATUS must go to the handler chain, not the callback")
            }
        }
    }
}

/// Checks a trace against the contract's message-order rules:
///
/// - END_OF_TRANSFER exactly once, and last;
/// - at most one stream open; END_OF_STREAM only for an open stream, once,
///   never for an abandoned page; every opened stream ends completed or
///   abandoned;
/// - delivered page numbers 1, 2, 3 ... without gaps (skipped pages use no
///   number); a multipage stream asks once and has NEW_PAGE before every
///   page, the first included;
/// - STATUS percent in -1..=100, naming the page in progress, bytes never
///   going back except right after a rewind;
/// - after a Cancel answer (or `cancel()`): no stream request, STATUS or
///   NEW_PAGE; only completions, abandonment and END_OF_TRANSFER;
/// - a handled error status is followed by CLEAR before anything else.
pub fn check(trace: &Trace) -> Result<(), Violation> {
    Checker {
        trace,
        at: 0,
        stream: StreamState::None,
        delivered: 0,
        open_page: None,
        multipage_requests: 0,
        multipage_pages: 0,
        eos_seen: false,
        cancelled: false,
        last_bytes: None,
        rewound: false,
        needs_clear: false,
    }
    .run()
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

    fn good_two_pages() -> Trace {
        Trace {
            multipage: false,
            upload: false,
            events: vec![
                request(1, StreamReply::Stream),
                msg(MessageKind::Status, 1, 50, 10),
                msg(MessageKind::Status, 1, 100, 20),
                msg(MessageKind::EndOfStream, 1, 100, 20),
                request(2, StreamReply::Stream),
                msg(MessageKind::Status, 2, 100, 5),
                msg(MessageKind::EndOfStream, 2, 100, 5),
                msg(MessageKind::EndOfTransfer, 0, 100, 0),
            ],
        }
    }

    #[test]
    fn accepts_a_correct_trace() {
        assert_eq!(check(&good_two_pages()), Ok(()));
    }

    #[test]
    fn rejects_missing_or_repeated_end_of_transfer() {
        let mut t = good_two_pages();
        t.events.pop();
        assert!(check(&t).is_err());
        let mut t = good_two_pages();
        t.events.push(msg(MessageKind::EndOfTransfer, 0, 100, 0));
        assert!(check(&t).is_err());
    }

    #[test]
    fn rejects_a_second_stream_while_one_is_open() {
        let mut t = good_two_pages();
        t.events.remove(3);
        assert!(check(&t).is_err());
    }

    #[test]
    fn rejects_end_of_stream_after_abandon() {
        let t = Trace {
            multipage: false,
            upload: false,
            events: vec![
                request(1, StreamReply::Stream),
                TraceEvent::PageAbandoned { page: 1 },
                msg(MessageKind::EndOfStream, 1, 100, 0),
                msg(MessageKind::EndOfTransfer, 0, 100, 0),
            ],
        };
        assert!(check(&t).is_err());
    }

    #[test]
    fn rejects_gaps_in_page_numbers() {
        let mut t = good_two_pages();
        t.events[4] = request(3, StreamReply::Stream);
        assert!(check(&t).is_err());
    }

    #[test]
    fn rejects_status_after_cancel_and_bytes_going_back() {
        let mut t = good_two_pages();
        t.events[1] = TraceEvent::Message {
            message: TransferMessage {
                kind: MessageKind::Status,
                item: "Feeder".into(),
                page: 1,
                side: Side::Front,
                percent: 50,
                bytes: 10,
            },
            answer: Flow::Cancel,
        };
        assert!(check(&t).is_err());
        let mut t = good_two_pages();
        t.events[2] = msg(MessageKind::Status, 1, 100, 5);
        assert!(check(&t).is_err());
    }

    #[test]
    fn multipage_needs_new_page_before_every_page() {
        let t = Trace {
            multipage: true,
            upload: false,
            events: vec![
                request(1, StreamReply::Stream),
                msg(MessageKind::NewPage, 1, 0, 0),
                msg(MessageKind::Status, 1, 100, 10),
                msg(MessageKind::NewPage, 2, 0, 10),
                msg(MessageKind::Status, 2, 100, 20),
                msg(MessageKind::EndOfStream, 2, 100, 20),
                msg(MessageKind::EndOfTransfer, 0, 100, 0),
            ],
        };
        assert_eq!(check(&t), Ok(()));
        assert_eq!(t.delivered_pages().len(), 2);
        let mut bad = t.clone();
        bad.events.remove(3);
        assert!(check(&bad).is_err());
    }

    #[test]
    fn handled_error_needs_clear() {
        let mut t = good_two_pages();
        t.events.insert(
            2,
            TraceEvent::DeviceStatus {
                code: StatusCode::PAPER_JAM,
                percent: None,
                answer: StatusAnswer::Handled,
            },
        );
        t.events.insert(3, TraceEvent::PageRewound { page: 1 });
        assert!(check(&t).is_err());
        t.events.insert(
            3,
            TraceEvent::DeviceStatus {
                code: StatusCode::CLEAR,
                percent: None,
                answer: StatusAnswer::NotHandled,
            },
        );
        // After the rewind the bytes may restart below the earlier count.
        t.events[5] = msg(MessageKind::Status, 1, 100, 3);
        assert_eq!(check(&t), Ok(()));
    }
}
