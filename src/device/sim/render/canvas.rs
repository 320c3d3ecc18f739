//! The in-memory surface pages are drawn on, and its drawing primitives.
//!
//! A [`Canvas`] holds either RGB (3 bytes a pixel) or gray (1 byte a pixel)
//! rows. Colours are always given as [`Rgb`]; a gray canvas stores their
//! luma, so colour and gray pages come from the same drawing code without an
//! extra conversion pass. Coordinates are in pixels as `f64`, with `(0, 0)`
//! the top-left corner of the top-left pixel; shapes are anti-aliased by area
//! coverage and clipped to the canvas, so callers may draw partly (or wholly)
//! outside it.

/// An 8-bit sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Pure black.
    #[cfg(test)]
    pub(crate) const BLACK: Rgb = Rgb(0, 0, 0);

    /// Luma with the Rec. 601 weights the rest of the crate uses.
    pub(crate) fn luma(self) -> u8 {
        ((u32::from(self.0) * 299 + u32::from(self.1) * 587 + u32::from(self.2) * 114) / 1000)
            as u8
    }
}

/// A rectangle in pixels, `x0 <= x1`, `y0 <= y1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    /// A rectangle from its top-left corner and size.
    pub(crate) fn new(x: f64, y: f64, width: f64, height: f64) -> Rect {
        Rect {
            x0: x,
            y0: y,
            x1: x + width,
            y1: y + height,
        }
    }

    /// The rectangle grown by `by` pixels on every side.
    pub(crate) fn grown(&self, by: f64) -> Rect {
        Rect {
            x0: self.x0 - by,
            y0: self.y0 - by,
            x1: self.x1 + by,
            y1: self.y1 + by,
        }
    }

    /// Whether the point lies inside.
    pub(crate) fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.x0 && x < self.x1 && y >= self.y0 && y < self.y1
    }
}

/// A rectangle of `width x height` pixels centred at `(cx, cy)`, rotated
/// counter-clockwise (as seen on screen) by `angle_deg`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RotatedRect {
    pub cx: f64,
    pub cy: f64,
    pub width: f64,
    pub height: f64,
    pub angle_deg: f64,
}

impl RotatedRect {
    /// Width and height of the axis-aligned box around the rotated rectangle.
    pub(crate) fn bounding_size(width: f64, height: f64, angle_deg: f64) -> (f64, f64) {
        let (s, c) = angle_deg.to_radians().sin_cos();
        (
            width * c.abs() + height * s.abs(),
            width * s.abs() + height * c.abs(),
        )
    }
}

/// A drawing surface of RGB or gray pixels.
#[derive(Debug, Clone)]
pub(crate) struct Canvas {
    /// Pixels per row.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
    /// 3 for RGB, 1 for gray.
    pub channels: usize,
    /// Pixels per millimetre, for layout code that thinks in millimetres.
    pub px_per_mm: f64,
    /// `width * height * channels` bytes, row after row.
    pub data: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `fill`. `channels` must be 1 or 3.
    pub(crate) fn new(
        width: usize,
        height: usize,
        channels: usize,
        px_per_mm: f64,
        fill: Rgb,
    ) -> Canvas {
        let channels = if channels == 3 { 3 } else { 1 };
        let len = width * height * channels;
        let data = if channels == 1 {
            vec![fill.luma(); len]
        } else {
            let mut data = vec![0u8; len];
            for px in data.chunks_exact_mut(3) {
                px.copy_from_slice(&[fill.0, fill.1, fill.2]);
            }
            data
        };
        Canvas {
            width,
            height,
            channels,
            px_per_mm,
            data,
        }
    }

    /// Converts millimetres to pixels.
    pub(crate) fn px(&self, mm: f64) -> f64 {
        mm * self.px_per_mm
    }

    /// The bytes `colour` is stored as (only the first `channels` are used).
    pub(crate) fn bytes_of(&self, colour: Rgb) -> [u8; 3] {
        if self.channels == 3 {
            [colour.0, colour.1, colour.2]
        } else {
            let l = colour.luma();
            [l, l, l]
        }
    }

    /// Mixes `colour` into pixel `(x, y)` with opacity `alpha` (0..=255).
    /// The pixel must exist.
    #[inline]
    pub(crate) fn blend_bytes(&mut self, x: usize, y: usize, bytes: [u8; 3], alpha: u32) {
        let i = (y * self.width + x) * self.channels;
        let keep = 255 - alpha.min(255);
        let alpha = 255 - keep;
        for (dst, &src) in self.data[i..i + self.channels].iter_mut().zip(&bytes) {
            *dst = ((u32::from(*dst) * keep + u32::from(src) * alpha + 127) / 255) as u8;
        }
    }

    /// Fills `rect` with `colour`, edges anti-aliased by coverage.
    pub(crate) fn fill_rect(&mut self, rect: Rect, colour: Rgb) {
        self.fill_rect_alpha(rect, colour, 1.0);
    }

    /// Fills `rect` with `colour` at opacity `opacity` (0..1).
    pub(crate) fn fill_rect_alpha(&mut self, rect: Rect, colour: Rgb, opacity: f64) {
        let x0 = rect.x0.max(0.0);
        let y0 = rect.y0.max(0.0);
        let x1 = rect.x1.min(self.width as f64);
        let y1 = rect.y1.min(self.height as f64);
        if !(x0 < x1 && y0 < y1) {
            return;
        }
        let bytes = self.bytes_of(colour);
        let ix0 = x0.floor() as usize;
        let ix1 = (x1.ceil() as usize).min(self.width);
        let iy0 = y0.floor() as usize;
        let iy1 = (y1.ceil() as usize).min(self.height);
        let cover = |i: usize, a: f64, b: f64| {
            let lo = (i as f64).max(a);
            let hi = ((i + 1) as f64).min(b);
            (hi - lo).clamp(0.0, 1.0)
        };
        let column_cover: Vec<f64> = (ix0..ix1).map(|x| cover(x, x0, x1)).collect();
        for y in iy0..iy1 {
            let row_cover = cover(y, y0, y1) * opacity.clamp(0.0, 1.0);
            for (x, &cx) in (ix0..ix1).zip(&column_cover) {
                let alpha = (cx * row_cover * 255.0).round() as u32;
                if alpha >= 255 {
                    let i = (y * self.width + x) * self.channels;
                    self.data[i..i + self.channels].copy_from_slice(&bytes[..self.channels]);
                } else if alpha > 0 {
                    self.blend_bytes(x, y, bytes, alpha);
                }
            }
        }
    }

    /// Draws a horizontal line of `thickness` pixels centred on `y`.
    pub(crate) fn hline(&mut self, x0: f64, x1: f64, y: f64, thickness: f64, colour: Rgb) {
        let t = thickness.max(0.75);
        self.fill_rect(
            Rect {
                x0,
                y0: y - t / 2.0,
                x1,
                y1: y + t / 2.0,
            },
            colour,
        );
    }

    /// Draws a vertical line of `thickness` pixels centred on `x`.
    pub(crate) fn vline(&mut self, x: f64, y0: f64, y1: f64, thickness: f64, colour: Rgb) {
        let t = thickness.max(0.75);
        self.fill_rect(
            Rect {
                x0: x - t / 2.0,
                y0,
                x1: x + t / 2.0,
                y1,
            },
            colour,
        );
    }

    /// Fills a disc, anti-aliased, at opacity `opacity` (0..1).
    pub(crate) fn fill_disc(&mut self, cx: f64, cy: f64, radius: f64, colour: Rgb, opacity: f64) {
        let bytes = self.bytes_of(colour);
        let r = radius.max(0.3);
        let x0 = (cx - r - 1.0).floor().max(0.0) as usize;
        let y0 = (cy - r - 1.0).floor().max(0.0) as usize;
        let x1 = ((cx + r + 1.0).ceil().max(0.0) as usize).min(self.width);
        let y1 = ((cy + r + 1.0).ceil().max(0.0) as usize).min(self.height);
        for y in y0..y1 {
            let dy = y as f64 + 0.5 - cy;
            for x in x0..x1 {
                let dx = x as f64 + 0.5 - cx;
                let edge = r - (dx * dx + dy * dy).sqrt() + 0.5;
                let cover = edge.clamp(0.0, 1.0) * opacity;
                let alpha = (cover * 255.0).round() as u32;
                if alpha > 0 {
                    self.blend_bytes(x, y, bytes, alpha);
                }
            }
        }
    }

    /// Paints a rotated rectangle. `shade(u, v)` gives the colour at local
    /// coordinates `(u, v)` in pixels from the rectangle's own top-left
    /// corner (before rotation). Edges fade over `softness` pixels (1 gives
    /// plain anti-aliasing); `opacity` scales the whole shape.
    pub(crate) fn paint_rotated(
        &mut self,
        shape: RotatedRect,
        softness: f64,
        opacity: f64,
        mut shade: impl FnMut(f64, f64) -> Rgb,
    ) {
        let (bw, bh) = RotatedRect::bounding_size(shape.width, shape.height, shape.angle_deg);
        let pad = softness + 1.0;
        let x0 = (shape.cx - bw / 2.0 - pad).floor().max(0.0) as usize;
        let y0 = (shape.cy - bh / 2.0 - pad).floor().max(0.0) as usize;
        let x1 = ((shape.cx + bw / 2.0 + pad).ceil().max(0.0) as usize).min(self.width);
        let y1 = ((shape.cy + bh / 2.0 + pad).ceil().max(0.0) as usize).min(self.height);
        let (sin, cos) = shape.angle_deg.to_radians().sin_cos();
        let (hw, hh) = (shape.width / 2.0, shape.height / 2.0);
        let soft = softness.max(1e-3);
        let channels = self.channels;
        for y in y0..y1 {
            let dy = y as f64 + 0.5 - shape.cy;
            for x in x0..x1 {
                let dx = x as f64 + 0.5 - shape.cx;
                // Undo the counter-clockwise rotation (y grows downwards).
                let u = dx * cos - dy * sin;
                let v = dx * sin + dy * cos;
                let edge = (hw - u.abs()).min(hh - v.abs());
                let cover = (edge / soft + 0.5).clamp(0.0, 1.0) * opacity;
                if cover <= 0.0 {
                    continue;
                }
                let colour = shade(
                    (u + hw).clamp(0.0, shape.width),
                    (v + hh).clamp(0.0, shape.height),
                );
                let alpha = (cover * 255.0).round() as u32;
                if alpha >= 255 {
                    let i = (y * self.width + x) * channels;
                    let bytes = self.bytes_of(colour);
                    self.data[i..i + channels].copy_from_slice(&bytes[..channels]);
                } else if alpha > 0 {
                    let bytes = self.bytes_of(colour);
                    self.blend_bytes(x, y, bytes, alpha);
                }
            }
        }
    }

    /// Mixes `colour` through an 8-bit coverage mask of `mask_width` columns
    /// whose top-left pixel lands on `(left, top)`.
    pub(crate) fn blend_mask(
        &mut self,
        left: i64,
        top: i64,
        mask_width: usize,
        mask: &[u8],
        colour: Rgb,
    ) {
        if mask_width == 0 {
            return;
        }
        let bytes = self.bytes_of(colour);
        let mask_height = mask.len() / mask_width;
        let x_start = left.max(0);
        let x_end = (left + mask_width as i64).min(self.width as i64);
        let y_start = top.max(0);
        let y_end = (top + mask_height as i64).min(self.height as i64);
        if x_start >= x_end || y_start >= y_end {
            return;
        }
        let channels = self.channels;
        for y in y_start..y_end {
            let mask_row = &mask[(y - top) as usize * mask_width..][..mask_width];
            let row_start = y as usize * self.width * channels;
            for x in x_start..x_end {
                let alpha = u32::from(mask_row[(x - left) as usize]);
                if alpha == 0 {
                    continue;
                }
                let i = row_start + x as usize * channels;
                let keep = 255 - alpha;
                for (dst, &src) in self.data[i..i + channels].iter_mut().zip(&bytes) {
                    *dst = ((u32::from(*dst) * keep + u32::from(src) * alpha + 127) / 255) as u8;
                }
            }
        }
    }

    /// Copies an RGB image (`image_width` pixels a row, 3 bytes a pixel)
    /// with its top-left corner at `(left, top)`, clipped to the canvas.
    pub(crate) fn blit_rgb(&mut self, left: i64, top: i64, image_width: usize, image: &[u8]) {
        if image_width == 0 {
            return;
        }
        let image_height = image.len() / (image_width * 3);
        let x_start = left.max(0);
        let x_end = (left + image_width as i64).min(self.width as i64);
        let y_start = top.max(0);
        let y_end = (top + image_height as i64).min(self.height as i64);
        if x_start >= x_end || y_start >= y_end {
            return;
        }
        let columns = (x_end - x_start) as usize;
        for y in y_start..y_end {
            let src_row = &image[(y - top) as usize * image_width * 3..][..image_width * 3];
            let src = &src_row[(x_start - left) as usize * 3..][..columns * 3];
            let dst_start = (y as usize * self.width + x_start as usize) * self.channels;
            if self.channels == 3 {
                self.data[dst_start..dst_start + columns * 3].copy_from_slice(src);
            } else {
                let dst = &mut self.data[dst_start..dst_start + columns];
                for (d, p) in dst.iter_mut().zip(src.chunks_exact(3)) {
                    *d = Rgb(p[0], p[1], p[2]).luma();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_canvas_stores_luma() {
        let c = Canvas::new(2, 2, 1, 1.0, Rgb(255, 0, 0));
        assert_eq!(c.data, vec![76; 4]);
    }

    #[test]
    fn rectangles_are_clipped_and_cover_partially() {
        let mut c = Canvas::new(4, 1, 1, 1.0, Rgb(255, 255, 255));
        c.fill_rect(Rect::new(-3.0, -1.0, 4.5, 3.0), Rgb::BLACK);
        assert_eq!(c.data[0], 0);
        assert!((120..=135).contains(&c.data[1]), "half-covered pixel {}", c.data[1]);
        assert_eq!(c.data[2], 255);
    }

    #[test]
    fn masks_and_images_outside_the_canvas_are_ignored() {
        let mut c = Canvas::new(3, 3, 3, 1.0, Rgb(255, 255, 255));
        c.blend_mask(-10, -10, 2, &[255; 4], Rgb::BLACK);
        c.blit_rgb(5, 5, 1, &[0, 0, 0]);
        assert!(c.data.iter().all(|&b| b == 255));
        c.blend_mask(2, 2, 2, &[255; 4], Rgb::BLACK);
        assert_eq!(&c.data[(2 * 3 + 2) * 3..], &[0, 0, 0]);
    }
}
