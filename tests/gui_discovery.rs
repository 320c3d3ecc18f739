//! Device discovery as the desktop app shows it, driven through
//! egui_kittest: a back end that takes its time does not hold back the
//! others or the window, a remembered device waits for its back end, and
//! one that is not found stays listed, greyed, and is never replaced by the
//! virtual scanner behind the user's back.
//!
//! Every frame runs under a watchdog: a frame that blocks (the UI thread
//! waiting on a search) aborts the test binary with a message instead of
//! hanging the run.

mod support;

use crossbeam_channel::{Receiver, Sender, bounded};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamscan::app::{AppOptions, Presence, ScriptedDialogs, StreamscanApp};
use streamscan::clock::{CancelToken, VirtualClock};
use streamscan::device::{Backend, Registry};
use streamscan::engine::EngineConfig;
use streamscan::transfer::{DeviceInfo, Driver, DriverError};
use support::gui::Watchdog;

/// How long one frame may take before the watchdog gives up on it.
const FRAME_LIMIT: Duration = Duration::from_secs(60);

/// A network-like back end whose search blocks until the test opens its
/// gate, then finds one device.
struct SlowBackend {
    gate: Mutex<Option<Receiver<()>>>,
}

impl SlowBackend {
    fn new() -> (Arc<SlowBackend>, Sender<()>) {
        let (open, gate) = bounded(1);
        (
            Arc::new(SlowBackend {
                gate: Mutex::new(Some(gate)),
            }),
            open,
        )
    }
}

impl Backend for SlowBackend {
    fn prefix(&self) -> &str {
        "slow"
    }
    fn parse(&self, rest: &str) -> Result<(), String> {
        if rest.is_empty() {
            Err(String::from("a slow device needs a name"))
        } else {
            Ok(())
        }
    }
    fn open(&self, _id: &str, rest: &str) -> Result<Box<dyn Driver>, DriverError> {
        Err(DriverError::Communication(format!(
            "{rest} does not answer"
        )))
    }
    fn discover(
        &self,
        found: &mut dyn FnMut(DeviceInfo),
        cancel: &CancelToken,
    ) -> Result<(), DriverError> {
        let gate = self
            .gate
            .lock()
            .map_err(|_| DriverError::Communication(String::from("gate poisoned")))?
            .take();
        if let Some(gate) = gate {
            // The search "waits on the network" until the test lets it go
            // (or the search is abandoned).
            loop {
                match gate.recv_timeout(Duration::from_millis(20)) {
                    Ok(()) => break,
                    // The test is over: the device never shows up.
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Ok(()),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                        if cancel.is_cancelled() {
                            return Ok(());
                        }
                    }
                }
            }
        }
        found(DeviceInfo {
            id: String::from("slow:office"),
            name: String::from("Office Scanner"),
            kind: String::from("network"),
        });
        Ok(())
    }
}

fn app(root: &Path, registry: Registry, device: Option<&str>) -> Harness<'static, StreamscanApp> {
    let options = AppOptions {
        engine: EngineConfig {
            clock: VirtualClock::shared(),
            preview_width: 256,
            registry,
            ..EngineConfig::default()
        },
        data_dir: root.join("data"),
        device: device.map(str::to_string),
        dialogs: Arc::new(ScriptedDialogs::default()),
        on_event: None,
    };
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| StreamscanApp::new(cc, options))
}

fn presence(app: &StreamscanApp, id: &str) -> Option<Presence> {
    app.devices()
        .iter()
        .find(|d| d.info.id == id)
        .map(|d| d.presence)
}

#[test]
fn a_slow_back_end_does_not_hold_back_the_virtual_scanner() {
    let root = tempfile::tempdir().expect("temp dir");
    let (slow, open) = SlowBackend::new();
    let registry = Registry::builtin().with(slow);
    let watchdog = Watchdog::start(FRAME_LIMIT);
    let mut harness = app(root.path(), registry, None);
    watchdog.until(&mut harness, "the virtual scanner", |app| {
        presence(app, "sim") == Some(Presence::Present)
    });
    watchdog.step(&mut harness);
    assert!(harness.state().searching_devices());
    assert!(
        harness.query_by_label_contains("searching").is_some(),
        "the list says it is still searching"
    );
    assert!(harness.query_by_label_contains("Office Scanner").is_none());
    assert_eq!(
        harness
            .state()
            .selected_device()
            .map(|d| d.info.id.as_str()),
        Some("sim"),
        "with nothing remembered, the first device found is selected"
    );
    // The window keeps drawing while the search waits.
    for _ in 0..20 {
        watchdog.step(&mut harness);
    }
    open.send(()).expect("gate");
    watchdog.until(&mut harness, "the slow device", |app| {
        presence(app, "slow:office").is_some() && !app.searching_devices()
    });
    watchdog.step(&mut harness);
    assert!(harness.query_by_label_contains("Office Scanner").is_some());
    assert!(harness.query_by_label_contains("searching").is_none());
    assert_eq!(
        harness
            .state()
            .selected_device()
            .map(|d| d.info.id.as_str()),
        Some("sim"),
        "a device found later does not take the selection"
    );
}

#[test]
fn a_remembered_device_is_selected_when_found_and_greyed_when_not() {
    let root = tempfile::tempdir().expect("temp dir");
    // Last time the office scanner was used.
    let prefs_dir = root.path().join("data");
    std::fs::create_dir_all(&prefs_dir).expect("data dir");
    {
        let (slow, _open) = SlowBackend::new();
        let watchdog = Watchdog::start(FRAME_LIMIT);
        let mut harness = app(root.path(), Registry::builtin().with(slow), None);
        watchdog.step(&mut harness);
        harness.state_mut().preferences_mut().device = Some(String::from("slow:office"));
        harness.state_mut().save_preferences().expect("settings");
    }
    let (slow, open) = SlowBackend::new();
    let watchdog = Watchdog::start(FRAME_LIMIT);
    let mut harness = app(root.path(), Registry::builtin().with(slow), None);
    watchdog.step(&mut harness);
    assert_eq!(
        harness
            .state()
            .selected_device()
            .map(|d| (d.info.id.as_str(), d.presence)),
        Some(("slow:office", Presence::Searching)),
        "the remembered device is listed and selected before it is found"
    );
    watchdog.until(&mut harness, "the virtual scanner", |app| {
        presence(app, "sim") == Some(Presence::Present)
    });
    assert_eq!(
        harness
            .state()
            .selected_device()
            .map(|d| d.info.id.as_str()),
        Some("slow:office"),
        "the virtual scanner does not take the remembered device's place"
    );
    // Scan while it is not there: refused, with why; nothing falls back.
    harness.state_mut().start_scan();
    assert!(!harness.state().is_scanning());
    assert!(
        harness.state().status().contains("Still looking"),
        "{}",
        harness.state().status()
    );
    open.send(()).expect("gate");
    watchdog.until(&mut harness, "the remembered device", |app| {
        presence(app, "slow:office") == Some(Presence::Present)
    });

    // Next start: the office scanner is gone (its search finds nothing).
    drop(harness);
    struct Empty;
    impl Backend for Empty {
        fn prefix(&self) -> &str {
            "slow"
        }
        fn parse(&self, _rest: &str) -> Result<(), String> {
            Ok(())
        }
        fn open(&self, _id: &str, _rest: &str) -> Result<Box<dyn Driver>, DriverError> {
            Err(DriverError::Communication(String::from("gone")))
        }
        fn discover(
            &self,
            _found: &mut dyn FnMut(DeviceInfo),
            _cancel: &CancelToken,
        ) -> Result<(), DriverError> {
            Ok(())
        }
    }
    let mut harness = app(root.path(), Registry::builtin().with(Arc::new(Empty)), None);
    watchdog.until(&mut harness, "the search to end", |app| {
        !app.searching_devices() && presence(app, "sim").is_some()
    });
    watchdog.step(&mut harness);
    assert_eq!(
        harness
            .state()
            .selected_device()
            .map(|d| (d.info.id.as_str(), d.presence)),
        Some(("slow:office", Presence::NotFound))
    );
    assert!(harness.query_by_label_contains("not found").is_some());
    harness.state_mut().start_scan();
    assert!(!harness.state().is_scanning());
    assert!(
        harness.state().status().contains("not found"),
        "{}",
        harness.state().status()
    );
    // Refresh looks again; the user can pick the virtual scanner.
    harness.get_by_label("Refresh").click();
    watchdog.step(&mut harness);
    watchdog.until(&mut harness, "the search to end", |app| {
        !app.searching_devices()
    });
    let sim = harness
        .state()
        .devices()
        .iter()
        .position(|d| d.info.id == "sim")
        .expect("sim listed");
    harness.state_mut().select_device(sim);
    assert_eq!(harness.state().preferences().device.as_deref(), Some("sim"));
}
