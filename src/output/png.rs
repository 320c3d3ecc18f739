//! PNG pages: 8-bit RGB, 8-bit gray, and 1-bit gray for black-and-white
//! (bits inverted: PNG's 0 is black, the raster's 1 is). The resolution is
//! recorded in a `pHYs` chunk (pixels per metre).
//!
//! With a known page height the rows are compressed and written as they
//! arrive (the `png` crate's streaming writer), so the file grows with the
//! page. With an unknown height the PNG header cannot be written before the
//! last row, so the one page is kept in memory and encoded at `end_page`.
//! This module does not decode PNG.

use super::common::{RowWriter, SinglePage, Sink, forward_page_encoder, invert_into};
use super::{EncodeOptions, FileFormat};
use crate::raster::{PageHeader, PixelFormat};
use crate::stream::Destination;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

/// Writes one page as a PNG file (or copies a PNG the device encoded).
pub struct PngEncoder {
    inner: SinglePage<PngRows>,
}

impl PngEncoder {
    /// Creates an encoder writing one PNG page into `dest`.
    pub fn new(_options: EncodeOptions, dest: Box<dyn Destination>) -> io::Result<PngEncoder> {
        Ok(PngEncoder {
            inner: SinglePage::new(PngRows::default(), dest)?,
        })
    }
}

forward_page_encoder!(PngEncoder, inner);

/// Compressed bytes the PNG writer produced and the destination has not yet
/// received. The writer owns one handle, the encoder the other, and moves
/// the bytes on after every band, so destination errors keep their kind.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Pending {
    /// Writes everything pending to `out`.
    fn drain_to(&self, out: &mut Sink) -> io::Result<()> {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !bytes.is_empty() {
            out.write_all(&bytes)?;
            bytes.clear();
        }
        Ok(())
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The PNG half of the single-page shell.
#[derive(Default)]
struct PngRows {
    /// The streaming writer, when the height was known at `begin`.
    stream: Option<png::StreamWriter<'static, Pending>>,
    /// Bytes the stream produced, on their way to the destination.
    pending: Pending,
    /// The page's rows in PNG layout, when the height is unknown.
    buffered: Vec<u8>,
    /// One converted row (1-bit pages are inverted).
    scratch: Vec<u8>,
}

/// Maps a `png` error to an I/O error.
fn png_error(err: png::EncodingError) -> io::Error {
    match err {
        png::EncodingError::IoError(err) => err,
        png::EncodingError::LimitsExceeded => {
            io::Error::new(io::ErrorKind::InvalidInput, "page too large for PNG")
        }
        other => io::Error::other(format!("PNG encoder: {other}")),
    }
}

/// Opens a PNG stream of `width` x `height` for pages like `header`.
fn open_stream(
    header: &PageHeader,
    height: u32,
    pending: &Pending,
) -> io::Result<png::StreamWriter<'static, Pending>> {
    let mut encoder = png::Encoder::new(pending.clone(), header.width, height);
    let (color, depth) = match header.format {
        PixelFormat::Rgb8 => (png::ColorType::Rgb, png::BitDepth::Eight),
        PixelFormat::Gray8 => (png::ColorType::Grayscale, png::BitDepth::Eight),
        PixelFormat::Bw1 => (png::ColorType::Grayscale, png::BitDepth::One),
    };
    encoder.set_color(color);
    encoder.set_depth(depth);
    encoder.set_compression(png::Compression::Fast);
    if header.dpi_x > 0 && header.dpi_y > 0 {
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: super::common::pixels_per_metre(header.dpi_x),
            yppu: super::common::pixels_per_metre(header.dpi_y),
            unit: png::Unit::Meter,
        }));
    }
    let writer = encoder.write_header().map_err(png_error)?;
    writer.into_stream_writer().map_err(png_error)
}

impl PngRows {
    /// Converts `data` to PNG's sample layout (1-bit inverted), in
    /// `scratch`, or borrows it unchanged.
    fn png_rows<'a>(scratch: &'a mut Vec<u8>, header: &PageHeader, data: &'a [u8]) -> &'a [u8] {
        match header.format {
            PixelFormat::Rgb8 | PixelFormat::Gray8 => data,
            PixelFormat::Bw1 => {
                scratch.clear();
                invert_into(data, scratch);
                scratch
            }
        }
    }
}

impl RowWriter for PngRows {
    const FORMAT: FileFormat = FileFormat::Png;

    fn begin(&mut self, out: &mut Sink, header: &PageHeader) -> io::Result<()> {
        self.reset();
        if let Some(height) = header.height {
            self.stream = Some(open_stream(header, height, &self.pending)?);
            self.pending.drain_to(out)?;
        }
        Ok(())
    }

    fn rows(
        &mut self,
        out: &mut Sink,
        header: &PageHeader,
        data: &[u8],
        _rows: u32,
    ) -> io::Result<()> {
        let rows = Self::png_rows(&mut self.scratch, header, data);
        match &mut self.stream {
            Some(stream) => {
                stream.write_all(rows)?;
                self.pending.drain_to(out)
            }
            None => {
                self.buffered.extend_from_slice(rows);
                Ok(())
            }
        }
    }

    fn end(
        &mut self,
        out: &mut Sink,
        header: &PageHeader,
        height: u32,
        _start: u64,
    ) -> io::Result<()> {
        let stream = match self.stream.take() {
            Some(stream) => stream,
            None => {
                let mut stream = open_stream(header, height, &self.pending)?;
                stream.write_all(&self.buffered)?;
                self.buffered = Vec::new();
                stream
            }
        };
        stream.finish().map_err(png_error)?;
        self.pending.drain_to(out)
    }

    fn reset(&mut self) {
        // Dropping an unfinished stream writes its tail into `pending`,
        // which is cleared right after: nothing reaches the destination.
        self.stream = None;
        self.pending
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.buffered = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::PageEncoder;
    use crate::testing::{SharedDest, encode_whole, pattern_page};

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>, Option<png::PixelDimensions>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("png header");
        let dims = reader.info().pixel_dims;
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("png data");
        buf.truncate(info.buffer_size());
        (info, buf, dims)
    }

    #[test]
    fn black_and_white_is_one_bit_gray_with_png_polarity() {
        for known in [true, false] {
            let page = pattern_page(PixelFormat::Bw1, 13, 6, 200);
            let dest = SharedDest::default();
            let enc =
                PngEncoder::new(EncodeOptions::default(), Box::new(dest.clone())).expect("encoder");
            encode_whole(Box::new(enc), &page, known, &[4, 1, 3]);
            let (info, rows, dims) = decode(&dest.bytes());
            assert_eq!(info.bit_depth, png::BitDepth::One);
            assert_eq!(info.color_type, png::ColorType::Grayscale);
            let inverted: Vec<u8> = page.data.iter().map(|b| !b).collect();
            // Compare the meaningful bits only (padding is free).
            for (y, (got, want)) in rows
                .chunks_exact(2)
                .zip(inverted.chunks_exact(2))
                .enumerate()
            {
                assert_eq!(got[0], want[0], "row {y}");
                assert_eq!(got[1] & 0xf8, want[1] & 0xf8, "row {y}");
            }
            let dims = dims.expect("pHYs");
            assert_eq!((dims.xppu, dims.unit), (7874, png::Unit::Meter));
        }
    }

    #[test]
    fn known_height_streams_rows_before_the_page_ends() {
        let page = pattern_page(PixelFormat::Rgb8, 400, 300, 300);
        let dest = SharedDest::default();
        let mut enc =
            PngEncoder::new(EncodeOptions::default(), Box::new(dest.clone())).expect("encoder");
        enc.begin_page(&page.header).expect("begin");
        for band in page.bands(50).take(4) {
            enc.write_band(&band).expect("band");
        }
        assert!(
            dest.bytes().len() > 1000,
            "compressed rows reach the stream while the page arrives"
        );
    }

    #[test]
    fn abandoned_page_leaves_the_stream_as_it_was() {
        let page = pattern_page(PixelFormat::Gray8, 64, 64, 300);
        let dest = SharedDest::default();
        let mut enc =
            PngEncoder::new(EncodeOptions::default(), Box::new(dest.clone())).expect("encoder");
        enc.begin_page(&page.header).expect("begin");
        for band in page.bands(10).take(3) {
            enc.write_band(&band).expect("band");
        }
        enc.abandon_page().expect("abandon");
        assert!(dest.bytes().is_empty());
        assert_eq!(enc.pages(), 0);
        assert!(enc.finish().is_err(), "no page");
    }
}
