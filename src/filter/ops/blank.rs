//! Blank-page detection: does a page carry any ink worth keeping?
//!
//! Scanned blank paper is never uniform: sensor noise, paper texture, a
//! shadow along the edges, a few specks of dust. The detector therefore
//! looks for *marks*, not for non-white pixels:
//!
//! 1. a margin of [`MARGIN_PERCENT`] of the width and height is ignored on
//!    every side (edge shadows, punched holes, the feeder's background);
//! 2. the paper level is the median gray of what remains (colour is reduced
//!    with the luma of [`crate::raster::gray_row`]), and the noise spread is
//!    how far the 16th percentile lies below it;
//! 3. a pixel is *dark* when it is more than `delta` below the paper, with
//!    `delta` four noise spreads, at least [`MIN_DELTA`] and at most
//!    [`MAX_DELTA`] levels;
//! 4. a dark pixel is *ink* only when at least [`MIN_NEIGHBOURHOOD`] pixels
//!    of its 3 x 3 neighbourhood (itself included) are dark, which drops
//!    isolated noise pixels and single-pixel dust;
//! 5. the page is blank when the ink fraction of the examined area is at
//!    most [`ink_limit`] of the sensitivity.
//!
//! A uniform page of any shade is blank. The detector only judges; what
//! happens to a blank page ([`crate::filter::BlankAction`]) is the
//! pipeline's business.

use crate::raster::{Page, PixelFormat, gray_row};

/// Margin ignored at each edge, in percent of the page's width or height.
pub const MARGIN_PERCENT: usize = 3;
/// Smallest darkening (in gray levels) below the paper that counts as dark.
pub const MIN_DELTA: u8 = 24;
/// Largest darkening threshold, however noisy the paper.
pub const MAX_DELTA: u8 = 96;
/// Dark pixels needed in a 3 x 3 neighbourhood for its centre to be ink.
pub const MIN_NEIGHBOURHOOD: u8 = 3;

/// The detector's answer for one page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlankVerdict {
    /// True when the page holds no more ink than the sensitivity allows.
    pub blank: bool,
    /// Fraction (0..=1) of the examined pixels found to be ink.
    pub ink: f64,
}

/// The largest ink fraction a blank page may have at `sensitivity` (0..=1,
/// higher: more pages count as blank; outside values are clamped, NaN
/// counts as 0.5).
///
/// The limit is `2 * 10^(4 * sensitivity - 7)`, log-linear from 2e-7 at 0
/// (any real mark makes a page non-blank) through 2e-5 at 0.5 (about
/// 1.2 mm² of ink on an A4 page: a few dust specks are blank, a
/// one-centimetre pen stroke is not) to 2e-3 at 1 (a few words are still
/// blank).
pub fn ink_limit(sensitivity: f32) -> f64 {
    let s = if sensitivity.is_nan() {
        0.5
    } else {
        f64::from(sensitivity.clamp(0.0, 1.0))
    };
    2.0 * 10f64.powf(4.0 * s - 7.0)
}

/// Decides whether `page` is blank at `sensitivity` (see [`ink_limit`]),
/// with the method of the [module documentation](self).
pub fn detect_blank(page: &Page, sensitivity: f32) -> BlankVerdict {
    let ink = ink_fraction(page);
    BlankVerdict {
        blank: ink <= ink_limit(sensitivity),
        ink,
    }
}

/// The examined part of a page: the rectangle inside the margins.
struct Area {
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
}

impl Area {
    fn inside(width: usize, height: usize) -> Area {
        let mx = width * MARGIN_PERCENT / 100;
        let my = height * MARGIN_PERCENT / 100;
        Area {
            x0: mx,
            x1: width - mx,
            y0: my,
            y1: height - my,
        }
    }

    fn width(&self) -> usize {
        self.x1 - self.x0
    }

    fn height(&self) -> usize {
        self.y1 - self.y0
    }
}

/// Reads rows of a page as gray, converting into a reused buffer when the
/// page is not gray already.
struct GrayRows<'a> {
    page: &'a Page,
    width: usize,
    buffer: Vec<u8>,
}

impl<'a> GrayRows<'a> {
    fn new(page: &'a Page) -> GrayRows<'a> {
        let width = page.header.width as usize;
        GrayRows {
            page,
            width,
            buffer: Vec::with_capacity(width),
        }
    }

    fn row(&mut self, y: usize) -> &[u8] {
        let row = self.page.row(y as u32);
        if self.page.header.format == PixelFormat::Gray8 {
            return &row[..self.width];
        }
        self.buffer.clear();
        gray_row(self.page.header.format, row, self.width, &mut self.buffer);
        &self.buffer
    }
}

fn ink_fraction(page: &Page) -> f64 {
    let width = page.header.width as usize;
    let row_bytes = page.header.row_bytes();
    let height = match row_bytes {
        0 => 0,
        rb => (page.height() as usize).min(page.data.len() / rb),
    };
    let area = Area::inside(width, height);
    if area.width() == 0 || area.height() == 0 {
        return 0.0;
    }
    let mut rows = GrayRows::new(page);
    let Some(dark_below) = dark_level(&mut rows, &area) else {
        return 0.0;
    };
    let ink = count_ink(&mut rows, &area, dark_below);
    ink as f64 / (area.width() * area.height()) as f64
}

/// The gray level below which a pixel is dark, from the paper level and
/// noise of a sample of every other pixel of every other row; `None` when
/// the paper is too dark for anything to be darker.
fn dark_level(rows: &mut GrayRows<'_>, area: &Area) -> Option<u8> {
    let mut hist = [0u64; 256];
    for y in (area.y0..area.y1).step_by(2) {
        let row = rows.row(y);
        for &level in row[area.x0..area.x1].iter().step_by(2) {
            hist[usize::from(level)] += 1;
        }
    }
    let total: u64 = hist.iter().sum();
    let percentile = |fraction: f64| -> u8 {
        let wanted = ((total as f64 * fraction).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (level, &n) in hist.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                return level as u8;
            }
        }
        255
    };
    let paper = percentile(0.5);
    let spread = paper - percentile(0.16);
    let delta = spread.saturating_mul(4).clamp(MIN_DELTA, MAX_DELTA);
    paper.checked_sub(delta).filter(|&level| level > 0)
}

/// Counts the ink pixels of the area: dark (below `dark_below`) with at
/// least [`MIN_NEIGHBOURHOOD`] dark pixels in their 3 x 3 neighbourhood.
/// Pixels outside the area count as not dark.
fn count_ink(rows: &mut GrayRows<'_>, area: &Area, dark_below: u8) -> u64 {
    let w = area.width();
    // Dark masks (0/1) of the previous, current and next rows, with one
    // not-dark pixel of padding at each end.
    let mut above = vec![0u8; w + 2];
    let mut current = vec![0u8; w + 2];
    let mut below = vec![0u8; w + 2];
    let mut column = vec![0u8; w + 2];
    let fill = |rows: &mut GrayRows<'_>, y: usize, mask: &mut [u8]| {
        if y < area.y1 {
            let row = &rows.row(y)[area.x0..area.x1];
            for (m, &level) in mask[1..=w].iter_mut().zip(row) {
                *m = u8::from(level < dark_below);
            }
        } else {
            mask.fill(0);
        }
    };
    fill(rows, area.y0, &mut current);
    let mut ink = 0u64;
    for y in area.y0..area.y1 {
        fill(rows, y + 1, &mut below);
        if current.contains(&1) {
            for (((c, &a), &m), &b) in column.iter_mut().zip(&above).zip(&current).zip(&below) {
                *c = a + m + b;
            }
            for (x, window) in column.windows(3).enumerate() {
                let dark = current[x + 1] == 1;
                let count = window[0] + window[1] + window[2];
                ink += u64::from(dark && count >= MIN_NEIGHBOURHOOD);
            }
        }
        // The current row becomes the one above; the next row the current.
        std::mem::swap(&mut above, &mut current);
        std::mem::swap(&mut current, &mut below);
    }
    ink
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Noise;

    /// A4 at 150 dpi.
    const A4: (u32, u32, u32) = (1240, 1754, 150);

    /// Off-white paper with sensor noise, a slow texture and a dark shadow
    /// along the left and top edges.
    fn noisy_paper() -> Page {
        let (w, h, dpi) = A4;
        let mut page = Page::filled(w, h, PixelFormat::Gray8, dpi, 0);
        let mut noise = Noise(0xdeadbeef);
        for y in 0..h as usize {
            for x in 0..w as usize {
                let texture = ((x / 37 + y / 53) % 5) as i32 - 2;
                let shadow = if x < 12 || y < 20 { -150 } else { 0 };
                let level = 232 + texture + shadow + noise.offset(9);
                page.data[y * w as usize + x] = level.clamp(0, 255) as u8;
            }
        }
        page
    }

    fn paint(page: &mut Page, x0: usize, y0: usize, w: usize, h: usize, level: u8) {
        let width = page.header.width as usize;
        for y in y0..y0 + h {
            page.data[y * width + x0..y * width + x0 + w].fill(level);
        }
    }

    #[test]
    fn white_pages_are_blank_in_every_format() {
        for format in [PixelFormat::Gray8, PixelFormat::Rgb8] {
            let page = Page::filled(850, 1100, format, 100, 255);
            let verdict = detect_blank(&page, 0.5);
            assert_eq!(
                verdict,
                BlankVerdict {
                    blank: true,
                    ink: 0.0
                },
                "{format:?}"
            );
        }
        let page = Page::filled(850, 1100, PixelFormat::Bw1, 100, 0);
        assert!(detect_blank(&page, 0.0).blank);
    }

    #[test]
    fn noisy_paper_with_dust_is_blank() {
        let mut page = noisy_paper();
        // Dust: single pixels and pairs (two or three 0.2 mm specks).
        for (i, &(x, y)) in [(300, 400), (700, 900), (1000, 1500), (200, 1600)]
            .iter()
            .enumerate()
        {
            paint(&mut page, x, y, 1 + i % 2, 1, 60);
        }
        paint(&mut page, 500, 500, 1, 1, 0);
        paint(&mut page, 640, 1200, 2, 2, 90);
        let verdict = detect_blank(&page, 0.5);
        assert!(verdict.blank, "{verdict:?}");
        assert!(verdict.ink < 5e-6, "{verdict:?}");
    }

    #[test]
    fn a_short_pen_mark_is_not_blank() {
        let mut page = noisy_paper();
        // 1.2 cm long, 0.5 mm wide at 150 dpi.
        paint(&mut page, 600, 1300, 71, 3, 70);
        let verdict = detect_blank(&page, 0.5);
        assert!(!verdict.blank, "{verdict:?}");
        // A lenient setting lets it through, a strict one even more so.
        assert!(detect_blank(&page, 1.0).blank);
        assert!(!detect_blank(&page, 0.0).blank);
    }

    #[test]
    fn a_faint_pencil_signature_is_not_blank() {
        let mut page = noisy_paper();
        // A zigzag scribble about 2 cm wide, 2 px strokes, 70 levels darker.
        for i in 0..120usize {
            let rise = if (i / 20) % 2 == 0 {
                i % 20
            } else {
                20 - i % 20
            };
            paint(&mut page, 400 + i, 1500 + rise, 2, 2, 160);
        }
        let verdict = detect_blank(&page, 0.5);
        assert!(!verdict.blank, "{verdict:?}");
    }

    #[test]
    fn a_page_of_text_is_not_blank_even_when_lenient() {
        let mut page = noisy_paper();
        for line in 0..40 {
            for word in 0..12 {
                paint(&mut page, 120 + word * 80, 150 + line * 36, 60, 14, 30);
            }
        }
        let verdict = detect_blank(&page, 1.0);
        assert!(!verdict.blank, "{verdict:?}");
        assert!(verdict.ink > 0.05, "{verdict:?}");
    }

    #[test]
    fn marks_in_the_margin_are_ignored() {
        let mut page = noisy_paper();
        paint(&mut page, 2, 600, 25, 200, 0);
        assert!(detect_blank(&page, 0.5).blank);
    }

    #[test]
    fn colour_marks_count_through_their_luma() {
        let mut page = Page::filled(800, 1000, PixelFormat::Rgb8, 100, 250);
        // A blue stamp, 1 cm square at 100 dpi.
        for y in 400..440 {
            for x in 300..340 {
                page.data[(y * 800 + x) * 3..(y * 800 + x) * 3 + 3].copy_from_slice(&[40, 60, 200]);
            }
        }
        assert!(!detect_blank(&page, 0.5).blank);
    }

    #[test]
    fn uniform_and_tiny_pages_are_blank() {
        assert!(detect_blank(&Page::filled(300, 300, PixelFormat::Gray8, 100, 0), 0.5).blank);
        assert!(detect_blank(&Page::filled(300, 300, PixelFormat::Gray8, 100, 128), 0.0).blank);
        assert!(detect_blank(&Page::filled(0, 0, PixelFormat::Rgb8, 100, 0), 0.5).blank);
        assert!(detect_blank(&Page::filled(2, 1, PixelFormat::Bw1, 100, 0xFF), 0.5).blank);
    }

    #[test]
    fn the_ink_limit_grows_with_sensitivity() {
        assert!((ink_limit(0.5) - 2e-5).abs() < 1e-12);
        assert!((ink_limit(0.0) - 2e-7).abs() < 1e-15);
        assert!((ink_limit(1.0) - 2e-3).abs() < 1e-10);
        assert_eq!(ink_limit(7.0), ink_limit(1.0));
        assert_eq!(ink_limit(f32::NAN), ink_limit(0.5));
        assert!(ink_limit(0.3) < ink_limit(0.31));
    }
}
