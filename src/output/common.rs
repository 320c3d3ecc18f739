//! Pieces shared by the encoders: a position-tracking sink over the
//! destination, page-order bookkeeping, band validation, and the shell that
//! turns a single-page row writer (PNG, JPEG, BMP, PNM) into a
//! [`PageEncoder`].
//!
//! Nothing here knows a file format; the format files plug into
//! [`RowWriter`].

use super::{FileFormat, PageEncoder};
use crate::raster::{Band, PageHeader, PixelFormat};
use crate::stream::Destination;
use std::io::{self, Seek, SeekFrom, Write};

/// An `InvalidInput` error with `message`.
pub(crate) fn invalid_input(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.into())
}

/// An `InvalidData` error with `message` (malformed encoded input).
pub(crate) fn invalid_data(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// The error for a call made out of the documented order.
pub(crate) fn out_of_order(call: &str, state: &str) -> io::Error {
    invalid_input(format!("{call} called {state}"))
}

/// Resolution in pixels per metre (0 stays 0: unknown).
pub(crate) fn pixels_per_metre(dpi: u32) -> u32 {
    // 1 inch = 0.0254 m; round to the nearest whole pixel per metre.
    ((f64::from(dpi) / 0.0254) + 0.5) as u32
}

/// Inverts every bit of `row` into `out` (1 = black becomes 0 = black).
pub(crate) fn invert_into(row: &[u8], out: &mut Vec<u8>) {
    out.extend(row.iter().map(|b| !b));
}

/// Checks what every encoder needs of a page header.
pub(crate) fn check_header(header: &PageHeader) -> io::Result<()> {
    if header.width == 0 {
        return Err(invalid_input("page width is 0"));
    }
    if header.height == Some(0) {
        return Err(invalid_input("page height is 0"));
    }
    let bytes_per_row = header.row_bytes() as u64;
    if let Some(height) = header.height {
        // Refuse sizes whose byte count does not even fit the address space.
        bytes_per_row
            .checked_mul(u64::from(height))
            .and_then(|total| usize::try_from(total).ok())
            .ok_or_else(|| invalid_input("page is too large"))?;
    }
    Ok(())
}

/// The destination plus the current stream position, tracked locally so
/// that encoders never have to ask the stream (a buffered file would flush
/// on every `stream_position`).
pub(crate) struct Sink {
    /// The destination written to.
    pub(crate) dest: Box<dyn Destination>,
    /// Absolute position of the next byte written.
    pos: u64,
}

impl Sink {
    /// Wraps `dest`, starting at its current position.
    pub(crate) fn new(mut dest: Box<dyn Destination>) -> io::Result<Sink> {
        let pos = dest.stream_position()?;
        Ok(Sink { dest, pos })
    }

    /// Absolute position of the next byte written.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Overwrites `bytes` at absolute `offset` and returns to the end of
    /// what was written so far.
    pub(crate) fn patch(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.dest.seek(SeekFrom::Start(offset))?;
        self.dest.write_all(bytes)?;
        self.dest.seek(SeekFrom::Start(self.pos))?;
        Ok(())
    }

    /// Cuts the stream back to `offset` and continues writing there.
    pub(crate) fn truncate_to(&mut self, offset: u64) -> io::Result<()> {
        self.dest.set_len(offset)?;
        self.dest.seek(SeekFrom::Start(offset))?;
        self.pos = offset;
        Ok(())
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.dest.write(buf)?;
        self.pos += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.dest.flush()
    }
}

/// Rows of the page in progress: checks every band against the header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowProgress {
    /// The header the page began with.
    pub(crate) header: PageHeader,
    /// Rows received so far.
    pub(crate) rows_done: u32,
}

impl RowProgress {
    /// Starts counting the rows of a page described by `header`.
    pub(crate) fn new(header: PageHeader) -> RowProgress {
        RowProgress {
            header,
            rows_done: 0,
        }
    }

    /// Checks that `band` continues the page and fits it, and counts it.
    pub(crate) fn accept(&mut self, band: &Band) -> io::Result<()> {
        if band.first_row != self.rows_done {
            return Err(invalid_input(format!(
                "band starts at row {} but row {} was expected",
                band.first_row, self.rows_done
            )));
        }
        let expected = (band.rows as usize)
            .checked_mul(self.header.row_bytes())
            .ok_or_else(|| invalid_input("band is too large"))?;
        if band.data.len() != expected {
            return Err(invalid_input(format!(
                "band of {} rows holds {} bytes, {} expected",
                band.rows,
                band.data.len(),
                expected
            )));
        }
        let after = self
            .rows_done
            .checked_add(band.rows)
            .ok_or_else(|| invalid_input("page has too many rows"))?;
        if let Some(height) = self.header.height
            && after > height
        {
            return Err(invalid_input(format!(
                "band ends at row {after}, past the page height {height}"
            )));
        }
        self.rows_done = after;
        Ok(())
    }

    /// The final height of a page that ends now, or an error when rows are
    /// missing.
    pub(crate) fn finished_height(&self) -> io::Result<u32> {
        if self.rows_done == 0 {
            return Err(invalid_input("page ended without any rows"));
        }
        match self.header.height {
            Some(height) if height != self.rows_done => Err(invalid_input(format!(
                "page ended after {} of {} rows",
                self.rows_done, height
            ))),
            _ => Ok(self.rows_done),
        }
    }
}

/// The format-specific half of a single-page encoder: it receives the
/// validated rows of one page and writes them to the sink.
pub(crate) trait RowWriter: Send {
    /// The format written (and the only encoded format accepted as is).
    const FORMAT: FileFormat;

    /// Starts a page (the header has been checked by [`check_header`]).
    fn begin(&mut self, out: &mut Sink, header: &PageHeader) -> io::Result<()>;

    /// Writes `rows` rows (`data` holds exactly those rows).
    fn rows(
        &mut self,
        out: &mut Sink,
        header: &PageHeader,
        data: &[u8],
        rows: u32,
    ) -> io::Result<()>;

    /// Completes the page, now known to be `height` rows tall; the page
    /// began at absolute offset `start`.
    fn end(
        &mut self,
        out: &mut Sink,
        header: &PageHeader,
        height: u32,
        start: u64,
    ) -> io::Result<()>;

    /// Forgets the page in progress (the shell restores the stream).
    fn reset(&mut self);
}

/// Where a single-page encoder stands.
enum Stage {
    /// No page yet (or the last one was abandoned).
    Ready,
    /// Raw rows of a page are arriving.
    Raw(RowProgress),
    /// An already encoded page is being copied.
    Encoded,
    /// The page is complete.
    Done,
    /// `finish` has run.
    Finished,
}

/// Drives a [`RowWriter`] with the [`PageEncoder`] call order: one page,
/// raw or passed through in the writer's own format.
pub(crate) struct SinglePage<W: RowWriter> {
    sink: Sink,
    writer: W,
    stage: Stage,
    page_start: u64,
}

impl<W: RowWriter> SinglePage<W> {
    /// Creates the shell writing to `dest` from its current position.
    pub(crate) fn new(writer: W, dest: Box<dyn Destination>) -> io::Result<SinglePage<W>> {
        Ok(SinglePage {
            sink: Sink::new(dest)?,
            writer,
            stage: Stage::Ready,
            page_start: 0,
        })
    }

    fn expect_ready(&self, call: &str) -> io::Result<()> {
        match self.stage {
            Stage::Ready => Ok(()),
            Stage::Raw(_) | Stage::Encoded => Err(out_of_order(call, "while a page is open")),
            Stage::Done => Err(out_of_order(
                call,
                "after the page: a single-page stream takes one page",
            )),
            Stage::Finished => Err(out_of_order(call, "after finish")),
        }
    }
}

impl<W: RowWriter> PageEncoder for SinglePage<W> {
    fn begin_page(&mut self, header: &PageHeader) -> io::Result<()> {
        self.expect_ready("begin_page")?;
        check_header(header)?;
        self.page_start = self.sink.pos();
        // The page counts as open from here on, so that a failed header
        // write is undone by `abandon_page`.
        self.stage = Stage::Raw(RowProgress::new(*header));
        self.writer.begin(&mut self.sink, header)
    }

    fn write_band(&mut self, band: &Band) -> io::Result<()> {
        let Stage::Raw(progress) = &mut self.stage else {
            return Err(out_of_order("write_band", "without a raw page open"));
        };
        progress.accept(band)?;
        let header = progress.header;
        self.writer
            .rows(&mut self.sink, &header, &band.data, band.rows)
    }

    fn accepts_encoded(&self, format: FileFormat) -> bool {
        format == W::FORMAT
    }

    fn begin_encoded(
        &mut self,
        format: FileFormat,
        _header: Option<&PageHeader>,
    ) -> io::Result<()> {
        self.expect_ready("begin_encoded")?;
        if format != W::FORMAT {
            return Err(invalid_input(format!(
                "a {} stream cannot take an encoded {} page",
                W::FORMAT.name(),
                format.name()
            )));
        }
        self.page_start = self.sink.pos();
        self.stage = Stage::Encoded;
        Ok(())
    }

    fn write_encoded(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.stage {
            Stage::Encoded => self.sink.write_all(bytes),
            _ => Err(out_of_order(
                "write_encoded",
                "without an encoded page open",
            )),
        }
    }

    fn end_page(&mut self) -> io::Result<()> {
        match &self.stage {
            Stage::Raw(progress) => {
                let height = progress.finished_height()?;
                let header = progress.header;
                self.writer
                    .end(&mut self.sink, &header, height, self.page_start)?;
            }
            Stage::Encoded => {
                if self.sink.pos() == self.page_start {
                    return Err(invalid_input("encoded page ended without any bytes"));
                }
            }
            _ => return Err(out_of_order("end_page", "without a page open")),
        }
        self.sink.flush()?;
        self.stage = Stage::Done;
        Ok(())
    }

    fn abandon_page(&mut self) -> io::Result<()> {
        match self.stage {
            Stage::Raw(_) | Stage::Encoded => {
                self.writer.reset();
                self.stage = Stage::Ready;
                self.sink.truncate_to(self.page_start)
            }
            // Nothing open: nothing to undo.
            _ => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.stage {
            Stage::Done => {
                self.sink.flush()?;
                self.stage = Stage::Finished;
                Ok(())
            }
            Stage::Finished => Ok(()),
            Stage::Ready => Err(invalid_input(format!(
                "no page was written to the {} stream",
                W::FORMAT.name()
            ))),
            Stage::Raw(_) | Stage::Encoded => Err(out_of_order("finish", "while a page is open")),
        }
    }

    fn pages(&self) -> u32 {
        u32::from(matches!(self.stage, Stage::Done | Stage::Finished))
    }

    fn destination(&mut self) -> &mut dyn Destination {
        &mut *self.sink.dest
    }

    fn into_destination(self: Box<Self>) -> Box<dyn Destination> {
        self.sink.dest
    }
}

/// Implements [`PageEncoder`] for a public wrapper type by forwarding to
/// the field `$field` (itself a `PageEncoder`).
macro_rules! forward_page_encoder {
    ($ty:ty, $field:ident) => {
        impl $crate::stream::PageEncoder for $ty {
            fn begin_page(&mut self, header: &$crate::raster::PageHeader) -> ::std::io::Result<()> {
                self.$field.begin_page(header)
            }
            fn write_band(&mut self, band: &$crate::raster::Band) -> ::std::io::Result<()> {
                self.$field.write_band(band)
            }
            fn accepts_encoded(&self, format: $crate::stream::FileFormat) -> bool {
                self.$field.accepts_encoded(format)
            }
            fn begin_encoded(
                &mut self,
                format: $crate::stream::FileFormat,
                header: Option<&$crate::raster::PageHeader>,
            ) -> ::std::io::Result<()> {
                self.$field.begin_encoded(format, header)
            }
            fn write_encoded(&mut self, bytes: &[u8]) -> ::std::io::Result<()> {
                self.$field.write_encoded(bytes)
            }
            fn end_page(&mut self) -> ::std::io::Result<()> {
                self.$field.end_page()
            }
            fn abandon_page(&mut self) -> ::std::io::Result<()> {
                self.$field.abandon_page()
            }
            fn finish(&mut self) -> ::std::io::Result<()> {
                self.$field.finish()
            }
            fn pages(&self) -> u32 {
                self.$field.pages()
            }
            fn destination(&mut self) -> &mut dyn $crate::stream::Destination {
                self.$field.destination()
            }
            fn into_destination(self: Box<Self>) -> Box<dyn $crate::stream::Destination> {
                Box::new(self.$field).into_destination()
            }
        }
    };
}
pub(crate) use forward_page_encoder;

/// Expands one row of 1-bit pixels (1 = black) to 8-bit gray (0 = black)
/// and appends it to `out`.
pub(crate) fn expand_bw_row(row: &[u8], width: usize, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + width, 0);
    let dst = &mut out[start..];
    for (chunk, &byte) in dst.chunks_mut(8).zip(row) {
        for (bit, px) in chunk.iter_mut().enumerate() {
            *px = if byte & (0x80 >> bit) != 0 { 0 } else { 255 };
        }
    }
}

/// Appends `rows` rows of `data` to `out` converted for an encoder that
/// only takes 8-bit samples (1-bit rows become gray; others are copied).
pub(crate) fn append_as_8bit(header: &PageHeader, data: &[u8], out: &mut Vec<u8>) {
    match header.format {
        PixelFormat::Rgb8 | PixelFormat::Gray8 => out.extend_from_slice(data),
        PixelFormat::Bw1 => {
            let width = header.width as usize;
            for row in data.chunks_exact(header.row_bytes().max(1)) {
                expand_bw_row(row, width, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::PixelFormat;

    fn header(height: Option<u32>) -> PageHeader {
        PageHeader {
            width: 10,
            height,
            format: PixelFormat::Gray8,
            dpi_x: 300,
            dpi_y: 300,
        }
    }

    fn band(first_row: u32, rows: u32) -> Band {
        Band {
            first_row,
            rows,
            data: vec![0; rows as usize * 10],
        }
    }

    #[test]
    fn progress_rejects_gaps_overruns_and_short_bands() {
        let mut progress = RowProgress::new(header(Some(5)));
        progress.accept(&band(0, 2)).expect("first band");
        assert!(progress.accept(&band(3, 1)).is_err(), "gap");
        let mut short = band(2, 2);
        short.data.pop();
        assert!(progress.accept(&short).is_err(), "short data");
        assert!(progress.accept(&band(2, 4)).is_err(), "past the height");
        assert!(progress.finished_height().is_err(), "rows missing");
        progress.accept(&band(2, 3)).expect("last band");
        assert_eq!(progress.finished_height().expect("complete"), 5);
    }

    #[test]
    fn progress_with_unknown_height_takes_what_comes() {
        let mut progress = RowProgress::new(header(None));
        assert!(progress.finished_height().is_err(), "no rows");
        progress.accept(&band(0, 7)).expect("band");
        assert_eq!(progress.finished_height().expect("complete"), 7);
    }

    #[test]
    fn bw_rows_expand_with_one_meaning_black() {
        let mut out = Vec::new();
        expand_bw_row(&[0b1010_0000, 0b1000_0000], 9, &mut out);
        assert_eq!(out, vec![0, 255, 0, 255, 255, 255, 255, 255, 0]);
    }

    #[test]
    fn pixels_per_metre_rounds() {
        assert_eq!(pixels_per_metre(300), 11811);
        assert_eq!(pixels_per_metre(72), 2835);
        assert_eq!(pixels_per_metre(0), 0);
    }

    #[test]
    fn headers_with_zero_size_are_refused() {
        let mut h = header(Some(0));
        assert!(check_header(&h).is_err());
        h.height = Some(1);
        h.width = 0;
        assert!(check_header(&h).is_err());
    }
}
