//! A flatbed scene: photo prints lying on the glass under a dark lid.
//!
//! The glass is divided into a grid with one cell per print; each print is a
//! different crop and tone of the bundled photo, with a white border, turned
//! a few degrees and shifted within its cell, and casts a soft shadow on the
//! lid. Because each print stays inside its own cell (gaps between cells
//! included), prints never overlap and never leave the glass, which makes
//! scenes usable as ground truth for photo segmentation.

use super::Region;
use super::canvas::{Canvas, Rgb, RotatedRect};
use super::photo::{self, Tone};
use super::rng::Rng;

/// Colour of the border of a print.
const PRINT_WHITE: Rgb = Rgb(249, 248, 243);
/// Colour of the shadow a print casts on the lid.
const SHADOW: Rgb = Rgb(18, 18, 20);
/// Empty glass border around the grid, in millimetres.
const MARGIN_MM: f64 = 8.0;
/// Space kept free between neighbouring cells, in millimetres.
const GAP_MM: f64 = 6.0;
/// Prints whose photo would be shorter than this (mm) are left out.
const MIN_PHOTO_MM: f64 = 6.0;

/// Paints up to `count` prints on the canvas (already filled with the lid
/// colour) and returns where they lie, centre-based, in millimetres.
pub(crate) fn draw_scene(
    canvas: &mut Canvas,
    width_mm: f64,
    height_mm: f64,
    count: u32,
    rng: &mut Rng,
) -> Vec<Region> {
    let usable_w = width_mm - 2.0 * MARGIN_MM;
    let usable_h = height_mm - 2.0 * MARGIN_MM;
    // More prints than this cannot be told apart on any common glass.
    let count = count.min(64) as usize;
    if count == 0 || canvas.px_per_mm <= 0.0 || usable_w <= 0.0 || usable_h <= 0.0 {
        return Vec::new();
    }
    // Choose the grid whose cells suit a 3:2 print best.
    let mut best = (1usize, count, f64::MIN);
    for cols in 1..=count {
        let rows = count.div_ceil(cols);
        let (cw, ch) = (usable_w / cols as f64, usable_h / rows as f64);
        // Short side of a landscape or a portrait 3:2 print fitting the cell.
        let score = (cw / 1.5).min(ch).max((ch / 1.5).min(cw));
        if score > best.2 {
            best = (cols, rows, score);
        }
    }
    let (cols, rows, _) = best;
    let cell_w = usable_w / cols as f64;
    let cell_h = usable_h / rows as f64;
    let first_crop = rng.index(photo::CROP_COUNT);
    let first_tone = rng.index(Tone::ALL.len());
    let mut regions = Vec::with_capacity(count);
    for i in 0..count {
        let (col, row) = (i % cols, i / cols);
        let room_w = cell_w - GAP_MM;
        let room_h = cell_h - GAP_MM;
        let crop = (first_crop + i) % photo::CROP_COUNT;
        let tone = Tone::ALL[(first_tone + i) % Tone::ALL.len()];
        let mut aspect = photo::aspect(crop);
        // Portrait cells get portrait prints: the crop is shown turned.
        let turned = (room_h > room_w) != (aspect < 1.0);
        if turned {
            aspect = 1.0 / aspect;
        }
        let sign = if rng.chance(0.5) { 1.0 } else { -1.0 };
        let angle = sign * rng.range_f64(0.8, 5.0);
        let border = (room_w.min(room_h) * 0.04).clamp(1.5, 5.0);
        let fill = rng.range_f64(0.8, 0.95);
        // The rotated print's bounding box is linear in the photo height t:
        // width  = t (a cos + sin) + 2 b (cos + sin), height likewise.
        let (s, c) = angle.to_radians().sin_cos();
        let (s, c) = (s.abs(), c.abs());
        let t_w = (room_w * fill - 2.0 * border * (c + s)) / (aspect * c + s);
        let t_h = (room_h * fill - 2.0 * border * (c + s)) / (aspect * s + c);
        let photo_h = t_w.min(t_h);
        if photo_h < MIN_PHOTO_MM {
            continue;
        }
        let photo_w = photo_h * aspect;
        let print_w = photo_w + 2.0 * border;
        let print_h = photo_h + 2.0 * border;
        let (box_w, box_h) = RotatedRect::bounding_size(print_w, print_h, angle);
        let slack_x = (room_w - box_w).max(0.0) / 2.0;
        let slack_y = (room_h - box_h).max(0.0) / 2.0;
        let cx = MARGIN_MM + cell_w * (col as f64 + 0.5) + rng.range_f64(-slack_x, slack_x);
        let cy = MARGIN_MM + cell_h * (row as f64 + 0.5) + rng.range_f64(-slack_y, slack_y);
        paint_print(
            canvas,
            RotatedRect {
                cx: canvas.px(cx),
                cy: canvas.px(cy),
                width: canvas.px(print_w),
                height: canvas.px(print_h),
                angle_deg: angle,
            },
            canvas.px(border),
            crop,
            tone,
            turned,
        );
        regions.push(Region {
            x_mm: cx,
            y_mm: cy,
            width_mm: print_w,
            height_mm: print_h,
            angle_deg: angle,
        });
    }
    regions
}

/// Paints one print (in pixels) and its shadow.
fn paint_print(
    canvas: &mut Canvas,
    print: RotatedRect,
    border: f64,
    crop: usize,
    tone: Tone,
    turned: bool,
) {
    let lift = canvas.px(0.7);
    let shadow = RotatedRect {
        cx: print.cx + lift,
        cy: print.cy + lift * 1.3,
        width: print.width + lift,
        height: print.height + lift,
        ..print
    };
    canvas.fill_rotated(shadow, canvas.px(1.6).max(1.0), 0.45, SHADOW, Some(print));
    // The toned photo at about the size it is printed (never larger than
    // the crop: upscaling is left to the bilinear painter).
    let inner_w = (print.width - 2.0 * border).max(1.0);
    let inner_h = (print.height - 2.0 * border).max(1.0);
    let (crop_w, crop_h) = if turned {
        (inner_h, inner_w)
    } else {
        (inner_w, inner_h)
    };
    let mut image = photo::toned(crop, crop_w, crop_h, tone);
    if turned {
        image = image::imageops::rotate90(&image);
    }
    let width = image.width() as usize;
    let data = if canvas.channels == 3 {
        image.into_raw()
    } else {
        image
            .pixels()
            .map(|p| Rgb(p.0[0], p.0[1], p.0[2]).luma())
            .collect()
    };
    canvas.paint_image_rotated(print, border, PRINT_WHITE, width, &data);
}
