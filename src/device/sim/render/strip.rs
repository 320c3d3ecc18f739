//! The machine-readable index strip printed in a document page's top margin.
//!
//! The strip is a one-row barcode of equally wide modules (black = 1):
//!
//! ```text
//! start guard 111010 | 57 payload bits | end guard 010111
//! ```
//!
//! The payload is page number (16 bits), side (1 bit, 1 = back), the low 32
//! bits of the device seed and a CRC-8 (polynomial 0x07) over those fields,
//! most significant bit first, XORed with a fixed mask so that small numbers
//! do not print as long white runs. Modules are at least 1.1 mm wide, so the
//! strip survives 75 dpi, resampling and JPEG compression.
//!
//! [`decode_index_strip`] does not rely on pixel positions: it searches the
//! top third of the page, row by row, for the start guard's 3:1:1 pattern,
//! takes the module pitch from the guard, looks for the end guard near where
//! the strip should end, turns the runs in between into modules by rounding
//! their edges to the pitch (every edge must lie near the module grid, which
//! text rarely does), and accepts a payload whose guards and checksum match
//! on two rows. It then tries again on the page turned 180 degrees.
//! Skewed pages are not handled.

use super::canvas::{Canvas, Rect, Rgb};
use crate::raster::{Page, gray_row};
use crate::stream::Side;

/// Start guard modules (true = black).
const START_GUARD: [bool; 6] = [true, true, true, false, true, false];
/// End guard modules (true = black).
const END_GUARD: [bool; 6] = [false, true, false, true, true, true];
/// Payload bits between the guards.
const PAYLOAD_BITS: usize = 57;
/// Modules in a whole strip.
pub(crate) const MODULES: usize = START_GUARD.len() + PAYLOAD_BITS + END_GUARD.len();
/// XORed over the payload to break up long runs of equal bits.
const WHITENING: u64 = 0x0156_9C3A_D2E7_4B8D & ((1 << PAYLOAD_BITS) - 1);
/// Gray level below which a pixel counts as black.
const THRESHOLD: u8 = 128;
/// Narrowest module the renderer prints, in millimetres (> 1/25 inch).
pub(crate) const MIN_MODULE_MM: f64 = 1.1;
/// Module width the renderer prefers, in millimetres.
pub(crate) const MODULE_MM: f64 = 1.5;
/// Strip height, in millimetres.
pub(crate) const HEIGHT_MM: f64 = 4.0;

/// What an index strip says about the page it is printed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexStrip {
    /// Page number in transfer order (1-based), modulo 65536.
    pub page: u32,
    /// Side of the sheet.
    pub side: Side,
    /// The low 32 bits of the device seed.
    pub seed: u32,
}

/// CRC-8 with polynomial x^8 + x^2 + x + 1, initial value 0.
fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &byte in bytes {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The bytes the checksum covers.
fn checked_bytes(page: u16, back: bool, seed: u32) -> [u8; 7] {
    let p = page.to_be_bytes();
    let s = seed.to_be_bytes();
    [p[0], p[1], u8::from(back), s[0], s[1], s[2], s[3]]
}

impl IndexStrip {
    /// The strip's modules, left to right (true = black).
    pub(crate) fn modules(&self) -> [bool; MODULES] {
        let page = (self.page & 0xFFFF) as u16;
        let back = self.side == Side::Back;
        let crc = crc8(&checked_bytes(page, back, self.seed));
        let payload = (u64::from(page) << 41)
            | (u64::from(back) << 40)
            | (u64::from(self.seed) << 8)
            | u64::from(crc);
        let payload = payload ^ WHITENING;
        let mut modules = [false; MODULES];
        modules[..START_GUARD.len()].copy_from_slice(&START_GUARD);
        for i in 0..PAYLOAD_BITS {
            modules[START_GUARD.len() + i] = (payload >> (PAYLOAD_BITS - 1 - i)) & 1 == 1;
        }
        modules[MODULES - END_GUARD.len()..].copy_from_slice(&END_GUARD);
        modules
    }

    /// Reads modules back; `None` unless the guards and checksum match.
    fn from_modules(modules: &[bool; MODULES]) -> Option<IndexStrip> {
        if modules[..START_GUARD.len()] != START_GUARD
            || modules[MODULES - END_GUARD.len()..] != END_GUARD
        {
            return None;
        }
        let mut payload = 0u64;
        for &m in &modules[START_GUARD.len()..MODULES - END_GUARD.len()] {
            payload = (payload << 1) | u64::from(m);
        }
        payload ^= WHITENING;
        let page = ((payload >> 41) & 0xFFFF) as u16;
        let back = (payload >> 40) & 1 == 1;
        let seed = ((payload >> 8) & 0xFFFF_FFFF) as u32;
        let crc = (payload & 0xFF) as u8;
        if crc != crc8(&checked_bytes(page, back, seed)) {
            return None;
        }
        Some(IndexStrip {
            page: u32::from(page),
            side: if back { Side::Back } else { Side::Front },
            seed,
        })
    }
}

/// Draws `strip` with its top-left corner at `(x, y)` pixels, each module
/// `module` pixels wide and `height` pixels tall. Returns the area covered.
pub(crate) fn draw_strip(
    canvas: &mut Canvas,
    strip: &IndexStrip,
    x: f64,
    y: f64,
    module: f64,
    height: f64,
) -> Rect {
    let modules = strip.modules();
    let mut i = 0;
    while i < MODULES {
        // Draw each black run as one rectangle so joints leave no seams.
        if modules[i] {
            let run_start = i;
            while i < MODULES && modules[i] {
                i += 1;
            }
            let left = x + run_start as f64 * module;
            let right = x + i as f64 * module;
            canvas.fill_rect(Rect::new(left, y, right - left, height), Rgb(16, 16, 18));
        } else {
            i += 1;
        }
    }
    Rect::new(x, y, MODULES as f64 * module, height)
}

/// A run of equally classified pixels in one row.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    len: usize,
    black: bool,
}

impl Run {
    fn end(&self) -> usize {
        self.start + self.len
    }
}

/// Splits a gray row into runs of black and white pixels.
fn runs_of(row: &[u8], runs: &mut Vec<Run>) {
    runs.clear();
    let mut start = 0;
    while start < row.len() {
        let black = row[start] < THRESHOLD;
        let mut end = start + 1;
        while end < row.len() && (row[end] < THRESHOLD) == black {
            end += 1;
        }
        runs.push(Run {
            start,
            len: end - start,
            black,
        });
        start = end;
    }
}

/// Largest distance (in modules) an edge may lie from the module grid.
const EDGE_SLACK: f64 = 0.35;

/// Turns the runs from a strip's first pixel (`origin`) to its last into
/// modules by rounding every edge to the nearest multiple of `pitch`.
/// `None` when an edge lies far off that grid: the runs are not a strip
/// (text often looks like one for a few runs) or were misread.
fn modules_from_runs(runs: &[Run], origin: f64, pitch: f64) -> Option<[bool; MODULES]> {
    let mut modules = [false; MODULES];
    let grid = |x: usize| -> Option<usize> {
        let at = (x as f64 - origin) / pitch;
        let nearest = at.round();
        ((at - nearest).abs() <= EDGE_SLACK).then(|| (nearest.max(0.0) as usize).min(MODULES))
    };
    for run in runs {
        let (start, end) = (grid(run.start)?, grid(run.end())?);
        for m in &mut modules[start..end.max(start)] {
            *m = run.black;
        }
    }
    Some(modules)
}

/// Whether `len` is `modules` module widths of `pitch`, give or take.
fn about(len: usize, modules: f64, pitch: f64) -> bool {
    let ratio = len as f64 / pitch;
    ratio > modules * 0.6 && ratio < modules * 1.4 + 0.4
}

/// Looks for a whole strip in one gray row.
fn decode_row(row: &[u8], runs: &mut Vec<Run>) -> Option<IndexStrip> {
    runs_of(row, runs);
    for i in 1..runs.len().saturating_sub(3) {
        let (quiet, a, b, c) = (runs[i - 1], runs[i], runs[i + 1], runs[i + 2]);
        if !a.black {
            continue;
        }
        // Start guard: black 3, white 1, black 1 (then white, maybe merged
        // with white payload bits), after a white quiet zone.
        let pitch = (a.len + b.len + c.len) as f64 / 5.0;
        if pitch < 1.5
            || !about(a.len, 3.0, pitch)
            || !about(b.len, 1.0, pitch)
            || !about(c.len, 1.0, pitch)
            || (quiet.len as f64) < 1.5 * pitch
        {
            continue;
        }
        let origin = a.start as f64;
        let expected_end = origin + MODULES as f64 * pitch;
        // The guard gives the pitch to within about two pixels over five
        // modules; blur and compression add a little on top.
        let tolerance = MODULES as f64 * (2.0 / 5.0 + pitch * 0.04) + 2.0;
        for j in i + 3..runs.len() {
            let last = runs[j];
            let end = last.end() as f64;
            if end > expected_end + tolerance {
                break;
            }
            if !last.black || end < expected_end - tolerance {
                continue;
            }
            let pitch = (end - origin) / MODULES as f64;
            // The end guard closes with three black modules and a quiet zone.
            let quiet_after = runs.get(j + 1).is_none_or(|r| r.len as f64 >= 1.5 * pitch);
            if !about(last.len, 3.0, pitch) || !quiet_after {
                continue;
            }
            let strip = modules_from_runs(&runs[i..=j], origin, pitch)
                .and_then(|modules| IndexStrip::from_modules(&modules));
            if strip.is_some() {
                return strip;
            }
        }
    }
    None
}

/// Finds and reads the index strip of a rendered document page.
///
/// Works on every pixel format, at any resolution the strip's modules stay
/// at least about 3 pixels wide (75 dpi and up), after lossy compression,
/// and on pages turned 180 degrees. Returns `None` for pages without a
/// readable strip (blank sheets, photos, other documents, skewed pages) and
/// for malformed pages; it never panics.
pub fn decode_index_strip(page: &Page) -> Option<IndexStrip> {
    let width = page.header.width as usize;
    let row_bytes = page.header.row_bytes();
    if width == 0 || row_bytes == 0 {
        return None;
    }
    let rows = (page.height() as usize).min(page.data.len() / row_bytes);
    let search = rows.div_ceil(3);
    let mut gray = Vec::with_capacity(width);
    let mut runs = Vec::new();
    for turned in [false, true] {
        let mut seen: Vec<IndexStrip> = Vec::new();
        for i in 0..search {
            let y = if turned { rows - 1 - i } else { i };
            gray.clear();
            gray_row(
                page.header.format,
                &page.data[y * row_bytes..(y + 1) * row_bytes],
                width,
                &mut gray,
            );
            if turned {
                gray.reverse();
            }
            if let Some(strip) = decode_row(&gray, &mut runs) {
                if seen.contains(&strip) {
                    return Some(strip);
                }
                seen.push(strip);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(page: u32, side: Side, seed: u32) -> IndexStrip {
        IndexStrip { page, side, seed }
    }

    #[test]
    fn crc8_matches_the_reference_check_value() {
        // CRC-8 (poly 0x07, init 0) of "123456789" is 0xF4.
        assert_eq!(crc8(b"123456789"), 0xF4);
    }

    #[test]
    fn modules_round_trip_and_reject_a_flipped_bit() {
        for s in [
            strip(1, Side::Front, 0),
            strip(65535, Side::Back, u32::MAX),
            strip(42, Side::Back, 0xDEAD_BEEF),
        ] {
            let mut modules = s.modules();
            assert_eq!(IndexStrip::from_modules(&modules), Some(s));
            modules[20] = !modules[20];
            assert_eq!(IndexStrip::from_modules(&modules), None);
        }
    }

    #[test]
    fn a_row_with_fractional_pitch_decodes() {
        let s = strip(7, Side::Back, 0x1234_5678);
        let modules = s.modules();
        let pitch = 3.3;
        let mut row = vec![240u8; 40 + (MODULES as f64 * pitch) as usize + 40];
        for (x, px) in row.iter_mut().enumerate() {
            let m = ((x as f64 - 40.0) / pitch).floor();
            if m >= 0.0 && (m as usize) < MODULES && modules[m as usize] {
                *px = 20;
            }
        }
        assert_eq!(decode_row(&row, &mut Vec::new()), Some(s));
    }

    #[test]
    fn malformed_pages_give_none() {
        let mut page = Page::filled(10, 10, crate::raster::PixelFormat::Rgb8, 300, 0);
        page.data.truncate(7);
        assert_eq!(decode_index_strip(&page), None);
        let empty = Page::filled(0, 0, crate::raster::PixelFormat::Bw1, 300, 0);
        assert_eq!(decode_index_strip(&empty), None);
    }
}
