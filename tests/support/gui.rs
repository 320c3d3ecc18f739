//! Driving the desktop app in egui_kittest: stepping frames until a
//! condition holds, with a cap as a hang guard, and a watchdog that fails
//! the test binary when one frame blocks (the window froze) instead of
//! letting the run hang.

use crossbeam_channel::{Sender, bounded};
use egui_kittest::Harness;
use std::time::Duration;
use streamscan::app::StreamscanApp;

/// Most frames a wait may take.
pub const FRAME_CAP: usize = 100_000;

/// Steps `harness` until `done` holds; panics naming `what` after
/// [`FRAME_CAP`] frames.
pub fn step_until(
    harness: &mut Harness<'_, StreamscanApp>,
    what: &str,
    done: impl Fn(&StreamscanApp) -> bool,
) {
    for _ in 0..FRAME_CAP {
        if done(harness.state()) {
            return;
        }
        harness.step();
        std::thread::yield_now();
    }
    panic!("gave up waiting for {what}");
}

/// Aborts the test binary when a frame does not end within its limit.
pub struct Watchdog {
    beat: Sender<()>,
}

impl Watchdog {
    /// Starts watching; every frame must end within `limit`.
    pub fn start(limit: Duration) -> Watchdog {
        let (beat, beats) = bounded::<()>(1);
        std::thread::spawn(move || {
            loop {
                match beats.recv_timeout(limit) {
                    Ok(()) => {}
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                        eprintln!("a UI frame blocked for {limit:?}: the window froze");
                        std::process::abort();
                    }
                }
            }
        });
        Watchdog { beat }
    }

    /// One frame, watched.
    pub fn step(&self, harness: &mut Harness<'_, StreamscanApp>) {
        harness.step();
        let _ = self.beat.try_send(());
    }

    /// Watched frames until `done` holds (see [`step_until`]).
    pub fn until(
        &self,
        harness: &mut Harness<'_, StreamscanApp>,
        what: &str,
        done: impl Fn(&StreamscanApp) -> bool,
    ) {
        for _ in 0..FRAME_CAP {
            if done(harness.state()) {
                return;
            }
            self.step(harness);
            std::thread::yield_now();
        }
        panic!("gave up waiting for {what}");
    }
}
