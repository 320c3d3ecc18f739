//! The filter inside the stream (`wia-transfers.md`, "Filter and preview"):
//! filter settings applied through `Transfer::download`, the engine and the
//! `streamscan scan` command line. Chunking never changes the output, an
//! abandoned page is never flushed, STATUS byte counts stay true while a
//! page is buffered, a neutral filter passes device bytes through, the
//! preview sees point-filtered bands live, back sides turn back, blank
//! pages drop without using page numbers, and skewed pages come out
//! straight. Every transfer goes through the shared message-order checker.

mod support;

use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use streamscan::device::sim::SimDriver;
use streamscan::device::sim::render::{IndexStrip, PageSpec, decode_index_strip, render_page};
use streamscan::engine::{Command, Event};
use streamscan::filter::ops::{PointLut, rotate};
use streamscan::filter::{BlankAction, FilterSettings, Rotation, Threshold};
use streamscan::output::FileFormat;
use streamscan::raster::{Page, PageHeader, PixelFormat};
use streamscan::transfer::{
    ColorMode, MessageKind, Outcome, PageEnd, ScanSettings, Side, Source, Totals, TraceEvent,
    TransferMessage,
};
use support::*;

// ---------------------------------------------------------------------------
// Helpers: settings, pages, runs.
// ---------------------------------------------------------------------------

/// Pixels of an A4 page at 75 dpi.
const A4_75: (u32, u32) = (620, 877);

/// Feeder settings at 75 dpi in colour, one stream per page.
fn feeder(pages: u32, filter: FilterSettings) -> ScanSettings {
    ScanSettings {
        source: Source::Feeder,
        dpi: 75,
        pages,
        filter,
        ..ScanSettings::default()
    }
}

/// The same as one multipage document.
fn document(pages: u32, format: FileFormat, filter: FilterSettings) -> ScanSettings {
    ScanSettings {
        multipage: true,
        format,
        ..feeder(pages, filter)
    }
}

fn rotate_90() -> FilterSettings {
    FilterSettings {
        rotation: Rotation::Cw90,
        ..FilterSettings::default()
    }
}

fn blank(action: BlankAction) -> FilterSettings {
    FilterSettings {
        blank: Some(action),
        ..FilterSettings::default()
    }
}

/// The index strip of `page` read in its top quarter only, so that it is
/// found only when the page is upright (the decoder alone also reads pages
/// turned 180 degrees).
fn upright_strip(page: &Page) -> Option<IndexStrip> {
    let rows = page.height() / 4;
    let top = Page {
        header: PageHeader {
            height: Some(rows),
            ..page.header
        },
        data: page.data[..rows as usize * page.header.row_bytes()].to_vec(),
    };
    decode_index_strip(&top)
}

/// A page's strip after turning it back by `undo` (clockwise), read upright.
fn strip_after(page: &Page, undo: Rotation) -> Option<IndexStrip> {
    upright_strip(&rotate(page, undo))
}

/// Mean sample value of a decoded page.
fn mean(page: &Page) -> f64 {
    page.data.iter().map(|&v| f64::from(v)).sum::<f64>() / page.data.len().max(1) as f64
}

/// Runs a virtual-scanner download of the item `settings` name.
fn scan(driver: &mut SimDriver, settings: &ScanSettings, cb: &mut MemCallback) -> Run {
    let item = settings.source.item_name();
    run(driver, item, settings, cb, RunOptions::default())
}

/// A rendered test page: A4 at 75 dpi, page 1 of seed 7.
fn test_page(mode: ColorMode, skew_deg: f64) -> Page {
    render_page(&PageSpec {
        seed: 7,
        dpi: 75,
        mode,
        skew_deg,
        noise: 0.1,
        ..PageSpec::default()
    })
    .page
}

/// `page` sent in bands of `rows` rows, written as `format` with `filter`.
fn written_in_bands(
    page: &Page,
    rows: u32,
    known_height: bool,
    format: FileFormat,
    filter: FilterSettings,
) -> Vec<u8> {
    let mut device = ScriptedDriver::raw(page.clone(), rows, known_height);
    let settings = ScanSettings {
        dpi: 75,
        format,
        filter,
        ..ScanSettings::default()
    };
    let mut cb = MemCallback::default();
    let r = run(
        &mut device,
        "Flatbed",
        &settings,
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(
        r.result,
        Ok(Outcome::Completed),
        "bands of {rows}, {format:?}, {filter:?}"
    );
    let mut completed = cb.completed();
    assert_eq!(completed.len(), 1);
    completed.remove(0)
}

// ---------------------------------------------------------------------------
// (a) Chunking
// ---------------------------------------------------------------------------

#[test]
fn any_write_chunking_gives_byte_identical_files() {
    let neutral = FilterSettings::default();
    let point = FilterSettings {
        brightness: 150,
        contrast: 200,
        gamma: 1.3,
        ..FilterSettings::default()
    };
    let fixed_threshold = FilterSettings {
        threshold: Some(Threshold::Fixed(128)),
        ..FilterSettings::default()
    };
    let page_ops = FilterSettings {
        rotation: Rotation::Cw90,
        deskew: true,
        blank: Some(BlankAction::Flag),
        ..FilterSettings::default()
    };
    let everything = FilterSettings {
        brightness: -80,
        contrast: 300,
        rotation: Rotation::Cw180,
        autocrop: true,
        threshold: Some(Threshold::Auto),
        despeckle: true,
        ..FilterSettings::default()
    };
    let all = [neutral, point, fixed_threshold, page_ops, everything];
    for mode in [ColorMode::Color, ColorMode::Gray] {
        // Skewed, so that deskew has something to do.
        let page = test_page(mode, 3.0);
        let height = page.height();
        for format in [FileFormat::Png, FileFormat::Tiff, FileFormat::Jpeg] {
            for known_height in [true, false] {
                let mut outputs = Vec::new();
                for filter in all {
                    let whole = written_in_bands(&page, height, known_height, format, filter);
                    for rows in [1, 7, 32, 500] {
                        let chunked = written_in_bands(&page, rows, known_height, format, filter);
                        assert!(
                            chunked == whole,
                            "{mode:?} {format:?} (height known: {known_height}) with {filter:?}: \
                             bands of {rows} rows give {} bytes, the whole page {} bytes",
                            chunked.len(),
                            whole.len()
                        );
                    }
                    outputs.push(whole);
                }
                // Every setting changes the file (the comparison above is
                // not between untouched pages only).
                for (i, a) in outputs.iter().enumerate() {
                    for b in &outputs[i + 1..] {
                        assert!(
                            a != b,
                            "{mode:?} {format:?}: two settings wrote the same file"
                        );
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// (b) Cancel mid-page
// ---------------------------------------------------------------------------

/// Cancel on a STATUS in the middle of page 2.
fn cancel_mid_page_two(message: &TransferMessage) -> bool {
    message.kind == MessageKind::Status && message.page == 2 && (40..100).contains(&message.percent)
}

#[test]
fn cancel_mid_page_keeps_page_one_and_writes_nothing_of_page_two() {
    let dir = tmp();
    let mut driver = sim("pages=3,speed=max", dir.path());
    let mut cb = MemCallback::cancelling(cancel_mid_page_two);
    let r = scan(&mut driver, &feeder(0, rotate_90()), &mut cb);
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    assert_eq!(
        r.totals,
        Totals {
            delivered: 1,
            abandoned: 1,
            ..Totals::default()
        }
    );
    assert_eq!(cb.streams.len(), 2, "page 3 was never asked for");
    // Page 1: complete, landscape, and upright once turned back.
    let completed = cb.completed();
    assert_eq!(completed.len(), 1);
    let first = decode(&completed[0]);
    assert_eq!(
        (first.header.width, first.height()),
        (A4_75.1, A4_75.0),
        "page 1 is turned a quarter"
    );
    let strip = strip_after(&first, Rotation::Cw270).expect("page 1 turned clockwise");
    assert_eq!(strip.page, 1);
    // Page 2: discarded, and not one byte ever reached its stream.
    let (request, stream) = &cb.streams[1];
    assert_eq!(request.page, 2);
    assert!(stream.is_discarded() && !stream.is_completed());
    assert_eq!(stream.written(), 0, "bytes written to page 2");
    let cancelled_at = cb
        .seen
        .iter()
        .position(|s| cancel_mid_page_two(&s.message))
        .expect("the cancelling STATUS");
    assert!(cb.seen[cancelled_at].message.percent < 100);
    assert!(
        r.trace
            .events
            .iter()
            .any(|e| matches!(e, TraceEvent::PageAbandoned { page: 2 }))
    );
}

#[test]
fn cancel_mid_page_leaves_a_multipage_tiff_with_exactly_page_one() {
    let dir = tmp();
    let mut driver = sim("pages=3,speed=max", dir.path());
    let mut cb = MemCallback::cancelling(cancel_mid_page_two);
    let settings = document(0, FileFormat::Tiff, rotate_90());
    let r = scan(&mut driver, &settings, &mut cb);
    assert_eq!(r.result, Ok(Outcome::Cancelled));
    assert_eq!(r.totals.delivered, 1);
    let completed = cb.completed();
    assert_eq!(completed.len(), 1, "the document is finalised");
    let pages = tiff_pages(&completed[0]).expect("a valid TIFF");
    assert_eq!(pages.len(), 1, "exactly page 1");
    assert!(pages[0].header.width > pages[0].height());
    let strip = strip_after(&pages[0], Rotation::Cw270).expect("page 1 upright");
    assert_eq!(strip.page, 1);
    // Nothing was written while page 2 flowed: the stream stood still from
    // page 1's last STATUS to the cancel.
    let end_of_one = cb
        .seen_of(MessageKind::Status)
        .filter(|s| s.message.page == 1)
        .last()
        .expect("STATUS of page 1")
        .written;
    for s in cb.seen_of(MessageKind::Status) {
        if s.message.page == 2 {
            assert_eq!(s.written, end_of_one, "page 2 reached the stream");
        }
    }
}

#[test]
fn an_error_mid_page_flushes_nothing_of_the_buffered_page() {
    for settings in [
        feeder(0, rotate_90()),
        document(0, FileFormat::Tiff, rotate_90()),
    ] {
        let dir = tmp();
        let mut driver = sim("pages=3,speed=max,fault=disconnect@2", dir.path());
        let mut cb = MemCallback::default();
        let r = scan(&mut driver, &settings, &mut cb);
        let error = r.result.expect_err("the device was disconnected");
        assert_eq!((error.page, error.pages_completed), (Some(2), 1));
        let completed = cb.completed();
        assert_eq!(completed.len(), 1);
        let first = if settings.multipage {
            let pages = tiff_pages(&completed[0]).expect("a valid TIFF");
            assert_eq!(pages.len(), 1, "exactly page 1");
            pages[0].clone()
        } else {
            let (_, stream) = &cb.streams[1];
            assert_eq!(stream.written(), 0, "bytes written to page 2");
            decode(&completed[0])
        };
        let strip = strip_after(&first, Rotation::Cw270).expect("page 1 upright");
        assert_eq!(strip.page, 1);
    }
}

#[test]
fn a_retried_page_with_page_operations_is_written_once() {
    for settings in [
        feeder(0, rotate_90()),
        document(0, FileFormat::Tiff, rotate_90()),
    ] {
        let dir = tmp();
        let mut driver = sim("pages=3,speed=max", dir.path());
        let mut clean = MemCallback::default();
        run(
            &mut driver,
            "Feeder",
            &settings,
            &mut clean,
            RunOptions::default(),
        );
        // The same job with a jam in page 2 that the user clears.
        let mut driver = sim("pages=3,speed=max,fault=jam@2", dir.path());
        let mut jammed = MemCallback::default();
        let options = RunOptions {
            handler: Some(ScriptedHandler::retry_errors()),
            ..RunOptions::default()
        };
        let r = run(&mut driver, "Feeder", &settings, &mut jammed, options);
        assert_eq!(r.result, Ok(Outcome::Completed));
        assert!(
            r.trace
                .events
                .contains(&TraceEvent::PageRewound { page: 2 })
        );
        assert_eq!(
            jammed.completed(),
            clean.completed(),
            "multipage: {}",
            settings.multipage
        );
    }
}

// ---------------------------------------------------------------------------
// (c) Byte counts
// ---------------------------------------------------------------------------

#[test]
fn status_bytes_stay_true_while_a_page_is_buffered() {
    let dir = tmp();
    let mut driver = sim("pages=2,speed=max", dir.path());
    let mut cb = MemCallback::default();
    let r = scan(&mut driver, &feeder(0, rotate_90()), &mut cb);
    assert_eq!(r.result, Ok(Outcome::Completed));
    let completed = cb.completed();
    assert_eq!(completed.len(), 2);
    for seen in &cb.seen {
        let m = &seen.message;
        if matches!(m.kind, MessageKind::Status | MessageKind::EndOfStream) {
            assert_eq!(
                m.bytes, seen.len,
                "{m:?}: bytes against the stream's length"
            );
        }
    }
    for page in 1..=2u32 {
        let statuses: Vec<&Seen> = cb
            .seen_of(MessageKind::Status)
            .filter(|s| s.message.page == page)
            .collect();
        let (last, buffered) = statuses.split_last().expect("STATUS");
        assert!(buffered.len() > 5);
        // Buffered: the stream is still empty.
        assert!(buffered.iter().all(|s| s.message.bytes == 0));
        let size = completed[page as usize - 1].len() as u64;
        assert_eq!(last.message.percent, 100);
        assert_eq!(last.message.bytes, size);
        let eos = cb
            .seen_of(MessageKind::EndOfStream)
            .find(|s| s.message.page == page)
            .expect("END_OF_STREAM");
        assert_eq!(eos.message.bytes, size, "END_OF_STREAM bytes = file size");
    }
    // Point operations alone stream: the bytes grow during the page.
    let mut cb = MemCallback::default();
    let point = FilterSettings {
        brightness: 100,
        ..FilterSettings::default()
    };
    let r = scan(&mut driver, &feeder(1, point), &mut cb);
    assert_eq!(r.result, Ok(Outcome::Completed));
    let growing = cb
        .seen_of(MessageKind::Status)
        .filter(|s| s.message.percent < 100 && s.message.bytes > 0)
        .count();
    assert!(growing > 5, "point operations stream into the file");
}

#[test]
fn status_bytes_of_a_multipage_stream_stay_true_while_a_page_is_buffered() {
    let dir = tmp();
    let mut driver = sim("pages=2,speed=max", dir.path());
    for format in [FileFormat::Tiff, FileFormat::Pdf] {
        let mut cb = MemCallback::default();
        let r = scan(&mut driver, &document(0, format, rotate_90()), &mut cb);
        assert_eq!(r.result, Ok(Outcome::Completed));
        let size = cb.completed()[0].len() as u64;
        for seen in &cb.seen {
            let m = &seen.message;
            if matches!(m.kind, MessageKind::Status | MessageKind::EndOfStream) {
                assert_eq!(m.bytes, seen.len, "{format:?} {m:?}");
            }
        }
        let end_of_one = cb
            .seen_of(MessageKind::Status)
            .filter(|s| s.message.page == 1)
            .last()
            .expect("STATUS")
            .message
            .bytes;
        assert!(end_of_one > 0);
        let page_two: Vec<u64> = cb
            .seen_of(MessageKind::Status)
            .filter(|s| s.message.page == 2)
            .map(|s| s.message.bytes)
            .collect();
        let (last, buffered) = page_two.split_last().expect("STATUS of page 2");
        assert!(
            buffered.iter().all(|&b| b == end_of_one),
            "{format:?}: page 2 buffered"
        );
        assert!(*last > end_of_one);
        let eos = cb
            .seen_of(MessageKind::EndOfStream)
            .next()
            .expect("END_OF_STREAM");
        assert_eq!(eos.message.bytes, size, "{format:?}: END_OF_STREAM bytes");
    }
}

// ---------------------------------------------------------------------------
// (d) Identity when neutral
// ---------------------------------------------------------------------------

/// A rendered 75 dpi page encoded as a JPEG, as a network scanner sends it.
fn device_jpeg() -> (Vec<u8>, Page) {
    let page = test_page(ColorMode::Color, 0.0);
    let image = image::RgbImage::from_raw(page.header.width, page.height(), page.data.clone())
        .expect("rgb image");
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&image)
        .expect("encode");
    let decoded = decode(&out);
    (out, decoded)
}

#[test]
fn a_device_jpeg_passes_through_untouched_with_neutral_settings() {
    let (jpeg, original) = device_jpeg();
    let mut device = ScriptedDriver::encoded(jpeg.clone(), FileFormat::Jpeg, 4096);
    let neutral = ScanSettings {
        format: FileFormat::Jpeg,
        ..ScanSettings::default()
    };
    let mut cb = MemCallback::default();
    let r = run(
        &mut device,
        "Flatbed",
        &neutral,
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(cb.completed(), vec![jpeg.clone()], "byte-identical");

    // Brightness: decoded, brightened, encoded again.
    let brighter = ScanSettings {
        filter: FilterSettings {
            brightness: 100,
            ..FilterSettings::default()
        },
        ..neutral
    };
    let mut cb = MemCallback::default();
    let r = run(
        &mut device,
        "Flatbed",
        &brighter,
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    let written = &cb.completed()[0];
    assert_ne!(written, &jpeg);
    assert_eq!(&written[..2], &[0xFF, 0xD8], "still a JPEG");
    let page = decode(written);
    assert_eq!(
        (page.header.width, page.height()),
        (original.header.width, original.height())
    );
    // +100 shifts levels by about 25; paper clips at white.
    let (before, after) = (mean(&original), mean(&page));
    assert!(
        after > before + 5.0,
        "mean level {before:.1} -> {after:.1}: not brighter"
    );
}

#[test]
fn a_passed_through_device_jpeg_is_still_checked_for_blankness() {
    // A blank sheet from a network scanner, kept as the device's JPEG.
    let page = render_page(&PageSpec {
        dpi: 75,
        blank: true,
        noise: 0.1,
        ..PageSpec::default()
    })
    .page;
    let image =
        image::RgbImage::from_raw(page.header.width, page.height(), page.data).expect("rgb image");
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&image)
        .expect("encode");
    // Into PNG the page is decoded, so the filter sees its rows; into JPEG
    // or PDF the device's bytes pass through.
    for format in [FileFormat::Png, FileFormat::Jpeg, FileFormat::Pdf] {
        let mut device = ScriptedDriver::encoded(jpeg.clone(), FileFormat::Jpeg, 4096);
        let settings = ScanSettings {
            format,
            filter: blank(BlankAction::Flag),
            ..ScanSettings::default()
        };
        let log = Arc::new(TapLog::default());
        let mut cb = MemCallback::default();
        let r = run(
            &mut device,
            "Flatbed",
            &settings,
            &mut cb,
            RunOptions::observed(log.clone()),
        );
        assert_eq!(r.result, Ok(Outcome::Completed));
        if format == FileFormat::Jpeg {
            assert_eq!(
                cb.completed(),
                vec![jpeg.clone()],
                "flagging changes no byte"
            );
        }
        assert_eq!(
            log.ends(),
            vec![Tap::End(1, PageEnd::Kept { blank: true })],
            "{format:?}: the blank page is flagged"
        );
    }
}

// ---------------------------------------------------------------------------
// (e) Live preview taps
// ---------------------------------------------------------------------------

#[test]
fn the_preview_sees_point_filtered_bands_while_the_page_streams() {
    let dir = tmp();
    let mut driver = sim("speed=max,warmup=0", dir.path());
    let filter = FilterSettings {
        brightness: 100,
        // A page operation: the written page waits for the page's end.
        rotation: Rotation::Cw90,
        ..FilterSettings::default()
    };
    let settings = ScanSettings {
        dpi: 75,
        filter,
        ..ScanSettings::default()
    };
    let log = Arc::new(TapLog::default());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Flatbed",
        &settings,
        &mut cb,
        RunOptions::observed(log.clone()),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    let taps = log.taps();
    assert_eq!(taps.first(), Some(&Tap::Data(1)));
    assert_eq!(
        taps.last(),
        Some(&Tap::End(1, PageEnd::Kept { blank: false }))
    );
    let header = PageHeader {
        width: A4_75.0,
        height: Some(A4_75.1),
        format: PixelFormat::Rgb8,
        dpi_x: 75,
        dpi_y: 75,
    };
    let lut = PointLut::new(100, 0, 1.0);
    // Between the header and the end: raw band, its filtered band, raw
    // band, ... so each filtered band is shown before the next one arrives.
    let bands = &taps[1..taps.len() - 1];
    assert!(bands.len() > 20 && bands.len() % 2 == 0);
    let mut rows = 0;
    for pair in bands.chunks_exact(2) {
        let (Tap::Raw(raw), Tap::Filtered(filtered)) = (&pair[0], &pair[1]) else {
            panic!("expected a raw band then its filtered band: {:?}", pair);
        };
        let mut expected = raw.clone();
        lut.apply_band(&header, &mut expected);
        assert_ne!(raw, &expected, "brightness changes the band");
        assert_eq!(filtered, &expected, "the preview band is point-filtered");
        // Not rotated: the preview band has the device's geometry.
        assert_eq!(filtered.first_row, rows);
        rows += filtered.rows;
    }
    assert_eq!(rows, A4_75.1);
}

// ---------------------------------------------------------------------------
// (f) Rotate back sides
// ---------------------------------------------------------------------------

/// Decoded pages of a duplex job of 2 sheets (4 sides) with `filter`.
fn duplex_pages(filter: FilterSettings) -> Vec<Vec<u8>> {
    let dir = tmp();
    let mut driver = sim("pages=2,backrot=1,speed=max", dir.path());
    let settings = ScanSettings {
        source: Source::Duplex,
        ..feeder(0, filter)
    };
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &settings,
        &mut cb,
        RunOptions::default(),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    let completed = cb.completed();
    assert_eq!(completed.len(), 4, "four sides");
    completed
}

#[test]
fn rotate_back_turns_back_sides_only() {
    let plain = duplex_pages(FilterSettings::default());
    let turned = duplex_pages(FilterSettings {
        rotate_back: true,
        ..FilterSettings::default()
    });
    for (i, (plain, turned)) in plain.iter().zip(&turned).enumerate() {
        let number = i as u32 + 1;
        let side = side_of(number, true);
        let page = decode(turned);
        let strip = upright_strip(&page).unwrap_or_else(|| panic!("page {number} upright"));
        assert_eq!((strip.page, strip.side), (number, side));
        if side == Side::Front {
            assert_eq!(plain, turned, "front {number} is left as it was");
        } else {
            // Without the setting the back arrives upside down.
            let plain = decode(plain);
            assert_eq!(upright_strip(&plain), None, "back {number} came upright");
            assert_eq!(read_strip(&plain).map(|s| s.page), Ok(number));
        }
    }
    // With a quarter turn as well, every side ends up turned the same way.
    let landscape = duplex_pages(FilterSettings {
        rotation: Rotation::Cw90,
        rotate_back: true,
        ..FilterSettings::default()
    });
    for (i, bytes) in landscape.iter().enumerate() {
        let page = decode(bytes);
        assert!(page.header.width > page.height());
        let strip = strip_after(&page, Rotation::Cw270).expect("upright after turning back");
        assert_eq!(strip.page, i as u32 + 1);
    }
}

// ---------------------------------------------------------------------------
// (g) Blank pages dropped
// ---------------------------------------------------------------------------

#[test]
fn dropped_blank_pages_use_no_page_numbers() {
    for blank_at in [1u32, 2, 3] {
        let dir = tmp();
        let mut driver = sim(&format!("pages=3,speed=max,blank={blank_at}"), dir.path());
        let mut cb = MemCallback::default();
        let r = run(
            &mut driver,
            "Feeder",
            &feeder(0, blank(BlankAction::Drop)),
            &mut cb,
            RunOptions::default(),
        );
        assert_eq!(r.result, Ok(Outcome::Completed), "blank page {blank_at}");
        assert_eq!(
            r.totals,
            Totals {
                delivered: 2,
                dropped: 1,
                ..Totals::default()
            }
        );
        let requested: Vec<u32> = cb.streams.iter().map(|(q, _)| q.page).collect();
        // The sheet after the blank one gets the blank one's number.
        let expected: Vec<u32> = (1..=3)
            .map(|sheet| if sheet <= blank_at { sheet } else { sheet - 1 })
            .collect();
        assert_eq!(
            requested, expected,
            "the dropped page's number is used again"
        );
        assert_eq!(cb.discarded(), 1);
        assert!(
            r.trace
                .events
                .contains(&TraceEvent::PageDropped { page: blank_at })
        );
        let eos = cb.pages_of(MessageKind::EndOfStream);
        assert_eq!(eos, vec![1, 2]);
        // The kept pages are the sheets that were not blank.
        let sheets: Vec<u32> = cb.completed().iter().map(|b| strip(b).page).collect();
        let kept: Vec<u32> = (1..=3).filter(|&p| p != blank_at).collect();
        assert_eq!(sheets, kept, "blank page {blank_at}");
    }
}

#[test]
fn flagged_blank_pages_are_kept_and_reported() {
    let dir = tmp();
    let mut driver = sim("pages=3,speed=max,blank=2", dir.path());
    let log = Arc::new(TapLog::default());
    let mut cb = MemCallback::default();
    let r = run(
        &mut driver,
        "Feeder",
        &feeder(0, blank(BlankAction::Flag)),
        &mut cb,
        RunOptions::observed(log.clone()),
    );
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(r.totals.delivered, 3);
    assert_eq!(r.totals.dropped, 0);
    assert_eq!(
        log.ends(),
        vec![
            Tap::End(1, PageEnd::Kept { blank: false }),
            Tap::End(2, PageEnd::Kept { blank: true }),
            Tap::End(3, PageEnd::Kept { blank: false }),
        ]
    );
}

#[test]
fn a_multipage_document_holds_only_the_pages_that_are_not_blank() {
    for format in [FileFormat::Tiff, FileFormat::Pdf] {
        for blank_at in [1u32, 2, 3] {
            let dir = tmp();
            let mut driver = sim(&format!("pages=3,speed=max,blank={blank_at}"), dir.path());
            let mut cb = MemCallback::default();
            let settings = document(0, format, blank(BlankAction::Drop));
            let r = run(
                &mut driver,
                "Feeder",
                &settings,
                &mut cb,
                RunOptions::default(),
            );
            let what = format!("{format:?} with blank page {blank_at}");
            assert_eq!(r.result, Ok(Outcome::Completed), "{what}");
            assert_eq!(r.totals.delivered, 2, "{what}");
            assert_eq!(r.totals.dropped, 1, "{what}");
            let new_pages = cb.pages_of(MessageKind::NewPage);
            let mut expected = vec![1, 2];
            expected.insert(blank_at as usize - 1, blank_at);
            assert_eq!(new_pages, expected, "{what}: NEW_PAGE numbers");
            let bytes = &cb.completed()[0];
            let pages = match format {
                FileFormat::Tiff => tiff_pages(bytes).expect("valid TIFF"),
                _ => {
                    let path = dir.path().join("doc.pdf");
                    std::fs::write(&path, bytes).expect("write PDF");
                    pdf_pages(&path, 75).expect("valid PDF")
                }
            };
            let sheets: Vec<u32> = pages
                .iter()
                .map(|p| read_strip(p).expect("strip").page)
                .collect();
            let kept: Vec<u32> = (1..=3).filter(|&p| p != blank_at).collect();
            assert_eq!(sheets, kept, "{what}");
        }
    }
}

#[test]
fn a_job_of_blank_pages_only_delivers_nothing() {
    let dir = tmp();
    for settings in [
        feeder(0, blank(BlankAction::Drop)),
        document(0, FileFormat::Pdf, blank(BlankAction::Drop)),
    ] {
        let mut driver = sim("pages=2,speed=max,blank=1+2", dir.path());
        let mut cb = MemCallback::default();
        let r = run(
            &mut driver,
            "Feeder",
            &settings,
            &mut cb,
            RunOptions::default(),
        );
        assert_eq!(r.result, Ok(Outcome::Completed));
        assert_eq!(
            r.totals,
            Totals {
                dropped: 2,
                ..Totals::default()
            }
        );
        assert!(cb.completed().is_empty());
        assert!(
            !cb.messages
                .iter()
                .any(|m| m.kind == MessageKind::EndOfStream)
        );
    }
}

#[test]
fn the_engine_reports_dropped_pages_and_counts_them() {
    let dirs = Dirs::new();
    let device = sim_id("pages=3,speed=max,blank=2", &dirs.storage);
    let mut engine = EngineHarness::start(|_| {});
    engine.send(Command::Scan {
        job: 1,
        device,
        settings: feeder(0, blank(BlankAction::Drop)),
        output: files_output(&dirs.out, "page-{n}.png"),
        interactive: false,
    });
    let summary = engine.finish(1).expect("the job succeeds");
    assert_eq!(summary.outcome, Outcome::Completed);
    assert_eq!(summary.totals.delivered, 2);
    assert_eq!(summary.totals.dropped, 1);
    assert_eq!(dir_names(&dirs.out), vec!["page-1.png", "page-2.png"]);
    let bytes = std::fs::read(dirs.out.join("page-2.png")).expect("page 2");
    assert_eq!(strip(&bytes).page, 3, "page 2 is the third sheet");
    let events = engine.events_of(1);
    let dropped: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::PageDropped { page, .. } => Some(*page),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, vec![2]);
    let done: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::PageDone { page, .. } => Some(*page),
            _ => None,
        })
        .collect();
    assert_eq!(done, vec![1, 2]);
}

// ---------------------------------------------------------------------------
// (h) Deskew
// ---------------------------------------------------------------------------

#[test]
fn deskew_straightens_skewed_pages_so_their_strip_reads() {
    for skew in ["3", "-3"] {
        let dir = tmp();
        let id = format!("pages=1,speed=max,skew={skew}");
        // The strip decoder does not read skewed pages ...
        let mut driver = sim(&id, dir.path());
        let mut cb = MemCallback::default();
        run(
            &mut driver,
            "Feeder",
            &feeder(0, FilterSettings::default()),
            &mut cb,
            RunOptions::default(),
        );
        let skewed = decode(&cb.completed()[0]);
        assert_eq!(decode_index_strip(&skewed), None, "skew {skew}");
        // ... so a readable strip proves the page was straightened.
        let mut driver = sim(&id, dir.path());
        let mut cb = MemCallback::default();
        let settings = feeder(
            0,
            FilterSettings {
                deskew: true,
                ..FilterSettings::default()
            },
        );
        let r = run(
            &mut driver,
            "Feeder",
            &settings,
            &mut cb,
            RunOptions::default(),
        );
        assert_eq!(r.result, Ok(Outcome::Completed));
        let straight = decode(&cb.completed()[0]);
        assert_eq!(
            (straight.header.width, straight.height()),
            A4_75,
            "deskew keeps the page size"
        );
        let strip = upright_strip(&straight).unwrap_or_else(|| panic!("skew {skew}: no strip"));
        assert_eq!((strip.page, strip.side), (1, Side::Front));
    }
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

/// Runs `streamscan scan` in `dir` on a full-speed virtual scanner with
/// `sim` options, plus `args`.
fn scan_cli(dir: &Dirs, sim: &str, args: &[&str]) -> CliRun {
    let device = sim_id(&format!("speed=max,{sim}"), &dir.storage);
    let scan = ["scan", "--device", &device, "--dpi", "75"];
    run_cli(&dir.out, &[&scan[..], args].concat())
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn cli_rotate_90_gives_a_landscape_page_turned_clockwise() {
    let dirs = Dirs::new();
    scan_cli(&dirs, "", &["--rotate", "90", "-o", "page.png"]).expect(0);
    let page = decode(&read(&dirs.out, "page.png"));
    assert_eq!((page.header.width, page.height()), (A4_75.1, A4_75.0));
    // Clockwise: turning it a further 270 degrees puts the strip on top.
    let strip = strip_after(&page, Rotation::Cw270).expect("upright after turning back");
    assert_eq!(strip.page, 1);
    assert_eq!(strip_after(&page, Rotation::Cw90), None);
    // WIA's LANDSCAPE (90 degrees counter-clockwise) is --rotate 270.
    scan_cli(&dirs, "", &["--rotate", "270", "-o", "land.png"]).expect(0);
    let page = decode(&read(&dirs.out, "land.png"));
    assert!(strip_after(&page, Rotation::Cw90).is_some());
}

#[test]
fn cli_threshold_writes_a_one_bit_png() {
    let dirs = Dirs::new();
    scan_cli(&dirs, "", &["--threshold", "128", "-o", "bw.png"]).expect(0);
    let bytes = read(&dirs.out, "bw.png");
    assert_eq!(&bytes[12..16], b"IHDR");
    assert_eq!((bytes[24], bytes[25]), (1, 0), "bit depth 1, grayscale");
    assert_eq!(strip(&bytes).page, 1);
    scan_cli(&dirs, "", &["--threshold", "auto", "-o", "auto.png"]).expect(0);
    assert_eq!(read(&dirs.out, "auto.png")[24], 1);
}

#[test]
fn cli_blank_drop_numbers_pages_without_gaps_and_reports_the_drop() {
    let dirs = Dirs::new();
    let run = scan_cli(
        &dirs,
        "pages=3,blank=2",
        &[
            "--source", "feeder", "--blank", "drop", "--events", "json", "-o", "{n}.png",
        ],
    );
    run.expect(0);
    assert_eq!(dir_names(&dirs.out), vec!["1.png", "2.png"]);
    assert_eq!(strip(&read(&dirs.out, "2.png")).page, 3);
    let pages = run.events("page");
    assert!(
        pages.contains(&serde_json::json!({"event": "page", "page": 2, "state": "dropped"})),
        "{pages:?}"
    );
    let done: Vec<&Value> = pages.iter().filter(|p| p["state"] == "done").collect();
    assert_eq!(done.len(), 2);
    let last: Value =
        serde_json::from_str(run.stdout.lines().last().expect("lines")).expect("JSON");
    assert_eq!(last["pages"], 2);
}

#[test]
fn cli_blank_flag_keeps_every_page_and_reports_the_blank_one() {
    let dirs = Dirs::new();
    let run = scan_cli(
        &dirs,
        "pages=3,blank=2",
        &[
            "--source", "feeder", "--blank", "flag", "--events", "json", "-o", "{n}.png",
        ],
    );
    run.expect(0);
    assert_eq!(dir_names(&dirs.out), vec!["1.png", "2.png", "3.png"]);
    let pages = run.events("page");
    let flagged: Vec<&Value> = pages.iter().filter(|p| p["state"] == "blank").collect();
    assert_eq!(
        flagged,
        vec![&serde_json::json!({"event": "page", "page": 2, "state": "blank"})]
    );
    assert!(!pages.iter().any(|p| p["state"] == "dropped"));
}

#[test]
fn cli_filter_values_out_of_range_exit_2() {
    let dirs = Dirs::new();
    for args in [
        &["--brightness", "1001"][..],
        &["--contrast", "-1001"],
        &["--gamma", "0"],
        &["--gamma", "10.5"],
        &["--threshold", "300"],
        &["--threshold", "dark"],
        &["--rotate", "45"],
        &["--blank", "erase"],
        &["--blank", "drop", "--blank-sensitivity", "2"],
    ] {
        let run = scan_cli(&dirs, "", &[args, &["-o", "x.png"]].concat());
        run.expect(2);
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
    }
    assert!(dir_names(&dirs.out).is_empty(), "nothing was scanned");
    // Negative values in range are accepted as values, not options.
    scan_cli(
        &dirs,
        "",
        &[
            "--brightness",
            "-200",
            "--contrast",
            "-100",
            "-o",
            "dark.png",
        ],
    )
    .expect(0);
}
