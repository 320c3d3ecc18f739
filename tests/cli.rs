//! The `streamscan` command line, run as a program: exit statuses for every
//! class of outcome, the `--events json` stream, output naming, Ctrl+C,
//! and the storage subcommands, each in its own temporary folder with a
//! private storage folder for the virtual scanner.

mod support;

use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::{CliRun, json_lines, pdf_page_count, program, run_cli, sim_id, tiff_images, tool};

/// The longest a test waits for the program to print something.
const PATIENCE: Duration = Duration::from_secs(60);

/// A temporary working folder with a storage folder for the scanner.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn storage(&self) -> PathBuf {
        self.path().join("storage")
    }

    /// A virtual scanner id with a private storage folder, no warm-up,
    /// full speed, plus `options`.
    fn sim(&self, options: &str) -> String {
        let options = match options {
            "" => String::from("speed=max"),
            more => format!("speed=max,{more}"),
        };
        sim_id(&options, &self.storage())
    }

    /// The program in this folder, stdin closed.
    fn command(&self, args: &[&str]) -> Command {
        program(self.path(), args)
    }

    fn run(&self, args: &[&str]) -> CliRun {
        run_cli(self.path(), args)
    }
}

/// Every file below `dir`, relative, sorted (hidden ones included).
fn files_below(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).expect("read folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let relative = path.strip_prefix(base).expect("below base");
                out.push(relative.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Asserts that no temporary (`.part`) file is left below `dir`.
fn assert_no_temporaries(dir: &Path) {
    let left: Vec<String> = files_below(dir)
        .into_iter()
        .filter(|name| name.contains(".part"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

/// The pages of a PDF that `qpdf --check` finds sound and `pdfinfo` opens
/// (whatever its name).
fn pdf_pages_in(path: &Path) -> usize {
    let check = tool("qpdf", &[OsStr::new("--check"), path.as_os_str()]);
    assert!(
        check.status.success(),
        "qpdf --check {}: {}{}",
        path.display(),
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    pdf_page_count(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The pages of a TIFF, every one decoded by the `tiff` crate.
fn tiff_pages_in(path: &Path) -> usize {
    let bytes = fs::read(path).expect("read the TIFF");
    tiff_images(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len()
}

/// Asserts that the program ran its job's trace through the message-order
/// checker (`support::program` asks it to) and found it in order.
fn assert_trace_checked(stderr: &str) {
    assert!(
        stderr.contains("message order checked: job"),
        "no trace check in {stderr}"
    );
}

/// The temporary files below `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    files_below(dir)
        .into_iter()
        .filter(|name| name.contains(".part-"))
        .collect()
}

/// Decodes an image file and returns its size.
fn decode(path: &Path) -> (u32, u32) {
    let image = image::open(path).unwrap_or_else(|e| panic!("{} decodes: {e}", path.display()));
    (image.width(), image.height())
}

/// A line the running program printed.
enum Said {
    Out(String),
    Err(String),
}

/// The program running in the background, its stdout and stderr read line
/// by line on threads, so that a test waits for what it prints (with a
/// watchdog, never a fixed sleep).
struct Running {
    child: Child,
    lines: mpsc::Receiver<Said>,
    /// The stdout lines (`--events json`) seen so far.
    events: Vec<Value>,
    /// The stderr lines seen so far.
    stderr: Vec<String>,
}

impl Running {
    /// Starts `command` with stdout and stderr piped.
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the program starts");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("stdout is piped");
        let err = child.stderr.take().expect("stderr is piped");
        let out_tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if out_tx.send(Said::Out(line)).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(Said::Err(line)).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            events: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// Takes the next line; `None` once both streams are closed.
    fn next_line(&mut self, waiting_for: &str) -> Option<()> {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(Said::Out(line)) => {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                self.events.push(value);
                Some(())
            }
            Ok(Said::Err(line)) => {
                self.stderr.push(line);
                Some(())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "nothing printed for {} s while waiting for {waiting_for}; events {:#?}, stderr {:#?}",
                PATIENCE.as_secs(),
                self.events,
                self.stderr
            ),
        }
    }

    /// Waits until an event line satisfies `wanted`.
    fn wait_for_event(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) {
        let mut seen = 0;
        loop {
            if self.events[seen..].iter().any(&wanted) {
                return;
            }
            seen = self.events.len();
            if self.next_line(what).is_none() {
                panic!(
                    "the program ended before {what}; events {:#?}, stderr {:#?}",
                    self.events, self.stderr
                );
            }
        }
    }

    /// Waits until page `page` is reported done.
    fn wait_for_page_done(&mut self, page: u64) {
        self.wait_for_event(&format!("page {page} done"), |e| {
            e["event"] == "page" && e["state"] == "done" && e["page"] == page
        });
    }

    /// Waits until a stderr line contains `needle`.
    fn wait_for_stderr(&mut self, needle: &str) {
        let mut seen = 0;
        loop {
            if self.stderr[seen..].iter().any(|l| l.contains(needle)) {
                return;
            }
            seen = self.stderr.len();
            if self.next_line(needle).is_none() {
                panic!(
                    "the program ended before saying {needle:?}: {:#?}",
                    self.stderr
                );
            }
        }
    }

    /// Sends SIGINT, as Ctrl+C in a terminal would.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -INT failed");
    }

    /// Kills the program with SIGKILL (no chance to clean up) and waits
    /// for it.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the program ends");
    }

    /// Reads everything until the program exits; returns its exit status,
    /// its events and its stderr.
    fn finish(mut self) -> (i32, Vec<Value>, String) {
        while self.next_line("the program's end").is_some() {}
        let status = self.child.wait().expect("the program ends");
        let events = std::mem::take(&mut self.events);
        let stderr = self.stderr.join("\n");
        assert!(!stderr.contains("broke the message order"), "{stderr}");
        (status.code().unwrap_or(-1), events, stderr)
    }
}

impl Drop for Running {
    /// A test that failed half way leaves no frozen program behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------- basics

#[test]
fn without_a_subcommand_the_help_is_printed() {
    let fx = Fixture::new();
    let run = fx.run(&[]);
    run.expect(0);
    assert!(run.stdout.contains("Usage: streamscan"), "{}", run.stdout);
    assert!(run.stdout.contains("No display"), "{}", run.stdout);
}

#[test]
fn devices_as_json_parse() {
    let fx = Fixture::new();
    let run = fx.run(&["devices", "--json"]);
    run.expect(0);
    let devices: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let ids: Vec<&str> = devices
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert!(ids.contains(&"sim"), "{devices}");
    let table = fx.run(&["devices"]);
    table.expect(0);
    assert!(table.stdout.contains("sim"), "{}", table.stdout);
    let quick = fx.run(&["devices", "--timeout", "1500ms"]);
    quick.expect(0);
    assert!(quick.stdout.contains("virtual"), "{}", quick.stdout);
}

#[test]
fn a_bad_discovery_timeout_is_refused() {
    let fx = Fixture::new();
    for bad in ["soon", "5h", "1.5.2s", "99m"] {
        let run = fx.run(&["devices", "--timeout", bad]);
        run.expect(2);
        assert!(run.stderr.contains("--timeout"), "{bad}: {}", run.stderr);
    }
}

// ---------------------------------------------------------------- scans

#[test]
fn a_flatbed_scan_with_default_names_completes() {
    let fx = Fixture::new();
    let device = fx.sim("");
    let run = fx.run(&["scan", "--device", &device, "--dpi", "75"]);
    run.expect(0);
    let pages: Vec<String> = files_below(fx.path())
        .into_iter()
        .filter(|n| n.starts_with("scan-"))
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    let name = &pages[0];
    // scan-YYYYMMDD-HHMMSS-1.png
    let parts: Vec<&str> = name.trim_end_matches(".png").split('-').collect();
    assert_eq!(parts.len(), 4, "{name}");
    assert_eq!(
        (parts[1].len(), parts[2].len(), parts[3]),
        (8, 6, "1"),
        "{name}"
    );
    let (width, height) = decode(&fx.path().join(name));
    assert!(width > 500 && height > 700, "{width}x{height}");
    assert!(run.stderr.contains("done: 1 page"), "{}", run.stderr);
}

#[test]
fn an_area_scans_that_part_of_the_flatbed_pixel_for_pixel() {
    let fx = Fixture::new();
    let device = fx.sim("");
    fx.run(&[
        "scan",
        "--device",
        &device,
        "--dpi",
        "100",
        "-o",
        "whole.png",
    ])
    .expect(0);
    fx.run(&[
        "scan",
        "--device",
        &device,
        "--dpi",
        "100",
        "--area",
        "10,20,100,60",
        "-o",
        "part.png",
    ])
    .expect(0);
    let whole = image::open(fx.path().join("whole.png"))
        .expect("whole page decodes")
        .to_rgb8();
    let part = image::open(fx.path().join("part.png"))
        .expect("area decodes")
        .to_rgb8();
    // 100 x 60 mm at 100 dpi, from (10 mm, 20 mm): 394 x 236 pixels at (39, 79).
    assert_eq!(part.dimensions(), (394, 236));
    let differing = part
        .enumerate_pixels()
        .filter(|(x, y, px)| whole.get_pixel(x + 39, y + 79) != *px)
        .count();
    assert_eq!(
        differing, 0,
        "the area is the same pixels as the page there"
    );
}

#[test]
fn an_area_off_the_glass_or_on_the_feeder_is_refused() {
    let fx = Fixture::new();
    let device = fx.sim("");
    let run = fx.run(&[
        "scan",
        "--device",
        &device,
        "--area",
        "10,20,100",
        "-o",
        "a.png",
    ]);
    run.expect(2);
    assert!(run.stderr.contains("X,Y,WIDTH,HEIGHT"), "{}", run.stderr);
    let run = fx.run(&[
        "scan",
        "--device",
        &device,
        "--source",
        "feeder",
        "--area",
        "0,0,50,50",
        "-o",
        "p-{n}.png",
    ]);
    run.expect(2);
    assert!(run.stderr.contains("--area"), "{}", run.stderr);
    // Entirely below the glass, or partly off it: refused before the job
    // starts, never clamped.
    for area in ["0,400,50,50", "150,250,100,100"] {
        let run = fx.run(&["scan", "--device", &device, "--area", area, "-o", "b.png"]);
        run.expect(2);
        assert!(
            run.stderr.contains("does not lie on"),
            "{area}: {}",
            run.stderr
        );
        assert!(!fx.path().join("b.png").exists());
    }
}

#[test]
fn a_value_the_source_does_not_offer_is_refused_with_what_it_offers() {
    let fx = Fixture::new();
    let device = fx.sim("speed=max");
    // The feeder stops at 600 dpi; the flatbed goes to 1200 in steps of 25.
    let run = fx.run(&[
        "scan",
        "--device",
        &device,
        "--source",
        "feeder",
        "--dpi",
        "1200",
        "-o",
        "p-{n}.png",
    ]);
    run.expect(2);
    assert!(
        run.stderr.contains("1200 dpi") && run.stderr.contains("75, 100, 150, 200, 300, 600"),
        "{}",
        run.stderr
    );
    let run = fx.run(&["scan", "--device", &device, "--dpi", "110", "-o", "f.png"]);
    run.expect(2);
    assert!(
        run.stderr.contains("75..1200 in steps of 25"),
        "{}",
        run.stderr
    );
    assert!(files_below(fx.path()).is_empty(), "nothing was scanned");
    // What the source offers scans.
    let run = fx.run(&[
        "scan",
        "--device",
        &device,
        "--source",
        "feeder",
        "--pages",
        "1",
        "--dpi",
        "600",
        "--mode",
        "bw",
        "-o",
        "ok-{n}.png",
    ]);
    run.expect(0);
}

#[test]
fn a_per_page_pattern_numbers_pages_zero_padded() {
    let fx = Fixture::new();
    fs::create_dir(fx.path().join("out")).expect("mkdir");
    let device = fx.sim("pages=3");
    let run = fx.run(&[
        "scan",
        "--device",
        &device,
        "--source",
        "feeder",
        "--dpi",
        "75",
        "--mode",
        "gray",
        "-o",
        "out/page-{n:03}.png",
    ]);
    run.expect(0);
    assert_eq!(
        files_below(&fx.path().join("out")),
        ["page-001.png", "page-002.png", "page-003.png"]
    );
    for n in 1..=3 {
        decode(&fx.path().join(format!("out/page-{n:03}.png")));
    }
    // Plain progress lines, one per page, when stderr is not a terminal.
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
    assert!(
        run.stderr.contains("page 2 (front) done: out/page-002.png"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_feeder_that_runs_out_early_succeeds_with_a_warning() {
    let fx = Fixture::new();
    let device = fx.sim("pages=2");
    let run = fx.run(&[
        "scan",
        "--device",
        &device,
        "--source",
        "feeder",
        "--pages",
        "5",
        "--dpi",
        "75",
        "-o",
        "p-{n}.png",
    ]);
    run.expect(0);
    assert!(run.stderr.contains("END_OF_MEDIA"), "{}", run.stderr);
    assert!(run.stderr.contains("warning"), "{}", run.stderr);
    assert_eq!(files_below(fx.path()), ["p-1.png", "p-2.png"]);
}

#[test]
fn a_jam_fails_with_1_and_keeps_the_pages_before_it() {
    let fx = Fixture::new();
    let device = fx.sim("pages=3,fault=jam@2");
    let run = fx.run(&[
        "scan",
        "--device",
        &device,
        "--source",
        "feeder",
        "--dpi",
        "75",
        "-o",
        "p-{n}.png",
    ]);
    run.expect(1);
    for needle in ["PAPER_JAM", "page 2", "p-1.png"] {
        assert!(run.stderr.contains(needle), "{needle} in {}", run.stderr);
    }
    assert_eq!(files_below(fx.path()), ["p-1.png"]);
    decode(&fx.path().join("p-1.png"));
    assert_no_temporaries(fx.path());
}

#[test]
fn a_jam_in_a_pdf_keeps_a_valid_document_of_the_completed_pages() {
    let fx = Fixture::new();
    let device = fx.sim("pages=4,fault=jam@3");
    let run = fx.run(&[
        "scan", "--device", &device, "--source", "feeder", "--dpi", "75", "-o", "doc.pdf",
    ]);
    run.expect(1);
    assert!(run.stderr.contains("doc.pdf"), "{}", run.stderr);
    let info = tool(
        "pdfinfo",
        &[&fx.path().join("doc.pdf").display().to_string()],
    );
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("Pages:") && l.ends_with(" 2")),
        "{text}"
    );
    assert_no_temporaries(fx.path());
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let fx = Fixture::new();
    let device = fx.sim("");
    let cases: [&[&str]; 7] = [
        &[
            "scan", "--device", &device, "--format", "png", "-o", "x.pdf",
        ],
        &["scan", "--device", "sim:colour=red"],
        &["scan", "--device", "scanjet:1"],
        &["scan", "--device", &device, "-o", "p-{x}.png"],
        &[
            "scan", "--device", &device, "--source", "feeder", "-o", "one.png",
        ],
        &["scan", "--device", &device, "-o", "notes.txt"],
        &["scan", "--bogus"],
    ];
    for args in cases {
        let run = fx.run(args);
        run.expect(2);
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
    }
    let contradiction = fx.run(cases[0]);
    assert!(
        contradiction.stderr.contains("contradicts"),
        "{}",
        contradiction.stderr
    );
    let unknown_key = fx.run(cases[1]);
    assert!(
        unknown_key.stderr.contains("colour"),
        "{}",
        unknown_key.stderr
    );
    let written: Vec<String> = files_below(fx.path());
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn an_existing_file_is_kept_unless_overwrite_is_given() {
    let fx = Fixture::new();
    let device = fx.sim("");
    let target = fx.path().join("page.png");
    fs::write(&target, b"precious").expect("write");
    let run = fx.run(&["scan", "--device", &device, "--dpi", "75", "-o", "page.png"]);
    run.expect(3);
    assert!(run.stderr.contains("DESTINATION"), "{}", run.stderr);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(fs::read(&target).expect("read"), b"precious");
    fx.run(&[
        "scan",
        "--device",
        &device,
        "--dpi",
        "75",
        "-o",
        "page.png",
        "--overwrite",
    ])
    .expect(0);
    decode(&target);
    assert_no_temporaries(fx.path());
}

#[test]
fn an_unwritable_destination_exits_3() {
    let fx = Fixture::new();
    let device = fx.sim("pages=2");
    // Tests run as root, where permission bits stop nothing: a folder
    // that is a regular file cannot be written by anyone.
    fs::write(fx.path().join("blocker"), b"a file, not a folder").expect("write");
    for output in ["blocker/p-{n}.png", "blocker/doc.pdf"] {
        let run = fx.run(&[
            "scan", "--device", &device, "--source", "feeder", "--dpi", "75", "-o", output,
        ]);
        run.expect(3);
        assert!(run.stderr.contains("DESTINATION"), "{}", run.stderr);
    }
}

#[test]
fn the_json_event_stream_follows_the_transfer_contract() {
    let fx = Fixture::new();
    let device = fx.sim("pages=3");
    let run = fx.run(&[
        "scan",
        "--device",
        &device,
        "--source",
        "feeder",
        "--dpi",
        "75",
        "-o",
        "p-{n}.png",
        "--events",
        "json",
    ]);
    run.expect(0);
    let events = json_lines(&run.stdout);
    let first = events.first().expect("a start line");
    assert_eq!(first["event"], "start");
    assert_eq!(first["v"], 1);
    assert_eq!(first["device"], device.as_str());
    assert_eq!(first["settings"]["source"], "feeder");
    assert_eq!(first["settings"]["dpi"], 75);
    let last = events.last().expect("a job line");
    assert_eq!(
        last,
        &serde_json::json!({"event":"job","outcome":"Completed","pages":3})
    );
    assert!(
        run.stdout
            .lines()
            .next_back()
            .is_some_and(|l| l.starts_with("{\"event\":\"job\"")),
        "the event name comes first"
    );

    let transfers: Vec<&Value> = events.iter().filter(|e| e["event"] == "transfer").collect();
    let kinds: Vec<&str> = transfers.iter().filter_map(|e| e["msg"].as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "END_OF_TRANSFER").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&"END_OF_TRANSFER"));
    assert_eq!(kinds.iter().filter(|k| **k == "END_OF_STREAM").count(), 3);
    for status in transfers.iter().filter(|e| e["msg"] == "STATUS") {
        assert_eq!(status["code"], 1);
        assert_eq!(status["item"], "Feeder");
        assert_eq!(status["side"], "front");
        let percent = status["percent"].as_i64().expect("percent");
        assert!((-1..=100).contains(&percent), "{status}");
        assert!(status["bytes"].is_u64(), "{status}");
    }

    let pages: Vec<&Value> = events.iter().filter(|e| e["event"] == "page").collect();
    let numbers: Vec<u64> = pages.iter().filter_map(|p| p["page"].as_u64()).collect();
    assert_eq!(numbers, [1, 2, 3]);
    for page in &pages {
        assert_eq!(page["state"], "done");
        let path = page["path"].as_str().expect("a path");
        decode(&fx.path().join(path));
    }
    assert!(
        events.iter().all(|e| e["event"].is_string()),
        "every line names its event"
    );
}

#[test]
fn device_statuses_appear_in_the_event_stream() {
    let fx = Fixture::new();
    // A short warm-up at a real pace (a sheet at 75 dpi takes 0.1 s).
    let device = sim_id("warmup=0.2,speed=600", &fx.storage());
    let run = fx.run(&[
        "scan", "--device", &device, "--dpi", "75", "-o", "p.png", "--events", "json",
    ]);
    run.expect(0);
    let events = json_lines(&run.stdout);
    let warming: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "device_status" && e["status"] == "WARMING_UP")
        .collect();
    assert!(!warming.is_empty(), "{}", run.stdout);
    assert_eq!(warming[0]["code"], "0x00210002");
    assert!(warming.iter().any(|e| e["percent"] == 100), "{warming:?}");
    // Success statuses continue with a progress line.
    assert!(run.stderr.contains("warming up"), "{}", run.stderr);
}

#[test]
fn a_jam_ends_the_event_stream_with_an_error_line() {
    let fx = Fixture::new();
    let device = fx.sim("pages=3,fault=jam@2");
    let run = fx.run(&[
        "scan",
        "--device",
        &device,
        "--source",
        "feeder",
        "--dpi",
        "75",
        "-o",
        "p-{n}.png",
        "--events",
        "json",
    ]);
    run.expect(1);
    let events = json_lines(&run.stdout);
    let last = events.last().expect("a job line");
    assert_eq!(last["event"], "job");
    assert_eq!(last["outcome"], "Error");
    assert_eq!(last["code"], "0x80210002");
    assert_eq!(last["error"], "PAPER_JAM");
    assert_eq!(last["page"], 2);
    assert_eq!(last["pages"], 1);
    assert!(last["message"].is_string(), "{last}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "page" && e["page"] == 2 && e["state"] == "abandoned"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_pdf_path_is_one_document_with_every_page() {
    let fx = Fixture::new();
    let device = fx.sim("pages=3");
    let run = fx.run(&[
        "scan", "--device", &device, "--source", "feeder", "--dpi", "75", "-o", "out.pdf",
    ]);
    run.expect(0);
    let pdf = fx.path().join("out.pdf").display().to_string();
    let info = tool("pdfinfo", &[&pdf]);
    assert!(
        info.status.success(),
        "pdfinfo: {}",
        String::from_utf8_lossy(&info.stderr)
    );
    let text = String::from_utf8_lossy(&info.stdout);
    let pages = text
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no page count in {text}"));
    assert_eq!(pages, "3", "{text}");
    let check = tool("qpdf", &["--check", &pdf]);
    assert!(
        check.status.success(),
        "qpdf --check: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert_eq!(files_below(fx.path()), ["out.pdf"]);
}

#[test]
fn a_tiff_path_is_one_multipage_document_in_duplex() {
    let fx = Fixture::new();
    let device = fx.sim("pages=2");
    let run = fx.run(&[
        "scan", "--device", &device, "--source", "duplex", "--dpi", "75", "--mode", "bw", "-o",
        "out.tiff",
    ]);
    run.expect(0);
    let file = fs::File::open(fx.path().join("out.tiff")).expect("open");
    let mut decoder = tiff::decoder::Decoder::new(BufReader::new(file)).expect("a TIFF");
    let mut pages = 1;
    while decoder.more_images() {
        decoder.next_image().expect("next page");
        pages += 1;
    }
    assert_eq!(pages, 4, "two sheets, both sides");
}

// ---------------------------------------------------------------- Ctrl+C

#[test]
fn ctrl_c_cancels_keeps_completed_pages_and_exits_130() {
    let fx = Fixture::new();
    let device = sim_id("pages=5,speed=60", &fx.storage());
    let mut run = Running::start(fx.command(&[
        "scan",
        "--device",
        &device,
        "--source",
        "feeder",
        "--dpi",
        "75",
        "-o",
        "p-{n}.png",
        "--events",
        "json",
    ]));
    run.wait_for_page_done(1);
    run.interrupt();
    let (code, events, stderr) = run.finish();
    assert_eq!(code, 130, "{stderr}");
    let last = events.last().expect("events");
    assert_eq!(last["event"], "job", "{events:#?}");
    assert_eq!(last["outcome"], "Cancelled", "{events:#?}");
    let kept = last["pages"].as_u64().expect("pages");
    assert!(kept >= 1, "{last}");
    let files: Vec<String> = files_below(fx.path())
        .into_iter()
        .filter(|n| n.starts_with("p-"))
        .collect();
    assert_eq!(files.len() as u64, kept, "{files:?}");
    for file in &files {
        decode(&fx.path().join(file));
    }
    assert_no_temporaries(fx.path());
    assert!(stderr.contains("cancel"), "{stderr}");
    assert_trace_checked(&stderr);
}

#[test]
fn a_second_ctrl_c_exits_at_once_keeping_the_document_cut_back_to_its_last_page() {
    for output in ["p-{n}.png", "doc.pdf", "doc.tiff"] {
        let fx = Fixture::new();
        // Page 3 freezes half way and the device ignores the cancel: only
        // the second Ctrl+C ends the program.
        let device = fx.sim("pages=5,fault=freeze@3");
        let mut run = Running::start(fx.command(&[
            "scan", "--device", &device, "--source", "feeder", "--dpi", "75", "-o", output,
            "--events", "json",
        ]));
        run.wait_for_page_done(2);
        wait_for_freeze(&mut run, 3);
        let temporaries = files_below(fx.path())
            .into_iter()
            .filter(|n| n.contains(".part"))
            .count();
        assert_eq!(temporaries, 1, "{output}: {:?}", files_below(fx.path()));
        run.interrupt();
        run.wait_for_stderr("press Ctrl+C again");
        run.interrupt();
        let (code, events, stderr) = run.finish();
        assert_eq!(code, 130, "{output}: {stderr}");
        assert!(
            stderr.contains("interrupted: 2 pages kept"),
            "{output}: {stderr}"
        );
        assert_no_temporaries(fx.path());
        let last = events.last().expect("events");
        assert_eq!(last["event"], "job", "{output}");
        assert_eq!(last["outcome"], "Cancelled", "{output}");
        assert_eq!(last["pages"], 2, "{output}: {last}");
        let kept: Vec<String> = files_below(fx.path())
            .into_iter()
            .filter(|n| n.starts_with("p-") || n.starts_with("doc"))
            .collect();
        match output {
            "doc.pdf" => {
                assert_eq!(kept, ["doc.pdf"]);
                assert_eq!(pdf_pages_in(&fx.path().join("doc.pdf")), 2);
            }
            "doc.tiff" => {
                assert_eq!(kept, ["doc.tiff"]);
                assert_eq!(tiff_pages_in(&fx.path().join("doc.tiff")), 2);
            }
            _ => {
                assert_eq!(kept, ["p-1.png", "p-2.png"]);
                for file in &kept {
                    decode(&fx.path().join(file));
                }
            }
        }
    }
}

#[test]
fn settling_temporaries_keeps_documents_cut_back_removes_pages_and_refuses_new_ones() {
    use streamscan::output::FileDestination;
    use streamscan::output::file::{Settled, settle_temporaries};
    use streamscan::transfer::Destination;
    // This test binary runs the program in child processes only, so
    // closing this process's registry disturbs no other test.
    let fx = Fixture::new();
    let mut page = FileDestination::create(&fx.path().join("a.png"), false).expect("create");
    page.write_all(b"half a page").expect("write");
    page.flush().expect("flush");
    let mut document = FileDestination::create(&fx.path().join("doc.pdf"), false).expect("create");
    document.write_all(b"two pages").expect("write");
    document.checkpoint(2).expect("checkpoint");
    document.write_all(b" and a half").expect("write");
    assert!(page.temp_path().exists() && document.temp_path().exists());
    let kept = settle_temporaries();
    assert_eq!(
        kept,
        vec![Settled {
            path: fx.path().join("doc.pdf"),
            pages: 2,
            problem: None,
        }]
    );
    assert_eq!(
        fs::read(fx.path().join("doc.pdf")).expect("kept"),
        b"two pages"
    );
    assert!(!page.temp_path().exists());
    // Writers still running fail from now on; nothing new is created.
    assert!(
        document
            .write_all(b"more")
            .and_then(|()| document.flush())
            .is_err()
    );
    assert!(FileDestination::create(&fx.path().join("b.png"), false).is_err());
    drop(page);
    drop(document);
    assert_eq!(files_below(fx.path()), ["doc.pdf"]);
}

// ------------------------------------------------------- crashes, leftovers

/// Starts a feeder scan of 5 sheets into `output` that freezes in the
/// middle of page `freeze` (the device then answers nothing), and waits
/// until page `freeze - 1` is done and the device froze.
fn frozen_scan(fx: &Fixture, output: &str, freeze: u32) -> Running {
    let device = fx.sim(&format!("pages=5,fault=freeze@{freeze}"));
    let mut run = Running::start(fx.command(&[
        "scan", "--device", &device, "--source", "feeder", "--dpi", "75", "-o", output, "--events",
        "json",
    ]));
    run.wait_for_page_done(u64::from(freeze - 1));
    wait_for_freeze(&mut run, freeze);
    run
}

/// Waits until the device froze in page `page` (`fault=freeze@PAGE`): it
/// does right after the page's first STATUS of 50 % or more, and its
/// stream is open then.
fn wait_for_freeze(run: &mut Running, page: u32) {
    run.wait_for_event(&format!("page {page} half sent"), |e| {
        e["event"] == "transfer"
            && e["msg"] == "STATUS"
            && e["page"] == page
            && e["percent"].as_i64().is_some_and(|p| p >= 50)
    });
}

#[test]
fn a_killed_scan_leaves_a_temporary_document_that_opens_with_its_completed_pages() {
    for (output, done) in [("doc.pdf", 1), ("doc.pdf", 3), ("doc.tiff", 2)] {
        let fx = Fixture::new();
        let run = frozen_scan(&fx, output, done + 1);
        run.kill();
        let left = temporaries(fx.path());
        assert_eq!(left.len(), 1, "{output}: {left:?}");
        assert!(left[0].starts_with(&format!(".{output}.part-")), "{left:?}");
        let temp = fx.path().join(&left[0]);
        let pages = if output.ends_with(".pdf") {
            pdf_pages_in(&temp)
        } else {
            tiff_pages_in(&temp)
        };
        assert_eq!(pages, done as usize, "{output} killed after page {done}");
        assert!(!fx.path().join(output).exists(), "not under its final name");
    }
}

#[test]
fn a_scan_names_leftovers_and_recover_keeps_them_cut_back() {
    let fx = Fixture::new();
    frozen_scan(&fx, "doc.pdf", 3).kill();
    frozen_scan(&fx, "book.tiff", 4).kill();
    // A page file killed half way: nothing complete in it.
    frozen_scan(&fx, "p-{n}.png", 2).kill();
    assert_eq!(
        temporaries(fx.path()).len(),
        3,
        "{:?}",
        files_below(fx.path())
    );
    fs::write(fx.path().join("doc-recovered.pdf"), b"an earlier recovery").expect("write");

    // A scan into the folder names them and touches nothing.
    let device = fx.sim("");
    let run = fx.run(&["scan", "--device", &device, "--dpi", "75", "-o", "flat.png"]);
    run.expect(0);
    assert_trace_checked(&run.stderr);
    for needle in [
        "unfinished scan doc.pdf (2 complete pages): run `streamscan recover .` to keep it as doc-recovered-2.pdf, or `--discard` to remove it",
        "unfinished scan book.tiff (3 complete pages): run `streamscan recover .` to keep it as book-recovered.tiff",
        "unfinished scan p-2.png (0 complete pages)",
    ] {
        assert!(run.stderr.contains(needle), "{needle} in {}", run.stderr);
    }
    assert_eq!(temporaries(fx.path()).len(), 3);

    // Recover keeps the documents, each cut back to its last page.
    let run = fx.run(&["recover", "."]);
    run.expect(1);
    assert!(
        run.stdout.contains("-> ./doc-recovered-2.pdf (2 pages)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("-> ./book-recovered.tiff (3 pages)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("FAILED") && run.stdout.contains("no complete page"),
        "{}",
        run.stdout
    );
    assert_eq!(pdf_pages_in(&fx.path().join("doc-recovered-2.pdf")), 2);
    assert_eq!(tiff_pages_in(&fx.path().join("book-recovered.tiff")), 3);
    let cut = fs::read(fx.path().join("doc-recovered-2.pdf")).expect("read");
    assert!(cut.ends_with(b"%%EOF\n"), "nothing after the last page");
    assert_eq!(
        fs::read(fx.path().join("doc-recovered.pdf")).expect("read"),
        b"an earlier recovery",
        "no file is replaced"
    );
    // The page with nothing complete stays until it is discarded.
    let left = temporaries(fx.path());
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with(".p-2.png.part-"), "{left:?}");
    let run = fx.run(&["recover", ".", "--discard"]);
    run.expect(0);
    assert!(
        run.stdout.contains("removed .p-2.png.part-"),
        "{}",
        run.stdout
    );
    assert!(temporaries(fx.path()).is_empty());
    let run = fx.run(&["recover", "."]);
    run.expect(0);
    assert!(run.stderr.contains("no unfinished scans"), "{}", run.stderr);
}

#[test]
fn recover_discard_removes_leftovers_and_leaves_a_running_scan_alone() {
    let fx = Fixture::new();
    frozen_scan(&fx, "old.pdf", 2).kill();
    let old = temporaries(fx.path());
    assert_eq!(old.len(), 1);
    // A scan that is still running holds its temporary file's lock.
    let running = frozen_scan(&fx, "new.pdf", 3);
    let all = temporaries(fx.path());
    assert_eq!(all.len(), 2, "{all:?}");
    let live = all
        .iter()
        .find(|n| n.starts_with(".new.pdf"))
        .expect("live temp");

    // A scan does not name it as unfinished.
    let device = fx.sim("");
    let run = fx.run(&["scan", "--device", &device, "--dpi", "75", "-o", "f.png"]);
    run.expect(0);
    assert!(
        run.stderr
            .contains("unfinished scan old.pdf (1 complete page)"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("unfinished scan new.pdf"),
        "{}",
        run.stderr
    );

    for args in [&["recover", "."][..], &["recover", "--discard", "."]] {
        let run = fx.run(args);
        run.expect(0);
        assert!(
            run.stdout
                .contains(&format!("in use  {live}: a running scan is writing it")),
            "{args:?}: {}",
            run.stdout
        );
    }
    // The first run kept the leftover, the second found nothing else.
    assert_eq!(pdf_pages_in(&fx.path().join("old-recovered.pdf")), 1);
    assert_eq!(temporaries(fx.path()), std::slice::from_ref(live));
    assert_eq!(
        pdf_pages_in(&fx.path().join(live)),
        2,
        "the running scan's document is untouched"
    );
    running.kill();

    // Once its scan is gone, it is a leftover like any other.
    let run = fx.run(&["recover", "--discard", "."]);
    run.expect(0);
    assert!(
        run.stdout
            .contains(&format!("removed {live} (2 pages complete)")),
        "{}",
        run.stdout
    );
    assert!(temporaries(fx.path()).is_empty());
}

#[test]
fn recover_with_wrong_arguments_exits_2_with_usage() {
    let fx = Fixture::new();
    fs::write(fx.path().join("a-file"), b"not a folder").expect("write");
    for args in [
        &["recover"][..],
        &["recover", ".", "other"],
        &["recover", ".", "--keep"],
        &["recover", "no-such-folder"],
        &["recover", "a-file", "--discard"],
    ] {
        let run = fx.run(args);
        run.expect(2);
        assert!(
            run.stderr.contains("Usage: streamscan recover"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(files_below(fx.path()), ["a-file"], "nothing written");
}

/// The small disk `.ci/run` mounts for the full-disk test: the folder in
/// `STREAMSCAN_SMALL_DISK`, which must be a tmpfs of its own. Fails (never
/// skips) with what to do when it is missing.
fn small_disk() -> PathBuf {
    const HOW: &str = "this test fills a small disk of its own. As root (./.ci/run does this): \
         mkdir -p /tmp/streamscan-small-disk && \
         mount -t tmpfs -o size=16m streamscan-small /tmp/streamscan-small-disk, \
         then run the tests with STREAMSCAN_SMALL_DISK=/tmp/streamscan-small-disk";
    let Some(path) = std::env::var_os("STREAMSCAN_SMALL_DISK") else {
        panic!("STREAMSCAN_SMALL_DISK is not set: {HOW}");
    };
    let path = fs::canonicalize(&path)
        .unwrap_or_else(|e| panic!("STREAMSCAN_SMALL_DISK {path:?}: {e}; {HOW}"));
    let mounts = fs::read_to_string("/proc/self/mounts").expect("/proc/self/mounts");
    let tmpfs = mounts.lines().any(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        fields.len() > 2 && Path::new(fields[1]) == path && fields[2] == "tmpfs"
    });
    assert!(
        tmpfs,
        "{} is not a tmpfs mount point: {HOW}",
        path.display()
    );
    path
}

/// Fills `disk` with one file until `room` bytes are left (give or take a
/// block); returns it, to remove afterwards.
fn fill_leaving(disk: &Path, room: u64) -> PathBuf {
    let filler = disk.join("filler");
    let mut file = fs::File::create(&filler).expect("create the filler");
    let block = vec![0u8; 64 * 1024];
    loop {
        match file.write_all(&block) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling {}: {e}", disk.display()),
        }
    }
    // What a refused write kept in no buffer: the file is as long as the
    // disk allowed.
    let full = file.metadata().expect("filler size").len();
    assert!(full > room, "{} is too small for the test", disk.display());
    let keep = (full - room) / 4096 * 4096;
    file.set_len(keep).expect("make room");
    file.sync_all().expect("sync");
    filler
}

#[test]
fn a_full_disk_keeps_the_completed_pages_of_a_document() {
    let disk = small_disk();
    let fx = Fixture::new();
    let device = fx.sim("pages=5");
    for output in ["doc.pdf", "doc.tiff"] {
        // How long the document is after 2 and after 3 pages, on a disk
        // with room.
        let mut sizes = Vec::new();
        for pages in ["2", "3"] {
            let name = format!("{pages}-{output}");
            let run = fx.run(&[
                "scan", "--device", &device, "--source", "feeder", "--dpi", "75", "--pages", pages,
                "-o", &name,
            ]);
            run.expect(0);
            sizes.push(fs::metadata(fx.path().join(&name)).expect("size").len());
        }
        let (two, three) = (sizes[0], sizes[1]);
        assert!(three - two > 8 * 4096, "pages large enough to tell apart");
        // Room for two pages and half of the third.
        let folder = disk.join(format!("full-disk-{}", std::process::id()));
        fs::create_dir(&folder).expect("a folder on the small disk");
        let filler = fill_leaving(&disk, two + (three - two) / 2);

        let run = run_cli(
            &folder,
            &[
                "scan", "--device", &device, "--source", "feeder", "--dpi", "75", "-o", output,
                "--events", "json",
            ],
        );
        fs::remove_file(&filler).expect("remove the filler");
        run.expect(3);
        assert_trace_checked(&run.stderr);
        for needle in [
            "DESTINATION",
            "on page 3",
            "No space left on device",
            &format!("2 completed pages kept, saved to {output}"),
        ] {
            assert!(
                run.stderr.contains(needle),
                "{output}: {needle} in {}",
                run.stderr
            );
        }
        let pages: Vec<(u64, String)> = run
            .events("page")
            .iter()
            .map(|e| {
                (
                    e["page"].as_u64().unwrap_or(0),
                    e["state"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        assert_eq!(
            pages,
            [
                (1, "done".into()),
                (2, "done".into()),
                (3, "abandoned".into())
            ],
            "{output}"
        );
        let job = run.events("job");
        assert_eq!(job.len(), 1);
        assert_eq!(job[0]["outcome"], "Error");
        assert_eq!(job[0]["error"], "DESTINATION");
        assert_eq!(
            job[0]["pages"], 2,
            "{output}: the job result says what was kept"
        );
        // The document, cut back to its last complete page: as long as the
        // two-page one, and valid.
        let path = folder.join(output);
        assert_eq!(fs::metadata(&path).expect("kept").len(), two, "{output}");
        let count = if output.ends_with(".pdf") {
            pdf_pages_in(&path)
        } else {
            tiff_pages_in(&path)
        };
        assert_eq!(count, 2, "{output}");
        assert_eq!(files_below(&folder), [output], "no temporary file left");
        fs::remove_dir_all(&folder).expect("clean the small disk");
    }
}

// ---------------------------------------------------------------- storage

#[test]
fn uploaded_files_are_listed_and_come_back_identical() {
    let fx = Fixture::new();
    let device = fx.sim("");
    let photo: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(fx.path().join("photo.png"), &photo).expect("write");
    fs::write(fx.path().join("notes.txt"), b"scan the receipts").expect("write");
    let run = fx.run(&["upload", "photo.png", "notes.txt", "--device", &device]);
    run.expect(0);
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("ok")).count(),
        2,
        "{}",
        run.stdout
    );

    let listing = fx.run(&["ls", "--device", &device]);
    listing.expect(0);
    for needle in [
        "Root/",
        "Flatbed",
        "Feeder",
        "Storage/",
        "photo.png",
        "notes.txt",
        "5000",
    ] {
        assert!(
            listing.stdout.contains(needle),
            "{needle} in {}",
            listing.stdout
        );
    }
    let folder = fx.run(&["ls", "--device", &device, "Storage"]);
    folder.expect(0);
    assert!(!folder.stdout.contains("Flatbed"), "{}", folder.stdout);
    assert!(folder.stdout.contains("photo.png"), "{}", folder.stdout);

    fx.run(&[
        "get",
        "--device",
        &device,
        "Storage/photo.png",
        "-o",
        "back.png",
    ])
    .expect(0);
    assert_eq!(fs::read(fx.path().join("back.png")).expect("read"), photo);
    fx.run(&[
        "get",
        "--device",
        &device,
        "Storage/notes.txt",
        "-o",
        "back.png",
    ])
    .expect(3);
    assert_eq!(fs::read(fx.path().join("back.png")).expect("read"), photo);
    fx.run(&[
        "get",
        "--device",
        &device,
        "Storage/notes.txt",
        "-o",
        "back.png",
        "--overwrite",
    ])
    .expect(0);
    assert_eq!(
        fs::read(fx.path().join("back.png")).expect("read"),
        b"scan the receipts"
    );
    assert_no_temporaries(fx.path());
}

#[test]
fn failed_uploads_are_reported_per_file_and_exit_1() {
    let fx = Fixture::new();
    let device = fx.sim("capacity=1000");
    fs::write(fx.path().join("empty.bin"), b"").expect("write");
    fs::write(fx.path().join("big.bin"), vec![7u8; 4000]).expect("write");
    fs::write(fx.path().join("small.txt"), b"fits").expect("write");
    let run = fx.run(&[
        "upload",
        "empty.bin",
        "big.bin",
        "small.txt",
        "--device",
        &device,
        "--to",
        "Storage",
    ]);
    run.expect(1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[0].starts_with("FAILED") && lines[0].contains("empty.bin"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("FAILED") && lines[1].contains("big.bin"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("ok") && lines[2].contains("small.txt"),
        "{}",
        lines[2]
    );
    assert!(run.stderr.contains("2 of 3"), "{}", run.stderr);
    let stored = files_below(&fx.storage());
    assert_eq!(stored, ["small.txt"]);
}

#[test]
fn missing_items_and_non_files_are_errors() {
    let fx = Fixture::new();
    let device = fx.sim("");
    fx.run(&["ls", "--device", &device, "Nowhere"]).expect(1);
    fx.run(&[
        "get",
        "--device",
        &device,
        "Storage/none.png",
        "-o",
        "x.png",
    ])
    .expect(1);
    let run = fx.run(&["get", "--device", &device, "Feeder", "-o", "x.png"]);
    run.expect(1);
    assert!(run.stderr.contains("not a stored file"), "{}", run.stderr);
    fx.run(&["ls", "--device", "sim:nonsense"]).expect(2);
    assert!(!fx.path().join("x.png").exists());
}

#[test]
fn regions_saves_each_photo_on_the_flatbed_as_its_own_file() {
    let fx = Fixture::new();
    let device = fx.sim("photos=2");
    let run = fx.run(&[
        "scan",
        "--device",
        &device,
        "--regions",
        "--dpi",
        "100",
        "-o",
        "photo-{n}.png",
    ]);
    run.expect(0);
    for name in ["photo-1.png", "photo-2.png"] {
        let bytes = std::fs::read(fx.path().join(name)).expect("one file per photo");
        let image = image::load_from_memory(&bytes).expect("decodable");
        // A print, not the whole flatbed (A4 at 100 dpi is 827 px wide).
        assert!(image.width() < 600, "{name} is {} px wide", image.width());
    }
    assert!(!fx.path().join("photo-3.png").exists());
    // Photos need a name with a page number, and the flatbed.
    fx.run(&["scan", "--device", &device, "--regions", "-o", "one.png"])
        .expect(2);
    fx.run(&[
        "scan",
        "--device",
        &device,
        "--regions",
        "--source",
        "feeder",
        "-o",
        "p-{n}.png",
    ])
    .expect(2);
}
