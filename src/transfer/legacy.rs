//! Legacy compatibility: adapters between band-oriented transfers (SANE's
//! `sane_read`, WIA's in-memory / callback transfers) and our stream
//! transfers, in both directions.
//!
//! - [`BandDriverAdapter`] turns a legacy [`BandDriver`] (one acquire per
//!   page, raw bytes read in arbitrary pieces) into a [`Driver`]: it announces
//!   every page with a raw [`PageHeader`], reassembles whole rows from the
//!   pieces (dropping the driver's line padding), and hands the transfer
//!   layer [`Band`]s; the layer's encoder writes the image file and patches
//!   its header when the page height was unknown. A feeder job is one legacy
//!   acquire per page.
//! - [`acquire_to_bands`] lets a band-oriented [`BandConsumer`] use any
//!   stream driver: the first stream becomes DATA_HEADER, every write DATA
//!   (with its stream offset, so a header patched at the end arrives at a
//!   lower offset, like WIA's `lOffset`), every later stream NEW_PAGE and
//!   the end of the transfer TERMINATION.
//!
//! This module does no I/O of its own and never panics on what a driver
//! sends: malformed pages become [`DriverError::Communication`] errors.

use super::callback::{
    Destination, Flow, Side, StreamAnswer, StreamRequest, TransferCallback, TransferMessage,
};
use super::codes::{MessageKind, StatusCode};
use super::driver::{
    AcquireEnd, AcquireRequest, AcquireSink, Capabilities, DeviceInfo, Driver, DriverError,
    Interrupted, PageData, PageGo, PageStart, StatusOutcome,
};
use super::item::Item;
use super::settings::{ScanSettings, Source};
use super::{Outcome, Transfer, TransferError};
use crate::clock::CancelToken;
use crate::raster::{Band, PageHeader, PixelFormat};
use crate::stream::FileFormat;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex, MutexGuard};

/// Rows per [`Band`] the adapter hands the transfer layer unless told
/// otherwise with [`BandDriverAdapter::with_rows_per_band`].
pub const DEFAULT_ROWS_PER_BAND: u32 = 32;

/// Size of the buffer the adapter offers to each [`BandDriver::read`].
const READ_CHUNK: usize = 64 * 1024;

/// What a legacy driver reports about the page it is about to send
/// (`SANE_Parameters`, WIA's `MINIDRV_TRANSFER_CONTEXT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandParameters {
    /// Pixel layout of every row.
    pub format: PixelFormat,
    /// Pixels per row.
    pub width: u32,
    /// Rows in the page when known in advance. `None` (SANE's `lines = -1`)
    /// or `Some(0)` (WIA's 0) means unknown: the page ends when
    /// [`BandDriver::read`] returns 0.
    pub height: Option<u32>,
    /// Bytes per line as the driver sends them. It may exceed the packed
    /// row length of `width` pixels of `format`; the extra bytes at the end
    /// of each line are padding and are dropped.
    pub bytes_per_line: usize,
    /// Resolution in dots per inch (both axes).
    pub dpi: u32,
}

impl BandParameters {
    /// The page height, with WIA's 0 read as unknown.
    pub fn known_height(&self) -> Option<u32> {
        self.height.filter(|&h| h > 0)
    }

    /// The raw page header these parameters announce.
    pub fn header(&self) -> PageHeader {
        PageHeader {
            width: self.width,
            height: self.known_height(),
            format: self.format,
            dpi_x: self.dpi,
            dpi_y: self.dpi,
        }
    }

    /// Checks that the parameters describe a page rows can be cut from.
    fn validate(&self) -> Result<(), DriverError> {
        if self.width == 0 {
            return Err(DriverError::Communication(String::from(
                "the scanner announced a page zero pixels wide",
            )));
        }
        let row_bytes = self.format.row_bytes(self.width);
        if self.bytes_per_line < row_bytes {
            return Err(DriverError::Communication(format!(
                "the scanner announced {} bytes per line, but {} pixels of {:?} need {}",
                self.bytes_per_line, self.width, self.format, row_bytes
            )));
        }
        Ok(())
    }
}

/// A legacy band driver: SANE-style or WIA in-memory transfers, where every
/// acquire yields one page as a stream of raw bytes read in pieces.
///
/// Call order for each page: [`BandDriver::start`], then
/// [`BandDriver::read`] until it returns 0 (or an error). [`BandDriver::cancel`]
/// may come at any point, and always comes once when an acquisition ends.
pub trait BandDriver: Send {
    /// Who the device is.
    fn info(&self) -> DeviceInfo;

    /// The device's item tree, as it is now.
    fn items(&self) -> Item;

    /// What the device can do.
    fn capabilities(&self) -> Capabilities;

    /// Starts one legacy acquire, which yields one page (`sane_start` plus
    /// `sane_get_parameters`). `Ok(None)`: there are no (more) documents
    /// (SANE_STATUS_NO_DOCS).
    fn start(
        &mut self,
        item: &Item,
        settings: &ScanSettings,
    ) -> Result<Option<BandParameters>, DriverError>;

    /// Reads raw bytes of the current page into `buf` and returns how many
    /// (any amount; rows may be split across reads). `Ok(0)`: the page is
    /// complete. [`DriverError::Cancelled`] means the device cancelled (its
    /// cancel button); the job then ends cancelled, not failed.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DriverError>;

    /// Stops the current acquire (`sane_cancel`). Must be safe to call at
    /// any time, also when nothing is being acquired.
    fn cancel(&mut self);
}

/// Presents a legacy [`BandDriver`] as a stream [`Driver`].
///
/// For each page: [`BandDriver::start`], then [`AcquireSink::begin_page`]
/// (Skip still reads the page and drops it, so the paper moves on),
/// [`AcquireSink::start_data`] with the raw header (height unknown when the
/// driver does not know it), whole rows in bands of
/// [`DEFAULT_ROWS_PER_BAND`] rows each followed by the page's progress
/// (rows / height, or -1 when the height is unknown), and
/// [`AcquireSink::end_page`].
///
/// Pages: a flatbed acquisition is one page. A feeder (or duplex)
/// acquisition starts one legacy acquire per page until the driver has no
/// more documents or `settings.pages` pages (sides, in duplex; skipped
/// pages included, since their paper was fed) were fed; duplex sides
/// alternate front, back, front, ... When the driver has no document for
/// the very first page, PAPER_EMPTY goes through the status-handler chain
/// (Retry starts again). When the feeder runs out before `settings.pages`
/// (> 0) pages, the acquisition ends with [`AcquireEnd::FeederEmpty`].
///
/// The job's cancel token is checked between reads; on any cancel the
/// driver's [`BandDriver::cancel`] stops the device. Every acquisition ends
/// with one [`BandDriver::cancel`] call, as SANE frontends end every batch
/// with `sane_cancel`.
///
/// A page that ends inside a row, sends more rows than it announced, ends
/// before its announced height, or has no rows at all fails the job with
/// [`DriverError::Communication`].
#[derive(Debug)]
pub struct BandDriverAdapter<D: BandDriver> {
    driver: D,
    rows_per_band: u32,
}

impl<D: BandDriver> BandDriverAdapter<D> {
    /// Wraps `driver`.
    pub fn new(driver: D) -> BandDriverAdapter<D> {
        BandDriverAdapter {
            driver,
            rows_per_band: DEFAULT_ROWS_PER_BAND,
        }
    }

    /// Sets how many rows each band handed to the layer holds (at least 1;
    /// the last band of a page may hold fewer).
    pub fn with_rows_per_band(mut self, rows: u32) -> BandDriverAdapter<D> {
        self.rows_per_band = rows.max(1);
        self
    }

    /// The wrapped legacy driver.
    pub fn driver(&self) -> &D {
        &self.driver
    }

    /// The wrapped legacy driver, mutably.
    pub fn driver_mut(&mut self) -> &mut D {
        &mut self.driver
    }

    /// Gives the wrapped legacy driver back.
    pub fn into_inner(self) -> D {
        self.driver
    }

    /// The acquisition proper; [`Driver::acquire`] adds the final cancel.
    fn acquire_pages(
        &mut self,
        request: &AcquireRequest,
        sink: &mut dyn AcquireSink,
    ) -> Result<AcquireEnd, Halt> {
        let settings = &request.settings;
        let token = sink.cancel_token();
        let limit = match settings.source {
            Source::Flatbed => Some(1),
            Source::Feeder | Source::Duplex => (settings.pages > 0).then_some(settings.pages),
        };
        let mut fed: u32 = 0;
        loop {
            if limit.is_some_and(|limit| fed >= limit) {
                return Ok(AcquireEnd::Done);
            }
            if token.is_cancelled() {
                return Err(Halt::Cancelled);
            }
            let Some(params) = self.driver.start(&request.item, settings)? else {
                if fed > 0 {
                    return Ok(if limit.is_some() {
                        AcquireEnd::FeederEmpty
                    } else {
                        AcquireEnd::Done
                    });
                }
                match sink.device_status(StatusCode::PAPER_EMPTY, None) {
                    StatusOutcome::Retry => continue,
                    StatusOutcome::Cancel => return Err(Halt::Cancelled),
                    StatusOutcome::Fail(code) => return Err(DriverError::Status(code).into()),
                    // PAPER_EMPTY is an error: nobody may just "continue" past it.
                    StatusOutcome::Continue => {
                        return Err(DriverError::Status(StatusCode::PAPER_EMPTY).into());
                    }
                }
            };
            params.validate()?;
            let side = if settings.source == Source::Duplex && fed % 2 == 1 {
                Side::Back
            } else {
                Side::Front
            };
            fed += 1;
            let start = PageStart {
                item: request.item.clone(),
                side,
            };
            match sink.begin_page(start) {
                PageGo::Continue => self.transfer_page(&params, sink, &token)?,
                PageGo::Skip => self.drop_page(&token)?,
                PageGo::Cancel => return Err(Halt::Cancelled),
            }
        }
    }

    /// Reads one page and hands it to the layer as bands.
    fn transfer_page(
        &mut self,
        params: &BandParameters,
        sink: &mut dyn AcquireSink,
        token: &CancelToken,
    ) -> Result<(), Halt> {
        sink.start_data(PageData::Raw(params.header()))?;
        let mut rows = RowAssembler::new(params, self.rows_per_band);
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            if token.is_cancelled() {
                return Err(Halt::Cancelled);
            }
            let read = self.driver.read(&mut buf)?;
            if read == 0 {
                break;
            }
            let chunk = buf.get(..read).ok_or_else(|| {
                DriverError::Communication(format!(
                    "the scanner driver claimed to read {read} bytes into a {} byte buffer",
                    buf.len()
                ))
            })?;
            for band in rows.push(chunk)? {
                sink.band(&band)?;
                sink.progress(rows.percent_after(&band))?;
            }
        }
        if let Some(band) = rows.finish()? {
            sink.band(&band)?;
            sink.progress(rows.percent_after(&band))?;
        }
        sink.end_page()?;
        Ok(())
    }

    /// Reads a skipped page to its end and drops it, so the paper moves on.
    fn drop_page(&mut self, token: &CancelToken) -> Result<(), Halt> {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            if token.is_cancelled() {
                return Err(Halt::Cancelled);
            }
            if self.driver.read(&mut buf)? == 0 {
                return Ok(());
            }
        }
    }
}

impl<D: BandDriver> Driver for BandDriverAdapter<D> {
    fn info(&self) -> DeviceInfo {
        self.driver.info()
    }

    fn items(&self) -> Result<Item, DriverError> {
        Ok(self.driver.items())
    }

    fn capabilities(&self) -> Result<Capabilities, DriverError> {
        Ok(self.driver.capabilities())
    }

    fn acquire(
        &mut self,
        request: &AcquireRequest,
        sink: &mut dyn AcquireSink,
    ) -> Result<AcquireEnd, DriverError> {
        let result = self.acquire_pages(request, sink);
        // Stops the device after a cancel or a fault, and ends the batch
        // otherwise (SANE frontends close every batch with sane_cancel).
        self.driver.cancel();
        match result {
            Ok(end) => Ok(end),
            Err(Halt::Cancelled) => Ok(AcquireEnd::Cancelled),
            Err(Halt::Failed(error)) => Err(error),
        }
    }
}

/// Why an acquisition stopped before its natural end.
#[derive(Debug)]
enum Halt {
    /// The job was cancelled (by the layer, the token or the device).
    Cancelled,
    /// The driver or the page data failed.
    Failed(DriverError),
}

impl From<DriverError> for Halt {
    fn from(error: DriverError) -> Halt {
        match error {
            DriverError::Cancelled => Halt::Cancelled,
            other => Halt::Failed(other),
        }
    }
}

impl From<Interrupted> for Halt {
    fn from(interrupted: Interrupted) -> Halt {
        match interrupted {
            Interrupted::Cancelled => Halt::Cancelled,
            Interrupted::TimedOut(after) => Halt::Failed(DriverError::NoData(after)),
        }
    }
}

/// Cuts whole rows out of raw bytes that arrive in arbitrary pieces,
/// dropping each line's padding, and groups them into bands.
#[derive(Debug)]
struct RowAssembler {
    /// Packed bytes of one row (what a band holds per row).
    row_bytes: usize,
    /// Bytes of one line as the driver sends it (row plus padding).
    bytes_per_line: usize,
    /// Announced height, when known.
    height: Option<u32>,
    /// Rows per full band.
    rows_per_band: u32,
    /// Bytes of the current line received so far.
    line_pos: usize,
    /// Complete rows received so far in the page.
    rows_done: u32,
    /// Index of the first row of the band being filled.
    band_first_row: u32,
    /// The band being filled: its complete rows, then the start of the
    /// current row.
    band: Vec<u8>,
}

impl RowAssembler {
    fn new(params: &BandParameters, rows_per_band: u32) -> RowAssembler {
        RowAssembler {
            row_bytes: params.format.row_bytes(params.width),
            bytes_per_line: params.bytes_per_line,
            height: params.known_height(),
            rows_per_band: rows_per_band.max(1),
            line_pos: 0,
            rows_done: 0,
            band_first_row: 0,
            band: Vec::new(),
        }
    }

    /// Takes the next raw bytes; returns the bands they completed.
    fn push(&mut self, mut bytes: &[u8]) -> Result<Vec<Band>, DriverError> {
        let mut bands = Vec::new();
        while !bytes.is_empty() {
            if let Some(height) = self.height
                && self.rows_done >= height
            {
                return Err(DriverError::Communication(format!(
                    "the scanner sent more than the {height} rows it announced for the page"
                )));
            }
            let take = if self.line_pos < self.row_bytes {
                let take = (self.row_bytes - self.line_pos).min(bytes.len());
                self.band.extend_from_slice(&bytes[..take]);
                take
            } else {
                // Line padding: dropped.
                (self.bytes_per_line - self.line_pos).min(bytes.len())
            };
            self.line_pos += take;
            bytes = &bytes[take..];
            if self.line_pos == self.bytes_per_line {
                self.line_pos = 0;
                self.rows_done += 1;
                if self.rows_done - self.band_first_row >= self.rows_per_band {
                    bands.push(self.take_band());
                }
            }
        }
        Ok(bands)
    }

    /// The page ended: checks it ended on a row boundary and at its
    /// announced height, and returns the last, partly filled band.
    fn finish(&mut self) -> Result<Option<Band>, DriverError> {
        if self.line_pos != 0 {
            return Err(DriverError::Communication(format!(
                "the page ended in the middle of a row: row {} has {} of its {} bytes",
                u64::from(self.rows_done) + 1,
                self.line_pos,
                self.bytes_per_line
            )));
        }
        match self.height {
            Some(height) if self.rows_done < height => {
                return Err(DriverError::Communication(format!(
                    "the page ended after {} of the {height} rows the scanner announced",
                    self.rows_done
                )));
            }
            None if self.rows_done == 0 => {
                return Err(DriverError::Communication(String::from(
                    "the scanner ended the page without sending a single row",
                )));
            }
            _ => {}
        }
        Ok((self.rows_done > self.band_first_row).then(|| self.take_band()))
    }

    /// The page's progress once `band` is delivered: rows / height in
    /// percent, -1 when the height is unknown. (One read may complete
    /// several bands, so this is not the progress of the bytes read.)
    fn percent_after(&self, band: &Band) -> i32 {
        match self.height {
            Some(height) if height > 0 => {
                let rows = u64::from(band.first_row) + u64::from(band.rows);
                let percent = rows * 100 / u64::from(height);
                i32::try_from(percent.min(100)).unwrap_or(100)
            }
            _ => -1,
        }
    }

    /// Hands out the complete rows of the current band.
    fn take_band(&mut self) -> Band {
        let band = Band {
            first_row: self.band_first_row,
            rows: self.rows_done - self.band_first_row,
            data: std::mem::take(&mut self.band),
        };
        self.band_first_row = self.rows_done;
        band
    }
}

/// A message to a band-oriented consumer (WIA's `IWiaDataCallback`
/// messages, `IT_MSG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandMessage<'a> {
    /// The first stream of the job begins (IT_MSG_DATA_HEADER): data for a
    /// file of `format` follows, starting with page `page`.
    DataHeader {
        /// The file format the data is written in.
        format: FileFormat,
        /// The number of the stream's first page (1-based).
        page: u32,
    },
    /// Bytes the writer put at `offset` of the current stream (IT_MSG_DATA).
    /// Offsets usually grow, but a writer that patches its header when the
    /// page ends sends those bytes again at a lower offset.
    Data {
        /// Position of `bytes` in the current stream.
        offset: u64,
        /// The bytes written.
        bytes: &'a [u8],
        /// The current page's progress, 0..=100 or -1 when unknown.
        percent: i32,
    },
    /// A later stream begins (IT_MSG_NEW_PAGE): offsets restart at 0 in a
    /// new file, starting with page `page`.
    NewPage {
        /// The number of the stream's first page (1-based).
        page: u32,
    },
    /// The transfer is over (IT_MSG_TERMINATION): sent exactly once, last,
    /// also after a cancel or an error.
    Termination,
}

/// A band-oriented consumer of a stream transfer (a legacy application's
/// `IWiaDataCallback::BandedDataCallback`).
pub trait BandConsumer: Send {
    /// Receives one message; [`Flow::Cancel`] cancels the whole job.
    fn message(&mut self, message: BandMessage<'_>) -> Flow;
}

/// Downloads `item` (a source or a file; no ACQUIRE_CHILDREN) with
/// `transfer` into a band-oriented `consumer`.
///
/// Each destination stream the transfer asks for is announced to the
/// consumer (the first by [`BandMessage::DataHeader`], later ones by
/// [`BandMessage::NewPage`]); every write into it reaches the consumer as
/// [`BandMessage::Data`] with its stream offset, and the end of the
/// transfer as [`BandMessage::Termination`], exactly once and last.
///
/// Writes are queued by the stream and handed to the consumer, in order and
/// one message per write, the next time the transfer layer talks to the
/// callback (each STATUS, NEW_PAGE, END_OF_STREAM, END_OF_TRANSFER and
/// stream request), which is at least once per band. The percent of a
/// write is the page's progress at that point (100 for bytes written as the
/// page completed). Writes into a page the transfer abandons (cancel,
/// fault) that were not handed over yet are dropped. A multipage stream
/// (`settings.multipage`) is one file: its pages do not get
/// [`BandMessage::NewPage`].
///
/// When the consumer answers [`Flow::Cancel`] the job is cancelled: the
/// rest of the queued writes is dropped, and the transfer ends with
/// [`Outcome::Cancelled`] (pages completed before are kept by the layer's
/// rules) and [`BandMessage::Termination`].
pub fn acquire_to_bands(
    transfer: &mut Transfer<'_>,
    item: &str,
    settings: &ScanSettings,
    consumer: &mut dyn BandConsumer,
) -> Result<Outcome, TransferError> {
    let mut bridge = BandBridge::new(settings.format, consumer);
    let result = transfer.download(item, 0, settings, &mut bridge);
    // END_OF_TRANSFER normally terminated the consumer already.
    bridge.terminate();
    result
}

/// One write queued for the consumer.
#[derive(Debug)]
struct QueuedWrite {
    /// The stream (1-based, in the order they were handed out).
    stream: u64,
    /// Where the bytes went in that stream.
    offset: u64,
    /// The bytes.
    bytes: Vec<u8>,
}

/// Writes waiting to be handed to the consumer, shared by the bridge and
/// the streams it hands out (which must be `'static`).
type WriteQueue = Arc<Mutex<Vec<QueuedWrite>>>;

fn lock(queue: &WriteQueue) -> MutexGuard<'_, Vec<QueuedWrite>> {
    queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The [`TransferCallback`] behind [`acquire_to_bands`].
struct BandBridge<'c> {
    consumer: &'c mut dyn BandConsumer,
    format: FileFormat,
    queue: WriteQueue,
    /// Streams handed out so far.
    streams: u64,
    /// The current page's last known progress.
    percent: i32,
    /// The consumer cancelled the job.
    cancelled: bool,
    /// Termination was sent.
    terminated: bool,
}

impl<'c> BandBridge<'c> {
    fn new(format: FileFormat, consumer: &'c mut dyn BandConsumer) -> BandBridge<'c> {
        BandBridge {
            consumer,
            format,
            queue: Arc::new(Mutex::new(Vec::new())),
            streams: 0,
            percent: 0,
            cancelled: false,
            terminated: false,
        }
    }

    /// The answer to give the layer.
    fn flow(&self) -> Flow {
        if self.cancelled {
            Flow::Cancel
        } else {
            Flow::Continue
        }
    }

    /// Sends one message unless the consumer already cancelled.
    fn send(&mut self, message: BandMessage<'_>) {
        if !self.cancelled && self.consumer.message(message) == Flow::Cancel {
            self.cancelled = true;
        }
    }

    /// Hands every queued write to the consumer, at `percent`.
    fn forward(&mut self, percent: i32) -> Flow {
        let writes = std::mem::take(&mut *lock(&self.queue));
        for write in &writes {
            self.send(BandMessage::Data {
                offset: write.offset,
                bytes: &write.bytes,
                percent,
            });
        }
        self.flow()
    }

    /// Sends Termination, once; drops whatever was still queued.
    fn terminate(&mut self) {
        if self.terminated {
            return;
        }
        self.terminated = true;
        lock(&self.queue).clear();
        // The transfer is over: the answer changes nothing.
        let _ = self.consumer.message(BandMessage::Termination);
    }
}

impl TransferCallback for BandBridge<'_> {
    fn next_stream(&mut self, request: &StreamRequest) -> StreamAnswer {
        let percent = self.percent;
        self.forward(percent);
        if self.cancelled {
            return StreamAnswer::Cancel;
        }
        self.streams += 1;
        self.percent = 0;
        let announcement = if self.streams == 1 {
            BandMessage::DataHeader {
                format: self.format,
                page: request.page,
            }
        } else {
            BandMessage::NewPage { page: request.page }
        };
        self.send(announcement);
        if self.cancelled {
            return StreamAnswer::Cancel;
        }
        StreamAnswer::Stream(Box::new(BandStream {
            id: self.streams,
            queue: Arc::clone(&self.queue),
            position: 0,
            len: 0,
        }))
    }

    fn message(&mut self, message: &TransferMessage) -> Flow {
        match message.kind {
            MessageKind::Status => {
                self.percent = message.percent;
                self.forward(message.percent)
            }
            MessageKind::EndOfStream => self.forward(100),
            MessageKind::NewPage => {
                // Bytes before a page of a multipage stream belong to the
                // previous page (or the document's header).
                let percent = self.percent;
                let flow = self.forward(percent);
                self.percent = 0;
                flow
            }
            MessageKind::EndOfTransfer => {
                let percent = self.percent;
                let flow = self.forward(percent);
                self.terminate();
                flow
            }
            MessageKind::DeviceStatus => self.flow(),
        }
    }
}

/// The destination stream [`acquire_to_bands`] hands out: it keeps no
/// bytes, it queues every write for the consumer with its offset and only
/// keeps the bookkeeping (position, length) a writer relies on.
#[derive(Debug)]
struct BandStream {
    id: u64,
    queue: WriteQueue,
    position: u64,
    len: u64,
}

impl Write for BandStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let end = u64::try_from(buf.len())
            .ok()
            .and_then(|n| self.position.checked_add(n))
            .ok_or_else(|| io::Error::other("stream position overflow"))?;
        lock(&self.queue).push(QueuedWrite {
            stream: self.id,
            offset: self.position,
            bytes: buf.to_vec(),
        });
        self.position = end;
        self.len = self.len.max(end);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for BandStream {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the stream",
            )
        })?;
        self.position = target;
        Ok(target)
    }
}

impl Destination for BandStream {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.len = len;
        Ok(())
    }

    fn complete(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn discard(&mut self) {
        let id = self.id;
        lock(&self.queue).retain(|write| write.stream != id);
    }

    fn describe(&self) -> String {
        format!("band consumer (stream {})", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(format: PixelFormat, width: u32, height: Option<u32>, bpl: usize) -> BandParameters {
        BandParameters {
            format,
            width,
            height,
            bytes_per_line: bpl,
            dpi: 100,
        }
    }

    #[test]
    fn rows_are_cut_from_any_split_and_padding_is_dropped() {
        // 3 gray pixels per row, 5 bytes per line: 2 padding bytes.
        let p = params(PixelFormat::Gray8, 3, Some(4), 5);
        let raw: Vec<u8> = (0..4u8)
            .flat_map(|row| [row * 10, row * 10 + 1, row * 10 + 2, 0xEE, 0xEE])
            .collect();
        for split in 1..=raw.len() {
            let mut rows = RowAssembler::new(&p, 3);
            let mut bands = Vec::new();
            for chunk in raw.chunks(split) {
                bands.extend(rows.push(chunk).expect("valid bytes"));
            }
            bands.extend(rows.finish().expect("whole page"));
            let first_rows: Vec<u32> = bands.iter().map(|b| b.first_row).collect();
            assert_eq!(first_rows, vec![0, 3], "split {split}");
            let data: Vec<u8> = bands.iter().flat_map(|b| b.data.clone()).collect();
            assert_eq!(data, vec![0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]);
            let last = bands.last().expect("bands");
            assert_eq!(rows.percent_after(last), 100);
            assert_eq!(rows.percent_after(&bands[0]), 75);
        }
    }

    #[test]
    fn malformed_pages_fail_cleanly() {
        let p = params(PixelFormat::Gray8, 2, Some(2), 2);
        let mut rows = RowAssembler::new(&p, 8);
        assert!(rows.push(&[1, 2, 3, 4, 5]).is_err(), "extra row");

        let mut rows = RowAssembler::new(&p, 8);
        rows.push(&[1, 2, 3]).expect("bytes within the page");
        assert!(rows.finish().is_err(), "partial row");

        let mut rows = RowAssembler::new(&p, 8);
        rows.push(&[1, 2]).expect("bytes within the page");
        assert!(rows.finish().is_err(), "short page");

        let unknown = params(PixelFormat::Gray8, 2, None, 2);
        let mut rows = RowAssembler::new(&unknown, 8);
        assert!(rows.finish().is_err(), "empty page");
        let band = Band {
            first_row: 0,
            rows: 1,
            data: vec![0, 0],
        };
        assert_eq!(rows.percent_after(&band), -1);

        assert!(params(PixelFormat::Rgb8, 4, None, 11).validate().is_err());
        assert!(params(PixelFormat::Bw1, 0, None, 1).validate().is_err());
        assert!(params(PixelFormat::Bw1, 9, Some(0), 2).validate().is_ok());
        assert_eq!(
            params(PixelFormat::Bw1, 9, Some(0), 2).header().height,
            None
        );
    }

    #[test]
    fn streams_queue_writes_with_their_offsets() {
        let queue: WriteQueue = Arc::new(Mutex::new(Vec::new()));
        let mut stream = BandStream {
            id: 1,
            queue: Arc::clone(&queue),
            position: 0,
            len: 0,
        };
        stream.write_all(b"HEAD").expect("write");
        stream.write_all(b"body").expect("write");
        stream.seek(SeekFrom::Start(1)).expect("seek");
        stream.write_all(b"X").expect("write");
        assert_eq!(stream.seek(SeekFrom::End(0)).expect("seek"), 8);
        assert!(stream.seek(SeekFrom::Current(-9)).is_err());
        let offsets: Vec<u64> = lock(&queue).iter().map(|w| w.offset).collect();
        assert_eq!(offsets, vec![0, 4, 1]);
        stream.discard();
        assert!(lock(&queue).is_empty());
    }
}
