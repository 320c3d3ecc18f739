//! Black-and-white conversion: gray histograms, Otsu's threshold and
//! packing rows into [`PixelFormat::Bw1`].
//!
//! Colour is reduced to gray with the same integer luma as
//! [`crate::raster::gray_row`] (`(299 R + 587 G + 114 B) / 1000`), so a
//! histogram, a threshold and a preview in gray all agree on every pixel.
//! A gray level strictly below the threshold becomes black (bit 1).
//!
//! With a fixed threshold, [`threshold_row`] converts row by row and can
//! run while a page streams in; the automatic threshold needs the whole
//! page's histogram first ([`to_black_and_white`] does both steps).

use crate::filter::Threshold;
use crate::raster::{Page, PageHeader, PixelFormat, gray_row};

/// Threshold [`otsu_level`] answers when a histogram has no dark and light
/// class to separate (a uniform or blank page: light stays white, dark
/// becomes black).
pub const UNIFORM_LEVEL: u8 = 128;

/// Smallest distance, in gray levels, between the mean levels of Otsu's two
/// classes for them to count as ink and paper rather than one noisy mode.
pub const MIN_SEPARATION: f64 = 32.0;

/// Counts the pixels of `page` at each gray level (index 0 = black, 255 =
/// white). Colour is converted with the luma of
/// [`crate::raster::gray_row`]; a black-and-white page counts at 0 and 255
/// only.
pub fn histogram(page: &Page) -> [u64; 256] {
    let header = page.header;
    let width = header.width as usize;
    let row_bytes = header.row_bytes();
    let mut hist = [0u64; 256];
    if width == 0 || row_bytes == 0 {
        return hist;
    }
    let rows = page.data.chunks_exact(row_bytes);
    match header.format {
        PixelFormat::Gray8 => {
            let mut counts = Counts::new();
            for row in rows {
                counts.add(&row[..width]);
            }
            counts.into_histogram(&mut hist);
        }
        PixelFormat::Rgb8 => {
            let mut counts = Counts::new();
            let mut gray = Vec::with_capacity(width);
            for row in rows {
                gray.clear();
                gray_row(PixelFormat::Rgb8, row, width, &mut gray);
                counts.add(&gray);
            }
            counts.into_histogram(&mut hist);
        }
        PixelFormat::Bw1 => {
            let mut black = 0u64;
            for row in rows {
                black += u64::from(black_in_row(row, width));
            }
            let total = width as u64 * (page.data.len() / row_bytes) as u64;
            hist[0] = black;
            hist[255] = total - black;
        }
    }
    hist
}

/// Four interleaved histograms, so that long runs of one level (blank
/// paper) do not serialise on a single counter.
struct Counts([[u64; 256]; 4]);

impl Counts {
    fn new() -> Counts {
        Counts([[0; 256]; 4])
    }

    fn add(&mut self, levels: &[u8]) {
        let (quads, rest) = levels.as_chunks::<4>();
        for q in quads {
            self.0[0][usize::from(q[0])] += 1;
            self.0[1][usize::from(q[1])] += 1;
            self.0[2][usize::from(q[2])] += 1;
            self.0[3][usize::from(q[3])] += 1;
        }
        for &level in rest {
            self.0[0][usize::from(level)] += 1;
        }
    }

    fn into_histogram(self, hist: &mut [u64; 256]) {
        for (level, out) in hist.iter_mut().enumerate() {
            *out = self.0.iter().map(|h| h[level]).sum();
        }
    }
}

/// Black pixels among the first `width` of a packed row (padding ignored).
fn black_in_row(row: &[u8], width: usize) -> u32 {
    let full = width / 8;
    let mut black: u32 = row[..full].iter().map(|b| b.count_ones()).sum();
    let rest = width % 8;
    if rest != 0 {
        let mask = 0xFFu8 << (8 - rest);
        black += (row[full] & mask).count_ones();
    }
    black
}

/// Otsu's threshold for a gray histogram: the level that best separates
/// the pixels into a dark and a light class (maximal between-class
/// variance). Pixels **below** the returned level are the dark class, as
/// [`threshold_row`] expects.
///
/// When several splits are equally good (the empty gap between two modes),
/// the level is put in the middle of them.
///
/// Otsu always finds *some* split, even in the noise of blank paper, or in
/// the paper's own noise when the ink is a tiny part of the page (well under
/// 1 %). So when the two classes' mean levels are less than
/// [`MIN_SEPARATION`] apart, or the histogram has fewer than two distinct
/// levels, the answer is [`UNIFORM_LEVEL`] instead: blank paper stays
/// white and sparse dark ink still turns black.
pub fn otsu_level(hist: &[u64; 256]) -> u8 {
    let total: u64 = hist.iter().sum();
    let weighted_total: f64 = hist
        .iter()
        .enumerate()
        .map(|(level, &n)| level as f64 * n as f64)
        .sum();
    if total == 0 {
        return UNIFORM_LEVEL;
    }
    let total_f = total as f64;

    let mut dark = 0u64;
    let mut dark_weighted = 0.0f64;
    let mut best = 0.0f64;
    let mut best_separation = 0.0f64;
    // The run of dark-class tops `t` (dark = levels 0..=t) with the best score.
    let mut best_run: Option<(usize, usize)> = None;
    for (t, &n) in hist.iter().enumerate().take(255) {
        dark += n;
        dark_weighted += t as f64 * n as f64;
        if dark == 0 || dark == total {
            continue;
        }
        let w0 = dark as f64;
        let w1 = total_f - w0;
        let mean0 = dark_weighted / w0;
        let mean1 = (weighted_total - dark_weighted) / w1;
        let score = w0 * w1 * (mean0 - mean1) * (mean0 - mean1);
        match best_run {
            Some((_, last)) if score == best && last + 1 == t => {
                best_run = best_run.map(|(first, _)| (first, t));
            }
            _ if score > best => {
                best = score;
                best_separation = mean1 - mean0;
                best_run = Some((t, t));
            }
            _ => {}
        }
    }
    match best_run {
        // `t` < 255, so `t + 1` fits in a byte.
        Some((first, last)) if best_separation >= MIN_SEPARATION => ((first + last) / 2 + 1) as u8,
        _ => UNIFORM_LEVEL,
    }
}

/// Appends one row converted to black and white (`(width + 7) / 8` bytes,
/// most significant bit first, 1 = black, padding bits 0) to `out`: a pixel
/// whose gray level is below `level` becomes black. A
/// [`PixelFormat::Bw1`] row is copied as it is.
///
/// # Panics
///
/// If `row` is shorter than `format.row_bytes(width)`.
pub fn threshold_row(format: PixelFormat, row: &[u8], width: usize, level: u8, out: &mut Vec<u8>) {
    match format {
        PixelFormat::Bw1 => {
            out.extend_from_slice(&row[..PixelFormat::Bw1.row_bytes(width as u32)]);
        }
        PixelFormat::Gray8 => pack_row(&row[..width], level, out),
        PixelFormat::Rgb8 => {
            let mut gray = Vec::with_capacity(width);
            gray_row(PixelFormat::Rgb8, row, width, &mut gray);
            pack_row(&gray, level, out);
        }
    }
}

/// Appends a row of gray levels packed eight pixels a byte, black (1) where
/// the level is below `level`.
fn pack_row(gray: &[u8], level: u8, out: &mut Vec<u8>) {
    let (octets, rest) = gray.as_chunks::<8>();
    out.reserve(octets.len() + 1);
    out.extend(octets.iter().map(|px| pack(px, level)));
    if !rest.is_empty() {
        out.push(pack(rest, level));
    }
}

/// Packs up to eight gray levels into one byte, first pixel in the most
/// significant bit.
fn pack(levels: &[u8], level: u8) -> u8 {
    let mut byte = 0u8;
    for (i, &gray) in levels.iter().enumerate() {
        byte |= u8::from(gray < level) << (7 - i);
    }
    byte
}

/// Converts `page` to black and white with `threshold`
/// ([`Threshold::Auto`]: [`otsu_level`] of this page's [`histogram`]).
/// Resolution and size are kept; a black-and-white page is returned as it
/// is.
pub fn to_black_and_white(page: &Page, threshold: Threshold) -> Page {
    let header = page.header;
    if header.format == PixelFormat::Bw1 {
        return page.clone();
    }
    let level = match threshold {
        Threshold::Fixed(level) => level,
        Threshold::Auto => otsu_level(&histogram(page)),
    };
    let width = header.width as usize;
    let out_header = PageHeader {
        format: PixelFormat::Bw1,
        ..header
    };
    let height = page.height() as usize;
    let mut data = Vec::with_capacity(out_header.row_bytes() * height);
    if header.row_bytes() > 0 {
        for row in page.data.chunks_exact(header.row_bytes()).take(height) {
            threshold_row(header.format, row, width, level, &mut data);
        }
    }
    // A zero-width page still has its (empty) rows.
    data.resize(out_header.row_bytes() * height, 0);
    Page {
        header: out_header,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Noise;

    /// A deterministic pseudo-random sequence (xorshift).
    fn bimodal(dark: usize, light: usize, spread: i32, counts: (u64, u64)) -> [u64; 256] {
        let mut hist = [0u64; 256];
        for d in -spread..=spread {
            hist[(dark as i32 + d) as usize] += counts.0;
            hist[(light as i32 + d) as usize] += counts.1;
        }
        hist
    }

    /// A gray "text" page: noisy paper around 225, strokes around 35 in a
    /// regular pattern of letter-sized boxes. Returns the page and the
    /// stroke mask.
    fn text_page(width: u32, height: u32) -> (Page, Vec<bool>) {
        let mut page = Page::filled(width, height, PixelFormat::Gray8, 300, 0);
        let mut ink = vec![false; page.data.len()];
        let mut noise = Noise(0x5eed);
        for y in 0..height as usize {
            for x in 0..width as usize {
                let line = y % 40;
                let column = x % 24;
                let stroke = (10..30).contains(&line)
                    && ((3..6).contains(&column) || (line < 13 && (3..18).contains(&column)));
                let base = if stroke { 35 } else { 225 };
                let i = y * width as usize + x;
                page.data[i] = (base + noise.offset(15)) as u8;
                ink[i] = stroke;
            }
        }
        (page, ink)
    }

    #[test]
    fn otsu_splits_bimodal_histograms_between_the_modes() {
        let level = otsu_level(&bimodal(40, 210, 10, (1000, 9000)));
        assert!((51..=200).contains(&level), "{level}");
        // Two clean spikes: the middle of the gap.
        let mut spikes = [0u64; 256];
        spikes[50] = 300;
        spikes[200] = 700;
        assert_eq!(otsu_level(&spikes), 125);
        // A hundred times more paper than ink (1 % ink, a sparse page) still
        // puts the split between the modes.
        let level = otsu_level(&bimodal(60, 180, 20, (50, 5000)));
        assert!((81..=160).contains(&level), "{level}");
        // Faint pencil on paper is still two classes.
        let level = otsu_level(&bimodal(170, 230, 8, (100, 1000)));
        assert!((179..=222).contains(&level), "{level}");
    }

    #[test]
    fn noise_alone_is_not_split() {
        // Blank paper: one noisy mode.
        assert_eq!(otsu_level(&bimodal(228, 228, 12, (1, 1))), UNIFORM_LEVEL);
        // A thousand times more paper than ink: Otsu would split the paper.
        assert_eq!(otsu_level(&bimodal(60, 180, 20, (5, 5000))), UNIFORM_LEVEL);
    }

    #[test]
    fn blank_and_sparse_pages_convert_cleanly() {
        let mut page = Page::filled(400, 300, PixelFormat::Gray8, 300, 0);
        let mut noise = Noise(7);
        for v in page.data.iter_mut() {
            *v = (228 + noise.offset(12)) as u8;
        }
        let bw = to_black_and_white(&page, Threshold::Auto);
        assert!(bw.data.iter().all(|&b| b == 0));
        // One short dark stroke: black, and nothing else.
        for y in 100..103 {
            page.data[y * 400 + 50..y * 400 + 90].fill(40);
        }
        let bw = to_black_and_white(&page, Threshold::Auto);
        let black: u32 = bw.data.iter().map(|b| b.count_ones()).sum();
        assert_eq!(black, 120);
    }

    #[test]
    fn otsu_on_degenerate_histograms() {
        assert_eq!(otsu_level(&[0; 256]), UNIFORM_LEVEL);
        let mut one = [0u64; 256];
        one[240] = 1234;
        assert_eq!(otsu_level(&one), UNIFORM_LEVEL);
        let mut ends = [0u64; 256];
        ends[0] = 1;
        ends[255] = 1;
        assert_eq!(otsu_level(&ends), 128);
    }

    #[test]
    fn histogram_counts_every_pixel_with_the_raster_luma() {
        let mut page = Page::filled(5, 3, PixelFormat::Rgb8, 100, 0);
        for (i, b) in page.data.iter_mut().enumerate() {
            *b = (i * 53 % 256) as u8;
        }
        let hist = histogram(&page);
        assert_eq!(hist.iter().sum::<u64>(), 15);
        let gray = page.to_gray();
        let mut expected = [0u64; 256];
        for &g in &gray.data {
            expected[usize::from(g)] += 1;
        }
        assert_eq!(hist, expected);
        assert_eq!(histogram(&gray), expected);
    }

    #[test]
    fn histogram_of_black_and_white_ignores_padding() {
        let mut page = Page::filled(10, 2, PixelFormat::Bw1, 100, 0);
        page.data = vec![0b1100_0000, 0b1111_1111, 0, 0b0100_0000];
        let hist = histogram(&page);
        assert_eq!(hist[0], 5);
        assert_eq!(hist[255], 15);
    }

    #[test]
    fn threshold_row_packs_below_level_as_black() {
        let gray = [0u8, 100, 127, 128, 200, 255, 10, 0, 50, 255];
        let mut out = Vec::new();
        threshold_row(PixelFormat::Gray8, &gray, 10, 128, &mut out);
        assert_eq!(out, vec![0b1110_0011, 0b1000_0000]);
        // Appends, with zero padding bits.
        threshold_row(PixelFormat::Gray8, &gray, 3, 101, &mut out);
        assert_eq!(out, vec![0b1110_0011, 0b1000_0000, 0b1100_0000]);
    }

    #[test]
    fn threshold_row_uses_the_raster_luma_for_colour() {
        let mut noise = Noise(99);
        let rgb: Vec<u8> = (0..3 * 37).map(|_| noise.next() as u8).collect();
        let mut gray = Vec::new();
        gray_row(PixelFormat::Rgb8, &rgb, 37, &mut gray);
        for level in [1u8, 64, 128, 200, 255] {
            let mut from_rgb = Vec::new();
            threshold_row(PixelFormat::Rgb8, &rgb, 37, level, &mut from_rgb);
            let mut from_gray = Vec::new();
            threshold_row(PixelFormat::Gray8, &gray, 37, level, &mut from_gray);
            assert_eq!(from_rgb, from_gray, "level {level}");
        }
    }

    #[test]
    fn a_text_page_converts_with_text_black() {
        let (page, ink) = text_page(301, 163);
        let bw = to_black_and_white(&page, Threshold::Auto);
        assert_eq!(bw.header.format, PixelFormat::Bw1);
        assert_eq!((bw.header.width, bw.height()), (301, 163));
        let back = bw.to_gray();
        for (i, (&g, &stroke)) in back.data.iter().zip(&ink).enumerate() {
            assert_eq!(g == 0, stroke, "pixel {i}");
        }
        // The same page in colour gives the same result.
        let mut rgb = Page::filled(301, 163, PixelFormat::Rgb8, 300, 0);
        for (px, &g) in rgb.data.chunks_exact_mut(3).zip(&page.data) {
            px.copy_from_slice(&[g, g, g]);
        }
        assert_eq!(to_black_and_white(&rgb, Threshold::Auto), bw);
    }

    #[test]
    fn fixed_thresholds_are_honoured() {
        let (page, _) = text_page(64, 40);
        let all_white = to_black_and_white(&page, Threshold::Fixed(0));
        assert!(all_white.data.iter().all(|&b| b == 0));
        let all_black = to_black_and_white(&page, Threshold::Fixed(255));
        assert!(all_black.data.iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn black_and_white_input_passes_through() {
        let mut page = Page::filled(13, 4, PixelFormat::Bw1, 200, 0);
        page.data = vec![0xA5, 0x18, 0x00, 0xFF, 0x81, 0x7E, 0x3C, 0xC3];
        assert_eq!(to_black_and_white(&page, Threshold::Auto), page);
        assert_eq!(to_black_and_white(&page, Threshold::Fixed(3)), page);
        let mut out = Vec::new();
        threshold_row(PixelFormat::Bw1, page.row(1), 13, 0, &mut out);
        assert_eq!(out, page.row(1));
    }

    #[test]
    fn empty_pages_do_not_panic() {
        let page = Page::filled(0, 3, PixelFormat::Gray8, 100, 0);
        let bw = to_black_and_white(&page, Threshold::Auto);
        assert_eq!(bw.height(), 3);
        assert!(bw.data.is_empty());
        assert_eq!(
            histogram(&Page::filled(4, 0, PixelFormat::Rgb8, 100, 0)),
            [0; 256]
        );
    }
}
