//! The desktop app driven through egui_kittest, with no display and no
//! GPU: widgets are found and clicked by their accessible labels, the
//! engine runs the virtual scanner on a virtual clock (its pace costs no
//! time), and a gate in the engine's waker holds scan jobs so a test can
//! act at an exact point of a page. Loops step the harness until a
//! condition holds, with an iteration cap as a hang guard; nothing sleeps.

mod support;

use egui::Modifiers;
use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, TestRenderer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use streamscan::app::{
    Action, AppOptions, PREFS_SAVE_DELAY, PageState, Preferences, ScriptedDialogs, StreamscanApp,
};
use streamscan::clock::{CancelToken, VirtualClock};
use streamscan::device::sim::SimBackend;
use streamscan::device::{Backend, Registry};
use streamscan::engine::EngineConfig;
use streamscan::filter::PageKey;
use streamscan::transfer::{DeviceInfo, Driver, DriverError, Side, Source};
use support::{decode, dir_names, pdf_page_count, read_strip, sim_id};

/// Most harness steps a wait may take before the test fails as hung.
const STEP_CAP: usize = 200_000;

/// Holds job threads inside the engine's waker: with a budget set, each
/// event a job sends uses one unit, and the job waits while none is left.
#[derive(Default)]
struct Gate {
    budget: Mutex<Option<u64>>,
    wake: Condvar,
}

impl Gate {
    /// Lets jobs send up to `n` events, then hold.
    fn allow(&self, n: u64) {
        let mut budget = self.budget.lock().expect("gate");
        *budget = Some(budget.unwrap_or(0).max(n));
        self.wake.notify_all();
    }

    /// While jobs are held, lets them send up to `n` events before the
    /// next call (unused steps do not pile up, so a job that starts late
    /// still moves a few events per frame).
    fn step_if_held(&self, n: u64) {
        let mut budget = self.budget.lock().expect("gate");
        if let Some(b) = budget.as_mut() {
            *b = (*b).max(n);
            self.wake.notify_all();
        }
    }

    /// Jobs hold after their next event.
    fn hold(&self) {
        *self.budget.lock().expect("gate") = Some(0);
    }

    /// Jobs run freely.
    fn release(&self) {
        *self.budget.lock().expect("gate") = None;
        self.wake.notify_all();
    }

    fn pass(&self) {
        let on_job_thread = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("streamscan-job-"));
        if !on_job_thread {
            return;
        }
        let mut budget = self.budget.lock().expect("gate");
        loop {
            match *budget {
                None => return,
                Some(n) if n > 0 => {
                    *budget = Some(n - 1);
                    return;
                }
                Some(_) => budget = self.wake.wait(budget).expect("gate"),
            }
        }
    }
}

/// A test renderer that keeps every texture update the app's frames
/// produced (the harness hands each frame's delta to its renderer).
#[derive(Clone, Default)]
struct DeltaRecorder {
    updates: Arc<Mutex<Vec<(egui::TextureId, egui::epaint::ImageDelta)>>>,
}

impl TestRenderer for DeltaRecorder {
    fn handle_delta(&mut self, delta: &mut egui::TexturesDelta) {
        let mut updates = self.updates.lock().expect("recorder");
        for (id, deltas) in &delta.set {
            for d in deltas.iter() {
                updates.push((*id, d.clone()));
            }
        }
        // Recorded: nothing is left to upload.
        delta.clear();
    }
}

impl DeltaRecorder {
    fn take(&self) -> Vec<(egui::TextureId, egui::epaint::ImageDelta)> {
        std::mem::take(&mut *self.updates.lock().expect("recorder"))
    }
}

/// An app in a harness with its own folders.
struct Gui {
    harness: Harness<'static, StreamscanApp>,
    gate: Arc<Gate>,
    root: tempfile::TempDir,
    device: String,
    textures: DeltaRecorder,
    dialogs: ScriptedDialogs,
}

impl Drop for Gui {
    fn drop(&mut self) {
        // A held job would keep the engine from shutting down.
        self.gate.release();
    }
}

/// The virtual scanner under the name "Test Scanner", whose search finds
/// exactly the test's device: the app's only device.
struct TestScanner {
    id: String,
}

impl Backend for TestScanner {
    fn prefix(&self) -> &str {
        "sim"
    }
    fn parse(&self, rest: &str) -> Result<(), String> {
        SimBackend.parse(rest)
    }
    fn open(&self, id: &str, rest: &str) -> Result<Box<dyn Driver>, DriverError> {
        SimBackend.open(id, rest)
    }
    fn discover(
        &self,
        found: &mut dyn FnMut(DeviceInfo),
        _cancel: &CancelToken,
    ) -> Result<(), DriverError> {
        found(self.describe(&self.id));
        Ok(())
    }
    fn available_by_id(&self, _rest: &str) -> bool {
        true
    }
    fn describe(&self, id: &str) -> DeviceInfo {
        DeviceInfo {
            id: id.to_string(),
            name: String::from("Test Scanner"),
            kind: String::from("virtual"),
        }
    }
}

fn options(root: &Path, device: &str, gate: &Arc<Gate>) -> AppOptions {
    options_with_dialogs(root, device, gate, ScriptedDialogs::default())
}

fn options_with_dialogs(
    root: &Path,
    device: &str,
    gate: &Arc<Gate>,
    dialogs: ScriptedDialogs,
) -> AppOptions {
    let hook = gate.clone();
    AppOptions {
        engine: EngineConfig {
            clock: VirtualClock::shared(),
            preview_width: 256,
            // The app runs every job's trace through the order checker.
            keep_traces: true,
            registry: Registry::default().with(Arc::new(TestScanner {
                id: device.to_string(),
            })),
            ..EngineConfig::default()
        },
        data_dir: root.join("data"),
        device: Some(device.to_string()),
        dialogs: Arc::new(dialogs),
        on_event: Some(Arc::new(move || hook.pass())),
    }
}

impl Gui {
    /// An app whose only device is a virtual scanner with `sim_options`,
    /// scanning 75 dpi gray feeder pages into `<root>/out`.
    fn new(sim_options: &str) -> Gui {
        let root = tempfile::tempdir().expect("temp dir");
        Gui::in_root(root, sim_options)
    }

    fn in_root(root: tempfile::TempDir, sim_options: &str) -> Gui {
        let storage = root.path().join("storage");
        std::fs::create_dir_all(&storage).expect("storage dir");
        let device = sim_id(sim_options, &storage);
        let gate = Arc::new(Gate::default());
        let dialogs = ScriptedDialogs::default();
        let opts = options_with_dialogs(root.path(), &device, &gate, dialogs.clone());
        let textures = DeltaRecorder::default();
        let harness = Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .renderer(textures.clone())
            .build_eframe(move |cc| StreamscanApp::new(cc, opts));
        let mut gui = Gui {
            harness,
            gate,
            root,
            device,
            textures,
            dialogs,
        };
        {
            let out = gui.out();
            let prefs = gui.harness.state_mut().preferences_mut();
            prefs.scan.source = Source::Feeder;
            prefs.scan.dpi = 75;
            prefs.scan.mode = streamscan::transfer::ColorMode::Gray;
            prefs.destination.folder = out;
            prefs.destination.pattern = String::from("page-{n}");
        }
        gui.until("the device is listed", |app| {
            app.selected_device().is_some_and(|d| d.items.is_some())
        });
        gui
    }

    fn out(&self) -> PathBuf {
        self.root.path().join("out")
    }

    fn storage(&self) -> PathBuf {
        self.root.path().join("storage")
    }

    fn app(&self) -> &StreamscanApp {
        self.harness.state()
    }

    /// Steps until `done` holds.
    fn until(&mut self, what: &str, done: impl Fn(&StreamscanApp) -> bool) {
        for _ in 0..STEP_CAP {
            if done(self.harness.state()) {
                self.assert_traces();
                return;
            }
            self.gate.step_if_held(2);
            self.harness.step();
            std::thread::yield_now();
        }
        panic!(
            "gave up waiting for {what}; status: {}",
            self.app().status()
        );
    }

    fn click(&mut self, label: &str) {
        self.harness.get_by_label(label).click();
        self.harness.step();
        self.harness.step();
    }

    /// Clicks Scan and waits for the scan to end.
    fn scan(&mut self) {
        self.click("Scan");
        self.until("the scan to end", |app| !app.is_scanning());
        // A scan that saved pages ran a transfer, and its trace was checked.
        if !self.app().strip().pages().is_empty() {
            let (checked, _) = self.app().checked_traces();
            assert!(checked > 0, "the scan's trace reached the checker");
        }
    }

    /// Every job trace so far passed the message-order checker.
    fn assert_traces(&self) {
        let (_, violations) = self.app().checked_traces();
        assert!(violations.is_empty(), "{violations:?}");
    }

    fn page_keys(&self) -> Vec<(u64, u32)> {
        self.app()
            .strip()
            .pages()
            .iter()
            .map(|p| (p.key.job, p.key.page))
            .collect()
    }
}

/// Drags with the primary button from `from` to `to` in `moves` moves.
fn drag(gui: &mut Gui, from: egui::Pos2, to: egui::Pos2, moves: usize) {
    gui.harness.hover_at(from);
    gui.harness.step();
    gui.harness.drag_at(from);
    gui.harness.step();
    for step in 1..=moves {
        gui.harness
            .hover_at(from + (to - from) * (step as f32 / moves as f32));
        gui.harness.step();
    }
    gui.harness.drop_at(to);
    gui.harness.step();
}

/// Page numbers printed in the index strips of the files in `dir`, in
/// file-name order.
fn pages_in(dir: &Path) -> Vec<u32> {
    names_in(dir)
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).expect("page file");
            read_strip(&decode(&bytes))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .page
        })
        .collect()
}

#[test]
fn a_three_page_feeder_scan_fills_the_strip_and_writes_the_pages_in_order() {
    let mut gui = Gui::new("pages=3");
    gui.scan();
    let pages = gui.app().strip().pages();
    assert_eq!(pages.len(), 3, "status: {}", gui.app().status());
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(page.key.page, i as u32 + 1);
        assert_eq!(page.state, PageState::Done);
        assert!(page.thumbnail.is_some(), "page {} has a thumbnail", i + 1);
        assert!(page.path.as_ref().is_some_and(|p| p.exists()));
    }
    assert_eq!(pages_in(&gui.out()), vec![1, 2, 3]);
    assert!(
        gui.app().status().starts_with("Done"),
        "{}",
        gui.app().status()
    );
    // The thumbnails are on screen, labelled.
    gui.harness.get_by_label("Page 3");
    // `run` settles the UI and checks that every control has an accessible
    // name.
    gui.harness.run();
}

#[test]
fn the_live_page_grows_by_partial_texture_updates() {
    let mut gui = Gui::new("pages=2");
    gui.gate.hold();
    gui.click("Scan");
    gui.until("page 1 starts", |app| app.live_page().is_some());
    let page_size = gui.app().live_page().map(|l| l.size()).expect("live page");
    let mut partial_updates = 0;
    let mut frames_with_updates = 0;
    while gui.app().strip().pages().first().map(|p| p.state) == Some(PageState::Scanning) {
        gui.gate.allow(6);
        gui.harness.step();
        let live = gui.app().live_page().map(|l| l.texture().id());
        let mut in_frame = 0;
        for (_, delta) in gui
            .textures
            .take()
            .iter()
            .filter(|(id, _)| Some(*id) == live)
        {
            if let Some([x, y]) = delta.pos {
                let [w, h] = delta.image.size();
                assert_eq!(x, 0);
                assert!(
                    h < page_size[1] && w <= page_size[0],
                    "a partial update ({w}x{h} at row {y}) is smaller than the page {page_size:?}"
                );
                in_frame += 1;
            }
        }
        partial_updates += in_frame;
        if in_frame > 0 {
            frames_with_updates += 1;
        }
        assert!(partial_updates < 10_000, "page 1 never ends");
    }
    assert!(
        frames_with_updates >= 3 && partial_updates >= 3,
        "{partial_updates} partial updates in {frames_with_updates} frames"
    );
    gui.gate.release();
    gui.until("the scan ends", |app| !app.is_scanning());
    assert_eq!(gui.app().strip().pages().len(), 2);
}

#[test]
fn cancel_mid_page_keeps_completed_pages_and_a_new_scan_works() {
    let mut gui = Gui::new("pages=3");
    gui.gate.hold();
    gui.click("Scan");
    gui.until("page 2 is scanning", |app| {
        app.live_page()
            .is_some_and(|l| l.key.page == 2 && l.partial_uploads >= 2)
    });
    // Rows of page 2 have come; the job holds in the middle of the page.
    gui.click("Cancel");
    // The job stays held (a few events per frame), so the engine takes
    // the command long before the page could end.
    gui.until("the scan to end", |app| !app.is_scanning());
    let status = gui.app().status().to_string();
    assert!(status.starts_with("Cancelled"), "{status}");
    let states: Vec<PageState> = gui.app().strip().pages().iter().map(|p| p.state).collect();
    assert_eq!(states, vec![PageState::Done, PageState::Failed]);
    assert_eq!(pages_in(&gui.out()), vec![1]);
    // The device is ready for the next scan.
    let out2 = gui.root.path().join("out2");
    gui.harness.state_mut().preferences_mut().destination.folder = out2.clone();
    gui.scan();
    assert!(
        gui.app().status().starts_with("Done"),
        "{}",
        gui.app().status()
    );
    assert_eq!(pages_in(&out2), vec![1, 2, 3]);
}

#[test]
fn the_brightness_slider_re_renders_the_selected_page_without_the_device() {
    let mut gui = Gui::new("pages=1");
    gui.scan();
    let acquisitions = gui.app().engine().stats().device(&gui.device).acquisitions;
    assert_eq!(acquisitions, 1);
    gui.click("Page 1");
    gui.until("page 1 is shown", |app| app.rendered().is_some());
    let before = gui
        .app()
        .rendered()
        .map(|r| (r.request, r.mean_luma))
        .expect("rendered");
    gui.harness
        .get_by_role_and_label(egui::Role::Slider, "Brightness")
        .set_value_accesskit(-600.0);
    gui.harness.step();
    gui.until("a new rendering", |app| {
        app.rendered().is_some_and(|r| r.request != before.0)
    });
    let after = gui.app().rendered().map(|r| r.mean_luma).expect("rendered");
    assert_eq!(gui.app().preferences().scan.filter.brightness, -600);
    assert!(
        after < before.1 - 10.0,
        "the page got darker: {} -> {after}",
        before.1
    );
    assert_eq!(
        gui.app().engine().stats().device(&gui.device).acquisitions,
        acquisitions,
        "no device I/O for a new filter"
    );
    assert_eq!(
        gui.app().rendered().map(|r| r.key),
        Some(PageKey { job: 2, page: 1 })
    );
}

#[test]
fn an_open_cover_asks_and_retry_completes_the_job_with_page_two_intact() {
    let mut gui = Gui::new("pages=3,fault=coveropen@2");
    gui.click("Scan");
    gui.until("the question", |app| app.question().is_some());
    gui.harness.step();
    gui.harness.get_by_label("The cover is open");
    // The job waits for the answer: the UI settles, and every control of
    // the dialog has an accessible name.
    gui.harness.run();
    gui.click("Retry");
    gui.until("the scan to end", |app| !app.is_scanning());
    assert!(
        gui.app().status().starts_with("Done"),
        "{}",
        gui.app().status()
    );
    assert!(gui.app().question().is_none());
    assert_eq!(pages_in(&gui.out()), vec![1, 2, 3]);
}

#[test]
fn an_open_cover_answered_stop_cancels_and_keeps_page_one() {
    let mut gui = Gui::new("pages=3,fault=coveropen@2");
    gui.click("Scan");
    gui.until("the question", |app| app.question().is_some());
    gui.harness.step();
    gui.click("Stop");
    gui.until("the scan to end", |app| !app.is_scanning());
    assert!(
        gui.app().status().starts_with("Cancelled"),
        "{}",
        gui.app().status()
    );
    assert_eq!(pages_in(&gui.out()), vec![1]);
    assert!(gui.harness.query_by_label("The cover is open").is_none());
}

#[test]
fn a_warm_up_shows_a_box_that_goes_away() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut gui = Gui::in_root(root, "pages=1,warmup=3");
    // The id starts with warmup=0; the later key wins.
    gui.gate.hold();
    gui.click("Scan");
    gui.until("the warm-up box", |app| app.warming().is_some());
    gui.gate.allow(3);
    gui.harness.step();
    gui.harness.step();
    assert!(gui.harness.query_by_label_contains("warming up").is_some());
    gui.gate.release();
    gui.until("the scan to end", |app| !app.is_scanning());
    gui.harness.step();
    assert!(gui.app().warming().is_none());
    assert!(gui.harness.query_by_label_contains("warming up").is_none());
}

#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn files_dropped_on_the_device_land_in_its_storage() {
    let mut gui = Gui::new("pages=1");
    let a = gui.root.path().join("a.txt");
    let b = gui.root.path().join("b.pdf");
    std::fs::write(&a, b"first file").expect("file");
    std::fs::write(&b, b"%PDF-1.4 second").expect("file");
    let target = gui.app_device_centre();
    gui.harness
        .input_mut()
        .hovered_files
        .push(egui::HoveredFile {
            path: Some(a.clone()),
            mime: String::new(),
        });
    gui.harness.hover_at(target);
    gui.harness.step();
    assert!(
        gui.harness
            .query_by_label_contains("Drop files here")
            .is_some(),
        "the device that takes uploads is highlighted"
    );
    assert!(
        gui.harness
            .query_by_label_contains("Drop the files here to store them")
            .is_some(),
        "so is its storage folder"
    );
    gui.harness.input_mut().hovered_files.clear();
    gui.harness.input_mut().dropped_files = vec![
        Arc::new(DroppedPath(a.clone())),
        Arc::new(DroppedPath(b.clone())),
    ];
    gui.harness.step();
    gui.until("the upload ends", |app| {
        app.upload().is_some_and(|u| u.finished)
    });
    let upload = gui.app().upload().cloned().expect("upload");
    assert!(
        upload.files.iter().all(|f| f.result == Some(Ok(()))),
        "{upload:?}"
    );
    let mut stored: Vec<String> = std::fs::read_dir(gui.storage())
        .expect("storage")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    stored.sort();
    assert!(stored.contains(&String::from("a.txt")), "{stored:?}");
    assert!(stored.contains(&String::from("b.pdf")), "{stored:?}");
    gui.until("the storage listing shows both", |app| {
        app.selected_device()
            .and_then(|d| d.storage_folder().map(|f| f.children.len()))
            == Some(2)
    });
    // A stored file downloads to where the save dialog says.
    let saved = gui.root.path().join("saved.pdf");
    gui.dialogs.push(Some(saved.clone()));
    gui.harness.step();
    let index = gui
        .app()
        .selected_device()
        .and_then(|d| d.storage_folder())
        .and_then(|f| f.children.iter().position(|i| i.name == "b.pdf"))
        .expect("b.pdf is listed");
    gui.harness
        .get_all_by_label("Download")
        .nth(index)
        .expect("a Download button per file")
        .click();
    gui.harness.step();
    gui.until("the download is saved", |app| {
        app.status().starts_with("Saved")
    });
    assert_eq!(
        std::fs::read(&saved).expect("downloaded"),
        b"%PDF-1.4 second"
    );
}

impl Gui {
    fn app_device_centre(&mut self) -> egui::Pos2 {
        self.harness.step();
        self.harness
            .get_by_label_contains("Test Scanner")
            .rect()
            .center()
    }
}

#[test]
fn the_strip_reorders_rotates_deletes_and_undoes() {
    let mut gui = Gui::new("pages=3");
    gui.scan();
    gui.click("Move page 1 right");
    assert_eq!(gui.page_keys(), vec![(2, 2), (2, 1), (2, 3)]);
    gui.click("Rotate page 2");
    assert_eq!(
        gui.app().strip().pages()[1].rotation,
        streamscan::filter::Rotation::Cw90
    );
    // The turned page shows turned in the preview.
    gui.click("Page 2");
    gui.until("page 2 is shown", |app| {
        app.rendered()
            .is_some_and(|r| r.key == PageKey { job: 2, page: 1 })
    });
    gui.harness.step();
    gui.click("Delete page 3");
    assert_eq!(gui.page_keys(), vec![(2, 2), (2, 1)]);
    gui.harness
        .key_press_modifiers(Modifiers::COMMAND, egui::Key::Z);
    gui.harness.step();
    assert_eq!(gui.page_keys(), vec![(2, 2), (2, 1), (2, 3)]);
    gui.harness
        .key_press_modifiers(Modifiers::COMMAND.plus(Modifiers::SHIFT), egui::Key::Z);
    gui.harness.step();
    assert_eq!(gui.page_keys(), vec![(2, 2), (2, 1)]);
    gui.click("Undo");
    gui.click("Undo");
    gui.click("Undo");
    assert_eq!(gui.page_keys(), vec![(2, 1), (2, 2), (2, 3)]);
    assert_eq!(
        gui.app().strip().pages()[0].rotation,
        streamscan::filter::Rotation::None
    );
}

#[test]
fn manual_duplex_interleaves_fronts_with_reversed_backs() {
    let mut gui = Gui::new("pages=3");
    gui.scan();
    let out2 = gui.root.path().join("backs");
    gui.harness.state_mut().preferences_mut().destination.folder = out2;
    gui.scan();
    gui.click("Interleave fronts and backs");
    assert_eq!(
        gui.page_keys(),
        vec![(2, 1), (4, 3), (2, 2), (4, 2), (2, 3), (4, 1)]
    );
    let sides: Vec<Side> = gui.app().strip().pages().iter().map(|p| p.side).collect();
    assert_eq!(sides[..2], [Side::Front, Side::Back]);
}

#[test]
fn saving_the_strip_exports_the_edited_pages_as_one_pdf() {
    let mut gui = Gui::new("pages=2");
    gui.scan();
    gui.click("Move page 1 right");
    let pdf = gui.root.path().join("export.pdf");
    gui.harness.state_mut().export_to(&pdf);
    gui.until("the export ends", |app| app.status().starts_with("Saved"));
    let bytes = std::fs::read(&pdf).expect("the pdf");
    assert!(bytes.starts_with(b"%PDF"));
}

#[test]
fn settings_profiles_and_the_window_survive_a_restart() {
    let root = tempfile::tempdir().expect("temp dir");
    let keep = root.path().to_path_buf();
    {
        let mut gui = Gui::in_root(root, "pages=1");
        gui.harness.state_mut().preferences_mut().scan.dpi = 150;
        let field = || (egui::Role::TextInput, "New profile");
        gui.harness
            .get_by_role_and_label(field().0, field().1)
            .focus();
        gui.harness.step();
        gui.harness
            .get_by_role_and_label(field().0, field().1)
            .type_text("Receipts");
        gui.harness.step();
        gui.harness.step();
        // The profiles sit below the fold of the side panel.
        gui.harness.get_by_label("Save profile").scroll_to_me();
        gui.harness.step();
        gui.click("Save profile");
        gui.harness
            .state_mut()
            .preferences_mut()
            .scan
            .filter
            .contrast = 250;
        // The windowing system says where the window is and how large.
        let viewport = gui
            .harness
            .input_mut()
            .viewports
            .entry(egui::ViewportId::ROOT)
            .or_default();
        viewport.inner_rect = Some(egui::Rect::from_min_size(
            egui::pos2(130.0, 90.0),
            egui::vec2(1000.0, 700.0),
        ));
        viewport.outer_rect = Some(egui::Rect::from_min_size(
            egui::pos2(120.0, 60.0),
            egui::vec2(1020.0, 740.0),
        ));
        gui.harness.step();
        gui.harness
            .state_mut()
            .save_preferences()
            .expect("settings saved");
        // The folder outlives this app.
        std::mem::forget(std::mem::replace(
            &mut gui.root,
            tempfile::tempdir().expect("temp dir"),
        ));
    }
    let gate = Arc::new(Gate::default());
    let device = sim_id("pages=1", &keep.join("storage"));
    let opts = options(&keep, &device, &gate);
    let mut harness = Harness::builder().build_eframe(move |cc| StreamscanApp::new(cc, opts));
    harness.step();
    let prefs = harness.state().preferences().clone();
    assert_eq!(prefs.scan.filter.contrast, 250);
    assert_eq!(prefs.profiles.len(), 1);
    assert_eq!(prefs.profiles[0].name, "Receipts");
    assert_eq!(prefs.profiles[0].scan.dpi, 150);
    assert!(harness.query_by_label("Receipts").is_some());
    // The window opens where it was, as large as it was.
    assert_eq!(prefs.window.size, Some([1000.0, 700.0]));
    let window = streamscan::app::native_options(&prefs).viewport;
    assert_eq!(window.inner_size, Some(egui::vec2(1000.0, 700.0)));
    assert_eq!(window.position, Some(egui::pos2(120.0, 60.0)));
    assert_eq!(window.maximized, Some(false));
    drop(harness);
    let _ = std::fs::remove_dir_all(&keep);
}

/// An app over `root` whose clock the test holds.
fn app_on_clock(root: &Path, clock: &Arc<VirtualClock>) -> Harness<'static, StreamscanApp> {
    let gate = Arc::new(Gate::default());
    let device = sim_id("pages=1", &root.join("storage"));
    let mut opts = options(root, &device, &gate);
    opts.engine.clock = clock.clone();
    let mut harness = Harness::builder().build_eframe(move |cc| StreamscanApp::new(cc, opts));
    harness.step();
    harness
}

#[test]
fn a_changed_setting_is_saved_shortly_after_without_closing_the_app() {
    let root = tempfile::tempdir().expect("temp dir");
    let clock = VirtualClock::shared();
    let mut harness = app_on_clock(root.path(), &clock);
    let path = Preferences::path_in(&root.path().join("data"));
    let dpi_on_disk = || {
        Preferences::read(&path)
            .expect("readable")
            .map(|p| p.scan.dpi)
    };
    harness.state_mut().preferences_mut().scan.dpi = 600;
    harness.step();
    assert_ne!(dpi_on_disk(), Some(600), "a change waits a moment first");
    clock.advance(PREFS_SAVE_DELAY);
    harness.step();
    assert_eq!(dpi_on_disk(), Some(600), "saved with the app still open");
    // Nothing more changes: nothing more is written.
    std::fs::remove_file(&path).expect("settings file");
    clock.advance(PREFS_SAVE_DELAY * 4);
    harness.step();
    assert_eq!(dpi_on_disk(), None);
}

#[test]
fn an_unreadable_settings_file_is_moved_aside_before_defaults_are_saved() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let path = Preferences::path_in(&data);
    let broken = br#"{"profiles": [{"name": "Receipts", "scan": "#;
    std::fs::write(&path, broken).expect("write");
    let clock = VirtualClock::shared();
    let mut harness = app_on_clock(root.path(), &clock);
    let notice = harness.state().notice().expect("the problem is shown");
    assert_eq!(notice.title, "Settings problem");
    let aside = data.join("settings.json.unreadable");
    assert!(
        notice.text.contains(&aside.display().to_string()),
        "{}",
        notice.text
    );
    assert!(harness.query_by_label("Settings problem").is_some());
    assert!(harness.query_by_label("Scan problem").is_none());
    assert_eq!(std::fs::read(&aside).expect("moved aside"), broken);
    harness.state_mut().preferences_mut().scan.dpi = 600;
    harness.step();
    clock.advance(PREFS_SAVE_DELAY);
    harness.step();
    let saved = Preferences::read(&path).expect("readable").expect("saved");
    assert_eq!(saved.scan.dpi, 600);
    assert_eq!(std::fs::read(&aside).expect("still aside"), broken);
}

#[test]
fn one_click_scans_a_flatbed_page_with_the_defaults() {
    let mut gui = Gui::new("");
    {
        let prefs = gui.harness.state_mut().preferences_mut();
        prefs.scan = streamscan::transfer::ScanSettings::default();
    }
    assert_eq!(gui.app().preferences().scan.source, Source::Flatbed);
    gui.scan();
    assert!(
        gui.app().status().starts_with("Done"),
        "{}",
        gui.app().status()
    );
    assert_eq!(gui.page_keys(), vec![(2, 1)]);
    assert_eq!(pages_in(&gui.out()), vec![1]);
}

#[test]
fn space_scans_and_escape_cancels() {
    let mut gui = Gui::new("pages=3");
    gui.gate.hold();
    gui.harness.key_press(egui::Key::Space);
    gui.harness.step();
    assert!(gui.app().is_scanning(), "Space starts a scan");
    gui.until("page 1 streams", |app| {
        app.live_page().is_some_and(|l| l.partial_uploads >= 2)
    });
    gui.harness.key_press(egui::Key::Escape);
    gui.harness.step();
    // The job stays held (a few events per frame), so the engine takes
    // the command long before the page could end.
    gui.until("the scan to end", |app| !app.is_scanning());
    assert!(
        gui.app().status().starts_with("Cancelled"),
        "{}",
        gui.app().status()
    );
    assert!(pages_in(&gui.out()).is_empty(), "page 1 was abandoned");
}

#[test]
fn a_feeder_that_runs_out_early_says_how_many_pages_came_and_scans_more() {
    let mut gui = Gui::new("pages=2");
    {
        let prefs = gui.harness.state_mut().preferences_mut();
        prefs.scan.pages = 3;
    }
    gui.scan();
    let notice = gui.app().notice().cloned().expect("a notice");
    assert!(
        notice.scan_more && notice.text.starts_with("2 pages came"),
        "{notice:?}"
    );
    gui.harness.step();
    gui.click("Scan more");
    assert!(gui.app().is_scanning(), "Scan more starts a scan");
    gui.until("the second scan ends", |app| !app.is_scanning());
    assert_eq!(
        gui.app().finished_scans().len(),
        2,
        "{:?}",
        gui.app().notice()
    );
    // Both batches are in the strip, the second after the first, and the
    // second batch's files go on with the numbers of the first.
    assert_eq!(gui.page_keys(), vec![(2, 1), (2, 2), (4, 1), (4, 2)]);
    gui.until("the second batch is placed", |app| {
        app.status().starts_with("Saved 2 page(s)")
    });
    assert_eq!(
        names_in(&gui.out()),
        vec!["page-1.png", "page-2.png", "page-3.png", "page-4.png"]
    );
    // The sheets of each batch carry their own feeder numbers.
    assert_eq!(pages_in(&gui.out()), vec![1, 2, 1, 2]);
    let session = gui.root.path().join("data").join("session");
    assert!(names_in(&session).is_empty());
}

#[test]
fn stop_after_this_page_finishes_the_page_in_progress() {
    let mut gui = Gui::new("pages=4");
    gui.gate.hold();
    gui.click("Scan");
    gui.until("page 2 streams", |app| {
        app.live_page()
            .is_some_and(|l| l.key.page == 2 && l.partial_uploads >= 2)
    });
    gui.click("Stop after this page");
    // The job stays held (a few events per frame), so the engine takes
    // the command long before the page could end.
    gui.until("the scan to end", |app| !app.is_scanning());
    assert!(
        gui.app().status().starts_with("Cancelled"),
        "{}",
        gui.app().status()
    );
    assert_eq!(pages_in(&gui.out()), vec![1, 2], "page 2 was finished");
}

/// Files in `dir` (names only), sorted; none while `dir` does not exist.
fn names_in(dir: &Path) -> Vec<String> {
    if dir.exists() {
        dir_names(dir)
    } else {
        Vec::new()
    }
}

#[test]
fn a_document_scan_goes_through_the_session_folder_into_one_pdf() {
    let mut gui = Gui::new("pages=3");
    {
        let prefs = gui.harness.state_mut().preferences_mut();
        prefs.destination.document = true;
        prefs.destination.document_name = String::from("book");
        prefs.scan.format = streamscan::output::FileFormat::Pdf;
    }
    gui.scan();
    gui.until("the document is saved", |app| {
        app.status().starts_with("Saved 3 page(s)")
    });
    assert_eq!(names_in(&gui.out()), vec![String::from("book.pdf")]);
    let pdf = std::fs::read(gui.out().join("book.pdf")).expect("pdf");
    assert!(pdf.starts_with(b"%PDF"));
    let session = gui.root.path().join("data").join("session");
    gui.until("the session copy is removed", |_| {
        names_in(&session).is_empty()
    });
}

#[test]
fn pages_of_a_session_that_crashed_are_offered_for_recovery() {
    let root = tempfile::tempdir().expect("temp dir");
    let keep = root.path().to_path_buf();
    {
        let mut gui = Gui::in_root(root, "pages=3");
        {
            let prefs = gui.harness.state_mut().preferences_mut();
            prefs.destination.document = true;
            prefs.scan.format = streamscan::output::FileFormat::Pdf;
        }
        gui.harness
            .state_mut()
            .save_preferences()
            .expect("settings");
        gui.gate.hold();
        gui.click("Scan");
        gui.until("page 2 streams", |app| {
            app.live_page()
                .is_some_and(|l| l.key.page == 2 && l.partial_uploads >= 2)
        });
        // The app goes away in the middle of page 2 without saving: what a
        // crash leaves behind.
        std::mem::forget(std::mem::replace(
            &mut gui.root,
            tempfile::tempdir().expect("temp dir"),
        ));
    }
    let gate = Arc::new(Gate::default());
    let device = sim_id("pages=3", &keep.join("storage"));
    let opts = options(&keep, &device, &gate);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| StreamscanApp::new(cc, opts));
    // The device search shows a spinner until it ends.
    let mut steps = 0;
    while harness.state().searching_devices() || steps == 0 {
        harness.step();
        steps += 1;
        assert!(steps < STEP_CAP, "the device search never ends");
    }
    harness.run();
    assert_eq!(harness.state().leftovers().len(), 1);
    assert_eq!(
        harness.state().leftovers()[0].pages.len(),
        1,
        "page 1 was complete"
    );
    harness.get_by_label("Recover").click();
    harness.step();
    for _ in 0..STEP_CAP {
        if harness.state().status().starts_with("Recovered") {
            break;
        }
        harness.step();
        std::thread::yield_now();
    }
    assert!(
        harness.state().status().starts_with("Recovered 1 page"),
        "{}",
        harness.state().status()
    );
    let out = keep.join("out");
    let recovered = names_in(&out);
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert!(recovered[0].starts_with("recovered-"));
    assert_eq!(pages_in(&out), vec![1]);
    assert!(names_in(&keep.join("data").join("session")).is_empty());
    drop(harness);
    let _ = std::fs::remove_dir_all(&keep);
}

#[test]
fn a_failure_names_the_page_and_where_the_completed_pages_are() {
    let mut gui = Gui::new("pages=3,fault=disconnect@2");
    gui.scan();
    let notice = gui.app().notice().cloned().expect("a notice");
    assert!(notice.error, "{notice:?}");
    assert!(notice.text.contains("on page 2"), "{}", notice.text);
    assert!(
        notice
            .text
            .contains(&format!("1 page was saved in {}", gui.out().display())),
        "{}",
        notice.text
    );
    assert_eq!(pages_in(&gui.out()), vec![1]);
    gui.harness.step();
    gui.click("OK");
    assert!(gui.app().notice().is_none());
}

#[test]
fn pages_of_unannounced_length_grow_the_live_texture() {
    let mut gui = Gui::new("pages=2,size=auto");
    gui.harness.state_mut().preferences_mut().scan.size = streamscan::transfer::PageSize::Auto;
    gui.scan();
    assert!(
        gui.app().status().starts_with("Done"),
        "{}",
        gui.app().status()
    );
    let pages = gui.app().strip().pages();
    assert_eq!(pages.len(), 2);
    assert!(pages.iter().all(|p| p.thumbnail.is_some()));
    let live = gui.app().live_page().expect("the last page");
    assert!(
        live.size()[1] > live.size()[0],
        "a portrait page: {:?}",
        live.size()
    );
    assert_eq!(pages_in(&gui.out()), vec![1, 2]);
}

#[test]
fn dragging_a_thumbnail_onto_another_page_moves_it_there() {
    let mut gui = Gui::new("pages=3");
    gui.scan();
    gui.harness.step();
    let above = egui::vec2(0.0, 50.0);
    let from = gui.harness.get_by_label("Page 1").rect().center() - above;
    let to = gui.harness.get_by_label("Page 3").rect().center() - above;
    drag(&mut gui, from, to, 10);
    gui.harness.step();
    assert_eq!(gui.page_keys(), vec![(2, 2), (2, 3), (2, 1)]);
    assert!(gui.app().strip().can_undo());
}

#[test]
fn ctrl_s_saves_the_strip_where_the_dialog_says() {
    let mut gui = Gui::new("pages=2");
    gui.scan();
    let pdf = gui.root.path().join("saved.pdf");
    gui.dialogs.push(Some(pdf.clone()));
    gui.harness
        .key_press_modifiers(Modifiers::COMMAND, egui::Key::S);
    gui.harness.step();
    gui.until("the pages are saved", |app| {
        app.status().starts_with("Saved 2 page(s)")
    });
    assert!(std::fs::read(&pdf).expect("the pdf").starts_with(b"%PDF"));
}

#[test]
fn the_preview_zooms_to_100_percent_pans_by_dragging_and_fits_again() {
    let mut gui = Gui::new("pages=1");
    gui.scan();
    assert_eq!(gui.app().view().zoom, None, "fit by default");
    gui.click("100 %");
    assert_eq!(gui.app().view().zoom, Some(1.0));
    let centre = gui.harness.get_by_label("Page preview").rect().center();
    gui.harness.hover_at(centre);
    gui.harness.step();
    gui.harness.drag_at(centre);
    gui.harness.step();
    for step in 1..=5 {
        gui.harness
            .hover_at(centre + egui::vec2(0.0, -20.0 * step as f32));
        gui.harness.step();
    }
    gui.harness.drop_at(centre + egui::vec2(0.0, -100.0));
    gui.harness.step();
    assert!(
        gui.app().view().pan.y < -50.0,
        "dragging up pans: {:?}",
        gui.app().view()
    );
    gui.click("Fit");
    assert_eq!(gui.app().view().zoom, None);
    assert_eq!(gui.app().view().pan, egui::Vec2::ZERO);
}

#[test]
fn a_failed_upload_file_is_listed_until_cleared() {
    let mut gui = Gui::new("pages=1");
    let empty = gui.root.path().join("empty.txt");
    let good = gui.root.path().join("good.txt");
    std::fs::write(&empty, b"").expect("file");
    std::fs::write(&good, b"content").expect("file");
    let target = gui.app_device_centre();
    gui.harness.hover_at(target);
    gui.harness.input_mut().dropped_files = vec![
        Arc::new(DroppedPath(empty.clone())),
        Arc::new(DroppedPath(good.clone())),
    ];
    gui.harness.step();
    gui.until("the upload ends", |app| {
        app.upload().is_some_and(|u| u.finished)
    });
    let upload = gui.app().upload().cloned().expect("upload");
    assert!(matches!(upload.files[0].result, Some(Err(_))), "{upload:?}");
    assert_eq!(upload.files[1].result, Some(Ok(())));
    gui.harness.step();
    assert!(
        gui.harness
            .query_by_label_contains("Failed: empty.txt")
            .is_some()
    );
    gui.click("Clear");
    assert!(gui.app().upload().is_none());
    assert!(
        gui.harness
            .query_by_label_contains("Failed: empty.txt")
            .is_none()
    );
}

#[test]
fn a_destination_that_cannot_be_made_ends_the_scan_with_a_message() {
    let mut gui = Gui::new("pages=1");
    let file = gui.root.path().join("a-file");
    std::fs::write(&file, b"not a folder").expect("file");
    gui.harness.state_mut().preferences_mut().destination.folder = file.join("scans");
    gui.scan();
    let notice = gui.app().notice().cloned().expect("a notice");
    assert!(notice.error);
    assert!(
        notice.text.contains("cannot create the folder"),
        "{}",
        notice.text
    );
    assert!(gui.app().strip().pages().is_empty());
    assert_eq!(
        gui.app().engine().stats().device(&gui.device).acquisitions,
        0
    );
}

#[test]
fn scan_more_adds_the_new_pages_to_the_same_document() {
    let mut gui = Gui::new("pages=2");
    {
        let prefs = gui.harness.state_mut().preferences_mut();
        prefs.scan.pages = 3;
        prefs.destination.document = true;
        prefs.destination.document_name = String::from("book");
        prefs.scan.format = streamscan::output::FileFormat::Pdf;
    }
    gui.scan();
    assert!(gui.app().notice().is_some_and(|n| n.scan_more));
    gui.until("the first batch is saved", |app| {
        app.status().starts_with("Saved 2 page(s)")
    });
    gui.harness.step();
    gui.click("Scan more");
    gui.until("the second batch ends", |app| !app.is_scanning());
    gui.until("the document is saved again", |app| {
        app.status().starts_with("Saved 4 page(s)")
    });
    assert_eq!(names_in(&gui.out()), vec![String::from("book.pdf")]);
    assert_eq!(pdf_page_count(&gui.out().join("book.pdf")), Ok(4));
}

/// Where the flatbed preview's page lies on screen (fitted and centred).
fn flatbed_image_rect(gui: &mut Gui) -> egui::Rect {
    gui.harness.step();
    let widget = gui
        .harness
        .get_by_label("Flatbed preview: drag to choose the scan area")
        .rect();
    let size = gui
        .app()
        .flatbed_preview()
        .map(|f| match &f.rendered {
            Some(r) => r.texture.size_vec2(),
            None => {
                let [w, h] = f.live.size();
                egui::vec2(w as f32, h as f32)
            }
        })
        .expect("a flatbed preview");
    let fit = (widget.width() / size.x).min(widget.height() / size.y);
    egui::Rect::from_center_size(widget.center(), size * fit)
}

impl Gui {
    /// An app on the flatbed whose Preview was clicked and is ready.
    fn previewed() -> Gui {
        let mut gui = Gui::new("");
        gui.harness.state_mut().preferences_mut().scan.source = Source::Flatbed;
        gui.harness.step();
        gui.click("Preview");
        gui.until("the preview is ready", |app| {
            !app.is_scanning() && app.flatbed_preview().is_some_and(|f| f.rendered.is_some())
        });
        gui
    }
}

#[test]
fn a_flatbed_preview_lets_the_area_be_dragged_and_the_scan_takes_only_that_area() {
    let mut gui = Gui::previewed();
    assert!(gui.app().showing_flatbed());
    assert!(gui.app().strip().pages().is_empty(), "a preview is no page");
    assert!(
        !gui.out().exists() || pages_in(&gui.out()).is_empty(),
        "nothing written"
    );
    let glass = gui
        .app()
        .flatbed_preview()
        .map(|f| f.size_mm)
        .expect("preview");
    assert!(
        (glass.0 - 210.0).abs() < 1.0 && (glass.1 - 297.0).abs() < 1.0,
        "{glass:?}"
    );
    // Draw an area from a quarter of the way in to the middle.
    let image = flatbed_image_rect(&mut gui);
    let at = |fx: f32, fy: f32| image.min + egui::vec2(image.width() * fx, image.height() * fy);
    drag(&mut gui, at(0.25, 0.25), at(0.75, 0.5), 4);
    let area = gui.app().scan_area().expect("an area was drawn");
    let near = |a: f64, b: f64| (a - b).abs() < 3.0;
    assert!(
        near(area.x_mm, 52.5) && near(area.y_mm, 74.25),
        "corner {area:?}"
    );
    assert!(
        near(area.width_mm, 105.0) && near(area.height_mm, 74.25),
        "size {area:?}"
    );
    // Dragged from inside, it moves.
    drag(&mut gui, at(0.5, 0.375), at(0.5, 0.475), 4);
    let moved = gui.app().scan_area().expect("still an area");
    assert!(near(moved.y_mm, area.y_mm + 29.7), "moved down: {moved:?}");
    assert!(near(moved.width_mm, area.width_mm) && near(moved.x_mm, area.x_mm));
    // Scan takes that area only, at the scan's resolution.
    gui.scan();
    let files: Vec<PathBuf> = std::fs::read_dir(gui.out())
        .expect("out")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let page = decode(&std::fs::read(&files[0]).expect("page"));
    let px = |mm: f64| (mm * 75.0 / 25.4).round() as u32;
    assert_eq!(
        (page.header.width, page.height()),
        (px(moved.width_mm), px(moved.height_mm))
    );
    // "Whole page" forgets it.
    gui.click("Show flatbed preview");
    assert!(gui.app().showing_flatbed());
    gui.click("Whole page");
    assert_eq!(gui.app().scan_area(), None);
}

#[test]
fn moving_a_slider_re_filters_the_flatbed_preview_without_the_device() {
    let mut gui = Gui::previewed();
    let request = |app: &StreamscanApp| {
        app.flatbed_preview()
            .and_then(|f| f.rendered.as_ref())
            .map(|r| r.request)
    };
    let before = request(gui.app());
    let acquisitions = gui.app().engine().stats().device(&gui.device).acquisitions;
    gui.harness
        .get_by_role_and_label(egui::Role::Slider, "Brightness")
        .set_value_accesskit(300.0);
    gui.harness.step();
    gui.until("the preview is filtered again", |app| {
        request(app) != before
    });
    assert_eq!(
        gui.app().engine().stats().device(&gui.device).acquisitions,
        acquisitions
    );
}

impl Gui {
    /// An app scanning a custom 60 x 40 mm page on the flatbed at `dpi`.
    fn small_flatbed(dpi: u32) -> Gui {
        let mut gui = Gui::new("");
        let scan = &mut gui.harness.state_mut().preferences_mut().scan;
        scan.source = Source::Flatbed;
        scan.dpi = dpi;
        scan.size = streamscan::transfer::PageSize::Custom {
            width_mm: 60.0,
            height_mm: 40.0,
        };
        gui
    }
}

/// Pixels of tile textures as the frames uploaded them, by texture.
fn tile_images(
    gui: &Gui,
    deltas: &[(egui::TextureId, egui::epaint::ImageDelta)],
) -> Vec<(streamscan::engine::TileSpec, bool, Vec<u8>)> {
    let mut out = Vec::new();
    for (_, tile) in gui.app().tiles().tiles() {
        let (Some(texture), Some(spec)) = (&tile.texture, tile.spec) else {
            continue;
        };
        let Some((_, delta)) = deltas
            .iter()
            .rev()
            .find(|(id, d)| *id == texture.id() && d.pos.is_none())
        else {
            continue;
        };
        let egui::ImageData::Color(image) = &delta.image;
        let gray: Vec<u8> = image.pixels.iter().map(|p| p.r()).collect();
        out.push((spec, tile.building, gray));
    }
    out
}

/// Asserts that a tile holds the page's pixels at its place, shrunk by
/// its factor.
fn assert_tile_matches(
    spec: streamscan::engine::TileSpec,
    gray: &[u8],
    page: &streamscan::raster::Page,
) {
    let mut part = streamscan::raster::Page::filled(
        spec.width,
        spec.height,
        streamscan::raster::PixelFormat::Rgb8,
        1200,
        0,
    );
    for y in 0..spec.height {
        let row = page.row(spec.y + y);
        let start = (spec.x * 3) as usize;
        part.data[(y * spec.width * 3) as usize..((y + 1) * spec.width * 3) as usize]
            .copy_from_slice(&row[start..start + (spec.width * 3) as usize]);
    }
    let (_, _, want) = support::box_downscale(&part, spec.factor);
    let want: Vec<u8> = want.chunks_exact(3).map(|px| px[0]).collect();
    assert!(
        want == gray,
        "the tile at {},{} (factor {}) holds the page's pixels",
        spec.x,
        spec.y,
        spec.factor
    );
}

#[test]
fn zoomed_in_the_page_is_shown_in_full_resolution_tiles_while_and_after_it_streams() {
    let mut gui = Gui::small_flatbed(1200);
    gui.harness.input_mut().max_texture_side = Some(1024);
    gui.harness.step();
    gui.textures.take();
    gui.gate.hold();
    gui.click("Scan");
    gui.until("a third of the page came", |app| {
        app.live_page().is_some_and(|l| l.page_rows() > 700)
    });
    gui.click("100 %");
    // The studio is not held: tiles of the rows so far arrive.
    gui.until("a tile of the page being scanned", |app| {
        app.tiles()
            .tiles()
            .any(|(_, t)| t.building && t.texture.is_some())
    });
    let mut deltas = gui.textures.take();
    let live_tiles: Vec<_> = tile_images(&gui, &deltas)
        .into_iter()
        .filter(|(_, building, _)| *building)
        .collect();
    assert!(!live_tiles.is_empty());
    gui.gate.release();
    gui.until("the scan ends", |app| !app.is_scanning());
    gui.until("tiles are cut again from the finished page", |app| {
        app.tiles()
            .tiles()
            .any(|(_, t)| !t.building && t.texture.is_some())
    });
    deltas.extend(gui.textures.take());
    let file = std::fs::read_dir(gui.out())
        .expect("out")
        .next()
        .expect("the page file")
        .expect("entry")
        .path();
    let page = decode(&std::fs::read(file).expect("page"));
    assert_eq!((page.header.width, page.height()), (2835, 1890));
    // Rows that had come were already the page's final pixels.
    for (spec, _, gray) in &live_tiles {
        assert_tile_matches(*spec, gray, &page);
    }
    let done: Vec<_> = tile_images(&gui, &deltas)
        .into_iter()
        .filter(|(_, building, _)| !building)
        .collect();
    assert!(!done.is_empty());
    for (spec, _, gray) in &done {
        assert_tile_matches(*spec, gray, &page);
    }
    assert!(
        done.iter().any(|(spec, _, _)| spec.factor == 1),
        "at 100 % the tiles are at full resolution"
    );
    for (_, delta) in &deltas {
        let [w, h] = delta.image.size();
        assert!(
            w <= 1024 && h <= 1024,
            "no texture beyond the GPU's limit: {w}x{h}"
        );
    }
    // The selected page (re-rendered from the cache) is tiled too.
    gui.click("Page 1");
    gui.until("tiles of the cached page", |app| {
        app.rendered().is_some() && !app.tiles().is_empty()
    });
    assert_eq!(
        gui.app().engine().stats().device(&gui.device).acquisitions,
        1,
        "tiles never rescan"
    );
}

#[test]
fn with_a_filter_that_reshapes_pages_only_the_rendered_page_is_tiled() {
    let mut gui = Gui::small_flatbed(600);
    gui.harness
        .state_mut()
        .preferences_mut()
        .scan
        .filter
        .rotation = streamscan::filter::Rotation::Cw90;
    gui.harness.step();
    gui.scan();
    // The live texture is the page as it came, unturned: tiles of the
    // turned page would not line up with it.
    gui.click("100 %");
    for _ in 0..20 {
        gui.harness.step();
    }
    assert!(gui.app().tiles().is_empty());
    // The selected page is shown turned, and tiled from the turned page.
    gui.click("Page 1");
    // Unturned the page is 1417 x 945 pixels, turned 945 x 1417.
    gui.until("tiles below the unturned page's height", |app| {
        app.tiles()
            .tiles()
            .filter(|(_, t)| t.texture.is_some())
            .filter_map(|(_, t)| t.spec)
            .any(|s| s.y + s.height > 945)
    });
    let specs: Vec<_> = gui
        .app()
        .tiles()
        .tiles()
        .filter(|(_, t)| t.texture.is_some())
        .filter_map(|(_, t)| t.spec)
        .collect();
    assert!(specs.iter().all(|s| s.x + s.width <= 945), "{specs:?}");
}

/// The app drawn by `ui::app_ui` alone, outside eframe: what the widgets
/// ask for is kept, and applied only when the test says so.
struct Drawn {
    app: StreamscanApp,
    asked: Vec<Action>,
}

/// Steps until `done` holds, folding engine events but applying nothing.
fn drawn_until(harness: &mut Harness<'_, Drawn>, what: &str, done: impl Fn(&Drawn) -> bool) {
    for _ in 0..STEP_CAP {
        if done(harness.state()) {
            return;
        }
        harness.step();
        std::thread::yield_now();
    }
    panic!("gave up waiting for {what}");
}

#[test]
fn the_widgets_only_read_the_app_and_what_they_ask_for_is_applied_after() {
    let root = tempfile::tempdir().expect("temp dir");
    let storage = root.path().join("storage");
    std::fs::create_dir_all(&storage).expect("storage dir");
    let device = sim_id("", &storage);
    let gate = Arc::new(Gate::default());
    let mut app = StreamscanApp::with_context(
        &egui::Context::default(),
        options(root.path(), &device, &gate),
    );
    app.preferences_mut().destination.folder = root.path().join("out");
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(
            |ui, drawn: &mut Drawn| {
                drawn.app.poll(ui.ctx());
                let asked = streamscan::ui::app_ui(ui, &drawn.app);
                drawn.asked.extend(asked);
            },
            Drawn {
                app,
                asked: Vec::new(),
            },
        );
    drawn_until(&mut harness, "the device is listed", |d| {
        d.app.selected_device().is_some_and(|d| d.items.is_some())
    });
    let asked = &harness.state().asked;
    assert!(
        asked.is_empty(),
        "drawing alone asks for nothing: {asked:?}"
    );

    // An edited setting is asked for as a whole; the app keeps its own
    // until the action is applied.
    harness.get_by_label("Deskew").click();
    harness.step();
    harness.step();
    let mut deskewed = harness.state().app.preferences().scan.clone();
    assert!(!deskewed.filter.deskew);
    deskewed.filter.deskew = true;
    assert_eq!(
        harness.state().asked,
        [Action::SetScanSettings(deskewed.clone())]
    );

    harness.get_by_label("Scan").click();
    harness.step();
    harness.step();
    let drawn = harness.state();
    assert_eq!(drawn.asked.last(), Some(&Action::StartScan));
    assert!(!drawn.app.is_scanning(), "the widgets start nothing");
    assert!(!drawn.app.preferences().scan.filter.deskew);

    // Applied in order, they do what the widgets asked for.
    let drawn = harness.state_mut();
    for action in std::mem::take(&mut drawn.asked) {
        drawn.app.apply(action);
    }
    assert_eq!(drawn.app.preferences().scan, deskewed);
    assert!(drawn.app.is_scanning());
    drawn_until(&mut harness, "the scan to end", |d| !d.app.is_scanning());
    assert_eq!(harness.state().app.strip().pages().len(), 1);
    assert_eq!(pages_in(&root.path().join("out")), vec![1]);
}

/// A network back end whose devices never answer: an address
/// `http://...` becomes the id `net:http://...`.
struct Unreachable;

impl Backend for Unreachable {
    fn prefix(&self) -> &str {
        "net"
    }
    fn parse(&self, rest: &str) -> Result<(), String> {
        if rest.starts_with("http://") {
            Ok(())
        } else {
            Err(String::from("not an http:// address"))
        }
    }
    fn open(&self, _id: &str, rest: &str) -> Result<Box<dyn Driver>, DriverError> {
        Err(DriverError::Communication(format!("no answer from {rest}")))
    }
    fn discover(
        &self,
        _found: &mut dyn FnMut(DeviceInfo),
        _cancel: &CancelToken,
    ) -> Result<(), DriverError> {
        Ok(())
    }
    fn id_for_address(&self, address: &str) -> Option<String> {
        address
            .starts_with("http://")
            .then(|| format!("net:{address}"))
    }
}

#[test]
fn a_scanner_added_by_address_is_listed_remembered_and_removable() {
    const ADDED: &str = "net:http://10.0.0.9/eSCL/";
    let root = tempfile::tempdir().expect("temp dir");
    let device = sim_id("pages=1", &root.path().join("storage"));
    let gate = Arc::new(Gate::default());
    let start = |root: &Path| {
        let mut opts = options(root, &device, &gate);
        opts.engine.registry = opts.engine.registry.clone().with(Arc::new(Unreachable));
        Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .build_eframe(move |cc| StreamscanApp::new(cc, opts))
    };
    let until = |harness: &mut Harness<'_, StreamscanApp>,
                 what: &str,
                 done: &dyn Fn(&StreamscanApp) -> bool| {
        for _ in 0..STEP_CAP {
            if done(harness.state()) {
                return;
            }
            harness.step();
            std::thread::yield_now();
        }
        panic!("gave up waiting for {what}");
    };
    let address_field = |harness: &mut Harness<'_, StreamscanApp>| {
        // A new window is sized in an invisible first frame.
        harness.step();
        harness.step();
        harness
            .get_by_role_and_label(egui::Role::TextInput, "Scanner address")
            .focus();
    };
    let mut harness = start(root.path());
    until(&mut harness, "the virtual scanner", &|app| {
        app.selected_device().is_some_and(|d| d.items.is_some())
    });

    // Something no back end understands: the window says so and stays.
    harness.get_by_label("Add scanner by address…").click();
    harness.step();
    harness.step();
    assert!(
        harness.state().adding_device().is_some(),
        "the window opens"
    );
    address_field(&mut harness);
    harness.step();
    harness
        .get_by_role_and_label(egui::Role::TextInput, "Scanner address")
        .type_text("printer-upstairs");
    harness.step();
    harness.get_by_label("Add").click();
    harness.step();
    harness.step();
    let error = harness
        .state()
        .adding_device()
        .and_then(|a| a.error.clone())
        .expect("the window stays open with the reason");
    assert!(error.contains("neither a device id"), "{error}");
    assert!(
        harness
            .query_by_label_contains("neither a device id")
            .is_some()
    );
    assert_eq!(harness.state().devices().len(), 1);
    // The window's Cancel, not the toolbar's at the top.
    harness
        .get_all_by_label("Cancel")
        .find(|n| n.rect().min.y > 100.0)
        .expect("the window's Cancel")
        .click_accesskit();
    harness.step();
    harness.step();
    assert!(harness.state().adding_device().is_none());

    // A network address: listed, selected, and it says it does not answer.
    harness.get_by_label("Add scanner by address…").click();
    harness.step();
    harness.step();
    address_field(&mut harness);
    harness.step();
    harness
        .get_by_role_and_label(egui::Role::TextInput, "Scanner address")
        .type_text("http://10.0.0.9/eSCL/");
    harness.step();
    harness.key_press(egui::Key::Enter);
    harness.step();
    harness.step();
    assert!(harness.state().adding_device().is_none());
    assert_eq!(
        harness
            .state()
            .selected_device()
            .map(|d| d.info.id.as_str()),
        Some(ADDED)
    );
    until(&mut harness, "the added scanner's error", &|app| {
        app.selected_device().is_some_and(|d| d.error.is_some())
    });
    assert!(harness.query_by_label_contains("(unavailable)").is_some());
    assert!(
        harness
            .query_by_label_contains("no answer from http://10.0.0.9/eSCL/")
            .is_some()
    );
    assert_eq!(harness.state().preferences().added_devices, vec![ADDED]);
    harness
        .state_mut()
        .save_preferences()
        .expect("settings saved");
    drop(harness);

    // The next start lists it again (discovery never finds it).
    let mut harness = start(root.path());
    until(&mut harness, "the added scanner, listed again", &|app| {
        app.devices()
            .iter()
            .any(|d| d.info.id == ADDED && d.error.is_some())
    });
    harness.get_by_label("Remove").click();
    harness.step();
    harness.step();
    assert!(harness.state().devices().iter().all(|d| d.info.id != ADDED));
    assert!(harness.state().preferences().added_devices.is_empty());
    let (checked, violations) = harness.state().checked_traces();
    assert!(
        violations.is_empty(),
        "{violations:?} after {checked} traces"
    );
}
