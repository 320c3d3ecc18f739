//! Between eSCL's words and units and the app's: colour modes, MIME types
//! and file formats, three-hundredths of an inch and millimetres, and a
//! device's [`ScannerCapabilities`] as the app's [`Capabilities`].
//!
//! The choices behind the translation are listed on
//! [`ScannerCapabilities::to_capabilities`].

use super::capabilities::{InputCaps, ResolutionRange, ScannerCapabilities};
use super::keywords::{AdfOption, EsclColorMode};
use crate::stream::FileFormat;
use crate::transfer::{Capabilities, Choice, ColorMode, PageSize, Source, SourceCapabilities};

/// Millimetres in `units` three-hundredths of an inch.
pub fn units_to_mm(units: u32) -> f64 {
    f64::from(units) * 25.4 / 300.0
}

/// Millimetres in `units` three-hundredths of an inch, rounded up to a
/// tenth of a millimetre (exactly: 2550 units are 215.9 mm, 3507 are
/// 297.0).
pub fn units_to_mm_rounded_up(units: u32) -> f64 {
    let tenths = (u64::from(units) * 254).div_ceil(300);
    tenths as f64 / 10.0
}

/// Three-hundredths of an inch nearest to `mm` millimetres (0 for negative
/// or non-finite input, `u32::MAX` at most).
pub fn mm_to_units(mm: f64) -> u32 {
    let units = (mm * 300.0 / 25.4).round();
    if units.is_nan() || units <= 0.0 {
        0
    } else if units >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        units as u32
    }
}

/// The file format of a MIME type a device sends (`image/jpeg` is
/// [`FileFormat::Jpeg`]); `None` for raw `application/octet-stream` and
/// anything else. Case and parameters (`; charset=...`) are ignored.
pub fn file_format_for_mime(mime: &str) -> Option<FileFormat> {
    let essence = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "image/jpeg" | "image/jpg" => Some(FileFormat::Jpeg),
        "image/png" => Some(FileFormat::Png),
        "image/tiff" => Some(FileFormat::Tiff),
        "application/pdf" => Some(FileFormat::Pdf),
        _ => None,
    }
}

/// The MIME type eSCL names `format` by; `None` for formats no eSCL device
/// sends (BMP, PNM).
pub fn mime_for_file_format(format: FileFormat) -> Option<&'static str> {
    match format {
        FileFormat::Jpeg => Some("image/jpeg"),
        FileFormat::Png => Some("image/png"),
        FileFormat::Tiff => Some("image/tiff"),
        FileFormat::Pdf => Some("application/pdf"),
        FileFormat::Bmp | FileFormat::Pnm => None,
    }
}

impl EsclColorMode {
    /// The app's colour mode for this one; `None` for 16-bit modes and
    /// words the app has no mode for.
    pub fn color_mode(&self) -> Option<ColorMode> {
        match self {
            EsclColorMode::BlackAndWhite1 => Some(ColorMode::Bw),
            EsclColorMode::Grayscale8 => Some(ColorMode::Gray),
            EsclColorMode::Rgb24 => Some(ColorMode::Color),
            EsclColorMode::Grayscale16 | EsclColorMode::Rgb48 | EsclColorMode::Other(_) => None,
        }
    }
}

impl From<ColorMode> for EsclColorMode {
    fn from(mode: ColorMode) -> EsclColorMode {
        match mode {
            ColorMode::Bw => EsclColorMode::BlackAndWhite1,
            ColorMode::Gray => EsclColorMode::Grayscale8,
            ColorMode::Color => EsclColorMode::Rgb24,
        }
    }
}

impl ScannerCapabilities {
    /// The input caps the app's `source` scans with: the platen for
    /// `Flatbed`, the simplex feeder for `Feeder`, and for `Duplex` the
    /// duplex feeder, or the simplex one when `AdfOptions` list `Duplex`
    /// without duplex caps.
    pub fn input(&self, source: Source) -> Option<&InputCaps> {
        match source {
            Source::Flatbed => self.platen.as_ref(),
            Source::Feeder => self.adf_simplex.as_ref(),
            Source::Duplex => self.adf_duplex.as_ref().or_else(|| {
                self.adf_simplex
                    .as_ref()
                    .filter(|_| self.adf_options.contains(&AdfOption::Duplex))
            }),
        }
    }

    /// The app's [`Capabilities`] for this device. The choices made:
    ///
    /// - Sources: `Flatbed` from the platen, `Feeder` from the simplex
    ///   feeder, `Duplex` from the duplex feeder, or from the simplex
    ///   feeder when `AdfOptions` lists `Duplex` but the device gives no
    ///   duplex caps (see [`ScannerCapabilities::input`]).
    /// - Resolutions: the app asks one dpi for both axes (and the request
    ///   writes it as both `XResolution` and `YResolution`), so only
    ///   discrete resolutions with X = Y are offered; a device's 200 x 100
    ///   or 200 x 400 are left out (asking for them as 200 x 200 would be a
    ///   different scan). All profiles' and all colour modes' lists are
    ///   merged. When a source gives no square discrete resolution, its
    ///   first range is used instead: the overlap of the X and Y ranges,
    ///   with the coarser step.
    /// - Colour modes: `BlackAndWhite1`, `Grayscale8` and `RGB24`, in the
    ///   device's order; 16-bit modes and vendor words
    ///   (`AutoColorDetection`) are not offered.
    /// - Formats: JPEG, PNG, TIFF and PDF by MIME type
    ///   ([`file_format_for_mime`]); raw `application/octet-stream` is
    ///   never offered (its layout is described nowhere).
    /// - Largest area: the device's maximum rounded up to a tenth of a
    ///   millimetre ([`units_to_mm_rounded_up`]), so that a size the device
    ///   states rounded down to its unit (A4's 297 mm as 3507 instead of
    ///   3507.87) still fits.
    /// - Sizes: A4, Letter and Legal where they fit the largest area (by
    ///   the same rule as [`SourceCapabilities::refuse`]); `Auto` (the
    ///   device finds the length) on feeder sources at least A4-wide,
    ///   since a feeder's page ends where the sheet does.
    /// - A source left with no resolution or no colour mode the app can
    ///   ask for is left out. Uploads: none (`storage` is false).
    pub fn to_capabilities(&self) -> Capabilities {
        let sources = [Source::Flatbed, Source::Feeder, Source::Duplex]
            .into_iter()
            .filter_map(|source| {
                self.input(source)
                    .and_then(|input| source_capabilities(source, input))
            })
            .collect();
        Capabilities {
            sources,
            storage: false,
        }
    }
}

fn source_capabilities(source: Source, input: &InputCaps) -> Option<SourceCapabilities> {
    let resolutions = resolution_choice(input)?;
    let mut modes: Vec<ColorMode> = Vec::new();
    for mode in input
        .color_modes()
        .iter()
        .filter_map(EsclColorMode::color_mode)
    {
        if !modes.contains(&mode) {
            modes.push(mode);
        }
    }
    if modes.is_empty() {
        return None;
    }
    let max_area_mm = (
        units_to_mm_rounded_up(input.max_width),
        units_to_mm_rounded_up(input.max_height),
    );
    let fits = |size: PageSize| {
        let (width, height) = size.millimetres();
        width <= max_area_mm.0 + 0.05 && height.is_none_or(|h| h <= max_area_mm.1 + 0.05)
    };
    let mut sizes: Vec<PageSize> = [PageSize::A4, PageSize::Letter, PageSize::Legal]
        .into_iter()
        .filter(|&size| fits(size))
        .collect();
    if source != Source::Flatbed && fits(PageSize::Auto) {
        sizes.push(PageSize::Auto);
    }
    let mut formats: Vec<FileFormat> = Vec::new();
    for format in input
        .mime_types()
        .into_iter()
        .filter_map(file_format_for_mime)
    {
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    Some(SourceCapabilities {
        source,
        resolutions,
        modes,
        sizes,
        max_area_mm,
        formats,
    })
}

/// The square discrete resolutions of every profile, or else the first
/// range.
fn resolution_choice(input: &InputCaps) -> Option<Choice> {
    let mut list: Vec<u32> = Vec::new();
    let mut range = None;
    for resolutions in input.profiles.iter().flat_map(|p| &p.resolutions) {
        list.extend(
            resolutions
                .discrete
                .iter()
                .filter(|r| r.x == r.y && r.x > 0)
                .map(|r| r.x),
        );
        if range.is_none() {
            range = resolutions.range.and_then(square_range);
        }
    }
    list.sort_unstable();
    list.dedup();
    if list.is_empty() {
        range
    } else {
        Some(Choice::List(list))
    }
}

/// The resolutions a range offers on both axes: the overlap of the two,
/// with the coarser step.
fn square_range(range: ResolutionRange) -> Option<Choice> {
    let step = |r: &super::ValueRange| r.step.unwrap_or(1).max(1);
    let min = range.x.min.max(range.y.min).max(1);
    let max = range.x.max.min(range.y.max);
    let step = step(&range.x).max(step(&range.y));
    (max >= min).then(|| Choice::Range {
        min: min.unsigned_abs(),
        max: max.unsigned_abs(),
        step: step.unsigned_abs(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_millimetres() {
        assert_eq!(units_to_mm_rounded_up(2550), 215.9);
        assert_eq!(units_to_mm_rounded_up(3507), 297.0);
        assert_eq!(units_to_mm_rounded_up(3508), 297.1);
        assert_eq!(units_to_mm_rounded_up(4200), 355.6);
        assert_eq!(units_to_mm_rounded_up(u32::MAX), 363_640_564.4);
        assert!((units_to_mm(300) - 25.4).abs() < 1e-9);
        assert_eq!(mm_to_units(210.0), 2480);
        assert_eq!(mm_to_units(297.0), 3508);
        assert_eq!(mm_to_units(215.9), 2550);
        assert_eq!(mm_to_units(-3.0), 0);
        assert_eq!(mm_to_units(f64::NAN), 0);
        assert_eq!(mm_to_units(f64::INFINITY), u32::MAX);
    }

    #[test]
    fn mime_types_and_formats() {
        assert_eq!(file_format_for_mime("IMAGE/JPEG"), Some(FileFormat::Jpeg));
        assert_eq!(
            file_format_for_mime("application/pdf; x=1"),
            Some(FileFormat::Pdf)
        );
        assert_eq!(file_format_for_mime("application/octet-stream"), None);
        for format in FileFormat::ALL {
            if let Some(mime) = mime_for_file_format(format) {
                assert_eq!(file_format_for_mime(mime), Some(format));
            }
        }
        assert_eq!(mime_for_file_format(FileFormat::Bmp), None);
    }

    #[test]
    fn colour_modes_map_both_ways() {
        for mode in [ColorMode::Color, ColorMode::Gray, ColorMode::Bw] {
            assert_eq!(EsclColorMode::from(mode).color_mode(), Some(mode));
        }
        assert_eq!(EsclColorMode::Rgb48.color_mode(), None);
    }

    #[test]
    fn a_range_offers_the_overlap_of_its_axes() {
        let axis = |min, max, step| super::super::ValueRange {
            min,
            max,
            normal: None,
            step,
        };
        let range = ResolutionRange {
            x: axis(75, 1200, Some(25)),
            y: axis(100, 2400, Some(50)),
        };
        assert_eq!(
            square_range(range),
            Some(Choice::Range {
                min: 100,
                max: 1200,
                step: 50
            })
        );
        let disjoint = ResolutionRange {
            x: axis(75, 100, None),
            y: axis(200, 300, None),
        };
        assert_eq!(square_range(disjoint), None);
        let negative = ResolutionRange {
            x: axis(-5, 10, Some(-1)),
            y: axis(-5, 10, Some(0)),
        };
        assert_eq!(
            square_range(negative),
            Some(Choice::Range {
                min: 1,
                max: 10,
                step: 1
            })
        );
    }
}
