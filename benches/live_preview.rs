//! Figures of the live preview while a 600 dpi colour A4 page streams at the
//! virtual scanner's real pace (25 pages a minute at 300 dpi, so a 600 dpi
//! page takes 4.8 s): the whole desktop app runs in an egui_kittest
//! harness on the real clock, stepped at 60 frames a second.
//!
//! - **Band to texture**: from the moment the engine receives a band of
//!   device rows to the end of the UI frame that uploaded its preview rows
//!   with `set_partial` (the texture delta is then in the renderer's hands).
//! - **Frame time**: CPU time of one frame: the app's `ui` (draining events,
//!   uploading bands, drawing), egui's layout, tessellation of the frame's
//!   shapes, and copying the frame's texture deltas into a CPU-side texture
//!   store the way a renderer stages them for the GPU. The GPU itself is not
//!   measured (these machines have none).
//!
//! `cargo bench --bench live_preview` (about 40 s after the build) prints
//! p50 / p90 / p99 / max of both, over `PAGES` pages (default 2).

use egui_kittest::{Harness, TestRenderer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamscan::app::{AppOptions, ScriptedDialogs, StreamscanApp};
use streamscan::engine::EngineConfig;
use streamscan::transfer::{ColorMode, PageSize, Source};

/// One frame at 60 Hz.
const FRAME: Duration = Duration::from_micros(16_667);

/// Textures by id: width and pixels.
type TextureStore = HashMap<egui::TextureId, (usize, Vec<egui::Color32>)>;

/// A renderer stand-in: keeps every texture in CPU memory and applies each
/// delta to it (whole images and partial updates), as a real renderer
/// copies them into GPU staging buffers.
#[derive(Clone, Default)]
struct CpuTextures {
    store: Arc<Mutex<TextureStore>>,
}

impl TestRenderer for CpuTextures {
    fn handle_delta(&mut self, delta: &mut egui::TexturesDelta) {
        let mut store = self.store.lock().expect("texture store");
        for (id, image) in delta
            .set
            .iter()
            .flat_map(|(id, d)| d.iter().map(move |d| (id, d)))
        {
            let egui::ImageData::Color(color) = &image.image;
            let [w, h] = color.size;
            match image.pos {
                None => {
                    store.insert(*id, (w, color.pixels.clone()));
                }
                Some([x, y]) => {
                    if let Some((width, pixels)) = store.get_mut(id) {
                        for row in 0..h {
                            let at = (y + row) * *width + x;
                            if let Some(dst) = pixels.get_mut(at..at + w) {
                                dst.copy_from_slice(&color.pixels[row * w..(row + 1) * w]);
                            }
                        }
                    }
                }
            }
        }
        for id in &delta.free {
            store.remove(id);
        }
        delta.clear();
    }
}

fn percentiles(name: &str, mut values: Vec<Duration>) {
    if values.is_empty() {
        println!("{name}: no samples");
        return;
    }
    values.sort_unstable();
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms max={:.2} ms",
        values.len(),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(*values.last().unwrap_or(&Duration::ZERO))
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not used here.
    let pages: u32 = std::env::var("PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let root = tempfile::tempdir().expect("temp dir");
    let storage = root.path().join("storage");
    std::fs::create_dir_all(&storage).expect("storage");
    let device = format!("sim:warmup=0,pages={pages},storage={}", storage.display());
    let options = AppOptions {
        engine: EngineConfig {
            cache_pages: 4,
            ..EngineConfig::default()
        },
        data_dir: root.path().join("data"),
        device: Some(device.clone()),
        dialogs: Arc::new(ScriptedDialogs::default()),
        on_event: None,
    };
    let textures = CpuTextures::default();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .renderer(textures.clone())
        .build_eframe(move |cc| StreamscanApp::new(cc, options));
    {
        let prefs = harness.state_mut().preferences_mut();
        prefs.scan.source = Source::Feeder;
        prefs.scan.pages = pages;
        prefs.scan.dpi = 600;
        prefs.scan.mode = ColorMode::Color;
        prefs.scan.size = PageSize::A4;
        prefs.destination.folder = root.path().join("out");
        prefs.destination.pattern = String::from("page-{n}");
    }
    for _ in 0..30 {
        harness.step();
    }
    let started = Instant::now();
    harness.state_mut().start_scan();
    let mut frame_times = Vec::new();
    let mut latencies = Vec::new();
    let mut next = Instant::now();
    let mut frames = 0u64;
    while harness.state().is_scanning() || frames < 5 {
        let begin = Instant::now();
        harness.step();
        let shapes = harness.output().shapes.clone();
        let ppp = harness.output().pixels_per_point;
        let primitives = harness.ctx.tessellate(shapes, ppp);
        std::hint::black_box(primitives);
        let end = Instant::now();
        let streaming = harness
            .state()
            .live_page()
            .is_some_and(|l| l.partial_uploads > 0);
        if let Some(live) = harness.state_mut().live_page_mut() {
            latencies.extend(live.take_arrivals().into_iter().map(|a| end - a));
        }
        if streaming && harness.state().is_scanning() {
            frame_times.push(end - begin);
        }
        frames += 1;
        next += FRAME;
        let now = Instant::now();
        if next > now {
            // Waiting for the next frame's deadline is the display's pace.
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the scan did not end"
        );
    }
    println!(
        "{pages} page(s) of 600 dpi colour A4 in {:.1} s, {frames} frames; status: {}",
        started.elapsed().as_secs_f64(),
        harness.state().status()
    );
    percentiles("band to texture", latencies);
    percentiles("frame time while streaming", frame_times);
}
