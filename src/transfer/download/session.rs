//! The layer's state while a driver acquires: the [`Session`] that is the
//! driver's [`AcquireSink`], page by page: stream requests, raw bands and
//! encoded bodies into the filter and encoder, the status-handler chain,
//! page ends and the job's end.

use super::record::Recorder;
use super::streams::OpenStream;
use super::*;
use crate::transfer::decode::{BodyDecoder, DecodeLimits, Decoded};

/// How the current page's data flows.
pub(super) enum DataState {
    /// Nothing of the page yet (or it is being scanned again).
    NotStarted,
    /// Raw rows under this header, `rows` of them so far.
    Raw { header: PageHeader, rows: u32 },
    /// The device's own bytes go to the encoder untouched; `tap` decodes
    /// them alongside for the observer (live preview, preview cache).
    Passthrough { tap: Option<Box<BodyDecoder>> },
    /// A JPEG or PNG body decoded as its bytes arrive: rows go through
    /// the filter and encoder while the body is still coming.
    Decode(Box<BodyDecoder>),
    /// Another encoding, decoded whole when the body ends.
    Buffer { buf: Vec<u8> },
    /// The feeder fed the sheet again after a fault on its back and is
    /// sending its front, which was delivered already: dropped until the
    /// page's own data starts again.
    Refed,
}

impl DataState {
    /// True once the page's own data has started (a re-fed side is not
    /// the page's data).
    fn started(&self) -> bool {
        !matches!(self, DataState::NotStarted | DataState::Refed)
    }
}

pub(super) struct ActivePage {
    pub(super) number: u32,
    pub(super) side: Side,
    pub(super) item: String,
    /// The page is a stored file (its own bytes, not a scanned image).
    pub(super) file: bool,
    pub(super) data: DataState,
}

pub(super) enum PageState {
    Idle,
    Skipping,
    Active(ActivePage),
}

/// The layer's state while a driver acquires; the driver's [`AcquireSink`].
pub(super) struct Session<'s> {
    pub(super) callback: &'s mut dyn TransferCallback,
    pub(super) app_handler: Option<&'s mut dyn StatusHandler>,
    pub(super) driver_handler: Option<Box<dyn StatusHandler>>,
    pub(super) observer: Option<Arc<dyn PageObserver>>,
    pub(super) options: &'s TransferOptions,
    pub(super) settings: &'s ScanSettings,
    /// The trace and the live checker.
    pub(super) recorder: &'s mut Recorder,
    pub(super) totals: Totals,
    pub(super) io: DeviceIo,
    pub(super) multipage: bool,
    pub(super) stream: Option<OpenStream>,
    pub(super) page: PageState,
    /// Multipage: the application skipped the item.
    pub(super) skip_item: bool,
    pub(super) cancelled: bool,
    /// Stopped by the layer itself (destination failure, driver misuse).
    pub(super) aborted: bool,
    pub(super) failure: Option<TransferError>,
    pub(super) last_activity: Duration,
    /// The "please wait" status the application was shown and that still
    /// needs its CLEAR (before the next message or stream, or a different
    /// status).
    pub(super) pending_clear: Option<StatusCode>,
}

impl Session<'_> {
    /// Records `event` (checked live; kept when the trace is kept).
    pub(super) fn record(&mut self, event: TraceEvent) {
        self.recorder.record(event);
    }

    pub(super) fn activity(&mut self) {
        self.last_activity = self.options.clock.now();
    }

    /// True when the job must stop; notices a cancel from another thread.
    pub(super) fn stopped(&mut self) -> bool {
        if !self.cancelled && !self.aborted && self.options.cancel.is_cancelled() {
            self.cancelled = true;
            self.record(TraceEvent::CancelRequested);
        }
        self.cancelled || self.aborted
    }

    pub(super) fn cancel_now(&mut self) {
        self.cancelled = true;
        self.options.cancel.cancel();
    }

    pub(super) fn current_page(&self) -> Option<u32> {
        match &self.page {
            PageState::Active(p) => Some(p.number),
            _ => None,
        }
    }

    /// Stops the job with an error of the layer's own (destination, driver
    /// misuse); the device is told to stop.
    pub(super) fn abort(&mut self, code: StatusCode, message: String) {
        if self.failure.is_none() {
            self.failure = Some(TransferError::new(code, self.current_page(), message));
        }
        self.aborted = true;
        self.options.cancel.cancel();
    }

    pub(super) fn destination_failed(&mut self, error: io::Error) {
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

    pub(super) fn send(&mut self, kind: MessageKind, percent: i32) -> Flow {
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

    pub(super) fn send_message(&mut self, message: TransferMessage) -> Flow {
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

    pub(super) fn run_chain(&mut self, status: &DeviceStatus) -> StatusAnswer {
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

    pub(super) fn status_for(&self, code: StatusCode, percent: Option<u8>) -> DeviceStatus {
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

    pub(super) fn clear_if_pending(&mut self) {
        if self.pending_clear.take().is_some() {
            self.send_clear();
        }
    }

    pub(super) fn send_clear(&mut self) {
        let status = self.status_for(StatusCode::CLEAR, None);
        let answer = self.run_chain(&status);
        self.record(TraceEvent::DeviceStatus {
            code: StatusCode::CLEAR,
            percent: None,
            answer,
        });
    }

    /// Makes a stream's encoder chain for the application's destination.
    pub(super) fn encoder_for(
        &self,
        dest: Box<dyn Destination>,
        item: &Item,
    ) -> io::Result<OpenStream> {
        let bytes = Arc::new(AtomicU64::new(0));
        let counted: Box<dyn Destination> = Box::new(Counted {
            inner: dest,
            pos: 0,
            len: 0,
            shared: bytes.clone(),
            log: self.recorder.log(),
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
    pub(super) fn flush_completed(&mut self) {
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
    pub(super) fn complete_stream(&mut self, stream: OpenStream, page: u32) -> io::Result<()> {
        let OpenStream {
            mut encoder,
            bytes,
            item,
            side,
            ..
        } = stream;
        let finished = encoder.finish();
        let mut dest = Box::new(encoder).into_destination();
        if let Err(e) = finished.and_then(|()| dest.complete()) {
            // Not made permanent: nothing of it may stay.
            dest.discard();
            return Err(e);
        }
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
    pub(super) fn abandon_page(&mut self) {
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
                && active.data.started()
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
    pub(super) fn data_allowed(&mut self) -> Result<bool, Interrupted> {
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

    pub(super) fn protocol_error(&mut self, message: String) -> Interrupted {
        self.abort(StatusCode::INVALID_DRIVER_RESPONSE, message);
        Interrupted::Cancelled
    }

    /// Ends an incrementally decoded body: its last rows, or why it is
    /// unreadable (a truncated or corrupt body ends the page with that
    /// error; the pages before it are kept).
    fn finish_body(
        &mut self,
        number: u32,
        decoder: &mut BodyDecoder,
        to_encoder: bool,
    ) -> Result<(), Interrupted> {
        match decoder.finish() {
            Ok(events) => self.feed_decoded(events, to_encoder),
            Err(e) => Err(self.protocol_error(format!(
                "page {number}: the device sent an unreadable image: {e}"
            ))),
        }
    }

    /// Hands decoded rows to the observer and, unless the bytes went to
    /// the encoder untouched, to the filter and encoder.
    fn feed_decoded(&mut self, events: Vec<Decoded>, to_encoder: bool) -> Result<(), Interrupted> {
        let (number, side) = match &self.page {
            PageState::Active(p) => (p.number, p.side),
            _ => (0, Side::Front),
        };
        for event in events {
            let result = match event {
                Decoded::Header(mut header) => {
                    // The body did not say its resolution: the one asked for.
                    if header.dpi_x == 0 || header.dpi_y == 0 {
                        header.dpi_x = self.settings.dpi;
                        header.dpi_y = self.settings.dpi;
                    }
                    if let Some(observer) = &self.observer {
                        observer.page_data(number, side, &header);
                    }
                    match self.stream.as_mut() {
                        Some(stream) if to_encoder => stream.encoder.begin_page(&header),
                        _ => Ok(()),
                    }
                }
                Decoded::Band(band) => {
                    if let Some(observer) = &self.observer {
                        observer.raw_band(number, &band);
                    }
                    match self.stream.as_mut() {
                        Some(stream) if to_encoder => stream.encoder.write_band(&band),
                        _ => Ok(()),
                    }
                }
                Decoded::End { .. } => Ok(()),
            };
            if let Err(e) = result {
                self.destination_failed(e);
                return Err(Interrupted::Cancelled);
            }
        }
        Ok(())
    }

    pub(super) fn decode_and_write(&mut self, buf: &[u8]) -> Result<(), Interrupted> {
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
    pub(super) fn finish(
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
        // A "please wait" still shown is cleared before the job ends.
        self.clear_if_pending();
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
            file: start.item.flags.contains(ItemFlags::FILE),
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
        let (number, side, started, file) = match &self.page {
            PageState::Active(p) => (p.number, p.side, p.data.started(), p.file),
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
                // A stored file is copied, never decoded.
                let decoder = (!file)
                    .then(|| {
                        BodyDecoder::new(format, DecodeLimits::default())
                            .ok()
                            .map(Box::new)
                    })
                    .flatten();
                if stream.encoder.accepts_encoded(format) {
                    // Untouched into the file, and decoded alongside: for
                    // the preview and the cache, and so that a truncated or
                    // corrupt body ends its page with an error.
                    (
                        DataState::Passthrough { tap: decoder },
                        stream.encoder.begin_encoded(format, header.as_ref()),
                    )
                } else {
                    match decoder {
                        Some(decoder) => (DataState::Decode(decoder), Ok(())),
                        None => (DataState::Buffer { buf: Vec::new() }, Ok(())),
                    }
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

    fn refed_side(&mut self, side: Side, _data: PageData) -> StatusFlow {
        if !self.data_allowed()? {
            return Ok(());
        }
        let fits = match &self.page {
            PageState::Active(p) => {
                matches!(p.data, DataState::NotStarted)
                    && p.side == Side::Back
                    && side == Side::Front
                    && !p.file
            }
            _ => false,
        };
        if !fits {
            let number = self.current_page().unwrap_or(0);
            return Err(self.protocol_error(format!(
                "the device sent the {side:?} side again at page {number}, which is not the back of a sheet being scanned again"
            )));
        }
        if let PageState::Active(p) = &mut self.page {
            p.data = DataState::Refed;
        }
        Ok(())
    }

    fn band(&mut self, band: &Band) -> StatusFlow {
        self.io.bytes_read += band.data.len() as u64;
        if !self.data_allowed()? {
            return Ok(());
        }
        let number = self.current_page().unwrap_or(0);
        let (header, rows) = match &self.page {
            PageState::Active(ActivePage {
                data: DataState::Refed,
                ..
            }) => return Ok(()),
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
        let number = self.current_page().unwrap_or(0);
        let (decoded, passthrough) = match &mut self.page {
            PageState::Active(ActivePage {
                data: DataState::Refed,
                ..
            }) => return Ok(()),
            PageState::Active(ActivePage {
                data: DataState::Decode(decoder),
                ..
            }) => (Some(decoder.push(bytes)), false),
            PageState::Active(ActivePage {
                data: DataState::Passthrough { tap },
                ..
            }) => (tap.as_mut().map(|d| d.push(bytes)), true),
            PageState::Active(ActivePage {
                data: DataState::Buffer { buf },
                ..
            }) => {
                buf.extend_from_slice(bytes);
                return Ok(());
            }
            _ => {
                return Err(self.protocol_error(String::from(
                    "the device sent encoded bytes without announcing them",
                )));
            }
        };
        if passthrough {
            let Some(stream) = self.stream.as_mut() else {
                return Err(Interrupted::Cancelled);
            };
            if let Err(e) = stream.encoder.write_encoded(bytes) {
                self.destination_failed(e);
                return Err(Interrupted::Cancelled);
            }
        }
        match decoded {
            Some(Ok(events)) => self.feed_decoded(events, !passthrough),
            Some(Err(e)) => Err(self.protocol_error(format!(
                "page {number}: the device sent an unreadable image: {e}"
            ))),
            None => Ok(()),
        }
    }

    fn progress(&mut self, percent: i32) -> StatusFlow {
        if !self.data_allowed()? {
            return Ok(());
        }
        if let PageState::Active(ActivePage {
            data: DataState::Refed,
            ..
        }) = &self.page
        {
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
                std::mem::replace(&mut p.data, DataState::Passthrough { tap: None }),
            ),
            _ => return Ok(()),
        };
        match data {
            DataState::NotStarted | DataState::Refed => {
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
            DataState::Buffer { buf } => self.decode_and_write(&buf)?,
            DataState::Decode(mut decoder) => self.finish_body(number, &mut decoder, true)?,
            DataState::Passthrough { tap: Some(mut tap) } => {
                self.finish_body(number, &mut tap, false)?
            }
            DataState::Passthrough { tap: None } => {}
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
        // The same status again (a rising percent) keeps its "please
        // wait"; any other one replaces it, so the first is cleared.
        if self.pending_clear.is_some_and(|shown| shown != code) {
            self.clear_if_pending();
        }
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
                self.pending_clear = Some(code);
                StatusOutcome::Continue
            }
            StatusAnswer::Handled => {
                self.pending_clear = None;
                self.send_clear();
                let rewind = match &mut self.page {
                    PageState::Active(p) if p.data.started() => {
                        p.data = DataState::NotStarted;
                        Some(p.number)
                    }
                    PageState::Active(p) => {
                        // Nothing of the page was written (at most a
                        // re-fed side, which was dropped).
                        p.data = DataState::NotStarted;
                        None
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
