//! The desktop app: an eframe [`App`](eframe::App) over the engine.
//!
//! [`StreamscanApp`] owns the [`Engine`], the persisted [`Preferences`] and
//! the runtime state of a session (devices, the running scan, the page
//! strip, open questions). Each frame it drains the engine's events with
//! `try_recv` and folds them into that state; the widgets in [`crate::ui`]
//! draw from a read-only borrow of it and return [`Action`]s, which
//! [`StreamscanApp::apply`] then carries out with the methods here, in the
//! same frame ([`actions`](mod@actions)). Nothing in a frame blocks: device work runs in the engine, file dialogs on
//! helper threads ([`dialogs`]), and the engine's waker asks egui for a
//! repaint when something happens.
//!
//! The app is built from [`AppOptions`], so tests construct it with a
//! virtual clock, their own back ends, a temporary data folder and
//! scripted dialogs.
//!
//! This file holds the app's state, its construction and the frame loop;
//! the rest is split by what it is about: `scan` (starting and steering
//! scans), `events` (folding engine events into the state), `files`
//! (uploads, downloads, export, documents, recovery), `flatbed` (the
//! preview of the glass and the scan area), [`devices`] (the device list
//! and discovery), [`fit`](mod@fit) (settings fitted to the selected source),
//! [`actions`](mod@actions) (what the widgets ask for).

pub mod actions;
pub mod devices;
pub mod dialogs;
mod events;
mod files;
pub mod fit;
mod flatbed;
pub mod live;
pub mod prefs;
mod scan;
pub mod session;
pub mod strip;
pub mod tiles;

pub use actions::Action;
pub use devices::{DeviceEntry, DeviceList, ListChange, Presence};
pub use dialogs::{DialogPurpose, DialogRunner, FileDialogs, NativeDialogs, ScriptedDialogs};
pub use fit::{Adjustment, Fitted, Setting, fit};
pub use live::LivePage;
pub use prefs::{Destination, Loaded, Preferences, Profile, WindowState};
pub use session::{Leftover, SessionStore};
pub use strip::{PageState, PageStrip, StripPage};
pub use tiles::{DrawTile, TileKey, TileStore};

use crate::clock::SharedClock;
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
use std::time::Duration;

/// Most events folded in one frame (the rest wait for the next frame, so
/// a fast device never makes a frame slow).
const EVENTS_PER_FRAME: usize = 4000;

/// How long changed settings wait before they are written.
pub const PREFS_SAVE_DELAY: Duration = Duration::from_millis(500);

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
    /// The window's title ("Scan problem", "Settings problem", ...).
    pub title: &'static str,
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
    /// The settings as last written (or read), to see a change.
    saved_prefs: Preferences,
    /// When (on the engine's clock) the settings were first seen to differ
    /// from the saved ones; they are written once they rest that long.
    prefs_changed_at: Option<Duration>,
    /// False when an unreadable settings file could not be moved aside.
    may_save_prefs: bool,
    /// The engine's clock (settings are saved on it).
    clock: SharedClock,
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
    /// The back ends, to turn a typed address into a device id.
    registry: crate::device::Registry,
    /// The open "Add scanner by address…" window, with what was typed.
    adding: Option<AddingDevice>,
    /// Preview zoom and pan.
    pub(crate) view: PreviewView,
    /// The filter the preview was last rendered with.
    rendered_filter: FilterSettings,
    /// Largest rendering asked of the engine (within the GPU's limit).
    render_box: (u32, u32),
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
        let Loaded {
            prefs,
            problem,
            may_save,
        } = Preferences::load(&prefs_path);
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
            saved_prefs: prefs.clone(),
            prefs,
            prefs_changed_at: None,
            may_save_prefs: may_save,
            clock: options.engine.clock.clone(),
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
                title: "Settings problem",
                text,
                scan_more: false,
                error: true,
            }),
            status: String::from("Ready"),
            upload: None,
            finished_scans: Vec::new(),
            profile_name: String::new(),
            registry: options.engine.registry.clone(),
            adding: None,
            view: PreviewView::default(),
            rendered_filter: FilterSettings::default(),
            render_box: RENDER_BOX,
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
        for id in app.prefs.added_devices.clone() {
            if let Some(info) = app.registry.describe(&id) {
                app.devices.add(info);
            }
        }
        if app.prefs.device.is_some() && app.devices.selected().is_none() {
            // The remembered device may be one added by hand.
            let wanted = app.prefs.device.clone();
            if let Some(i) = app
                .devices
                .entries()
                .iter()
                .position(|e| Some(&e.info.id) == wanted.as_ref())
            {
                app.devices.select(i);
            }
        }
        // List what is there to list: the selected device, and every
        // device added by hand (so one that does not answer says so).
        let selected = app.devices.selected().map(|e| e.info.id.clone());
        let added: Vec<String> = app
            .devices
            .entries()
            .iter()
            .filter(|e| e.presence == Presence::Present)
            .filter(|e| e.added || Some(&e.info.id) == selected.as_ref())
            .map(|e| e.info.id.clone())
            .collect();
        for id in added {
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

    /// The drag editing the scan area on the flatbed preview, while it
    /// lasts.
    pub fn area_drag(&self) -> Option<AreaDrag> {
        self.area_drag
    }

    /// The name typed for a new profile.
    pub fn profile_name(&self) -> &str {
        &self.profile_name
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

    /// The "Add scanner by address…" window, while it is open.
    pub fn adding_device(&self) -> Option<&AddingDevice> {
        self.adding.as_ref()
    }

    /// Opens the "Add scanner by address…" window.
    pub fn open_add_device(&mut self) {
        self.adding.get_or_insert_with(AddingDevice::default);
    }

    /// Closes the "Add scanner by address…" window.
    pub fn close_add_device(&mut self) {
        self.adding = None;
    }

    /// Adds the device at `address` (a URL, or a device id) to the list,
    /// selects it and lists its items; it is remembered and listed at
    /// every start. When no back end understands the address, the window
    /// stays open and says why.
    pub fn add_device(&mut self, address: &str) {
        let id = match self.registry.id_for_address(address) {
            Ok(id) => id,
            Err(reason) => {
                let adding = self.adding.get_or_insert_with(AddingDevice::default);
                adding.address = address.to_string();
                adding.error = Some(reason);
                return;
            }
        };
        let Some(info) = self.registry.describe(&id) else {
            return;
        };
        self.adding = None;
        let index = self.devices.add(info);
        if !self.prefs.added_devices.contains(&id) {
            self.prefs.added_devices.push(id.clone());
        }
        self.status = format!("Added {id}");
        self.select_device(index);
    }

    /// Takes the device added by hand at `index` out of the list (and out
    /// of the remembered ones).
    pub fn forget_device(&mut self, index: usize) {
        if let Some(id) = self.devices.forget(index) {
            self.prefs.added_devices.retain(|d| *d != id);
            if self.prefs.device.as_deref() == Some(id.as_str()) {
                self.prefs.device = self.devices.selected().map(|e| e.info.id.clone());
            }
            self.status = format!("Removed {id} from the list");
        }
    }

    /// Looks for devices again; the list keeps what it has meanwhile.
    pub fn refresh_devices(&mut self) {
        self.engine.send(Command::Discover);
    }

    /// True while a scan runs.
    pub fn is_scanning(&self) -> bool {
        self.scan.is_some()
    }

    /// Selects page `index` of the strip and shows it with the current
    /// filter.
    pub fn select_page(&mut self, index: usize) {
        self.strip.selected = Some(index);
        self.showing_flatbed = false;
        self.request_render();
    }

    /// Re-renders when the filter settings changed since the last render.
    fn filter_changed(&mut self) {
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

    /// Writes the preferences to the data folder (unless an unreadable
    /// settings file is still there and would be destroyed).
    pub fn save_preferences(&mut self) -> std::io::Result<()> {
        if !self.may_save_prefs {
            return Ok(());
        }
        self.prefs.save(&self.prefs_path)?;
        self.saved_prefs = self.prefs.clone();
        self.prefs_changed_at = None;
        Ok(())
    }

    /// Saves the settings [`PREFS_SAVE_DELAY`] after they first differ from
    /// the saved ones (so a dragged slider is a few writes, not hundreds);
    /// a crash loses at most that much. Asks for a frame when the wait
    /// ends.
    fn save_changed_preferences(&mut self, ctx: &egui::Context) {
        if !self.may_save_prefs || self.prefs == self.saved_prefs {
            self.prefs_changed_at = None;
            return;
        }
        let now = self.clock.now();
        let waited = now.saturating_sub(*self.prefs_changed_at.get_or_insert(now));
        if waited < PREFS_SAVE_DELAY {
            ctx.request_repaint_after(PREFS_SAVE_DELAY - waited);
        } else if let Err(e) = self.save_preferences() {
            self.status = format!("Cannot save the settings: {e}");
            // Try again after another wait, not every frame.
            self.prefs_changed_at = Some(now);
        }
    }

    /// The saved settings fitted to what the selected device's source
    /// offers: the settings the next scan uses, and each value replaced.
    pub fn fitted(&self) -> Fitted {
        fit(
            &self.prefs.scan,
            self.selected_device().and_then(|d| d.capabilities.as_ref()),
        )
    }

    /// Drains engine events and dialog answers, and re-renders the preview
    /// when the filter settings changed since it was rendered; call once
    /// per frame, before drawing.
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
                Ok(event) => self.apply_event(ctx, event),
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
        // Settings edited outside the widgets (tests do) re-render too.
        self.filter_changed();
        self.save_changed_preferences(ctx);
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
        let actions = crate::ui::app_ui(ui, self);
        if actions.iter().any(Action::redraws) {
            // The widgets drew the state before these: draw it again.
            ui.ctx().request_repaint();
        }
        for action in actions {
            self.apply(action);
        }
    }

    fn save(&mut self, _storage: &mut dyn eframe::Storage) {
        if let Err(e) = self.save_preferences() {
            self.status = format!("Cannot save the settings: {e}");
        }
    }
}

/// What is typed in the "Add scanner by address…" window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddingDevice {
    /// The address (or device id) typed so far.
    pub address: String,
    /// Why the last one could not be added.
    pub error: Option<String>,
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
    // Only the window's state is needed here; the app reads (and, when it
    // is unreadable, moves aside) the file itself.
    let prefs = Preferences::read(&Preferences::path_in(&options.data_dir))
        .ok()
        .flatten()
        .unwrap_or_default();
    let native = native_options(&prefs);
    eframe::run_native(
        "Streamscan",
        native,
        Box::new(move |cc| Ok(Box::new(StreamscanApp::new(cc, options)))),
    )
}
