//! The preview cache through the engine: scanned pages are kept
//! unfiltered, re-rendered with new filter settings without any device
//! I/O, exported again after edits, and forgotten on request.

mod support;

use streamscan::engine::{Command, Event, ExportPage, OutputTarget, RenderedTile, TileSpec};
use streamscan::filter::{FilterSettings, PageKey, Rotation};
use streamscan::output::FileFormat;
use streamscan::transfer::{ScanSettings, Source};
use support::*;

fn scan_two_pages(harness: &mut EngineHarness, device: &str, out: &std::path::Path) {
    scan_pages(
        harness,
        device,
        out,
        2,
        75,
        streamscan::transfer::ColorMode::Color,
    );
    harness.finish(1).expect("scan succeeds");
}

/// Starts job 1: `pages` feeder pages at `dpi` in `mode`, as PNG files
/// into `out`.
fn scan_pages(
    harness: &mut EngineHarness,
    device: &str,
    out: &std::path::Path,
    pages: u32,
    dpi: u32,
    mode: streamscan::transfer::ColorMode,
) {
    harness.send(Command::Scan {
        job: 1,
        device: device.to_string(),
        settings: ScanSettings {
            source: Source::Feeder,
            dpi,
            mode,
            pages,
            ..Default::default()
        },
        output: files_output(out, "p-{n}.png"),
        interactive: false,
    });
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

/// Starts job 1: `pages` 150 dpi gray feeder pages as PNG files into `out`.
fn scan_gray(harness: &mut EngineHarness, device: &str, out: &std::path::Path, pages: u32) {
    scan_pages(
        harness,
        device,
        out,
        pages,
        150,
        streamscan::transfer::ColorMode::Gray,
    );
}

fn tile(
    harness: &mut EngineHarness,
    request: u64,
    key: PageKey,
    tile: TileSpec,
    settings: FilterSettings,
) -> Result<RenderedTile, String> {
    harness.send(Command::RenderTile {
        request,
        key,
        tile,
        settings,
    });
    match harness.until(
        "a tile",
        |e| matches!(e, Event::TileRendered { request: r, .. } if *r == request),
    ) {
        Event::TileRendered { result, .. } => result,
        _ => unreachable!("matched above"),
    }
}

/// The RGB pixels of `page` inside `spec` (factor 1).
fn region(page: &streamscan::raster::Page, spec: TileSpec) -> Vec<u8> {
    let mut out = Vec::new();
    for y in spec.y..spec.y + spec.height {
        let row = page.row(y);
        out.extend_from_slice(&row[spec.x as usize * 3..(spec.x + spec.width) as usize * 3]);
    }
    out
}

#[test]
fn tiles_of_cached_pages_are_their_full_resolution_pixels_even_when_spilled() {
    let dirs = Dirs::new();
    let mut harness = EngineHarness::start(|_| {});
    let device = sim_id("pages=3,speed=max", &dirs.storage);
    scan_gray(&mut harness, &device, &dirs.out, 3);
    harness.finish(1).expect("scan succeeds");
    let before = harness.engine.stats().device(&device);
    // Page 1 is the oldest: spilled to disk, read back row range only.
    let key = PageKey { job: 1, page: 1 };
    let file = decode(&std::fs::read(dirs.out.join("p-1.png")).expect("page 1"));
    let spec = TileSpec {
        x: 300,
        y: 500,
        width: 256,
        height: 200,
        factor: 1,
    };
    let sharp = tile(&mut harness, 1, key, spec, FilterSettings::default()).expect("tile");
    assert_eq!((sharp.width, sharp.height), (256, 200));
    assert!(!sharp.building);
    assert_eq!(
        (sharp.page_width, sharp.page_height),
        (file.header.width, file.height())
    );
    assert!(
        sharp.rgb == region(&file, spec),
        "the tile is the page's pixels"
    );
    // Shrunk by 4, clipped at the page's right edge.
    let wide = TileSpec {
        x: file.header.width - 100,
        y: 0,
        width: 1024,
        height: 400,
        factor: 4,
    };
    let shrunk = tile(&mut harness, 2, key, wide, FilterSettings::default()).expect("tile");
    assert_eq!(shrunk.spec.width, 100);
    assert_eq!((shrunk.width, shrunk.height), (25, 100));
    let mut part =
        streamscan::raster::Page::filled(100, 400, streamscan::raster::PixelFormat::Rgb8, 150, 0);
    part.data = region(&file, TileSpec { width: 100, ..wide });
    assert_eq!(shrunk.rgb, box_downscale(&part, 4).2);
    // Point operations apply; a page operation cuts from the filtered
    // whole page (a quarter turn swaps its sides).
    let bright = tile(
        &mut harness,
        3,
        key,
        spec,
        FilterSettings {
            brightness: 300,
            ..Default::default()
        },
    )
    .expect("tile");
    let mean = |rgb: &[u8]| rgb.iter().map(|&v| u64::from(v)).sum::<u64>() / rgb.len() as u64;
    assert!(mean(&bright.rgb) > mean(&sharp.rgb) + 20);
    let turned = tile(
        &mut harness,
        4,
        key,
        spec,
        FilterSettings {
            rotation: Rotation::Cw90,
            ..Default::default()
        },
    )
    .expect("tile");
    assert_eq!(
        (turned.page_width, turned.page_height),
        (file.height(), file.header.width)
    );
    // Off the page, too large, or not cached: a clear refusal.
    let off = TileSpec { x: 5000, ..spec };
    assert!(tile(&mut harness, 5, key, off, FilterSettings::default()).is_err());
    let huge = TileSpec {
        width: 4096,
        ..spec
    };
    assert!(tile(&mut harness, 6, key, huge, FilterSettings::default()).is_err());
    let gone = PageKey { job: 7, page: 1 };
    assert!(tile(&mut harness, 7, gone, spec, FilterSettings::default()).is_err());
    assert_eq!(
        harness.engine.stats().device(&device),
        before,
        "tiles never touch the device"
    );
}

#[test]
fn a_tile_of_the_page_being_scanned_holds_the_rows_that_came() {
    let dirs = Dirs::new();
    let mut harness = EngineHarness::start(|_| {});
    let device = sim_id("pages=1", &dirs.storage);
    harness.gate.hold(1);
    scan_gray(&mut harness, &device, &dirs.out, 1);
    let mut bands = 0;
    harness.step_until(1, "a few preview bands", |e| {
        if matches!(e, Event::Preview { .. }) {
            bands += 1;
        }
        bands == 6
    });
    let spec = TileSpec {
        x: 0,
        y: 0,
        width: 512,
        height: 1024,
        factor: 1,
    };
    let key = PageKey { job: 1, page: 1 };
    let partial = tile(&mut harness, 1, key, spec, FilterSettings::default()).expect("tile");
    assert!(partial.building, "cut from the page being built");
    assert!(
        partial.height > 0 && partial.height < 1024,
        "{}",
        partial.height
    );
    assert_eq!(partial.page_height, partial.height);
    harness.gate.release(1);
    harness.finish(1).expect("scan succeeds");
    let file = decode(&std::fs::read(dirs.out.join("p-1.png")).expect("page 1"));
    let rows = TileSpec {
        height: partial.height,
        ..spec
    };
    assert!(
        partial.rgb == region(&file, rows),
        "the rows that had come are the page's final rows"
    );
}

#[test]
fn a_preview_scan_writes_nothing_and_keeps_the_page_for_re_filtering() {
    let dirs = Dirs::new();
    let mut harness = EngineHarness::start(|_| {});
    let device = sim_id("speed=max", &dirs.storage);
    harness.send(Command::Scan {
        job: 1,
        device: device.clone(),
        settings: ScanSettings {
            dpi: 75,
            filter: FilterSettings {
                rotation: Rotation::Cw90,
                ..Default::default()
            },
            ..Default::default()
        },
        output: OutputTarget::Preview,
        interactive: true,
    });
    let summary = harness.finish(1).expect("preview succeeds");
    assert_eq!(summary.totals.delivered, 1);
    assert!(summary.files.is_empty());
    assert!(harness.events_of(1).iter().any(|e| matches!(
        e,
        Event::PageDone {
            page: 1,
            path: None,
            ..
        }
    )));
    let started = harness.events_of(1).into_iter().find_map(|e| match e {
        Event::PageStarted { header, .. } => Some(*header),
        _ => None,
    });
    let header = started.expect("the page started");
    assert!(
        header.width < header.height.unwrap_or(0),
        "not turned: a preview has no page operations"
    );
    assert_eq!(
        harness.engine.cached_pages(),
        vec![PageKey { job: 1, page: 1 }]
    );
    assert!(dir_names(&dirs.out).is_empty(), "nothing written");
}
