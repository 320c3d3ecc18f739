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

mod record;
mod session;
mod streams;

use record::Recorder;
use session::{PageState, Session};
use streams::{Counted, ObserverTap, PassThrough, UploadReader};

use crate::clock::{CancelToken, SharedClock, SystemClock};
use crate::filter::{BandTap, Filter, FilterSettings};
use crate::output::{self, EncodeOptions, FileFormat, PageEncoder};
use crate::raster::{Band, Page, PageHeader, PixelFormat};
use crate::transfer::callback::{
    Destination, DeviceStatus, Flow, Side, StatusAnswer, StatusHandler, StreamAnswer,
    StreamRequest, TransferCallback, TransferMessage,
};
use crate::transfer::codes::{ItemFlags, MessageKind, StatusCode};
use crate::transfer::driver::{
    AcquireEnd, AcquireRequest, AcquireSink, Driver, DriverError, Interrupted, PageData, PageGo,
    PageStart, StatusFlow, StatusOutcome, UploadSource,
};
use crate::transfer::item::Item;
use crate::transfer::settings::ScanSettings;
use crate::transfer::trace::{DestinationOp, StreamReply, Trace, TraceEvent, Violation};
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
    /// The trace and the live message-order checker.
    recorder: Recorder,
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
            recorder: Recorder::new(true),
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
    /// count. [`Transfer::trace`] then shows no download events; the
    /// message-order checker still runs ([`Transfer::violation`]).
    pub fn without_trace(mut self) -> Transfer<'a> {
        self.recorder.keep = false;
        self
    }

    /// The first rule of the contract's message order that the last
    /// download or upload broke, as the live checker saw it (kept trace or
    /// not). `None` for a transfer that kept the contract.
    pub fn violation(&self) -> Option<&Violation> {
        self.recorder.violation()
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
        &self.recorder.trace
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
        self.recorder.begin(false, false);
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
        self.recorder.begin(multipage, false);
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
            recorder: &mut self.recorder,
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
            pending_clear: None,
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
        self.recorder.finish();
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
        self.recorder
            .record(TraceEvent::Message { message, answer });
        self.recorder.finish();
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
        self.recorder.begin(false, true);
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
                    recorder: &mut self.recorder,
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
        self.recorder
            .record(TraceEvent::Message { message, answer });
        self.recorder.finish();
        result
    }
}
