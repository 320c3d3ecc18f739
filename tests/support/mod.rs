//! Shared helpers of the integration tests: an in-memory application
//! callback with scripted answers, a virtual-clock transfer runner over the
//! virtual scanner, decoding of written pages and their index strips.
#![allow(dead_code)]

use std::io::{self, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamscan::clock::{CancelToken, VirtualClock};
use streamscan::device::sim::render::{IndexStrip, decode_index_strip};
use streamscan::device::sim::{SimDriver, SimOptions};
use streamscan::raster::{Page, PageHeader, PixelFormat};
use streamscan::transfer::{
    Destination, DeviceStatus, Flow, MessageKind, Outcome, StatusAnswer, StatusHandler,
    StreamAnswer, StreamRequest, Trace, Transfer, TransferCallback, TransferError,
    TransferMessage, TransferOptions, check,
};

/// A stream whose bytes the test can read after the transfer.
#[derive(Clone, Default)]
pub struct SharedStream {
    pub state: Arc<Mutex<StreamState>>,
}

#[derive(Default)]
pub struct StreamState {
    pub bytes: Vec<u8>,
    pub pos: usize,
    pub completed: bool,
    pub discarded: bool,
    /// Fail writes once the stream would exceed this many bytes.
    pub limit: Option<usize>,
}

impl Write for SharedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut s = self.state.lock().expect("stream lock");
        if let Some(limit) = s.limit
            && s.pos + buf.len() > limit
        {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "No space left on device",
            ));
        }
        let end = s.pos + buf.len();
        if s.bytes.len() < end {
            s.bytes.resize(end, 0);
        }
        let pos = s.pos;
        s.bytes[pos..end].copy_from_slice(buf);
        s.pos = end;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for SharedStream {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let mut s = self.state.lock().expect("stream lock");
        let new = match pos {
            SeekFrom::Start(p) => p as i64,
            SeekFrom::End(d) => s.bytes.len() as i64 + d,
            SeekFrom::Current(d) => s.pos as i64 + d,
        };
        if new < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "negative seek"));
        }
        s.pos = new as usize;
        Ok(new as u64)
    }
}

impl Destination for SharedStream {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.state
            .lock()
            .expect("stream lock")
            .bytes
            .resize(len as usize, 0);
        Ok(())
    }
    fn complete(&mut self) -> io::Result<()> {
        self.state.lock().expect("stream lock").completed = true;
        Ok(())
    }
    fn discard(&mut self) {
        let mut s = self.state.lock().expect("stream lock");
        s.discarded = true;
        s.bytes.clear();
        s.pos = 0;
    }
}

/// What the callback answers to a stream request.
pub type StreamScript = Box<dyn FnMut(&StreamRequest) -> Option<StreamAnswerKind> + Send>;
/// What the callback answers to a message.
pub type MessageScript = Box<dyn FnMut(&TransferMessage) -> Flow + Send>;

/// A scripted answer to a stream request.
pub enum StreamAnswerKind {
    Skip,
    Cancel,
}

/// An application callback keeping every stream in memory.
pub struct MemCallback {
    pub streams: Vec<(StreamRequest, SharedStream)>,
    pub messages: Vec<TransferMessage>,
    pub on_stream: Option<StreamScript>,
    pub on_message: Option<MessageScript>,
    /// Byte limit for every new stream (simulates a full disk).
    pub limit: Option<usize>,
}

impl Default for MemCallback {
    fn default() -> Self {
        MemCallback {
            streams: Vec::new(),
            messages: Vec::new(),
            on_stream: None,
            on_message: None,
            limit: None,
        }
    }
}

impl MemCallback {
    /// Bytes of the streams that were completed, in order.
    pub fn completed(&self) -> Vec<Vec<u8>> {
        self.streams
            .iter()
            .filter_map(|(_, s)| {
                let st = s.state.lock().expect("stream lock");
                st.completed.then(|| st.bytes.clone())
            })
            .collect()
    }

    /// Number of streams that were discarded.
    pub fn discarded(&self) -> usize {
        self.streams
            .iter()
            .filter(|(_, s)| s.state.lock().expect("stream lock").discarded)
            .count()
    }
}

impl TransferCallback for MemCallback {
    fn next_stream(&mut self, request: &StreamRequest) -> StreamAnswer {
        if let Some(script) = self.on_stream.as_mut() {
            match script(request) {
                Some(StreamAnswerKind::Skip) => return StreamAnswer::Skip,
                Some(StreamAnswerKind::Cancel) => return StreamAnswer::Cancel,
                None => {}
            }
        }
        let stream = SharedStream::default();
        stream.state.lock().expect("stream lock").limit = self.limit;
        self.streams.push((request.clone(), stream.clone()));
        StreamAnswer::Stream(Box::new(stream))
    }

    fn message(&mut self, message: &TransferMessage) -> Flow {
        self.messages.push(message.clone());
        match self.on_message.as_mut() {
            Some(script) => script(message),
            None => Flow::Continue,
        }
    }
}

/// A status handler answering by a script and recording what it saw.
pub struct ScriptedHandler {
    pub seen: Arc<Mutex<Vec<DeviceStatus>>>,
    pub answer: Box<dyn FnMut(&DeviceStatus, &CancelToken) -> StatusAnswer + Send>,
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

/// The result of one transfer run.
pub struct Run {
    pub result: Result<Outcome, TransferError>,
    pub trace: Trace,
    pub totals: streamscan::transfer::Totals,
    pub clock: Arc<VirtualClock>,
}

/// Options of a virtual-scanner run.
pub struct RunOptions {
    pub handler: Option<ScriptedHandler>,
    pub cancel: CancelToken,
    pub timeout: Duration,
    pub clock: Arc<VirtualClock>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            handler: None,
            cancel: CancelToken::new(),
            timeout: Duration::from_secs(30),
            clock: VirtualClock::shared(),
        }
    }
}

/// Opens a virtual scanner from a `sim:` id with a private storage folder.
pub fn sim(rest: &str, storage: &std::path::Path) -> SimDriver {
    let mut options = SimOptions::parse(rest).expect("valid sim options");
    if options.storage.is_none() {
        options.storage = Some(storage.to_path_buf());
    }
    SimDriver::open(&format!("sim:{rest}"), options).expect("open sim")
}

/// Runs one download on the virtual scanner with a virtual clock and checks
/// the trace with the shared message-order checker.
pub fn run(
    driver: &mut SimDriver,
    item: &str,
    settings: &streamscan::transfer::ScanSettings,
    callback: &mut MemCallback,
    mut options: RunOptions,
) -> Run {
    let transfer_options = TransferOptions {
        clock: options.clock.clone(),
        cancel: options.cancel.clone(),
        no_data_timeout: options.timeout,
    };
    let mut transfer = Transfer::new(driver, transfer_options);
    if let Some(handler) = options.handler.as_mut() {
        transfer = transfer.with_status_handler(handler);
    }
    let result = transfer.download(item, 0, settings, callback);
    let trace = transfer.trace().clone();
    let totals = transfer.totals();
    if let Err(violation) = check(&trace) {
        panic!(
            "message order violated: {violation}\n{:#?}",
            &trace.events[violation.at.saturating_sub(3)..(violation.at + 2).min(trace.events.len())]
        );
    }
    Run {
        result,
        trace,
        totals,
        clock: options.clock,
    }
}

/// Decodes an image file (PNG, JPEG, TIFF, BMP, PNM) into a page.
pub fn decode(bytes: &[u8]) -> Page {
    let image = image::load_from_memory(bytes).expect("decodable image");
    let rgb = image.to_rgb8();
    Page {
        header: PageHeader {
            width: rgb.width(),
            height: Some(rgb.height()),
            format: PixelFormat::Rgb8,
            dpi_x: 0,
            dpi_y: 0,
        },
        data: rgb.into_raw(),
    }
}

/// Decodes a file's index strip.
pub fn strip(bytes: &[u8]) -> IndexStrip {
    let page = decode(bytes);
    decode_index_strip(&page).expect("the page carries a readable index strip")
}

/// Kinds of the messages, for compact assertions.
pub fn kinds(messages: &[TransferMessage]) -> Vec<MessageKind> {
    messages.iter().map(|m| m.kind).collect()
}
