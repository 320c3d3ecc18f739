//! The preview cache through the engine: scanned pages are kept
//! unfiltered, re-rendered with new filter settings without any device
//! I/O, exported again after edits, and forgotten on request.

mod support;

use streamscan::engine::{Command, Event, ExportPage, OutputTarget};
use streamscan::filter::{FilterSettings, PageKey, Rotation};
use streamscan::output::{FileFormat, OutputPattern};
use streamscan::transfer::{ScanSettings, Source};
use support::*;

fn scan_two_pages(harness: &mut EngineHarness, device: &str, out: &std::path::Path) {
    let pattern =
        OutputPattern::parse(&out.join("p-{n}.png").display().to_string()).expect("pattern");
    harness.send(Command::Scan {
        job: 1,
        device: device.to_string(),
        settings: ScanSettings {
            source: Source::Feeder,
            dpi: 75,
            pages: 2,
            ..Default::default()
        },
        output: OutputTarget::Files {
            pattern,
            overwrite: false,
        },
        interactive: false,
    });
    harness.finish(1).expect("scan succeeds");
}

#[test]
fn a_filter_change_rerenders_the_cached_page_without_device_io() {
    let storage = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let mut harness = EngineHarness::start(|_| {});
    let device = sim_id("pages=2", storage.path());
    scan_two_pages(&mut harness, &device, out.path());
    let key = PageKey { job: 1, page: 2 };
    assert_eq!(
        harness.engine.cached_pages(),
        vec![PageKey { job: 1, page: 1 }, key]
    );
    let before = harness.engine.stats().device(&device);
    let render = |harness: &mut EngineHarness, request: u64, brightness: i32| {
        harness.send(Command::RenderPreview {
            request,
            key,
            settings: FilterSettings {
                brightness,
                ..Default::default()
            },
            max_width: 200,
            max_height: 300,
        });
        match harness.until(
            "a rendered preview",
            |e| matches!(e, Event::PreviewRendered { request: r, .. } if *r == request),
        ) {
            Event::PreviewRendered { result, .. } => result.expect("rendered"),
            _ => unreachable!("matched above"),
        }
    };
    let plain = render(&mut harness, 1, 0);
    let bright = render(&mut harness, 2, 400);
    assert!(plain.width <= 200 && plain.height <= 300);
    assert_eq!((plain.width, plain.height), (bright.width, bright.height));
    let mean = |rgb: &[u8]| rgb.iter().map(|&v| u64::from(v)).sum::<u64>() / rgb.len() as u64;
    assert!(mean(&bright.rgb) > mean(&plain.rgb) + 20, "brighter");
    assert_eq!(
        harness.engine.stats().device(&device),
        before,
        "no acquisition and no byte read from the device"
    );
}

#[test]
fn cached_pages_export_again_with_edits_and_can_be_forgotten() {
    let storage = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let mut harness = EngineHarness::start(|_| {});
    let device = sim_id("pages=2", storage.path());
    scan_two_pages(&mut harness, &device, out.path());
    // Reversed order, page 1 turned 90 degrees, into one TIFF.
    let doc = out.path().join("edited.tiff");
    harness.send(Command::Export {
        job: 2,
        pages: vec![
            ExportPage {
                key: PageKey { job: 1, page: 2 },
                rotation: Rotation::None,
            },
            ExportPage {
                key: PageKey { job: 1, page: 1 },
                rotation: Rotation::Cw90,
            },
        ],
        settings: FilterSettings::default(),
        format: FileFormat::Tiff,
        quality: 85,
        output: OutputTarget::Document {
            path: doc.clone(),
            overwrite: false,
        },
    });
    let summary = harness.finish(2).expect("export succeeds");
    assert_eq!(summary.totals.delivered, 2);
    let pages = tiff_pages(&std::fs::read(&doc).expect("document")).expect("valid TIFF");
    assert_eq!(pages.len(), 2);
    assert_eq!(read_strip(&pages[0]).expect("strip").page, 2);
    assert!(pages[1].header.width > pages[1].height(), "page 1 turned");
    harness.send(Command::ForgetPages { key: None });
    // The studio thread handles commands in order: after a render request
    // answered "not cached", the cache is known to be empty.
    harness.send(Command::RenderPreview {
        request: 9,
        key: PageKey { job: 1, page: 1 },
        settings: FilterSettings::default(),
        max_width: 10,
        max_height: 10,
    });
    let answer = harness.until("the render answer", |e| {
        matches!(e, Event::PreviewRendered { request: 9, .. })
    });
    assert!(matches!(
        answer,
        Event::PreviewRendered { result: Err(_), .. }
    ));
    assert!(harness.engine.cached_pages().is_empty());
}
