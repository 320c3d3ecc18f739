//! Windows bitmap pages (`BITMAPINFOHEADER`, uncompressed): 24-bit colour,
//! 8-bit gray with a gray palette, and 1-bit with a two-entry palette
//! (index 1 = black, so the raster's bits are stored as they are). The
//! resolution is recorded in pixels per metre.
//!
//! Rows are written top-down (a negative height) as they arrive, so the
//! page is never held in memory. When the height is unknown the header is
//! written with zero sizes and patched at `end_page`. This module does not
//! decode BMP.

use super::common::{
    RowWriter, SinglePage, Sink, forward_page_encoder, invalid_input, pixels_per_metre,
};
use super::{EncodeOptions, FileFormat};
use crate::raster::{PageHeader, PixelFormat};
use crate::stream::Destination;
use std::io::{self, Write};

/// Bytes before the palette: file header (14) + `BITMAPINFOHEADER` (40).
const HEADERS_LEN: u32 = 14 + 40;
/// Offset of `bfSize` within the file header.
const FILE_SIZE_AT: u64 = 2;
/// Offset of `biHeight` from the start of the file.
const HEIGHT_AT: u64 = 14 + 8;
/// Offset of `biSizeImage` from the start of the file.
const IMAGE_SIZE_AT: u64 = 14 + 20;

/// Writes one page as a BMP file (or copies a BMP the device encoded).
pub struct BmpEncoder {
    inner: SinglePage<BmpRows>,
}

impl BmpEncoder {
    /// Creates an encoder writing one BMP page into `dest`.
    pub fn new(_options: EncodeOptions, dest: Box<dyn Destination>) -> io::Result<BmpEncoder> {
        Ok(BmpEncoder {
            inner: SinglePage::new(BmpRows::default(), dest)?,
        })
    }
}

forward_page_encoder!(BmpEncoder, inner);

/// Bits per pixel and palette entries for a pixel format.
fn layout(format: PixelFormat) -> (u16, u32) {
    match format {
        PixelFormat::Rgb8 => (24, 0),
        PixelFormat::Gray8 => (8, 256),
        PixelFormat::Bw1 => (1, 2),
    }
}

/// Bytes of one stored row: padded to a multiple of four.
fn stride(header: &PageHeader) -> u64 {
    header.row_bytes().div_ceil(4) as u64 * 4
}

/// Sizes of a page of `height` rows: (pixel bytes, whole file bytes).
fn sizes(header: &PageHeader, height: u32) -> io::Result<(u32, u32)> {
    let (_, colours) = layout(header.format);
    let image = stride(header) * u64::from(height);
    let file = u64::from(HEADERS_LEN) + u64::from(colours) * 4 + image;
    let too_large = || invalid_input("page is too large for BMP (4 GiB max)");
    Ok((
        u32::try_from(image).map_err(|_| too_large())?,
        u32::try_from(file).map_err(|_| too_large())?,
    ))
}

/// The negative (top-down) BMP height field for `height` rows.
fn top_down(height: u32) -> io::Result<i32> {
    i32::try_from(height)
        .map(|h| -h)
        .map_err(|_| invalid_input("page is too tall for BMP"))
}

/// The BMP half of the single-page shell.
#[derive(Default)]
struct BmpRows {
    /// One band in BMP layout (BGR order, padded rows).
    scratch: Vec<u8>,
}

impl RowWriter for BmpRows {
    const FORMAT: FileFormat = FileFormat::Bmp;

    fn begin(&mut self, out: &mut Sink, header: &PageHeader) -> io::Result<()> {
        let width =
            i32::try_from(header.width).map_err(|_| invalid_input("page is too wide for BMP"))?;
        let (bits, colours) = layout(header.format);
        let height = header.height.unwrap_or(0);
        let (image_size, file_size) = sizes(header, height)?;
        let pixels_at = HEADERS_LEN + colours * 4;

        let mut head = Vec::with_capacity(pixels_at as usize);
        head.extend_from_slice(b"BM");
        head.extend_from_slice(&file_size.to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes());
        head.extend_from_slice(&pixels_at.to_le_bytes());
        head.extend_from_slice(&40u32.to_le_bytes());
        head.extend_from_slice(&width.to_le_bytes());
        head.extend_from_slice(&top_down(height)?.to_le_bytes());
        head.extend_from_slice(&1u16.to_le_bytes());
        head.extend_from_slice(&bits.to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes()); // BI_RGB: uncompressed
        head.extend_from_slice(&image_size.to_le_bytes());
        head.extend_from_slice(&pixels_per_metre(header.dpi_x).to_le_bytes());
        head.extend_from_slice(&pixels_per_metre(header.dpi_y).to_le_bytes());
        head.extend_from_slice(&colours.to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes());
        match header.format {
            PixelFormat::Rgb8 => {}
            PixelFormat::Gray8 => {
                for level in 0..=255u8 {
                    head.extend_from_slice(&[level, level, level, 0]);
                }
            }
            PixelFormat::Bw1 => head.extend_from_slice(&[255, 255, 255, 0, 0, 0, 0, 0]),
        }
        out.write_all(&head)
    }

    fn rows(
        &mut self,
        out: &mut Sink,
        header: &PageHeader,
        data: &[u8],
        rows: u32,
    ) -> io::Result<()> {
        let row_bytes = header.row_bytes();
        let stride = stride(header) as usize;
        self.scratch.clear();
        self.scratch.resize(stride * rows as usize, 0);
        for (src, dst) in data
            .chunks_exact(row_bytes)
            .zip(self.scratch.chunks_exact_mut(stride))
        {
            match header.format {
                PixelFormat::Rgb8 => {
                    for (s, d) in src.chunks_exact(3).zip(dst.chunks_exact_mut(3)) {
                        d[0] = s[2];
                        d[1] = s[1];
                        d[2] = s[0];
                    }
                }
                PixelFormat::Gray8 | PixelFormat::Bw1 => dst[..row_bytes].copy_from_slice(src),
            }
        }
        out.write_all(&self.scratch)
    }

    fn end(
        &mut self,
        out: &mut Sink,
        header: &PageHeader,
        height: u32,
        start: u64,
    ) -> io::Result<()> {
        self.scratch = Vec::new();
        if header.height.is_none() {
            let (image_size, file_size) = sizes(header, height)?;
            out.patch(start + FILE_SIZE_AT, &file_size.to_le_bytes())?;
            out.patch(start + HEIGHT_AT, &top_down(height)?.to_le_bytes())?;
            out.patch(start + IMAGE_SIZE_AT, &image_size.to_le_bytes())?;
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.scratch = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SharedDest, encode_whole, pattern_page};

    fn le32(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    #[test]
    fn unknown_height_is_patched_top_down() {
        let page = pattern_page(PixelFormat::Rgb8, 5, 7, 300);
        let dest = SharedDest::default();
        let enc = BmpEncoder::new(EncodeOptions::default(), Box::new(dest.clone())).expect("enc");
        encode_whole(Box::new(enc), &page, false, &[2, 3]);
        let bytes = dest.bytes();
        assert_eq!(le32(&bytes, 2) as usize, bytes.len());
        assert_eq!(le32(&bytes, 22) as i32, -7);
        assert_eq!(le32(&bytes, 34), 16 * 7, "rows of 15 bytes padded to 16");
        assert_eq!(le32(&bytes, 38), 11811);
        // First pixel stored blue, green, red.
        assert_eq!(&bytes[54..57], &[page.data[2], page.data[1], page.data[0]]);
    }

    #[test]
    fn black_and_white_keeps_its_bits_with_a_white_black_palette() {
        let page = pattern_page(PixelFormat::Bw1, 12, 3, 600);
        let dest = SharedDest::default();
        let enc = BmpEncoder::new(EncodeOptions::default(), Box::new(dest.clone())).expect("enc");
        encode_whole(Box::new(enc), &page, true, &[1]);
        let bytes = dest.bytes();
        assert_eq!(u16::from_le_bytes([bytes[28], bytes[29]]), 1);
        assert_eq!(&bytes[54..62], &[255, 255, 255, 0, 0, 0, 0, 0]);
        assert_eq!(&bytes[62..64], &page.data[..2]);
        assert_eq!(bytes.len(), 62 + 4 * 3);
    }
}
