//! Crash safety for pages that are not saved yet.
//!
//! A scan into one document (PDF or TIFF) cannot be written page by page to
//! its final file without a crash losing all of it, so the app scans such
//! jobs into a session folder under its data folder first, a lossless PNG
//! per page, and writes the document from the engine's page cache when the
//! job ends; then the session folder of the job is removed. "Scan more"
//! into an existing set of files goes through a session folder too, and its
//! pages take their numbers in the set when the job ends. A job folder
//! still there when the app starts belongs to a session that ended before
//! its pages were saved: the app offers to recover those pages into the
//! destination folder, or to discard them.
//!
//! File work runs on helper threads; results come back over a channel the
//! UI drains each frame.

use crossbeam_channel::{Receiver, Sender, unbounded};
use std::path::{Path, PathBuf};

/// Pages of an interrupted session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// The job's session folder.
    pub dir: PathBuf,
    /// Its page files, in page order.
    pub pages: Vec<PathBuf>,
}

/// The session folder and its chores.
pub struct SessionStore {
    dir: PathBuf,
    results_tx: Sender<String>,
    results: Receiver<String>,
}

impl SessionStore {
    /// The store in `data_dir/session`.
    pub fn new(data_dir: &Path) -> SessionStore {
        let (results_tx, results) = unbounded();
        SessionStore {
            dir: data_dir.join("session"),
            results_tx,
            results,
        }
    }

    /// The folder a job named `stamp` scans into.
    pub fn job_dir(&self, stamp: &str) -> PathBuf {
        self.dir.join(format!("job-{stamp}"))
    }

    /// Job folders left by a session that ended before saving them (read
    /// once, when the app starts).
    pub fn leftovers(&self) -> Vec<Leftover> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Leftover> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .map(|dir| {
                let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .map(|d| {
                        d.filter_map(|e| e.ok().map(|e| e.path()))
                            .filter(|p| p.is_file())
                            .collect()
                    })
                    .unwrap_or_default();
                pages.sort();
                Leftover { dir, pages }
            })
            .collect();
        out.sort_by(|a, b| a.dir.cmp(&b.dir));
        out
    }

    /// Copies the leftover pages into `folder` (`recovered-JOB-N.EXT`) and
    /// removes their session folders.
    pub fn recover(
        &self,
        leftovers: Vec<Leftover>,
        folder: PathBuf,
        wake: impl Fn() + Send + 'static,
    ) {
        self.spawn(wake, move || {
            std::fs::create_dir_all(&folder)
                .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
            let mut copied = 0;
            for leftover in &leftovers {
                let job = leftover
                    .dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                for (i, page) in leftover.pages.iter().enumerate() {
                    let ext = page
                        .extension()
                        .map(|x| x.to_string_lossy().into_owned())
                        .unwrap_or_else(|| String::from("png"));
                    let target = folder.join(format!("recovered-{job}-{}.{ext}", i + 1));
                    std::fs::copy(page, &target).map_err(|e| {
                        format!(
                            "cannot copy {} to {}: {e}",
                            page.display(),
                            target.display()
                        )
                    })?;
                    copied += 1;
                }
                std::fs::remove_dir_all(&leftover.dir)
                    .map_err(|e| format!("cannot remove {}: {e}", leftover.dir.display()))?;
            }
            Ok(format!(
                "Recovered {copied} page(s) into {}",
                folder.display()
            ))
        });
    }

    /// Moves pages from a session folder to their places (never replacing a
    /// file), then removes the folder.
    pub fn place(
        &self,
        moves: Vec<(PathBuf, PathBuf)>,
        dir: PathBuf,
        wake: impl Fn() + Send + 'static,
    ) {
        self.spawn(wake, move || {
            for (from, to) in &moves {
                if to.exists() {
                    return Err(format!(
                        "{} already exists; the page stays in {}",
                        to.display(),
                        from.display()
                    ));
                }
                if std::fs::rename(from, to).is_err() {
                    // Another file system: copy, then remove.
                    std::fs::copy(from, to).map_err(|e| {
                        format!("cannot copy {} to {}: {e}", from.display(), to.display())
                    })?;
                    std::fs::remove_file(from)
                        .map_err(|e| format!("cannot remove {}: {e}", from.display()))?;
                }
            }
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
            let folder = moves
                .first()
                .and_then(|(_, to)| to.parent())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            Ok(format!("Saved {} page(s) in {folder}", moves.len()))
        });
    }

    /// Removes session folders (their pages are saved, or not wanted).
    pub fn remove(&self, dirs: Vec<PathBuf>, what: &str, wake: impl Fn() + Send + 'static) {
        let what = what.to_string();
        self.spawn(wake, move || {
            for dir in &dirs {
                std::fs::remove_dir_all(dir)
                    .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
            }
            Ok(what)
        });
    }

    fn spawn(
        &self,
        wake: impl Fn() + Send + 'static,
        work: impl FnOnce() -> Result<String, String> + Send + 'static,
    ) {
        let tx = self.results_tx.clone();
        let spawned = std::thread::Builder::new()
            .name(String::from("streamscan-session"))
            .spawn(move || {
                let message = work().unwrap_or_else(|e| format!("Session files: {e}"));
                // The app may be gone; then nobody needs to know.
                let _gone = tx.send(message);
                wake();
            });
        if let Err(e) = spawned {
            let _gone = self
                .results_tx
                .send(format!("Session files: cannot start a thread: {e}"));
        }
    }

    /// Messages of chores that finished since the last call.
    pub fn results(&self) -> Vec<String> {
        self.results.try_iter().collect()
    }
}
