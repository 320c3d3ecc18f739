//! The filter's image operations: pure functions over rows or pages, one
//! per file, each with its own tests. They do no I/O and keep no state
//! between pages; the filter's pipeline decides which run and in what
//! order.
//!
//! Two kinds, by what they need to see:
//!
//! - **Row operations** work on one row at a time and can run band by band
//!   while a page streams in: [`PointLut`] (brightness, contrast, gamma as
//!   one lookup table) and [`threshold_row`] (black and white with a known
//!   level).
//! - **Page operations** need the whole page: [`to_black_and_white`] with
//!   [`Threshold::Auto`](crate::filter::Threshold::Auto) (Otsu's level from
//!   the page's [`histogram`]), [`rotate()`] (quarter turns, clockwise),
//!   [`detect_blank`] and [`despeckle()`].
//!
//! Every operation accepts all three [`PixelFormat`](crate::raster::PixelFormat)s;
//! where one has no meaning for a format (brightness on black and white,
//! despeckling colour) it leaves the pixels as they are.
//!
//! On a 300 dpi A4 page (2480 x 3508) each takes tens of milliseconds or
//! less in a release build; `cargo test --release --lib filter::ops --
//! --ignored --nocapture` prints the figures.

pub mod blank;
pub mod despeckle;
pub mod point;
pub mod rotate;
pub mod threshold;

pub use blank::{BlankVerdict, detect_blank, ink_limit};
pub use despeckle::{despeckle, despeckle_with_clearance};
pub use point::PointLut;
pub use rotate::rotate;
pub use threshold::{histogram, otsu_level, threshold_row, to_black_and_white};

#[cfg(test)]
mod timing {
    use super::*;
    use crate::filter::{Rotation, Threshold};
    use crate::raster::{Page, PixelFormat};
    use std::time::Instant;

    /// A 300 dpi A4 page with a gray ramp background and rows of "words".
    fn a4(format: PixelFormat) -> Page {
        let (w, h) = (2480usize, 3508usize);
        let mut gray = Page::filled(w as u32, h as u32, PixelFormat::Gray8, 300, 0);
        for (y, row) in gray.data.chunks_exact_mut(w).enumerate() {
            for (x, v) in row.iter_mut().enumerate() {
                let word = (y % 50) < 24 && (x % 90) < 70 && (x * 7 + y * 13) % 11 < 4;
                *v = if word { 30 } else { 225 + ((x ^ y) % 13) as u8 };
            }
        }
        match format {
            PixelFormat::Gray8 => gray,
            PixelFormat::Rgb8 => {
                let mut rgb = Page::filled(w as u32, h as u32, PixelFormat::Rgb8, 300, 0);
                for (px, &g) in rgb.data.chunks_exact_mut(3).zip(&gray.data) {
                    px.copy_from_slice(&[g, g.saturating_sub(10), g]);
                }
                rgb
            }
            PixelFormat::Bw1 => to_black_and_white(&gray, Threshold::Fixed(128)),
        }
    }

    /// Runs `f` on a fresh `setup()` three times; prints the best time.
    fn time<S, T>(label: &str, setup: impl Fn() -> S, f: impl Fn(S) -> T) -> T {
        let mut best = f64::INFINITY;
        let mut result = None;
        for _ in 0..3 {
            let input = setup();
            let start = Instant::now();
            let output = f(input);
            best = best.min(start.elapsed().as_secs_f64() * 1000.0);
            result = Some(output);
        }
        println!("{label:<28} {best:>8.1} ms");
        result.expect("three runs")
    }

    #[test]
    #[ignore = "prints timings; run in release"]
    fn a4_at_300_dpi() {
        for format in [PixelFormat::Rgb8, PixelFormat::Gray8, PixelFormat::Bw1] {
            let page = a4(format);
            println!("{format:?}");
            let lut = PointLut::new(150, 200, 1.3);
            let copy = || page.clone();
            time("point lut (page)", copy, |mut p| lut.apply_page(&mut p));
            time("histogram", || (), |_| histogram(&page));
            time(
                "to black and white (auto)",
                || (),
                |_| to_black_and_white(&page, Threshold::Auto),
            );
            for rotation in [Rotation::Cw90, Rotation::Cw180, Rotation::Cw270] {
                let label = format!("rotate {}", rotation.degrees());
                time(&label, || (), |_| rotate(&page, rotation));
            }
            let verdict = time("detect blank", || (), |_| detect_blank(&page, 0.5));
            println!("  ink fraction {:.4}", verdict.ink);
            time("despeckle (9 px)", copy, |mut p| despeckle(&mut p, 9));
        }
        // Black and white with salt noise: about 87 000 one-pixel specks.
        let mut noisy = a4(PixelFormat::Bw1);
        let mut state = 0x853c_49e6_748f_ea9bu64;
        for _ in 0..87_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state % noisy.data.len() as u64) as usize;
            noisy.data[i] |= 0x80 >> (state >> 61);
        }
        time(
            "despeckle (noisy Bw1)",
            || noisy.clone(),
            |mut p| despeckle(&mut p, 9),
        );
    }
}
