//! Round trips through every encoder: synthetic pages delivered in uneven
//! bands are encoded, decoded back (image crate, tiff crate, poppler) and
//! compared pixel by pixel, with the recorded resolution checked too.
//! Multipage documents are checked for exactly the completed pages after
//! abandoned ones. PDF validity needs `qpdf`, `pdfinfo` and `pdftoppm`
//! (Debian: qpdf, poppler-utils): the tests fail when they are missing.

mod support;

use std::io;
use std::path::Path;

use streamscan::output::{EncodeOptions, FileFormat, PageEncoder, document_encoder, page_encoder};
use streamscan::raster::{Band, Page, PageHeader, PixelFormat, rgb_row};
use support::*;

// ---------------------------------------------------------------- helpers

const PIXELS: [PixelFormat; 3] = [PixelFormat::Rgb8, PixelFormat::Gray8, PixelFormat::Bw1];
const BANDS: [u32; 5] = [1, 7, 3, 13, 2];
/// Odd size, width not a multiple of 8.
const W: u32 = 61;
const H: u32 = 43;
/// Different resolutions across and down, so that mixing them up shows.
/// 144/72 keep PDF page sizes exact for rendering at the same resolution.
const DPI_X: u32 = 144;
const DPI_Y: u32 = 72;
const TEST_DPI: (u32, u32) = (DPI_X, DPI_Y);

/// A recognisable page: gradients plus a bright block for 8-bit formats;
/// blocks, a diagonal and a frame for black-and-white.
fn pattern(format: PixelFormat, width: u32, height: u32, seed: usize) -> Page {
    let mut page = Page::filled(width, height, format, DPI_X, 0);
    page.header.dpi_y = DPI_Y;
    let rb = page.header.row_bytes();
    let (w, h) = (width as usize, height as usize);
    for y in 0..h {
        let row = &mut page.data[y * rb..(y + 1) * rb];
        for x in 0..w {
            let block = (x / 16 + y / 16 + seed).is_multiple_of(3);
            match format {
                PixelFormat::Rgb8 => {
                    row[x * 3] = (x * 255 / w.max(2)) as u8;
                    row[x * 3 + 1] = if block {
                        230
                    } else {
                        (y * 200 / h.max(2)) as u8
                    };
                    row[x * 3 + 2] = ((x + y + seed * 40) * 255 / (w + h + 120)) as u8;
                }
                PixelFormat::Gray8 => {
                    row[x] = if block {
                        240
                    } else {
                        ((x + 2 * y) * 200 / (w + 2 * h)) as u8
                    };
                }
                PixelFormat::Bw1 => {
                    let frame = x == 0 || y == 0 || x == w - 1 || y == h - 1;
                    if block || frame || x == (y + seed) % w.max(1) {
                        row[x / 8] |= 0x80 >> (x % 8);
                    }
                }
            }
        }
    }
    page
}

/// The page cut into bands of uneven sizes.
fn bands(page: &Page) -> Vec<Band> {
    let rb = page.header.row_bytes();
    let mut out = Vec::new();
    let (mut row, mut i) = (0, 0);
    while row < page.height() {
        let rows = BANDS[i % BANDS.len()].min(page.height() - row);
        let start = row as usize * rb;
        out.push(Band {
            first_row: row,
            rows,
            data: page.data[start..start + rows as usize * rb].to_vec(),
        });
        row += rows;
        i += 1;
    }
    out
}

fn header_of(page: &Page, known: bool) -> PageHeader {
    PageHeader {
        height: if known { page.header.height } else { None },
        ..page.header
    }
}

/// Writes one page into `enc`.
fn write_page(enc: &mut dyn PageEncoder, page: &Page, known: bool) {
    enc.begin_page(&header_of(page, known)).expect("begin_page");
    for band in bands(page) {
        enc.write_band(&band).expect("write_band");
    }
    enc.end_page().expect("end_page");
}

/// Begins a page and writes part of it (for abandoning).
fn write_part(enc: &mut dyn PageEncoder, page: &Page, known: bool) {
    enc.begin_page(&header_of(page, known)).expect("begin_page");
    for band in bands(page).iter().take(3) {
        enc.write_band(band).expect("write_band");
    }
}

/// Encodes `page` alone in `format`.
fn encode(format: FileFormat, page: &Page, known: bool) -> Vec<u8> {
    let dest = SharedStream::default();
    let mut enc = page_encoder(
        format,
        EncodeOptions { quality: 92 },
        Box::new(dest.clone()),
    )
    .expect("encoder");
    write_page(enc.as_mut(), page, known);
    enc.finish().expect("finish");
    assert_eq!(enc.pages(), 1);
    dest.bytes()
}

/// The page as 8-bit gray (black-and-white: 0 / 255).
fn expected_gray(page: &Page) -> Vec<u8> {
    page.to_gray().data
}

/// The page as 8-bit RGB.
fn expected_rgb(page: &Page) -> Vec<u8> {
    let mut out = Vec::new();
    for y in 0..page.height() {
        rgb_row(
            page.header.format,
            page.row(y),
            page.header.width as usize,
            &mut out,
        );
    }
    out
}

/// Checks decoded samples against the page: exactly, or within a mean
/// absolute error of `tolerance` (lossy formats).
fn compare(what: &str, got: &[u8], want: &[u8], tolerance: Option<f64>) {
    assert_eq!(got.len(), want.len(), "{what}: sample count");
    match tolerance {
        None => {
            if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
                panic!(
                    "{what}: sample {i} is {} but {} was written",
                    got[i], want[i]
                );
            }
        }
        Some(limit) => {
            let total: u64 = got
                .iter()
                .zip(want)
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum();
            let mean = total as f64 / got.len().max(1) as f64;
            assert!(mean <= limit, "{what}: mean error {mean:.2} > {limit}");
        }
    }
}

/// Compares a decoded image with the page it came from.
fn compare_image(what: &str, img: &image::DynamicImage, page: &Page, tolerance: Option<f64>) {
    assert_eq!(
        (img.width(), img.height()),
        (page.header.width, page.height()),
        "{what}: size"
    );
    match page.header.format {
        PixelFormat::Rgb8 => compare(what, img.to_rgb8().as_raw(), &expected_rgb(page), tolerance),
        PixelFormat::Gray8 | PixelFormat::Bw1 => compare(
            what,
            img.to_luma8().as_raw(),
            &expected_gray(page),
            tolerance,
        ),
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// JFIF density: (units, x, y).
fn jfif_density(bytes: &[u8]) -> (u8, u16, u16) {
    assert_eq!(&bytes[..4], &[0xff, 0xd8, 0xff, 0xe0], "SOI then APP0");
    assert_eq!(&bytes[6..11], b"JFIF\0");
    (bytes[13], be16(bytes, 14), be16(bytes, 16))
}

fn ppm(dpi: u32) -> u32 {
    (f64::from(dpi) / 0.0254).round() as u32
}

/// Checks a PDF with qpdf and pdfinfo; returns the page sizes in points.
fn check_pdf(bytes: &[u8], dir: &Path) -> Vec<(f64, f64)> {
    let path = dir.join("check.pdf");
    std::fs::write(&path, bytes).expect("write pdf");
    let path = path.to_str().expect("utf-8 path");
    let qpdf = tool_stdout("qpdf", &["--check", path]);
    assert!(
        qpdf.contains("No syntax or stream encoding errors"),
        "qpdf: {qpdf}"
    );
    let info = tool_stdout("pdfinfo", &[path]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("Pages line")
        .trim()
        .parse()
        .expect("page count");
    let sizes = tool_stdout("pdfinfo", &["-f", "1", "-l", &pages.to_string(), path]);
    let sizes: Vec<(f64, f64)> = sizes
        .lines()
        .filter(|l| l.starts_with("Page") && l.contains(" size: "))
        .map(|l| {
            let rest = l.split(" size: ").nth(1).expect("size");
            let mut nums = rest.split_whitespace();
            let w: f64 = nums.next().expect("w").parse().expect("w number");
            nums.next(); // "x"
            let h: f64 = nums.next().expect("h").parse().expect("h number");
            (w, h)
        })
        .collect();
    assert_eq!(sizes.len(), pages);
    sizes
}

/// Renders page `n` (1-based) of a PDF at `dpi` (across, down).
///
/// Poppler smooths images drawn at about their own resolution (bilinear
/// with a half-pixel shift), so the page is rendered four times larger,
/// where it draws image pixels as plain blocks, and the centre of each
/// block is taken.
fn render_pdf(
    bytes: &[u8],
    dir: &Path,
    n: usize,
    gray: bool,
    dpi: (u32, u32),
) -> image::DynamicImage {
    const SCALE: u32 = 4;
    let path = dir.join("render.pdf");
    std::fs::write(&path, bytes).expect("write pdf");
    let prefix = dir.join("render-out");
    let n = n.to_string();
    let (rx, ry) = ((dpi.0 * SCALE).to_string(), (dpi.1 * SCALE).to_string());
    let mut args = vec![
        "-f",
        &n,
        "-l",
        &n,
        "-rx",
        &rx,
        "-ry",
        &ry,
        "-aa",
        "no",
        "-aaVector",
        "no",
        "-singlefile",
    ];
    if gray {
        args.push("-gray");
    }
    let path = path.to_str().expect("utf-8 path");
    let prefix_str = prefix.to_str().expect("utf-8 path");
    args.push(path);
    args.push(prefix_str);
    tool_stdout("pdftoppm", &args);
    let ext = if gray { "pgm" } else { "ppm" };
    let big = image::open(dir.join(format!("render-out.{ext}"))).expect("rendered page");
    let (w, h) = (big.width() / SCALE, big.height() / SCALE);
    let centre = |v: u32| v * SCALE + SCALE / 2;
    if gray {
        let big = big.to_luma8();
        image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(w, h, |x, y| {
            *big.get_pixel(centre(x), centre(y))
        }))
    } else {
        let big = big.to_rgb8();
        image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            *big.get_pixel(centre(x), centre(y))
        }))
    }
}

/// Every image of a TIFF: (width, height, samples as 8-bit gray or RGB,
/// x dpi, y dpi, unit).
fn tiff_with_resolution(bytes: &[u8]) -> Vec<(u32, u32, Vec<u8>, f64, f64, u32)> {
    tiff_images(bytes)
        .expect("a valid TIFF")
        .into_iter()
        .map(|image| {
            let (x, y, unit) = image.resolution.expect("resolution tags");
            let page = image.page;
            (page.header.width, page.height(), page.data, x, y, unit)
        })
        .collect()
}

/// The page's samples as the TIFF holds them (gray or RGB).
fn tiff_expected(page: &Page) -> Vec<u8> {
    match page.header.format {
        PixelFormat::Rgb8 => expected_rgb(page),
        _ => expected_gray(page),
    }
}

// ------------------------------------------------------------ per format

#[test]
fn png_round_trips_every_pixel_format() {
    for format in PIXELS {
        for known in [true, false] {
            let page = pattern(format, W, H, 0);
            let bytes = encode(FileFormat::Png, &page, known);
            let what = format!("PNG {format:?} known={known}");
            let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
                .expect("decode");
            compare_image(&what, &img, &page, None);
            let reader = png::Decoder::new(io::Cursor::new(&bytes))
                .read_info()
                .expect("info");
            let dims = reader.info().pixel_dims.expect("pHYs");
            assert_eq!((dims.xppu, dims.yppu), (ppm(DPI_X), ppm(DPI_Y)), "{what}");
            assert_eq!(dims.unit, png::Unit::Meter);
            let depth = if format == PixelFormat::Bw1 {
                png::BitDepth::One
            } else {
                png::BitDepth::Eight
            };
            assert_eq!(reader.info().bit_depth, depth, "{what}");
        }
    }
}

#[test]
fn jpeg_round_trips_within_tolerance() {
    for format in PIXELS {
        for known in [true, false] {
            let page = pattern(format, W, H, 0);
            let bytes = encode(FileFormat::Jpeg, &page, known);
            let what = format!("JPEG {format:?} known={known}");
            let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
                .expect("decode");
            let tolerance = if format == PixelFormat::Bw1 {
                12.0
            } else {
                4.0
            };
            compare_image(&what, &img, &page, Some(tolerance));
            let gray = format != PixelFormat::Rgb8;
            assert_eq!(
                img.color() == image::ColorType::L8,
                gray,
                "{what}: components"
            );
            assert_eq!(
                jfif_density(&bytes),
                (1, DPI_X as u16, DPI_Y as u16),
                "{what}"
            );
        }
    }
}

#[test]
fn tiff_round_trips_with_resolution_tags() {
    for format in PIXELS {
        for known in [true, false] {
            let page = pattern(format, W, H, 0);
            let bytes = encode(FileFormat::Tiff, &page, known);
            let what = format!("TIFF {format:?} known={known}");
            let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Tiff)
                .expect("decode");
            compare_image(&what, &img, &page, None);
            let pages = tiff_with_resolution(&bytes);
            assert_eq!(pages.len(), 1, "{what}");
            let (w, h, samples, x, y, unit) = &pages[0];
            assert_eq!((*w, *h), (W, H), "{what}");
            compare(&what, samples, &tiff_expected(&page), None);
            assert_eq!(
                (*x, *y, *unit),
                (f64::from(DPI_X), f64::from(DPI_Y), 2),
                "{what}"
            );
        }
    }
}

#[test]
fn large_tiff_pages_span_many_strips() {
    // 1500 x 300 RGB = 1.35 MB raw: about 21 strips.
    let page = pattern(PixelFormat::Rgb8, 1500, 300, 1);
    for known in [true, false] {
        let bytes = encode(FileFormat::Tiff, &page, known);
        let pages = tiff_with_resolution(&bytes);
        compare("large TIFF", &pages[0].2, &expected_rgb(&page), None);
    }
}

#[test]
fn bmp_round_trips_with_pixels_per_metre() {
    for format in PIXELS {
        for known in [true, false] {
            let page = pattern(format, W, H, 0);
            let bytes = encode(FileFormat::Bmp, &page, known);
            let what = format!("BMP {format:?} known={known}");
            let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Bmp)
                .expect("decode");
            compare_image(&what, &img, &page, None);
            assert_eq!(
                (le32(&bytes, 38), le32(&bytes, 42)),
                (ppm(DPI_X), ppm(DPI_Y)),
                "{what}"
            );
            assert_eq!(le32(&bytes, 2) as usize, bytes.len(), "{what}: file size");
            let bits = u16::from_le_bytes([bytes[28], bytes[29]]);
            let expected_bits = match format {
                PixelFormat::Rgb8 => 24,
                PixelFormat::Gray8 => 8,
                PixelFormat::Bw1 => 1,
            };
            assert_eq!(bits, expected_bits, "{what}");
        }
    }
}

#[test]
fn pnm_round_trips_as_pbm_pgm_ppm() {
    for format in PIXELS {
        for known in [true, false] {
            let page = pattern(format, W, H, 0);
            let bytes = encode(FileFormat::Pnm, &page, known);
            let what = format!("PNM {format:?} known={known}");
            let magic = match format {
                PixelFormat::Rgb8 => b"P6",
                PixelFormat::Gray8 => b"P5",
                PixelFormat::Bw1 => b"P4",
            };
            assert_eq!(&bytes[..2], magic, "{what}");
            let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Pnm)
                .expect("decode");
            compare_image(&what, &img, &page, None);
        }
    }
}

#[test]
fn pdf_pages_render_back_with_the_right_media_box() {
    let dir = tempfile::tempdir().expect("tempdir");
    for format in PIXELS {
        for known in [true, false] {
            let page = pattern(format, W, H, 0);
            let bytes = encode(FileFormat::Pdf, &page, known);
            let what = format!("PDF {format:?} known={known}");
            let sizes = check_pdf(&bytes, dir.path());
            let expected = (
                f64::from(W) * 72.0 / f64::from(DPI_X),
                f64::from(H) * 72.0 / f64::from(DPI_Y),
            );
            assert_eq!(sizes, vec![expected], "{what}");
            let text = String::from_utf8_lossy(&bytes);
            match format {
                PixelFormat::Bw1 => {
                    assert!(
                        text.contains("/BitsPerComponent 1 /Decode [1 0] /Filter /FlateDecode"),
                        "{what}"
                    );
                    let img = render_pdf(&bytes, dir.path(), 1, true, TEST_DPI);
                    compare_image(&what, &img, &page, None);
                }
                _ => {
                    assert!(text.contains("/DCTDecode"), "{what}");
                    let img = render_pdf(
                        &bytes,
                        dir.path(),
                        1,
                        format == PixelFormat::Gray8,
                        TEST_DPI,
                    );
                    compare_image(&what, &img, &page, Some(4.0));
                }
            }
        }
    }
}

#[test]
fn media_box_follows_the_resolution() {
    let dir = tempfile::tempdir().expect("tempdir");
    // An A4 page at 300 dpi, in black-and-white to keep the test quick.
    let header = PageHeader {
        width: 2480,
        height: Some(3508),
        format: PixelFormat::Bw1,
        dpi_x: 300,
        dpi_y: 300,
    };
    let page = Page {
        data: vec![0; header.row_bytes() * 3508],
        header,
    };
    let bytes = encode(FileFormat::Pdf, &page, true);
    let sizes = check_pdf(&bytes, dir.path());
    assert_eq!(sizes, vec![(595.2, 841.92)]);
    assert!(String::from_utf8_lossy(&bytes).contains("/MediaBox [0 0 595.2 841.92]"));
}

// ------------------------------------------------------------- multipage

/// Three pages of different kinds and heights.
fn three_pages() -> [Page; 3] {
    [
        pattern(PixelFormat::Rgb8, W, H, 0),
        pattern(PixelFormat::Gray8, 50, 70, 1),
        pattern(PixelFormat::Bw1, 33, 20, 2),
    ]
}

#[test]
fn multipage_tiff_keeps_exactly_the_completed_pages() {
    let pages = three_pages();
    let dest = SharedStream::default();
    let mut enc = document_encoder(
        FileFormat::Tiff,
        EncodeOptions::default(),
        Box::new(dest.clone()),
    )
    .expect("encoder");
    write_page(enc.as_mut(), &pages[0], true);
    write_part(enc.as_mut(), &pattern(PixelFormat::Rgb8, 40, 40, 3), false);
    enc.abandon_page().expect("abandon");
    write_page(enc.as_mut(), &pages[1], false);
    // Valid after every end_page: two pages now.
    assert_eq!(tiff_with_resolution(&dest.bytes()).len(), 2);
    write_page(enc.as_mut(), &pages[2], true);
    enc.finish().expect("finish");
    assert_eq!(enc.pages(), 3);

    let decoded = tiff_with_resolution(&dest.bytes());
    assert_eq!(decoded.len(), 3);
    for (i, (page, (w, h, samples, x, y, unit))) in pages.iter().zip(&decoded).enumerate() {
        let what = format!("TIFF document page {}", i + 1);
        assert_eq!((*w, *h), (page.header.width, page.height()), "{what}");
        compare(&what, samples, &tiff_expected(page), None);
        assert_eq!(
            (*x, *y, *unit),
            (f64::from(DPI_X), f64::from(DPI_Y), 2),
            "{what}"
        );
    }
}

#[test]
fn cancelled_tiff_document_holds_the_pages_before_the_cancel() {
    let pages = three_pages();
    let dest = SharedStream::default();
    let mut enc = document_encoder(
        FileFormat::Tiff,
        EncodeOptions::default(),
        Box::new(dest.clone()),
    )
    .expect("encoder");
    write_page(enc.as_mut(), &pages[0], false);
    write_page(enc.as_mut(), &pages[1], true);
    let after_two = dest.bytes();
    write_part(enc.as_mut(), &pages[2], true);
    enc.abandon_page().expect("abandon");
    assert_eq!(dest.bytes(), after_two, "stream exactly as before the page");
    enc.finish().expect("finish");
    let decoded = tiff_with_resolution(&dest.bytes());
    assert_eq!(decoded.len(), 2);
    compare("page 2", &decoded[1].2, &tiff_expected(&pages[1]), None);
}

#[test]
fn multipage_pdf_keeps_exactly_the_completed_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = three_pages();
    let dest = SharedStream::default();
    let mut enc = document_encoder(
        FileFormat::Pdf,
        EncodeOptions { quality: 92 },
        Box::new(dest.clone()),
    )
    .expect("encoder");
    write_page(enc.as_mut(), &pages[0], true);
    write_part(enc.as_mut(), &pattern(PixelFormat::Bw1, 40, 40, 3), false);
    enc.abandon_page().expect("abandon");
    write_page(enc.as_mut(), &pages[1], false);
    write_page(enc.as_mut(), &pages[2], true);
    enc.finish().expect("finish");
    assert_eq!(enc.pages(), 3);

    let bytes = dest.bytes();
    let sizes = check_pdf(&bytes, dir.path());
    let expected: Vec<(f64, f64)> = pages
        .iter()
        .map(|p| {
            (
                f64::from(p.header.width) * 72.0 / f64::from(DPI_X),
                f64::from(p.height()) * 72.0 / f64::from(DPI_Y),
            )
        })
        .collect();
    assert_eq!(sizes, expected);
    compare_image(
        "PDF page 1",
        &render_pdf(&bytes, dir.path(), 1, false, TEST_DPI),
        &pages[0],
        Some(4.0),
    );
    compare_image(
        "PDF page 2",
        &render_pdf(&bytes, dir.path(), 2, true, TEST_DPI),
        &pages[1],
        Some(4.0),
    );
    compare_image(
        "PDF page 3",
        &render_pdf(&bytes, dir.path(), 3, true, TEST_DPI),
        &pages[2],
        None,
    );
}

#[test]
fn cancelled_pdf_document_holds_the_pages_before_the_cancel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = three_pages();
    let dest = SharedStream::default();
    let mut enc = document_encoder(
        FileFormat::Pdf,
        EncodeOptions::default(),
        Box::new(dest.clone()),
    )
    .expect("encoder");
    write_page(enc.as_mut(), &pages[2], false);
    write_page(enc.as_mut(), &pages[1], true);
    let after_two = dest.bytes();
    write_part(enc.as_mut(), &pages[0], true);
    enc.abandon_page().expect("abandon");
    assert_eq!(dest.bytes(), after_two, "stream exactly as before the page");
    enc.finish().expect("finish");
    assert_eq!(check_pdf(&dest.bytes(), dir.path()).len(), 2);
    compare_image(
        "page 1",
        &render_pdf(&dest.bytes(), dir.path(), 1, true, TEST_DPI),
        &pages[2],
        None,
    );
}

/// Where the document in `dest` ended after each of its pages: the first
/// checkpoint that counts the page (a TIFF checkpoints twice per page:
/// its IFD written, then linked).
fn page_ends(dest: &SharedStream) -> Vec<usize> {
    let mut ends = Vec::new();
    for (len, pages) in dest.checkpoints() {
        if pages as usize > ends.len() {
            ends.push(len as usize);
        }
    }
    ends
}

#[test]
fn a_document_is_valid_after_every_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = three_pages();
    for format in [FileFormat::Pdf, FileFormat::Tiff] {
        let dest = SharedStream::default();
        let mut enc = document_encoder(format, EncodeOptions::default(), Box::new(dest.clone()))
            .expect("encoder");
        let mut ends = Vec::new();
        let mut documents = Vec::new();
        for (i, page) in pages.iter().enumerate() {
            write_page(enc.as_mut(), page, i != 1);
            // Checkpointed before end_page returned, at the stream's end.
            documents.push(dest.bytes());
            ends.push(dest.bytes().len());
            assert_eq!(page_ends(&dest), ends, "{format:?} after page {}", i + 1);
        }
        // Nothing of a page in progress comes before its end (PDF), or
        // it lies where no link reaches it (TIFF).
        write_part(enc.as_mut(), &pattern(PixelFormat::Rgb8, 40, 40, 3), true);
        let with_part = dest.bytes();
        if format == FileFormat::Pdf {
            assert_eq!(with_part.len(), ends[2], "raw rows wait for the page's end");
        }
        enc.abandon_page().expect("abandon");
        enc.finish().expect("finish");
        assert_eq!(dest.bytes().len(), ends[2], "finish adds nothing");

        for (count, prefix) in documents.iter().enumerate() {
            match format {
                FileFormat::Pdf => {
                    let sizes = check_pdf(prefix, dir.path());
                    assert_eq!(sizes.len(), count + 1, "PDF after page {}", count + 1);
                }
                _ => {
                    let decoded = tiff_with_resolution(prefix);
                    assert_eq!(decoded.len(), count + 1, "TIFF after page {}", count + 1);
                }
            }
        }
        // The TIFF with a page in progress after its last page opens too.
        if format == FileFormat::Tiff {
            assert_eq!(tiff_with_resolution(&with_part).len(), 3);
        }
    }
}

#[test]
fn documents_without_pages_are_refused_at_finish() {
    for format in [FileFormat::Tiff, FileFormat::Pdf] {
        let mut enc = document_encoder(
            format,
            EncodeOptions::default(),
            Box::new(SharedStream::default()),
        )
        .expect("encoder");
        assert_eq!(
            enc.finish().expect_err("no pages").kind(),
            io::ErrorKind::InvalidInput
        );

        let dest = SharedStream::default();
        let mut enc = document_encoder(format, EncodeOptions::default(), Box::new(dest.clone()))
            .expect("encoder");
        write_part(enc.as_mut(), &pattern(PixelFormat::Gray8, 9, 9, 0), true);
        enc.abandon_page().expect("abandon");
        assert!(
            dest.bytes().is_empty(),
            "{format:?}: nothing left of the page"
        );
        assert_eq!(
            enc.finish().expect_err("no pages").kind(),
            io::ErrorKind::InvalidInput
        );
    }
}

// ----------------------------------------------------------- passthrough

/// A JPEG as a device would send it.
fn device_jpeg(format: PixelFormat, dpi: u32) -> (Page, Vec<u8>) {
    let mut page = pattern(format, 80, 56, 1);
    page.header.dpi_x = dpi;
    page.header.dpi_y = dpi;
    (page.clone(), encode(FileFormat::Jpeg, &page, true))
}

/// Feeds `jpeg` into `enc` in uneven chunks.
fn feed(enc: &mut dyn PageEncoder, jpeg: &[u8], header: Option<&PageHeader>) {
    assert!(enc.accepts_encoded(FileFormat::Jpeg));
    enc.begin_encoded(FileFormat::Jpeg, header)
        .expect("begin_encoded");
    let mut rest = jpeg;
    for size in [1, 3, 17, 250].iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (now, later) = rest.split_at((*size).min(rest.len()));
        enc.write_encoded(now).expect("write_encoded");
        rest = later;
    }
    enc.end_page().expect("end_page");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn device_jpegs_go_into_pdf_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (colour, colour_jpeg) = device_jpeg(PixelFormat::Rgb8, DPI_X);
    let (gray, gray_jpeg) = device_jpeg(PixelFormat::Gray8, 200);
    let dest = SharedStream::default();
    let mut enc = document_encoder(
        FileFormat::Pdf,
        EncodeOptions::default(),
        Box::new(dest.clone()),
    )
    .expect("encoder");
    // No header: size and components from the SOF, resolution from JFIF.
    feed(enc.as_mut(), &colour_jpeg, None);
    // An abandoned device page in between.
    enc.begin_encoded(FileFormat::Jpeg, None).expect("begin");
    enc.write_encoded(&gray_jpeg[..gray_jpeg.len() / 2])
        .expect("write");
    enc.abandon_page().expect("abandon");
    // A header: its resolution wins over the JFIF density.
    let header = PageHeader {
        width: 80,
        height: None,
        format: PixelFormat::Gray8,
        dpi_x: 100,
        dpi_y: 100,
    };
    feed(enc.as_mut(), &gray_jpeg, Some(&header));
    enc.finish().expect("finish");

    let bytes = dest.bytes();
    assert!(
        contains(&bytes, &colour_jpeg),
        "colour JPEG bytes embedded as they are"
    );
    assert!(
        contains(&bytes, &gray_jpeg),
        "gray JPEG bytes embedded as they are"
    );
    let sizes = check_pdf(&bytes, dir.path());
    assert_eq!(sizes, vec![(40.0, 28.0), (57.6, 40.32)]);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("/Width 80 /Height 56 /ColorSpace /DeviceRGB"));
    assert!(text.contains("/Width 80 /Height 56 /ColorSpace /DeviceGray"));
    // Rendered at each page's resolution, the pages are the images.
    let img = render_pdf(&bytes, dir.path(), 1, false, (DPI_X, DPI_X));
    compare_image("device colour page", &img, &colour, Some(4.0));
    let img = render_pdf(&bytes, dir.path(), 2, true, (100, 100));
    compare_image("device gray page", &img, &gray, Some(4.0));
}

#[test]
fn per_page_encoders_copy_their_own_format() {
    for format in FileFormat::ALL {
        let page = pattern(PixelFormat::Rgb8, 20, 10, 0);
        let original = encode(format, &page, true);
        let dest = SharedStream::default();
        let mut enc = page_encoder(format, EncodeOptions::default(), Box::new(dest.clone()))
            .expect("encoder");
        assert!(enc.accepts_encoded(format));
        enc.begin_encoded(format, Some(&page.header))
            .expect("begin_encoded");
        for chunk in original.chunks(7) {
            enc.write_encoded(chunk).expect("write_encoded");
        }
        enc.end_page().expect("end_page");
        enc.finish().expect("finish");
        assert_eq!(dest.bytes(), original, "{format:?}");
    }
}

#[test]
fn a_malformed_device_jpeg_is_an_error_not_a_panic() {
    for bad in [
        &b"not a jpeg at all"[..],
        &[0xff, 0xd8, 0xff, 0xda, 0, 2][..],
        &[0xff, 0xd8][..],
    ] {
        let mut enc = document_encoder(
            FileFormat::Pdf,
            EncodeOptions::default(),
            Box::new(SharedStream::default()),
        )
        .expect("encoder");
        enc.begin_encoded(FileFormat::Jpeg, None).expect("begin");
        let result = enc.write_encoded(bad).and_then(|()| enc.end_page());
        assert!(result.is_err(), "{bad:?}");
        enc.abandon_page().expect("abandon");
    }
}

// --------------------------------------------------------------- errors

#[test]
fn a_full_disk_surfaces_as_an_io_error() {
    for format in FileFormat::ALL {
        for pixels in PIXELS {
            let dest = SharedStream::with_limit(100);
            let mut enc =
                page_encoder(format, EncodeOptions::default(), Box::new(dest)).expect("encoder");
            let page = pattern(pixels, 300, 200, 0);
            let mut result = enc.begin_page(&page.header);
            for band in bands(&page) {
                result = result.and_then(|()| enc.write_band(&band));
            }
            let result = result
                .and_then(|()| enc.end_page())
                .and_then(|()| enc.finish());
            let Err(err) = result else {
                panic!("{format:?} {pixels:?}: 100 bytes cannot hold the page");
            };
            assert_eq!(
                err.kind(),
                io::ErrorKind::StorageFull,
                "{format:?} {pixels:?}: {err}"
            );
        }
    }
}
