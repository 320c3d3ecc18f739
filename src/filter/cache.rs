//! The preview cache (WIA's `IWiaPreview`): keeps the **unfiltered** pages
//! exactly as the device sent them, so a filter change re-renders a page
//! without rescanning (no device I/O at all).
//!
//! A bounded number of recent pages stay in memory; older ones are spilled
//! to temporary files and read back on demand, so the cache's memory does
//! not grow with the number of pages scanned. [`PreviewCache::update_preview`]
//! renders a screen-sized copy (downscaled first, then filtered: fast
//! enough to follow a slider), [`PreviewCache::render_full`] the full page
//! for export.

use super::FilterSettings;
use super::pipeline::{PageReport, Recipe};
use crate::raster::shrink::BoxShrinker;
use crate::raster::{Page, PageHeader, PixelFormat};
use crate::stream::Side;
use std::collections::VecDeque;
use std::fs;
use std::io;
use std::path::PathBuf;

/// Identifies a cached page: the job that scanned it and its page number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PageKey {
    /// The job.
    pub job: u64,
    /// The page number within the job.
    pub page: u32,
}

enum Stored {
    Memory(Vec<u8>),
    Spilled(PathBuf),
}

struct Entry {
    key: PageKey,
    header: PageHeader,
    side: Side,
    data: Stored,
    /// The last screen-sized copy and the box it fits: a slider that moves
    /// re-filters this small copy only.
    small: Option<((u32, u32), Page)>,
}

/// Unfiltered pages, the last few in memory and the rest in temp files.
pub struct PreviewCache {
    entries: VecDeque<Entry>,
    in_memory: usize,
    max_pages: usize,
    spill_dir: Option<PathBuf>,
    spill_counter: u64,
}

impl Default for PreviewCache {
    fn default() -> Self {
        PreviewCache::new(2, 500)
    }
}

impl PreviewCache {
    /// A cache keeping `in_memory` pages in memory and at most `max_pages`
    /// in all (the oldest are forgotten beyond that).
    pub fn new(in_memory: usize, max_pages: usize) -> PreviewCache {
        PreviewCache {
            entries: VecDeque::new(),
            in_memory: in_memory.max(1),
            max_pages: max_pages.max(1),
            spill_dir: None,
            spill_counter: 0,
        }
    }

    /// Keeps `page` (unfiltered) under `key`, replacing an older one.
    pub fn insert(&mut self, key: PageKey, side: Side, page: Page) {
        self.remove(key);
        self.entries.push_back(Entry {
            key,
            header: page.header,
            side,
            data: Stored::Memory(page.data),
            small: None,
        });
        while self.entries.len() > self.max_pages {
            if let Some(old) = self.entries.pop_front() {
                drop_stored(old.data);
            }
        }
        self.spill_old();
    }

    fn spill_old(&mut self) {
        let memory: Vec<usize> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e.data, Stored::Memory(_)))
            .map(|(i, _)| i)
            .collect();
        if memory.len() <= self.in_memory {
            return;
        }
        let excess = memory.len() - self.in_memory;
        for &index in memory.iter().take(excess) {
            let Some(path) = self.spill_path() else {
                // No temp folder: keep the page in memory.
                return;
            };
            let entry = &mut self.entries[index];
            if let Stored::Memory(data) = &entry.data
                && fs::write(&path, data).is_ok()
            {
                entry.data = Stored::Spilled(path);
            }
        }
    }

    fn spill_path(&mut self) -> Option<PathBuf> {
        if self.spill_dir.is_none() {
            let dir = std::env::temp_dir().join(format!(
                "streamscan-preview-{}-{:p}",
                std::process::id(),
                self
            ));
            fs::create_dir_all(&dir).ok()?;
            self.spill_dir = Some(dir);
        }
        self.spill_counter += 1;
        self.spill_dir
            .as_ref()
            .map(|d| d.join(format!("page-{}.raw", self.spill_counter)))
    }

    /// Forgets the page under `key`.
    pub fn remove(&mut self, key: PageKey) {
        if let Some(index) = self.entries.iter().position(|e| e.key == key)
            && let Some(entry) = self.entries.remove(index)
        {
            drop_stored(entry.data);
        }
    }

    /// Drops every page (`clear` of the contract).
    pub fn clear(&mut self) {
        for entry in self.entries.drain(..) {
            drop_stored(entry.data);
        }
    }

    /// The keys of the cached pages, oldest first.
    pub fn keys(&self) -> Vec<PageKey> {
        self.entries.iter().map(|e| e.key).collect()
    }

    /// Number of pages cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The unfiltered page under `key` and its side.
    pub fn get(&self, key: PageKey) -> io::Result<Option<(Page, Side)>> {
        let Some(entry) = self.entries.iter().find(|e| e.key == key) else {
            return Ok(None);
        };
        let data = match &entry.data {
            Stored::Memory(data) => data.clone(),
            Stored::Spilled(path) => fs::read(path)?,
        };
        Ok(Some((
            Page {
                header: entry.header,
                data,
            },
            entry.side,
        )))
    }

    /// The header and side of the page under `key`.
    pub fn header(&self, key: PageKey) -> Option<(PageHeader, Side)> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| (e.header, e.side))
    }

    /// Rows `first..first + count` of the unfiltered page under `key`
    /// (fewer at the page's end), read without loading the rest of a page
    /// that was spilled to disk; with the header, and the index of the
    /// first row returned.
    pub fn rows(
        &self,
        key: PageKey,
        first: u32,
        count: u32,
    ) -> io::Result<Option<(PageHeader, Side, Vec<u8>)>> {
        let Some(entry) = self.entries.iter().find(|e| e.key == key) else {
            return Ok(None);
        };
        let row_bytes = entry.header.row_bytes() as u64;
        let height = entry.header.height.unwrap_or(0);
        let first = first.min(height);
        let count = count.min(height - first);
        let start = u64::from(first) * row_bytes;
        let len = u64::from(count) * row_bytes;
        let data = match &entry.data {
            Stored::Memory(data) => data
                .get(start as usize..(start + len) as usize)
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
            Stored::Spilled(path) => {
                use std::io::{Read, Seek, SeekFrom};
                let mut file = fs::File::open(path)?;
                file.seek(SeekFrom::Start(start))?;
                let mut data = vec![0; len as usize];
                file.read_exact(&mut data)?;
                data
            }
        };
        Ok(Some((entry.header, entry.side, data)))
    }

    /// Re-runs the filter on a copy of the page downscaled to fit
    /// `max_width` x `max_height` (interactive preview). The downscaled
    /// copy is kept, so the next change of settings only re-filters it.
    /// `None` when the page is not cached; the page inside is `None` when
    /// these settings drop it as blank (the report says so).
    pub fn update_preview(
        &mut self,
        key: PageKey,
        settings: &FilterSettings,
        max_width: u32,
        max_height: u32,
    ) -> io::Result<Option<(Option<Page>, PageReport)>> {
        let fits = (max_width, max_height);
        let memo = self
            .entries
            .iter()
            .find(|e| e.key == key)
            .and_then(|e| e.small.as_ref())
            .filter(|(size, _)| *size == fits)
            .map(|(_, page)| page.clone());
        let (small, side) = match memo {
            Some(small) => {
                let side = self
                    .entries
                    .iter()
                    .find(|e| e.key == key)
                    .map(|e| e.side)
                    .unwrap_or_default();
                (small, side)
            }
            None => {
                let Some((page, side)) = self.get(key)? else {
                    return Ok(None);
                };
                let small = downscale_to_fit(&page, max_width, max_height);
                if let Some(entry) = self.entries.iter_mut().find(|e| e.key == key) {
                    entry.small = Some((fits, small.clone()));
                }
                (small, side)
            }
        };
        Ok(Some(Recipe::new(settings, side).apply(small)))
    }

    /// Re-runs the filter on the full page (for export).
    pub fn render_full(
        &self,
        key: PageKey,
        settings: &FilterSettings,
    ) -> io::Result<Option<(Option<Page>, PageReport)>> {
        let Some((page, side)) = self.get(key)? else {
            return Ok(None);
        };
        Ok(Some(Recipe::new(settings, side).apply(page)))
    }
}

impl Drop for PreviewCache {
    fn drop(&mut self) {
        self.clear();
        if let Some(dir) = self.spill_dir.take() {
            let _ignored = fs::remove_dir_all(dir);
        }
    }
}

fn drop_stored(data: Stored) {
    if let Stored::Spilled(path) = data {
        let _ignored = fs::remove_file(path);
    }
}

/// The whole factor [`downscale_to_fit`] shrinks a `width x height` page
/// by to fit `max_width x max_height` (1: it fits already).
pub fn fit_factor(width: u32, height: u32, max_width: u32, max_height: u32) -> u32 {
    width
        .max(1)
        .div_ceil(max_width.max(1))
        .max(height.max(1).div_ceil(max_height.max(1)))
        .max(1)
}

/// Shrinks `page` by a whole factor (box filter) so that it fits in
/// `max_width` x `max_height`; black-and-white pages become gray. The
/// resolution is scaled with it, so physical sizes stay right.
pub fn downscale_to_fit(page: &Page, max_width: u32, max_height: u32) -> Page {
    let width = page.header.width.max(1);
    let height = page.height().max(1);
    let factor = fit_factor(width, height, max_width, max_height);
    let (format, channels) = match page.header.format {
        PixelFormat::Rgb8 => (PixelFormat::Rgb8, 3usize),
        PixelFormat::Gray8 | PixelFormat::Bw1 => (PixelFormat::Gray8, 1usize),
    };
    if factor == 1 && page.header.format != PixelFormat::Bw1 {
        return page.clone();
    }
    let out_h = height.div_ceil(factor);
    let mut shrink = BoxShrinker::new(
        width,
        page.header.format,
        factor,
        format == PixelFormat::Rgb8,
    );
    let out_w = shrink.out_width();
    let mut data = Vec::with_capacity(out_w as usize * out_h as usize * channels);
    for y in 0..height {
        shrink.push_row(page.row(y), &mut data);
    }
    shrink.flush(&mut data);
    Page {
        header: PageHeader {
            width: out_w,
            height: Some(out_h),
            format,
            dpi_x: (page.header.dpi_x / factor).max(1),
            dpi_y: (page.header.dpi_y / factor).max(1),
        },
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(fill: u8) -> Page {
        Page::filled(40, 30, PixelFormat::Gray8, 300, fill)
    }

    #[test]
    fn keeps_pages_spills_old_ones_and_reads_them_back() {
        let mut cache = PreviewCache::new(1, 10);
        for i in 0..4u32 {
            cache.insert(PageKey { job: 1, page: i }, Side::Front, page(i as u8 * 10));
        }
        assert_eq!(cache.len(), 4);
        for i in 0..4u32 {
            let (p, _) = cache
                .get(PageKey { job: 1, page: i })
                .expect("readable")
                .expect("cached");
            assert!(p.data.iter().all(|&v| v == i as u8 * 10));
        }
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn rows_come_from_memory_and_from_spilled_pages_alike() {
        let mut cache = PreviewCache::new(1, 10);
        let mut striped = Page::filled(4, 10, PixelFormat::Gray8, 300, 0);
        for (i, v) in striped.data.iter_mut().enumerate() {
            *v = (i / 4) as u8;
        }
        let first = PageKey { job: 1, page: 1 };
        cache.insert(first, Side::Front, striped.clone());
        let in_memory = cache.rows(first, 3, 2).expect("readable").expect("cached");
        assert_eq!(in_memory.2, vec![3, 3, 3, 3, 4, 4, 4, 4]);
        // A second page spills the first to disk.
        cache.insert(PageKey { job: 1, page: 2 }, Side::Front, page(1));
        let spilled = cache.rows(first, 8, 5).expect("readable").expect("cached");
        assert_eq!(
            spilled.2,
            vec![8, 8, 8, 8, 9, 9, 9, 9],
            "cut at the page end"
        );
        assert_eq!(spilled.0, striped.header);
        assert!(
            cache
                .rows(PageKey { job: 9, page: 9 }, 0, 1)
                .expect("readable")
                .is_none()
        );
    }

    #[test]
    fn forgets_the_oldest_beyond_the_limit() {
        let mut cache = PreviewCache::new(1, 2);
        for i in 0..3u32 {
            cache.insert(PageKey { job: 1, page: i }, Side::Front, page(1));
        }
        assert_eq!(
            cache.keys(),
            vec![PageKey { job: 1, page: 1 }, PageKey { job: 1, page: 2 }]
        );
    }

    #[test]
    fn preview_is_filtered_and_fits_the_box() {
        let mut cache = PreviewCache::default();
        let key = PageKey { job: 7, page: 1 };
        assert!(
            cache
                .update_preview(key, &FilterSettings::default(), 10, 10)
                .expect("readable")
                .is_none()
        );
        cache.insert(key, Side::Front, page(100));
        let settings = FilterSettings {
            brightness: 200,
            ..Default::default()
        };
        let (shown, _) = cache
            .update_preview(key, &settings, 10, 10)
            .expect("readable")
            .expect("cached");
        let shown = shown.expect("not dropped");
        assert!(shown.header.width <= 10 && shown.height() <= 10);
        assert!(shown.data.iter().all(|&v| v > 100), "brightened");
        // The cache still holds the unfiltered page, and the next render
        // starts again from it, not from the brightened one.
        let (raw, _) = cache.get(key).expect("readable").expect("cached");
        assert!(raw.data.iter().all(|&v| v == 100));
        let (again, _) = cache
            .update_preview(key, &FilterSettings::default(), 10, 10)
            .expect("readable")
            .expect("cached");
        assert!(again.expect("kept").data.iter().all(|&v| v == 100));
    }
}
