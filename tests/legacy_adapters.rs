//! The legacy compatibility adapters, end to end through `Transfer::download`:
//! a scripted SANE-style band driver behind `BandDriverAdapter` writes real
//! PNM / BMP / TIFF files whose pixels must equal what the driver sent, and
//! `acquire_to_bands` feeds a band consumer whose chunks, put together by
//! offset, must decode to the same pages. Every transfer goes through the
//! shared message-order checker.

mod support;

use image::ImageFormat;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use streamscan::clock::{CancelToken, VirtualClock};
use streamscan::output::FileFormat;
use streamscan::raster::{Page, PixelFormat, rgb_row};
use streamscan::transfer::legacy::{
    BandConsumer, BandDriver, BandDriverAdapter, BandMessage, BandParameters, acquire_to_bands,
};
use streamscan::transfer::{
    Capabilities, Choice, ColorMode, DeviceInfo, DriverError, Flow, Item, ItemFlags, MessageKind,
    Outcome, PageSize, ScanSettings, Side, Source, StatusAnswer, StatusCode, Transfer,
    TransferError, TransferMessage, TransferOptions,
};
use support::*;

// ---------------------------------------------------------------------------
// The scripted legacy driver.

/// How a scripted page goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The connection breaks once this many bytes were read.
    ReadError(usize),
    /// The device's cancel button is pressed once this many bytes were read.
    CancelButton(usize),
}

/// One sheet side as the legacy driver will send it.
#[derive(Debug, Clone)]
struct Sheet {
    params: BandParameters,
    /// Lines as the driver sends them, padding included.
    raw: Vec<u8>,
    fault: Option<Fault>,
}

/// What the adapter asked of the driver, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Start,
    NoDocuments,
    Read(usize),
    PageEnd,
    Failed,
    Cancel { mid_page: bool },
}

type Tray = Arc<Mutex<VecDeque<Sheet>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A SANE-like driver: `start` takes the next sheet from the tray, `read`
/// hands out its bytes in the scripted (awkward) sizes.
struct ScriptedBandDriver {
    tray: Tray,
    read_sizes: Vec<usize>,
    reads: usize,
    current: Option<(Sheet, usize)>,
    calls: Vec<Call>,
}

impl ScriptedBandDriver {
    fn new(sheets: Vec<Sheet>, read_sizes: &[usize]) -> ScriptedBandDriver {
        ScriptedBandDriver {
            tray: Arc::new(Mutex::new(sheets.into())),
            read_sizes: read_sizes.to_vec(),
            reads: 0,
            current: None,
            calls: Vec::new(),
        }
    }

    fn count(&self, wanted: Call) -> usize {
        self.calls.iter().filter(|&&c| c == wanted).count()
    }

    fn cancels(&self) -> Vec<bool> {
        self.calls
            .iter()
            .filter_map(|c| match c {
                Call::Cancel { mid_page } => Some(*mid_page),
                _ => None,
            })
            .collect()
    }
}

impl BandDriver for ScriptedBandDriver {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: String::from("sane:scripted"),
            name: String::from("Scripted legacy scanner"),
            kind: String::from("sane"),
        }
    }

    fn items(&self) -> Item {
        let mut root = Item::new("", "Root", ItemFlags::ROOT | ItemFlags::FOLDER);
        for name in ["Flatbed", "Feeder"] {
            let item = Item::new(
                &root.full_name,
                name,
                ItemFlags::IMAGE | ItemFlags::TRANSFER | ItemFlags::PROGRAMMABLE_DATA_SOURCE,
            );
            root.children.push(item);
        }
        root
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::uniform(
            &[Source::Flatbed, Source::Feeder, Source::Duplex],
            Choice::Range {
                min: 75,
                max: 600,
                step: 1,
            },
            vec![ColorMode::Color, ColorMode::Gray, ColorMode::Bw],
            vec![PageSize::A4],
            (216.0, 356.0),
            false,
        )
    }

    fn start(
        &mut self,
        _item: &Item,
        _settings: &ScanSettings,
    ) -> Result<Option<BandParameters>, DriverError> {
        match lock(&self.tray).pop_front() {
            Some(sheet) => {
                self.calls.push(Call::Start);
                let params = sheet.params;
                self.current = Some((sheet, 0));
                Ok(Some(params))
            }
            None => {
                self.calls.push(Call::NoDocuments);
                Ok(None)
            }
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DriverError> {
        let Some((sheet, pos)) = self.current.as_mut() else {
            return Ok(0);
        };
        let stop = match sheet.fault {
            Some(Fault::ReadError(at) | Fault::CancelButton(at)) => at.min(sheet.raw.len()),
            None => sheet.raw.len(),
        };
        if *pos >= stop {
            match sheet.fault {
                Some(Fault::ReadError(_)) => {
                    self.calls.push(Call::Failed);
                    return Err(DriverError::Communication(String::from(
                        "the USB cable was unplugged",
                    )));
                }
                Some(Fault::CancelButton(_)) => {
                    self.calls.push(Call::Failed);
                    return Err(DriverError::Cancelled);
                }
                None => {
                    self.current = None;
                    self.calls.push(Call::PageEnd);
                    return Ok(0);
                }
            }
        }
        let size = self.read_sizes[self.reads % self.read_sizes.len()].min(buf.len());
        self.reads += 1;
        let end = (*pos + size).min(stop);
        let n = end - *pos;
        buf[..n].copy_from_slice(&sheet.raw[*pos..end]);
        *pos = end;
        self.calls.push(Call::Read(n));
        Ok(n)
    }

    fn cancel(&mut self) {
        let mid_page = self.current.take().is_some();
        self.calls.push(Call::Cancel { mid_page });
    }
}

/// Awkward read sizes: single bytes, primes, more than a band at once.
const SPLITS: [usize; 6] = [1, 7, 4093, 13, 100_000, 2];

/// A page with varied pixels (`seed` makes pages differ); in
/// black-and-white the bits past the width stay 0.
fn make_page(format: PixelFormat, width: u32, height: u32, seed: u32) -> Page {
    let mut page = Page::filled(width, height, format, 150, 0);
    let row_bytes = page.header.row_bytes();
    for (i, byte) in page.data.iter_mut().enumerate() {
        let (y, x) = (i / row_bytes, i % row_bytes);
        *byte = ((x * 7 + y * 13 + seed as usize * 31) % 251) as u8;
    }
    if format == PixelFormat::Bw1 && !width.is_multiple_of(8) {
        let mask = 0xFFu8 << (8 - width % 8);
        for row in page.data.chunks_exact_mut(row_bytes) {
            if let Some(last) = row.last_mut() {
                *last &= mask;
            }
        }
    }
    page
}

/// The sheet that sends `page` with `padding` junk bytes after each row.
fn sheet_for(page: &Page, known_height: bool, padding: usize) -> Sheet {
    let row_bytes = page.header.row_bytes();
    let mut raw = Vec::new();
    for row in page.data.chunks_exact(row_bytes) {
        raw.extend_from_slice(row);
        raw.extend(std::iter::repeat_n(0xA5, padding));
    }
    Sheet {
        params: BandParameters {
            format: page.header.format,
            width: page.header.width,
            height: known_height.then(|| page.height()),
            bytes_per_line: row_bytes + padding,
            dpi: 150,
        },
        raw,
        fault: None,
    }
}

// ---------------------------------------------------------------------------
// The application side.

/// Picks the `n`-th STATUS message (1-based).
fn nth_status(n: usize) -> impl FnMut(&TransferMessage) -> bool + Send + 'static {
    let mut statuses = 0;
    move |message| {
        if message.kind != MessageKind::Status {
            return false;
        }
        statuses += 1;
        statuses == n
    }
}

/// The percent of every STATUS, in order.
fn status_percents(callback: &MemCallback) -> Vec<i32> {
    callback
        .messages
        .iter()
        .filter(|m| m.kind == MessageKind::Status)
        .map(|m| m.percent)
        .collect()
}

fn settings(source: Source, format: FileFormat, pages: u32) -> ScanSettings {
    ScanSettings {
        source,
        format,
        pages,
        ..ScanSettings::default()
    }
}

/// Runs one download through the adapter (`support::run` checks the
/// trace).
fn download(
    adapter: &mut BandDriverAdapter<ScriptedBandDriver>,
    settings: &ScanSettings,
    callback: &mut MemCallback,
) -> Result<Outcome, TransferError> {
    download_with(adapter, settings, callback, RunOptions::default())
}

fn download_with(
    adapter: &mut BandDriverAdapter<ScriptedBandDriver>,
    settings: &ScanSettings,
    callback: &mut MemCallback,
    options: RunOptions,
) -> Result<Outcome, TransferError> {
    let item = settings.source.item_name();
    run(adapter, item, settings, callback, options).result
}

fn image_format(format: FileFormat) -> ImageFormat {
    match format {
        FileFormat::Pnm => ImageFormat::Pnm,
        FileFormat::Bmp => ImageFormat::Bmp,
        FileFormat::Tiff => ImageFormat::Tiff,
        FileFormat::Png => ImageFormat::Png,
        other => panic!("no decoder for {other:?} in this test"),
    }
}

/// Decodes `bytes` as `format` and checks it shows exactly `page`.
fn assert_file_shows(bytes: &[u8], format: FileFormat, page: &Page, what: &str) {
    let decoded = image::load_from_memory_with_format(bytes, image_format(format))
        .unwrap_or_else(|e| panic!("{what}: the {format:?} file does not decode: {e}"));
    assert_eq!(
        (decoded.width(), decoded.height()),
        (page.header.width, page.height()),
        "{what}: size of the {format:?} file"
    );
    let width = page.header.width as usize;
    let mut expected = Vec::new();
    for y in 0..page.height() {
        rgb_row(page.header.format, page.row(y), width, &mut expected);
    }
    let got = decoded.to_rgb8().into_raw();
    if let Some(at) = got.iter().zip(&expected).position(|(a, b)| a != b) {
        let pixel = at / 3;
        panic!(
            "{what}: pixel ({}, {}) of the {format:?} file differs from what the driver sent",
            pixel % width,
            pixel / width
        );
    }
    assert_eq!(got.len(), expected.len(), "{what}: pixel count");
}

// ---------------------------------------------------------------------------
// Band driver -> stream driver.

/// One flatbed page per pixel format through `format`, with odd padding
/// and reads split at awkward sizes.
fn flatbed_pages_decode_to_the_driver_pixels(format: FileFormat, known_height: bool) {
    for (seed, pixels) in [PixelFormat::Rgb8, PixelFormat::Gray8, PixelFormat::Bw1]
        .into_iter()
        .enumerate()
    {
        let what = format!("{pixels:?}, height known: {known_height}");
        let page = make_page(pixels, 37, 45, seed as u32);
        let sheet = sheet_for(&page, known_height, 3);
        let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(vec![sheet], &SPLITS));
        let mut callback = MemCallback::default();
        let outcome = download(
            &mut adapter,
            &settings(Source::Flatbed, format, 0),
            &mut callback,
        )
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(outcome, Outcome::Completed, "{what}");
        assert_eq!(callback.streams.len(), 1, "{what}");
        let stream = callback.stream(0);
        assert!(stream.is_completed() && !stream.is_discarded(), "{what}");
        assert_file_shows(&stream.bytes(), format, &page, &what);

        let percents = status_percents(&callback);
        assert_eq!(percents.last(), Some(&100), "{what}: last STATUS");
        let during: Vec<i32> = percents[..percents.len() - 1].to_vec();
        if known_height {
            // 45 rows in bands of 32: 71 % after the first band.
            assert!(during.contains(&71), "{what}: {percents:?}");
            assert!(during.windows(2).all(|w| w[0] <= w[1]), "{what}");
        } else {
            assert!(during.iter().all(|&p| p == -1), "{what}: {percents:?}");
        }
        assert_eq!(
            kinds(&callback.messages).last(),
            Some(&MessageKind::EndOfTransfer),
            "{what}"
        );
        let driver = adapter.driver();
        assert_eq!(driver.count(Call::PageEnd), 1, "{what}");
        assert_eq!(
            driver.cancels(),
            vec![false],
            "{what}: one closing cancel, after the page"
        );
    }
}

#[test]
fn pnm_pages_with_known_height_decode_to_the_driver_pixels() {
    flatbed_pages_decode_to_the_driver_pixels(FileFormat::Pnm, true);
}

#[test]
fn bmp_pages_with_known_height_decode_to_the_driver_pixels() {
    flatbed_pages_decode_to_the_driver_pixels(FileFormat::Bmp, true);
}

#[test]
fn tiff_pages_with_known_height_decode_to_the_driver_pixels() {
    flatbed_pages_decode_to_the_driver_pixels(FileFormat::Tiff, true);
}

#[test]
fn pnm_pages_of_unknown_height_get_their_header_patched() {
    flatbed_pages_decode_to_the_driver_pixels(FileFormat::Pnm, false);
}

#[test]
fn bmp_pages_of_unknown_height_get_their_header_patched() {
    flatbed_pages_decode_to_the_driver_pixels(FileFormat::Bmp, false);
}

#[test]
fn tiff_pages_of_unknown_height_get_their_header_patched() {
    flatbed_pages_decode_to_the_driver_pixels(FileFormat::Tiff, false);
}

#[test]
fn wia_height_zero_means_unknown() {
    let page = make_page(PixelFormat::Gray8, 20, 70, 5);
    let mut sheet = sheet_for(&page, true, 1);
    sheet.params.height = Some(0);
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(vec![sheet], &[9, 64]))
        .with_rows_per_band(8);
    let mut callback = MemCallback::default();
    let outcome = download(
        &mut adapter,
        &settings(Source::Flatbed, FileFormat::Bmp, 0),
        &mut callback,
    )
    .expect("a page of unknown height transfers");
    assert_eq!(outcome, Outcome::Completed);
    assert_file_shows(
        &callback.stream(0).bytes(),
        FileFormat::Bmp,
        &page,
        "height 0",
    );
    let percents = status_percents(&callback);
    // 70 rows in bands of 8: 9 bands of progress, then the page's 100.
    assert_eq!(percents.len(), 10, "{percents:?}");
    assert!(percents[..9].iter().all(|&p| p == -1));
}

fn feeder_sheets(count: u32, known_height: bool) -> (Vec<Page>, Vec<Sheet>) {
    let pages: Vec<Page> = (0..count)
        .map(|i| make_page(PixelFormat::Gray8, 16 + i, 20 + 3 * i, i))
        .collect();
    let sheets = pages
        .iter()
        .map(|p| sheet_for(p, known_height, 2))
        .collect();
    (pages, sheets)
}

#[test]
fn a_feeder_scans_until_it_is_empty_with_pages_zero() {
    let (pages, sheets) = feeder_sheets(3, false);
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS));
    let mut callback = MemCallback::default();
    let outcome = download(
        &mut adapter,
        &settings(Source::Feeder, FileFormat::Pnm, 0),
        &mut callback,
    )
    .expect("feeder job");
    assert_eq!(outcome, Outcome::Completed);
    let numbers: Vec<u32> = callback.requests.iter().map(|r| r.page).collect();
    assert_eq!(numbers, vec![1, 2, 3]);
    assert!(callback.requests.iter().all(|r| r.item_name == "Feeder"));
    for (i, ((_, stream), page)) in callback.streams.iter().zip(&pages).enumerate() {
        assert!(stream.is_completed());
        assert_file_shows(&stream.bytes(), FileFormat::Pnm, page, &format!("page {i}"));
    }
    let driver = adapter.driver();
    assert_eq!(driver.count(Call::Start), 3);
    assert_eq!(driver.count(Call::NoDocuments), 1);
    assert_eq!(driver.cancels(), vec![false]);
}

#[test]
fn a_feeder_that_runs_out_ends_with_end_of_media() {
    let (pages, sheets) = feeder_sheets(3, true);
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS));
    let mut callback = MemCallback::default();
    let outcome = download(
        &mut adapter,
        &settings(Source::Feeder, FileFormat::Bmp, 5),
        &mut callback,
    )
    .expect("running out of paper is no error");
    assert_eq!(outcome, Outcome::EndOfMedia { pages: 3 });
    assert_eq!(callback.streams.len(), 3);
    for ((_, stream), page) in callback.streams.iter().zip(&pages) {
        assert_file_shows(&stream.bytes(), FileFormat::Bmp, page, "end of media");
    }
}

#[test]
fn a_feeder_stops_at_the_requested_page_count() {
    let (_, sheets) = feeder_sheets(3, true);
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS));
    let mut callback = MemCallback::default();
    let outcome = download(
        &mut adapter,
        &settings(Source::Feeder, FileFormat::Pnm, 2),
        &mut callback,
    )
    .expect("two of three pages");
    assert_eq!(outcome, Outcome::Completed);
    assert_eq!(callback.streams.len(), 2);
    let driver = adapter.driver();
    assert_eq!(
        driver.count(Call::Start),
        2,
        "the third sheet stays in the tray"
    );
    assert_eq!(driver.count(Call::NoDocuments), 0);
    assert_eq!(lock(&driver.tray).len(), 1);
}

#[test]
fn duplex_sides_alternate_front_and_back() {
    let (pages, sheets) = feeder_sheets(4, false);
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS));
    let mut callback = MemCallback::default();
    let outcome = download(
        &mut adapter,
        &settings(Source::Duplex, FileFormat::Pnm, 3),
        &mut callback,
    )
    .expect("duplex job");
    assert_eq!(outcome, Outcome::Completed);
    let sides: Vec<Side> = callback.requests.iter().map(|r| r.side).collect();
    assert_eq!(sides, vec![Side::Front, Side::Back, Side::Front]);
    for ((_, stream), page) in callback.streams.iter().zip(&pages) {
        assert_file_shows(&stream.bytes(), FileFormat::Pnm, page, "duplex");
    }
}

#[test]
fn an_empty_feeder_raises_paper_empty() {
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(Vec::new(), &SPLITS));
    let mut callback = MemCallback::default();
    let r = run(
        &mut adapter,
        "Feeder",
        &settings(Source::Feeder, FileFormat::Pnm, 0),
        &mut callback,
        RunOptions::default(),
    );
    let error = r.result.expect_err("no paper, nobody handles it");
    assert_eq!(error.code, StatusCode::PAPER_EMPTY);
    assert_eq!(r.trace.statuses(), vec![StatusCode::PAPER_EMPTY]);
    assert!(callback.requests.is_empty());
    assert_eq!(kinds(&callback.messages), vec![MessageKind::EndOfTransfer]);
}

#[test]
fn paper_loaded_after_paper_empty_is_scanned() {
    let (pages, mut sheets) = feeder_sheets(2, true);
    let driver = ScriptedBandDriver::new(Vec::new(), &SPLITS);
    // Loads paper when the feeder is reported empty, as a user pressing
    // Retry.
    let tray = Arc::clone(&driver.tray);
    let load_paper = ScriptedHandler::new(move |status, _| {
        if status.code == StatusCode::PAPER_EMPTY && !sheets.is_empty() {
            lock(&tray).extend(sheets.drain(..));
            StatusAnswer::Handled
        } else {
            StatusAnswer::NotHandled
        }
    });
    let mut adapter = BandDriverAdapter::new(driver);
    let mut callback = MemCallback::default();
    let outcome = download_with(
        &mut adapter,
        &settings(Source::Feeder, FileFormat::Pnm, 0),
        &mut callback,
        RunOptions {
            handler: Some(load_paper),
            ..RunOptions::default()
        },
    )
    .expect("retried after loading paper");
    assert_eq!(outcome, Outcome::Completed);
    assert_eq!(callback.streams.len(), 2);
    for ((_, stream), page) in callback.streams.iter().zip(&pages) {
        assert_file_shows(&stream.bytes(), FileFormat::Pnm, page, "after retry");
    }
}

#[test]
fn a_skipped_page_is_read_and_dropped_and_numbers_stay_dense() {
    let (pages, sheets) = feeder_sheets(3, true);
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS));
    let mut callback =
        MemCallback::replying([StreamReply::Stream, StreamReply::Skip, StreamReply::Stream]);
    let outcome = download(
        &mut adapter,
        &settings(Source::Feeder, FileFormat::Bmp, 0),
        &mut callback,
    )
    .expect("skip is no error");
    assert_eq!(outcome, Outcome::Completed);
    let numbers: Vec<u32> = callback.requests.iter().map(|r| r.page).collect();
    assert_eq!(numbers, vec![1, 2, 2], "the skipped page used no number");
    assert_eq!(callback.streams.len(), 2);
    assert_file_shows(
        &callback.stream(0).bytes(),
        FileFormat::Bmp,
        &pages[0],
        "first",
    );
    assert_file_shows(
        &callback.stream(1).bytes(),
        FileFormat::Bmp,
        &pages[2],
        "third",
    );
    let driver = adapter.driver();
    assert_eq!(
        driver.count(Call::PageEnd),
        3,
        "the skipped page was read to its end"
    );
    assert_eq!(driver.cancels(), vec![false]);
}

#[test]
fn cancel_from_a_status_stops_the_device_mid_page() {
    let page = make_page(PixelFormat::Rgb8, 40, 100, 1);
    let sheet = sheet_for(&page, true, 0);
    let mut adapter =
        BandDriverAdapter::new(ScriptedBandDriver::new(vec![sheet], &[500])).with_rows_per_band(10);
    let mut callback = MemCallback::cancelling(nth_status(2));
    let outcome = download(
        &mut adapter,
        &settings(Source::Flatbed, FileFormat::Pnm, 0),
        &mut callback,
    )
    .expect("cancel is no error");
    assert_eq!(outcome, Outcome::Cancelled);
    assert!(callback.stream(0).is_discarded(), "no half file remains");
    assert!(!callback.stream(0).is_completed());
    assert_eq!(
        kinds(&callback.messages).last(),
        Some(&MessageKind::EndOfTransfer)
    );
    assert!(!kinds(&callback.messages).contains(&MessageKind::EndOfStream));
    let driver = adapter.driver();
    assert_eq!(
        driver.cancels(),
        vec![true],
        "the device was stopped mid-page"
    );
    assert!(
        matches!(driver.calls.last(), Some(Call::Cancel { .. })),
        "nothing was read after the cancel: {:?}",
        driver.calls
    );
}

#[test]
fn cancel_at_the_next_stream_keeps_the_completed_pages() {
    let (pages, sheets) = feeder_sheets(3, true);
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS));
    let mut callback = MemCallback::replying([StreamReply::Stream, StreamReply::Cancel]);
    let outcome = download(
        &mut adapter,
        &settings(Source::Feeder, FileFormat::Pnm, 0),
        &mut callback,
    )
    .expect("cancel is no error");
    assert_eq!(outcome, Outcome::Cancelled);
    assert_eq!(callback.streams.len(), 1);
    assert!(callback.stream(0).is_completed());
    assert_file_shows(
        &callback.stream(0).bytes(),
        FileFormat::Pnm,
        &pages[0],
        "kept",
    );
    let driver = adapter.driver();
    assert_eq!(driver.count(Call::Start), 2);
    assert_eq!(
        driver.cancels(),
        vec![true],
        "the second sheet was started, then stopped"
    );
}

#[test]
fn the_cancel_token_is_checked_between_reads() {
    let page = make_page(PixelFormat::Gray8, 30, 90, 2);
    let sheet = sheet_for(&page, false, 1);
    let mut adapter =
        BandDriverAdapter::new(ScriptedBandDriver::new(vec![sheet], &[31])).with_rows_per_band(4);
    // Fires the job's token at the first STATUS but answers Continue.
    let cancel = CancelToken::new();
    let token = cancel.clone();
    let mut first_status = nth_status(1);
    let mut callback = MemCallback {
        on_message: Some(Box::new(move |message| {
            if first_status(message) {
                token.cancel();
            }
            Flow::Continue
        })),
        ..MemCallback::default()
    };
    let outcome = download_with(
        &mut adapter,
        &settings(Source::Flatbed, FileFormat::Bmp, 0),
        &mut callback,
        RunOptions {
            cancel,
            ..RunOptions::default()
        },
    )
    .expect("cancel is no error");
    assert_eq!(outcome, Outcome::Cancelled);
    assert!(callback.stream(0).is_discarded());
    let driver = adapter.driver();
    assert_eq!(driver.cancels(), vec![true]);
    let bytes_read: usize = driver
        .calls
        .iter()
        .map(|c| if let Call::Read(n) = c { *n } else { 0 })
        .sum();
    assert!(bytes_read < 31 * 90, "the page was not read to its end");
}

#[test]
fn the_device_cancel_button_ends_the_job_cancelled() {
    let page = make_page(PixelFormat::Gray8, 30, 40, 3);
    let mut sheet = sheet_for(&page, true, 0);
    sheet.fault = Some(Fault::CancelButton(30 * 12 + 5));
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(vec![sheet], &SPLITS));
    let mut callback = MemCallback::default();
    let outcome = download(
        &mut adapter,
        &settings(Source::Flatbed, FileFormat::Pnm, 0),
        &mut callback,
    )
    .expect("a device cancel is no error");
    assert_eq!(outcome, Outcome::Cancelled);
    assert!(callback.stream(0).is_discarded());
}

#[test]
fn a_read_error_fails_the_job_and_keeps_the_pages_before_it() {
    let (pages, mut sheets) = feeder_sheets(3, true);
    sheets[1].fault = Some(Fault::ReadError(50));
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS));
    let mut callback = MemCallback::default();
    let error = download(
        &mut adapter,
        &settings(Source::Feeder, FileFormat::Pnm, 0),
        &mut callback,
    )
    .expect_err("the cable was unplugged");
    assert_eq!(error.code, StatusCode::DEVICE_COMMUNICATION);
    assert_eq!(error.page, Some(2));
    assert_eq!(error.pages_completed, 1);
    assert!(error.message.contains("unplugged"), "{}", error.message);
    assert!(callback.stream(0).is_completed());
    assert_file_shows(
        &callback.stream(0).bytes(),
        FileFormat::Pnm,
        &pages[0],
        "kept",
    );
    assert!(callback.stream(1).is_discarded());
    let driver = adapter.driver();
    assert_eq!(driver.count(Call::Failed), 1);
    assert_eq!(driver.cancels(), vec![true], "the device was told to stop");
    assert_eq!(driver.count(Call::Start), 2, "no page after the fault");
}

/// Runs one malformed flatbed page; returns the error.
fn malformed_page(sheet: Sheet, format: FileFormat) -> (TransferError, MemCallback) {
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(vec![sheet], &SPLITS));
    let mut callback = MemCallback::default();
    let error = download(
        &mut adapter,
        &settings(Source::Flatbed, format, 0),
        &mut callback,
    )
    .expect_err("a malformed page fails");
    assert_eq!(
        adapter.driver().cancels().len(),
        1,
        "one cancel stops the device"
    );
    (error, callback)
}

#[test]
fn a_page_ending_inside_a_row_fails_cleanly() {
    for known_height in [true, false] {
        let page = make_page(PixelFormat::Rgb8, 10, 12, 4);
        let mut sheet = sheet_for(&page, known_height, 2);
        if known_height {
            // Rows 0..11 whole, then 7 bytes of row 11.
            sheet.raw.truncate(32 * 11 + 7);
        } else {
            sheet.raw.extend_from_slice(&[1, 2, 3]);
        }
        let (error, callback) = malformed_page(sheet, FileFormat::Bmp);
        assert_eq!(error.code, StatusCode::DEVICE_COMMUNICATION);
        assert!(
            error.message.contains("middle of a row"),
            "{}",
            error.message
        );
        assert!(callback.stream(0).is_discarded());
        assert!(!kinds(&callback.messages).contains(&MessageKind::EndOfStream));
    }
}

#[test]
fn more_rows_than_announced_fail_cleanly() {
    let page = make_page(PixelFormat::Gray8, 10, 12, 6);
    let mut sheet = sheet_for(&page, true, 0);
    sheet.raw.extend_from_slice(&[9; 10]);
    let (error, callback) = malformed_page(sheet, FileFormat::Pnm);
    assert_eq!(error.code, StatusCode::DEVICE_COMMUNICATION);
    assert!(error.message.contains("more than"), "{}", error.message);
    assert!(callback.stream(0).is_discarded());
}

#[test]
fn fewer_rows_than_announced_fail_cleanly() {
    let page = make_page(PixelFormat::Gray8, 10, 12, 7);
    let mut sheet = sheet_for(&page, true, 0);
    sheet.raw.truncate(10 * 5);
    let (error, callback) = malformed_page(sheet, FileFormat::Pnm);
    assert!(
        error.message.contains("5 of the 12 rows"),
        "{}",
        error.message
    );
    assert!(callback.stream(0).is_discarded());
}

#[test]
fn impossible_parameters_fail_before_a_stream_is_asked_for() {
    let page = make_page(PixelFormat::Rgb8, 10, 4, 8);
    let mut sheet = sheet_for(&page, true, 0);
    sheet.params.bytes_per_line = 29;
    let (error, callback) = malformed_page(sheet, FileFormat::Pnm);
    assert!(
        error.message.contains("bytes per line"),
        "{}",
        error.message
    );
    assert!(callback.requests.is_empty());
}

// ---------------------------------------------------------------------------
// Stream driver -> band consumer.

/// What a band consumer received (owned copies).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Header {
        format: FileFormat,
        page: u32,
    },
    Data {
        offset: u64,
        bytes: Vec<u8>,
        percent: i32,
    },
    NewPage {
        page: u32,
    },
    Termination,
}

#[derive(Default)]
struct Recorder {
    got: Vec<Got>,
    /// Answer Cancel to the n-th Data message (1-based) of the stream
    /// that starts with page `.0`.
    cancel_in_page: Option<(u32, usize)>,
    /// Answer Cancel to the NewPage of this page.
    cancel_at_new_page: Option<u32>,
    /// The page the current stream started with.
    page: u32,
    /// Data messages of the current stream.
    data_in_page: usize,
}

impl BandConsumer for Recorder {
    fn message(&mut self, message: BandMessage<'_>) -> Flow {
        let (got, cancel) = match message {
            BandMessage::DataHeader { format, page } => {
                (self.page, self.data_in_page) = (page, 0);
                (Got::Header { format, page }, false)
            }
            BandMessage::Data {
                offset,
                bytes,
                percent,
            } => {
                self.data_in_page += 1;
                (
                    Got::Data {
                        offset,
                        bytes: bytes.to_vec(),
                        percent,
                    },
                    self.cancel_in_page == Some((self.page, self.data_in_page)),
                )
            }
            BandMessage::NewPage { page } => {
                (self.page, self.data_in_page) = (page, 0);
                (Got::NewPage { page }, self.cancel_at_new_page == Some(page))
            }
            BandMessage::Termination => (Got::Termination, false),
        };
        self.got.push(got);
        if cancel { Flow::Cancel } else { Flow::Continue }
    }
}

impl Recorder {
    /// Puts every stream's Data together by offset, as a WIA banded
    /// application does with `lOffset`.
    fn files(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<Vec<u8>> = Vec::new();
        for got in &self.got {
            match got {
                Got::Header { .. } | Got::NewPage { .. } => files.push(Vec::new()),
                Got::Data { offset, bytes, .. } => {
                    let file = files.last_mut().expect("Data before any header");
                    let start = usize::try_from(*offset).expect("offset fits");
                    let end = start + bytes.len();
                    if file.len() < end {
                        file.resize(end, 0);
                    }
                    file[start..end].copy_from_slice(bytes);
                }
                Got::Termination => {}
            }
        }
        files
    }

    fn assert_framing(&self, streams: usize) {
        assert!(
            matches!(self.got.first(), Some(Got::Header { page: 1, .. })),
            "DataHeader first: {:?}",
            self.got.first()
        );
        let headers = self
            .got
            .iter()
            .filter(|g| matches!(g, Got::Header { .. }))
            .count();
        assert_eq!(headers, 1, "one DataHeader");
        let new_pages: Vec<u32> = self
            .got
            .iter()
            .filter_map(|g| match g {
                Got::NewPage { page } => Some(*page),
                _ => None,
            })
            .collect();
        let expected: Vec<u32> = (2..=streams as u32).collect();
        assert_eq!(new_pages, expected, "NewPage between pages");
        let terminations = self
            .got
            .iter()
            .filter(|g| matches!(g, Got::Termination))
            .count();
        assert_eq!(terminations, 1, "Termination exactly once");
        assert_eq!(self.got.last(), Some(&Got::Termination), "Termination last");
        for got in &self.got {
            if let Got::Data { percent, .. } = got {
                assert!((-1..=100).contains(percent), "percent {percent}");
            }
        }
    }

    fn went_back(&self) -> bool {
        let mut end = 0;
        for got in &self.got {
            match got {
                Got::Header { .. } | Got::NewPage { .. } => end = 0,
                Got::Data { offset, bytes, .. } => {
                    if *offset < end {
                        return true;
                    }
                    end = offset + bytes.len() as u64;
                }
                Got::Termination => {}
            }
        }
        false
    }
}

fn run_to_bands(
    adapter: &mut BandDriverAdapter<ScriptedBandDriver>,
    settings: &ScanSettings,
    consumer: &mut Recorder,
) -> Result<Outcome, TransferError> {
    let options = TransferOptions {
        clock: VirtualClock::shared(),
        ..TransferOptions::default()
    };
    let mut transfer = Transfer::new(adapter, options);
    let item = settings.source.item_name();
    let result = acquire_to_bands(&mut transfer, item, settings, consumer);
    check_trace("the band transfer", transfer.trace());
    result
}

#[test]
fn a_band_consumer_gets_every_page_as_offset_chunks() {
    for format in [FileFormat::Pnm, FileFormat::Bmp] {
        for known_height in [true, false] {
            let what = format!("{format:?}, height known: {known_height}");
            let (pages, sheets) = feeder_sheets(3, known_height);
            let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS))
                .with_rows_per_band(5);
            let mut consumer = Recorder::default();
            let outcome = run_to_bands(
                &mut adapter,
                &settings(Source::Feeder, format, 0),
                &mut consumer,
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(outcome, Outcome::Completed, "{what}");
            consumer.assert_framing(3);
            assert_eq!(
                consumer.got.first(),
                Some(&Got::Header { format, page: 1 }),
                "{what}"
            );
            let files = consumer.files();
            assert_eq!(files.len(), 3, "{what}");
            for (i, (file, page)) in files.iter().zip(&pages).enumerate() {
                assert_file_shows(file, format, page, &format!("{what}, page {}", i + 1));
            }
            if !known_height {
                assert!(
                    consumer.went_back(),
                    "{what}: the patched header arrives at a lower offset"
                );
            }
        }
    }
}

#[test]
fn a_band_consumer_sees_progress_in_its_data() {
    let page = make_page(PixelFormat::Gray8, 50, 100, 9);
    let sheet = sheet_for(&page, true, 0);
    let mut adapter =
        BandDriverAdapter::new(ScriptedBandDriver::new(vec![sheet], &[700])).with_rows_per_band(10);
    let mut consumer = Recorder::default();
    let outcome = run_to_bands(
        &mut adapter,
        &settings(Source::Flatbed, FileFormat::Pnm, 0),
        &mut consumer,
    )
    .expect("flatbed page");
    assert_eq!(outcome, Outcome::Completed);
    consumer.assert_framing(1);
    let percents: Vec<i32> = consumer
        .got
        .iter()
        .filter_map(|g| match g {
            Got::Data { percent, .. } => Some(*percent),
            _ => None,
        })
        .collect();
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
    assert!(percents.contains(&50), "{percents:?}");
    assert_eq!(percents.last(), Some(&100));
}

#[test]
fn a_band_consumer_cancels_mid_page() {
    let (pages, sheets) = feeder_sheets(3, true);
    let mut adapter =
        BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS)).with_rows_per_band(2);
    let mut consumer = Recorder {
        cancel_in_page: Some((2, 3)),
        ..Recorder::default()
    };
    let outcome = run_to_bands(
        &mut adapter,
        &settings(Source::Feeder, FileFormat::Pnm, 0),
        &mut consumer,
    )
    .expect("cancel is no error");
    assert_eq!(outcome, Outcome::Cancelled);
    consumer.assert_framing(2);
    assert!(
        matches!(&consumer.got[consumer.got.len() - 2], Got::Data { .. }),
        "no Data after the consumer cancelled"
    );
    assert_eq!(
        consumer.data_in_page, 3,
        "no Data after the consumer cancelled"
    );
    let files = consumer.files();
    assert_file_shows(&files[0], FileFormat::Pnm, &pages[0], "page 1 kept");
    let driver = adapter.driver();
    assert_eq!(
        driver.cancels(),
        vec![true],
        "the device was stopped mid-page"
    );
    assert_eq!(driver.count(Call::Start), 2);
}

#[test]
fn a_band_consumer_cancels_at_a_new_page() {
    let (pages, sheets) = feeder_sheets(3, false);
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS));
    let mut consumer = Recorder {
        cancel_at_new_page: Some(2),
        ..Recorder::default()
    };
    let outcome = run_to_bands(
        &mut adapter,
        &settings(Source::Feeder, FileFormat::Bmp, 0),
        &mut consumer,
    )
    .expect("cancel is no error");
    assert_eq!(outcome, Outcome::Cancelled);
    consumer.assert_framing(2);
    let files = consumer.files();
    assert_file_shows(&files[0], FileFormat::Bmp, &pages[0], "page 1 kept");
    assert!(files[1].is_empty(), "nothing of page 2 was sent");
}

#[test]
fn a_band_consumer_is_terminated_once_when_the_job_fails() {
    let (_, mut sheets) = feeder_sheets(2, true);
    sheets[0].fault = Some(Fault::ReadError(40));
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS));
    let mut consumer = Recorder::default();
    let error = run_to_bands(
        &mut adapter,
        &settings(Source::Feeder, FileFormat::Pnm, 0),
        &mut consumer,
    )
    .expect_err("the read fails");
    assert_eq!(error.code, StatusCode::DEVICE_COMMUNICATION);
    consumer.assert_framing(1);
}

// ---------------------------------------------------------------------------
// Multipage documents.

/// Checks that a multipage TIFF holds exactly `pages`, in 8-bit gray.
fn assert_document_holds(bytes: &[u8], pages: &[Page]) {
    let decoded = tiff_images(bytes).expect("the TIFF document opens");
    assert_eq!(decoded.len(), pages.len(), "pages in the document");
    for (i, (image, page)) in decoded.iter().zip(pages).enumerate() {
        assert_eq!(image.color, tiff::ColorType::Gray(8), "page {}", i + 1);
        assert_eq!(
            (image.page.header.width, image.page.height()),
            (page.header.width, page.height()),
            "page {}",
            i + 1
        );
        assert!(image.page.data == page.data, "pixels of page {}", i + 1);
    }
}

#[test]
fn a_multipage_tiff_gets_every_legacy_page() {
    let (pages, sheets) = feeder_sheets(3, false);
    let mut adapter = BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS));
    let mut callback = MemCallback::default();
    let settings = ScanSettings {
        multipage: true,
        ..settings(Source::Feeder, FileFormat::Tiff, 0)
    };
    let outcome = download(&mut adapter, &settings, &mut callback).expect("multipage job");
    assert_eq!(outcome, Outcome::Completed);
    assert_eq!(callback.streams.len(), 1, "one document stream");
    let new_pages = callback.pages_of(MessageKind::NewPage);
    assert_eq!(new_pages, vec![1, 2, 3]);
    assert!(callback.stream(0).is_completed());
    assert_document_holds(&callback.stream(0).bytes(), &pages);
}

#[test]
fn a_band_consumer_gets_a_multipage_document_as_one_stream() {
    let (pages, sheets) = feeder_sheets(3, true);
    let mut adapter =
        BandDriverAdapter::new(ScriptedBandDriver::new(sheets, &SPLITS)).with_rows_per_band(7);
    let mut consumer = Recorder::default();
    let settings = ScanSettings {
        multipage: true,
        ..settings(Source::Feeder, FileFormat::Tiff, 0)
    };
    let outcome = run_to_bands(&mut adapter, &settings, &mut consumer).expect("multipage job");
    assert_eq!(outcome, Outcome::Completed);
    consumer.assert_framing(1);
    let files = consumer.files();
    assert_eq!(files.len(), 1);
    assert_document_holds(&files[0], &pages);
}
