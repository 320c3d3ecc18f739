//! PDF documents, written object by object without a PDF library: one image
//! per page, drawn over the whole page, with the MediaBox sized from the
//! resolution (points = pixels * 72 / dpi).
//!
//! Colour and gray pages become JPEG images (`/DCTDecode`, at the
//! configured quality); black-and-white pages stay 1-bit (`/FlateDecode`,
//! `/Decode [1 0]` since the raster's 1 is black). A JPEG the device
//! encoded is embedded as it is, never re-encoded: its size and components
//! come from its SOF marker, its resolution from the page header, else its
//! JFIF density, else 300 dpi.
//!
//! Every page is an incremental update of the document, written whole at
//! `end_page`: the page's image, content stream and page object, a new
//! revision of the page tree listing every page so far (the catalog and
//! the info dictionary come with the first page), a cross-reference
//! section for exactly the objects of this update, and a trailer whose
//! `/Prev` points at the previous section. A multipage document is then
//! [checkpointed](Destination::checkpoint), so at every moment the stream
//! is a valid PDF of the pages completed so far, and a crash or a full
//! disk only cost the page in progress; `finish` has nothing left to
//! write. Nothing of a page reaches the stream before its `end_page` (a
//! device JPEG is held until it is whole), so the stream always ends with
//! a complete revision. An abandoned page is cut off the stream. A
//! one-page PDF stream also takes a PDF the device encoded and copies it
//! untouched. [`salvage`](super::salvage) reads these documents back.

use super::common::{RowProgress, Sink, check_header, invalid_data, invalid_input, out_of_order};
use super::jpeg::{encode_jpeg, page_buffer};
use super::{EncodeOptions, FileFormat, PageEncoder};
use crate::raster::{Band, PageHeader, PixelFormat};
use crate::stream::Destination;
use flate2::Compression;
use flate2::write::ZlibEncoder;
use std::io::{self, Write};

/// Object number of the catalog (written with the first page).
const CATALOG: u32 = 1;
/// Object number of the page tree (a new revision with every page).
const PAGES: u32 = 2;
/// Number of the first object written for a page.
const FIRST_PAGE_OBJECT: u32 = 3;
/// Resolution assumed for an encoded page that states none.
const DEFAULT_DPI: u32 = 300;

/// Writes pages into a PDF document (a one-page PDF too).
pub struct PdfEncoder {
    sink: Sink,
    quality: u8,
    /// At most this many pages (a per-page PDF takes one).
    max_pages: Option<u32>,
    stage: Stage,
    /// Absolute position of the `%PDF` header (offsets count from here).
    base: u64,
    header_written: bool,
    /// Offsets of objects 3, 4, ... (from `base`), in number order.
    objects: Vec<u64>,
    /// Object numbers of the completed pages.
    page_objects: Vec<u32>,
    /// The info dictionary's object number, once written.
    info: Option<u32>,
    /// Offset (from `base`) of the last cross-reference section.
    last_xref: Option<u64>,
    /// The stream holds a PDF the device encoded, copied as it is.
    copied: bool,
    /// The encoder as the page in progress found it.
    mark: Mark,
}

/// What `abandon_page` restores: the encoder before the page began.
#[derive(Debug, Clone, Copy)]
struct Mark {
    /// Absolute position where the page began.
    pos: u64,
    objects: usize,
    pages: usize,
    info: Option<u32>,
    last_xref: Option<u64>,
}

/// Where the encoder stands.
enum Stage {
    /// Between pages.
    Ready,
    /// Raw rows of a page are arriving.
    Raw(Box<RawPage>),
    /// A device JPEG is being copied in.
    Encoded(Box<EncodedPage>),
    /// A device PDF is being copied as it is (one-page streams only).
    Copy,
    /// Completing a page failed: it is still open, for `abandon_page`.
    Broken,
    /// `finish` has run.
    Finished,
}

/// A raw page in progress.
struct RawPage {
    progress: RowProgress,
    image: RawImage,
}

/// The image data of a raw page as it accumulates.
enum RawImage {
    /// 8-bit samples, JPEG-encoded at `end_page`.
    Samples(Vec<u8>),
    /// 1-bit rows, compressed as they arrive.
    Bits(ZlibEncoder<Vec<u8>>),
}

/// A device JPEG in progress, held until it is whole.
struct EncodedPage {
    header: Option<PageHeader>,
    /// The JPEG's bytes so far.
    data: Vec<u8>,
    /// What the SOF said (with the height the header gave when the frame
    /// header had none), once seen.
    info: Option<JpegInfo>,
}

/// What a JPEG's header says about the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JpegInfo {
    /// Pixels per row.
    pub(crate) width: u32,
    /// Rows (0 when a DNL marker defines them later).
    pub(crate) height: u32,
    /// Colour components: 1 gray, 3 YCbCr/RGB, 4 CMYK.
    pub(crate) components: u8,
    /// Resolution from the JFIF header, in dots per inch.
    pub(crate) dpi: Option<(u32, u32)>,
    /// An Adobe APP14 marker was present (CMYK is then stored inverted).
    pub(crate) adobe: bool,
}

/// Reads a JPEG's header from its first bytes: `Ok(None)` while the SOF
/// marker has not arrived yet, an error for what PDF cannot embed.
pub(crate) fn parse_jpeg_header(bytes: &[u8]) -> io::Result<Option<JpegInfo>> {
    if bytes.len() < 2 {
        return Ok(None);
    }
    if bytes[..2] != [0xff, 0xd8] {
        return Err(invalid_data("encoded page is not a JPEG (no SOI marker)"));
    }
    let mut dpi = None;
    let mut adobe = false;
    let mut i = 2;
    loop {
        let Some(&first) = bytes.get(i) else {
            return Ok(None);
        };
        if first != 0xff {
            return Err(invalid_data("malformed JPEG: marker expected"));
        }
        while bytes.get(i) == Some(&0xff) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return Ok(None);
        };
        i += 1;
        match marker {
            0x01 | 0xd0..=0xd7 => continue,
            0xd8..=0xda => {
                return Err(invalid_data(
                    "malformed JPEG: no frame header before the scan",
                ));
            }
            _ => {}
        }
        let Some(len_bytes) = bytes.get(i..i + 2) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(invalid_data("malformed JPEG: bad segment length"));
        }
        let Some(payload) = bytes.get(i + 2..i + len) else {
            return Ok(None);
        };
        match marker {
            0xc0..=0xc2 => {
                if payload.len() < 6 {
                    return Err(invalid_data("malformed JPEG: short frame header"));
                }
                if payload[0] != 8 {
                    return Err(invalid_data("JPEG with more than 8 bits per sample"));
                }
                let components = payload[5];
                if !matches!(components, 1 | 3 | 4) {
                    return Err(invalid_data(format!("JPEG with {components} components")));
                }
                return Ok(Some(JpegInfo {
                    height: u32::from(u16::from_be_bytes([payload[1], payload[2]])),
                    width: u32::from(u16::from_be_bytes([payload[3], payload[4]])),
                    components,
                    dpi,
                    adobe,
                }));
            }
            0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
                return Err(invalid_data(
                    "JPEG coding (lossless or arithmetic) that PDF cannot embed",
                ));
            }
            0xe0 if payload.len() >= 12 && payload.starts_with(b"JFIF\0") => {
                let x = u32::from(u16::from_be_bytes([payload[8], payload[9]]));
                let y = u32::from(u16::from_be_bytes([payload[10], payload[11]]));
                dpi = match payload[7] {
                    1 => Some((x, y)),
                    2 => Some(((x * 254 + 50) / 100, (y * 254 + 50) / 100)),
                    _ => None,
                }
                .filter(|&(x, y)| x > 0 && y > 0);
            }
            0xee if payload.starts_with(b"Adobe") => adobe = true,
            _ => {}
        }
        i += len;
    }
}

/// A PDF number with at most four decimals.
fn real(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        String::from("0")
    } else {
        text.to_string()
    }
}

/// Page size in points for `pixels` at `dpi` (72 dpi when unknown).
fn points(pixels: u32, dpi: u32) -> f64 {
    let dpi = if dpi == 0 { 72 } else { dpi };
    f64::from(pixels) * 72.0 / f64::from(dpi)
}

impl PdfEncoder {
    /// An encoder appending pages to a PDF document in `dest`.
    pub fn document(options: EncodeOptions, dest: Box<dyn Destination>) -> io::Result<PdfEncoder> {
        PdfEncoder::with_limit(options, dest, None)
    }

    /// An encoder writing a one-page PDF into `dest`.
    pub fn single(options: EncodeOptions, dest: Box<dyn Destination>) -> io::Result<PdfEncoder> {
        PdfEncoder::with_limit(options, dest, Some(1))
    }

    fn with_limit(
        options: EncodeOptions,
        dest: Box<dyn Destination>,
        max_pages: Option<u32>,
    ) -> io::Result<PdfEncoder> {
        let sink = Sink::new(dest)?;
        let base = sink.pos();
        Ok(PdfEncoder {
            sink,
            quality: options.quality,
            max_pages,
            stage: Stage::Ready,
            base,
            header_written: false,
            objects: Vec::new(),
            page_objects: Vec::new(),
            info: None,
            last_xref: None,
            copied: false,
            mark: Mark {
                pos: base,
                objects: 0,
                pages: 0,
                info: None,
                last_xref: None,
            },
        })
    }

    /// Checks that a page may begin, and marks where it begins.
    fn open_page(&mut self, call: &str) -> io::Result<()> {
        match self.stage {
            Stage::Ready => {}
            Stage::Raw(_) | Stage::Encoded(_) | Stage::Copy | Stage::Broken => {
                return Err(out_of_order(call, "while a page is open"));
            }
            Stage::Finished => return Err(out_of_order(call, "after finish")),
        }
        if let Some(max) = self.max_pages
            && self.pages() >= max
        {
            return Err(out_of_order(
                call,
                "after the page: a single-page stream takes one page",
            ));
        }
        self.mark = Mark {
            pos: self.sink.pos(),
            objects: self.objects.len(),
            pages: self.page_objects.len(),
            info: self.info,
            last_xref: self.last_xref,
        };
        Ok(())
    }

    /// Writes the file header when the first page begins.
    fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            // The binary comment tells tools the file holds binary data.
            self.sink.write_all(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")?;
        }
        Ok(())
    }

    /// Allocates the next object number without writing it yet.
    fn reserve_object(&mut self) -> u32 {
        self.objects.push(0);
        FIRST_PAGE_OBJECT + self.objects.len() as u32 - 1
    }

    /// Writes `n 0 obj` for a reserved object, recording its offset.
    fn start_object(&mut self, number: u32) -> io::Result<()> {
        let offset = self.sink.pos() - self.base;
        if let Some(slot) = self.objects.get_mut((number - FIRST_PAGE_OBJECT) as usize) {
            *slot = offset;
        }
        writeln!(self.sink, "{number} 0 obj")
    }

    /// Writes a whole object holding `body` (a dictionary or value).
    fn object(&mut self, body: &str) -> io::Result<u32> {
        let number = self.reserve_object();
        self.start_object(number)?;
        write!(self.sink, "{body}\nendobj\n")?;
        Ok(number)
    }

    /// Writes a stream object with `dict` entries (without `/Length`).
    fn stream_object(&mut self, dict: &str, data: &[u8]) -> io::Result<u32> {
        let number = self.reserve_object();
        self.start_object(number)?;
        write!(self.sink, "<< {dict} /Length {} >>\nstream\n", data.len())?;
        self.sink.write_all(data)?;
        self.sink.write_all(b"\nendstream\nendobj\n")?;
        Ok(number)
    }

    /// Writes the content stream and page object showing `image` on a
    /// page of `width` x `height` pixels at `dpi`.
    fn write_page(
        &mut self,
        image: u32,
        width: u32,
        height: u32,
        dpi: (u32, u32),
    ) -> io::Result<()> {
        let w = real(points(width, dpi.0));
        let h = real(points(height, dpi.1));
        let content = format!("q {w} 0 0 {h} 0 0 cm /Im0 Do Q");
        let content = self.stream_object("", content.as_bytes())?;
        let page = self.object(&format!(
            "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {w} {h}] \
             /Resources << /XObject << /Im0 {image} 0 R >> >> /Contents {content} 0 R >>"
        ))?;
        self.page_objects.push(page);
        Ok(())
    }

    /// Writes the objects of a completed raw page.
    fn complete_raw(&mut self, page: RawPage, height: u32) -> io::Result<()> {
        let header = page.progress.header;
        let image = match page.image {
            RawImage::Samples(samples) => {
                let rgb = header.format == PixelFormat::Rgb8;
                let mut jpeg = Vec::new();
                encode_jpeg(
                    &samples,
                    header.width,
                    height,
                    rgb,
                    (header.dpi_x, header.dpi_y),
                    self.quality,
                    &mut jpeg,
                )?;
                drop(samples);
                let space = if rgb { "/DeviceRGB" } else { "/DeviceGray" };
                self.stream_object(
                    &format!(
                        "/Type /XObject /Subtype /Image /Width {} /Height {height} \
                         /ColorSpace {space} /BitsPerComponent 8 /Filter /DCTDecode",
                        header.width
                    ),
                    &jpeg,
                )?
            }
            RawImage::Bits(zlib) => {
                let bits = zlib.finish()?;
                self.stream_object(
                    &format!(
                        "/Type /XObject /Subtype /Image /Width {} /Height {height} \
                         /ColorSpace /DeviceGray /BitsPerComponent 1 /Decode [1 0] \
                         /Filter /FlateDecode",
                        header.width
                    ),
                    &bits,
                )?
            }
        };
        self.write_page(image, header.width, height, (header.dpi_x, header.dpi_y))
    }

    /// Writes the image object and the page of a whole device JPEG.
    fn complete_encoded(&mut self, page: &EncodedPage) -> io::Result<()> {
        let Some(info) = page.info else {
            return Err(invalid_data(
                "encoded page ended before its JPEG frame header",
            ));
        };
        let (space, decode) = match info.components {
            1 => ("/DeviceGray", ""),
            3 => ("/DeviceRGB", ""),
            _ if info.adobe => ("/DeviceCMYK", " /Decode [1 0 1 0 1 0 1 0]"),
            _ => ("/DeviceCMYK", ""),
        };
        let image = self.stream_object(
            &format!(
                "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace {space} \
                 /BitsPerComponent 8{decode} /Filter /DCTDecode",
                info.width, info.height
            ),
            &page.data,
        )?;
        let dpi = page
            .header
            .map(|h| (h.dpi_x, h.dpi_y))
            .filter(|&(x, y)| x > 0 && y > 0)
            .or(info.dpi)
            .unwrap_or((DEFAULT_DPI, DEFAULT_DPI));
        self.write_page(image, info.width, info.height, dpi)
    }

    /// Writes the revision that adds the page just written: the page
    /// tree, (with the first page) the catalog and the info dictionary,
    /// the cross-reference section of this update and the trailer.
    fn write_revision(&mut self) -> io::Result<()> {
        let first = self.last_xref.is_none();
        if first {
            self.info = Some(self.object("<< /Producer (Streamscan) >>")?);
        }
        let kids: Vec<String> = self
            .page_objects
            .iter()
            .map(|n| format!("{n} 0 R"))
            .collect();
        let pages_at = self.sink.pos() - self.base;
        write!(
            self.sink,
            "{PAGES} 0 obj\n<< /Type /Pages /Kids [{}] /Count {} >>\nendobj\n",
            kids.join(" "),
            self.page_objects.len()
        )?;
        let catalog_at = self.sink.pos() - self.base;
        if first {
            write!(
                self.sink,
                "{CATALOG} 0 obj\n<< /Type /Catalog /Pages {PAGES} 0 R >>\nendobj\n"
            )?;
        }
        let xref_at = self.sink.pos() - self.base;
        let size = FIRST_PAGE_OBJECT + self.objects.len() as u32;
        let new = &self.objects[self.mark.objects..];
        let mut xref = String::with_capacity(64 + 20 * (new.len() + 3));
        xref.push_str("xref\n");
        let entries: Vec<u64> = if first {
            xref.push_str(&format!("0 {size}\n0000000000 65535 f \n"));
            [catalog_at, pages_at]
                .into_iter()
                .chain(new.iter().copied())
                .collect()
        } else {
            xref.push_str(&format!("{PAGES} 1\n"));
            push_entry(&mut xref, pages_at)?;
            let first_new = FIRST_PAGE_OBJECT + self.mark.objects as u32;
            xref.push_str(&format!("{first_new} {}\n", new.len()));
            new.to_vec()
        };
        for offset in entries {
            push_entry(&mut xref, offset)?;
        }
        let info = self.info.unwrap_or(0);
        let prev = self
            .last_xref
            .map(|at| format!(" /Prev {at}"))
            .unwrap_or_default();
        xref.push_str(&format!(
            "trailer\n<< /Size {size} /Root {CATALOG} 0 R /Info {info} 0 R{prev} >>\nstartxref\n{xref_at}\n%%EOF\n"
        ));
        self.sink.write_all(xref.as_bytes())?;
        self.last_xref = Some(xref_at);
        Ok(())
    }
}

/// Appends a cross-reference entry (20 bytes) for an object at `offset`.
fn push_entry(xref: &mut String, offset: u64) -> io::Result<()> {
    if offset > 9_999_999_999 {
        return Err(invalid_input("PDF too large for a cross-reference table"));
    }
    xref.push_str(&format!("{offset:010} 00000 n \n"));
    Ok(())
}

impl PageEncoder for PdfEncoder {
    fn begin_page(&mut self, header: &PageHeader) -> io::Result<()> {
        self.open_page("begin_page")?;
        check_header(header)?;
        if header.format != PixelFormat::Bw1
            && (header.width > u32::from(u16::MAX)
                || header.height.unwrap_or(0) > u32::from(u16::MAX))
        {
            return Err(invalid_input(
                "colour or gray page too large for JPEG in PDF (65535 max)",
            ));
        }
        let image = match header.format {
            PixelFormat::Bw1 => {
                RawImage::Bits(ZlibEncoder::new(Vec::new(), Compression::default()))
            }
            PixelFormat::Gray8 | PixelFormat::Rgb8 => {
                let row = header.width as usize * usize::from(header.format.channels());
                RawImage::Samples(page_buffer(row, header.height))
            }
        };
        self.stage = Stage::Raw(Box::new(RawPage {
            progress: RowProgress::new(*header),
            image,
        }));
        self.write_header()
    }

    fn write_band(&mut self, band: &Band) -> io::Result<()> {
        let Stage::Raw(page) = &mut self.stage else {
            return Err(out_of_order("write_band", "without a raw page open"));
        };
        page.progress.accept(band)?;
        let header = page.progress.header;
        match &mut page.image {
            RawImage::Samples(samples) => {
                super::common::append_as_8bit(&header, &band.data, samples);
                Ok(())
            }
            RawImage::Bits(zlib) => zlib.write_all(&band.data),
        }
    }

    fn accepts_encoded(&self, format: FileFormat) -> bool {
        match format {
            FileFormat::Jpeg => true,
            // A whole PDF from the device can only be a stream of its own.
            FileFormat::Pdf => self.max_pages == Some(1),
            _ => false,
        }
    }

    fn begin_encoded(&mut self, format: FileFormat, header: Option<&PageHeader>) -> io::Result<()> {
        if !self.accepts_encoded(format) {
            return Err(invalid_input(format!(
                "this PDF stream cannot take an encoded {} page",
                format.name()
            )));
        }
        self.open_page("begin_encoded")?;
        if format == FileFormat::Pdf {
            self.stage = Stage::Copy;
            return Ok(());
        }
        self.stage = Stage::Encoded(Box::new(EncodedPage {
            header: header.copied(),
            data: Vec::new(),
            info: None,
        }));
        self.write_header()
    }

    fn write_encoded(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.stage {
            Stage::Encoded(page) => {
                page.data.extend_from_slice(bytes);
                if page.info.is_none()
                    && let Some(info) = parse_jpeg_header(&page.data)?
                {
                    let height = match (info.height, page.header.and_then(|h| h.height)) {
                        (0, Some(height)) => height,
                        (0, None) => {
                            return Err(invalid_data("JPEG without a height in its frame header"));
                        }
                        (height, _) => height,
                    };
                    page.info = Some(JpegInfo { height, ..info });
                }
                Ok(())
            }
            Stage::Copy => self.sink.write_all(bytes),
            _ => Err(out_of_order(
                "write_encoded",
                "without an encoded page open",
            )),
        }
    }

    fn end_page(&mut self) -> io::Result<()> {
        let result = match std::mem::replace(&mut self.stage, Stage::Broken) {
            Stage::Raw(page) => match page.progress.finished_height() {
                Ok(height) => self.complete_raw(*page, height),
                Err(err) => {
                    self.stage = Stage::Raw(page);
                    return Err(err);
                }
            },
            Stage::Encoded(page) => self.complete_encoded(&page),
            Stage::Copy if self.sink.pos() == self.mark.pos => {
                Err(invalid_input("encoded page ended without any bytes"))
            }
            Stage::Copy => {
                self.copied = true;
                self.stage = Stage::Ready;
                return self.sink.flush();
            }
            other => {
                self.stage = other;
                return Err(out_of_order("end_page", "without a page open"));
            }
        };
        // On error the stage stays `Broken`: `abandon_page` cuts off what
        // this page wrote.
        result?;
        self.write_revision()?;
        self.sink.flush()?;
        if self.max_pages.is_none() {
            self.sink.dest.checkpoint(self.pages())?;
        }
        self.stage = Stage::Ready;
        Ok(())
    }

    fn abandon_page(&mut self) -> io::Result<()> {
        if !matches!(
            self.stage,
            Stage::Raw(_) | Stage::Encoded(_) | Stage::Copy | Stage::Broken
        ) {
            return Ok(());
        }
        self.stage = Stage::Ready;
        let mark = self.mark;
        self.objects.truncate(mark.objects);
        self.page_objects.truncate(mark.pages);
        self.info = mark.info;
        self.last_xref = mark.last_xref;
        self.copied = false;
        if mark.pos == self.base {
            self.header_written = false;
        }
        self.sink.truncate_to(mark.pos)
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.stage {
            Stage::Finished => return Ok(()),
            Stage::Raw(_) | Stage::Encoded(_) | Stage::Copy | Stage::Broken => {
                return Err(out_of_order("finish", "while a page is open"));
            }
            Stage::Ready => {}
        }
        if self.copied {
            // The device's PDF is complete as it is.
            self.sink.flush()?;
            self.stage = Stage::Finished;
            return Ok(());
        }
        if self.page_objects.is_empty() {
            return Err(invalid_input("no page was written to the PDF document"));
        }
        // The last page's revision completed the document.
        self.sink.flush()?;
        self.stage = Stage::Finished;
        Ok(())
    }

    fn pages(&self) -> u32 {
        self.page_objects.len() as u32 + u32::from(self.copied)
    }

    fn destination(&mut self) -> &mut dyn Destination {
        &mut *self.sink.dest
    }

    fn into_destination(self: Box<Self>) -> Box<dyn Destination> {
        self.sink.dest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SharedDest, pattern_page, write_page};

    /// A JPEG header: SOI, an APP0 JFIF with `units` and density, then a
    /// frame header of `marker` for a `w` x `h` image of `components`.
    fn jpeg_head(units: u8, density: u16, marker: u8, w: u16, h: u16, components: u8) -> Vec<u8> {
        let mut b = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
        b.extend_from_slice(b"JFIF\0\x01\x02");
        b.push(units);
        b.extend_from_slice(&density.to_be_bytes());
        b.extend_from_slice(&density.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&[0xff, marker, 0, 8 + 3 * components, 8]);
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.push(components);
        for c in 0..components {
            b.extend_from_slice(&[c + 1, 0x11, 0]);
        }
        b
    }

    #[test]
    fn jpeg_header_is_read_from_any_prefix() {
        let head = jpeg_head(1, 200, 0xc0, 640, 480, 3);
        for cut in 0..head.len() {
            assert_eq!(
                parse_jpeg_header(&head[..cut]).expect("no error"),
                None,
                "prefix {cut}"
            );
        }
        let info = parse_jpeg_header(&head).expect("ok").expect("complete");
        assert_eq!(
            info,
            JpegInfo {
                width: 640,
                height: 480,
                components: 3,
                dpi: Some((200, 200)),
                adobe: false,
            }
        );
    }

    #[test]
    fn jpeg_header_variants() {
        let cm = parse_jpeg_header(&jpeg_head(2, 118, 0xc2, 10, 20, 1))
            .expect("ok")
            .expect("complete");
        assert_eq!(
            (cm.dpi, cm.components),
            (Some((300, 300)), 1),
            "dots per cm, progressive"
        );
        let aspect = parse_jpeg_header(&jpeg_head(0, 1, 0xc1, 10, 20, 1))
            .expect("ok")
            .expect("complete");
        assert_eq!(aspect.dpi, None, "aspect ratio only");
        assert!(
            parse_jpeg_header(&jpeg_head(1, 72, 0xc9, 10, 20, 3)).is_err(),
            "arithmetic"
        );
        assert!(
            parse_jpeg_header(&jpeg_head(1, 72, 0xc0, 10, 20, 2)).is_err(),
            "2 components"
        );
        assert!(parse_jpeg_header(b"GIF89a").is_err());
        assert!(parse_jpeg_header(&[0xff, 0xd8, 0x00]).is_err(), "no marker");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(real(595.2), "595.2");
        assert_eq!(real(612.0), "612");
        assert_eq!(real(1.0 / 3.0), "0.3333");
        assert_eq!(real(0.00001), "0");
    }

    /// Walks the cross-reference sections from the last one back along
    /// `/Prev`, checking every entry against the file (bytes, not text:
    /// images hold binary data) and that each section's trailer closes a
    /// revision; returns the objects in use, by number.
    fn check_xref(bytes: &[u8]) -> std::collections::BTreeSet<usize> {
        let marker = b"startxref\n";
        let at = bytes
            .windows(marker.len())
            .rposition(|w| w == marker)
            .expect("startxref");
        let tail = std::str::from_utf8(&bytes[at + marker.len()..]).expect("ASCII tail");
        assert!(tail.ends_with("\n%%EOF\n"), "the file ends with a revision");
        let mut next: Option<usize> = tail.lines().next().and_then(|t| t.parse().ok());
        let mut seen = std::collections::BTreeSet::new();
        let mut sections = 0;
        while let Some(start) = next {
            sections += 1;
            let text = String::from_utf8_lossy(&bytes[start..]).into_owned();
            assert!(text.starts_with("xref\n"), "a section at {start}");
            let mut lines = text.lines().skip(1);
            loop {
                let line = lines.next().expect("subsection or trailer");
                if line == "trailer" {
                    break;
                }
                let (first, count) = line.split_once(' ').expect("first count");
                let first: usize = first.parse().expect("first");
                let count: usize = count.parse().expect("count");
                for n in first..first + count {
                    let entry = lines.next().expect("entry");
                    assert_eq!(entry.len(), 19, "20 bytes with the newline");
                    if entry.ends_with(" f ") {
                        assert_eq!(n, 0, "only the head of the free list");
                        continue;
                    }
                    let offset: usize = entry[..10].parse().expect("offset");
                    assert!(offset < start, "object {n} before its section");
                    assert!(
                        bytes[offset..].starts_with(format!("{n} 0 obj\n").as_bytes()),
                        "object {n} at {offset}"
                    );
                    seen.insert(n);
                }
            }
            let trailer = lines.next().expect("trailer dictionary");
            assert!(trailer.contains("/Root 1 0 R"), "{trailer}");
            next = trailer
                .split("/Prev ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .map(|n| n.parse().expect("prev offset"));
            if let Some(prev) = next {
                assert!(prev < start, "sections chain backwards");
            }
        }
        assert!(sections > 0);
        seen
    }

    #[test]
    fn cross_reference_table_points_at_every_object() {
        let dest = SharedDest::default();
        let mut enc =
            PdfEncoder::document(EncodeOptions::default(), Box::new(dest.clone())).expect("enc");
        write_page(
            &mut enc,
            &pattern_page(PixelFormat::Bw1, 20, 10, 100),
            false,
            &[3],
        );
        write_page(
            &mut enc,
            &pattern_page(PixelFormat::Rgb8, 20, 10, 100),
            true,
            &[4],
        );
        let head = jpeg_head(1, 150, 0xc0, 8, 8, 1);
        enc.begin_encoded(FileFormat::Jpeg, None).expect("begin");
        enc.write_encoded(&head).expect("write");
        enc.write_encoded(&[0xff, 0xd9]).expect("write");
        enc.end_page().expect("end");
        enc.finish().expect("finish");
        // Catalog, pages, 3 objects per page, info.
        let objects = check_xref(&dest.bytes());
        assert_eq!(objects, (1..=2 + 3 + 3 + 3 + 1).collect());
        let text = String::from_utf8_lossy(&dest.bytes()).into_owned();
        assert_eq!(text.matches("%%EOF").count(), 3, "a revision per page");
        assert!(text.contains("/Count 3"));
        assert!(text.contains("/MediaBox [0 0 3.84 3.84]"), "JFIF 150 dpi");
    }

    #[test]
    fn one_page_stream_copies_a_device_pdf() {
        let dest = SharedDest::default();
        let mut enc =
            PdfEncoder::single(EncodeOptions::default(), Box::new(dest.clone())).expect("enc");
        assert!(enc.accepts_encoded(FileFormat::Pdf));
        enc.begin_encoded(FileFormat::Pdf, None).expect("begin");
        enc.write_encoded(b"%PDF-1.7 device bytes").expect("write");
        enc.end_page().expect("end");
        enc.finish().expect("finish");
        assert_eq!(enc.pages(), 1);
        assert_eq!(dest.bytes(), b"%PDF-1.7 device bytes");
        let doc = PdfEncoder::document(EncodeOptions::default(), Box::new(SharedDest::default()))
            .expect("enc");
        assert!(!doc.accepts_encoded(FileFormat::Pdf));
    }

    #[test]
    fn a_failed_page_end_can_still_be_abandoned() {
        let dest = SharedDest::default();
        let mut enc =
            PdfEncoder::document(EncodeOptions::default(), Box::new(dest.clone())).expect("enc");
        write_page(
            &mut enc,
            &pattern_page(PixelFormat::Gray8, 9, 9, 100),
            true,
            &[9],
        );
        let after_one = dest.bytes();
        enc.begin_encoded(FileFormat::Jpeg, None).expect("begin");
        enc.write_encoded(&[0xff, 0xd8, 0xff])
            .expect("partial header");
        assert_eq!(
            enc.end_page().expect_err("no frame header").kind(),
            io::ErrorKind::InvalidData
        );
        enc.abandon_page().expect("abandon");
        assert_eq!(dest.bytes(), after_one);
        enc.finish().expect("finish");
        assert_eq!(enc.pages(), 1);
        check_xref(&dest.bytes());
    }
}
