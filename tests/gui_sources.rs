//! The settings panel follows the selected source, driven through
//! egui_kittest: a preferred value the source does not offer is replaced
//! by the nearest one for this scan only, the panel says so beside the
//! control, and the saved preference is kept for the source that offers it.

mod support;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::sync::Arc;
use streamscan::app::{AppOptions, ScriptedDialogs, Setting, StreamscanApp};
use streamscan::clock::VirtualClock;
use streamscan::engine::EngineConfig;
use streamscan::transfer::{ColorMode, Source};
use support::gui::step_until as until;

#[test]
fn a_resolution_the_feeder_lacks_is_replaced_for_the_scan_and_the_preference_kept() {
    let root = tempfile::tempdir().expect("temp dir");
    let out = root.path().join("out");
    let device = format!(
        "sim:warmup=0,pages=1,storage={}",
        root.path().join("storage").display()
    );
    let options = AppOptions {
        engine: EngineConfig {
            clock: VirtualClock::shared(),
            preview_width: 256,
            keep_traces: true,
            ..EngineConfig::default()
        },
        data_dir: root.path().join("data"),
        device: Some(device),
        dialogs: Arc::new(ScriptedDialogs::default()),
        on_event: None,
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| StreamscanApp::new(cc, options));
    until(&mut harness, "the device's capabilities", |app| {
        app.selected_device()
            .is_some_and(|d| d.capabilities.is_some())
    });
    {
        let prefs = harness.state_mut().preferences_mut();
        prefs.scan.source = Source::Flatbed;
        prefs.scan.dpi = 1200;
        prefs.scan.mode = ColorMode::Bw;
        prefs.destination.folder = out.clone();
        prefs.destination.pattern = String::from("page-{n}");
    }
    harness.step();
    // The flatbed offers 1200 dpi: nothing to say.
    assert_eq!(harness.state().fitted().note(Setting::Resolution), None);
    assert!(harness.query_by_label_contains("this scan uses").is_none());
    // The feeder stops at 600: the panel says so, the preference stays.
    harness.state_mut().preferences_mut().scan.source = Source::Feeder;
    harness.step();
    harness.step();
    assert!(
        harness
            .query_by_label_contains("this scan uses 600 dpi")
            .is_some(),
        "the note beside the resolution"
    );
    assert_eq!(harness.state().preferences().scan.dpi, 1200);
    assert_eq!(harness.state().fitted().settings.dpi, 600);
    harness.state_mut().start_scan();
    let used = harness.state().scan_job().map(|s| s.settings.dpi);
    assert_eq!(used, Some(600), "the scan runs at what the feeder offers");
    until(&mut harness, "the scan to end", |app| !app.is_scanning());
    assert_eq!(harness.state().preferences().scan.dpi, 1200);
    let page = std::fs::read_dir(&out)
        .expect("out")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "png"))
        .expect("a page was saved");
    let image = image::open(&page).expect("png");
    // A4 at 600 dpi is 4961 pixels wide.
    assert_eq!(image.width(), 4961, "{}", page.display());
    // Back on the flatbed the preferred 1200 dpi is used again.
    harness.state_mut().preferences_mut().scan.source = Source::Flatbed;
    harness.step();
    assert_eq!(harness.state().fitted().settings.dpi, 1200);
    assert!(harness.query_by_label_contains("this scan uses").is_none());
    let (checked, violations) = harness.state().checked_traces();
    assert!(checked >= 1, "the scan's trace was checked");
    assert!(violations.is_empty(), "{violations:?}");
}
