//! What the simulated paper path and sensor do to a drawn page: skew, turning
//! upside down, dust, sensor noise, and the final conversion to a [`Page`].
//!
//! Every effect is deterministic: noise is drawn from a generator seeded per
//! row and skew computes each row from the source alone, so the result does
//! not depend on how the work is split (skew uses several threads on large
//! pages).

use super::canvas::{Canvas, Rect, Rgb};
use super::rng::{Rng, mix};
use crate::raster::{Page, PageHeader, PixelFormat};

/// Rotates the content counter-clockwise by `angle_deg` about the page
/// centre with bilinear interpolation; uncovered corners become `background`.
pub(crate) fn skew(canvas: &Canvas, angle_deg: f64, background: Rgb) -> Canvas {
    let mut out = Canvas {
        data: vec![0; canvas.data.len()],
        ..*canvas
    };
    if canvas.width == 0 || canvas.height == 0 {
        return out;
    }
    let bg = canvas.bytes_of(background);
    let row_len = canvas.width * canvas.channels;
    // Every output row depends only on the source, so large pages are split
    // into bands rendered side by side; the result is the same either way.
    let threads = if canvas.data.len() < (4 << 20) {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    };
    let band_rows = canvas.height.div_ceil(threads);
    std::thread::scope(|scope| {
        for (band, rows) in out.data.chunks_mut(band_rows * row_len).enumerate() {
            let first_row = band * band_rows;
            let mut work = move || {
                if canvas.channels == 3 {
                    skew_rows::<3>(canvas, rows, first_row, angle_deg, bg);
                } else {
                    skew_rows::<1>(canvas, rows, first_row, angle_deg, [bg[0]]);
                }
            };
            if threads == 1 {
                work();
            } else {
                scope.spawn(work);
            }
        }
    });
    out
}

/// [`skew`] for `C` channels a pixel: fills `out`, the output rows from
/// `first_row` on.
fn skew_rows<const C: usize>(
    canvas: &Canvas,
    out: &mut [u8],
    first_row: usize,
    angle_deg: f64,
    bg: [u8; C],
) {
    let (w, h) = (canvas.width, canvas.height);
    let (sin, cos) = angle_deg.to_radians().sin_cos();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    // Source positions in 1/65536 pixel, stepping along each output row.
    const ONE: f64 = 65536.0;
    let step_x = (cos * ONE).round() as i64;
    let step_y = (sin * ONE).round() as i64;
    let (max_x, max_y) = (w as i64 - 1, h as i64 - 1);
    let src = &canvas.data;
    let pixel = |x: i64, y: i64| -> [u8; C] {
        if x < 0 || y < 0 || x > max_x || y > max_y {
            bg
        } else {
            let i = (y as usize * w + x as usize) * C;
            let mut p = [0u8; C];
            p.copy_from_slice(&src[i..i + C]);
            p
        }
    };
    for (i, out_row) in out.chunks_exact_mut(w * C).enumerate() {
        let dy = (first_row + i) as f64 + 0.5 - cy;
        let dx = 0.5 - cx;
        // Pixel-centre convention: subtract half a pixel to index samples.
        let mut sx = ((cx + dx * cos - dy * sin - 0.5) * ONE).round() as i64;
        let mut sy = ((cy + dx * sin + dy * cos - 0.5) * ONE).round() as i64;
        for out_px in out_row.chunks_exact_mut(C) {
            let (ix, iy) = (sx >> 16, sy >> 16);
            let fx = ((sx >> 8) & 0xFF) as u32;
            let fy = ((sy >> 8) & 0xFF) as u32;
            let weights = [
                (256 - fx) * (256 - fy),
                fx * (256 - fy),
                (256 - fx) * fy,
                fx * fy,
            ];
            if ix >= 0 && iy >= 0 && ix < max_x && iy < max_y {
                let top = (iy as usize * w + ix as usize) * C;
                let bottom = top + w * C;
                let (t, b) = (&src[top..top + 2 * C], &src[bottom..bottom + 2 * C]);
                blend_four::<C>([&t[..C], &t[C..], &b[..C], &b[C..]], weights, out_px);
            } else {
                let corners = [
                    pixel(ix, iy),
                    pixel(ix + 1, iy),
                    pixel(ix, iy + 1),
                    pixel(ix + 1, iy + 1),
                ];
                blend_four::<C>(
                    [&corners[0], &corners[1], &corners[2], &corners[3]],
                    weights,
                    out_px,
                );
            }
            sx += step_x;
            sy += step_y;
        }
    }
}

/// Weighted sum of four pixels (weights add up to 65536) into `out`.
#[inline]
fn blend_four<const C: usize>(pixels: [&[u8]; 4], weights: [u32; 4], out: &mut [u8]) {
    let [a, b, c, d] = pixels;
    let (a, b, c, d) = (&a[..C], &b[..C], &c[..C], &d[..C]);
    for k in 0..C {
        let v = u32::from(a[k]) * weights[0]
            + u32::from(b[k]) * weights[1]
            + u32::from(c[k]) * weights[2]
            + u32::from(d[k]) * weights[3];
        out[k] = ((v + 32768) >> 16) as u8;
    }
}

/// Turns the canvas upside down (180 degrees) in place.
pub(crate) fn turn_180(canvas: &mut Canvas) {
    // Reversing the bytes turns the page and reverses each pixel's channels;
    // swap red and blue back.
    canvas.data.reverse();
    if canvas.channels == 3 {
        for px in canvas.data.chunks_exact_mut(3) {
            px.swap(0, 2);
        }
    }
}

/// Scatters a few dust specks and, sometimes, a hair over the page, avoiding
/// `keep_clear` (the index strip). More `noise` means more dust.
pub(crate) fn dust(canvas: &mut Canvas, seed: u64, noise: f32, keep_clear: Option<Rect>) {
    let noise = f64::from(noise.clamp(0.0, 1.0));
    if noise <= 0.0 || canvas.width == 0 || canvas.height == 0 {
        return;
    }
    let mut rng = Rng::new(seed);
    let specks = 2 + (noise * 12.0).round() as u32;
    let (w, h) = (canvas.width as f64, canvas.height as f64);
    let clear = |x: f64, y: f64| keep_clear.is_some_and(|r| r.contains(x, y));
    for _ in 0..specks {
        let (x, y) = (rng.range_f64(0.0, w), rng.range_f64(0.0, h));
        let radius = canvas.px(rng.range_f64(0.05, 0.22));
        let shade = rng.range_u32(40, 110) as u8;
        let opacity = rng.range_f64(0.6, 0.95);
        if !clear(x, y) {
            canvas.fill_disc(
                x,
                y,
                radius,
                Rgb(shade, shade, shade.saturating_add(4)),
                opacity,
            );
        }
    }
    if rng.chance(noise * 0.7) {
        // A hair: a thin, gently curving random walk a few millimetres long.
        let (mut x, mut y) = (rng.range_f64(0.0, w), rng.range_f64(0.0, h));
        let mut heading = rng.range_f64(0.0, std::f64::consts::TAU);
        let steps = rng.range_u32(30, 90);
        let step = canvas.px(0.12);
        let radius = canvas.px(0.035);
        for _ in 0..steps {
            if !clear(x, y) {
                canvas.fill_disc(x, y, radius, Rgb(50, 45, 40), 0.7);
            }
            heading += rng.range_f64(-0.12, 0.12);
            x += heading.cos() * step;
            y += heading.sin() * step;
        }
    }
}

/// Adds sensor noise, paper grain and a slight fall-off of the lamp towards
/// both edges. `noise` (0..1) scales the sensor noise; grain is always there.
pub(crate) fn sensor(canvas: &mut Canvas, seed: u64, noise: f32) {
    let (w, ch) = (canvas.width, canvas.channels);
    if w == 0 {
        return;
    }
    let sigma = 1.3 + 7.0 * f64::from(noise.clamp(0.0, 1.0));
    // Two random nibbles summed give a triangular distribution, sd ~6.5.
    let table: Vec<i16> = (0..256u32)
        .map(|b| {
            let t = f64::from((b >> 4) + (b & 15)) - 15.0;
            (t / 6.52 * sigma).round() as i16
        })
        .collect();
    let falloff: Vec<i16> = (0..w)
        .map(|x| {
            let t = (x as f64 + 0.5) / w as f64 * 2.0 - 1.0;
            -(3.0 * t * t * t * t).round() as i16
        })
        .collect();
    // Offsets for one row, repeated per channel, then added in a loop the
    // compiler can vectorise.
    let mut offsets = vec![0i16; w * ch];
    for (y, row) in canvas.data.chunks_exact_mut(w * ch).enumerate() {
        let mut rng = Rng::new(mix(seed ^ (y as u64).wrapping_mul(0xA24B_AED4_963E_E407)));
        for (pixels, shade) in offsets.chunks_mut(8 * ch).zip(falloff.chunks(8)) {
            let mut bits = rng.next_u64();
            for (px, &f) in pixels.chunks_exact_mut(ch).zip(shade) {
                px.fill(table[(bits & 0xFF) as usize] + f);
                bits >>= 8;
            }
        }
        for (v, &o) in row.iter_mut().zip(&offsets) {
            *v = (i16::from(*v) + o).clamp(0, 255) as u8;
        }
    }
}

/// Wraps the canvas up as a page of `format` (a gray canvas for Gray8 and
/// Bw1, an RGB canvas for Rgb8). Black and white thresholds at 128.
pub(crate) fn into_page(canvas: Canvas, format: PixelFormat, dpi: u32) -> Page {
    let header = PageHeader {
        width: canvas.width as u32,
        height: Some(canvas.height as u32),
        format,
        dpi_x: dpi,
        dpi_y: dpi,
    };
    let data = match format {
        PixelFormat::Rgb8 | PixelFormat::Gray8 => canvas.data,
        PixelFormat::Bw1 => {
            let row_bytes = format.row_bytes(header.width);
            let mut packed = vec![0u8; row_bytes * canvas.height];
            if canvas.width > 0 {
                for (src, dst) in canvas
                    .data
                    .chunks_exact(canvas.width)
                    .zip(packed.chunks_exact_mut(row_bytes))
                {
                    for (byte, pixels) in dst.iter_mut().zip(src.chunks(8)) {
                        let mut bits = 0u8;
                        for (k, &v) in pixels.iter().enumerate() {
                            if v < 128 {
                                bits |= 0x80 >> k;
                            }
                        }
                        *byte = bits;
                    }
                }
            }
            packed
        }
    };
    Page { header, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turning_twice_is_identity_and_moves_the_first_pixel_last() {
        let mut c = Canvas::new(3, 2, 3, 1.0, Rgb(1, 2, 3));
        c.data[0..3].copy_from_slice(&[9, 8, 7]);
        let original = c.data.clone();
        turn_180(&mut c);
        assert_eq!(&c.data[15..18], &[9, 8, 7]);
        turn_180(&mut c);
        assert_eq!(c.data, original);
    }

    #[test]
    fn skew_by_zero_keeps_the_image() {
        let mut c = Canvas::new(20, 10, 1, 1.0, Rgb(200, 200, 200));
        c.fill_rect(Rect::new(3.0, 2.0, 5.0, 4.0), Rgb::BLACK);
        let s = skew(&c, 0.0, Rgb(200, 200, 200));
        assert_eq!(s.data, c.data);
    }

    #[test]
    fn skew_in_bands_matches_skew_in_one_piece() {
        // Large enough for the banded (threaded) path.
        let mut c = Canvas::new(1300, 1200, 3, 1.0, Rgb(240, 238, 230));
        for i in 0..40 {
            let x = f64::from(i) * 31.0;
            c.fill_rect(
                Rect::new(x, x * 0.8, 25.0, 300.0),
                Rgb(i * 6, 90, 200 - i * 4),
            );
        }
        let banded = skew(&c, 3.3, Rgb(240, 238, 230));
        let mut whole = vec![0u8; c.data.len()];
        skew_rows::<3>(&c, &mut whole, 0, 3.3, [240, 238, 230]);
        assert_eq!(banded.data, whole);
        assert_ne!(banded.data, c.data);
    }

    #[test]
    fn black_and_white_packs_msb_first_with_one_black() {
        let mut c = Canvas::new(10, 1, 1, 1.0, Rgb(255, 255, 255));
        c.data[0] = 0;
        c.data[9] = 10;
        let page = into_page(c, PixelFormat::Bw1, 100);
        assert_eq!(page.data, vec![0x80, 0x40]);
    }
}
