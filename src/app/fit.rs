//! Fitting the saved scan settings to what the selected device's source
//! offers, for one scan.
//!
//! The user's preference (`Preferences::scan`) is never overwritten by a
//! device: a value the source does not offer is replaced by the nearest
//! one it does, for this scan only, and the settings panel says so beside
//! the control. Choosing a source that offers the preferred value again
//! brings it back by itself.

use crate::transfer::{Capabilities, PageSize, ScanSettings, Source};

/// Which control an adjustment belongs beside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The paper source.
    Source,
    /// The resolution.
    Resolution,
    /// The colour mode.
    Mode,
    /// The page size.
    Size,
    /// The flatbed scan area.
    Area,
}

/// One value replaced for this scan, and the sentence saying so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// The control it concerns.
    pub setting: Setting,
    /// What the scan uses instead, for people.
    pub note: String,
}

/// The settings a scan uses, and what was replaced to get them.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// What the scan asks of the device.
    pub settings: ScanSettings,
    /// Each value replaced, with why.
    pub adjustments: Vec<Adjustment>,
}

impl Fitted {
    /// The note beside `setting`, when its value was replaced.
    pub fn note(&self, setting: Setting) -> Option<&str> {
        self.adjustments
            .iter()
            .find(|a| a.setting == setting)
            .map(|a| a.note.as_str())
    }
}

/// `preferred` fitted to `caps` (unchanged when the device's capabilities
/// are not known yet).
pub fn fit(preferred: &ScanSettings, caps: Option<&Capabilities>) -> Fitted {
    let mut settings = preferred.clone();
    let mut adjustments = Vec::new();
    let mut note = |setting, note: String| adjustments.push(Adjustment { setting, note });
    let Some(caps) = caps else {
        return Fitted {
            settings,
            adjustments,
        };
    };
    let source = match caps.source(settings.source) {
        Some(source) => source,
        None => match caps.sources.first() {
            Some(first) => {
                note(
                    Setting::Source,
                    format!(
                        "This device has no {}: this scan uses the {}",
                        settings.source.as_str(),
                        first.source.as_str()
                    ),
                );
                settings.source = first.source;
                first
            }
            None => {
                return Fitted {
                    settings,
                    adjustments,
                };
            }
        },
    };
    let name = source_name(source.source);
    if !source.resolutions.contains(settings.dpi)
        && let Some(nearest) = source.resolutions.nearest(settings.dpi)
    {
        note(
            Setting::Resolution,
            format!(
                "The {name} does not scan at {} dpi: this scan uses {nearest} dpi",
                settings.dpi
            ),
        );
        settings.dpi = nearest;
    }
    if !source.modes.contains(&settings.mode)
        && let Some(first) = source.modes.first()
    {
        note(
            Setting::Mode,
            format!(
                "The {name} does not scan in {}: this scan uses {}",
                settings.mode.as_str(),
                first.as_str()
            ),
        );
        settings.mode = *first;
    }
    let (max_w, max_h) = source.max_area_mm;
    let size_fits = match settings.size {
        PageSize::Custom {
            width_mm,
            height_mm,
        } => width_mm <= max_w + 0.05 && height_mm <= max_h + 0.05,
        size => source.sizes.is_empty() || source.sizes.contains(&size),
    };
    if !size_fits && let Some(first) = source.sizes.first() {
        note(
            Setting::Size,
            format!(
                "The {name} does not take this page size: this scan uses {}",
                size_name(*first)
            ),
        );
        settings.size = *first;
    }
    if settings.source != Source::Flatbed {
        // An area is a part of the glass: feeder pages are whole.
        settings.area = None;
    } else if let Some(area) = settings.area
        && !area.lies_within(source.max_area_mm)
    {
        note(
            Setting::Area,
            format!(
                "The scan area does not lie on this {max_w:.0} x {max_h:.0} mm glass: this scan takes the whole page"
            ),
        );
        settings.area = None;
    }
    Fitted {
        settings,
        adjustments,
    }
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Flatbed => "flatbed",
        Source::Feeder => "feeder",
        Source::Duplex => "duplex feeder",
    }
}

fn size_name(size: PageSize) -> String {
    match size {
        PageSize::A4 => String::from("A4"),
        PageSize::Letter => String::from("Letter"),
        PageSize::Legal => String::from("Legal"),
        PageSize::Auto => String::from("automatic length"),
        PageSize::Custom {
            width_mm,
            height_mm,
        } => format!("{width_mm:.0} x {height_mm:.0} mm"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::sim::sim_capabilities;
    use crate::transfer::{ColorMode, ScanArea};

    #[test]
    fn a_resolution_the_feeder_lacks_is_replaced_for_this_scan_only() {
        let caps = sim_capabilities();
        let preferred = ScanSettings {
            source: Source::Feeder,
            dpi: 1200,
            ..ScanSettings::default()
        };
        let fitted = fit(&preferred, Some(&caps));
        assert_eq!(fitted.settings.dpi, 600);
        assert!(
            fitted
                .note(Setting::Resolution)
                .is_some_and(|n| n.contains("1200") && n.contains("600 dpi")),
            "{fitted:?}"
        );
        // The flatbed offers 1200: nothing to say.
        let flatbed = ScanSettings {
            source: Source::Flatbed,
            ..preferred
        };
        let fitted = fit(&flatbed, Some(&caps));
        assert_eq!(fitted.settings.dpi, 1200);
        assert!(fitted.adjustments.is_empty(), "{fitted:?}");
    }

    #[test]
    fn the_nearest_offered_resolution_is_taken() {
        let caps = sim_capabilities();
        let preferred = ScanSettings {
            source: Source::Feeder,
            dpi: 240,
            mode: ColorMode::Gray,
            ..ScanSettings::default()
        };
        assert_eq!(fit(&preferred, Some(&caps)).settings.dpi, 200);
        let flatbed = ScanSettings {
            source: Source::Flatbed,
            dpi: 240,
            ..ScanSettings::default()
        };
        assert_eq!(fit(&flatbed, Some(&caps)).settings.dpi, 250);
    }

    #[test]
    fn legal_pages_do_not_fit_the_glass_and_areas_off_it_are_dropped() {
        let caps = sim_capabilities();
        let legal = ScanSettings {
            source: Source::Flatbed,
            size: PageSize::Legal,
            area: Some(ScanArea {
                x_mm: 100.0,
                y_mm: 250.0,
                width_mm: 100.0,
                height_mm: 100.0,
            }),
            ..ScanSettings::default()
        };
        let fitted = fit(&legal, Some(&caps));
        assert_eq!(fitted.settings.size, PageSize::A4);
        assert_eq!(fitted.settings.area, None);
        assert!(fitted.note(Setting::Size).is_some());
        assert!(fitted.note(Setting::Area).is_some());
        // The feeder takes Legal.
        let feeder = ScanSettings {
            source: Source::Feeder,
            ..legal
        };
        let fitted = fit(&feeder, Some(&caps));
        assert_eq!(fitted.settings.size, PageSize::Legal);
        assert!(fitted.adjustments.is_empty(), "{fitted:?}");
    }

    #[test]
    fn unknown_capabilities_change_nothing() {
        let preferred = ScanSettings::default();
        let fitted = fit(&preferred, None);
        assert_eq!(fitted.settings, preferred);
        assert!(fitted.adjustments.is_empty());
    }
}
