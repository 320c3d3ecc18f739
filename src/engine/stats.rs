//! Per-device statistics the engine keeps, so that tests (and the UI) can
//! prove what device I/O happened: acquisitions started and bytes read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Counters of one device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Acquisitions started (each `Driver::acquire` call).
    pub acquisitions: u64,
    /// Bytes of page data read from the device (rows and encoded bytes).
    pub bytes_read: u64,
    /// Uploads started.
    pub uploads: u64,
}

/// Shared, queryable statistics of every device the engine used.
#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    inner: Arc<Mutex<HashMap<String, DeviceStats>>>,
}

impl EngineStats {
    /// The counters of `device` (zero if it was never used).
    pub fn device(&self, device: &str) -> DeviceStats {
        self.lock().get(device).copied().unwrap_or_default()
    }

    /// The sum over all devices.
    pub fn total(&self) -> DeviceStats {
        self.lock()
            .values()
            .fold(DeviceStats::default(), |acc, s| DeviceStats {
                acquisitions: acc.acquisitions + s.acquisitions,
                bytes_read: acc.bytes_read + s.bytes_read,
                uploads: acc.uploads + s.uploads,
            })
    }

    pub(crate) fn update(&self, device: &str, change: impl FnOnce(&mut DeviceStats)) {
        change(self.lock().entry(device.to_string()).or_default());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, DeviceStats>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
