//! Paper detection and auto-crop.
//!
//! [`detect_paper`] finds a sheet lying on a darker background (a flatbed
//! lid scanned around a smaller sheet): on a reduced gray copy, Otsu's
//! threshold splits paper from lid, the largest light component is the
//! sheet, and each of its four edges is then located again on the full
//! page, so the box is exact to a pixel or two. [`snap_to_standard`] turns
//! a box that is nearly a standard paper size into exactly that size, and
//! [`crop`] cuts any rectangle out of a page of any format.
//!
//! Not handled: paper that is darker than its background, sheets turned by
//! more than a few degrees (the box then encloses the turned sheet; deskew
//! first), and several sheets at once (the largest wins; see
//! [`super::detect_regions`] for photos).

use super::plane::{self, luma_at};
use crate::raster::Page;
use crate::raster::geometry::Rect;

/// Resolution paper detection works at (at most).
const PAPER_DPI: u32 = 75;
/// Smallest difference between the mean levels of paper and background
/// for the two to count as distinguishable.
const MIN_CONTRAST: f64 = 40.0;
/// Relative tolerance of [`snap_to_standard`] on each side.
const SNAP_TOLERANCE: f64 = 0.03;

/// Paper and card sizes [`snap_to_standard`] knows, in either orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StandardSize {
    /// ISO A4, 210 x 297 mm.
    A4,
    /// ISO A5, 148 x 210 mm.
    A5,
    /// US Letter, 8.5 x 11 in.
    Letter,
    /// US Legal, 8.5 x 14 in.
    Legal,
    /// European business card, 85 x 55 mm (also covers ID-1 cards,
    /// 85.6 x 54 mm).
    BusinessCard,
    /// US business card, 3.5 x 2 in.
    BusinessCardUs,
    /// Photo print 4 x 6 in (10 x 15 cm).
    Photo4x6,
}

impl StandardSize {
    /// Every known size.
    pub const ALL: [StandardSize; 7] = [
        StandardSize::A4,
        StandardSize::A5,
        StandardSize::Letter,
        StandardSize::Legal,
        StandardSize::BusinessCard,
        StandardSize::BusinessCardUs,
        StandardSize::Photo4x6,
    ];

    /// Width and height in millimetres, portrait (short side first).
    pub fn size_mm(self) -> (f64, f64) {
        match self {
            StandardSize::A4 => (210.0, 297.0),
            StandardSize::A5 => (148.0, 210.0),
            StandardSize::Letter => (215.9, 279.4),
            StandardSize::Legal => (215.9, 355.6),
            StandardSize::BusinessCard => (55.0, 85.0),
            StandardSize::BusinessCardUs => (50.8, 88.9),
            StandardSize::Photo4x6 => (101.6, 152.4),
        }
    }

    /// The size within 3 % of `width_mm x height_mm` on both sides, in
    /// either orientation, with the sides in the order given: `(size,
    /// width_mm, height_mm)`. The closest wins when several fit.
    pub fn nearest(width_mm: f64, height_mm: f64) -> Option<(StandardSize, f64, f64)> {
        let mut best: Option<(f64, (StandardSize, f64, f64))> = None;
        for size in StandardSize::ALL {
            let (short, long) = size.size_mm();
            for (w, h) in [(short, long), (long, short)] {
                let error = ((width_mm - w) / w).abs().max(((height_mm - h) / h).abs());
                if error <= SNAP_TOLERANCE && best.as_ref().is_none_or(|(e, _)| error < *e) {
                    best = Some((error, (size, w, h)));
                }
            }
        }
        best.map(|(_, found)| found)
    }
}

/// The sheet of paper on a darker background, as the box of page pixels
/// it covers, or `None` when there is no such sheet: the page is paper
/// edge to edge (nothing to crop), or there is no clear light-on-dark
/// contrast, or the light part is tiny.
pub fn detect_paper(page: &Page) -> Option<Rect> {
    let plane = plane::reduced(page, PAPER_DPI);
    if plane.width < 4 || plane.height < 4 {
        return None;
    }
    let hist = plane.histogram();
    let threshold = plane::otsu(&hist);
    let (dark, light) = class_means(&hist, threshold);
    if light - dark < MIN_CONTRAST {
        return None;
    }
    let mask: Vec<bool> = plane.data.iter().map(|&v| v > threshold).collect();
    let (_, components) = plane::label_components(&mask, plane.width, plane.height);
    let sheet = components.iter().max_by_key(|c| c.area)?;
    if sheet.area * 20 < plane.width * plane.height {
        return None;
    }
    if sheet.x0 == 0 && sheet.y0 == 0 && sheet.x1 + 1 == plane.width && sheet.y1 + 1 == plane.height
    {
        return None;
    }
    let (fx, fy) = (plane.factor_x as u32, plane.factor_y as u32);
    let (w, h) = (page.header.width, page.height());
    // The coarse box in page pixels; every edge is searched again within
    // two reduced pixels of it, along lines across the inner part of the
    // box.
    let coarse = (
        sheet.x0 as u32 * fx,
        sheet.y0 as u32 * fy,
        (sheet.x1 as u32 + 1) * fx,
        (sheet.y1 as u32 + 1) * fy,
    );
    let light_at = |x: u32, y: u32| luma_at(page, x, y) > threshold;
    let rows = inner_span(coarse.1, coarse.3, fy, h);
    let cols = inner_span(coarse.0, coarse.2, fx, w);
    let window_x = |edge: u32| (edge.saturating_sub(2 * fx), (edge + 2 * fx).min(w));
    let window_y = |edge: u32| (edge.saturating_sub(2 * fy), (edge + 2 * fy).min(h));
    let left = edge_position(&rows, window_x(coarse.0), true, |y, x| light_at(x, y));
    let right = edge_position(&rows, window_x(coarse.2), false, |y, x| light_at(x, y));
    let top = edge_position(&cols, window_y(coarse.1), true, light_at);
    let bottom = edge_position(&cols, window_y(coarse.3), false, light_at);
    (right > left && bottom > top).then_some(Rect {
        x: left,
        y: top,
        width: right - left,
        height: bottom - top,
    })
}

/// Mean levels of the samples at or below `threshold` and above it.
fn class_means(hist: &[u32; 256], threshold: u8) -> (f64, f64) {
    let mean = |range: std::ops::Range<usize>| {
        let (mut n, mut sum) = (0.0, 0.0);
        for v in range {
            n += f64::from(hist[v]);
            sum += v as f64 * f64::from(hist[v]);
        }
        if n > 0.0 { sum / n } else { 0.0 }
    };
    let t = usize::from(threshold) + 1;
    (mean(0..t), mean(t..256))
}

/// Up to 300 evenly spread lines inside `[start, end)`, leaving out one
/// reduced pixel (`step`) at both ends, clipped to `limit`.
fn inner_span(start: u32, end: u32, step: u32, limit: u32) -> Vec<u32> {
    let (lo, hi) = (start + step, end.saturating_sub(step).min(limit));
    let (lo, hi) = if lo < hi {
        (lo, hi)
    } else {
        (start, end.min(limit))
    };
    let stride = (hi.saturating_sub(lo) / 300).max(1);
    (lo..hi).step_by(stride as usize).collect()
}

/// Where the paper starts (`from_low`: scanning upwards from the window's
/// low end, the first light pixel) or ends (scanning down from the high
/// end, one past the last light pixel) along each of `lines`, within
/// `window`. The outermost few per cent of the positions (so the box holds
/// a slightly turned sheet) is returned.
fn edge_position(
    lines: &[u32],
    (lo, hi): (u32, u32),
    from_low: bool,
    light: impl Fn(u32, u32) -> bool,
) -> u32 {
    let mut found: Vec<u32> = lines
        .iter()
        .map(|&line| {
            if from_low {
                (lo..hi).find(|&p| light(line, p)).unwrap_or(hi)
            } else {
                (lo..hi)
                    .rev()
                    .find(|&p| light(line, p))
                    .map_or(lo, |p| p + 1)
            }
        })
        .collect();
    if found.is_empty() {
        return if from_low { lo } else { hi };
    }
    found.sort_unstable();
    let k = found.len() / 20;
    if from_low {
        found[k]
    } else {
        found[found.len() - 1 - k]
    }
}

/// `rect` resized to the standard size it is within about 3 % of (A4, A5,
/// Letter, Legal, business cards, 4 x 6 in photos, either orientation),
/// keeping its centre; unchanged when it is near none of them or a
/// resolution is 0. The result may reach past the page; [`crop`](crate::raster::geometry::crop) clips.
pub fn snap_to_standard(rect: Rect, dpi_x: u32, dpi_y: u32) -> Rect {
    if dpi_x == 0 || dpi_y == 0 {
        return rect;
    }
    let to_mm = |px: u32, dpi: u32| f64::from(px) * 25.4 / f64::from(dpi);
    let Some((_, w_mm, h_mm)) =
        StandardSize::nearest(to_mm(rect.width, dpi_x), to_mm(rect.height, dpi_y))
    else {
        return rect;
    };
    let width = (w_mm * f64::from(dpi_x) / 25.4).round() as u32;
    let height = (h_mm * f64::from(dpi_y) / 25.4).round() as u32;
    let cx = f64::from(rect.x) + f64::from(rect.width) / 2.0;
    let cy = f64::from(rect.y) + f64::from(rect.height) / 2.0;
    Rect {
        x: (cx - f64::from(width) / 2.0).round().max(0.0) as u32,
        y: (cy - f64::from(height) / 2.0).round().max(0.0) as u32,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_size_respects_orientation_and_tolerance() {
        assert_eq!(
            StandardSize::nearest(297.0, 210.0),
            Some((StandardSize::A4, 297.0, 210.0))
        );
        assert_eq!(
            StandardSize::nearest(150.0, 205.0).map(|f| f.0),
            Some(StandardSize::A5)
        );
        assert_eq!(StandardSize::nearest(150.0, 190.0), None);
        assert_eq!(
            StandardSize::nearest(86.0, 54.0).map(|f| f.0),
            Some(StandardSize::BusinessCard)
        );
    }
}
