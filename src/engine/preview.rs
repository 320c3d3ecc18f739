//! Downscaled preview rows for the live view: the engine shrinks each
//! page's rows by a whole factor (box filter) so that a front end draws the
//! page as it streams without ever holding a full-resolution texture.

use crate::raster::shrink::BoxShrinker;
use crate::raster::{Band, PageHeader};
use std::time::Instant;

/// Downscaled RGB rows of a page in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewBand {
    /// Page number.
    pub page: u32,
    /// First preview row of this band.
    pub first_row: u32,
    /// Rows in `rgb`.
    pub rows: u32,
    /// Preview width in pixels.
    pub width: u32,
    /// `rows * width * 3` bytes of RGB.
    pub rgb: Vec<u8>,
    /// When the engine received the device rows that completed this band
    /// (real time, for the band-to-screen latency figures).
    pub arrived: Instant,
}

/// Shrinks one page's rows for the live preview (RGB, by a whole factor
/// that fits the preview width), with the one box downscaler of
/// [`BoxShrinker`].
pub(crate) struct Downscaler {
    page: u32,
    header: PageHeader,
    shrink: BoxShrinker,
    next_out_row: u32,
}

impl Downscaler {
    /// Prepares for `header`, shrinking to at most `max_width` pixels wide.
    pub(crate) fn new(page: u32, header: PageHeader, max_width: u32) -> Downscaler {
        let factor = header.width.div_ceil(max_width.max(1)).max(1);
        Downscaler {
            page,
            header,
            shrink: BoxShrinker::new(header.width, header.format, factor, true),
            next_out_row: 0,
        }
    }

    /// The preview's size (height when the page height is known).
    pub(crate) fn size(&self) -> (u32, Option<u32>) {
        (
            self.shrink.out_width(),
            self.header.height.map(|h| h.div_ceil(self.factor())),
        )
    }

    /// Page pixels per preview pixel.
    pub(crate) fn factor(&self) -> u32 {
        self.shrink.factor()
    }

    /// Adds full-resolution rows; returns the preview rows they completed.
    pub(crate) fn push(&mut self, band: &Band) -> Option<PreviewBand> {
        let arrived = Instant::now();
        let row_bytes = self.header.row_bytes();
        let mut out = Vec::new();
        let first = self.next_out_row;
        for row in band.row_iter(row_bytes) {
            if self.shrink.push_row(row, &mut out) {
                self.next_out_row += 1;
            }
        }
        self.band(first, out, arrived)
    }

    /// Emits the last, partial block of rows at the end of the page.
    pub(crate) fn flush(&mut self) -> Option<PreviewBand> {
        let arrived = Instant::now();
        let first = self.next_out_row;
        let mut out = Vec::new();
        if self.shrink.flush(&mut out) {
            self.next_out_row += 1;
        }
        self.band(first, out, arrived)
    }

    fn band(&self, first: u32, rgb: Vec<u8>, arrived: Instant) -> Option<PreviewBand> {
        if rgb.is_empty() {
            return None;
        }
        Some(PreviewBand {
            page: self.page,
            first_row: first,
            rows: self.next_out_row - first,
            width: self.shrink.out_width(),
            rgb,
            arrived,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::{Page, PixelFormat};

    #[test]
    fn shrinks_by_a_whole_factor_and_averages() {
        let mut page = Page::filled(10, 7, PixelFormat::Gray8, 300, 0);
        for (i, v) in page.data.iter_mut().enumerate() {
            *v = if (i % 10) < 5 { 0 } else { 200 };
        }
        let mut d = Downscaler::new(1, page.header, 4);
        assert_eq!(d.size(), (4, Some(3)));
        let mut rows = 0;
        let mut last = None;
        for band in page.bands(2) {
            if let Some(b) = d.push(&band) {
                assert_eq!(b.first_row, rows);
                rows += b.rows;
                last = Some(b);
            }
        }
        if let Some(b) = d.flush() {
            rows += b.rows;
            last = Some(b);
        }
        assert_eq!(rows, 3);
        let last = last.expect("rows");
        // Columns 0-2 black, 3-5 mixed (2 black, 1 white), 6-8 white, 9 white.
        assert_eq!(&last.rgb[0..3], &[0, 0, 0]);
        assert_eq!(last.rgb[3], 66);
        assert_eq!(last.rgb[6], 200);
        assert_eq!(last.rgb[9], 200);
    }
}
