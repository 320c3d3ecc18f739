//! Page renderer of the built-in virtual scanner.
//!
//! [`render_page`] turns a [`PageSpec`] into a [`Page`] that looks like a scan
//! of real paper: a warm off-white sheet with a bold heading, justified body
//! text in DejaVu Sans, a photograph, a ruled table, sometimes a bar chart,
//! the page number and side printed large, a footer, and a machine-readable
//! index strip in the top margin ([`decode_index_strip`] reads it back, so
//! tests can tell which page arrived where, even after rotation, JPEG and
//! resampling). A spec with `photos > 0` renders a flatbed scene instead:
//! photo prints on a dark lid, with their placements returned as
//! [`Region`]s for segmentation tests.
//!
//! Everything is deterministic: the same spec gives the same bytes, and the
//! content depends only on `(seed, number, side)`. The renderer is built for
//! speed (an A4 page at 300 dpi in colour renders in a few tens of
//! milliseconds in release builds): glyphs and the scaled photo are cached
//! per size, and each pass over the pixels is linear. It does no I/O: fonts
//! and the photo are embedded from `assets/`.
//!
//! What it is not: a page-description engine. Text layout is greedy line
//! breaking with whole-pixel glyph positions, and only the characters of
//! printable ASCII plus a few symbols are available.

mod canvas;
mod document;
mod effects;
mod flatbed;
mod photo;
mod rng;
mod strip;
mod text;
mod words;

pub use strip::{IndexStrip, decode_index_strip};

use crate::raster::Page;
use crate::stream::Side;
use crate::transfer::settings::{ColorMode, mm_to_pixels};
use canvas::{Canvas, Rgb};
use rng::{Rng, Stream, page_seed};

/// Colour of the simulated paper, a slightly warm off-white (sRGB). Sensor
/// noise and the lamp's fall-off vary it by a few levels.
pub const PAPER_RGB: [u8; 3] = [246, 243, 235];

/// Colour of the scanner lid behind a flatbed scene (sRGB).
pub const LID_RGB: [u8; 3] = [78, 79, 84];

/// What to render: one side of one sheet, or one flatbed scene.
#[derive(Debug, Clone, PartialEq)]
pub struct PageSpec {
    /// Page number in transfer order, 1-based. Printed large and encoded in
    /// the index strip (modulo 65536).
    pub number: u32,
    /// Side of the sheet; printed large and encoded in the index strip.
    pub side: Side,
    /// Device seed. Content is a function of `(seed, number, side)`; the
    /// index strip carries its low 32 bits.
    pub seed: u64,
    /// Resolution, both axes.
    pub dpi: u32,
    /// Colour mode: colour gives `Rgb8`, gray `Gray8`, black and white
    /// `Bw1` (gray thresholded at 128).
    pub mode: ColorMode,
    /// Paper width in millimetres.
    pub width_mm: f64,
    /// Paper height in millimetres.
    pub height_mm: f64,
    /// Skew of the paper in degrees; positive turns the content
    /// counter-clockwise. Uncovered corners show the paper colour (the lid
    /// colour for flatbed scenes).
    pub skew_deg: f64,
    /// A blank sheet: paper texture and noise only, no content, no strip.
    /// With `photos > 0`, an empty glass.
    pub blank: bool,
    /// Turn the whole rendered page 180 degrees, as duplex backs often
    /// arrive.
    pub rotate_180: bool,
    /// Scanner noise, 0..1: sensor noise plus a few dust specks (and now and
    /// then a hair). Paper grain is present even at 0.
    pub noise: f32,
    /// More than 0: a flatbed scene with this many photo prints (at most 64,
    /// fewer if they would get too small) on the lid instead of a document.
    pub photos: u32,
}

impl Default for PageSpec {
    /// Page 1, front, seed 0, A4 at 300 dpi in colour, straight, no noise.
    fn default() -> Self {
        PageSpec {
            number: 1,
            side: Side::Front,
            seed: 0,
            dpi: 300,
            mode: ColorMode::Color,
            width_mm: 210.0,
            height_mm: 297.0,
            skew_deg: 0.0,
            blank: false,
            rotate_180: false,
            noise: 0.0,
            photos: 0,
        }
    }
}

impl PageSpec {
    /// Width and height of the rendered page in pixels.
    pub fn pixel_size(&self) -> (u32, u32) {
        (
            mm_to_pixels(self.width_mm, self.dpi),
            mm_to_pixels(self.height_mm, self.dpi),
        )
    }
}

/// Where a photo print lies in a flatbed scene, in millimetres of the
/// rendered page (after any skew and 180-degree turn).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    /// Horizontal position of the print's **centre**, from the left edge.
    pub x_mm: f64,
    /// Vertical position of the print's **centre**, from the top edge.
    pub y_mm: f64,
    /// Width of the print, white border included, before rotation.
    pub width_mm: f64,
    /// Height of the print, white border included, before rotation.
    pub height_mm: f64,
    /// Rotation of the print in degrees, counter-clockwise as seen on the
    /// page.
    pub angle_deg: f64,
}

/// A rendered page and what was placed on it.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedPage {
    /// The page as the scanner delivers it.
    pub page: Page,
    /// Photo prints of a flatbed scene; empty for documents.
    pub regions: Vec<Region>,
}

/// Renders one page.
///
/// Callers should keep the paper size and resolution sensible (the page
/// holds `width x height x channels` bytes); degenerate specs (zero dpi,
/// tiny paper) give a small page without content rather than a panic.
pub fn render_page(spec: &PageSpec) -> RenderedPage {
    let (width, height) = spec.pixel_size();
    let format = spec.mode.pixel_format();
    let channels = usize::from(format.channels());
    let px_per_mm = f64::from(spec.dpi) / 25.4;
    let scene = spec.photos > 0;
    let background = if scene {
        Rgb(LID_RGB[0], LID_RGB[1], LID_RGB[2])
    } else {
        Rgb(PAPER_RGB[0], PAPER_RGB[1], PAPER_RGB[2])
    };
    let mut canvas = Canvas::new(
        width as usize,
        height as usize,
        channels,
        px_per_mm,
        background,
    );
    let seed = |stream| page_seed(spec.seed, spec.number, spec.side, stream);

    let mut regions = Vec::new();
    let mut strip_area = None;
    if !spec.blank {
        if scene {
            let mut rng = Rng::new(seed(Stream::Scene));
            regions = flatbed::draw_scene(
                &mut canvas,
                spec.width_mm,
                spec.height_mm,
                spec.photos,
                &mut rng,
            );
        } else {
            let mut rng = Rng::new(seed(Stream::Content));
            strip_area = document::draw_document(&mut canvas, spec, &mut rng);
        }
    }
    let keep_clear = strip_area.map(|r| r.grown(canvas.px(2.0)));
    effects::dust(&mut canvas, seed(Stream::Dust), spec.noise, keep_clear);

    let (page_w_mm, page_h_mm) = (
        f64::from(width) / px_per_mm.max(f64::MIN_POSITIVE),
        f64::from(height) / px_per_mm.max(f64::MIN_POSITIVE),
    );
    if spec.skew_deg != 0.0 && spec.skew_deg.is_finite() {
        canvas = effects::skew(&canvas, spec.skew_deg, background);
        let (sin, cos) = spec.skew_deg.to_radians().sin_cos();
        for r in &mut regions {
            let (dx, dy) = (r.x_mm - page_w_mm / 2.0, r.y_mm - page_h_mm / 2.0);
            r.x_mm = page_w_mm / 2.0 + dx * cos + dy * sin;
            r.y_mm = page_h_mm / 2.0 - dx * sin + dy * cos;
            r.angle_deg += spec.skew_deg;
        }
    }
    if spec.rotate_180 {
        effects::turn_180(&mut canvas);
        for r in &mut regions {
            r.x_mm = page_w_mm - r.x_mm;
            r.y_mm = page_h_mm - r.y_mm;
        }
    }
    effects::sensor(&mut canvas, seed(Stream::Noise), spec.noise);
    RenderedPage {
        page: effects::into_page(canvas, format, spec.dpi),
        regions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::PixelFormat;

    fn small(mode: ColorMode) -> PageSpec {
        PageSpec {
            dpi: 75,
            mode,
            number: 5,
            side: Side::Back,
            seed: 0xABCD_0123_4567,
            ..PageSpec::default()
        }
    }

    #[test]
    fn pages_have_the_size_and_format_of_their_spec() {
        for (mode, format) in [
            (ColorMode::Color, PixelFormat::Rgb8),
            (ColorMode::Gray, PixelFormat::Gray8),
            (ColorMode::Bw, PixelFormat::Bw1),
        ] {
            let page = render_page(&small(mode)).page;
            assert_eq!(page.header.format, format);
            assert_eq!((page.header.width, page.height()), (620, 877));
            assert_eq!(page.data.len(), page.header.row_bytes() * 877);
        }
    }

    #[test]
    fn a_rendered_strip_reads_back() {
        let page = render_page(&small(ColorMode::Gray)).page;
        let strip = decode_index_strip(&page);
        assert_eq!(
            strip,
            Some(IndexStrip {
                page: 5,
                side: Side::Back,
                seed: 0x0123_4567
            })
        );
    }

    #[test]
    fn degenerate_specs_do_not_panic() {
        for spec in [
            PageSpec {
                dpi: 0,
                ..PageSpec::default()
            },
            PageSpec {
                width_mm: 0.0,
                height_mm: -3.0,
                dpi: 75,
                ..PageSpec::default()
            },
            PageSpec {
                width_mm: 3.0,
                height_mm: 3.0,
                dpi: 75,
                noise: 1.0,
                skew_deg: 10.0,
                rotate_180: true,
                ..PageSpec::default()
            },
            PageSpec {
                width_mm: 3.0,
                height_mm: 3.0,
                dpi: 75,
                photos: 3,
                ..PageSpec::default()
            },
        ] {
            let rendered = render_page(&spec);
            assert!(rendered.page.header.width >= 1);
        }
    }
}
