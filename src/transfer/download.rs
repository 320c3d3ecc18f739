//! Downloads and uploads: the WIA service's part of a transfer.
//!
//! [`Transfer`] drives one device back end for one job. On a download it
//! asks the application for a stream before every page, builds the chain
//! `filter -> encoder -> counted stream` behind it, forwards the driver's
//! rows or encoded bytes, sends STATUS / NEW_PAGE / END_OF_STREAM and
//! exactly one final END_OF_TRANSFER, runs the device-status handler chain
//! (application, driver, default), rewinds a page that a handled error
//! interrupted, enforces the no-data timeout while the job waits on the
//! device, and records everything in a [`Trace`].

use super::callback::{
    Destination, DeviceStatus, Flow, Side, StatusAnswer, StatusHandler, StreamAnswer,
    StreamRequest, TransferCallback, TransferMessage,
};
use super::codes::{ItemFlags, MessageKind, StatusCode};
use super::driver::{
    AcquireEnd, AcquireRequest, AcquireSink, Driver, DriverError, Interrupted, PageData, PageGo,
    PageStart, StatusFlow, StatusOutcome, UploadSource,
};
use super::item::Item;
use super::settings::ScanSettings;
use super::trace::{StreamReply, Trace, TraceEvent};
use crate::clock::{CancelToken, SharedClock, SystemClock};
use crate::filter::{BandTap, Filter, FilterSettings};
use crate::output::{self, EncodeOptions, FileFormat, PageEncoder};
use crate::raster::{Band, Page, PageHeader, PixelFormat};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a job ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Outcome {
    /// Every requested page was transferred (or the feeder emptied with
    /// pages = 0).
    Completed,
    /// The feeder ran out before the requested count
    /// (WIA_STATUS_END_OF_MEDIA): a success with a warning.
    EndOfMedia {
        /// Pages delivered.
        pages: u32,
    },
    /// The job was cancelled (WIA's S_FALSE); completed pages are kept.
    Cancelled,
}

impl Outcome {
    /// The name used in reports and JSON events.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "Completed",
            Outcome::EndOfMedia { .. } => "EndOfMedia",
            Outcome::Cancelled => "Cancelled",
        }
    }
}

/// A job that failed: the code, the page it failed on, what was kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransferError {
    /// The WIA code of the failure.
    pub code: StatusCode,
    /// The (delivered-numbering) page in progress when it failed.
    pub page: Option<u32>,
    /// Pages completed and kept before the failure.
    pub pages_completed: u32,
    /// What failed, in words.
    pub message: String,
}

impl TransferError {
    fn new(code: StatusCode, page: Option<u32>, message: impl Into<String>) -> TransferError {
        TransferError {
            code,
            page,
            pages_completed: 0,
            message: message.into(),
        }
    }
}

/// Counts of a job's pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Pages delivered (completed and kept).
    pub delivered: u32,
    /// Pages the application skipped.
    pub skipped: u32,
    /// Pages abandoned (cancel, fault).
    pub abandoned: u32,
    /// Blank pages the filter dropped.
    pub dropped: u32,
}

/// What the last download read from the device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceIo {
    /// `Driver::acquire` calls made.
    pub acquisitions: u32,
    /// Bytes of page data the device sent (rows and encoded bytes),
    /// skipped pages included.
    pub bytes_read: u64,
}

/// Settings of the transfer layer itself.
#[derive(Clone)]
pub struct TransferOptions {
    /// Time source for waits and the no-data timeout.
    pub clock: SharedClock,
    /// The job's cancel token (fire it from any thread to cancel).
    pub cancel: CancelToken,
    /// How long the device may send nothing while the job waits on it.
    pub no_data_timeout: Duration,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            clock: SystemClock::shared(),
            cancel: CancelToken::new(),
            no_data_timeout: Duration::from_secs(30),
        }
    }
}

/// How a page ended, as an observer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageEnd {
    /// The page is complete and kept; `blank` when blank detection flagged it.
    Kept {
        /// Flagged blank by the filter.
        blank: bool,
    },
    /// The page was abandoned (cancel, fault).
    Abandoned,
    /// The filter found the page blank and the settings drop blank pages.
    Dropped,
}

/// Watches page data as it flows (the engine's preview and cache taps).
/// Called on the transfer thread; keep it quick.
pub trait PageObserver: Send + Sync {
    /// Raw rows of `page` start (again, after a retry) with `header`.
    fn page_data(&self, page: u32, side: Side, header: &PageHeader);
    /// Unfiltered rows as the device sent them.
    fn raw_band(&self, page: u32, band: &Band);
    /// Rows after the filter's point operations, as they will be encoded.
    fn filtered_band(&self, band: &Band);
    /// The page ended.
    fn page_end(&self, page: u32, end: PageEnd);
}

/// One job on one device.
pub struct Transfer<'a> {
    driver: &'a mut dyn Driver,
    options: TransferOptions,
    app_handler: Option<&'a mut dyn StatusHandler>,
    observer: Option<Arc<dyn PageObserver>>,
    trace: Trace,
    /// False: downloads record no trace (see [`Transfer::without_trace`]).
    record_trace: bool,
    totals: Totals,
    io: DeviceIo,
}

impl<'a> Transfer<'a> {
    /// Prepares a job on `driver`.
    pub fn new(driver: &'a mut dyn Driver, options: TransferOptions) -> Transfer<'a> {
        Transfer {
            driver,
            options,
            app_handler: None,
            observer: None,
            trace: Trace::default(),
            record_trace: true,
            io: DeviceIo::default(),
            totals: Totals::default(),
        }
    }

    /// Installs the application's device-status handler (first in the chain).
    pub fn with_status_handler(mut self, handler: &'a mut dyn StatusHandler) -> Transfer<'a> {
        self.app_handler = Some(handler);
        self
    }

    /// Installs a page observer.
    pub fn with_observer(mut self, observer: Arc<dyn PageObserver>) -> Transfer<'a> {
        self.observer = Some(observer);
        self
    }

    /// Records no trace of downloads, for long-running jobs: the trace
    /// keeps every message (a STATUS per band), so it grows with the page
    /// count. [`Transfer::trace`] then shows no download events.
    pub fn without_trace(mut self) -> Transfer<'a> {
        self.record_trace = false;
        self
    }

    /// The device's item tree, or why it could not be read.
    fn device_items(&self) -> Result<Item, TransferError> {
        self.driver.items().map_err(|e| {
            TransferError::new(
                e.code(),
                None,
                format!("cannot read the device's items: {e}"),
            )
        })
    }

    /// The recorded trace of the last download or upload.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Page counts of the last download.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// What the last download read from the device.
    pub fn device_io(&self) -> DeviceIo {
        self.io
    }

    /// The job's cancel token.
    pub fn cancel_token(&self) -> CancelToken {
        self.options.cancel.clone()
    }

    /// Downloads `item` (a source, a file, or with
    /// [`ACQUIRE_CHILDREN`](super::codes::download_flags::ACQUIRE_CHILDREN)
    /// a folder) into the streams `callback` gives.
    pub fn download(
        &mut self,
        item: &str,
        flags: u32,
        settings: &ScanSettings,
        callback: &mut dyn TransferCallback,
    ) -> Result<Outcome, TransferError> {
        self.trace = Trace::default();
        self.totals = Totals::default();
        let root = match self.device_items() {
            Ok(root) => root,
            Err(error) => return self.refuse(callback, error),
        };
        let target = match root.find(item) {
            Some(found) => found.clone(),
            None => {
                return self.refuse(
                    callback,
                    TransferError::new(
                        StatusCode::ITEM_DELETED,
                        None,
                        format!("the device has no item named {item}"),
                    ),
                );
            }
        };
        let children = flags & super::codes::download_flags::ACQUIRE_CHILDREN != 0;
        let requests: Vec<AcquireRequest> =
            if children && (target.is_folder() || !target.children.is_empty()) {
                let leaves: Vec<Item> = target.transfer_leaves().into_iter().cloned().collect();
                if self.driver.scans_children_in_one_pass(&target) {
                    vec![AcquireRequest {
                        item: target.clone(),
                        children: leaves,
                        settings: settings.clone(),
                    }]
                } else {
                    leaves
                        .into_iter()
                        .map(|leaf| AcquireRequest {
                            item: leaf,
                            children: Vec::new(),
                            settings: settings.clone(),
                        })
                        .collect()
                }
            } else if target.is_transferable() && !target.is_folder() {
                vec![AcquireRequest {
                    item: target.clone(),
                    children: Vec::new(),
                    settings: settings.clone(),
                }]
            } else {
                return self.refuse(
                    callback,
                    TransferError::new(
                        StatusCode::INVALID_COMMAND,
                        None,
                        format!(
                            "{} cannot be downloaded{}",
                            target.full_name,
                            if target.is_folder() {
                                " without ACQUIRE_CHILDREN"
                            } else {
                                ""
                            }
                        ),
                    ),
                );
            };
        // Folders get one stream per child; a multipage setting applies to
        // a single source only.
        let multipage = settings.multipage && !children && settings.format.is_multipage();
        self.trace.multipage = multipage;
        let driver_handler = self.driver.status_handler();
        let clock = self.options.clock.clone();
        let mut session = Session {
            callback,
            app_handler: self
                .app_handler
                .as_deref_mut()
                .map(|h| h as &mut dyn StatusHandler),
            driver_handler,
            observer: self.observer.clone(),
            options: &self.options,
            settings,
            trace: &mut self.trace,
            record: self.record_trace,
            totals: Totals::default(),
            io: DeviceIo::default(),
            multipage,
            stream: None,
            page: PageState::Idle,
            skip_item: false,
            cancelled: false,
            aborted: false,
            failure: None,
            last_activity: clock.now(),
            pending_clear: false,
        };
        let mut result: Result<AcquireEnd, DriverError> = Ok(AcquireEnd::Done);
        for request in &requests {
            if session.cancelled || session.aborted {
                break;
            }
            session.skip_item = false;
            session.last_activity = clock.now();
            session.io.acquisitions += 1;
            result = self.driver.acquire(request, &mut session);
            if result.is_err() {
                break;
            }
        }
        let outcome = session.finish(result);
        self.totals = session.totals;
        self.io = session.io;
        outcome
    }

    /// Sends END_OF_TRANSFER for a job that could not start, and fails it.
    fn refuse(
        &mut self,
        callback: &mut dyn TransferCallback,
        error: TransferError,
    ) -> Result<Outcome, TransferError> {
        let message = TransferMessage {
            kind: MessageKind::EndOfTransfer,
            item: String::new(),
            page: 0,
            side: Side::Front,
            percent: 100,
            bytes: 0,
        };
        let answer = callback.message(&message);
        self.trace
            .events
            .push(TraceEvent::Message { message, answer });
        Err(error)
    }

    /// Creates Generated child items of the source `parent` (e.g.
    /// `Flatbed`), one per area (the photos segmentation found), after
    /// removing the earlier ones. Download `parent` with ACQUIRE_CHILDREN
    /// to get one image per region.
    pub fn create_region_items(
        &mut self,
        parent: &str,
        areas: &[super::item::ItemArea],
    ) -> Result<Vec<Item>, TransferError> {
        let root = self.device_items()?;
        let source = root.find(parent).cloned().ok_or_else(|| {
            TransferError::new(
                StatusCode::ITEM_DELETED,
                None,
                format!("the device has no item named {parent}"),
            )
        })?;
        self.driver.clear_generated_items(&source);
        areas
            .iter()
            .map(|area| {
                self.driver
                    .create_generated_item(&source, *area)
                    .map_err(|e| TransferError::new(e.code(), None, e.to_string()))
            })
            .collect()
    }

    /// Creates a new child item (e.g. a file) under the storage folder
    /// `parent`, to upload into.
    pub fn create_child_item(&mut self, parent: &str, name: &str) -> Result<Item, TransferError> {
        let root = self.device_items()?;
        let folder = root.find(parent).cloned().ok_or_else(|| {
            TransferError::new(
                StatusCode::ITEM_DELETED,
                None,
                format!("the device has no folder named {parent}"),
            )
        })?;
        if !folder
            .flags
            .contains(ItemFlags::STORAGE | ItemFlags::FOLDER)
        {
            return Err(TransferError::new(
                StatusCode::INVALID_COMMAND,
                None,
                format!("{} is not a storage folder", folder.full_name),
            ));
        }
        self.driver
            .create_child_item(&folder, name, ItemFlags::FILE | ItemFlags::TRANSFER)
            .map_err(|e| TransferError::new(e.code(), None, e.to_string()))
    }

    /// Uploads `source` into the existing item `item`, sending STATUS with
    /// the bytes read so far and END_OF_TRANSFER last. Returns the bytes
    /// stored.
    pub fn upload(
        &mut self,
        item: &str,
        source: &mut dyn Read,
        size: Option<u64>,
        on_message: &mut dyn FnMut(&TransferMessage) -> Flow,
    ) -> Result<u64, TransferError> {
        self.trace = Trace {
            multipage: false,
            upload: true,
            events: Vec::new(),
        };
        let target = self.device_items().and_then(|root| {
            root.find(item).cloned().ok_or_else(|| {
                TransferError::new(
                    StatusCode::ITEM_DELETED,
                    None,
                    format!("the device has no item named {item}"),
                )
            })
        });
        let result = match target {
            Err(error) => Err(error),
            Ok(target) => {
                let mut reader = UploadReader {
                    source,
                    size,
                    read: 0,
                    item: target.name.clone(),
                    cancel: self.options.cancel.clone(),
                    on_message: &mut *on_message,
                    trace: &mut self.trace,
                    io_error: None,
                };
                let stored = self.driver.upload(&target, &mut reader);
                let read = reader.read;
                let io_error = reader.io_error.take();
                match stored {
                    Ok(n) => Ok(n),
                    Err(DriverError::Cancelled) => Err(TransferError::new(
                        StatusCode::GENERAL_ERROR,
                        None,
                        format!("upload of {} cancelled after {read} bytes", target.name),
                    )),
                    Err(e) => {
                        let detail = io_error.map(|e| format!(": {e}")).unwrap_or_default();
                        Err(TransferError::new(
                            e.code(),
                            None,
                            format!("upload to {} failed: {e}{detail}", target.full_name),
                        ))
                    }
                }
            }
        };
        let message = TransferMessage {
            kind: MessageKind::EndOfTransfer,
            item: item.to_string(),
            page: 0,
            side: Side::Front,
            percent: 100,
            bytes: 0,
        };
        let answer = on_message(&message);
        self.trace
            .events
            .push(TraceEvent::Message { message, answer });
        result
    }
}

/// The application's upload source as the driver reads it.
struct UploadReader<'r> {
    source: &'r mut dyn Read,
    size: Option<u64>,
    read: u64,
    item: String,
    cancel: CancelToken,
    on_message: &'r mut dyn FnMut(&TransferMessage) -> Flow,
    trace: &'r mut Trace,
    io_error: Option<io::Error>,
}

impl UploadSource for UploadReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DriverError> {
        if self.cancel.is_cancelled() {
            return Err(DriverError::Cancelled);
        }
        let n = loop {
            match self.source.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let text = e.to_string();
                    self.io_error = Some(e);
                    return Err(DriverError::Source(text));
                }
            }
        };
        if n == 0 {
            if self.read == 0 {
                return Err(DriverError::Source(String::from("the file is empty")));
            }
            return Ok(0);
        }
        self.read += n as u64;
        let percent = match self.size {
            Some(size) if size > 0 => ((self.read * 100) / size).min(100) as i32,
            _ => -1,
        };
        let message = TransferMessage {
            kind: MessageKind::Status,
            item: self.item.clone(),
            page: 1,
            side: Side::Front,
            percent,
            bytes: self.read,
        };
        let answer = (self.on_message)(&message);
        self.trace
            .events
            .push(TraceEvent::Message { message, answer });
        if answer == Flow::Cancel {
            self.cancel.cancel();
        }
        Ok(n)
    }

    fn size(&self) -> Option<u64> {
        self.size
    }
}

/// A destination wrapper that publishes the stream's length.
struct Counted {
    inner: Box<dyn Destination>,
    pos: u64,
    len: u64,
    shared: Arc<AtomicU64>,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        if self.pos > self.len {
            self.len = self.pos;
            self.shared.store(self.len, Ordering::Relaxed);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Seek for Counted {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(pos)?;
        Ok(self.pos)
    }
}

impl Destination for Counted {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)?;
        self.len = len;
        self.shared.store(len, Ordering::Relaxed);
        Ok(())
    }
    fn complete(&mut self) -> io::Result<()> {
        self.inner.complete()
    }
    fn discard(&mut self) {
        self.inner.discard()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Copies an item's own bytes (a stored file) into the stream untouched.
struct PassThrough {
    dest: Box<dyn Destination>,
    pages: u32,
}

impl PageEncoder for PassThrough {
    fn begin_page(&mut self, _header: &PageHeader) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a stored file arrives encoded, not as rows",
        ))
    }
    fn write_band(&mut self, _band: &Band) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a stored file arrives encoded, not as rows",
        ))
    }
    fn accepts_encoded(&self, _format: FileFormat) -> bool {
        true
    }
    fn begin_encoded(&mut self, _: FileFormat, _: Option<&PageHeader>) -> io::Result<()> {
        Ok(())
    }
    fn write_encoded(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.dest.write_all(bytes)
    }
    fn end_page(&mut self) -> io::Result<()> {
        self.pages += 1;
        self.dest.flush()
    }
    fn abandon_page(&mut self) -> io::Result<()> {
        self.dest.set_len(0)?;
        self.dest.seek(SeekFrom::Start(0)).map(|_| ())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn pages(&self) -> u32 {
        self.pages
    }
    fn destination(&mut self) -> &mut dyn Destination {
        self.dest.as_mut()
    }
    fn into_destination(self: Box<Self>) -> Box<dyn Destination> {
        self.dest
    }
}

/// Shows the observer the rows after the filter's point operations.
struct ObserverTap(Arc<dyn PageObserver>);

impl BandTap for ObserverTap {
    fn band(&self, band: &Band) {
        self.0.filtered_band(band);
    }
}

/// The stream currently open.
struct OpenStream {
    encoder: Filter,
    bytes: Arc<AtomicU64>,
    item: String,
    /// Per-page: the page this stream holds. Multipage: the last page begun.
    page: u32,
    side: Side,
    /// Per-page: the page is complete, END_OF_STREAM is due.
    complete: bool,
}

enum DataState {
    NotStarted,
    Raw { header: PageHeader, rows: u32 },
    Passthrough,
    Decode { buf: Vec<u8> },
}

struct ActivePage {
    number: u32,
    side: Side,
    item: String,
    data: DataState,
}

enum PageState {
    Idle,
    Skipping,
    Active(ActivePage),
}

/// The layer's state while a driver acquires; the driver's [`AcquireSink`].
struct Session<'s> {
    callback: &'s mut dyn TransferCallback,
    app_handler: Option<&'s mut dyn StatusHandler>,
    driver_handler: Option<Box<dyn StatusHandler>>,
    observer: Option<Arc<dyn PageObserver>>,
    options: &'s TransferOptions,
    settings: &'s ScanSettings,
    trace: &'s mut Trace,
    /// False: events are not kept in `trace`.
    record: bool,
    totals: Totals,
    io: DeviceIo,
    multipage: bool,
    stream: Option<OpenStream>,
    page: PageState,
    /// Multipage: the application skipped the item.
    skip_item: bool,
    cancelled: bool,
    /// Stopped by the layer itself (destination failure, driver misuse).
    aborted: bool,
    failure: Option<TransferError>,
    last_activity: Duration,
    pending_clear: bool,
}

impl Session<'_> {
    /// Adds `event` to the trace, when the trace is kept.
    fn record(&mut self, event: TraceEvent) {
        if self.record {
            self.trace.events.push(event);
        }
    }

    fn activity(&mut self) {
        self.last_activity = self.options.clock.now();
    }

    /// True when the job must stop; notices a cancel from another thread.
    fn stopped(&mut self) -> bool {
        if !self.cancelled && !self.aborted && self.options.cancel.is_cancelled() {
            self.cancelled = true;
            self.record(TraceEvent::CancelRequested);
        }
        self.cancelled || self.aborted
    }

    fn cancel_now(&mut self) {
        self.cancelled = true;
        self.options.cancel.cancel();
    }

    fn current_page(&self) -> Option<u32> {
        match &self.page {
            PageState::Active(p) => Some(p.number),
            _ => None,
        }
    }

    /// Stops the job with an error of the layer's own (destination, driver
    /// misuse); the device is told to stop.
    fn abort(&mut self, code: StatusCode, message: String) {
        if self.failure.is_none() {
            self.failure = Some(TransferError::new(code, self.current_page(), message));
        }
        self.aborted = true;
        self.options.cancel.cancel();
    }

    fn destination_failed(&mut self, error: io::Error) {
        let target = self
            .stream
            .as_mut()
            .map(|s| s.encoder.destination().describe())
            .unwrap_or_else(|| String::from("the destination"));
        let page = self
            .current_page()
            .map(|p| format!("page {p}"))
            .unwrap_or_else(|| String::from("the job"));
        self.abort(
            StatusCode::DESTINATION,
            format!("cannot write {page} to {target}: {error}"),
        );
    }

    fn send(&mut self, kind: MessageKind, percent: i32) -> Flow {
        self.clear_if_pending();
        let (item, page, side, bytes) = match (&self.page, &self.stream) {
            (PageState::Active(p), Some(s)) => (
                p.item.clone(),
                p.number,
                p.side,
                s.bytes.load(Ordering::Relaxed),
            ),
            (_, Some(s)) => (
                s.item.clone(),
                s.page,
                s.side,
                s.bytes.load(Ordering::Relaxed),
            ),
            _ => (String::new(), 0, Side::Front, 0),
        };
        self.send_message(TransferMessage {
            kind,
            item,
            page,
            side,
            percent,
            bytes,
        })
    }

    fn send_message(&mut self, message: TransferMessage) -> Flow {
        let answer = self.callback.message(&message);
        let last_of_stream = matches!(
            message.kind,
            MessageKind::EndOfStream | MessageKind::EndOfTransfer
        );
        self.record(TraceEvent::Message { message, answer });
        if answer == Flow::Cancel && !last_of_stream {
            self.cancel_now();
        }
        answer
    }

    fn run_chain(&mut self, status: &DeviceStatus) -> StatusAnswer {
        let token = self.options.cancel.clone();
        let mut answer = StatusAnswer::NotHandled;
        if let Some(handler) = self.app_handler.as_mut() {
            answer = handler.handle(status, &token);
        }
        if answer == StatusAnswer::NotHandled
            && let Some(handler) = self.driver_handler.as_mut()
        {
            answer = handler.handle(status, &token);
        }
        // The default handler handles nothing: an unhandled success status
        // continues, an unhandled error fails the job.
        if token.is_cancelled() && answer != StatusAnswer::Cancel && !self.aborted {
            answer = StatusAnswer::Cancel;
        }
        // A person may have taken a while to answer: the no-data timer was
        // paused meanwhile.
        self.activity();
        answer
    }

    fn status_for(&self, code: StatusCode, percent: Option<u8>) -> DeviceStatus {
        let (page, side) = match &self.page {
            PageState::Active(p) => (p.number, p.side),
            _ => (self.totals.delivered + 1, Side::Front),
        };
        DeviceStatus {
            code,
            percent,
            page,
            side,
        }
    }

    fn clear_if_pending(&mut self) {
        if self.pending_clear {
            self.pending_clear = false;
            self.send_clear();
        }
    }

    fn send_clear(&mut self) {
        let status = self.status_for(StatusCode::CLEAR, None);
        let answer = self.run_chain(&status);
        self.record(TraceEvent::DeviceStatus {
            code: StatusCode::CLEAR,
            percent: None,
            answer,
        });
    }

    /// Makes a stream's encoder chain for the application's destination.
    fn encoder_for(&self, dest: Box<dyn Destination>, item: &Item) -> io::Result<OpenStream> {
        let bytes = Arc::new(AtomicU64::new(0));
        let counted: Box<dyn Destination> = Box::new(Counted {
            inner: dest,
            pos: 0,
            len: 0,
            shared: bytes.clone(),
        });
        let options = EncodeOptions {
            quality: self.settings.quality,
        };
        let encoder = if item.flags.contains(ItemFlags::FILE) {
            // A stored file goes out as it is: a neutral filter.
            Filter::new(
                FilterSettings::default(),
                Box::new(PassThrough {
                    dest: counted,
                    pages: 0,
                }),
            )
        } else {
            let inner = if self.multipage {
                output::document_encoder(self.settings.format, options, counted)?
            } else {
                output::page_encoder(self.settings.format, options, counted)?
            };
            let filter = Filter::new(self.settings.filter, inner);
            match &self.observer {
                Some(observer) => filter.with_tap(Arc::new(ObserverTap(observer.clone()))),
                None => filter,
            }
        };
        Ok(OpenStream {
            encoder,
            bytes,
            item: item.name.clone(),
            page: 0,
            side: Side::Front,
            complete: false,
        })
    }

    /// Per-page: completes the finished page's stream and sends its
    /// END_OF_STREAM.
    fn flush_completed(&mut self) {
        let due = matches!(&self.stream, Some(s) if !self.multipage && s.complete);
        if !due {
            return;
        }
        let Some(stream) = self.stream.take() else {
            return;
        };
        let page = stream.page;
        if let Err(e) = self.complete_stream(stream, page) {
            self.totals.delivered = self.totals.delivered.saturating_sub(1);
            self.record(TraceEvent::PageAbandoned { page });
            self.abort(
                StatusCode::DESTINATION,
                format!("cannot complete page {page}: {e}"),
            );
        }
    }

    /// Finishes a stream's encoder, makes its destination permanent and
    /// sends END_OF_STREAM naming `page`; on failure nothing is sent.
    fn complete_stream(&mut self, stream: OpenStream, page: u32) -> io::Result<()> {
        let OpenStream {
            mut encoder,
            bytes,
            item,
            side,
            ..
        } = stream;
        encoder.finish()?;
        Box::new(encoder).into_destination().complete()?;
        self.clear_if_pending();
        self.send_message(TransferMessage {
            kind: MessageKind::EndOfStream,
            item,
            page,
            side,
            percent: 100,
            bytes: bytes.load(Ordering::Relaxed),
        });
        Ok(())
    }

    /// Abandons the page in progress (cancel, fault): nothing of it stays.
    fn abandon_page(&mut self) {
        let page = std::mem::replace(&mut self.page, PageState::Idle);
        let PageState::Active(active) = page else {
            return;
        };
        self.totals.abandoned += 1;
        if let Some(observer) = &self.observer {
            observer.page_end(active.number, PageEnd::Abandoned);
        }
        if self.multipage {
            if let Some(stream) = self.stream.as_mut()
                && !matches!(active.data, DataState::NotStarted)
                && let Err(e) = stream.encoder.abandon_page()
            {
                self.destination_failed(e);
            }
            self.record(TraceEvent::PageAbandoned {
                page: active.number,
            });
        } else if let Some(stream) = self.stream.take() {
            let mut dest = Box::new(stream.encoder).into_destination();
            dest.discard();
            self.record(TraceEvent::PageAbandoned {
                page: active.number,
            });
        }
    }

    /// Checks a page's data may flow; `Ok(false)` for a skipped page.
    fn data_allowed(&mut self) -> Result<bool, Interrupted> {
        if self.stopped() {
            return Err(Interrupted::Cancelled);
        }
        self.activity();
        match self.page {
            PageState::Skipping => Ok(false),
            PageState::Active(_) => Ok(true),
            PageState::Idle => {
                self.abort(
                    StatusCode::INVALID_DRIVER_RESPONSE,
                    String::from("the device sent page data outside of a page"),
                );
                Err(Interrupted::Cancelled)
            }
        }
    }

    fn protocol_error(&mut self, message: String) -> Interrupted {
        self.abort(StatusCode::INVALID_DRIVER_RESPONSE, message);
        Interrupted::Cancelled
    }

    fn decode_and_write(&mut self, buf: &[u8]) -> Result<(), Interrupted> {
        let image = match image::load_from_memory(buf) {
            Ok(image) => image,
            Err(e) => {
                return Err(
                    self.protocol_error(format!("the device sent an unreadable image: {e}"))
                );
            }
        };
        let dpi = self.settings.dpi;
        let page = if image.color().has_color() {
            let rgb = image.to_rgb8();
            Page {
                header: PageHeader {
                    width: rgb.width(),
                    height: Some(rgb.height()),
                    format: PixelFormat::Rgb8,
                    dpi_x: dpi,
                    dpi_y: dpi,
                },
                data: rgb.into_raw(),
            }
        } else {
            let gray = image.to_luma8();
            Page {
                header: PageHeader {
                    width: gray.width(),
                    height: Some(gray.height()),
                    format: PixelFormat::Gray8,
                    dpi_x: dpi,
                    dpi_y: dpi,
                },
                data: gray.into_raw(),
            }
        };
        let (number, side) = match &self.page {
            PageState::Active(p) => (p.number, p.side),
            _ => (0, Side::Front),
        };
        if let Some(observer) = &self.observer {
            observer.page_data(number, side, &page.header);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Interrupted::Cancelled);
        };
        let mut result = stream.encoder.begin_page(&page.header);
        for band in page.bands(64) {
            if result.is_err() {
                break;
            }
            if let Some(observer) = &self.observer {
                observer.raw_band(number, &band);
            }
            result = stream.encoder.write_band(&band);
        }
        result.map_err(|e| {
            self.destination_failed(e);
            Interrupted::Cancelled
        })
    }

    /// Ends the transfer: abandons a page in progress, completes what is
    /// complete, sends END_OF_TRANSFER, and computes the result.
    fn finish(
        &mut self,
        result: Result<AcquireEnd, DriverError>,
    ) -> Result<Outcome, TransferError> {
        self.stopped();
        let interrupted_page = self.current_page();
        self.abandon_page();
        if self.multipage {
            if let Some(stream) = self.stream.take() {
                if stream.encoder.pages() > 0 {
                    // The document's END_OF_STREAM names its last page.
                    let last = self.totals.delivered;
                    if let Err(e) = self.complete_stream(stream, last) {
                        self.record(TraceEvent::StreamDiscarded);
                        self.totals.delivered = 0;
                        self.abort(
                            StatusCode::DESTINATION,
                            format!("cannot finish the document: {e}"),
                        );
                    }
                } else {
                    Box::new(stream.encoder).into_destination().discard();
                    self.record(TraceEvent::StreamDiscarded);
                }
            }
        } else {
            self.flush_completed();
        }
        self.pending_clear = false;
        self.send_message(TransferMessage {
            kind: MessageKind::EndOfTransfer,
            item: String::new(),
            page: 0,
            side: Side::Front,
            percent: 100,
            bytes: 0,
        });
        let pages = self.totals.delivered;
        if let Some(mut failure) = self.failure.take() {
            failure.pages_completed = pages;
            return Err(failure);
        }
        match result {
            Err(DriverError::Cancelled) => Ok(Outcome::Cancelled),
            Err(error) => {
                let page = interrupted_page;
                let place = page.map(|p| format!("page {p}: ")).unwrap_or_default();
                Err(TransferError {
                    code: error.code(),
                    page,
                    pages_completed: pages,
                    message: format!("{place}{error}"),
                })
            }
            Ok(_) if self.cancelled => Ok(Outcome::Cancelled),
            Ok(AcquireEnd::Cancelled) => Ok(Outcome::Cancelled),
            Ok(AcquireEnd::FeederEmpty)
                if self.settings.pages > 0 && pages < self.settings.pages =>
            {
                Ok(Outcome::EndOfMedia { pages })
            }
            Ok(_) => Ok(Outcome::Completed),
        }
    }
}

impl AcquireSink for Session<'_> {
    fn begin_page(&mut self, start: PageStart) -> PageGo {
        if !matches!(self.page, PageState::Idle | PageState::Skipping) {
            // The driver began a page without ending the previous one.
            self.abandon_page();
        }
        self.page = PageState::Idle;
        if self.stopped() {
            return PageGo::Cancel;
        }
        self.activity();
        self.flush_completed();
        if self.aborted {
            return PageGo::Cancel;
        }
        if self.skip_item {
            self.totals.skipped += 1;
            self.page = PageState::Skipping;
            return PageGo::Skip;
        }
        let number = self.totals.delivered + 1;
        if self.stream.is_none() {
            self.clear_if_pending();
            let request = StreamRequest {
                item_name: start.item.name.clone(),
                full_item_name: start.item.full_name.clone(),
                page: number,
                side: start.side,
            };
            let answer = self.callback.next_stream(&request);
            let reply = match &answer {
                StreamAnswer::Stream(_) => StreamReply::Stream,
                StreamAnswer::Skip => StreamReply::Skip,
                StreamAnswer::Cancel | StreamAnswer::Fail(_) => StreamReply::Cancel,
            };
            self.record(TraceEvent::StreamRequest {
                item: start.item.name.clone(),
                page: number,
                side: start.side,
                reply,
            });
            match answer {
                StreamAnswer::Stream(dest) => match self.encoder_for(dest, &start.item) {
                    Ok(stream) => self.stream = Some(stream),
                    Err(e) => {
                        // The stream was handed over, then could not be used:
                        // it counts as opened and abandoned.
                        self.record(TraceEvent::PageAbandoned { page: number });
                        self.abort(
                            StatusCode::DESTINATION,
                            format!("cannot write page {number}: {e}"),
                        );
                        return PageGo::Cancel;
                    }
                },
                StreamAnswer::Skip => {
                    self.skip_item = self.multipage;
                    self.totals.skipped += 1;
                    self.page = PageState::Skipping;
                    return PageGo::Skip;
                }
                StreamAnswer::Cancel => {
                    self.cancel_now();
                    return PageGo::Cancel;
                }
                StreamAnswer::Fail(reason) => {
                    self.abort(
                        StatusCode::DESTINATION,
                        format!("no destination for page {number}: {reason}"),
                    );
                    return PageGo::Cancel;
                }
            }
        }
        if let Some(stream) = self.stream.as_mut() {
            stream.page = number;
            stream.side = start.side;
            stream.item = start.item.name.clone();
        }
        self.page = PageState::Active(ActivePage {
            number,
            side: start.side,
            item: start.item.name.clone(),
            data: DataState::NotStarted,
        });
        if self.multipage && self.send(MessageKind::NewPage, 0) == Flow::Cancel {
            // "Stop after this page": nothing of this page was written.
            self.page = PageState::Idle;
            return PageGo::Cancel;
        }
        PageGo::Continue
    }

    fn start_data(&mut self, data: PageData) -> StatusFlow {
        if !self.data_allowed()? {
            return Ok(());
        }
        let (number, side, started) = match &self.page {
            PageState::Active(p) => (p.number, p.side, !matches!(p.data, DataState::NotStarted)),
            _ => return Ok(()),
        };
        if started {
            return Err(self.protocol_error(format!(
                "the device restarted page {number} without reporting why"
            )));
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Interrupted::Cancelled);
        };
        stream.encoder.set_side(side);
        let (state, result) = match data {
            PageData::Raw(header) => {
                if let Some(observer) = &self.observer {
                    observer.page_data(number, side, &header);
                }
                (
                    DataState::Raw { header, rows: 0 },
                    stream.encoder.begin_page(&header),
                )
            }
            PageData::Encoded { format, header, .. } => {
                if stream.encoder.accepts_encoded(format) {
                    (
                        DataState::Passthrough,
                        stream.encoder.begin_encoded(format, header.as_ref()),
                    )
                } else {
                    (DataState::Decode { buf: Vec::new() }, Ok(()))
                }
            }
        };
        if let PageState::Active(p) = &mut self.page {
            p.data = state;
        }
        result.map_err(|e| {
            self.destination_failed(e);
            Interrupted::Cancelled
        })
    }

    fn band(&mut self, band: &Band) -> StatusFlow {
        self.io.bytes_read += band.data.len() as u64;
        if !self.data_allowed()? {
            return Ok(());
        }
        let number = self.current_page().unwrap_or(0);
        let (header, rows) = match &self.page {
            PageState::Active(ActivePage {
                data: DataState::Raw { header, rows },
                ..
            }) => (*header, *rows),
            _ => {
                return Err(self.protocol_error(format!(
                    "the device sent rows of page {number} before their header"
                )));
            }
        };
        let expected_len = header.row_bytes() * band.rows as usize;
        let too_tall = header
            .height
            .is_some_and(|h| u64::from(rows) + u64::from(band.rows) > u64::from(h));
        if band.first_row != rows || band.data.len() != expected_len || too_tall {
            return Err(self.protocol_error(format!(
                "the device sent a malformed band on page {number} (rows {}+{}, {} bytes; expected row {rows}, {expected_len} bytes)",
                band.first_row,
                band.rows,
                band.data.len()
            )));
        }
        if let Some(observer) = &self.observer {
            observer.raw_band(number, band);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Interrupted::Cancelled);
        };
        if let Err(e) = stream.encoder.write_band(band) {
            self.destination_failed(e);
            return Err(Interrupted::Cancelled);
        }
        if let PageState::Active(ActivePage {
            data: DataState::Raw { rows, .. },
            ..
        }) = &mut self.page
        {
            *rows += band.rows;
        }
        Ok(())
    }

    fn encoded(&mut self, bytes: &[u8]) -> StatusFlow {
        self.io.bytes_read += bytes.len() as u64;
        if !self.data_allowed()? {
            return Ok(());
        }
        let result = match (&mut self.page, self.stream.as_mut()) {
            (
                PageState::Active(ActivePage {
                    data: DataState::Decode { buf },
                    ..
                }),
                _,
            ) => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            (
                PageState::Active(ActivePage {
                    data: DataState::Passthrough,
                    ..
                }),
                Some(stream),
            ) => stream.encoder.write_encoded(bytes),
            _ => {
                return Err(self.protocol_error(String::from(
                    "the device sent encoded bytes without announcing them",
                )));
            }
        };
        result.map_err(|e| {
            self.destination_failed(e);
            Interrupted::Cancelled
        })
    }

    fn progress(&mut self, percent: i32) -> StatusFlow {
        if !self.data_allowed()? {
            return Ok(());
        }
        if self.send(MessageKind::Status, percent.clamp(-1, 100)) == Flow::Cancel {
            return Err(Interrupted::Cancelled);
        }
        Ok(())
    }

    fn end_page(&mut self) -> StatusFlow {
        if !self.data_allowed()? {
            self.page = PageState::Idle;
            return Ok(());
        }
        let (number, data) = match &mut self.page {
            PageState::Active(p) => (
                p.number,
                std::mem::replace(&mut p.data, DataState::Passthrough),
            ),
            _ => return Ok(()),
        };
        match data {
            DataState::NotStarted => {
                return Err(self
                    .protocol_error(format!("the device ended page {number} without sending it")));
            }
            DataState::Raw { header, rows } => {
                if header.height.is_some_and(|h| h != rows) || rows == 0 {
                    return Err(self.protocol_error(format!(
                        "page {number} ended after {rows} of {} rows",
                        header
                            .height
                            .map(|h| h.to_string())
                            .unwrap_or_else(|| String::from("some"))
                    )));
                }
            }
            DataState::Decode { buf } => self.decode_and_write(&buf)?,
            DataState::Passthrough => {}
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Interrupted::Cancelled);
        };
        if let Err(e) = stream.encoder.end_page() {
            self.destination_failed(e);
            return Err(Interrupted::Cancelled);
        }
        let report = stream.encoder.take_report().unwrap_or_default();
        if report.dropped {
            // A blank page the settings drop: discarded like a skipped
            // page; it uses no page number and gets no END_OF_STREAM.
            self.totals.dropped += 1;
            self.record(TraceEvent::PageDropped { page: number });
            if let Some(observer) = &self.observer {
                observer.page_end(number, PageEnd::Dropped);
            }
            if !self.multipage
                && let Some(stream) = self.stream.take()
            {
                Box::new(stream.encoder).into_destination().discard();
            }
            self.page = PageState::Idle;
            return Ok(());
        }
        stream.complete = true;
        self.totals.delivered += 1;
        if let Some(observer) = &self.observer {
            let blank = report.blank.is_some_and(|v| v.blank);
            observer.page_end(number, PageEnd::Kept { blank });
        }
        let answer = self.send(MessageKind::Status, 100);
        self.page = PageState::Idle;
        if answer == Flow::Cancel {
            return Err(Interrupted::Cancelled);
        }
        Ok(())
    }

    fn device_status(&mut self, code: StatusCode, percent: Option<u8>) -> StatusOutcome {
        if self.stopped() {
            return StatusOutcome::Cancel;
        }
        self.activity();
        let status = self.status_for(code, percent);
        let answer = self.run_chain(&status);
        self.record(TraceEvent::DeviceStatus {
            code,
            percent,
            answer,
        });
        match answer {
            StatusAnswer::Cancel => {
                self.cancel_now();
                StatusOutcome::Cancel
            }
            StatusAnswer::Fail(code) => StatusOutcome::Fail(code),
            _ if !code.is_error() => {
                self.pending_clear = true;
                StatusOutcome::Continue
            }
            StatusAnswer::Handled => {
                self.pending_clear = false;
                self.send_clear();
                let rewind = match &mut self.page {
                    PageState::Active(p) if !matches!(p.data, DataState::NotStarted) => {
                        p.data = DataState::NotStarted;
                        Some(p.number)
                    }
                    _ => None,
                };
                if let Some(page) = rewind {
                    self.record(TraceEvent::PageRewound { page });
                    if let Some(stream) = self.stream.as_mut()
                        && let Err(e) = stream.encoder.abandon_page()
                    {
                        self.destination_failed(e);
                        return StatusOutcome::Cancel;
                    }
                }
                StatusOutcome::Retry
            }
            StatusAnswer::NotHandled => StatusOutcome::Fail(code),
        }
    }

    fn wait(&mut self, duration: Duration) -> Result<(), Interrupted> {
        if self.stopped() {
            return Err(Interrupted::Cancelled);
        }
        let clock = self.options.clock.clone();
        let timeout = self.options.no_data_timeout;
        let watchdog = self.last_activity.saturating_add(timeout);
        let target = clock.now().saturating_add(duration);
        if target <= watchdog {
            if clock.sleep_until(target, &self.options.cancel) {
                Ok(())
            } else {
                self.stopped();
                Err(Interrupted::Cancelled)
            }
        } else if clock.sleep_until(watchdog, &self.options.cancel) {
            Err(Interrupted::TimedOut(timeout))
        } else {
            self.stopped();
            Err(Interrupted::Cancelled)
        }
    }

    fn cancel_token(&self) -> CancelToken {
        self.options.cancel.clone()
    }

    fn clock(&self) -> SharedClock {
        self.options.clock.clone()
    }
}
