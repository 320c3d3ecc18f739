//! JPEG bodies: a marker scanner on the pushing side and the libjpeg loop on
//! the worker.
//!
//! [`MarkerScan`] watches the bytes before they reach libjpeg. It finds the
//! frame header (SOF), the first scan header (SOS) and a DNL marker, and
//! patches a SOF height of 0 (height given later by DNL, which libjpeg does
//! not support) to 65500, libjpeg's largest, so that libjpeg accepts the frame; the decoding
//! loop then stops at the DNL height. It also decides, from the first SOS,
//! whether libjpeg will hold the whole image (progressive or multi-scan
//! bodies) and refuses that before libjpeg allocates, when it would exceed
//! the limit. It never rejects a body itself: libjpeg does that.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use mozjpeg::{ColorSpace, ColorSpaceExt, Decompress, PixelDensityUnit};

use super::worker::{ChunkReader, Failure, RowSink};
use crate::raster::{PageHeader, PixelFormat};

/// What the frame header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Frame {
    /// Height in the SOF; 0 means a DNL marker gives it after the first scan.
    pub height: u32,
    /// Pixels per row.
    pub width: u32,
    /// Number of components (1 gray, 3 colour, 4 CMYK / YCCK).
    pub components: u32,
    /// A progressive frame (SOF2, SOF6, SOF10, SOF14).
    pub progressive: bool,
}

impl Frame {
    /// Bytes libjpeg holds for a body it must keep whole: one 16-bit DCT
    /// coefficient per sample of each component.
    pub fn whole_bytes(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height) * u64::from(self.components) * 2
    }
}

/// Where the scanner is in the marker structure.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Between segments: expecting 0xFF.
    Marker,
    /// After 0xFF between segments: expecting a marker code.
    Code,
    /// First length byte of segment `code`.
    Length1 { code: u8 },
    /// Second length byte.
    Length2 { code: u8, high: u8 },
    /// Inside the body of segment `code`: `pos` bytes read, `left` to go.
    Body { code: u8, pos: u32, left: u32 },
    /// Inside entropy-coded data.
    Entropy,
    /// After 0xFF in entropy-coded data.
    EntropyFf,
}

/// Why the scanner refuses to hand the bytes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ScanIssue {
    /// The body would be held whole and that exceeds the limit.
    TooLarge(Frame),
    /// The body needs decoding whole but its height comes only from DNL.
    WholeWithoutHeight,
}

/// Follows the marker structure of a JPEG body pushed in pieces.
pub(super) struct MarkerScan {
    state: State,
    /// Bytes of a segment being inspected (from its 0xFF), not yet handed on.
    held: Vec<u8>,
    /// The first frame header, once read.
    pub frame: Option<Frame>,
    /// The DNL height, once read.
    pub dnl_height: Option<u32>,
    /// The body will be held whole by libjpeg (known at the first SOS).
    pub whole: Option<bool>,
    /// The first scan has ended; `Some(true)` if a DNL marker followed it.
    pub first_scan_dnl: Option<bool>,
    max_bytes: u64,
}

fn is_sof(code: u8) -> bool {
    (0xC0..=0xCF).contains(&code) && !matches!(code, 0xC4 | 0xC8 | 0xCC)
}

const SOS: u8 = 0xDA;
/// The height put in place of a SOF height of 0: libjpeg's largest
/// (`JPEG_MAX_DIMENSION`); rows stop at the DNL height long before.
const DNL_STAND_IN: u16 = 65500;
const DNL: u8 = 0xDC;

impl MarkerScan {
    /// A scanner for a body that may be held whole up to `max_bytes`.
    pub fn new(max_bytes: u64) -> MarkerScan {
        MarkerScan {
            state: State::Marker,
            held: Vec::new(),
            frame: None,
            dnl_height: None,
            whole: None,
            first_scan_dnl: None,
            max_bytes,
        }
    }

    /// Scans `input`, appending the bytes that may go on to libjpeg to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ScanIssue> {
        for &byte in input {
            self.held.push(byte);
            let keep = self.step(byte, out)?;
            if !keep {
                out.append(&mut self.held);
            }
        }
        Ok(())
    }

    /// The body is complete: hands on whatever is still held.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.held);
    }

    /// Whether `code` starts a segment whose first bytes are inspected.
    fn inspected(&self, code: u8) -> bool {
        (is_sof(code) && self.frame.is_none())
            || (code == SOS && self.whole.is_none())
            || (code == DNL && self.dnl_height.is_none())
    }

    /// Advances over one byte (already in `held`); true keeps `held` back.
    fn step(&mut self, byte: u8, out: &mut Vec<u8>) -> Result<bool, ScanIssue> {
        match self.state {
            State::Marker => {
                if byte == 0xFF {
                    self.state = State::Code;
                    return Ok(true);
                }
                Ok(false)
            }
            State::Code => Ok(self.on_code(byte, out)),
            State::Length1 { code } => {
                self.state = State::Length2 { code, high: byte };
                Ok(self.inspected(code))
            }
            State::Length2 { code, high } => {
                let length = u32::from(high) << 8 | u32::from(byte);
                if length < 2 {
                    // Malformed; libjpeg will say so.
                    self.state = State::Marker;
                    return Ok(false);
                }
                let left = length - 2;
                if left == 0 {
                    self.state = self.after_segment(code);
                    return Ok(false);
                }
                self.state = State::Body { code, pos: 0, left };
                Ok(self.inspected(code))
            }
            State::Body { code, pos, left } => {
                let (pos, left) = (pos + 1, left - 1);
                self.state = if left == 0 {
                    self.after_segment(code)
                } else {
                    State::Body { code, pos, left }
                };
                if !self.inspected(code) {
                    return Ok(false);
                }
                // held = FF, code, length (2), then `pos` body bytes.
                if is_sof(code) && pos == 6 {
                    self.read_frame();
                    return Ok(false);
                }
                if code == SOS && pos == 1 {
                    self.read_scan_header(byte)?;
                    return Ok(false);
                }
                if code == DNL && pos == 2 {
                    let height = u32::from(self.held[4]) << 8 | u32::from(self.held[5]);
                    self.dnl_height = Some(height);
                    return Ok(false);
                }
                // Segment ended before the inspected bytes: hand it on as is.
                Ok(left != 0)
            }
            State::Entropy => {
                if byte == 0xFF {
                    self.state = State::EntropyFf;
                    return Ok(true);
                }
                Ok(false)
            }
            State::EntropyFf => match byte {
                0x00 | 0xD0..=0xD7 => {
                    self.state = State::Entropy;
                    Ok(false)
                }
                _ => {
                    if self.first_scan_dnl.is_none() {
                        self.first_scan_dnl = Some(byte == DNL);
                    }
                    Ok(self.on_code(byte, out))
                }
            },
        }
    }

    /// A marker code after 0xFF; true keeps the bytes back.
    fn on_code(&mut self, code: u8, out: &mut Vec<u8>) -> bool {
        match code {
            0xFF => {
                // Fill byte: hand on all but this last 0xFF.
                let last = self.held.pop();
                out.append(&mut self.held);
                self.held.extend(last);
                true
            }
            0x00 | 0x01 | 0xD0..=0xD9 => {
                self.state = State::Marker;
                false
            }
            _ => {
                self.state = State::Length1 { code };
                self.inspected(code)
            }
        }
    }

    fn after_segment(&self, code: u8) -> State {
        if code == SOS {
            State::Entropy
        } else {
            State::Marker
        }
    }

    /// Reads the SOF fields from `held` and patches a zero height.
    fn read_frame(&mut self) {
        let h = &mut self.held;
        let height = u32::from(h[5]) << 8 | u32::from(h[6]);
        let width = u32::from(h[7]) << 8 | u32::from(h[8]);
        let code = h[1];
        if height == 0 {
            [h[5], h[6]] = DNL_STAND_IN.to_be_bytes();
        }
        self.frame = Some(Frame {
            height,
            width,
            components: u32::from(h[9]),
            progressive: matches!(code, 0xC2 | 0xC6 | 0xCA | 0xCE),
        });
    }

    /// The first SOS: decides whether libjpeg will hold the image whole.
    fn read_scan_header(&mut self, scan_components: u8) -> Result<(), ScanIssue> {
        let Some(frame) = self.frame else {
            // No frame yet: libjpeg will report the error.
            self.whole = Some(false);
            return Ok(());
        };
        let whole = frame.progressive || u32::from(scan_components) < frame.components;
        self.whole = Some(whole);
        if whole {
            if frame.height == 0 {
                return Err(ScanIssue::WholeWithoutHeight);
            }
            if frame.whole_bytes() > self.max_bytes {
                return Err(ScanIssue::TooLarge(frame));
            }
        }
        Ok(())
    }
}

/// Upper bound on the rows that `bytes` of sequential scan data can hold.
///
/// Every 8x8 block takes at least 2 bits (a DC and an end-of-block code), an
/// MCU is at most 32 pixels wide and an MCU row at most 32 rows high. Rows
/// past this bound are made up by libjpeg after the data ended (a marker in
/// the middle of the scan): refusing them keeps a corrupt header that claims
/// 65535 x 65535 from costing minutes of work.
fn plausible_rows(bytes: u64, width: u32) -> u64 {
    let mcus_per_row = u64::from(width.div_ceil(32)).max(1);
    (bytes * 4 / mcus_per_row + 2) * 32
}

/// What the pushing side tells the JPEG worker while it runs. Both are set
/// before the bytes that make them matter are handed on.
#[derive(Debug)]
pub(super) struct Control {
    /// Rows to decode at most: lowered to the DNL height when it is read.
    pub limit: AtomicU32,
    /// The body is progressive or multi-scan (libjpeg holds it whole).
    pub whole: AtomicBool,
}

impl Default for Control {
    fn default() -> Control {
        Control {
            limit: AtomicU32::new(u32::MAX),
            whole: AtomicBool::new(false),
        }
    }
}

/// Decodes a JPEG body on the worker: header, then rows up to the limit.
pub(super) fn decode(
    reader: ChunkReader,
    sink: &RowSink,
    control: Arc<Control>,
) -> Result<(), Failure> {
    let corrupt = |e: std::io::Error| Failure::Corrupt(e.to_string());
    let mut dec = Decompress::new_reader(reader).map_err(corrupt)?;
    let (width, height) = (dec.width(), dec.height());
    let (Ok(width32), Ok(height32)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(Failure::Corrupt(
            "the image size is out of range".to_owned(),
        ));
    };
    let (dpi_x, dpi_y) = match dec.pixel_density() {
        Some(d) if matches!(d.unit, PixelDensityUnit::Inches) => (u32::from(d.x), u32::from(d.y)),
        Some(d) if matches!(d.unit, PixelDensityUnit::Centimeters) => {
            let dpi = |v: u16| (f64::from(v) * 2.54).round() as u32;
            (dpi(d.x), dpi(d.y))
        }
        _ => (0, 0),
    };
    let max_v = dec
        .components()
        .iter()
        .map(|c| c.v_samp_factor)
        .max()
        .unwrap_or(1)
        .clamp(1, 4);
    let imcu_rows = u32::try_from(max_v).unwrap_or(4) * 8;
    let source = dec.color_space();
    let gray = source == ColorSpace::JCS_GRAYSCALE;
    let cmyk = matches!(source, ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK);
    let format = if gray {
        PixelFormat::Gray8
    } else {
        PixelFormat::Rgb8
    };
    let header = PageHeader {
        width: width32,
        height: Some(height32),
        format,
        dpi_x,
        dpi_y,
    };
    sink.header(header, imcu_rows)?;
    let mut started = if gray {
        dec.grayscale()
    } else if cmyk {
        dec.to_colorspace(ColorSpace::JCS_CMYK)
    } else {
        dec.rgb()
    }
    .map_err(corrupt)?;
    let channels = started.color_space().num_components();
    let mut line = vec![0u8; width * channels];
    // Sequential bodies stream; their bytes bound their rows.
    let streamed = !control.whole.load(Ordering::Acquire);
    for y in 0..height32 {
        if y >= control.limit.load(Ordering::Acquire) {
            break;
        }
        if streamed && u64::from(y) > plausible_rows(sink.bytes_read(), width32) {
            return Err(Failure::Corrupt(format!(
                "its scan data ends before row {y}"
            )));
        }
        started.read_scanlines_into(&mut line).map_err(corrupt)?;
        let row = if cmyk {
            cmyk_to_rgb(&line)
        } else {
            line.clone()
        };
        sink.row(row)?;
    }
    Ok(())
}

/// Converts Adobe-style (inverted) CMYK samples to RGB.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let k = u16::from(px[3]);
        for &c in &px[..3] {
            rgb.push(((u16::from(c) * k + 127) / 255) as u8);
        }
    }
    rgb
}
