//! The desktop app: an eframe [`App`](eframe::App) over the engine.
//!
//! [`StreamscanApp`] owns the [`Engine`], the persisted [`Preferences`] and
//! the runtime state of a session (devices, the running scan, the page
//! strip, open questions). Each frame it drains the engine's events with
//! `try_recv`, folds them into that state, and the widgets in
//! [`crate::ui`] draw from it and call back into the methods here. Nothing
//! in a frame blocks: device work runs in the engine, file dialogs on
//! helper threads ([`dialogs`]), and the engine's waker asks egui for a
//! repaint when something happens.
//!
//! The app is built from [`AppOptions`], so tests construct it with a
//! virtual clock, their own devices, a temporary data folder and scripted
//! dialogs.

pub mod devices;
pub mod dialogs;
pub mod fit;
pub mod live;
pub mod prefs;
pub mod session;
pub mod strip;
pub mod tiles;

pub use devices::{DeviceEntry, DeviceList, ListChange, Presence};
pub use dialogs::{DialogPurpose, DialogRunner, FileDialogs, NativeDialogs, ScriptedDialogs};
pub use fit::{Adjustment, Fitted, Setting, fit};
pub use live::LivePage;
pub use prefs::{Destination, Preferences, Profile, WindowState};
pub use session::{Leftover, SessionStore};
pub use strip::{PageState, PageStrip, StripPage};
pub use tiles::{DrawTile, TileKey, TileStore};

use crate::engine::{
    Command, Engine, EngineConfig, Event, JobId, JobSummary, OutputTarget, Progress, Stage, Waker,
};
use crate::filter::{FilterSettings, PageKey};
use crate::output::{FileFormat, OutputPattern};
use crate::transfer::{
    ColorMode, DeviceStatus, Item, MessageKind, Outcome, ScanArea, ScanSettings, Source,
    StatusAnswer, StatusCode, TransferError,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most events folded in one frame (the rest wait for the next frame, so
/// a fast device never makes a frame slow).
const EVENTS_PER_FRAME: usize = 4000;

/// Largest size of a re-rendered preview.
const RENDER_BOX: (u32, u32) = (1024, 1448);

/// Resolution of the quick flatbed preview (or the device's lowest above
/// it).
pub const FLATBED_PREVIEW_DPI: u32 = 75;

/// How the app is put together.
pub struct AppOptions {
    /// Engine configuration (tests pass a virtual clock).
    pub engine: EngineConfig,
    /// Folder for settings (and the session's state).
    pub data_dir: PathBuf,
    /// Select this device at start (else the one used last, else the first).
    pub device: Option<String>,
    /// File dialogs.
    pub dialogs: Arc<dyn FileDialogs>,
    /// Called after every engine event, on the engine's thread, besides
    /// the repaint request (tests use it to pace jobs).
    pub on_event: Option<Waker>,
}

impl AppOptions {
    /// Options for the desktop: real time, the user's data folder, native
    /// dialogs. `STREAMSCAN_DEVICE` may name a device id to select.
    pub fn desktop() -> AppOptions {
        let data_dir = dirs::data_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("streamscan");
        AppOptions {
            engine: EngineConfig {
                cache_pages: 500,
                ..EngineConfig::default()
            },
            data_dir,
            device: std::env::var("STREAMSCAN_DEVICE").ok(),
            dialogs: Arc::new(NativeDialogs),
            on_event: None,
        }
    }
}

/// The scan in progress.
#[derive(Debug, Clone)]
pub struct ScanJob {
    /// Its id.
    pub id: JobId,
    /// Device id.
    pub device: String,
    /// The settings it runs with.
    pub settings: ScanSettings,
    /// Where pages go, in words.
    pub destination: String,
    /// The folder pages go to.
    pub folder: PathBuf,
    /// True once the device took it.
    pub started: bool,
    /// Latest progress.
    pub progress: Option<Progress>,
    /// Pages completed.
    pub pages_done: u32,
    /// "Stop after this page" was asked.
    pub stop_requested: bool,
    /// Cancel was asked.
    pub cancel_requested: bool,
    /// For a scan into one document: the document and its format (pages
    /// go to `session_dir` first and the document is written at the end).
    pub document: Option<(PathBuf, FileFormat)>,
    /// The session folder the pages of a document scan go to.
    pub session_dir: Option<PathBuf>,
    /// A quick flatbed preview: nothing is written, the page goes to the
    /// preview area only.
    pub preview: bool,
    /// Pages of earlier scans the document continues ("Scan more"); they
    /// come first in the document.
    pub prior_pages: Vec<PageKey>,
    /// For a scan into a file per page: the set of files and the number
    /// before this job's first page (not 0 when "Scan more" continues a
    /// set: then pages go to `session_dir` first and take their numbers
    /// when the job ends).
    pub files: Option<(OutputPattern, u32)>,
}

/// A device condition a person must decide about.
#[derive(Debug, Clone)]
pub struct OpenQuestion {
    /// The job.
    pub job: JobId,
    /// The question's id.
    pub question: u64,
    /// The condition.
    pub status: DeviceStatus,
}

/// The device warms up or calibrates.
#[derive(Debug, Clone, Copy)]
pub struct Warming {
    /// The job that waits.
    pub job: JobId,
    /// WARMING_UP or CALIBRATING.
    pub code: StatusCode,
    /// Percent, when known.
    pub percent: Option<u8>,
}

/// A message at the end of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// What happened.
    pub text: String,
    /// Offer "Scan more" (the feeder ran out).
    pub scan_more: bool,
    /// True for failures.
    pub error: bool,
}

/// One file of an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadFile {
    /// The local file.
    pub file: PathBuf,
    /// Percent sent.
    pub percent: i32,
    /// Done (Ok) or why not.
    pub result: Option<Result<(), String>>,
}

/// An upload in progress (or the last one).
#[derive(Debug, Clone)]
pub struct UploadJob {
    /// Job id.
    pub id: JobId,
    /// Device id.
    pub device: String,
    /// Files.
    pub files: Vec<UploadFile>,
    /// True once the job finished.
    pub finished: bool,
}

/// A page re-rendered from the cache with the current filter.
pub struct RenderedView {
    /// The page.
    pub key: PageKey,
    /// The request it answered.
    pub request: u64,
    /// Average brightness of its pixels, 0..255.
    pub mean_luma: f32,
    /// Blank detection would flag it.
    pub blank: bool,
    /// Page pixels per texture pixel.
    pub scale: u32,
    /// The texture.
    pub texture: egui::TextureHandle,
}

impl RenderedView {
    /// Shows `preview` (the answer to `request` for `key`), reusing the
    /// texture of `old` when there is one.
    fn show(
        ctx: &egui::Context,
        old: Option<RenderedView>,
        name: &str,
        key: PageKey,
        request: u64,
        preview: &crate::engine::RenderedPreview,
    ) -> RenderedView {
        let image = egui::ColorImage::from_rgb(
            [preview.width as usize, preview.height as usize],
            &preview.rgb,
        );
        let sum: u64 = preview.rgb.iter().map(|&v| u64::from(v)).sum();
        let texture = match old {
            Some(mut old) => {
                old.texture.set(image, egui::TextureOptions::LINEAR);
                old.texture
            }
            None => ctx.load_texture(name, image, egui::TextureOptions::LINEAR),
        };
        RenderedView {
            key,
            request,
            mean_luma: sum as f32 / preview.rgb.len().max(1) as f32,
            blank: preview.blank,
            scale: preview.scale,
            texture,
        }
    }
}

/// The last flatbed preview: a quick low-resolution scan of the glass on
/// which the person drags the area to scan.
pub struct FlatbedPreview {
    /// The preview page in the engine's cache.
    pub key: PageKey,
    /// Size of the scanned glass, millimetres.
    pub size_mm: (f64, f64),
    /// The page as it streamed in.
    pub live: LivePage,
    /// The page re-rendered with the current filter, once it came.
    pub rendered: Option<RenderedView>,
}

/// A drag on the flatbed preview that edits the scan area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AreaDrag {
    /// A new area from this corner (millimetres).
    New {
        /// Where the drag began.
        anchor: (f64, f64),
    },
    /// The area moves with the pointer.
    Move {
        /// The area when the drag began.
        start: ScanArea,
        /// Where the drag began.
        from: (f64, f64),
    },
    /// One corner follows the pointer; the opposite one stays.
    Resize {
        /// The corner that stays.
        fixed: (f64, f64),
    },
}

/// Zoom and pan of the preview.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreviewView {
    /// Screen points per preview pixel; `None` fits the page in the view.
    pub zoom: Option<f32>,
    /// Offset of the page from centred, in points.
    pub pan: egui::Vec2,
}

impl Default for PreviewView {
    fn default() -> Self {
        PreviewView {
            zoom: None,
            pan: egui::Vec2::ZERO,
        }
    }
}

/// Jobs other than scans, by what they are for.
#[derive(Debug, Clone)]
enum OtherJob {
    List(String),
    Upload,
    Download(PathBuf),
    Export(String),
    SaveDocument { path: PathBuf, session_dir: PathBuf },
}

/// The Streamscan desktop app.
pub struct StreamscanApp {
    engine: Engine,
    waker: Waker,
    prefs_path: PathBuf,
    /// Persisted settings.
    pub(crate) prefs: Preferences,
    /// The device list.
    pub(crate) devices: DeviceList,
    /// Job traces the order checker saw (only with `keep_traces`).
    traces_checked: usize,
    /// What the order checker found wrong in them.
    trace_violations: Vec<String>,
    /// The scan in progress.
    pub(crate) scan: Option<ScanJob>,
    other_jobs: HashMap<JobId, OtherJob>,
    /// The page strip.
    pub(crate) strip: PageStrip,
    /// The page being (or last) scanned.
    pub(crate) live: Option<LivePage>,
    /// The selected page, re-rendered with the current filter.
    pub(crate) rendered: Option<RenderedView>,
    latest_render: u64,
    /// The last flatbed preview.
    pub(crate) flatbed: Option<FlatbedPreview>,
    latest_flatbed_render: u64,
    /// The preview area shows the flatbed preview (not a page).
    pub(crate) showing_flatbed: bool,
    /// A drag editing the scan area, while it lasts.
    pub(crate) area_drag: Option<AreaDrag>,
    /// Full-resolution tiles of the page on screen.
    pub(crate) tiles: TileStore,
    /// The open question (modal).
    pub(crate) question: Option<OpenQuestion>,
    /// Warm-up box.
    pub(crate) warming: Option<Warming>,
    /// End-of-job notice.
    pub(crate) notice: Option<Notice>,
    /// One line of status.
    pub(crate) status: String,
    /// Upload in progress or last.
    pub(crate) upload: Option<UploadJob>,
    /// Scan jobs that finished with pages, oldest first.
    pub(crate) finished_scans: Vec<JobId>,
    /// Name typed for a new profile.
    pub(crate) profile_name: String,
    /// Preview zoom and pan.
    pub(crate) view: PreviewView,
    /// The filter the preview was last rendered with.
    rendered_filter: FilterSettings,
    /// Largest rendering asked of the engine (within the GPU's limit).
    render_box: (u32, u32),
    /// Screen rectangles of device rows (drop targets), by index.
    pub(crate) device_rects: Vec<egui::Rect>,
    /// Screen rectangle of the selected device's storage folder (a drop
    /// target too).
    pub(crate) storage_rect: Option<egui::Rect>,
    dialogs: DialogRunner,
    session: SessionStore,
    prepared_tx: crossbeam_channel::Sender<Prepared>,
    prepared: crossbeam_channel::Receiver<Prepared>,
    /// Pages of an interrupted session, offered for recovery.
    pub(crate) leftovers: Vec<Leftover>,
    next_job: JobId,
    next_request: u64,
    /// Pending "Scan more" continuation: the settings of the last scan.
    last_settings: Option<ScanSettings>,
    /// The last document written at the end of a scan, and its pages.
    last_document: Option<(PathBuf, Vec<PageKey>)>,
    /// "Scan more" continues this document.
    continue_document: Option<(PathBuf, Vec<PageKey>)>,
    /// The last set of files scanned into, and its highest page number.
    last_files: Option<(OutputPattern, u32)>,
    /// "Scan more" continues this set of files.
    continue_files: Option<(OutputPattern, u32)>,
}

/// A scan that could not start because its destination is not usable.
fn prepare_error(message: String) -> TransferError {
    TransferError {
        code: StatusCode::DESTINATION,
        page: None,
        pages_completed: 0,
        message,
    }
}

/// What the folder-making thread hands back: the scan to send, or why not.
type Prepared = (JobId, Result<Command, String>);

fn job_stamp() -> String {
    chrono::Local::now().format("%Y%m%d-%H%M%S").to_string()
}

impl StreamscanApp {
    /// Builds the app inside eframe (or a test harness).
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> StreamscanApp {
        StreamscanApp::with_context(&cc.egui_ctx, options)
    }

    /// Builds the app for an egui context.
    pub fn with_context(ctx: &egui::Context, options: AppOptions) -> StreamscanApp {
        let repaint_ctx = ctx.clone();
        let hook = options.on_event.clone();
        let waker: Waker = Arc::new(move || {
            repaint_ctx.request_repaint();
            if let Some(hook) = &hook {
                hook();
            }
        });
        let engine = Engine::start(options.engine.clone(), waker.clone());
        let prefs_path = Preferences::path_in(&options.data_dir);
        let (prefs, problem) = Preferences::load(&prefs_path);
        let devices = DeviceList::start(
            &options.engine.registry,
            options.device.as_deref(),
            prefs.device.as_deref(),
        );
        let (prepared_tx, prepared) = crossbeam_channel::unbounded();
        let mut app = StreamscanApp {
            engine,
            waker,
            prefs_path,
            prefs,
            devices,
            traces_checked: 0,
            trace_violations: Vec::new(),
            scan: None,
            other_jobs: HashMap::new(),
            strip: PageStrip::default(),
            live: None,
            rendered: None,
            latest_render: 0,
            flatbed: None,
            latest_flatbed_render: 0,
            showing_flatbed: false,
            area_drag: None,
            tiles: TileStore::default(),
            question: None,
            warming: None,
            notice: problem.map(|text| Notice {
                text,
                scan_more: false,
                error: true,
            }),
            status: String::from("Ready"),
            upload: None,
            finished_scans: Vec::new(),
            profile_name: String::new(),
            view: PreviewView::default(),
            rendered_filter: FilterSettings::default(),
            render_box: RENDER_BOX,
            device_rects: Vec::new(),
            storage_rect: None,
            dialogs: DialogRunner::new(options.dialogs.clone()),
            session: SessionStore::new(&options.data_dir),
            prepared_tx,
            prepared,
            leftovers: Vec::new(),
            next_job: 1,
            next_request: 1,
            last_settings: None,
            last_document: None,
            continue_document: None,
            last_files: None,
            continue_files: None,
        };
        app.rendered_filter = app.prefs.scan.filter;
        app.leftovers = app
            .session
            .leftovers()
            .into_iter()
            .filter(|l| !l.pages.is_empty())
            .collect();
        if let Some(entry) = app.devices.selected()
            && entry.presence == Presence::Present
        {
            let id = entry.info.id.clone();
            app.list_items(&id);
        }
        app.engine.send(Command::Discover);
        app
    }

    /// The engine (tests look at its statistics and cache).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Persisted settings.
    pub fn preferences(&self) -> &Preferences {
        &self.prefs
    }

    /// Persisted settings, to change.
    pub fn preferences_mut(&mut self) -> &mut Preferences {
        &mut self.prefs
    }

    /// The page strip.
    pub fn strip(&self) -> &PageStrip {
        &self.strip
    }

    /// The page strip, to edit.
    pub fn strip_mut(&mut self) -> &mut PageStrip {
        &mut self.strip
    }

    /// The status line.
    pub fn status(&self) -> &str {
        &self.status
    }

    /// Replaces the status line.
    pub fn set_status(&mut self, text: &str) {
        self.status = text.to_string();
    }

    /// The notice at the end of the last job.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// Closes the notice.
    pub fn dismiss_notice(&mut self) {
        self.notice = None;
    }

    /// The scan in progress.
    pub fn scan_job(&self) -> Option<&ScanJob> {
        self.scan.as_ref()
    }

    /// The open question.
    pub fn question(&self) -> Option<&OpenQuestion> {
        self.question.as_ref()
    }

    /// The warm-up box's state.
    pub fn warming(&self) -> Option<Warming> {
        self.warming
    }

    /// The page being scanned (or the last one).
    pub fn live_page(&self) -> Option<&LivePage> {
        self.live.as_ref()
    }

    /// The page being scanned, to take its upload figures.
    pub fn live_page_mut(&mut self) -> Option<&mut LivePage> {
        self.live.as_mut()
    }

    /// The selected page re-rendered with the current filter.
    pub fn rendered(&self) -> Option<&RenderedView> {
        self.rendered.as_ref()
    }

    /// Zoom and pan of the preview.
    pub fn view(&self) -> PreviewView {
        self.view
    }

    /// The upload in progress or the last one.
    pub fn upload(&self) -> Option<&UploadJob> {
        self.upload.as_ref()
    }

    /// The device list.
    pub fn devices(&self) -> &[DeviceEntry] {
        self.devices.entries()
    }

    /// How many job traces the message-order checker saw, and what it
    /// found wrong (traces are kept only with
    /// [`EngineConfig::keep_traces`], as tests do).
    pub fn checked_traces(&self) -> (usize, &[String]) {
        (self.traces_checked, &self.trace_violations)
    }

    /// True while a back end is still looking for devices.
    pub fn searching_devices(&self) -> bool {
        self.devices.searching()
    }

    /// The selected device.
    pub fn selected_device(&self) -> Option<&DeviceEntry> {
        self.devices.selected()
    }

    /// Scan jobs that finished with pages, oldest first.
    pub fn finished_scans(&self) -> &[JobId] {
        &self.finished_scans
    }

    /// True while a dialog is open.
    pub fn dialog_open(&self) -> bool {
        self.dialogs.is_open()
    }

    fn job_id(&mut self) -> JobId {
        let id = self.next_job;
        self.next_job += 1;
        id
    }

    /// Selects device `index` and lists its items and capabilities (once
    /// it is there).
    pub fn select_device(&mut self, index: usize) {
        if !self.devices.select(index) {
            return;
        }
        let Some(entry) = self.devices.selected() else {
            return;
        };
        let id = entry.info.id.clone();
        let present = entry.presence == Presence::Present;
        self.prefs.device = Some(id.clone());
        if present {
            self.list_items(&id);
        }
    }

    fn list_items(&mut self, device: &str) {
        let job = self.job_id();
        self.other_jobs
            .insert(job, OtherJob::List(device.to_string()));
        self.engine.send(Command::ListItems {
            job,
            device: device.to_string(),
        });
    }

    /// Looks for devices again; the list keeps what it has meanwhile.
    pub fn refresh_devices(&mut self) {
        self.engine.send(Command::Discover);
    }

    /// Folds a discovery event into the device list.
    fn apply_discovery(&mut self, event: Event) {
        let change = match event {
            Event::DiscoveryStarted { round, backends } => {
                self.devices.started(round, backends);
                return;
            }
            Event::DeviceFound { round, device, .. } => self.devices.found(round, device),
            Event::DiscoveryFinished {
                round,
                backend,
                error,
            } => {
                self.devices.finished(round, &backend);
                if let Some(error) = error {
                    self.status = format!("Looking for {backend} devices failed: {error}");
                }
                return;
            }
            _ => return,
        };
        if let Some(id) = &change.selected {
            self.prefs.device = Some(id.clone());
        }
        for id in change.arrived {
            self.list_items(&id);
        }
    }

    /// True while a scan runs.
    pub fn is_scanning(&self) -> bool {
        self.scan.is_some()
    }

    /// Starts a scan with the current settings on the selected device.
    pub fn start_scan(&mut self) {
        if self.scan.is_some() {
            return;
        }
        let Some(entry) = self.selected_device() else {
            self.status = String::from("No device to scan with");
            return;
        };
        match entry.presence {
            Presence::Present => {}
            Presence::Searching => {
                self.status = format!("Still looking for {}…", entry.info.name);
                return;
            }
            Presence::NotFound => {
                self.status = format!(
                    "{} is not found: connect it and press Refresh, or choose another device",
                    entry.info.name
                );
                return;
            }
        }
        let device = entry.info.id.clone();
        // The saved preference stays; this scan uses what the source offers.
        let mut settings = self.fitted().settings;
        let destination = self.prefs.destination.clone();
        if destination.document && !settings.format.is_multipage() {
            settings.format = FileFormat::Pdf;
        }
        let stamp = job_stamp();
        let job = self.job_id();
        let stamp = format!("{stamp}-{job}");
        let mut document = None;
        let mut session_dir = None;
        let mut prior_pages = Vec::new();
        let continued = self.continue_document.take();
        let continued_files = self.continue_files.take();
        // The set of files pages go to, and the number before the first.
        let mut files: Option<(OutputPattern, u32)> = None;
        let (output, described) = if destination.document {
            // Pages go to the session folder first (lossless, one file
            // each); the document is written from them when the job ends.
            let path = match continued {
                Some((path, prior)) => {
                    prior_pages = prior;
                    path
                }
                None => destination.document_path(&stamp, settings.format),
            };
            let described = path.display().to_string();
            let dir = self.session.job_dir(&stamp);
            let pattern = OutputPattern::parse(&format!(
                "{}/page-{{n:04}}.png",
                dir.display()
                    .to_string()
                    .replace('{', "{{")
                    .replace('}', "}}")
            ));
            let pattern = match pattern {
                Ok(pattern) => pattern,
                Err(e) => {
                    self.notice = Some(Notice {
                        text: format!("Cannot use the session folder {}: {e}", dir.display()),
                        scan_more: false,
                        error: true,
                    });
                    return;
                }
            };
            document = Some((path, settings.format));
            session_dir = Some(dir);
            (
                OutputTarget::Files {
                    pattern,
                    overwrite: false,
                },
                described,
            )
        } else if let Some((pattern, offset)) = continued_files {
            // "Scan more" into the same set of files: the pages go to the
            // session folder, and take the next numbers of the set when
            // the job ends.
            let dir = self.session.job_dir(&stamp);
            let text = format!(
                "{}/page-{{n:04}}.{}",
                dir.display()
                    .to_string()
                    .replace('{', "{{")
                    .replace('}', "}}"),
                settings.format.extension()
            );
            match OutputPattern::parse(&text) {
                Ok(session_pattern) => {
                    let described = destination.folder.display().to_string();
                    files = Some((pattern, offset));
                    session_dir = Some(dir);
                    (
                        OutputTarget::Files {
                            pattern: session_pattern,
                            overwrite: false,
                        },
                        described,
                    )
                }
                Err(e) => {
                    self.notice = Some(Notice {
                        text: format!("Cannot use the session folder {}: {e}", dir.display()),
                        scan_more: false,
                        error: true,
                    });
                    return;
                }
            }
        } else {
            match destination.page_pattern(&stamp, settings.format) {
                Ok(pattern) => {
                    let described = destination.folder.display().to_string();
                    files = Some((pattern.clone(), 0));
                    (
                        OutputTarget::Files {
                            pattern,
                            overwrite: false,
                        },
                        described,
                    )
                }
                Err(e) => {
                    self.notice = Some(Notice {
                        text: format!("The file name pattern is not valid: {e}"),
                        scan_more: false,
                        error: true,
                    });
                    return;
                }
            }
        };
        let mut folders = vec![destination.folder.clone()];
        folders.extend(session_dir.clone());
        let expected = match settings.source {
            Source::Flatbed => 1,
            _ => settings.pages,
        };
        for page in 1..=expected.min(500) {
            self.strip.push(StripPage::new(
                PageKey { job, page },
                crate::transfer::Side::Front,
                PageState::Queued,
            ));
        }
        self.notice = None;
        self.status = format!("Waiting for {device}");
        self.last_settings = Some(settings.clone());
        self.scan = Some(ScanJob {
            id: job,
            device: device.clone(),
            settings: settings.clone(),
            destination: described,
            folder: destination.folder.clone(),
            started: false,
            progress: None,
            pages_done: 0,
            stop_requested: false,
            cancel_requested: false,
            document,
            session_dir,
            preview: false,
            prior_pages,
            files,
        });
        self.showing_flatbed = false;
        let mut scan_settings = settings;
        if self.scan.as_ref().is_some_and(|s| s.document.is_some()) {
            scan_settings.format = FileFormat::Png;
        }
        let command = Command::Scan {
            job,
            device,
            settings: scan_settings,
            output,
            interactive: true,
        };
        // The folders are made off the UI thread; the job goes to the
        // engine once they exist (see `poll`).
        let tx = self.prepared_tx.clone();
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name(String::from("streamscan-prepare"))
            .spawn(move || {
                let made = folders.iter().try_for_each(|folder| {
                    std::fs::create_dir_all(folder).map_err(|e| {
                        format!(
                            "cannot create the folder {}: {e}; choose another destination",
                            folder.display()
                        )
                    })
                });
                // The app may be gone; then nobody waits for the job.
                let _gone = tx.send((job, made.map(|()| command)));
                waker();
            });
        if let Err(e) = spawned {
            self.scan_finished(
                job,
                Err(prepare_error(format!("cannot start a thread: {e}"))),
            );
        }
    }

    /// Hands prepared scans to the engine (or ends them when their folders
    /// could not be made, or they were cancelled meanwhile).
    fn submit_prepared(&mut self) {
        while let Ok((job, prepared)) = self.prepared.try_recv() {
            let Some(scan) = self.scan.as_ref().filter(|s| s.id == job) else {
                continue;
            };
            match prepared {
                Ok(_) if scan.cancel_requested => self.scan_finished(
                    job,
                    Ok(JobSummary {
                        outcome: Outcome::Cancelled,
                        totals: crate::transfer::Totals::default(),
                        files: Vec::new(),
                    }),
                ),
                Ok(command) => {
                    self.engine.send(command);
                }
                Err(message) => self.scan_finished(job, Err(prepare_error(message))),
            }
        }
    }

    /// Cancels the scan in progress (completed pages are kept).
    pub fn cancel(&mut self) {
        if let Some(scan) = &mut self.scan {
            scan.cancel_requested = true;
            self.status = String::from("Cancelling…");
            self.engine.send(Command::Cancel { job: scan.id });
        } else if let Some(upload) = self.upload.as_ref().filter(|u| !u.finished) {
            self.engine.send(Command::Cancel { job: upload.id });
        }
    }

    /// Lets a feeder scan finish the current page, then stop.
    pub fn stop_after_page(&mut self) {
        if let Some(scan) = &mut self.scan {
            scan.stop_requested = true;
            self.engine.send(Command::StopAfterPage { job: scan.id });
        }
    }

    /// Answers the open question: `Handled` retries, `Cancel` stops.
    pub fn answer(&mut self, answer: StatusAnswer) {
        if let Some(q) = self.question.take() {
            self.engine.send(Command::Answer {
                job: q.job,
                question: q.question,
                answer,
            });
        }
    }

    /// Uploads `files` into the storage folder of device `index`.
    pub fn upload_files(&mut self, index: usize, files: Vec<PathBuf>) {
        let Some(entry) = self.devices.entries().get(index) else {
            return;
        };
        if files.is_empty() {
            return;
        }
        let folder = entry
            .storage_folder()
            .map(|i| i.name.clone())
            .unwrap_or_else(|| String::from("Storage"));
        let device = entry.info.id.clone();
        let job = self.job_id();
        self.other_jobs.insert(job, OtherJob::Upload);
        self.upload = Some(UploadJob {
            id: job,
            device: device.clone(),
            files: files
                .iter()
                .map(|f| UploadFile {
                    file: f.clone(),
                    percent: 0,
                    result: None,
                })
                .collect(),
            finished: false,
        });
        self.status = format!("Uploading {} file(s) to {device}", files.len());
        self.engine.send(Command::Upload {
            job,
            device,
            files,
            folder,
        });
    }

    /// Clears a finished upload's report.
    pub fn clear_upload(&mut self) {
        if self.upload.as_ref().is_some_and(|u| u.finished) {
            self.upload = None;
        }
    }

    /// Asks where to save stored file `item` of the selected device, then
    /// downloads it.
    pub fn download(&mut self, item: &Item) {
        let Some(device) = self.selected_device().map(|d| d.info.id.clone()) else {
            return;
        };
        let waker = self.waker.clone();
        self.dialogs.save_file(
            DialogPurpose::Download {
                device,
                item: item.full_name.clone(),
            },
            "Save the stored file",
            &item.name,
            move || waker(),
        );
    }

    /// Asks for a destination folder.
    pub fn choose_folder(&mut self) {
        let waker = self.waker.clone();
        self.dialogs.pick_folder(
            DialogPurpose::DestinationFolder,
            "Folder for scanned pages",
            move || waker(),
        );
    }

    /// Asks where to save the page strip, then exports it.
    pub fn save_as(&mut self) {
        if self.strip.export_pages().is_empty() {
            self.status = String::from("Nothing to save: scan some pages first");
            return;
        }
        let waker = self.waker.clone();
        self.dialogs.save_file(
            DialogPurpose::Export,
            "Save the pages",
            "scan.pdf",
            move || waker(),
        );
    }

    /// Exports the strip's complete pages (in strip order, with their
    /// rotations, filtered with the current filter settings) to `path`:
    /// PDF or TIFF as one document, other formats as a file per page
    /// (`name-1.png`, ...).
    pub fn export_to(&mut self, path: &Path) {
        let pages = self.strip.export_pages();
        if pages.is_empty() {
            return;
        }
        let format = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(FileFormat::from_name)
            .unwrap_or(FileFormat::Pdf);
        let output = if format.is_multipage() {
            OutputTarget::Document {
                path: path.to_path_buf(),
                overwrite: true,
            }
        } else {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| String::from("page"));
            let folder = path.parent().unwrap_or(Path::new("."));
            let text = format!(
                "{}/{}-{{n}}.{}",
                folder
                    .display()
                    .to_string()
                    .replace('{', "{{")
                    .replace('}', "}}"),
                stem.replace('{', "{{").replace('}', "}}"),
                format.extension()
            );
            match OutputPattern::parse(&text) {
                Ok(pattern) => OutputTarget::Files {
                    pattern,
                    overwrite: true,
                },
                Err(e) => {
                    self.status = format!("Cannot save there: {e}");
                    return;
                }
            }
        };
        let job = self.job_id();
        self.other_jobs
            .insert(job, OtherJob::Export(path.display().to_string()));
        self.status = format!("Saving {} page(s) to {}", pages.len(), path.display());
        self.engine.send(Command::Export {
            job,
            pages,
            settings: self.prefs.scan.filter,
            format,
            quality: self.prefs.scan.quality,
            output,
        });
    }

    /// Writes the document of a finished document scan from its pages.
    fn save_document(
        &mut self,
        job: JobId,
        scan: &ScanJob,
        path: PathBuf,
        format: FileFormat,
        session_dir: PathBuf,
    ) {
        let keys: Vec<PageKey> = self
            .strip
            .pages()
            .iter()
            .filter(|p| p.key.job == job && p.state.is_complete())
            .map(|p| p.key)
            .collect();
        if keys.is_empty() {
            let waker = self.waker.clone();
            self.session
                .remove(vec![session_dir], "No pages to save", move || waker());
            return;
        }
        // A continued document is written again with the earlier pages
        // first (they are still in the engine's page cache).
        let continues = !scan.prior_pages.is_empty();
        let all: Vec<PageKey> = scan.prior_pages.iter().copied().chain(keys).collect();
        let pages = all
            .iter()
            .map(|&key| crate::engine::ExportPage {
                key,
                rotation: crate::filter::Rotation::None,
            })
            .collect();
        self.last_document = Some((path.clone(), all));
        let export = self.job_id();
        self.other_jobs.insert(
            export,
            OtherJob::SaveDocument {
                path: path.clone(),
                session_dir,
            },
        );
        self.engine.send(Command::Export {
            job: export,
            pages,
            settings: scan.settings.filter,
            format,
            quality: scan.settings.quality,
            output: OutputTarget::Document {
                path,
                overwrite: continues,
            },
        });
    }

    /// Records the set of files a scan wrote, and moves the pages of a
    /// continued set from the session folder to their numbers in it.
    fn place_files(&mut self, job: JobId, scan: &ScanJob, pattern: &OutputPattern, offset: u32) {
        let numbers: Vec<u32> = self
            .strip
            .pages()
            .iter()
            .filter(|p| p.key.job == job && p.state.is_complete())
            .map(|p| p.key.page)
            .collect();
        let last = numbers.iter().copied().max().unwrap_or(0);
        if last > 0 || offset > 0 {
            self.last_files = Some((pattern.clone(), offset + last));
        }
        let Some(dir) = scan.session_dir.clone() else {
            return;
        };
        let ext = scan.settings.format.extension();
        let mut moves = Vec::new();
        for n in numbers {
            let target = pattern.path_for(offset + n);
            moves.push((dir.join(format!("page-{n:04}.{ext}")), target.clone()));
            if let Some(page) = self.strip.page_mut(PageKey { job, page: n }) {
                page.path = Some(target);
            }
        }
        let waker = self.waker.clone();
        self.session.place(moves, dir, move || waker());
    }

    /// Pages of an interrupted session, offered for recovery.
    pub fn leftovers(&self) -> &[Leftover] {
        &self.leftovers
    }

    /// Copies the interrupted session's pages into the destination folder.
    pub fn recover_leftovers(&mut self) {
        let leftovers = std::mem::take(&mut self.leftovers);
        let waker = self.waker.clone();
        self.status = String::from("Recovering pages…");
        self.session.recover(
            leftovers,
            self.prefs.destination.folder.clone(),
            move || waker(),
        );
    }

    /// Deletes the interrupted session's pages.
    pub fn discard_leftovers(&mut self) {
        let dirs = std::mem::take(&mut self.leftovers)
            .into_iter()
            .map(|l| l.dir)
            .collect();
        let waker = self.waker.clone();
        self.session
            .remove(dirs, "Discarded the pages of the last session", move || {
                waker()
            });
    }

    /// Scans again with the last scan's settings ("Scan more"); after a
    /// scan into one document, the new pages are added to that document.
    pub fn scan_more(&mut self) {
        if let Some(settings) = self.last_settings.clone() {
            self.prefs.scan.source = settings.source;
        }
        // A document scan goes on in the same document, a file-per-page
        // scan in the same set of files with the next page numbers.
        if self.prefs.destination.document {
            self.continue_document = self.last_document.clone();
        } else {
            self.continue_files = self.last_files.clone();
        }
        self.start_scan();
    }

    /// Interleaves the last two scans as fronts and (reversed) backs.
    pub fn interleave_last_two(&mut self) -> bool {
        let n = self.finished_scans.len();
        if n < 2 {
            self.status = String::from("Manual duplex needs two scans: the fronts, then the backs");
            return false;
        }
        let (fronts, backs) = (self.finished_scans[n - 2], self.finished_scans[n - 1]);
        let done = self.strip.interleave(fronts, backs);
        self.status = if done {
            String::from("Fronts and backs interleaved")
        } else {
            String::from("The two scans have different page counts")
        };
        done
    }

    /// Selects page `index` of the strip and shows it with the current
    /// filter.
    pub fn select_page(&mut self, index: usize) {
        self.strip.selected = Some(index);
        self.showing_flatbed = false;
        self.request_render();
    }

    /// The last flatbed preview.
    pub fn flatbed_preview(&self) -> Option<&FlatbedPreview> {
        self.flatbed.as_ref()
    }

    /// True when the preview area shows the flatbed preview.
    pub fn showing_flatbed(&self) -> bool {
        self.showing_flatbed && self.flatbed.is_some()
    }

    /// Shows the last flatbed preview again (after looking at a page).
    pub fn show_flatbed(&mut self) {
        if self.flatbed.is_some() {
            self.showing_flatbed = true;
            self.request_flatbed_render();
        }
    }

    /// The full-resolution tiles of the session.
    pub fn tiles(&self) -> &TileStore {
        &self.tiles
    }

    /// The tiles to draw at `places` (asking the engine for those that
    /// are missing); `rows_now`: page rows so far of a page being scanned.
    pub(crate) fn tiles_for(&mut self, places: &[TileKey], rows_now: Option<u32>) -> Vec<DrawTile> {
        let (draw, commands) = self.tiles.want(places, rows_now);
        for command in commands {
            self.engine.send(command);
        }
        draw
    }

    /// The scan area (flatbed), when one is set.
    pub fn scan_area(&self) -> Option<ScanArea> {
        self.prefs.scan.area
    }

    /// Sets the scan area (`None`: the whole page), cut to the glass of
    /// the selected device.
    pub fn set_scan_area(&mut self, area: Option<ScanArea>) {
        let glass = self
            .flatbed
            .as_ref()
            .map(|f| f.size_mm)
            .or_else(|| {
                self.selected_device()
                    .and_then(|d| d.capabilities.as_ref())
                    .and_then(|c| c.source(Source::Flatbed))
                    .map(|c| c.max_area_mm)
            })
            .unwrap_or((215.9, 355.6));
        self.prefs.scan.area = area.and_then(|a| a.clamped(glass));
    }

    /// Starts a quick low-resolution scan of the whole flatbed, shown in
    /// the preview area, on which the scan area can then be dragged.
    /// Nothing is written; the settings' filter shows on it.
    pub fn start_preview(&mut self) {
        if self.scan.is_some() {
            return;
        }
        let Some(device) = self.selected_device().map(|d| d.info.id.clone()) else {
            self.status = String::from("No device to preview with");
            return;
        };
        let caps = self.selected_device().and_then(|d| d.capabilities.clone());
        let flatbed = caps.as_ref().map(|c| c.source(Source::Flatbed));
        if matches!(flatbed, Some(None)) {
            self.status = String::from("This device has no flatbed to preview");
            return;
        }
        let dpi = flatbed
            .flatten()
            .and_then(|f| f.resolutions.nearest(FLATBED_PREVIEW_DPI))
            .unwrap_or(FLATBED_PREVIEW_DPI);
        let settings = ScanSettings {
            source: Source::Flatbed,
            dpi,
            mode: ColorMode::Color,
            area: None,
            pages: 1,
            multipage: false,
            ..self.prefs.scan.clone()
        };
        let job = self.job_id();
        if let Some(old) = self.flatbed.take() {
            self.engine
                .send(Command::ForgetPages { key: Some(old.key) });
        }
        self.notice = None;
        self.status = String::from("Previewing the flatbed");
        self.showing_flatbed = true;
        self.scan = Some(ScanJob {
            id: job,
            device: device.clone(),
            settings: settings.clone(),
            destination: String::from("the preview"),
            folder: PathBuf::new(),
            started: false,
            progress: None,
            pages_done: 0,
            stop_requested: false,
            cancel_requested: false,
            document: None,
            session_dir: None,
            preview: true,
            prior_pages: Vec::new(),
            files: None,
        });
        self.engine.send(Command::Scan {
            job,
            device,
            settings,
            output: OutputTarget::Preview,
            interactive: true,
        });
    }

    fn request_flatbed_render(&mut self) {
        let Some(flatbed) = &self.flatbed else {
            return;
        };
        let request = self.next_request;
        self.next_request += 1;
        self.latest_flatbed_render = request;
        let (max_width, max_height) = self.render_box;
        self.engine.send(Command::RenderPreview {
            request,
            key: flatbed.key,
            settings: self.prefs.scan.filter,
            max_width,
            max_height,
        });
    }

    /// Asks the engine to re-render the selected page with the current
    /// filter (no device I/O).
    pub fn request_render(&mut self) {
        let Some(page) = self
            .strip
            .selected
            .and_then(|i| self.strip.pages().get(i))
            .filter(|p| p.state.is_complete())
        else {
            return;
        };
        let request = self.next_request;
        self.next_request += 1;
        self.latest_render = request;
        self.rendered_filter = self.prefs.scan.filter;
        let (max_width, max_height) = self.render_box;
        self.engine.send(Command::RenderPreview {
            request,
            key: page.key,
            settings: self.prefs.scan.filter,
            max_width,
            max_height,
        });
    }

    /// Re-renders when the filter settings changed since the last render.
    pub(crate) fn filter_changed(&mut self) {
        if self.prefs.scan.filter != self.rendered_filter && self.showing_flatbed() {
            self.rendered_filter = self.prefs.scan.filter;
            self.request_flatbed_render();
        } else if self.prefs.scan.filter != self.rendered_filter {
            if self.strip.selected.is_none() && !self.strip.pages().is_empty() {
                self.strip.selected = self
                    .strip
                    .pages()
                    .iter()
                    .rposition(|p| p.state.is_complete());
            }
            self.request_render();
        }
    }

    fn preview_finished(&mut self, result: Result<JobSummary, TransferError>) {
        match result {
            Ok(summary) if summary.outcome == Outcome::Cancelled => {
                self.status = String::from("Preview cancelled");
            }
            Ok(_) if self.flatbed.is_some() => {
                self.status =
                    String::from("Preview ready: drag on it to choose the area to scan, then Scan");
                self.showing_flatbed = true;
                self.rendered_filter = self.prefs.scan.filter;
                self.request_flatbed_render();
            }
            Ok(_) => self.status = String::from("The preview brought no page"),
            Err(e) => {
                self.status = String::from("Preview failed");
                self.notice = Some(Notice {
                    text: format!(
                        "The preview failed: {} ({}).",
                        e.message,
                        e.code.description()
                    ),
                    scan_more: false,
                    error: true,
                });
            }
        }
    }

    /// Writes the preferences to the data folder.
    pub fn save_preferences(&mut self) -> std::io::Result<()> {
        self.prefs.save(&self.prefs_path)
    }

    /// The saved settings fitted to what the selected device's source
    /// offers: the settings the next scan uses, and each value replaced.
    pub fn fitted(&self) -> Fitted {
        fit(
            &self.prefs.scan,
            self.selected_device().and_then(|d| d.capabilities.as_ref()),
        )
    }

    /// Drains engine events and dialog answers; call once per frame.
    pub fn poll(&mut self, ctx: &egui::Context) {
        // Renderings stay within what the GPU takes in one texture.
        let side = ctx.input(|i| i.max_texture_side).max(256) as u32;
        self.render_box = (RENDER_BOX.0.min(side), RENDER_BOX.1.min(side));
        self.tiles.begin_frame();
        let tile_filter = self
            .scan
            .as_ref()
            .filter(|s| !s.preview)
            .map(|s| s.settings.filter)
            .unwrap_or(self.prefs.scan.filter);
        self.tiles.use_settings(tile_filter);
        for _ in 0..EVENTS_PER_FRAME {
            match self.engine.events().try_recv() {
                Ok(event) => self.apply(ctx, event),
                Err(_) => break,
            }
        }
        if !self.engine.events().is_empty() {
            ctx.request_repaint();
        }
        self.submit_prepared();
        for message in self.session.results() {
            self.status = message;
        }
        for (purpose, path) in self.dialogs.answers() {
            match purpose {
                DialogPurpose::DestinationFolder => self.prefs.destination.folder = path,
                DialogPurpose::Download { device, item } => {
                    let job = self.job_id();
                    self.other_jobs
                        .insert(job, OtherJob::Download(path.clone()));
                    self.status = format!("Downloading {item} to {}", path.display());
                    self.engine.send(Command::Download {
                        job,
                        device,
                        item,
                        path,
                        overwrite: true,
                    });
                }
                DialogPurpose::Export => self.export_to(&path),
            }
        }
    }

    fn apply(&mut self, ctx: &egui::Context, event: Event) {
        if let Event::Trace { job, trace } = &event {
            // Only with `EngineConfig::keep_traces` (tests): every job's
            // messages go through the shared order checker.
            self.traces_checked += 1;
            if let Err(violation) = crate::transfer::check(trace) {
                self.trace_violations
                    .push(format!("job {job}: {violation:?}"));
            }
        }
        if matches!(
            event,
            Event::DiscoveryStarted { .. }
                | Event::DeviceFound { .. }
                | Event::DiscoveryFinished { .. }
        ) {
            self.apply_discovery(event);
            return;
        }
        let job = event.job();
        if let Some(other) = self.other_jobs.get(&job).cloned()
            && !matches!(
                event,
                Event::PreviewRendered { .. } | Event::TileRendered { .. }
            )
        {
            self.apply_other(job, other, event);
            return;
        }
        match event {
            Event::TileRendered {
                request, result, ..
            } => {
                self.tiles.answer(ctx, request, result);
            }
            Event::PreviewRendered {
                request,
                key,
                result,
            } if request == self.latest_flatbed_render => {
                if let (Some(flatbed), Ok(preview)) = (self.flatbed.as_mut(), result)
                    && flatbed.key == key
                    && preview.width > 0
                {
                    let old = flatbed.rendered.take();
                    flatbed.rendered = Some(RenderedView::show(
                        ctx,
                        old,
                        "flatbed-preview",
                        key,
                        request,
                        &preview,
                    ));
                }
            }
            Event::PreviewRendered {
                request,
                key,
                result,
            } => {
                if request != self.latest_render {
                    return;
                }
                match result {
                    Ok(preview) if preview.width > 0 => {
                        let old = self.rendered.take();
                        self.rendered = Some(RenderedView::show(
                            ctx,
                            old,
                            "rendered-page",
                            key,
                            request,
                            &preview,
                        ));
                    }
                    Ok(_) => {
                        self.status = format!("Page {} would be dropped as blank", key.page);
                    }
                    Err(e) => self.status = format!("Cannot show page {}: {e}", key.page),
                }
            }
            other => self.apply_scan(ctx, job, other),
        }
    }

    fn apply_other(&mut self, job: JobId, kind: OtherJob, event: Event) {
        match (kind, event) {
            (
                OtherJob::List(device),
                Event::Items {
                    result,
                    capabilities,
                    ..
                },
            ) => {
                if let Some(entry) = self.devices.entry_mut(&device) {
                    match result {
                        Ok(items) => {
                            entry.items = Some(items);
                            entry.error = None;
                        }
                        Err(e) => entry.error = Some(e),
                    }
                    if capabilities.is_some() {
                        entry.capabilities = capabilities;
                    }
                }
            }
            (OtherJob::List(device), Event::JobFinished { result: Err(e), .. }) => {
                if let Some(entry) = self.devices.entry_mut(&device) {
                    entry.error = Some(e.message);
                }
                self.other_jobs.remove(&job);
            }
            (OtherJob::Upload, Event::Transfer { message, .. }) => {
                if let Some(upload) = &mut self.upload
                    && message.kind == MessageKind::Status
                    && let Some(file) = upload.files.iter_mut().find(|f| f.result.is_none())
                {
                    file.percent = message.percent.max(file.percent);
                }
            }
            (OtherJob::Upload, Event::Uploaded { report, .. }) => {
                if let Some(upload) = &mut self.upload
                    && let Some(file) = upload
                        .files
                        .iter_mut()
                        .find(|f| f.file == report.file && f.result.is_none())
                {
                    file.percent = 100;
                    file.result = Some(report.result.map(|_| ()));
                }
            }
            (OtherJob::Upload, Event::JobFinished { result, .. }) => {
                self.other_jobs.remove(&job);
                let device = self.upload.as_ref().map(|u| u.device.clone());
                if let Some(upload) = &mut self.upload {
                    upload.finished = true;
                    let ok = upload
                        .files
                        .iter()
                        .filter(|f| matches!(f.result, Some(Ok(()))))
                        .count();
                    self.status = match result {
                        Ok(s) if s.outcome == Outcome::Cancelled => {
                            format!("Upload cancelled; {ok} file(s) stored")
                        }
                        Ok(_) => format!("{ok} of {} file(s) uploaded", upload.files.len()),
                        Err(e) => format!("Upload failed: {e}"),
                    };
                }
                if let Some(device) = device {
                    self.list_items(&device);
                }
            }
            (OtherJob::Download(path), Event::JobFinished { result, .. }) => {
                self.other_jobs.remove(&job);
                self.status = match result {
                    Ok(_) => format!("Saved {}", path.display()),
                    Err(e) => format!("Download failed: {e}"),
                };
            }
            (OtherJob::SaveDocument { path, session_dir }, Event::JobFinished { result, .. }) => {
                self.other_jobs.remove(&job);
                match result {
                    Ok(summary) => {
                        self.status = format!(
                            "Saved {} page(s) to {}",
                            summary.totals.delivered,
                            path.display()
                        );
                        // Saved: the session copy is no longer needed.
                        let waker = self.waker.clone();
                        let done = self.status.clone();
                        self.session
                            .remove(vec![session_dir], &done, move || waker());
                    }
                    Err(e) => {
                        self.notice = Some(Notice {
                            text: format!(
                                "The document {} could not be written: {e}. The pages are kept in {}; they will be offered for recovery at the next start.",
                                path.display(),
                                session_dir.display()
                            ),
                            scan_more: false,
                            error: true,
                        });
                    }
                }
            }
            (OtherJob::Export(path), Event::JobFinished { result, .. }) => {
                self.other_jobs.remove(&job);
                self.status = match result {
                    Ok(summary) => format!("Saved {} page(s) to {path}", summary.totals.delivered),
                    Err(e) => format!("Saving failed: {e}"),
                };
            }
            (_, Event::JobFinished { .. }) => {
                self.other_jobs.remove(&job);
            }
            _ => {}
        }
    }

    fn apply_scan(&mut self, ctx: &egui::Context, job: JobId, event: Event) {
        let Some(scan) = self.scan.as_mut().filter(|s| s.id == job) else {
            return;
        };
        match event {
            Event::JobQueued { ahead, device, .. } => {
                self.status = format!("Waiting for {device}: {ahead} job(s) ahead");
            }
            Event::JobStarted { .. } => {
                scan.started = true;
                self.status = String::from("Scanning");
            }
            Event::DeviceStatus { status, .. } => {
                if matches!(
                    status.code,
                    StatusCode::WARMING_UP | StatusCode::CALIBRATING
                ) {
                    if status.percent.is_some_and(|p| p >= 100) {
                        self.warming = None;
                    } else {
                        self.warming = Some(Warming {
                            job,
                            code: status.code,
                            percent: status.percent,
                        });
                    }
                } else if status.code == StatusCode::CLEAR {
                    self.warming = None;
                }
            }
            Event::Question {
                question, status, ..
            } => {
                self.warming = None;
                self.question = Some(OpenQuestion {
                    job,
                    question,
                    status,
                });
            }
            Event::QuestionClosed { question, .. }
                if self
                    .question
                    .as_ref()
                    .is_some_and(|q| q.question == question) =>
            {
                self.question = None;
            }
            Event::Progress { progress, .. } => {
                if let Stage::WarmingUp(percent) = progress.stage {
                    if percent.is_some_and(|p| p >= 100) {
                        self.warming = None;
                    } else {
                        self.warming = Some(Warming {
                            job,
                            code: StatusCode::WARMING_UP,
                            percent,
                        });
                    }
                }
                scan.progress = Some(progress);
            }
            Event::PageStarted {
                page,
                side,
                header,
                preview_size,
                preview_factor,
                ..
            } => {
                self.warming = None;
                let key = PageKey { job, page };
                self.tiles.forget(key);
                self.live = Some(LivePage::start(
                    ctx,
                    key,
                    header,
                    preview_size,
                    preview_factor,
                ));
                if scan.preview {
                    self.status = String::from("Previewing the flatbed");
                    return;
                }
                match self.strip.page_mut(key) {
                    Some(p) => {
                        p.state = PageState::Scanning;
                        p.side = side;
                    }
                    None => self
                        .strip
                        .push(StripPage::new(key, side, PageState::Scanning)),
                }
                self.status = format!("Scanning page {page} ({})", side.as_str());
            }
            Event::Preview { band, .. } => {
                if let Some(live) = self
                    .live
                    .as_mut()
                    .filter(|l| l.key.page == band.page && l.key.job == job)
                {
                    live.band(&band);
                }
            }
            Event::PageDone { page, .. } if scan.preview => {
                scan.pages_done += 1;
                let key = PageKey { job, page };
                if let Some(live) = self.live.take_if(|l| l.key == key) {
                    let header = live.header;
                    let mm = |px: u32, dpi: u32| f64::from(px) * 25.4 / f64::from(dpi.max(1));
                    self.flatbed = Some(FlatbedPreview {
                        key,
                        size_mm: (
                            mm(header.width, header.dpi_x),
                            mm(live.page_rows(), header.dpi_y),
                        ),
                        live,
                        rendered: None,
                    });
                }
            }
            Event::PageDone { page, path, .. } => {
                let key = PageKey { job, page };
                scan.pages_done += 1;
                let thumbnail = self
                    .live
                    .as_ref()
                    .filter(|l| l.key == key)
                    .map(|l| l.thumbnail(ctx));
                if let Some(p) = self.strip.page_mut(key) {
                    if p.state != PageState::BlankFlagged {
                        p.state = PageState::Done;
                    }
                    p.path = path;
                    p.thumbnail = thumbnail;
                }
            }
            Event::PageBlank { page, .. } => {
                if let Some(p) = self.strip.page_mut(PageKey { job, page }) {
                    p.state = PageState::BlankFlagged;
                }
            }
            Event::PageDropped { page, .. } => {
                if let Some(p) = self.strip.page_mut(PageKey { job, page }) {
                    p.state = PageState::Skipped;
                }
            }
            Event::PageAbandoned { page, .. } => {
                if let Some(p) = self.strip.page_mut(PageKey { job, page }) {
                    p.state = PageState::Failed;
                }
            }
            Event::JobFinished { result, .. } => self.scan_finished(job, result),
            _ => {}
        }
    }

    fn scan_finished(&mut self, job: JobId, result: Result<JobSummary, TransferError>) {
        let Some(scan) = self.scan.take() else {
            return;
        };
        self.warming = None;
        self.question = None;
        if scan.preview {
            self.preview_finished(result);
            return;
        }
        // Pages the strip still waits for did not come.
        for page in self.strip.pages().iter().map(|p| p.key).collect::<Vec<_>>() {
            if let Some(p) = self.strip.page_mut(page)
                && page.job == job
                && p.state == PageState::Scanning
            {
                p.state = PageState::Failed;
            }
        }
        self.strip.drop_queued(job);
        let kept = |n: u32| match n {
            0 => String::from("no pages were kept"),
            1 => format!("1 page was saved in {}", scan.destination),
            n => format!("{n} pages were saved in {}", scan.destination),
        };
        match result {
            Ok(summary) => {
                if summary.totals.delivered > 0 {
                    self.finished_scans.push(job);
                }
                match summary.outcome {
                    Outcome::Completed => {
                        self.status = format!("Done: {}", kept(summary.totals.delivered));
                    }
                    Outcome::EndOfMedia { pages } => {
                        self.status = String::from("The feeder is empty");
                        self.notice = Some(Notice {
                            text: format!(
                                "{pages} page{} came before the feeder ran empty; {}. Load more paper and choose Scan more to continue.",
                                if pages == 1 { "" } else { "s" },
                                kept(summary.totals.delivered)
                            ),
                            scan_more: true,
                            error: false,
                        });
                    }
                    Outcome::Cancelled => {
                        self.status = format!("Cancelled: {}", kept(summary.totals.delivered));
                    }
                }
            }
            Err(e) => {
                let page = e.page.map(|p| format!(" on page {p}")).unwrap_or_default();
                self.status = format!("Scan failed{page}");
                self.notice = Some(Notice {
                    text: format!(
                        "The scan failed{page}: {} ({}). {}.",
                        e.message,
                        e.code.description(),
                        kept(e.pages_completed)
                    ),
                    scan_more: false,
                    error: true,
                });
            }
        }
        if let (Some((path, format)), Some(dir)) = (&scan.document, &scan.session_dir) {
            self.save_document(job, &scan, path.clone(), *format, dir.clone());
        }
        if let Some((pattern, offset)) = &scan.files {
            self.place_files(job, &scan, pattern, *offset);
        }
        // The device's storage may have changed; its list stays current.
        let device = scan.device;
        self.list_items(&device);
    }
}

impl StreamscanApp {
    /// Notes the window's size, place and maximised state for the next run.
    fn remember_window(&mut self, ctx: &egui::Context) {
        let viewport = ctx.input(|i| i.viewport().clone());
        if viewport.minimized == Some(true) || viewport.fullscreen == Some(true) {
            return;
        }
        let window = &mut self.prefs.window;
        window.maximized = viewport.maximized == Some(true);
        if window.maximized {
            // The size to go back to stays the one before maximising.
            return;
        }
        if let Some(inner) = viewport.inner_rect {
            window.size = Some([inner.width(), inner.height()]);
        }
        if let Some(outer) = viewport.outer_rect {
            window.position = Some([outer.min.x, outer.min.y]);
        }
    }
}

impl eframe::App for StreamscanApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.remember_window(ui.ctx());
        self.poll(ui.ctx());
        crate::ui::app_ui(ui, self);
    }

    fn save(&mut self, _storage: &mut dyn eframe::Storage) {
        if let Err(e) = self.save_preferences() {
            self.status = format!("Cannot save the settings: {e}");
        }
    }
}

/// The window options for a run after one that left `prefs` behind: the
/// remembered size, place and maximised state, the icon and app id.
pub fn native_options(prefs: &Preferences) -> eframe::NativeOptions {
    let window = prefs.window;
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Streamscan")
        .with_app_id("streamscan")
        .with_inner_size(window.opening_size())
        .with_min_inner_size(WindowState::MIN_SIZE)
        .with_maximized(window.maximized);
    if let Some(position) = window.opening_position() {
        viewport = viewport.with_position(position);
    }
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")) {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    eframe::NativeOptions {
        viewport,
        // The window's state lives in the settings file with the rest.
        persist_window: false,
        ..eframe::NativeOptions::default()
    }
}

/// Opens the app window and runs until it is closed.
pub fn run_native(options: AppOptions) -> Result<(), eframe::Error> {
    let (prefs, _problem) = Preferences::load(&Preferences::path_in(&options.data_dir));
    let native = native_options(&prefs);
    eframe::run_native(
        "Streamscan",
        native,
        Box::new(move |cc| Ok(Box::new(StreamscanApp::new(cc, options)))),
    )
}
