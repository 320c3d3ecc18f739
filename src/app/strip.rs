//! The page strip's model: the pages scanned in this session, in the order
//! they will be saved, with edits (reorder, rotate, delete, manual-duplex
//! interleaving) that can be undone and redone.
//!
//! It holds no pixels; thumbnails are textures owned by the pages, and the
//! pages themselves stay in the engine's preview cache until exported.

use crate::engine::ExportPage;
use crate::filter::{PageKey, Rotation};
use crate::transfer::Side;
use std::path::PathBuf;

/// Where a page is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageState {
    /// Expected, not started yet.
    Queued,
    /// Rows are arriving.
    Scanning,
    /// Complete and saved.
    Done,
    /// Complete, and blank detection flagged it.
    BlankFlagged,
    /// Dropped as blank by the filter (not saved).
    Skipped,
    /// Abandoned (cancel, device fault).
    Failed,
}

impl PageState {
    /// A short word for the strip.
    pub fn label(self) -> &'static str {
        match self {
            PageState::Queued => "queued",
            PageState::Scanning => "scanning",
            PageState::Done => "done",
            PageState::BlankFlagged => "blank?",
            PageState::Skipped => "skipped",
            PageState::Failed => "failed",
        }
    }

    /// True for pages that hold a complete image.
    pub fn is_complete(self) -> bool {
        matches!(self, PageState::Done | PageState::BlankFlagged)
    }
}

/// One page of the strip.
#[derive(Clone)]
pub struct StripPage {
    /// The page in the engine's cache.
    pub key: PageKey,
    /// Side of the sheet.
    pub side: Side,
    /// State.
    pub state: PageState,
    /// Extra rotation from edits, clockwise.
    pub rotation: Rotation,
    /// The file the scan wrote it to.
    pub path: Option<PathBuf>,
    /// Thumbnail, once the page is complete.
    pub thumbnail: Option<egui::TextureHandle>,
}

impl StripPage {
    /// A page just announced.
    pub fn new(key: PageKey, side: Side, state: PageState) -> StripPage {
        StripPage {
            key,
            side,
            state,
            rotation: Rotation::None,
            path: None,
            thumbnail: None,
        }
    }
}

/// The strip: pages, selection, undo and redo.
#[derive(Default)]
pub struct PageStrip {
    pages: Vec<StripPage>,
    /// The selected page (index).
    pub selected: Option<usize>,
    undo: Vec<Vec<StripPage>>,
    redo: Vec<Vec<StripPage>>,
}

impl PageStrip {
    /// The pages in order.
    pub fn pages(&self) -> &[StripPage] {
        &self.pages
    }

    /// The page of `key`, to update as events arrive (not an edit: no
    /// undo step).
    pub fn page_mut(&mut self, key: PageKey) -> Option<&mut StripPage> {
        self.pages.iter_mut().find(|p| p.key == key)
    }

    /// Adds a page at the end (a scan, not an edit).
    pub fn push(&mut self, page: StripPage) {
        self.pages.push(page);
    }

    /// Removes pages of `job` still queued (the job ended before them).
    pub fn drop_queued(&mut self, job: u64) {
        self.pages
            .retain(|p| !(p.key.job == job && p.state == PageState::Queued));
        self.clamp_selection();
    }

    fn clamp_selection(&mut self) {
        if let Some(i) = self.selected
            && i >= self.pages.len()
        {
            self.selected = self.pages.len().checked_sub(1);
        }
    }

    fn checkpoint(&mut self) {
        self.undo.push(self.pages.clone());
        self.redo.clear();
    }

    /// Turns page `index` a quarter turn clockwise.
    pub fn rotate(&mut self, index: usize) {
        if index < self.pages.len() {
            self.checkpoint();
            let page = &mut self.pages[index];
            page.rotation = page.rotation.then(Rotation::Cw90);
        }
    }

    /// Deletes page `index` from the strip (its file stays on disk).
    pub fn delete(&mut self, index: usize) {
        if index < self.pages.len() {
            self.checkpoint();
            self.pages.remove(index);
            self.clamp_selection();
        }
    }

    /// Moves page `from` to position `to`.
    pub fn move_page(&mut self, from: usize, to: usize) {
        if from < self.pages.len() && to < self.pages.len() && from != to {
            self.checkpoint();
            let page = self.pages.remove(from);
            self.pages.insert(to, page);
            self.selected = Some(to);
        }
    }

    /// Manual duplex: the complete pages of `fronts` (one pass of the
    /// stack) and of `backs` (the stack turned over, so its pages come
    /// last sheet first) become front, back, front, back... Pages of other
    /// jobs keep their place before them. False when the jobs' page counts
    /// differ or either is empty.
    pub fn interleave(&mut self, fronts: u64, backs: u64) -> bool {
        let of = |job: u64, pages: &[StripPage]| -> Vec<StripPage> {
            pages
                .iter()
                .filter(|p| p.key.job == job && p.state.is_complete())
                .cloned()
                .collect()
        };
        let front = of(fronts, &self.pages);
        let mut back = of(backs, &self.pages);
        if front.is_empty() || front.len() != back.len() {
            return false;
        }
        self.checkpoint();
        back.reverse();
        self.pages
            .retain(|p| !(p.key.job == fronts || p.key.job == backs) || !p.state.is_complete());
        for (mut f, mut b) in front.into_iter().zip(back) {
            f.side = Side::Front;
            b.side = Side::Back;
            self.pages.push(f);
            self.pages.push(b);
        }
        true
    }

    /// Undoes the last edit; false when there is none.
    pub fn undo(&mut self) -> bool {
        match self.undo.pop() {
            Some(previous) => {
                let current = std::mem::replace(&mut self.pages, previous);
                self.redo.push(current);
                self.clamp_selection();
                true
            }
            None => false,
        }
    }

    /// Redoes the last undone edit; false when there is none.
    pub fn redo(&mut self) -> bool {
        match self.redo.pop() {
            Some(next) => {
                let current = std::mem::replace(&mut self.pages, next);
                self.undo.push(current);
                self.clamp_selection();
                true
            }
            None => false,
        }
    }

    /// True when there is an edit to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// True when there is an edit to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// The complete pages, in order, as an export wants them.
    pub fn export_pages(&self) -> Vec<ExportPage> {
        self.pages
            .iter()
            .filter(|p| p.state.is_complete())
            .map(|p| ExportPage {
                key: p.key,
                rotation: p.rotation,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(job: u64, n: u32) -> StripPage {
        StripPage::new(PageKey { job, page: n }, Side::Front, PageState::Done)
    }

    fn keys(strip: &PageStrip) -> Vec<(u64, u32)> {
        strip
            .pages()
            .iter()
            .map(|p| (p.key.job, p.key.page))
            .collect()
    }

    #[test]
    fn edits_undo_and_redo() {
        let mut strip = PageStrip::default();
        for n in 1..=3 {
            strip.push(page(1, n));
        }
        strip.move_page(0, 2);
        assert_eq!(keys(&strip), vec![(1, 2), (1, 3), (1, 1)]);
        strip.rotate(0);
        assert_eq!(strip.pages()[0].rotation, Rotation::Cw90);
        strip.delete(1);
        assert_eq!(keys(&strip), vec![(1, 2), (1, 1)]);
        assert!(strip.undo());
        assert!(strip.undo());
        assert_eq!(strip.pages()[0].rotation, Rotation::None);
        assert!(strip.redo());
        assert_eq!(strip.pages()[0].rotation, Rotation::Cw90);
        assert!(strip.undo());
        assert!(strip.undo());
        assert_eq!(keys(&strip), vec![(1, 1), (1, 2), (1, 3)]);
        assert!(!strip.undo());
    }

    #[test]
    fn interleave_reverses_the_backs() {
        let mut strip = PageStrip::default();
        for n in 1..=3 {
            strip.push(page(1, n));
        }
        for n in 1..=3 {
            strip.push(page(2, n));
        }
        assert!(strip.interleave(1, 2));
        assert_eq!(
            keys(&strip),
            vec![(1, 1), (2, 3), (1, 2), (2, 2), (1, 3), (2, 1)]
        );
        assert!(strip.undo());
        assert_eq!(keys(&strip)[1], (1, 2));
    }
}
