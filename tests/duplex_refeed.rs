//! A duplex sheet fed again after a fault on its back: the virtual scanner
//! feeds the whole sheet again, front first, as real feeders do, and the
//! transfer layer drops the front it already delivered. Each job runs
//! through `support::run`, so its trace goes through the message-order
//! checker; the pages are compared with those of the same job without the
//! fault, so a front delivered twice (or a back mixed with its front)
//! fails.

mod support;

use streamscan::output::FileFormat;
use streamscan::transfer::{
    AcquireEnd, AcquireRequest, AcquireSink, Capabilities, DeviceInfo, Driver, DriverError, Item,
    MessageKind, Outcome, PageData, PageGo, PageStart, ScanSettings, Side, Source, StatusCode,
    TraceEvent,
};
use support::*;

/// Two sheets, both sides, one PNG (or the device's own format) per side.
fn duplex(format: FileFormat) -> ScanSettings {
    ScanSettings {
        source: Source::Duplex,
        dpi: 75,
        format,
        ..ScanSettings::default()
    }
}

/// Scans `sim:{rest}` (two sheets, fast) with Retry answered to every
/// error; the completed files and the run.
fn scan(rest: &str, settings: &ScanSettings) -> (Run, MemCallback) {
    let dir = tmp();
    let mut driver = sim(&format!("speed=max,warmup=0,pages=2,{rest}"), dir.path());
    let mut cb = MemCallback::default();
    let options = RunOptions {
        handler: Some(ScriptedHandler::retry_errors()),
        ..RunOptions::default()
    };
    let r = run(&mut driver, "Feeder", settings, &mut cb, options);
    (r, cb)
}

#[test]
fn a_jam_on_a_back_side_refeeds_the_sheet_and_the_front_comes_once() {
    for rest in ["", "format=jpeg", "format=png"] {
        for fault in ["jam@2", "multifeed@4", "coveropen@2"] {
            let settings = duplex(FileFormat::Png);
            let (clean, clean_cb) = scan(rest, &settings);
            assert_eq!(clean.result, Ok(Outcome::Completed));
            let (r, cb) = scan(&format!("{rest},fault={fault}"), &settings);
            let case = format!("[{rest} {fault}]");
            assert_eq!(r.result, Ok(Outcome::Completed), "{case}");
            // Four sides, each exactly as scanned without the fault.
            assert_eq!(cb.completed(), clean_cb.completed(), "{case}");
            assert_eq!(cb.pages_of(MessageKind::EndOfStream), vec![1, 2, 3, 4]);
            // The back was rewound and written again; nothing else was.
            let rewound: Vec<u32> = r
                .trace
                .events
                .iter()
                .filter_map(|e| match e {
                    TraceEvent::PageRewound { page } => Some(*page),
                    _ => None,
                })
                .collect();
            let back = fault.split('@').nth(1).and_then(|n| n.parse().ok());
            assert_eq!(rewound, back.into_iter().collect::<Vec<u32>>(), "{case}");
            assert_eq!(r.totals.delivered, 4, "{case}");
            assert_eq!(r.totals.abandoned, 0, "{case}");
        }
    }
}

#[test]
fn a_refed_front_passes_through_a_document_once() {
    let settings = ScanSettings {
        multipage: true,
        ..duplex(FileFormat::Pdf)
    };
    let (clean, clean_cb) = scan("", &settings);
    assert_eq!(clean.result, Ok(Outcome::Completed));
    let (r, cb) = scan("fault=jam@4", &settings);
    assert_eq!(r.result, Ok(Outcome::Completed));
    assert_eq!(cb.completed(), clean_cb.completed());
}

/// A driver that misuses [`AcquireSink::refed_side`]: it calls it on the
/// front of a sheet, where nothing was delivered before.
struct Misuse;

impl Driver for Misuse {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: String::from("misuse:"),
            name: String::from("Misuse"),
            kind: String::from("test"),
        }
    }
    fn items(&self) -> Result<Item, DriverError> {
        Ok(flatbed_items())
    }
    fn capabilities(&self) -> Result<Capabilities, DriverError> {
        Ok(flatbed_capabilities())
    }
    fn acquire(
        &mut self,
        request: &AcquireRequest,
        sink: &mut dyn AcquireSink,
    ) -> Result<AcquireEnd, DriverError> {
        if sink.begin_page(PageStart {
            item: request.item.clone(),
            side: Side::Front,
        }) != PageGo::Continue
        {
            return Ok(AcquireEnd::Cancelled);
        }
        let page =
            streamscan::raster::Page::filled(8, 4, streamscan::raster::PixelFormat::Gray8, 75, 255);
        sink.refed_side(Side::Front, PageData::Raw(page.header))?;
        Ok(AcquireEnd::Done)
    }
}

#[test]
fn a_refed_side_that_is_not_before_a_back_is_a_driver_error() {
    let mut cb = MemCallback::default();
    let r = run(
        &mut Misuse,
        "Flatbed",
        &ScanSettings::default(),
        &mut cb,
        RunOptions::default(),
    );
    let error = r.result.expect_err("misuse is an error");
    assert_eq!(error.code, StatusCode::INVALID_DRIVER_RESPONSE);
    assert!(error.message.contains("again"), "{}", error.message);
    assert!(cb.completed().is_empty());
}
