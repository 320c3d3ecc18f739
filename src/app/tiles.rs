//! Full-resolution tiles of the page on screen, for zoom levels where the
//! downscaled preview texture would be magnified.
//!
//! The preview shows a page as one downscaled texture; when the view zooms
//! in further than that texture's resolution, the visible part is covered
//! with tiles the engine cuts from the page being scanned or from its
//! cache ([`Command::RenderTile`]). Tiles sit on a fixed grid of
//! [`TILE_PIXELS`] output pixels per side at a power-of-two factor, so
//! panning reuses them. At most [`MAX_TILES`] textures are kept (the least
//! recently drawn go first) and at most [`IN_FLIGHT`] requests wait at a
//! time, so a fast pan never floods the engine. A tile of a page still
//! being scanned is asked for again as more rows arrive; a filter change
//! drops every tile.

use crate::engine::{Command, RenderedTile, TileSpec};
use crate::filter::{FilterSettings, PageKey};
use egui::{ColorImage, TextureHandle, TextureOptions};
use std::collections::HashMap;

/// Side of a tile in output pixels (far below any GPU's texture limit).
pub const TILE_PIXELS: u32 = 512;

/// Most tile textures kept.
pub const MAX_TILES: usize = 48;

/// Most tile requests waiting for the engine at once.
pub const IN_FLIGHT: usize = 4;

/// A place on the tile grid of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileKey {
    /// The page.
    pub page: PageKey,
    /// Page pixels per tile pixel.
    pub factor: u32,
    /// Column on the grid.
    pub column: u32,
    /// Row on the grid.
    pub row: u32,
}

impl TileKey {
    /// The rectangle of the page this grid place covers (before clipping).
    pub fn spec(&self) -> TileSpec {
        let side = TILE_PIXELS * self.factor;
        TileSpec {
            x: self.column * side,
            y: self.row * side,
            width: side,
            height: side,
            factor: self.factor,
        }
    }
}

/// A tile on the UI side.
pub struct Tile {
    /// Its texture, once it came.
    pub texture: Option<TextureHandle>,
    /// What it covers of the page (clipped; rows so far while scanning).
    pub spec: Option<TileSpec>,
    /// Cut from a page still being scanned.
    pub building: bool,
    /// The request on its way, if any.
    waiting: Option<u64>,
    /// The frame it was last drawn in.
    last_used: u64,
}

impl Tile {
    /// The tile as it can be drawn, once its texture came.
    fn drawable(&self) -> Option<DrawTile> {
        match (&self.texture, self.spec) {
            (Some(texture), Some(spec)) => Some(DrawTile {
                texture: texture.id(),
                spec,
            }),
            _ => None,
        }
    }
}

/// A tile ready to draw: its texture and the page rectangle it covers.
#[derive(Debug, Clone, Copy)]
pub struct DrawTile {
    /// The texture.
    pub texture: egui::TextureId,
    /// The page rectangle, in page pixels.
    pub spec: TileSpec,
}

/// The tiles of the session.
#[derive(Default)]
pub struct TileStore {
    tiles: HashMap<TileKey, Tile>,
    requests: HashMap<u64, TileKey>,
    settings: FilterSettings,
    frame: u64,
    next_request: u64,
    /// Tile textures uploaded so far (for tests and figures).
    pub uploads: u64,
}

impl TileStore {
    /// Starts a frame: tiles drawn in it count as recently used.
    pub fn begin_frame(&mut self) {
        self.frame += 1;
    }

    /// Drops every tile when the filter differs from the one they were
    /// rendered with (answers still on their way are ignored).
    pub fn use_settings(&mut self, settings: FilterSettings) {
        if settings != self.settings {
            self.settings = settings;
            self.tiles.clear();
            self.requests.clear();
        }
    }

    /// Drops the tiles of `page` (it was rescanned or forgotten).
    pub fn forget(&mut self, page: PageKey) {
        self.tiles.retain(|k, _| k.page != page);
        self.requests.retain(|_, k| k.page != page);
    }

    /// Number of tile textures held.
    pub fn len(&self) -> usize {
        self.tiles.values().filter(|t| t.texture.is_some()).count()
    }

    /// True when no tile texture is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every tile held, with its place.
    pub fn tiles(&self) -> impl Iterator<Item = (&TileKey, &Tile)> {
        self.tiles.iter()
    }

    /// The tiles held for `places` that are ready to draw (the preview
    /// draws them, and then asks for the rest with [`TileStore::want`]).
    pub fn drawable(&self, places: &[TileKey]) -> Vec<DrawTile> {
        places
            .iter()
            .filter_map(|place| self.tiles.get(place))
            .filter_map(Tile::drawable)
            .collect()
    }

    /// The tiles to draw for `places` of one page, and the commands asking
    /// for those that are missing or stale. `rows_now` is the number of
    /// page rows received so far while the page is being scanned.
    pub fn want(
        &mut self,
        places: &[TileKey],
        rows_now: Option<u32>,
    ) -> (Vec<DrawTile>, Vec<Command>) {
        let mut draw = Vec::new();
        let mut commands = Vec::new();
        for place in places {
            let tile = self.tiles.entry(*place).or_insert(Tile {
                texture: None,
                spec: None,
                building: false,
                waiting: None,
                last_used: 0,
            });
            tile.last_used = self.frame;
            draw.extend(tile.drawable());
            let wanted = place.spec();
            let stale = match (tile.spec, rows_now) {
                (None, _) => true,
                // More rows came than the tile holds, and it wants them.
                (Some(have), Some(rows)) if tile.building => {
                    let bottom = have.y + have.height;
                    bottom < wanted.y + wanted.height && rows > bottom
                }
                // The page was finished since the tile was cut.
                (Some(_), None) => tile.building,
                _ => false,
            };
            if stale && tile.waiting.is_none() && self.requests.len() < IN_FLIGHT {
                self.next_request += 1;
                let request = self.next_request;
                tile.waiting = Some(request);
                self.requests.insert(request, *place);
                commands.push(Command::RenderTile {
                    request,
                    key: place.page,
                    tile: wanted,
                    settings: self.settings,
                });
            }
        }
        self.evict();
        (draw, commands)
    }

    /// Takes an answer; false when it was not one of ours (or is stale).
    pub fn answer(
        &mut self,
        ctx: &egui::Context,
        request: u64,
        result: Result<RenderedTile, String>,
    ) -> bool {
        let Some(place) = self.requests.remove(&request) else {
            return false;
        };
        let Some(tile) = self.tiles.get_mut(&place) else {
            return false;
        };
        tile.waiting = None;
        match result {
            Ok(rendered) if rendered.width > 0 && rendered.height > 0 => {
                let image = ColorImage::from_rgb(
                    [rendered.width as usize, rendered.height as usize],
                    &rendered.rgb,
                );
                match &mut tile.texture {
                    Some(texture) => texture.set(image, TextureOptions::LINEAR),
                    None => {
                        tile.texture = Some(ctx.load_texture(
                            format!(
                                "tile-{}-{}-{}-{}-{}",
                                place.page.job,
                                place.page.page,
                                place.factor,
                                place.column,
                                place.row
                            ),
                            image,
                            TextureOptions::LINEAR,
                        ));
                    }
                }
                self.uploads += 1;
                tile.spec = Some(rendered.spec);
                tile.building = rendered.building;
            }
            // No rows there yet: ask again when more came.
            Ok(rendered) => {
                tile.spec = Some(TileSpec {
                    height: 0,
                    ..rendered.spec
                });
                tile.building = rendered.building;
            }
            // Off the page or gone: remember, so it is not asked again.
            Err(_) => {
                tile.spec = Some(TileSpec {
                    width: 0,
                    height: 0,
                    ..place.spec()
                });
                tile.building = false;
            }
        }
        true
    }

    fn evict(&mut self) {
        let held = self.len();
        if held <= MAX_TILES {
            return;
        }
        let mut old: Vec<(u64, TileKey)> = self
            .tiles
            .iter()
            .filter(|(_, t)| t.texture.is_some() && t.waiting.is_none())
            .map(|(k, t)| (t.last_used, *k))
            .collect();
        old.sort_unstable_by_key(|(used, _)| *used);
        for (_, key) in old.into_iter().take(held - MAX_TILES) {
            self.tiles.remove(&key);
        }
    }
}

/// The largest power of two that is at most `ratio` (at least 1).
pub fn factor_for(ratio: f32) -> u32 {
    let mut factor = 1u32;
    while (factor * 2) as f32 <= ratio && factor < 1 << 12 {
        factor *= 2;
    }
    factor
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(column: u32, row: u32) -> TileKey {
        TileKey {
            page: PageKey { job: 1, page: 1 },
            factor: 1,
            column,
            row,
        }
    }

    fn rendered(spec: TileSpec, building: bool) -> RenderedTile {
        let (w, h) = spec.out_size();
        RenderedTile {
            spec,
            width: w,
            height: h,
            rgb: vec![128; (w * h * 3) as usize],
            page_width: 2000,
            page_height: 2000,
            building,
        }
    }

    fn request_of(command: &Command) -> u64 {
        match command {
            Command::RenderTile { request, .. } => *request,
            other => panic!("not a tile request: {other:?}"),
        }
    }

    #[test]
    fn missing_tiles_are_asked_for_a_few_at_a_time_and_drawn_once_they_come() {
        let ctx = egui::Context::default();
        let mut store = TileStore::default();
        let places: Vec<TileKey> = (0..6).map(|c| place(c, 0)).collect();
        store.begin_frame();
        let (draw, asked) = store.want(&places, None);
        assert!(draw.is_empty());
        assert_eq!(asked.len(), IN_FLIGHT);
        // Asked again while waiting: nothing new is sent.
        let (_, again) = store.want(&places, None);
        assert!(again.is_empty());
        for command in &asked {
            let request = request_of(command);
            let Command::RenderTile { tile, .. } = command else {
                unreachable!()
            };
            assert!(store.answer(&ctx, request, Ok(rendered(*tile, false))));
        }
        // What the preview draws, reading the store, before it asks again.
        assert_eq!(store.drawable(&places).len(), IN_FLIGHT);
        let (draw, rest) = store.want(&places, None);
        assert_eq!(draw.len(), IN_FLIGHT);
        assert_eq!(rest.len(), 2, "the other two are asked for now");
        assert!(!store.answer(&ctx, 999, Ok(rendered(place(0, 0).spec(), false))));
    }

    #[test]
    fn a_tile_of_a_page_in_progress_is_asked_again_as_rows_arrive() {
        let ctx = egui::Context::default();
        let mut store = TileStore::default();
        let places = [place(0, 0)];
        let (_, asked) = store.want(&places, Some(100));
        let half = TileSpec {
            height: 100,
            ..places[0].spec()
        };
        store.answer(&ctx, request_of(&asked[0]), Ok(rendered(half, true)));
        let (draw, none) = store.want(&places, Some(100));
        assert_eq!(draw.len(), 1);
        assert!(none.is_empty(), "no new rows: nothing to ask");
        let (_, more) = store.want(&places, Some(300));
        assert_eq!(more.len(), 1, "more rows came");
        store.answer(
            &ctx,
            request_of(&more[0]),
            Ok(rendered(places[0].spec(), true)),
        );
        let (_, done) = store.want(&places, None);
        assert_eq!(done.len(), 1, "the finished page is cut once more");
    }

    #[test]
    fn a_filter_change_drops_the_tiles_and_old_answers() {
        let ctx = egui::Context::default();
        let mut store = TileStore::default();
        let places = [place(0, 0)];
        let (_, asked) = store.want(&places, None);
        store.use_settings(FilterSettings {
            brightness: 10,
            ..Default::default()
        });
        assert!(!store.answer(
            &ctx,
            request_of(&asked[0]),
            Ok(rendered(places[0].spec(), false))
        ));
        let (_, fresh) = store.want(&places, None);
        match &fresh[0] {
            Command::RenderTile { settings, .. } => assert_eq!(settings.brightness, 10),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_the_most_recently_drawn_tiles_are_kept() {
        let ctx = egui::Context::default();
        let mut store = TileStore::default();
        for column in 0..(MAX_TILES as u32 + 10) {
            store.begin_frame();
            let places = [place(column, 0)];
            let (_, asked) = store.want(&places, None);
            store.answer(
                &ctx,
                request_of(&asked[0]),
                Ok(rendered(places[0].spec(), false)),
            );
            store.want(&places, None);
        }
        assert_eq!(store.len(), MAX_TILES);
        assert!(
            store.tiles().all(|(k, _)| k.column >= 10),
            "the oldest went"
        );
    }

    #[test]
    fn factors_are_powers_of_two_not_above_the_ratio() {
        assert_eq!(factor_for(0.3), 1);
        assert_eq!(factor_for(1.0), 1);
        assert_eq!(factor_for(3.9), 2);
        assert_eq!(factor_for(4.0), 4);
        assert_eq!(factor_for(9.5), 8);
    }
}
