//! The page being scanned, as a texture that grows band by band.
//!
//! [`LivePage`] allocates one texture of the preview's size when a page
//! starts and uploads each new band with `TextureHandle::set_partial`, so a
//! band costs an upload of its own rows only, never of the whole page. A
//! CPU copy of the downscaled page (a few megabytes at most) makes the
//! page's thumbnail when it is done, and re-creates the texture in the rare
//! case of a page whose height was not announced and outgrows the guess.

use crate::engine::PreviewBand;
use crate::filter::PageKey;
use crate::raster::PageHeader;
use egui::{Color32, ColorImage, TextureHandle, TextureOptions};
use std::time::Instant;

/// Width of page-strip thumbnails, in pixels.
pub const THUMBNAIL_WIDTH: usize = 96;

/// Background of rows not scanned yet.
const UNSCANNED: Color32 = Color32::from_gray(60);

/// A page in progress (or the last one scanned) on the UI side.
pub struct LivePage {
    /// The page.
    pub key: PageKey,
    /// The full-resolution page as the device announced it.
    pub header: PageHeader,
    /// Page pixels per preview pixel.
    pub scale: u32,
    width: usize,
    height: usize,
    /// Rows received so far.
    rows: usize,
    /// True when the device announced the height.
    height_known: bool,
    rgb: Vec<u8>,
    texture: TextureHandle,
    /// Partial uploads made (one per band).
    pub partial_uploads: u64,
    /// When the engine got the rows of each band uploaded since the last
    /// [`LivePage::take_arrivals`] (for latency figures; bounded).
    arrivals: Vec<Instant>,
}

/// Most arrival times kept when nobody takes them.
const MAX_ARRIVALS: usize = 4096;

impl LivePage {
    /// Starts a page of `size` preview pixels (height when known), each
    /// preview pixel `scale` page pixels of a page described by `header`.
    pub fn start(
        ctx: &egui::Context,
        key: PageKey,
        header: PageHeader,
        size: (u32, Option<u32>),
        scale: u32,
    ) -> LivePage {
        let width = (size.0 as usize).max(1);
        let height_known = size.1.is_some();
        // An unannounced height: guess a portrait page, grow when needed.
        let height = size.1.map(|h| h as usize).unwrap_or(width * 3 / 2).max(1);
        let texture = ctx.load_texture(
            "live-page",
            ColorImage::filled([width, height], UNSCANNED),
            TextureOptions::LINEAR,
        );
        LivePage {
            key,
            header,
            scale: scale.max(1),
            width,
            height,
            rows: 0,
            height_known,
            rgb: vec![UNSCANNED.r(); width * height * 3],
            texture,
            partial_uploads: 0,
            arrivals: Vec::new(),
        }
    }

    /// Adds a band of rows and uploads just those rows.
    pub fn band(&mut self, band: &PreviewBand) {
        let width = band.width as usize;
        let first = band.first_row as usize;
        let rows = band.rows as usize;
        if width != self.width || rows == 0 || band.rgb.len() < width * rows * 3 {
            return;
        }
        let end = first + rows;
        if end > self.height {
            self.grow(end);
        }
        let start = first * width * 3;
        self.rgb[start..start + width * rows * 3].copy_from_slice(&band.rgb[..width * rows * 3]);
        self.rows = self.rows.max(end);
        let image = ColorImage::from_rgb([width, rows], &band.rgb[..width * rows * 3]);
        self.texture
            .set_partial([0, first], image, TextureOptions::LINEAR);
        self.partial_uploads += 1;
        if self.arrivals.len() < MAX_ARRIVALS {
            self.arrivals.push(band.arrived);
        }
    }

    /// When the engine got the rows of each band uploaded since the last
    /// call: a frame's end minus these is the band-to-texture latency.
    pub fn take_arrivals(&mut self) -> Vec<Instant> {
        std::mem::take(&mut self.arrivals)
    }

    /// Grows a page of unknown height (uploads the whole page once).
    fn grow(&mut self, rows: usize) {
        let height = rows.max(self.height * 3 / 2);
        self.rgb.resize(self.width * height * 3, UNSCANNED.r());
        self.height = height;
        self.texture.set(
            ColorImage::from_rgb([self.width, height], &self.rgb),
            TextureOptions::LINEAR,
        );
    }

    /// Full-resolution rows received so far (about: preview rows times
    /// the scale).
    pub fn page_rows(&self) -> u32 {
        let rows = self.rows as u32 * self.scale;
        self.header.height.map_or(rows, |h| rows.min(h))
    }

    /// The texture.
    pub fn texture(&self) -> &TextureHandle {
        &self.texture
    }

    /// The part of the texture that holds the page, as a fraction of its
    /// height (a page of unknown height shows only the rows that came).
    pub fn visible_fraction(&self) -> f32 {
        if self.height_known || self.height == 0 {
            1.0
        } else {
            self.rows as f32 / self.height as f32
        }
    }

    /// Size of the page in preview pixels (rows so far when the height is
    /// unknown).
    pub fn size(&self) -> [usize; 2] {
        if self.height_known {
            [self.width, self.height]
        } else {
            [self.width, self.rows.max(1)]
        }
    }

    /// A small copy of the page for the page strip.
    pub fn thumbnail(&self, ctx: &egui::Context) -> TextureHandle {
        let [width, height] = self.size();
        thumbnail_texture(ctx, &self.key, &self.rgb, width, height)
    }
}

/// Makes a thumbnail texture from an RGB image.
pub fn thumbnail_texture(
    ctx: &egui::Context,
    key: &PageKey,
    rgb: &[u8],
    width: usize,
    height: usize,
) -> TextureHandle {
    let factor = width.div_ceil(THUMBNAIL_WIDTH).max(1);
    let out_w = width.div_ceil(factor).max(1);
    let out_h = height.div_ceil(factor).max(1);
    let mut out = Vec::with_capacity(out_w * out_h * 3);
    for y in 0..out_h {
        let sy = (y * factor).min(height.saturating_sub(1));
        for x in 0..out_w {
            let sx = (x * factor).min(width.saturating_sub(1));
            let i = (sy * width + sx) * 3;
            out.extend_from_slice(rgb.get(i..i + 3).unwrap_or(&[0, 0, 0]));
        }
    }
    ctx.load_texture(
        format!("thumb-{}-{}", key.job, key.page),
        ColorImage::from_rgb([out_w, out_h], &out),
        TextureOptions::LINEAR,
    )
}
