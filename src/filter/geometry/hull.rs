//! Convex hulls and minimum-area enclosing rectangles of point sets, for
//! measuring the outline of a photo print.
//!
//! The hull is Andrew's monotone chain; the rectangle uses the classic
//! result that a minimum-area enclosing rectangle has one side on a hull
//! edge (rotating calipers), trying every edge in turn. Points are in page
//! pixels with y growing downwards; angles are counter-clockwise as seen on
//! the page.

/// A point in page pixels.
pub(crate) type Point = (f64, f64);

/// A rectangle of `width x height` centred at `(cx, cy)`, its width axis
/// turned counter-clockwise by `angle_deg` (in `(-45, 45]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OrientedRect {
    pub cx: f64,
    pub cy: f64,
    pub width: f64,
    pub height: f64,
    pub angle_deg: f64,
}

/// Twice the signed area of the triangle `o, a, b` (positive when `o -> a
/// -> b` turns counter-clockwise in a y-up frame).
fn cross(o: Point, a: Point, b: Point) -> f64 {
    (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
}

/// The convex hull of `points`, without collinear points, in a consistent
/// winding order. Fewer than three distinct points give those points.
pub(crate) fn convex_hull(mut points: Vec<Point>) -> Vec<Point> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let mut hull: Vec<Point> = Vec::with_capacity(points.len() + 1);
    for pass in 0..2 {
        let start = hull.len();
        let ordered: Box<dyn Iterator<Item = &Point>> = if pass == 0 {
            Box::new(points.iter())
        } else {
            Box::new(points.iter().rev())
        };
        for &p in ordered {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        // The last point of each chain starts the other one.
        hull.pop();
    }
    hull
}

/// The smallest-area rectangle enclosing the convex polygon `hull`, or
/// `None` for fewer than three points.
pub(crate) fn min_area_rect(hull: &[Point]) -> Option<OrientedRect> {
    if hull.len() < 3 {
        return None;
    }
    let mut best: Option<(f64, OrientedRect)> = None;
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dy);
        if len < 1e-9 {
            continue;
        }
        // Unit vectors along the edge and across it.
        let (ux, uy) = (dx / len, dy / len);
        let (vx, vy) = (-uy, ux);
        let (mut u0, mut u1, mut v0, mut v1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(px, py) in hull {
            let u = px * ux + py * uy;
            let v = px * vx + py * vy;
            u0 = u0.min(u);
            u1 = u1.max(u);
            v0 = v0.min(v);
            v1 = v1.max(v);
        }
        let area = (u1 - u0) * (v1 - v0);
        if best.as_ref().is_none_or(|(a, _)| area < *a) {
            let (um, vm) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
            let rect = normalised(
                um * ux + vm * vx,
                um * uy + vm * vy,
                u1 - u0,
                v1 - v0,
                (ux, uy),
            );
            best = Some((area, rect));
        }
    }
    best.map(|(_, rect)| rect)
}

/// The rectangle with side `width` along the direction `(ux, uy)` (page
/// coordinates, y down), described with its angle in `(-45, 45]` degrees
/// and `width` the side closer to horizontal.
fn normalised(cx: f64, cy: f64, width: f64, height: f64, (ux, uy): (f64, f64)) -> OrientedRect {
    // Counter-clockwise on the page means negative y, hence the minus.
    let mut angle = (-uy).atan2(ux).to_degrees();
    let (mut width, mut height) = (width, height);
    // Fold into (-45, 45], swapping the sides at every quarter turn.
    while angle > 45.0 {
        angle -= 90.0;
        std::mem::swap(&mut width, &mut height);
    }
    while angle <= -45.0 {
        angle += 90.0;
        std::mem::swap(&mut width, &mut height);
    }
    OrientedRect {
        cx,
        cy,
        width,
        height,
        angle_deg: angle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hull_drops_inner_and_collinear_points() {
        let points = vec![
            (0.0, 0.0),
            (2.0, 0.0),
            (4.0, 0.0),
            (4.0, 3.0),
            (0.0, 3.0),
            (1.0, 1.0),
            (2.0, 2.0),
        ];
        let hull = convex_hull(points);
        assert_eq!(hull.len(), 4);
    }

    #[test]
    fn rectangle_of_a_turned_rectangle_recovers_it() {
        // A 40 x 20 rectangle turned 10 degrees counter-clockwise about
        // (100, 50).
        let (sin, cos) = 10f64.to_radians().sin_cos();
        let corners: Vec<Point> = [(-20.0, -10.0), (20.0, -10.0), (20.0, 10.0), (-20.0, 10.0)]
            .iter()
            .map(|&(u, v)| (100.0 + u * cos + v * sin, 50.0 - u * sin + v * cos))
            .collect();
        let rect = min_area_rect(&convex_hull(corners)).expect("a rectangle");
        assert!((rect.cx - 100.0).abs() < 1e-9 && (rect.cy - 50.0).abs() < 1e-9);
        assert!((rect.width - 40.0).abs() < 1e-9 && (rect.height - 20.0).abs() < 1e-9);
        assert!((rect.angle_deg - 10.0).abs() < 1e-9, "{rect:?}");
    }

    #[test]
    fn degenerate_sets_have_no_rectangle() {
        assert_eq!(
            min_area_rect(&convex_hull(vec![(1.0, 1.0), (2.0, 2.0)])),
            None
        );
        assert_eq!(
            min_area_rect(&convex_hull(vec![(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)])),
            None
        );
    }
}
