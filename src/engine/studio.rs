//! Work on pages already scanned, with no device I/O: re-rendering the
//! preview of a cached page with new filter settings, exporting cached
//! pages again (after edits), finding photos on a flatbed preview, and
//! cutting full-resolution tiles of a page for a zoomed-in view.
//!
//! It runs on its own thread so a slow export never delays the coordinator;
//! for previews the latest request for a page wins (a slider that moves
//! fast does not queue stale renders).

use super::tiles::{self, BuildingPages, RenderedTile, TileSpec};
use super::{Event, EventSink, JobId, JobSummary, OutputTarget};
use crate::filter::cache::fit_factor;
use crate::filter::geometry::detect_regions;
use crate::filter::ops::PointLut;
use crate::filter::ops::rotate;
use crate::filter::pipeline::Recipe;
use crate::filter::{FilterSettings, PageKey, PreviewCache, Rotation};
use crate::output::file::FileDestination;
use crate::output::{self, EncodeOptions, FileFormat, PageEncoder};
use crate::raster::Page;
use crate::transfer::{Outcome, StatusCode, Totals, TransferError};
use crossbeam_channel::Receiver;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// One page of an export, with the user's extra rotation (page strip
/// edits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportPage {
    /// The cached page.
    pub key: PageKey,
    /// Extra rotation, clockwise, applied after the filter.
    pub rotation: Rotation,
}

/// A rendered preview of a cached page.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedPreview {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes of RGB.
    pub rgb: Vec<u8>,
    /// Blank detection flagged (or would drop) the page.
    pub blank: bool,
    /// The skew the filter found and corrected, degrees.
    pub skew: Option<f64>,
    /// Page pixels per preview pixel: the whole factor the page was
    /// shrunk by (full-resolution tiles are asked for in page pixels).
    pub scale: u32,
}

/// A photo found on a flatbed preview, in millimetres of the flatbed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoundRegion {
    /// Centre x.
    pub center_x_mm: f64,
    /// Centre y.
    pub center_y_mm: f64,
    /// Width (of the straightened photo).
    pub width_mm: f64,
    /// Height.
    pub height_mm: f64,
    /// Rotation, degrees counter-clockwise.
    pub angle_deg: f64,
}

/// Work for the studio thread.
#[derive(Debug, Clone)]
pub(crate) enum StudioWork {
    Preview {
        request: u64,
        key: PageKey,
        settings: FilterSettings,
        max_width: u32,
        max_height: u32,
    },
    Export {
        job: JobId,
        pages: Vec<ExportPage>,
        settings: FilterSettings,
        format: FileFormat,
        quality: u8,
        output: OutputTarget,
    },
    Forget {
        key: Option<PageKey>,
    },
    Tile {
        request: u64,
        key: PageKey,
        spec: TileSpec,
        settings: FilterSettings,
    },
}

/// The last page rendered whole for tiles (a filter with page operations
/// changes the page as a whole, so tiles are cut from one full render).
type FullRender = Option<(PageKey, FilterSettings, Page)>;

pub(crate) fn run(
    work: Receiver<StudioWork>,
    cache: Arc<Mutex<PreviewCache>>,
    building: BuildingPages,
    sink: EventSink,
) {
    let mut full: FullRender = None;
    while let Ok(first) = work.recv() {
        // Collect what queued up meanwhile; only the latest preview of a
        // page is rendered.
        let mut batch = vec![first];
        batch.extend(work.try_iter());
        let mut latest: Vec<usize> = Vec::new();
        for (i, item) in batch.iter().enumerate() {
            if let StudioWork::Preview { key, .. } = item {
                latest.retain(
                    |&j| !matches!(&batch[j], StudioWork::Preview { key: k, .. } if k == key),
                );
                latest.push(i);
            }
        }
        for (i, item) in batch.into_iter().enumerate() {
            match item {
                StudioWork::Preview {
                    request,
                    key,
                    settings,
                    max_width,
                    max_height,
                } if latest.contains(&i) => {
                    let scale = lock(&cache)
                        .header(key)
                        .map(|(h, _)| {
                            fit_factor(h.width, h.height.unwrap_or(0), max_width, max_height)
                        })
                        .unwrap_or(1);
                    let result = lock(&cache)
                        .update_preview(key, &settings, max_width, max_height)
                        .map_err(|e| format!("cannot read the cached page: {e}"))
                        .and_then(|found| {
                            found.ok_or_else(|| format!("page {} is not cached", key.page))
                        })
                        .map(|(page, report)| {
                            let blank = report.blank.is_some_and(|v| v.blank);
                            to_preview(page, blank, report.skew, scale)
                        });
                    sink.send(Event::PreviewRendered {
                        request,
                        key,
                        result,
                    });
                }
                StudioWork::Preview { .. } => {}
                StudioWork::Export {
                    job,
                    pages,
                    settings,
                    format,
                    quality,
                    output,
                } => {
                    let result = export(&cache, &pages, &settings, format, quality, &output);
                    sink.send(Event::JobFinished { job, result });
                }
                StudioWork::Forget { key } => {
                    if full
                        .as_ref()
                        .is_some_and(|(k, _, _)| key.is_none_or(|key| key == *k))
                    {
                        full = None;
                    }
                    match key {
                        Some(key) => lock(&cache).remove(key),
                        None => lock(&cache).clear(),
                    }
                }
                StudioWork::Tile {
                    request,
                    key,
                    spec,
                    settings,
                } => {
                    let result = tile(&cache, &building, &mut full, key, spec, &settings);
                    sink.send(Event::TileRendered {
                        request,
                        key,
                        result,
                    });
                }
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Cuts a tile of `key`: from the page still being scanned when it is
/// that one, else from the cache (rows read straight from it when the
/// filter has point operations only, else from one full render).
fn tile(
    cache: &Mutex<PreviewCache>,
    building: &BuildingPages,
    full: &mut FullRender,
    key: PageKey,
    spec: TileSpec,
    settings: &FilterSettings,
) -> Result<RenderedTile, String> {
    if let Some(page) = lock(building).get(&key.job).filter(|b| b.page == key.page) {
        return tiles::from_building(page, spec, settings).map_err(|e| e.to_string());
    }
    let not_cached = || format!("page {} is not cached", key.page);
    let cached = lock(cache);
    let (header, side) = cached.header(key).ok_or_else(not_cached)?;
    let recipe = Recipe::new(settings, side);
    if !recipe.needs_whole_page() {
        let spec = tiles::clip(spec, header.width, header.height.unwrap_or(0))
            .map_err(|e| e.to_string())?;
        let (header, _, rows) = cached
            .rows(key, spec.y, spec.height)
            .map_err(|e| format!("cannot read the cached page: {e}"))?
            .ok_or_else(not_cached)?;
        return Ok(tiles::from_rows(
            &header,
            &rows,
            spec.y,
            spec,
            recipe.point(),
        ));
    }
    let fresh = full
        .as_ref()
        .is_some_and(|(k, s, _)| *k == key && s == settings);
    if !fresh {
        let (page, _) = cached
            .get(key)
            .map_err(|e| format!("cannot read the cached page: {e}"))?
            .ok_or_else(not_cached)?;
        // A full render takes a while: the cache is free meanwhile.
        drop(cached);
        *full = None;
        let (page, _) = recipe.apply(page);
        let page =
            page.ok_or_else(|| format!("page {} is blank and these settings drop it", key.page))?;
        *full = Some((key, *settings, page));
    }
    let Some((_, _, page)) = full.as_ref() else {
        return Err(not_cached());
    };
    let spec = tiles::clip(spec, page.header.width, page.height()).map_err(|e| e.to_string())?;
    let neutral = PointLut::new(0, 0, 1.0);
    Ok(tiles::from_rows(
        &page.header,
        &page.data,
        0,
        spec,
        &neutral,
    ))
}

fn to_preview(page: Option<Page>, blank: bool, skew: Option<f64>, scale: u32) -> RenderedPreview {
    let Some(page) = page else {
        return RenderedPreview {
            width: 0,
            height: 0,
            rgb: Vec::new(),
            blank,
            skew,
            scale,
        };
    };
    let width = page.header.width;
    let mut rgb = Vec::with_capacity(width as usize * page.height() as usize * 3);
    for y in 0..page.height() {
        crate::raster::rgb_row(page.header.format, page.row(y), width as usize, &mut rgb);
    }
    RenderedPreview {
        width,
        height: page.height(),
        rgb,
        blank,
        skew,
        scale,
    }
}

/// The photos on `page`, in millimetres from the page's top left corner.
pub(crate) fn regions_mm(page: &Page) -> Vec<FoundRegion> {
    let mm_x = 25.4 / f64::from(page.header.dpi_x.max(1));
    let mm_y = 25.4 / f64::from(page.header.dpi_y.max(1));
    detect_regions(page)
        .into_iter()
        .map(|r| FoundRegion {
            center_x_mm: r.x * mm_x,
            center_y_mm: r.y * mm_y,
            width_mm: r.width * mm_x,
            height_mm: r.height * mm_y,
            angle_deg: r.angle_deg,
        })
        .collect()
}

fn export(
    cache: &Mutex<PreviewCache>,
    pages: &[ExportPage],
    settings: &FilterSettings,
    format: FileFormat,
    quality: u8,
    output: &OutputTarget,
) -> Result<JobSummary, TransferError> {
    let fail = |code: StatusCode, message: String, done: u32| TransferError {
        code,
        page: None,
        pages_completed: done,
        message,
    };
    let options = EncodeOptions { quality };
    let mut files: Vec<PathBuf> = Vec::new();
    let mut totals = Totals::default();
    if matches!(output, OutputTarget::Preview) {
        return Err(fail(
            StatusCode::INVALID_COMMAND,
            String::from("an export needs a file or a document to write"),
            0,
        ));
    }
    let mut document: Option<Box<dyn PageEncoder>> = None;
    let mut number = 0u32;
    for item in pages {
        let rendered = lock(cache).render_full(item.key, settings).map_err(|e| {
            fail(
                StatusCode::GENERAL_ERROR,
                format!("cannot read page {}: {e}", item.key.page),
                number,
            )
        })?;
        let Some((page, report)) = rendered else {
            return Err(fail(
                StatusCode::ITEM_DELETED,
                format!(
                    "page {} of job {} is no longer cached",
                    item.key.page, item.key.job
                ),
                number,
            ));
        };
        let Some(mut page) = page else {
            debug_assert!(report.dropped);
            totals.dropped += 1;
            continue;
        };
        if item.rotation != Rotation::None {
            page = rotate(&page, item.rotation);
        }
        number += 1;
        let write = |encoder: &mut Box<dyn PageEncoder>| -> std::io::Result<()> {
            encoder.begin_page(&page.header)?;
            for band in page.bands(64) {
                encoder.write_band(&band)?;
            }
            encoder.end_page()
        };
        let destination_error = |e: std::io::Error, n: u32| {
            fail(
                StatusCode::DESTINATION,
                format!("cannot write page {n}: {e}"),
                n - 1,
            )
        };
        match output {
            OutputTarget::Files { pattern, overwrite } => {
                let path = pattern.path_for(number);
                let dest = FileDestination::create(&path, *overwrite)
                    .map_err(|e| destination_error(e, number))?;
                let mut encoder = output::page_encoder(format, options, Box::new(dest))
                    .map_err(|e| destination_error(e, number))?;
                write(&mut encoder).map_err(|e| destination_error(e, number))?;
                encoder.finish().map_err(|e| destination_error(e, number))?;
                encoder
                    .into_destination()
                    .complete()
                    .map_err(|e| destination_error(e, number))?;
                files.push(path);
            }
            OutputTarget::Document { path, overwrite } => {
                if document.is_none() {
                    let dest = FileDestination::create(path, *overwrite)
                        .map_err(|e| destination_error(e, number))?;
                    document = Some(
                        output::document_encoder(format, options, Box::new(dest))
                            .map_err(|e| destination_error(e, number))?,
                    );
                }
                if let Some(encoder) = document.as_mut() {
                    write(encoder).map_err(|e| destination_error(e, number))?;
                }
            }
            OutputTarget::Preview => {}
        }
        totals.delivered += 1;
    }
    if let (Some(mut encoder), OutputTarget::Document { path, .. }) = (document, output) {
        encoder
            .finish()
            .and_then(|()| encoder.into_destination().complete())
            .map_err(|e| {
                fail(
                    StatusCode::DESTINATION,
                    format!("cannot finish {}: {e}", path.display()),
                    0,
                )
            })?;
        files.push(path.clone());
    }
    Ok(JobSummary {
        outcome: Outcome::Completed,
        totals,
        files,
    })
}
