//! Speed of each filter operation on one 300 dpi A4 page (2480 x 3508), in
//! colour and in gray, as the virtual scanner renders it: the point lookup
//! table, black and white at a fixed level and with Otsu's level, quarter
//! and half turns, deskew (detection and resampling, on a page skewed by 3
//! degrees), auto-crop (paper detection and crop, on the page lying on a
//! dark lid), blank detection (on that page and on a blank sheet) and
//! despeckling (connected specks on a black-and-white page, the 3 x 3
//! median on gray).
//!
//! Pages are rendered once, before any measurement; operations that change
//! a page in place get a fresh copy per iteration, outside the timing.
//! `benches/imagemagick.sh` times ImageMagick's counterparts on the same
//! pages; `benches/README.md` puts the two side by side.
//!
//! `cargo bench --bench filter_ops` takes about two minutes;
//! `cargo bench --bench filter_ops -- gray/` runs one group.

use criterion::{BatchSize, BenchmarkGroup, Criterion, SamplingMode};
use std::hint::black_box;
use std::time::Duration;
use streamscan::device::sim::render::{LID_RGB, PageSpec, render_page};
use streamscan::filter::geometry::{crop, deskew, detect_paper, snap_to_standard};
use streamscan::filter::ops::{PointLut, despeckle, detect_blank, rotate, to_black_and_white};
use streamscan::filter::{FilterSettings, PageKey, PreviewCache, Rotation, Threshold};
use streamscan::raster::{Page, PageHeader, PixelFormat};
use streamscan::transfer::ColorMode;
use streamscan::transfer::Side;

/// Resolution of every page.
const DPI: u32 = 300;
/// Skew of the page deskew straightens, degrees counter-clockwise.
const SKEW_DEG: f64 = 3.0;
/// Width of the dark lid around the page auto-crop finds: 10 mm.
const BORDER_PX: u32 = 118;
/// Largest speck despeckling removes at 300 dpi (as the pipeline asks).
const SPECK_PX: u32 = 12;
/// Brightness and contrast of the lookup table (ImageMagick's
/// `-brightness-contrast 10x20`, on our -1000..1000 scale).
const BRIGHTNESS: i32 = 100;
const CONTRAST: i32 = 200;

/// Few samples of one iteration each: every iteration takes milliseconds to
/// a few hundred milliseconds, and the whole run should stay near two
/// minutes.
fn quick_group(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

/// The first page the virtual scanner sends (`sim` defaults: seed 1, no
/// noise), in `mode`, skewed by `skew_deg`; `noise` adds dust specks.
fn page(mode: ColorMode, skew_deg: f64, noise: f32, blank: bool) -> Page {
    render_page(&PageSpec {
        number: 1,
        seed: 1,
        dpi: DPI,
        mode,
        skew_deg,
        noise,
        blank,
        ..PageSpec::default()
    })
    .page
}

/// `page` lying on the scanner's dark lid: a border of `border` pixels of
/// the lid colour on every side.
fn on_lid(page: &Page, border: u32) -> Page {
    let lid: Vec<u8> = match page.header.format {
        PixelFormat::Rgb8 => LID_RGB.to_vec(),
        // The luma of the lid colour.
        PixelFormat::Gray8 => vec![79],
        PixelFormat::Bw1 => vec![0xFF],
    };
    let width = page.header.width + 2 * border;
    let height = page.height() + 2 * border;
    let header = PageHeader {
        width,
        height: Some(height),
        ..page.header
    };
    let row_bytes = header.row_bytes();
    let mut data: Vec<u8> = lid
        .iter()
        .copied()
        .cycle()
        .take(row_bytes * height as usize)
        .collect();
    let offset = border as usize * lid.len();
    let page_row = page.header.row_bytes();
    for y in 0..page.height() {
        let at = (y + border) as usize * row_bytes + offset;
        data[at..at + page_row].copy_from_slice(page.row(y));
    }
    Page { header, data }
}

/// Paper detection and crop, as the pipeline runs them.
fn autocrop(scene: &Page) -> Option<Page> {
    let found = detect_paper(scene)?;
    let rect = snap_to_standard(found, scene.header.dpi_x, scene.header.dpi_y);
    Some(crop(scene, rect))
}

/// Every operation on the colour or the gray page.
fn operations(c: &mut Criterion, mode: ColorMode) {
    let straight = page(mode, 0.0, 0.0, false);
    let skewed = page(mode, SKEW_DEG, 0.0, false);
    let empty = page(mode, 0.0, 0.0, true);
    let scene = on_lid(&straight, BORDER_PX);
    // The measured work must be the real work: check the inputs once.
    let found = autocrop(&scene).expect("the paper is found on the lid");
    assert!(found.header.width.abs_diff(straight.header.width) < 40);
    assert!(
        deskew(&skewed)
            .1
            .is_some_and(|a| (a - SKEW_DEG).abs() < 0.5)
    );
    assert!(detect_blank(&empty, 0.5).blank && !detect_blank(&straight, 0.5).blank);
    let lut = PointLut::new(BRIGHTNESS, CONTRAST, 1.0);

    let mut group = c.benchmark_group(mode.as_str());
    quick_group(&mut group);
    group.bench_function("point_lut", |b| {
        b.iter_batched_ref(
            || straight.clone(),
            |page| lut.apply_page(page),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("threshold_fixed", |b| {
        b.iter(|| to_black_and_white(black_box(&straight), Threshold::Fixed(128)));
    });
    group.bench_function("threshold_otsu", |b| {
        b.iter(|| to_black_and_white(black_box(&straight), Threshold::Auto));
    });
    group.bench_function("rotate_90", |b| {
        b.iter(|| rotate(black_box(&straight), Rotation::Cw90));
    });
    group.bench_function("rotate_180", |b| {
        b.iter(|| rotate(black_box(&straight), Rotation::Cw180));
    });
    group.bench_function("deskew_3deg", |b| {
        b.iter(|| deskew(black_box(&skewed)));
    });
    group.bench_function("autocrop", |b| {
        b.iter(|| autocrop(black_box(&scene)));
    });
    group.bench_function("blank_detect_content", |b| {
        b.iter(|| detect_blank(black_box(&straight), 0.5));
    });
    group.bench_function("blank_detect_empty", |b| {
        b.iter(|| detect_blank(black_box(&empty), 0.5));
    });
    if mode == ColorMode::Gray {
        // On gray, despeckling is a 3 x 3 median.
        let dusty = page(mode, 0.0, 0.3, false);
        group.bench_function("despeckle_median", |b| {
            b.iter_batched_ref(
                || dusty.clone(),
                |page| despeckle(page, SPECK_PX),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

/// Despeckling a black-and-white page: the gray page with dust, thresholded.
fn despeckle_bw(c: &mut Criterion) {
    let dusty = page(ColorMode::Gray, 0.0, 0.3, false);
    let bw = to_black_and_white(&dusty, Threshold::Fixed(128));
    let mut group = c.benchmark_group("bw");
    quick_group(&mut group);
    group.bench_function("despeckle", |b| {
        b.iter_batched_ref(
            || bw.clone(),
            |page| despeckle(page, SPECK_PX),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// Re-rendering the preview of a cached 300 dpi page after a slider moved:
/// the preview cache's screen-sized path (target: under 30 ms).
fn preview_rerender(c: &mut Criterion) {
    let mut group = c.benchmark_group("preview");
    quick_group(&mut group);
    for mode in [ColorMode::Color, ColorMode::Gray] {
        let mut cache = PreviewCache::default();
        let key = PageKey { job: 1, page: 1 };
        cache.insert(key, Side::Front, page(mode, 0.0, 0.0, false));
        let settings = FilterSettings {
            brightness: BRIGHTNESS,
            contrast: CONTRAST,
            ..FilterSettings::default()
        };
        group.bench_function(format!("rerender_{}", mode.as_str()), |b| {
            b.iter(|| cache.update_preview(key, black_box(&settings), 1024, 1024));
        });
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    preview_rerender(&mut criterion);
    operations(&mut criterion, ColorMode::Color);
    operations(&mut criterion, ColorMode::Gray);
    despeckle_bw(&mut criterion);
    criterion.final_summary();
}
