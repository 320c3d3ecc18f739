//! Exact rotation by quarter turns, clockwise.
//!
//! A quarter turn moves every pixel to a new row, so it needs the whole
//! page; the pipeline buffers a page, rotates it at the page's end and
//! passes it on. Pixels are moved, never resampled (deskew by small angles
//! is another operation). All three pixel formats are rotated in their own
//! layout, bit-packed black and white included, without converting.
//!
//! For 90 degrees clockwise the top edge becomes the right edge: the pixel
//! at `(x, y)` of a `w` x `h` page lands at `(h - 1 - y, x)` of the `h` x `w`
//! result; 270 degrees sends it to `(y, w - 1 - x)`. Quarter turns also
//! swap the horizontal and vertical resolution.

use crate::filter::Rotation;
use crate::raster::{Page, PageHeader, PixelFormat};

/// Side of the square tiles 8-bit quarter turns work in, in pixels: small
/// enough that a tile's source rows stay in the first-level cache.
const TILE: usize = 64;
/// Result rows an 8-bit quarter turn fills together within a tile.
const ROWS_AT_ONCE: usize = 8;

/// Returns `page` turned clockwise by `rotation`.
///
/// The result has the width and height (and the horizontal and vertical
/// resolution) swapped for 90 and 270 degrees. Padding bits of
/// black-and-white rows are zero in the result.
pub fn rotate(page: &Page, rotation: Rotation) -> Page {
    let header = page.header;
    let width = header.width as usize;
    let row_bytes = header.row_bytes();
    // Trust the data over the header if they disagree: never read past it.
    let height = match row_bytes {
        0 => page.height() as usize,
        rb => (page.height() as usize).min(page.data.len() / rb),
    };
    let src = &page.data[..row_bytes * height];

    let quarter = |clockwise: bool| {
        let data = if width == 0 || height == 0 {
            vec![0; header.format.row_bytes(height as u32) * width]
        } else {
            match header.format {
                PixelFormat::Rgb8 => quarter_turn_bytes::<3>(src, width, height, clockwise),
                PixelFormat::Gray8 => quarter_turn_bytes::<1>(src, width, height, clockwise),
                PixelFormat::Bw1 => quarter_turn_bits(src, width, height, clockwise),
            }
        };
        Page {
            header: PageHeader {
                width: height as u32,
                height: Some(width as u32),
                dpi_x: header.dpi_y,
                dpi_y: header.dpi_x,
                ..header
            },
            data,
        }
    };

    match rotation {
        Rotation::None => page.clone(),
        Rotation::Cw90 => quarter(true),
        Rotation::Cw270 => quarter(false),
        Rotation::Cw180 => {
            let data = if row_bytes == 0 {
                Vec::new()
            } else {
                match header.format {
                    PixelFormat::Rgb8 => half_turn_bytes::<3>(src, row_bytes),
                    PixelFormat::Gray8 => half_turn_bytes::<1>(src, row_bytes),
                    PixelFormat::Bw1 => half_turn_bits(src, width, row_bytes),
                }
            };
            Page {
                header: PageHeader {
                    height: Some(height as u32),
                    ..header
                },
                data,
            }
        }
    }
}

/// 180 degrees for pixels of `N` bytes: rows in reverse order, each row's
/// pixels reversed.
fn half_turn_bytes<const N: usize>(src: &[u8], row_bytes: usize) -> Vec<u8> {
    let mut dst = vec![0u8; src.len()];
    let rows = dst
        .chunks_exact_mut(row_bytes)
        .zip(src.chunks_exact(row_bytes).rev());
    for (dst_row, src_row) in rows {
        let (dst_px, _) = dst_row.as_chunks_mut::<N>();
        let (src_px, _) = src_row.as_chunks::<N>();
        for (d, s) in dst_px.iter_mut().zip(src_px.iter().rev()) {
            *d = *s;
        }
    }
    dst
}

/// 180 degrees for packed black and white: rows in reverse order, each
/// row's bits reversed and shifted left over the padding.
fn half_turn_bits(src: &[u8], width: usize, row_bytes: usize) -> Vec<u8> {
    let pad = row_bytes * 8 - width;
    let mut dst = vec![0u8; src.len()];
    let rows = dst
        .chunks_exact_mut(row_bytes)
        .zip(src.chunks_exact(row_bytes).rev());
    for (dst_row, src_row) in rows {
        for (d, s) in dst_row.iter_mut().zip(src_row.iter().rev()) {
            *d = s.reverse_bits();
        }
        if pad > 0 {
            // Reversed, the padding is at the start: move it back to the end.
            for i in 0..row_bytes {
                let next = dst_row.get(i + 1).map_or(0, |&b| b >> (8 - pad));
                dst_row[i] = (dst_row[i] << pad) | next;
            }
        }
    }
    dst
}

/// 90 degrees clockwise (or counter-clockwise) for pixels of `N` bytes, in
/// square tiles of the result. Within a tile, [`ROWS_AT_ONCE`] result rows
/// are filled together, so each source row is read a few adjacent pixels
/// at a time instead of one.
fn quarter_turn_bytes<const N: usize>(
    src: &[u8],
    width: usize,
    height: usize,
    clockwise: bool,
) -> Vec<u8> {
    let mut dst = vec![0u8; src.len()];
    let (src_px, _) = src.as_chunks::<N>();
    let (dst_px, _) = dst.as_chunks_mut::<N>();
    // The result is `height` pixels wide and `width` rows tall; result row y
    // is source column y (clockwise) or w - 1 - y, result column x is
    // source row h - 1 - x (clockwise) or x.
    let out_width = height;
    let source_row = |out_x: usize| if clockwise { height - 1 - out_x } else { out_x };
    for tile_y in (0..width).step_by(TILE) {
        let tile_y_end = (tile_y + TILE).min(width);
        for tile_x in (0..out_width).step_by(TILE) {
            let tile_x_end = (tile_x + TILE).min(out_width);
            let mut out_y = tile_y;
            while out_y + ROWS_AT_ONCE <= tile_y_end {
                // Source columns of result rows out_y .. out_y + ROWS_AT_ONCE.
                let first_column = if clockwise {
                    out_y
                } else {
                    width - out_y - ROWS_AT_ONCE
                };
                for out_x in tile_x..tile_x_end {
                    let start = source_row(out_x) * width + first_column;
                    let pixels = &src_px[start..start + ROWS_AT_ONCE];
                    for (k, px) in pixels.iter().enumerate() {
                        let row = if clockwise { k } else { ROWS_AT_ONCE - 1 - k };
                        dst_px[(out_y + row) * out_width + out_x] = *px;
                    }
                }
                out_y += ROWS_AT_ONCE;
            }
            for out_y in out_y..tile_y_end {
                let column = if clockwise { out_y } else { width - 1 - out_y };
                for out_x in tile_x..tile_x_end {
                    dst_px[out_y * out_width + out_x] = src_px[source_row(out_x) * width + column];
                }
            }
        }
    }
    dst
}

/// 90 degrees clockwise (or counter-clockwise) for packed black and white,
/// eight by eight pixels at a time: eight source bytes from eight rows are
/// transposed as one 64-bit matrix into eight bytes of eight result rows.
fn quarter_turn_bits(src: &[u8], width: usize, height: usize, clockwise: bool) -> Vec<u8> {
    let src_row_bytes = PixelFormat::Bw1.row_bytes(width as u32);
    let out_row_bytes = PixelFormat::Bw1.row_bytes(height as u32);
    let mut dst = vec![0u8; out_row_bytes * width];
    for out_byte in 0..out_row_bytes {
        // Bit j of this result byte column is result x = 8 * out_byte + j,
        // which comes from source row h - 1 - x (clockwise) or x.
        let mut rows: [&[u8]; 8] = [&[]; 8];
        for (j, row) in rows.iter_mut().enumerate() {
            let x = out_byte * 8 + j;
            if x < height {
                let y = if clockwise { height - 1 - x } else { x };
                *row = &src[y * src_row_bytes..(y + 1) * src_row_bytes];
            }
        }
        for src_byte in 0..src_row_bytes {
            let mut block = 0u64;
            for row in &rows {
                block = (block << 8) | u64::from(row.get(src_byte).copied().unwrap_or(0));
            }
            if block == 0 {
                continue;
            }
            let block = transpose8(block);
            // Row k of the transposed block is source column 8 * src_byte + k.
            for k in 0..8 {
                let x = src_byte * 8 + k;
                if x >= width {
                    break;
                }
                let out_y = if clockwise { x } else { width - 1 - x };
                dst[out_y * out_row_bytes + out_byte] = (block >> (56 - 8 * k)) as u8;
            }
        }
    }
    dst
}

/// Transposes an 8 x 8 bit matrix held row by row in a `u64` (row 0 in the
/// most significant byte, column 0 in each byte's most significant bit) by
/// swapping ever larger off-diagonal blocks: single bits within 2 x 2
/// blocks, then 2 x 2 blocks within 4 x 4, then the two 4 x 4 quadrants.
fn transpose8(mut m: u64) -> u64 {
    let t = (m ^ (m >> 7)) & 0x00AA_00AA_00AA_00AA;
    m ^= t ^ (t << 7);
    let t = (m ^ (m >> 14)) & 0x0000_CCCC_0000_CCCC;
    m ^= t ^ (t << 14);
    let t = (m ^ (m >> 28)) & 0x0000_0000_F0F0_F0F0;
    m ^= t ^ (t << 28);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(width: u32, height: u32, format: PixelFormat) -> Page {
        let mut page = Page::filled(width, height, format, 300, 0);
        page.header.dpi_y = 200;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for b in page.data.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        clear_padding(&mut page);
        page
    }

    fn clear_padding(page: &mut Page) {
        let width = page.header.width as usize;
        if page.header.format != PixelFormat::Bw1 || width.is_multiple_of(8) {
            return;
        }
        let row_bytes = page.header.row_bytes();
        let mask = 0xFFu8 << (8 - width % 8);
        for row in page.data.chunks_exact_mut(row_bytes) {
            row[row_bytes - 1] &= mask;
        }
    }

    /// The pixel at `(x, y)` as bytes (one byte 0/1 for black and white).
    fn pixel(page: &Page, x: u32, y: u32) -> Vec<u8> {
        let row = page.row(y);
        let x = x as usize;
        match page.header.format {
            PixelFormat::Rgb8 => row[x * 3..x * 3 + 3].to_vec(),
            PixelFormat::Gray8 => vec![row[x]],
            PixelFormat::Bw1 => vec![(row[x / 8] >> (7 - x % 8)) & 1],
        }
    }

    const FORMATS: [PixelFormat; 3] = [PixelFormat::Rgb8, PixelFormat::Gray8, PixelFormat::Bw1];
    const SIZES: [(u32, u32); 6] = [(1, 1), (13, 7), (8, 16), (37, 70), (70, 37), (65, 9)];

    #[test]
    fn transpose8_matches_the_definition() {
        let mut m = 0x0123_4567_89AB_CDEFu64;
        for _ in 0..64 {
            let t = transpose8(m);
            for i in 0..8 {
                for j in 0..8 {
                    let bit = |v: u64, r: usize, c: usize| (v >> (63 - 8 * r - c)) & 1;
                    assert_eq!(bit(t, i, j), bit(m, j, i));
                }
            }
            m = m.rotate_left(11).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    #[test]
    fn every_pixel_lands_where_the_definition_says() {
        for format in FORMATS {
            for (w, h) in SIZES {
                let page = numbered(w, h, format);
                let cw = rotate(&page, Rotation::Cw90);
                let ccw = rotate(&page, Rotation::Cw270);
                let half = rotate(&page, Rotation::Cw180);
                assert_eq!((cw.header.width, cw.height()), (h, w));
                assert_eq!((ccw.header.width, ccw.height()), (h, w));
                assert_eq!((half.header.width, half.height()), (w, h));
                for y in 0..h {
                    for x in 0..w {
                        let p = pixel(&page, x, y);
                        assert_eq!(pixel(&cw, h - 1 - y, x), p, "{format:?} {w}x{h} 90");
                        assert_eq!(pixel(&ccw, y, w - 1 - x), p, "{format:?} {w}x{h} 270");
                        assert_eq!(pixel(&half, w - 1 - x, h - 1 - y), p, "{format:?} 180");
                    }
                }
            }
        }
    }

    #[test]
    fn four_quarter_turns_and_a_turn_back_are_the_identity() {
        for format in FORMATS {
            for (w, h) in SIZES {
                let page = numbered(w, h, format);
                let mut turned = page.clone();
                for _ in 0..4 {
                    turned = rotate(&turned, Rotation::Cw90);
                }
                assert_eq!(turned, page, "{format:?} {w}x{h} 4 x 90");
                let back = rotate(&rotate(&page, Rotation::Cw90), Rotation::Cw270);
                assert_eq!(back, page, "{format:?} {w}x{h} 90 + 270");
                let twice = rotate(&rotate(&page, Rotation::Cw180), Rotation::Cw180);
                assert_eq!(twice, page, "{format:?} {w}x{h} 2 x 180");
                assert_eq!(
                    rotate(&rotate(&page, Rotation::Cw90), Rotation::Cw90),
                    rotate(&page, Rotation::Cw180),
                    "{format:?} {w}x{h} 2 x 90"
                );
                assert_eq!(rotate(&page, Rotation::None), page);
            }
        }
    }

    #[test]
    fn the_top_left_pixel_goes_to_the_top_right_for_90_clockwise() {
        let mut page = Page::filled(5, 3, PixelFormat::Gray8, 300, 255);
        page.data[0] = 0;
        let turned = rotate(&page, Rotation::Cw90);
        assert_eq!((turned.header.width, turned.height()), (3, 5));
        assert_eq!(turned.row(0), &[255, 255, 0]);
        assert!(turned.data[3..].iter().all(|&v| v == 255));
    }

    #[test]
    fn quarter_turns_swap_the_resolution() {
        let page = numbered(9, 4, PixelFormat::Gray8);
        let turned = rotate(&page, Rotation::Cw270);
        assert_eq!((turned.header.dpi_x, turned.header.dpi_y), (200, 300));
        let half = rotate(&page, Rotation::Cw180);
        assert_eq!((half.header.dpi_x, half.header.dpi_y), (300, 200));
    }

    #[test]
    fn black_and_white_padding_stays_zero() {
        // Odd width with every pixel black: padding bits must not turn black.
        let mut page = Page::filled(11, 5, PixelFormat::Bw1, 300, 0xFF);
        clear_padding(&mut page);
        for rotation in [Rotation::Cw90, Rotation::Cw180, Rotation::Cw270] {
            let turned = rotate(&page, rotation);
            let mut cleared = turned.clone();
            clear_padding(&mut cleared);
            assert_eq!(turned, cleared, "{rotation:?}");
            let black: u32 = turned.data.iter().map(|b| b.count_ones()).sum();
            assert_eq!(black, 55, "{rotation:?}");
        }
        // Dirty padding in the source is not copied either.
        let dirty = Page::filled(11, 5, PixelFormat::Bw1, 300, 0xFF);
        assert_eq!(
            rotate(&dirty, Rotation::Cw90),
            rotate(&page, Rotation::Cw90)
        );
        assert_eq!(
            rotate(&dirty, Rotation::Cw180),
            rotate(&page, Rotation::Cw180)
        );
    }

    #[test]
    fn empty_pages_turn_without_panicking() {
        for format in FORMATS {
            for (w, h) in [(0, 4), (4, 0), (0, 0)] {
                let page = Page::filled(w, h, format, 100, 0);
                for rotation in [Rotation::Cw90, Rotation::Cw180, Rotation::Cw270] {
                    let turned = rotate(&page, rotation);
                    let rows = turned.height() as usize;
                    assert_eq!(turned.data.len(), turned.header.row_bytes() * rows);
                }
            }
        }
    }
}
