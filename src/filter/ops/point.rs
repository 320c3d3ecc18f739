//! Point operations: brightness, contrast and gamma folded into one lookup
//! table.
//!
//! Every output sample depends only on the input sample at the same place,
//! so a [`PointLut`] works row by row and can run band by band while a page
//! is still arriving. It leaves black-and-white rows alone (there is nothing
//! to brighten in one bit). It is not a colour-management step: all three
//! RGB channels go through the same curve.
//!
//! # Curves
//!
//! With `x = in / 255`, the table applies, in this order, clamping the value
//! to `0..=1` after each step:
//!
//! 1. **brightness** `b` (-1000..=1000): `x + b / 1000`, a shift of
//!    `b * 255 / 1000` gray levels; +1000 makes every sample white, -1000
//!    black.
//! 2. **contrast** `c` (-1000..=1000): `0.5 + (x - 0.5) * f` with
//!    `f = tan((c / 1000 + 1) * pi / 4)`: a slope around mid-gray of 1 at 0,
//!    0 at -1000 (every sample becomes mid-gray, 128) and unbounded at +1000
//!    (a hard threshold: below mid-gray black, above it white).
//! 3. **gamma** `g` (0.1..=10, 1 = unchanged): `x^(1/g)`; above 1 brightens
//!    mid-tones, black and white stay where they are.
//!
//! The result is `round(255 * x)`. Each step is non-decreasing, so the whole
//! table is monotonic. Values outside the ranges are clamped into them; a
//! gamma that is not a positive finite number counts as 1.

use crate::filter::FilterSettings;
use crate::raster::{Band, Page, PageHeader, PixelFormat};
use std::f64::consts::FRAC_PI_4;

/// Smallest gamma [`PointLut::new`] uses; smaller values are raised to it.
pub const MIN_GAMMA: f32 = 0.1;
/// Largest gamma [`PointLut::new`] uses; larger values are lowered to it.
pub const MAX_GAMMA: f32 = 10.0;

/// Brightness, contrast and gamma as one 256-entry table, applied to every
/// 8-bit sample (each channel of RGB, the level of gray).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointLut {
    table: [u8; 256],
    identity: bool,
}

impl PointLut {
    /// Builds the table for `brightness` and `contrast` (-1000..=1000, 0 =
    /// unchanged) and `gamma` (1.0 = unchanged), with the curves of the
    /// [module documentation](self).
    pub fn new(brightness: i32, contrast: i32, gamma: f32) -> PointLut {
        let shift = f64::from(brightness.clamp(-1000, 1000)) / 1000.0;
        let slope = (f64::from(contrast.clamp(-1000, 1000)) / 1000.0 + 1.0) * FRAC_PI_4;
        let slope = slope.tan();
        let gamma = if gamma.is_finite() && gamma > 0.0 {
            f64::from(gamma.clamp(MIN_GAMMA, MAX_GAMMA))
        } else {
            1.0
        };
        let exponent = 1.0 / gamma;

        let mut table = [0u8; 256];
        for (level, out) in table.iter_mut().enumerate() {
            let mut x = level as f64 / 255.0;
            x = (x + shift).clamp(0.0, 1.0);
            let offset = x - 0.5;
            // At +1000 the slope is huge but finite; mid-gray itself stays put.
            x = if offset == 0.0 {
                0.5
            } else {
                (0.5 + offset * slope).clamp(0.0, 1.0)
            };
            if exponent != 1.0 {
                x = x.powf(exponent);
            }
            *out = (x * 255.0).round().clamp(0.0, 255.0) as u8;
        }
        let identity = table.iter().enumerate().all(|(i, &v)| usize::from(v) == i);
        PointLut { table, identity }
    }

    /// The table for the brightness, contrast and gamma of `settings`.
    pub fn from_settings(settings: &FilterSettings) -> PointLut {
        PointLut::new(settings.brightness, settings.contrast, settings.gamma)
    }

    /// True when the table maps every level to itself, so applying it
    /// changes no byte and can be skipped.
    pub fn is_identity(&self) -> bool {
        self.identity
    }

    /// The output level for input level `level`.
    pub fn map(&self, level: u8) -> u8 {
        self.table[usize::from(level)]
    }

    /// The whole table: entry `i` is the output for input level `i`.
    pub fn table(&self) -> &[u8; 256] {
        &self.table
    }

    /// Applies the table in place to the first `width` pixels of one row in
    /// `format` (each channel of [`PixelFormat::Rgb8`], the level of
    /// [`PixelFormat::Gray8`]). [`PixelFormat::Bw1`] rows are left as they
    /// are. A row shorter than `width` pixels is processed as far as it
    /// goes.
    pub fn apply_row(&self, format: PixelFormat, row: &mut [u8], width: usize) {
        if self.identity {
            return;
        }
        let samples = match format {
            PixelFormat::Rgb8 => width.saturating_mul(3),
            PixelFormat::Gray8 => width,
            PixelFormat::Bw1 => return,
        };
        let end = samples.min(row.len());
        for sample in &mut row[..end] {
            *sample = self.table[usize::from(*sample)];
        }
    }

    /// Applies the table to every row of a band of a page described by
    /// `header` (the streaming form used while a page arrives).
    pub fn apply_band(&self, header: &PageHeader, band: &mut Band) {
        self.apply_rows(header, &mut band.data);
    }

    /// Applies the table to every row of `page`.
    pub fn apply_page(&self, page: &mut Page) {
        let header = page.header;
        self.apply_rows(&header, &mut page.data);
    }

    fn apply_rows(&self, header: &PageHeader, data: &mut [u8]) {
        if self.identity || header.format == PixelFormat::Bw1 {
            return;
        }
        let row_bytes = header.row_bytes().max(1);
        let width = header.width as usize;
        for row in data.chunks_mut(row_bytes) {
            self.apply_row(header.format, row, width);
        }
    }
}

impl Default for PointLut {
    /// The identity table.
    fn default() -> Self {
        PointLut::new(0, 0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> Vec<u8> {
        (0..=255u8).collect()
    }

    fn mean(bytes: &[u8]) -> f64 {
        bytes.iter().map(|&b| f64::from(b)).sum::<f64>() / bytes.len() as f64
    }

    fn assert_monotonic(lut: &PointLut) {
        for pair in lut.table().windows(2) {
            assert!(pair[0] <= pair[1], "not monotonic: {:?}", lut.table());
        }
    }

    #[test]
    fn neutral_settings_change_no_byte() {
        let lut = PointLut::new(0, 0, 1.0);
        assert!(lut.is_identity());
        assert_eq!(lut, PointLut::default());
        assert_eq!(lut, PointLut::from_settings(&FilterSettings::default()));
        let mut row = ramp();
        lut.apply_row(PixelFormat::Gray8, &mut row, 256);
        assert_eq!(row, ramp());
        for (i, &v) in lut.table().iter().enumerate() {
            assert_eq!(usize::from(v), i);
        }
    }

    #[test]
    fn every_combination_is_monotonic() {
        for b in [-1000, -400, 0, 250, 1000] {
            for c in [-1000, -700, 0, 300, 999, 1000] {
                for g in [0.1, 0.5, 1.0, 2.2, 10.0] {
                    assert_monotonic(&PointLut::new(b, c, g));
                }
            }
        }
    }

    #[test]
    fn brightness_moves_the_mean_both_ways() {
        let base = mean(&ramp());
        let mut up = ramp();
        PointLut::new(300, 0, 1.0).apply_row(PixelFormat::Gray8, &mut up, 256);
        let mut down = ramp();
        PointLut::new(-300, 0, 1.0).apply_row(PixelFormat::Gray8, &mut down, 256);
        assert!(mean(&up) > base + 40.0, "{}", mean(&up));
        assert!(mean(&down) < base - 40.0, "{}", mean(&down));
        // A shift of 200 * 255 / 1000 = 51 levels.
        assert_eq!(PointLut::new(200, 0, 1.0).map(100), 151);
        assert_eq!(PointLut::new(-200, 0, 1.0).map(100), 49);
    }

    #[test]
    fn brightness_extremes_clamp_to_white_and_black() {
        assert!(
            PointLut::new(1000, 0, 1.0)
                .table()
                .iter()
                .all(|&v| v == 255)
        );
        assert!(PointLut::new(-1000, 0, 1.0).table().iter().all(|&v| v == 0));
        // Out-of-range settings are clamped, not wrapped.
        assert_eq!(PointLut::new(5000, 0, 1.0), PointLut::new(1000, 0, 1.0));
        assert_eq!(PointLut::new(0, -9000, 1.0), PointLut::new(0, -1000, 1.0));
        let lut = PointLut::new(500, 0, 1.0);
        assert_eq!(lut.map(255), 255);
        assert_eq!(lut.map(200), 255);
    }

    #[test]
    fn contrast_extremes_flatten_or_threshold() {
        let flat = PointLut::new(0, -1000, 1.0);
        assert!(flat.table().iter().all(|&v| v == 128));
        let hard = PointLut::new(0, 1000, 1.0);
        for level in 0..=255u8 {
            let expected = if level < 128 { 0 } else { 255 };
            assert_eq!(hard.map(level), expected, "level {level}");
        }
        let more = PointLut::new(0, 500, 1.0);
        assert!(more.map(64) < 64 && more.map(192) > 192);
        let less = PointLut::new(0, -500, 1.0);
        assert!(less.map(64) > 64 && less.map(192) < 192);
    }

    #[test]
    fn gamma_brightens_mid_tones_and_keeps_the_ends() {
        let bright = PointLut::new(0, 0, 2.2);
        assert_eq!(bright.map(0), 0);
        assert_eq!(bright.map(255), 255);
        // 255 * 0.5^(1/2.2) = 186.1
        assert_eq!(bright.map(128), 186);
        let dark = PointLut::new(0, 0, 0.5);
        assert_eq!(dark.map(128), 64);
        assert!(!bright.is_identity());
    }

    #[test]
    fn bad_gamma_counts_as_neutral_or_clamps() {
        assert!(PointLut::new(0, 0, f32::NAN).is_identity());
        assert!(PointLut::new(0, 0, -2.0).is_identity());
        assert!(PointLut::new(0, 0, 0.0).is_identity());
        assert_eq!(PointLut::new(0, 0, 1e9), PointLut::new(0, 0, MAX_GAMMA));
        assert_eq!(PointLut::new(0, 0, 1e-9), PointLut::new(0, 0, MIN_GAMMA));
    }

    #[test]
    fn rgb_rows_map_each_channel_and_stop_at_width() {
        let lut = PointLut::new(0, 0, 0.5);
        let mut row = vec![128, 0, 255, 128, 128, 128, 7];
        lut.apply_row(PixelFormat::Rgb8, &mut row, 2);
        assert_eq!(row, vec![64, 0, 255, 64, 64, 64, 7]);
        // A short row is processed as far as it goes.
        let mut short = vec![128u8; 2];
        lut.apply_row(PixelFormat::Rgb8, &mut short, 10);
        assert_eq!(short, vec![64, 64]);
    }

    #[test]
    fn black_and_white_rows_are_untouched() {
        let lut = PointLut::new(900, 900, 3.0);
        let mut page = Page::filled(13, 3, PixelFormat::Bw1, 300, 0b1010_0101);
        let before = page.clone();
        lut.apply_page(&mut page);
        assert_eq!(page, before);
    }

    #[test]
    fn pages_and_bands_give_the_same_result() {
        let lut = PointLut::new(120, 350, 1.4);
        let mut page = Page::filled(7, 5, PixelFormat::Rgb8, 150, 0);
        for (i, b) in page.data.iter_mut().enumerate() {
            *b = (i * 37 % 256) as u8;
        }
        let mut bands: Vec<Band> = page.bands(2).collect();
        lut.apply_page(&mut page);
        for band in &mut bands {
            lut.apply_band(&page.header, band);
        }
        let joined: Vec<u8> = bands.into_iter().flat_map(|b| b.data).collect();
        assert_eq!(joined, page.data);
        assert_eq!(page.data[1], lut.map(37));
    }
}
