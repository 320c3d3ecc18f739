//! The filter settings panel. Every change re-renders the selected page
//! from the engine's cache at once (no device I/O) and applies to the next
//! scan; Save applies it to the pages already scanned.

use crate::filter::{BlankAction, FilterSettings, Rotation, Threshold};

fn rotation_label(rotation: Rotation) -> &'static str {
    match rotation {
        Rotation::None => "None",
        Rotation::Cw90 => "90° clockwise",
        Rotation::Cw180 => "180°",
        Rotation::Cw270 => "90° counter-clockwise",
    }
}

/// Draws the filter settings, editing `filter` (a copy of the app's; the
/// caller sends it on when it changed).
pub fn filter_ui(ui: &mut egui::Ui, filter: &mut FilterSettings) {
    ui.heading("Filter");
    ui.add(egui::Slider::new(&mut filter.brightness, -1000..=1000).text("Brightness"));
    ui.add(egui::Slider::new(&mut filter.contrast, -1000..=1000).text("Contrast"));
    ui.add(
        egui::Slider::new(&mut filter.gamma, 0.2..=5.0)
            .logarithmic(true)
            .text("Gamma"),
    );
    egui::ComboBox::new("rotation", "Rotation")
        .selected_text(rotation_label(filter.rotation))
        .show_ui(ui, |ui| {
            for r in [
                Rotation::None,
                Rotation::Cw90,
                Rotation::Cw180,
                Rotation::Cw270,
            ] {
                ui.selectable_value(&mut filter.rotation, r, rotation_label(r));
            }
        });
    ui.checkbox(&mut filter.rotate_back, "Rotate back sides");
    ui.checkbox(&mut filter.deskew, "Deskew");
    ui.checkbox(&mut filter.autocrop, "Crop to the paper");
    let mut bw = filter.threshold.is_some();
    if ui.checkbox(&mut bw, "Black and white").changed() {
        filter.threshold = bw.then_some(Threshold::Auto);
    }
    if let Some(threshold) = &mut filter.threshold {
        let mut auto = *threshold == Threshold::Auto;
        ui.horizontal(|ui| {
            ui.checkbox(&mut auto, "Automatic threshold");
            let mut level = match *threshold {
                Threshold::Fixed(v) => v,
                Threshold::Auto => 128,
            };
            let slider = ui.add_enabled(
                !auto,
                egui::Slider::new(&mut level, 0..=255).text("Threshold"),
            );
            *threshold = if auto {
                Threshold::Auto
            } else {
                if slider.changed() || *threshold == Threshold::Auto {
                    Threshold::Fixed(level)
                } else {
                    *threshold
                }
            };
        });
    }
    ui.checkbox(&mut filter.despeckle, "Despeckle");
    let mut detect = filter.blank.is_some();
    if ui.checkbox(&mut detect, "Detect blank pages").changed() {
        filter.blank = detect.then_some(BlankAction::Flag);
    }
    if let Some(action) = &mut filter.blank {
        ui.horizontal(|ui| {
            ui.radio_value(action, BlankAction::Flag, "Flag them");
            ui.radio_value(action, BlankAction::Drop, "Drop them");
        });
        ui.add(egui::Slider::new(&mut filter.blank_sensitivity, 0.0..=1.0).text("Sensitivity"));
    }
    if ui
        .button("Reset filter")
        .on_hover_text("Neutral settings: pages are saved as scanned")
        .clicked()
    {
        *filter = FilterSettings::default();
    }
}
