//! Segmentation of a flatbed scan into the separate photos or cards lying
//! on the glass.
//!
//! [`detect_regions`] works in three steps. On a reduced gray copy, the
//! lid's level is read from the outer edge of the scan and everything
//! clearly lighter than it is foreground; holes (dark parts of a photo
//! inside its light border) are filled, and 4-connected components smaller
//! than 8 x 8 mm are dropped as dust. Each remaining component is then
//! traced on the full page (the outermost light pixel of every row), and
//! the minimum-area rectangle around the convex hull of those pixels gives
//! the print's centre, size and angle. [`extract_region`] cuts one print
//! out, turned straight.
//!
//! Not handled: prints no lighter than the lid (a dark photo without a
//! white border on a dark lid), and prints that touch or overlap (they come
//! out as one region).

use super::hull::{self, Point};
use super::plane::{self, Plane, luma_at};
use super::{Rect, crop};
use crate::raster::Page;

/// Resolution segmentation works at (at most).
const SEGMENT_DPI: u32 = 75;
/// Components narrower or lower than this (millimetres) are dust, not
/// prints; the same goes for components of less than its square.
const MIN_SIDE_MM: f64 = 8.0;
/// Smallest difference between the lid and the lightest parts of the scan
/// for anything to be found.
const MIN_CONTRAST: u8 = 40;

/// A photo or card found on the flatbed, in page pixels.
///
/// Same convention as the simulator's `Region` (which is in millimetres):
/// `(x, y)` is the **centre** of the print; `width x height` is its size
/// before rotation, `width` being the side closer to horizontal; the print
/// is turned counter-clockwise (as seen on the page) by `angle_deg`, which
/// lies in `(-45, 45]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectedRegion {
    /// Horizontal position of the centre, from the page's left edge.
    pub x: f64,
    /// Vertical position of the centre, from the page's top edge.
    pub y: f64,
    /// Width along the print's own horizontal axis.
    pub width: f64,
    /// Height along the print's own vertical axis.
    pub height: f64,
    /// Counter-clockwise rotation in degrees.
    pub angle_deg: f64,
}

impl DetectedRegion {
    /// The four corners in page pixels: top-left, top-right, bottom-right,
    /// bottom-left of the print.
    pub fn corners(&self) -> [(f64, f64); 4] {
        let (sin, cos) = self.angle_deg.to_radians().sin_cos();
        let (hw, hh) = (self.width / 2.0, self.height / 2.0);
        [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
            .map(|(u, v)| (self.x + u * cos + v * sin, self.y - u * sin + v * cos))
    }

    /// The axis-aligned box of page pixels the print touches.
    pub fn bounding_box(&self) -> Rect {
        let corners = self.corners();
        let fold = |pick: fn(&(f64, f64)) -> f64, min: bool| {
            corners
                .iter()
                .map(pick)
                .fold(if min { f64::MAX } else { f64::MIN }, |a, b| {
                    if min { a.min(b) } else { a.max(b) }
                })
        };
        let x0 = fold(|c| c.0, true).floor().max(0.0);
        let y0 = fold(|c| c.1, true).floor().max(0.0);
        let x1 = fold(|c| c.0, false).ceil().max(x0);
        let y1 = fold(|c| c.1, false).ceil().max(y0);
        Rect {
            x: x0 as u32,
            y: y0 as u32,
            width: (x1 - x0) as u32,
            height: (y1 - y0) as u32,
        }
    }
}

/// Finds the separate prints lying on the flatbed, sorted top to bottom,
/// and left to right within a row (regions whose centres lie within one
/// another's vertical extent share a row). Empty when the scan shows no
/// print clearly lighter than the lid.
pub fn detect_regions(page: &Page) -> Vec<DetectedRegion> {
    let plane = plane::reduced(page, SEGMENT_DPI);
    if plane.width < 3 || plane.height < 3 {
        return Vec::new();
    }
    let lid = border_median(&plane);
    let light = plane::percentile(&plane.histogram(), 0.995);
    if light < lid.saturating_add(MIN_CONTRAST) {
        return Vec::new();
    }
    let threshold = lid.saturating_add(MIN_CONTRAST.max((f64::from(light - lid) * 0.5) as u8));
    let foreground = filled_foreground(&plane, threshold);
    let (labels, components) = plane::label_components(&foreground, plane.width, plane.height);

    let reduced_dpi_x = f64::from(page.header.dpi_x) / plane.factor_x as f64;
    let reduced_dpi_y = f64::from(page.header.dpi_y) / plane.factor_y as f64;
    let min_w = MIN_SIDE_MM / 25.4 * reduced_dpi_x;
    let min_h = MIN_SIDE_MM / 25.4 * reduced_dpi_y;
    let mut regions: Vec<DetectedRegion> = components
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let (w, h) = ((c.x1 - c.x0 + 1) as f64, (c.y1 - c.y0 + 1) as f64);
            w >= min_w && h >= min_h && c.area as f64 >= min_w * min_h
        })
        .filter_map(|(k, c)| {
            let outline = trace(page, &plane, &labels, k as u32 + 1, c, threshold);
            let rect = hull::min_area_rect(&hull::convex_hull(outline))?;
            // The outline runs through pixel centres, which lie inside the
            // print's edge by 0 to 1 pixel depending on where the edge
            // crosses the pixel. Along an edge that is straight on the
            // grid they all lie at the same depth (half a pixel, on
            // average); along a slanted edge the depth cycles through n
            // values, and the outermost lies about 1 / (n + 1) inside.
            let slant = rect.angle_deg.to_radians().sin().abs();
            let inset = |side_length: f64| 1.0 / (side_length * slant + 2.0);
            Some(DetectedRegion {
                x: rect.cx,
                y: rect.cy,
                width: rect.width + 2.0 * inset(rect.height),
                height: rect.height + 2.0 * inset(rect.width),
                angle_deg: rect.angle_deg,
            })
        })
        .collect();
    sort_reading_order(&mut regions);
    regions
}

/// Median of the outermost two pixels all around the plane: the lid.
fn border_median(plane: &Plane) -> u8 {
    let mut hist = [0u32; 256];
    let ring = 2.min(plane.width / 2).min(plane.height / 2).max(1);
    for y in 0..plane.height {
        let edge_row = y < ring || y + ring >= plane.height;
        for x in 0..plane.width {
            if edge_row || x < ring || x + ring >= plane.width {
                hist[usize::from(plane.at(x, y))] += 1;
            }
        }
    }
    plane::percentile(&hist, 0.5)
}

/// Pixels lighter than `threshold`, plus everything they enclose (dark
/// areas not connected to the edge of the scan through dark pixels).
fn filled_foreground(plane: &Plane, threshold: u8) -> Vec<bool> {
    let (w, h) = (plane.width, plane.height);
    let light: Vec<bool> = plane.data.iter().map(|&v| v > threshold).collect();
    let mut outside = vec![false; w * h];
    let mut stack: Vec<usize> = Vec::new();
    let seed = |i: usize, outside: &mut [bool], stack: &mut Vec<usize>| {
        if !light[i] && !outside[i] {
            outside[i] = true;
            stack.push(i);
        }
    };
    for x in 0..w {
        seed(x, &mut outside, &mut stack);
        seed((h - 1) * w + x, &mut outside, &mut stack);
    }
    for y in 0..h {
        seed(y * w, &mut outside, &mut stack);
        seed(y * w + w - 1, &mut outside, &mut stack);
    }
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        if x > 0 {
            seed(i - 1, &mut outside, &mut stack);
        }
        if x + 1 < w {
            seed(i + 1, &mut outside, &mut stack);
        }
        if y > 0 {
            seed(i - w, &mut outside, &mut stack);
        }
        if y + 1 < h {
            seed(i + w, &mut outside, &mut stack);
        }
    }
    outside.into_iter().map(|o| !o).collect()
}

/// The outermost light pixel centres of component `label` on every page
/// row it spans (leftmost and rightmost), which have the same convex hull
/// as the whole component at full resolution.
fn trace(
    page: &Page,
    plane: &Plane,
    labels: &[u32],
    label: u32,
    c: &plane::Component,
    threshold: u8,
) -> Vec<Point> {
    let (fx, fy) = (plane.factor_x, plane.factor_y);
    let (w, h) = (page.header.width as usize, page.height() as usize);
    // One reduced pixel of margin: partly covered blocks at the edge of the
    // print may have averaged below the threshold.
    let x_lo = (c.x0 * fx).saturating_sub(fx);
    let x_hi = ((c.x1 + 2) * fx).min(w);
    let y_lo = (c.y0 * fy).saturating_sub(fy);
    let y_hi = ((c.y1 + 2) * fy).min(h);
    let belongs = |x: usize, y: usize| {
        let (rx, ry) = (x / fx, y / fy);
        (ry.saturating_sub(1)..(ry + 2).min(plane.height)).any(|yy| {
            (rx.saturating_sub(1)..(rx + 2).min(plane.width))
                .any(|xx| labels[yy * plane.width + xx] == label)
        })
    };
    let is_print =
        |x: usize, y: usize| luma_at(page, x as u32, y as u32) > threshold && belongs(x, y);
    let mut points = Vec::new();
    for y in y_lo..y_hi {
        let Some(left) = (x_lo..x_hi).find(|&x| is_print(x, y)) else {
            continue;
        };
        let right = (left..x_hi).rev().find(|&x| is_print(x, y)).unwrap_or(left);
        let cy = y as f64 + 0.5;
        points.push((left as f64 + 0.5, cy));
        if right != left {
            points.push((right as f64 + 0.5, cy));
        }
    }
    points
}

/// Sorts into rows (top to bottom), each left to right.
fn sort_reading_order(regions: &mut [DetectedRegion]) {
    regions.sort_by(|a, b| a.y.total_cmp(&b.y));
    let mut start = 0;
    while start < regions.len() {
        let first = regions[start];
        let reach = first.y + first.height / 2.0;
        let end = start + regions[start..].iter().take_while(|r| r.y <= reach).count();
        regions[start..end].sort_by(|a, b| a.x.total_cmp(&b.x));
        start = end.max(start + 1);
    }
}

/// One region cut out of the page and turned straight: the pixels under
/// the print, resampled (bicubic) so that its edges are horizontal and
/// vertical, `round(width) x round(height)` pixels, same format and
/// resolution as the page. Parts outside the page come out white.
///
/// Sides are limited to the page's diagonal (nothing larger fits on the
/// page), so a nonsensical region cannot exhaust memory; a region with a
/// side that is not a finite number gives an empty (0 x 0) page.
pub fn extract_region(page: &Page, region: &DetectedRegion) -> Page {
    let finite = [
        region.x,
        region.y,
        region.width,
        region.height,
        region.angle_deg,
    ]
    .iter()
    .all(|v| v.is_finite());
    if !finite {
        return crop(page, Rect::default());
    }
    let diagonal = f64::from(page.header.width)
        .hypot(f64::from(page.height()))
        .ceil()
        .max(1.0);
    let width = region.width.round().clamp(1.0, diagonal);
    let height = region.height.round().clamp(1.0, diagonal);
    crate::raster::geometry::straighten(
        page,
        region.x,
        region.y,
        width as u32,
        height as u32,
        region.angle_deg,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::PixelFormat;

    fn region(x: f64, y: f64) -> DetectedRegion {
        DetectedRegion {
            x,
            y,
            width: 100.0,
            height: 60.0,
            angle_deg: 0.0,
        }
    }

    #[test]
    fn reading_order_groups_rows() {
        let mut regions = vec![
            region(300.0, 110.0),
            region(100.0, 300.0),
            region(100.0, 100.0),
            region(200.0, 95.0),
        ];
        sort_reading_order(&mut regions);
        let order: Vec<(f64, f64)> = regions.iter().map(|r| (r.x, r.y)).collect();
        assert_eq!(
            order,
            vec![
                (100.0, 100.0),
                (200.0, 95.0),
                (300.0, 110.0),
                (100.0, 300.0)
            ]
        );
    }

    #[test]
    fn corners_and_box_follow_the_angle() {
        let r = DetectedRegion {
            angle_deg: 90.0,
            ..region(50.0, 50.0)
        };
        let corners = r.corners();
        // Turned a quarter counter-clockwise: the top-left corner is now at
        // the bottom-left.
        assert!((corners[0].0 - 20.0).abs() < 1e-9 && (corners[0].1 - 100.0).abs() < 1e-9);
        assert_eq!(
            r.bounding_box(),
            Rect {
                x: 20,
                y: 0,
                width: 60,
                height: 100
            }
        );
    }

    #[test]
    fn nonsense_regions_give_small_pages_not_panics() {
        let page = Page::filled(30, 20, PixelFormat::Bw1, 75, 0);
        let huge = DetectedRegion {
            width: 1e15,
            height: 1e15,
            ..region(10.0, 10.0)
        };
        let out = extract_region(&page, &huge);
        assert_eq!((out.header.width, out.height()), (37, 37));
        let broken = DetectedRegion {
            angle_deg: f64::NAN,
            ..region(10.0, 10.0)
        };
        assert_eq!(extract_region(&page, &broken).data.len(), 0);
    }

    #[test]
    fn a_plain_lid_has_no_regions() {
        let page = Page::filled(300, 200, PixelFormat::Gray8, 75, 80);
        assert!(detect_regions(&page).is_empty());
    }
}
