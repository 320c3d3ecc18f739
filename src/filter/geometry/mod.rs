//! Geometry filters: deskew, paper detection with auto-crop, and photo
//! segmentation on the flatbed.
//!
//! Every function here is pure: a [`Page`](crate::raster::Page) goes in, a
//! new page or a measurement comes out, and nothing is kept between calls.
//! The filter pipeline chains them (detect, then rotate or crop); the
//! preview uses [`detect_regions`] to create child items for the photos it
//! finds.
//!
//! Detection always works on a reduced 8-bit gray copy of the page (box
//! averaged to roughly 75-150 dpi, see `plane`), so it costs a few tens of
//! milliseconds even for 300 dpi colour pages; where the reduced copy is too
//! coarse (paper edges, photo outlines) the result is refined on the full
//! page. Resampling ([`rotate_by`], [`extract_region`]) is bicubic.
//!
//! Conventions shared by all functions:
//!
//! - Coordinates are in pixels of the page, `(0, 0)` being the top-left
//!   corner of the top-left pixel, so the centre of pixel `(i, j)` is
//!   `(i + 0.5, j + 0.5)`. The simulator's regions use the same
//!   convention, in millimetres.
//! - Angles are in degrees, **positive counter-clockwise** as seen on the
//!   page (the convention of the simulator's `PageSpec::skew_deg`).
//! - All three pixel formats are accepted. Black-and-white pages are
//!   converted to gray, processed, and thresholded again at 128.
//!
//! What this module is not: a layout analyser. It finds one dominant text
//! direction, one sheet of paper, or separate prints lighter than the lid;
//! overlapping prints come out as one region.

mod crop;
mod deskew;
mod hull;
mod plane;
mod segment;

pub use crate::raster::geometry::{Rect, crop};
pub use crop::{StandardSize, detect_paper, snap_to_standard};
pub use deskew::{deskew, detect_skew, paper_colour, rotate_by};
pub use segment::{DetectedRegion, detect_regions, extract_region};
