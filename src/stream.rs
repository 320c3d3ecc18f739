//! The stream vocabulary every layer shares: which side of a sheet a page
//! is, the destination stream a page is written into, the file formats and
//! encodings pages travel in, and the page-encoder trait that writes pages
//! into a destination.
//!
//! It sits at the bottom beside [`raster`](crate::raster): device back ends,
//! the filter and the output writers all speak it without importing one
//! another, and the transfer layer plugs them together.

use crate::raster::{Band, PageHeader};
use serde::{Deserialize, Serialize};
use std::io::{self, Seek, Write};

/// Which side of a sheet a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The front side (or the only side: flatbed, simplex feeder).
    #[default]
    Front,
    /// The back side of a duplex sheet.
    Back,
}

impl Side {
    /// `front` or `back`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Front => "front",
            Side::Back => "back",
        }
    }
}

/// A stream the application offers to receive one page (or one multipage
/// document).
///
/// Only the transfer layer writes and seeks it while the page flows. When
/// the page is complete the layer calls [`Destination::complete`] and then
/// sends END_OF_STREAM; when the page is abandoned (cancel, fault, blank page
/// dropped) it calls [`Destination::discard`] instead and sends no
/// END_OF_STREAM. A multipage document marks each completed page with
/// [`Destination::checkpoint`] on the way.
pub trait Destination: Write + Seek + Send {
    /// Truncates or extends the stream to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;

    /// The stream holds a complete page or document: make it permanent
    /// (e.g. rename a temporary file to its final name).
    fn complete(&mut self) -> io::Result<()>;

    /// The stream's content is abandoned: remove every trace of it.
    fn discard(&mut self);

    /// The stream now holds a valid document of `pages` complete pages,
    /// from its start to its current end: make that durable (flushed and
    /// synced to the disk) before the page is reported done.
    ///
    /// A multipage document encoder calls this after every page it
    /// completes, so that a crash, a kill or a program that must exit at
    /// once leaves a document of the pages completed so far; what comes
    /// after the last checkpoint is a page in progress, to be cut off. The
    /// default flushes only (memory streams have no disk to sync).
    fn checkpoint(&mut self, pages: u32) -> io::Result<()> {
        let _ = pages;
        self.flush()
    }

    /// Where the stream ended up (a path), for reports.
    fn describe(&self) -> String {
        String::from("stream")
    }
}

/// An in-memory destination, for tests and for previews.
#[derive(Debug, Default)]
pub struct MemoryDestination {
    /// The bytes written so far.
    pub cursor: io::Cursor<Vec<u8>>,
    /// Set by [`Destination::complete`].
    pub completed: bool,
    /// Set by [`Destination::discard`].
    pub discarded: bool,
}

impl Write for MemoryDestination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.cursor.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for MemoryDestination {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.cursor.seek(pos)
    }
}

impl Destination for MemoryDestination {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(|_| io::Error::other("length too large"))?;
        self.cursor.get_mut().resize(len, 0);
        Ok(())
    }
    fn complete(&mut self) -> io::Result<()> {
        self.completed = true;
        Ok(())
    }
    fn discard(&mut self) {
        self.discarded = true;
        self.cursor.get_mut().clear();
        self.cursor.set_position(0);
    }
    fn describe(&self) -> String {
        String::from("memory")
    }
}

/// File formats Streamscan writes (`WIA_IPA_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// PNG (lossless).
    #[default]
    Png,
    /// JPEG (lossy, quality setting).
    Jpeg,
    /// TIFF (one page, or a multipage document).
    Tiff,
    /// Windows bitmap.
    Bmp,
    /// Portable anymap (PBM / PGM / PPM by colour mode).
    Pnm,
    /// PDF (a multipage document).
    Pdf,
}

impl FileFormat {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [FileFormat; 6] = [
        FileFormat::Png,
        FileFormat::Jpeg,
        FileFormat::Tiff,
        FileFormat::Pdf,
        FileFormat::Bmp,
        FileFormat::Pnm,
    ];

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Png => "png",
            FileFormat::Jpeg => "jpg",
            FileFormat::Tiff => "tiff",
            FileFormat::Bmp => "bmp",
            FileFormat::Pnm => "pnm",
            FileFormat::Pdf => "pdf",
        }
    }

    /// The CLI name (`png`, `jpeg`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Jpeg => "jpeg",
            other => other.extension(),
        }
    }

    /// Parses a CLI name or a file extension (case-insensitive).
    pub fn from_name(name: &str) -> Option<FileFormat> {
        match name.to_ascii_lowercase().as_str() {
            "png" => Some(FileFormat::Png),
            "jpg" | "jpeg" => Some(FileFormat::Jpeg),
            "tif" | "tiff" => Some(FileFormat::Tiff),
            "bmp" => Some(FileFormat::Bmp),
            "pnm" | "ppm" | "pgm" | "pbm" => Some(FileFormat::Pnm),
            "pdf" => Some(FileFormat::Pdf),
            _ => None,
        }
    }

    /// True for formats that can hold several pages in one stream.
    pub fn is_multipage(self) -> bool {
        matches!(self, FileFormat::Tiff | FileFormat::Pdf)
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            FileFormat::Png => "image/png",
            FileFormat::Jpeg => "image/jpeg",
            FileFormat::Tiff => "image/tiff",
            FileFormat::Bmp => "image/bmp",
            FileFormat::Pnm => "image/x-portable-anymap",
            FileFormat::Pdf => "application/pdf",
        }
    }
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// JPEG quality, 1..=100 (also used for colour/gray pages inside PDF).
    pub quality: u8,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions { quality: 85 }
    }
}

/// Writes pages into one destination stream.
///
/// Call order for each page: `begin_page` (raw rows) or `begin_encoded`
/// (an already encoded image), then `write_band`s (rows in order, top to
/// bottom) or `write_encoded` chunks, then `end_page` (the page is complete
/// and fully written to the stream) or `abandon_page` (the stream is put
/// back exactly as it was before the page began). After the last page:
/// `finish` (with zero pages it reports an error).
/// A single-page encoder takes exactly one page.
///
/// A multipage document is valid after every `end_page`: the page's
/// objects and the document's structure that reaches them are written
/// then, and the stream is [checkpointed](Destination::checkpoint) before
/// `end_page` returns. So `abandon_page`, a crash or a full disk only ever
/// cut the stream back to its last complete page, and `finish` has
/// nothing left to write.
pub trait PageEncoder: Send {
    /// Starts a page of raw rows described by `header` (height may be
    /// unknown: then the encoder patches its header at `end_page`).
    fn begin_page(&mut self, header: &PageHeader) -> io::Result<()>;

    /// Writes the next rows of the current page.
    fn write_band(&mut self, band: &Band) -> io::Result<()>;

    /// True when the encoder can take a page already encoded as `format`
    /// without decoding it (a JPEG into a JPEG file, or into a PDF).
    fn accepts_encoded(&self, format: FileFormat) -> bool;

    /// Starts a page that arrives encoded as `format` (only when
    /// [`PageEncoder::accepts_encoded`] said yes).
    fn begin_encoded(&mut self, format: FileFormat, header: Option<&PageHeader>) -> io::Result<()>;

    /// Writes the next bytes of an encoded page.
    fn write_encoded(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Completes the current page.
    fn end_page(&mut self) -> io::Result<()>;

    /// Drops the current page, restoring the stream to where it began.
    fn abandon_page(&mut self) -> io::Result<()>;

    /// Finalises the stream after the last page.
    fn finish(&mut self) -> io::Result<()>;

    /// Pages completed so far.
    fn pages(&self) -> u32;

    /// The stream written to.
    fn destination(&mut self) -> &mut dyn Destination;

    /// Gives the stream back (after `finish`).
    fn into_destination(self: Box<Self>) -> Box<dyn Destination>;
}
