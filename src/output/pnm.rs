//! Portable anymap pages in binary form: P6 (PPM) for colour, P5 (PGM) for
//! gray, P4 (PBM) for black-and-white (PBM's 1 = black matches the
//! raster, so its bits are stored as they are). PNM has no place for the
//! resolution.
//!
//! Rows are written as they arrive. When the height is unknown the header
//! holds a fixed-width height field (right-aligned, padded with spaces,
//! which PNM treats as separators) patched at `end_page`. This module does
//! not decode PNM.

use super::common::{RowWriter, SinglePage, Sink, forward_page_encoder};
use super::{EncodeOptions, FileFormat};
use crate::raster::{PageHeader, PixelFormat};
use crate::stream::Destination;
use std::io::{self, Write};

/// Width of the height field reserved when the height is unknown: enough
/// for any `u32`.
const HEIGHT_FIELD: usize = 10;

/// Writes one page as a PBM, PGM or PPM file (or copies a PNM the device
/// encoded).
pub struct PnmEncoder {
    inner: SinglePage<PnmRows>,
}

impl PnmEncoder {
    /// Creates an encoder writing one PNM page into `dest`.
    pub fn new(_options: EncodeOptions, dest: Box<dyn Destination>) -> io::Result<PnmEncoder> {
        Ok(PnmEncoder {
            inner: SinglePage::new(PnmRows::default(), dest)?,
        })
    }
}

forward_page_encoder!(PnmEncoder, inner);

/// The PNM half of the single-page shell.
#[derive(Default)]
struct PnmRows {
    /// Offset of the height field from the start of the page.
    height_at: u64,
}

impl RowWriter for PnmRows {
    const FORMAT: FileFormat = FileFormat::Pnm;

    fn begin(&mut self, out: &mut Sink, header: &PageHeader) -> io::Result<()> {
        let (magic, maxval) = match header.format {
            PixelFormat::Rgb8 => ("P6", "255\n"),
            PixelFormat::Gray8 => ("P5", "255\n"),
            PixelFormat::Bw1 => ("P4", ""),
        };
        let before_height = format!("{magic}\n{} ", header.width);
        self.height_at = before_height.len() as u64;
        let height = match header.height {
            Some(height) => height.to_string(),
            None => format!("{:>HEIGHT_FIELD$}", 0),
        };
        out.write_all(format!("{before_height}{height}\n{maxval}").as_bytes())
    }

    fn rows(
        &mut self,
        out: &mut Sink,
        _header: &PageHeader,
        data: &[u8],
        _rows: u32,
    ) -> io::Result<()> {
        out.write_all(data)
    }

    fn end(
        &mut self,
        out: &mut Sink,
        header: &PageHeader,
        height: u32,
        start: u64,
    ) -> io::Result<()> {
        if header.height.is_none() {
            let field = format!("{height:>HEIGHT_FIELD$}");
            out.patch(start + self.height_at, field.as_bytes())?;
        }
        Ok(())
    }

    fn reset(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SharedDest, encode_whole, pattern_page};

    #[test]
    fn headers_for_known_and_unknown_heights() {
        let page = pattern_page(PixelFormat::Gray8, 3, 2, 300);
        let dest = SharedDest::default();
        let enc = PnmEncoder::new(EncodeOptions::default(), Box::new(dest.clone())).expect("enc");
        encode_whole(Box::new(enc), &page, true, &[1]);
        let bytes = dest.bytes();
        assert_eq!(&bytes[..11], b"P5\n3 2\n255\n");
        assert_eq!(&bytes[11..], &page.data[..]);

        let page = pattern_page(PixelFormat::Bw1, 9, 4, 300);
        let dest = SharedDest::default();
        let enc = PnmEncoder::new(EncodeOptions::default(), Box::new(dest.clone())).expect("enc");
        encode_whole(Box::new(enc), &page, false, &[3]);
        let bytes = dest.bytes();
        assert_eq!(&bytes[..16], b"P4\n9          4\n");
        assert_eq!(&bytes[16..], &page.data[..]);
    }
}
