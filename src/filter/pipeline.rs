//! The filter pipeline: which operations run, in what order, band by band
//! or on the whole page.
//!
//! Point operations (brightness, contrast, gamma, and black and white at a
//! fixed level) run on every band as it streams in, so the live preview
//! already shows them. Everything that needs the whole page (deskew,
//! auto-crop, rotation, blank detection, automatic threshold, despeckle)
//! buffers exactly one page and runs when that page ends; an abandoned page
//! is dropped without being flushed. [`process_page`] is the page part as a
//! pure function, shared by the streaming [`Filter`] and the preview cache.

use super::geometry::{crop, deskew, detect_paper, snap_to_standard};
use super::ops::{
    BlankVerdict, PointLut, despeckle, detect_blank, rotate, threshold_row, to_black_and_white,
};
use super::{BlankAction, FilterSettings, Rotation, Threshold};
use crate::raster::{Band, Page, PageHeader, PixelFormat};
use crate::stream::{Destination, FileFormat, PageEncoder, Side};
use std::io;

/// Largest speck (in pixels at 300 dpi) that despeckling removes.
const SPECK_PIXELS_AT_300_DPI: u32 = 12;

/// What the filter found out about a page.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PageReport {
    /// Blank detection's verdict, when it ran.
    pub blank: Option<BlankVerdict>,
    /// The skew angle found and corrected, degrees counter-clockwise.
    pub skew: Option<f64>,
    /// The page was blank and the settings say drop it.
    pub dropped: bool,
}

/// The rotation a page of `side` gets under `settings`.
pub fn rotation_for(settings: &FilterSettings, side: Side) -> Rotation {
    if settings.rotate_back && side == Side::Back {
        settings.rotation.then(Rotation::Cw180)
    } else {
        settings.rotation
    }
}

/// True when a page must be buffered whole before it can be written.
pub fn needs_whole_page(settings: &FilterSettings, side: Side) -> bool {
    rotation_for(settings, side) != Rotation::None
        || settings.deskew
        || settings.autocrop
        || settings.blank.is_some()
        || settings.threshold == Some(Threshold::Auto)
        || settings.despeckle
}

/// The page operations of `settings`, in order, on a page whose point
/// operations already ran: deskew, auto-crop, rotation, blank detection,
/// black and white, despeckle. Returns `None` for a dropped blank page.
pub fn process_page(
    settings: &FilterSettings,
    side: Side,
    page: Page,
) -> (Option<Page>, PageReport) {
    let mut report = PageReport::default();
    let mut page = page;
    if settings.deskew {
        let (straight, angle) = deskew(&page);
        report.skew = angle;
        page = straight;
    }
    if settings.autocrop
        && let Some(found) = detect_paper(&page)
    {
        let rect = snap_to_standard(found, page.header.dpi_x, page.header.dpi_y);
        page = crop(&page, rect);
    }
    let rotation = rotation_for(settings, side);
    if rotation != Rotation::None {
        page = rotate(&page, rotation);
    }
    if let Some(action) = settings.blank {
        let verdict = detect_blank(&page, settings.blank_sensitivity);
        report.blank = Some(verdict);
        if verdict.blank && action == BlankAction::Drop {
            report.dropped = true;
            return (None, report);
        }
    }
    if let Some(threshold) = settings.threshold
        && page.header.format != PixelFormat::Bw1
    {
        page = to_black_and_white(&page, threshold);
    }
    if settings.despeckle {
        let speck = (SPECK_PIXELS_AT_300_DPI * page.header.dpi_x.max(1) / 300).max(1);
        despeckle(&mut page, speck);
    }
    (Some(page), report)
}

/// The filter's recipe for the pages of one side: which operations run
/// per band (the point lookup table), whether the page must be buffered
/// whole, and the page operations after it. Built once here and used by
/// every path that filters pages: the streaming [`Filter`] of a scan, the
/// preview cache's re-renders, tiles, and export.
#[derive(Debug, Clone)]
pub struct Recipe {
    settings: FilterSettings,
    side: Side,
    lut: PointLut,
    whole_page: bool,
}

impl Recipe {
    /// The recipe of `settings` for a page of `side`.
    pub fn new(settings: &FilterSettings, side: Side) -> Recipe {
        Recipe {
            settings: *settings,
            side,
            lut: PointLut::from_settings(settings),
            whole_page: needs_whole_page(settings, side),
        }
    }

    /// The point operations every band goes through as it streams in.
    pub fn point(&self) -> &PointLut {
        &self.lut
    }

    /// True when the page must be buffered whole before it is written.
    pub fn needs_whole_page(&self) -> bool {
        self.whole_page
    }

    /// The point operations on a whole page, in place.
    pub fn point_page(&self, page: &mut Page) {
        if !self.lut.is_identity() {
            self.lut.apply_page(page);
        }
    }

    /// The page operations, on a page whose point operations already ran;
    /// `None` for a dropped blank page.
    pub fn page_ops(&self, page: Page) -> (Option<Page>, PageReport) {
        process_page(&self.settings, self.side, page)
    }

    /// The whole recipe on an unfiltered page: point, then page
    /// operations.
    pub fn apply(&self, mut page: Page) -> (Option<Page>, PageReport) {
        self.point_page(&mut page);
        self.page_ops(page)
    }
}

/// Decodes an encoded page into 8-bit gray, for blank detection; `None`
/// when it is not an image the decoder reads.
fn decode_gray(bytes: &[u8]) -> Option<Page> {
    let gray = image::load_from_memory(bytes).ok()?.to_luma8();
    Some(Page {
        header: PageHeader {
            width: gray.width(),
            height: Some(gray.height()),
            format: PixelFormat::Gray8,
            dpi_x: 0,
            dpi_y: 0,
        },
        data: gray.into_raw(),
    })
}

/// Receives the bands after the point operations (the live preview).
pub trait BandTap: Send + Sync {
    /// A band of the current page after the point operations.
    fn band(&self, band: &Band);
}

enum Current {
    /// No page is open.
    Idle,
    /// Rows stream to the encoder; `threshold` is a fixed level to apply.
    Streaming {
        header: PageHeader,
        threshold: Option<u8>,
    },
    /// Rows collect into one page, processed at its end.
    Buffering { page: Page, rows: u32 },
    /// An encoded page passes through untouched; with blank detection on,
    /// a copy of its bytes is kept to judge the page at its end.
    Encoded { copy: Option<Vec<u8>> },
    /// The page's end failed inside the encoder (a full disk): the
    /// encoder's page is still open, for `abandon_page` to cut off.
    Failed,
}

/// The filter stage: wraps the encoder of a destination stream.
pub struct Filter {
    settings: FilterSettings,
    recipe: Recipe,
    inner: Box<dyn PageEncoder>,
    tap: Option<std::sync::Arc<dyn BandTap>>,
    side: Side,
    current: Current,
    report: Option<PageReport>,
    row_buf: Vec<u8>,
}

impl Filter {
    /// Wraps `inner` with a filter applying `settings`.
    pub fn new(settings: FilterSettings, inner: Box<dyn PageEncoder>) -> Filter {
        Filter {
            recipe: Recipe::new(&settings, Side::Front),
            settings,
            inner,
            tap: None,
            side: Side::Front,
            current: Current::Idle,
            report: None,
            row_buf: Vec::new(),
        }
    }

    /// Shows every band after the point operations to `tap`.
    pub fn with_tap(mut self, tap: std::sync::Arc<dyn BandTap>) -> Filter {
        self.tap = Some(tap);
        self
    }

    /// The settings this filter applies.
    pub fn settings(&self) -> &FilterSettings {
        &self.settings
    }

    /// Tells the filter which side the next page is (for "rotate back
    /// sides"). Call before `begin_page`.
    pub fn set_side(&mut self, side: Side) {
        self.side = side;
        self.recipe = Recipe::new(&self.settings, side);
    }

    /// What the filter found out about the last completed page.
    pub fn take_report(&mut self) -> Option<PageReport> {
        self.report.take()
    }

    /// Applies the point operations to a copy of `band`.
    fn point_band(&self, header: &PageHeader, band: &Band) -> Option<Band> {
        if self.recipe.point().is_identity() {
            return None;
        }
        let mut out = band.clone();
        self.recipe.point().apply_band(header, &mut out);
        Some(out)
    }

    fn header_in(&self) -> Option<PageHeader> {
        match &self.current {
            Current::Streaming { header, .. } => Some(*header),
            Current::Buffering { page, .. } => Some(page.header),
            _ => None,
        }
    }
}

impl PageEncoder for Filter {
    fn begin_page(&mut self, header: &PageHeader) -> io::Result<()> {
        self.report = None;
        if self.recipe.needs_whole_page() {
            let height = header.height.unwrap_or(0);
            let mut page = Page {
                header: PageHeader {
                    height: Some(0),
                    ..*header
                },
                data: Vec::new(),
            };
            page.data.reserve(header.row_bytes() * height as usize);
            self.current = Current::Buffering { page, rows: 0 };
            return Ok(());
        }
        let threshold = match self.settings.threshold {
            Some(Threshold::Fixed(level)) if header.format != PixelFormat::Bw1 => Some(level),
            _ => None,
        };
        let out = PageHeader {
            format: if threshold.is_some() {
                PixelFormat::Bw1
            } else {
                header.format
            },
            ..*header
        };
        self.inner.begin_page(&out)?;
        self.current = Current::Streaming {
            header: *header,
            threshold,
        };
        Ok(())
    }

    fn write_band(&mut self, band: &Band) -> io::Result<()> {
        let Some(header) = self.header_in() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "rows arrived outside of a page",
            ));
        };
        let pointed = self.point_band(&header, band);
        let band = pointed.as_ref().unwrap_or(band);
        if let Some(tap) = &self.tap {
            tap.band(band);
        }
        match &mut self.current {
            Current::Streaming {
                threshold: Some(level),
                header,
            } => {
                let level = *level;
                let header = *header;
                let width = header.width as usize;
                let mut out = Vec::with_capacity(
                    PixelFormat::Bw1.row_bytes(header.width) * band.rows as usize,
                );
                for row in band.row_iter(header.row_bytes()) {
                    self.row_buf.clear();
                    threshold_row(header.format, row, width, level, &mut self.row_buf);
                    out.extend_from_slice(&self.row_buf);
                }
                self.inner.write_band(&Band {
                    first_row: band.first_row,
                    rows: band.rows,
                    data: out,
                })
            }
            Current::Streaming {
                threshold: None, ..
            } => self.inner.write_band(band),
            Current::Buffering { page, rows } => {
                page.data.extend_from_slice(&band.data);
                *rows += band.rows;
                page.header.height = Some(*rows);
                Ok(())
            }
            Current::Idle | Current::Encoded { .. } | Current::Failed => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "rows arrived outside of a page",
            )),
        }
    }

    fn accepts_encoded(&self, format: FileFormat) -> bool {
        self.settings.is_neutral() && self.inner.accepts_encoded(format)
    }

    fn begin_encoded(&mut self, format: FileFormat, header: Option<&PageHeader>) -> io::Result<()> {
        self.report = None;
        self.current = Current::Encoded {
            copy: self.settings.blank.is_some().then(Vec::new),
        };
        self.inner.begin_encoded(format, header)
    }

    fn write_encoded(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Current::Encoded { copy: Some(copy) } = &mut self.current {
            copy.extend_from_slice(bytes);
        }
        self.inner.write_encoded(bytes)
    }

    fn end_page(&mut self) -> io::Result<()> {
        let result = match std::mem::replace(&mut self.current, Current::Idle) {
            Current::Idle | Current::Failed => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "end of a page that never began",
                ));
            }
            open => self.end_open_page(open),
        };
        if result.is_err() {
            self.current = Current::Failed;
        }
        result
    }

    fn abandon_page(&mut self) -> io::Result<()> {
        match std::mem::replace(&mut self.current, Current::Idle) {
            // Nothing of a buffered page reached the encoder.
            Current::Buffering { .. } | Current::Idle => Ok(()),
            Current::Streaming { .. } | Current::Encoded { .. } | Current::Failed => {
                self.inner.abandon_page()
            }
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }

    fn pages(&self) -> u32 {
        self.inner.pages()
    }

    fn destination(&mut self) -> &mut dyn Destination {
        self.inner.destination()
    }

    fn into_destination(self: Box<Self>) -> Box<dyn Destination> {
        self.inner.into_destination()
    }
}

impl Filter {
    /// Ends the page that was `open`: a buffered page goes through its
    /// page operations into the encoder now.
    fn end_open_page(&mut self, open: Current) -> io::Result<()> {
        match open {
            Current::Buffering { page, .. } => {
                let (page, report) = self.recipe.page_ops(page);
                self.report = Some(report);
                let Some(page) = page else {
                    // A dropped blank page: nothing reaches the encoder.
                    return Ok(());
                };
                self.inner.begin_page(&page.header)?;
                for band in page.bands(64) {
                    self.inner.write_band(&band)?;
                }
                self.inner.end_page()
            }
            Current::Streaming { .. } => {
                self.report = Some(PageReport::default());
                self.inner.end_page()
            }
            Current::Encoded { copy } => {
                // Only "flag" lets encoded bytes pass (a neutral filter), so
                // the verdict never drops the page.
                let blank = copy
                    .and_then(|bytes| decode_gray(&bytes))
                    .map(|page| detect_blank(&page, self.settings.blank_sensitivity));
                self.report = Some(PageReport {
                    blank,
                    ..PageReport::default()
                });
                self.inner.end_page()
            }
            Current::Idle | Current::Failed => Ok(()),
        }
    }
}
