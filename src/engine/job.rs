//! One job on its worker thread: opens the device, runs the transfer with
//! the engine's callback, status handler and page observer, and turns
//! everything that happens into events.

use super::preview::Downscaler;
use super::tiles::{BuildingPage, BuildingPages};
use super::{
    EngineConfig, EngineStats, Event, EventSink, JobId, JobSummary, QuestionId, Regions,
    UploadReport, Work,
};
use crate::clock::{CancelToken, SharedClock};
use crate::device;
use crate::filter::geometry::detect_regions;
use crate::filter::{PageKey, PreviewCache};
use crate::output::file::FileDestination;
use crate::output::naming::OutputPattern;
use crate::raster::{Band, Page, PageHeader};
use crate::transfer::ItemArea;
use crate::transfer::codes::download_flags::ACQUIRE_CHILDREN;
use crate::transfer::{
    DeviceStatus, Driver, Flow, Item, MessageKind, Outcome, PageEnd, PageObserver, ScanSettings,
    Side, StatusAnswer, StatusCode, StatusHandler, StreamAnswer, StreamRequest, Totals, Transfer,
    TransferCallback, TransferError, TransferMessage, TransferOptions,
};
use crossbeam_channel::Receiver;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a scan's pages go.
#[derive(Debug, Clone)]
pub enum OutputTarget {
    /// One file per page, named by a pattern with `{n}`.
    Files {
        /// The pattern.
        pattern: OutputPattern,
        /// Replace existing files.
        overwrite: bool,
    },
    /// One multipage document (PDF or TIFF).
    Document {
        /// The document's path.
        path: PathBuf,
        /// Replace an existing file.
        overwrite: bool,
    },
    /// Nothing is written: the pages go to the live view and the preview
    /// cache only (a flatbed preview, on which a person picks the area to
    /// scan). Each page ends with [`Event::PageDone`] without a path.
    Preview,
}

/// What a job is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for the device to warm up (percent when known).
    WarmingUp(Option<u8>),
    /// Pages are flowing.
    Scanning,
    /// Bytes go to the device.
    Uploading,
}

/// Throttled progress of a job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The stage.
    pub stage: Stage,
    /// Page in progress (delivered numbering), 0 before the first.
    pub page: u32,
    /// Pages asked for (None: until the feeder is empty).
    pub pages_total: Option<u32>,
    /// Side of the page in progress.
    pub side: Side,
    /// Percent of the page in progress (-1 unknown).
    pub percent: i32,
    /// Bytes written to the current stream.
    pub bytes: u64,
    /// Completed pages per minute since the first page began.
    pub pages_per_minute: f64,
}

impl Progress {
    /// Completed pages per second since the first page began.
    pub fn pages_per_second(&self) -> f64 {
        self.pages_per_minute / 60.0
    }
}

/// The worker of one job.
pub(crate) struct Worker {
    pub(crate) job: JobId,
    pub(crate) device: String,
    pub(crate) config: EngineConfig,
    pub(crate) sink: EventSink,
    pub(crate) stats: EngineStats,
    pub(crate) cancel: CancelToken,
    pub(crate) stop_after_page: Arc<AtomicBool>,
    pub(crate) answers: Receiver<(QuestionId, StatusAnswer)>,
    /// Where unfiltered pages go (None: no preview cache).
    pub(crate) cache: Option<Arc<Mutex<PreviewCache>>>,
    /// Where the page being scanned is assembled (for tiles).
    pub(crate) building: BuildingPages,
}

fn open_error(error: impl std::fmt::Display, code: StatusCode) -> TransferError {
    TransferError {
        code,
        page: None,
        pages_completed: 0,
        message: error.to_string(),
    }
}

impl Worker {
    /// Runs `work` on `driver` (opening the device when the coordinator
    /// has none open) and gives the device back for the next job.
    pub(crate) fn run(
        self,
        work: Work,
        driver: Option<Box<dyn Driver>>,
    ) -> Option<Box<dyn Driver>> {
        self.sink.send(Event::JobStarted {
            job: self.job,
            device: self.device.clone(),
        });
        let mut driver = match driver {
            Some(driver) => driver,
            None => match self.config.registry.open(&self.device) {
                Ok(driver) => driver,
                Err(e) => {
                    let code = match &e {
                        device::DeviceOpenError::Id(_) => StatusCode::INVALID_COMMAND,
                        device::DeviceOpenError::Driver(d) => d.code(),
                    };
                    self.finish(Err(open_error(
                        format!("cannot open device {}: {e}", self.device),
                        code,
                    )));
                    return None;
                }
            },
        };
        let result = self.work(work, driver.as_mut());
        self.finish(result);
        Some(driver)
    }

    fn work(&self, work: Work, driver: &mut dyn Driver) -> Result<JobSummary, TransferError> {
        match work {
            Work::Scan {
                settings,
                output,
                interactive,
                regions,
            } => self.scan(driver, &settings, output, interactive, regions),
            Work::DetectRegions { key } => self.detect_regions(driver, key),
            Work::Upload { files, folder } => self.upload(driver, &files, &folder),
            Work::Download {
                item,
                path,
                overwrite,
            } => self.download(driver, &item, OutputTarget::Document { path, overwrite }),
            Work::ListItems => {
                // Both are fetched from the device and either can fail: a
                // failure is an error, never an empty device.
                let fetched = driver.items().and_then(|items| {
                    driver
                        .capabilities()
                        .map(|capabilities| (items, capabilities))
                });
                let (items, capabilities) = match fetched {
                    Ok(found) => found,
                    Err(e) => {
                        let message = format!("cannot list {}: {e}", self.device);
                        self.sink.send(Event::Items {
                            job: self.job,
                            result: Err(message.clone()),
                            capabilities: None,
                        });
                        return Err(open_error(message, e.code()));
                    }
                };
                self.sink.send(Event::Items {
                    job: self.job,
                    result: Ok(items),
                    capabilities: Some(capabilities),
                });
                Ok(JobSummary {
                    outcome: Outcome::Completed,
                    totals: Totals::default(),
                    files: Vec::new(),
                })
            }
        }
    }

    fn finish(&self, result: Result<JobSummary, TransferError>) {
        self.sink.send(Event::JobFinished {
            job: self.job,
            result,
        });
    }

    /// Adds what a download read from the device to its statistics.
    fn count_io(&self, transfer: &Transfer<'_>) {
        let io = transfer.device_io();
        self.stats.update(&self.device, |s| {
            s.acquisitions += u64::from(io.acquisitions);
            s.bytes_read += io.bytes_read;
        });
    }

    /// Reports a broken message order (always) and the trace (when
    /// traces are kept) of `transfer`'s last download or upload.
    fn send_trace(&self, transfer: &Transfer<'_>) {
        if let Some(violation) = transfer.violation() {
            self.sink.send(Event::ContractBroken {
                job: self.job,
                rule: violation.to_string(),
            });
        }
        if self.config.keep_traces {
            self.sink.send(Event::Trace {
                job: self.job,
                trace: Box::new(transfer.trace().clone()),
            });
        }
    }

    /// Progress of this job, `total` pages asked for (None: all).
    fn progress(&self, total: Option<u32>) -> Arc<Mutex<ProgressState>> {
        Arc::new(Mutex::new(ProgressState::new(
            self.config.clock.clone(),
            self.config.progress_interval,
            total,
        )))
    }

    /// The job's transfer callback writing into `output`.
    fn callback(&self, output: OutputTarget, progress: Arc<Mutex<ProgressState>>) -> JobCallback {
        JobCallback {
            job: self.job,
            sink: self.sink.clone(),
            output,
            stop_after_page: self.stop_after_page.clone(),
            current: None,
            files: Vec::new(),
            progress,
        }
    }

    fn options(&self) -> TransferOptions {
        TransferOptions {
            clock: self.config.clock.clone(),
            cancel: self.cancel.clone(),
            no_data_timeout: self.config.no_data_timeout,
        }
    }

    /// Scans with a low-resolution flatbed preview, finds the photos on
    /// it and makes them region items of the flatbed; returns how many.
    fn find_regions(
        &self,
        driver: &mut dyn Driver,
        settings: &ScanSettings,
    ) -> Result<usize, TransferError> {
        let preview = ScanSettings {
            source: crate::transfer::Source::Flatbed,
            dpi: REGION_PREVIEW_DPI,
            mode: crate::transfer::ColorMode::Color,
            multipage: false,
            filter: crate::filter::FilterSettings::default(),
            format: crate::output::FileFormat::Pnm,
            ..settings.clone()
        };
        let grab = Arc::new(PageGrab::default());
        let mut sink = DiscardCallback;
        let mut transfer = Transfer::new(&mut *driver, self.options()).with_observer(grab.clone());
        let outcome = transfer.download(FLATBED, 0, &preview, &mut sink);
        self.count_io(&transfer);
        // The preview is a transfer like any other: its trace goes out too.
        self.send_trace(&transfer);
        let outcome = outcome?;
        if outcome == Outcome::Cancelled {
            return Ok(0);
        }
        let Some(page) = lock(&grab.page).take() else {
            return Ok(0);
        };
        let mm = 25.4 / f64::from(REGION_PREVIEW_DPI);
        let areas: Vec<ItemArea> = detect_regions(&page)
            .into_iter()
            .map(|r| ItemArea {
                x_mm: r.x * mm,
                y_mm: r.y * mm,
                width_mm: r.width * mm,
                height_mm: r.height * mm,
                angle_deg: r.angle_deg,
            })
            .collect();
        let items = transfer.create_region_items(FLATBED, &areas)?;
        Ok(items.len())
    }

    /// Finds the photos on the cached preview `key` and makes each a
    /// region item of the flatbed; the image comes from the cache, only
    /// the items touch the device.
    fn detect_regions(
        &self,
        driver: &mut dyn Driver,
        key: PageKey,
    ) -> Result<JobSummary, TransferError> {
        let cached = match &self.cache {
            Some(cache) => lock(cache)
                .get(key)
                .map_err(|e| format!("cannot read the cached page: {e}"))
                .and_then(|found| found.ok_or_else(|| format!("page {} is not cached", key.page))),
            None => Err(String::from("this engine keeps no preview cache")),
        };
        let page = match cached {
            Ok((page, _side)) => page,
            Err(message) => {
                self.sink.send(Event::Regions {
                    job: self.job,
                    key,
                    result: Err(message.clone()),
                });
                return Err(open_error(message, StatusCode::INVALID_COMMAND));
            }
        };
        let found = super::studio::regions_mm(&page);
        let areas: Vec<ItemArea> = found
            .iter()
            .map(|r| ItemArea {
                x_mm: r.center_x_mm,
                y_mm: r.center_y_mm,
                width_mm: r.width_mm,
                height_mm: r.height_mm,
                angle_deg: r.angle_deg,
            })
            .collect();
        let made = Transfer::new(driver, self.options()).create_region_items(FLATBED, &areas);
        let result = match &made {
            Ok(items) => Ok(found.into_iter().zip(items.iter().cloned()).collect()),
            Err(e) => Err(e.message.clone()),
        };
        self.sink.send(Event::Regions {
            job: self.job,
            key,
            result,
        });
        made.map(|_| JobSummary {
            outcome: Outcome::Completed,
            totals: Totals::default(),
            files: Vec::new(),
        })
    }

    fn scan(
        &self,
        driver: &mut dyn Driver,
        settings: &ScanSettings,
        output: OutputTarget,
        interactive: bool,
        regions: Option<Regions>,
    ) -> Result<JobSummary, TransferError> {
        let mut settings = settings.clone();
        let mut flags = 0;
        if let Some(regions) = regions {
            let found = match regions {
                Regions::Find => self.find_regions(driver, &settings)?,
                Regions::Detected => {
                    let made = detected_regions(driver)?;
                    if made == 0 {
                        return Err(open_error(
                            "no photos were found on the preview: detect them on a cached preview of the flatbed first",
                            StatusCode::INVALID_COMMAND,
                        ));
                    }
                    made
                }
            };
            if found == 0 || self.cancel.is_cancelled() {
                let outcome = if self.cancel.is_cancelled() {
                    Outcome::Cancelled
                } else {
                    Outcome::Completed
                };
                return Ok(JobSummary {
                    outcome,
                    totals: Totals::default(),
                    files: Vec::new(),
                });
            }
            settings.source = crate::transfer::Source::Flatbed;
            flags = ACQUIRE_CHILDREN;
        }
        settings.multipage = matches!(output, OutputTarget::Document { .. });
        if matches!(output, OutputTarget::Preview) {
            // Only the observed rows matter: the cheapest encoder, and
            // nothing that needs the whole page.
            settings.format = crate::output::FileFormat::Pnm;
            settings.filter = settings.filter.point_only();
        }
        let document = match &output {
            OutputTarget::Document { path, .. } => Some(path.clone()),
            OutputTarget::Files { .. } | OutputTarget::Preview => None,
        };
        let progress = self.progress((settings.pages > 0).then_some(settings.pages));
        let observer = Arc::new(JobObserver {
            job: self.job,
            sink: self.sink.clone(),
            max_width: self.config.preview_width,
            document,
            state: Mutex::new(None),
            cache: self.cache.clone(),
            building: self.building.clone(),
        });
        let mut handler = EngineHandler {
            job: self.job,
            sink: self.sink.clone(),
            interactive,
            answers: self.answers.clone(),
            next_question: 1,
            progress: progress.clone(),
        };
        let mut callback = self.callback(output, progress);
        let item = settings.source.item_name();
        let mut transfer = Transfer::new(driver, self.options())
            .with_status_handler(&mut handler)
            .with_observer(observer);
        // A job may run for thousands of pages: keep no trace, which would
        // grow with every band (ARCHITECTURE.md, "Memory"), unless asked.
        if !self.config.keep_traces {
            transfer = transfer.without_trace();
        }
        let result = transfer.download(item, flags, &settings, &mut callback);
        self.count_io(&transfer);
        self.send_trace(&transfer);
        let totals = transfer.totals();
        result.map(|outcome| JobSummary {
            outcome,
            totals,
            files: callback.files,
        })
    }

    fn download(
        &self,
        driver: &mut dyn Driver,
        item: &str,
        output: OutputTarget,
    ) -> Result<JobSummary, TransferError> {
        let progress = self.progress(Some(1));
        let mut callback = self.callback(output, progress);
        let mut transfer = Transfer::new(driver, self.options());
        let result = transfer.download(item, 0, &ScanSettings::default(), &mut callback);
        self.count_io(&transfer);
        self.send_trace(&transfer);
        let totals = transfer.totals();
        result.map(|outcome| JobSummary {
            outcome,
            totals,
            files: callback.files,
        })
    }

    fn upload(
        &self,
        driver: &mut dyn Driver,
        files: &[PathBuf],
        folder: &str,
    ) -> Result<JobSummary, TransferError> {
        let mut totals = Totals::default();
        let mut cancelled = false;
        for file in files {
            if self.cancel.is_cancelled() {
                cancelled = true;
                break;
            }
            let result = self.upload_one(driver, file, folder);
            match &result {
                Ok(_) => totals.delivered += 1,
                Err(_) if self.cancel.is_cancelled() => {
                    cancelled = true;
                }
                Err(_) => totals.skipped += 1,
            }
            self.sink.send(Event::Uploaded {
                job: self.job,
                report: UploadReport {
                    file: file.clone(),
                    result,
                },
            });
            if cancelled {
                break;
            }
        }
        Ok(JobSummary {
            outcome: if cancelled {
                Outcome::Cancelled
            } else {
                Outcome::Completed
            },
            totals,
            files: Vec::new(),
        })
    }

    fn upload_one(
        &self,
        driver: &mut dyn Driver,
        file: &std::path::Path,
        folder: &str,
    ) -> Result<(Item, u64), String> {
        let mut source = std::fs::File::open(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let size = source.metadata().map(|m| m.len()).ok();
        if size.is_some_and(|s| s == 0) {
            return Err(format!("{} is empty", file.display()));
        }
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| format!("{} has no file name", file.display()))?;
        self.stats.update(&self.device, |s| s.uploads += 1);
        let mut transfer = Transfer::new(driver, self.options());
        let item = transfer
            .create_child_item(folder, &name)
            .map_err(|e| e.message)?;
        let job = self.job;
        let sink = self.sink.clone();
        let mut on_message = |message: &TransferMessage| {
            sink.send(Event::Transfer {
                job,
                message: message.clone(),
            });
            Flow::Continue
        };
        let stored = transfer.upload(&item.full_name, &mut source, size, &mut on_message);
        self.send_trace(&transfer);
        let stored = stored.map_err(|e| e.message)?;
        Ok((item, stored))
    }
}

/// Resolution of the quick preview that finds photos on the flatbed.
const REGION_PREVIEW_DPI: u32 = 75;

/// The flatbed item's name.
const FLATBED: &str = "Flatbed";

/// Keeps the unfiltered rows of the one page of a preview scan.
#[derive(Default)]
struct PageGrab {
    page: Mutex<Option<Page>>,
}

impl PageObserver for PageGrab {
    fn page_data(&self, _page: u32, _side: Side, header: &PageHeader) {
        *lock(&self.page) = Some(Page {
            header: PageHeader {
                height: Some(0),
                ..*header
            },
            data: Vec::new(),
        });
    }
    fn raw_band(&self, _page: u32, band: &Band) {
        if let Some(page) = lock(&self.page).as_mut() {
            page.data.extend_from_slice(&band.data);
            page.header.height = Some(page.height() + band.rows);
        }
    }
    fn filtered_band(&self, _band: &Band) {}
    fn page_end(&self, _page: u32, end: PageEnd) {
        if !matches!(end, PageEnd::Kept { .. }) {
            *lock(&self.page) = None;
        }
    }
}

/// The stream of a preview page: the encoder's bytes go nowhere (the
/// page reaches the live view and the preview cache through the observer).
struct PreviewDestination;

impl std::io::Write for PreviewDestination {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::io::Seek for PreviewDestination {
    fn seek(&mut self, _pos: std::io::SeekFrom) -> std::io::Result<u64> {
        Ok(0)
    }
}

impl crate::transfer::Destination for PreviewDestination {
    fn set_len(&mut self, _len: u64) -> std::io::Result<()> {
        Ok(())
    }
    fn complete(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn discard(&mut self) {}
    fn describe(&self) -> String {
        String::from("the preview")
    }
}

/// A callback for a preview that keeps nothing but the observed rows.
struct DiscardCallback;

impl TransferCallback for DiscardCallback {
    fn next_stream(&mut self, _request: &StreamRequest) -> StreamAnswer {
        StreamAnswer::Stream(Box::new(crate::transfer::MemoryDestination::default()))
    }
    fn message(&mut self, _message: &TransferMessage) -> Flow {
        Flow::Continue
    }
}

/// Keeps progress and throttles its events.
struct ProgressState {
    clock: SharedClock,
    interval: Duration,
    last_sent: Option<Duration>,
    first_page_at: Option<Duration>,
    completed: u32,
    current: Progress,
}

impl ProgressState {
    fn new(clock: SharedClock, interval: Duration, total: Option<u32>) -> ProgressState {
        ProgressState {
            clock,
            interval,
            last_sent: None,
            first_page_at: None,
            completed: 0,
            current: Progress {
                stage: Stage::Scanning,
                page: 0,
                pages_total: total,
                side: Side::Front,
                percent: 0,
                bytes: 0,
                pages_per_minute: 0.0,
            },
        }
    }

    /// Folds a message in; returns progress to send when it is due.
    fn message(&mut self, message: &TransferMessage) -> Option<Progress> {
        let now = self.clock.now();
        let mut force = false;
        match message.kind {
            MessageKind::Status => {
                if self.first_page_at.is_none() {
                    self.first_page_at = Some(now);
                }
                if message.page != self.current.page || self.current.stage != Stage::Scanning {
                    force = true;
                }
                self.current.stage = Stage::Scanning;
                self.current.page = message.page;
                self.current.side = message.side;
                self.current.percent = message.percent;
                self.current.bytes = message.bytes;
            }
            MessageKind::EndOfStream => {
                self.completed += 1;
                force = true;
            }
            MessageKind::NewPage => {
                self.completed = message.page.saturating_sub(1);
                force = true;
            }
            _ => return None,
        }
        if let Some(start) = self.first_page_at {
            let minutes = (now.saturating_sub(start)).as_secs_f64() / 60.0;
            if minutes > 0.0 {
                self.current.pages_per_minute = f64::from(self.completed) / minutes;
            }
        }
        self.due(now, force)
    }

    fn warming(&mut self, percent: Option<u8>) -> Option<Progress> {
        self.current.stage = Stage::WarmingUp(percent);
        let now = self.clock.now();
        self.due(now, true)
    }

    fn due(&mut self, now: Duration, force: bool) -> Option<Progress> {
        let due = force
            || self
                .last_sent
                .is_none_or(|last| now.saturating_sub(last) >= self.interval);
        if due {
            self.last_sent = Some(now);
            Some(self.current)
        } else {
            None
        }
    }
}

/// How many region items the device's flatbed holds (made from an
/// earlier preview).
fn detected_regions(driver: &dyn Driver) -> Result<usize, TransferError> {
    let root = driver
        .items()
        .map_err(|e| open_error(format!("cannot list the device's items: {e}"), e.code()))?;
    Ok(root.find(FLATBED).map_or(0, |flatbed| {
        flatbed
            .children
            .iter()
            .filter(|c| c.flags.contains(crate::transfer::ItemFlags::GENERATED))
            .count()
    }))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The engine's transfer callback: hands out file destinations, turns
/// messages into events, and implements "stop after this page".
struct JobCallback {
    job: JobId,
    sink: EventSink,
    output: OutputTarget,
    stop_after_page: Arc<AtomicBool>,
    current: Option<PathBuf>,
    files: Vec<PathBuf>,
    progress: Arc<Mutex<ProgressState>>,
}

impl TransferCallback for JobCallback {
    fn next_stream(&mut self, request: &StreamRequest) -> StreamAnswer {
        if self.stop_after_page.load(Ordering::SeqCst) {
            return StreamAnswer::Cancel;
        }
        let (path, overwrite) = match &self.output {
            OutputTarget::Files { pattern, overwrite } => {
                (pattern.path_for(request.page), *overwrite)
            }
            OutputTarget::Document { path, overwrite } => {
                // A document takes one stream; a second one means the format
                // holds one page only (PNG, JPEG...): never let page 2
                // replace page 1 in the same file.
                if self.current.is_some() {
                    return StreamAnswer::Fail(format!(
                        "{}: this format holds one page only; scan several pages into TIFF or PDF, or into one file per page",
                        path.display()
                    ));
                }
                (path.clone(), *overwrite)
            }
            OutputTarget::Preview => {
                self.current = None;
                return StreamAnswer::Stream(Box::new(PreviewDestination));
            }
        };
        match FileDestination::create(&path, overwrite) {
            Ok(dest) => {
                self.current = Some(path);
                StreamAnswer::Stream(Box::new(dest))
            }
            Err(e) => StreamAnswer::Fail(format!("{}: {e}", path.display())),
        }
    }

    fn message(&mut self, message: &TransferMessage) -> Flow {
        self.sink.send(Event::Transfer {
            job: self.job,
            message: message.clone(),
        });
        let due = lock(&self.progress).message(message);
        if let Some(progress) = due {
            self.sink.send(Event::Progress {
                job: self.job,
                progress,
            });
        }
        match message.kind {
            MessageKind::EndOfStream if matches!(self.output, OutputTarget::Preview) => {
                self.sink.send(Event::PageDone {
                    job: self.job,
                    page: message.page,
                    side: message.side,
                    path: None,
                });
                Flow::Continue
            }
            MessageKind::EndOfStream => {
                if let Some(path) = self.current.clone() {
                    self.files.push(path.clone());
                    if matches!(self.output, OutputTarget::Files { .. }) {
                        self.sink.send(Event::PageDone {
                            job: self.job,
                            page: message.page,
                            side: message.side,
                            path: Some(path),
                        });
                    }
                }
                Flow::Continue
            }
            MessageKind::NewPage if self.stop_after_page.load(Ordering::SeqCst) => Flow::Cancel,
            _ => Flow::Continue,
        }
    }
}

/// The application's handler in the status chain: reports every status,
/// and asks a person about errors when the job is interactive.
struct EngineHandler {
    job: JobId,
    sink: EventSink,
    interactive: bool,
    answers: Receiver<(QuestionId, StatusAnswer)>,
    next_question: QuestionId,
    progress: Arc<Mutex<ProgressState>>,
}

impl StatusHandler for EngineHandler {
    fn handle(&mut self, status: &DeviceStatus, cancel: &CancelToken) -> StatusAnswer {
        self.sink.send(Event::DeviceStatus {
            job: self.job,
            status: status.clone(),
        });
        if matches!(
            status.code,
            StatusCode::WARMING_UP | StatusCode::CALIBRATING
        ) {
            let due = lock(&self.progress).warming(status.percent);
            if let Some(progress) = due {
                self.sink.send(Event::Progress {
                    job: self.job,
                    progress,
                });
            }
        }
        if !status.code.is_error() || !self.interactive {
            return StatusAnswer::NotHandled;
        }
        let question = self.next_question;
        self.next_question += 1;
        self.sink.send(Event::Question {
            job: self.job,
            question,
            status: status.clone(),
        });
        let answer = loop {
            if cancel.is_cancelled() {
                break StatusAnswer::Cancel;
            }
            match self.answers.recv() {
                Ok((id, answer)) if id == question => break answer,
                // The cancel hook sends question 0.
                Ok((0, _)) => break StatusAnswer::Cancel,
                Ok(_) => continue,
                Err(_) => break StatusAnswer::Cancel,
            }
        };
        self.sink.send(Event::QuestionClosed {
            job: self.job,
            question,
        });
        answer
    }
}

/// The engine's page observer: preview rows and page lifecycle events.
struct JobObserver {
    job: JobId,
    sink: EventSink,
    max_width: u32,
    document: Option<PathBuf>,
    state: Mutex<Option<(u32, Side, Downscaler)>>,
    /// The preview cache, and (in `building`, under this job) the
    /// unfiltered page being assembled for it.
    cache: Option<Arc<Mutex<PreviewCache>>>,
    building: BuildingPages,
}

impl PageObserver for JobObserver {
    fn page_data(&self, page: u32, side: Side, header: &PageHeader) {
        if self.cache.is_some() {
            let rows = Page {
                header: PageHeader {
                    height: Some(0),
                    ..*header
                },
                data: Vec::with_capacity(header.row_bytes() * header.height.unwrap_or(0) as usize),
            };
            lock(&self.building).insert(self.job, BuildingPage { page, side, rows });
        }
        let downscaler = Downscaler::new(page, *header, self.max_width);
        let preview_size = downscaler.size();
        let preview_factor = downscaler.factor();
        *lock(&self.state) = Some((page, side, downscaler));
        self.sink.send(Event::PageStarted {
            job: self.job,
            page,
            side,
            header: *header,
            preview_size,
            preview_factor,
        });
    }

    fn raw_band(&self, _page: u32, band: &Band) {
        if let Some(building) = lock(&self.building).get_mut(&self.job) {
            let page = &mut building.rows;
            page.data.extend_from_slice(&band.data);
            let rows = page.height() + band.rows;
            page.header.height = Some(rows);
        }
    }

    fn filtered_band(&self, band: &Band) {
        let preview = lock(&self.state)
            .as_mut()
            .and_then(|(_, _, d)| d.push(band));
        if let Some(band) = preview {
            self.sink.send(Event::Preview {
                job: self.job,
                band,
            });
        }
    }

    fn page_end(&self, page: u32, end: PageEnd) {
        let state = lock(&self.state).take();
        match (&self.cache, end) {
            (Some(cache), PageEnd::Kept { .. }) => {
                // The page moves to the cache under the cache's lock, so a
                // tile asked for meanwhile finds it in one place or the
                // other.
                let mut cache = lock(cache);
                if let Some(built) = lock(&self.building).remove(&self.job) {
                    let key = PageKey {
                        job: self.job,
                        page,
                    };
                    cache.insert(key, built.side, built.rows);
                }
            }
            _ => {
                lock(&self.building).remove(&self.job);
            }
        }
        match end {
            PageEnd::Kept { blank } => {
                let side = state.as_ref().map(|s| s.1).unwrap_or_default();
                if let Some((_, _, mut downscaler)) = state
                    && let Some(band) = downscaler.flush()
                {
                    self.sink.send(Event::Preview {
                        job: self.job,
                        band,
                    });
                }
                if blank {
                    self.sink.send(Event::PageBlank {
                        job: self.job,
                        page,
                    });
                }
                if let Some(path) = &self.document {
                    self.sink.send(Event::PageDone {
                        job: self.job,
                        page,
                        side,
                        path: Some(path.clone()),
                    });
                }
            }
            PageEnd::Abandoned => self.sink.send(Event::PageAbandoned {
                job: self.job,
                page,
            }),
            PageEnd::Dropped => self.sink.send(Event::PageDropped {
                job: self.job,
                page,
            }),
        }
    }
}
