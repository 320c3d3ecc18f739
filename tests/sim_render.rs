//! Behaviour of the virtual scanner's page renderer: determinism, page
//! geometry, the index strip through every transformation a page meets on
//! its way to a file, blank sheets, skew, flatbed scenes, and a decoder that
//! shrugs off garbage.

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{ExtendedColorType, GrayImage, RgbImage};
use streamscan::device::sim::render::{
    IndexStrip, LID_RGB, PAPER_RGB, PageSpec, Region, decode_index_strip, render_page,
};
use streamscan::raster::{Page, PageHeader, PixelFormat};
use streamscan::transfer::callback::Side;
use streamscan::transfer::settings::{ColorMode, mm_to_pixels};

const MODES: [ColorMode; 3] = [ColorMode::Color, ColorMode::Gray, ColorMode::Bw];

/// A spec at `dpi` on A4.
fn a4(dpi: u32, mode: ColorMode, number: u32, side: Side, seed: u64) -> PageSpec {
    PageSpec {
        number,
        side,
        seed,
        dpi,
        mode,
        ..PageSpec::default()
    }
}

/// A spec on a small 150 x 100 mm card, cheap to render at high dpi.
fn card(dpi: u32, mode: ColorMode, number: u32, side: Side, seed: u64) -> PageSpec {
    PageSpec {
        width_mm: 150.0,
        height_mm: 100.0,
        ..a4(dpi, mode, number, side, seed)
    }
}

fn expected(spec: &PageSpec) -> Option<IndexStrip> {
    Some(IndexStrip {
        page: spec.number,
        side: spec.side,
        seed: spec.seed as u32,
    })
}

fn page_from(header: PageHeader, data: Vec<u8>) -> Page {
    Page { header, data }
}

fn header(width: u32, height: u32, format: PixelFormat, dpi: u32) -> PageHeader {
    PageHeader {
        width,
        height: Some(height),
        format,
        dpi_x: dpi,
        dpi_y: dpi,
    }
}

/// The page as an 8-bit image: RGB pages stay RGB, others become gray.
enum Pixels {
    Rgb(RgbImage),
    Gray(GrayImage),
}

fn pixels(page: &Page) -> Pixels {
    let (w, h) = (page.header.width, page.height());
    match page.header.format {
        PixelFormat::Rgb8 => {
            Pixels::Rgb(RgbImage::from_raw(w, h, page.data.clone()).expect("size"))
        }
        _ => Pixels::Gray(GrayImage::from_raw(w, h, page.to_gray().data).expect("size")),
    }
}

fn page_of(image: Pixels, dpi: u32) -> Page {
    match image {
        Pixels::Rgb(img) => page_from(
            header(img.width(), img.height(), PixelFormat::Rgb8, dpi),
            img.into_raw(),
        ),
        Pixels::Gray(img) => page_from(
            header(img.width(), img.height(), PixelFormat::Gray8, dpi),
            img.into_raw(),
        ),
    }
}

/// Encodes the page as JPEG at `quality` and decodes it again.
fn through_jpeg(page: &Page, quality: u8) -> Page {
    let mut bytes = Vec::new();
    let image = pixels(page);
    let mut encoder = JpegEncoder::new_with_quality(&mut bytes, quality);
    match &image {
        Pixels::Rgb(img) => encoder.encode(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        ),
        Pixels::Gray(img) => encoder.encode(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::L8,
        ),
    }
    .expect("JPEG encodes");
    let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .expect("JPEG decodes");
    match image {
        Pixels::Rgb(_) => page_of(Pixels::Rgb(decoded.to_rgb8()), page.header.dpi_x),
        Pixels::Gray(_) => page_of(Pixels::Gray(decoded.to_luma8()), page.header.dpi_x),
    }
}

/// Resamples the page to `dpi` with a triangle filter.
fn resampled(page: &Page, dpi: u32) -> Page {
    let from = page.header.dpi_x;
    let scale =
        |v: u32| ((u64::from(v) * u64::from(dpi) + u64::from(from) / 2) / u64::from(from)) as u32;
    let (w, h) = (scale(page.header.width), scale(page.height()));
    match pixels(page) {
        Pixels::Rgb(img) => page_of(
            Pixels::Rgb(imageops::resize(&img, w, h, FilterType::Triangle)),
            dpi,
        ),
        Pixels::Gray(img) => page_of(
            Pixels::Gray(imageops::resize(&img, w, h, FilterType::Triangle)),
            dpi,
        ),
    }
}

fn paper_luma() -> i32 {
    let [r, g, b] = PAPER_RGB.map(i32::from);
    (r * 299 + g * 587 + b * 114) / 1000
}

#[test]
fn the_same_spec_renders_the_same_bytes() {
    for mode in MODES {
        let spec = PageSpec {
            noise: 0.8,
            skew_deg: 1.5,
            ..a4(75, mode, 4, Side::Back, 99)
        };
        assert_eq!(render_page(&spec), render_page(&spec), "{mode:?}");
    }
    let scene = PageSpec {
        photos: 3,
        noise: 0.5,
        ..a4(75, ColorMode::Color, 1, Side::Front, 5)
    };
    assert_eq!(render_page(&scene), render_page(&scene));
}

#[test]
fn seed_page_and_side_change_the_content() {
    let base = a4(75, ColorMode::Gray, 2, Side::Front, 1);
    let rendered = render_page(&base).page.data;
    for other in [
        PageSpec {
            seed: 2,
            ..base.clone()
        },
        PageSpec {
            number: 3,
            ..base.clone()
        },
        PageSpec {
            side: Side::Back,
            ..base.clone()
        },
        PageSpec {
            noise: 0.5,
            ..base.clone()
        },
    ] {
        assert_ne!(render_page(&other).page.data, rendered, "{other:?}");
    }
}

#[test]
fn pages_have_the_size_of_their_paper_in_every_mode() {
    let sizes = [
        (210.0, 297.0),
        (215.9, 279.4),
        (215.9, 355.6),
        (101.6, 152.4),
        (30.0, 20.0),
    ];
    for dpi in [75, 100, 150, 200] {
        for (width_mm, height_mm) in sizes {
            for mode in MODES {
                let spec = PageSpec {
                    width_mm,
                    height_mm,
                    ..a4(dpi, mode, 1, Side::Front, 3)
                };
                let page = render_page(&spec).page;
                let (w, h) = (mm_to_pixels(width_mm, dpi), mm_to_pixels(height_mm, dpi));
                assert_eq!((page.header.width, page.header.height), (w, Some(h)));
                assert_eq!(spec.pixel_size(), (w, h));
                assert_eq!(page.header.format, mode.pixel_format());
                assert_eq!((page.header.dpi_x, page.header.dpi_y), (dpi, dpi));
                assert_eq!(page.data.len(), page.header.row_bytes() * h as usize);
            }
        }
    }
    // A4 at 300 dpi is the well-known 2480 x 3508.
    let page = render_page(&a4(300, ColorMode::Bw, 1, Side::Front, 0)).page;
    assert_eq!((page.header.width, page.height()), (2480, 3508));
    assert_eq!(page.header.row_bytes(), 310);
}

#[test]
fn the_strip_reads_back_for_many_pages_sides_and_seeds_at_75_dpi() {
    let seeds = [
        0u64,
        1,
        0xFFFF_FFFF,
        0x1234_5678_9ABC_DEF0,
        u64::MAX,
        0x8000_0000,
    ];
    let numbers = [1u32, 2, 3, 9, 10, 99, 128, 255, 256, 1000, 4097, 65535];
    for (i, &number) in numbers.iter().enumerate() {
        let side = if i % 2 == 0 { Side::Front } else { Side::Back };
        let mode = MODES[i % 3];
        let seed = seeds[i % seeds.len()];
        let spec = a4(75, mode, number, side, seed);
        let page = render_page(&spec).page;
        assert_eq!(decode_index_strip(&page), expected(&spec), "{spec:?}");
    }
}

#[test]
fn the_strip_reads_back_at_every_resolution_and_mode() {
    for dpi in [75, 150, 300, 600] {
        for (k, mode) in MODES.into_iter().enumerate() {
            let number = dpi / 75 + k as u32 * 31;
            let side = if k == 1 { Side::Back } else { Side::Front };
            let seed = 0xC0FF_EE00_0000_0000 | u64::from(dpi) << 8 | k as u64;
            let spec = card(dpi, mode, number, side, seed);
            let page = render_page(&spec).page;
            assert_eq!(decode_index_strip(&page), expected(&spec), "{spec:?}");
        }
    }
}

#[test]
fn the_strip_reads_back_with_full_noise() {
    for mode in MODES {
        let spec = PageSpec {
            noise: 1.0,
            ..a4(75, mode, 12, Side::Back, 0xDEAD)
        };
        assert_eq!(
            decode_index_strip(&render_page(&spec).page),
            expected(&spec),
            "{mode:?}"
        );
    }
}

#[test]
fn the_strip_reads_back_upside_down() {
    for (k, mode) in MODES.into_iter().enumerate() {
        for dpi in [75, 150] {
            let spec = PageSpec {
                rotate_180: true,
                noise: 0.3,
                ..a4(dpi, mode, 20 + k as u32, Side::Back, 77 + k as u64)
            };
            let page = render_page(&spec).page;
            assert_eq!(decode_index_strip(&page), expected(&spec), "{spec:?}");
        }
    }
}

#[test]
fn turning_upside_down_turns_every_pixel() {
    let spec = a4(75, ColorMode::Gray, 6, Side::Back, 8);
    let upright = render_page(&spec).page;
    let turned = render_page(&PageSpec {
        rotate_180: true,
        ..spec
    })
    .page;
    // Sensor noise belongs to the scanner, not the paper, so it is not
    // turned: compare loosely.
    let mut reversed = upright.data.clone();
    reversed.reverse();
    let differing = turned
        .data
        .iter()
        .zip(&reversed)
        .filter(|(a, b)| a.abs_diff(**b) > 12)
        .count();
    assert!(
        differing < turned.data.len() / 500,
        "{differing} pixels differ"
    );
    assert_ne!(turned.data, upright.data);
}

#[test]
fn the_strip_survives_jpeg() {
    for dpi in [75, 150, 300] {
        for (k, mode) in [ColorMode::Color, ColorMode::Gray].into_iter().enumerate() {
            for quality in [50, 75] {
                let spec = PageSpec {
                    noise: 0.4,
                    rotate_180: k == 1,
                    ..a4(dpi, mode, dpi + quality as u32, Side::Front, 0xABCDEF)
                };
                let page = through_jpeg(&render_page(&spec).page, quality);
                assert_eq!(
                    decode_index_strip(&page),
                    expected(&spec),
                    "{spec:?} q{quality}"
                );
            }
        }
    }
}

#[test]
fn the_strip_survives_resampling() {
    let cases = [
        (300, 150),
        (300, 75),
        (150, 100),
        (150, 300),
        (75, 160),
        (600, 75),
        (150, 1200),
    ];
    for (k, (from, to)) in cases.into_iter().enumerate() {
        let mode = MODES[k % 3];
        let spec = card(from, mode, 3 + k as u32, Side::Back, 0x5EED_0000 + k as u64);
        let page = resampled(&render_page(&spec).page, to);
        assert_eq!(page.header.dpi_x, to);
        assert_eq!(
            decode_index_strip(&page),
            expected(&spec),
            "{from} -> {to} dpi, {mode:?}"
        );
    }
    // A4 300 -> 150 dpi in colour, then JPEG on top.
    let spec = a4(300, ColorMode::Color, 42, Side::Front, 4242);
    let page = through_jpeg(&resampled(&render_page(&spec).page, 150), 75);
    assert_eq!(decode_index_strip(&page), expected(&spec));
}

#[test]
fn blank_sheets_are_paper_without_a_strip() {
    for mode in MODES {
        for noise in [0.0, 1.0] {
            let spec = PageSpec {
                blank: true,
                noise,
                ..a4(100, mode, 7, Side::Front, 1)
            };
            let page = render_page(&spec).page;
            assert_eq!(decode_index_strip(&page), None);
            let gray = page.to_gray().data;
            let paper = paper_luma();
            let tolerance = if mode == ColorMode::Bw { 0 } else { 24 };
            let near = gray
                .iter()
                .filter(|&&v| {
                    (i32::from(v) - if mode == ColorMode::Bw { 255 } else { paper }).abs()
                        <= tolerance
                })
                .count();
            assert!(
                near as f64 > gray.len() as f64 * 0.995,
                "{mode:?} noise {noise}: {near} of {}",
                gray.len()
            );
        }
    }
}

#[test]
fn documents_carry_ink_and_colour() {
    let page = render_page(&a4(100, ColorMode::Color, 1, Side::Front, 11)).page;
    let pixels: Vec<&[u8]> = page.data.chunks_exact(3).collect();
    let dark = pixels.iter().filter(|p| p.iter().all(|&c| c < 90)).count();
    let colourful = pixels
        .iter()
        .filter(|p| p.iter().max().unwrap_or(&0) - p.iter().min().unwrap_or(&0) > 60)
        .count();
    // Text, rules and strip: a few percent of the page; the photo adds colour.
    assert!(dark > pixels.len() / 100, "dark {dark}");
    assert!(colourful > pixels.len() / 100, "colourful {colourful}");
}

/// Mean row of dark pixels in the top margin within columns `x0..x1`.
fn dark_row_centre(gray: &[u8], width: usize, rows: usize, x0: usize, x1: usize) -> f64 {
    let (mut sum, mut count) = (0.0, 0.0);
    for y in 0..rows {
        for x in x0..x1 {
            if gray[y * width + x] < 100 {
                sum += y as f64;
                count += 1.0;
            }
        }
    }
    assert!(count > 0.0, "no ink in columns {x0}..{x1}");
    sum / count
}

#[test]
fn skew_turns_the_content_and_fills_corners_with_paper() {
    let dpi = 100;
    let straight = a4(dpi, ColorMode::Gray, 2, Side::Front, 21);
    let skewed = PageSpec {
        skew_deg: 2.0,
        ..straight.clone()
    };
    let px = |mm: f64| (mm * f64::from(dpi) / 25.4) as usize;
    // The strip starts at the left margin (17.85 mm) and is 103.5 mm long;
    // sample its first and last 10 mm, within the top 14 mm.
    let (left, right) = ((px(19.0), px(29.0)), px(110.0)..px(120.0));
    let measure = |spec: &PageSpec| {
        let page = render_page(spec).page;
        let w = page.header.width as usize;
        let gray = page.to_gray().data;
        (
            dark_row_centre(&gray, w, px(14.0), left.0, left.1),
            dark_row_centre(&gray, w, px(14.0), right.start, right.end),
            gray,
            w,
        )
    };
    let (l0, r0, _, _) = measure(&straight);
    assert!(
        (l0 - r0).abs() < 1.0,
        "a straight strip is level: {l0} vs {r0}"
    );
    let (l1, r1, gray, w) = measure(&skewed);
    // Counter-clockwise: the right end rises by about tan(2 deg) * 91 mm.
    let rise = l1 - r1;
    let expected_rise = (2.0f64).to_radians().tan() * px(91.0) as f64;
    assert!(
        (rise - expected_rise).abs() < expected_rise * 0.35,
        "rise {rise}, expected {expected_rise}"
    );
    let h = gray.len() / w;
    let paper = paper_luma();
    for (x, y) in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)] {
        let v = i32::from(gray[y * w + x]);
        assert!(
            (v - paper).abs() <= 14,
            "corner ({x}, {y}) is {v}, paper {paper}"
        );
    }
    // Clockwise skew lowers the right end instead.
    let (l2, r2, _, _) = measure(&PageSpec {
        skew_deg: -2.0,
        ..straight
    });
    assert!(r2 - l2 > expected_rise * 0.65);
}

/// Axis-aligned box of a placed print, in millimetres.
fn bounds(r: &Region) -> (f64, f64, f64, f64) {
    let (s, c) = r.angle_deg.to_radians().sin_cos();
    let bw = r.width_mm * c.abs() + r.height_mm * s.abs();
    let bh = r.width_mm * s.abs() + r.height_mm * c.abs();
    (
        r.x_mm - bw / 2.0,
        r.y_mm - bh / 2.0,
        r.x_mm + bw / 2.0,
        r.y_mm + bh / 2.0,
    )
}

#[test]
fn flatbed_prints_lie_inside_the_glass_and_apart() {
    for photos in 1..=9 {
        for (width_mm, height_mm) in [(210.0, 297.0), (215.9, 279.4), (297.0, 210.0)] {
            let spec = PageSpec {
                photos,
                width_mm,
                height_mm,
                ..a4(50, ColorMode::Color, photos, Side::Front, 1234)
            };
            let rendered = render_page(&spec);
            let regions = &rendered.regions;
            assert_eq!(regions.len(), photos as usize, "{spec:?}");
            for (i, r) in regions.iter().enumerate() {
                assert!(r.angle_deg.abs() > 0.5 && r.angle_deg.abs() <= 5.0, "{r:?}");
                assert!(r.width_mm > 10.0 && r.height_mm > 10.0, "{r:?}");
                let (x0, y0, x1, y1) = bounds(r);
                assert!(
                    x0 >= 0.0 && y0 >= 0.0 && x1 <= width_mm && y1 <= height_mm,
                    "{r:?} off the glass"
                );
                for other in &regions[i + 1..] {
                    let (a0, b0, a1, b1) = bounds(other);
                    let apart = x1 <= a0 || a1 <= x0 || y1 <= b0 || b1 <= y0;
                    assert!(apart, "{r:?} overlaps {other:?}");
                }
            }
        }
    }
}

#[test]
fn flatbed_prints_are_where_the_regions_say() {
    let dpi = 75;
    for rotate_180 in [false, true] {
        let spec = PageSpec {
            photos: 4,
            rotate_180,
            ..a4(dpi, ColorMode::Color, 1, Side::Front, 77)
        };
        let rendered = render_page(&spec);
        let page = &rendered.page;
        assert_eq!(decode_index_strip(page), None);
        let w = page.header.width as usize;
        let at = |x_mm: f64, y_mm: f64| {
            let (x, y) = ((x_mm * 75.0 / 25.4) as usize, (y_mm * 75.0 / 25.4) as usize);
            let i = (y * w + x) * 3;
            [page.data[i], page.data[i + 1], page.data[i + 2]]
        };
        let lid = LID_RGB.map(i32::from);
        let is_lid = |p: [u8; 3]| {
            p.iter()
                .zip(lid)
                .all(|(&c, l)| (i32::from(c) - l).abs() < 12)
        };
        for r in &rendered.regions {
            assert!(!is_lid(at(r.x_mm, r.y_mm)), "{r:?} centre shows the lid");
            // The white border, just inside the print's top-left corner.
            let (s, c) = r.angle_deg.to_radians().sin_cos();
            let (u, v) = (-r.width_mm / 2.0 + 1.0, -r.height_mm / 2.0 + 1.0);
            let (u, v) = if rotate_180 { (-u, -v) } else { (u, v) };
            let corner = at(r.x_mm + u * c + v * s, r.y_mm - u * s + v * c);
            assert!(
                corner.iter().all(|&c| c > 200),
                "{r:?}: border is {corner:?}"
            );
        }
        // Far outside any print, the lid shows.
        assert!(is_lid(at(2.0, 2.0)));
    }
}

#[test]
fn the_photos_of_one_scene_differ() {
    let spec = PageSpec {
        photos: 3,
        ..a4(75, ColorMode::Color, 1, Side::Front, 3)
    };
    let rendered = render_page(&spec);
    let w = rendered.page.header.width as usize;
    let mean = |r: &Region| {
        let (x0, y0) = ((r.x_mm - 8.0) * 75.0 / 25.4, (r.y_mm - 8.0) * 75.0 / 25.4);
        let mut sum = [0u64; 3];
        for y in y0 as usize..y0 as usize + 47 {
            for x in x0 as usize..x0 as usize + 47 {
                for (k, s) in sum.iter_mut().enumerate() {
                    *s += u64::from(rendered.page.data[(y * w + x) * 3 + k]);
                }
            }
        }
        sum
    };
    let means: Vec<[u64; 3]> = rendered.regions.iter().map(mean).collect();
    for i in 0..means.len() {
        for j in i + 1..means.len() {
            assert_ne!(means[i], means[j]);
        }
    }
}

#[test]
fn the_decoder_never_panics_on_garbage() {
    let mut state = 0x1234_5678_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let formats = [PixelFormat::Rgb8, PixelFormat::Gray8, PixelFormat::Bw1];
    for format in formats {
        for (w, h) in [
            (0, 0),
            (1, 1),
            (1, 0),
            (0, 5),
            (3, 1),
            (7, 9),
            (64, 48),
            (300, 200),
        ] {
            let header = header(w, h, format, 300);
            let len = header.row_bytes() * h as usize;
            let noise: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            assert_eq!(decode_index_strip(&page_from(header, noise)), None);
            // Vertical stripes of all widths look barcode-like but carry nothing.
            let stripes: Vec<u8> = (0..len)
                .map(|i| if (i / 3) % 5 < 2 { 0 } else { 255 })
                .collect();
            assert_eq!(decode_index_strip(&page_from(header, stripes)), None);
            // Headers that promise more rows than the data holds.
            let short = vec![0u8; len / 2];
            assert_eq!(decode_index_strip(&page_from(header, short)), None);
        }
        let unknown_height = PageHeader {
            height: None,
            ..header(10, 10, format, 300)
        };
        assert_eq!(
            decode_index_strip(&page_from(unknown_height, vec![0; 300])),
            None
        );
    }
    // A real strip cut off half-way is not read.
    let page = render_page(&a4(75, ColorMode::Gray, 5, Side::Front, 5)).page;
    let half = page.header.width / 4;
    let mut cropped = Vec::new();
    for y in 0..page.height() {
        cropped.extend_from_slice(&page.row(y)[..half as usize]);
    }
    let cropped = page_from(header(half, page.height(), PixelFormat::Gray8, 75), cropped);
    assert_eq!(decode_index_strip(&cropped), None);
}

#[test]
fn tiny_and_degenerate_pages_render() {
    for spec in [
        PageSpec {
            width_mm: 0.1,
            height_mm: 0.1,
            ..a4(75, ColorMode::Bw, 1, Side::Front, 0)
        },
        PageSpec {
            dpi: 1,
            ..PageSpec::default()
        },
        PageSpec {
            photos: 2,
            width_mm: 20.0,
            height_mm: 20.0,
            ..a4(75, ColorMode::Gray, 1, Side::Back, 0)
        },
        PageSpec {
            photos: 1000,
            ..a4(30, ColorMode::Color, 1, Side::Back, 0)
        },
        PageSpec {
            skew_deg: 45.0,
            rotate_180: true,
            noise: 1.0,
            ..a4(20, ColorMode::Color, 1, Side::Back, 0)
        },
    ] {
        let rendered = render_page(&spec);
        let page = &rendered.page;
        assert_eq!(
            page.data.len(),
            page.header.row_bytes() * page.height() as usize
        );
        assert!(rendered.regions.len() <= 64);
        let _ = decode_index_strip(page);
    }
}

#[test]
fn text_without_a_strip_reads_as_nothing() {
    // Body text and headings contain many barcode-like runs; with the strip
    // painted over, nothing must decode, upright or turned.
    for k in 0..6u32 {
        let spec = PageSpec {
            rotate_180: k % 2 == 1,
            noise: 0.5,
            ..a4(
                150,
                MODES[k as usize % 3],
                100 + k,
                Side::Front,
                u64::from(k) * 7919,
            )
        };
        let mut page = render_page(&spec).page.to_gray();
        let band = (15.0 * 150.0 / 25.4) as usize * page.header.width as usize;
        let len = page.data.len();
        let covered = if spec.rotate_180 {
            len - band..len
        } else {
            0..band
        };
        page.data[covered].fill(240);
        assert_eq!(decode_index_strip(&page), None, "{spec:?}");
    }
}

#[test]
fn an_enlarged_black_and_white_page_reads_back() {
    // Once misread as text: a 200 dpi black-and-white page enlarged to 800
    // dpi and compressed.
    let spec = PageSpec {
        number: 53392,
        side: Side::Back,
        seed: 6_829_972_360_229_434_265,
        rotate_180: true,
        noise: 0.49,
        ..a4(200, ColorMode::Bw, 0, Side::Back, 0)
    };
    let page = through_jpeg(&resampled(&render_page(&spec).page, 800), 50);
    assert_eq!(decode_index_strip(&page), expected(&spec));
}
