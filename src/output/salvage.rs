//! Reading back a file an encoder was writing when its program stopped (a
//! crash, `kill -9`, a power cut): how many complete pages it holds and
//! where the last of them ends, so that it can be cut back to a valid file.
//!
//! It knows the layouts this crate writes and nothing more general:
//!
//! - PDF: one incremental update per page ([`pdf`](super::pdf)). The last
//!   `%%EOF` whose `startxref` leads to a cross-reference section whose
//!   entries all point at their objects ends the last complete revision;
//!   its page tree says how many pages it has. Anything after it is a page
//!   in progress.
//! - TIFF: classic little-endian, strips before their IFD
//!   ([`tiff`](super::tiff)). The IFD chain is walked from the header; an
//!   IFD counts when it and everything it points at lie inside the file.
//!   The file ends after the last such IFD's values, and a link to an IFD
//!   that does not count is to be set back to 0.
//! - A one-page image (PNG, JPEG, BMP, PNM): complete when it ends the way
//!   its format ends (PNG's `IEND`, JPEG's EOI) or decodes whole.
//!
//! Files are read through [`Read`] + [`Seek`] in bounded pieces, never
//! whole (except a one-page BMP or PNM, which is decoded), and a damaged
//! or foreign file yields "no complete page", never a panic. This module
//! reads only; [`leftover`](super::leftover) cuts files back.

use std::io::{self, Read, Seek, SeekFrom};

/// What a file holds of complete pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Salvage {
    /// The file's length once cut back to its last complete page.
    pub len: u64,
    /// Complete pages in that part.
    pub pages: u32,
    /// A TIFF link (the absolute offset of 4 bytes) that points past the
    /// last complete page and must be set to 0 after cutting the file.
    pub unlink: Option<u64>,
}

impl Salvage {
    /// Nothing worth keeping.
    const NOTHING: Salvage = Salvage {
        len: 0,
        pages: 0,
        unlink: None,
    };
}

/// Bytes read per step when looking for the end of a PDF revision.
const CHUNK: usize = 64 * 1024;

/// The largest cross-reference section or page tree read (a page tree of a
/// million pages is about 10 MB).
const MAX_SECTION: u64 = 32 * 1024 * 1024;

/// How many cross-reference sections or IFDs are followed at most.
const MAX_STEPS: u32 = 10_000_000;

/// Finds the complete pages of the file `reader` holds.
pub fn complete_pages<R: Read + Seek>(reader: &mut R) -> io::Result<Salvage> {
    let len = reader.seek(SeekFrom::End(0))?;
    let head = read_at(reader, 0, 8.min(len) as usize)?;
    if head.starts_with(b"%PDF-") {
        pdf(reader, len)
    } else if head.starts_with(b"II*\0") {
        tiff(reader, len)
    } else if head.is_empty() {
        Ok(Salvage::NOTHING)
    } else {
        image(reader, len)
    }
}

/// Reads `n` bytes at `offset` (fewer at the end of the file).
fn read_at<R: Read + Seek>(reader: &mut R, offset: u64, n: usize) -> io::Result<Vec<u8>> {
    reader.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Where `needle` occurs last in `haystack`.
fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

// ---------------------------------------------------------------- PDF

/// The last complete revision of a PDF.
fn pdf<R: Read + Seek>(reader: &mut R, len: u64) -> io::Result<Salvage> {
    const EOF: &[u8] = b"%%EOF";
    // Look backwards, chunk by chunk; chunks overlap so that a marker
    // across their border is found.
    let mut end = len;
    while end > 0 {
        let start = end.saturating_sub(CHUNK as u64);
        let chunk = read_at(reader, start, (end - start) as usize)?;
        let mut within = chunk.len();
        while let Some(at) = rfind(&chunk[..within], EOF) {
            let marker = start + at as u64;
            if let Some(pages) = pdf_revision(reader, marker)? {
                let mut cut = marker + EOF.len() as u64;
                if read_at(reader, cut, 1)? == b"\n" {
                    cut += 1;
                }
                return Ok(Salvage {
                    len: cut,
                    pages,
                    unlink: None,
                });
            }
            within = at;
        }
        if start == 0 {
            break;
        }
        end = start + (EOF.len() as u64 - 1);
    }
    Ok(Salvage::NOTHING)
}

/// The page count of the revision whose `%%EOF` is at `marker`, when that
/// revision is whole.
fn pdf_revision<R: Read + Seek>(reader: &mut R, marker: u64) -> io::Result<Option<u32>> {
    let from = marker.saturating_sub(40);
    let before = read_at(reader, from, (marker - from) as usize)?;
    let Some(at) = rfind(&before, b"startxref") else {
        return Ok(None);
    };
    let number = String::from_utf8_lossy(&before[at + b"startxref".len()..]).into_owned();
    let Ok(mut section) = number.trim().parse::<u64>() else {
        return Ok(None);
    };
    let mut limit = from + at as u64;
    // Follow `/Prev` until a section defines the page tree (object 2).
    for _ in 0..MAX_STEPS {
        let Some(parsed) = xref_section(reader, section, limit)? else {
            return Ok(None);
        };
        if let Some(offset) = parsed.pages_at {
            return page_count(reader, offset, section);
        }
        match parsed.prev {
            Some(prev) if prev < section => {
                limit = section;
                section = prev;
            }
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// What one cross-reference section says.
struct Section {
    /// Where object 2 (the page tree) is, when this section has it.
    pages_at: Option<u64>,
    /// The previous section.
    prev: Option<u64>,
}

/// Parses the cross-reference section at `offset`, which must end before
/// `limit`, and checks that every object it lists is where it says.
fn xref_section<R: Read + Seek>(
    reader: &mut R,
    offset: u64,
    limit: u64,
) -> io::Result<Option<Section>> {
    if offset >= limit || limit - offset > MAX_SECTION {
        return Ok(None);
    }
    let bytes = read_at(reader, offset, (limit - offset) as usize)?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(None);
    };
    let mut lines = text.split('\n');
    if lines.next() != Some("xref") {
        return Ok(None);
    }
    let mut pages_at = None;
    let mut objects = Vec::new();
    loop {
        let Some(line) = lines.next() else {
            return Ok(None);
        };
        if line == "trailer" {
            break;
        }
        let Some((first, count)) = line.split_once(' ') else {
            return Ok(None);
        };
        let (Ok(first), Ok(count)) = (first.parse::<u64>(), count.parse::<u64>()) else {
            return Ok(None);
        };
        for number in first..first.saturating_add(count) {
            let Some(entry) = lines.next() else {
                return Ok(None);
            };
            let fields: Vec<&str> = entry.split_whitespace().collect();
            let [at, _generation, kind] = fields[..] else {
                return Ok(None);
            };
            if kind == "f" {
                continue;
            }
            let Ok(at) = at.parse::<u64>() else {
                return Ok(None);
            };
            if kind != "n" || at >= offset {
                return Ok(None);
            }
            if number == 2 {
                pages_at = Some(at);
            }
            objects.push((number, at));
        }
    }
    let Some(trailer) = lines.next() else {
        return Ok(None);
    };
    if !trailer.starts_with("<<") || !trailer.contains("/Root") {
        return Ok(None);
    }
    for (number, at) in objects {
        let expected = format!("{number} 0 obj");
        if read_at(reader, at, expected.len())? != expected.as_bytes() {
            return Ok(None);
        }
    }
    let prev = trailer
        .split("/Prev ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    Ok(Some(Section { pages_at, prev }))
}

/// The `/Count` of the page tree object at `offset` (which ends before
/// `limit`).
fn page_count<R: Read + Seek>(reader: &mut R, offset: u64, limit: u64) -> io::Result<Option<u32>> {
    let n = (limit - offset).min(MAX_SECTION) as usize;
    let bytes = read_at(reader, offset, n)?;
    let Some(end) = rfind(&bytes, b"endobj").filter(|_| bytes.starts_with(b"2 0 obj")) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes[..end]);
    if !text.contains("/Type /Pages") {
        return Ok(None);
    }
    Ok(text
        .split("/Count ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok()))
}

// ---------------------------------------------------------------- TIFF

/// Bytes per value of a TIFF field type (0 for types not known).
fn type_size(kind: u16) -> u64 {
    match kind {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 => 4,
        5 | 10 | 12 => 8,
        _ => 0,
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The complete IFDs of a classic little-endian TIFF.
fn tiff<R: Read + Seek>(reader: &mut R, len: u64) -> io::Result<Salvage> {
    let head = read_at(reader, 0, 8)?;
    if head.len() < 8 {
        return Ok(Salvage::NOTHING);
    }
    let mut link_at = 4u64;
    let mut next = u64::from(le32(&head, 4));
    let mut last = 0u64;
    let mut salvage = Salvage {
        len: 8,
        pages: 0,
        unlink: None,
    };
    for _ in 0..MAX_STEPS {
        if next == 0 {
            break;
        }
        let extent = if next > last {
            ifd_extent(reader, next, len)?
        } else {
            // Our IFDs follow one another: a link backwards is damage.
            None
        };
        let Some(extent) = extent else {
            salvage.unlink = Some(link_at);
            break;
        };
        let ifd = read_at(reader, next, 2)?;
        let count = u64::from(le16(&ifd, 0));
        link_at = next + 2 + 12 * count;
        last = next;
        salvage.pages += 1;
        salvage.len = salvage.len.max(extent);
        next = u64::from(le32(&read_at(reader, link_at, 4)?, 0));
    }
    if salvage.pages == 0 {
        return Ok(Salvage::NOTHING);
    }
    Ok(salvage)
}

/// Where the IFD at `offset` and everything it points at end, when all of
/// it lies within the file's `len` bytes.
fn ifd_extent<R: Read + Seek>(reader: &mut R, offset: u64, len: u64) -> io::Result<Option<u64>> {
    if offset + 2 > len {
        return Ok(None);
    }
    let count = u64::from(le16(&read_at(reader, offset, 2)?, 0));
    let end = offset + 2 + 12 * count + 4;
    if count == 0 || end > len {
        return Ok(None);
    }
    let entries = read_at(reader, offset + 2, 12 * count as usize)?;
    let mut extent = end;
    let mut strips: (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
    for entry in entries.chunks_exact(12) {
        let tag = le16(entry, 0);
        let size = type_size(le16(entry, 2));
        let n = u64::from(le32(entry, 4));
        let bytes = size * n;
        let values = if bytes <= 4 {
            entry[8..8 + bytes as usize].to_vec()
        } else {
            let at = u64::from(le32(entry, 8));
            if at + bytes > len {
                return Ok(None);
            }
            extent = extent.max(at + bytes);
            if matches!(tag, 273 | 279) {
                read_at(reader, at, bytes as usize)?
            } else {
                Vec::new()
            }
        };
        if matches!(tag, 273 | 279) {
            let numbers: Vec<u64> = match size {
                2 => values
                    .chunks_exact(2)
                    .map(|v| u64::from(le16(v, 0)))
                    .collect(),
                4 => values
                    .chunks_exact(4)
                    .map(|v| u64::from(le32(v, 0)))
                    .collect(),
                _ => return Ok(None),
            };
            if tag == 273 {
                strips.0 = numbers;
            } else {
                strips.1 = numbers;
            }
        }
    }
    let (offsets, counts) = strips;
    if offsets.is_empty() || offsets.len() != counts.len() {
        return Ok(None);
    }
    for (at, count) in offsets.into_iter().zip(counts) {
        if at + count > len {
            return Ok(None);
        }
        extent = extent.max(at + count);
    }
    Ok(Some(extent))
}

// ---------------------------------------------------------------- images

/// A one-page image is complete when it ends as its format ends.
fn image<R: Read + Seek>(reader: &mut R, len: u64) -> io::Result<Salvage> {
    const PNG_END: &[u8] = b"IEND\xae\x42\x60\x82";
    let head = read_at(reader, 0, 8)?;
    let tail = read_at(reader, len.saturating_sub(8), 8)?;
    let whole = if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        tail.ends_with(PNG_END)
    } else if head.starts_with(&[0xff, 0xd8]) {
        tail.ends_with(&[0xff, 0xd9])
    } else if head.starts_with(b"BM") || head.first() == Some(&b'P') {
        let bytes = read_at(reader, 0, usize::try_from(len).unwrap_or(usize::MAX))?;
        image::load_from_memory(&bytes).is_ok()
    } else {
        false
    };
    Ok(if whole {
        Salvage {
            len,
            pages: 1,
            unlink: None,
        }
    } else {
        Salvage::NOTHING
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{EncodeOptions, FileFormat, document_encoder, page_encoder};
    use crate::raster::PixelFormat;
    use crate::testing::{SharedDest, pattern_page, write_page};
    use std::io::Cursor;

    /// A document of three pages of different kinds, and where each page
    /// ended (its last checkpoint).
    fn document(format: FileFormat) -> (Vec<u8>, Vec<(u64, u32)>) {
        let dest = SharedDest::default();
        let mut enc = document_encoder(format, EncodeOptions::default(), Box::new(dest.clone()))
            .expect("encoder");
        for (i, pixels) in [PixelFormat::Rgb8, PixelFormat::Bw1, PixelFormat::Gray8]
            .into_iter()
            .enumerate()
        {
            write_page(
                enc.as_mut(),
                &pattern_page(pixels, 21 + i as u32, 13, 100),
                i != 1,
                &[4],
            );
        }
        enc.finish().expect("finish");
        // TIFF checkpoints twice per page (its IFD written, then linked):
        // a page is complete at the first checkpoint that counts it.
        let mut ends: Vec<(u64, u32)> = Vec::new();
        for (len, pages) in dest.checkpoints() {
            if pages > 0 && ends.iter().all(|&(_, p)| p != pages) {
                ends.push((len, pages));
            }
        }
        (dest.bytes(), ends)
    }

    fn salvage(bytes: &[u8]) -> Salvage {
        complete_pages(&mut Cursor::new(bytes)).expect("reads from memory")
    }

    #[test]
    fn every_prefix_of_a_document_keeps_the_pages_it_holds() {
        for format in [FileFormat::Pdf, FileFormat::Tiff] {
            let (bytes, ends) = document(format);
            assert_eq!(ends.last().map(|e| e.1), Some(3), "{format:?}: {ends:?}");
            // A PDF revision is whole without the newline after `%%EOF`.
            let slack = u64::from(format == FileFormat::Pdf);
            for cut in 0..=bytes.len() {
                let got = salvage(&bytes[..cut]);
                let cut_at = cut as u64;
                let (len, pages) = ends
                    .iter()
                    .rev()
                    .find(|(len, _)| len - slack <= cut_at)
                    .map(|&(len, pages)| (len.min(cut_at), pages))
                    .unwrap_or((0, 0));
                assert_eq!(
                    (got.len, got.pages),
                    (len, pages),
                    "{format:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn a_page_in_progress_after_the_last_one_is_cut_off() {
        for format in [FileFormat::Pdf, FileFormat::Tiff] {
            let (mut bytes, ends) = document(format);
            let whole = bytes.len() as u64;
            assert_eq!(ends.last(), Some(&(whole, 3)));
            // What a page in progress leaves: strips, image data, and
            // bytes that look like markers.
            bytes.extend_from_slice(b"\x00\x01%%EOF\nstartxref\n12\n%%EOF\n\xff\xfe");
            let got = salvage(&bytes);
            assert_eq!((got.len, got.pages, got.unlink), (whole, 3, None));
        }
    }

    #[test]
    fn a_tiff_link_to_a_lost_page_is_to_be_cleared() {
        let (mut bytes, ends) = document(FileFormat::Tiff);
        let two = ends[1].0 as usize;
        assert_eq!(salvage(&bytes).pages, 3);
        // The end of the third page's IFD went missing, but the link to it
        // was made (a power cut can lose writes in any order).
        bytes.truncate(bytes.len() - 10);
        let got = salvage(&bytes);
        assert_eq!(got.pages, 2);
        assert_eq!(got.len, two as u64);
        let at = got.unlink.expect("a link to clear") as usize;
        assert!(at < two, "the link is in the part kept");
        bytes.truncate(two);
        bytes[at..at + 4].copy_from_slice(&[0; 4]);
        let decoded = tiff::decoder::Decoder::new(Cursor::new(&bytes));
        let mut decoder = decoded.expect("a TIFF");
        let mut pages = 1;
        while decoder.more_images() {
            decoder.next_image().expect("next page");
            pages += 1;
        }
        assert_eq!(pages, 2);
    }

    #[test]
    fn one_page_images_count_when_whole() {
        for format in [
            FileFormat::Png,
            FileFormat::Jpeg,
            FileFormat::Bmp,
            FileFormat::Pnm,
        ] {
            let dest = SharedDest::default();
            let mut enc = page_encoder(format, EncodeOptions::default(), Box::new(dest.clone()))
                .expect("encoder");
            write_page(
                enc.as_mut(),
                &pattern_page(PixelFormat::Gray8, 30, 20, 100),
                true,
                &[7],
            );
            enc.finish().expect("finish");
            let bytes = dest.bytes();
            assert_eq!(salvage(&bytes).pages, 1, "{format:?} whole");
            assert_eq!(
                salvage(&bytes[..bytes.len() - 3]).pages,
                0,
                "{format:?} cut short"
            );
        }
    }

    #[test]
    fn foreign_and_damaged_files_hold_nothing() {
        for bytes in [
            &b""[..],
            b"%PDF-1.4\n",
            b"%PDF-1.7\nstartxref\n9\n%%EOF\n",
            b"II*\0\x08\0\0\0",
            b"II*\0\xff\xff\xff\x7f",
            b"just some text",
        ] {
            assert_eq!(salvage(bytes), Salvage::NOTHING, "{bytes:?}");
        }
    }
}
