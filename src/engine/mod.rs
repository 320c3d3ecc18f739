//! The engine: runs jobs on worker threads for the GUI and the CLI alike.
//!
//! A coordinator thread owns the device queues; every running job has its
//! own worker thread (jobs on different devices run at the same time; work
//! for a busy device waits in that device's queue and says so with
//! [`Event::JobQueued`]). The front end sends [`Command`]s and drains
//! [`Event`]s over bounded crossbeam channels; after every event the engine
//! calls the waker the front end gave it (the GUI points it at
//! `request_repaint`). Nothing here knows about the GUI toolkit.
//!
//! Questions of the device-status chain that need a person (a paper jam)
//! go out as [`Event::Question`] and come back as [`Command::Answer`]; the
//! job waits for the answer, cancellably, and the no-data timeout is
//! paused meanwhile.
//!
//! Devices are found here too: [`Command::Discover`] starts every back end
//! of the engine's [`Registry`] searching on its own thread, and each
//! device arrives as [`Event::DeviceFound`] as soon as its back end finds
//! it ([`Event::DiscoveryFinished`] once per back end), so a slow network
//! search never holds back the virtual scanner, and the front end never
//! waits.

mod job;
mod preview;
mod stats;
mod studio;
mod tiles;

pub use job::{OutputTarget, Progress, Stage};
pub use preview::PreviewBand;
pub use stats::{DeviceStats, EngineStats};
pub use studio::{ExportPage, FoundRegion, RenderedPreview};
pub use tiles::{MAX_TILE_SIDE, RenderedTile, TileError, TileSpec};

use crate::clock::{CancelToken, SharedClock, SystemClock};
use crate::device::{DiscoveryEvent, Registry};
use crate::filter::{FilterSettings, PageKey, PreviewCache};
use crate::output::FileFormat;
use crate::raster::PageHeader;
use crate::transfer::Driver;
use crate::transfer::{
    Capabilities, DeviceInfo, DeviceStatus, Item, Outcome, ScanSettings, Side, StatusAnswer,
    Totals, Trace, TransferError, TransferMessage,
};
use crossbeam_channel::{Receiver, Sender, bounded};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Identifies a job (chosen by the front end, unique per engine).
pub type JobId = u64;

/// Identifies a question to a person.
pub type QuestionId = u64;

/// A callback that wakes the front end (e.g. `ctx.request_repaint()`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Engine settings.
#[derive(Clone)]
pub struct EngineConfig {
    /// Time source for jobs, pacing and progress throttling.
    pub clock: SharedClock,
    /// How long a device may send nothing while a job waits on it.
    pub no_data_timeout: Duration,
    /// Smallest interval between two progress events of a job.
    pub progress_interval: Duration,
    /// Widest preview band sent to the front end (pages are downscaled by
    /// a whole factor to fit).
    pub preview_width: u32,
    /// Capacity of the event channel.
    pub event_capacity: usize,
    /// Keep each download's message trace and send it as [`Event::Trace`]
    /// before the job finishes (tests run the shared checker over it). Off
    /// by default: a trace grows with every band of a long job.
    pub keep_traces: bool,
    /// Pages the preview cache keeps (unfiltered, for re-filtering without
    /// rescanning; the two newest in memory, the rest in temp files).
    /// 0 turns the cache off (the CLI needs none).
    pub cache_pages: usize,
    /// The device back ends jobs open devices with and discovery asks
    /// ([`Registry::builtin`]; tests add their own).
    pub registry: Registry,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            clock: SystemClock::shared(),
            no_data_timeout: Duration::from_secs(30),
            progress_interval: Duration::from_millis(100),
            preview_width: 1024,
            event_capacity: 4096,
            keep_traces: false,
            cache_pages: 100,
            registry: Registry::builtin(),
        }
    }
}

/// What the front end asks of the engine.
#[derive(Debug, Clone)]
pub enum Command {
    /// Scan with `settings` from `device` into `output`.
    Scan {
        /// The job's id.
        job: JobId,
        /// Device id (`sim:...`).
        device: String,
        /// Scan settings.
        settings: ScanSettings,
        /// Where pages go.
        output: OutputTarget,
        /// True when a person can answer device questions (GUI); false for
        /// the non-interactive policy (CLI): errors are not handled.
        interactive: bool,
    },
    /// Finds the photos lying on the flatbed (a quick low-resolution
    /// preview and segmentation), makes each a region item, and scans them
    /// in one pass: one straightened image per photo into `output`.
    ScanRegions {
        /// The job's id.
        job: JobId,
        /// Device id.
        device: String,
        /// Scan settings (the source is the flatbed).
        settings: ScanSettings,
        /// Where the photos go.
        output: OutputTarget,
        /// True when a person can answer device questions.
        interactive: bool,
    },
    /// Uploads files into a storage folder of a device.
    Upload {
        /// The job's id.
        job: JobId,
        /// Device id.
        device: String,
        /// Files to upload, each into a new child item.
        files: Vec<PathBuf>,
        /// Storage folder (item path), e.g. `Storage`.
        folder: String,
    },
    /// Downloads one stored file of a device.
    Download {
        /// The job's id.
        job: JobId,
        /// Device id.
        device: String,
        /// Item path, e.g. `Storage/report.pdf`.
        item: String,
        /// Where to save it.
        path: PathBuf,
        /// Replace an existing file.
        overwrite: bool,
    },
    /// Lists a device's items.
    ListItems {
        /// The job's id (answers come back with it).
        job: JobId,
        /// Device id.
        device: String,
    },
    /// Cancels a running or queued job.
    Cancel {
        /// The job.
        job: JobId,
    },
    /// Lets a feeder job finish the current page, then stop.
    StopAfterPage {
        /// The job.
        job: JobId,
    },
    /// Re-renders a cached page with `settings`, downscaled to fit the
    /// box, with no device I/O. Answered by [`Event::PreviewRendered`];
    /// for one page the latest request wins.
    RenderPreview {
        /// Echoed in the answer.
        request: u64,
        /// The cached page.
        key: PageKey,
        /// Filter settings to apply.
        settings: FilterSettings,
        /// Largest width of the rendering.
        max_width: u32,
        /// Largest height of the rendering.
        max_height: u32,
    },
    /// Writes cached pages again, filtered with `settings` and turned by
    /// their own rotation (after page-strip edits). Ends with
    /// [`Event::JobFinished`] for `job`.
    Export {
        /// The export's job id.
        job: JobId,
        /// Pages in the order to write them.
        pages: Vec<ExportPage>,
        /// Filter settings.
        settings: FilterSettings,
        /// File format.
        format: FileFormat,
        /// JPEG quality.
        quality: u8,
        /// Where to write.
        output: OutputTarget,
    },
    /// Cuts a full-resolution tile (a rectangle in page pixels, shrunk by
    /// a whole factor) of the page being scanned or of a cached page,
    /// filtered with `settings`, with no device I/O. Answered by
    /// [`Event::TileRendered`].
    RenderTile {
        /// Echoed in the answer.
        request: u64,
        /// The page.
        key: PageKey,
        /// The rectangle and factor.
        tile: TileSpec,
        /// Filter settings to apply.
        settings: FilterSettings,
    },
    /// Finds photos lying on a cached flatbed page. Answered by
    /// [`Event::Regions`].
    DetectRegions {
        /// Echoed in the answer.
        request: u64,
        /// The cached flatbed page.
        key: PageKey,
    },
    /// Drops a cached page, or every cached page (`None`).
    ForgetPages {
        /// The page, or all.
        key: Option<PageKey>,
    },
    /// Looks for devices: every back end of the registry searches at
    /// once (a search still running is abandoned). Answered by
    /// [`Event::DiscoveryStarted`], then [`Event::DeviceFound`] for each
    /// device and [`Event::DiscoveryFinished`] for each back end.
    Discover,
    /// A person's answer to a question.
    Answer {
        /// The job.
        job: JobId,
        /// The question.
        question: QuestionId,
        /// Handled (retry), Cancel (stop), NotHandled (fail).
        answer: StatusAnswer,
    },
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    /// The outcome.
    pub outcome: Outcome,
    /// Page counts.
    pub totals: Totals,
    /// Files written (per-page files, or the one document).
    pub files: Vec<PathBuf>,
}

/// One file of an upload, and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadReport {
    /// The local file.
    pub file: PathBuf,
    /// The item created on the device, or why it failed.
    pub result: Result<(Item, u64), String>,
}

/// What the engine tells the front end.
#[derive(Debug, Clone)]
pub enum Event {
    /// The job waits behind `ahead` other jobs of the same device.
    JobQueued {
        /// The job.
        job: JobId,
        /// The device it waits for.
        device: String,
        /// Jobs ahead of it.
        ahead: usize,
    },
    /// The job started on its device.
    JobStarted {
        /// The job.
        job: JobId,
        /// The device.
        device: String,
    },
    /// A transfer message, exactly as the callback received it.
    Transfer {
        /// The job.
        job: JobId,
        /// The message.
        message: TransferMessage,
    },
    /// A device status went through the handler chain.
    DeviceStatus {
        /// The job.
        job: JobId,
        /// The status.
        status: DeviceStatus,
    },
    /// A person must decide (Retry / Stop) about a device condition.
    Question {
        /// The job.
        job: JobId,
        /// Answer with this id.
        question: QuestionId,
        /// The condition.
        status: DeviceStatus,
    },
    /// A question is no longer open (answered or the job ended).
    QuestionClosed {
        /// The job.
        job: JobId,
        /// The question.
        question: QuestionId,
    },
    /// Throttled progress of a job.
    Progress {
        /// The job.
        job: JobId,
        /// Where the job is.
        progress: Progress,
    },
    /// A page's rows start (again after a retry): the preview restarts.
    PageStarted {
        /// The job.
        job: JobId,
        /// Page number (delivered numbering).
        page: u32,
        /// Side.
        side: Side,
        /// The full-resolution page header.
        header: PageHeader,
        /// The preview's size: width and (when known) height.
        preview_size: (u32, Option<u32>),
        /// Page pixels per preview pixel (the whole factor the preview
        /// rows are shrunk by).
        preview_factor: u32,
    },
    /// Downscaled rows of the page in progress, after the point filters.
    Preview {
        /// The job.
        job: JobId,
        /// The rows.
        band: PreviewBand,
    },
    /// A page is complete and saved.
    PageDone {
        /// The job.
        job: JobId,
        /// Page number.
        page: u32,
        /// Side.
        side: Side,
        /// The file it is in.
        path: Option<PathBuf>,
    },
    /// The page in progress was abandoned (cancel, fault).
    PageAbandoned {
        /// The job.
        job: JobId,
        /// Page number.
        page: u32,
    },
    /// Blank-page detection flagged a delivered page as blank.
    PageBlank {
        /// The job.
        job: JobId,
        /// Page number.
        page: u32,
    },
    /// The filter found a page blank and dropped it (the settings say
    /// drop): it was not saved and uses no page number.
    PageDropped {
        /// The job.
        job: JobId,
        /// The number the page had while it flowed.
        page: u32,
    },
    /// One file of an upload finished (or failed).
    Uploaded {
        /// The job.
        job: JobId,
        /// The report.
        report: UploadReport,
    },
    /// A device's item tree.
    Items {
        /// The job that asked.
        job: JobId,
        /// The tree, or why it could not be read.
        result: Result<Item, String>,
        /// What the device can do (to fill a front end's settings), when
        /// the device could be opened.
        capabilities: Option<Capabilities>,
    },
    /// A cached page re-rendered with new filter settings.
    PreviewRendered {
        /// The request this answers.
        request: u64,
        /// The page.
        key: PageKey,
        /// The rendering, or why there is none.
        result: Result<RenderedPreview, String>,
    },
    /// A tile of a page, as [`Command::RenderTile`] asked.
    TileRendered {
        /// The request this answers.
        request: u64,
        /// The page.
        key: PageKey,
        /// The tile, or why there is none.
        result: Result<RenderedTile, String>,
    },
    /// Photos found on a cached flatbed page.
    Regions {
        /// The request this answers.
        request: u64,
        /// The page.
        key: PageKey,
        /// The photos, or why none could be looked for.
        result: Result<Vec<FoundRegion>, String>,
    },
    /// The message trace of a download (only with
    /// [`EngineConfig::keep_traces`]), right before [`Event::JobFinished`].
    Trace {
        /// The job.
        job: JobId,
        /// Everything the transfer layer recorded.
        trace: Box<Trace>,
    },
    /// A device search began (see [`Command::Discover`]); events of
    /// earlier rounds may still arrive and name their own round.
    DiscoveryStarted {
        /// Counts searches, from 1.
        round: u64,
        /// The back ends searching, in the registry's order.
        backends: Vec<String>,
    },
    /// A back end found a device.
    DeviceFound {
        /// The search.
        round: u64,
        /// The back end's prefix.
        backend: String,
        /// The device.
        device: DeviceInfo,
    },
    /// A back end's search is over.
    DiscoveryFinished {
        /// The search.
        round: u64,
        /// The back end's prefix.
        backend: String,
        /// Why the search failed, when it did.
        error: Option<String>,
    },
    /// The job ended; always the job's last event.
    JobFinished {
        /// The job.
        job: JobId,
        /// Completed, EndOfMedia, Cancelled, or the error.
        result: Result<JobSummary, TransferError>,
    },
}

impl Event {
    /// The job an event belongs to; 0 for events of no job (discovery).
    pub fn job(&self) -> JobId {
        match self {
            Event::JobQueued { job, .. }
            | Event::JobStarted { job, .. }
            | Event::Transfer { job, .. }
            | Event::DeviceStatus { job, .. }
            | Event::Question { job, .. }
            | Event::QuestionClosed { job, .. }
            | Event::Progress { job, .. }
            | Event::PageStarted { job, .. }
            | Event::Preview { job, .. }
            | Event::PageDone { job, .. }
            | Event::PageAbandoned { job, .. }
            | Event::PageBlank { job, .. }
            | Event::PageDropped { job, .. }
            | Event::Uploaded { job, .. }
            | Event::Items { job, .. }
            | Event::Trace { job, .. }
            | Event::JobFinished { job, .. } => *job,
            Event::PreviewRendered { key, .. }
            | Event::TileRendered { key, .. }
            | Event::Regions { key, .. } => key.job,
            Event::DiscoveryStarted { .. }
            | Event::DeviceFound { .. }
            | Event::DiscoveryFinished { .. } => 0,
        }
    }
}

/// Sends events and wakes the front end.
#[derive(Clone)]
pub(crate) struct EventSink {
    tx: Sender<Event>,
    waker: Waker,
}

impl EventSink {
    pub(crate) fn send(&self, event: Event) {
        // A front end that went away cannot be told anything more.
        let _gone = self.tx.send(event);
        (self.waker)();
    }
}

/// What the coordinator knows of a running job.
pub(crate) struct JobControl {
    pub(crate) cancel: CancelToken,
    pub(crate) stop_after_page: Arc<AtomicBool>,
    pub(crate) answers: Sender<(QuestionId, StatusAnswer)>,
}

enum Internal {
    Front(Command),
    Finished {
        device: String,
        job: JobId,
        driver: Option<Box<dyn Driver>>,
    },
    Shutdown,
}

struct Pending {
    job: JobId,
    work: Work,
}

#[derive(Debug, Clone)]
pub(crate) enum Work {
    Scan {
        settings: ScanSettings,
        output: OutputTarget,
        interactive: bool,
        regions: bool,
    },
    Upload {
        files: Vec<PathBuf>,
        folder: String,
    },
    Download {
        item: String,
        path: PathBuf,
        overwrite: bool,
    },
    ListItems,
}

/// The front end's handle on a running engine. Dropping it stops the
/// coordinator after cancelling running jobs.
pub struct Engine {
    commands: Sender<Internal>,
    events: Receiver<Event>,
    stats: EngineStats,
    cache: Arc<Mutex<PreviewCache>>,
    coordinator: Option<thread::JoinHandle<()>>,
}

impl Engine {
    /// Starts the engine; `waker` is called after every event.
    pub fn start(config: EngineConfig, waker: Waker) -> Engine {
        let (event_tx, event_rx) = bounded(config.event_capacity.max(16));
        let (command_tx, command_rx) = bounded::<Internal>(256);
        let stats = EngineStats::default();
        let sink = EventSink {
            tx: event_tx,
            waker,
        };
        let cache = Arc::new(Mutex::new(PreviewCache::new(2, config.cache_pages.max(1))));
        let (studio_tx, studio_rx) = crossbeam_channel::unbounded();
        let studio_cache = cache.clone();
        let studio_sink = sink.clone();
        let building = tiles::BuildingPages::default();
        let studio_building = building.clone();
        let studio = thread::Builder::new()
            .name(String::from("streamscan-studio"))
            .spawn(move || studio::run(studio_rx, studio_cache, studio_building, studio_sink))
            .ok();
        let coordinator = Coordinator {
            config,
            sink,
            stats: stats.clone(),
            commands: command_tx.clone(),
            busy: HashMap::new(),
            queues: HashMap::new(),
            running: Arc::new(Mutex::new(HashMap::new())),
            workers: Vec::new(),
            devices: HashMap::new(),
            cache: cache.clone(),
            building,
            studio: Some(studio_tx),
            studio_thread: studio,
            discovery: (0, CancelToken::new()),
        };
        let handle = thread::Builder::new()
            .name(String::from("streamscan-engine"))
            .spawn(move || coordinator.run(command_rx))
            .ok();
        Engine {
            commands: command_tx,
            events: event_rx,
            stats,
            cache,
            coordinator: handle,
        }
    }

    /// Sends a command (never blocks for long: the queue is drained by the
    /// coordinator at once). Returns false when the engine is gone.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(Internal::Front(command)).is_ok()
    }

    /// The event receiver (drain it with `try_recv` in a UI frame).
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// Per-device statistics (acquisitions, bytes read).
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Keys of the pages the preview cache holds, oldest first.
    pub fn cached_pages(&self) -> Vec<PageKey> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .keys()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _gone = self.commands.send(Internal::Shutdown);
        // Unblock workers that wait to send events.
        while self.events.try_recv().is_ok() {}
        if let Some(handle) = self.coordinator.take() {
            // Keep draining while the coordinator winds down.
            while !handle.is_finished() {
                while self.events.try_recv().is_ok() {}
                thread::sleep(Duration::from_millis(1));
            }
            let _joined = handle.join();
        }
    }
}

struct Coordinator {
    config: EngineConfig,
    sink: EventSink,
    stats: EngineStats,
    commands: Sender<Internal>,
    busy: HashMap<String, JobId>,
    queues: HashMap<String, VecDeque<Pending>>,
    running: Arc<Mutex<HashMap<JobId, JobControl>>>,
    workers: Vec<thread::JoinHandle<()>>,
    /// Devices kept open between jobs (a device is used by one job at a
    /// time: it is taken out while a job runs).
    devices: HashMap<String, Box<dyn Driver>>,
    cache: Arc<Mutex<PreviewCache>>,
    building: tiles::BuildingPages,
    studio: Option<Sender<studio::StudioWork>>,
    studio_thread: Option<thread::JoinHandle<()>>,
    /// The device search in progress: its round and how to stop it.
    discovery: (u64, CancelToken),
}

impl Coordinator {
    fn run(mut self, commands: Receiver<Internal>) {
        while let Ok(message) = commands.recv() {
            match message {
                Internal::Front(command) => self.command(command),
                Internal::Finished {
                    device,
                    job,
                    driver,
                } => {
                    if let Some(driver) = driver {
                        self.devices.insert(device.clone(), driver);
                    }
                    self.lock_running().remove(&job);
                    if self.busy.get(&device) == Some(&job) {
                        self.busy.remove(&device);
                    }
                    self.start_next(&device);
                }
                Internal::Shutdown => break,
            }
            self.workers.retain(|w| !w.is_finished());
        }
        self.discovery.1.cancel();
        for control in self.lock_running().values() {
            control.cancel.cancel();
        }
        for worker in self.workers.drain(..) {
            let _joined = worker.join();
        }
        self.studio = None;
        if let Some(studio) = self.studio_thread.take() {
            let _joined = studio.join();
        }
    }

    fn studio(&self, work: studio::StudioWork) {
        if let Some(studio) = &self.studio {
            let _gone = studio.send(work);
        }
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, JobControl>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Scan {
                job,
                device,
                settings,
                output,
                interactive,
            } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::Scan {
                        settings,
                        output,
                        interactive,
                        regions: false,
                    },
                },
            ),
            Command::ScanRegions {
                job,
                device,
                settings,
                output,
                interactive,
            } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::Scan {
                        settings,
                        output,
                        interactive,
                        regions: true,
                    },
                },
            ),
            Command::Upload {
                job,
                device,
                files,
                folder,
            } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::Upload { files, folder },
                },
            ),
            Command::Download {
                job,
                device,
                item,
                path,
                overwrite,
            } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::Download {
                        item,
                        path,
                        overwrite,
                    },
                },
            ),
            Command::ListItems { job, device } => self.enqueue(
                device,
                Pending {
                    job,
                    work: Work::ListItems,
                },
            ),
            Command::Cancel { job } => {
                if let Some(control) = self.lock_running().get(&job) {
                    control.cancel.cancel();
                    return;
                }
                for queue in self.queues.values_mut() {
                    if let Some(index) = queue.iter().position(|p| p.job == job) {
                        queue.remove(index);
                        self.sink.send(Event::JobFinished {
                            job,
                            result: Ok(JobSummary {
                                outcome: Outcome::Cancelled,
                                totals: Totals::default(),
                                files: Vec::new(),
                            }),
                        });
                        return;
                    }
                }
            }
            Command::StopAfterPage { job } => {
                if let Some(control) = self.lock_running().get(&job) {
                    control.stop_after_page.store(true, Ordering::SeqCst);
                }
            }
            Command::RenderPreview {
                request,
                key,
                settings,
                max_width,
                max_height,
            } => self.studio(studio::StudioWork::Preview {
                request,
                key,
                settings,
                max_width,
                max_height,
            }),
            Command::Export {
                job,
                pages,
                settings,
                format,
                quality,
                output,
            } => self.studio(studio::StudioWork::Export {
                job,
                pages,
                settings,
                format,
                quality,
                output,
            }),
            Command::RenderTile {
                request,
                key,
                tile,
                settings,
            } => self.studio(studio::StudioWork::Tile {
                request,
                key,
                spec: tile,
                settings,
            }),
            Command::DetectRegions { request, key } => {
                self.studio(studio::StudioWork::Regions { request, key })
            }
            Command::ForgetPages { key } => self.studio(studio::StudioWork::Forget { key }),
            Command::Discover => self.discover(),
            Command::Answer {
                job,
                question,
                answer,
            } => {
                if let Some(control) = self.lock_running().get(&job) {
                    let _late = control.answers.send((question, answer));
                }
            }
        }
    }

    /// Starts a device search, abandoning the one before.
    fn discover(&mut self) {
        self.discovery.1.cancel();
        let round = self.discovery.0 + 1;
        let cancel = CancelToken::new();
        self.discovery = (round, cancel.clone());
        self.sink.send(Event::DiscoveryStarted {
            round,
            backends: self.config.registry.prefixes(),
        });
        let sink = self.sink.clone();
        self.config.registry.discover(
            &cancel,
            Arc::new(move |event| {
                sink.send(match event {
                    DiscoveryEvent::Found { backend, device } => Event::DeviceFound {
                        round,
                        backend,
                        device,
                    },
                    DiscoveryEvent::Finished { backend, error } => Event::DiscoveryFinished {
                        round,
                        backend,
                        error,
                    },
                })
            }),
        );
    }

    fn enqueue(&mut self, device: String, pending: Pending) {
        let queue = self.queues.entry(device.clone()).or_default();
        queue.push_back(pending);
        if self.busy.contains_key(&device) {
            let ahead = queue.len();
            let job = queue.back().map(|p| p.job).unwrap_or_default();
            self.sink.send(Event::JobQueued { job, device, ahead });
        } else {
            self.start_next(&device);
        }
    }

    fn start_next(&mut self, device: &str) {
        let Some(pending) = self.queues.get_mut(device).and_then(VecDeque::pop_front) else {
            return;
        };
        let job = pending.job;
        let (answer_tx, answer_rx) = bounded(16);
        let control = JobControl {
            cancel: CancelToken::new(),
            stop_after_page: Arc::new(AtomicBool::new(false)),
            answers: answer_tx.clone(),
        };
        // A cancel wakes a job that waits for a person's answer.
        control.cancel.on_cancel(move || {
            let _late = answer_tx.try_send((0, StatusAnswer::Cancel));
        });
        let worker = job::Worker {
            job,
            device: device.to_string(),
            config: self.config.clone(),
            sink: self.sink.clone(),
            stats: self.stats.clone(),
            cancel: control.cancel.clone(),
            stop_after_page: control.stop_after_page.clone(),
            answers: answer_rx,
            cache: (self.config.cache_pages > 0).then(|| self.cache.clone()),
            building: self.building.clone(),
        };
        let driver = self.devices.remove(device);
        self.lock_running().insert(job, control);
        self.busy.insert(device.to_string(), job);
        let done = self.commands.clone();
        let device_name = device.to_string();
        let spawned = thread::Builder::new()
            .name(format!("streamscan-job-{job}"))
            .spawn(move || {
                let driver = worker.run(pending.work, driver);
                let _gone = done.send(Internal::Finished {
                    device: device_name,
                    job,
                    driver,
                });
            });
        match spawned {
            Ok(handle) => self.workers.push(handle),
            Err(e) => {
                self.lock_running().remove(&job);
                self.busy.remove(device);
                self.sink.send(Event::JobFinished {
                    job,
                    result: Err(TransferError {
                        code: crate::transfer::StatusCode::GENERAL_ERROR,
                        page: None,
                        pages_completed: 0,
                        message: format!("cannot start a worker thread: {e}"),
                    }),
                });
            }
        }
    }
}
