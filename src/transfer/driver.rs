//! The device back end's side of a transfer (WIA's minidriver): the
//! [`Driver`] trait every back end implements, and the [`AcquireSink`] the
//! transfer layer hands it while it acquires.
//!
//! The call order a driver follows for every page of an acquisition:
//! [`AcquireSink::begin_page`] (before the first byte; answer Continue, Skip
//! or Cancel), then [`AcquireSink::start_data`] with the page's raw header or
//! encoded format, then bands or encoded bytes with progress, then
//! [`AcquireSink::end_page`]. A device condition mid-page goes to
//! [`AcquireSink::device_status`]; when it answers [`StatusOutcome::Retry`]
//! the driver scans the same page again from `start_data` on (no new
//! `begin_page`). Waiting for the device goes through [`AcquireSink::wait`]
//! so that cancels wake it and the no-data timeout applies.

use super::callback::{Side, StatusHandler};
use super::codes::{ItemFlags, StatusCode};
use super::item::{Item, ItemArea};
use super::settings::{ColorMode, PageSize, ScanSettings, Source};
use crate::clock::{CancelToken, SharedClock};
use crate::raster::{Band, PageHeader};
use crate::stream::FileFormat;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Who a device is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The device id (`KIND:REST`).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// What kind of device it is, as its back end names it for people
    /// (`virtual`, `network`, `usb`, `camera`, `sane`, ...): an open set,
    /// one more with every back end.
    pub kind: String,
}

/// The values a numeric setting may take on a device: a list, or a range
/// with a step (eSCL and SANE describe resolutions both ways).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Choice {
    /// Exactly these values, ascending.
    List(Vec<u32>),
    /// `min, min + step, ..., max` (`step` 0 counts as 1).
    Range {
        /// Lowest value.
        min: u32,
        /// Highest value.
        max: u32,
        /// Distance between two values.
        step: u32,
    },
}

impl Choice {
    /// True when `value` is offered.
    pub fn contains(&self, value: u32) -> bool {
        match self {
            Choice::List(values) => values.contains(&value),
            Choice::Range { min, max, step } => {
                (*min..=*max).contains(&value) && (value - min).is_multiple_of((*step).max(1))
            }
        }
    }

    /// The offered value nearest to `value` (the lower one on a tie), or
    /// `None` for an empty list.
    pub fn nearest(&self, value: u32) -> Option<u32> {
        match self {
            Choice::List(values) => values
                .iter()
                .copied()
                .min_by_key(|v| (v.abs_diff(value), *v)),
            Choice::Range { min, max, step } => {
                let step = (*step).max(1);
                let top = min + (max.saturating_sub(*min) / step) * step;
                let clamped = value.clamp(*min, top.max(*min));
                let below = min + (clamped - min) / step * step;
                let above = (below + step).min(top);
                Some(if clamped - below <= above.saturating_sub(clamped) {
                    below
                } else {
                    above
                })
            }
        }
    }

    /// Lowest offered value.
    pub fn min(&self) -> Option<u32> {
        match self {
            Choice::List(values) => values.iter().copied().min(),
            Choice::Range { min, .. } => Some(*min),
        }
    }

    /// Highest offered value.
    pub fn max(&self) -> Option<u32> {
        match self {
            Choice::List(values) => values.iter().copied().max(),
            Choice::Range { min, max, step } => {
                let step = (*step).max(1);
                Some(min + (max.saturating_sub(*min) / step) * step)
            }
        }
    }

    /// The offered values among `candidates` (for a menu), or all of a
    /// list.
    pub fn menu(&self, candidates: &[u32]) -> Vec<u32> {
        match self {
            Choice::List(values) => values.clone(),
            Choice::Range { .. } => candidates
                .iter()
                .copied()
                .filter(|v| self.contains(*v))
                .collect(),
        }
    }

    /// For people: `75, 150, 300` or `75..1200 in steps of 1`.
    pub fn describe(&self) -> String {
        match self {
            Choice::List(values) => values
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            Choice::Range { min, max, step } => {
                format!("{min}..{max} in steps of {}", (*step).max(1))
            }
        }
    }
}

/// What one paper source of a device can do. Real scanners differ by
/// source: a feeder often has fewer resolutions and a longer, narrower
/// largest area than the flatbed, and only some feeders scan both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceCapabilities {
    /// The source (`Duplex` is a feeder that scans both sides).
    pub source: Source,
    /// Resolutions in dpi.
    pub resolutions: Choice,
    /// Colour modes.
    pub modes: Vec<ColorMode>,
    /// Paper sizes the device knows by name (`Auto`: it detects the
    /// length).
    pub sizes: Vec<PageSize>,
    /// Largest scan area, millimetres (width, height).
    pub max_area_mm: (f64, f64),
    /// Encodings the device itself can send pages in (empty: raw rows
    /// only).
    pub formats: Vec<FileFormat>,
}

impl SourceCapabilities {
    /// Why `settings` cannot be scanned from this source, naming what it
    /// offers instead; `None` when they can.
    pub fn refuse(&self, settings: &ScanSettings) -> Option<String> {
        let name = settings.source.as_str();
        if !self.resolutions.contains(settings.dpi) {
            return Some(format!(
                "the {name} does not scan at {} dpi (it offers {} dpi)",
                settings.dpi,
                self.resolutions.describe()
            ));
        }
        if !self.modes.contains(&settings.mode) {
            let offered: Vec<&str> = self.modes.iter().map(|m| m.as_str()).collect();
            return Some(format!(
                "the {name} does not scan in {} (it offers {})",
                settings.mode.as_str(),
                offered.join(", ")
            ));
        }
        let (w, h) = self.max_area_mm;
        let (pw, ph) = settings.size.millimetres();
        if pw > w + 0.05 || ph.is_some_and(|ph| ph > h + 0.05) {
            return Some(format!(
                "the page size ({pw:.0} x {} mm) does not fit the {name}'s largest area, {w:.0} x {h:.0} mm",
                ph.map_or_else(|| String::from("any"), |ph| format!("{ph:.0}"))
            ));
        }
        if let Some(area) = settings.area
            && settings.source == Source::Flatbed
            && !area.lies_within((w, h))
        {
            return Some(format!(
                "the scan area {:.0},{:.0} {:.0} x {:.0} mm does not lie on the {w:.0} x {h:.0} mm glass",
                area.x_mm, area.y_mm, area.width_mm, area.height_mm
            ));
        }
        if settings.size == PageSize::Auto && !self.sizes.contains(&PageSize::Auto) {
            return Some(format!("the {name} cannot detect the page length"));
        }
        None
    }
}

/// What a device can do, source by source, to fill settings and validate
/// requests. Fetched from the device when it is opened (a network device's
/// fetch can fail: see [`Driver::capabilities`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Paper sources, each with what it offers.
    pub sources: Vec<SourceCapabilities>,
    /// True when the device has a storage folder that accepts uploads.
    pub storage: bool,
}

impl Capabilities {
    /// A device whose every source offers the same (many simple devices,
    /// and legacy drivers that describe one option set for all sources).
    pub fn uniform(
        sources: &[Source],
        resolutions: Choice,
        modes: Vec<ColorMode>,
        sizes: Vec<PageSize>,
        max_area_mm: (f64, f64),
        storage: bool,
    ) -> Capabilities {
        Capabilities {
            sources: sources
                .iter()
                .map(|&source| SourceCapabilities {
                    source,
                    resolutions: resolutions.clone(),
                    modes: modes.clone(),
                    sizes: sizes.clone(),
                    max_area_mm,
                    formats: Vec::new(),
                })
                .collect(),
            storage,
        }
    }

    /// What `source` offers, when the device has it.
    pub fn source(&self, source: Source) -> Option<&SourceCapabilities> {
        self.sources.iter().find(|s| s.source == source)
    }

    /// The sources, in the device's order.
    pub fn source_list(&self) -> Vec<Source> {
        self.sources.iter().map(|s| s.source).collect()
    }

    /// Why `settings` cannot be scanned on this device, naming what it
    /// offers; `None` when they can.
    pub fn refuse(&self, settings: &ScanSettings) -> Option<String> {
        match self.source(settings.source) {
            Some(source) => source.refuse(settings),
            None => {
                let offered: Vec<&str> = self.sources.iter().map(|s| s.source.as_str()).collect();
                Some(format!(
                    "the device has no {} (it offers {})",
                    settings.source.as_str(),
                    offered.join(", ")
                ))
            }
        }
    }
}

/// One page's data announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageData {
    /// Raw rows follow, described by this header.
    Raw(PageHeader),
    /// An encoded image (or file) follows, in this format, of this size
    /// when known. `header` describes the image when the device knows it.
    Encoded {
        /// Encoding of the bytes.
        format: FileFormat,
        /// Total size in bytes, when known.
        size: Option<u64>,
        /// Image geometry, when known.
        header: Option<PageHeader>,
    },
}

/// The start of a page, as the driver announces it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageStart {
    /// The item the page belongs to (e.g. `Feeder`, a region, a file).
    pub item: Item,
    /// Which side of the sheet.
    pub side: Side,
}

/// The layer's answer to [`AcquireSink::begin_page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageGo {
    /// Send the page.
    Continue,
    /// The application skipped this page: move the paper on, send no data.
    Skip,
    /// The job is cancelled: stop the device and return.
    Cancel,
}

/// What the driver does after a device status went through the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    /// A success status: carry on where you were.
    Continue,
    /// The condition was handled (paper cleared, cover closed): scan the
    /// interrupted page again from its start.
    Retry,
    /// The job is cancelled: stop and return.
    Cancel,
    /// Unhandled error: return `Err(DriverError::Status(code))`.
    Fail(StatusCode),
}

/// Why a wait for the device ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// The job was cancelled.
    Cancelled,
    /// The device sent nothing for longer than the no-data timeout.
    TimedOut(Duration),
}

/// How an acquisition ended without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireEnd {
    /// Everything asked for was sent (or the feeder emptied with pages = 0).
    Done,
    /// The feeder ran out of paper (after at least one page).
    FeederEmpty,
    /// The job was cancelled and the device stopped.
    Cancelled,
}

/// Errors a device back end reports.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// A device condition that nobody handled (jam, cover open, ...).
    #[error("{}", .0.description())]
    Status(StatusCode),
    /// The job was cancelled.
    #[error("the job was cancelled")]
    Cancelled,
    /// The device stopped sending data.
    #[error("the device sent no data for {} s", .0.as_secs())]
    NoData(Duration),
    /// The connection to the device broke.
    #[error("lost contact with the device: {0}")]
    Communication(String),
    /// The device's storage has no room left.
    #[error("the device storage is full ({needed} bytes needed, {free} free)")]
    StorageFull {
        /// Bytes the operation needed.
        needed: u64,
        /// Bytes that were free.
        free: u64,
    },
    /// No item with that name exists.
    #[error("no item named {0}")]
    NoSuchItem(String),
    /// The device cannot do this.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// A setting is out of the device's range.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// The application's source for an upload failed or was empty.
    #[error("upload source: {0}")]
    Source(String),
}

impl DriverError {
    /// The WIA code that stands for this error.
    pub fn code(&self) -> StatusCode {
        match self {
            DriverError::Status(code) => *code,
            DriverError::Cancelled => StatusCode::GENERAL_ERROR,
            DriverError::NoData(_) | DriverError::Communication(_) => {
                StatusCode::DEVICE_COMMUNICATION
            }
            DriverError::StorageFull { .. } => StatusCode::USER_INTERVENTION,
            DriverError::NoSuchItem(_) => StatusCode::ITEM_DELETED,
            DriverError::Unsupported(_) | DriverError::InvalidSetting(_) => {
                StatusCode::INVALID_COMMAND
            }
            DriverError::Source(_) => StatusCode::GENERAL_ERROR,
        }
    }
}

impl From<Interrupted> for DriverError {
    fn from(value: Interrupted) -> Self {
        match value {
            Interrupted::Cancelled => DriverError::Cancelled,
            Interrupted::TimedOut(d) => DriverError::NoData(d),
        }
    }
}

/// One acquisition the layer asks a driver for.
#[derive(Debug, Clone)]
pub struct AcquireRequest {
    /// The item to acquire (a source, a file, or a folder scanned in one
    /// pass).
    pub item: Item,
    /// For a single-pass folder acquisition: the children to deliver, one
    /// page each, in this order.
    pub children: Vec<Item>,
    /// The job's settings.
    pub settings: ScanSettings,
}

/// The transfer layer's services to a driver during [`Driver::acquire`].
pub trait AcquireSink {
    /// Announces a page before its first byte.
    fn begin_page(&mut self, start: PageStart) -> PageGo;
    /// Announces the page's data (again after a retry).
    fn start_data(&mut self, data: PageData) -> StatusFlow;
    /// After a handled fault on the back of a sheet, a feeder that feeds
    /// the whole sheet again sends its front once more before the back.
    /// It announces that side here (`side`, with the data it comes as)
    /// instead of with [`AcquireSink::start_data`]: the rows or body bytes
    /// that follow, up to the next `start_data`, are the side already
    /// delivered, and the layer discards them (they count as bytes read,
    /// but are never written, shown or reported as progress). There is no
    /// `end_page` for it; the next `start_data` announces the back again.
    fn refed_side(&mut self, side: Side, data: PageData) -> StatusFlow;
    /// Delivers raw rows of the current page.
    fn band(&mut self, band: &Band) -> StatusFlow;
    /// Delivers encoded bytes of the current page.
    fn encoded(&mut self, bytes: &[u8]) -> StatusFlow;
    /// Reports the current page's progress (0..=100, -1 unknown).
    fn progress(&mut self, percent: i32) -> StatusFlow;
    /// The current page is complete.
    fn end_page(&mut self) -> StatusFlow;
    /// Reports a device condition; it runs the status-handler chain.
    fn device_status(&mut self, code: StatusCode, percent: Option<u8>) -> StatusOutcome;
    /// Waits `duration` for the device (its pace, a retry delay).
    /// Wakes at once on cancel; fails when the no-data timeout passes.
    /// `Duration::MAX` waits until one of those happens.
    fn wait(&mut self, duration: Duration) -> Result<(), Interrupted>;
    /// The job's cancel token (register a device-level cancel with it).
    fn cancel_token(&self) -> CancelToken;
    /// The job's clock.
    fn clock(&self) -> SharedClock;
}

/// Whether the driver should go on after handing data to the layer.
pub type StatusFlow = Result<(), Interrupted>;

/// A device back end.
pub trait Driver: Send {
    /// Who the device is.
    fn info(&self) -> DeviceInfo;

    /// The device's item tree, as it is now (a network device asks it,
    /// which can fail).
    fn items(&self) -> Result<Item, DriverError>;

    /// What the device can do, source by source (fetched from the device,
    /// which can fail; an error is reported as such, never as a device
    /// that can do nothing).
    fn capabilities(&self) -> Result<Capabilities, DriverError>;

    /// Acquires `request.item`, page by page, into `sink`.
    fn acquire(
        &mut self,
        request: &AcquireRequest,
        sink: &mut dyn AcquireSink,
    ) -> Result<AcquireEnd, DriverError>;

    /// The driver's own handler in the status chain (after the
    /// application's, before the default), taken before an acquisition
    /// starts. `None`: the driver handles nothing itself.
    fn status_handler(&mut self) -> Option<Box<dyn StatusHandler>> {
        None
    }

    /// True when the driver scans every child of `folder` in one pass
    /// (CHILDREN_SINGLE_SCAN), e.g. several regions of one flatbed scan.
    fn scans_children_in_one_pass(&self, _folder: &Item) -> bool {
        false
    }

    /// Writes `source` into the existing item `item`.
    fn upload(&mut self, item: &Item, _source: &mut dyn UploadSource) -> Result<u64, DriverError> {
        Err(DriverError::Unsupported(format!(
            "{} does not accept uploads",
            item.full_name
        )))
    }

    /// Creates a Generated child item of the source `parent` covering
    /// `area` (the segmentation filter's regions).
    fn create_generated_item(
        &mut self,
        parent: &Item,
        _area: ItemArea,
    ) -> Result<Item, DriverError> {
        Err(DriverError::Unsupported(format!(
            "{} cannot have region items",
            parent.full_name
        )))
    }

    /// Removes every Generated child item of `parent`.
    fn clear_generated_items(&mut self, _parent: &Item) {}

    /// Creates a new (empty) child item under the storage folder `parent`.
    fn create_child_item(
        &mut self,
        parent: &Item,
        name: &str,
        _flags: ItemFlags,
    ) -> Result<Item, DriverError> {
        Err(DriverError::Unsupported(format!(
            "cannot create {name} in {}",
            parent.full_name
        )))
    }
}

/// The application's data for an upload, as a driver reads it.
pub trait UploadSource {
    /// Reads the next bytes (0 = end). Fails with
    /// [`DriverError::Cancelled`] once the job is cancelled.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DriverError>;
    /// Total size when the application knows it.
    fn size(&self) -> Option<u64>;
}
