//! TIFF pages and multipage TIFF documents, written by hand (classic
//! little-endian TIFF, so the layout can be streamed): RGB, 8-bit gray
//! (BlackIsZero) and 1-bit (WhiteIsZero, matching the raster's 1 = black),
//! Deflate-compressed strips (with the horizontal predictor for 8-bit
//! samples), and X/YResolution in dots per inch.
//!
//! A page is written as it arrives: strips go to the stream as soon as they
//! fill up, the page's IFD follows its last strip at `end_page`, and only
//! then is the previous IFD's next-IFD offset (or the header's first-IFD
//! offset) pointed at it; the last IFD's next-IFD offset stays 0. After
//! every `end_page` the stream is therefore a valid TIFF of the completed
//! pages; a multipage document is [checkpointed](Destination::checkpoint)
//! once the IFD is written and again once it is linked, so the link never
//! reaches the disk before what it points at. An abandoned page is cut off
//! and the link to it (if it was made) set back to 0, without touching the
//! completed pages. This module does not decode TIFF;
//! [`salvage`](super::salvage) walks these documents back.

use super::common::{RowProgress, Sink, check_header, invalid_input, out_of_order};
use super::{EncodeOptions, FileFormat, PageEncoder};
use crate::raster::{Band, PageHeader, PixelFormat};
use crate::stream::Destination;
use flate2::{Compress, Compression, FlushCompress, Status};
use std::io::{self, Write};

/// Raw bytes aimed at per strip.
const STRIP_BYTES: usize = 64 * 1024;
/// Deflate level of the strips: fast, scans compress well anyway.
const DEFLATE_LEVEL: u32 = 3;

/// TIFF field types used here.
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;

/// Writes pages as TIFF: one page per stream, or a multipage document.
pub struct TiffEncoder {
    sink: Sink,
    /// One page only (then a TIFF the device encoded is copied as is).
    single: bool,
    stage: Stage,
    pages: u32,
    /// Absolute position of the TIFF header (offsets count from here).
    base: u64,
    /// Whether the 8-byte header has been written.
    header_written: bool,
    /// Absolute position of the offset to point at the next IFD.
    link_at: u64,
    /// Absolute position where the page in progress began.
    page_start: u64,
    /// The Deflate compressor, reused strip after strip.
    compress: Compress,
    /// One compressed strip.
    compressed: Vec<u8>,
}

/// Where the encoder stands.
enum Stage {
    /// Between pages.
    Ready,
    /// Raw rows of a page are arriving.
    Raw(Box<RawPage>),
    /// A TIFF the device encoded is being copied (single page only).
    Encoded,
    /// `finish` has run.
    Finished,
}

/// The page in progress.
struct RawPage {
    progress: RowProgress,
    rows_per_strip: u32,
    /// Raw rows of the strip being filled.
    strip: Vec<u8>,
    strip_rows: u32,
    /// Strip offsets (from the header) and compressed sizes.
    offsets: Vec<u32>,
    counts: Vec<u32>,
}

impl TiffEncoder {
    /// An encoder writing one TIFF page into `dest`.
    pub fn single(_options: EncodeOptions, dest: Box<dyn Destination>) -> io::Result<TiffEncoder> {
        TiffEncoder::with_mode(dest, true)
    }

    /// An encoder appending pages to a multipage TIFF document in `dest`.
    pub fn document(
        _options: EncodeOptions,
        dest: Box<dyn Destination>,
    ) -> io::Result<TiffEncoder> {
        TiffEncoder::with_mode(dest, false)
    }

    fn with_mode(dest: Box<dyn Destination>, single: bool) -> io::Result<TiffEncoder> {
        let sink = Sink::new(dest)?;
        let base = sink.pos();
        Ok(TiffEncoder {
            sink,
            single,
            stage: Stage::Ready,
            pages: 0,
            base,
            header_written: false,
            link_at: base + 4,
            page_start: base,
            compress: Compress::new(Compression::new(DEFLATE_LEVEL), true),
            compressed: Vec::new(),
        })
    }

    fn expect_ready(&self, call: &str) -> io::Result<()> {
        match self.stage {
            Stage::Ready if self.single && self.pages > 0 => Err(out_of_order(
                call,
                "after the page: a single-page stream takes one page",
            )),
            Stage::Ready => Ok(()),
            Stage::Raw(_) | Stage::Encoded => Err(out_of_order(call, "while a page is open")),
            Stage::Finished => Err(out_of_order(call, "after finish")),
        }
    }

    /// An offset from the header, as TIFF stores it.
    fn offset(&self, absolute: u64) -> io::Result<u32> {
        u32::try_from(absolute - self.base)
            .map_err(|_| invalid_input("TIFF file would exceed 4 GiB"))
    }

    /// Compresses and writes the strip of `page` and records where it went.
    fn flush_strip(&mut self, page: &mut RawPage) -> io::Result<()> {
        if page.strip_rows == 0 {
            return Ok(());
        }
        let header = &page.progress.header;
        if header.format != PixelFormat::Bw1 {
            predict_horizontally(
                &mut page.strip,
                header.row_bytes(),
                usize::from(header.format.channels()),
            );
        }
        deflate(&mut self.compress, &page.strip, &mut self.compressed)?;
        let offset = self.offset(self.sink.pos())?;
        let count = u32::try_from(self.compressed.len())
            .map_err(|_| invalid_input("TIFF strip too large"))?;
        self.sink.write_all(&self.compressed)?;
        self.offset(self.sink.pos())?;
        page.offsets.push(offset);
        page.counts.push(count);
        page.strip.clear();
        page.strip_rows = 0;
        Ok(())
    }

    /// Writes the IFD of the completed `page` (`height` rows) and links it.
    fn write_ifd(&mut self, page: &RawPage, height: u32) -> io::Result<()> {
        let header = &page.progress.header;
        if self.sink.pos() % 2 == 1 {
            self.sink.write_all(&[0])?;
        }
        let ifd_at = self.sink.pos();
        let ifd_offset = self.offset(ifd_at)?;
        let mut ifd = Ifd::default();
        if !self.single {
            ifd.long(254, &[2]); // NewSubfileType: one page of a document
        }
        ifd.long(256, &[header.width]);
        ifd.long(257, &[height]);
        let spp = u16::from(header.format.channels());
        let bits = u16::from(header.format.bits_per_sample());
        ifd.short(258, &vec![bits; usize::from(spp)]);
        ifd.short(259, &[8]); // Compression: Deflate (Adobe)
        let photometric = match header.format {
            PixelFormat::Bw1 => 0, // WhiteIsZero: 1 = black
            PixelFormat::Gray8 => 1,
            PixelFormat::Rgb8 => 2,
        };
        ifd.short(262, &[photometric]);
        ifd.long(273, &page.offsets);
        ifd.short(277, &[spp]);
        ifd.long(278, &[page.rows_per_strip.min(height)]);
        ifd.long(279, &page.counts);
        let (unit, x, y) = if header.dpi_x > 0 && header.dpi_y > 0 {
            (2, header.dpi_x, header.dpi_y) // inch
        } else {
            (1, 1, 1) // no unit: square pixels
        };
        ifd.rational(282, x, 1);
        ifd.rational(283, y, 1);
        ifd.short(284, &[1]); // PlanarConfiguration: chunky
        ifd.short(296, &[unit]);
        if !self.single {
            let number = u16::try_from(self.pages).unwrap_or(u16::MAX);
            ifd.short(297, &[number, 0]); // PageNumber: total unknown
        }
        if header.format != PixelFormat::Bw1 {
            ifd.short(317, &[2]); // Predictor: horizontal differencing
        }
        let (bytes, next_at) = ifd.encode(ifd_offset)?;
        self.sink.write_all(&bytes)?;
        self.offset(self.sink.pos())?;
        if !self.single {
            // The IFD is on the disk before anything points at it.
            self.sink.dest.checkpoint(self.pages)?;
        }
        // Only now does the document reach the new page.
        self.sink.patch(self.link_at, &ifd_offset.to_le_bytes())?;
        if !self.single {
            self.sink.dest.checkpoint(self.pages + 1)?;
        }
        self.link_at = ifd_at + next_at;
        Ok(())
    }
}

/// Replaces each 8-bit sample of every row by its difference from the
/// sample of the same channel one pixel to the left (TIFF Predictor 2).
fn predict_horizontally(rows: &mut [u8], row_bytes: usize, channels: usize) {
    for row in rows.chunks_exact_mut(row_bytes.max(1)) {
        for i in (channels..row.len()).rev() {
            row[i] = row[i].wrapping_sub(row[i - channels]);
        }
    }
}

/// Compresses `input` as one zlib stream into `out` (cleared first).
fn deflate(compress: &mut Compress, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    compress.reset();
    out.clear();
    out.reserve(input.len() + input.len() / 16 + 64);
    loop {
        let consumed = compress.total_in() as usize;
        let status = compress
            .compress_vec(&input[consumed..], out, FlushCompress::Finish)
            .map_err(|err| io::Error::other(format!("Deflate: {err}")))?;
        match status {
            Status::StreamEnd => return Ok(()),
            Status::Ok | Status::BufError => out.reserve(out.capacity().max(1024)),
        }
    }
}

/// An IFD being assembled: entries, then values too large to sit inline.
#[derive(Default)]
struct Ifd {
    /// (tag, type, count, value bytes), in ascending tag order.
    entries: Vec<(u16, u16, u32, Vec<u8>)>,
}

impl Ifd {
    fn short(&mut self, tag: u16, values: &[u16]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.entries.push((tag, SHORT, values.len() as u32, bytes));
    }

    fn long(&mut self, tag: u16, values: &[u32]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.entries.push((tag, LONG, values.len() as u32, bytes));
    }

    fn rational(&mut self, tag: u16, numerator: u32, denominator: u32) {
        let mut bytes = numerator.to_le_bytes().to_vec();
        bytes.extend_from_slice(&denominator.to_le_bytes());
        self.entries.push((tag, RATIONAL, 1, bytes));
    }

    /// The IFD placed at offset `at`, followed by its out-of-line values,
    /// and where its next-IFD offset sits within the bytes.
    fn encode(&self, at: u32) -> io::Result<(Vec<u8>, u64)> {
        let count = self.entries.len();
        let next_at = 2 + 12 * count;
        let mut head = Vec::with_capacity(next_at + 4);
        let mut extra = Vec::new();
        let extra_start = (next_at + 4) as u64 + u64::from(at);
        head.extend_from_slice(&(count as u16).to_le_bytes());
        for (tag, kind, n, bytes) in &self.entries {
            head.extend_from_slice(&tag.to_le_bytes());
            head.extend_from_slice(&kind.to_le_bytes());
            head.extend_from_slice(&n.to_le_bytes());
            if bytes.len() <= 4 {
                let mut inline = [0u8; 4];
                inline[..bytes.len()].copy_from_slice(bytes);
                head.extend_from_slice(&inline);
            } else {
                if extra.len() % 2 == 1 {
                    extra.push(0);
                }
                let offset = u32::try_from(extra_start + extra.len() as u64)
                    .map_err(|_| invalid_input("TIFF file would exceed 4 GiB"))?;
                head.extend_from_slice(&offset.to_le_bytes());
                extra.extend_from_slice(bytes);
            }
        }
        head.extend_from_slice(&0u32.to_le_bytes()); // no next IFD (yet)
        u32::try_from(extra_start + extra.len() as u64)
            .map_err(|_| invalid_input("TIFF file would exceed 4 GiB"))?;
        head.extend_from_slice(&extra);
        Ok((head, next_at as u64))
    }
}

impl PageEncoder for TiffEncoder {
    fn begin_page(&mut self, header: &PageHeader) -> io::Result<()> {
        self.expect_ready("begin_page")?;
        check_header(header)?;
        self.page_start = self.sink.pos();
        let row_bytes = header.row_bytes();
        let mut rows_per_strip =
            u32::try_from((STRIP_BYTES / row_bytes).max(1)).unwrap_or(u32::MAX);
        if let Some(height) = header.height {
            rows_per_strip = rows_per_strip.min(height);
        }
        self.stage = Stage::Raw(Box::new(RawPage {
            progress: RowProgress::new(*header),
            rows_per_strip,
            strip: Vec::with_capacity(row_bytes * rows_per_strip as usize),
            strip_rows: 0,
            offsets: Vec::new(),
            counts: Vec::new(),
        }));
        if !self.header_written {
            // Offset of the first IFD: 0 until the first page completes.
            self.header_written = true;
            self.sink.write_all(b"II*\0\0\0\0\0")?;
        }
        Ok(())
    }

    fn write_band(&mut self, band: &Band) -> io::Result<()> {
        let Stage::Raw(page) = &mut self.stage else {
            return Err(out_of_order("write_band", "without a raw page open"));
        };
        page.progress.accept(band)?;
        let mut page = std::mem::replace(&mut self.stage, Stage::Ready);
        let result = match &mut page {
            Stage::Raw(raw) => self.append_rows(raw, band),
            _ => Ok(()),
        };
        self.stage = page;
        result
    }

    fn accepts_encoded(&self, format: FileFormat) -> bool {
        self.single && format == FileFormat::Tiff
    }

    fn begin_encoded(
        &mut self,
        format: FileFormat,
        _header: Option<&PageHeader>,
    ) -> io::Result<()> {
        self.expect_ready("begin_encoded")?;
        if !self.accepts_encoded(format) {
            return Err(invalid_input(format!(
                "this TIFF stream cannot take an encoded {} page",
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
        match std::mem::replace(&mut self.stage, Stage::Ready) {
            Stage::Raw(mut page) => {
                let result = page.progress.finished_height().and_then(|height| {
                    self.flush_strip(&mut page)?;
                    self.write_ifd(&page, height)
                });
                if let Err(err) = result {
                    // The page stays open: the caller abandons it.
                    self.stage = Stage::Raw(page);
                    return Err(err);
                }
            }
            Stage::Encoded => {
                if self.sink.pos() == self.page_start {
                    self.stage = Stage::Encoded;
                    return Err(invalid_input("encoded page ended without any bytes"));
                }
            }
            other => {
                self.stage = other;
                return Err(out_of_order("end_page", "without a page open"));
            }
        }
        self.pages += 1;
        self.sink.flush()
    }

    fn abandon_page(&mut self) -> io::Result<()> {
        if !matches!(self.stage, Stage::Raw(_) | Stage::Encoded) {
            return Ok(());
        }
        self.stage = Stage::Ready;
        if self.page_start == self.base {
            self.header_written = false;
            return self.sink.truncate_to(self.page_start);
        }
        self.sink.truncate_to(self.page_start)?;
        // The page may have been linked before its end failed: the last
        // complete page is the last one again.
        self.sink.patch(self.link_at, &0u32.to_le_bytes())
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.stage {
            Stage::Finished => Ok(()),
            Stage::Raw(_) | Stage::Encoded => Err(out_of_order("finish", "while a page is open")),
            Stage::Ready if self.pages == 0 => {
                Err(invalid_input("no page was written to the TIFF stream"))
            }
            Stage::Ready => {
                self.sink.flush()?;
                self.stage = Stage::Finished;
                Ok(())
            }
        }
    }

    fn pages(&self) -> u32 {
        self.pages
    }

    fn destination(&mut self) -> &mut dyn Destination {
        &mut *self.sink.dest
    }

    fn into_destination(self: Box<Self>) -> Box<dyn Destination> {
        self.sink.dest
    }
}

impl TiffEncoder {
    /// Copies the rows of `band` into strips, writing each full strip.
    fn append_rows(&mut self, page: &mut RawPage, band: &Band) -> io::Result<()> {
        let row_bytes = page.progress.header.row_bytes();
        let mut rest = &band.data[..];
        while !rest.is_empty() {
            let room = (page.rows_per_strip - page.strip_rows) as usize;
            let take = room.min(rest.len() / row_bytes);
            if take == 0 {
                // Unreachable for validated bands; never loop forever.
                break;
            }
            let (now, later) = rest.split_at(take * row_bytes);
            page.strip.extend_from_slice(now);
            page.strip_rows += take as u32;
            rest = later;
            if page.strip_rows == page.rows_per_strip {
                self.flush_strip(page)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SharedDest, pattern_page, write_page};

    #[test]
    fn predictor_differences_each_channel() {
        let mut rows = [10, 20, 30, 13, 22, 29, 5, 6];
        predict_horizontally(&mut rows[..6], 6, 3);
        assert_eq!(&rows[..6], &[10, 20, 30, 3, 2, 255]);
        predict_horizontally(&mut rows[6..], 1, 1);
        assert_eq!(&rows[6..], &[5, 6], "one-pixel rows stay");
    }

    #[test]
    fn document_is_linked_only_when_a_page_completes() {
        let page = pattern_page(PixelFormat::Gray8, 10, 4, 300);
        let dest = SharedDest::default();
        let mut enc =
            TiffEncoder::document(EncodeOptions::default(), Box::new(dest.clone())).expect("enc");
        enc.begin_page(&page.header).expect("begin");
        assert_eq!(&dest.bytes()[..8], b"II*\0\0\0\0\0");
        enc.abandon_page().expect("abandon");
        assert!(
            dest.bytes().is_empty(),
            "header of an abandoned first page removed"
        );
        write_page(&mut enc, &page, false, &[3]);
        let first_ifd = u32::from_le_bytes(dest.bytes()[4..8].try_into().expect("4 bytes"));
        assert!(first_ifd > 8);
        let len_after_one = dest.bytes().len();
        enc.begin_page(&page.header).expect("begin");
        enc.write_band(&page.bands(2).next().expect("band"))
            .expect("band");
        enc.abandon_page().expect("abandon");
        assert_eq!(dest.bytes().len(), len_after_one);
        enc.finish().expect("finish");
        assert_eq!(enc.pages(), 1);
    }

    #[test]
    fn document_refuses_encoded_pages_and_single_takes_tiff() {
        let doc = TiffEncoder::document(EncodeOptions::default(), Box::new(SharedDest::default()))
            .expect("enc");
        assert!(!doc.accepts_encoded(FileFormat::Tiff));
        let single = TiffEncoder::single(EncodeOptions::default(), Box::new(SharedDest::default()))
            .expect("enc");
        assert!(single.accepts_encoded(FileFormat::Tiff));
        assert!(!single.accepts_encoded(FileFormat::Jpeg));
    }
}
