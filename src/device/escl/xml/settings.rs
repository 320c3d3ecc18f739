//! `ScanSettings`, the body of `POST ScanJobs`: built from the app's
//! settings for one device ([`EsclScanSettings::for_scan`]), written
//! ([`EsclScanSettings::to_xml`]) and read ([`parse_scan_settings`], for
//! tests, for other clients' requests, and for the coming loopback eSCL
//! server).
//!
//! The writer uses the prefixes `escl:` and `pwg:`, so that the unit
//! keyword `escl:ThreeHundredthsOfInches` names a declared prefix, and
//! puts every element in the namespace the real clients' requests use
//! (`Version`, `ScanRegions` and `InputSource` in PWG's, the rest in
//! eSCL's). It escapes `& < > " '` and carriage returns, and leaves out the
//! characters XML 1.0 cannot carry at all (most control characters), so
//! its output is always well-formed.

use super::XmlError;
use super::capabilities::{InputCaps, ScannerCapabilities, ValueRange};
use super::keywords::{EsclColorMode, InputSource, Intent};
use super::read::read_document;
use super::vocabulary::{mime_for_file_format, mm_to_units};
use super::{PWG_NS, SCAN_NS};
use crate::stream::FileFormat;
use crate::transfer::{ScanSettings, Source};
use std::fmt::Write as _;

/// The `pwg:ContentRegionUnits` of every region eSCL knows.
pub const THREE_HUNDREDTHS_OF_INCHES: &str = "escl:ThreeHundredthsOfInches";

/// A job request (`scan:ScanSettings`). Elements a request leaves out are
/// `None`; the device then uses its defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EsclScanSettings {
    /// The eSCL version the request is written for (`pwg:Version`).
    pub version: Option<String>,
    /// What the scan is for (`scan:Intent`).
    pub intent: Option<Intent>,
    /// The regions to scan (`pwg:ScanRegions/pwg:ScanRegion`).
    pub regions: Vec<ScanRegion>,
    /// Where the paper is (`pwg:InputSource`).
    pub input_source: Option<InputSource>,
    /// Both sides of each sheet (`scan:Duplex`; feeder only).
    pub duplex: Option<bool>,
    /// Colour mode (`scan:ColorMode`).
    pub color_mode: Option<EsclColorMode>,
    /// MIME type of the pages (`pwg:DocumentFormat`).
    pub document_format: Option<String>,
    /// MIME type of the pages (`scan:DocumentFormatExt`, eSCL 2.1 on).
    pub document_format_ext: Option<String>,
    /// Dots per inch across the page (`scan:XResolution`).
    pub x_resolution: Option<u32>,
    /// Dots per inch along the page (`scan:YResolution`).
    pub y_resolution: Option<u32>,
    /// Compression, lower is better (`scan:CompressionFactor`).
    pub compression_factor: Option<i32>,
    /// Brightness, in the device's `BrightnessSupport` range
    /// (`scan:Brightness`).
    pub brightness: Option<i32>,
    /// Contrast, in the device's `ContrastSupport` range (`scan:Contrast`).
    pub contrast: Option<i32>,
    /// Black-and-white threshold, in the device's `ThresholdSupport` range
    /// (`scan:Threshold`).
    pub threshold: Option<i32>,
}

/// One region to scan, in the units `units` names (three-hundredths of an
/// inch: the only unit eSCL knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRegion {
    /// Left edge (`pwg:XOffset`; 0 when not given).
    pub x_offset: u32,
    /// Top edge (`pwg:YOffset`; 0 when not given).
    pub y_offset: u32,
    /// Width (`pwg:Width`).
    pub width: u32,
    /// Height (`pwg:Height`).
    pub height: u32,
    /// The unit keyword (`pwg:ContentRegionUnits`), as written:
    /// [`THREE_HUNDREDTHS_OF_INCHES`] in every request seen.
    pub units: Option<String>,
}

impl EsclScanSettings {
    /// The name of this document, as its root element and error messages
    /// have it.
    pub const DOCUMENT: &'static str = "ScanSettings";

    /// The version written when the device's capabilities give none.
    pub const DEFAULT_VERSION: &'static str = "2.63";

    /// The request that scans `settings` on the device `caps` describes,
    /// with pages sent as `format` (the format the device sends, which
    /// may differ from `settings.format`, the file written).
    ///
    /// - Version: the device's own (`2.63` when it gives none).
    /// - Intent: `Document` when the source lists it or lists none, else
    ///   the source's first intent.
    /// - Region: `settings.area` on the flatbed, else the page size from
    ///   the top-left corner, in three-hundredths of an inch, cut to the
    ///   source's largest area; `Auto` (length unknown) asks for the
    ///   source's whole area, full width and full length.
    /// - `Platen` for the flatbed, `Feeder` for both feeder sources, and
    ///   `Duplex` true for duplex only (left out otherwise, as real
    ///   clients do).
    /// - Resolution: `settings.dpi` on both axes.
    /// - Format: `DocumentFormat` and `DocumentFormatExt`, each written
    ///   when the source lists the MIME type in that element.
    /// - Compression (JPEG and PDF pages, when the device gives a
    ///   `CompressionFactorSupport` range): `settings.quality` 100 asks
    ///   for the range's lowest factor (the best quality), 1 for its
    ///   highest, on the range's steps.
    ///
    /// It refuses only what eSCL cannot express: a source the device does
    /// not have, a format it does not send, a colour mode the source does
    /// not list. Check `settings` against the device's
    /// [`Capabilities`](crate::transfer::Capabilities) first
    /// (`Capabilities::refuse`) for the rest.
    pub fn for_scan(
        settings: &ScanSettings,
        caps: &ScannerCapabilities,
        format: FileFormat,
    ) -> Result<EsclScanSettings, XmlError> {
        let unsupported = |detail: String| XmlError::Unsupported {
            document: Self::DOCUMENT,
            detail,
        };
        let name = settings.source.as_str();
        let input = caps.input(settings.source).ok_or_else(|| {
            let offered: Vec<&str> = [Source::Flatbed, Source::Feeder, Source::Duplex]
                .into_iter()
                .filter(|&s| caps.input(s).is_some())
                .map(Source::as_str)
                .collect();
            unsupported(format!(
                "the device has no {name} (it has: {})",
                if offered.is_empty() {
                    String::from("no source")
                } else {
                    offered.join(", ")
                }
            ))
        })?;
        let mime = mime_for_file_format(format).ok_or_else(|| {
            unsupported(format!(
                "eSCL devices do not send {} pages (only JPEG, PNG, TIFF and PDF)",
                format.name().to_ascii_uppercase()
            ))
        })?;
        let lists = |pick: fn(&super::SettingProfile) -> &Vec<String>| {
            input
                .profiles
                .iter()
                .any(|p| pick(p).iter().any(|m| m.eq_ignore_ascii_case(mime)))
        };
        let in_pwg = lists(|p| &p.document_formats);
        let in_ext = lists(|p| &p.document_formats_ext);
        if !in_pwg && !in_ext {
            return Err(unsupported(format!(
                "the {name} does not send {mime} (it sends {})",
                input.mime_types().join(", ")
            )));
        }
        let color_mode = EsclColorMode::from(settings.mode);
        let modes = input.color_modes();
        if !modes.contains(&color_mode) {
            let offered: Vec<&str> = modes.iter().map(EsclColorMode::as_str).collect();
            return Err(unsupported(format!(
                "the {name} does not scan in {} (it offers {})",
                color_mode.as_str(),
                offered.join(", ")
            )));
        }
        let compression_factor = match format {
            FileFormat::Jpeg | FileFormat::Pdf => caps
                .compression_factor
                .map(|range| compression_for(settings.quality, range)),
            _ => None,
        };
        Ok(EsclScanSettings {
            version: Some(
                caps.version
                    .clone()
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| Self::DEFAULT_VERSION.to_string()),
            ),
            intent: Some(intent_for(input)),
            regions: vec![region_for(settings, input)],
            input_source: Some(match settings.source {
                Source::Flatbed => InputSource::Platen,
                Source::Feeder | Source::Duplex => InputSource::Feeder,
            }),
            duplex: (settings.source == Source::Duplex).then_some(true),
            color_mode: Some(color_mode),
            document_format: in_pwg.then(|| mime.to_string()),
            document_format_ext: in_ext.then(|| mime.to_string()),
            x_resolution: Some(settings.dpi),
            y_resolution: Some(settings.dpi),
            compression_factor,
            brightness: None,
            contrast: None,
            threshold: None,
        })
    }

    /// The request as an XML document (UTF-8, with a declaration).
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<escl:ScanSettings xmlns:escl=\"{SCAN_NS}\" xmlns:pwg=\"{PWG_NS}\">"
        );
        leaf(&mut out, 1, "pwg:Version", self.version.as_deref());
        leaf(
            &mut out,
            1,
            "escl:Intent",
            self.intent.as_ref().map(Intent::as_str),
        );
        if !self.regions.is_empty() {
            out.push_str("  <pwg:ScanRegions pwg:MustHonor=\"false\">\n");
            for region in &self.regions {
                out.push_str("    <pwg:ScanRegion>\n");
                leaf(&mut out, 3, "pwg:Height", Some(&region.height.to_string()));
                leaf(&mut out, 3, "pwg:Width", Some(&region.width.to_string()));
                leaf(
                    &mut out,
                    3,
                    "pwg:XOffset",
                    Some(&region.x_offset.to_string()),
                );
                leaf(
                    &mut out,
                    3,
                    "pwg:YOffset",
                    Some(&region.y_offset.to_string()),
                );
                leaf(
                    &mut out,
                    3,
                    "pwg:ContentRegionUnits",
                    region.units.as_deref(),
                );
                out.push_str("    </pwg:ScanRegion>\n");
            }
            out.push_str("  </pwg:ScanRegions>\n");
        }
        leaf(
            &mut out,
            1,
            "pwg:DocumentFormat",
            self.document_format.as_deref(),
        );
        leaf(
            &mut out,
            1,
            "escl:DocumentFormatExt",
            self.document_format_ext.as_deref(),
        );
        leaf(
            &mut out,
            1,
            "pwg:InputSource",
            self.input_source.as_ref().map(InputSource::as_str),
        );
        let number = |value: Option<u32>| value.map(|v| v.to_string());
        let signed = |value: Option<i32>| value.map(|v| v.to_string());
        leaf(
            &mut out,
            1,
            "escl:XResolution",
            number(self.x_resolution).as_deref(),
        );
        leaf(
            &mut out,
            1,
            "escl:YResolution",
            number(self.y_resolution).as_deref(),
        );
        leaf(
            &mut out,
            1,
            "escl:ColorMode",
            self.color_mode.as_ref().map(EsclColorMode::as_str),
        );
        let duplex = self.duplex.map(|d| if d { "true" } else { "false" });
        leaf(&mut out, 1, "escl:Duplex", duplex);
        leaf(
            &mut out,
            1,
            "escl:Brightness",
            signed(self.brightness).as_deref(),
        );
        leaf(
            &mut out,
            1,
            "escl:CompressionFactor",
            signed(self.compression_factor).as_deref(),
        );
        leaf(
            &mut out,
            1,
            "escl:Contrast",
            signed(self.contrast).as_deref(),
        );
        leaf(
            &mut out,
            1,
            "escl:Threshold",
            signed(self.threshold).as_deref(),
        );
        out.push_str("</escl:ScanSettings>\n");
        out
    }
}

/// Writes `<tag>text</tag>` on a line of its own at `depth`, when there is
/// a text.
fn leaf(out: &mut String, depth: usize, tag: &str, text: Option<&str>) {
    let Some(text) = text else {
        return;
    };
    for _ in 0..depth {
        out.push_str("  ");
    }
    let _ = write!(out, "<{tag}>");
    escape_into(out, text);
    let _ = writeln!(out, "</{tag}>");
}

/// Appends `text` escaped for element content; characters XML 1.0 cannot
/// carry are left out.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => {}
            _ => out.push(c),
        }
    }
}

fn intent_for(input: &InputCaps) -> Intent {
    if input.intents.is_empty() || input.intents.contains(&Intent::Document) {
        Intent::Document
    } else {
        input.intents[0].clone()
    }
}

fn region_for(settings: &ScanSettings, input: &InputCaps) -> ScanRegion {
    let area = settings.area.filter(|_| settings.source == Source::Flatbed);
    let (x, y, width, height) = match area {
        Some(area) => (
            mm_to_units(area.x_mm),
            mm_to_units(area.y_mm),
            mm_to_units(area.width_mm),
            mm_to_units(area.height_mm),
        ),
        None => match settings.size.millimetres() {
            (width, Some(height)) => (0, 0, mm_to_units(width), mm_to_units(height)),
            // The length is unknown, and so is the width: the whole area,
            // as the HP client asks for it.
            (_, None) => (0, 0, input.max_width, input.max_height),
        },
    };
    let x = x.min(input.max_width);
    let y = y.min(input.max_height);
    ScanRegion {
        x_offset: x,
        y_offset: y,
        width: width.min(input.max_width - x),
        height: height.min(input.max_height - y),
        units: Some(THREE_HUNDREDTHS_OF_INCHES.to_string()),
    }
}

/// The compression factor in `range` for JPEG `quality` 1..=100: 100 gives
/// the lowest factor, 1 the highest, on the range's steps.
fn compression_for(quality: u8, range: ValueRange) -> i32 {
    let (low, high) = (
        i64::from(range.min.min(range.max)),
        i64::from(range.min.max(range.max)),
    );
    let step = i64::from(range.step.unwrap_or(1)).max(1);
    let loss = 100 - i64::from(quality.clamp(1, 100));
    let wanted = low + ((high - low) * loss + 49) / 99;
    let on_step = low + (wanted - low + step / 2) / step * step;
    let value = if on_step > high {
        on_step - step
    } else {
        on_step
    };
    i32::try_from(value.clamp(low, high)).unwrap_or(range.min)
}

/// Reads a `ScanSettings` document (a job request).
pub fn parse_scan_settings(bytes: &[u8]) -> Result<EsclScanSettings, XmlError> {
    read_document(EsclScanSettings::DOCUMENT, bytes, |reader, root| {
        let mut regions = Vec::new();
        if let Some(list) = reader.child(root, "ScanRegions") {
            for region in reader.children(list, "ScanRegion") {
                regions.push(ScanRegion {
                    x_offset: reader.opt_u32(region, "XOffset")?.unwrap_or(0),
                    y_offset: reader.opt_u32(region, "YOffset")?.unwrap_or(0),
                    width: reader.req_u32(region, "Width")?,
                    height: reader.req_u32(region, "Height")?,
                    units: reader.text_of(region, "ContentRegionUnits"),
                });
            }
        }
        Ok(EsclScanSettings {
            version: reader.text_of(root, "Version"),
            intent: reader.text_of(root, "Intent").map(|t| Intent::parse(&t)),
            regions,
            input_source: reader
                .text_of(root, "InputSource")
                .map(|t| InputSource::parse(&t)),
            duplex: reader.opt_bool(root, "Duplex")?,
            color_mode: reader
                .text_of(root, "ColorMode")
                .map(|t| EsclColorMode::parse(&t)),
            document_format: reader.text_of(root, "DocumentFormat"),
            document_format_ext: reader.text_of(root, "DocumentFormatExt"),
            x_resolution: reader.opt_u32(root, "XResolution")?,
            y_resolution: reader.opt_u32(root, "YResolution")?,
            compression_factor: reader.opt_i32(root, "CompressionFactor")?,
            brightness: reader.opt_i32(root, "Brightness")?,
            contrast: reader.opt_i32(root, "Contrast")?,
            threshold: reader.opt_i32(root, "Threshold")?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: i32, max: i32, step: Option<i32>) -> ValueRange {
        ValueRange {
            min,
            max,
            normal: None,
            step,
        }
    }

    #[test]
    fn best_quality_asks_for_the_lowest_factor() {
        assert_eq!(compression_for(100, range(0, 11, Some(1))), 0);
        assert_eq!(compression_for(1, range(0, 11, Some(1))), 11);
        assert_eq!(compression_for(85, range(0, 11, Some(1))), 2);
        assert_eq!(compression_for(100, range(5, 95, Some(1))), 5);
        assert_eq!(compression_for(0, range(1, 5, None)), 5);
        assert_eq!(compression_for(50, range(0, 10, Some(4))), 4);
        assert_eq!(compression_for(1, range(0, 10, Some(4))), 8);
        assert_eq!(compression_for(50, range(7, 7, Some(0))), 7);
        assert_eq!(
            compression_for(50, range(i32::MIN, i32::MAX, Some(i32::MAX))),
            -1
        );
    }

    #[test]
    fn text_is_escaped_and_unwritable_characters_dropped() {
        let mut out = String::new();
        escape_into(&mut out, "a&b<c>d\"e'f\r\n\tg\u{1}h\u{FFFF}");
        assert_eq!(out, "a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;\n\tgh");
    }

    #[test]
    fn odd_values_survive_writing() {
        let request = EsclScanSettings {
            version: Some("2.63 <beta> & \"more\"".into()),
            intent: Some(Intent::Other("x:Custom'1".into())),
            document_format_ext: Some("image/jpeg".into()),
            brightness: Some(-20),
            regions: vec![ScanRegion {
                x_offset: 0,
                y_offset: 0,
                width: u32::MAX,
                height: 1,
                units: None,
            }],
            ..EsclScanSettings::default()
        };
        let text = request.to_xml();
        assert_eq!(parse_scan_settings(text.as_bytes()), Ok(request));
    }
}
