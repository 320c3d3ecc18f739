//! The widgets of the desktop app: they read the app's state through a
//! shared borrow (`&StreamscanApp`, its `&self` getters only) and push an
//! [`Action`] for everything the person asks for; the app applies those
//! after drawing ([`StreamscanApp::apply`]). Nothing here changes the app
//! or asks it to do anything but answer. A setting is edited on a copy,
//! which goes out as one action when it differs from the app's. The
//! widgets hold no state of their own beyond what egui keeps (scroll
//! positions, open combo boxes) and the screen rectangles of one frame's
//! drop targets. Textures are made by the app as pages, renderings and
//! tiles arrive; widgets only draw the handles it holds, and ask for the
//! tiles they lack with [`Action::WantTiles`].
//!
//! Layout: a toolbar on top (Scan, Preview, Cancel, Stop after this page, Save,
//! Undo/Redo, manual duplex); on the left the device list, scan settings,
//! filter settings and profiles; in the centre the live preview; at the
//! bottom the progress line and the page strip. Device conditions show as
//! a modeless warm-up box or a modal question. Every control has an
//! accessible label, so screen readers and the UI tests find it by name.

mod devices;
mod dialogs;
mod filter;
mod preview;
mod settings;
mod strip;

use crate::app::{Action, StreamscanApp};
use egui::{Key, KeyboardShortcut, Modifiers};

/// Ctrl+S: save the pages.
const SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
/// Ctrl+Shift+Z: redo.
const REDO: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z);
/// Ctrl+Z: undo.
const UNDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);

/// Draws the whole app from its state as the frame found it, and returns
/// what the person asked for, in the order it was asked; the caller
/// applies each with [`StreamscanApp::apply`].
pub fn app_ui(ui: &mut egui::Ui, app: &StreamscanApp) -> Vec<Action> {
    let mut actions = Vec::new();
    let out = &mut actions;
    let ctx = ui.ctx().clone();
    keyboard(&ctx, app, out);
    egui::Panel::top("toolbar").show(ui, |ui| toolbar_ui(ui, app, out));
    let mut targets = devices::DropTargets::default();
    egui::Panel::left("side")
        .default_size(320.0)
        .resizable(true)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                devices::devices_ui(ui, app, &mut targets, out);
                ui.separator();
                // The settings panels edit one copy; it goes out as one
                // action per part that changed.
                let mut scan = app.preferences().scan.clone();
                let mut destination = app.preferences().destination.clone();
                settings::scan_settings_ui(ui, app, &mut scan);
                settings::destination_ui(ui, app, &mut scan, &mut destination, out);
                ui.separator();
                filter::filter_ui(ui, &mut scan.filter);
                if scan != app.preferences().scan {
                    out.push(Action::SetScanSettings(scan));
                }
                if destination != app.preferences().destination {
                    out.push(Action::SetDestination(destination));
                }
                ui.separator();
                settings::profiles_ui(ui, app, out);
            });
        });
    egui::Panel::bottom("strip")
        .resizable(true)
        .default_size(170.0)
        .show(ui, |ui| {
            progress_ui(ui, app);
            ui.separator();
            strip::strip_ui(ui, app, out);
        });
    egui::CentralPanel::default().show(ui, |ui| preview::preview_ui(ui, app, out));
    dialogs::dialogs_ui(&ctx, app, out);
    devices::handle_dropped_files(&ctx, app, &targets, out);
    actions
}

fn keyboard(ctx: &egui::Context, app: &StreamscanApp, out: &mut Vec<Action>) {
    // Shortcuts with Ctrl work everywhere; bare keys only when no text
    // field takes the keyboard.
    if ctx.input_mut(|i| i.consume_shortcut(&SAVE)) {
        out.push(Action::SaveAs);
    }
    if ctx.input_mut(|i| i.consume_shortcut(&REDO)) {
        out.push(Action::Redo);
    }
    if ctx.input_mut(|i| i.consume_shortcut(&UNDO)) {
        out.push(Action::Undo);
    }
    if ctx.input(|i| i.key_pressed(Key::Escape)) {
        out.push(Action::Cancel);
    }
    // Space belongs to a focused control (it presses buttons) when there
    // is one.
    let focused = ctx.memory(|m| m.focused().is_some());
    if !ctx.egui_wants_keyboard_input()
        && !focused
        && app.question().is_none()
        && ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Space))
    {
        out.push(Action::StartScan);
    }
}

fn toolbar_ui(ui: &mut egui::Ui, app: &StreamscanApp, out: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        let scanning = app.is_scanning();
        if ui
            .add_enabled(!scanning, egui::Button::new("Scan"))
            .on_hover_text("Scan with the settings on the left (Space)")
            .clicked()
        {
            out.push(Action::StartScan);
        }
        let flatbed = app.preferences().scan.source == crate::transfer::Source::Flatbed;
        if ui
            .add_enabled(!scanning && flatbed, egui::Button::new("Preview"))
            .on_hover_text("A quick low-resolution scan of the flatbed, to choose the area to scan")
            .clicked()
        {
            out.push(Action::StartPreview);
        }
        if ui
            .add_enabled(scanning, egui::Button::new("Cancel"))
            .on_hover_text("Stop now; completed pages are kept (Esc)")
            .clicked()
        {
            out.push(Action::Cancel);
        }
        let feeder = app
            .scan_job()
            .is_some_and(|s| s.settings.source != crate::transfer::Source::Flatbed);
        let stop_asked = app.scan_job().is_some_and(|s| s.stop_requested);
        if ui
            .add_enabled(
                scanning && feeder && !stop_asked,
                egui::Button::new("Stop after this page"),
            )
            .clicked()
        {
            out.push(Action::StopAfterPage);
        }
        ui.separator();
        let has_pages = !app.strip().export_pages().is_empty();
        if ui
            .add_enabled(has_pages && !scanning, egui::Button::new("Save…"))
            .on_hover_text("Save the pages as PDF, TIFF or a file per page (Ctrl+S)")
            .clicked()
        {
            out.push(Action::SaveAs);
        }
        if ui
            .add_enabled(app.strip().can_undo(), egui::Button::new("Undo"))
            .on_hover_text("Ctrl+Z")
            .clicked()
        {
            out.push(Action::Undo);
        }
        if ui
            .add_enabled(app.strip().can_redo(), egui::Button::new("Redo"))
            .on_hover_text("Ctrl+Shift+Z")
            .clicked()
        {
            out.push(Action::Redo);
        }
        ui.separator();
        if ui
            .add_enabled(
                app.finished_scans().len() >= 2 && !scanning,
                egui::Button::new("Interleave fronts and backs"),
            )
            .on_hover_text(
                "Manual duplex: scan the fronts, turn the stack over, scan the backs, then interleave",
            )
            .clicked()
        {
            out.push(Action::InterleaveLastTwo);
        }
    });
}

fn progress_ui(ui: &mut egui::Ui, app: &StreamscanApp) {
    ui.horizontal(|ui| {
        ui.heading("Progress");
        match app
            .scan_job()
            .and_then(|s| s.progress.map(|p| (s.clone(), p)))
        {
            Some((scan, p)) if p.page > 0 => {
                let total = p
                    .pages_total
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| String::from("?"));
                let fraction = (p.percent.max(0) as f32 / 100.0).clamp(0.0, 1.0);
                ui.label(format!(
                    "Page {} of {total}, {} side",
                    p.page,
                    p.side.as_str()
                ));
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(160.0)
                        .text(format!("{}%", p.percent.max(0))),
                );
                if p.pages_per_minute > 0.0 {
                    ui.label(format!("{:.1} pages/min", p.pages_per_minute));
                }
                ui.label(format!("{} done", scan.pages_done));
            }
            _ => {}
        }
        ui.label(app.status().to_string());
    });
}
