//! The live preview: the page being scanned grows band by band; when no
//! scan runs, the selected page re-rendered with the current filter.
//! Fit, 100 %, wheel zoom (at the pointer) and drag to pan.

use crate::app::StreamscanApp;
use egui::{Rect, Sense, Vec2, pos2, vec2};

/// Draws the preview.
pub fn preview_ui(ui: &mut egui::Ui, app: &mut StreamscanApp) {
    ui.horizontal(|ui| {
        ui.heading("Live preview");
        if ui
            .button("Fit")
            .on_hover_text("Fit the page in the view")
            .clicked()
        {
            app.view.zoom = None;
            app.view.pan = Vec2::ZERO;
        }
        if ui
            .button("100 %")
            .on_hover_text("One preview pixel per point")
            .clicked()
        {
            app.view.zoom = Some(1.0);
            app.view.pan = Vec2::ZERO;
        }
        if let Some(r) = app.rendered()
            && !app.is_scanning()
        {
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
    let scanning_live = app.is_scanning() && app.live_page().is_some();
    let selected = app
        .strip()
        .selected
        .and_then(|i| app.strip().pages().get(i));
    // The selected page is shown turned as the strip's edits turn it.
    let shown = if !scanning_live
        && let Some(r) = app.rendered()
        && let Some(page) = selected.filter(|p| p.key == r.key)
    {
        let size = r.texture.size();
        let turns = page.rotation.degrees() / 90;
        Some((r.texture.id(), [size[0], size[1]], 1.0, turns))
    } else {
        app.live_page()
            .map(|l| (l.texture().id(), l.size(), l.visible_fraction(), 0))
    };
    let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);
    let Some((texture, [w, h], fraction, turns)) = shown else {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "Press Scan (or Space) to scan a page",
            egui::FontId::proportional(18.0),
            ui.visuals().weak_text_color(),
        );
        return;
    };
    let unturned = vec2(w as f32, h as f32);
    // On screen a quarter-turned page is as wide as it was tall.
    let page = if turns % 2 == 1 {
        vec2(unturned.y, unturned.x)
    } else {
        unturned
    };
    let fit = (rect.width() / page.x)
        .min(rect.height() / page.y)
        .max(0.01);
    let mut zoom = app.view.zoom.unwrap_or(fit);
    if response.hovered() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            let new_zoom = (zoom * (scroll / 200.0).exp()).clamp(0.05, 16.0);
            // Keep the point under the pointer where it is.
            if let Some(pointer) = ui.input(|i| i.pointer.hover_pos()) {
                let centre = rect.center() + app.view.pan;
                let offset = pointer - centre;
                app.view.pan += offset - offset * (new_zoom / zoom);
            }
            zoom = new_zoom;
            app.view.zoom = Some(zoom);
        }
    }
    if response.dragged() {
        app.view.pan += response.drag_delta();
        if app.view.zoom.is_none() {
            app.view.zoom = Some(zoom);
        }
    }
    let centre = rect.center() + app.view.pan;
    let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, fraction.clamp(0.0, 1.0)));
    if turns == 0 {
        let image_rect = Rect::from_center_size(centre, page * zoom);
        painter.image(texture, image_rect, uv, egui::Color32::WHITE);
    } else {
        // Turned about its centre, the unturned rectangle covers the
        // turned page's place.
        let image_rect = Rect::from_center_size(centre, unturned * zoom);
        let angle = turns as f32 * std::f32::consts::FRAC_PI_2;
        let mut child = ui.new_child(egui::UiBuilder::new().max_rect(rect));
        child.set_clip_rect(rect);
        egui::Image::new(egui::load::SizedTexture::new(texture, unturned))
            .uv(uv)
            .rotate(angle, Vec2::splat(0.5))
            .paint_at(&child, image_rect);
    }
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "Page preview"));
}
