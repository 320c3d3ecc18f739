//! The virtual scanner's storage folder, backed by a directory: listing as
//! items, new child items, uploads written safely, capacity checks.

use crate::transfer::{DriverError, Item, ItemFlags, UploadSource};
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// Name of the storage folder item below the root.
pub const STORAGE_ITEM: &str = "Storage";

/// The directory behind the storage folder.
#[derive(Debug, Clone)]
pub struct Storage {
    dir: PathBuf,
    capacity: Option<u64>,
}

impl Storage {
    /// Opens (creating it if needed) the storage directory.
    pub fn open(dir: PathBuf, capacity: Option<u64>) -> io::Result<Storage> {
        fs::create_dir_all(&dir)?;
        Ok(Storage { dir, capacity })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The storage folder item and everything below it.
    pub fn item(&self, root_full_name: &str) -> Item {
        let mut folder = Item::new(
            root_full_name,
            STORAGE_ITEM,
            ItemFlags::FOLDER | ItemFlags::STORAGE | ItemFlags::TRANSFER,
        );
        list_into(&self.dir, &mut folder, 0);
        folder
    }

    /// Maps an item's full name (`Root/Storage/a/b.png`) to its path.
    pub fn path_of(&self, item: &Item) -> Result<PathBuf, DriverError> {
        let mut parts = item.full_name.split('/');
        parts.next(); // the root
        if parts.next() != Some(STORAGE_ITEM) {
            return Err(DriverError::NoSuchItem(item.full_name.clone()));
        }
        let mut path = self.dir.clone();
        for part in parts {
            check_name(part)?;
            path.push(part);
        }
        Ok(path)
    }

    /// Bytes used by every file in the storage.
    pub fn used(&self) -> u64 {
        usage(&self.dir, 0)
    }

    /// Creates an empty file `name` in `parent` (a unique name if it exists:
    /// `name (2).ext`), and returns its item.
    pub fn create_child(&self, parent: &Item, name: &str) -> Result<Item, DriverError> {
        check_name(name)?;
        let dir = self.path_of(parent)?;
        if !dir.is_dir() {
            return Err(DriverError::NoSuchItem(parent.full_name.clone()));
        }
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem.to_string(), format!(".{ext}")),
            _ => (name.to_string(), String::new()),
        };
        for n in 1..10_000u32 {
            let candidate = if n == 1 {
                name.to_string()
            } else {
                format!("{stem} ({n}){ext}")
            };
            let path = dir.join(&candidate);
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => {
                    let mut item = Item::new(
                        &parent.full_name,
                        &candidate,
                        ItemFlags::FILE | ItemFlags::TRANSFER,
                    );
                    item.size = Some(0);
                    return Ok(item);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(DriverError::Communication(format!("storage: {e}"))),
            }
        }
        Err(DriverError::Unsupported(format!(
            "too many files named like {name}"
        )))
    }

    /// Writes the whole source into the file of `item`, replacing its
    /// content only when everything arrived. Returns the bytes stored.
    pub fn upload(&self, item: &Item, source: &mut dyn UploadSource) -> Result<u64, DriverError> {
        let path = self.path_of(item)?;
        if !path.is_file() {
            return Err(DriverError::NoSuchItem(item.full_name.clone()));
        }
        let existing = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let free = self
            .capacity
            .map(|cap| cap.saturating_sub(self.used().saturating_sub(existing)));
        if let (Some(free), Some(size)) = (free, source.size())
            && size > free
        {
            self.drop_placeholder(&path);
            return Err(DriverError::StorageFull { needed: size, free });
        }
        let temp = path.with_file_name(format!(
            ".{}.upload",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let result = self.copy_into(&temp, source, free);
        match result {
            Ok(total) => {
                fs::rename(&temp, &path)
                    .map_err(|e| DriverError::Communication(format!("storage: {e}")))?;
                Ok(total)
            }
            Err(e) => {
                let _ignored = fs::remove_file(&temp);
                self.drop_placeholder(&path);
                Err(e)
            }
        }
    }

    fn copy_into(
        &self,
        temp: &Path,
        source: &mut dyn UploadSource,
        free: Option<u64>,
    ) -> Result<u64, DriverError> {
        let io_err = |e: io::Error| DriverError::Communication(format!("storage: {e}"));
        let mut file = fs::File::create(temp).map_err(io_err)?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = source.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if let Some(free) = free
                && total > free
            {
                return Err(DriverError::StorageFull {
                    needed: total,
                    free,
                });
            }
            file.write_all(&buf[..n]).map_err(io_err)?;
        }
        file.sync_all().map_err(io_err)?;
        Ok(total)
    }

    /// Removes an upload target that is still an empty placeholder.
    fn drop_placeholder(&self, path: &Path) {
        if fs::metadata(path).is_ok_and(|m| m.len() == 0) {
            let _ignored = fs::remove_file(path);
        }
    }
}

/// Refuses names that would escape the storage directory or be hidden.
fn check_name(name: &str) -> Result<(), DriverError> {
    let path = Path::new(name);
    let plain = path.components().count() == 1
        && matches!(path.components().next(), Some(Component::Normal(_)));
    if name.is_empty() || !plain || name.contains(['/', '\\', '\0']) || name.starts_with('.') {
        return Err(DriverError::InvalidSetting(format!(
            "`{name}` is not a valid file name"
        )));
    }
    Ok(())
}

fn list_into(dir: &Path, folder: &mut Item, depth: u32) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            let mut sub = Item::new(
                &folder.full_name,
                &name,
                ItemFlags::FOLDER | ItemFlags::STORAGE | ItemFlags::TRANSFER,
            );
            list_into(&entry.path(), &mut sub, depth + 1);
            folder.children.push(sub);
        } else if meta.is_file() {
            let mut file = Item::new(
                &folder.full_name,
                &name,
                ItemFlags::FILE | ItemFlags::TRANSFER,
            );
            file.size = Some(meta.len());
            folder.children.push(file);
        }
    }
}

fn usage(dir: &Path, depth: u32) -> u64 {
    if depth > 16 {
        return 0;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => usage(&e.path(), depth + 1),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
