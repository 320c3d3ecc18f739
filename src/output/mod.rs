//! Output: encoders that write pages as image files into destination
//! streams, one page per stream (PNG, JPEG, TIFF, BMP, PNM) or a whole job
//! per stream (multipage TIFF, PDF), plus the file destinations the
//! application hands out (temporary names, no silent overwrite), and the
//! way back from a scan that did not end: reading a half-written file
//! ([`salvage`]) and keeping or removing the temporary files left over
//! ([`leftover`]).
//!
//! Every encoder implements [`PageEncoder`]; the transfer layer drives it
//! with the call order documented there and never touches the stream
//! itself while a page is being written.

pub mod bmp;
mod common;
pub mod file;
pub mod jpeg;
pub mod leftover;
pub mod naming;
pub mod pdf;
pub mod png;
pub mod pnm;
pub mod salvage;
pub mod tiff;

pub use bmp::BmpEncoder;
pub use file::FileDestination;
pub use jpeg::JpegEncoder;
pub use naming::{OutputPattern, default_pattern};
pub use pdf::PdfEncoder;
pub use png::PngEncoder;
pub use pnm::PnmEncoder;
pub use tiff::TiffEncoder;

pub use crate::stream::{Destination, EncodeOptions, FileFormat, PageEncoder};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::{Page, PageHeader, PixelFormat};
    use crate::testing::{FullDisk, SharedDest, pattern_page, write_page};

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

    /// Five pages of every kind, some of unknown height.
    fn five_pages() -> Vec<(Page, bool)> {
        [
            (PixelFormat::Rgb8, true),
            (PixelFormat::Bw1, false),
            (PixelFormat::Gray8, true),
            (PixelFormat::Rgb8, false),
            (PixelFormat::Bw1, true),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (pixels, known))| (pattern_page(pixels, 19 + i as u32, 11, 150), known))
        .collect()
    }

    /// Writes `pages` into a document the way the transfer layer does: at
    /// the first error the page in progress is abandoned and the job ends;
    /// the document is then finished. Returns the pages kept and the
    /// first error.
    fn scan_document(enc: &mut dyn PageEncoder, pages: &[(Page, bool)]) -> Option<io::Error> {
        for (page, known) in pages {
            let header = PageHeader {
                height: if *known { page.header.height } else { None },
                ..page.header
            };
            let mut result = enc.begin_page(&header);
            for band in page.bands(4) {
                result = result.and_then(|()| enc.write_band(&band));
            }
            if let Err(err) = result.and_then(|()| enc.end_page()) {
                enc.abandon_page()
                    .expect("cutting the page off works on a full disk");
                return Some(err);
            }
        }
        None
    }

    #[test]
    fn a_full_disk_at_any_byte_keeps_the_pages_completed_before_it() {
        let pages = five_pages();
        for format in [FileFormat::Pdf, FileFormat::Tiff] {
            let whole = SharedDest::default();
            let mut enc =
                document_encoder(format, EncodeOptions::default(), Box::new(whole.clone()))
                    .expect("encoder");
            assert!(scan_document(enc.as_mut(), &pages).is_none());
            enc.finish().expect("finish");
            let reference = whole.bytes();
            // Where each page's document ends: its first checkpoint that
            // counts it (TIFF checkpoints again once the page is linked).
            let mut ends: Vec<u64> = Vec::new();
            for (len, count) in whole.checkpoints() {
                if count as usize > ends.len() {
                    ends.push(len);
                }
            }
            assert_eq!(ends.len(), 5, "{format:?}");
            assert_eq!(*ends.last().expect("five"), reference.len() as u64);
            // The document of the first k pages, for every k.
            let documents: Vec<Vec<u8>> = (1..=pages.len())
                .map(|k| {
                    let dest = SharedDest::default();
                    let mut enc =
                        document_encoder(format, EncodeOptions::default(), Box::new(dest.clone()))
                            .expect("encoder");
                    assert!(scan_document(enc.as_mut(), &pages[..k]).is_none());
                    enc.finish().expect("finish");
                    dest.bytes()
                })
                .collect();

            for limit in 0..=reference.len() as u64 + 1 {
                let disk = SharedDest::default();
                let dest = FullDisk {
                    inner: disk.clone(),
                    limit,
                };
                let mut enc = document_encoder(format, EncodeOptions::default(), Box::new(dest))
                    .expect("encoder");
                let error = scan_document(enc.as_mut(), &pages);
                let kept = ends.iter().filter(|&&end| end <= limit).count();
                assert_eq!(enc.pages() as usize, kept, "{format:?} on {limit} bytes");
                match error {
                    None => assert_eq!(kept, 5, "{format:?} on {limit} bytes"),
                    Some(err) => assert_eq!(
                        err.kind(),
                        io::ErrorKind::StorageFull,
                        "{format:?} on {limit} bytes: {err}"
                    ),
                }
                let finished = enc.finish();
                if kept == 0 {
                    assert!(finished.is_err(), "{format:?}: nothing to finish");
                    continue;
                }
                finished.unwrap_or_else(|e| panic!("{format:?} on {limit} bytes: {e}"));
                // The document of the pages completed: exactly what it was
                // after its last page, valid as such.
                assert!(
                    disk.bytes() == documents[kept - 1],
                    "{format:?} on {limit} bytes: cut back to page {kept}"
                );
            }
            // Each of those documents is a valid one of its pages.
            for (count, bytes) in documents.iter().enumerate() {
                let found = crate::output::salvage::complete_pages(&mut io::Cursor::new(bytes))
                    .expect("reads");
                let expected = (bytes.len() as u64, count as u32 + 1, None);
                assert_eq!((found.len, found.pages, found.unlink), expected);
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
