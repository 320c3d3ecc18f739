//! Skew detection and correction.
//!
//! [`detect_skew`] measures the angle of the page's text lines (and of
//! rules, table borders and photo edges, which run along them) by
//! projection profiles: the dark ("ink") pixels of a reduced gray copy are
//! projected onto the axis perpendicular to a trial direction, and the
//! direction whose profile is sharpest (largest sum of squared differences
//! between neighbouring bins, the criterion of Postl's method) wins.
//! The search is coarse to fine: quarter-degree steps over the whole range
//! on a subsample of the ink (25 000 points at most), then twentieth-degree
//! steps around the best one on more of it (150 000 points at most), then a
//! parabola through the best three. A 300 dpi A4 page takes a few tens of
//! milliseconds, most of it spent reducing the page.
//!
//! [`rotate_by`] turns the whole page with bicubic interpolation and keeps
//! its size, [`paper_colour`] estimates what to fill uncovered corners
//! with, and [`deskew`] puts the three together.
//!
//! Not handled: pages turned by more than about 15 degrees (use the
//! quarter-turn rotation), pages without dark content on light paper, and
//! mixed orientations on one page (the dominant one wins).

use super::plane::{self, Plane};
use crate::raster::resample::{Affine, resample};
use crate::raster::{Page, PixelFormat};

/// Resolution the detection works at (at most; the page is box-reduced by
/// an integer factor).
const DETECT_DPI: u32 = 150;
/// Largest skew searched for, in degrees (a little beyond the promised 15
/// so that 15 itself is an interior point of the search).
const SEARCH_DEG: f64 = 15.75;
/// Step of the coarse search, degrees.
const COARSE_STEP: f64 = 0.25;
/// Step of the fine search, degrees.
const FINE_STEP: f64 = 0.05;
/// Ink points used by the coarse search, at most.
const COARSE_POINTS: usize = 25_000;
/// Ink points used by the fine search, at most.
const FINE_POINTS: usize = 150_000;
/// Skews smaller than this (degrees) are reported but not corrected.
const NEGLIGIBLE_DEG: f64 = 0.05;

/// The skew of the page's content in degrees, positive when the content is
/// turned counter-clockwise, as seen on the page. Detects up to about ±15
/// degrees, typically to within a few hundredths of a degree on text.
///
/// Returns `None` when the page has no usable content: blank (a few specks
/// of dust do not count), or too little dark content for lines to show.
/// The angle is measured in page pixels; with unequal horizontal and
/// vertical resolutions it is not the physical angle.
pub fn detect_skew(page: &Page) -> Option<f64> {
    let plane = plane::reduced(page, DETECT_DPI);
    let points = ink_points(&plane)?;
    let coarse_points = subsample(&points, COARSE_POINTS);
    let fine_points = subsample(&points, FINE_POINTS);
    let aspect = plane.factor_x as f64 / plane.factor_y as f64;
    let radius = (plane.width as f64 * aspect / 2.0).hypot(plane.height as f64 / 2.0);
    let mut profile = Profile::new(radius);

    let steps = (SEARCH_DEG / COARSE_STEP).round() as i32;
    let coarse: Vec<(f64, f64)> = (-steps..=steps)
        .map(|i| {
            let angle = f64::from(i) * COARSE_STEP;
            (angle, profile.sharpness(&coarse_points, angle))
        })
        .collect();
    let (best_coarse, best_score) = coarse.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
    let mut scores: Vec<f64> = coarse.iter().map(|&(_, s)| s).collect();
    scores.sort_by(f64::total_cmp);
    let median = scores[scores.len() / 2];
    // Lines give a clear peak; scattered marks score about the same at
    // every angle.
    if best_score.is_nan() || best_score <= median * 1.1 {
        return None;
    }

    let span = (COARSE_STEP * 1.5 / FINE_STEP).round() as i32;
    let fine: Vec<(f64, f64)> = (-span..=span)
        .map(|i| {
            let angle = best_coarse + f64::from(i) * FINE_STEP;
            (angle, profile.sharpness(&fine_points, angle))
        })
        .collect();
    let (k, &(angle, score)) = fine
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.1.total_cmp(&b.1.1))?;
    if k == 0 || k + 1 == fine.len() {
        return Some(angle);
    }
    // Vertex of the parabola through the best fine step and its neighbours.
    let (before, after) = (fine[k - 1].1, fine[k + 1].1);
    let curvature = before - 2.0 * score + after;
    let offset = if curvature < 0.0 {
        (0.5 * (before - after) / curvature).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    Some(angle + offset * FINE_STEP)
}

/// Dark pixels of the plane as points in plane-row units, centred on the
/// page, or `None` when there are too few of them to measure lines.
fn ink_points(plane: &Plane) -> Option<Vec<(f32, f32)>> {
    if plane.width < 8 || plane.height < 8 {
        return None;
    }
    let hist = plane.histogram();
    let paper = plane::percentile(&hist, 0.95);
    // Ink is well below the paper: noise and paper grain never get there.
    let limit = (f64::from(paper) * 0.55) as u8;
    let area = plane.width * plane.height;
    let dark: u32 = hist[..usize::from(limit)].iter().sum();
    if (dark as usize) < (area / 4000).max(150) {
        return None;
    }
    // Horizontal distances in units of plane rows, so non-square reductions
    // keep page-pixel angles.
    let aspect = plane.factor_x as f32 / plane.factor_y as f32;
    let (cx, cy) = (plane.width as f32 / 2.0, plane.height as f32 / 2.0);
    let mut points = Vec::with_capacity(dark as usize);
    // Each point is placed at a spread-out position inside its pixel (a
    // low-discrepancy sequence), not at the centre: with centres, every
    // point shares one sub-bin phase at angle 0, and the profile's
    // sharpness then jumps there, which biases the result by up to a
    // tenth of a degree.
    let (mut jitter_x, mut jitter_y) = (0.5f32, 0.5f32);
    for (y, row) in plane.data.chunks_exact(plane.width).enumerate() {
        for (x, &v) in row.iter().enumerate() {
            if v < limit {
                jitter_x += 0.618_034;
                jitter_y += 0.414_213_56;
                if jitter_x >= 1.0 {
                    jitter_x -= 1.0;
                }
                if jitter_y >= 1.0 {
                    jitter_y -= 1.0;
                }
                points.push((
                    (x as f32 + jitter_x - cx) * aspect,
                    y as f32 + jitter_y - cy,
                ));
            }
        }
    }
    Some(points)
}

/// Every k-th point so that at most `limit` remain (all of them when they
/// are few enough).
fn subsample(points: &[(f32, f32)], limit: usize) -> Vec<(f32, f32)> {
    let stride = points.len().div_ceil(limit.max(1)).max(1);
    points.iter().step_by(stride).copied().collect()
}

/// A reusable projection profile.
struct Profile {
    bins: Vec<f32>,
    offset: f32,
}

impl Profile {
    /// A profile for points within `radius` of the centre.
    fn new(radius: f64) -> Profile {
        let half = radius.ceil() as usize + 2;
        Profile {
            bins: vec![0.0; 2 * half + 2],
            offset: half as f32,
        }
    }

    /// How sharp the profile of `points` across direction `angle_deg`
    /// (counter-clockwise) is: the sum of squared differences of
    /// neighbouring bins. Each point is split linearly between the two
    /// bins it falls between, so the score varies smoothly with the angle.
    fn sharpness(&mut self, points: &[(f32, f32)], angle_deg: f64) -> f64 {
        let (sin, cos) = angle_deg.to_radians().sin_cos();
        let (sin, cos) = (sin as f32, cos as f32);
        self.bins.iter_mut().for_each(|b| *b = 0.0);
        let last = self.bins.len() - 2;
        for &(x, y) in points {
            // Distance along the normal of lines turned counter-clockwise
            // (y grows downwards): constant along each such line.
            let t = x * sin + y * cos + self.offset;
            let i = (t.max(0.0) as usize).min(last);
            let f = (t - i as f32).clamp(0.0, 1.0);
            self.bins[i] += 1.0 - f;
            self.bins[i + 1] += f;
        }
        self.bins
            .windows(2)
            .map(|w| {
                let d = f64::from(w[1] - w[0]);
                d * d
            })
            .sum()
    }
}

/// The colour of the paper: the typical colour of the brightest part of a
/// band along the page's edges (the brightest quarter, leaving out the
/// top 3 per cent as highlights and specks).
pub fn paper_colour(page: &Page) -> [u8; 3] {
    let w = page.header.width as usize;
    let h = page.height() as usize;
    if w == 0 || h == 0 {
        return [255; 3];
    }
    let band_x = (w / 20).max(1);
    let band_y = (h / 20).max(1);
    // Sample about 40 000 pixels of the band, whatever the page size.
    let band_area = 2 * (band_x * h + band_y * w);
    let stride = ((band_area / 40_000) as f64).sqrt().floor().max(1.0) as usize;
    let mut samples: Vec<[u8; 3]> = Vec::new();
    let mut row = Vec::with_capacity(w * 3);
    for y in (0..h).step_by(stride) {
        row.clear();
        crate::raster::rgb_row(page.header.format, page.row(y as u32), w, &mut row);
        let in_band_y = y < band_y || y >= h - band_y;
        for x in (0..w).step_by(stride) {
            if in_band_y || x < band_x || x >= w - band_x {
                samples.push([row[3 * x], row[3 * x + 1], row[3 * x + 2]]);
            }
        }
    }
    let mut hist = [0u32; 256];
    for s in &samples {
        hist[usize::from(plane::luma(*s))] += 1;
    }
    let low = plane::percentile(&hist, 0.75);
    let high = plane::percentile(&hist, 0.97);
    let mut sum = [0u64; 3];
    let mut n = 0u64;
    for s in samples
        .iter()
        .filter(|s| (low..=high).contains(&plane::luma(**s)))
    {
        for (acc, &v) in sum.iter_mut().zip(s) {
            *acc += u64::from(v);
        }
        n += 1;
    }
    if n == 0 {
        return [255; 3];
    }
    sum.map(|s| ((s + n / 2) / n) as u8)
}

/// The whole page turned counter-clockwise by `degrees` about its centre,
/// same size and format, bicubic interpolation; areas that come from
/// outside the page (the corners) get `fill`. Black-and-white pages are
/// turned in gray and thresholded again at 128. Large pages are split
/// between the available cores (about 0.1 s of processor time for a
/// 300 dpi A4 page in gray, twice that in colour).
pub fn rotate_by(page: &Page, degrees: f64, fill: [u8; 3]) -> Page {
    let (w, h) = (page.header.width, page.height());
    if degrees == 0.0 || !degrees.is_finite() {
        return page.clone();
    }
    let map = Affine::rotation(f64::from(w), f64::from(h), degrees);
    let source = plane::eight_bit(page);
    let turned = resample(&source, w, h, &map, fill);
    match page.header.format {
        PixelFormat::Bw1 => plane::threshold_to_bw(&turned),
        PixelFormat::Rgb8 | PixelFormat::Gray8 => turned,
    }
}

/// Detects the skew and turns the page straight, filling the corners with
/// the [`paper_colour`]. Returns the corrected page and the detected angle
/// (`None`: nothing to measure, the page is returned unchanged). Angles
/// below 0.05 degrees are reported but left alone.
pub fn deskew(page: &Page) -> (Page, Option<f64>) {
    match detect_skew(page) {
        Some(angle) if angle.abs() >= NEGLIGIBLE_DEG => {
            (rotate_by(page, -angle, paper_colour(page)), Some(angle))
        }
        other => (page.clone(), other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gray page with parallel dark bars (text-line stand-ins) turned
    /// counter-clockwise by `angle` degrees.
    fn barred(angle: f64) -> Page {
        let mut page = Page::filled(600, 500, PixelFormat::Gray8, 100, 240);
        let (sin, cos) = angle.to_radians().sin_cos();
        for y in 0..500 {
            for x in 0..600 {
                let (dx, dy) = (x as f64 + 0.5 - 300.0, y as f64 + 0.5 - 250.0);
                // Back to the unturned frame.
                let u = dx * cos - dy * sin;
                let v = dx * sin + dy * cos;
                let line = (v + 1000.0).rem_euclid(20.0) < 6.0;
                if line && u.abs() < 220.0 && v.abs() < 180.0 {
                    page.data[y * 600 + x] = 30;
                }
            }
        }
        page
    }

    #[test]
    fn bars_give_their_angle() {
        for angle in [-7.3, 0.0, 2.6, 12.0] {
            let found = detect_skew(&barred(angle)).expect("an angle");
            assert!((found - angle).abs() < 0.1, "{angle}: {found}");
        }
    }

    #[test]
    fn a_blank_page_has_no_skew() {
        let page = Page::filled(600, 500, PixelFormat::Rgb8, 100, 250);
        assert_eq!(detect_skew(&page), None);
        let (same, angle) = deskew(&page);
        assert_eq!((same, angle), (page, None));
    }

    #[test]
    fn paper_colour_ignores_dark_marks_at_the_edge() {
        let mut page = Page::filled(200, 100, PixelFormat::Rgb8, 100, 0);
        for px in page.data.chunks_exact_mut(3) {
            px.copy_from_slice(&[240, 235, 220]);
        }
        for px in page.data[..600].chunks_exact_mut(3) {
            px.copy_from_slice(&[10, 10, 10]);
        }
        assert_eq!(paper_colour(&page), [240, 235, 220]);
    }

    #[test]
    fn rotation_fills_corners_and_handles_black_and_white() {
        let page = Page::filled(40, 30, PixelFormat::Bw1, 100, 0xFF);
        let turned = rotate_by(&page, 10.0, [255; 3]);
        assert_eq!(turned.header, page.header);
        // All black inside, white in the corner.
        assert_eq!(turned.row(15)[2], 0xFF);
        assert_eq!(turned.row(0)[0] & 0x80, 0);
    }
}
