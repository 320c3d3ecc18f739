//! Pages a device sends already encoded (JPEG and PNG bodies, as every
//! eSCL scanner does) are first class: their rows reach the observer (the
//! live preview and the preview cache), the filter and the encoder while the
//! body is still coming; bytes that pass through untouched still reach the
//! observer; a truncated or corrupt body ends its page with a clear error
//! and the pages before it stay intact. Every run goes through the shared
//! message-order checker (`support::run`).

mod support;

use std::sync::Arc;
use streamscan::output::FileFormat;
use streamscan::transfer::{PageEnd, ScanSettings, StatusCode};
use support::*;

/// A picture tall enough that half its body holds many complete rows.
fn picture(width: u32, height: u32) -> image::RgbImage {
    let mut image = image::RgbImage::new(width, height);
    for (x, y, p) in image.enumerate_pixels_mut() {
        *p = image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]);
    }
    image
}

fn jpeg(image: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(image)
        .expect("encode");
    out
}

fn png(image: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode");
    out
}

fn raw_rows(log: &TapLog) -> u32 {
    log.taps()
        .iter()
        .map(|t| match t {
            Tap::Raw(band) => band.rows,
            _ => 0,
        })
        .sum()
}

/// Runs `body` through a scripted device held after half its bytes, and
/// returns the rows the observer had seen while the device was held, and
/// the job's end.
fn held_half_way(body: Vec<u8>, format: FileFormat, into: FileFormat) -> (u32, Run, MemCallback) {
    let gate = BodyGate::after_bytes(body.len() / 2);
    let mut device = ScriptedDriver::encoded(body, format, 4096).gated(&gate);
    let log = Arc::new(TapLog::default());
    let observer = log.clone();
    let settings = ScanSettings {
        format: into,
        ..ScanSettings::default()
    };
    let job = std::thread::spawn(move || {
        let mut cb = MemCallback::default();
        let r = run(
            &mut device,
            "Flatbed",
            &settings,
            &mut cb,
            RunOptions::observed(observer),
        );
        (r, cb)
    });
    gate.wait_until_reached();
    let seen = raw_rows(&log);
    gate.open();
    let (r, cb) = job.join().expect("the job thread");
    (seen, r, cb)
}

#[test]
fn jpeg_rows_reach_the_observer_while_the_body_is_still_coming() {
    let image = picture(320, 480);
    let (seen, r, cb) = held_half_way(jpeg(&image), FileFormat::Jpeg, FileFormat::Png);
    assert!(seen > 0, "no row had reached the observer at half the body");
    assert!(seen < 480, "the whole page came before the body did");
    assert!(r.result.is_ok(), "{:?}", r.result);
    let page = decode(&cb.completed()[0]);
    assert_eq!((page.header.width, page.height()), (320, 480));
}

#[test]
fn png_rows_reach_the_observer_while_the_body_is_still_coming() {
    let image = picture(600, 800);
    let body = png(&image);
    let (seen, r, cb) = held_half_way(body, FileFormat::Png, FileFormat::Tiff);
    assert!(seen > 0, "no row had reached the observer at half the body");
    assert!(seen < 800);
    assert!(r.result.is_ok(), "{:?}", r.result);
    let tiffs = tiff_images(&cb.completed()[0]);
    assert_eq!(tiffs.expect("a TIFF").len(), 1);
}

#[test]
fn untouched_bytes_still_reach_the_preview_and_the_cache() {
    let image = picture(320, 480);
    let body = jpeg(&image);
    let (seen, r, cb) = held_half_way(body.clone(), FileFormat::Jpeg, FileFormat::Jpeg);
    assert!(r.result.is_ok(), "{:?}", r.result);
    assert_eq!(
        cb.completed(),
        vec![body],
        "the file holds the device's bytes"
    );
    assert!(seen > 0, "the passing-through page was shown while it came");
}

#[test]
fn the_observer_sees_every_row_of_a_passed_through_page() {
    let image = picture(200, 150);
    let body = png(&image);
    let mut device = ScriptedDriver::encoded(body.clone(), FileFormat::Png, 1000);
    let log = Arc::new(TapLog::default());
    let settings = ScanSettings {
        format: FileFormat::Png,
        ..ScanSettings::default()
    };
    let mut cb = MemCallback::default();
    let r = run(
        &mut device,
        "Flatbed",
        &settings,
        &mut cb,
        RunOptions::observed(log.clone()),
    );
    assert!(r.result.is_ok(), "{:?}", r.result);
    assert_eq!(cb.completed(), vec![body]);
    assert_eq!(raw_rows(&log), 150);
    assert!(
        log.ends()
            .iter()
            .any(|t| matches!(t, Tap::End(_, PageEnd::Kept { .. }))),
        "{:?}",
        log.ends()
    );
    // The rows are the picture's.
    let first = log
        .taps()
        .into_iter()
        .find_map(|t| match t {
            Tap::Raw(band) => Some(band),
            _ => None,
        })
        .expect("a band");
    assert_eq!(&first.data[..6], &image.as_raw()[..6]);
}

#[test]
fn a_truncated_or_corrupt_body_ends_its_page_with_a_clear_error() {
    let image = picture(160, 120);
    for (name, format, body) in [
        ("jpeg", FileFormat::Jpeg, jpeg(&image)),
        ("png", FileFormat::Png, png(&image)),
    ] {
        // Cut off after 60 % of the bytes, into a PNG file.
        let cut = body[..body.len() * 6 / 10].to_vec();
        let mut device = ScriptedDriver::encoded(cut, format, 512);
        let mut cb = MemCallback::default();
        let r = run(
            &mut device,
            "Flatbed",
            &ScanSettings::default(),
            &mut cb,
            RunOptions::default(),
        );
        let error = r.result.expect_err(name);
        assert_eq!(error.code, StatusCode::INVALID_DRIVER_RESPONSE, "{name}");
        assert!(
            error.message.contains("unreadable image") && error.message.contains("ends"),
            "{name}: {}",
            error.message
        );
        assert!(cb.completed().is_empty(), "{name}: no half page is kept");
    }
    // A PNG with its data scrambled.
    let mut body = png(&image);
    let middle = body.len() / 2;
    for b in &mut body[middle..middle + 40] {
        *b ^= 0x5A;
    }
    let mut device = ScriptedDriver::encoded(body, FileFormat::Png, 512);
    let mut cb = MemCallback::default();
    let r = run(
        &mut device,
        "Flatbed",
        &ScanSettings::default(),
        &mut cb,
        RunOptions::default(),
    );
    let error = r.result.expect_err("corrupt png");
    assert!(
        error.message.contains("unreadable image"),
        "{}",
        error.message
    );
}
