//! What the app remembers between runs: the chosen device, the scan and
//! filter settings, the destination, and named profiles.
//!
//! Preferences are plain serde data with `#[serde(default)]` everywhere,
//! kept apart from runtime state (jobs, pages, textures), so that a file
//! written by an older or newer version still loads. They live in
//! `settings.json` in the app's data folder, with the window's size, place
//! and maximised state.

use crate::output::{FileFormat, OutputPattern};
use crate::transfer::ScanSettings;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where scanned pages go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Destination {
    /// Folder the files (or the document) are written into.
    pub folder: PathBuf,
    /// File name of each page without the extension; `{n}` is the page
    /// number and `{date}` the job's start time.
    pub pattern: String,
    /// Write one multipage document (PDF or TIFF) instead of a file per page.
    pub document: bool,
    /// File name of the document without the extension (`{date}` allowed).
    pub document_name: String,
}

impl Default for Destination {
    fn default() -> Self {
        Destination {
            folder: dirs::picture_dir()
                .or_else(dirs::home_dir)
                .unwrap_or_else(std::env::temp_dir),
            pattern: String::from("scan-{date}-{n:03}"),
            document: false,
            document_name: String::from("scan-{date}"),
        }
    }
}

/// Doubles braces so that a literal path survives pattern parsing.
fn escape_braces(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

impl Destination {
    /// The per-page pattern for a job that started at `stamp`.
    pub fn page_pattern(&self, stamp: &str, format: FileFormat) -> Result<OutputPattern, String> {
        let folder = escape_braces(&self.folder.display().to_string());
        let name = self.pattern.replace("{date}", stamp);
        let name = if name.contains("{n") {
            name
        } else {
            format!("{name}-{{n}}")
        };
        OutputPattern::parse(&format!("{folder}/{name}.{}", format.extension()))
    }

    /// The document path for a job that started at `stamp`.
    pub fn document_path(&self, stamp: &str, format: FileFormat) -> PathBuf {
        let name = self.document_name.replace("{date}", stamp);
        self.folder.join(format!("{name}.{}", format.extension()))
    }
}

/// The main window's size and place, as the last run left them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct WindowState {
    /// Inner size in points.
    pub size: Option<[f32; 2]>,
    /// Position of the outer top-left corner in points, where the
    /// windowing system tells it (Wayland does not).
    pub position: Option<[f32; 2]>,
    /// The window was maximised.
    pub maximized: bool,
}

impl WindowState {
    /// Smallest window the app opens with, in points.
    pub const MIN_SIZE: [f32; 2] = [720.0, 480.0];
    /// Window size of a first run, in points.
    pub const DEFAULT_SIZE: [f32; 2] = [1200.0, 780.0];

    /// The size to open with: the remembered one within sane bounds.
    pub fn opening_size(&self) -> [f32; 2] {
        match self.size {
            Some([w, h]) if w.is_finite() && h.is_finite() => [
                w.clamp(Self::MIN_SIZE[0], 16384.0),
                h.clamp(Self::MIN_SIZE[1], 16384.0),
            ],
            _ => Self::DEFAULT_SIZE,
        }
    }

    /// The position to open at, when it is a sane one.
    pub fn opening_position(&self) -> Option<[f32; 2]> {
        self.position.filter(|[x, y]| {
            x.is_finite() && y.is_finite() && x.abs() < 65536.0 && y.abs() < 65536.0
        })
    }
}

/// A named set of settings the user can pick again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Profile {
    /// The name shown in the profile list.
    pub name: String,
    /// Scan and filter settings.
    pub scan: ScanSettings,
    /// Destination.
    pub destination: Destination,
}

/// Everything persisted between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Preferences {
    /// The device selected last (its id).
    pub device: Option<String>,
    /// Devices added by hand (Add scanner by address…), by id, listed at
    /// every start whether discovery finds them or not.
    pub added_devices: Vec<String>,
    /// Scan settings, with the filter settings for the next scan.
    pub scan: ScanSettings,
    /// Where pages go.
    pub destination: Destination,
    /// Saved profiles.
    pub profiles: Vec<Profile>,
    /// The main window.
    pub window: WindowState,
}

/// Preferences as a session starts with them.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The preferences to use.
    pub prefs: Preferences,
    /// What went wrong reading the file, in words for the user.
    pub problem: Option<String>,
    /// False when an unreadable file could not be moved aside: saving would
    /// destroy it.
    pub may_save: bool,
}

/// The first free `NAME.unreadable[-N]` beside `path`.
fn set_aside_name(path: &Path) -> PathBuf {
    let base = path.as_os_str().to_os_string();
    (1u32..)
        .map(|n| {
            let mut name = base.clone();
            if n == 1 {
                name.push(".unreadable");
            } else {
                name.push(format!(".unreadable-{n}"));
            }
            PathBuf::from(name)
        })
        .find(|candidate| !candidate.exists())
        .unwrap_or_else(|| path.with_extension("unreadable"))
}

impl Preferences {
    /// The file preferences are kept in, inside `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join("settings.json")
    }

    /// Reads preferences from `path` without changing anything: `None`
    /// when there is no file, an error saying why when it cannot be read.
    pub fn read(path: &Path) -> Result<Option<Preferences>, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                format!(
                    "The settings in {} could not be read ({e}).",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("Cannot read {}: {e}.", path.display())),
        }
    }

    /// Loads preferences from `path` for a session that will save them. A
    /// missing file gives the defaults. A file that cannot be read is moved
    /// aside first (with the profiles in it), so that saving the defaults
    /// never destroys it; the problem says where it went. When it cannot be
    /// moved, [`Loaded::may_save`] is false and the file stays as it was.
    pub fn load(path: &Path) -> Loaded {
        let problem = match Preferences::read(path) {
            Ok(prefs) => {
                return Loaded {
                    prefs: prefs.unwrap_or_default(),
                    problem: None,
                    may_save: true,
                };
            }
            Err(problem) => problem,
        };
        let aside = set_aside_name(path);
        match std::fs::rename(path, &aside) {
            Ok(()) => Loaded {
                prefs: Preferences::default(),
                problem: Some(format!(
                    "{problem} It was moved to {} with any profiles it holds; the defaults are used and saved from now on.",
                    aside.display()
                )),
                may_save: true,
            },
            Err(e) => Loaded {
                prefs: Preferences::default(),
                problem: Some(format!(
                    "{problem} It could not be moved aside ({e}), so this session uses the defaults and leaves the file as it is."
                )),
                may_save: false,
            },
        }
    }

    /// Writes preferences to `path` (through a temporary file, so a crash
    /// never leaves half a file).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let temp = path.with_extension("json.tmp");
        std::fs::write(&temp, json)?;
        std::fs::rename(&temp, path)
    }

    /// Saves the current settings as a profile named `name` (replacing one
    /// of the same name).
    pub fn save_profile(&mut self, name: &str) {
        let profile = Profile {
            name: name.to_string(),
            scan: self.scan.clone(),
            destination: self.destination.clone(),
        };
        match self.profiles.iter_mut().find(|p| p.name == name) {
            Some(existing) => *existing = profile,
            None => self.profiles.push(profile),
        }
    }

    /// Makes the profile named `name` the current settings; false when
    /// there is none.
    pub fn apply_profile(&mut self, name: &str) -> bool {
        match self.profiles.iter().find(|p| p.name == name) {
            Some(profile) => {
                self.scan = profile.scan.clone();
                self.destination = profile.destination.clone();
                true
            }
            None => false,
        }
    }

    /// Deletes the profile named `name`.
    pub fn delete_profile(&mut self, name: &str) {
        self.profiles.retain(|p| p.name != name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_file_is_moved_aside_and_a_second_one_beside_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = Preferences::path_in(dir.path());
        std::fs::write(&path, b"{not json").expect("write");
        assert!(Preferences::read(&path).is_err());
        assert!(path.exists(), "reading changes nothing");
        let first = Preferences::load(&path);
        assert!(first.may_save);
        assert_eq!(first.prefs, Preferences::default());
        let problem = first.problem.expect("a problem");
        assert!(problem.contains("could not be read"), "{problem}");
        assert!(!path.exists());
        let aside = dir.path().join("settings.json.unreadable");
        assert_eq!(std::fs::read(&aside).expect("aside"), b"{not json");
        std::fs::write(&path, b"42").expect("write");
        let second = Preferences::load(&path);
        assert!(second.problem.expect("a problem").contains("unreadable-2"));
        assert_eq!(std::fs::read(&aside).expect("first kept"), b"{not json");
        assert!(dir.path().join("settings.json.unreadable-2").exists());
    }

    #[test]
    fn a_missing_file_is_the_defaults_without_a_problem() {
        let dir = tempfile::tempdir().expect("temp dir");
        let loaded = Preferences::load(&Preferences::path_in(dir.path()));
        assert!(loaded.problem.is_none() && loaded.may_save);
        assert_eq!(loaded.prefs, Preferences::default());
    }

    #[test]
    fn patterns_escape_the_folder_and_add_a_page_number() {
        let destination = Destination {
            folder: PathBuf::from("/tmp/a{b}"),
            pattern: String::from("scan-{date}"),
            ..Destination::default()
        };
        let pattern = destination
            .page_pattern("20260101", FileFormat::Png)
            .expect("pattern");
        assert_eq!(
            pattern.path_for(3),
            PathBuf::from("/tmp/a{b}/scan-20260101-3.png")
        );
    }

    #[test]
    fn profiles_are_saved_applied_and_deleted() {
        let mut prefs = Preferences::default();
        prefs.scan.dpi = 150;
        prefs.save_profile("Receipts");
        prefs.scan.dpi = 600;
        assert!(prefs.apply_profile("Receipts"));
        assert_eq!(prefs.scan.dpi, 150);
        prefs.delete_profile("Receipts");
        assert!(!prefs.apply_profile("Receipts"));
    }

    #[test]
    fn a_remembered_window_opens_within_sane_bounds() {
        let first = WindowState::default();
        assert_eq!(first.opening_size(), WindowState::DEFAULT_SIZE);
        assert_eq!(first.opening_position(), None);
        let tiny = WindowState {
            size: Some([10.0, 20000.0]),
            position: Some([f32::NAN, 0.0]),
            maximized: false,
        };
        assert_eq!(tiny.opening_size(), [720.0, 16384.0]);
        assert_eq!(tiny.opening_position(), None);
    }

    #[test]
    fn unknown_and_missing_fields_load_with_defaults() {
        let prefs: Preferences =
            serde_json::from_str(r#"{"device":"sim","future":1}"#).expect("loads");
        assert_eq!(prefs.device.as_deref(), Some("sim"));
        assert_eq!(prefs.scan, ScanSettings::default());
    }
}
