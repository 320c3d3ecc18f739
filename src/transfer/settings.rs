//! Typed scan settings. Each field names the WIA property it stands for.

use crate::filter::FilterSettings;
use crate::output::FileFormat;
use crate::raster::PixelFormat;
use serde::{Deserialize, Serialize};

/// Which part of the scanner the paper comes from
/// (`WIA_IPS_DOCUMENT_HANDLING_SELECT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The glass (FLATBED): one page per scan.
    #[default]
    Flatbed,
    /// The automatic document feeder, front sides only (FEEDER).
    Feeder,
    /// The feeder, both sides (FEEDER | DUPLEX); each side is a page.
    Duplex,
}

impl Source {
    /// The item name the source scans from on a typical device.
    pub fn item_name(self) -> &'static str {
        match self {
            Source::Flatbed => "Flatbed",
            Source::Feeder | Source::Duplex => "Feeder",
        }
    }

    /// Lower-case name as used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Flatbed => "flatbed",
            Source::Feeder => "feeder",
            Source::Duplex => "duplex",
        }
    }
}

/// Colour mode (`WIA_IPA_DATATYPE` / `WIA_IPA_DEPTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ColorMode {
    /// 24-bit colour (WIA_DATA_COLOR).
    #[default]
    Color,
    /// 8-bit gray (WIA_DATA_GRAYSCALE).
    Gray,
    /// 1-bit black and white (WIA_DATA_THRESHOLD).
    Bw,
}

impl ColorMode {
    /// The raster format a page in this mode has.
    pub fn pixel_format(self) -> PixelFormat {
        match self {
            ColorMode::Color => PixelFormat::Rgb8,
            ColorMode::Gray => PixelFormat::Gray8,
            ColorMode::Bw => PixelFormat::Bw1,
        }
    }

    /// Lower-case name as used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ColorMode::Color => "color",
            ColorMode::Gray => "gray",
            ColorMode::Bw => "bw",
        }
    }
}

/// Paper size (`WIA_IPS_PAGE_SIZE`, with `WIA_IPS_PAGE_WIDTH/HEIGHT` for
/// custom sizes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PageSize {
    /// ISO A4, 210 x 297 mm.
    #[default]
    A4,
    /// US Letter, 8.5 x 11 in.
    Letter,
    /// US Legal, 8.5 x 14 in.
    Legal,
    /// The device detects the page length (WIA_PAGE_AUTO): page height is
    /// unknown until the page ends.
    Auto,
    /// A custom area in millimetres.
    Custom {
        /// Width in millimetres.
        width_mm: f64,
        /// Height in millimetres.
        height_mm: f64,
    },
}

impl PageSize {
    /// Nominal size in millimetres; `Auto` has no fixed length and reports A4
    /// width with `None` height.
    pub fn millimetres(self) -> (f64, Option<f64>) {
        match self {
            PageSize::A4 => (210.0, Some(297.0)),
            PageSize::Letter => (215.9, Some(279.4)),
            PageSize::Legal => (215.9, Some(355.6)),
            PageSize::Auto => (210.0, None),
            PageSize::Custom {
                width_mm,
                height_mm,
            } => (width_mm, Some(height_mm)),
        }
    }

    /// Parses `a4`, `letter`, `legal`, `auto`.
    pub fn parse(text: &str) -> Option<PageSize> {
        match text.to_ascii_lowercase().as_str() {
            "a4" => Some(PageSize::A4),
            "letter" => Some(PageSize::Letter),
            "legal" => Some(PageSize::Legal),
            "auto" => Some(PageSize::Auto),
            _ => None,
        }
    }
}

/// Pixels covering `mm` millimetres at `dpi`.
pub fn mm_to_pixels(mm: f64, dpi: u32) -> u32 {
    (mm * f64::from(dpi) / 25.4).round().max(1.0) as u32
}

/// Everything a scan job is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScanSettings {
    /// Paper source (`WIA_IPS_DOCUMENT_HANDLING_SELECT`).
    pub source: Source,
    /// Resolution in dpi, both axes (`WIA_IPS_XRES` / `WIA_IPS_YRES`).
    pub dpi: u32,
    /// Colour mode (`WIA_IPA_DATATYPE`).
    pub mode: ColorMode,
    /// Paper size (`WIA_IPS_PAGE_SIZE`).
    pub size: PageSize,
    /// Pages to transfer (`WIA_IPS_PAGES`): 0 = until the feeder is empty.
    /// In duplex each side is a page.
    pub pages: u32,
    /// File format written into the destination (`WIA_IPA_FORMAT`).
    pub format: FileFormat,
    /// JPEG quality 1..100 (`WIA_IPA_COMPRESSION` for JPEG).
    pub quality: u8,
    /// One multipage stream for the whole job instead of one stream per page
    /// (`WIA_IPA_FORMAT` with a multipage TIFF/PDF format).
    pub multipage: bool,
    /// Image-processing filter settings.
    pub filter: FilterSettings,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            source: Source::Flatbed,
            dpi: 300,
            mode: ColorMode::Color,
            size: PageSize::A4,
            pages: 0,
            format: FileFormat::Png,
            quality: 85,
            multipage: false,
            filter: FilterSettings::default(),
        }
    }
}
