//! Raster model shared by every layer: pixel formats, page headers and bands.
//!
//! A device delivers a page either as raw rows (a [`PageHeader`] followed by
//! [`Band`]s) or as an already encoded image. This module only describes raw
//! rows; it does no I/O and knows nothing about files or devices.

pub mod geometry;
pub(crate) mod resample;
pub mod shrink;

use serde::{Deserialize, Serialize};

/// How one pixel is stored in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PixelFormat {
    /// 8-bit red, green, blue, interleaved (3 bytes per pixel).
    Rgb8,
    /// 8-bit gray, 0 = black, 255 = white.
    Gray8,
    /// 1 bit per pixel, most significant bit first, **1 = black** (as in
    /// TIFF's WhiteIsZero / PBM). Rows are padded to whole bytes.
    Bw1,
}

impl PixelFormat {
    /// Bytes one row of `width` pixels takes, padding included.
    pub fn row_bytes(self, width: u32) -> usize {
        let w = width as usize;
        match self {
            PixelFormat::Rgb8 => w * 3,
            PixelFormat::Gray8 => w,
            PixelFormat::Bw1 => w.div_ceil(8),
        }
    }

    /// Number of colour channels (1 for gray and black-and-white).
    pub fn channels(self) -> u8 {
        match self {
            PixelFormat::Rgb8 => 3,
            PixelFormat::Gray8 | PixelFormat::Bw1 => 1,
        }
    }

    /// Bits per channel sample.
    pub fn bits_per_sample(self) -> u8 {
        match self {
            PixelFormat::Rgb8 | PixelFormat::Gray8 => 8,
            PixelFormat::Bw1 => 1,
        }
    }
}

/// Describes the rows of one page that follow it.
///
/// `height` is `None` when the device does not know the page length in
/// advance (a feeder with automatic length detection, SANE's `lines = -1`);
/// writers then reserve their header and patch it when the page ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageHeader {
    /// Pixels per row.
    pub width: u32,
    /// Rows in the page, when known before the first row.
    pub height: Option<u32>,
    /// Pixel layout of every row.
    pub format: PixelFormat,
    /// Horizontal resolution in dots per inch.
    pub dpi_x: u32,
    /// Vertical resolution in dots per inch.
    pub dpi_y: u32,
}

impl PageHeader {
    /// Bytes of one row of this page.
    pub fn row_bytes(&self) -> usize {
        self.format.row_bytes(self.width)
    }

    /// Physical width in millimetres (0 when the resolution is 0).
    pub fn width_mm(&self) -> f64 {
        mm(self.width, self.dpi_x)
    }

    /// Physical height in millimetres, when the height is known.
    pub fn height_mm(&self) -> Option<f64> {
        self.height.map(|h| mm(h, self.dpi_y))
    }
}

fn mm(pixels: u32, dpi: u32) -> f64 {
    if dpi == 0 {
        0.0
    } else {
        f64::from(pixels) * 25.4 / f64::from(dpi)
    }
}

/// A run of consecutive rows of one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    /// Index of the first row of this band within its page (0-based).
    pub first_row: u32,
    /// Number of rows in `data`.
    pub rows: u32,
    /// `rows * header.row_bytes()` bytes, row after row.
    pub data: Vec<u8>,
}

impl Band {
    /// Iterates over the rows of this band, given the page's row length.
    pub fn row_iter(&self, row_bytes: usize) -> impl Iterator<Item = &[u8]> {
        self.data.chunks_exact(row_bytes.max(1))
    }
}

/// A whole page held in memory: header (with a known height) plus all rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Page header; `height` is always `Some`.
    pub header: PageHeader,
    /// All rows, `height * header.row_bytes()` bytes.
    pub data: Vec<u8>,
}

impl Page {
    /// Creates a blank page filled with `fill` bytes.
    pub fn filled(width: u32, height: u32, format: PixelFormat, dpi: u32, fill: u8) -> Page {
        let header = PageHeader {
            width,
            height: Some(height),
            format,
            dpi_x: dpi,
            dpi_y: dpi,
        };
        let data = vec![fill; header.row_bytes() * height as usize];
        Page { header, data }
    }

    /// Number of rows.
    pub fn height(&self) -> u32 {
        self.header.height.unwrap_or(0)
    }

    /// The bytes of row `y`.
    pub fn row(&self, y: u32) -> &[u8] {
        let rb = self.header.row_bytes();
        let start = y as usize * rb;
        &self.data[start..start + rb]
    }

    /// Splits the page into bands of at most `rows_per_band` rows.
    pub fn bands(&self, rows_per_band: u32) -> impl Iterator<Item = Band> + '_ {
        let rb = self.header.row_bytes();
        let step = rows_per_band.max(1);
        let h = self.height();
        (0..h).step_by(step as usize).map(move |first| {
            let rows = step.min(h - first);
            let start = first as usize * rb;
            Band {
                first_row: first,
                rows,
                data: self.data[start..start + rows as usize * rb].to_vec(),
            }
        })
    }

    /// Converts to an 8-bit gray copy (black-and-white becomes 0/255).
    pub fn to_gray(&self) -> Page {
        let w = self.header.width as usize;
        let h = self.height() as usize;
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            let row = self.row(y as u32);
            gray_row(self.header.format, row, w, &mut out);
        }
        Page {
            header: PageHeader {
                format: PixelFormat::Gray8,
                ..self.header
            },
            data: out,
        }
    }
}

/// Appends one row converted to 8-bit gray (`width` bytes) to `out`.
pub fn gray_row(format: PixelFormat, row: &[u8], width: usize, out: &mut Vec<u8>) {
    match format {
        PixelFormat::Gray8 => out.extend_from_slice(&row[..width]),
        PixelFormat::Rgb8 => out.extend(
            row.chunks_exact(3)
                .take(width)
                .map(|p| luma([p[0], p[1], p[2]])),
        ),
        PixelFormat::Bw1 => out.extend((0..width).map(|x| {
            if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                0
            } else {
                255
            }
        })),
    }
}

/// Appends one row converted to 8-bit RGB (`width * 3` bytes) to `out`.
pub fn rgb_row(format: PixelFormat, row: &[u8], width: usize, out: &mut Vec<u8>) {
    match format {
        PixelFormat::Rgb8 => out.extend_from_slice(&row[..width * 3]),
        PixelFormat::Gray8 => {
            for &g in &row[..width] {
                out.extend_from_slice(&[g, g, g]);
            }
        }
        PixelFormat::Bw1 => {
            for x in 0..width {
                let v = if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                    0
                } else {
                    255
                };
                out.extend_from_slice(&[v, v, v]);
            }
        }
    }
}

/// Luma of an sRGB colour with the weights the rest of the crate uses.
pub fn luma(rgb: [u8; 3]) -> u8 {
    ((u32::from(rgb[0]) * 299 + u32::from(rgb[1]) * 587 + u32::from(rgb[2]) * 114) / 1000) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_bytes_pad_black_and_white_to_whole_bytes() {
        assert_eq!(PixelFormat::Bw1.row_bytes(9), 2);
        assert_eq!(PixelFormat::Bw1.row_bytes(8), 1);
        assert_eq!(PixelFormat::Rgb8.row_bytes(10), 30);
        assert_eq!(PixelFormat::Gray8.row_bytes(10), 10);
    }

    #[test]
    fn bands_cover_every_row_once() {
        let mut page = Page::filled(4, 10, PixelFormat::Gray8, 100, 0);
        for (i, b) in page.data.iter_mut().enumerate() {
            *b = (i / 4) as u8;
        }
        let bands: Vec<Band> = page.bands(3).collect();
        assert_eq!(bands.len(), 4);
        assert_eq!(bands[3].rows, 1);
        let joined: Vec<u8> = bands.iter().flat_map(|b| b.data.clone()).collect();
        assert_eq!(joined, page.data);
    }

    #[test]
    fn black_and_white_converts_with_one_meaning_black() {
        let mut out = Vec::new();
        gray_row(PixelFormat::Bw1, &[0b1000_0000], 2, &mut out);
        assert_eq!(out, vec![0, 255]);
    }
}
