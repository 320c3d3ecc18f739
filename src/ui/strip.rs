//! The page strip: a thumbnail per page with its state; click to select,
//! drag onto another page to reorder, buttons to move, rotate and delete
//! (all undoable).

use crate::app::{Action, PageState, StreamscanApp};
use egui::{Color32, RichText, Sense, Vec2};

fn state_color(ui: &egui::Ui, state: PageState) -> Color32 {
    match state {
        PageState::Done => ui.visuals().text_color(),
        PageState::Scanning => ui.visuals().selection.stroke.color,
        PageState::Queued | PageState::Skipped => ui.visuals().weak_text_color(),
        PageState::BlankFlagged => ui.visuals().warn_fg_color,
        PageState::Failed => ui.visuals().error_fg_color,
    }
}

/// Draws the page strip.
pub fn strip_ui(ui: &mut egui::Ui, app: &StreamscanApp, out: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.heading("Pages");
        let count = app.strip().pages().len();
        ui.weak(format!("{count} in this session"));
    });
    let mut action = None;
    let selected = app.strip().selected;
    let live = app
        .live_page()
        .map(|l| (l.key, l.texture().id(), l.size(), l.visible_fraction()));
    egui::ScrollArea::horizontal().show(ui, |ui| {
        ui.horizontal(|ui| {
            for (i, page) in app.strip().pages().iter().enumerate() {
                let id = ui
                    .scope_id()
                    .with(("strip-page", page.key.job, page.key.page));
                let drop = ui
                    .dnd_drop_zone::<usize, _>(egui::Frame::new(), |ui| {
                        let frame = egui::Frame::group(ui.style()).stroke(if selected == Some(i) {
                            egui::Stroke::new(2.0, ui.visuals().selection.stroke.color)
                        } else {
                            ui.visuals().widgets.noninteractive.bg_stroke
                        });
                        frame.show(ui, |ui| {
                            ui.vertical(|ui| {
                                ui.dnd_drag_source(id, i, |ui| {
                                    let size = Vec2::new(72.0, 96.0);
                                    match &page.thumbnail {
                                        Some(t) => {
                                            let aspect = t.aspect_ratio().max(0.1);
                                            let h = size.y.min(size.x / aspect);
                                            let image = egui::Image::new((
                                                t.id(),
                                                Vec2::new(h * aspect, h),
                                            ))
                                            .rotate(
                                                page.rotation.degrees() as f32
                                                    * std::f32::consts::PI
                                                    / 180.0,
                                                Vec2::splat(0.5),
                                            );
                                            ui.add_sized(size, image);
                                        }
                                        None => {
                                            let (rect, _) =
                                                ui.allocate_exact_size(size, Sense::hover());
                                            ui.painter().rect_filled(
                                                rect,
                                                2.0,
                                                ui.visuals().faint_bg_color,
                                            );
                                            // The page being scanned shows
                                            // the live texture as it grows.
                                            if let Some(live) = live
                                                .filter(|l| l.0 == page.key)
                                                .filter(|_| page.state == PageState::Scanning)
                                            {
                                                let [w, h] = live.2;
                                                let aspect = (w as f32 / h.max(1) as f32).max(0.1);
                                                let th = size.y.min(size.x / aspect);
                                                let shown = egui::Rect::from_center_size(
                                                    rect.center(),
                                                    Vec2::new(th * aspect, th),
                                                );
                                                ui.painter().image(
                                                    live.1,
                                                    shown,
                                                    egui::Rect::from_min_max(
                                                        egui::pos2(0.0, 0.0),
                                                        egui::pos2(1.0, live.3),
                                                    ),
                                                    Color32::WHITE,
                                                );
                                            }
                                        }
                                    }
                                });
                                let label = format!("Page {}", i + 1);
                                if ui
                                    .selectable_label(selected == Some(i), &label)
                                    .on_hover_text(format!(
                                        "Job {} page {}, {} side",
                                        page.key.job,
                                        page.key.page,
                                        page.side.as_str()
                                    ))
                                    .clicked()
                                {
                                    action = Some(Action::SelectPage(i));
                                }
                                ui.label(
                                    RichText::new(page.state.label())
                                        .color(state_color(ui, page.state))
                                        .small(),
                                );
                                ui.horizontal(|ui| {
                                    if ui
                                        .small_button("Rotate")
                                        .on_hover_text("Rotate clockwise")
                                        .widget_info_label(&format!("Rotate page {}", i + 1))
                                        .clicked()
                                    {
                                        action = Some(Action::RotatePage(i));
                                    }
                                    if ui
                                        .small_button("<")
                                        .on_hover_text("Move left")
                                        .widget_info_label(&format!("Move page {} left", i + 1))
                                        .clicked()
                                        && i > 0
                                    {
                                        action = Some(Action::MovePage { from: i, to: i - 1 });
                                    }
                                    if ui
                                        .small_button(">")
                                        .on_hover_text("Move right")
                                        .widget_info_label(&format!("Move page {} right", i + 1))
                                        .clicked()
                                    {
                                        action = Some(Action::MovePage { from: i, to: i + 1 });
                                    }
                                    if ui
                                        .small_button("Delete")
                                        .on_hover_text("Delete from the strip (the file stays)")
                                        .widget_info_label(&format!("Delete page {}", i + 1))
                                        .clicked()
                                    {
                                        action = Some(Action::DeletePage(i));
                                    }
                                });
                            });
                        });
                    })
                    .1;
                if let Some(from) = drop {
                    action = Some(Action::MovePage { from: *from, to: i });
                }
            }
        });
    });
    // One edit per frame: the indices of a second would be off.
    out.extend(action);
}

/// Gives a widget an accessible name other than its visible text.
trait WidgetInfoLabel {
    fn widget_info_label(self, label: &str) -> Self;
}

impl WidgetInfoLabel for egui::Response {
    fn widget_info_label(self, label: &str) -> Self {
        let label = label.to_string();
        self.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
        self
    }
}
