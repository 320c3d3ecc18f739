//! Despeckling: removing dust and noise specks while keeping text.
//!
//! On a black-and-white page a *speck* is an 8-connected group of black
//! pixels of at most `max_speck` pixels with no other black pixel within a
//! clearance around its bounding box. The clearance keeps the dots of i and
//! j, full stops and accents, which are small but sit next to letters;
//! strokes and letters are larger than a speck and always stay.
//!
//! Components are found on the packed rows without unpacking: each row is
//! cut into runs of black pixels, runs touching a run of the row above
//! (diagonals included) are joined with a union-find over runs, so time and
//! memory grow with the number of runs, not pixels.
//!
//! A gray page gets a 3 x 3 median instead (edges replicated), which removes
//! specks of up to about two by two pixels and keeps strokes at least three
//! pixels wide (their corners are rounded off). Colour pages are left alone.

use crate::raster::{Page, PageHeader, PixelFormat};

/// Clearance used by [`despeckle`], in millimetres.
pub const CLEARANCE_MM: f64 = 0.5;

/// Removes specks of at most `max_speck` pixels from `page`, in place:
/// isolated black components from a black-and-white page (with the
/// clearance of [`default_clearance`]), a 3 x 3 median on a gray page.
/// `max_speck == 0` and colour pages change nothing.
pub fn despeckle(page: &mut Page, max_speck: u32) {
    let clearance = default_clearance(&page.header);
    despeckle_with_clearance(page, max_speck, clearance);
}

/// The clearance [`despeckle`] uses: [`CLEARANCE_MM`] at the page's
/// resolution (300 dpi assumed when it is unknown), at least one pixel.
pub fn default_clearance(header: &PageHeader) -> u32 {
    let dpi = match header.dpi_x.max(header.dpi_y) {
        0 => 300,
        dpi => dpi,
    };
    (f64::from(dpi) * CLEARANCE_MM / 25.4).round().max(1.0) as u32
}

/// As [`despeckle`], with a speck's clearance given in pixels: a component
/// is removed only when no black pixel of another component lies within
/// `clearance` pixels of its bounding box (0: every small component goes).
pub fn despeckle_with_clearance(page: &mut Page, max_speck: u32, clearance: u32) {
    if max_speck == 0 || page.header.width == 0 {
        return;
    }
    match page.header.format {
        PixelFormat::Bw1 => remove_specks(page, max_speck, clearance as usize),
        PixelFormat::Gray8 => median3x3(page),
        PixelFormat::Rgb8 => {}
    }
}

/// Black pixels `x0..x1` of one row.
#[derive(Debug, Clone, Copy)]
struct Run {
    x0: u32,
    x1: u32,
}

/// Size and bounding box (inclusive) of one component.
#[derive(Debug, Clone, Copy)]
struct Component {
    pixels: u64,
    x0: u32,
    x1: u32,
    y0: u32,
    y1: u32,
}

/// All runs of a page, row after row, each row's runs left to right.
struct Runs {
    runs: Vec<Run>,
    /// `runs[row_start[y]..row_start[y + 1]]` are the runs of row `y`.
    row_start: Vec<usize>,
}

impl Runs {
    fn find(data: &[u8], width: usize, row_bytes: usize, height: usize) -> Runs {
        let mut runs = Vec::new();
        let mut row_start = Vec::with_capacity(height + 1);
        row_start.push(0);
        for row in data.chunks_exact(row_bytes).take(height) {
            push_row_runs(row, width, &mut runs);
            row_start.push(runs.len());
        }
        Runs { runs, row_start }
    }

    fn row(&self, y: usize) -> std::ops::Range<usize> {
        self.row_start[y]..self.row_start[y + 1]
    }
}

/// Appends the runs of black pixels among the first `width` of a packed row.
fn push_row_runs(row: &[u8], width: usize, runs: &mut Vec<Run>) {
    let full = width / 8;
    let rest = width % 8;
    let last = (rest != 0).then(|| row[full] & (0xFFu8 << (8 - rest)));
    let bytes = row[..full].iter().copied().chain(last);
    let mut start: Option<u32> = None;
    for (i, byte) in bytes.enumerate() {
        match (byte, start) {
            (0x00, None) | (0xFF, Some(_)) => continue,
            _ => {}
        }
        for bit in 0..8 {
            let black = byte & (0x80 >> bit) != 0;
            let x = (i * 8 + bit) as u32;
            match (black, start) {
                (true, None) => start = Some(x),
                (false, Some(x0)) => {
                    runs.push(Run { x0, x1: x });
                    start = None;
                }
                _ => {}
            }
        }
    }
    if let Some(x0) = start {
        runs.push(Run {
            x0,
            x1: width as u32,
        });
    }
}

/// Union-find over run indices; a root is always its set's smallest index.
struct Sets(Vec<u32>);

impl Sets {
    fn root(&mut self, mut i: usize) -> usize {
        while self.0[i] as usize != i {
            // Path halving: point at the grandparent on the way up.
            let grandparent = self.0[self.0[i] as usize];
            self.0[i] = grandparent;
            i = grandparent as usize;
        }
        i
    }

    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[high] = low as u32;
        }
    }
}

/// Labels the runs by 8-connected component: returns the component of every
/// run and the components' sizes and bounding boxes.
fn components(runs: &Runs) -> (Vec<u32>, Vec<Component>) {
    let all = &runs.runs;
    let mut sets = Sets((0..all.len() as u32).collect());
    for y in 1..runs.row_start.len() - 1 {
        let above = runs.row(y - 1);
        let mut first_above = above.start;
        for j in runs.row(y) {
            let run = all[j];
            // Runs above that end left of this one's diagonal never touch it
            // or any later run of this row.
            while first_above < above.end && all[first_above].x1 < run.x0 {
                first_above += 1;
            }
            let mut k = first_above;
            while k < above.end && all[k].x0 <= run.x1 {
                sets.join(k, j);
                k += 1;
            }
        }
    }

    let mut label = vec![0u32; all.len()];
    let mut found: Vec<Component> = Vec::new();
    for y in 0..runs.row_start.len() - 1 {
        for i in runs.row(y) {
            let root = sets.root(i);
            let run = all[i];
            let id = if root == i {
                found.push(Component {
                    pixels: 0,
                    x0: run.x0,
                    x1: run.x1 - 1,
                    y0: y as u32,
                    y1: y as u32,
                });
                (found.len() - 1) as u32
            } else {
                // The root is an earlier run, labelled already.
                label[root]
            };
            label[i] = id;
            let c = &mut found[id as usize];
            c.pixels += u64::from(run.x1 - run.x0);
            c.x0 = c.x0.min(run.x0);
            c.x1 = c.x1.max(run.x1 - 1);
            c.y1 = y as u32;
        }
    }
    (label, found)
}

/// True when no run of another component than `id` comes within
/// `clearance` pixels of the component's bounding box.
fn isolated(runs: &Runs, label: &[u32], id: u32, c: &Component, clearance: usize) -> bool {
    let rows = runs.row_start.len() - 1;
    let y0 = (c.y0 as usize).saturating_sub(clearance);
    let y1 = (c.y1 as usize + clearance).min(rows - 1);
    let x0 = (c.x0 as usize).saturating_sub(clearance);
    let x1 = c.x1 as usize + clearance;
    for y in y0..=y1 {
        let range = runs.row(y);
        let row = &runs.runs[range.clone()];
        // First run whose last pixel reaches x0.
        let first = row.partition_point(|r| (r.x1 as usize) <= x0);
        for (offset, run) in row[first..].iter().enumerate() {
            if run.x0 as usize > x1 {
                break;
            }
            if label[range.start + first + offset] != id {
                return false;
            }
        }
    }
    true
}

fn remove_specks(page: &mut Page, max_speck: u32, clearance: usize) {
    let width = page.header.width as usize;
    let row_bytes = page.header.row_bytes();
    let height = (page.height() as usize).min(page.data.len() / row_bytes);
    if height == 0 {
        return;
    }
    let runs = Runs::find(&page.data, width, row_bytes, height);
    let (label, found) = components(&runs);
    let remove: Vec<bool> = found
        .iter()
        .enumerate()
        .map(|(id, c)| {
            c.pixels <= u64::from(max_speck) && isolated(&runs, &label, id as u32, c, clearance)
        })
        .collect();
    if !remove.contains(&true) {
        return;
    }
    for y in 0..height {
        let row = &mut page.data[y * row_bytes..(y + 1) * row_bytes];
        for i in runs.row(y) {
            if remove[label[i] as usize] {
                let run = runs.runs[i];
                for x in run.x0 as usize..run.x1 as usize {
                    row[x / 8] &= !(0x80 >> (x % 8));
                }
            }
        }
    }
}

/// 3 x 3 median of a gray page, in place, edges replicated.
///
/// Each column of three is sorted once; the median of the nine is then the
/// median of the largest low, the middle middle and the smallest high of
/// three neighbouring sorted columns.
fn median3x3(page: &mut Page) {
    let width = page.header.width as usize;
    let height = (page.height() as usize).min(page.data.len() / width);
    if height == 0 {
        return;
    }
    // Original rows y - 1 and y (the page's row y is overwritten).
    let mut above = page.data[..width].to_vec();
    let mut current = above.clone();
    // Sorted columns, one replicated column at each end.
    let mut low = vec![0u8; width + 2];
    let mut mid = vec![0u8; width + 2];
    let mut high = vec![0u8; width + 2];
    let mut out = vec![0u8; width];
    for y in 0..height {
        let below = if y + 1 < height {
            &page.data[(y + 1) * width..(y + 2) * width]
        } else {
            &current[..]
        };
        let columns = low[1..=width]
            .iter_mut()
            .zip(&mut mid[1..=width])
            .zip(&mut high[1..=width]);
        for (((l, m), h), ((&a, &c), &b)) in columns.zip(above.iter().zip(&current).zip(below)) {
            let (lo, hi) = (a.min(c), a.max(c));
            let (hi, top) = (hi.min(b), hi.max(b));
            let (bottom, middle) = (lo.min(hi), lo.max(hi));
            *l = bottom;
            *m = middle;
            *h = top;
        }
        for column in [&mut low, &mut mid, &mut high] {
            column[0] = column[1];
            column[width + 1] = column[width];
        }
        let windows = low.windows(3).zip(mid.windows(3)).zip(high.windows(3));
        for (o, ((l, m), h)) in out.iter_mut().zip(windows) {
            let largest_low = l[0].max(l[1]).max(l[2]);
            let middle_mid = median3(m[0], m[1], m[2]);
            let smallest_high = h[0].min(h[1]).min(h[2]);
            *o = median3(largest_low, middle_mid, smallest_high);
        }
        std::mem::swap(&mut above, &mut current);
        page.data[y * width..(y + 1) * width].copy_from_slice(&out);
        if y + 1 < height {
            current.copy_from_slice(&page.data[(y + 1) * width..(y + 2) * width]);
        }
    }
}

fn median3(a: u8, b: u8, c: u8) -> u8 {
    a.max(b).min(a.min(b).max(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bw(width: u32, height: u32) -> Page {
        Page::filled(width, height, PixelFormat::Bw1, 300, 0)
    }

    fn set(page: &mut Page, x: usize, y: usize) {
        let row_bytes = page.header.row_bytes();
        page.data[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
    }

    fn get(page: &Page, x: usize, y: usize) -> bool {
        page.row(y as u32)[x / 8] & (0x80 >> (x % 8)) != 0
    }

    fn fill(page: &mut Page, x0: usize, y0: usize, w: usize, h: usize) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                set(page, x, y);
            }
        }
    }

    fn black(page: &Page) -> u32 {
        page.data.iter().map(|b| b.count_ones()).sum()
    }

    #[test]
    fn isolated_specks_vanish() {
        let mut page = bw(203, 150);
        set(&mut page, 10, 10); // one pixel
        set(&mut page, 50, 20); // a diagonal pair: one 8-connected speck
        set(&mut page, 51, 21);
        fill(&mut page, 100, 100, 2, 2); // four pixels
        set(&mut page, 202, 149); // in the corner, next to the padding
        despeckle(&mut page, 4);
        assert_eq!(black(&page), 0);
    }

    #[test]
    fn strokes_letters_and_larger_blobs_stay() {
        let mut page = bw(300, 200);
        fill(&mut page, 10, 10, 250, 1); // a thin line
        fill(&mut page, 40, 60, 1, 100); // a thin vertical line
        // A letter "o": a ring 20 x 28 with 3 px strokes.
        fill(&mut page, 100, 80, 20, 3);
        fill(&mut page, 100, 105, 20, 3);
        fill(&mut page, 100, 80, 3, 28);
        fill(&mut page, 117, 80, 3, 28);
        // Five pixels: one more than the largest speck.
        fill(&mut page, 200, 150, 5, 1);
        let before = page.clone();
        despeckle(&mut page, 4);
        assert_eq!(page, before);
    }

    #[test]
    fn the_size_limit_is_inclusive() {
        let mut page = bw(64, 64);
        fill(&mut page, 10, 10, 3, 3);
        let mut kept = page.clone();
        despeckle(&mut page, 9);
        assert_eq!(black(&page), 0);
        despeckle(&mut kept, 8);
        assert_eq!(black(&kept), 9);
    }

    #[test]
    fn dots_next_to_letters_are_kept() {
        let mut page = bw(120, 80);
        // An "i": a stem and, four pixels above it, a dot.
        fill(&mut page, 30, 30, 3, 20);
        fill(&mut page, 30, 24, 3, 2);
        // A full stop two pixels after a letter's foot.
        fill(&mut page, 60, 30, 3, 20);
        fill(&mut page, 65, 47, 3, 3);
        // A far away speck goes.
        fill(&mut page, 100, 10, 2, 2);
        despeckle(&mut page, 10);
        assert!(get(&page, 31, 24) && get(&page, 66, 48));
        assert!(!get(&page, 100, 10));
        assert_eq!(black(&page), 60 + 6 + 60 + 9);
        // Without clearance every small component goes.
        despeckle_with_clearance(&mut page, 10, 0);
        assert_eq!(black(&page), 120);
    }

    #[test]
    fn components_follow_diagonals_across_rows() {
        // A staircase of single pixels is one component of 40 pixels.
        let mut page = bw(50, 50);
        for i in 0..40 {
            set(&mut page, i, i);
        }
        let before = page.clone();
        despeckle(&mut page, 39);
        assert_eq!(page, before);
        despeckle(&mut page, 40);
        assert_eq!(black(&page), 0);
    }

    #[test]
    fn comb_shapes_are_one_component() {
        // Teeth joined only by a bar at the bottom: labels must merge late.
        let mut page = bw(40, 30);
        for tooth in 0..5 {
            fill(&mut page, 2 + tooth * 6, 2, 1, 10);
        }
        fill(&mut page, 2, 12, 25, 1);
        let before = page.clone();
        despeckle_with_clearance(&mut page, 70, 0);
        assert_eq!(page, before);
        despeckle_with_clearance(&mut page, 75, 0);
        assert_eq!(black(&page), 0);
    }

    #[test]
    fn padding_bits_are_not_pixels() {
        // Dirty padding must not join or grow a component.
        let mut page = Page::filled(13, 3, PixelFormat::Bw1, 300, 0);
        page.data = vec![0x00, 0x07, 0x00, 0x0F, 0x00, 0x07];
        despeckle(&mut page, 1);
        assert_eq!(page.data, vec![0x00, 0x07, 0x00, 0x07, 0x00, 0x07]);
    }

    #[test]
    fn zero_limit_and_colour_change_nothing() {
        let mut page = bw(20, 20);
        set(&mut page, 5, 5);
        let before = page.clone();
        despeckle(&mut page, 0);
        assert_eq!(page, before);
        let mut rgb = Page::filled(5, 5, PixelFormat::Rgb8, 300, 255);
        rgb.data[36] = 0;
        let before = rgb.clone();
        despeckle(&mut rgb, 10);
        assert_eq!(rgb, before);
    }

    #[test]
    fn the_default_clearance_is_half_a_millimetre() {
        let mut header = bw(1, 1).header;
        assert_eq!(default_clearance(&header), 6);
        header.dpi_x = 600;
        assert_eq!(default_clearance(&header), 12);
        header.dpi_x = 0;
        header.dpi_y = 0;
        assert_eq!(default_clearance(&header), 6);
        header.dpi_x = 10;
        assert_eq!(default_clearance(&header), 1);
    }

    fn brute_median(page: &Page, x: usize, y: usize) -> u8 {
        let (w, h) = (page.header.width as usize, page.height() as usize);
        let mut values = Vec::with_capacity(9);
        for dy in [-1isize, 0, 1] {
            for dx in [-1isize, 0, 1] {
                let xx = (x as isize + dx).clamp(0, w as isize - 1) as usize;
                let yy = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                values.push(page.data[yy * w + xx]);
            }
        }
        values.sort_unstable();
        values[4]
    }

    #[test]
    fn gray_median_matches_the_definition() {
        for (w, h) in [(1, 1), (1, 5), (6, 1), (2, 2), (17, 11)] {
            let mut page = Page::filled(w, h, PixelFormat::Gray8, 300, 0);
            let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(w * 31 + h);
            for b in page.data.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state as u8;
            }
            let original = page.clone();
            despeckle(&mut page, 1);
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let expected = brute_median(&original, x, y);
                    assert_eq!(
                        page.data[y * w as usize + x],
                        expected,
                        "{w}x{h} at {x},{y}"
                    );
                }
            }
        }
    }

    #[test]
    fn gray_median_removes_specks_and_keeps_strokes() {
        let mut page = Page::filled(40, 30, PixelFormat::Gray8, 300, 240);
        page.data[5 * 40 + 5] = 0;
        page.data[20 * 40 + 30] = 0;
        page.data[20 * 40 + 31] = 0;
        // A stroke three pixels tall.
        for y in 10..13 {
            page.data[y * 40 + 5..y * 40 + 25].fill(20);
        }
        despeckle(&mut page, 4);
        assert_eq!(page.data[5 * 40 + 5], 240);
        assert_eq!(page.data[20 * 40 + 30], 240);
        for y in 10..13 {
            assert!(page.data[y * 40 + 6..y * 40 + 24].iter().all(|&v| v == 20));
        }
    }
}
