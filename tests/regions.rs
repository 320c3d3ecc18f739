//! Segmentation end to end: photos on the virtual scanner's flatbed are
//! found on a quick preview, become Generated region items of the flatbed,
//! and one pass over the flatbed folder (ACQUIRE_CHILDREN) delivers one
//! straightened image per photo.

mod support;

use streamscan::device::sim::render::{PageSpec, render_page};
use streamscan::engine::{Command, Event, OutputTarget};
use streamscan::filter::PageKey;
use streamscan::transfer::codes::download_flags::ACQUIRE_CHILDREN;
use streamscan::transfer::{ItemArea, ItemFlags, Outcome, ScanSettings, Transfer, TransferOptions};
use support::*;

#[test]
fn region_items_are_scanned_in_one_pass_as_straight_images() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut driver = sim("photos=2,warmup=0", dir.path());
    // Where the simulator puts the photos at 150 dpi.
    let placed = render_page(&PageSpec {
        seed: 1,
        dpi: 150,
        photos: 2,
        ..PageSpec::default()
    })
    .regions;
    let areas: Vec<ItemArea> = placed
        .iter()
        .map(|r| ItemArea {
            x_mm: r.x_mm,
            y_mm: r.y_mm,
            width_mm: r.width_mm,
            height_mm: r.height_mm,
            angle_deg: r.angle_deg,
        })
        .collect();
    let mut transfer = Transfer::new(
        &mut driver,
        TransferOptions {
            clock: streamscan::clock::VirtualClock::shared(),
            ..Default::default()
        },
    );
    let items = transfer
        .create_region_items("Flatbed", &areas)
        .expect("regions created");
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i.flags.contains(ItemFlags::GENERATED)));
    let settings = ScanSettings {
        dpi: 150,
        ..Default::default()
    };
    let mut cb = MemCallback::default();
    let result = transfer.download("Flatbed", ACQUIRE_CHILDREN, &settings, &mut cb);
    check_trace("the region download", transfer.trace());
    assert_eq!(result, Ok(Outcome::Completed));
    let names: Vec<String> = cb
        .streams
        .iter()
        .map(|(r, _)| r.item_name.clone())
        .collect();
    assert_eq!(names, vec!["Region 1", "Region 2"]);
    for (bytes, region) in cb.completed().iter().zip(&placed) {
        let page = decode(bytes);
        let expect_w = region.width_mm * 150.0 / 25.4;
        let expect_h = region.height_mm * 150.0 / 25.4;
        assert!((f64::from(page.header.width) - expect_w).abs() <= 2.0);
        assert!((f64::from(page.height()) - expect_h).abs() <= 2.0);
        // Straightened: the print's white border runs along every edge.
        let row = page.row(1);
        let light = row.chunks(3).filter(|p| p[0] > 200 && p[1] > 200).count();
        assert!(
            light * 10 > row.len() / 3 * 8,
            "top edge is the white border"
        );
    }
}

#[test]
fn scan_regions_finds_the_photos_and_saves_one_file_each() {
    let dirs = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let mut harness = EngineHarness::start(|_| {});
    let device = sim_id("photos=3", dirs.path());
    harness.send(Command::ScanRegions {
        job: 1,
        device,
        settings: ScanSettings {
            dpi: 150,
            ..Default::default()
        },
        output: files_output(out.path(), "photo-{n}.png"),
        interactive: false,
        detected: false,
    });
    let summary = harness.finish(1).expect("job succeeds");
    assert_eq!(summary.outcome, Outcome::Completed);
    assert_eq!(summary.totals.delivered, 3, "one image per photo");
    assert_eq!(
        dir_names(out.path()),
        vec!["photo-1.png", "photo-2.png", "photo-3.png"]
    );
    let placed = render_page(&PageSpec {
        seed: 1,
        dpi: 150,
        photos: 3,
        ..PageSpec::default()
    })
    .regions;
    let mut sizes: Vec<(f64, f64)> = summary
        .files
        .iter()
        .map(|f| {
            let page = decode(&std::fs::read(f).expect("file"));
            (
                f64::from(page.header.width) * 25.4 / 150.0,
                f64::from(page.height()) * 25.4 / 150.0,
            )
        })
        .collect();
    let mut expected: Vec<(f64, f64)> = placed.iter().map(|r| (r.width_mm, r.height_mm)).collect();
    let key = |v: &(f64, f64)| (v.0 * v.1 * 100.0) as i64;
    sizes.sort_by_key(key);
    expected.sort_by_key(key);
    for (got, want) in sizes.iter().zip(&expected) {
        assert!(
            (got.0 - want.0).abs() < 3.0 && (got.1 - want.1).abs() < 3.0,
            "photo size {got:?} vs placed {want:?}"
        );
    }
}

#[test]
fn regions_detected_on_the_cached_preview_become_items_and_are_scanned_without_a_new_preview() {
    let dirs = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let mut harness = EngineHarness::start(|_| {});
    let device = sim_id("photos=3,speed=max", dirs.path());
    // A flatbed preview: its page lands in the preview cache.
    harness.send(Command::Scan {
        job: 1,
        device: device.clone(),
        settings: ScanSettings {
            dpi: 75,
            ..Default::default()
        },
        output: OutputTarget::Preview,
        interactive: false,
    });
    assert_eq!(harness.finish(1).map(|s| s.outcome), Ok(Outcome::Completed));
    let after_preview = harness.engine.stats().device(&device);
    let key = PageKey { job: 1, page: 1 };
    harness.send(Command::DetectRegions {
        job: 2,
        device: device.clone(),
        key,
    });
    let found = harness.until("the regions", |e| matches!(e, Event::Regions { .. }));
    let Event::Regions {
        job,
        key: k,
        result,
    } = found
    else {
        unreachable!()
    };
    assert_eq!((job, k), (2, key));
    let found = result.expect("regions found");
    assert_eq!(found.len(), 3, "one item per photo");
    for (region, item) in &found {
        assert!(item.flags.contains(ItemFlags::GENERATED), "{item:?}");
        let area = item.area.expect("a region item has its area");
        assert!((area.x_mm - region.center_x_mm).abs() < 0.01);
        assert!((area.width_mm - region.width_mm).abs() < 0.01);
    }
    assert_eq!(harness.finish(2).map(|s| s.outcome), Ok(Outcome::Completed));
    // Finding them read nothing from the device.
    assert_eq!(harness.engine.stats().device(&device), after_preview);

    harness.send(Command::ScanRegions {
        job: 3,
        device: device.clone(),
        settings: ScanSettings {
            dpi: 150,
            ..Default::default()
        },
        output: files_output(out.path(), "photo-{n}.png"),
        interactive: false,
        detected: true,
    });
    let summary = harness.finish(3).expect("job succeeds");
    assert_eq!(summary.totals.delivered, 3);
    assert_eq!(
        dir_names(out.path()),
        vec!["photo-1.png", "photo-2.png", "photo-3.png"]
    );
    // One pass over the flatbed: no preview scan before it.
    let stats = harness.engine.stats().device(&device);
    assert_eq!(stats.acquisitions, after_preview.acquisitions + 1);
    for ((region, _), file) in found.iter().zip(&summary.files) {
        let page = decode(&std::fs::read(file).expect("file"));
        let width_mm = f64::from(page.header.width) * 25.4 / 150.0;
        assert!(
            (width_mm - region.width_mm).abs() < 3.0,
            "{width_mm} vs {region:?}"
        );
    }
}

#[test]
fn regions_of_a_page_not_cached_or_a_scan_of_none_are_clear_errors() {
    let dirs = tempfile::tempdir().expect("temp dir");
    let mut harness = EngineHarness::start(|_| {});
    let device = sim_id("photos=2,speed=max", dirs.path());
    harness.send(Command::DetectRegions {
        job: 1,
        device: device.clone(),
        key: PageKey { job: 9, page: 1 },
    });
    let error = harness.finish(1).expect_err("nothing cached");
    assert!(error.message.contains("not cached"), "{}", error.message);
    harness.send(Command::ScanRegions {
        job: 2,
        device,
        settings: ScanSettings::default(),
        output: OutputTarget::Preview,
        interactive: false,
        detected: true,
    });
    let error = harness.finish(2).expect_err("no regions yet");
    assert!(error.message.contains("no photos"), "{}", error.message);
}
