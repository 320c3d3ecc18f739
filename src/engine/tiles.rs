//! Full-resolution tiles of a page, for a front end that zooms in further
//! than its downscaled preview shows.
//!
//! A 1200 dpi A4 page (about 9900 x 14000 pixels) is larger than any single
//! texture a GPU takes, so a front end shows a downscaled copy and asks for
//! tiles of the region on screen: a rectangle of the page in
//! full-resolution pixels, shrunk by a whole factor (1 = every pixel). A
//! tile is cut from the page being scanned (the rows that came so far) or
//! from the preview cache, and filtered as the page would be: the point
//! operations only while the page is still being built (what the live view
//! shows), the whole filter once it is complete.
//!
//! Cutting is pure: rows in, RGB out. Where the rows come from is the
//! studio's business.

use crate::filter::FilterSettings;
use crate::filter::ops::point::PointLut;
use crate::filter::pipeline::Recipe;
use crate::raster::{Page, PageHeader, rgb_row};
use crate::transfer::Side;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Largest side of a tile in output pixels a front end should ask for.
pub const MAX_TILE_SIDE: u32 = 1024;

/// A rectangle of a page, in full-resolution pixels, and the whole factor
/// it is shrunk by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileSpec {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in page pixels.
    pub width: u32,
    /// Height in page pixels.
    pub height: u32,
    /// Page pixels per tile pixel along each axis (1 = full resolution).
    pub factor: u32,
}

impl TileSpec {
    /// Size of the tile in output pixels.
    pub fn out_size(&self) -> (u32, u32) {
        let f = self.factor.max(1);
        (self.width.div_ceil(f), self.height.div_ceil(f))
    }
}

/// A tile as rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedTile {
    /// What was asked, clipped to the page (and, while the page is being
    /// built, to the rows that came).
    pub spec: TileSpec,
    /// Width of `rgb` in pixels.
    pub width: u32,
    /// Height of `rgb` in pixels.
    pub height: u32,
    /// `width * height * 3` bytes of RGB.
    pub rgb: Vec<u8>,
    /// Width of the page the tile was cut from, in page pixels.
    pub page_width: u32,
    /// Height of that page (rows so far while it is being built).
    pub page_height: u32,
    /// True when the page was still being scanned: more rows may come.
    pub building: bool,
}

/// The unfiltered page each running scan is building, by job: the
/// engine's page observer fills it, the studio cuts tiles from it.
pub(crate) type BuildingPages = Arc<Mutex<HashMap<u64, BuildingPage>>>;

/// One page in the making.
pub(crate) struct BuildingPage {
    /// Its page number.
    pub(crate) page: u32,
    /// Its side.
    pub(crate) side: Side,
    /// The rows so far (the header's height counts them).
    pub(crate) rows: Page,
}

/// Why a tile could not be cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TileError {
    /// Zero-sized, or a factor of 0.
    Empty,
    /// More output pixels than [`MAX_TILE_SIDE`] allows on a side.
    TooLarge,
    /// The rectangle lies off the page (or below the rows that came).
    OffPage,
}

impl std::fmt::Display for TileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TileError::Empty => write!(f, "the tile is empty"),
            TileError::TooLarge => {
                write!(f, "a tile is at most {MAX_TILE_SIDE} pixels on a side")
            }
            TileError::OffPage => write!(f, "the tile lies off the page"),
        }
    }
}

/// Clips `spec` to a page of `width x height` and checks its size.
pub fn clip(spec: TileSpec, width: u32, height: u32) -> Result<TileSpec, TileError> {
    if spec.factor == 0 || spec.width == 0 || spec.height == 0 {
        return Err(TileError::Empty);
    }
    let (w, h) = spec.out_size();
    if w > MAX_TILE_SIDE || h > MAX_TILE_SIDE {
        return Err(TileError::TooLarge);
    }
    if spec.x >= width || spec.y >= height {
        return Err(TileError::OffPage);
    }
    Ok(TileSpec {
        width: spec.width.min(width - spec.x),
        height: spec.height.min(height - spec.y),
        ..spec
    })
}

/// Cuts an already clipped tile out of `rows`, which hold page rows
/// `first_row..` of a page described by `header`, shrinking by the tile's
/// factor (a box filter) after applying `lut` to every pixel.
pub fn cut(
    header: &PageHeader,
    rows: &[u8],
    first_row: u32,
    spec: TileSpec,
    lut: Option<&PointLut>,
) -> (u32, u32, Vec<u8>) {
    let factor = spec.factor.max(1) as usize;
    let (out_w, out_h) = spec.out_size();
    let row_bytes = header.row_bytes();
    let width = header.width as usize;
    let x0 = spec.x as usize;
    let x1 = x0 + spec.width as usize;
    let mut out = Vec::with_capacity(out_w as usize * out_h as usize * 3);
    let mut sums = vec![0u32; out_w as usize * 3];
    let mut counts = vec![0u32; out_w as usize];
    let lut = lut.filter(|l| !l.is_identity());
    let mut rgb = Vec::with_capacity(width * 3);
    let last = spec.y + spec.height;
    for y in spec.y..last {
        let start = (y - first_row) as usize * row_bytes;
        let Some(row) = rows.get(start..start + row_bytes) else {
            break;
        };
        rgb.clear();
        rgb_row(header.format, row, width, &mut rgb);
        if let Some(lut) = lut {
            for v in &mut rgb[x0 * 3..x1 * 3] {
                *v = lut.map(*v);
            }
        }
        for (i, px) in rgb[x0 * 3..x1 * 3].chunks_exact(3).enumerate() {
            let o = i / factor;
            counts[o] += 1;
            sums[o * 3] += u32::from(px[0]);
            sums[o * 3 + 1] += u32::from(px[1]);
            sums[o * 3 + 2] += u32::from(px[2]);
        }
        if ((y - spec.y + 1) as usize).is_multiple_of(factor) || y + 1 == last {
            for (o, n) in counts.iter_mut().enumerate() {
                let d = (*n).max(1);
                for c in 0..3 {
                    out.push((sums[o * 3 + c] / d) as u8);
                    sums[o * 3 + c] = 0;
                }
                *n = 0;
            }
        }
    }
    let height = (out.len() / (out_w as usize * 3).max(1)) as u32;
    (out_w, height, out)
}

/// Cuts a tile from a building page: the rows that came so far, with the
/// point operations of `settings` (what the live view shows of it).
pub(crate) fn from_building(
    page: &BuildingPage,
    spec: TileSpec,
    settings: &FilterSettings,
) -> Result<RenderedTile, TileError> {
    let rows = page.rows.height();
    let spec = clip(spec, page.rows.header.width, rows)?;
    let recipe = Recipe::new(settings, page.side);
    let (width, height, rgb) = cut(
        &page.rows.header,
        &page.rows.data,
        0,
        spec,
        Some(recipe.point()),
    );
    Ok(RenderedTile {
        spec,
        width,
        height,
        rgb,
        page_width: page.rows.header.width,
        page_height: rows,
        building: true,
    })
}

/// Cuts a tile from a complete page that needs no further filtering
/// besides `lut` (`rows` hold rows `first_row..` of it).
pub(crate) fn from_rows(
    header: &PageHeader,
    rows: &[u8],
    first_row: u32,
    spec: TileSpec,
    lut: &PointLut,
) -> RenderedTile {
    let (width, height, rgb) = cut(header, rows, first_row, spec, Some(lut));
    RenderedTile {
        spec,
        width,
        height,
        rgb,
        page_width: header.width,
        page_height: header.height.unwrap_or(0),
        building: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::PixelFormat;
    use crate::testing::pattern_page;

    #[test]
    fn a_full_resolution_tile_is_the_page_s_pixels() {
        let page = pattern_page(PixelFormat::Gray8, 40, 30, 300);
        let spec = clip(
            TileSpec {
                x: 5,
                y: 7,
                width: 10,
                height: 4,
                factor: 1,
            },
            40,
            30,
        )
        .expect("on the page");
        let (w, h, rgb) = cut(&page.header, &page.data, 0, spec, None);
        assert_eq!((w, h), (10, 4));
        for ty in 0..4 {
            for tx in 0..10 {
                let want = page.data[((7 + ty) * 40 + 5 + tx) as usize];
                let i = ((ty * 10 + tx) * 3) as usize;
                assert_eq!(&rgb[i..i + 3], &[want, want, want]);
            }
        }
    }

    #[test]
    fn a_shrunk_tile_averages_blocks_and_is_clipped_to_the_page() {
        let page = Page::filled(9, 9, PixelFormat::Rgb8, 300, 100);
        let spec = clip(
            TileSpec {
                x: 4,
                y: 4,
                width: 100,
                height: 100,
                factor: 2,
            },
            9,
            9,
        )
        .expect("overlaps");
        assert_eq!((spec.width, spec.height), (5, 5));
        let (w, h, rgb) = cut(&page.header, &page.data, 0, spec, None);
        assert_eq!((w, h), (3, 3));
        assert!(rgb.iter().all(|&v| v == 100));
    }

    #[test]
    fn rows_that_did_not_come_are_left_out() {
        let page = pattern_page(PixelFormat::Gray8, 20, 6, 300);
        let spec = TileSpec {
            x: 0,
            y: 2,
            width: 20,
            height: 10,
            factor: 1,
        };
        // Rows 2..6 only: the tile stops there.
        let (w, h, _) = cut(&page.header, &page.data[40..], 2, spec, None);
        assert_eq!((w, h), (20, 4));
    }

    #[test]
    fn bad_tiles_are_refused() {
        let base = TileSpec {
            x: 0,
            y: 0,
            width: 10,
            height: 10,
            factor: 1,
        };
        assert_eq!(
            clip(TileSpec { factor: 0, ..base }, 5, 5),
            Err(TileError::Empty)
        );
        assert_eq!(
            clip(TileSpec { width: 0, ..base }, 5, 5),
            Err(TileError::Empty)
        );
        assert_eq!(
            clip(TileSpec { x: 5, ..base }, 5, 5),
            Err(TileError::OffPage)
        );
        assert_eq!(
            clip(
                TileSpec {
                    width: 4096,
                    ..base
                },
                5000,
                5000
            ),
            Err(TileError::TooLarge)
        );
        assert!(
            clip(
                TileSpec {
                    width: 4096,
                    factor: 4,
                    ..base
                },
                5000,
                5000
            )
            .is_ok()
        );
    }

    #[test]
    fn the_point_operations_apply_to_the_tile() {
        let page = Page::filled(4, 4, PixelFormat::Gray8, 300, 100);
        let lut = PointLut::new(300, 0, 1.0);
        let spec = clip(
            TileSpec {
                x: 0,
                y: 0,
                width: 4,
                height: 4,
                factor: 1,
            },
            4,
            4,
        )
        .expect("on the page");
        let tile = from_rows(&page.header, &page.data, 0, spec, &lut);
        assert!(tile.rgb.iter().all(|&v| v == lut.map(100) && v > 100));
        assert!(!tile.building);
    }
}
