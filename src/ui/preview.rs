//! The preview area: the page being scanned grows band by band; when no
//! scan runs, the selected page re-rendered with the current filter, or
//! the flatbed preview with the scan area on it.
//!
//! Fit, 100 % (one page pixel per screen pixel), wheel zoom at the pointer
//! and drag to pan. A page is drawn as its downscaled texture; zoomed in
//! beyond that texture's resolution, the visible part is covered with
//! full-resolution tiles the engine cuts for it (see [`crate::app::tiles`]),
//! so no texture is ever larger than the preview's. On the flatbed preview
//! a primary drag draws the scan area (or moves it from inside, or resizes
//! it from a corner), and the secondary or middle button pans.

use crate::app::tiles::{TILE_PIXELS, TileKey, factor_for};
use crate::app::{Action, AreaDrag, PreviewView, StreamscanApp};
use crate::filter::PageKey;
use crate::filter::pipeline::needs_whole_page;
use crate::transfer::ScanArea;
use egui::{Color32, PointerButton, Pos2, Rect, Sense, Shape, Stroke, Vec2, pos2, vec2};

/// Screen points around a corner of the scan area that grab it.
const CORNER_GRAB: f32 = 10.0;

/// What the preview area draws.
struct Shown {
    texture: egui::TextureId,
    /// Size of the page in texture pixels (unturned; rows so far when the
    /// height is unknown).
    size: Vec2,
    /// Part of the texture's height that holds the page.
    fraction: f32,
    /// Quarter turns clockwise (page strip edits).
    turns: u32,
    /// Page pixels per texture pixel.
    scale: u32,
    key: PageKey,
    /// Full-resolution tiles apply (not on the flatbed preview).
    tiles: bool,
    /// Page rows so far while the page is being scanned.
    rows_now: Option<u32>,
    /// The glass in millimetres, on the flatbed preview.
    glass_mm: Option<(f64, f64)>,
}

/// Maps texture pixels of the shown page to screen points and back.
#[derive(Debug, Clone, Copy)]
struct Placement {
    centre: Pos2,
    /// Screen points per texture pixel.
    zoom: f32,
    turns: u32,
    size: Vec2,
}

/// `v` turned clockwise on screen (y down) by `turns` quarter turns.
fn turn(v: Vec2, turns: u32) -> Vec2 {
    (0..turns % 4).fold(v, |v, _| vec2(-v.y, v.x))
}

impl Placement {
    fn screen_of(&self, p: Vec2) -> Pos2 {
        self.centre + turn((p - self.size / 2.0) * self.zoom, self.turns)
    }

    fn texture_of(&self, s: Pos2) -> Vec2 {
        turn(s - self.centre, 4 - self.turns % 4) / self.zoom + self.size / 2.0
    }

    /// The rectangle of texture pixels that covers `screen` (clipped to
    /// the page).
    fn visible(&self, screen: Rect) -> Rect {
        let corners = [
            screen.left_top(),
            screen.right_top(),
            screen.right_bottom(),
            screen.left_bottom(),
        ]
        .map(|c| self.texture_of(c).to_pos2());
        Rect::from_points(&corners).intersect(Rect::from_min_size(Pos2::ZERO, self.size))
    }
}

/// Paints `texture` over `area` (texture pixels of the page) with `uv`.
fn paint_quad(
    painter: &egui::Painter,
    texture: egui::TextureId,
    place: &Placement,
    area: Rect,
    uv: Rect,
) {
    let mut mesh = egui::Mesh::with_texture(texture);
    let corners = [
        (area.left_top(), uv.left_top()),
        (area.right_top(), uv.right_top()),
        (area.right_bottom(), uv.right_bottom()),
        (area.left_bottom(), uv.left_bottom()),
    ];
    for (p, t) in corners {
        mesh.vertices.push(egui::epaint::Vertex {
            pos: place.screen_of(p.to_vec2()),
            uv: t,
            color: Color32::WHITE,
        });
    }
    mesh.indices.extend_from_slice(&[0, 1, 2, 0, 2, 3]);
    painter.add(Shape::mesh(mesh));
}

fn shown(app: &StreamscanApp) -> Option<Shown> {
    // The live texture shows the point operations only: tiles of a filter
    // that changes the page as a whole would not line up with it.
    let filter = app
        .scan_job()
        .map(|s| s.settings.filter)
        .unwrap_or(app.preferences().scan.filter);
    let point_only = !needs_whole_page(&filter, crate::transfer::Side::Front)
        && !needs_whole_page(&filter, crate::transfer::Side::Back);
    let live = |l: &crate::app::LivePage, rows_now: Option<u32>| {
        let [w, h] = l.size();
        Shown {
            texture: l.texture().id(),
            size: vec2(w as f32, h as f32),
            fraction: l.visible_fraction(),
            turns: 0,
            scale: l.scale,
            key: l.key,
            tiles: point_only,
            rows_now,
            glass_mm: None,
        }
    };
    if app.is_scanning()
        && let Some(l) = app.live_page()
    {
        let preview = app.scan_job().is_some_and(|s| s.preview);
        let shown = live(l, Some(l.page_rows()));
        return Some(Shown {
            tiles: shown.tiles && !preview,
            ..shown
        });
    }
    if app.showing_flatbed()
        && let Some(f) = app.flatbed_preview()
    {
        let base = live(&f.live, None);
        let shown = match &f.rendered {
            Some(r) => {
                let size = r.texture.size();
                Shown {
                    texture: r.texture.id(),
                    size: vec2(size[0] as f32, size[1] as f32),
                    fraction: 1.0,
                    ..base
                }
            }
            None => base,
        };
        return Some(Shown {
            tiles: false,
            glass_mm: Some(f.size_mm),
            ..shown
        });
    }
    let selected = app
        .strip()
        .selected
        .and_then(|i| app.strip().pages().get(i));
    if let Some(r) = app.rendered()
        && let Some(page) = selected.filter(|p| p.key == r.key)
    {
        let size = r.texture.size();
        return Some(Shown {
            texture: r.texture.id(),
            size: vec2(size[0] as f32, size[1] as f32),
            fraction: 1.0,
            turns: page.rotation.degrees() / 90,
            scale: r.scale,
            key: r.key,
            tiles: true,
            rows_now: None,
            glass_mm: None,
        });
    }
    app.live_page().map(|l| live(l, None))
}

/// The buttons above the preview; Fit and 100 % change `view`.
fn header_ui(
    ui: &mut egui::Ui,
    app: &StreamscanApp,
    view: &mut PreviewView,
    out: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        ui.heading("Live preview");
        if ui
            .button("Fit")
            .on_hover_text("Fit the page in the view")
            .clicked()
        {
            view.zoom = None;
            view.pan = Vec2::ZERO;
        }
        if ui
            .button("100 %")
            .on_hover_text("One scanned pixel per screen pixel")
            .clicked()
        {
            view.zoom = Some(1.0 / ui.ctx().pixels_per_point());
            view.pan = Vec2::ZERO;
        }
        if app.is_scanning() {
            return;
        }
        if app.showing_flatbed() {
            ui.weak(super::settings::area_text(app.scan_area()));
            if ui
                .add_enabled(app.scan_area().is_some(), egui::Button::new("Whole page"))
                .on_hover_text("Scan the whole page again")
                .clicked()
            {
                out.push(Action::SetScanArea(None));
            }
            return;
        }
        if app.flatbed_preview().is_some()
            && ui
                .button("Show flatbed preview")
                .on_hover_text("Back to the preview, to choose the scan area")
                .clicked()
        {
            out.push(Action::ShowFlatbed);
        }
        if let Some(r) = app.rendered() {
            let mut text = format!(
                "Page {} of job {} with the current filter",
                r.key.page, r.key.job
            );
            if r.blank {
                text.push_str(" — looks blank");
            }
            ui.weak(text);
        }
    });
}

/// Draws the preview; zoom and pan go out as one [`Action::SetView`] when
/// they changed.
pub fn preview_ui(ui: &mut egui::Ui, app: &StreamscanApp, out: &mut Vec<Action>) {
    let mut view = app.view();
    header_ui(ui, app, &mut view, out);
    view_ui(ui, app, &mut view, out);
    if view != app.view() {
        out.push(Action::SetView(view));
    }
}

/// The page itself (or the hint when there is none), zoomed and panned
/// by `view`, which wheel and drag change.
fn view_ui(ui: &mut egui::Ui, app: &StreamscanApp, view: &mut PreviewView, out: &mut Vec<Action>) {
    let shown = shown(app);
    let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);
    let Some(shown) = shown else {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "Press Scan (or Space) to scan a page, or Preview to see the flatbed",
            egui::FontId::proportional(18.0),
            ui.visuals().weak_text_color(),
        );
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "Page preview"));
        return;
    };
    let scale = shown.scale.max(1) as f32;
    // On screen a quarter-turned page is as wide as it was tall.
    let turned = turn(shown.size, shown.turns).abs();
    let fit = (rect.width() / turned.x)
        .min(rect.height() / turned.y)
        .max(0.001)
        / scale;
    // Zoom in screen points per page pixel.
    let mut zoom = view.zoom.unwrap_or(fit);
    if response.hovered() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            let new_zoom = (zoom * (scroll / 200.0).exp()).clamp(0.002, 16.0);
            // Keep the point under the pointer where it is.
            if let Some(pointer) = ui.input(|i| i.pointer.hover_pos()) {
                let centre = rect.center() + view.pan;
                let offset = pointer - centre;
                view.pan += offset - offset * (new_zoom / zoom);
            }
            zoom = new_zoom;
            view.zoom = Some(zoom);
        }
    }
    let flatbed = shown.glass_mm.filter(|_| !app.is_scanning());
    let panning = if flatbed.is_some() {
        response.dragged_by(PointerButton::Secondary) || response.dragged_by(PointerButton::Middle)
    } else {
        response.dragged()
    };
    if panning {
        view.pan += response.drag_delta();
        if view.zoom.is_none() {
            view.zoom = Some(zoom);
        }
    }
    let place = Placement {
        centre: rect.center() + view.pan,
        zoom: zoom * scale,
        turns: shown.turns,
        size: shown.size,
    };
    let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, shown.fraction.clamp(0.0, 1.0)));
    paint_quad(
        &painter,
        shown.texture,
        &place,
        Rect::from_min_size(Pos2::ZERO, shown.size),
        uv,
    );
    if shown.tiles {
        tiles_ui(ui, app, &painter, &place, &shown, rect, out);
    }
    if let Some(glass) = flatbed {
        area_ui(ui, app, &painter, &place, &response, glass, out);
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Image,
                true,
                "Flatbed preview: drag to choose the scan area",
            )
        });
    } else {
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "Page preview"));
    }
}

/// Covers the visible part of a page zoomed in beyond its texture with
/// full-resolution tiles.
fn tiles_ui(
    ui: &egui::Ui,
    app: &StreamscanApp,
    painter: &egui::Painter,
    place: &Placement,
    shown: &Shown,
    rect: Rect,
    out: &mut Vec<Action>,
) {
    let scale = shown.scale.max(1);
    // Physical pixels per texture pixel: above 1 the texture is magnified.
    let physical = place.zoom * ui.ctx().pixels_per_point();
    if scale == 1 || physical <= 1.0 {
        return;
    }
    let factor = factor_for(scale as f32 / physical);
    if factor >= scale {
        return;
    }
    let visible = place.visible(rect);
    if visible.width() <= 0.0 || visible.height() <= 0.0 {
        return;
    }
    let side = (TILE_PIXELS * factor) as f32;
    let to_page = |v: f32| v * scale as f32;
    let mut bottom = to_page(visible.max.y);
    if let Some(rows) = shown.rows_now {
        bottom = bottom.min(rows as f32);
    }
    if bottom <= 0.0 {
        return;
    }
    let columns =
        (to_page(visible.min.x) / side) as u32..=((to_page(visible.max.x) - 1.0) / side) as u32;
    let rows = (to_page(visible.min.y) / side) as u32..=((bottom - 1.0).max(0.0) / side) as u32;
    let mut places = Vec::new();
    for row in rows {
        for column in columns.clone() {
            places.push(TileKey {
                page: shown.key,
                factor,
                column,
                row,
            });
        }
    }
    if places.len() > crate::app::tiles::MAX_TILES / 2 {
        // A window far larger than tiles are meant for: the texture will do.
        return;
    }
    let full = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
    for tile in app.tiles().drawable(&places) {
        let s = tile.spec;
        let area = Rect::from_min_size(
            pos2(s.x as f32, s.y as f32) / scale as f32,
            vec2(s.width as f32, s.height as f32) / scale as f32,
        );
        paint_quad(painter, tile.texture, place, area, full);
    }
    // The app counts these as drawn and asks the engine for the rest.
    out.push(Action::WantTiles {
        places,
        rows_now: shown.rows_now,
    });
}

/// Draws the scan area on the flatbed preview and lets a drag edit it.
fn area_ui(
    ui: &egui::Ui,
    app: &StreamscanApp,
    painter: &egui::Painter,
    place: &Placement,
    response: &egui::Response,
    glass: (f64, f64),
    out: &mut Vec<Action>,
) {
    let per_mm = vec2(
        place.size.x / glass.0.max(1.0) as f32,
        place.size.y / glass.1.max(1.0) as f32,
    );
    let to_mm = |s: Pos2| {
        let t = place.texture_of(s);
        (
            f64::from(t.x / per_mm.x).clamp(0.0, glass.0),
            f64::from(t.y / per_mm.y).clamp(0.0, glass.1),
        )
    };
    let to_screen =
        |x: f64, y: f64| place.screen_of(vec2(x as f32 * per_mm.x, y as f32 * per_mm.y));
    let image = Rect::from_two_pos(to_screen(0.0, 0.0), to_screen(glass.0, glass.1));
    let area_rect = |a: ScanArea| {
        Rect::from_two_pos(
            to_screen(a.x_mm, a.y_mm),
            to_screen(a.x_mm + a.width_mm, a.y_mm + a.height_mm),
        )
    };
    let between = |a: (f64, f64), b: (f64, f64)| ScanArea {
        x_mm: a.0.min(b.0),
        y_mm: a.1.min(b.1),
        width_mm: (a.0 - b.0).abs(),
        height_mm: (a.1 - b.1).abs(),
    };
    // A drag is recognised after the pointer moved a little: it began
    // where the button went down.
    let mut drag = app.area_drag();
    if response.drag_started_by(PointerButton::Primary)
        && let Some(pointer) = ui
            .input(|i| i.pointer.press_origin())
            .or(response.interact_pointer_pos())
    {
        let at = to_mm(pointer);
        drag = Some(match app.scan_area() {
            Some(a) => {
                let r = area_rect(a);
                let corners = [
                    (r.left_top(), (a.x_mm + a.width_mm, a.y_mm + a.height_mm)),
                    (r.right_top(), (a.x_mm, a.y_mm + a.height_mm)),
                    (r.right_bottom(), (a.x_mm, a.y_mm)),
                    (r.left_bottom(), (a.x_mm + a.width_mm, a.y_mm)),
                ];
                match corners
                    .iter()
                    .find(|(c, _)| c.distance(pointer) <= CORNER_GRAB)
                {
                    Some((_, fixed)) => AreaDrag::Resize { fixed: *fixed },
                    None if r.contains(pointer) => AreaDrag::Move { start: a, from: at },
                    None => AreaDrag::New { anchor: at },
                }
            }
            None => AreaDrag::New { anchor: at },
        });
        out.push(Action::SetAreaDrag(drag));
    }
    if response.dragged_by(PointerButton::Primary)
        && let (Some(drag), Some(pointer)) = (drag, response.interact_pointer_pos())
    {
        let at = to_mm(pointer);
        let area = match drag {
            AreaDrag::New { anchor } => between(anchor, at),
            AreaDrag::Resize { fixed } => between(fixed, at),
            AreaDrag::Move { start, from } => ScanArea {
                x_mm: (start.x_mm + at.0 - from.0).clamp(0.0, glass.0 - start.width_mm),
                y_mm: (start.y_mm + at.1 - from.1).clamp(0.0, glass.1 - start.height_mm),
                ..start
            },
        };
        out.push(Action::SetScanArea(Some(area)));
    }
    if response.drag_stopped() {
        out.push(Action::SetAreaDrag(None));
    }
    if response.hovered() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::Crosshair);
    }
    let Some(area) = app.scan_area() else {
        return;
    };
    let r = area_rect(area);
    // Dim what will not be scanned.
    let shade = Color32::from_black_alpha(120);
    for part in [
        Rect::from_min_max(image.min, pos2(image.max.x, r.min.y)),
        Rect::from_min_max(pos2(image.min.x, r.max.y), image.max),
        Rect::from_min_max(pos2(image.min.x, r.min.y), pos2(r.min.x, r.max.y)),
        Rect::from_min_max(pos2(r.max.x, r.min.y), pos2(image.max.x, r.max.y)),
    ] {
        if part.is_positive() {
            painter.rect_filled(part, 0.0, shade);
        }
    }
    let stroke = Stroke::new(2.0, ui.visuals().selection.stroke.color);
    painter.rect_stroke(r, 0.0, stroke, egui::StrokeKind::Middle);
    for corner in [
        r.left_top(),
        r.right_top(),
        r.right_bottom(),
        r.left_bottom(),
    ] {
        painter.rect_filled(
            Rect::from_center_size(corner, Vec2::splat(7.0)),
            1.0,
            stroke.color,
        );
    }
    painter.text(
        r.left_top() + vec2(4.0, 4.0),
        egui::Align2::LEFT_TOP,
        format!("{:.0} × {:.0} mm", area.width_mm, area.height_mm),
        egui::FontId::proportional(13.0),
        Color32::WHITE,
    );
}
