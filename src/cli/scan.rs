//! `streamscan scan`: decides where pages go, runs one scan job on the
//! engine with the non-interactive status policy, shows progress on
//! stderr and `--events json` on stdout, and turns the job's end into a
//! report and an exit status.
//!
//! Where pages go (`-o`): a name with `{n}` is a file per page; a PDF or
//! TIFF name without `{n}` is one multipage document; any other name
//! without `{n}` holds a single page, so it is refused for a feeder job
//! that may deliver several. The format is `--format`, else the
//! extension, else PNG; a `--format` that contradicts the extension is a
//! usage error.

use super::args::ScanArgs;
use super::events::{self, EventWriter};
use super::progress::ProgressLine;
use super::session::{Happening, Session};
use super::{Exit, pages, usage_error};
use crate::engine::{Command, Event, JobSummary, OutputTarget};
use crate::output::file::Settled;
use crate::output::leftover::{self, LeftoverState};
use crate::output::{FileFormat, OutputPattern, default_pattern};
use crate::transfer::{Outcome, ScanSettings, Source, StatusCode, TransferError};
use chrono::{DateTime, Local};
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a scan's pages go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A file per page, named by the pattern.
    Files(OutputPattern),
    /// One multipage document.
    Document(PathBuf),
}

impl Target {
    fn into_output(self, overwrite: bool) -> OutputTarget {
        match self {
            Target::Files(pattern) => OutputTarget::Files { pattern, overwrite },
            Target::Document(path) => OutputTarget::Document { path, overwrite },
        }
    }

    fn describe(&self) -> String {
        match self {
            Target::Files(pattern) => pattern.to_string(),
            Target::Document(path) => path.display().to_string(),
        }
    }

    /// The folder the files go into.
    fn folder(&self) -> PathBuf {
        let first = match self {
            Target::Files(pattern) => pattern.path_for(1),
            Target::Document(path) => path.clone(),
        };
        match first.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// Names the temporary files that scans which did not end left in `dir`
/// (never touching them) and how to keep or remove them.
fn name_leftovers(dir: &Path, progress: &mut ProgressLine<io::Stderr>) {
    // A folder that cannot be read fails the scan itself, with a clearer
    // message than this would give.
    let Ok(found) = leftover::find(dir) else {
        return;
    };
    for left in found {
        let LeftoverState::Unfinished { pages: count } = left.state else {
            continue;
        };
        let keep = left
            .recovered_path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        progress.note(&format!(
            "unfinished scan {} ({} complete {}): run `streamscan recover {}` to keep it as {keep}, \
             or `--discard` to remove it",
            left.final_name.to_string_lossy(),
            count,
            if count == 1 { "page" } else { "pages" },
            dir.display(),
        ));
    }
}

/// Escapes braces so that `text` is a literal part of a pattern.
fn literal(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// Decides the format and the target from `-o`, `--format`, the source
/// and the page count; `now` names default files. Errors are usage errors.
fn plan(
    output: Option<&OutputPattern>,
    format: Option<FileFormat>,
    source: Source,
    pages_asked: u32,
    now: DateTime<Local>,
) -> Result<(FileFormat, Target), String> {
    let default_in = |dir: &str| -> Result<OutputPattern, String> {
        let format = format.unwrap_or_default();
        let mut name = default_pattern(now, format);
        if format.is_multipage() {
            // A PDF or TIFF scan is one document unless a pattern says
            // otherwise.
            name = name.replace("-{n}", "");
        }
        let text = if dir.is_empty() {
            name
        } else {
            Path::new(&literal(dir)).join(name).display().to_string()
        };
        OutputPattern::parse(&text)
    };
    let pattern = match output {
        None => default_in("")?,
        // An existing folder (or a name ending in a separator) receives
        // default names.
        Some(pattern)
            if !pattern.has_page_number()
                && (pattern.as_str().ends_with(std::path::is_separator)
                    || pattern.path_for(1).is_dir()) =>
        {
            default_in(&pattern.path_for(1).display().to_string())?
        }
        Some(pattern) => pattern.clone(),
    };
    let extension = Path::new(pattern.as_str())
        .extension()
        .map(|e| e.to_string_lossy().into_owned());
    let from_extension = extension.as_deref().and_then(FileFormat::from_name);
    let format = match (format, from_extension, extension.as_deref()) {
        (Some(asked), Some(named), Some(ext)) if asked != named => {
            return Err(format!(
                "--format {} contradicts the extension .{ext} of {} ({} file): \
                 change one of them",
                asked.name(),
                pattern,
                named.name()
            ));
        }
        (Some(asked), _, _) => asked,
        (None, Some(named), _) => named,
        (None, None, Some(ext)) => {
            return Err(format!(
                "cannot tell the file format from .{ext} in {pattern}: use --format"
            ));
        }
        (None, None, None) => FileFormat::default(),
    };
    let target = if pattern.has_page_number() {
        Target::Files(pattern)
    } else if format.is_multipage() {
        Target::Document(pattern.path_for(1))
    } else if source == Source::Flatbed || pages_asked == 1 {
        Target::Files(pattern)
    } else {
        return Err(format!(
            "{pattern} can hold only one page, but the feeder may deliver several: \
             put {{n}} in the name (e.g. page-{{n}}.{}), use --pages 1, \
             or write one PDF or TIFF document",
            format.extension()
        ));
    };
    Ok((format, target))
}

/// Says where saved files are: `saved to a.png, b.png` or a range.
fn saved_to(files: &[PathBuf]) -> String {
    match files {
        [] => String::from("no file was saved"),
        [first, .., last] if files.len() > 4 => format!(
            "saved to {} ... {} ({} files)",
            first.display(),
            last.display(),
            files.len()
        ),
        files => {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            format!("saved to {}", names.join(", "))
        }
    }
}

/// The pages and files delivered so far, as the events told them.
#[derive(Debug, Default)]
struct Delivered {
    pages: u32,
    files: Vec<PathBuf>,
}

impl Delivered {
    fn add(&mut self, path: Option<&Path>) {
        self.pages += 1;
        if let Some(path) = path
            && self.files.last().map(PathBuf::as_path) != Some(path)
        {
            self.files.push(path.to_path_buf());
        }
    }
}

/// Runs `scan`.
pub fn run(args: &ScanArgs) -> Exit {
    let source = Source::from(args.source);
    let (format, target) = match plan(
        args.output.as_ref(),
        args.format.map(FileFormat::from),
        source,
        args.pages,
        Local::now(),
    ) {
        Ok(plan) => plan,
        Err(message) => return usage_error("scan", &message),
    };
    if args.regions {
        if source != Source::Flatbed {
            return usage_error(
                "scan",
                "--regions finds photos on the flatbed: drop --source",
            );
        }
        if matches!(&target, Target::Files(pattern) if !pattern.has_page_number()) {
            return usage_error(
                "scan",
                "--regions saves a file per photo: put {n} in the -o name, or write one PDF or TIFF",
            );
        }
    }
    if args.area.is_some() && (source != Source::Flatbed || args.regions) {
        return usage_error(
            "scan",
            "--area is a part of the flatbed: use it without --source feeder/duplex and without --regions",
        );
    }
    let defaults = ScanSettings::default();
    let settings = ScanSettings {
        source,
        area: args.area,
        dpi: args.dpi,
        mode: args.mode.into(),
        pages: args.pages,
        format,
        quality: args.quality.unwrap_or(defaults.quality),
        multipage: matches!(target, Target::Document(_)),
        filter: args.filter.settings(),
        ..defaults
    };
    let document = matches!(target, Target::Document(_));
    let total = match source {
        Source::Flatbed if args.regions => None,
        Source::Flatbed => Some(1),
        _ if args.pages > 0 => Some(args.pages),
        _ => None,
    };
    let stderr = io::stderr();
    let live = stderr.is_terminal();
    let mut progress = ProgressLine::new(stderr, live, total);
    let mut events = args.events.map(|_| EventWriter::new(io::stdout()));
    if let Some(events) = events.as_mut() {
        events.emit(&events::start(&args.device, &settings, &target.describe()));
    }
    name_leftovers(&target.folder(), &mut progress);

    let mut session = Session::start(Duration::from_secs(args.timeout));
    // The device says what each source offers; a value it does not offer is
    // refused before the job starts, never rounded.
    let capabilities = match super::storage::read_device(&mut session, &args.device) {
        Ok((_, capabilities)) => capabilities,
        Err(exit) => return exit,
    };
    if let Some(why) = capabilities.refuse(&settings) {
        return usage_error("scan", &format!("{}: {why}", args.device));
    }
    let job = session.job_id();
    let output = target.into_output(args.overwrite);
    let command = if args.regions {
        Command::ScanRegions {
            job,
            device: args.device.clone(),
            settings,
            output,
            interactive: false,
            detected: false,
        }
    } else {
        Command::Scan {
            job,
            device: args.device.clone(),
            settings,
            output,
            interactive: false,
        }
    };
    let mut delivered = Delivered::default();
    // Pages of a document that was finalised just before a second Ctrl+C.
    let mut document_done = None;
    let result = session.run(job, command, |happening| match happening {
        Happening::Event(event) => {
            observe(event, &mut progress, events.as_mut(), &mut delivered);
        }
        Happening::Late(Event::PageDone { path, .. }) => delivered.add(path.as_deref()),
        Happening::Late(Event::JobFinished {
            result: Ok(summary),
            ..
        }) => document_done = Some(summary.totals.delivered),
        Happening::Late(_) => {}
        Happening::Interrupt => progress
            .note("cancelling: completed pages are kept (press Ctrl+C again to quit at once)"),
        Happening::Exiting { kept } => {
            let (count, text) = interrupted(document, document_done, &delivered, kept);
            if let Some(events) = events.as_mut() {
                events.emit(&events::job_ok(Outcome::Cancelled, count));
            }
            progress.note(&text);
        }
    });
    let result = result.unwrap_or_else(|e| {
        Err(TransferError {
            code: StatusCode::GENERAL_ERROR,
            page: None,
            pages_completed: delivered.pages,
            message: e.to_string(),
        })
    });
    if let Some(events) = events.as_mut() {
        events.emit(&events::job(&result));
    }
    report(&result, total, &delivered, &mut progress)
}

/// What a second Ctrl+C kept: the pages, and the line that says so. A
/// `document` was finalised with `document_done` pages before it came, or
/// is among the `settled` temporaries, cut back to its last complete page.
fn interrupted(
    document: bool,
    document_done: Option<u32>,
    delivered: &Delivered,
    settled: &[Settled],
) -> (u32, String) {
    // Pages already on disk under their final names.
    let (mut count, mut files) = match (document, document_done) {
        (true, None) => (0, Vec::new()),
        (true, Some(done)) => (done, delivered.files.clone()),
        (false, _) => (delivered.pages, delivered.files.clone()),
    };
    let mut stranded = Vec::new();
    for kept in settled {
        count += kept.pages;
        match &kept.problem {
            None => files.push(kept.path.clone()),
            Some(problem) => stranded.push(format!(
                "{} with {} is left as {} ({problem}): `streamscan recover` keeps it",
                if document { "the document" } else { "a page" },
                pages(kept.pages),
                kept.path.display()
            )),
        }
    }
    let mut text = if count == 0 {
        String::from("interrupted: no page was completed; the unfinished files are removed")
    } else {
        format!(
            "interrupted: {} kept, {}",
            pages(count),
            saved_to(&dedup(&files))
        )
    };
    for line in stranded {
        text.push_str("; ");
        text.push_str(&line);
    }
    (count, text)
}

/// Folds one engine event into the progress line, the JSON events and the
/// delivered pages.
fn observe(
    event: &Event,
    progress: &mut ProgressLine<io::Stderr>,
    mut events: Option<&mut EventWriter<io::Stdout>>,
    delivered: &mut Delivered,
) {
    let mut emit = |value: events::JsonEvent<'_>| {
        if let Some(events) = events.as_mut() {
            events.emit(&value);
        }
    };
    match event {
        Event::Transfer { message, .. } => emit(events::transfer(message)),
        Event::DeviceStatus { status, .. } => {
            emit(events::device_status(status));
            progress.status(status);
        }
        Event::Progress { progress: p, .. } => progress.progress(p),
        Event::PageDone {
            page, side, path, ..
        } => {
            delivered.add(path.as_deref());
            emit(events::page_done(*page, path.as_deref()));
            progress.page_done(*page, *side, path.as_deref());
        }
        Event::PageAbandoned { page, .. } => {
            emit(events::page_abandoned(*page));
            progress.page_abandoned(*page);
        }
        Event::PageBlank { page, .. } => {
            emit(events::page_state(*page, "blank"));
            progress.note(&format!("page {page} looks blank"));
        }
        Event::PageDropped { page, .. } => {
            emit(events::page_state(*page, "dropped"));
            progress.note(&format!(
                "a blank page was dropped (it would have been page {page})"
            ));
        }
        Event::JobQueued { device, ahead, .. } => {
            progress.note(&format!("waiting for {device}: {ahead} job(s) ahead"));
        }
        Event::JobStarted { .. }
        | Event::Question { .. }
        | Event::QuestionClosed { .. }
        | Event::PageStarted { .. }
        | Event::Preview { .. }
        | Event::Uploaded { .. }
        | Event::Items { .. }
        | Event::DiscoveryStarted { .. }
        | Event::DeviceFound { .. }
        | Event::DiscoveryFinished { .. }
        | Event::Trace { .. }
        | Event::ContractBroken { .. }
        | Event::PreviewRendered { .. }
        | Event::TileRendered { .. }
        | Event::Regions { .. }
        | Event::JobFinished { .. } => {}
    }
}

/// The final report on stderr, and the exit status.
fn report(
    result: &Result<JobSummary, TransferError>,
    total: Option<u32>,
    delivered: &Delivered,
    progress: &mut ProgressLine<io::Stderr>,
) -> Exit {
    match result {
        Ok(summary) => {
            let count = summary.totals.delivered;
            let files = if summary.files.is_empty() {
                &delivered.files
            } else {
                &summary.files
            };
            let files = dedup(files);
            match summary.outcome {
                Outcome::Completed => {
                    progress.note(&format!("done: {}, {}", pages(count), saved_to(&files)));
                    Exit::Success
                }
                Outcome::EndOfMedia { pages: got } => {
                    let asked = total.map(|t| format!(" of {t}")).unwrap_or_default();
                    progress.note(&format!(
                        "warning: the feeder ran out of paper after {}{asked} \
                         (END_OF_MEDIA); {}",
                        pages(got),
                        saved_to(&files)
                    ));
                    Exit::Success
                }
                Outcome::Cancelled => {
                    progress.note(&format!(
                        "cancelled: {} kept, {}",
                        pages(count),
                        saved_to(&files)
                    ));
                    Exit::Cancelled
                }
            }
        }
        Err(error) => {
            progress.note(&error_report(error, &delivered.files));
            Exit::for_error(error)
        }
    }
}

/// `error: PAPER_JAM (0x80210002) on page 2: ...; 1 completed page kept, saved to ...`.
fn error_report(error: &TransferError, files: &[PathBuf]) -> String {
    let page = error
        .page
        .map(|p| format!(" on page {p}"))
        .unwrap_or_default();
    let description = error.code.description();
    let mut text = format!(
        "error: {} ({}){page}: {description}",
        error.code.name(),
        events::hex_code(error.code),
    );
    // The message often repeats the description; add it when it says more.
    if !error.message.is_empty() && !error.message.contains(description) {
        text.push_str(&format!(": {}", error.message));
    }
    let kept = error.pages_completed;
    if kept == 0 {
        text.push_str("; no page was completed");
    } else {
        let word = if kept == 1 { "page" } else { "pages" };
        text.push_str(&format!(
            "; {kept} completed {word} kept, {}",
            saved_to(&dedup(files))
        ));
    }
    text
}

/// Files in order, each once.
fn dedup(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::with_capacity(files.len());
    for file in files {
        if !out.contains(file) {
            out.push(file.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Local> {
        Local
            .with_ymd_and_hms(2024, 3, 9, 14, 5, 7)
            .single()
            .expect("unambiguous")
    }

    fn pattern(text: &str) -> OutputPattern {
        OutputPattern::parse(text).expect("pattern")
    }

    fn plan_of(
        output: Option<&str>,
        format: Option<FileFormat>,
        source: Source,
        pages: u32,
    ) -> Result<(FileFormat, Target), String> {
        let output = output.map(pattern);
        plan(output.as_ref(), format, source, pages, now())
    }

    #[test]
    fn the_default_is_numbered_png_files_here() {
        assert_eq!(
            plan_of(None, None, Source::Feeder, 0),
            Ok((
                FileFormat::Png,
                Target::Files(pattern("scan-20240309-140507-{n}.png"))
            ))
        );
        assert_eq!(
            plan_of(None, Some(FileFormat::Jpeg), Source::Flatbed, 0),
            Ok((
                FileFormat::Jpeg,
                Target::Files(pattern("scan-20240309-140507-{n}.jpg"))
            ))
        );
    }

    #[test]
    fn pdf_and_tiff_without_a_number_are_documents() {
        assert_eq!(
            plan_of(Some("out.pdf"), None, Source::Feeder, 0),
            Ok((FileFormat::Pdf, Target::Document(PathBuf::from("out.pdf"))))
        );
        assert_eq!(
            plan_of(Some("out.TIF"), Some(FileFormat::Tiff), Source::Duplex, 0),
            Ok((FileFormat::Tiff, Target::Document(PathBuf::from("out.TIF"))))
        );
        assert_eq!(
            plan_of(Some("p-{n}.pdf"), None, Source::Feeder, 0),
            Ok((FileFormat::Pdf, Target::Files(pattern("p-{n}.pdf"))))
        );
    }

    #[test]
    fn a_single_image_name_holds_one_page_only() {
        assert_eq!(
            plan_of(Some("a.png"), None, Source::Flatbed, 0),
            Ok((FileFormat::Png, Target::Files(pattern("a.png"))))
        );
        assert!(plan_of(Some("a.png"), None, Source::Feeder, 1).is_ok());
        let err = plan_of(Some("a.png"), None, Source::Feeder, 0).expect_err("several pages");
        assert!(err.contains("{n}"), "{err}");
    }

    #[test]
    fn format_and_extension_must_agree() {
        let err = plan_of(Some("x.pdf"), Some(FileFormat::Png), Source::Flatbed, 0)
            .expect_err("contradiction");
        assert!(err.contains("contradicts"), "{err}");
        assert!(plan_of(Some("x.jpg"), Some(FileFormat::Jpeg), Source::Flatbed, 0).is_ok());
        assert!(plan_of(Some("x.dat"), None, Source::Flatbed, 0).is_err());
        assert_eq!(
            plan_of(Some("x.dat"), Some(FileFormat::Bmp), Source::Flatbed, 0).map(|p| p.0),
            Ok(FileFormat::Bmp)
        );
        assert_eq!(
            plan_of(Some("scan"), None, Source::Flatbed, 0).map(|p| p.0),
            Ok(FileFormat::Png)
        );
    }

    #[test]
    fn an_existing_folder_gets_default_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = dir.path().display().to_string();
        let (_, target) = plan_of(Some(&text), None, Source::Feeder, 0).expect("plan");
        let expected = dir.path().join("scan-20240309-140507-7.png");
        match target {
            Target::Files(pattern) => assert_eq!(pattern.path_for(7), expected),
            other => panic!("not files: {other:?}"),
        }
    }

    #[test]
    fn error_reports_name_the_error_the_page_and_the_files() {
        let error = TransferError {
            code: StatusCode::PAPER_JAM,
            page: Some(2),
            pages_completed: 1,
            message: String::from("page 2: paper is jammed in the feeder"),
        };
        let text = error_report(&error, &[PathBuf::from("out/p-1.png")]);
        assert_eq!(
            text,
            "error: PAPER_JAM (0x80210002) on page 2: paper is jammed in the feeder; \
             1 completed page kept, saved to out/p-1.png"
        );
        let error = TransferError {
            code: StatusCode::DESTINATION,
            page: None,
            pages_completed: 0,
            message: String::from("a.png already exists"),
        };
        assert_eq!(
            error_report(&error, &[]),
            "error: DESTINATION (0x80210012): the destination cannot be written: \
             a.png already exists; no page was completed"
        );
    }

    #[test]
    fn a_second_ctrl_c_reports_what_it_kept() {
        let settled = |path: &str, pages: u32, problem: Option<&str>| Settled {
            path: PathBuf::from(path),
            pages,
            problem: problem.map(String::from),
        };
        let mut delivered = Delivered::default();
        // A document cut back to its last complete page.
        assert_eq!(
            interrupted(true, None, &delivered, &[settled("doc.pdf", 2, None)]),
            (
                2,
                String::from("interrupted: 2 pages kept, saved to doc.pdf")
            )
        );
        // A document whose name was taken meanwhile stays a leftover.
        let (count, text) = interrupted(
            true,
            None,
            &delivered,
            &[settled(
                ".doc.pdf.part-1-0",
                3,
                Some("doc.pdf already exists"),
            )],
        );
        assert_eq!(count, 3);
        assert!(
            text.ends_with(
                "the document with 3 pages is left as .doc.pdf.part-1-0 \
                 (doc.pdf already exists): `streamscan recover` keeps it"
            ),
            "{text}"
        );
        assert_eq!(
            interrupted(true, None, &delivered, &[]).1,
            "interrupted: no page was completed; the unfinished files are removed"
        );
        // Pages in files of their own, and a document finalised already.
        delivered.add(Some(Path::new("p-1.png")));
        delivered.add(Some(Path::new("p-2.png")));
        assert_eq!(
            interrupted(false, None, &delivered, &[]),
            (
                2,
                String::from("interrupted: 2 pages kept, saved to p-1.png, p-2.png")
            )
        );
        let mut document = Delivered::default();
        document.add(Some(Path::new("all.tiff")));
        assert_eq!(
            interrupted(true, Some(4), &document, &[]),
            (
                4,
                String::from("interrupted: 4 pages kept, saved to all.tiff")
            )
        );
    }

    #[test]
    fn long_file_lists_are_shortened() {
        let files: Vec<PathBuf> = (1..=6).map(|n| PathBuf::from(format!("p{n}"))).collect();
        assert_eq!(saved_to(&files), "saved to p1 ... p6 (6 files)");
        assert_eq!(saved_to(&files[..2]), "saved to p1, p2");
    }
}
