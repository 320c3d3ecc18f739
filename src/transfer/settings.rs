//! Typed scan settings. Each field names the WIA property it stands for.

use crate::filter::FilterSettings;
use crate::raster::PixelFormat;
use crate::stream::FileFormat;
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

/// A rectangle of the flatbed glass to scan, in millimetres from its
/// top-left corner (`WIA_IPS_XPOS` / `WIA_IPS_YPOS` for the corner,
/// `WIA_IPS_XEXTENT` / `WIA_IPS_YEXTENT` for the size; WIA counts them in
/// pixels at the scan resolution, we keep millimetres so that an area
/// chosen on a 75 dpi preview holds at any resolution).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScanArea {
    /// Distance of the left edge from the glass's left edge.
    pub x_mm: f64,
    /// Distance of the top edge from the glass's top edge.
    pub y_mm: f64,
    /// Width.
    pub width_mm: f64,
    /// Height.
    pub height_mm: f64,
}

impl ScanArea {
    /// Smallest side of an area a device is asked to scan.
    pub const MIN_SIDE_MM: f64 = 5.0;

    /// The area cut to fit a glass of `max_mm` (width, height), or `None`
    /// when what is left is narrower than [`ScanArea::MIN_SIDE_MM`] (or
    /// the numbers are not finite).
    pub fn clamped(self, max_mm: (f64, f64)) -> Option<ScanArea> {
        let values = [self.x_mm, self.y_mm, self.width_mm, self.height_mm];
        if values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let x0 = self.x_mm.clamp(0.0, max_mm.0);
        let y0 = self.y_mm.clamp(0.0, max_mm.1);
        let x1 = (self.x_mm + self.width_mm).clamp(0.0, max_mm.0);
        let y1 = (self.y_mm + self.height_mm).clamp(0.0, max_mm.1);
        let area = ScanArea {
            x_mm: x0.min(x1),
            y_mm: y0.min(y1),
            width_mm: (x1 - x0).abs(),
            height_mm: (y1 - y0).abs(),
        };
        (area.width_mm >= Self::MIN_SIDE_MM && area.height_mm >= Self::MIN_SIDE_MM).then_some(area)
    }

    /// True when the whole area lies on a glass of `max_mm` (width,
    /// height), within a twentieth of a millimetre, and its numbers are
    /// finite.
    pub fn lies_within(self, max_mm: (f64, f64)) -> bool {
        const SLACK: f64 = 0.05;
        let values = [self.x_mm, self.y_mm, self.width_mm, self.height_mm];
        values.iter().all(|v| v.is_finite())
            && self.x_mm >= -SLACK
            && self.y_mm >= -SLACK
            && self.width_mm > 0.0
            && self.height_mm > 0.0
            && self.x_mm + self.width_mm <= max_mm.0 + SLACK
            && self.y_mm + self.height_mm <= max_mm.1 + SLACK
    }

    /// Parses `X,Y,W,H` in millimetres (the command line's `--area`).
    pub fn parse(text: &str) -> Result<ScanArea, String> {
        let numbers: Vec<f64> = text
            .split(',')
            .map(|part| part.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("`{text}` is not four numbers X,Y,WIDTH,HEIGHT in millimetres"))?;
        let [x_mm, y_mm, width_mm, height_mm] = numbers[..] else {
            return Err(format!(
                "`{text}` is not four numbers X,Y,WIDTH,HEIGHT in millimetres"
            ));
        };
        if numbers.iter().any(|v| !v.is_finite()) || x_mm < 0.0 || y_mm < 0.0 {
            return Err(format!("`{text}`: the corner must not be negative"));
        }
        if width_mm < Self::MIN_SIDE_MM || height_mm < Self::MIN_SIDE_MM {
            return Err(format!(
                "`{text}`: the area must be at least {} mm on each side",
                Self::MIN_SIDE_MM
            ));
        }
        Ok(ScanArea {
            x_mm,
            y_mm,
            width_mm,
            height_mm,
        })
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
    /// Part of the flatbed glass to scan (`WIA_IPS_XPOS`, `WIA_IPS_YPOS`,
    /// `WIA_IPS_XEXTENT`, `WIA_IPS_YEXTENT`); `None` scans the whole page
    /// size. Only the flatbed uses it: feeder pages are scanned whole.
    pub area: Option<ScanArea>,
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
            area: None,
            pages: 0,
            format: FileFormat::Png,
            quality: 85,
            multipage: false,
            filter: FilterSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_area_parses_from_four_millimetre_numbers() {
        let area = ScanArea::parse("10, 20.5,100,60").expect("parses");
        assert_eq!(
            area,
            ScanArea {
                x_mm: 10.0,
                y_mm: 20.5,
                width_mm: 100.0,
                height_mm: 60.0
            }
        );
        for bad in [
            "",
            "1,2,3",
            "1,2,3,4,5",
            "a,b,c,d",
            "-1,0,10,10",
            "0,0,1,50",
            "0,0,NaN,9",
        ] {
            assert!(ScanArea::parse(bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn an_area_is_cut_to_the_glass_or_refused_when_nothing_is_left() {
        let glass = (210.0, 297.0);
        let inside = ScanArea {
            x_mm: 10.0,
            y_mm: 10.0,
            width_mm: 50.0,
            height_mm: 50.0,
        };
        assert_eq!(inside.clamped(glass), Some(inside));
        let over = ScanArea {
            x_mm: 180.0,
            y_mm: 280.0,
            width_mm: 100.0,
            height_mm: 100.0,
        };
        let cut = over.clamped(glass).expect("30 x 17 mm are left");
        assert_eq!((cut.width_mm, cut.height_mm), (30.0, 17.0));
        let off = ScanArea {
            x_mm: 0.0,
            y_mm: 400.0,
            width_mm: 50.0,
            height_mm: 50.0,
        };
        assert_eq!(off.clamped(glass), None);
    }
}
