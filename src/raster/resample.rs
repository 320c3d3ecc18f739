//! Bicubic resampling of a page through an affine map, the common core of
//! rotation and region extraction.
//!
//! Each output pixel centre is mapped to a position in the source page and
//! the source is read there with the Catmull-Rom cubic (Keys, `a = -0.5`),
//! 4 x 4 taps, integer weights from a table of 1024 phases; positions step
//! along each output row in fixed point. Taps outside the source read the
//! fill colour, so edges blend into it instead of smearing. Large outputs
//! are split into horizontal stripes worked on by scoped threads; the
//! result does not depend on how the work is split.
//!
//! Only 8-bit formats are handled here; callers convert black and white
//! first.

use crate::raster::{Page, PageHeader, PixelFormat};
use std::sync::OnceLock;

/// Where output pixels are read from: the source position (continuous
/// pixel coordinates, `(0, 0)` the top-left corner of the page) of output
/// position `(x, y)` is `origin + x * step_x + y * step_y`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Affine {
    /// Source position of output position `(0, 0)`.
    pub origin: (f64, f64),
    /// Source displacement for one output pixel to the right.
    pub step_x: (f64, f64),
    /// Source displacement for one output pixel down.
    pub step_y: (f64, f64),
}

impl Affine {
    /// The map that turns the content of a `width x height` image
    /// counter-clockwise by `degrees` about its centre (output keeps the
    /// size).
    pub(crate) fn rotation(width: f64, height: f64, degrees: f64) -> Affine {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = (width / 2.0, height / 2.0);
        // source = c + R (p - c), R = [[cos, -sin], [sin, cos]].
        Affine {
            origin: (cx - cx * cos + cy * sin, cy - cx * sin - cy * cos),
            step_x: (cos, sin),
            step_y: (-sin, cos),
        }
    }

    /// The map that cuts a `width x height` image out of the source around
    /// `(cx, cy)`, its axes turned counter-clockwise by `degrees` (the
    /// image comes out straight).
    pub(crate) fn straighten(cx: f64, cy: f64, width: f64, height: f64, degrees: f64) -> Affine {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let step_x = (cos, -sin);
        let step_y = (sin, cos);
        Affine {
            origin: (
                cx - width / 2.0 * step_x.0 - height / 2.0 * step_y.0,
                cy - width / 2.0 * step_x.1 - height / 2.0 * step_y.1,
            ),
            step_x,
            step_y,
        }
    }
}

/// Bits of the fractional position that select a weight set.
const PHASE_BITS: u32 = 10;
/// Number of fractional positions the weight table holds.
const PHASES: usize = 1 << PHASE_BITS;
/// Fixed-point precision of source positions while stepping along a row.
const FRAC_BITS: u32 = 24;
/// Weights are integers summing to `1 << WEIGHT_BITS`.
const WEIGHT_BITS: u32 = 12;

/// Catmull-Rom weights of the four taps at `-1, 0, 1, 2` for each phase,
/// in fixed point (each set sums to exactly `1 << WEIGHT_BITS`).
fn weights() -> &'static [[i32; 4]; PHASES] {
    static TABLE: OnceLock<[[i32; 4]; PHASES]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let one = f64::from(1u32 << WEIGHT_BITS);
        std::array::from_fn(|i| {
            let t = i as f64 / PHASES as f64;
            let (t2, t3) = (t * t, t * t * t);
            let w0 = ((-t3 + 2.0 * t2 - t) / 2.0 * one).round() as i32;
            let w2 = ((-3.0 * t3 + 4.0 * t2 + t) / 2.0 * one).round() as i32;
            let w3 = ((t3 - t2) / 2.0 * one).round() as i32;
            // The centre tap takes the rounding remainder.
            [w0, (1 << WEIGHT_BITS) - w0 - w2 - w3, w2, w3]
        })
    })
}

/// Resamples `src` (Rgb8 or Gray8) into a `width x height` page of the same
/// format and resolution through `map`; positions outside `src` read
/// `fill` (its luma for gray pages).
pub(crate) fn resample(src: &Page, width: u32, height: u32, map: &Affine, fill: [u8; 3]) -> Page {
    let format = src.header.format;
    let channels = usize::from(format.channels());
    let header = PageHeader {
        width,
        height: Some(height),
        ..src.header
    };
    let row_bytes = header.row_bytes();
    let mut data = vec![0u8; row_bytes * height as usize];
    if row_bytes == 0 || data.is_empty() {
        return Page { header, data };
    }
    let fill_bytes: Vec<u8> = match format {
        PixelFormat::Rgb8 => fill.to_vec(),
        _ => vec![super::luma(fill)],
    };
    let source = Source {
        data: &src.data,
        width: src.header.width as usize,
        height: src.height() as usize,
        fill: &fill_bytes,
    };
    let threads = if data.len() < 1 << 18 {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    };
    let rows_per_stripe = (height as usize).div_ceil(threads).max(1);
    let work = |first_row: usize, stripe: &mut [u8]| {
        for (i, row) in stripe.chunks_exact_mut(row_bytes).enumerate() {
            let y = (first_row + i) as f64 + 0.5;
            // Source position of this row's first pixel centre, shifted by
            // half a pixel so integer positions are sample centres.
            let sx = map.origin.0 + 0.5 * map.step_x.0 + y * map.step_y.0 - 0.5;
            let sy = map.origin.1 + 0.5 * map.step_x.1 + y * map.step_y.1 - 0.5;
            if channels == 3 {
                source.row::<3>(row, (sx, sy), map.step_x);
            } else {
                source.row::<1>(row, (sx, sy), map.step_x);
            }
        }
    };
    if threads == 1 {
        work(0, &mut data);
    } else {
        std::thread::scope(|scope| {
            for (k, stripe) in data.chunks_mut(rows_per_stripe * row_bytes).enumerate() {
                let work = &work;
                scope.spawn(move || work(k * rows_per_stripe, stripe));
            }
        });
    }
    Page { header, data }
}

/// The page being read, with its fill colour.
struct Source<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    fill: &'a [u8],
}

impl Source<'_> {
    /// Fills one output row whose first sample sits at `start` (sample
    /// coordinates: integers are pixel centres), advancing by `step`.
    /// Positions step in fixed point, so no rounding per pixel.
    fn row<const CH: usize>(&self, out: &mut [u8], start: (f64, f64), step: (f64, f64)) {
        const LIMIT: f64 = (1u64 << 30) as f64;
        let sane = |v: f64| v.is_finite() && v.abs() < LIMIT;
        if ![start.0, start.1, step.0, step.1].into_iter().all(sane) {
            for px in out.chunks_exact_mut(CH) {
                px.copy_from_slice(&self.fill[..CH]);
            }
            return;
        }
        let table = weights();
        let one = f64::from(1u32 << FRAC_BITS);
        let fixed = |v: f64| (v * one).round() as i64;
        let (mut sx, mut sy) = (fixed(start.0), fixed(start.1));
        let (dx, dy) = (fixed(step.0), fixed(step.1));
        let (w, h) = (self.width as i64, self.height as i64);
        let stride = self.width * CH;
        let phase_mask = PHASES as i64 - 1;
        let round = 1i32 << (2 * WEIGHT_BITS - 4 - 1);
        for px in out.chunks_exact_mut(CH) {
            let (ix, iy) = (sx >> FRAC_BITS, sy >> FRAC_BITS);
            let wx = &table[((sx >> (FRAC_BITS - PHASE_BITS)) & phase_mask) as usize];
            let wy = &table[((sy >> (FRAC_BITS - PHASE_BITS)) & phase_mask) as usize];
            sx += dx;
            sy += dy;
            if ix + 2 < 0 || iy + 2 < 0 || ix > w || iy > h {
                px.copy_from_slice(&self.fill[..CH]);
                continue;
            }
            let mut acc = [0i32; CH];
            if ix >= 1 && iy >= 1 && ix + 2 < w && iy + 2 < h {
                // Interior: the 4 x 4 block lies inside the page. Combine
                // its four rows first (each a contiguous run of bytes),
                // then the four resulting columns.
                let base = (iy as usize - 1) * stride + (ix as usize - 1) * CH;
                let mut columns = [[0i32; CH]; 4];
                for (j, &wyj) in wy.iter().enumerate() {
                    let at = base + j * stride;
                    let line = &self.data[at..at + 4 * CH];
                    for (column, pixel) in columns.iter_mut().zip(line.chunks_exact(CH)) {
                        for (c, &v) in column.iter_mut().zip(pixel) {
                            *c += wyj * i32::from(v);
                        }
                    }
                }
                for (column, &wxi) in columns.iter().zip(wx) {
                    for (a, &c) in acc.iter_mut().zip(column) {
                        *a += wxi * (c >> 4);
                    }
                }
            } else {
                for (j, &wyj) in wy.iter().enumerate() {
                    let yy = iy - 1 + j as i64;
                    let mut across = [0i32; CH];
                    for (i, &wxi) in wx.iter().enumerate() {
                        let xx = ix - 1 + i as i64;
                        let sample: &[u8] = if xx < 0 || yy < 0 || xx >= w || yy >= h {
                            self.fill
                        } else {
                            let at = yy as usize * stride + xx as usize * CH;
                            &self.data[at..at + CH]
                        };
                        for (k, a) in across.iter_mut().enumerate() {
                            *a += wxi * i32::from(sample[k]);
                        }
                    }
                    for (a, b) in acc.iter_mut().zip(across) {
                        *a += wyj * (b >> 4);
                    }
                }
            }
            for (o, a) in px.iter_mut().zip(acc) {
                *o = ((a + round) >> (2 * WEIGHT_BITS - 4)).clamp(0, 255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_interpolate_at_zero() {
        for w in weights() {
            assert_eq!(w.iter().sum::<i32>(), 1 << WEIGHT_BITS);
        }
        assert_eq!(weights()[0], [0, 1 << WEIGHT_BITS, 0, 0]);
    }

    #[test]
    fn identity_map_keeps_every_pixel() {
        let mut page = Page::filled(7, 5, PixelFormat::Rgb8, 100, 0);
        for (i, b) in page.data.iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        let map = Affine::rotation(7.0, 5.0, 0.0);
        let out = resample(&page, 7, 5, &map, [1, 2, 3]);
        assert_eq!(out.data, page.data);
    }

    #[test]
    fn quarter_turn_moves_the_top_right_corner_to_the_top_left() {
        let mut page = Page::filled(4, 4, PixelFormat::Gray8, 100, 100);
        page.data[3] = 0; // top-right pixel
        let out = resample(&page, 4, 4, &Affine::rotation(4.0, 4.0, 90.0), [100; 3]);
        // Counter-clockwise: the top-right corner goes to the top-left.
        assert_eq!(out.data[0], 0);
        assert_eq!(out.data.iter().filter(|&&v| v < 50).count(), 1);
    }

    #[test]
    fn far_outside_reads_the_fill() {
        let page = Page::filled(4, 4, PixelFormat::Rgb8, 100, 0);
        let map = Affine {
            origin: (100.0, 100.0),
            step_x: (1.0, 0.0),
            step_y: (0.0, 1.0),
        };
        let out = resample(&page, 2, 2, &map, [9, 8, 7]);
        assert_eq!(out.data, [9, 8, 7].repeat(4));
    }
}
