//! Text drawing with the bundled DejaVu Sans fonts.
//!
//! Glyphs are rasterised with `ab_glyph` once per (face, pixel size) and kept
//! in a process-wide cache, so a page of a few thousand characters costs
//! only mask blending. Pen positions advance in fractional pixels but each
//! glyph lands on a whole pixel (no sub-pixel variants), which is plenty for
//! a simulated scan. Characters outside the small built-in set are drawn as
//! `?`.

use super::canvas::{Canvas, Rgb};
use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// DejaVu Sans (regular), embedded.
static REGULAR_TTF: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));

/// DejaVu Sans Bold, embedded.
static BOLD_TTF: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans-Bold.ttf"
));

/// Non-ASCII characters the renderer may print, after printable ASCII.
const EXTRA_CHARS: [char; 6] = ['·', '—', '–', '°', '×', '…'];

/// Printable ASCII (0x20..=0x7E) plus [`EXTRA_CHARS`].
const CHARSET_LEN: usize = 95 + EXTRA_CHARS.len();

/// Position of `c` in the glyph table, `?` for unknown characters.
fn charset_index(c: char) -> usize {
    match c {
        ' '..='~' => c as usize - 0x20,
        _ => match EXTRA_CHARS.iter().position(|&e| e == c) {
            Some(i) => 95 + i,
            None => '?' as usize - 0x20,
        },
    }
}

/// The character stored at `index` in the glyph table.
fn charset_char(index: usize) -> char {
    if index < 95 {
        char::from(0x20 + index as u8)
    } else {
        EXTRA_CHARS[index - 95]
    }
}

/// Which bundled typeface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Face {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

impl Face {
    fn font(self) -> &'static FontRef<'static> {
        static REGULAR: OnceLock<FontRef<'static>> = OnceLock::new();
        static BOLD: OnceLock<FontRef<'static>> = OnceLock::new();
        match self {
            Face::Regular => REGULAR.get_or_init(|| {
                FontRef::try_from_slice(REGULAR_TTF)
                    .expect("bundled DejaVuSans.ttf is a valid font")
            }),
            Face::Bold => BOLD.get_or_init(|| {
                FontRef::try_from_slice(BOLD_TTF)
                    .expect("bundled DejaVuSans-Bold.ttf is a valid font")
            }),
        }
    }
}

/// One rasterised glyph.
#[derive(Debug)]
struct Glyph {
    id: GlyphId,
    /// Horizontal pen advance in pixels.
    advance: f32,
    /// Offset of the mask's left column from the pen position.
    left: i64,
    /// Offset of the mask's top row from the baseline (negative = above).
    top: i64,
    /// Mask width in pixels.
    width: usize,
    /// Coverage, 0..=255, `width` a row.
    mask: Vec<u8>,
}

/// All glyphs of one face at one pixel size, rasterised on first use.
#[derive(Debug)]
pub(crate) struct GlyphSet {
    face: Face,
    scale: PxScale,
    glyphs: Vec<OnceLock<Glyph>>,
}

/// Cache key of a glyph set: the face and the size in 1/8 pixels.
type SetKey = (Face, u32);

impl GlyphSet {
    /// The shared glyph set for `face` at `size_px` pixels (the font's
    /// ascent-to-descent height).
    pub(crate) fn get(face: Face, size_px: f64) -> Arc<GlyphSet> {
        static SETS: OnceLock<Mutex<HashMap<SetKey, Arc<GlyphSet>>>> = OnceLock::new();
        let eighths = (size_px.clamp(0.5, 4000.0) * 8.0).round() as u32;
        let mut sets = SETS
            .get_or_init(|| Mutex::new(HashMap::new()))
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if sets.len() > 256 {
            // A long session at many resolutions: start over rather than grow.
            sets.clear();
        }
        sets.entry((face, eighths))
            .or_insert_with(|| {
                Arc::new(GlyphSet {
                    face,
                    scale: PxScale::from(eighths as f32 / 8.0),
                    glyphs: (0..CHARSET_LEN).map(|_| OnceLock::new()).collect(),
                })
            })
            .clone()
    }

    fn glyph(&self, c: char) -> &Glyph {
        let index = charset_index(c);
        self.glyphs[index].get_or_init(|| self.rasterise(charset_char(index)))
    }

    fn rasterise(&self, c: char) -> Glyph {
        let font = self.face.font();
        let scaled = font.as_scaled(self.scale);
        let id = font.glyph_id(c);
        let advance = scaled.h_advance(id);
        let outlined = font.outline_glyph(id.with_scale_and_position(self.scale, point(0.0, 0.0)));
        let Some(outlined) = outlined else {
            return Glyph {
                id,
                advance,
                left: 0,
                top: 0,
                width: 0,
                mask: Vec::new(),
            };
        };
        let bounds = outlined.px_bounds();
        let width = bounds.width().max(0.0) as usize;
        let height = bounds.height().max(0.0) as usize;
        let mut mask = vec![0u8; width * height];
        outlined.draw(|x, y, cover| {
            let (x, y) = (x as usize, y as usize);
            if x < width && y < height {
                mask[y * width + x] = (cover.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        });
        Glyph {
            id,
            advance,
            left: bounds.min.x as i64,
            top: bounds.min.y as i64,
            width,
            mask,
        }
    }

    /// Height above the baseline of the tallest glyphs, in pixels.
    pub(crate) fn ascent(&self) -> f64 {
        f64::from(self.face.font().as_scaled(self.scale).ascent())
    }

    /// Depth below the baseline of the lowest glyphs, in pixels (positive).
    pub(crate) fn descent(&self) -> f64 {
        -f64::from(self.face.font().as_scaled(self.scale).descent())
    }

    /// Width of the inter-word space, in pixels.
    pub(crate) fn space_width(&self) -> f64 {
        f64::from(self.glyph(' ').advance)
    }

    /// Width `text` takes when drawn, in pixels.
    pub(crate) fn measure(&self, text: &str) -> f64 {
        let scaled = self.face.font().as_scaled(self.scale);
        let mut width = 0.0;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let glyph = self.glyph(c);
            if let Some(p) = previous {
                width += f64::from(scaled.kern(p, glyph.id));
            }
            width += f64::from(glyph.advance);
            previous = Some(glyph.id);
        }
        width
    }

    /// Draws `text` with its baseline at `baseline` starting at pen position
    /// `x`, and returns the width drawn.
    pub(crate) fn draw(
        &self,
        canvas: &mut Canvas,
        x: f64,
        baseline: f64,
        text: &str,
        colour: Rgb,
    ) -> f64 {
        let scaled = self.face.font().as_scaled(self.scale);
        let mut pen = x;
        let base = baseline.round() as i64;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let glyph = self.glyph(c);
            if let Some(p) = previous {
                pen += f64::from(scaled.kern(p, glyph.id));
            }
            if glyph.width > 0 {
                canvas.blend_mask(
                    pen.round() as i64 + glyph.left,
                    base + glyph.top,
                    glyph.width,
                    &glyph.mask,
                    colour,
                );
            }
            pen += f64::from(glyph.advance);
            previous = Some(glyph.id);
        }
        pen - x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_charset_entry_maps_back_to_itself() {
        for i in 0..CHARSET_LEN {
            assert_eq!(charset_index(charset_char(i)), i);
        }
        assert_eq!(charset_index('\u{4e00}'), charset_index('?'));
    }

    #[test]
    fn text_leaves_ink_and_has_width() {
        let set = GlyphSet::get(Face::Bold, 40.0);
        let mut canvas = Canvas::new(200, 60, 1, 1.0, Rgb(255, 255, 255));
        let width = set.draw(&mut canvas, 5.0, 45.0, "Page 3 · back", Rgb::BLACK);
        assert!((width - set.measure("Page 3 · back")).abs() < 1e-6);
        assert!(width > 100.0);
        assert!(canvas.data.iter().filter(|&&v| v < 100).count() > 200);
        assert!(set.ascent() > 0.0 && set.descent() > 0.0);
    }

    #[test]
    fn the_same_size_shares_one_glyph_set() {
        let a = GlyphSet::get(Face::Regular, 12.0);
        let b = GlyphSet::get(Face::Regular, 12.01);
        assert!(Arc::ptr_eq(&a, &b));
    }
}
