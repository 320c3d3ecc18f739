//! The photograph printed on simulated pages.
//!
//! One real photo (`assets/coffee.jpg`, see `assets/README.md`) is embedded
//! and decoded once. Pages show fixed crops of it; a crop scaled to a size is
//! cached, so a stream of pages at one resolution resizes it only once.
//! Flatbed prints use toned copies of the crops, so several prints in one
//! scene look distinct.

use super::canvas::Rgb;
use image::RgbImage;
use image::imageops::{self, FilterType};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The embedded photograph (JPEG).
static PHOTO_JPEG: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/coffee.jpg"));

/// Crops of the photo, as fractions `(left, top, width, height)`.
const CROPS: [(f64, f64, f64, f64); 8] = [
    (0.0, 0.0, 1.0, 1.0),
    (0.10, 0.05, 0.75, 0.75),
    (0.30, 0.20, 0.60, 0.70),
    (0.0, 0.25, 0.55, 0.75),
    (0.45, 0.0, 0.55, 0.60),
    (0.20, 0.10, 0.50, 0.85),
    (0.05, 0.40, 0.70, 0.60),
    (0.55, 0.35, 0.45, 0.65),
];

/// Number of distinct crops [`scaled`] and [`toned`] know.
pub(crate) const CROP_COUNT: usize = CROPS.len();

/// The decoded photograph.
pub(crate) fn source() -> &'static RgbImage {
    static PHOTO: OnceLock<RgbImage> = OnceLock::new();
    PHOTO.get_or_init(|| {
        image::load_from_memory_with_format(PHOTO_JPEG, image::ImageFormat::Jpeg)
            .expect("bundled assets/coffee.jpg is a valid JPEG")
            .to_rgb8()
    })
}

/// Crop `index` (modulo [`CROP_COUNT`]) in source pixels: `(x, y, w, h)`.
fn crop_pixels(index: usize) -> (u32, u32, u32, u32) {
    let photo = source();
    let (fw, fh) = (f64::from(photo.width()), f64::from(photo.height()));
    let (l, t, w, h) = CROPS[index % CROP_COUNT];
    let x = (l * fw).floor() as u32;
    let y = (t * fh).floor() as u32;
    let w = ((w * fw).floor() as u32).clamp(1, photo.width() - x.min(photo.width() - 1));
    let h = ((h * fh).floor() as u32).clamp(1, photo.height() - y.min(photo.height() - 1));
    (x, y, w, h)
}

/// Width over height of crop `index`.
pub(crate) fn aspect(index: usize) -> f64 {
    let (_, _, w, h) = crop_pixels(index);
    f64::from(w) / f64::from(h)
}

/// Most bytes of scaled crops kept at once (four crops at 1200 dpi fit).
const CACHE_BYTES: usize = 160 << 20;

/// Scaled crops by (crop index, width, height).
type ScaledCache = Mutex<HashMap<(usize, u32, u32), Arc<RgbImage>>>;

/// Crop `index` resized to `width x height`, shared through a cache.
pub(crate) fn scaled(index: usize, width: u32, height: u32) -> Arc<RgbImage> {
    static CACHE: OnceLock<ScaledCache> = OnceLock::new();
    let key = (index % CROP_COUNT, width.max(1), height.max(1));
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&key)
    {
        return hit.clone();
    }
    // Resize outside the lock: other pages may render meanwhile.
    let (x, y, w, h) = crop_pixels(key.0);
    let cropped = imageops::crop_imm(source(), x, y, w, h).to_image();
    let resized = Arc::new(imageops::resize(
        &cropped,
        key.1,
        key.2,
        FilterType::Triangle,
    ));
    let mut map = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let held: usize = map.values().map(|image| image.as_raw().len()).sum();
    if held + resized.as_raw().len() > CACHE_BYTES {
        // Many sizes, or very large ones (1200 dpi): start over.
        map.clear();
    }
    map.entry(key).or_insert(resized).clone()
}

/// How a flatbed print is toned, so prints of one scene differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    /// As photographed.
    Natural,
    /// Warm, slightly yellowed.
    Warm,
    /// Black and white.
    Mono,
    /// Sepia.
    Sepia,
    /// Cool and a little faded.
    Faded,
}

impl Tone {
    /// The tones in the order prints use them.
    pub(crate) const ALL: [Tone; 5] = [
        Tone::Natural,
        Tone::Sepia,
        Tone::Warm,
        Tone::Mono,
        Tone::Faded,
    ];

    /// `colour` with this tone applied.
    pub(crate) fn apply(self, c: Rgb) -> Rgb {
        let (r, g, b) = (f64::from(c.0), f64::from(c.1), f64::from(c.2));
        let l = 0.299 * r + 0.587 * g + 0.114 * b;
        let to = |v: f64| v.round().clamp(0.0, 255.0) as u8;
        match self {
            Tone::Natural => c,
            Tone::Warm => Rgb(to(r * 1.06 + 6.0), to(g * 1.0 + 2.0), to(b * 0.85)),
            Tone::Mono => Rgb(to(l), to(l), to(l)),
            Tone::Sepia => Rgb(to(l * 1.07 + 12.0), to(l * 0.93 + 6.0), to(l * 0.72)),
            Tone::Faded => Rgb(
                to(r * 0.78 + 40.0),
                to(g * 0.80 + 40.0),
                to(b * 0.80 + 48.0),
            ),
        }
    }
}

/// Crop `index` toned with `tone`, at most `width x height` pixels: shrunk
/// when the print is smaller than the crop, left at the crop's own size
/// otherwise (the painter interpolates when enlarging).
pub(crate) fn toned(index: usize, width: f64, height: f64, tone: Tone) -> RgbImage {
    let (x, y, w, h) = crop_pixels(index);
    let mut image = imageops::crop_imm(source(), x, y, w, h).to_image();
    let target_w = width.round().clamp(1.0, f64::from(w)) as u32;
    let target_h = height.round().clamp(1.0, f64::from(h)) as u32;
    if target_w < w || target_h < h {
        image = imageops::resize(&image, target_w, target_h, FilterType::Triangle);
    }
    for p in image.pixels_mut() {
        let c = tone.apply(Rgb(p.0[0], p.0[1], p.0[2]));
        p.0 = [c.0, c.1, c.2];
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_photo_decodes_and_has_colour() {
        let photo = source();
        assert!(photo.width() >= 400 && photo.height() >= 300);
        let colourful = photo
            .pixels()
            .filter(|p| p.0.iter().max().unwrap_or(&0) - p.0.iter().min().unwrap_or(&0) > 30)
            .count();
        assert!(colourful > 1000);
    }

    #[test]
    fn scaled_crops_have_the_requested_size_and_are_shared() {
        let a = scaled(2, 120, 80);
        assert_eq!((a.width(), a.height()), (120, 80));
        assert!(Arc::ptr_eq(&a, &scaled(2, 120, 80)));
        for i in 0..CROP_COUNT {
            assert!(aspect(i) > 0.3 && aspect(i) < 3.0);
            let small = toned(i, 30.0, 20.0, Tone::Sepia);
            assert!(small.width() <= 30 && small.height() <= 20);
        }
    }
}
