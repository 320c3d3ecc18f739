//! What the unit tests inside `src/` share, in one place behind
//! `cfg(test)`: a memory destination the test keeps a handle on, one that
//! runs out of space, synthetic pages cut into uneven bands, a page encoder
//! driven through a whole page, and a seeded noise source. (Integration
//! tests have their own in `tests/support/`.)

use crate::raster::{Band, Page, PageHeader, PixelFormat};
use crate::stream::Destination;
use crate::stream::PageEncoder;
use std::io::{self, Cursor, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

/// What a [`SharedDest`] holds.
#[derive(Default)]
struct Shared {
    cursor: Cursor<Vec<u8>>,
    completed: bool,
    discarded: bool,
    /// (length, pages) at every checkpoint.
    checkpoints: Vec<(u64, u32)>,
}

/// A memory destination shared between the encoder and the test.
#[derive(Clone, Default)]
pub(crate) struct SharedDest {
    inner: Arc<Mutex<Shared>>,
}

impl SharedDest {
    /// Everything written so far.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        self.inner.lock().expect("lock").cursor.get_ref().clone()
    }

    /// Whether `complete` / `discard` were called.
    pub(crate) fn ends(&self) -> (bool, bool) {
        let inner = self.inner.lock().expect("lock");
        (inner.completed, inner.discarded)
    }

    /// The stream's length and page count at every checkpoint so far.
    pub(crate) fn checkpoints(&self) -> Vec<(u64, u32)> {
        self.inner.lock().expect("lock").checkpoints.clone()
    }
}

impl Write for SharedDest {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.lock().expect("lock").cursor.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for SharedDest {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.lock().expect("lock").cursor.seek(pos)
    }
}

impl Destination for SharedDest {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).expect("len");
        self.inner
            .lock()
            .expect("lock")
            .cursor
            .get_mut()
            .resize(len, 0);
        Ok(())
    }
    fn complete(&mut self) -> io::Result<()> {
        self.inner.lock().expect("lock").completed = true;
        Ok(())
    }
    fn discard(&mut self) {
        let mut inner = self.inner.lock().expect("lock");
        inner.discarded = true;
        inner.cursor = Cursor::new(Vec::new());
    }
    fn checkpoint(&mut self, pages: u32) -> io::Result<()> {
        let mut inner = self.inner.lock().expect("lock");
        let len = inner.cursor.get_ref().len() as u64;
        inner.checkpoints.push((len, pages));
        Ok(())
    }
}

/// A disk that holds `limit` bytes: a write that would go past them stores
/// what fits and reports it (a short write, as a file system does), and
/// the next write fails with [`io::ErrorKind::StorageFull`]. Cutting the
/// stream shorter frees the space again.
pub(crate) struct FullDisk {
    pub(crate) inner: SharedDest,
    pub(crate) limit: u64,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let pos = self.inner.stream_position()?;
        let room = self.limit.saturating_sub(pos);
        if room == 0 && !buf.is_empty() {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        let fits = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        self.inner.write(&buf[..fits])
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for FullDisk {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl Destination for FullDisk {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn complete(&mut self) -> io::Result<()> {
        self.inner.complete()
    }
    fn discard(&mut self) {
        self.inner.discard();
    }
    fn checkpoint(&mut self, pages: u32) -> io::Result<()> {
        self.inner.checkpoint(pages)
    }
}

/// A recognisable page: smooth gradients for 8-bit formats, blocks and
/// stripes for black-and-white.
pub(crate) fn pattern_page(format: PixelFormat, width: u32, height: u32, dpi: u32) -> Page {
    let mut page = Page::filled(width, height, format, dpi, 0);
    let rb = page.header.row_bytes();
    let (w, h) = (width as usize, height as usize);
    for y in 0..h {
        let row = &mut page.data[y * rb..(y + 1) * rb];
        for x in 0..w {
            match format {
                PixelFormat::Rgb8 => {
                    row[x * 3] = (x * 255 / w.max(2)) as u8;
                    row[x * 3 + 1] = (y * 255 / h.max(2)) as u8;
                    row[x * 3 + 2] = ((x + y) * 255 / (w + h)) as u8;
                }
                PixelFormat::Gray8 => row[x] = ((x + 2 * y) * 255 / (w + 2 * h)) as u8,
                PixelFormat::Bw1 => {
                    if (x / 8 + y / 8) % 2 == 0 || x == y {
                        row[x / 8] |= 0x80 >> (x % 8);
                    }
                }
            }
        }
    }
    page
}

/// Cuts `page` into bands of the uneven `sizes`, cycling.
pub(crate) fn uneven_bands(page: &Page, sizes: &[u32]) -> Vec<Band> {
    let rb = page.header.row_bytes();
    let mut bands = Vec::new();
    let mut row = 0;
    let mut i = 0;
    while row < page.height() {
        let rows = sizes[i % sizes.len()].min(page.height() - row);
        let start = row as usize * rb;
        bands.push(Band {
            first_row: row,
            rows,
            data: page.data[start..start + rows as usize * rb].to_vec(),
        });
        row += rows;
        i += 1;
    }
    bands
}

/// Writes `page` as one page (height known or not) and finishes.
pub(crate) fn encode_whole(mut enc: Box<dyn PageEncoder>, page: &Page, known: bool, sizes: &[u32]) {
    write_page(enc.as_mut(), page, known, sizes);
    enc.finish().expect("finish");
}

/// Writes `page` as one page of `enc`, without finishing.
pub(crate) fn write_page(enc: &mut dyn PageEncoder, page: &Page, known: bool, sizes: &[u32]) {
    let header = PageHeader {
        height: if known { page.header.height } else { None },
        ..page.header
    };
    enc.begin_page(&header).expect("begin_page");
    for band in uneven_bands(page, sizes) {
        enc.write_band(&band).expect("write_band");
    }
    enc.end_page().expect("end_page");
}

/// A seeded xorshift generator: the same "random" texture on every run.
pub(crate) struct Noise(pub(crate) u64);

impl Noise {
    /// The next 64 bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `-spread..=spread`.
    pub(crate) fn offset(&mut self, spread: i32) -> i32 {
        (self.next() % (2 * spread as u64 + 1)) as i32 - spread
    }
}
