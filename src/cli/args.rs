//! The command line's grammar, declared with clap's derive API.
//!
//! These types only describe what can be typed and check what can be
//! checked without touching a device: device ids parse, output patterns
//! parse, numbers are in range. Whether the pieces agree with each other
//! (a `--format` against the extension of `-o`) is decided by the
//! subcommands, which report such conflicts as usage errors too.

use crate::device::Registry;
use crate::filter::{BlankAction, FilterSettings, Rotation, Threshold};
use crate::output::{FileFormat, OutputPattern};
use crate::transfer::{ColorMode, ScanArea, Source};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The device used when `scan` is given no `--device`.
pub const DEFAULT_DEVICE: &str = "sim";

/// The storage folder `upload` writes into when given no `--to`.
pub const DEFAULT_FOLDER: &str = "Storage";

/// Streamscan: scanning with WIA 2.0 stream-transfer semantics.
///
/// Without a subcommand the desktop app opens (when a display is there);
/// the subcommands below scan and manage devices from the command line.
#[derive(Debug, Parser)]
#[command(name = "streamscan", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without one, Streamscan prints this help.
    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Lists the devices Streamscan can use.
    Devices(DevicesArgs),
    /// Scans pages into files or into one PDF/TIFF document.
    Scan(ScanArgs),
    /// Lists a device's items: sources, storage folders and stored files.
    Ls(LsArgs),
    /// Uploads files into a storage folder of a device.
    Upload(UploadArgs),
    /// Downloads a file stored on a device.
    Get(GetArgs),
    /// Keeps (or removes) what scans that did not end left in a folder.
    Recover(RecoverArgs),
}

/// Arguments of `streamscan recover`.
#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The folder the interrupted scans wrote into.
    ///
    /// Each temporary file a scan left there (`.NAME.part-...`) is cut back
    /// to its last complete page and kept as `NAME-recovered.EXT`. Files a
    /// running scan is writing are left alone.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Remove the leftover files instead of keeping them.
    #[arg(long)]
    pub discard: bool,
}

/// Arguments of `streamscan devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
    /// Longest wait for the back ends' searches (`5s`, `1500ms`, `2m`; a
    /// bare number is seconds). Back ends still searching then are named on
    /// stderr.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

/// Arguments of `streamscan scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The device id, e.g. `sim` or `sim:pages=3,speed=max`.
    #[arg(long, value_name = "ID", default_value = DEFAULT_DEVICE, value_parser = parse_device_id)]
    pub device: String,

    /// Where the paper comes from.
    #[arg(long, value_enum, default_value_t = SourceArg::Flatbed)]
    pub source: SourceArg,

    /// Pages to scan; 0 scans until the feeder is empty (in duplex each
    /// side is a page).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub pages: u32,

    /// Resolution in dots per inch.
    #[arg(long, value_name = "N", default_value_t = 300,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub dpi: u32,

    /// Colour mode.
    #[arg(long, value_enum, default_value_t = ModeArg::Color)]
    pub mode: ModeArg,

    /// File format [default: from the extension of `-o`, else png].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// JPEG quality, 1 to 100.
    #[arg(long, value_name = "Q", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: Option<u8>,

    /// Where pages go, e.g. `out.pdf`, `out.tiff`, `pages/p-{n:03}.png`.
    ///
    /// A PDF or TIFF name is one document; a name with a page-number
    /// placeholder (n in braces, or `{n:03}` zero-padded to 3 digits) is a
    /// file per page. Default: `scan-<date>-<time>-N.png` in the current
    /// folder (or in the folder given here).
    // clap turns the two characters `{n}` into a line break in help texts,
    // so the plain placeholder is described in words.
    #[arg(short = 'o', long = "output", value_name = "PATH", value_parser = parse_pattern)]
    pub output: Option<OutputPattern>,

    /// Replace files that already exist.
    #[arg(long)]
    pub overwrite: bool,

    /// Seconds the device may send nothing before the scan fails.
    #[arg(long, value_name = "S", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Print machine-readable events on stdout, one JSON object per line.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub events: Option<EventsArg>,

    /// Find the photos lying on the flatbed (a quick preview) and save each
    /// one, straightened, as its own page.
    #[arg(long)]
    pub regions: bool,

    /// Scan only this part of the flatbed: the top-left corner X,Y and the
    /// size WIDTH,HEIGHT in millimetres from the glass's top-left corner,
    /// e.g. `10,20,100,60`.
    #[arg(long, value_name = "X,Y,W,H", value_parser = ScanArea::parse)]
    pub area: Option<ScanArea>,

    /// Image filters applied to every page.
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// The image-filter options of `streamscan scan`. Every one is off (or
/// neutral) by default, and then pages are written exactly as the device
/// sent them.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Brightness, -1000 to 1000 (0 = unchanged; 1000 = white).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(-1000..=1000))]
    pub brightness: i32,

    /// Contrast, -1000 to 1000 (0 = unchanged; -1000 = flat gray, 1000 = hard
    /// black and white around mid-gray).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(-1000..=1000))]
    pub contrast: i32,

    /// Gamma, 0.1 to 10 (1 = unchanged; above 1 brightens mid-tones).
    #[arg(long, value_name = "G", default_value_t = 1.0, value_parser = parse_gamma)]
    pub gamma: f32,

    /// Black and white: gray levels below N (0 to 255) become black; `auto`
    /// picks the level from each page's histogram (Otsu's method).
    #[arg(long, value_name = "auto|N", value_parser = parse_threshold)]
    pub threshold: Option<Threshold>,

    /// Turn every page clockwise by this many degrees (`90`: the top edge
    /// goes to the right; WIA's LANDSCAPE is `270`).
    #[arg(long, value_enum, value_name = "DEGREES", default_value_t = RotateArg::R0)]
    pub rotate: RotateArg,

    /// Turn the back sides of duplex sheets by a further 180 degrees (for
    /// sheets printed to be turned over the short edge).
    #[arg(long)]
    pub rotate_back: bool,

    /// Straighten pages that went through the scanner at an angle.
    #[arg(long)]
    pub deskew: bool,

    /// Crop each page to the paper's edges.
    #[arg(long)]
    pub autocrop: bool,

    /// Detect blank pages: `flag` reports them and keeps them, `drop` leaves
    /// them out (they use no page number).
    #[arg(long, value_enum, value_name = "ACTION")]
    pub blank: Option<BlankArg>,

    /// How readily a page counts as blank, 0 to 1 (higher: more pages do).
    #[arg(long, value_name = "S", default_value_t = FilterSettings::default().blank_sensitivity,
          value_parser = parse_sensitivity, requires = "blank")]
    pub blank_sensitivity: f32,

    /// Remove isolated specks (dust) from black-and-white pages (`--mode bw`
    /// or `--threshold`).
    #[arg(long)]
    pub despeckle: bool,
}

impl FilterArgs {
    /// The filter settings these options ask for.
    pub fn settings(&self) -> FilterSettings {
        FilterSettings {
            brightness: self.brightness,
            contrast: self.contrast,
            gamma: self.gamma,
            threshold: self.threshold,
            rotation: self.rotate.into(),
            rotate_back: self.rotate_back,
            deskew: self.deskew,
            autocrop: self.autocrop,
            blank: self.blank.map(BlankAction::from),
            blank_sensitivity: self.blank_sensitivity,
            despeckle: self.despeckle,
        }
    }
}

/// Arguments of `streamscan ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// The device id.
    #[arg(long, value_name = "ID", value_parser = parse_device_id)]
    pub device: String,

    /// The item to list (e.g. `Storage`); the whole tree when absent.
    #[arg(value_name = "PATH")]
    pub path: Option<String>,
}

/// Arguments of `streamscan upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The files to upload.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// The device id.
    #[arg(long, value_name = "ID", value_parser = parse_device_id)]
    pub device: String,

    /// The storage folder (item path) that receives the files.
    #[arg(long, value_name = "FOLDER", default_value = DEFAULT_FOLDER)]
    pub to: String,
}

/// Arguments of `streamscan get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The device id.
    #[arg(long, value_name = "ID", value_parser = parse_device_id)]
    pub device: String,

    /// The stored file, e.g. `Storage/report.pdf`.
    #[arg(value_name = "PATH")]
    pub path: String,

    /// Where to save it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// Replace the file if it already exists.
    #[arg(long)]
    pub overwrite: bool,
}

/// `--source` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    /// The glass: one page.
    Flatbed,
    /// The document feeder, front sides.
    Feeder,
    /// The document feeder, both sides.
    Duplex,
}

impl From<SourceArg> for Source {
    fn from(value: SourceArg) -> Source {
        match value {
            SourceArg::Flatbed => Source::Flatbed,
            SourceArg::Feeder => Source::Feeder,
            SourceArg::Duplex => Source::Duplex,
        }
    }
}

/// `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// 24-bit colour.
    Color,
    /// 8-bit gray.
    Gray,
    /// 1-bit black and white.
    Bw,
}

impl From<ModeArg> for ColorMode {
    fn from(value: ModeArg) -> ColorMode {
        match value {
            ModeArg::Color => ColorMode::Color,
            ModeArg::Gray => ColorMode::Gray,
            ModeArg::Bw => ColorMode::Bw,
        }
    }
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// PNG, lossless.
    Png,
    /// JPEG, lossy (see `--quality`).
    #[value(alias = "jpg")]
    Jpeg,
    /// TIFF: a document, or a file per page with a page-number placeholder.
    #[value(alias = "tif")]
    Tiff,
    /// PDF: a document, or a file per page with a page-number placeholder.
    Pdf,
    /// Windows bitmap.
    Bmp,
    /// Portable anymap (PBM, PGM or PPM by colour mode).
    Pnm,
}

impl From<FormatArg> for FileFormat {
    fn from(value: FormatArg) -> FileFormat {
        match value {
            FormatArg::Png => FileFormat::Png,
            FormatArg::Jpeg => FileFormat::Jpeg,
            FormatArg::Tiff => FileFormat::Tiff,
            FormatArg::Pdf => FileFormat::Pdf,
            FormatArg::Bmp => FileFormat::Bmp,
            FormatArg::Pnm => FileFormat::Pnm,
        }
    }
}

/// `--rotate` values: clockwise degrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RotateArg {
    /// No rotation.
    #[value(name = "0")]
    R0,
    /// A quarter turn clockwise: the top edge goes to the right.
    #[value(name = "90")]
    R90,
    /// Upside down.
    #[value(name = "180")]
    R180,
    /// A quarter turn counter-clockwise (WIA's LANDSCAPE).
    #[value(name = "270")]
    R270,
}

impl From<RotateArg> for Rotation {
    fn from(value: RotateArg) -> Rotation {
        match value {
            RotateArg::R0 => Rotation::None,
            RotateArg::R90 => Rotation::Cw90,
            RotateArg::R180 => Rotation::Cw180,
            RotateArg::R270 => Rotation::Cw270,
        }
    }
}

/// `--blank` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlankArg {
    /// Keep blank pages and report them.
    Flag,
    /// Leave blank pages out.
    Drop,
}

impl From<BlankArg> for BlankAction {
    fn from(value: BlankArg) -> BlankAction {
        match value {
            BlankArg::Flag => BlankAction::Flag,
            BlankArg::Drop => BlankAction::Drop,
        }
    }
}

/// `--events` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventsArg {
    /// One JSON object per line.
    Json,
}

/// Accepts a device id that parses (the device is not opened here).
fn parse_device_id(text: &str) -> Result<String, String> {
    Registry::builtin()
        .parse(text)
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// Accepts a duration: a number with `ms`, `s` or `m`, or a bare number of
/// seconds; at most an hour.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 5s, 1500ms, 2m)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        other => {
            return Err(format!("`{other}` is not a unit of time (use ms, s or m)"));
        }
    };
    if !(0.0..=3600.0).contains(&seconds) {
        return Err(format!("{text} is outside 0s..60m"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// Accepts a gamma from 0.1 to 10.
fn parse_gamma(text: &str) -> Result<f32, String> {
    let gamma: f32 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.1..=10.0).contains(&gamma) {
        Ok(gamma)
    } else {
        Err(format!("{text} is outside 0.1..10"))
    }
}

/// Accepts `auto` or a gray level from 0 to 255.
fn parse_threshold(text: &str) -> Result<Threshold, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("auto") {
        return Ok(Threshold::Auto);
    }
    let level: i64 = text
        .parse()
        .map_err(|_| format!("`{text}` is neither `auto` nor a gray level (0..255)"))?;
    u8::try_from(level)
        .map(Threshold::Fixed)
        .map_err(|_| format!("{level} is outside 0..255"))
}

/// Accepts a blank-detection sensitivity from 0 to 1.
fn parse_sensitivity(text: &str) -> Result<f32, String> {
    let value: f32 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text} is outside 0..1"))
    }
}

/// Accepts an output pattern that parses.
fn parse_pattern(text: &str) -> Result<OutputPattern, String> {
    if text.is_empty() {
        return Err(String::from("the output path is empty"));
    }
    OutputPattern::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn scan_defaults_follow_the_issue() {
        let cli = Cli::try_parse_from(["streamscan", "scan"]).expect("parses");
        let Some(CliCommand::Scan(scan)) = cli.command else {
            panic!("not a scan: {cli:?}");
        };
        assert_eq!(scan.device, "sim");
        assert_eq!(scan.source, SourceArg::Flatbed);
        assert_eq!(scan.dpi, 300);
        assert_eq!(scan.mode, ModeArg::Color);
        assert_eq!(scan.pages, 0);
        assert_eq!(scan.timeout, 30);
        assert!(scan.output.is_none() && scan.format.is_none() && scan.events.is_none());
    }

    #[test]
    fn bad_device_ids_and_patterns_are_usage_errors() {
        for args in [
            &["streamscan", "scan", "--device", "sim:colour=red"][..],
            &["streamscan", "scan", "--device", "scanjet"],
            &["streamscan", "scan", "-o", "page-{x}.png"],
            &["streamscan", "scan", "--quality", "0"],
            &["streamscan", "ls"],
        ] {
            let err = Cli::try_parse_from(args).expect_err("must be refused");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    fn scan_args(args: &[&str]) -> ScanArgs {
        let all: Vec<&str> = ["streamscan", "scan"].iter().chain(args).copied().collect();
        let cli = Cli::try_parse_from(all).expect("parses");
        match cli.command {
            Some(CliCommand::Scan(scan)) => scan,
            other => panic!("not a scan: {other:?}"),
        }
    }

    #[test]
    fn filters_default_to_neutral() {
        let settings = scan_args(&[]).filter.settings();
        assert_eq!(settings, FilterSettings::default());
        assert!(settings.is_neutral());
    }

    #[test]
    fn filter_flags_map_into_filter_settings() {
        let settings = scan_args(&[
            "--brightness",
            "-250",
            "--contrast=300",
            "--gamma",
            "1.8",
            "--threshold",
            "auto",
            "--rotate",
            "270",
            "--rotate-back",
            "--deskew",
            "--autocrop",
            "--blank",
            "drop",
            "--blank-sensitivity",
            "0.8",
            "--despeckle",
        ])
        .filter
        .settings();
        assert_eq!(
            settings,
            FilterSettings {
                brightness: -250,
                contrast: 300,
                gamma: 1.8,
                threshold: Some(Threshold::Auto),
                rotation: Rotation::Cw270,
                rotate_back: true,
                deskew: true,
                autocrop: true,
                blank: Some(BlankAction::Drop),
                blank_sensitivity: 0.8,
                despeckle: true,
            }
        );
        // WIA's LANDSCAPE (90 degrees counter-clockwise) is --rotate 270.
        assert_eq!(settings.rotation.wia_value(), 1);
        let settings = scan_args(&["--threshold", "128", "--rotate", "90", "--blank", "flag"])
            .filter
            .settings();
        assert_eq!(settings.threshold, Some(Threshold::Fixed(128)));
        assert_eq!(settings.rotation, Rotation::Cw90);
        assert_eq!(settings.blank, Some(BlankAction::Flag));
        assert_eq!(settings.blank_sensitivity, 0.5);
    }

    #[test]
    fn filter_values_out_of_range_are_usage_errors() {
        for args in [
            &["--brightness", "1001"][..],
            &["--brightness", "-1001"],
            &["--contrast", "5000"],
            &["--gamma", "0.05"],
            &["--gamma", "11"],
            &["--gamma", "NaN"],
            &["--threshold", "256"],
            &["--threshold", "-1"],
            &["--threshold", "half"],
            &["--rotate", "45"],
            &["--rotate", "-90"],
            &["--blank", "maybe"],
            &["--blank", "flag", "--blank-sensitivity", "1.5"],
            &["--blank", "flag", "--blank-sensitivity", "-0.1"],
            // A sensitivity without blank detection would do nothing.
            &["--blank-sensitivity", "0.3"],
        ] {
            let all: Vec<&str> = ["streamscan", "scan"].iter().chain(args).copied().collect();
            let err = Cli::try_parse_from(&all).expect_err("must be refused");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
        // The ends of each range are accepted.
        let edges = scan_args(&[
            "--brightness",
            "-1000",
            "--contrast",
            "1000",
            "--gamma",
            "10",
            "--threshold",
            "0",
            "--blank",
            "flag",
            "--blank-sensitivity",
            "1",
        ]);
        assert_eq!(edges.filter.settings().brightness, -1000);
        assert_eq!(scan_args(&["--gamma", "0.1"]).filter.gamma, 0.1);
        assert_eq!(
            scan_args(&["--threshold", "255"]).filter.threshold,
            Some(Threshold::Fixed(255))
        );
    }

    #[test]
    fn format_aliases_are_accepted() {
        let cli = Cli::try_parse_from(["streamscan", "scan", "--format", "jpg"]).expect("parses");
        let Some(CliCommand::Scan(scan)) = cli.command else {
            panic!("not a scan");
        };
        assert_eq!(scan.format, Some(FormatArg::Jpeg));
    }
}
