//! The Devices list: kind, name and state of every device, Refresh, the
//! selected device's items (sources and stored files, each file with a
//! Download button), and the drop targets for uploads.

use crate::app::{Action, Presence, StreamscanApp};
use crate::transfer::{Item, ItemFlags};
use egui::{Rect, RichText, Stroke};

/// Where files dropped on the window go: the screen rectangles the device
/// list took in this frame (layout, so it lives in the UI for one frame).
#[derive(Debug, Default)]
pub(super) struct DropTargets {
    /// The row of each device, by index in the list.
    devices: Vec<Rect>,
    /// The selected device's storage folder.
    storage: Option<Rect>,
}

/// The kind label a back end gave, capitalised for the list.
fn kind_label(kind: &str) -> String {
    match kind {
        "usb" => String::from("USB"),
        "sane" => String::from("SANE"),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// True while files are dragged over the window.
fn files_hovering(ctx: &egui::Context) -> bool {
    ctx.input(|i| !i.raw.hovered_files.is_empty())
}

/// Draws the device list, noting where its drop targets are.
pub(super) fn devices_ui(
    ui: &mut egui::Ui,
    app: &StreamscanApp,
    targets: &mut DropTargets,
    out: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        ui.heading("Devices");
        if ui
            .button("Refresh")
            .on_hover_text("Look for devices again")
            .clicked()
        {
            out.push(Action::RefreshDevices);
        }
        if ui
            .button("Add scanner by address…")
            .on_hover_text("A network scanner discovery does not find: type its address")
            .clicked()
        {
            out.push(Action::OpenAddDevice);
        }
        if app.searching_devices() {
            ui.spinner();
            ui.weak("searching…");
        }
    });
    let hovering = files_hovering(ui.ctx());
    let busy_device = app.scan_job().map(|s| s.device.clone());
    let uploading = app
        .upload()
        .filter(|u| !u.finished)
        .map(|u| u.device.clone());
    let mut clicked = None;
    let mut rects = Vec::new();
    for (i, device) in app.devices().iter().enumerate() {
        let state = if device.presence == Presence::Searching {
            "searching…"
        } else if device.presence == Presence::NotFound {
            "not found"
        } else if busy_device.as_deref() == Some(device.info.id.as_str()) {
            "scanning"
        } else if uploading.as_deref() == Some(device.info.id.as_str()) {
            "receiving files"
        } else if device.error.is_some() {
            "unavailable"
        } else if device.items.is_some() {
            "ready"
        } else {
            "connecting…"
        };
        let accepts = device.accepts_uploads();
        let text = format!(
            "{} — {} ({state})",
            device.info.name,
            kind_label(&device.info.kind)
        );
        let present = device.presence == Presence::Present;
        let mut frame = egui::Frame::group(ui.style());
        if hovering && accepts {
            frame = frame
                .stroke(Stroke::new(2.0, ui.visuals().selection.stroke.color))
                .fill(ui.visuals().selection.bg_fill.gamma_multiply(0.4));
        }
        let response = frame.show(ui, |ui| {
            ui.set_width(ui.available_width());
            let label = if present {
                RichText::new(text)
            } else {
                RichText::new(text).weak()
            };
            let r = ui.selectable_label(i == app_selected(app), label);
            if device.info.id != "sim" {
                ui.label(RichText::new(&device.info.id).small().weak());
            }
            if hovering && accepts {
                ui.label("Drop files here to upload them to the device's storage");
            }
            if let Some(e) = &device.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            if device.added
                && ui
                    .small_button("Remove")
                    .on_hover_text("Take this device, added by address, out of the list")
                    .clicked()
            {
                out.push(Action::ForgetDevice(i));
            }
            r
        });
        if response.inner.clicked() {
            clicked = Some(i);
        }
        rects.push(response.response.rect);
    }
    targets.devices = rects;
    if let Some(i) = clicked {
        out.push(Action::SelectDevice(i));
    }
    targets.storage = items_ui(ui, app, out);
    upload_ui(ui, app, out);
    add_device_ui(ui.ctx(), app, out);
}

/// The "Add scanner by address…" window, while it is open.
fn add_device_ui(ctx: &egui::Context, app: &StreamscanApp, out: &mut Vec<Action>) {
    let Some(adding) = app.adding_device() else {
        return;
    };
    let mut open = true;
    egui::Window::new("Add scanner by address")
        .collapsible(false)
        .resizable(false)
        .open(&mut open)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            ui.weak(
                "As the scanner's own web page or manual gives it, for example \
                 http://192.168.1.20/eSCL/",
            );
            let mut address = adding.address.clone();
            let field = ui
                .horizontal(|ui| {
                    let label = ui.label("Scanner address");
                    ui.add(egui::TextEdit::singleline(&mut address).desired_width(280.0))
                        .labelled_by(label.id)
                })
                .inner;
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if !entered && ui.memory(|m| m.focused().is_none()) {
                // Typing goes to the address from the start.
                field.request_focus();
            }
            if address != adding.address {
                out.push(Action::SetAddressDraft(address.clone()));
            }
            ui.weak("A device id (sim:…, escl:…) is taken as it is.");
            if let Some(e) = &adding.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            ui.horizontal(|ui| {
                if ui.button("Add").clicked() || entered {
                    out.push(Action::AddDevice(address.clone()));
                }
                if ui.button("Cancel").clicked() {
                    out.push(Action::CloseAddDevice);
                }
            });
        });
    if !open {
        out.push(Action::CloseAddDevice);
    }
}

fn app_selected(app: &StreamscanApp) -> usize {
    let id = app.selected_device().map(|d| d.info.id.clone());
    app.devices()
        .iter()
        .position(|d| Some(&d.info.id) == id.as_ref())
        .unwrap_or(0)
}

/// Draws the selected device's items; returns where its storage folder
/// is on screen.
fn items_ui(ui: &mut egui::Ui, app: &StreamscanApp, out: &mut Vec<Action>) -> Option<Rect> {
    let root = app.selected_device().and_then(|d| d.items.as_ref())?;
    let mut download: Option<Item> = None;
    let hovering = files_hovering(ui.ctx());
    let accepts = app.selected_device().is_some_and(|d| d.accepts_uploads());
    let mut storage_rect = None;
    egui::CollapsingHeader::new("Items")
        .default_open(true)
        .show(ui, |ui| {
            for child in &root.children {
                if child.is_folder() {
                    let folder = egui::CollapsingHeader::new(format!(
                        "{} ({} files)",
                        child.name,
                        child.children.len()
                    ))
                    .id_salt(&child.full_name)
                    .default_open(true)
                    .show(ui, |ui| {
                        if hovering && accepts {
                            ui.strong("Drop the files here to store them in this folder");
                        } else if child.children.is_empty() {
                            ui.weak("empty — drop files on the device to upload");
                        }
                        for file in &child.children {
                            ui.horizontal(|ui| {
                                let size = file
                                    .size
                                    .map(|s| format!(" ({})", human_bytes(s)))
                                    .unwrap_or_default();
                                ui.label(format!("{}{size}", file.name));
                                if ui
                                    .small_button("Download")
                                    .on_hover_text(format!("Save {} to this computer", file.name))
                                    .clicked()
                                {
                                    download = Some(file.clone());
                                }
                            });
                        }
                    });
                    if child.flags.contains(ItemFlags::STORAGE) {
                        let mut rect = folder.header_response.rect;
                        if let Some(body) = &folder.body_response {
                            rect = rect.union(body.rect);
                        }
                        if hovering && accepts {
                            let stroke = Stroke::new(2.0, ui.visuals().selection.stroke.color);
                            ui.painter()
                                .rect_stroke(rect, 2.0, stroke, egui::StrokeKind::Outside);
                        }
                        storage_rect = Some(rect);
                    }
                } else {
                    ui.label(format!("• {}", child.name));
                }
            }
        });
    if let Some(item) = download {
        out.push(Action::Download(item));
    }
    storage_rect
}

fn upload_ui(ui: &mut egui::Ui, app: &StreamscanApp, out: &mut Vec<Action>) {
    let Some(upload) = app.upload() else {
        return;
    };
    ui.label(RichText::new("Upload").strong());
    for file in &upload.files {
        let name = file
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match &file.result {
            Some(Ok(())) => {
                ui.label(format!("Stored: {name}"));
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("Failed: {name}: {e}"));
            }
            None => {
                ui.add(
                    egui::ProgressBar::new(file.percent.max(0) as f32 / 100.0)
                        .text(format!("{name} {}%", file.percent.max(0))),
                );
            }
        }
    }
    ui.horizontal(|ui| {
        if !upload.finished && ui.button("Cancel upload").clicked() {
            out.push(Action::Cancel);
        }
        if upload.finished && ui.button("Clear").clicked() {
            out.push(Action::ClearUpload);
        }
    });
}

/// `12.3 MB` style sizes.
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// Files dropped on the window go to the device row under the pointer, or
/// to the selected device when it takes uploads.
pub(super) fn handle_dropped_files(
    ctx: &egui::Context,
    app: &StreamscanApp,
    targets: &DropTargets,
    out: &mut Vec<Action>,
) {
    let dropped: Vec<std::path::PathBuf> = ctx.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    });
    if dropped.is_empty() {
        return;
    }
    let pointer = ctx.input(|i| i.pointer.latest_pos());
    let on_storage = pointer
        .zip(targets.storage)
        .is_some_and(|(pos, rect)| rect.contains(pos));
    let target = pointer
        .and_then(|pos| targets.devices.iter().position(|r| r.contains(pos)))
        .or_else(|| on_storage.then(|| app_selected(app)))
        .or_else(|| {
            app.selected_device()
                .filter(|d| d.accepts_uploads())
                .map(|_| app_selected(app))
        });
    match target {
        Some(i) if app.devices().get(i).is_some_and(|d| d.accepts_uploads()) => {
            out.push(Action::UploadFiles {
                device: i,
                files: dropped,
            });
        }
        _ => out.push(Action::SetStatus(String::from(
            "Drop files on a device that has storage to upload them",
        ))),
    }
}
