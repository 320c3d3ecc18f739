//! The application's side of a transfer, recorded and scripted: the
//! callback that hands out in-memory streams and keeps every request and
//! message (with the state of the current stream when it came), the status
//! handler that answers by a script, and the page observer that logs what
//! the preview taps see. Running a transfer with them is in `jobs`.

use super::destinations::SharedStream;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use streamscan::clock::CancelToken;
use streamscan::raster::{Band, PageHeader};
use streamscan::transfer::{
    DeviceStatus, Flow, MessageKind, PageEnd, PageObserver, Side, StatusAnswer, StatusHandler,
    StreamAnswer, StreamRequest, TransferCallback, TransferMessage,
};

/// How a [`MemCallback`] answers one stream request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamReply {
    /// A fresh in-memory stream.
    Stream,
    /// A fresh stream that runs out of space after this many bytes.
    Limited(usize),
    /// Skip the page.
    Skip,
    /// Cancel the job.
    Cancel,
}

/// What the callback answers to a stream request.
pub type StreamScript = Box<dyn FnMut(&StreamRequest) -> StreamReply + Send>;
/// What the callback answers to a message.
pub type MessageScript = Box<dyn FnMut(&TransferMessage) -> Flow + Send>;

/// A message together with the state of the current stream when it came.
pub struct Seen {
    pub message: TransferMessage,
    /// The stream's real length.
    pub len: u64,
    /// Bytes ever written to it (a discard clears the stream, not this).
    pub written: u64,
}

/// An application callback keeping every stream in memory.
#[derive(Default)]
pub struct MemCallback {
    /// Every stream request in order, also those answered Skip or Cancel.
    pub requests: Vec<StreamRequest>,
    /// The streams handed out, with their requests.
    pub streams: Vec<(StreamRequest, SharedStream)>,
    /// Every message in order.
    pub messages: Vec<TransferMessage>,
    /// Every message in order, with the current stream's state.
    pub seen: Vec<Seen>,
    /// Answers stream requests (none: a fresh stream each time).
    pub on_stream: Option<StreamScript>,
    /// Answers messages (none: Continue).
    pub on_message: Option<MessageScript>,
}

impl MemCallback {
    /// Answers the stream requests with `replies` in order, then with
    /// fresh streams once they run out.
    pub fn replying(replies: impl IntoIterator<Item = StreamReply>) -> MemCallback {
        let mut replies: VecDeque<StreamReply> = replies.into_iter().collect();
        MemCallback {
            on_stream: Some(Box::new(move |_| {
                replies.pop_front().unwrap_or(StreamReply::Stream)
            })),
            ..MemCallback::default()
        }
    }

    /// Answers Cancel to the messages `when` picks, Continue to the rest.
    pub fn cancelling(
        mut when: impl FnMut(&TransferMessage) -> bool + Send + 'static,
    ) -> MemCallback {
        MemCallback {
            on_message: Some(Box::new(move |message| {
                if when(message) {
                    Flow::Cancel
                } else {
                    Flow::Continue
                }
            })),
            ..MemCallback::default()
        }
    }

    /// The `index`-th stream handed out.
    pub fn stream(&self, index: usize) -> &SharedStream {
        &self.streams[index].1
    }

    /// Bytes of the streams that were completed, in order.
    pub fn completed(&self) -> Vec<Vec<u8>> {
        self.streams
            .iter()
            .filter_map(|(_, s)| {
                let st = s.state();
                st.completed.then(|| st.bytes.clone())
            })
            .collect()
    }

    /// Number of streams that were discarded.
    pub fn discarded(&self) -> usize {
        self.streams
            .iter()
            .filter(|(_, s)| s.is_discarded())
            .count()
    }

    /// The page numbers of the messages of `kind`, in order.
    pub fn pages_of(&self, kind: MessageKind) -> Vec<u32> {
        self.messages
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.page)
            .collect()
    }

    /// The messages of `kind` with the stream state they came with.
    pub fn seen_of(&self, kind: MessageKind) -> impl Iterator<Item = &Seen> {
        self.seen.iter().filter(move |s| s.message.kind == kind)
    }
}

impl TransferCallback for MemCallback {
    fn next_stream(&mut self, request: &StreamRequest) -> StreamAnswer {
        self.requests.push(request.clone());
        let reply = match self.on_stream.as_mut() {
            Some(script) => script(request),
            None => StreamReply::Stream,
        };
        let stream = match reply {
            StreamReply::Stream => SharedStream::default(),
            StreamReply::Limited(limit) => SharedStream::with_limit(limit),
            StreamReply::Skip => return StreamAnswer::Skip,
            StreamReply::Cancel => return StreamAnswer::Cancel,
        };
        self.streams.push((request.clone(), stream.clone()));
        StreamAnswer::Stream(Box::new(stream))
    }

    fn message(&mut self, message: &TransferMessage) -> Flow {
        let (len, written) = match self.streams.last() {
            Some((_, stream)) => {
                let state = stream.state();
                (state.bytes.len() as u64, state.written)
            }
            None => (0, 0),
        };
        self.messages.push(message.clone());
        self.seen.push(Seen {
            message: message.clone(),
            len,
            written,
        });
        match self.on_message.as_mut() {
            Some(script) => script(message),
            None => Flow::Continue,
        }
    }
}

/// Kinds of the messages, for compact assertions.
pub fn kinds(messages: &[TransferMessage]) -> Vec<MessageKind> {
    messages.iter().map(|m| m.kind).collect()
}

/// How a scripted handler answers a status.
pub type HandlerScript = Box<dyn FnMut(&DeviceStatus, &CancelToken) -> StatusAnswer + Send>;

/// A status handler answering by a script and recording what it saw.
pub struct ScriptedHandler {
    pub seen: Arc<Mutex<Vec<DeviceStatus>>>,
    pub answer: HandlerScript,
}

impl ScriptedHandler {
    pub fn new(
        answer: impl FnMut(&DeviceStatus, &CancelToken) -> StatusAnswer + Send + 'static,
    ) -> ScriptedHandler {
        ScriptedHandler {
            seen: Arc::new(Mutex::new(Vec::new())),
            answer: Box::new(answer),
        }
    }

    /// Handles every error by "the user pressed Retry".
    pub fn retry_errors() -> ScriptedHandler {
        ScriptedHandler::new(|status, _| {
            if status.code.is_error() {
                StatusAnswer::Handled
            } else {
                StatusAnswer::NotHandled
            }
        })
    }
}

impl StatusHandler for ScriptedHandler {
    fn handle(&mut self, status: &DeviceStatus, cancel: &CancelToken) -> StatusAnswer {
        self.seen.lock().expect("seen lock").push(status.clone());
        (self.answer)(status, cancel)
    }
}

/// What a page observer saw, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Tap {
    /// Raw rows of this page start.
    Data(u32),
    /// A band as the device sent it.
    Raw(Band),
    /// A band after the point operations.
    Filtered(Band),
    /// This page ended so.
    End(u32, PageEnd),
}

/// A page observer that logs every call.
#[derive(Default)]
pub struct TapLog(pub Mutex<Vec<Tap>>);

impl TapLog {
    fn push(&self, tap: Tap) {
        self.0.lock().expect("tap log").push(tap);
    }

    /// Everything seen so far.
    pub fn taps(&self) -> Vec<Tap> {
        self.0.lock().expect("tap log").clone()
    }

    /// The page ends seen so far.
    pub fn ends(&self) -> Vec<Tap> {
        self.taps()
            .into_iter()
            .filter(|t| matches!(t, Tap::End(..)))
            .collect()
    }
}

impl PageObserver for TapLog {
    fn page_data(&self, page: u32, _side: Side, _header: &PageHeader) {
        self.push(Tap::Data(page));
    }
    fn raw_band(&self, _page: u32, band: &Band) {
        self.push(Tap::Raw(band.clone()));
    }
    fn filtered_band(&self, band: &Band) {
        self.push(Tap::Filtered(band.clone()));
    }
    fn page_end(&self, page: u32, end: PageEnd) {
        self.push(Tap::End(page, end));
    }
}
