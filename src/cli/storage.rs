//! `streamscan ls | upload | get`: a device's item tree and its storage
//! folder, through the engine like every other job.
//!
//! `ls` prints the tree (or the part below a path) with flags and sizes;
//! `upload` reports every file on its own line and fails when any file
//! failed; `get` downloads one stored file (and refuses items that are not
//! stored files, which would start a scan).

use super::Exit;
use super::args::{GetArgs, LsArgs, UploadArgs};
use super::session::{Happening, Session, SessionError};
use crate::engine::{Command, Event, JobSummary, UploadReport};
use crate::transfer::{Capabilities, Item, ItemFlags, Outcome, TransferError};
use std::time::Duration;

/// How long a storage operation may wait on a silent device.
const STORAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Names of the flags `ls` shows, in order.
const FLAG_NAMES: [(ItemFlags, &str); 8] = [
    (ItemFlags::ROOT, "root"),
    (ItemFlags::FOLDER, "folder"),
    (ItemFlags::STORAGE, "storage"),
    (ItemFlags::IMAGE, "image"),
    (ItemFlags::FILE, "file"),
    (ItemFlags::TRANSFER, "transfer"),
    (ItemFlags::GENERATED, "generated"),
    (ItemFlags::PROGRAMMABLE_DATA_SOURCE, "source"),
];

/// `folder,storage,transfer`.
fn flag_names(flags: ItemFlags) -> String {
    let names: Vec<&str> = FLAG_NAMES
        .iter()
        .filter(|(flag, _)| flags.contains(*flag))
        .map(|(_, name)| *name)
        .collect();
    names.join(",")
}

/// Prints the message of a cancelled or failed job and gives its status.
fn job_end(result: &Result<JobSummary, TransferError>, what: &str) -> Option<Exit> {
    match result {
        Ok(summary) if summary.outcome == Outcome::Cancelled => {
            eprintln!("cancelled: {what} was interrupted");
            Some(Exit::Cancelled)
        }
        Ok(_) => None,
        Err(error) => {
            eprintln!(
                "error: {what} failed: {} ({})",
                error.message,
                error.code.name()
            );
            Some(Exit::for_error(error))
        }
    }
}

fn engine_gone(error: &SessionError) -> Exit {
    eprintln!("error: {error}");
    Exit::Failure
}

/// Reads a device's item tree through the engine.
fn read_items(session: &mut Session, device: &str) -> Result<Item, Exit> {
    read_device(session, device).map(|(items, _)| items)
}

/// Reads a device's item tree and what it can do through the engine.
pub(super) fn read_device(
    session: &mut Session,
    device: &str,
) -> Result<(Item, Capabilities), Exit> {
    let job = session.job_id();
    let mut listed = None;
    let result = session
        .run(
            job,
            Command::ListItems {
                job,
                device: device.to_string(),
            },
            |happening| {
                if let Happening::Event(Event::Items {
                    result,
                    capabilities,
                    ..
                }) = happening
                {
                    listed = Some((result.clone(), capabilities.clone()));
                }
            },
        )
        .map_err(|e| engine_gone(&e))?;
    if let Some(exit) = job_end(&result, &format!("reading the items of {device}")) {
        return Err(exit);
    }
    match listed {
        Some((Ok(root), Some(capabilities))) => Ok((root, capabilities)),
        Some((Err(message), _)) => {
            eprintln!("error: cannot read the items of {device}: {message}");
            Err(Exit::Failure)
        }
        Some((Ok(_), None)) | None => {
            eprintln!("error: {device} sent no item list");
            Err(Exit::Failure)
        }
    }
}

fn tree_lines(item: &Item) -> Vec<String> {
    fn walk(item: &Item, depth: usize, rows: &mut Vec<(String, String, String)>) {
        let mut name = format!("{}{}", "  ".repeat(depth), item.name);
        if item.is_folder() {
            name.push('/');
        }
        let size = item.size.map(|s| s.to_string()).unwrap_or_default();
        let flags = format!("{} (0x{:X})", flag_names(item.flags), item.flags.0);
        rows.push((name, size, flags));
        for child in &item.children {
            walk(child, depth + 1, rows);
        }
    }
    let mut rows = Vec::new();
    walk(item, 0, &mut rows);
    let name_width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let size_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    rows.into_iter()
        .map(|(name, size, flags)| {
            format!("{name:name_width$}  {size:>size_width$}  {flags}")
                .trim_end()
                .to_string()
        })
        .collect()
}

/// Runs `ls`.
pub fn ls(args: &LsArgs) -> Exit {
    let mut session = Session::start(STORAGE_TIMEOUT);
    let root = match read_items(&mut session, &args.device) {
        Ok(root) => root,
        Err(exit) => return exit,
    };
    let path = args.path.as_deref().unwrap_or("");
    let Some(item) = root.find(path) else {
        eprintln!("error: {} has no item {path}", args.device);
        return Exit::Failure;
    };
    for line in tree_lines(item) {
        println!("{line}");
    }
    Exit::Success
}

/// One report line of an upload.
fn upload_line(report: &UploadReport) -> String {
    match &report.result {
        Ok((item, bytes)) => format!(
            "ok      {} -> {} ({bytes} bytes)",
            report.file.display(),
            item.full_name
        ),
        Err(reason) => format!("FAILED  {}: {reason}", report.file.display()),
    }
}

/// Runs `upload`.
pub fn upload(args: &UploadArgs) -> Exit {
    let mut session = Session::start(STORAGE_TIMEOUT);
    let job = session.job_id();
    let command = Command::Upload {
        job,
        device: args.device.clone(),
        files: args.files.clone(),
        folder: args.to.clone(),
    };
    let mut failed = 0usize;
    let mut reported = 0usize;
    let result = session.run(job, command, |happening| match happening {
        Happening::Event(Event::Uploaded { report, .. }) => {
            reported += 1;
            if report.result.is_err() {
                failed += 1;
            }
            println!("{}", upload_line(report));
        }
        Happening::Interrupt => {
            eprintln!("cancelling the upload (press Ctrl+C again to quit at once)");
        }
        Happening::Event(_) | Happening::Late(_) | Happening::Exiting { .. } => {}
    });
    let result = match result {
        Ok(result) => result,
        Err(e) => return engine_gone(&e),
    };
    if let Some(exit) = job_end(&result, "the upload") {
        return exit;
    }
    let total = args.files.len();
    if failed > 0 {
        eprintln!("error: {failed} of {total} files could not be uploaded");
        Exit::Failure
    } else if reported < total {
        eprintln!("error: only {reported} of {total} files were uploaded");
        Exit::Failure
    } else {
        Exit::Success
    }
}

/// Runs `get`.
pub fn get(args: &GetArgs) -> Exit {
    let mut session = Session::start(STORAGE_TIMEOUT);
    let root = match read_items(&mut session, &args.device) {
        Ok(root) => root,
        Err(exit) => return exit,
    };
    let Some(item) = root.find(&args.path) else {
        eprintln!("error: {} has no item {}", args.device, args.path);
        return Exit::Failure;
    };
    if !item.flags.contains(ItemFlags::FILE) {
        eprintln!(
            "error: {} is not a stored file ({}); use `streamscan scan` to scan",
            item.full_name,
            flag_names(item.flags)
        );
        return Exit::Failure;
    }
    let full_name = item.full_name.clone();
    let job = session.job_id();
    let command = Command::Download {
        job,
        device: args.device.clone(),
        item: full_name.clone(),
        path: args.output.clone(),
        overwrite: args.overwrite,
    };
    let result = session.run(job, command, |happening| {
        if let Happening::Interrupt = happening {
            eprintln!("cancelling the download (press Ctrl+C again to quit at once)");
        }
    });
    let result = match result {
        Ok(result) => result,
        Err(e) => return engine_gone(&e),
    };
    if let Some(exit) = job_end(&result, &format!("downloading {full_name}")) {
        return exit;
    }
    let size = std::fs::metadata(&args.output)
        .map(|m| format!(" ({} bytes)", m.len()))
        .unwrap_or_default();
    eprintln!("saved {full_name} to {}{size}", args.output.display());
    Exit::Success
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_shows_names_sizes_and_flags_in_columns() {
        let mut root = Item::new("", "Root", ItemFlags::ROOT | ItemFlags::FOLDER);
        let mut storage = Item::new(
            "Root",
            "Storage",
            ItemFlags::FOLDER | ItemFlags::STORAGE | ItemFlags::TRANSFER,
        );
        let mut file = Item::new(
            "Root/Storage",
            "a.png",
            ItemFlags::FILE | ItemFlags::TRANSFER,
        );
        file.size = Some(1234);
        storage.children.push(file);
        root.children.push(storage);
        assert_eq!(
            tree_lines(&root),
            vec![
                "Root/             root,folder (0xC)",
                "  Storage/        folder,storage,transfer (0x3004)",
                "    a.png   1234  file,transfer (0x2002)",
            ]
        );
    }
}
