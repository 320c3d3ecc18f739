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
        ((u32::from(self.0) * 299 + u32::from(self.1) * 587 + u32::from(self.2) * 114) / 1000) as u8
    }
}

/// Coverage (0..1, clamped) as an 8-bit opacity. Adds a half and truncates
/// rather than calling `f64::round`, which is a library call on baseline
/// x86-64 and shows up in per-pixel loops.
#[inline]
fn alpha_of(cover: f64) -> u32 {
    (cover.clamp(0.0, 1.0) * 255.0 + 0.5) as u32
}

/// The whole-pixel span of a line `thickness` thick centred on `centre`.
fn snapped(centre: f64, thickness: f64) -> (f64, f64) {
    let t = thickness.round().max(1.0);
    let start = (centre - t / 2.0).round();
    (start, start + t)
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
    /// The rectangle prepared for per-pixel queries.
    pub(crate) fn placed(&self) -> Placed {
        let (sin, cos) = self.angle_deg.to_radians().sin_cos();
        Placed {
            cx: self.cx,
            cy: self.cy,
            sin,
            cos,
            half_w: self.width / 2.0,
            half_h: self.height / 2.0,
        }
    }

    /// Width and height of the axis-aligned box around the rotated rectangle.
    pub(crate) fn bounding_size(width: f64, height: f64, angle_deg: f64) -> (f64, f64) {
        let (s, c) = angle_deg.to_radians().sin_cos();
        (
            width * c.abs() + height * s.abs(),
            width * s.abs() + height * c.abs(),
        )
    }
}

/// A [`RotatedRect`] with its rotation worked out, for per-pixel queries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Placed {
    cx: f64,
    cy: f64,
    sin: f64,
    cos: f64,
    half_w: f64,
    half_h: f64,
}

impl Placed {
    /// Coordinates of pixel position `(x, y)` in the rectangle's own frame:
    /// from its centre, along its (rotated) width and height.
    #[inline]
    pub(crate) fn local(&self, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.cx, y - self.cy);
        // Undo the counter-clockwise rotation (y grows downwards).
        (dx * self.cos - dy * self.sin, dx * self.sin + dy * self.cos)
    }

    /// The range of x (as a real interval) on the horizontal line `y` where
    /// the local coordinates lie in `u_range` and `v_range`.
    pub(crate) fn row_span(
        &self,
        y: f64,
        u_range: (f64, f64),
        v_range: (f64, f64),
    ) -> Option<(f64, f64)> {
        let dy = y - self.cy;
        // u and v are linear in x: value = at_cx + slope * (x - cx).
        let within = |at_cx: f64, slope: f64, (lo, hi): (f64, f64)| -> Option<(f64, f64)> {
            if lo > hi {
                None
            } else if slope.abs() < 1e-12 {
                (lo..=hi).contains(&at_cx).then_some((f64::MIN, f64::MAX))
            } else {
                let a = self.cx + (lo - at_cx) / slope;
                let b = self.cx + (hi - at_cx) / slope;
                Some((a.min(b), a.max(b)))
            }
        };
        let (u0, u1) = within(-dy * self.sin, self.cos, u_range)?;
        let (v0, v1) = within(dy * self.cos, self.sin, v_range)?;
        let (lo, hi) = (u0.max(v0), u1.min(v1));
        (lo <= hi).then_some((lo, hi))
    }

    /// Distance from `(x, y)` to the nearest edge, positive inside.
    #[inline]
    pub(crate) fn edge_distance(&self, x: f64, y: f64) -> f64 {
        let (u, v) = self.local(x, y);
        (self.half_w - u.abs()).min(self.half_h - v.abs())
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
            // Fill one row pixel by pixel, then copy it row by row.
            let row: Vec<u8> = [fill.0, fill.1, fill.2].repeat(width);
            let mut data = Vec::with_capacity(len);
            for _ in 0..height {
                data.extend_from_slice(&row);
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
                let alpha = alpha_of(cx * row_cover);
                if alpha >= 255 {
                    let i = (y * self.width + x) * self.channels;
                    self.data[i..i + self.channels].copy_from_slice(&bytes[..self.channels]);
                } else if alpha > 0 {
                    self.blend_bytes(x, y, bytes, alpha);
                }
            }
        }
    }

    /// Draws a horizontal line about `thickness` pixels thick centred on
    /// `y`. Its edges snap to whole pixels (and it is at least one pixel
    /// thick), so hairlines stay crisp and dark at low resolutions.
    pub(crate) fn hline(&mut self, x0: f64, x1: f64, y: f64, thickness: f64, colour: Rgb) {
        let (y0, y1) = snapped(y, thickness);
        self.fill_rect(Rect { x0, y0, x1, y1 }, colour);
    }

    /// Draws a vertical line about `thickness` pixels thick centred on `x`,
    /// snapped like [`Canvas::hline`].
    pub(crate) fn vline(&mut self, x: f64, y0: f64, y1: f64, thickness: f64, colour: Rgb) {
        let (x0, x1) = snapped(x, thickness);
        self.fill_rect(Rect { x0, y0, x1, y1 }, colour);
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
                let alpha = alpha_of(cover);
                if alpha > 0 {
                    self.blend_bytes(x, y, bytes, alpha);
                }
            }
        }
    }

    /// Pixel columns `start..end` of row `y` whose centres lie where `shape`'s
    /// local coordinates satisfy `u` in `u_range` and `v` in `v_range`.
    fn row_columns(
        &self,
        shape: &Placed,
        y: usize,
        u_range: (f64, f64),
        v_range: (f64, f64),
    ) -> (usize, usize) {
        match shape.row_span(y as f64 + 0.5, u_range, v_range) {
            Some((lo, hi)) => {
                let start = (lo - 0.5).ceil().clamp(0.0, self.width as f64) as usize;
                let end = ((hi - 0.5).floor() + 1.0).clamp(0.0, self.width as f64) as usize;
                (start, end.max(start))
            }
            None => (0, 0),
        }
    }

    /// Rows `start..end` a rotated rectangle grown by `pad` pixels may touch.
    fn rotated_rows(&self, shape: &RotatedRect, pad: f64) -> (usize, usize) {
        let (_, bh) = RotatedRect::bounding_size(shape.width, shape.height, shape.angle_deg);
        let start = (shape.cy - bh / 2.0 - pad)
            .floor()
            .clamp(0.0, self.height as f64) as usize;
        let end = (shape.cy + bh / 2.0 + pad)
            .ceil()
            .clamp(0.0, self.height as f64) as usize;
        (start, end.max(start))
    }

    /// Fills a rotated rectangle with `colour` at `opacity` (0..1), edges
    /// fading over `softness` pixels (1 gives plain anti-aliasing). Pixels
    /// that `hole` covers completely are left alone, so a shadow need not be
    /// painted under the object that casts it.
    pub(crate) fn fill_rotated(
        &mut self,
        shape: RotatedRect,
        softness: f64,
        opacity: f64,
        colour: Rgb,
        hole: Option<RotatedRect>,
    ) {
        let soft = softness.max(1e-3);
        let bytes = self.bytes_of(colour);
        let placed = shape.placed();
        let reach = soft / 2.0 + 0.5;
        let outer_u = (-shape.width / 2.0 - reach, shape.width / 2.0 + reach);
        let outer_v = (-shape.height / 2.0 - reach, shape.height / 2.0 + reach);
        let hole = hole.map(|h| {
            let inner_u = (-h.width / 2.0 + 0.5, h.width / 2.0 - 0.5);
            let inner_v = (-h.height / 2.0 + 0.5, h.height / 2.0 - 0.5);
            (h.placed(), inner_u, inner_v)
        });
        let (y0, y1) = self.rotated_rows(&shape, reach + 1.0);
        for y in y0..y1 {
            let (x0, x1) = self.row_columns(&placed, y, outer_u, outer_v);
            let (skip0, skip1) = match &hole {
                Some((h, hu, hv)) => self.row_columns(h, y, *hu, *hv),
                None => (0, 0),
            };
            let py = y as f64 + 0.5;
            for x in (x0..x1).filter(|x| !(skip0..skip1).contains(x)) {
                let cover = (placed.edge_distance(x as f64 + 0.5, py) / soft + 0.5).clamp(0.0, 1.0);
                let alpha = alpha_of(cover * opacity);
                if alpha > 0 {
                    self.blend_bytes(x, y, bytes, alpha);
                }
            }
        }
    }

    /// Paints `image` (rows of `image_width` pixels with as many channels as
    /// the canvas) into a rotated rectangle, inset by `frame_width` pixels on
    /// every side; the frame is filled with `frame`. The image is stretched
    /// to fit with bilinear interpolation; the outer edge is anti-aliased.
    ///
    /// Each row is split into the run lying well inside the image, painted
    /// with fixed-point stepping, and the few pixels around it (frame and
    /// edge), painted one by one.
    pub(crate) fn paint_image_rotated(
        &mut self,
        shape: RotatedRect,
        frame_width: f64,
        frame: Rgb,
        image_width: usize,
        image: &[u8],
    ) {
        let ch = self.channels;
        if image_width == 0 || image.len() < image_width * ch {
            return;
        }
        let image_height = image.len() / (image_width * ch);
        let frame_bytes = self.bytes_of(frame);
        let (hw, hh) = (shape.width / 2.0, shape.height / 2.0);
        let inner_w = (shape.width - 2.0 * frame_width).max(1.0);
        let inner_h = (shape.height - 2.0 * frame_width).max(1.0);
        let scale_x = image_width as f64 / inner_w;
        let scale_y = image_height as f64 / inner_h;
        let placed = shape.placed();
        let (max_x, max_y) = (image_width as f64 - 1.0, image_height as f64 - 1.0);
        // Image position (from its top-left pixel centre) of local (u, v).
        let image_x = move |u: f64| (u + hw - frame_width) * scale_x - 0.5;
        let image_y = move |v: f64| (v + hh - frame_width) * scale_y - 0.5;
        // Local ranges whose samples need no clamping, inside the edge.
        let fast_u = (
            (0.5 / scale_x - hw + frame_width).max(-hw + 0.5),
            ((max_x - 1e-3 + 0.5) / scale_x - hw + frame_width).min(hw - 0.5),
        );
        let fast_v = (
            (0.5 / scale_y - hh + frame_width).max(-hh + 0.5),
            ((max_y - 1e-3 + 0.5) / scale_y - hh + frame_width).min(hh - 0.5),
        );
        let outer_u = (-hw - 1.0, hw + 1.0);
        let outer_v = (-hh - 1.0, hh + 1.0);
        let bilinear = |fx: f64, fy: f64, out: &mut [u8; 3]| {
            let (fx, fy) = (fx.clamp(0.0, max_x), fy.clamp(0.0, max_y));
            let (xa, ya) = (fx as usize, fy as usize);
            let xb = (xa + 1).min(image_width - 1);
            let yb = (ya + 1).min(image_height - 1);
            let wx = ((fx - xa as f64) * 256.0) as u32;
            let wy = ((fy - ya as f64) * 256.0) as u32;
            let (ra, rb) = (ya * image_width, yb * image_width);
            for (k, o) in out.iter_mut().enumerate().take(ch) {
                let p = |col: usize, row: usize| u32::from(image[(row + col) * ch + k]);
                let top = p(xa, ra) * (256 - wx) + p(xb, ra) * wx;
                let bottom = p(xa, rb) * (256 - wx) + p(xb, rb) * wx;
                *o = ((top * (256 - wy) + bottom * wy + 32768) >> 16) as u8;
            }
        };
        // One pixel of the frame or edge, painted the careful way.
        let edge_pixel = |px: f64, py: f64| -> ([u8; 3], u32) {
            let (u, v) = placed.local(px, py);
            let edge = (hw - u.abs()).min(hh - v.abs());
            // Distance inside the image area; its border is anti-aliased too.
            let in_image = (hw - frame_width - u.abs()).min(hh - frame_width - v.abs());
            let mut bytes = frame_bytes;
            if in_image > -0.5 {
                let mut sample = [0u8; 3];
                bilinear(image_x(u), image_y(v), &mut sample);
                let t = alpha_of(in_image + 0.5);
                for (b, s) in bytes.iter_mut().zip(sample) {
                    *b = ((u32::from(*b) * (255 - t) + u32::from(s) * t + 127) / 255) as u8;
                }
            }
            (bytes, alpha_of(edge + 0.5))
        };
        const ONE: f64 = 65536.0;
        let step_x = (placed.cos * scale_x * ONE) as i64;
        let step_y = (placed.sin * scale_y * ONE) as i64;
        let (y0, y1) = self.rotated_rows(&shape, 2.0);
        for y in y0..y1 {
            let py = y as f64 + 0.5;
            let (x0, x1) = self.row_columns(&placed, y, outer_u, outer_v);
            let (f0, f1) = self.row_columns(&placed, y, fast_u, fast_v);
            let (f0, f1) = (f0.clamp(x0, x1), f1.clamp(x0, x1));
            let (f0, f1) = (f0, f1.max(f0));
            for x in (x0..f0).chain(f1..x1) {
                let (bytes, alpha) = edge_pixel(x as f64 + 0.5, py);
                if alpha >= 255 {
                    let i = (y * self.width + x) * ch;
                    self.data[i..i + ch].copy_from_slice(&bytes[..ch]);
                } else if alpha > 0 {
                    self.blend_bytes(x, y, bytes, alpha);
                }
            }
            if f0 >= f1 {
                continue;
            }
            let (u, v) = placed.local(f0 as f64 + 0.5, py);
            let mut sx = (image_x(u) * ONE) as i64;
            let mut sy = (image_y(v) * ONE) as i64;
            let row = &mut self.data[(y * self.width + f0) * ch..(y * self.width + f1) * ch];
            for out in row.chunks_exact_mut(ch) {
                let (cx, cy) = (sx.max(0), sy.max(0));
                let xa = ((cx >> 16) as usize).min(image_width - 1);
                let ya = ((cy >> 16) as usize).min(image_height - 1);
                let xb = (xa + 1).min(image_width - 1);
                let yb = (ya + 1).min(image_height - 1);
                let wx = ((cx >> 8) & 0xFF) as u32;
                let wy = ((cy >> 8) & 0xFF) as u32;
                let (a, b) = ((ya * image_width + xa) * ch, (ya * image_width + xb) * ch);
                let (c, d) = ((yb * image_width + xa) * ch, (yb * image_width + xb) * ch);
                for (k, o) in out.iter_mut().enumerate() {
                    let top = u32::from(image[a + k]) * (256 - wx) + u32::from(image[b + k]) * wx;
                    let bottom =
                        u32::from(image[c + k]) * (256 - wx) + u32::from(image[d + k]) * wx;
                    *o = ((top * (256 - wy) + bottom * wy + 32768) >> 16) as u8;
                }
                sx += step_x;
                sy += step_y;
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
        assert!(
            (120..=135).contains(&c.data[1]),
            "half-covered pixel {}",
            c.data[1]
        );
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
