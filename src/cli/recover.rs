//! `streamscan recover DIR [--discard]`: acts on the temporary files that
//! scans which did not end (a crash, `kill -9`, a power cut) left in a
//! folder. Each one nobody holds is kept, cut back to its last complete
//! page, as `NAME-recovered.EXT`, or removed with `--discard`; one that a
//! running scan holds is named and left alone.
//!
//! One report line per file on stdout (`recovered`, `removed`, `in use`
//! or `FAILED` with the reason); the exit status is 1 when a leftover
//! could not be kept or removed (one without a complete page is only
//! removed with `--discard`), 2 when `DIR` is not a folder.

use super::args::RecoverArgs;
use super::{Exit, pages, usage_error};
use crate::output::leftover::{self, Leftover, LeftoverError, LeftoverState};
use std::path::Path;

/// Runs `recover`.
pub fn run(args: &RecoverArgs) -> Exit {
    if !args.dir.is_dir() {
        return usage_error(
            "recover",
            &format!("{} is not a folder", args.dir.display()),
        );
    }
    let found = match leftover::find(&args.dir) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.dir.display());
            return Exit::Failure;
        }
    };
    if found.is_empty() {
        eprintln!("no unfinished scans in {}", args.dir.display());
        return Exit::Success;
    }
    let mut failed = 0;
    for left in &found {
        let line = match left.state {
            LeftoverState::InUse => in_use(left),
            LeftoverState::Unfinished { .. } if args.discard => match left.discard() {
                Ok(count) => format!("removed {} ({} complete)", name(&left.path), pages(count)),
                Err(e) => failure(left, &e, &mut failed),
            },
            LeftoverState::Unfinished { .. } => match left.recover() {
                Ok(kept) => format!(
                    "recovered {} -> {} ({})",
                    name(&left.path),
                    kept.path.display(),
                    pages(kept.pages)
                ),
                Err(e) => failure(left, &e, &mut failed),
            },
        };
        println!("{line}");
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} unfinished scans could not be {}",
            found.len(),
            if args.discard { "removed" } else { "kept" }
        );
        Exit::Failure
    } else {
        Exit::Success
    }
}

/// The file's name.
fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn in_use(left: &Leftover) -> String {
    format!(
        "in use  {}: a running scan is writing it; left alone",
        name(&left.path)
    )
}

/// The report of a leftover that could not be kept or removed, counted in
/// `failed` unless a scan took it meanwhile.
fn failure(left: &Leftover, error: &LeftoverError, failed: &mut u32) -> String {
    match error {
        LeftoverError::InUse => in_use(left),
        LeftoverError::NothingToKeep => {
            *failed += 1;
            format!(
                "FAILED  {}: {error}; left as it is (`--discard` removes it)",
                name(&left.path)
            )
        }
        LeftoverError::Io(_) => {
            *failed += 1;
            format!("FAILED  {}: {error}", name(&left.path))
        }
    }
}
