//! eSCL's XML documents: typed values read from a device's answers, and the
//! `ScanSettings` body written for a new job. Sans-IO: bytes in, values
//! out (and a `String` out for the request); no sockets, no clock.
//!
//! Reading ([`parse_capabilities`], [`parse_status`], [`parse_image_info`],
//! [`parse_scan_settings`]) takes the body exactly as it came:
//!
//! - Encodings: UTF-8 with or without a byte-order mark, UTF-16 (either
//!   byte order, with a mark or recognised from `<?xml`), and documents
//!   that declare ISO-8859-1, Windows-1252 or US-ASCII are decoded; a
//!   document that declares any other encoding is refused with an
//!   [`XmlError::Encoding`] naming it. Bodies over [`MAX_DOCUMENT_BYTES`]
//!   are refused before anything is decoded.
//! - Namespaces are matched by URI, never by prefix. The root element must
//!   be in eSCL's namespace ([`SCAN_NS`], or the older [`SCAN_NS_2011_02`]);
//!   any other root is refused. Below the root, an element counts when it
//!   is in either eSCL namespace, in PWG's ([`PWG_NS`]) or in none: real
//!   devices put `ContentType`, `XImagePosition` and the `Min`/`Max` of a
//!   range in the "wrong" one of the two, or in no namespace at all, so
//!   which of these an element is in is not checked. Elements in any
//!   other namespace (vendor extensions) are skipped, as are unknown
//!   elements, comments, processing instructions and a doctype (whose
//!   internal entities are expanded, with the XML parser's limits against
//!   entity bombs).
//! - Missing optional sections are `None` or empty. Keyword values the
//!   enums here do not know are kept as their `Other(String)` variant,
//!   never refused. A number that is not a number, or a required element
//!   that is missing, is an [`XmlError`] saying which element and what it
//!   held. No input makes a parser panic; every truncated document is an
//!   error (the tests feed every prefix of every real capture).
//!
//! Writing: [`EsclScanSettings::for_scan`] turns the app's
//! [`ScanSettings`](crate::transfer::ScanSettings) into the request for a
//! device, [`EsclScanSettings::to_xml`] writes it with proper escaping, and
//! [`parse_scan_settings`] reads it (or any client's request) back.
//! [`ScannerCapabilities::to_capabilities`] gives the app's
//! [`Capabilities`](crate::transfer::Capabilities).

mod capabilities;
mod keywords;
mod read;
mod settings;
mod status;
mod vocabulary;

pub use capabilities::{
    InputCaps, Resolution, ResolutionRange, Resolutions, ScannerCapabilities, SettingProfile,
    ValueRange, parse_capabilities,
};
pub use keywords::{
    AdfOption, AdfState, EsclColorMode, InputSource, Intent, JobState, ScannerState,
};
pub use settings::{EsclScanSettings, ScanRegion, THREE_HUNDREDTHS_OF_INCHES, parse_scan_settings};
pub use status::{JobInfo, ScanImageInfo, ScannerStatus, parse_image_info, parse_status};
pub use vocabulary::{
    file_format_for_mime, mime_for_file_format, mm_to_units, units_to_mm, units_to_mm_rounded_up,
};

/// eSCL's namespace, as devices since 2011 use it (usually with the prefix
/// `scan:`, sometimes `escl:` or none).
pub const SCAN_NS: &str = "http://schemas.hp.com/imaging/escl/2011/05/03";

/// eSCL's first namespace, still sent by some older devices; read exactly
/// like [`SCAN_NS`].
pub const SCAN_NS_2011_02: &str = "http://schemas.hp.com/imaging/escl/2011/02/08";

/// The PWG semantic-model namespace (`pwg:`), which eSCL borrows for
/// `Version`, `MakeAndModel`, `State`, `JobUri`, `ScanRegions`,
/// `InputSource` and a few more.
pub const PWG_NS: &str = "http://www.pwg.org/schemas/2010/12/sm";

/// Largest document accepted, in bytes. Real capabilities are 4-20 KiB;
/// anything near a megabyte is not an eSCL document.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// Most XML nodes (elements, texts, comments, ...) one document may have:
/// far more than any real eSCL document (a few thousand), and a bound on
/// the memory a hostile body can take.
pub const MAX_NODES: u32 = 200_000;

/// Why an eSCL document could not be read, or a request not be built.
///
/// Every message starts with the document concerned
/// (`ScannerCapabilities`, `ScannerStatus`, `ScanImageInfo`,
/// `ScanSettings`) and says what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The body is larger than [`MAX_DOCUMENT_BYTES`].
    #[error(
        "{document}: the document is {size} bytes long, more than the {limit} an eSCL document may have"
    )]
    TooLarge {
        /// The document that was expected.
        document: &'static str,
        /// Its size in bytes.
        size: usize,
        /// [`MAX_DOCUMENT_BYTES`].
        limit: usize,
    },
    /// The bytes are not text in an encoding this layer reads.
    #[error("{document}: {detail}")]
    Encoding {
        /// The document that was expected.
        document: &'static str,
        /// What is wrong with the encoding, naming it.
        detail: String,
    },
    /// The text is not well-formed XML (a truncated body ends here).
    #[error("{document}: the XML is malformed: {detail}")]
    Malformed {
        /// The document that was expected.
        document: &'static str,
        /// The XML parser's message, with line and column.
        detail: String,
    },
    /// The root element is not the expected one in eSCL's namespace.
    #[error(
        "{document}: the root element is {found}, expected {document} in the eSCL namespace ({SCAN_NS})"
    )]
    WrongRoot {
        /// The document that was expected.
        document: &'static str,
        /// The root found: `{namespace}name`, or just `name` when it has no
        /// namespace.
        found: String,
    },
    /// A required element is missing.
    #[error("{document}: element {element} is missing")]
    Missing {
        /// The document concerned.
        document: &'static str,
        /// The element's path below the root (`Platen/PlatenInputCaps/MaxWidth`).
        element: String,
    },
    /// An element holds a value of the wrong kind.
    #[error("{document}: element {element} has value {value:?}, expected {expected}")]
    BadValue {
        /// The document concerned.
        document: &'static str,
        /// The element's path below the root.
        element: String,
        /// What it held (cut to 80 characters).
        value: String,
        /// What it should hold ("a number", "true or false", ...).
        expected: &'static str,
    },
    /// The device cannot do what a request asks (building `ScanSettings`).
    #[error("{document}: {detail}")]
    Unsupported {
        /// The document that was being built.
        document: &'static str,
        /// What the device lacks, and what it offers instead.
        detail: String,
    },
}

/// Runs `bytes` through every parser of this layer, and what they accept
/// through everything built on them: the capabilities' translation to the
/// app's vocabulary, a request built from them for each source, mode and
/// format, and the writer (whose output must read back to the same
/// value). Outcomes are ignored; a broken invariant panics. The fuzz
/// target `escl_xml` and its corpus replay call this.
pub fn fuzz_one(bytes: &[u8]) {
    use crate::stream::FileFormat;
    use crate::transfer::{ColorMode, PageSize, ScanSettings, Source};

    if let Ok(caps) = parse_capabilities(bytes) {
        let _ = caps.to_capabilities();
        for source in [Source::Flatbed, Source::Feeder, Source::Duplex] {
            for (mode, size, format) in [
                (ColorMode::Color, PageSize::A4, FileFormat::Jpeg),
                (ColorMode::Gray, PageSize::Auto, FileFormat::Pdf),
                (ColorMode::Bw, PageSize::Legal, FileFormat::Png),
            ] {
                let settings = ScanSettings {
                    source,
                    mode,
                    size,
                    ..ScanSettings::default()
                };
                if let Ok(request) = EsclScanSettings::for_scan(&settings, &caps, format) {
                    check_round_trip(&request);
                }
            }
        }
    }
    let _ = parse_status(bytes);
    let _ = parse_image_info(bytes);
    if let Ok(request) = parse_scan_settings(bytes) {
        check_round_trip(&request);
    }
}

/// Panics unless `request` written and read back is `request` again.
fn check_round_trip(request: &EsclScanSettings) {
    let text = request.to_xml();
    match parse_scan_settings(text.as_bytes()) {
        Ok(again) => assert_eq!(
            &again, request,
            "ScanSettings changed when written:\n{text}"
        ),
        Err(error) => panic!("written ScanSettings do not read back ({error}):\n{text}"),
    }
}
