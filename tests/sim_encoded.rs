//! The virtual scanner sending encoded pages (`format=jpeg|png`), driven
//! through `streamscan::transfer::Transfer` like any eSCL device: bodies
//! pass through untouched into files of their own format, are decoded into
//! other formats, and faults cut a body off without harming the pages
//! before it. Every run's trace goes through the message-order checker
//! (`support::run`). With `size=auto` a JPEG body says height 0 and gives
//! its height in a DNL segment at the end; such pages arrive at their size.

mod support;

use std::sync::Arc;
use streamscan::device::sim::BodyFormat;
use streamscan::device::sim::encode::{encode_page, frame_height};
use streamscan::output::FileFormat;
use streamscan::raster::{Page, PageHeader};
use streamscan::transfer::{
    ColorMode, MessageKind, Outcome, PageSize, ScanSettings, Source, StatusCode, TraceEvent,
};
use support::*;

/// Pages from the feeder at 75 dpi into one stream per page of `format`.
fn feeder(format: FileFormat) -> ScanSettings {
    ScanSettings {
        source: Source::Feeder,
        dpi: 75,
        format,
        ..ScanSettings::default()
    }
}

/// Runs `rest` (with `speed=max`) from the feeder into `settings`.
fn scan(rest: &str, settings: &ScanSettings, options: RunOptions) -> (Run, MemCallback) {
    let dir = tmp();
    let mut driver = sim(&format!("speed=max,warmup=0,{rest}"), dir.path());
    let mut cb = MemCallback::default();
    let r = run(&mut driver, "Feeder", settings, &mut cb, options);
    (r, cb)
}

/// The pages the same scanner sends as raw bands, decoded from lossless
/// PNG files (RGB, at 75 dpi).
fn raw_pages(rest: &str, settings: &ScanSettings) -> Vec<Page> {
    let settings = ScanSettings {
        format: FileFormat::Png,
        ..settings.clone()
    };
    let (r, cb) = scan(
        &format!("{rest},format=raw"),
        &settings,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    cb.completed()
        .iter()
        .map(|png| {
            let page = decode(png);
            Page {
                header: PageHeader {
                    dpi_x: settings.dpi,
                    dpi_y: settings.dpi,
                    ..page.header
                },
                data: page.data,
            }
        })
        .collect()
}

/// The mean absolute difference of two RGB pages of the same size.
fn mean_error(a: &Page, b: &Page) -> f64 {
    assert_eq!(
        (a.header.width, a.height()),
        (b.header.width, b.height()),
        "page sizes"
    );
    let total: u64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.data.len().max(1) as f64
}

fn is_whole_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9])
}

#[test]
fn jpeg_pages_pass_through_untouched_into_jpeg_files() {
    let settings = feeder(FileFormat::Jpeg);
    let (r, cb) = scan("pages=2,format=jpeg", &settings, RunOptions::default());
    assert_eq!(r.result, Ok(Outcome::Completed));
    let bodies = cb.completed();
    assert_eq!(bodies.len(), 2);
    let raw = raw_pages("pages=2", &settings);
    for (n, (body, page)) in bodies.iter().zip(&raw).enumerate() {
        assert!(is_whole_jpeg(body), "page {}: SOI ... EOI", n + 1);
        assert_eq!(frame_height(body), Some(page.height() as u16));
        // Exactly the bytes the scanner encodes from the page it scanned.
        let expected = encode_page(page, BodyFormat::Jpeg, true).expect("encodes");
        assert!(
            expected.bytes == *body,
            "page {}: the body was changed",
            n + 1
        );
        assert!(mean_error(&decode(body), page) < 6.0, "page {}", n + 1);
    }
}

#[test]
fn jpeg_pages_are_decoded_into_png_files_of_the_page_size() {
    let settings = feeder(FileFormat::Png);
    let (r, cb) = scan("pages=2,format=jpeg", &settings, RunOptions::default());
    assert_eq!(r.result, Ok(Outcome::Completed));
    let files = cb.completed();
    let raw = raw_pages("pages=2", &settings);
    assert_eq!(files.len(), 2);
    for (file, page) in files.iter().zip(&raw) {
        assert_eq!(&file[1..4], b"PNG");
        let decoded = decode(file);
        assert!(mean_error(&decoded, page) < 6.0, "close to the raw page");
    }
}

#[test]
fn png_pages_pass_through_into_png_and_decode_into_jpeg() {
    let settings = feeder(FileFormat::Png);
    let (r, cb) = scan("pages=2,format=png", &settings, RunOptions::default());
    assert_eq!(r.result, Ok(Outcome::Completed));
    let raw = raw_pages("pages=2", &settings);
    for (file, page) in cb.completed().iter().zip(&raw) {
        let expected = encode_page(page, BodyFormat::Png, true).expect("encodes");
        assert!(expected.bytes == *file, "the PNG body was changed");
    }
    let (r, cb) = scan(
        "pages=2,format=png",
        &feeder(FileFormat::Jpeg),
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    for (file, page) in cb.completed().iter().zip(&raw) {
        assert!(is_whole_jpeg(file));
        assert!(mean_error(&decode(file), page) < 6.0);
    }
}

#[test]
fn gray_and_black_and_white_duplex_pages_arrive_with_their_size() {
    for mode in [ColorMode::Gray, ColorMode::Bw] {
        for format in ["jpeg", "png"] {
            let settings = ScanSettings {
                source: Source::Duplex,
                mode,
                ..feeder(FileFormat::Png)
            };
            let (r, cb) = scan(
                &format!("pages=1,format={format}"),
                &settings,
                RunOptions::default(),
            );
            assert_eq!(r.result, Ok(Outcome::Completed), "{mode:?} {format}");
            let raw = raw_pages("pages=1", &settings);
            let files = cb.completed();
            assert_eq!(files.len(), 2, "{mode:?} {format}: front and back");
            for (file, page) in files.iter().zip(&raw) {
                let error = mean_error(&decode(file), page);
                assert!(error < 12.0, "{mode:?} {format}: mean error {error}");
            }
        }
    }
}

#[test]
fn png_pages_of_unknown_length_are_sent_unannounced_and_still_arrive() {
    let settings = ScanSettings {
        size: PageSize::Auto,
        ..feeder(FileFormat::Png)
    };
    let (r, cb) = scan("pages=2,format=png", &settings, RunOptions::default());
    assert_eq!(r.result, Ok(Outcome::Completed));
    let raw = raw_pages("pages=2", &settings);
    let files = cb.completed();
    assert_eq!(files.len(), 2);
    for (file, page) in files.iter().zip(&raw) {
        assert_eq!(mean_error(&decode(file), page), 0.0);
    }
}

#[test]
fn jpeg_pages_with_the_height_in_a_dnl_segment_arrive_at_their_size() {
    let settings = ScanSettings {
        size: PageSize::Auto,
        ..feeder(FileFormat::Png)
    };
    let (r, cb) = scan("pages=2,format=jpeg", &settings, RunOptions::default());
    assert_eq!(r.result, Ok(Outcome::Completed));
    let raw = raw_pages("pages=2", &settings);
    let files = cb.completed();
    assert_eq!(files.len(), 2);
    for (file, page) in files.iter().zip(&raw) {
        let decoded = decode(file);
        assert_eq!(decoded.header.height, page.header.height);
        assert!(mean_error(&decoded, page) < 6.0, "close to the raw page");
    }
}

#[test]
fn dnl_jpeg_pages_pass_through_untouched_and_still_reach_the_observer() {
    let settings = ScanSettings {
        size: PageSize::Auto,
        ..feeder(FileFormat::Jpeg)
    };
    let taps = Arc::new(TapLog::default());
    let (r, cb) = scan(
        "pages=2,format=jpeg",
        &settings,
        RunOptions::observed(taps.clone()),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    let raw = raw_pages("pages=2", &settings);
    let files = cb.completed();
    assert_eq!(files.len(), 2);
    let taps = taps.taps();
    for (n, (body, page)) in files.iter().zip(&raw).enumerate() {
        let expected = encode_page(page, BodyFormat::Jpeg, false).expect("encodes");
        assert!(
            expected.bytes == *body,
            "page {}: the body was changed",
            n + 1
        );
        assert_eq!(
            frame_height(body),
            Some(0),
            "page {}: height deferred",
            n + 1
        );
        // The observer saw every row of the page, decoded from the body.
        let page_no = n as u32 + 1;
        let start = taps
            .iter()
            .position(|t| *t == Tap::Data(page_no))
            .expect("page data seen");
        let rows: u32 = taps[start..]
            .iter()
            .take_while(|t| !matches!(t, Tap::End(..)))
            .filter_map(|t| match t {
                Tap::Raw(band) => Some(band.rows),
                _ => None,
            })
            .sum();
        assert_eq!(Some(rows), page.header.height, "page {page_no}");
    }
}

#[test]
fn a_jam_in_the_middle_of_an_encoded_page_keeps_the_page_before_it() {
    let settings = feeder(FileFormat::Jpeg);
    let (clean, clean_cb) = scan("pages=3,format=jpeg", &settings, RunOptions::default());
    assert_eq!(clean.result, Ok(Outcome::Completed));
    let whole = clean_cb.completed();
    let (r, cb) = scan(
        "pages=3,format=jpeg,fault=jam@2",
        &settings,
        RunOptions::default(),
    );
    let error = r.result.expect_err("the jam is not handled");
    assert_eq!(error.code, StatusCode::PAPER_JAM);
    assert_eq!(error.page, Some(2));
    assert_eq!(error.pages_completed, 1);
    assert_eq!(cb.completed(), vec![whole[0].clone()], "page 1 is intact");
    assert_eq!(cb.discarded(), 1, "the cut-off page is dropped");
    // The body stopped part-way: the jam fired mid-body, not at its end.
    let written = cb.stream(1).written();
    assert!(
        written > 0 && written < whole[1].len() as u64,
        "{written} of {} bytes of page 2 were written",
        whole[1].len()
    );
}

#[test]
fn a_handled_jam_sends_the_whole_body_again() {
    let settings = feeder(FileFormat::Jpeg);
    let (clean, clean_cb) = scan("pages=3,format=jpeg", &settings, RunOptions::default());
    assert_eq!(clean.result, Ok(Outcome::Completed));
    let (r, cb) = scan(
        "pages=3,format=jpeg,fault=jam@2",
        &settings,
        RunOptions {
            handler: Some(ScriptedHandler::retry_errors()),
            ..RunOptions::default()
        },
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert!(
        r.trace
            .events
            .contains(&TraceEvent::PageRewound { page: 2 })
    );
    assert_eq!(cb.completed(), clean_cb.completed());
}

#[test]
fn a_disconnect_or_open_cover_mid_body_fails_the_job_after_page_one() {
    for fault in ["disconnect@2", "coveropen@2"] {
        let (r, cb) = scan(
            &format!("pages=3,format=png,fault={fault}"),
            &feeder(FileFormat::Png),
            RunOptions::default(),
        );
        let error = r.result.expect_err(fault);
        assert_eq!(error.page, Some(2), "{fault}");
        assert_eq!(cb.completed().len(), 1, "{fault}");
        assert!(decode(&cb.completed()[0]).header.width > 0);
    }
}

#[test]
fn a_hang_mid_body_ends_in_the_no_data_timeout() {
    let (r, cb) = scan(
        "pages=2,format=jpeg,fault=hang@1",
        &feeder(FileFormat::Jpeg),
        RunOptions::default(),
    );
    assert!(r.result.is_err(), "{:?}", r.result);
    assert!(cb.completed().is_empty());
    assert_eq!(r.totals.abandoned, 1);
}

#[test]
fn a_cancel_mid_body_abandons_the_page() {
    let mut statuses = 0;
    let mut cb = MemCallback::cancelling(move |m| {
        if m.kind == MessageKind::Status && m.page == 2 {
            statuses += 1;
        }
        statuses == 3
    });
    let dir = tmp();
    let mut driver = sim("speed=max,warmup=0,pages=3,format=jpeg", dir.path());
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(FileFormat::Jpeg),
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    assert_eq!(cb.completed().len(), 1);
    assert_eq!(r.totals.abandoned, 1);
}

#[test]
fn an_encoded_page_reports_progress_as_often_as_raw_bands_up_to_100() {
    let settings = feeder(FileFormat::Jpeg);
    let percents = |format: &str| {
        let (r, cb) = scan(
            &format!("pages=1,format={format}"),
            &settings,
            RunOptions::default(),
        );
        assert_eq!(r.result, Ok(Outcome::Completed), "{format}");
        cb.messages
            .iter()
            .filter(|m| m.kind == MessageKind::Status && m.page == 1)
            .map(|m| m.percent)
            .collect::<Vec<i32>>()
    };
    let encoded = percents("jpeg");
    assert_eq!(encoded.len(), percents("raw").len());
    assert!(encoded.windows(2).all(|w| w[0] <= w[1]), "{encoded:?}");
    assert_eq!(encoded.last(), Some(&100));
}
