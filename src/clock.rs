//! Time and cancellation, injectable so that tests run device pace, back-offs
//! and timeouts instantly and deterministically.
//!
//! [`Clock`] gives the current time and sleeps that wake at once when a
//! [`CancelToken`] fires. [`SystemClock`] is real time; [`VirtualClock`] jumps
//! to every deadline it is asked to sleep until, so a paced device "waits"
//! without any wall-clock delay while its timeline stays exact.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A source of time and of cancellable sleeps.
pub trait Clock: Send + Sync {
    /// Time elapsed since the clock's own origin.
    fn now(&self) -> Duration;

    /// Sleeps until `deadline` (on this clock's timeline) or until `cancel`
    /// fires, whichever comes first. Returns `false` when cancelled.
    fn sleep_until(&self, deadline: Duration, cancel: &CancelToken) -> bool;

    /// Sleeps for `duration`; see [`Clock::sleep_until`].
    fn sleep(&self, duration: Duration, cancel: &CancelToken) -> bool {
        let deadline = self.now().saturating_add(duration);
        self.sleep_until(deadline, cancel)
    }
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// Real time, measured from the moment the clock was made.
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }

    /// A shared system clock.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock::new())
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep_until(&self, deadline: Duration, cancel: &CancelToken) -> bool {
        loop {
            let now = self.now();
            if cancel.is_cancelled() {
                return false;
            }
            if now >= deadline {
                return true;
            }
            // Bounded waits keep a far-away deadline from overflowing Instant.
            let step = (deadline - now).min(Duration::from_secs(3600));
            cancel.wait_timeout(step);
        }
    }
}

/// Simulated time for tests: sleeping jumps the clock to the deadline at once.
///
/// The timeline is exact (a page that takes 2.4 s of device time moves the
/// clock by 2.4 s) but no wall-clock time passes. Several threads may share
/// it; the clock never goes backwards.
#[derive(Debug, Default)]
pub struct VirtualClock {
    nanos: AtomicU64,
}

impl VirtualClock {
    /// A virtual clock at time zero.
    pub fn new() -> VirtualClock {
        VirtualClock::default()
    }

    /// A shared virtual clock at time zero.
    pub fn shared() -> Arc<VirtualClock> {
        Arc::new(VirtualClock::new())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(saturating_nanos(by), Ordering::SeqCst);
    }
}

fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    fn sleep_until(&self, deadline: Duration, cancel: &CancelToken) -> bool {
        if cancel.is_cancelled() {
            return false;
        }
        if deadline == Duration::MAX {
            // Nothing would ever wake this sleeper but a cancel.
            cancel.wait();
            return false;
        }
        self.nanos
            .fetch_max(saturating_nanos(deadline), Ordering::SeqCst);
        !cancel.is_cancelled()
    }
}

type CancelHook = Box<dyn FnOnce() + Send>;

struct CancelInner {
    flag: AtomicBool,
    lock: Mutex<Vec<CancelHook>>,
    wake: Condvar,
}

/// A cancellation flag shared between the job, the device back end and
/// whoever may cancel (any thread).
///
/// Cancelling sets the flag, wakes every sleeper at once and runs the hooks
/// registered with [`CancelToken::on_cancel`] (e.g. an eSCL `DELETE` of the
/// job), exactly once.
#[derive(Clone)]
pub struct CancelToken {
    inner: Arc<CancelInner>,
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl CancelToken {
    /// A token that has not fired.
    pub fn new() -> CancelToken {
        CancelToken {
            inner: Arc::new(CancelInner {
                flag: AtomicBool::new(false),
                lock: Mutex::new(Vec::new()),
                wake: Condvar::new(),
            }),
        }
    }

    fn hooks(&self) -> MutexGuard<'_, Vec<CancelHook>> {
        self.inner
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Fires the token. Later calls do nothing.
    pub fn cancel(&self) {
        let hooks = {
            let mut guard = self.hooks();
            if self.inner.flag.swap(true, Ordering::SeqCst) {
                return;
            }
            std::mem::take(&mut *guard)
        };
        self.inner.wake.notify_all();
        for hook in hooks {
            hook();
        }
    }

    /// True once [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// Runs `hook` when the token fires (at once if it already has).
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) {
        {
            let mut guard = self.hooks();
            if !self.is_cancelled() {
                guard.push(Box::new(hook));
                return;
            }
        }
        hook();
    }

    /// Blocks until the token fires or `timeout` passes (real time).
    /// Returns true when cancelled.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let guard = self.hooks();
        if self.is_cancelled() {
            return true;
        }
        let _unused = self
            .inner
            .wake
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.is_cancelled()
    }

    /// Blocks until the token fires.
    pub fn wait(&self) {
        let mut guard = self.hooks();
        while !self.is_cancelled() {
            guard = self
                .inner
                .wake
                .wait(guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_sleep_jumps_to_the_deadline() {
        let clock = VirtualClock::new();
        let token = CancelToken::new();
        assert!(clock.sleep(Duration::from_secs(30), &token));
        assert_eq!(clock.now(), Duration::from_secs(30));
        // A deadline in the past does not move the clock back.
        assert!(clock.sleep_until(Duration::from_secs(1), &token));
        assert_eq!(clock.now(), Duration::from_secs(30));
    }

    #[test]
    fn cancel_wakes_a_real_sleeper_at_once() {
        let clock = SystemClock::new();
        let token = CancelToken::new();
        let other = token.clone();
        let sleeper = std::thread::spawn(move || clock.sleep(Duration::from_secs(3600), &other));
        token.cancel();
        assert!(!sleeper.join().expect("sleeper thread"));
    }

    #[test]
    fn hooks_run_once_and_late_hooks_run_at_once() {
        let token = CancelToken::new();
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        token.on_cancel(move || {
            c.fetch_add(1, Ordering::SeqCst);
        });
        token.cancel();
        token.cancel();
        assert_eq!(count.load(Ordering::SeqCst), 1);
        let c = count.clone();
        token.on_cancel(move || {
            c.fetch_add(10, Ordering::SeqCst);
        });
        assert_eq!(count.load(Ordering::SeqCst), 11);
    }
}
