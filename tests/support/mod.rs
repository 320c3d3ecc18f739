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
    StreamAnswer, StreamRequest, Trace, Transfer, TransferCallback, TransferError, TransferMessage,
    TransferOptions, check,
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
#[derive(Default)]
pub struct MemCallback {
    pub streams: Vec<(StreamRequest, SharedStream)>,
    pub messages: Vec<TransferMessage>,
    pub on_stream: Option<StreamScript>,
    pub on_message: Option<MessageScript>,
    /// Byte limit for every new stream (simulates a full disk).
    pub limit: Option<usize>,
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
            &trace.events
                [violation.at.saturating_sub(3)..(violation.at + 2).min(trace.events.len())]
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

// ---------------------------------------------------------------------------
// Engine helpers (used by tests/engine.rs and tests/fault_matrix.rs): an
// engine on a virtual clock that records every event, a gate that holds a
// job's worker after each event it sends, virtual-scanner ids, output
// directory listings, and decoders of multipage TIFF and PDF documents.
// ---------------------------------------------------------------------------

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Condvar;
use streamscan::engine::{Command, Engine, EngineConfig, Event, JobId, JobSummary};
use streamscan::raster::{PixelFormat as RasterFormat, rgb_row};
use streamscan::transfer::Side as PageSide;

/// How long a test waits for the next engine event before it declares the
/// engine hung (a hang detector, not a timing assertion).
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Holds chosen jobs' worker threads inside the engine's waker, which the
/// engine calls on the sending thread right after every event. A held job
/// sends one event, then waits until the test lets it take one more step
/// (or releases it), so a test can act at an exact point of a job without
/// any timing. Workers are recognised by their thread name
/// `streamscan-job-<id>`.
#[derive(Default)]
pub struct Gate {
    /// Held jobs and the steps each may still take.
    held: Mutex<HashMap<JobId, u64>>,
    wake: Condvar,
}

impl Gate {
    /// Holds `job` after each event it sends (call before the job starts).
    pub fn hold(&self, job: JobId) {
        self.held.lock().expect("gate lock").insert(job, 0);
    }

    /// Lets a held `job` send one more event.
    pub fn step(&self, job: JobId) {
        if let Some(steps) = self.held.lock().expect("gate lock").get_mut(&job) {
            *steps += 1;
        }
        self.wake.notify_all();
    }

    /// Lets `job` run freely from now on.
    pub fn release(&self, job: JobId) {
        self.held.lock().expect("gate lock").remove(&job);
        self.wake.notify_all();
    }

    /// Lets every job run freely.
    pub fn release_all(&self) {
        self.held.lock().expect("gate lock").clear();
        self.wake.notify_all();
    }

    /// Called by the waker on the thread that sent an event.
    fn pass(&self) {
        let job: Option<JobId> = std::thread::current()
            .name()
            .and_then(|n| n.strip_prefix("streamscan-job-"))
            .and_then(|id| id.parse().ok());
        let Some(job) = job else { return };
        let mut held = self.held.lock().expect("gate lock");
        loop {
            match held.get_mut(&job) {
                None => return,
                Some(steps) if *steps > 0 => {
                    *steps -= 1;
                    return;
                }
                Some(_) => held = self.wake.wait(held).expect("gate lock"),
            }
        }
    }
}

/// An engine on a virtual clock, with every event received so far.
pub struct EngineHarness {
    pub engine: Engine,
    pub clock: Arc<VirtualClock>,
    pub gate: Arc<Gate>,
    pub log: Vec<Event>,
}

impl EngineHarness {
    /// Starts an engine on a fresh virtual clock; `configure` may change the
    /// configuration (its clock is already the virtual one).
    pub fn start(configure: impl FnOnce(&mut EngineConfig)) -> EngineHarness {
        let clock = VirtualClock::shared();
        let gate = Arc::new(Gate::default());
        let mut config = EngineConfig {
            clock: clock.clone(),
            keep_traces: true,
            ..EngineConfig::default()
        };
        configure(&mut config);
        let waker_gate = gate.clone();
        let engine = Engine::start(config, Arc::new(move || waker_gate.pass()));
        EngineHarness {
            engine,
            clock,
            gate,
            log: Vec::new(),
        }
    }

    /// Sends a command (fails the test when the engine is gone).
    pub fn send(&self, command: Command) {
        assert!(
            self.engine.send(command),
            "the engine stopped taking commands"
        );
    }

    /// The next event; fails the test when none comes within
    /// [`EVENT_TIMEOUT`].
    pub fn next(&mut self, waiting_for: &str) -> Event {
        match self.engine.events().recv_timeout(EVENT_TIMEOUT) {
            Ok(event) => {
                // Every job's trace goes through the shared checker.
                if let Event::Trace { job, trace } = &event
                    && let Err(violation) = check(trace)
                {
                    panic!(
                        "job {job}: message order violated: {violation}\n{:#?}",
                        &trace.events[violation.at.saturating_sub(3)
                            ..(violation.at + 2).min(trace.events.len())]
                    );
                }
                self.log.push(event.clone());
                event
            }
            Err(e) => panic!(
                "no engine event within {} s while waiting for {waiting_for} ({e}): the engine hangs; last events: {:#?}",
                EVENT_TIMEOUT.as_secs(),
                &self.log[self.log.len().saturating_sub(8)..]
            ),
        }
    }

    /// Receives events until one satisfies `matches`, and returns it.
    pub fn until(&mut self, waiting_for: &str, mut matches: impl FnMut(&Event) -> bool) -> Event {
        loop {
            let event = self.next(waiting_for);
            if matches(&event) {
                return event;
            }
        }
    }

    /// Receives events until `job` finishes; every question of that job is
    /// answered with `answer(status)`. Returns the job's result.
    pub fn finish_answering(
        &mut self,
        job: JobId,
        mut answer: impl FnMut(&DeviceStatus) -> StatusAnswer,
    ) -> Result<JobSummary, TransferError> {
        loop {
            match self.next(&format!("the end of job {job}")) {
                Event::JobFinished { job: j, result } if j == job => return result,
                Event::Question {
                    job: j,
                    question,
                    status,
                } if j == job => {
                    let answer = answer(&status);
                    self.send(Command::Answer {
                        job,
                        question,
                        answer,
                    });
                }
                _ => {}
            }
        }
    }

    /// Receives events until `job` finishes (questions stay unanswered).
    pub fn finish(&mut self, job: JobId) -> Result<JobSummary, TransferError> {
        loop {
            if let Event::JobFinished { job: j, result } =
                self.next(&format!("the end of job {job}"))
                && j == job
            {
                return result;
            }
        }
    }

    /// Steps a held `job` event by event until one satisfies `matches`;
    /// the job stays held right after that event. Events of other jobs are
    /// received on the way.
    pub fn step_until(
        &mut self,
        job: JobId,
        waiting_for: &str,
        mut matches: impl FnMut(&Event) -> bool,
    ) -> Event {
        loop {
            let event = self.next(waiting_for);
            if event.job() == job {
                if matches(&event) {
                    return event;
                }
                self.gate.step(job);
            }
        }
    }

    /// Every event of `job` received so far, in order.
    pub fn events_of(&self, job: JobId) -> Vec<&Event> {
        self.log.iter().filter(|e| e.job() == job).collect()
    }

    /// The transfer messages of `job` received so far, in order.
    pub fn messages_of(&self, job: JobId) -> Vec<&TransferMessage> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Event::Transfer { job: j, message } if *j == job => Some(message),
                _ => None,
            })
            .collect()
    }
}

impl Drop for EngineHarness {
    fn drop(&mut self) {
        // A held worker would keep the engine from shutting down.
        self.gate.release_all();
    }
}

/// A virtual-scanner id with warm-up off, a private storage folder and the
/// given extra options (`pages=4,fault=jam@2`...).
pub fn sim_id(options: &str, storage: &Path) -> String {
    let storage = storage.display().to_string();
    assert!(
        !storage.contains([',', '=', '%']),
        "{storage} would need escaping in a device id"
    );
    let mut id = format!("sim:warmup=0,storage={storage}");
    if !options.is_empty() {
        id.push(',');
        id.push_str(options);
    }
    id
}

/// The names in `dir`, sorted (hidden temporary files included).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Every page of a multipage TIFF, walking its IFD chain.
pub fn tiff_pages(bytes: &[u8]) -> Result<Vec<Page>, String> {
    use tiff::ColorType;
    use tiff::decoder::{Decoder, DecodingResult};
    let mut decoder =
        Decoder::new(io::Cursor::new(bytes)).map_err(|e| format!("not a TIFF: {e}"))?;
    let mut pages = Vec::new();
    loop {
        let index = pages.len() + 1;
        let (width, height) = decoder
            .dimensions()
            .map_err(|e| format!("IFD {index}: {e}"))?;
        let colour = decoder
            .colortype()
            .map_err(|e| format!("IFD {index}: {e}"))?;
        let format = match colour {
            ColorType::Gray(8) | ColorType::Gray(1) => RasterFormat::Gray8,
            ColorType::RGB(8) => RasterFormat::Rgb8,
            other => return Err(format!("IFD {index}: unexpected colour type {other:?}")),
        };
        let mut data = match decoder
            .read_image()
            .map_err(|e| format!("IFD {index}: {e}"))?
        {
            DecodingResult::U8(data) => data,
            _ => return Err(format!("IFD {index}: samples are not 8-bit")),
        };
        if colour == ColorType::Gray(1) {
            // The decoder gives 1-bit rows as 0 = black (it inverts
            // WhiteIsZero); widen them to 8-bit gray.
            let stride = width.div_ceil(8) as usize;
            data = data
                .chunks_exact(stride)
                .flat_map(|row| {
                    (0..width as usize).map(move |x| {
                        if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                            255
                        } else {
                            0
                        }
                    })
                })
                .collect();
        }
        pages.push(Page {
            header: PageHeader {
                width,
                height: Some(height),
                format,
                dpi_x: 0,
                dpi_y: 0,
            },
            data,
        });
        if !decoder.more_images() {
            return Ok(pages);
        }
        decoder
            .next_image()
            .map_err(|e| format!("IFD {}: {e}", index + 1))?;
    }
}

/// Runs a poppler tool; fails the test (never skips) when it is missing.
fn poppler(tool: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{tool} is required to check PDF output (Debian package poppler-utils): {e}")
        })
}

/// The page count `pdfinfo` reads from a PDF.
pub fn pdf_page_count(path: &Path) -> Result<usize, String> {
    let out = poppler("pdfinfo", &[path.as_os_str()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "pdfinfo refuses {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("pdfinfo gives no page count for {}: {text}", path.display()))
}

/// Every page of a PDF, rendered in gray by `pdftoppm` at `dpi`.
pub fn pdf_pages(path: &Path, dpi: u32) -> Result<Vec<Page>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let prefix = dir.path().join("p");
    let dpi = dpi.to_string();
    let out = poppler(
        "pdftoppm",
        &[
            "-r".as_ref(),
            dpi.as_ref(),
            "-gray".as_ref(),
            path.as_os_str(),
            prefix.as_os_str(),
        ],
    );
    if !out.status.success() {
        return Err(format!(
            "pdftoppm refuses {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // pdftoppm pads the numbers to a common width, so names sort in order.
    dir_names(dir.path())
        .iter()
        .map(|name| {
            let bytes = std::fs::read(dir.path().join(name)).map_err(|e| e.to_string())?;
            Ok(decode(&bytes))
        })
        .collect()
}

/// Reads a page's index strip, or says why not.
pub fn read_strip(page: &Page) -> Result<IndexStrip, String> {
    decode_index_strip(page).ok_or_else(|| String::from("no readable index strip"))
}

/// The side a page has in transfer order (duplex: front, back, ...).
pub fn side_of(number: u32, duplex: bool) -> PageSide {
    if duplex && number.is_multiple_of(2) {
        PageSide::Back
    } else {
        PageSide::Front
    }
}

/// Box-downscales `page` by `factor` (partial blocks at the right and
/// bottom edges average what they cover) into RGB rows.
pub fn box_downscale(page: &Page, factor: u32) -> (u32, u32, Vec<u8>) {
    let width = page.header.width;
    let height = page.height();
    let (out_w, out_h) = (width.div_ceil(factor), height.div_ceil(factor));
    let mut rgb = vec![0u8; (out_w * out_h * 3) as usize];
    let mut row = Vec::new();
    let mut sums = vec![0u64; (out_w * 3) as usize];
    for oy in 0..out_h {
        sums.iter_mut().for_each(|s| *s = 0);
        let rows = (oy * factor..((oy + 1) * factor).min(height)).collect::<Vec<_>>();
        for &y in &rows {
            row.clear();
            rgb_row(page.header.format, page.row(y), width as usize, &mut row);
            for (x, px) in row.chunks_exact(3).enumerate() {
                let o = (x / factor as usize) * 3;
                for (sum, &value) in sums[o..o + 3].iter_mut().zip(px) {
                    *sum += u64::from(value);
                }
            }
        }
        for ox in 0..out_w {
            let cols = u64::from((width - ox * factor).min(factor));
            let n = cols * rows.len() as u64;
            let at = ((oy * out_w + ox) * 3) as usize;
            let sum_at = (ox * 3) as usize;
            for (out, sum) in rgb[at..at + 3].iter_mut().zip(&sums[sum_at..sum_at + 3]) {
                *out = (sum / n) as u8;
            }
        }
    }
    (out_w, out_h, rgb)
}

/// A temporary directory with `out` (scans) and `storage` (the device's
/// storage folder) inside.
pub struct Dirs {
    pub root: tempfile::TempDir,
    pub out: PathBuf,
    pub storage: PathBuf,
}

impl Default for Dirs {
    fn default() -> Dirs {
        Dirs::new()
    }
}

impl Dirs {
    pub fn new() -> Dirs {
        let root = tempfile::tempdir().expect("temporary directory");
        let out = root.path().join("out");
        let storage = root.path().join("storage");
        std::fs::create_dir(&out).expect("output directory");
        std::fs::create_dir(&storage).expect("storage directory");
        Dirs { root, out, storage }
    }
}
