//! The one box-filter downscaler: rows in, rows shrunk by a whole factor
//! out, each output pixel the truncated mean of the `factor x factor`
//! block it covers (smaller at the right and bottom edges).
//!
//! It streams (a row of sums, never the page), so the live preview shrinks
//! bands as they arrive and the preview cache shrinks whole pages with the
//! same arithmetic.

use super::{PixelFormat, gray_row, rgb_row};

/// Shrinks rows of one page by a whole factor, to RGB or gray.
#[derive(Debug, Clone)]
pub struct BoxShrinker {
    width: u32,
    format: PixelFormat,
    factor: u32,
    color: bool,
    out_width: u32,
    sums: Vec<u32>,
    rows_in_sums: u32,
    row: Vec<u8>,
}

impl BoxShrinker {
    /// Shrinks rows `width` pixels wide in `format` by `factor` (at least
    /// 1); `color` gives RGB rows, else gray.
    pub fn new(width: u32, format: PixelFormat, factor: u32, color: bool) -> BoxShrinker {
        let factor = factor.max(1);
        let out_width = width.div_ceil(factor).max(1);
        let channels = if color { 3 } else { 1 };
        BoxShrinker {
            width,
            format,
            factor,
            color,
            out_width,
            sums: vec![0; out_width as usize * channels],
            rows_in_sums: 0,
            row: Vec::with_capacity(width as usize * channels),
        }
    }

    /// Pixels per output row.
    pub fn out_width(&self) -> u32 {
        self.out_width
    }

    /// Page pixels per output pixel, along each axis.
    pub fn factor(&self) -> u32 {
        self.factor
    }

    /// Bytes per output pixel (3 for RGB, 1 for gray).
    pub fn channels(&self) -> usize {
        if self.color { 3 } else { 1 }
    }

    /// Adds one input row; appends an output row to `out` when this row
    /// completed one, and says so.
    pub fn push_row(&mut self, row: &[u8], out: &mut Vec<u8>) -> bool {
        self.row.clear();
        let width = self.width as usize;
        if self.color {
            rgb_row(self.format, row, width, &mut self.row);
        } else {
            gray_row(self.format, row, width, &mut self.row);
        }
        let channels = self.channels();
        let factor = self.factor as usize;
        for (x, px) in self.row.chunks_exact(channels).enumerate() {
            let o = (x / factor) * channels;
            for (sum, &v) in self.sums[o..o + channels].iter_mut().zip(px) {
                *sum += u32::from(v);
            }
        }
        self.rows_in_sums += 1;
        if self.rows_in_sums == self.factor {
            self.emit(out);
            true
        } else {
            false
        }
    }

    /// Emits the last, partial block of rows at the end of the page, when
    /// there is one.
    pub fn flush(&mut self, out: &mut Vec<u8>) -> bool {
        if self.rows_in_sums > 0 {
            self.emit(out);
            true
        } else {
            false
        }
    }

    fn emit(&mut self, out: &mut Vec<u8>) {
        let channels = self.channels();
        for (ox, block) in self.sums.chunks_exact_mut(channels).enumerate() {
            let start = ox as u32 * self.factor;
            let cols = self.width.saturating_sub(start).min(self.factor).max(1);
            let n = cols * self.rows_in_sums.max(1);
            for value in block.iter_mut() {
                out.push((*value / n) as u8);
                *value = 0;
            }
        }
        self.rows_in_sums = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_average_and_edges_are_partial() {
        // 5 x 3 gray, factor 2: blocks of 2x2, 1x2, then 2x1, 1x1.
        let rows: [[u8; 5]; 3] = [
            [0, 10, 20, 30, 40],
            [10, 20, 30, 40, 50],
            [100, 100, 7, 7, 9],
        ];
        let mut shrink = BoxShrinker::new(5, PixelFormat::Gray8, 2, false);
        assert_eq!(shrink.out_width(), 3);
        let mut out = Vec::new();
        assert!(!shrink.push_row(&rows[0], &mut out));
        assert!(shrink.push_row(&rows[1], &mut out));
        assert!(!shrink.push_row(&rows[2], &mut out));
        assert!(shrink.flush(&mut out));
        assert!(!shrink.flush(&mut out));
        assert_eq!(out, vec![10, 30, 45, 100, 7, 9]);
    }

    #[test]
    fn black_and_white_becomes_gray_or_rgb() {
        // 1 = black: 0b1000_0000 is a black pixel then seven white ones.
        let mut gray = BoxShrinker::new(2, PixelFormat::Bw1, 2, false);
        let mut out = Vec::new();
        gray.push_row(&[0b1000_0000], &mut out);
        gray.push_row(&[0b1000_0000], &mut out);
        assert_eq!(out, vec![127]);
        let mut rgb = BoxShrinker::new(2, PixelFormat::Bw1, 1, true);
        let mut out = Vec::new();
        rgb.push_row(&[0b1000_0000], &mut out);
        assert_eq!(out, vec![0, 0, 0, 255, 255, 255]);
    }
}
