//! Output: encoders that write pages as image files into destination
//! streams, one page per stream (PNG, JPEG, TIFF, BMP, PNM) or a whole job
//! per stream (multipage TIFF, PDF), plus the file destinations the
//! application hands out (temporary names, no silent overwrite).
//!
//! Every encoder implements [`PageEncoder`]; the transfer layer drives it
//! with the call order documented there and never touches the stream
//! itself while a page is being written.

pub mod bmp;
mod common;
pub mod file;
pub mod jpeg;
pub mod naming;
pub mod pdf;
pub mod png;
pub mod pnm;
#[cfg(test)]
pub(crate) mod test_support;
pub mod tiff;

pub use bmp::BmpEncoder;
pub use file::FileDestination;
pub use jpeg::JpegEncoder;
pub use naming::{OutputPattern, default_pattern};
pub use pdf::PdfEncoder;
pub use png::PngEncoder;
pub use pnm::PnmEncoder;
pub use tiff::TiffEncoder;

use crate::raster::{Band, PageHeader};
use crate::transfer::Destination;
use serde::{Deserialize, Serialize};
use std::io;

/// An encoder writing one page of `format` into `dest`.
///
/// Every format has one: a PDF page becomes a one-page PDF document, a
/// TIFF page a one-page TIFF. The encoder also takes a page the device
/// already encoded in `format` and copies it untouched; a PDF stream also
/// takes a device JPEG, embedded without re-encoding.
pub fn page_encoder(
    format: FileFormat,
    options: EncodeOptions,
    dest: Box<dyn Destination>,
) -> io::Result<Box<dyn PageEncoder>> {
    Ok(match format {
        FileFormat::Png => Box::new(PngEncoder::new(options, dest)?),
        FileFormat::Jpeg => Box::new(JpegEncoder::new(options, dest)?),
        FileFormat::Tiff => Box::new(TiffEncoder::single(options, dest)?),
        FileFormat::Bmp => Box::new(BmpEncoder::new(options, dest)?),
        FileFormat::Pnm => Box::new(PnmEncoder::new(options, dest)?),
        FileFormat::Pdf => Box::new(PdfEncoder::single(options, dest)?),
    })
}

/// An encoder appending every page of a job to one multipage document of
/// `format` in `dest` (TIFF or PDF; see [`FileFormat::is_multipage`]).
///
/// Any other format is refused with [`io::ErrorKind::InvalidInput`].
pub fn document_encoder(
    format: FileFormat,
    options: EncodeOptions,
    dest: Box<dyn Destination>,
) -> io::Result<Box<dyn PageEncoder>> {
    match format {
        FileFormat::Tiff => Ok(Box::new(TiffEncoder::document(options, dest)?)),
        FileFormat::Pdf => Ok(Box::new(PdfEncoder::document(options, dest)?)),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} cannot hold several pages: use TIFF or PDF",
                other.name()
            ),
        )),
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
/// `finish` (a multipage document writes its trailer; with zero pages it
/// still produces a valid, empty-of-pages result or reports an error).
/// A single-page encoder takes exactly one page.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::PixelFormat;
    use test_support::{FullDisk, SharedDest, pattern_page, write_page};

    #[test]
    fn only_tiff_and_pdf_make_documents() {
        for format in FileFormat::ALL {
            let result = document_encoder(
                format,
                EncodeOptions::default(),
                Box::new(SharedDest::default()),
            );
            match result {
                Ok(_) => assert!(format.is_multipage(), "{format:?}"),
                Err(err) => {
                    assert!(!format.is_multipage(), "{format:?}");
                    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
                }
            }
        }
    }

    #[test]
    fn page_encoders_pass_their_own_format_through() {
        for format in FileFormat::ALL {
            let enc = page_encoder(
                format,
                EncodeOptions::default(),
                Box::new(SharedDest::default()),
            )
            .expect("encoder");
            for other in FileFormat::ALL {
                let expected =
                    other == format || (format == FileFormat::Pdf && other == FileFormat::Jpeg);
                assert_eq!(
                    enc.accepts_encoded(other),
                    expected,
                    "{format:?} taking {other:?}"
                );
            }
        }
        let doc = document_encoder(
            FileFormat::Tiff,
            EncodeOptions::default(),
            Box::new(SharedDest::default()),
        )
        .expect("encoder");
        assert!(FileFormat::ALL.iter().all(|&f| !doc.accepts_encoded(f)));
        let doc = document_encoder(
            FileFormat::Pdf,
            EncodeOptions::default(),
            Box::new(SharedDest::default()),
        )
        .expect("encoder");
        let taken: Vec<FileFormat> = FileFormat::ALL
            .into_iter()
            .filter(|&f| doc.accepts_encoded(f))
            .collect();
        assert_eq!(taken, vec![FileFormat::Jpeg]);
    }

    #[test]
    fn a_single_page_stream_takes_one_page() {
        let page = pattern_page(PixelFormat::Gray8, 8, 8, 100);
        for format in FileFormat::ALL {
            let mut enc = page_encoder(
                format,
                EncodeOptions::default(),
                Box::new(SharedDest::default()),
            )
            .expect("encoder");
            write_page(enc.as_mut(), &page, true, &[3]);
            let err = enc.begin_page(&page.header).expect_err("second page");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{format:?}");
            enc.finish().expect("finish");
            assert_eq!(enc.pages(), 1);
        }
    }

    #[test]
    fn a_full_disk_is_reported_as_an_error() {
        for format in FileFormat::ALL {
            for pixels in [PixelFormat::Rgb8, PixelFormat::Gray8, PixelFormat::Bw1] {
                for known in [true, false] {
                    let page = pattern_page(pixels, 97, 120, 150);
                    let dest = FullDisk {
                        inner: SharedDest::default(),
                        limit: 60,
                    };
                    let mut enc = page_encoder(format, EncodeOptions::default(), Box::new(dest))
                        .expect("encoder");
                    let header = PageHeader {
                        height: if known { page.header.height } else { None },
                        ..page.header
                    };
                    let mut result = enc.begin_page(&header);
                    for band in page.bands(7) {
                        result = result.and_then(|()| enc.write_band(&band));
                    }
                    let result = result
                        .and_then(|()| enc.end_page())
                        .and_then(|()| enc.finish());
                    let Err(err) = result else {
                        panic!("{format:?} {pixels:?} known={known}: the disk is full");
                    };
                    assert_eq!(
                        err.kind(),
                        io::ErrorKind::StorageFull,
                        "{format:?} {pixels:?} known={known}: {err}"
                    );
                    enc.abandon_page().expect("abandon after the error");
                }
            }
        }
    }

    #[test]
    fn odd_sizes_never_panic() {
        for format in FileFormat::ALL {
            for pixels in [PixelFormat::Rgb8, PixelFormat::Gray8, PixelFormat::Bw1] {
                for (w, h) in [(1, 1), (1, 9), (9, 1), (7, 3), (13, 2), (8, 1)] {
                    for known in [true, false] {
                        let dest = SharedDest::default();
                        let mut enc =
                            page_encoder(format, EncodeOptions::default(), Box::new(dest.clone()))
                                .expect("encoder");
                        write_page(
                            enc.as_mut(),
                            &pattern_page(pixels, w, h, 300),
                            known,
                            &[2, 1],
                        );
                        enc.finish().expect("finish");
                        assert!(!dest.bytes().is_empty());
                        assert_eq!(
                            dest.ends(),
                            (false, false),
                            "the encoder never completes the stream"
                        );
                    }
                }
            }
        }
    }
}
