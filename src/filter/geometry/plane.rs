//! Gray working copies of a page: the reduced plane detection runs on, plus
//! small helpers to move between pixel formats.
//!
//! A [`Plane`] is a plain `width x height` array of 8-bit luma (Rec. 601
//! weights, as [`crate::raster::gray_row`]). It is not a [`Page`]: it has no
//! resolution of its own, only the reduction factors that relate it to the
//! page it was made from.

use crate::raster::{Page, PixelFormat};

/// An 8-bit gray image, row after row, without padding.
#[derive(Debug, Clone)]
pub(crate) struct Plane {
    /// Pixels per row.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
    /// `width * height` luma values.
    pub data: Vec<u8>,
    /// Page pixels per plane pixel, horizontally.
    pub factor_x: usize,
    /// Page pixels per plane pixel, vertically.
    pub factor_y: usize,
}

impl Plane {
    /// Luma at `(x, y)`; the caller keeps the position inside.
    #[inline]
    pub(crate) fn at(&self, x: usize, y: usize) -> u8 {
        self.data[y * self.width + x]
    }

    /// Histogram of all values.
    pub(crate) fn histogram(&self) -> [u32; 256] {
        let mut hist = [0u32; 256];
        for &v in &self.data {
            hist[usize::from(v)] += 1;
        }
        hist
    }
}

/// The integer reduction factor that brings `dpi` to at most `max_dpi`
/// (1 when the page is already coarse enough or the resolution unknown).
pub(crate) fn factor_for(dpi: u32, max_dpi: u32) -> usize {
    if dpi == 0 || max_dpi == 0 {
        1
    } else {
        (dpi.div_ceil(max_dpi) as usize).max(1)
    }
}

/// A gray copy of `page` reduced by box averaging so that neither axis
/// exceeds `max_dpi`. Blocks at the right and bottom edges that are only
/// partly covered average the pixels they have. Empty pages give an empty
/// plane.
pub(crate) fn reduced(page: &Page, max_dpi: u32) -> Plane {
    let fx = factor_for(page.header.dpi_x, max_dpi);
    let fy = factor_for(page.header.dpi_y, max_dpi);
    reduced_by(page, fx, fy)
}

/// A gray copy of `page` reduced by `fx x fy` box averaging. Rows are
/// first added up sample by sample (cheap element-wise work), then each
/// block's sum is taken once per reduced row; colour is summed per channel
/// and turned into luma once per block, which is the same (luma being
/// linear) and much cheaper than per pixel.
pub(crate) fn reduced_by(page: &Page, fx: usize, fy: usize) -> Plane {
    let (fx, fy) = (fx.max(1), fy.max(1));
    let format = page.header.format;
    let w = page.header.width as usize;
    let h = page.height() as usize;
    let (rw, rh) = (w.div_ceil(fx), h.div_ceil(fy));
    let channels = usize::from(format.channels());
    let mut data = Vec::with_capacity(rw * rh);
    // One running sum per sample of a row (per pixel for black and white,
    // counting white as 255).
    let mut columns = vec![0u32; w * channels];
    for ry in 0..rh {
        columns.iter_mut().for_each(|s| *s = 0);
        let y0 = ry * fy;
        let y1 = (y0 + fy).min(h);
        for y in y0..y1 {
            let row = page.row(y as u32);
            match format {
                PixelFormat::Gray8 | PixelFormat::Rgb8 => {
                    for (s, &v) in columns.iter_mut().zip(row) {
                        *s += u32::from(v);
                    }
                }
                PixelFormat::Bw1 => {
                    for (sums, &byte) in columns.chunks_mut(8).zip(row) {
                        let white = !byte;
                        for (k, s) in sums.iter_mut().enumerate() {
                            *s += u32::from((white >> (7 - k)) & 1) * 255;
                        }
                    }
                }
            }
        }
        let rows = (y1 - y0) as u64;
        for (rx, block) in columns.chunks(fx * channels).enumerate() {
            let n = (rows * fx.min(w - rx * fx) as u64).max(1);
            let value = if channels == 3 {
                let mut rgb = [0u64; 3];
                for px in block.chunks_exact(3) {
                    for (acc, &v) in rgb.iter_mut().zip(px) {
                        *acc += u64::from(v);
                    }
                }
                (rgb[0] * 299 + rgb[1] * 587 + rgb[2] * 114) / (1000 * n)
            } else {
                (block.iter().map(|&v| u64::from(v)).sum::<u64>() + n / 2) / n
            };
            data.push(value.min(255) as u8);
        }
    }
    Plane {
        width: rw,
        height: rh,
        data,
        factor_x: fx,
        factor_y: fy,
    }
}

pub(crate) use crate::raster::luma;

/// The value below which a fraction `q` (0..=1) of the histogram's samples
/// lie: the smallest `v` with at least `q * total` samples at or below it.
pub(crate) fn percentile(hist: &[u32; 256], q: f64) -> u8 {
    let total: u64 = hist.iter().map(|&c| u64::from(c)).sum();
    let goal = (q.clamp(0.0, 1.0) * total as f64).ceil() as u64;
    let mut seen = 0u64;
    for (v, &c) in hist.iter().enumerate() {
        seen += u64::from(c);
        if seen >= goal.max(1) {
            return v as u8;
        }
    }
    255
}

/// Otsu's threshold of a histogram: the level `t` that best separates the
/// samples `<= t` from those above (maximum between-class variance). An
/// empty or single-valued histogram gives its only value.
pub(crate) fn otsu(hist: &[u32; 256]) -> u8 {
    let total: f64 = hist.iter().map(|&c| f64::from(c)).sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(v, &c)| v as f64 * f64::from(c))
        .sum();
    let (mut weight_low, mut sum_low) = (0.0, 0.0);
    let (mut best, mut best_t) = (-1.0, 0u8);
    for (t, &c) in hist.iter().enumerate() {
        weight_low += f64::from(c);
        sum_low += t as f64 * f64::from(c);
        let weight_high = total - weight_low;
        if weight_low == 0.0 || weight_high == 0.0 {
            continue;
        }
        let mean_low = sum_low / weight_low;
        let mean_high = (sum_all - sum_low) / weight_high;
        let between = weight_low * weight_high * (mean_low - mean_high).powi(2);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

pub(crate) use crate::raster::geometry::{eight_bit, threshold_to_bw};

/// One 4-connected component of a mask: its pixel count and bounding box
/// (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Component {
    /// Number of pixels.
    pub area: usize,
    /// Leftmost column.
    pub x0: usize,
    /// Topmost row.
    pub y0: usize,
    /// Rightmost column.
    pub x1: usize,
    /// Bottom row.
    pub y1: usize,
}

/// Labels the 4-connected components of the set pixels of a `width x
/// height` mask. Returns a label per pixel (0 = not set, `k + 1` = the k-th
/// component) and the components in the order their first pixel appears.
pub(crate) fn label_components(
    mask: &[bool],
    width: usize,
    height: usize,
) -> (Vec<u32>, Vec<Component>) {
    let mut labels = vec![0u32; mask.len()];
    let mut components = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len().min(width * height) {
        if !mask[start] || labels[start] != 0 {
            continue;
        }
        let label = components.len() as u32 + 1;
        let mut c = Component {
            area: 0,
            x0: usize::MAX,
            y0: usize::MAX,
            x1: 0,
            y1: 0,
        };
        labels[start] = label;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % width, i / width);
            c.area += 1;
            c.x0 = c.x0.min(x);
            c.x1 = c.x1.max(x);
            c.y0 = c.y0.min(y);
            c.y1 = c.y1.max(y);
            let mut visit = |j: usize| {
                if mask[j] && labels[j] == 0 {
                    labels[j] = label;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < width {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - width);
            }
            if y + 1 < height {
                visit(i + width);
            }
        }
        components.push(c);
    }
    (labels, components)
}

/// Luma of pixel `(x, y)` of a page of any format; the caller keeps the
/// position inside.
pub(crate) fn luma_at(page: &Page, x: u32, y: u32) -> u8 {
    let row = page.row(y);
    let x = x as usize;
    match page.header.format {
        PixelFormat::Gray8 => row[x],
        PixelFormat::Rgb8 => luma([row[3 * x], row[3 * x + 1], row[3 * x + 2]]),
        PixelFormat::Bw1 => {
            if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                0
            } else {
                255
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduction_averages_blocks_and_keeps_partial_ones() {
        let mut page = Page::filled(5, 3, PixelFormat::Gray8, 300, 0);
        page.data = vec![
            10, 20, 30, 40, 50, //
            30, 40, 50, 60, 70, //
            100, 100, 100, 100, 255,
        ];
        let plane = reduced_by(&page, 2, 2);
        assert_eq!((plane.width, plane.height), (3, 2));
        assert_eq!(plane.data, vec![25, 45, 60, 100, 100, 255]);
        assert_eq!(reduced(&page, 150).factor_x, 2);
    }

    #[test]
    fn percentiles_and_otsu_split_two_populations() {
        let mut hist = [0u32; 256];
        hist[30] = 100;
        hist[200] = 300;
        assert_eq!(percentile(&hist, 0.2), 30);
        assert_eq!(percentile(&hist, 0.5), 200);
        let t = otsu(&hist);
        assert!((30..200).contains(&t));
    }

    #[test]
    fn components_are_four_connected_with_boxes() {
        #[rustfmt::skip]
        let mask = [
            true, true, false, false,
            false, true, false, true,
            false, false, true, true,
        ];
        let (labels, comps) = label_components(&mask, 4, 3);
        assert_eq!(comps.len(), 2);
        assert_eq!(
            comps[0],
            Component {
                area: 3,
                x0: 0,
                y0: 0,
                x1: 1,
                y1: 1
            }
        );
        assert_eq!(comps[1].area, 3);
        assert_eq!(labels[10], 2);
        assert_eq!(labels[2], 0);
    }

    #[test]
    fn thresholding_packs_black_as_set_bits() {
        let mut gray = Page::filled(10, 1, PixelFormat::Gray8, 100, 255);
        gray.data[0] = 0;
        gray.data[9] = 127;
        let bw = threshold_to_bw(&gray);
        assert_eq!(bw.data, vec![0x80, 0x40]);
        assert_eq!(bw.to_gray().data[9], 0);
    }
}
