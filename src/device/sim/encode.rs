//! Encoding of the virtual scanner's pages into the bodies real network
//! scanners send (option `format=jpeg|png`).
//!
//! An eSCL scanner does not send rows: it sends each page as one encoded
//! image, and the transfer layer decodes it (or passes it through when the
//! destination wants that format). This module turns a rendered [`Page`]
//! into such a body and cuts it into the chunks the scanner trickles at its
//! pace. It encodes with the `jpeg-encoder` and `png` crates directly, not
//! through the output writers: a device back end does not reach into the
//! output layer.
//!
//! What a body holds, by colour mode:
//! - JPEG (baseline, quality [`JPEG_QUALITY`], density in dpi): colour
//!   pages as YCbCr, gray pages as one-component gray, black-and-white
//!   pages as gray (0 or 255), since JPEG has no 1-bit form.
//! - PNG (non-interlaced, physical size in pixels per metre): colour as
//!   8-bit RGB, gray as 8-bit gray, black-and-white as 1-bit gray. PNG's
//!   1-bit gray has 0 = black, the inverse of [`PixelFormat::Bw1`], so the
//!   bits are flipped.
//!
//! When the page length is unknown (`size=auto`) a JPEG body is the kind
//! some feeders send: its frame header says height 0 and a DNL segment
//! (`FF DC 00 04 HH HH`) after the scan data gives the real height. Nothing
//! here does I/O or paces anything; the scan loop in the parent module does.

use crate::raster::{Page, PageHeader, PixelFormat};
use crate::stream::FileFormat;
use crate::transfer::PageData;

/// Quality of the JPEG bodies (1..=100).
pub const JPEG_QUALITY: u8 = 85;

/// Start of frame, baseline DCT.
const SOF0: u8 = 0xC0;
/// Start of scan: entropy-coded data follows the header.
const SOS: u8 = 0xDA;
/// Define number of lines: the frame height given after the scan.
pub const DNL: u8 = 0xDC;
/// End of image.
const EOI: u8 = 0xD9;

/// The encodings the virtual scanner can send pages in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyFormat {
    /// Baseline JPEG.
    Jpeg,
    /// Non-interlaced PNG.
    Png,
}

impl BodyFormat {
    /// Both encodings, in the order the device lists them.
    pub const ALL: [BodyFormat; 2] = [BodyFormat::Jpeg, BodyFormat::Png];

    /// The file format the transfer layer knows the body by.
    pub fn file_format(self) -> FileFormat {
        match self {
            BodyFormat::Jpeg => FileFormat::Jpeg,
            BodyFormat::Png => FileFormat::Png,
        }
    }
}

/// Why a page could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// JPEG frames are limited to 65535 pixels a side.
    #[error("a {width} x {height} pixel page is too large for a JPEG body (at most 65535 a side)")]
    TooLarge {
        /// Page width in pixels.
        width: u32,
        /// Page height in pixels.
        height: u32,
    },
    /// The JPEG encoder refused the page.
    #[error("JPEG encoding failed: {0}")]
    Jpeg(#[from] jpeg_encoder::EncodingError),
    /// The PNG encoder refused the page.
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
    /// The JPEG encoder's output did not have the expected layout (a frame
    /// header before the scan, EOI at the end), so the height could not be
    /// moved into a DNL segment.
    #[error("the JPEG body has no {0}")]
    Layout(&'static str),
}

/// One page encoded as the device sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPage {
    /// The encoding of `bytes`.
    pub format: BodyFormat,
    /// The whole body.
    pub bytes: Vec<u8>,
    /// What the body decodes to: the page's geometry with the pixel format
    /// of the body (a black-and-white page in JPEG is gray).
    pub header: PageHeader,
    /// Whether size and geometry are announced before the body; false when
    /// the page length is unknown until the body ends.
    pub announced: bool,
}

impl EncodedPage {
    /// The announcement that opens the body: size and header when the
    /// length is known, neither when it is not.
    pub fn page_data(&self) -> PageData {
        PageData::Encoded {
            format: self.format.file_format(),
            size: self.announced.then_some(self.bytes.len() as u64),
            header: self.announced.then_some(self.header),
        }
    }

    /// The body cut into exactly `count` consecutive chunks of nearly equal
    /// length (some are empty when the body has fewer bytes than `count`),
    /// each with the bytes sent once it is through.
    pub fn chunks(&self, count: u32) -> impl Iterator<Item = (&[u8], usize)> + '_ {
        let len = self.bytes.len() as u64;
        let count = u64::from(count.max(1));
        let at = move |i: u64| (len * i / count) as usize;
        (0..count).map(move |i| (&self.bytes[at(i)..at(i + 1)], at(i + 1)))
    }
}

/// Encodes `page` as `format`. With `length_known` false a JPEG body
/// defers its height to a DNL segment and the body is not announced.
pub fn encode_page(
    page: &Page,
    format: BodyFormat,
    length_known: bool,
) -> Result<EncodedPage, EncodeError> {
    let (mut bytes, pixels) = match format {
        BodyFormat::Jpeg => (jpeg(page)?, jpeg_pixels(page.header.format)),
        BodyFormat::Png => (png(page)?, page.header.format),
    };
    if format == BodyFormat::Jpeg && !length_known {
        defer_height(&mut bytes)?;
    }
    Ok(EncodedPage {
        format,
        bytes,
        header: PageHeader {
            format: pixels,
            height: Some(page.height()),
            ..page.header
        },
        announced: length_known,
    })
}

/// The pixel format a JPEG body of a `format` page decodes to.
fn jpeg_pixels(format: PixelFormat) -> PixelFormat {
    match format {
        PixelFormat::Rgb8 => PixelFormat::Rgb8,
        PixelFormat::Gray8 | PixelFormat::Bw1 => PixelFormat::Gray8,
    }
}

/// A dpi value as a 16-bit density field (0 when it does not fit).
fn density(dpi: u32) -> u16 {
    u16::try_from(dpi).unwrap_or(0)
}

fn jpeg(page: &Page) -> Result<Vec<u8>, EncodeError> {
    let too_large = || EncodeError::TooLarge {
        width: page.header.width,
        height: page.height(),
    };
    let width = u16::try_from(page.header.width).map_err(|_| too_large())?;
    let height = u16::try_from(page.height()).map_err(|_| too_large())?;
    let gray;
    let (data, color) = match page.header.format {
        PixelFormat::Rgb8 => (&page.data, jpeg_encoder::ColorType::Rgb),
        PixelFormat::Gray8 => (&page.data, jpeg_encoder::ColorType::Luma),
        PixelFormat::Bw1 => {
            gray = page.to_gray();
            (&gray.data, jpeg_encoder::ColorType::Luma)
        }
    };
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY);
    encoder.set_density(jpeg_encoder::PixelDensity {
        density: (density(page.header.dpi_x), density(page.header.dpi_y)),
        unit: jpeg_encoder::PixelDensityUnit::Inches,
    });
    encoder.encode(data, width, height, color)?;
    Ok(out)
}

/// Pixels per metre at `dpi`.
fn per_metre(dpi: u32) -> u32 {
    (f64::from(dpi) / 0.0254).round() as u32
}

fn png(page: &Page) -> Result<Vec<u8>, EncodeError> {
    let header = page.header;
    let (color, depth) = match header.format {
        PixelFormat::Rgb8 => (png::ColorType::Rgb, png::BitDepth::Eight),
        PixelFormat::Gray8 => (png::ColorType::Grayscale, png::BitDepth::Eight),
        PixelFormat::Bw1 => (png::ColorType::Grayscale, png::BitDepth::One),
    };
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, header.width, page.height());
        encoder.set_color(color);
        encoder.set_depth(depth);
        encoder.set_compression(png::Compression::Fast);
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre(header.dpi_x),
            yppu: per_metre(header.dpi_y),
            unit: png::Unit::Meter,
        }));
        let mut writer = encoder.write_header()?;
        if header.format == PixelFormat::Bw1 {
            let white_is_one: Vec<u8> = page.data.iter().map(|b| !b).collect();
            writer.write_image_data(&white_is_one)?;
        } else {
            writer.write_image_data(&page.data)?;
        }
        writer.finish()?;
    }
    Ok(out)
}

/// Where the segment with `marker` starts (its `FF`) among the header
/// segments of a JPEG, before the first scan; `None` when there is none.
/// It walks the segment lengths, so it never mistakes image data for a
/// marker.
pub fn find_header_segment(jpeg: &[u8], marker: u8) -> Option<usize> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    loop {
        let (&ff, &found) = (jpeg.get(at)?, jpeg.get(at + 1)?);
        if ff != 0xFF {
            return None;
        }
        if found == marker {
            return Some(at);
        }
        if found == SOS {
            return None;
        }
        let len = u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]);
        at += 2 + usize::from(len);
    }
}

/// The height a JPEG's baseline frame header announces (0: given by a DNL
/// segment after the scan).
pub fn frame_height(jpeg: &[u8]) -> Option<u16> {
    let sof = find_header_segment(jpeg, SOF0)?;
    Some(u16::from_be_bytes([
        *jpeg.get(sof + 5)?,
        *jpeg.get(sof + 6)?,
    ]))
}

/// Moves the frame height of a baseline JPEG into a DNL segment: the frame
/// header then says 0 and `FF DC 00 04 HH HH` follows the scan data, right
/// before EOI.
fn defer_height(jpeg: &mut Vec<u8>) -> Result<(), EncodeError> {
    let sof =
        find_header_segment(jpeg, SOF0).ok_or(EncodeError::Layout("baseline frame header"))?;
    let lines = jpeg
        .get_mut(sof + 5..sof + 7)
        .ok_or(EncodeError::Layout("complete frame header"))?;
    let height = [lines[0], lines[1]];
    lines.fill(0);
    if !jpeg.ends_with(&[0xFF, EOI]) {
        return Err(EncodeError::Layout("end-of-image marker"));
    }
    let eoi = jpeg.len() - 2;
    jpeg.splice(eoi..eoi, [0xFF, DNL, 0x00, 0x04, height[0], height[1]]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with a gradient and a dark block, in `format`.
    fn sample(format: PixelFormat, width: u32, height: u32) -> Page {
        let mut page = Page::filled(width, height, format, 150, 0);
        let rb = page.header.row_bytes();
        for y in 0..height as usize {
            let row = &mut page.data[y * rb..(y + 1) * rb];
            for x in 0..width as usize {
                let dark = (20..40).contains(&x) && (10..30).contains(&y);
                let value = if dark { 10 } else { (40 + x * 2) as u8 };
                match format {
                    PixelFormat::Rgb8 => {
                        row[x * 3..x * 3 + 3].copy_from_slice(&[value, value / 2, 255 - value])
                    }
                    PixelFormat::Gray8 => row[x] = value,
                    PixelFormat::Bw1 => {
                        if dark || x % 7 == 0 {
                            row[x / 8] |= 0x80 >> (x % 8);
                        }
                    }
                }
            }
        }
        page
    }

    /// The mean absolute difference between `page` and the decoded body.
    fn mean_error(page: &Page, body: &[u8]) -> f64 {
        let image = image::load_from_memory(body).expect("the body decodes");
        assert_eq!(
            (image.width(), image.height()),
            (page.header.width, page.height())
        );
        let (expected, decoded) = if page.header.format == PixelFormat::Rgb8 {
            (page.data.clone(), image.to_rgb8().into_raw())
        } else {
            (page.to_gray().data, image.to_luma8().into_raw())
        };
        assert_eq!(expected.len(), decoded.len());
        let total: u64 = expected
            .iter()
            .zip(&decoded)
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        total as f64 / expected.len() as f64
    }

    #[test]
    fn jpeg_bodies_decode_to_the_page_size_and_close_content() {
        for format in [PixelFormat::Rgb8, PixelFormat::Gray8, PixelFormat::Bw1] {
            let page = sample(format, 120, 70);
            let body = encode_page(&page, BodyFormat::Jpeg, true).expect("encodes");
            assert!(body.bytes.starts_with(&[0xFF, 0xD8]));
            assert!(body.bytes.ends_with(&[0xFF, 0xD9]));
            assert_eq!(frame_height(&body.bytes), Some(70), "{format:?}");
            let error = mean_error(&page, &body.bytes);
            // Black-and-white edges ring in JPEG; smooth content barely moves.
            let limit = if format == PixelFormat::Bw1 {
                20.0
            } else {
                4.0
            };
            assert!(error < limit, "{format:?}: mean error {error}");
            assert_eq!(body.header.format, jpeg_pixels(format));
            assert_eq!(body.header.height, Some(70));
        }
    }

    #[test]
    fn png_bodies_decode_to_the_page_exactly() {
        for format in [PixelFormat::Rgb8, PixelFormat::Gray8, PixelFormat::Bw1] {
            let page = sample(format, 101, 45);
            let body = encode_page(&page, BodyFormat::Png, true).expect("encodes");
            assert_eq!(&body.bytes[1..4], b"PNG");
            assert_eq!(mean_error(&page, &body.bytes), 0.0, "{format:?}");
            assert_eq!(body.header, page.header);
        }
    }

    #[test]
    fn black_and_white_png_is_one_bit_gray_with_black_as_zero() {
        let page = sample(PixelFormat::Bw1, 64, 40);
        let body = encode_page(&page, BodyFormat::Png, true).expect("encodes");
        let decoder = png::Decoder::new(std::io::Cursor::new(&body.bytes));
        let reader = decoder.read_info().expect("a PNG header");
        let info = reader.info();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::One);
        assert!(!info.interlaced);
        let image = image::load_from_memory(&body.bytes).expect("decodes");
        // (25, 15) lies in the dark block.
        assert_eq!(image.to_luma8().get_pixel(25, 15).0, [0]);
        assert_eq!(image.to_luma8().get_pixel(1, 1).0, [255]);
    }

    #[test]
    fn unknown_length_jpeg_has_frame_height_zero_and_a_dnl_before_eoi() {
        let page = sample(PixelFormat::Gray8, 90, 300);
        let body = encode_page(&page, BodyFormat::Jpeg, false).expect("encodes");
        assert!(!body.announced);
        assert_eq!(
            body.page_data(),
            PageData::Encoded {
                format: FileFormat::Jpeg,
                size: None,
                header: None
            }
        );
        let bytes = &body.bytes;
        assert_eq!(frame_height(bytes), Some(0));
        let tail = &bytes[bytes.len() - 8..];
        assert_eq!(tail, [0xFF, DNL, 0x00, 0x04, 0x01, 0x2C, 0xFF, 0xD9]);
        // The DNL is the only one, after the scan: the body otherwise
        // matches the announced encoding.
        let known = encode_page(&page, BodyFormat::Jpeg, true).expect("encodes");
        assert_eq!(bytes.len(), known.bytes.len() + 6);
        let sof = find_header_segment(&known.bytes, SOF0).expect("a frame header");
        assert_eq!(bytes[..sof + 5], known.bytes[..sof + 5]);
        assert_eq!(
            bytes[sof + 7..bytes.len() - 8],
            known.bytes[sof + 7..known.bytes.len() - 2]
        );
    }

    #[test]
    fn announced_bodies_carry_size_and_header() {
        let page = sample(PixelFormat::Rgb8, 40, 20);
        let body = encode_page(&page, BodyFormat::Png, true).expect("encodes");
        assert_eq!(
            body.page_data(),
            PageData::Encoded {
                format: FileFormat::Png,
                size: Some(body.bytes.len() as u64),
                header: Some(page.header)
            }
        );
    }

    #[test]
    fn chunks_cover_the_body_once_in_exactly_the_asked_number() {
        let page = sample(PixelFormat::Gray8, 50, 50);
        let body = encode_page(&page, BodyFormat::Png, true).expect("encodes");
        for count in [1, 2, 7, 64, body.bytes.len() as u32 + 5] {
            let chunks: Vec<(&[u8], usize)> = body.chunks(count).collect();
            assert_eq!(chunks.len(), count as usize);
            let joined: Vec<u8> = chunks.iter().flat_map(|c| c.0.iter().copied()).collect();
            assert_eq!(joined, body.bytes);
            assert_eq!(chunks.last().map(|c| c.1), Some(body.bytes.len()));
        }
    }

    #[test]
    fn a_jpeg_side_over_65535_pixels_is_refused() {
        let page = Page::filled(70_000, 1, PixelFormat::Gray8, 300, 255);
        assert!(matches!(
            encode_page(&page, BodyFormat::Jpeg, true),
            Err(EncodeError::TooLarge { width: 70_000, .. })
        ));
    }
}
