//! The devices tests scan from: the virtual scanner (opened directly, or
//! named by a device id for the engine, the app and the command line) and
//! a scripted driver that plays pages given by the test, as raw bands or
//! as encoded bodies that a [`BodyGate`] can hold part-way. Legacy
//! (SANE-style) band drivers are scripted in `tests/legacy_adapters.rs`,
//! the only place that drives one.

use super::jobs::HANG_TIMEOUT;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;
use streamscan::clock::CancelToken;
use streamscan::device::sim::{SimDriver, SimOptions};
use streamscan::output::FileFormat;
use streamscan::raster::{Page, PageHeader};
use streamscan::transfer::{
    AcquireEnd, AcquireRequest, AcquireSink, Capabilities, Choice, ColorMode, DeviceInfo, Driver,
    DriverError, Interrupted, Item, ItemFlags, PageData, PageGo, PageSize, PageStart, Side, Source,
};

/// Opens a virtual scanner from a `sim:` id with a private storage folder.
pub fn sim(rest: &str, storage: &Path) -> SimDriver {
    let mut options = SimOptions::parse(rest).expect("valid sim options");
    if options.storage.is_none() {
        options.storage = Some(storage.to_path_buf());
    }
    SimDriver::open(&format!("sim:{rest}"), options).expect("open sim")
}

/// A virtual-scanner id with warm-up off, a private storage folder and the
/// given extra options (`pages=4,fault=jam@2`...; a later option wins, so
/// `warmup=2` turns the warm-up on again).
pub fn sim_id(options: &str, storage: &Path) -> String {
    let storage = storage
        .display()
        .to_string()
        .replace('%', "%25")
        .replace(',', "%2C")
        .replace('=', "%3D");
    let mut id = format!("sim:warmup=0,storage={storage}");
    if !options.is_empty() {
        id.push(',');
        id.push_str(options);
    }
    id
}

/// The side a page has in transfer order (duplex: front, back, ...).
pub fn side_of(number: u32, duplex: bool) -> Side {
    if duplex && number.is_multiple_of(2) {
        Side::Back
    } else {
        Side::Front
    }
}

/// The item tree of a flatbed-only device.
pub fn flatbed_items() -> Item {
    let mut root = Item::new("", "Root", ItemFlags::ROOT | ItemFlags::FOLDER);
    root.children.push(Item::new(
        "Root",
        "Flatbed",
        ItemFlags::IMAGE | ItemFlags::TRANSFER,
    ));
    root
}

/// What a flatbed-only A4 device can do.
pub fn flatbed_capabilities() -> Capabilities {
    Capabilities::uniform(
        &[Source::Flatbed],
        Choice::Range {
            min: 75,
            max: 300,
            step: 1,
        },
        vec![ColorMode::Color, ColorMode::Gray],
        vec![PageSize::A4],
        (216.0, 297.0),
        false,
    )
}

/// One page of a [`ScriptedDriver`]'s script.
pub enum ScriptedPage {
    /// Raw rows in bands of `rows` rows, with a progress report after every
    /// band; `known_height` false announces the page without its height
    /// (automatic length detection).
    Raw {
        page: Page,
        rows: u32,
        known_height: bool,
    },
    /// An encoded file (like an eSCL JPEG) of known size, sent in chunks of
    /// `chunk` bytes with an unknown-percent progress report after each;
    /// `gate` holds the body part-way.
    Encoded {
        body: Vec<u8>,
        format: FileFormat,
        chunk: usize,
        gate: Option<BodyGate>,
    },
}

/// A flatbed device that sends the pages of its script, in order, on every
/// acquisition; Skip moves on to the next page, Cancel stops.
pub struct ScriptedDriver {
    pub info: DeviceInfo,
    pub pages: Vec<ScriptedPage>,
}

impl ScriptedDriver {
    /// A device sending `page` in bands of `rows` rows.
    pub fn raw(page: Page, rows: u32, known_height: bool) -> ScriptedDriver {
        ScriptedDriver {
            info: DeviceInfo {
                id: "test:bands".into(),
                name: "Band device".into(),
                kind: String::from("virtual"),
            },
            pages: vec![ScriptedPage::Raw {
                page,
                rows,
                known_height,
            }],
        }
    }

    /// A device sending `body` as one encoded page in chunks of `chunk`.
    pub fn encoded(body: Vec<u8>, format: FileFormat, chunk: usize) -> ScriptedDriver {
        ScriptedDriver {
            info: DeviceInfo {
                id: "test:encoded".into(),
                name: "Encoded device".into(),
                kind: String::from("network"),
            },
            pages: vec![ScriptedPage::Encoded {
                body,
                format,
                chunk,
                gate: None,
            }],
        }
    }

    /// Holds every encoded body of the script at `gate`.
    pub fn gated(mut self, gate: &BodyGate) -> ScriptedDriver {
        for page in &mut self.pages {
            if let ScriptedPage::Encoded { gate: slot, .. } = page {
                *slot = Some(gate.clone());
            }
        }
        self
    }
}

impl Driver for ScriptedDriver {
    fn info(&self) -> DeviceInfo {
        self.info.clone()
    }
    fn items(&self) -> Result<Item, DriverError> {
        Ok(flatbed_items())
    }
    fn capabilities(&self) -> Result<Capabilities, DriverError> {
        Ok(flatbed_capabilities())
    }
    fn acquire(
        &mut self,
        request: &AcquireRequest,
        sink: &mut dyn AcquireSink,
    ) -> Result<AcquireEnd, DriverError> {
        for page in &self.pages {
            let start = PageStart {
                item: request.item.clone(),
                side: Side::Front,
            };
            match sink.begin_page(start) {
                PageGo::Continue => {}
                PageGo::Skip => continue,
                PageGo::Cancel => return Ok(AcquireEnd::Cancelled),
            }
            match page {
                ScriptedPage::Raw {
                    page,
                    rows,
                    known_height,
                } => send_raw(sink, page, *rows, *known_height)?,
                ScriptedPage::Encoded {
                    body,
                    format,
                    chunk,
                    gate,
                } => send_encoded(sink, body, *format, *chunk, gate.as_ref())?,
            }
            sink.end_page()?;
        }
        Ok(AcquireEnd::Done)
    }
}

fn send_raw(
    sink: &mut dyn AcquireSink,
    page: &Page,
    rows: u32,
    known_height: bool,
) -> Result<(), DriverError> {
    let header = PageHeader {
        height: known_height.then(|| page.height()),
        ..page.header
    };
    sink.start_data(PageData::Raw(header))?;
    let height = page.height();
    for band in page.bands(rows) {
        sink.band(&band)?;
        let done = band.first_row + band.rows;
        sink.progress((u64::from(done) * 100 / u64::from(height)) as i32)?;
    }
    Ok(())
}

fn send_encoded(
    sink: &mut dyn AcquireSink,
    body: &[u8],
    format: FileFormat,
    chunk: usize,
    gate: Option<&BodyGate>,
) -> Result<(), DriverError> {
    sink.start_data(PageData::Encoded {
        format,
        size: Some(body.len() as u64),
        header: None,
    })?;
    // Where the gate holds the body; None once passed (or without a gate).
    let mut hold_at = gate.map(|g| g.after().min(body.len()));
    let mut pos = 0;
    loop {
        if let (Some(at), Some(gate)) = (hold_at, gate)
            && pos == at
        {
            gate.hold(&sink.cancel_token())?;
            hold_at = None;
        }
        if pos == body.len() {
            return Ok(());
        }
        // Chunks end at the gate, so that exactly its bytes came before it.
        let end = (pos + chunk)
            .min(body.len())
            .min(hold_at.unwrap_or(usize::MAX));
        sink.encoded(&body[pos..end])?;
        sink.progress(-1)?;
        pos = end;
    }
}

/// Holds a scripted encoded body after its first `after` bytes until the
/// test opens the gate or the job is cancelled, so the test can look at
/// what a page's partial body has done so far. A gate never opened fails
/// the test after [`HANG_TIMEOUT`] (a hang detector, not a pace).
#[derive(Clone)]
pub struct BodyGate(Arc<GateInner>);

struct GateInner {
    after: usize,
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    /// The driver reached the gate.
    reached: bool,
    /// The test let the body go on.
    open: bool,
}

impl BodyGate {
    /// A closed gate after `after` bytes of the body.
    pub fn after_bytes(after: usize) -> BodyGate {
        BodyGate(Arc::new(GateInner {
            after,
            state: Mutex::new(GateState::default()),
            changed: Condvar::new(),
        }))
    }

    /// The bytes sent before the gate.
    pub fn after(&self) -> usize {
        self.0.after
    }

    fn state(&self) -> MutexGuard<'_, GateState> {
        self.0.state.lock().expect("body gate lock")
    }

    /// Blocks the test until the driver waits at the gate (or has passed
    /// it); fails after [`HANG_TIMEOUT`].
    pub fn wait_until_reached(&self) {
        self.wait(self.state(), "the body never reached the gate", |state| {
            state.reached.then_some(())
        });
    }

    /// True once the driver has reached the gate.
    pub fn is_reached(&self) -> bool {
        self.state().reached
    }

    /// Lets the body go on.
    pub fn open(&self) {
        self.state().open = true;
        self.0.changed.notify_all();
    }

    /// Called by the driver at the gate: waits until the test opens it or
    /// `cancel` fires (then the acquisition ends cancelled).
    fn hold(&self, cancel: &CancelToken) -> Result<(), Interrupted> {
        // Registered before the lock is taken: a token that has already
        // fired runs the hook at once.
        let waker = self.clone();
        cancel.on_cancel(move || {
            let _state = waker.state();
            waker.0.changed.notify_all();
        });
        let mut state = self.state();
        state.reached = true;
        self.0.changed.notify_all();
        self.wait(state, "the test never opened the body gate", |state| {
            if state.open {
                Some(Ok(()))
            } else if cancel.is_cancelled() {
                Some(Err(Interrupted::Cancelled))
            } else {
                None
            }
        })
    }

    /// Waits for a change of the gate until `ended` gives a result; fails
    /// with `hang` after [`HANG_TIMEOUT`].
    fn wait<T>(
        &self,
        mut state: MutexGuard<'_, GateState>,
        hang: &str,
        mut ended: impl FnMut(&GateState) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + HANG_TIMEOUT;
        loop {
            if let Some(result) = ended(&state) {
                return result;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{hang} after {} bytes within {} s",
                self.0.after,
                HANG_TIMEOUT.as_secs()
            );
            state = self
                .0
                .changed
                .wait_timeout(state, left)
                .expect("body gate lock")
                .0;
        }
    }
}
