//! Temporary files left behind by a scan that did not end (a crash,
//! `kill -9`, a power cut): finding them in a folder, telling them from
//! the temporary files of a scan still running (whose writer holds their
//! advisory lock), and keeping or removing them on request.
//!
//! Nothing here runs on its own: a scan only names the leftovers in its
//! folder, and `streamscan recover` acts on them. Keeping one cuts it
//! back to its last complete page (see [`salvage`](super::salvage)), so
//! that it is valid, and gives it the name `NAME-recovered.EXT` beside the
//! name it was to take (`NAME-recovered-2.EXT` when that exists); no file
//! is ever replaced. A leftover whose lock is held is never touched.

use super::file::{final_name_of, move_into_place};
use super::salvage::{Salvage, complete_pages};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A temporary file of a scan, found in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// The temporary file.
    pub path: PathBuf,
    /// The name it was to take, in the same folder.
    pub final_name: OsString,
    /// What it is.
    pub state: LeftoverState,
}

/// Whether a temporary file is being written, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftoverState {
    /// A running scan holds its lock: it is not a leftover (yet).
    InUse,
    /// Nobody holds it: its scan ended before completing it. `pages` is
    /// the number of complete pages it holds.
    Unfinished {
        /// Complete pages in the file.
        pages: u32,
    },
}

/// A leftover kept by [`Leftover::recover`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Its new name.
    pub path: PathBuf,
    /// The complete pages it holds.
    pub pages: u32,
}

/// Why a leftover could not be kept or removed.
#[derive(Debug, thiserror::Error)]
pub enum LeftoverError {
    /// A running scan holds the file's lock.
    #[error("a running scan is writing it")]
    InUse,
    /// The file holds no complete page, so there is nothing valid to keep.
    #[error("it holds no complete page")]
    NothingToKeep,
    /// Reading, cutting or renaming the file failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// The temporary files of scans in `dir` (not below it), by name.
pub fn find(dir: &Path) -> io::Result<Vec<Leftover>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(final_name) = final_name_of(&entry.file_name()) else {
            continue;
        };
        if !entry.file_type()?.is_file() {
            continue;
        }
        let path = entry.path();
        let state = match open_unlocked(&path, false) {
            Ok(mut file) => LeftoverState::Unfinished {
                pages: complete_pages(&mut file)?.pages,
            },
            Err(LeftoverError::InUse) => LeftoverState::InUse,
            // Gone meanwhile: its scan completed it.
            Err(LeftoverError::Io(err)) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(LeftoverError::Io(err)) => return Err(err),
            Err(LeftoverError::NothingToKeep) => continue,
        };
        found.push(Leftover {
            path,
            final_name,
            state,
        });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Opens `path` and takes its lock, which is held until the file closes.
fn open_unlocked(path: &Path, write: bool) -> Result<File, LeftoverError> {
    let file = OpenOptions::new().read(true).write(write).open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(LeftoverError::InUse),
        Err(TryLockError::Error(err)) => Err(LeftoverError::Io(err)),
    }
}

impl Leftover {
    /// The name the leftover would be kept under, were it kept now.
    pub fn recovered_path(&self) -> PathBuf {
        recovered_path(&self.path, &self.final_name)
    }

    /// Keeps the leftover: cuts it back to its last complete page and
    /// renames it `NAME-recovered.EXT`.
    pub fn recover(&self) -> Result<Recovered, LeftoverError> {
        let mut file = open_unlocked(&self.path, true)?;
        let Salvage { len, pages, unlink } = complete_pages(&mut file)?;
        if pages == 0 {
            return Err(LeftoverError::NothingToKeep);
        }
        file.set_len(len)?;
        if let Some(at) = unlink {
            file.seek(SeekFrom::Start(at))?;
            file.write_all(&0u32.to_le_bytes())?;
        }
        file.sync_all()?;
        // Another program may take a name meanwhile: then the next one.
        for _ in 0..1000 {
            let target = recovered_path(&self.path, &self.final_name);
            match move_into_place(&self.path, &target, false) {
                Ok(()) => {
                    return Ok(Recovered {
                        path: target,
                        pages,
                    });
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(io::Error::other("no free name for the recovered file").into())
    }

    /// Removes the leftover; returns the complete pages it held.
    pub fn discard(&self) -> Result<u32, LeftoverError> {
        let mut file = open_unlocked(&self.path, false)?;
        let pages = complete_pages(&mut file)?.pages;
        // Removed while locked, so no recover can be acting on it.
        fs::remove_file(&self.path)?;
        Ok(pages)
    }
}

/// `DIR/NAME-recovered.EXT` beside the temporary `temp`, or with `-2`,
/// `-3`, ... after `recovered` when that exists.
fn recovered_path(temp: &Path, final_name: &OsString) -> PathBuf {
    let dir = temp.parent().unwrap_or(Path::new("."));
    let name = Path::new(final_name);
    let stem = name
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extension = name
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut n = 1;
    loop {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let path = dir.join(format!("{stem}-recovered{suffix}{extension}"));
        if fs::symlink_metadata(&path).is_err() {
            return path;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{EncodeOptions, FileDestination, FileFormat, document_encoder};
    use crate::raster::PixelFormat;
    use crate::stream::Destination;
    use crate::testing::{pattern_page, write_page};

    /// A two-page PDF as a scan leaves it when killed in page 3: the pages,
    /// then the start of the next one.
    fn killed_pdf() -> (Vec<u8>, usize) {
        let dest = crate::testing::SharedDest::default();
        let mut enc = document_encoder(
            FileFormat::Pdf,
            EncodeOptions::default(),
            Box::new(dest.clone()),
        )
        .expect("encoder");
        for _ in 0..2 {
            write_page(
                enc.as_mut(),
                &pattern_page(PixelFormat::Gray8, 16, 9, 100),
                true,
                &[4],
            );
        }
        let mut bytes = dest.bytes();
        let whole = bytes.len();
        bytes.extend_from_slice(b"3 0 obj\n<< /Type /XObject /Subtype /Image");
        (bytes, whole)
    }

    #[test]
    fn leftovers_are_found_by_name_and_kept_cut_back_under_a_free_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (bytes, whole) = killed_pdf();
        let temp = dir.path().join(".doc.pdf.part-77-0");
        fs::write(&temp, &bytes).expect("write");
        fs::write(dir.path().join("doc-recovered.pdf"), b"taken").expect("write");
        // Not temporaries: other hidden files, and names that only look so.
        for other in [".hidden", ".x.part-1", "x.pdf.part-1-2", ".x.part-a-1"] {
            fs::write(dir.path().join(other), b"x").expect("write");
        }
        let found = find(dir.path()).expect("find");
        assert_eq!(
            found,
            vec![Leftover {
                path: temp.clone(),
                final_name: OsString::from("doc.pdf"),
                state: LeftoverState::Unfinished { pages: 2 },
            }]
        );
        let left = &found[0];
        assert_eq!(
            left.recovered_path(),
            dir.path().join("doc-recovered-2.pdf")
        );
        let kept = left.recover().expect("recover");
        assert_eq!(
            kept,
            Recovered {
                path: dir.path().join("doc-recovered-2.pdf"),
                pages: 2,
            }
        );
        assert_eq!(fs::read(&kept.path).expect("read"), bytes[..whole]);
        assert!(!temp.exists());
        assert_eq!(
            fs::read(dir.path().join("doc-recovered.pdf")).expect("read"),
            b"taken"
        );
    }

    #[test]
    fn a_file_a_scan_is_writing_is_in_use_and_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut dest =
            FileDestination::create(&dir.path().join("live.pdf"), false).expect("create");
        dest.write_all(b"%PDF-1.4\n").expect("write");
        dest.checkpoint(0).expect("flush");
        let found = find(dir.path()).expect("find");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].state, LeftoverState::InUse);
        assert!(matches!(found[0].recover(), Err(LeftoverError::InUse)));
        assert!(matches!(found[0].discard(), Err(LeftoverError::InUse)));
        assert!(dest.temp_path().exists());
        dest.discard();
        assert!(find(dir.path()).expect("find").is_empty());
    }

    #[test]
    fn a_leftover_without_a_complete_page_is_only_discarded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let temp = dir.path().join(".p-3.png.part-5-9");
        fs::write(&temp, b"\x89PNG\r\n\x1a\n half a page").expect("write");
        let found = find(dir.path()).expect("find");
        assert_eq!(found[0].state, LeftoverState::Unfinished { pages: 0 });
        assert!(matches!(
            found[0].recover(),
            Err(LeftoverError::NothingToKeep)
        ));
        assert!(temp.exists(), "nothing is lost");
        assert_eq!(found[0].discard().expect("discard"), 0);
        assert!(!temp.exists());
    }
}
