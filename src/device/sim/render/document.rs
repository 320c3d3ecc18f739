//! Layout of a simulated document page.
//!
//! A page reads top to bottom: the index strip in the top margin, the page
//! number and side printed large beside a bold heading, a line of details,
//! then body text in justified paragraphs flowing around a photo, a ruled
//! table, sometimes a bar chart, and a footer. Sizes are in millimetres,
//! scaled a little for paper much smaller or larger than A4, and every
//! choice comes from the page's content generator, so the page is the same
//! each time it is requested.

use super::PageSpec;
use super::canvas::{Canvas, Rect, Rgb};
use super::photo;
use super::rng::Rng;
use super::strip::{self, IndexStrip};
use super::text::{Face, GlyphSet};
use super::words;
use std::sync::Arc;

/// Body text colour: printer black is never quite black.
const INK: Rgb = Rgb(28, 28, 32);
/// Heading colour, a dark navy.
const HEADING_INK: Rgb = Rgb(22, 34, 72);
/// Colour of the large page label.
const LABEL_INK: Rgb = Rgb(150, 32, 30);
/// Captions, details and the footer.
const GRAY_INK: Rgb = Rgb(72, 72, 78);
/// Table rules.
const RULE_INK: Rgb = Rgb(60, 60, 66);
/// The table's header row background.
const HEADER_FILL: Rgb = Rgb(226, 224, 216);
/// Bar colours of charts.
const BAR_COLOURS: [Rgb; 5] = [
    Rgb(46, 94, 160),
    Rgb(214, 120, 38),
    Rgb(72, 150, 84),
    Rgb(176, 56, 60),
    Rgb(120, 96, 168),
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Typography and spacing of one page, in pixels.
struct Styles {
    /// Millimetres to pixels, already multiplied by the page's scale.
    unit: f64,
    body: Arc<GlyphSet>,
    body_bold: Arc<GlyphSet>,
    small: Arc<GlyphSet>,
    heading: Arc<GlyphSet>,
    label: Arc<GlyphSet>,
    section: Arc<GlyphSet>,
    line_height: f64,
}

impl Styles {
    fn new(canvas: &Canvas, scale: f64) -> Styles {
        let unit = canvas.px(scale);
        Styles {
            unit,
            body: GlyphSet::get(Face::Regular, 3.6 * unit),
            body_bold: GlyphSet::get(Face::Bold, 3.4 * unit),
            small: GlyphSet::get(Face::Regular, 3.0 * unit),
            heading: GlyphSet::get(Face::Bold, 7.0 * unit),
            label: GlyphSet::get(Face::Bold, 10.0 * unit),
            section: GlyphSet::get(Face::Bold, 4.4 * unit),
            line_height: 4.8 * unit,
        }
    }

    /// `mm` millimetres of the page's (scaled) layout, in pixels.
    fn mm(&self, mm: f64) -> f64 {
        mm * self.unit
    }
}

/// An area text flows around, on the left or right of the column.
struct Float {
    area: Rect,
    on_right: bool,
}

/// Places lines of text down the page's column.
struct Flow {
    /// Baseline of the next line.
    baseline: f64,
    left: f64,
    right: f64,
    /// No text below this line.
    bottom: f64,
    floats: Vec<Float>,
}

impl Flow {
    /// The horizontal span free for a line whose box is `top..bottom`.
    fn span(&self, top: f64, bottom: f64, gap: f64) -> (f64, f64) {
        let (mut left, mut right) = (self.left, self.right);
        for f in &self.floats {
            if top < f.area.y1 && bottom > f.area.y0 {
                if f.on_right {
                    right = right.min(f.area.x0 - gap);
                } else {
                    left = left.max(f.area.x1 + gap);
                }
            }
        }
        (left, right)
    }

    /// Lowest edge of any float.
    fn floats_bottom(&self) -> f64 {
        self.floats.iter().map(|f| f.area.y1).fold(0.0, f64::max)
    }

    /// Moves below every float.
    fn clear_floats(&mut self, styles: &Styles) {
        let below = self.floats_bottom() + styles.body.ascent() + styles.mm(2.0);
        self.baseline = self.baseline.max(below);
    }

    /// Whether a block `height` tall still fits above the bottom.
    fn fits(&self, height: f64) -> bool {
        self.baseline + height <= self.bottom
    }

    /// Sets a justified paragraph. Returns false once the page is full.
    fn paragraph(&mut self, canvas: &mut Canvas, styles: &Styles, words: &[String]) -> bool {
        let set = &styles.body;
        let space = set.space_width();
        let widths: Vec<f64> = words.iter().map(|w| set.measure(w)).collect();
        let mut next = 0;
        while next < words.len() {
            if self.baseline + set.descent() > self.bottom {
                return false;
            }
            let (left, right) = self.span(
                self.baseline - set.ascent(),
                self.baseline + set.descent(),
                styles.mm(5.0),
            );
            let available = right - left;
            if available < styles.mm(20.0) {
                // Too narrow beside a float: skip the line.
                self.baseline += styles.line_height;
                continue;
            }
            let first = next;
            let mut used = widths[next];
            next += 1;
            while next < words.len() && used + space + widths[next] <= available {
                used += space + widths[next];
                next += 1;
            }
            let gaps = (next - first - 1) as f64;
            let last_line = next == words.len();
            let mut gap = space;
            if !last_line && gaps > 0.0 {
                let stretched = space + (available - used) / gaps;
                if stretched < space * 5.0 {
                    gap = stretched;
                }
            }
            let mut x = left;
            for i in first..next {
                set.draw(canvas, x, self.baseline, &words[i], INK);
                x += widths[i] + gap;
            }
            self.baseline += styles.line_height;
        }
        self.baseline += styles.mm(2.2);
        true
    }

    /// Sets a numbered section heading. Returns false if it does not fit
    /// together with a couple of lines after it.
    fn section(&mut self, canvas: &mut Canvas, styles: &Styles, text: &str) -> bool {
        let needed = styles.mm(3.0) + styles.line_height * 3.0;
        if !self.fits(needed) {
            return false;
        }
        self.baseline += styles.mm(3.0);
        let (left, _) = self.span(
            self.baseline - styles.section.ascent(),
            self.baseline + styles.section.descent(),
            styles.mm(5.0),
        );
        styles
            .section
            .draw(canvas, left, self.baseline, text, HEADING_INK);
        self.baseline += styles.line_height * 1.35;
        true
    }
}

/// `text` shortened word by word until it fits `width` pixels.
fn fitted(set: &GlyphSet, text: &str, width: f64) -> String {
    let mut words: Vec<&str> = text.split(' ').collect();
    while words.len() > 1 && set.measure(&words.join(" ")) > width {
        words.pop();
    }
    words.join(" ")
}

/// Draws the whole document. Returns the index strip's area, if one was
/// printed.
pub(crate) fn draw_document(canvas: &mut Canvas, spec: &PageSpec, rng: &mut Rng) -> Option<Rect> {
    if canvas.px_per_mm <= 0.0 || !(spec.width_mm > 0.0 && spec.height_mm > 0.0) {
        return None;
    }
    let scale = (spec.width_mm / 210.0)
        .min(spec.height_mm / 297.0)
        .clamp(0.45, 1.6);
    let styles = Styles::new(canvas, scale);
    let margin_mm = (spec.width_mm * 0.085).clamp(5.0, 20.0);
    let left = canvas.px(margin_mm);
    let right = canvas.px(spec.width_mm - margin_mm);
    let page_height = canvas.px(spec.height_mm);

    let strip_area = draw_index_strip(canvas, spec, &styles, left, right, margin_mm);

    // Header: heading on the left, "Page 3 · back" large on the right.
    let top = canvas.px((18.0 * scale).max(13.0));
    let label = format!("Page {} · {}", spec.number, spec.side.as_str());
    let label_width = styles.label.measure(&label);
    let label_baseline = top + styles.label.ascent() * 0.8;
    styles.label.draw(
        canvas,
        (right - label_width).max(left),
        label_baseline,
        &label,
        LABEL_INK,
    );
    let title = words::heading(rng);
    let beside = right - label_width - left - styles.mm(8.0);
    let mut y = label_baseline;
    if styles.heading.measure(&title) > beside {
        y += styles.heading.ascent() + styles.heading.descent() + styles.mm(1.0);
    }
    let title = fitted(&styles.heading, &title, right - left);
    styles.heading.draw(canvas, left, y, &title, HEADING_INK);
    y += styles.heading.descent() + styles.mm(5.0);
    let details = format!(
        "{} · Ref. {}{}-{:04} · {} {} {}",
        words::phrase(rng, 2, 4),
        char::from(b'A' + rng.range_u32(0, 25) as u8),
        char::from(b'A' + rng.range_u32(0, 25) as u8),
        rng.range_u32(0, 9999),
        rng.range_u32(1, 28),
        MONTHS[rng.index(MONTHS.len())],
        rng.range_u32(1998, 2025),
    );
    let details = fitted(&styles.small, &details, right - left);
    styles.small.draw(canvas, left, y, &details, GRAY_INK);
    y += styles.mm(3.0);
    canvas.hline(left, right, y, styles.mm(0.4), RULE_INK);

    // Footer.
    let footer_rule = page_height - canvas.px((14.0 * scale).max(8.0));
    let footer_baseline = footer_rule + styles.small.ascent() + styles.mm(1.5);
    if footer_rule > y + styles.mm(20.0) {
        canvas.hline(left, right, footer_rule, styles.mm(0.25), GRAY_INK);
        let note = fitted(
            &styles.small,
            "Streamscan virtual scanner · simulated document · not a real record",
            (right - left) * 0.75,
        );
        styles
            .small
            .draw(canvas, left, footer_baseline, &note, GRAY_INK);
        let folio = format!("{} / {}", spec.number, spec.side.as_str());
        let folio_width = styles.small.measure(&folio);
        styles.small.draw(
            canvas,
            right - folio_width,
            footer_baseline,
            &folio,
            GRAY_INK,
        );
    }

    let mut flow = Flow {
        baseline: y + styles.mm(6.0) + styles.body.ascent(),
        left,
        right,
        bottom: footer_rule - styles.mm(4.0),
        floats: Vec::new(),
    };
    body(canvas, &styles, &mut flow, rng);
    strip_area
}

/// Prints the index strip in the top margin if the page is wide and tall
/// enough, with a small human-readable note to its right.
fn draw_index_strip(
    canvas: &mut Canvas,
    spec: &PageSpec,
    styles: &Styles,
    left: f64,
    right: f64,
    margin_mm: f64,
) -> Option<Rect> {
    let room_mm = spec.width_mm - 2.0 * margin_mm;
    let module_mm = strip::MODULE_MM.min(room_mm / strip::MODULES as f64);
    if module_mm < strip::MIN_MODULE_MM || spec.height_mm < 60.0 {
        return None;
    }
    let index = IndexStrip {
        page: spec.number,
        side: spec.side,
        seed: spec.seed as u32,
    };
    let top = canvas.px(4.5);
    let height = canvas.px(strip::HEIGHT_MM);
    let area = strip::draw_strip(canvas, &index, left, top, canvas.px(module_mm), height);
    let note = format!(
        "SIM {:08X} · {} {}",
        index.seed,
        spec.number,
        if spec.side == super::Side::Back {
            "B"
        } else {
            "F"
        }
    );
    let note_width = styles.small.measure(&note);
    if right - note_width > area.x1 + canvas.px(6.0) {
        styles
            .small
            .draw(canvas, right - note_width, top + height, &note, GRAY_INK);
    }
    Some(area)
}

/// The body: sections of paragraphs, a photo, a table and maybe a chart.
fn body(canvas: &mut Canvas, styles: &Styles, flow: &mut Flow, rng: &mut Rng) {
    let column = flow.right - flow.left;
    let mut section = 1;
    let mut next_section = |rng: &mut Rng| {
        let text = format!("{section}. {}", words::phrase(rng, 2, 4));
        section += 1;
        text
    };

    if !flow.section(canvas, styles, &next_section(rng)) {
        return;
    }
    place_photo(canvas, styles, flow, rng, column);
    let mut paragraphs = 0;
    while paragraphs < 2 || flow.baseline < flow.floats_bottom() {
        if !flow.paragraph(canvas, styles, &words::paragraph(rng)) {
            return;
        }
        paragraphs += 1;
    }
    flow.clear_floats(styles);

    if !flow.section(canvas, styles, &next_section(rng)) {
        return;
    }
    if !flow.paragraph(canvas, styles, &words::paragraph(rng)) {
        return;
    }
    table(canvas, styles, flow, rng);
    if !flow.paragraph(canvas, styles, &words::paragraph(rng)) {
        return;
    }
    if rng.chance(0.65) {
        if !flow.section(canvas, styles, &next_section(rng)) {
            return;
        }
        chart(canvas, styles, flow, rng);
    }
    while flow.paragraph(canvas, styles, &words::paragraph(rng)) {
        if rng.chance(0.3) && !flow.section(canvas, styles, &next_section(rng)) {
            return;
        }
    }
}

/// Puts the photo with its caption at the top of the flow, on the right or
/// the left, for text to run beside it.
fn place_photo(canvas: &mut Canvas, styles: &Styles, flow: &mut Flow, rng: &mut Rng, column: f64) {
    let crop = rng.index(4);
    let width = (column * 0.42).min(styles.mm(85.0)).round();
    let height = (width / photo::aspect(crop)).round();
    let caption_gap = styles.mm(1.5);
    let caption_height = styles.small.ascent() + styles.small.descent();
    let top = (flow.baseline - styles.body.ascent()).round();
    if width < styles.mm(25.0) || top + height + caption_gap + caption_height > flow.bottom {
        return;
    }
    let on_right = rng.chance(0.7);
    let x = if on_right {
        flow.right - width
    } else {
        flow.left
    };
    let image = photo::scaled(crop, width as u32, height as u32);
    canvas.blit_rgb(x as i64, top as i64, image.width() as usize, image.as_raw());
    // A hairline frame, as printed photos in reports often have.
    let frame = Rect::new(x, top, width, height);
    let hair = styles.mm(0.2);
    canvas.hline(frame.x0, frame.x1, frame.y0, hair, RULE_INK);
    canvas.hline(frame.x0, frame.x1, frame.y1, hair, RULE_INK);
    canvas.vline(frame.x0, frame.y0, frame.y1, hair, RULE_INK);
    canvas.vline(frame.x1, frame.y0, frame.y1, hair, RULE_INK);
    let caption = format!("Figure 1. {}.", words::phrase(rng, 3, 7));
    let caption = fitted(&styles.small, &caption, width);
    let caption_baseline = frame.y1 + caption_gap + styles.small.ascent();
    styles
        .small
        .draw(canvas, x, caption_baseline, &caption, GRAY_INK);
    flow.floats.push(Float {
        area: Rect {
            x0: x,
            y0: top,
            x1: x + width,
            y1: caption_baseline + styles.small.descent() + styles.mm(2.0),
        },
        on_right,
    });
}

/// A ruled table of items, references, quantities and amounts.
fn table(canvas: &mut Canvas, styles: &Styles, flow: &mut Flow, rng: &mut Rng) {
    let rows = rng.range_u32(4, 7) as usize;
    let row_height = styles.mm(6.2);
    let caption_height = styles.line_height * 1.2;
    let total = caption_height + row_height * (rows + 1) as f64 + styles.mm(4.0);
    if !flow.fits(total) {
        return;
    }
    let (left, right) = (flow.left, flow.right);
    let caption = format!("Table 1. {}", words::phrase(rng, 2, 5));
    let caption = fitted(&styles.body_bold, &caption, right - left);
    styles
        .body_bold
        .draw(canvas, left, flow.baseline, &caption, INK);
    let top = flow.baseline + styles.mm(3.0);
    let width = right - left;
    // Column edges as fractions of the width; numbers are right-aligned.
    let edges = [0.0, 0.44, 0.64, 0.80, 1.0];
    let x_at = |i: usize| left + width * edges[i];
    let pad = styles.mm(2.0);
    let text_baseline =
        |row: usize| top + row_height * row as f64 + row_height * 0.5 + styles.body.ascent() * 0.38;
    canvas.fill_rect(Rect::new(left, top, width, row_height), HEADER_FILL);
    let headers = ["Item", "Reference", "Quantity", "Amount"];
    for (c, h) in headers.iter().enumerate() {
        let set = &styles.body_bold;
        let x = if c >= 2 {
            x_at(c + 1) - pad - set.measure(h)
        } else {
            x_at(c) + pad
        };
        set.draw(canvas, x, text_baseline(0), h, INK);
    }
    let mut sum = 0u64;
    for r in 1..=rows {
        let quantity = rng.range_u32(1, 250);
        let cents = u64::from(rng.range_u32(150, 99_999)) * u64::from(quantity) / 10;
        sum += cents;
        let cells = [
            words::phrase(rng, 1, 3),
            format!(
                "{}-{:05}",
                char::from(b'K' + rng.range_u32(0, 12) as u8),
                rng.range_u32(0, 99_999)
            ),
            quantity.to_string(),
            money(cents),
        ];
        for (c, cell) in cells.iter().enumerate() {
            let set = &styles.body;
            let limit = x_at(c + 1) - x_at(c) - 2.0 * pad;
            let cell = fitted(set, cell, limit);
            let x = if c >= 2 {
                x_at(c + 1) - pad - set.measure(&cell)
            } else {
                x_at(c) + pad
            };
            set.draw(canvas, x, text_baseline(r), &cell, INK);
        }
    }
    let bottom = top + row_height * (rows + 1) as f64;
    let thick = styles.mm(0.45);
    let thin = styles.mm(0.18);
    canvas.hline(left, right, top, thick, RULE_INK);
    canvas.hline(left, right, top + row_height, thin * 1.5, RULE_INK);
    for r in 2..=rows {
        canvas.hline(left, right, top + row_height * r as f64, thin, GRAY_INK);
    }
    canvas.hline(left, right, bottom, thick, RULE_INK);
    for i in 1..edges.len() - 1 {
        canvas.vline(x_at(i), top, bottom, thin, GRAY_INK);
    }
    let total_text = format!("Total {}", money(sum));
    let total_width = styles.body_bold.measure(&total_text);
    let total_baseline = bottom + styles.mm(1.5) + styles.body.ascent();
    styles.body_bold.draw(
        canvas,
        right - pad - total_width,
        total_baseline,
        &total_text,
        INK,
    );
    flow.baseline = total_baseline + styles.line_height + styles.mm(1.0);
}

/// Cents as "1,234.56".
fn money(cents: u64) -> String {
    let units = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{grouped}.{:02}", cents % 100)
}

/// A small bar chart with axis, values and labels.
fn chart(canvas: &mut Canvas, styles: &Styles, flow: &mut Flow, rng: &mut Rng) {
    let height = styles.mm(40.0);
    if !flow.fits(height + styles.line_height * 2.0) {
        return;
    }
    let bars = rng.range_u32(4, 7) as usize;
    let width = (flow.right - flow.left).min(styles.mm(120.0));
    let axis_x = flow.left + styles.mm(8.0);
    let plot_top = flow.baseline;
    let axis_y = plot_top + height - styles.line_height;
    let slot = (width - styles.mm(10.0)) / bars as f64;
    let values: Vec<u32> = (0..bars).map(|_| rng.range_u32(12, 100)).collect();
    let plot_height = axis_y - plot_top - styles.small.ascent() - styles.mm(1.0);
    for level in [25u32, 50, 75, 100] {
        let y = axis_y - plot_height * f64::from(level) / 100.0;
        canvas.hline(
            axis_x,
            axis_x + slot * bars as f64,
            y,
            styles.mm(0.12),
            Rgb(200, 198, 192),
        );
        let text = level.to_string();
        let w = styles.small.measure(&text);
        styles.small.draw(
            canvas,
            axis_x - w - styles.mm(1.5),
            y + styles.small.ascent() * 0.35,
            &text,
            GRAY_INK,
        );
    }
    for (i, &v) in values.iter().enumerate() {
        let bar_height = plot_height * f64::from(v) / 100.0;
        let x = axis_x + slot * i as f64 + slot * 0.2;
        let colour = BAR_COLOURS[i % BAR_COLOURS.len()];
        canvas.fill_rect(
            Rect::new(x, axis_y - bar_height, slot * 0.6, bar_height),
            colour,
        );
        let label = fitted(
            &styles.small,
            words::phrase(rng, 1, 1).as_str(),
            slot * 0.95,
        );
        let lw = styles.small.measure(&label);
        styles.small.draw(
            canvas,
            x + slot * 0.3 - lw / 2.0,
            axis_y + styles.mm(1.5) + styles.small.ascent(),
            &label,
            GRAY_INK,
        );
    }
    canvas.hline(
        axis_x,
        axis_x + slot * bars as f64,
        axis_y,
        styles.mm(0.3),
        RULE_INK,
    );
    canvas.vline(axis_x, plot_top, axis_y, styles.mm(0.3), RULE_INK);
    let caption = format!("Figure 2. {}.", words::phrase(rng, 3, 6));
    let caption = fitted(&styles.small, &caption, flow.right - flow.left);
    let caption_baseline = plot_top + height + styles.mm(2.0) + styles.small.ascent();
    styles
        .small
        .draw(canvas, flow.left, caption_baseline, &caption, GRAY_INK);
    flow.baseline = caption_baseline + styles.line_height + styles.mm(2.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(5), "0.05");
        assert_eq!(money(123_456_789), "1,234,567.89");
        assert_eq!(money(100_000), "1,000.00");
    }
}
