//! The image-processing filter that wraps every download stream.
//!
//! [`Filter`] always wraps the encoder of a download stream. With neutral
//! settings it is the identity (a device JPEG stays the same JPEG); else
//! point operations run band by band as data streams and page operations
//! buffer one page ([`pipeline`]). The operations themselves are pure
//! functions in [`ops`] and [`geometry`].

pub mod cache;
pub mod geometry;
pub mod ops;
pub mod pipeline;

pub use cache::{PageKey, PreviewCache};
pub use pipeline::{
    BandTap, Filter, PageReport, Recipe, needs_whole_page, process_page, rotation_for,
};

use serde::{Deserialize, Serialize};

/// Rotation applied by the filter, **clockwise** as in other tools
/// (`WIA_IPS_ROTATION` counts counter-clockwise: its LANDSCAPE, 90 degrees
/// counter-clockwise, is [`Rotation::Cw270`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Rotation {
    /// No rotation (WIA PORTRAIT).
    #[default]
    None,
    /// 90 degrees clockwise: the top edge goes to the right (WIA ROT270).
    Cw90,
    /// 180 degrees (WIA ROT180).
    Cw180,
    /// 270 degrees clockwise = 90 counter-clockwise (WIA LANDSCAPE).
    Cw270,
}

impl Rotation {
    /// From clockwise degrees (0, 90, 180, 270).
    pub fn from_degrees(degrees: u32) -> Option<Rotation> {
        match degrees % 360 {
            0 => Some(Rotation::None),
            90 => Some(Rotation::Cw90),
            180 => Some(Rotation::Cw180),
            270 => Some(Rotation::Cw270),
            _ => None,
        }
    }

    /// Clockwise degrees.
    pub fn degrees(self) -> u32 {
        match self {
            Rotation::None => 0,
            Rotation::Cw90 => 90,
            Rotation::Cw180 => 180,
            Rotation::Cw270 => 270,
        }
    }

    /// The value of `WIA_IPS_ROTATION` (counter-clockwise steps).
    pub fn wia_value(self) -> u32 {
        match self {
            Rotation::None => 0,
            Rotation::Cw270 => 1,
            Rotation::Cw180 => 2,
            Rotation::Cw90 => 3,
        }
    }

    /// This rotation followed by `other`.
    pub fn then(self, other: Rotation) -> Rotation {
        Rotation::from_degrees(self.degrees() + other.degrees()).unwrap_or_default()
    }
}

/// How black-and-white conversion picks its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Threshold {
    /// Gray levels below this value become black.
    Fixed(u8),
    /// Otsu's method on the page's histogram.
    Auto,
}

/// What blank-page detection does with a blank page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlankAction {
    /// Report the page as blank, keep it.
    #[default]
    Flag,
    /// Drop the page (the destination discards it; a page-dropped event).
    Drop,
}

/// Filter settings shared by the GUI and the CLI. Neutral by default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterSettings {
    /// Brightness -1000..=1000, 0 = unchanged (`WIA_IPS_BRIGHTNESS`).
    pub brightness: i32,
    /// Contrast -1000..=1000, 0 = unchanged (`WIA_IPS_CONTRAST`).
    pub contrast: i32,
    /// Gamma, 1.0 = unchanged; above 1 brightens mid-tones.
    pub gamma: f32,
    /// Convert to black and white with this threshold.
    pub threshold: Option<Threshold>,
    /// Rotation, clockwise (`WIA_IPS_ROTATION`, counted counter-clockwise).
    pub rotation: Rotation,
    /// Rotate back sides of duplex sheets by 180 degrees.
    pub rotate_back: bool,
    /// Detect and correct skew (`WIA_IPS_DESKEW_X/Y`).
    pub deskew: bool,
    /// Crop to the paper's edges (`WIA_IPS_AUTO_CROP`).
    pub autocrop: bool,
    /// Detect blank pages, and what to do with them (None: don't detect).
    pub blank: Option<BlankAction>,
    /// Blank detection sensitivity 0..=1 (higher: more pages count as
    /// blank).
    pub blank_sensitivity: f32,
    /// Remove isolated specks from black-and-white pages.
    pub despeckle: bool,
}

impl Default for FilterSettings {
    fn default() -> Self {
        FilterSettings {
            brightness: 0,
            contrast: 0,
            gamma: 1.0,
            threshold: None,
            rotation: Rotation::None,
            rotate_back: false,
            deskew: false,
            autocrop: false,
            blank: None,
            blank_sensitivity: 0.5,
            despeckle: false,
        }
    }
}

impl FilterSettings {
    /// Only the lookup-table part of these settings (brightness, contrast,
    /// gamma); everything else neutral. A flatbed preview runs with it.
    pub fn point_only(&self) -> FilterSettings {
        FilterSettings {
            brightness: self.brightness,
            contrast: self.contrast,
            gamma: self.gamma,
            ..FilterSettings::default()
        }
    }

    /// True when the filter changes no pixel (bytes pass through).
    pub fn is_neutral(&self) -> bool {
        self.brightness == 0
            && self.contrast == 0
            && (self.gamma - 1.0).abs() < f32::EPSILON
            && self.threshold.is_none()
            && self.rotation == Rotation::None
            && !self.rotate_back
            && !self.deskew
            && !self.autocrop
            && self.blank != Some(BlankAction::Drop)
            && !self.despeckle
    }
}
