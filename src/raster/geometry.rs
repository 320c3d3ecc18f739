//! Pixel geometry on whole pages: cutting a rectangle out of a page and
//! cutting a turned rectangle out straight, in any pixel format.
//!
//! These are the raster operations a device back end needs to produce the
//! part of its glass a request asks for (the virtual scanner's scan area
//! and its photo regions) and that the filter builds on for auto-crop,
//! deskew and region extraction. Coordinates are page pixels, `(0, 0)`
//! the top-left corner of the top-left pixel; angles are degrees,
//! positive counter-clockwise.

use super::resample::{Affine, resample};
use super::{Page, PageHeader, PixelFormat};

/// An axis-aligned rectangle in page pixels: `x, y` is its top-left pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    /// Leftmost column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Rect {
    /// Column just right of the rectangle.
    pub fn right(&self) -> u32 {
        self.x.saturating_add(self.width)
    }

    /// Row just below the rectangle.
    pub fn bottom(&self) -> u32 {
        self.y.saturating_add(self.height)
    }

    /// The part of the rectangle that lies on a `width x height` page
    /// (zero-sized when they do not overlap).
    pub fn clipped(&self, width: u32, height: u32) -> Rect {
        let x = self.x.min(width);
        let y = self.y.min(height);
        Rect {
            x,
            y,
            width: self.right().min(width) - x,
            height: self.bottom().min(height) - y,
        }
    }
}

/// The part of `page` inside `rect`, clipped to the page, in the page's
/// format and resolution. A rectangle entirely off the page gives an empty
/// (0 x 0) page.
pub fn crop(page: &Page, rect: Rect) -> Page {
    let r = rect.clipped(page.header.width, page.height());
    let header = PageHeader {
        width: r.width,
        height: Some(r.height),
        ..page.header
    };
    if r.width == 0 || r.height == 0 {
        return Page {
            header: PageHeader {
                width: 0,
                height: Some(0),
                ..header
            },
            data: Vec::new(),
        };
    }
    let out_row = header.row_bytes();
    let mut data = Vec::with_capacity(out_row * r.height as usize);
    for y in r.y..r.bottom() {
        let row = page.row(y);
        match page.header.format {
            PixelFormat::Rgb8 | PixelFormat::Gray8 => {
                let ch = usize::from(page.header.format.channels());
                data.extend_from_slice(&row[r.x as usize * ch..r.right() as usize * ch]);
            }
            PixelFormat::Bw1 => push_bits(&mut data, row, r.x as usize, r.width as usize),
        }
    }
    Page { header, data }
}

/// Appends `width` bits of `row` starting at bit `start` (most significant
/// bit first), padded with clear bits to whole bytes.
fn push_bits(out: &mut Vec<u8>, row: &[u8], start: usize, width: usize) {
    let shift = start % 8;
    let first = start / 8;
    let bytes = width.div_ceil(8);
    for k in 0..bytes {
        let high = row.get(first + k).copied().unwrap_or(0);
        let byte = if shift == 0 {
            high
        } else {
            let low = row.get(first + k + 1).copied().unwrap_or(0);
            (high << shift) | (low >> (8 - shift))
        };
        out.push(byte);
    }
    let spare = bytes * 8 - width;
    if spare > 0
        && let Some(last) = out.last_mut()
    {
        *last &= 0xFFu8 << spare;
    }
}

/// `page` itself when it is Rgb8 or Gray8, otherwise (black and white) a
/// gray copy, so resampling code only meets 8-bit samples.
pub(crate) fn eight_bit(page: &Page) -> std::borrow::Cow<'_, Page> {
    match page.header.format {
        PixelFormat::Rgb8 | PixelFormat::Gray8 => std::borrow::Cow::Borrowed(page),
        PixelFormat::Bw1 => std::borrow::Cow::Owned(page.to_gray()),
    }
}

/// A black-and-white page from a gray one: values below 128 become black
/// (bit set), rows padded with white (clear) bits.
pub(crate) fn threshold_to_bw(gray: &Page) -> Page {
    let width = gray.header.width as usize;
    let height = gray.height() as usize;
    let header = PageHeader {
        format: PixelFormat::Bw1,
        ..gray.header
    };
    let row_bytes = header.row_bytes();
    let mut data = vec![0u8; row_bytes * height];
    if width > 0 {
        for (src, dst) in gray
            .data
            .chunks_exact(width)
            .zip(data.chunks_exact_mut(row_bytes.max(1)))
        {
            for (byte, pixels) in dst.iter_mut().zip(src.chunks(8)) {
                for (k, &v) in pixels.iter().enumerate() {
                    if v < 128 {
                        *byte |= 0x80 >> k;
                    }
                }
            }
        }
    }
    Page { header, data }
}

/// The `width x height` pixel rectangle centred on `(cx, cy)` with its
/// axes turned counter-clockwise by `angle_deg`, cut out of `page` and
/// turned straight (bicubic), in the page's format. Positions off the page
/// read white.
pub fn straighten(page: &Page, cx: f64, cy: f64, width: u32, height: u32, angle_deg: f64) -> Page {
    let map = Affine::straighten(cx, cy, f64::from(width), f64::from(height), angle_deg);
    let source = eight_bit(page);
    let out = resample(&source, width, height, &map, [255; 3]);
    match page.header.format {
        PixelFormat::Bw1 => threshold_to_bw(&out),
        PixelFormat::Rgb8 | PixelFormat::Gray8 => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_and_white_crop_shifts_bits_and_clears_padding() {
        let mut page = Page::filled(16, 2, PixelFormat::Bw1, 100, 0);
        page.data = vec![0b0011_0110, 0b1111_0000, 0xFF, 0xFF];
        let out = crop(
            &page,
            Rect {
                x: 3,
                y: 0,
                width: 10,
                height: 2,
            },
        );
        assert_eq!(out.header.width, 10);
        assert_eq!(out.data, vec![0b1011_0111, 0b1000_0000, 0xFF, 0xC0]);
    }

    #[test]
    fn crops_clip_to_the_page() {
        let page = Page::filled(10, 10, PixelFormat::Rgb8, 100, 7);
        let out = crop(
            &page,
            Rect {
                x: 8,
                y: 5,
                width: 10,
                height: 2,
            },
        );
        assert_eq!((out.header.width, out.height(), out.data.len()), (2, 2, 12));
        let none = crop(
            &page,
            Rect {
                x: 20,
                y: 0,
                width: 3,
                height: 3,
            },
        );
        assert_eq!((none.header.width, none.height()), (0, 0));
    }
}
