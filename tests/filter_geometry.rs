//! Geometry filters against ground truth: skew of the virtual scanner's
//! pages and of pages turned by ImageMagick (fixtures in
//! `tests/data/deskew/`), paper found on a dark lid, and photo prints found
//! on the flatbed, all compared with what the simulator placed.

use std::path::{Path, PathBuf};
use streamscan::device::sim::render::{LID_RGB, PAPER_RGB, PageSpec, Region, render_page};
use streamscan::filter::geometry::{
    DetectedRegion, Rect, StandardSize, crop, deskew, detect_paper, detect_regions, detect_skew,
    extract_region, paper_colour, rotate_by, snap_to_standard,
};
use streamscan::raster::{Page, PageHeader, PixelFormat};
use streamscan::transfer::callback::Side;
use streamscan::transfer::settings::ColorMode;

// ---------------------------------------------------------------- helpers

/// A document page of the simulator.
fn document(dpi: u32, mode: ColorMode, skew_deg: f64, seed: u64) -> Page {
    render_page(&PageSpec {
        dpi,
        mode,
        skew_deg,
        seed,
        number: (seed % 7) as u32 + 1,
        side: if seed.is_multiple_of(2) {
            Side::Front
        } else {
            Side::Back
        },
        noise: 0.4,
        ..PageSpec::default()
    })
    .page
}

/// Black and white from gray: below 128 is black (a set bit).
fn to_bw(gray: &Page) -> Page {
    let width = gray.header.width as usize;
    let header = PageHeader {
        format: PixelFormat::Bw1,
        ..gray.header
    };
    let row_bytes = header.row_bytes();
    let mut data = vec![0u8; row_bytes * gray.height() as usize];
    for (src, dst) in gray
        .data
        .chunks_exact(width)
        .zip(data.chunks_exact_mut(row_bytes))
    {
        for (x, &v) in src.iter().enumerate() {
            if v < 128 {
                dst[x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    Page { header, data }
}

/// A page decoded from a fixture, gray or colour as stored.
fn load_fixture(path: &Path, dpi: u32) -> Page {
    let image = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (format, data, width, height) = match image.color() {
        image::ColorType::L8 | image::ColorType::L16 | image::ColorType::La8 => {
            let gray = image.to_luma8();
            (
                PixelFormat::Gray8,
                gray.as_raw().clone(),
                gray.width(),
                gray.height(),
            )
        }
        _ => {
            let rgb = image.to_rgb8();
            (
                PixelFormat::Rgb8,
                rgb.as_raw().clone(),
                rgb.width(),
                rgb.height(),
            )
        }
    };
    Page {
        header: PageHeader {
            width,
            height: Some(height),
            format,
            dpi_x: dpi,
            dpi_y: dpi,
        },
        data,
    }
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/deskew")
}

/// A dark lid (with a little deterministic noise) of `width x height`
/// pixels with `sheet` pasted at `(x, y)`.
fn sheet_on_lid(width: u32, height: u32, sheet: &Page, x: u32, y: u32) -> Page {
    assert_eq!(sheet.header.format, PixelFormat::Rgb8);
    let mut page = Page::filled(width, height, PixelFormat::Rgb8, sheet.header.dpi_x, 0);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for px in page.data.chunks_exact_mut(3) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let jitter = (state % 9) as i16 - 4;
        for (v, &lid) in px.iter_mut().zip(&LID_RGB) {
            *v = (i16::from(lid) + jitter).clamp(0, 255) as u8;
        }
    }
    let row = page.header.row_bytes();
    let sheet_row = sheet.header.row_bytes();
    for sy in 0..sheet.height() {
        let at = (y + sy) as usize * row + x as usize * 3;
        page.data[at..at + sheet_row].copy_from_slice(sheet.row(sy));
    }
    page
}

fn mm_to_px(mm: f64, dpi: u32) -> f64 {
    mm * f64::from(dpi) / 25.4
}

// ---------------------------------------------------------------- deskew

/// Every angle the issue names, both ways.
const SKEWS: [f64; 10] = [0.5, -0.5, 2.0, -2.0, 5.0, -5.0, 10.0, -10.0, 15.0, -15.0];

#[test]
fn skew_of_simulated_pages_is_found_within_a_tenth_of_a_degree() {
    let mut worst: f64 = 0.0;
    for (dpi, mode) in [
        (150, ColorMode::Color),
        (200, ColorMode::Gray),
        (100, ColorMode::Bw),
    ] {
        for (i, &skew) in SKEWS.iter().enumerate() {
            let page = document(dpi, mode, skew, i as u64 + u64::from(dpi));
            let found =
                detect_skew(&page).unwrap_or_else(|| panic!("{dpi} dpi {mode:?} {skew}: no angle"));
            let error = (found - skew).abs();
            worst = worst.max(error);
            assert!(
                error < 0.1,
                "{dpi} dpi {mode:?}: skew {skew} found as {found}"
            );
        }
    }
    eprintln!("simulated pages: worst skew error {worst:.3} degrees");
}

#[test]
fn skew_of_a_300_dpi_page_is_found_too() {
    for skew in [-3.3, 7.7] {
        let page = document(300, ColorMode::Color, skew, 99);
        let found = detect_skew(&page).expect("an angle");
        assert!((found - skew).abs() < 0.1, "{skew}: {found}");
    }
}

#[test]
fn a_straight_page_measures_straight() {
    for mode in [ColorMode::Color, ColorMode::Gray, ColorMode::Bw] {
        let found = detect_skew(&document(150, mode, 0.0, 3)).expect("an angle");
        assert!(found.abs() < 0.1, "{mode:?}: {found}");
    }
}

#[test]
fn blank_pages_have_no_skew_even_with_dust() {
    for mode in [ColorMode::Color, ColorMode::Gray, ColorMode::Bw] {
        for seed in 0..3 {
            let page = render_page(&PageSpec {
                dpi: 150,
                mode,
                blank: true,
                noise: 1.0,
                seed,
                ..PageSpec::default()
            })
            .page;
            assert_eq!(detect_skew(&page), None, "{mode:?} seed {seed}");
            let (same, angle) = deskew(&page);
            assert_eq!(angle, None);
            assert_eq!(same, page);
        }
    }
}

#[test]
fn skew_of_pages_turned_by_imagemagick_matches_the_readme() {
    // File, expected angle (counter-clockwise positive). The commands that
    // made them are in tests/data/deskew/README.md; ImageMagick's -rotate
    // turns clockwise for positive angles, hence the signs.
    let fixtures = [
        ("letter-ccw3.5.jpg", 3.5),
        ("report-cw7.2.png", -7.2),
        ("memo-ccw12.jpg", 12.0),
        ("invoice-cw0.8.jpg", -0.8),
    ];
    let mut worst: f64 = 0.0;
    for (name, expected) in fixtures {
        let page = load_fixture(&fixture_dir().join(name), 150);
        let found = detect_skew(&page).unwrap_or_else(|| panic!("{name}: no angle"));
        let error = (found - expected).abs();
        worst = worst.max(error);
        assert!(error < 0.1, "{name}: expected {expected}, found {found}");
        // Straightened, the page measures straight.
        let (straight, _) = deskew(&page);
        assert_eq!(straight.header, page.header);
        let residual = detect_skew(&straight).expect("an angle after deskew");
        assert!(residual.abs() < 0.1, "{name}: {residual} left after deskew");
    }
    eprintln!("ImageMagick fixtures: worst skew error {worst:.3} degrees");
}

#[test]
fn deskew_straightens_and_fills_corners_with_the_paper() {
    for mode in [ColorMode::Color, ColorMode::Gray, ColorMode::Bw] {
        let page = document(150, mode, -6.0, 21);
        let (straight, angle) = deskew(&page);
        let angle = angle.expect("an angle");
        assert!((angle + 6.0).abs() < 0.1, "{mode:?}: {angle}");
        assert_eq!(straight.header, page.header);
        let residual = detect_skew(&straight).expect("an angle");
        assert!(residual.abs() < 0.1, "{mode:?}: {residual} left");
        // The top-left corner came from outside the page: paper colour.
        let gray = straight.to_gray();
        let corner = gray.data[gray.header.width as usize * 2 + 2];
        assert!(corner > 200, "{mode:?}: corner {corner}");
    }
}

#[test]
fn paper_colour_is_the_simulated_paper() {
    let page = document(100, ColorMode::Color, 4.0, 5);
    let colour = paper_colour(&page);
    for (c, p) in colour.iter().zip(PAPER_RGB) {
        assert!(c.abs_diff(p) <= 6, "{colour:?} vs {PAPER_RGB:?}");
    }
}

#[test]
fn rotate_by_turns_counter_clockwise_like_the_simulator() {
    let straight = document(150, ColorMode::Gray, 0.0, 8);
    let turned = rotate_by(&straight, 4.0, [246; 3]);
    assert_eq!(turned.header, straight.header);
    let found = detect_skew(&turned).expect("an angle");
    assert!((found - 4.0).abs() < 0.1, "{found}");
    // Turning back nearly restores the middle of the page.
    let back = rotate_by(&turned, -4.0, [246; 3]);
    let (w, h) = (straight.header.width as usize, straight.height() as usize);
    let mut diff = 0u64;
    let mut n = 0u64;
    for y in h / 3..2 * h / 3 {
        for x in w / 3..2 * w / 3 {
            diff += u64::from(straight.data[y * w + x].abs_diff(back.data[y * w + x]));
            n += 1;
        }
    }
    assert!(diff / n < 12, "mean difference {}", diff / n);
}

#[test]
fn rotating_black_and_white_keeps_the_format() {
    let page = document(100, ColorMode::Bw, 0.0, 2);
    let turned = rotate_by(&page, -2.5, [255; 3]);
    assert_eq!(turned.header, page.header);
    assert_eq!(turned.data.len(), page.data.len());
    let found = detect_skew(&turned).expect("an angle");
    assert!((found + 2.5).abs() < 0.1, "{found}");
}

// ---------------------------------------------------------------- paper

#[test]
fn paper_on_a_dark_lid_is_found_within_two_pixels() {
    let sheet = render_page(&PageSpec {
        dpi: 100,
        width_mm: 120.0,
        height_mm: 170.0,
        seed: 4,
        noise: 0.3,
        ..PageSpec::default()
    })
    .page;
    let (sw, sh) = (sheet.header.width, sheet.height());
    let scene = sheet_on_lid(827, 1169, &sheet, 123, 87);
    let expected = Rect {
        x: 123,
        y: 87,
        width: sw,
        height: sh,
    };
    let gray = scene.to_gray();
    for (name, page) in [
        ("colour", scene.clone()),
        ("gray", gray.clone()),
        ("bw", to_bw(&gray)),
    ] {
        let found = detect_paper(&page).unwrap_or_else(|| panic!("{name}: no paper"));
        for (a, b) in [
            (found.x, expected.x),
            (found.y, expected.y),
            (found.right(), expected.right()),
            (found.bottom(), expected.bottom()),
        ] {
            assert!(a.abs_diff(b) <= 2, "{name}: {found:?} vs {expected:?}");
        }
    }
    // Cropped, the page is the sheet.
    let found = detect_paper(&scene).expect("paper");
    let cropped = crop(&scene, found);
    assert_eq!(
        (cropped.header.width, cropped.height()),
        (found.width, found.height)
    );
    assert!(paper_colour(&cropped).iter().all(|&c| c > 200));
}

#[test]
fn paper_in_the_corner_of_the_glass_is_found() {
    let sheet = render_page(&PageSpec {
        dpi: 75,
        width_mm: 100.0,
        height_mm: 140.0,
        ..PageSpec::default()
    })
    .page;
    let scene = sheet_on_lid(620, 877, &sheet, 0, 0);
    let found = detect_paper(&scene).expect("paper");
    assert_eq!((found.x, found.y), (0, 0));
    assert!(found.width.abs_diff(sheet.header.width) <= 2);
    assert!(found.height.abs_diff(sheet.height()) <= 2);
}

#[test]
fn near_a5_paper_snaps_to_a5() {
    let dpi = 100;
    // 150 x 207 mm: within 3 % of A5 (148 x 210).
    let sheet = render_page(&PageSpec {
        dpi,
        width_mm: 150.0,
        height_mm: 207.0,
        seed: 9,
        ..PageSpec::default()
    })
    .page;
    let scene = sheet_on_lid(827, 1169, &sheet, 200, 150);
    let found = detect_paper(&scene).expect("paper");
    let snapped = snap_to_standard(found, dpi, dpi);
    let (a5_w, a5_h) = (
        mm_to_px(148.0, dpi).round() as u32,
        mm_to_px(210.0, dpi).round() as u32,
    );
    assert_eq!((snapped.width, snapped.height), (a5_w, a5_h));
    // Centred on the detected box.
    let centre = |r: Rect| (r.x * 2 + r.width, r.y * 2 + r.height);
    let (a, b) = (centre(found), centre(snapped));
    assert!(a.0.abs_diff(b.0) <= 2 && a.1.abs_diff(b.1) <= 2);
    // Landscape works too; far from every size, nothing changes.
    let landscape = Rect {
        x: 10,
        y: 10,
        width: mm_to_px(212.0, dpi) as u32,
        height: mm_to_px(146.0, dpi) as u32,
    };
    let snapped = snap_to_standard(landscape, dpi, dpi);
    assert_eq!((snapped.width, snapped.height), (a5_h, a5_w));
    let odd = Rect {
        x: 10,
        y: 10,
        width: 400,
        height: 400,
    };
    assert_eq!(snap_to_standard(odd, dpi, dpi), odd);
    assert_eq!(
        StandardSize::nearest(101.0, 153.0).map(|s| s.0),
        Some(StandardSize::Photo4x6)
    );
}

#[test]
fn a_page_that_fills_the_frame_has_nothing_to_crop() {
    for mode in [ColorMode::Color, ColorMode::Gray, ColorMode::Bw] {
        let page = document(100, mode, 0.0, 12);
        assert_eq!(detect_paper(&page), None, "{mode:?}");
    }
    let blank = Page::filled(300, 400, PixelFormat::Gray8, 100, 240);
    assert_eq!(detect_paper(&blank), None);
    let lid = Page::filled(300, 400, PixelFormat::Gray8, 100, 60);
    assert_eq!(detect_paper(&lid), None);
}

#[test]
fn crop_gives_the_same_pixels_in_every_format() {
    let colour = document(100, ColorMode::Color, 0.0, 6);
    let gray = colour.to_gray();
    let bw = to_bw(&gray);
    // Odd offsets and widths exercise the bit shifting of black and white.
    for rect in [
        Rect {
            x: 13,
            y: 7,
            width: 101,
            height: 55,
        },
        Rect {
            x: 16,
            y: 0,
            width: 64,
            height: 3,
        },
        Rect {
            x: 800,
            y: 1100,
            width: 100,
            height: 100,
        },
    ] {
        let from_colour = crop(&colour, rect);
        let from_gray = crop(&gray, rect);
        let from_bw = crop(&bw, rect);
        assert_eq!(from_colour.header.format, PixelFormat::Rgb8);
        assert_eq!(from_bw.header.format, PixelFormat::Bw1);
        assert_eq!(from_colour.to_gray(), from_gray);
        assert_eq!(from_bw, to_bw(&from_gray), "{rect:?}");
        let clipped = rect.clipped(colour.header.width, colour.height());
        assert_eq!(
            (from_bw.header.width, from_bw.height()),
            (clipped.width, clipped.height)
        );
    }
}

// ---------------------------------------------------------------- photos

/// Checks the detected regions of a flatbed scene against the placed ones.
/// Returns the worst centre (mm), size (mm) and angle (degrees) errors.
fn check_regions(spec: &PageSpec) -> (f64, f64, f64) {
    let rendered = render_page(spec);
    let found = detect_regions(&rendered.page);
    let label = format!("{} dpi, {} photos, {:?}", spec.dpi, spec.photos, spec.mode);
    assert!(!rendered.regions.is_empty(), "{label}: nothing placed");
    assert_eq!(found.len(), rendered.regions.len(), "{label}: {found:?}");
    let dpi = spec.dpi;
    let px = |mm: f64| mm_to_px(mm, dpi);
    let mm = |px: f64| px * 25.4 / f64::from(dpi);
    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for placed in &rendered.regions {
        let near = |d: &&DetectedRegion| (d.x - px(placed.x_mm)).hypot(d.y - px(placed.y_mm));
        let d = found
            .iter()
            .min_by(|a, b| near(a).total_cmp(&near(b)))
            .expect("a region");
        let centre = mm(near(&d));
        let size = (mm(d.width) - placed.width_mm)
            .abs()
            .max((mm(d.height) - placed.height_mm).abs());
        let angle = (d.angle_deg - placed.angle_deg).abs();
        assert!(
            centre < 1.5,
            "{label}: centre off by {centre} mm: {d:?} {placed:?}"
        );
        assert!(
            size < 2.0,
            "{label}: size off by {size} mm: {d:?} {placed:?}"
        );
        assert!(
            angle < 0.5,
            "{label}: angle off by {angle}: {d:?} {placed:?}"
        );
        worst = (worst.0.max(centre), worst.1.max(size), worst.2.max(angle));
        check_extracted(&rendered.page, d, placed, &label);
    }
    // Reading order: rows top to bottom, each left to right.
    for pair in found.windows(2) {
        let same_row = pair[1].y <= pair[0].y + pair[0].height / 2.0;
        if same_row {
            assert!(pair[1].x > pair[0].x, "{label}: order {found:?}");
        } else {
            assert!(pair[1].y > pair[0].y, "{label}: order {found:?}");
        }
    }
    worst
}

/// The extracted print has the region's size and, straightened, its white
/// border runs along all four edges.
fn check_extracted(page: &Page, d: &DetectedRegion, placed: &Region, label: &str) {
    let print = extract_region(page, d);
    assert_eq!(print.header.format, page.header.format);
    assert_eq!(
        (print.header.width, print.height()),
        (d.width.round() as u32, d.height.round() as u32),
        "{label}"
    );
    let gray = print.to_gray();
    let (w, h) = (gray.header.width as usize, gray.height() as usize);
    // Two pixels in from the edge: inside the border, which is at least
    // 1.5 mm (4 pixels at 75 dpi) wide, whatever the small size error.
    let inset = 2;
    assert!(placed.width_mm > 0.0);
    let mut light = 0;
    let mut total = 0;
    for y in inset..h - inset {
        for x in inset..w - inset {
            let on_ring = y == inset || y == h - 1 - inset || x == inset || x == w - 1 - inset;
            if on_ring {
                total += 1;
                if gray.data[y * w + x] > 180 {
                    light += 1;
                }
            }
        }
    }
    assert!(
        light * 100 >= total * 97,
        "{label}: only {light} of {total} border pixels are white"
    );
}

#[test]
fn photos_on_the_flatbed_are_found_with_their_placement() {
    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for (i, (dpi, mode)) in [
        (75, ColorMode::Color),
        (100, ColorMode::Gray),
        (150, ColorMode::Color),
        (120, ColorMode::Bw),
    ]
    .into_iter()
    .enumerate()
    {
        for photos in 1..=4 {
            let spec = PageSpec {
                dpi,
                mode,
                photos,
                seed: 40 + photos as u64 + 10 * i as u64,
                noise: 0.5,
                ..PageSpec::default()
            };
            let w = check_regions(&spec);
            worst = (worst.0.max(w.0), worst.1.max(w.1), worst.2.max(w.2));
        }
    }
    eprintln!(
        "photos: worst centre {:.2} mm, size {:.2} mm, angle {:.2} degrees",
        worst.0, worst.1, worst.2
    );
}

#[test]
fn photos_on_a_skewed_scene_are_found() {
    check_regions(&PageSpec {
        dpi: 100,
        photos: 3,
        skew_deg: 2.0,
        seed: 77,
        ..PageSpec::default()
    });
}

#[test]
fn an_empty_glass_has_no_photos() {
    let page = render_page(&PageSpec {
        dpi: 75,
        photos: 3,
        blank: true,
        noise: 1.0,
        ..PageSpec::default()
    })
    .page;
    assert!(detect_regions(&page).is_empty());
}

// ---------------------------------------------------------------- robustness

#[test]
fn degenerate_pages_never_panic() {
    for format in [PixelFormat::Rgb8, PixelFormat::Gray8, PixelFormat::Bw1] {
        for (w, h, dpi) in [
            (0, 0, 300),
            (0, 5, 300),
            (5, 0, 300),
            (1, 1, 0),
            (3, 2, 75),
            (9, 700, 600),
        ] {
            let page = Page::filled(w, h, format, dpi, 0x55);
            let label = format!("{format:?} {w}x{h} at {dpi} dpi");
            let _ = detect_skew(&page);
            let (same, _) = deskew(&page);
            assert_eq!(same.header, page.header, "{label}");
            let turned = rotate_by(&page, 7.0, [255; 3]);
            assert_eq!(turned.header, page.header, "{label}");
            let _ = paper_colour(&page);
            if let Some(rect) = detect_paper(&page) {
                let _ = crop(&page, snap_to_standard(rect, dpi, dpi));
            }
            for region in detect_regions(&page) {
                let _ = extract_region(&page, &region);
            }
            let cut = crop(
                &page,
                Rect {
                    x: 1,
                    y: 1,
                    width: 4,
                    height: u32::MAX,
                },
            );
            assert_eq!(
                cut.data.len(),
                cut.header.row_bytes() * cut.height() as usize
            );
        }
    }
}

// ---------------------------------------------------------------- fixtures

/// Writes the straight source pages of the deskew fixtures as PNG, for the
/// ImageMagick commands in `tests/data/deskew/README.md`. Run by hand:
/// `DESKEW_SOURCES=/tmp/deskew cargo test --test filter_geometry -- --ignored`.
#[test]
#[ignore = "writes fixture sources; run by hand, see tests/data/deskew/README.md"]
fn write_deskew_fixture_sources() {
    let dir = std::env::var_os("DESKEW_SOURCES")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("streamscan-deskew"));
    std::fs::create_dir_all(&dir).expect("create the output directory");
    for (name, seed, number, mode) in [
        ("letter", 11, 1, ColorMode::Color),
        ("report", 12, 2, ColorMode::Gray),
        ("memo", 13, 3, ColorMode::Color),
        ("invoice", 14, 4, ColorMode::Gray),
    ] {
        let page = render_page(&PageSpec {
            dpi: 150,
            mode,
            seed,
            number,
            width_mm: 148.0,
            height_mm: 210.0,
            ..PageSpec::default()
        })
        .page;
        let (w, h) = (page.header.width, page.height());
        let path = dir.join(format!("{name}.png"));
        let saved = if mode == ColorMode::Color {
            image::RgbImage::from_raw(w, h, page.data).map(|i| i.save(&path))
        } else {
            image::GrayImage::from_raw(w, h, page.data).map(|i| i.save(&path))
        };
        saved.expect("whole page").expect("write the PNG");
        eprintln!("wrote {}", path.display());
    }
}
