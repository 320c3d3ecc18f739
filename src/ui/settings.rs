//! Scan settings (source, resolution, colour mode, page size or a custom
//! size, the flatbed's scan area, pages,
//! destination, format, JPEG quality with the expected size per page) and
//! the profiles list.

use crate::app::{Action, Destination, Setting, StreamscanApp};
use crate::output::FileFormat;
use crate::transfer::settings::mm_to_pixels;
use crate::transfer::{ColorMode, PageSize, ScanArea, ScanSettings, Source};

/// Resolutions offered when the device's range includes them.
const RESOLUTIONS: [u32; 7] = [75, 100, 150, 200, 300, 600, 1200];

fn source_label(source: Source) -> &'static str {
    match source {
        Source::Flatbed => "Flatbed",
        Source::Feeder => "Feeder",
        Source::Duplex => "Feeder, both sides",
    }
}

fn mode_label(mode: ColorMode) -> &'static str {
    match mode {
        ColorMode::Color => "Colour",
        ColorMode::Gray => "Gray",
        ColorMode::Bw => "Black and white",
    }
}

fn size_label(size: PageSize) -> String {
    match size {
        PageSize::A4 => String::from("A4"),
        PageSize::Letter => String::from("Letter"),
        PageSize::Legal => String::from("Legal"),
        PageSize::Auto => String::from("Detect length"),
        PageSize::Custom {
            width_mm,
            height_mm,
        } => format!("{width_mm:.0} × {height_mm:.0} mm"),
    }
}

fn format_label(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Png => "PNG",
        FileFormat::Jpeg => "JPEG",
        FileFormat::Tiff => "TIFF",
        FileFormat::Pdf => "PDF",
        FileFormat::Bmp => "BMP",
        FileFormat::Pnm => "PNM",
    }
}

/// The scan area in words.
pub(super) fn area_text(area: Option<ScanArea>) -> String {
    match area {
        Some(a) => format!(
            "Scan area {:.0} × {:.0} mm at {:.0}, {:.0} mm",
            a.width_mm, a.height_mm, a.x_mm, a.y_mm
        ),
        None => String::from("Scan area: the whole page (Preview to choose one)"),
    }
}

/// A rough size of one page in `format`, in bytes.
pub fn expected_page_bytes(
    size: PageSize,
    dpi: u32,
    mode: ColorMode,
    format: FileFormat,
    quality: u8,
) -> u64 {
    let (w_mm, h_mm) = size.millimetres();
    let pixels =
        u64::from(mm_to_pixels(w_mm, dpi)) * u64::from(mm_to_pixels(h_mm.unwrap_or(297.0), dpi));
    let raw_bits = match mode {
        ColorMode::Color => 24,
        ColorMode::Gray => 8,
        ColorMode::Bw => 1,
    };
    let raw = pixels * raw_bits / 8;
    match format {
        FileFormat::Bmp | FileFormat::Pnm => raw,
        FileFormat::Png | FileFormat::Tiff => raw / 3,
        FileFormat::Jpeg | FileFormat::Pdf => {
            if mode == ColorMode::Bw {
                raw / 3
            } else {
                // Bits per pixel of a typical document page by quality.
                let q = f64::from(quality.clamp(1, 100)) / 100.0;
                let bpp = 0.3 + 2.7 * q * q * q;
                let channels = if mode == ColorMode::Color { 1.0 } else { 0.6 };
                (pixels as f64 * bpp * channels / 8.0) as u64
            }
        }
    }
}

/// Draws the scan settings, editing `scan` (a copy of the app's; the
/// caller sends it on when it changed). The notes on values the selected
/// source lacks come from the app's settings as the frame began.
pub fn scan_settings_ui(ui: &mut egui::Ui, app: &StreamscanApp, scan: &mut ScanSettings) {
    ui.heading("Scan settings");
    let caps = app.selected_device().and_then(|d| d.capabilities.clone());
    // What this scan will use, and each preferred value the source lacks.
    let fitted = app.fitted();
    let sources = caps
        .as_ref()
        .map(|c| c.source_list())
        .unwrap_or_else(|| vec![Source::Flatbed, Source::Feeder, Source::Duplex]);
    let source_caps = caps
        .as_ref()
        .and_then(|c| c.source(fitted.settings.source))
        .cloned();
    let resolutions = source_caps
        .as_ref()
        .map(|c| c.resolutions.menu(&RESOLUTIONS))
        .unwrap_or_else(|| RESOLUTIONS.to_vec());
    let modes = source_caps
        .as_ref()
        .map(|c| c.modes.clone())
        .unwrap_or_else(|| vec![ColorMode::Color, ColorMode::Gray, ColorMode::Bw]);
    let sizes = source_caps
        .as_ref()
        .map(|c| c.sizes.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| vec![PageSize::A4, PageSize::Letter, PageSize::Legal]);
    let max_mm = source_caps
        .as_ref()
        .map(|c| c.max_area_mm)
        .unwrap_or((215.9, 355.6));
    let note = |ui: &mut egui::Ui, setting: Setting| {
        if let Some(text) = fitted.note(setting) {
            ui.label(
                egui::RichText::new(text)
                    .small()
                    .color(ui.visuals().warn_fg_color),
            );
        }
    };
    let scanning = app.is_scanning();
    ui.add_enabled_ui(!scanning, |ui| {
        egui::ComboBox::new("source", "Source")
            .selected_text(source_label(scan.source))
            .show_ui(ui, |ui| {
                for s in &sources {
                    ui.selectable_value(&mut scan.source, *s, source_label(*s));
                }
            });
        note(ui, Setting::Source);
        egui::ComboBox::new("resolution", "Resolution")
            .selected_text(format!("{} dpi", scan.dpi))
            .show_ui(ui, |ui| {
                for dpi in &resolutions {
                    ui.selectable_value(&mut scan.dpi, *dpi, format!("{dpi} dpi"));
                }
            });
        note(ui, Setting::Resolution);
        egui::ComboBox::new("mode", "Colour mode")
            .selected_text(mode_label(scan.mode))
            .show_ui(ui, |ui| {
                for m in &modes {
                    ui.selectable_value(&mut scan.mode, *m, mode_label(*m));
                }
            });
        note(ui, Setting::Mode);
        let custom = matches!(scan.size, PageSize::Custom { .. });
        egui::ComboBox::new("size", "Page size")
            .selected_text(if custom {
                String::from("Custom")
            } else {
                size_label(scan.size)
            })
            .show_ui(ui, |ui| {
                for s in &sizes {
                    ui.selectable_value(&mut scan.size, *s, size_label(*s));
                }
                if ui.selectable_label(custom, "Custom").clicked() && !custom {
                    let (w, h) = scan.size.millimetres();
                    scan.size = PageSize::Custom {
                        width_mm: w,
                        height_mm: h.unwrap_or(297.0),
                    };
                }
            });
        note(ui, Setting::Size);
        if let PageSize::Custom {
            width_mm,
            height_mm,
        } = &mut scan.size
        {
            ui.horizontal(|ui| {
                ui.add(
                    egui::DragValue::new(width_mm)
                        .range(ScanArea::MIN_SIDE_MM..=max_mm.0)
                        .suffix(" mm")
                        .speed(1.0),
                )
                .widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::SpinButton, true, "Custom width")
                });
                ui.label("×");
                ui.add(
                    egui::DragValue::new(height_mm)
                        .range(ScanArea::MIN_SIDE_MM..=max_mm.1)
                        .suffix(" mm")
                        .speed(1.0),
                )
                .widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::SpinButton, true, "Custom height")
                });
            });
        }
        if scan.source == Source::Flatbed {
            ui.horizontal(|ui| {
                ui.label(area_text(scan.area));
                if scan.area.is_some()
                    && ui
                        .small_button("Clear area")
                        .on_hover_text("Scan the whole page again")
                        .clicked()
                {
                    scan.area = None;
                }
            });
            note(ui, Setting::Area);
        }
        ui.horizontal(|ui| {
            ui.add_enabled(
                scan.source != Source::Flatbed,
                egui::DragValue::new(&mut scan.pages).range(0..=9999),
            )
            .on_hover_text("0 scans every page in the feeder")
            .widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::SpinButton, true, "Pages (0 = all)")
            });
            ui.label("Pages (0 = all)");
        });
    });
}

/// Draws the destination, with the format and quality of the files,
/// editing `destination` and `scan` (copies of the app's).
pub fn destination_ui(
    ui: &mut egui::Ui,
    app: &StreamscanApp,
    scan: &mut ScanSettings,
    destination: &mut Destination,
    out: &mut Vec<Action>,
) {
    let scanning = app.is_scanning();
    let mut choose = false;
    ui.add_enabled_ui(!scanning, |ui| {
        ui.label(egui::RichText::new("Destination").strong());
        ui.horizontal(|ui| {
            let label = ui.label("Folder");
            let mut folder = destination.folder.display().to_string();
            if ui
                .add(egui::TextEdit::singleline(&mut folder).desired_width(160.0))
                .labelled_by(label.id)
                .changed()
            {
                destination.folder = folder.into();
            }
            if ui.button("Choose…").clicked() {
                choose = true;
            }
        });
        ui.horizontal(|ui| {
            ui.radio_value(&mut destination.document, false, "A file per page");
            ui.radio_value(&mut destination.document, true, "One document");
        });
        let document = destination.document;
        ui.horizontal(|ui| {
            let label = ui.label(if document { "Name" } else { "Pattern" });
            let text = if document {
                &mut destination.document_name
            } else {
                &mut destination.pattern
            };
            ui.add(egui::TextEdit::singleline(text).desired_width(180.0))
                .labelled_by(label.id)
                .on_hover_text("{n}: page number, {date}: the time the scan started");
        });
        if document && !scan.format.is_multipage() {
            scan.format = FileFormat::Pdf;
        }
        egui::ComboBox::new("format", "Format")
            .selected_text(format_label(scan.format))
            .show_ui(ui, |ui| {
                for f in FileFormat::ALL {
                    if !document || f.is_multipage() {
                        ui.selectable_value(&mut scan.format, f, format_label(f));
                    }
                }
            });
        if matches!(scan.format, FileFormat::Jpeg | FileFormat::Pdf) {
            ui.add(egui::Slider::new(&mut scan.quality, 1..=100).text("JPEG quality"));
        }
        let bytes = expected_page_bytes(scan.size, scan.dpi, scan.mode, scan.format, scan.quality);
        ui.weak(format!(
            "About {} per page",
            super::devices::human_bytes(bytes)
        ));
    });
    if choose {
        out.push(Action::ChooseFolder);
    }
}

/// Draws the profiles: pick, save, delete.
pub fn profiles_ui(ui: &mut egui::Ui, app: &StreamscanApp, out: &mut Vec<Action>) {
    ui.heading("Profiles");
    let names: Vec<String> = app
        .preferences()
        .profiles
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let mut apply = None;
    let mut delete = None;
    for name in &names {
        ui.horizontal(|ui| {
            if ui
                .button(name)
                .on_hover_text("Use these settings")
                .clicked()
            {
                apply = Some(name.clone());
            }
            if ui
                .small_button("Delete")
                .on_hover_text(format!("Delete the profile {name}"))
                .clicked()
            {
                delete = Some(name.clone());
            }
        });
    }
    ui.horizontal(|ui| {
        let label = ui.label("New profile");
        let mut typed = app.profile_name().to_string();
        if ui
            .add(egui::TextEdit::singleline(&mut typed).desired_width(120.0))
            .labelled_by(label.id)
            .changed()
        {
            out.push(Action::SetProfileName(typed.clone()));
        }
        let name = typed.trim().to_string();
        if ui
            .add_enabled(!name.is_empty(), egui::Button::new("Save profile"))
            .clicked()
        {
            out.push(Action::SaveProfile(name));
        }
    });
    if let Some(name) = apply {
        out.push(Action::ApplyProfile(name));
    }
    if let Some(name) = delete {
        out.push(Action::DeleteProfile(name));
    }
}
