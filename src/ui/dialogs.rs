//! Device-status dialogs and notices: a modeless box while the scanner
//! warms up or calibrates, a modal question for paper jams, an open cover,
//! a double feed or an empty feeder (Retry / Stop), and the notice at the
//! end of a job (errors, "N pages came" with Scan more).

use crate::app::{Action, StreamscanApp};
use crate::transfer::{StatusAnswer, StatusCode};

/// What to tell a person about a device condition: the title and what to
/// do about it.
pub fn advice(code: StatusCode) -> (&'static str, &'static str) {
    match code {
        StatusCode::PAPER_JAM => (
            "Paper jam",
            "Open the feeder, remove the jammed sheet, put it back on the stack, close the feeder and choose Retry.",
        ),
        StatusCode::COVER_OPEN => (
            "The cover is open",
            "Close the scanner's cover and choose Retry; the interrupted page is scanned again.",
        ),
        StatusCode::MULTI_FEED => (
            "Two sheets were fed at once",
            "Take the sheets out of the output tray, put them back on the stack and choose Retry.",
        ),
        StatusCode::PAPER_EMPTY => (
            "The feeder is empty",
            "Load paper into the feeder and choose Retry.",
        ),
        StatusCode::BUSY => (
            "The scanner is busy",
            "Wait until it is free and choose Retry.",
        ),
        _ => (
            "The scanner needs attention",
            "Fix the problem and choose Retry, or Stop.",
        ),
    }
}

/// Draws the open dialogs.
pub fn dialogs_ui(ctx: &egui::Context, app: &StreamscanApp, out: &mut Vec<Action>) {
    if let Some(warming) = app.warming() {
        let title = if warming.code == StatusCode::CALIBRATING {
            "Calibrating"
        } else {
            "Warming up"
        };
        let mut cancel = false;
        egui::Window::new(title)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 60.0])
            .show(ctx, |ui| {
                ui.label(format!("The scanner is {}…", title.to_lowercase()));
                match warming.percent {
                    Some(p) => {
                        ui.add(egui::ProgressBar::new(f32::from(p) / 100.0).text(format!("{p}%")))
                    }
                    None => ui.spinner(),
                };
                if ui.button("Cancel").clicked() {
                    cancel = true;
                }
            });
        if cancel {
            out.push(Action::Cancel);
        }
    }
    if let Some(question) = app.question() {
        let (title, todo) = advice(question.status.code);
        let mut answer = None;
        egui::Modal::new(egui::Id::unique("device-question")).show(ctx, |ui| {
            ui.set_max_width(420.0);
            ui.heading(title);
            let page = if question.status.page > 0 {
                format!(" while scanning page {}", question.status.page)
            } else {
                String::new()
            };
            ui.label(format!(
                "The scanner reported that {}{page}.",
                question.status.code.description()
            ));
            ui.label(todo);
            ui.horizontal(|ui| {
                if ui.button("Retry").clicked() {
                    answer = Some(StatusAnswer::Handled);
                }
                if ui
                    .button("Stop")
                    .on_hover_text("End the scan; completed pages are kept")
                    .clicked()
                {
                    answer = Some(StatusAnswer::Cancel);
                }
            });
        });
        if let Some(answer) = answer {
            out.push(Action::Answer(answer));
        }
    }
    if !app.leftovers().is_empty() && !app.is_scanning() {
        let pages: usize = app.leftovers().iter().map(|l| l.pages.len()).sum();
        let folder = app.preferences().destination.folder.display().to_string();
        let mut recover = false;
        let mut discard = false;
        egui::Window::new("Recover pages")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, -80.0])
            .show(ctx, |ui| {
                ui.set_max_width(420.0);
                ui.label(format!(
                    "The last session ended before {pages} scanned page(s) were saved. Recover them as PNG files into {folder}?"
                ));
                ui.horizontal(|ui| {
                    recover = ui.button("Recover").clicked();
                    discard = ui.button("Discard").clicked();
                });
            });
        if recover {
            out.push(Action::RecoverLeftovers);
        } else if discard {
            out.push(Action::DiscardLeftovers);
        }
    }
    if let Some(notice) = app.notice() {
        let mut close = false;
        let mut more = false;
        egui::Window::new(notice.title)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                ui.set_max_width(420.0);
                if notice.error {
                    ui.colored_label(ui.visuals().error_fg_color, &notice.text);
                } else {
                    ui.label(&notice.text);
                }
                ui.horizontal(|ui| {
                    if notice.scan_more && ui.button("Scan more").clicked() {
                        more = true;
                    }
                    if ui.button("OK").clicked() {
                        close = true;
                    }
                });
            });
        if close || more {
            out.push(Action::DismissNotice);
        }
        if more {
            out.push(Action::ScanMore);
        }
    }
}
