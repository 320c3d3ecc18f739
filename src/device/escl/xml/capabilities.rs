//! `ScannerCapabilities`: what a device says it can do, source by source,
//! as typed values ([`parse_capabilities`]).
//!
//! The input sources are `Platen/PlatenInputCaps`,
//! `Adf/AdfSimplexInputCaps` and `Adf/AdfDuplexInputCaps`; each has its
//! size limits in three-hundredths of an inch, its setting profiles
//! (colour modes, document formats, resolutions) and intents. Devices
//! write a few of these in their own ways, all read here: resolutions as a
//! discrete list or as a range, several `SupportedResolutions` in one
//! profile each for one colour mode (Xerox), intents as
//! `SupportedIntent` instead of `Intent` (Kyocera). The translation to the
//! app's vocabulary is [`ScannerCapabilities::to_capabilities`].

use super::XmlError;
use super::keywords::{AdfOption, EsclColorMode, Intent};
use super::read::{Reader, XmlNode, read_document};

/// What a device can do, as its `ScannerCapabilities` document says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScannerCapabilities {
    /// The eSCL version the device speaks (`pwg:Version`, `2.63`).
    pub version: Option<String>,
    /// Make and model (`pwg:MakeAndModel`); the key of the quirks table.
    pub make_and_model: Option<String>,
    /// Serial number (`pwg:SerialNumber`).
    pub serial_number: Option<String>,
    /// The device's UUID (`scan:UUID`).
    pub uuid: Option<String>,
    /// Its web page for people (`scan:AdminURI`).
    pub admin_uri: Option<String>,
    /// Its icon (`scan:IconURI`), possibly relative.
    pub icon_uri: Option<String>,
    /// The flatbed (`Platen/PlatenInputCaps`).
    pub platen: Option<InputCaps>,
    /// The feeder, front sides (`Adf/AdfSimplexInputCaps`).
    pub adf_simplex: Option<InputCaps>,
    /// The feeder, both sides (`Adf/AdfDuplexInputCaps`).
    pub adf_duplex: Option<InputCaps>,
    /// The feeder's options (`Adf/AdfOptions/AdfOption`).
    pub adf_options: Vec<AdfOption>,
    /// Sheets the feeder holds (`Adf/FeederCapacity`).
    pub feeder_capacity: Option<u32>,
    /// Brightness the device can set (`scan:BrightnessSupport`).
    pub brightness: Option<ValueRange>,
    /// Contrast the device can set (`scan:ContrastSupport`).
    pub contrast: Option<ValueRange>,
    /// Black-and-white threshold the device can set
    /// (`scan:ThresholdSupport`).
    pub threshold: Option<ValueRange>,
    /// Sharpening the device can apply (`scan:SharpenSupport`).
    pub sharpen: Option<ValueRange>,
    /// Compression factors a request may ask for
    /// (`scan:CompressionFactorSupport`): lower is better quality.
    pub compression_factor: Option<ValueRange>,
    /// Whether the device can detect blank pages
    /// (`scan:BlankPageDetection`).
    pub blank_page_detection: Option<bool>,
}

/// What one input source can do (`PlatenInputCaps`, `AdfSimplexInputCaps`,
/// `AdfDuplexInputCaps`). Sizes are in three-hundredths of an inch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputCaps {
    /// Narrowest scan region (`MinWidth`; 0 when not given).
    pub min_width: u32,
    /// Widest scan region (`MaxWidth`).
    pub max_width: u32,
    /// Shortest scan region (`MinHeight`; 0 when not given).
    pub min_height: u32,
    /// Longest scan region (`MaxHeight`).
    pub max_height: u32,
    /// How many regions one request may ask for (`MaxScanRegions`).
    pub max_scan_regions: Option<u32>,
    /// The setting profiles (`SettingProfiles/SettingProfile`).
    pub profiles: Vec<SettingProfile>,
    /// The intents it tunes for (`SupportedIntents`).
    pub intents: Vec<Intent>,
}

/// One combination of settings a source offers (`SettingProfile`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingProfile {
    /// Colour modes (`ColorModes/ColorMode`).
    pub color_modes: Vec<EsclColorMode>,
    /// MIME types of `pwg:DocumentFormat` (eSCL before 2.1 and most
    /// devices since).
    pub document_formats: Vec<String>,
    /// MIME types of `scan:DocumentFormatExt` (eSCL 2.1 and later).
    pub document_formats_ext: Vec<String>,
    /// Resolutions (`SupportedResolutions`); more than one when the
    /// device gives them colour mode by colour mode.
    pub resolutions: Vec<Resolutions>,
}

/// One `SupportedResolutions` element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolutions {
    /// The colour mode these resolutions are for, when the element names
    /// one; `None`: for every mode of the profile.
    pub for_mode: Option<EsclColorMode>,
    /// Discrete resolutions (`DiscreteResolutions/DiscreteResolution`).
    pub discrete: Vec<Resolution>,
    /// A range of resolutions (`ResolutionRange`).
    pub range: Option<ResolutionRange>,
}

/// One discrete resolution, dots per inch on each axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resolution {
    /// Across the page (`XResolution`).
    pub x: u32,
    /// Along the page (`YResolution`).
    pub y: u32,
}

/// A range of resolutions, axis by axis (`ResolutionRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolutionRange {
    /// Across the page (`XResolutionRange`).
    pub x: ValueRange,
    /// Along the page (`YResolutionRange`).
    pub y: ValueRange,
}

/// A numeric range with its usual value and step (`Min`, `Max`, `Normal`,
/// `Step`), as eSCL gives brightness, contrast, resolution ranges, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueRange {
    /// Lowest value.
    pub min: i32,
    /// Highest value.
    pub max: i32,
    /// The device's default (`Normal`), when given.
    pub normal: Option<i32>,
    /// Distance between two values, when given.
    pub step: Option<i32>,
}

impl ScannerCapabilities {
    /// The name of this document, as its root element and error messages
    /// have it.
    pub const DOCUMENT: &'static str = "ScannerCapabilities";

    /// True when the feeder scans both sides: it has
    /// `AdfDuplexInputCaps`, or its `AdfOptions` list `Duplex`.
    pub fn feeder_duplex(&self) -> bool {
        self.adf_duplex.is_some() || self.adf_options.contains(&AdfOption::Duplex)
    }
}

impl InputCaps {
    /// Every colour mode of every profile, once each, in the device's
    /// order.
    pub fn color_modes(&self) -> Vec<EsclColorMode> {
        let mut modes: Vec<EsclColorMode> = Vec::new();
        for mode in self.profiles.iter().flat_map(|p| &p.color_modes) {
            if !modes.contains(mode) {
                modes.push(mode.clone());
            }
        }
        modes
    }

    /// Every MIME type of every profile (`DocumentFormat` and
    /// `DocumentFormatExt`), once each, in the device's order.
    pub fn mime_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = Vec::new();
        for profile in &self.profiles {
            let all = profile
                .document_formats
                .iter()
                .chain(&profile.document_formats_ext);
            for mime in all {
                if !types.iter().any(|t| t.eq_ignore_ascii_case(mime)) {
                    types.push(mime);
                }
            }
        }
        types
    }
}

/// Reads a `ScannerCapabilities` document.
pub fn parse_capabilities(bytes: &[u8]) -> Result<ScannerCapabilities, XmlError> {
    read_document(ScannerCapabilities::DOCUMENT, bytes, |reader, root| {
        let mut caps = ScannerCapabilities {
            version: reader.text_of(root, "Version"),
            make_and_model: reader.text_of(root, "MakeAndModel"),
            serial_number: reader.text_of(root, "SerialNumber"),
            uuid: reader.text_of(root, "UUID"),
            admin_uri: reader.text_of(root, "AdminURI"),
            icon_uri: reader.text_of(root, "IconURI"),
            brightness: value_range_of(reader, root, "BrightnessSupport")?,
            contrast: value_range_of(reader, root, "ContrastSupport")?,
            threshold: value_range_of(reader, root, "ThresholdSupport")?,
            sharpen: value_range_of(reader, root, "SharpenSupport")?,
            compression_factor: value_range_of(reader, root, "CompressionFactorSupport")?,
            blank_page_detection: reader.opt_bool(root, "BlankPageDetection")?,
            ..ScannerCapabilities::default()
        };
        if let Some(platen) = reader.child(root, "Platen") {
            caps.platen = input_caps_of(reader, platen, "PlatenInputCaps")?;
        }
        if let Some(adf) = reader.child(root, "Adf") {
            caps.adf_simplex = input_caps_of(reader, adf, "AdfSimplexInputCaps")?;
            caps.adf_duplex = input_caps_of(reader, adf, "AdfDuplexInputCaps")?;
            caps.feeder_capacity = reader.opt_u32(adf, "FeederCapacity")?;
            if let Some(options) = reader.child(adf, "AdfOptions") {
                caps.adf_options = reader
                    .texts_of(options, "AdfOption")
                    .iter()
                    .map(|text| AdfOption::parse(text))
                    .collect();
            }
        }
        Ok(caps)
    })
}

fn input_caps_of(
    reader: &Reader,
    parent: XmlNode<'_, '_>,
    name: &str,
) -> Result<Option<InputCaps>, XmlError> {
    let Some(node) = reader.child(parent, name) else {
        return Ok(None);
    };
    let mut caps = InputCaps {
        min_width: reader.opt_u32(node, "MinWidth")?.unwrap_or(0),
        max_width: reader.req_u32(node, "MaxWidth")?,
        min_height: reader.opt_u32(node, "MinHeight")?.unwrap_or(0),
        max_height: reader.req_u32(node, "MaxHeight")?,
        max_scan_regions: reader.opt_u32(node, "MaxScanRegions")?,
        profiles: Vec::new(),
        intents: Vec::new(),
    };
    if let Some(profiles) = reader.child(node, "SettingProfiles") {
        for profile in reader.children(profiles, "SettingProfile") {
            caps.profiles.push(profile_of(reader, profile)?);
        }
    }
    if let Some(intents) = reader.child(node, "SupportedIntents") {
        caps.intents = reader
            .children_any(intents, &["Intent", "SupportedIntent"])
            .map(|n| Intent::parse(&reader.text(n)))
            .collect();
    }
    Ok(Some(caps))
}

fn profile_of(reader: &Reader, node: XmlNode<'_, '_>) -> Result<SettingProfile, XmlError> {
    let mut profile = SettingProfile::default();
    if let Some(modes) = reader.child(node, "ColorModes") {
        profile.color_modes = reader
            .texts_of(modes, "ColorMode")
            .iter()
            .map(|text| EsclColorMode::parse(text))
            .collect();
    }
    if let Some(formats) = reader.child(node, "DocumentFormats") {
        profile.document_formats = reader.texts_of(formats, "DocumentFormat");
        profile.document_formats_ext = reader.texts_of(formats, "DocumentFormatExt");
    }
    for supported in reader.children(node, "SupportedResolutions") {
        let mut resolutions = Resolutions {
            for_mode: reader
                .text_of(supported, "ColorMode")
                .map(|text| EsclColorMode::parse(&text)),
            ..Resolutions::default()
        };
        if let Some(discrete) = reader.child(supported, "DiscreteResolutions") {
            for one in reader.children(discrete, "DiscreteResolution") {
                resolutions.discrete.push(Resolution {
                    x: reader.req_u32(one, "XResolution")?,
                    y: reader.req_u32(one, "YResolution")?,
                });
            }
        }
        if let Some(range) = reader.child(supported, "ResolutionRange") {
            let x = value_range_of(reader, range, "XResolutionRange")?;
            let y = value_range_of(reader, range, "YResolutionRange")?;
            resolutions.range = match (x, y) {
                (Some(x), Some(y)) => Some(ResolutionRange { x, y }),
                (Some(only), None) | (None, Some(only)) => {
                    Some(ResolutionRange { x: only, y: only })
                }
                (None, None) => return Err(reader.missing(range, "XResolutionRange")),
            };
        }
        profile.resolutions.push(resolutions);
    }
    Ok(profile)
}

fn value_range_of(
    reader: &Reader,
    parent: XmlNode<'_, '_>,
    name: &str,
) -> Result<Option<ValueRange>, XmlError> {
    let Some(node) = reader.child(parent, name) else {
        return Ok(None);
    };
    let min = reader
        .opt_i32(node, "Min")?
        .ok_or_else(|| reader.missing(node, "Min"))?;
    let max = reader
        .opt_i32(node, "Max")?
        .ok_or_else(|| reader.missing(node, "Max"))?;
    Ok(Some(ValueRange {
        min,
        max,
        normal: reader.opt_i32(node, "Normal")?,
        step: reader.opt_i32(node, "Step")?,
    }))
}
