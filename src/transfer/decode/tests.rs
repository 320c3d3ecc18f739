//! Tests of the body decoder on bodies made here with `jpeg-encoder` and `png`.

use super::*;
use crate::raster::PixelFormat;

/// Everything a decoder returned, checked for the documented order.
#[derive(Debug, Default)]
struct Collected {
    header: Option<PageHeader>,
    data: Vec<u8>,
    rows: u32,
    end: Option<u32>,
}

impl Collected {
    fn absorb(&mut self, items: Vec<Decoded>) {
        for item in items {
            assert!(self.end.is_none(), "output after End");
            match item {
                Decoded::Header(header) => {
                    assert!(self.header.is_none(), "two headers");
                    self.header = Some(header);
                }
                Decoded::Band(band) => {
                    let header = self.header.expect("band before header");
                    assert_eq!(band.first_row, self.rows, "bands out of order");
                    assert!(band.rows >= 1 && band.rows <= BAND_ROWS);
                    assert_eq!(band.data.len(), band.rows as usize * header.row_bytes());
                    self.data.extend_from_slice(&band.data);
                    self.rows += band.rows;
                }
                Decoded::End { height } => {
                    assert_eq!(height, self.rows, "End height differs from rows");
                    self.end = Some(height);
                }
            }
        }
    }
}

/// Decodes `body` pushed in pieces cut at `cuts`.
fn decode_cut(
    format: FileFormat,
    body: &[u8],
    cuts: &[usize],
    limits: DecodeLimits,
) -> Result<Collected, DecodeError> {
    let mut decoder = BodyDecoder::new(format, limits)?;
    let mut collected = Collected::default();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        collected.absorb(decoder.push(&body[start..cut])?);
        start = cut;
    }
    collected.absorb(decoder.finish()?);
    Ok(collected)
}

fn decode_whole(format: FileFormat, body: &[u8]) -> Collected {
    decode_cut(format, body, &[], DecodeLimits::default()).expect("decodes")
}

/// A smooth colour picture (JPEG-friendly) of `channels` interleaved samples.
fn picture(width: u32, height: u32, channels: usize) -> Vec<u8> {
    let mut data = Vec::new();
    for y in 0..height {
        for x in 0..width {
            for c in 0..channels {
                let v = (x * 255 / width.max(1)) as usize * (c + 1) / channels
                    + (y * 200 / height.max(1)) as usize * (channels - c) / channels;
                data.push((v / 2).min(255) as u8);
            }
        }
    }
    data
}

fn jpeg_body(
    width: u16,
    height: u16,
    color: jpeg_encoder::ColorType,
    progressive: bool,
) -> Vec<u8> {
    let channels = match color {
        jpeg_encoder::ColorType::Luma => 1,
        jpeg_encoder::ColorType::Cmyk | jpeg_encoder::ColorType::Ycck => 4,
        _ => 3,
    };
    let data = picture(u32::from(width), u32::from(height), channels);
    let mut body = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut body, 90);
    encoder.set_progressive(progressive);
    encoder.set_density(jpeg_encoder::PixelDensity {
        density: (300, 300),
        unit: jpeg_encoder::PixelDensityUnit::Inches,
    });
    encoder
        .encode(&data, width, height, color)
        .expect("encodes");
    body
}

fn png_body(
    width: u32,
    height: u32,
    color: ::png::ColorType,
    depth: ::png::BitDepth,
    data: &[u8],
) -> Vec<u8> {
    let mut body = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut body, width, height);
    encoder.set_color(color);
    encoder.set_depth(depth);
    encoder.set_pixel_dims(Some(::png::PixelDimensions {
        xppu: 11811,
        yppu: 11811,
        unit: ::png::Unit::Meter,
    }));
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(data).expect("data");
    writer.finish().expect("finish");
    body
}

fn rgb_png(width: u32, height: u32) -> (Vec<u8>, Vec<u8>) {
    let data = picture(width, height, 3);
    let body = png_body(
        width,
        height,
        ::png::ColorType::Rgb,
        ::png::BitDepth::Eight,
        &data,
    );
    (body, data)
}

/// Largest sample difference and mean difference.
fn difference(a: &[u8], b: &[u8]) -> (u8, f64) {
    assert_eq!(a.len(), b.len());
    let max = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0);
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    (max, sum as f64 / a.len().max(1) as f64)
}

fn reference_rgb(body: &[u8]) -> Vec<u8> {
    image::load_from_memory(body)
        .expect("image decodes")
        .to_rgb8()
        .into_raw()
}

fn reference_gray(body: &[u8]) -> Vec<u8> {
    image::load_from_memory(body)
        .expect("image decodes")
        .to_luma8()
        .into_raw()
}

/// Pushes the first half, checks rows came out, then the rest.
fn half_then_rest(format: FileFormat, body: &[u8]) -> (Collected, u32) {
    let mut decoder = BodyDecoder::new(format, DecodeLimits::default()).expect("new");
    let mut collected = Collected::default();
    collected.absorb(decoder.push(&body[..body.len() / 2]).expect("first half"));
    let after_half = collected.rows;
    collected.absorb(decoder.push(&body[body.len() / 2..]).expect("second half"));
    collected.absorb(decoder.finish().expect("finish"));
    (collected, after_half)
}

#[test]
fn jpeg_colour_streams_rows_from_the_first_half() {
    let body = jpeg_body(200, 160, jpeg_encoder::ColorType::Rgb, false);
    let (got, after_half) = half_then_rest(FileFormat::Jpeg, &body);
    assert!(
        after_half > 0 && after_half < 160,
        "{after_half} rows after half"
    );
    let header = got.header.expect("header");
    assert_eq!(header.format, PixelFormat::Rgb8);
    assert_eq!((header.width, header.height), (200, Some(160)));
    assert_eq!((header.dpi_x, header.dpi_y), (300, 300));
    assert_eq!(got.end, Some(160));
    let (max, mean) = difference(&got.data, &reference_rgb(&body));
    assert!(max <= 16 && mean < 2.0, "max {max} mean {mean}");
}

#[test]
fn jpeg_gray_streams_rows_from_the_first_half() {
    let body = jpeg_body(120, 200, jpeg_encoder::ColorType::Luma, false);
    let (got, after_half) = half_then_rest(FileFormat::Jpeg, &body);
    assert!(
        after_half > 0 && after_half < 200,
        "{after_half} rows after half"
    );
    assert_eq!(got.header.expect("header").format, PixelFormat::Gray8);
    let (max, mean) = difference(&got.data, &reference_gray(&body));
    assert!(max <= 8 && mean < 1.0, "max {max} mean {mean}");
}

#[test]
fn jpeg_cmyk_becomes_rgb() {
    let body = jpeg_body(48, 40, jpeg_encoder::ColorType::Cmyk, false);
    let got = decode_whole(FileFormat::Jpeg, &body);
    assert_eq!(got.header.expect("header").format, PixelFormat::Rgb8);
    let (max, mean) = difference(&got.data, &reference_rgb(&body));
    assert!(max <= 24 && mean < 4.0, "max {max} mean {mean}");
}

#[test]
fn jpeg_progressive_is_decoded_whole_at_the_end() {
    let body = jpeg_body(64, 48, jpeg_encoder::ColorType::Rgb, true);
    let (got, after_half) = half_then_rest(FileFormat::Jpeg, &body);
    assert_eq!(after_half, 0);
    assert_eq!(got.end, Some(48));
    let (max, mean) = difference(&got.data, &reference_rgb(&body));
    assert!(max <= 16 && mean < 2.0, "max {max} mean {mean}");
}

#[test]
fn jpeg_pushed_byte_by_byte_equals_whole() {
    let body = jpeg_body(40, 30, jpeg_encoder::ColorType::Rgb, false);
    let whole = decode_whole(FileFormat::Jpeg, &body);
    let cuts: Vec<usize> = (1..body.len()).collect();
    let bytewise = decode_cut(FileFormat::Jpeg, &body, &cuts, DecodeLimits::default()).expect("ok");
    assert_eq!(whole.data, bytewise.data);
    assert_eq!(bytewise.end, Some(30));
}

/// Finds the offset of the SOF0 height and of the EOI in a jpeg-encoder body.
fn sof_height_offset(body: &[u8]) -> usize {
    let sof = body
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0");
    sof + 5
}

fn dnl_body(width: u16, height: u16) -> Vec<u8> {
    let mut body = jpeg_body(width, height, jpeg_encoder::ColorType::Rgb, false);
    let at = sof_height_offset(&body);
    body[at] = 0;
    body[at + 1] = 0;
    assert_eq!(&body[body.len() - 2..], &[0xFF, 0xD9]);
    let eoi = body.len() - 2;
    let [hi, lo] = height.to_be_bytes();
    body.splice(eoi..eoi, [0xFF, 0xDC, 0x00, 0x04, hi, lo]);
    body
}

#[test]
fn jpeg_dnl_height_comes_at_the_end() {
    let body = dnl_body(64, 100);
    let plain = jpeg_body(64, 100, jpeg_encoder::ColorType::Rgb, false);
    let (got, after_half) = half_then_rest(FileFormat::Jpeg, &body);
    let header = got.header.expect("header");
    assert_eq!(header.height, None);
    assert_eq!(header.width, 64);
    assert!(
        after_half > 0 && after_half < 100,
        "{after_half} rows after half"
    );
    assert_eq!(got.end, Some(100));
    assert_eq!(got.rows, 100);
    let (max, mean) = difference(&got.data, &reference_rgb(&plain));
    assert!(max <= 24 && mean < 2.0, "max {max} mean {mean}");
}

#[test]
fn jpeg_dnl_without_dnl_is_truncated() {
    let mut body = jpeg_body(40, 30, jpeg_encoder::ColorType::Rgb, false);
    let at = sof_height_offset(&body);
    body[at] = 0;
    body[at + 1] = 0;
    let result = decode_cut(FileFormat::Jpeg, &body, &[], DecodeLimits::default());
    assert!(
        matches!(result, Err(DecodeError::Truncated { expected: None, .. })),
        "{result:?}"
    );
}

#[test]
fn jpeg_truncated_body_names_rows() {
    let body = jpeg_body(64, 200, jpeg_encoder::ColorType::Rgb, false);
    let mut decoder = BodyDecoder::new(FileFormat::Jpeg, DecodeLimits::default()).expect("new");
    let mut collected = Collected::default();
    collected.absorb(decoder.push(&body[..body.len() / 2]).expect("push"));
    let error = decoder.finish().expect_err("truncated");
    let DecodeError::Truncated { rows, expected, .. } = error.clone() else {
        panic!("{error:?}");
    };
    assert_eq!(rows, collected.rows);
    assert_eq!(expected, Some(200));
    assert!(rows > 0);
    assert_eq!(
        error.to_string(),
        format!("the JPEG body ends after {rows} of 200 rows")
    );
    // The decoder is spent and says so again.
    assert_eq!(decoder.finish(), Err(error));
}

#[test]
fn png_colour_streams_rows_exactly() {
    let (body, data) = rgb_png(200, 160);
    let (got, after_half) = half_then_rest(FileFormat::Png, &body);
    assert!(
        after_half > 0 && after_half < 160,
        "{after_half} rows after half"
    );
    let header = got.header.expect("header");
    assert_eq!(header.format, PixelFormat::Rgb8);
    assert_eq!((header.dpi_x, header.dpi_y), (300, 300));
    assert_eq!(got.data, data);
    assert_eq!(got.data, reference_rgb(&body));
}

#[test]
fn png_gray_streams_rows_exactly() {
    // The png crate keeps the last 32 KiB it inflated (the deflate window)
    // until the stream ends, so the picture must be larger than that.
    let data = picture(300, 400, 1);
    let body = png_body(
        300,
        400,
        ::png::ColorType::Grayscale,
        ::png::BitDepth::Eight,
        &data,
    );
    let (got, after_half) = half_then_rest(FileFormat::Png, &body);
    assert!(
        after_half > 0 && after_half < 400,
        "{after_half} rows after half"
    );
    assert_eq!(got.header.expect("header").format, PixelFormat::Gray8);
    assert_eq!(got.data, reference_gray(&body));
}

#[test]
fn png_one_bit_becomes_gray8() {
    let (width, height) = (21u32, 9u32);
    let row_bytes = width.div_ceil(8) as usize;
    let data: Vec<u8> = (0..row_bytes * height as usize)
        .map(|i| (i * 37) as u8)
        .collect();
    let body = png_body(
        width,
        height,
        ::png::ColorType::Grayscale,
        ::png::BitDepth::One,
        &data,
    );
    let got = decode_whole(FileFormat::Png, &body);
    assert_eq!(got.header.expect("header").format, PixelFormat::Gray8);
    assert_eq!(got.data, reference_gray(&body));
    assert!(got.data.iter().all(|&v| v == 0 || v == 255));
}

#[test]
fn png_alpha_is_composited_onto_white_and_16_bit_reduced() {
    let (width, height) = (7u32, 5u32);
    let mut data = Vec::new();
    for i in 0..width * height {
        let v = (i * 2000) as u16;
        for sample in [v, v / 2, 60000, (i * 1800) as u16] {
            data.extend_from_slice(&sample.to_be_bytes());
        }
    }
    let body = png_body(
        width,
        height,
        ::png::ColorType::Rgba,
        ::png::BitDepth::Sixteen,
        &data,
    );
    let got = decode_whole(FileFormat::Png, &body);
    assert_eq!(got.header.expect("header").format, PixelFormat::Rgb8);
    // 16-bit samples keep their high byte.
    let expected: Vec<u8> = data
        .chunks_exact(8)
        .flat_map(|p| {
            let a = u32::from(p[6]);
            (0..3).map(move |c| ((u32::from(p[2 * c]) * a + 255 * (255 - a) + 127) / 255) as u8)
        })
        .collect();
    assert_eq!(got.data, expected);
}

#[test]
fn png_palette_is_expanded() {
    let (width, height) = (10u32, 4u32);
    let data: Vec<u8> = (0..width * height).map(|i| (i % 3) as u8).collect();
    let mut body = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut body, width, height);
    encoder.set_color(::png::ColorType::Indexed);
    encoder.set_depth(::png::BitDepth::Eight);
    encoder.set_palette(vec![255, 0, 0, 0, 255, 0, 0, 0, 255]);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(&data).expect("data");
    writer.finish().expect("finish");
    let got = decode_whole(FileFormat::Png, &body);
    assert_eq!(got.data, reference_rgb(&body));
    assert_eq!(&got.data[..6], &[255, 0, 0, 0, 255, 0]);
}

/// Writes an Adam7-interlaced 8-bit RGB PNG: the png crate's encoder writes
/// the header flag, the passes are laid out and compressed here.
fn interlaced_png(width: u32, height: u32, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    const PASSES: [(u32, u32, u32, u32); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let mut raw = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        if x0 >= width || y0 >= height {
            continue;
        }
        for y in (y0..height).step_by(dy as usize) {
            raw.push(0);
            for x in (x0..width).step_by(dx as usize) {
                let at = (y * width + x) as usize * 3;
                raw.extend_from_slice(&data[at..at + 3]);
            }
        }
    }
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&raw).expect("compress");
    let idat = zlib.finish().expect("compress");
    let mut info = ::png::Info::with_size(width, height);
    info.color_type = ::png::ColorType::Rgb;
    info.bit_depth = ::png::BitDepth::Eight;
    info.interlaced = true;
    let mut body = Vec::new();
    {
        let encoder = ::png::Encoder::with_info(&mut body, info).expect("info");
        let mut writer = encoder.write_header().expect("header");
        writer.write_chunk(::png::chunk::IDAT, &idat).expect("idat");
        writer.write_chunk(::png::chunk::IEND, &[]).expect("iend");
        // The image data went in as a raw chunk; the writer need not check it.
        std::mem::forget(writer);
    }
    body
}

#[test]
fn png_interlaced_is_decoded_whole_at_the_end() {
    let (width, height) = (37u32, 29u32);
    let data = picture(width, height, 3);
    let body = interlaced_png(width, height, &data);
    assert_eq!(reference_rgb(&body), data, "test body is a valid PNG");
    let (got, after_half) = half_then_rest(FileFormat::Png, &body);
    assert_eq!(after_half, 0);
    assert_eq!(got.data, data);
    assert_eq!(got.end, Some(height));
}

#[test]
fn too_large_is_refused_from_the_header() {
    let tiny = DecodeLimits { max_bytes: 1000 };
    let body = jpeg_body(64, 48, jpeg_encoder::ColorType::Rgb, true);
    let result = decode_cut(FileFormat::Jpeg, &body, &[], tiny);
    assert!(
        matches!(result, Err(DecodeError::TooLarge { needed, .. }) if needed == 64 * 48 * 3 * 2),
        "{result:?}"
    );
    let (width, height) = (37u32, 29u32);
    let body = interlaced_png(width, height, &picture(width, height, 3));
    let result = decode_cut(FileFormat::Png, &body, &[], tiny);
    assert!(
        matches!(result, Err(DecodeError::TooLarge { .. })),
        "{result:?}"
    );
    // A header claiming 65535 x 65535 progressive: refused with the default
    // limit before libjpeg sees the scan (it would allocate 25 GB).
    let mut huge = body_with_size(
        &jpeg_body(64, 48, jpeg_encoder::ColorType::Rgb, true),
        0xFFFF,
        0xFFFF,
    );
    huge.truncate(huge.len() / 2);
    let result = decode_cut(FileFormat::Jpeg, &huge, &[], DecodeLimits::default());
    assert!(
        matches!(result, Err(DecodeError::TooLarge { .. })),
        "{result:?}"
    );
    // Baseline bodies stream and are never held whole: a small limit is fine.
    let body = jpeg_body(64, 48, jpeg_encoder::ColorType::Rgb, false);
    assert!(decode_cut(FileFormat::Jpeg, &body, &[], tiny).is_ok());
}

/// A copy of a jpeg-encoder body with other SOF dimensions.
fn body_with_size(body: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut body = body.to_vec();
    let sof = body
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .expect("SOF");
    body[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    body[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    body
}

#[test]
fn huge_baseline_header_with_little_data_ends_quickly() {
    let body = body_with_size(
        &jpeg_body(40, 30, jpeg_encoder::ColorType::Rgb, false),
        0xFFFF,
        0xFFFF,
    );
    let result = decode_cut(FileFormat::Jpeg, &body, &[], DecodeLimits::default());
    assert!(result.is_err(), "{:?}", result.map(|c| c.rows));
}

fn small_bodies() -> Vec<(FileFormat, Vec<u8>)> {
    let gray = picture(40, 30, 1);
    vec![
        (
            FileFormat::Jpeg,
            jpeg_body(40, 30, jpeg_encoder::ColorType::Rgb, false),
        ),
        (
            FileFormat::Jpeg,
            jpeg_body(40, 30, jpeg_encoder::ColorType::Luma, false),
        ),
        (
            FileFormat::Jpeg,
            jpeg_body(40, 30, jpeg_encoder::ColorType::Rgb, true),
        ),
        (FileFormat::Jpeg, dnl_body(40, 30)),
        (FileFormat::Png, rgb_png(40, 30).0),
        (
            FileFormat::Png,
            png_body(
                40,
                30,
                ::png::ColorType::Grayscale,
                ::png::BitDepth::Eight,
                &gray,
            ),
        ),
        (FileFormat::Png, interlaced_png(40, 30, &picture(40, 30, 3))),
    ]
}

#[test]
fn every_prefix_ends_cleanly() {
    for (format, body) in small_bodies() {
        for len in 0..body.len() {
            let prefix = &body[..len];
            let result = decode_cut(format, prefix, &[len / 2], DecodeLimits::default());
            match result {
                Err(_) => {}
                Ok(got) => assert_eq!(got.end, Some(30), "{format:?} prefix {len}"),
            }
        }
        let got = decode_cut(format, &body, &[body.len() / 2], DecodeLimits::default());
        assert_eq!(got.expect("whole body").end, Some(30), "{format:?}");
    }
}

#[test]
fn flipped_bytes_never_panic() {
    for (format, body) in small_bodies() {
        for at in (0..body.len()).step_by(3) {
            for flip in [0xFFu8, 0x01, 0x80] {
                let mut bad = body.clone();
                bad[at] ^= flip;
                let _ = decode_cut(format, &bad, &[bad.len() / 3], DecodeLimits::default());
            }
        }
    }
}

#[test]
fn fuzz_one_takes_anything() {
    fuzz_one(&[]);
    fuzz_one(&[0xFF, 0xD8, 0xFF]);
    for (_, body) in small_bodies() {
        fuzz_one(&body);
    }
}

#[test]
fn other_formats_are_unsupported() {
    let result = BodyDecoder::new(FileFormat::Tiff, DecodeLimits::default());
    assert!(matches!(
        result,
        Err(DecodeError::Unsupported(FileFormat::Tiff))
    ));
}

#[test]
fn dropping_mid_body_stops_the_thread() {
    for (format, body) in small_bodies() {
        let mut decoder = BodyDecoder::new(format, DecodeLimits::default()).expect("new");
        let _ = decoder.push(&body[..body.len() / 2]);
        drop(decoder);
        // Never pushed at all.
        drop(BodyDecoder::new(format, DecodeLimits::default()).expect("new"));
    }
}

#[test]
fn corrupt_png_says_so() {
    let (mut body, _) = rgb_png(40, 30);
    // Break the IHDR CRC.
    body[29] ^= 0xFF;
    let result = decode_cut(FileFormat::Png, &body, &[], DecodeLimits::default());
    let error = result.expect_err("corrupt");
    assert!(
        error.to_string().starts_with("the PNG body is corrupt: "),
        "{error}"
    );
}
