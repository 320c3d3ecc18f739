//! Files as destination streams: a page is written into a hidden temporary
//! file next to its final name and only takes that name once complete, so
//! a cancelled or failed page never leaves a half-written file behind, and
//! an existing file is never replaced unless overwriting was asked for.
//!
//! Temporary files still being written are also kept in a process-wide
//! list, so that a program that must exit at once (a second Ctrl+C) can
//! remove them with [`remove_temporaries`].
//!
//! This is the only place in `output` that touches the file system.

use crate::stream::Destination;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Tells temporary names of one process apart.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many temporary names to try before giving up.
const TEMP_ATTEMPTS: u32 = 100;

/// The temporary files of every live destination of this process.
struct Temporaries {
    paths: Vec<PathBuf>,
    /// Set by [`remove_temporaries`]: no new temporary file may appear.
    closed: bool,
}

/// Temporary files not yet completed nor removed.
static LIVE: Mutex<Temporaries> = Mutex::new(Temporaries {
    paths: Vec::new(),
    closed: false,
});

fn live() -> MutexGuard<'static, Temporaries> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Forgets a temporary file that was completed or removed.
fn unregister(path: &Path) {
    live().paths.retain(|p| p != path);
}

/// Removes the temporary file of every destination still being written,
/// and refuses to create new ones from then on.
///
/// For a process about to exit at once (a second Ctrl+C) that cannot let
/// its jobs wind down: afterwards [`FileDestination::create`] fails, so
/// call this only right before exiting. Completed files are not touched.
pub fn remove_temporaries() {
    let mut live = live();
    live.closed = true;
    for path in live.paths.drain(..) {
        // Best effort: the file may be gone already.
        let _ = fs::remove_file(&path);
    }
}

/// A file that receives one page or document: written under a temporary
/// name, moved to its final name by [`Destination::complete`], removed by
/// [`Destination::discard`] or when dropped unfinished.
pub struct FileDestination {
    final_path: PathBuf,
    temp_path: PathBuf,
    overwrite: bool,
    /// The open temporary file; `None` once completed or discarded.
    file: Option<BufWriter<File>>,
    /// Position of the next byte, tracked so asking for it costs nothing.
    pos: u64,
    /// The temporary file was moved to its final name.
    completed: bool,
}

impl std::fmt::Debug for FileDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDestination")
            .field("final_path", &self.final_path)
            .field("temp_path", &self.temp_path)
            .field("overwrite", &self.overwrite)
            .field("completed", &self.completed)
            .finish_non_exhaustive()
    }
}

/// An error that names `path`, keeping the kind of `err`.
fn with_path(err: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{what} {}: {err}", path.display()))
}

/// The error when a finished page would replace an existing file.
fn exists_error(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{} already exists (choose another name or allow overwriting)",
            path.display()
        ),
    )
}

impl FileDestination {
    /// Opens a temporary file that will become `path`.
    ///
    /// Fails with [`io::ErrorKind::AlreadyExists`] when `path` exists and
    /// `overwrite` is false (checked again when the page completes).
    pub fn create(path: &Path, overwrite: bool) -> io::Result<FileDestination> {
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} does not name a file", path.display()),
            )
        })?;
        if !overwrite && fs::symlink_metadata(path).is_ok() {
            return Err(exists_error(path));
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Held while the file is created, so that remove_temporaries()
        // sees every temporary file that exists.
        let mut live = live();
        if live.closed {
            return Err(io::Error::other(format!(
                "not writing {}: the program is exiting",
                path.display()
            )));
        }
        let mut last_error = None;
        for _ in 0..TEMP_ATTEMPTS {
            let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut temp_name = std::ffi::OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".part-{}-{counter}", std::process::id()));
            let temp_path = dir.join(temp_name);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&temp_path)
            {
                Ok(file) => {
                    live.paths.push(temp_path.clone());
                    return Ok(FileDestination {
                        final_path: path.to_path_buf(),
                        temp_path,
                        overwrite,
                        file: Some(BufWriter::with_capacity(256 * 1024, file)),
                        pos: 0,
                        completed: false,
                    });
                }
                // Left over by another process that reused our pid.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last_error = Some(err),
                Err(err) => return Err(with_path(err, "cannot create a temporary file in", &dir)),
            }
        }
        let err = last_error.unwrap_or_else(|| io::Error::other("no free temporary name"));
        Err(with_path(err, "cannot create a temporary file in", &dir))
    }

    /// The name the file takes when complete.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// The temporary file written until the page completes.
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    fn open_file(&mut self) -> io::Result<&mut BufWriter<File>> {
        let state = if self.completed {
            "completed"
        } else {
            "discarded"
        };
        self.file.as_mut().ok_or_else(|| {
            io::Error::other(format!(
                "the stream for {} was already {state}",
                self.final_path.display()
            ))
        })
    }

    /// Gives the temporary file its final name.
    fn move_into_place(&self) -> io::Result<()> {
        if self.overwrite {
            return fs::rename(&self.temp_path, &self.final_path)
                .map_err(|err| with_path(err, "cannot write", &self.final_path));
        }
        // A hard link fails instead of replacing an existing file.
        match fs::hard_link(&self.temp_path, &self.final_path) {
            Ok(()) => fs::remove_file(&self.temp_path)
                .map_err(|err| with_path(err, "cannot remove", &self.temp_path)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                Err(exists_error(&self.final_path))
            }
            Err(link_err) => {
                // File systems without hard links (FAT, some network
                // shares): check, then rename.
                if fs::symlink_metadata(&self.final_path).is_ok() {
                    return Err(exists_error(&self.final_path));
                }
                fs::rename(&self.temp_path, &self.final_path).map_err(|err| {
                    with_path(
                        io::Error::new(err.kind(), format!("{err} (hard link: {link_err})")),
                        "cannot write",
                        &self.final_path,
                    )
                })
            }
        }
    }

    fn remove_temp(&mut self) {
        self.file = None;
        // Nothing to report to: discarding is best effort, and the file may
        // legitimately be gone already.
        let _ = fs::remove_file(&self.temp_path);
        unregister(&self.temp_path);
    }
}

impl Write for FileDestination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.open_file()?.write(buf)?;
        self.pos += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.open_file()?.flush()
    }
}

impl Seek for FileDestination {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = self.open_file()?.seek(pos)?;
        self.pos = new;
        Ok(new)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        self.open_file()?;
        Ok(self.pos)
    }
}

impl Destination for FileDestination {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let file = self.open_file()?;
        file.flush()?;
        file.get_ref().set_len(len)
    }

    fn complete(&mut self) -> io::Result<()> {
        let file = self.open_file()?;
        file.flush()?;
        file.get_ref().sync_all()?;
        self.move_into_place()?;
        unregister(&self.temp_path);
        self.file = None;
        self.completed = true;
        if let Some(dir) = self
            .final_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            // Make the new name durable too. Some file systems refuse to
            // sync a directory; the file's data is already safe then.
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }

    fn discard(&mut self) {
        if !self.completed {
            self.remove_temp();
        }
    }

    fn describe(&self) -> String {
        self.final_path.display().to_string()
    }
}

impl Drop for FileDestination {
    fn drop(&mut self) {
        if !self.completed && self.file.is_some() {
            self.remove_temp();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn temporary_name_is_hidden_and_derived_from_the_final_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("page-1.png");
        let dest = FileDestination::create(&path, false).expect("create");
        let temp = dest
            .temp_path()
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(temp.starts_with(".page-1.png.part-"), "{temp}");
        assert_eq!(dest.describe(), path.display().to_string());
        assert_eq!(dest.final_path(), path);
    }

    #[test]
    fn seeking_and_truncating_work_through_the_buffer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.bin");
        let mut dest = FileDestination::create(&path, false).expect("create");
        dest.write_all(b"hello world").expect("write");
        assert_eq!(dest.stream_position().expect("pos"), 11);
        dest.seek(SeekFrom::Start(0)).expect("seek");
        dest.write_all(b"J").expect("write");
        dest.seek(SeekFrom::End(0)).expect("seek");
        dest.set_len(5).expect("set_len");
        dest.seek(SeekFrom::Start(5)).expect("seek");
        dest.write_all(b"!").expect("write");
        dest.complete().expect("complete");
        assert_eq!(fs::read(&path).expect("read"), b"Jello!");
        assert_eq!(names_in(dir.path()), vec!["x.bin"]);
        assert!(dest.write_all(b"more").is_err(), "closed after complete");
    }

    #[test]
    fn completing_refuses_a_file_that_appeared_meanwhile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("late.txt");
        let mut dest = FileDestination::create(&path, false).expect("create");
        dest.write_all(b"mine").expect("write");
        fs::write(&path, b"theirs").expect("someone else");
        let err = dest.complete().expect_err("must not replace");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(err.to_string().contains("late.txt"), "{err}");
        drop(dest);
        assert_eq!(fs::read(&path).expect("read"), b"theirs");
        assert_eq!(names_in(dir.path()), vec!["late.txt"]);
    }
}
