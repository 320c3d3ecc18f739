//! JPEG pages (baseline JFIF) through the `jpeg-encoder` crate: colour as
//! YCbCr, gray and black-and-white as one-component gray. The resolution is
//! recorded as the JFIF density in dots per inch.
//!
//! A JPEG header needs the page height, and the encoder takes the whole
//! image at once, so the page is kept in memory (8-bit samples) and encoded
//! at `end_page`. The encoding function is shared with the PDF writer. This
//! module does not decode JPEG.

use super::common::{
    RowWriter, SinglePage, Sink, append_as_8bit, forward_page_encoder, invalid_input,
};
use super::{EncodeOptions, FileFormat};
use crate::raster::{PageHeader, PixelFormat};
use crate::stream::Destination;
use std::io::{self, Write};

/// Writes one page as a JPEG file (or copies a JPEG the device encoded).
pub struct JpegEncoder {
    inner: SinglePage<JpegRows>,
}

impl JpegEncoder {
    /// Creates an encoder writing one JPEG page into `dest` with
    /// `options.quality`.
    pub fn new(options: EncodeOptions, dest: Box<dyn Destination>) -> io::Result<JpegEncoder> {
        let rows = JpegRows {
            quality: options.quality,
            samples: Vec::new(),
        };
        Ok(JpegEncoder {
            inner: SinglePage::new(rows, dest)?,
        })
    }
}

forward_page_encoder!(JpegEncoder, inner);

/// Encodes 8-bit samples (`rgb` three per pixel, else one) of a
/// `width` x `height` page at `dpi` as a JFIF file into `out`.
pub(crate) fn encode_jpeg(
    samples: &[u8],
    width: u32,
    height: u32,
    rgb: bool,
    dpi: (u32, u32),
    quality: u8,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let too_large = || {
        invalid_input(format!(
            "a {width}x{height} page is too large for JPEG (65535 max)"
        ))
    };
    let w = u16::try_from(width).map_err(|_| too_large())?;
    let h = u16::try_from(height).map_err(|_| too_large())?;
    // Scans usually compress to well under a tenth of their samples.
    out.reserve(samples.len() / 10);
    let mut encoder = jpeg_encoder::Encoder::new(&mut *out, quality.clamp(1, 100));
    if dpi.0 > 0 && dpi.1 > 0 {
        let clamp = |d: u32| u16::try_from(d).unwrap_or(u16::MAX);
        encoder.set_density(jpeg_encoder::PixelDensity {
            density: (clamp(dpi.0), clamp(dpi.1)),
            unit: jpeg_encoder::PixelDensityUnit::Inches,
        });
    }
    let color = if rgb {
        jpeg_encoder::ColorType::Rgb
    } else {
        jpeg_encoder::ColorType::Luma
    };
    encoder
        .encode(samples, w, h, color)
        .map_err(|err| match err {
            jpeg_encoder::EncodingError::IoError(err) => err,
            other => io::Error::other(format!("JPEG encoder: {other}")),
        })
}

/// Most bytes reserved up front for a page's samples; a larger page grows
/// its buffer as its rows actually arrive.
const PREALLOCATE_MAX: usize = 256 << 20;

/// An empty buffer for a page of `height` rows of `row_len` samples.
pub(crate) fn page_buffer(row_len: usize, height: Option<u32>) -> Vec<u8> {
    let wanted = row_len.saturating_mul(height.unwrap_or(0) as usize);
    Vec::with_capacity(wanted.min(PREALLOCATE_MAX))
}

/// The JPEG half of the single-page shell.
struct JpegRows {
    quality: u8,
    /// The page so far, 8-bit samples.
    samples: Vec<u8>,
}

impl RowWriter for JpegRows {
    const FORMAT: FileFormat = FileFormat::Jpeg;

    fn begin(&mut self, _out: &mut Sink, header: &PageHeader) -> io::Result<()> {
        if header.width > u32::from(u16::MAX) || header.height.unwrap_or(0) > u32::from(u16::MAX) {
            return Err(invalid_input(
                "page is too large for JPEG (65535 pixels max)",
            ));
        }
        let samples_per_row = header.width as usize * usize::from(header.format.channels());
        self.samples = page_buffer(samples_per_row, header.height);
        Ok(())
    }

    fn rows(
        &mut self,
        _out: &mut Sink,
        header: &PageHeader,
        data: &[u8],
        _rows: u32,
    ) -> io::Result<()> {
        append_as_8bit(header, data, &mut self.samples);
        Ok(())
    }

    fn end(
        &mut self,
        out: &mut Sink,
        header: &PageHeader,
        height: u32,
        _start: u64,
    ) -> io::Result<()> {
        let mut encoded = Vec::new();
        encode_jpeg(
            &self.samples,
            header.width,
            height,
            header.format == PixelFormat::Rgb8,
            (header.dpi_x, header.dpi_y),
            self.quality,
            &mut encoded,
        )?;
        self.samples = Vec::new();
        out.write_all(&encoded)
    }

    fn reset(&mut self) {
        self.samples = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SharedDest, encode_whole, pattern_page};

    /// (units, x density, y density) of the JFIF APP0 segment.
    fn jfif_density(bytes: &[u8]) -> (u8, u16, u16) {
        assert_eq!(&bytes[..2], &[0xff, 0xd8]);
        assert_eq!(&bytes[2..4], &[0xff, 0xe0], "APP0 follows SOI");
        assert_eq!(&bytes[6..11], b"JFIF\0");
        (
            bytes[13],
            u16::from_be_bytes([bytes[14], bytes[15]]),
            u16::from_be_bytes([bytes[16], bytes[17]]),
        )
    }

    #[test]
    fn density_is_recorded_in_dots_per_inch() {
        let mut page = pattern_page(PixelFormat::Gray8, 20, 10, 300);
        page.header.dpi_y = 150;
        let dest = SharedDest::default();
        let enc = JpegEncoder::new(EncodeOptions::default(), Box::new(dest.clone())).expect("enc");
        encode_whole(Box::new(enc), &page, false, &[3]);
        assert_eq!(jfif_density(&dest.bytes()), (1, 300, 150));
    }

    #[test]
    fn black_and_white_becomes_a_gray_jpeg() {
        let page = pattern_page(PixelFormat::Bw1, 33, 17, 200);
        let dest = SharedDest::default();
        let enc =
            JpegEncoder::new(EncodeOptions { quality: 95 }, Box::new(dest.clone())).expect("enc");
        encode_whole(Box::new(enc), &page, true, &[5, 2]);
        let img = image::load_from_memory(&dest.bytes()).expect("decode");
        assert_eq!(img.color(), image::ColorType::L8);
        assert_eq!((img.width(), img.height()), (33, 17));
    }

    #[test]
    fn pages_wider_than_jpeg_allows_are_refused_cleanly() {
        let header = PageHeader {
            width: 70_000,
            height: Some(1),
            format: PixelFormat::Bw1,
            dpi_x: 300,
            dpi_y: 300,
        };
        let mut enc = JpegEncoder::new(EncodeOptions::default(), Box::new(SharedDest::default()))
            .expect("enc");
        let err = crate::output::PageEncoder::begin_page(&mut enc, &header).expect_err("too wide");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn own_format_passes_through_untouched() {
        use crate::output::PageEncoder;
        let dest = SharedDest::default();
        let mut enc =
            JpegEncoder::new(EncodeOptions::default(), Box::new(dest.clone())).expect("enc");
        assert!(enc.accepts_encoded(FileFormat::Jpeg));
        assert!(!enc.accepts_encoded(FileFormat::Png));
        let jpeg = [0xff, 0xd8, 1, 2, 3, 0xff, 0xd9];
        enc.begin_encoded(FileFormat::Jpeg, None).expect("begin");
        enc.write_encoded(&jpeg[..3]).expect("write");
        enc.write_encoded(&jpeg[3..]).expect("write");
        enc.end_page().expect("end");
        enc.finish().expect("finish");
        assert_eq!(dest.bytes(), jpeg);
    }
}
