//! What the front end and the engine say to each other: the [`Command`]s
//! a front end sends, the [`Event`]s it drains, and the summaries and
//! reports they carry.

use super::*;

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
    /// in one pass: one straightened image per photo into `output`. With
    /// `detected`, the region items [`Command::DetectRegions`] made from a
    /// cached preview are scanned as they are, without a new preview.
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
        /// Scan the region items already made on the device (by
        /// [`Command::DetectRegions`]) instead of finding them anew; the job
        /// fails when the device has none.
        detected: bool,
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
    /// Finds photos lying on a cached flatbed preview of `device`, with no
    /// device I/O for the image, and makes each a Generated child item of
    /// the device's flatbed, in flatbed coordinates (replacing earlier
    /// ones); a later [`Command::ScanRegions`] with `detected` scans them.
    /// Runs as a job on the device's queue: answered by [`Event::Regions`],
    /// then [`Event::JobFinished`].
    DetectRegions {
        /// The job's id.
        job: JobId,
        /// The device the page was scanned on.
        device: String,
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
    /// Photos found on a cached flatbed page, each now a region item of
    /// the device's flatbed.
    Regions {
        /// The [`Command::DetectRegions`] job this answers.
        job: JobId,
        /// The page.
        key: PageKey,
        /// The photos and the items made for them (in the same order), or
        /// why none could be looked for.
        result: Result<Vec<(FoundRegion, Item)>, String>,
    },
    /// A transfer of this job broke the contract's message order, as the
    /// live checker saw it (a bug in Streamscan, never the user's doing).
    /// Sent whether or not traces are kept, right before
    /// [`Event::JobFinished`].
    ContractBroken {
        /// The job.
        job: JobId,
        /// The broken rule and where.
        rule: String,
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
            | Event::Regions { job, .. }
            | Event::ContractBroken { job, .. }
            | Event::Trace { job, .. }
            | Event::JobFinished { job, .. } => *job,
            Event::PreviewRendered { key, .. } | Event::TileRendered { key, .. } => key.job,
            Event::DiscoveryStarted { .. }
            | Event::DeviceFound { .. }
            | Event::DiscoveryFinished { .. } => 0,
        }
    }
}
