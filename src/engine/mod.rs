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

mod coordinator;
mod job;
mod messages;
mod preview;
mod stats;
mod studio;
mod tiles;

use coordinator::Coordinator;
pub use job::{OutputTarget, Progress, Stage};
pub use messages::{Command, Event, JobSummary, UploadReport};
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
        /// A scan of the flatbed's photos, one image each.
        regions: Option<Regions>,
    },
    /// Finds photos on a cached preview and makes them region items.
    DetectRegions {
        key: PageKey,
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

/// Where a scan of the flatbed's photos takes its region items from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Regions {
    /// A quick preview scan and segmentation first.
    Find,
    /// The ones a [`Command::DetectRegions`] made on a cached preview.
    Detected,
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
