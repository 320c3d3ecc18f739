//! The built-in virtual scanner: a real device back end that behaves like a
//! band-producing scanner with a flatbed, a duplex feeder and a storage
//! folder.
//!
//! It warms up (WARMING_UP with a rising percent), moves paper at a
//! scanner's pace (about 25 pages per minute at 300 dpi by default; every
//! wait goes through the transfer layer so a cancel wakes it at once and
//! tests run on a virtual clock), sends bands of 32 rows of pages that look
//! like real paper (see [`render`]), and injects the faults its id asks for
//! (see [`Fault`]), each once, through the device-status chain exactly as a
//! real device reports them. It is not a shortcut around the engine: every
//! page goes through the same transfer layer as any other back end.
//!
//! With `format=jpeg` or `format=png` every scanned page (flatbed, feeder,
//! both duplex sides, photo regions) is sent instead as one encoded body,
//! as an eSCL scanner sends it (see [`encode`]): the body is announced with
//! its size and geometry (neither with `size=auto`, where a JPEG gives its
//! height in a DNL segment), then trickled in as many chunks as the page
//! has bands, at the same pace. Mid-page faults cut the body off where they
//! fire.
//!
//! Faults by source: `jam`, `multifeed` and `empty` are feeder conditions
//! (a flatbed scan is not affected by them); `coveropen`, `disconnect`,
//! `hang`, `freeze` and `busy` hit any source.

pub mod discovery;
pub mod encode;
pub mod options;
pub mod render;
pub mod storage;

pub use discovery::{SIM_KIND, SIM_NAME, SimBackend};
pub use encode::BodyFormat;
pub use options::{Fault, SimOptions, Speed};

use crate::clock::CancelToken;
use crate::raster::geometry::{Rect, crop, straighten};
use crate::raster::{Band, Page, PageHeader};
use crate::stream::{FileFormat, Side};
use crate::transfer::{
    AcquireEnd, AcquireRequest, AcquireSink, Capabilities, Choice, ColorMode, DeviceInfo, Driver,
    DriverError, Interrupted, Item, ItemArea, ItemFlags, PageData, PageGo, PageSize, PageStart,
    ScanArea, ScanSettings, Source, SourceCapabilities, StatusCode, StatusOutcome, UploadSource,
};
use encode::EncodedPage;
use render::{PageSpec, RenderedPage, render_page};
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;
use storage::Storage;

/// Rows per band the virtual scanner sends.
pub const BAND_ROWS: u32 = 32;

/// How long a `freeze` fault blocks the job.
const FREEZE: Duration = Duration::from_secs(3600);

/// Name of the root item.
pub const ROOT_ITEM: &str = "Root";

/// Name of the flatbed item.
pub const FLATBED_ITEM: &str = "Flatbed";

/// Lowest and highest flatbed resolution.
pub const DPI_RANGE: (u32, u32) = (75, 1200);

/// Resolutions the feeder offers (fewer and lower than the flatbed, as on
/// real scanners).
pub const FEEDER_RESOLUTIONS: [u32; 6] = [75, 100, 150, 200, 300, 600];

/// The flatbed glass, millimetres (width, height).
pub const GLASS_MM: (f64, f64) = (215.9, 297.0);

/// The feeder's largest page, millimetres (width, height).
pub const FEEDER_MAX_MM: (f64, f64) = (215.9, 355.6);

/// What the virtual scanner offers, source by source: the flatbed scans
/// 75-1200 dpi in steps of 25 on an A4-long glass; the feeder takes
/// Legal-long pages at up to 600 dpi and is the only source that scans
/// both sides. Every source can send its pages as JPEG or PNG bodies.
pub fn sim_capabilities() -> Capabilities {
    let modes = vec![ColorMode::Color, ColorMode::Gray, ColorMode::Bw];
    let formats: Vec<FileFormat> = BodyFormat::ALL.map(BodyFormat::file_format).to_vec();
    let feeder = SourceCapabilities {
        source: Source::Feeder,
        resolutions: Choice::List(FEEDER_RESOLUTIONS.to_vec()),
        modes: modes.clone(),
        sizes: vec![
            PageSize::A4,
            PageSize::Letter,
            PageSize::Legal,
            PageSize::Auto,
        ],
        max_area_mm: FEEDER_MAX_MM,
        formats: formats.clone(),
    };
    Capabilities {
        sources: vec![
            SourceCapabilities {
                source: Source::Flatbed,
                resolutions: Choice::Range {
                    min: DPI_RANGE.0,
                    max: DPI_RANGE.1,
                    step: 25,
                },
                modes,
                // The lid sensor measures the sheet: `auto` works here too.
                sizes: vec![PageSize::A4, PageSize::Letter, PageSize::Auto],
                max_area_mm: GLASS_MM,
                formats,
            },
            feeder.clone(),
            SourceCapabilities {
                source: Source::Duplex,
                ..feeder
            },
        ],
        storage: true,
    }
}

/// The virtual scanner.
pub struct SimDriver {
    id: String,
    options: SimOptions,
    faults: Vec<Fault>,
    storage: Storage,
    /// Region items the segmentation filter created below the flatbed.
    regions: Vec<Item>,
}

/// The default storage directory: `<data dir>/streamscan/virtual-scanner`.
pub fn default_storage_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("streamscan")
        .join("virtual-scanner")
}

impl SimDriver {
    /// Opens a virtual scanner with the given id and options.
    pub fn open(id: &str, options: SimOptions) -> Result<SimDriver, DriverError> {
        let dir = options.storage.clone().unwrap_or_else(default_storage_dir);
        let storage = Storage::open(dir.clone(), options.capacity).map_err(|e| {
            DriverError::Communication(format!(
                "cannot open the storage folder {}: {e}",
                dir.display()
            ))
        })?;
        Ok(SimDriver {
            id: id.to_string(),
            faults: options.faults.clone(),
            options,
            storage,
            regions: Vec::new(),
        })
    }

    /// The options the scanner was opened with.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// The directory behind the storage folder.
    pub fn storage_dir(&self) -> &std::path::Path {
        self.storage.dir()
    }

    /// Takes the fault `matches` selects, if it is still pending.
    fn take_fault(&mut self, matches: impl Fn(Fault) -> bool) -> Option<Fault> {
        let index = self.faults.iter().position(|f| matches(*f))?;
        Some(self.faults.remove(index))
    }

    /// Time one page takes at `dpi`, or zero at full speed.
    fn page_time(&self, dpi: u32) -> Duration {
        match self.options.speed {
            Speed::Max => Duration::ZERO,
            Speed::PagesPerMinute(ppm) => {
                Duration::from_secs_f64(60.0 / ppm * (f64::from(dpi) / 300.0).max(1.0))
            }
        }
    }

    fn warm_up(&mut self, sink: &mut dyn AcquireSink) -> Result<(), Stop> {
        if self.options.warmup <= 0.0 || self.options.speed == Speed::Max {
            return Ok(());
        }
        let steps = 10u8;
        let step = Duration::from_secs_f64(self.options.warmup / f64::from(steps));
        for i in 0..=steps {
            match sink.device_status(StatusCode::WARMING_UP, Some(i * 10)) {
                StatusOutcome::Continue | StatusOutcome::Retry => {}
                StatusOutcome::Cancel => return Err(Stop::Cancelled),
                StatusOutcome::Fail(code) => return Err(Stop::Error(DriverError::Status(code))),
            }
            if i < steps {
                sink.wait(step)?;
            }
        }
        Ok(())
    }

    /// Reports a start-of-job condition until it is handled or fails.
    fn start_condition(
        &mut self,
        sink: &mut dyn AcquireSink,
        code: StatusCode,
    ) -> Result<(), Stop> {
        match sink.device_status(code, None) {
            StatusOutcome::Retry | StatusOutcome::Continue => Ok(()),
            StatusOutcome::Cancel => Err(Stop::Cancelled),
            StatusOutcome::Fail(code) => Err(Stop::Error(DriverError::Status(code))),
        }
    }

    fn render(
        &self,
        settings: &ScanSettings,
        number: u32,
        side: Side,
        flatbed: bool,
    ) -> RenderedPage {
        let (width_mm, height_mm) = settings.size.millimetres();
        let spec = PageSpec {
            number,
            side,
            seed: self.options.seed,
            dpi: settings.dpi,
            mode: settings.mode,
            width_mm,
            height_mm: height_mm.unwrap_or(297.0),
            skew_deg: if flatbed { 0.0 } else { self.options.skew },
            blank: self.options.blank.contains(&number),
            rotate_180: side == Side::Back && self.options.backrot,
            noise: self.options.noise,
            photos: if flatbed { self.options.photos } else { 0 },
        };
        render_page(&spec)
    }

    /// The page at `number` as the scanner sends it: its pixels, its body
    /// when pages go encoded, and the data announcement for it.
    fn prepare(
        &self,
        settings: &ScanSettings,
        number: u32,
        side: Side,
        flatbed: bool,
    ) -> Result<Prepared, Stop> {
        let rendered = self.render(settings, number, side, flatbed);
        let page = match settings.area.filter(|_| flatbed) {
            Some(area) => flatbed_area(&rendered.page, area)?,
            None => rendered.page,
        };
        let announced = PageHeader {
            height: if settings.size == PageSize::Auto {
                None
            } else {
                Some(page.height())
            },
            ..page.header
        };
        let body = self.encode(&page, settings.size != PageSize::Auto)?;
        let data = body
            .as_ref()
            .map_or(PageData::Raw(announced), EncodedPage::page_data);
        Ok(Prepared { page, body, data })
    }

    /// Sends the steps of `prepared` at the scanner's pace, without
    /// ending the page.
    fn send_pieces(
        &self,
        sink: &mut dyn AcquireSink,
        prepared: &Prepared,
        dpi: u32,
    ) -> Result<(), Stop> {
        let band_time = self.band_time(dpi, prepared.page.height());
        for piece in pieces(&prepared.page, prepared.body.as_ref()) {
            if band_time > Duration::ZERO {
                sink.wait(band_time)?;
            }
            piece.send(sink)?;
        }
        Ok(())
    }

    /// How long one band of a page `height` rows tall takes at `dpi`.
    fn band_time(&self, dpi: u32, height: u32) -> Duration {
        self.page_time(dpi)
            .mul_f64(f64::from(BAND_ROWS) / f64::from(height.max(1)))
    }

    /// Scans one page (position `number` in transfer order), retrying it
    /// when a mid-page condition is handled. A back side scanned again
    /// after a fault is fed again with its whole sheet, as real feeders
    /// do: the front comes through first (announced as re-fed, and the
    /// layer drops it), then the back.
    fn scan_page(
        &mut self,
        sink: &mut dyn AcquireSink,
        settings: &ScanSettings,
        number: u32,
        side: Side,
        flatbed: bool,
    ) -> Result<(), Stop> {
        // Encoded once: a retried page sends the same body again.
        let prepared = self.prepare(settings, number, side, flatbed)?;
        let height = prepared.page.height();
        let band_time = self.band_time(settings.dpi, height);
        let mut retried = false;
        'attempt: loop {
            if retried && side == Side::Back && number > 1 {
                let front = self.prepare(settings, number - 1, Side::Front, flatbed)?;
                sink.refed_side(Side::Front, front.data)?;
                self.send_pieces(sink, &front, settings.dpi)?;
            }
            sink.start_data(prepared.data)?;
            let mut fault_pending = self
                .faults
                .iter()
                .copied()
                .find(|f| f.page() == number && mid_page_fault_applies(*f, flatbed));
            for piece in pieces(&prepared.page, prepared.body.as_ref()) {
                if let Some(fault) = fault_pending
                    && !matches!(fault, Fault::Freeze(_))
                    && piece.first_row >= height / 2
                {
                    fault_pending = None;
                    self.take_fault(|f| f == fault);
                    match self.mid_page_fault(sink, fault)? {
                        FaultEnd::Retry => {
                            retried = true;
                            continue 'attempt;
                        }
                    }
                }
                if band_time > Duration::ZERO {
                    sink.wait(band_time)?;
                }
                piece.send(sink)?;
                // A freeze comes right after the first STATUS of 50 % or
                // more, with no call to the layer in between: whoever saw
                // that STATUS knows the device is frozen.
                if let Some(Fault::Freeze(_)) = fault_pending
                    && piece.percent >= 50
                {
                    return Err(freeze(sink));
                }
            }
            sink.end_page()?;
            return Ok(());
        }
    }

    /// The page as the encoded body the options ask for, or `None` when
    /// pages go as raw bands.
    fn encode(&self, page: &Page, length_known: bool) -> Result<Option<EncodedPage>, Stop> {
        let Some(format) = self.options.format else {
            return Ok(None);
        };
        encode::encode_page(page, format, length_known)
            .map(Some)
            .map_err(|e| {
                Stop::Error(DriverError::Unsupported(format!(
                    "the virtual scanner cannot send this page as {}: {e}",
                    format.file_format().name()
                )))
            })
    }

    fn mid_page_fault(
        &mut self,
        sink: &mut dyn AcquireSink,
        fault: Fault,
    ) -> Result<FaultEnd, Stop> {
        let code = match fault {
            Fault::Jam(_) => StatusCode::PAPER_JAM,
            Fault::MultiFeed(_) => StatusCode::MULTI_FEED,
            Fault::CoverOpen(_) => StatusCode::COVER_OPEN,
            Fault::Disconnect(_) => {
                return Err(Stop::Error(DriverError::Communication(String::from(
                    "the virtual scanner was disconnected (USB cable pulled)",
                ))));
            }
            Fault::Hang(_) => {
                // The device stops sending: only a cancel or the layer's
                // no-data timeout ends this wait.
                sink.wait(Duration::MAX)?;
                return Err(Stop::Error(DriverError::Communication(String::from(
                    "the virtual scanner stopped responding",
                ))));
            }
            Fault::Freeze(_) => return Err(freeze(sink)),
            Fault::Empty | Fault::Busy => StatusCode::GENERAL_ERROR,
        };
        match sink.device_status(code, None) {
            StatusOutcome::Retry | StatusOutcome::Continue => Ok(FaultEnd::Retry),
            StatusOutcome::Cancel => Err(Stop::Cancelled),
            StatusOutcome::Fail(code) => Err(Stop::Error(DriverError::Status(code))),
        }
    }

    fn acquire_file(
        &mut self,
        item: &Item,
        sink: &mut dyn AcquireSink,
    ) -> Result<AcquireEnd, Stop> {
        let path = self.storage.path_of(item).map_err(Stop::Error)?;
        let mut file = std::fs::File::open(&path)
            .map_err(|_| Stop::Error(DriverError::NoSuchItem(item.full_name.clone())))?;
        let size = file.metadata().map(|m| m.len()).ok();
        match sink.begin_page(PageStart {
            item: item.clone(),
            side: Side::Front,
        }) {
            PageGo::Continue => {}
            PageGo::Skip => return Ok(AcquireEnd::Done),
            PageGo::Cancel => return Ok(AcquireEnd::Cancelled),
        }
        let format = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(FileFormat::from_name)
            .unwrap_or_default();
        sink.start_data(PageData::Encoded {
            format,
            size,
            header: None,
        })?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut sent = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(|e| {
                Stop::Error(DriverError::Communication(format!(
                    "reading {}: {e}",
                    item.full_name
                )))
            })?;
            if n == 0 {
                break;
            }
            sent += n as u64;
            sink.encoded(&buf[..n])?;
            let percent = match size {
                Some(s) if s > 0 => (sent * 100 / s).min(100) as i32,
                _ => -1,
            };
            sink.progress(percent)?;
        }
        sink.end_page()?;
        Ok(AcquireEnd::Done)
    }

    fn acquire_scan(
        &mut self,
        request: &AcquireRequest,
        sink: &mut dyn AcquireSink,
    ) -> Result<AcquireEnd, Stop> {
        let settings = &request.settings;
        // Faults are numbered within a job: every job meets them again.
        self.faults = self.options.faults.clone();
        let flatbed = request.item.name.eq_ignore_ascii_case(FLATBED_ITEM);
        let source = if flatbed {
            Source::Flatbed
        } else {
            settings.source
        };
        let asked = ScanSettings {
            source,
            ..settings.clone()
        };
        if let Some(why) = sim_capabilities().refuse(&asked) {
            return Err(Stop::Error(DriverError::InvalidSetting(why)));
        }
        if flatbed && !request.children.is_empty() {
            if self.take_fault(|f| f == Fault::Busy).is_some() {
                self.start_condition(sink, StatusCode::BUSY)?;
            }
            self.warm_up(sink)?;
            return self.scan_regions(request, sink);
        }
        if self.take_fault(|f| f == Fault::Busy).is_some() {
            self.start_condition(sink, StatusCode::BUSY)?;
        }
        self.warm_up(sink)?;
        if flatbed {
            // A flatbed has no paper sensor: `empty` does not apply.
            return match sink.begin_page(PageStart {
                item: request.item.clone(),
                side: Side::Front,
            }) {
                PageGo::Continue => {
                    self.scan_page(sink, settings, 1, Side::Front, true)?;
                    Ok(AcquireEnd::Done)
                }
                PageGo::Skip => Ok(AcquireEnd::Done),
                PageGo::Cancel => Ok(AcquireEnd::Cancelled),
            };
        }
        if self.take_fault(|f| f == Fault::Empty).is_some() {
            // Retry means the user loaded paper.
            self.start_condition(sink, StatusCode::PAPER_EMPTY)?;
        }
        let duplex = settings.source == Source::Duplex;
        let sides = if duplex { 2 } else { 1 };
        let available = self.options.pages.saturating_mul(sides);
        if available == 0 {
            // An empty feeder is asked about first; a Retry without paper
            // loaded (this stack stays empty) then fails.
            self.start_condition(sink, StatusCode::PAPER_EMPTY)?;
            return Err(Stop::Error(DriverError::Status(StatusCode::PAPER_EMPTY)));
        }
        let wanted = if settings.pages == 0 {
            available
        } else {
            settings.pages
        };
        let mut number = 0u32;
        while number < wanted {
            if number >= available {
                return Ok(AcquireEnd::FeederEmpty);
            }
            number += 1;
            let side = if duplex && number.is_multiple_of(2) {
                Side::Back
            } else {
                Side::Front
            };
            match sink.begin_page(PageStart {
                item: request.item.clone(),
                side,
            }) {
                PageGo::Continue => self.scan_page(sink, settings, number, side, false)?,
                PageGo::Skip => {
                    // The sheet still passes through the feeder.
                    let time = self.page_time(settings.dpi);
                    if time > Duration::ZERO {
                        sink.wait(time)?;
                    }
                }
                PageGo::Cancel => return Ok(AcquireEnd::Cancelled),
            }
        }
        Ok(AcquireEnd::Done)
    }
}

impl SimDriver {
    /// Scans the flatbed once and delivers every region child as its own
    /// straightened page (CHILDREN_SINGLE_SCAN).
    fn scan_regions(
        &mut self,
        request: &AcquireRequest,
        sink: &mut dyn AcquireSink,
    ) -> Result<AcquireEnd, Stop> {
        let settings = &request.settings;
        let scene = self.render(settings, 1, Side::Front, true).page;
        let px_x = f64::from(settings.dpi) / 25.4;
        for child in &request.children {
            let Some(area) = child.area else {
                return Err(Stop::Error(DriverError::InvalidSetting(format!(
                    "{} has no area",
                    child.full_name
                ))));
            };
            match sink.begin_page(PageStart {
                item: child.clone(),
                side: Side::Front,
            }) {
                PageGo::Continue => {}
                PageGo::Skip => continue,
                PageGo::Cancel => return Ok(AcquireEnd::Cancelled),
            }
            // The region's sides are limited to the scene's diagonal, so a
            // nonsensical request cannot exhaust memory.
            let diagonal = f64::from(scene.header.width).hypot(f64::from(scene.height()));
            let side = |mm: f64| (mm * px_x).round().clamp(1.0, diagonal.max(1.0)) as u32;
            let values = [
                area.x_mm,
                area.y_mm,
                area.width_mm,
                area.height_mm,
                area.angle_deg,
            ];
            let page = if values.iter().all(|v| v.is_finite()) {
                straighten(
                    &scene,
                    area.x_mm * px_x,
                    area.y_mm * px_x,
                    side(area.width_mm),
                    side(area.height_mm),
                    area.angle_deg,
                )
            } else {
                crop(&scene, Rect::default())
            };
            if page.height() == 0 || page.header.width == 0 {
                return Err(Stop::Error(DriverError::InvalidSetting(format!(
                    "{} is empty",
                    child.full_name
                ))));
            }
            let body = self.encode(&page, true)?;
            sink.start_data(
                body.as_ref()
                    .map_or(PageData::Raw(page.header), EncodedPage::page_data),
            )?;
            for piece in pieces(&page, body.as_ref()) {
                piece.send(sink)?;
            }
            sink.end_page()?;
        }
        Ok(AcquireEnd::Done)
    }
}

/// The part of a flatbed scene inside `area` (millimetres from the
/// glass's top-left corner), or why it cannot be scanned.
fn flatbed_area(scene: &Page, area: ScanArea) -> Result<Page, Stop> {
    let mm = |px: u32, dpi: u32| f64::from(px) * 25.4 / f64::from(dpi.max(1));
    let glass = (
        mm(scene.header.width, scene.header.dpi_x),
        mm(scene.height(), scene.header.dpi_y),
    );
    if !area.lies_within(glass) {
        return Err(Stop::Error(DriverError::InvalidSetting(format!(
            "the scan area {:.0},{:.0} {:.0} x {:.0} mm does not lie on the {:.0} x {:.0} mm glass",
            area.x_mm, area.y_mm, area.width_mm, area.height_mm, glass.0, glass.1
        ))));
    }
    let px = |v: f64, dpi: u32| (v * f64::from(dpi) / 25.4).round() as u32;
    let rect = Rect {
        x: px(area.x_mm, scene.header.dpi_x),
        y: px(area.y_mm, scene.header.dpi_y),
        width: px(area.width_mm, scene.header.dpi_x).max(1),
        height: px(area.height_mm, scene.header.dpi_y).max(1),
    };
    Ok(crop(scene, rect))
}

/// One step of sending a page: a band of rows, or the chunk of an encoded
/// body that stands in for that band (same count, same pace).
struct Piece<'a> {
    /// The first row of the band this step stands for.
    first_row: u32,
    /// The page's progress once this step is through (0..=100).
    percent: i32,
    data: PieceData<'a>,
}

enum PieceData<'a> {
    Band(Band),
    Bytes(&'a [u8]),
}

impl Piece<'_> {
    /// Delivers the piece and the progress it brings.
    fn send(&self, sink: &mut dyn AcquireSink) -> Result<(), Stop> {
        match &self.data {
            PieceData::Band(band) => sink.band(band)?,
            // A body shorter than the page's band count has empty steps.
            PieceData::Bytes([]) => {}
            PieceData::Bytes(bytes) => sink.encoded(bytes)?,
        }
        sink.progress(self.percent)?;
        Ok(())
    }
}

/// The steps that send `page`: its bands of [`BAND_ROWS`] rows, or, when it
/// goes as `body`, as many chunks of the body.
fn pieces<'a>(
    page: &'a Page,
    body: Option<&'a EncodedPage>,
) -> Box<dyn Iterator<Item = Piece<'a>> + 'a> {
    let height = page.height();
    let percent = |done: u64, total: u64| (done * 100 / total.max(1)) as i32;
    match body {
        None => Box::new(page.bands(BAND_ROWS).map(move |band| Piece {
            first_row: band.first_row,
            percent: percent(u64::from(band.first_row + band.rows), u64::from(height)),
            data: PieceData::Band(band),
        })),
        Some(body) => {
            let total = body.bytes.len() as u64;
            let steps = height.div_ceil(BAND_ROWS).max(1);
            Box::new(
                body.chunks(steps)
                    .zip((0..).step_by(BAND_ROWS as usize))
                    .map(move |((bytes, sent), first_row)| Piece {
                        first_row,
                        percent: percent(sent as u64, total),
                        data: PieceData::Bytes(bytes),
                    }),
            )
        }
    }
}

/// A page ready to send: its pixels, its encoded body (when pages go
/// encoded) and how it is announced.
struct Prepared {
    page: Page,
    body: Option<EncodedPage>,
    data: PageData,
}

/// How a page attempt ends after a mid-page condition was handled.
enum FaultEnd {
    /// Scan the page again.
    Retry,
}

/// Why an acquisition stopped early.
enum Stop {
    Cancelled,
    Error(DriverError),
}

impl From<Interrupted> for Stop {
    fn from(value: Interrupted) -> Self {
        match value {
            Interrupted::Cancelled => Stop::Cancelled,
            timeout @ Interrupted::TimedOut(_) => Stop::Error(timeout.into()),
        }
    }
}

/// The device freezes: nothing comes back, and the cancel is not looked
/// at, for [`FREEZE`].
fn freeze(sink: &mut dyn AcquireSink) -> Stop {
    let clock = sink.clock();
    let until = clock.now().saturating_add(FREEZE);
    clock.sleep_until(until, &CancelToken::new());
    Stop::Error(DriverError::Communication(String::from(
        "the virtual scanner froze",
    )))
}

fn mid_page_fault_applies(fault: Fault, flatbed: bool) -> bool {
    match fault {
        Fault::Jam(_) | Fault::MultiFeed(_) => !flatbed,
        Fault::CoverOpen(_) | Fault::Disconnect(_) | Fault::Hang(_) | Fault::Freeze(_) => true,
        Fault::Empty | Fault::Busy => false,
    }
}

impl Driver for SimDriver {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: self.id.clone(),
            name: String::from(SIM_NAME),
            kind: String::from(SIM_KIND),
        }
    }

    fn items(&self) -> Result<Item, DriverError> {
        let mut root = Item::new("", ROOT_ITEM, ItemFlags::ROOT | ItemFlags::FOLDER);
        let source = ItemFlags::IMAGE | ItemFlags::TRANSFER | ItemFlags::PROGRAMMABLE_DATA_SOURCE;
        let mut flatbed = Item::new(ROOT_ITEM, FLATBED_ITEM, source);
        if !self.regions.is_empty() {
            flatbed.flags = flatbed.flags | ItemFlags::FOLDER;
            flatbed.children = self.regions.clone();
        }
        root.children.push(flatbed);
        root.children.push(Item::new(ROOT_ITEM, "Feeder", source));
        root.children.push(self.storage.item(ROOT_ITEM));
        Ok(root)
    }

    fn capabilities(&self) -> Result<Capabilities, DriverError> {
        Ok(sim_capabilities())
    }

    fn acquire(
        &mut self,
        request: &AcquireRequest,
        sink: &mut dyn AcquireSink,
    ) -> Result<AcquireEnd, DriverError> {
        let result = if request.item.flags.contains(ItemFlags::FILE) {
            self.acquire_file(&request.item, sink)
        } else {
            self.acquire_scan(request, sink)
        };
        match result {
            Ok(end) => Ok(end),
            Err(Stop::Cancelled) => Ok(AcquireEnd::Cancelled),
            Err(Stop::Error(e)) => Err(e),
        }
    }

    fn upload(&mut self, item: &Item, source: &mut dyn UploadSource) -> Result<u64, DriverError> {
        if !item.flags.contains(ItemFlags::FILE) {
            return Err(DriverError::Unsupported(format!(
                "{} is not a file: create a child item first",
                item.full_name
            )));
        }
        self.storage.upload(item, source)
    }

    fn create_child_item(
        &mut self,
        parent: &Item,
        name: &str,
        _flags: ItemFlags,
    ) -> Result<Item, DriverError> {
        self.storage.create_child(parent, name)
    }

    fn scans_children_in_one_pass(&self, folder: &Item) -> bool {
        folder.name == FLATBED_ITEM
    }

    fn create_generated_item(
        &mut self,
        parent: &Item,
        area: ItemArea,
    ) -> Result<Item, DriverError> {
        if parent.name != FLATBED_ITEM {
            return Err(DriverError::Unsupported(format!(
                "regions can only be made on the flatbed, not {}",
                parent.full_name
            )));
        }
        let (max_w, max_h) = GLASS_MM;
        let sane = [
            area.x_mm,
            area.y_mm,
            area.width_mm,
            area.height_mm,
            area.angle_deg,
        ]
        .iter()
        .all(|v| v.is_finite())
            && area.width_mm > 0.0
            && area.height_mm > 0.0
            && area.width_mm <= max_w.hypot(max_h)
            && area.height_mm <= max_w.hypot(max_h);
        if !sane {
            return Err(DriverError::InvalidSetting(format!(
                "region {area:?} does not fit on the flatbed"
            )));
        }
        let name = format!("Region {}", self.regions.len() + 1);
        let full = format!("{ROOT_ITEM}/{FLATBED_ITEM}");
        let mut item = Item::new(
            &full,
            &name,
            ItemFlags::IMAGE | ItemFlags::TRANSFER | ItemFlags::GENERATED,
        );
        item.area = Some(area);
        self.regions.push(item.clone());
        Ok(item)
    }

    fn clear_generated_items(&mut self, parent: &Item) {
        if parent.name == FLATBED_ITEM {
            self.regions.clear();
        }
    }
}
