//! Throughput of the main scanning path: the virtual scanner at full speed
//! -> engine -> one multipage PDF with JPEG pages, 300 dpi colour A4 from
//! the feeder, in pages per second; plus the pieces of that path measured
//! alone (rendering a page, encoding a rendered page into a PDF, the bare
//! JPEG encoder) so that the difference shows where the time goes.
//!
//! `cargo bench --bench scan_to_pdf` takes about two minutes; see
//! `benches/README.md` for how to read the figures.

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use streamscan::clock::VirtualClock;
use streamscan::device::sim::render::{PageSpec, render_page};
use streamscan::engine::{Command, Engine, EngineConfig, Event, JobId, OutputTarget};
use streamscan::output::{EncodeOptions, FileFormat, PageEncoder, PdfEncoder};
use streamscan::raster::{Band, Page};
use streamscan::transfer::{
    ColorMode, MemoryDestination, Outcome, PageSize, ScanSettings, Side, Source,
};

/// Resolution of every benchmark.
const DPI: u32 = 300;
/// Pages of one end-to-end job.
const JOB_PAGES: u32 = 5;
/// Rows per band, as the virtual scanner sends them.
const BAND_ROWS: u32 = streamscan::device::sim::BAND_ROWS;
/// JPEG quality of the pages (the scan settings' default).
const QUALITY: u8 = 85;

/// Settings for a group whose iterations take a good fraction of a second:
/// few samples, one iteration each.
fn slow_group(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
}

/// The page the virtual scanner sends first in these jobs.
fn spec() -> PageSpec {
    PageSpec {
        number: 1,
        side: Side::Front,
        seed: 1,
        dpi: DPI,
        mode: ColorMode::Color,
        ..PageSpec::default()
    }
}

/// Escapes a path for a `sim:` id (`,` and `=` separate its options).
fn sim_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.display().to_string().chars() {
        match c {
            '%' => out.push_str("%25"),
            ',' => out.push_str("%2C"),
            '=' => out.push_str("%3D"),
            c => out.push(c),
        }
    }
    out
}

/// Runs one feeder job into `pdf` and waits for it, draining every event.
fn scan_job(engine: &Engine, job: JobId, device: &str, pdf: &Path) {
    let sent = engine.send(Command::Scan {
        job,
        device: device.to_string(),
        settings: ScanSettings {
            source: Source::Feeder,
            dpi: DPI,
            mode: ColorMode::Color,
            size: PageSize::A4,
            pages: 0,
            format: FileFormat::Pdf,
            quality: QUALITY,
            ..ScanSettings::default()
        },
        output: OutputTarget::Document {
            path: pdf.to_path_buf(),
            overwrite: true,
        },
        interactive: false,
    });
    assert!(sent, "the engine is running");
    loop {
        let event = engine
            .events()
            .recv_timeout(Duration::from_secs(300))
            .expect("the job keeps sending events");
        if let Event::JobFinished {
            job: finished,
            result,
        } = event
            && finished == job
        {
            let summary = result.unwrap_or_else(|e| panic!("the benchmark job failed: {e}"));
            assert_eq!(summary.outcome, Outcome::Completed);
            assert_eq!(summary.totals.delivered, JOB_PAGES);
            return;
        }
    }
}

/// Virtual scanner -> engine -> multipage PDF file: what `streamscan scan`
/// does.
fn end_to_end(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let device = format!(
        "sim:pages={JOB_PAGES},speed=max,warmup=0,storage={}",
        sim_path(&dir.path().join("storage"))
    );
    let pdf: PathBuf = dir.path().join("out.pdf");
    let config = EngineConfig {
        clock: VirtualClock::shared(),
        ..EngineConfig::default()
    };
    let engine = Engine::start(config, Arc::new(|| {}));
    let mut job: JobId = 0;

    let mut group = c.benchmark_group("scan_to_pdf");
    slow_group(&mut group);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(u64::from(JOB_PAGES)));
    group.bench_function(
        format!("end_to_end_{JOB_PAGES}_pages_{DPI}dpi_color_a4"),
        |b| {
            b.iter(|| {
                job += 1;
                scan_job(&engine, job, &device, &pdf);
            });
        },
    );
    group.finish();
}

/// Writes `bands` of a page with `header` as one page of a PDF in memory.
fn pdf_of(page: &Page, bands: &[Band]) -> usize {
    let dest = Box::new(MemoryDestination::default());
    let mut pdf =
        PdfEncoder::document(EncodeOptions { quality: QUALITY }, dest).expect("a PDF encoder");
    pdf.begin_page(&page.header).expect("begin");
    for band in bands {
        pdf.write_band(band).expect("band");
    }
    pdf.end_page().expect("end");
    pdf.finish().expect("finish");
    pdf.destination().stream_position().expect("position") as usize
}

/// The pieces of one page's way, each alone.
fn pieces(c: &mut Criterion) {
    let page = render_page(&spec()).page;
    let bands: Vec<Band> = page.bands(BAND_ROWS).collect();
    let (width, height) = (page.header.width, page.height());

    let mut group = c.benchmark_group("page");
    slow_group(&mut group);
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("render_{DPI}dpi_color_a4"), |b| {
        b.iter(|| render_page(black_box(&spec())));
    });
    group.bench_function("split_into_bands", |b| {
        b.iter(|| {
            // Every band is a copy of its rows, as the virtual scanner sends
            // it; `black_box` keeps the copies from being optimised away.
            for band in black_box(&page).bands(BAND_ROWS) {
                black_box(band);
            }
        });
    });
    group.bench_function("pdf_page_from_bands", |b| {
        b.iter(|| pdf_of(black_box(&page), black_box(&bands)));
    });
    group.bench_function("jpeg_encode_alone", |b| {
        let mut out = Vec::with_capacity(page.data.len() / 4);
        b.iter(|| {
            out.clear();
            let encoder = jpeg_encoder::Encoder::new(&mut out, QUALITY);
            let w = u16::try_from(width).expect("fits JPEG");
            let h = u16::try_from(height).expect("fits JPEG");
            encoder
                .encode(black_box(&page.data), w, h, jpeg_encoder::ColorType::Rgb)
                .expect("encode");
            out.len()
        });
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    end_to_end(&mut criterion);
    pieces(&mut criterion);
    criterion.final_summary();
}
