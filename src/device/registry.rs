//! The table of device back ends, and device ids.
//!
//! Every device is named by an id `KIND:REST` (or just `KIND`) used
//! everywhere: CLI, GUI, preferences, tests. `KIND` picks the back end by
//! its prefix; `REST` is handed to that back end verbatim, colons and all
//! (an eSCL URL or a SANE device name contains colons).
//!
//! A back end registers one [`Backend`] value: its prefix, how it checks an
//! id, how it opens a device, and how it finds devices. The engine, the CLI
//! and the GUI only ever go through a [`Registry`], so adding a back end is
//! its own folder under `src/device/` plus one line in
//! [`Registry::builtin`]. Tests build registries with their own entries
//! (a back end that blocks, one that fails) next to or instead of the
//! built-in ones.
//!
//! Discovery runs every back end on its own thread
//! ([`Registry::discover`]), so a back end that waits seconds on the
//! network does not hold back the others; results arrive as
//! [`DiscoveryEvent`]s as they are found.

use super::sim;
use crate::clock::CancelToken;
use crate::transfer::{DeviceInfo, Driver, DriverError};
use std::sync::Arc;
use std::thread;

/// One device back end, as the registry knows it.
///
/// Implementations are cheap values (no open connection); the driver
/// [`Backend::open`] returns owns the device.
pub trait Backend: Send + Sync {
    /// The id prefix: the `KIND` of `KIND:REST` (`sim`, `escl`, ...).
    fn prefix(&self) -> &str;

    /// Checks that `rest` (everything after `KIND:`, verbatim; empty for
    /// a bare `KIND`) names a device of this back end, without opening it.
    fn parse(&self, rest: &str) -> Result<(), String>;

    /// Opens the device `id` (the whole id; `rest` is its part after
    /// `KIND:`).
    fn open(&self, id: &str, rest: &str) -> Result<Box<dyn Driver>, DriverError>;

    /// Finds the devices of this kind present now, calling `found` for
    /// each as soon as it is known, and returns when the search is over.
    /// It must return soon after `cancel` is set.
    fn discover(
        &self,
        found: &mut dyn FnMut(DeviceInfo),
        cancel: &CancelToken,
    ) -> Result<(), DriverError>;

    /// True when the back end makes a device from its id alone, so the
    /// device is there without being found (every `sim:` id); false for
    /// devices that must be found (the default).
    fn available_by_id(&self, _rest: &str) -> bool {
        false
    }

    /// The device id for an address a person typed (for a network
    /// scanner, its URL or host), when this back end understands it;
    /// `None` when it does not (the default).
    fn id_for_address(&self, _address: &str) -> Option<String> {
        None
    }

    /// What to show for `id` when discovery did not find it (a device
    /// named on purpose, or remembered from an earlier session).
    fn describe(&self, id: &str) -> DeviceInfo {
        DeviceInfo {
            id: id.to_string(),
            name: id.to_string(),
            kind: self.prefix().to_string(),
        }
    }
}

/// Why an id could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceIdError {
    /// The kind before `:` is not a registered back end.
    #[error("unknown device kind `{kind}` (known: {known})")]
    UnknownKind {
        /// The kind as given.
        kind: String,
        /// The registered prefixes, comma separated.
        known: String,
    },
    /// The part after `:` is not valid for the kind.
    #[error("device id `{id}`: {reason}")]
    Invalid {
        /// The id as given.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

/// Why a device could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DeviceOpenError {
    /// The id is not valid.
    #[error(transparent)]
    Id(#[from] DeviceIdError),
    /// The device refused or is unreachable.
    #[error(transparent)]
    Driver(#[from] DriverError),
}

/// What discovery reports, back end by back end.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscoveryEvent {
    /// A back end found a device.
    Found {
        /// The back end's prefix.
        backend: String,
        /// The device.
        device: DeviceInfo,
    },
    /// A back end finished its search (`error`: why it failed).
    Finished {
        /// The back end's prefix.
        backend: String,
        /// Why the search failed, when it did.
        error: Option<String>,
    },
}

/// The back ends a program knows, in the order they are listed.
#[derive(Clone, Default)]
pub struct Registry {
    backends: Vec<Arc<dyn Backend>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.backends.iter().map(|b| b.prefix().to_string()))
            .finish()
    }
}

impl Registry {
    /// The back ends built into Streamscan. The virtual scanner is first.
    pub fn builtin() -> Registry {
        Registry::default().with(Arc::new(sim::SimBackend))
    }

    /// This registry with `backend` added at the end (a back end with the
    /// same prefix is replaced in place).
    pub fn with(mut self, backend: Arc<dyn Backend>) -> Registry {
        match self
            .backends
            .iter()
            .position(|b| b.prefix() == backend.prefix())
        {
            Some(i) => self.backends[i] = backend,
            None => self.backends.push(backend),
        }
        self
    }

    /// The registered prefixes, in order.
    pub fn prefixes(&self) -> Vec<String> {
        self.backends
            .iter()
            .map(|b| b.prefix().to_string())
            .collect()
    }

    /// The back end `id` belongs to and the `REST` of the id, checked.
    pub fn parse<'i>(&self, id: &'i str) -> Result<(&Arc<dyn Backend>, &'i str), DeviceIdError> {
        let (kind, rest) = id.split_once(':').unwrap_or((id, ""));
        let Some(backend) = self.backends.iter().find(|b| b.prefix() == kind) else {
            return Err(DeviceIdError::UnknownKind {
                kind: kind.to_string(),
                known: self.prefixes().join(", "),
            });
        };
        backend
            .parse(rest)
            .map_err(|reason| DeviceIdError::Invalid {
                id: id.to_string(),
                reason,
            })?;
        Ok((backend, rest))
    }

    /// Opens the device `id` names.
    pub fn open(&self, id: &str) -> Result<Box<dyn Driver>, DeviceOpenError> {
        let (backend, rest) = self.parse(id)?;
        Ok(backend.open(id, rest)?)
    }

    /// The device id for what a person typed to add a device by hand:
    /// an id any back end takes as it is, or else an address the first
    /// back end that understands it turns into an id (an eSCL scanner's
    /// `http://HOST:PORT/eSCL/`). The error says what was expected.
    pub fn id_for_address(&self, text: &str) -> Result<String, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(String::from("type a device address or id"));
        }
        let as_id = self.parse(text).map(|_| text.to_string());
        if let Ok(id) = as_id {
            return Ok(id);
        }
        if let Some(id) = self
            .backends
            .iter()
            .find_map(|backend| backend.id_for_address(text))
        {
            return Ok(id);
        }
        Err(match as_id {
            Err(e @ DeviceIdError::Invalid { .. }) => e.to_string(),
            _ => format!(
                "`{text}` is neither a device id (kinds: {}) nor an address of a \
                 device (a network scanner's address looks like http://HOST:PORT/eSCL/)",
                self.prefixes().join(", ")
            ),
        })
    }

    /// What to show for `id` before (or without) discovery finding it;
    /// `None` when no back end takes the id.
    pub fn describe(&self, id: &str) -> Option<DeviceInfo> {
        self.parse(id).ok().map(|(backend, _)| backend.describe(id))
    }

    /// True when `id`'s back end makes the device from the id alone (see
    /// [`Backend::available_by_id`]).
    pub fn available_by_id(&self, id: &str) -> bool {
        self.parse(id)
            .is_ok_and(|(backend, rest)| backend.available_by_id(rest))
    }

    /// Starts every back end's search on its own thread and returns at
    /// once. Each found device and each back end's end is passed to
    /// `report`, from the back end's thread, as it happens; every back end
    /// reports [`DiscoveryEvent::Finished`] exactly once (also when its
    /// thread could not start, or it panicked). Setting `cancel` asks the
    /// searches to stop.
    pub fn discover(
        &self,
        cancel: &CancelToken,
        report: Arc<dyn Fn(DiscoveryEvent) + Send + Sync>,
    ) {
        for backend in &self.backends {
            let backend = backend.clone();
            let cancel = cancel.clone();
            let thread_report = report.clone();
            let prefix = backend.prefix().to_string();
            let spawned = thread::Builder::new()
                .name(format!("streamscan-discover-{prefix}"))
                .spawn(move || {
                    let prefix = backend.prefix().to_string();
                    let mut found = |device: DeviceInfo| {
                        thread_report(DiscoveryEvent::Found {
                            backend: prefix.clone(),
                            device,
                        });
                    };
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        backend.discover(&mut found, &cancel)
                    }));
                    let error = match result {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(_) => Some(String::from("the search failed unexpectedly")),
                    };
                    thread_report(DiscoveryEvent::Finished {
                        backend: prefix,
                        error,
                    });
                });
            if let Err(e) = spawned {
                report(DiscoveryEvent::Finished {
                    backend: prefix,
                    error: Some(format!("cannot start the search: {e}")),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds_and_refuses_unknown_ones() {
        let registry = Registry::builtin();
        assert!(registry.parse("sim").is_ok());
        assert_eq!(
            registry
                .parse("sim:pages=2")
                .map(|(b, rest)| (b.prefix(), rest)),
            Ok(("sim", "pages=2"))
        );
        assert_eq!(
            registry.parse("scanjet:1").err(),
            Some(DeviceIdError::UnknownKind {
                kind: String::from("scanjet"),
                known: String::from("sim"),
            })
        );
        assert!(matches!(
            registry.parse("sim:bogus=1"),
            Err(DeviceIdError::Invalid { .. })
        ));
    }

    #[test]
    fn the_rest_of_an_id_reaches_the_back_end_verbatim() {
        struct Echo;
        impl Backend for Echo {
            fn prefix(&self) -> &str {
                "echo"
            }
            fn parse(&self, rest: &str) -> Result<(), String> {
                if rest == "http://10.0.0.2:8080/eSCL" {
                    Ok(())
                } else {
                    Err(format!("got {rest}"))
                }
            }
            fn open(&self, _: &str, rest: &str) -> Result<Box<dyn Driver>, DriverError> {
                Err(DriverError::Unsupported(rest.to_string()))
            }
            fn discover(
                &self,
                _: &mut dyn FnMut(DeviceInfo),
                _: &CancelToken,
            ) -> Result<(), DriverError> {
                Ok(())
            }
        }
        let registry = Registry::builtin().with(Arc::new(Echo));
        assert_eq!(registry.prefixes(), vec!["sim", "echo"]);
        let id = "echo:http://10.0.0.2:8080/eSCL";
        assert!(registry.parse(id).is_ok());
        match registry.open(id) {
            Err(DeviceOpenError::Driver(DriverError::Unsupported(rest))) => {
                assert_eq!(rest, "http://10.0.0.2:8080/eSCL");
            }
            other => panic!("unexpected {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn discovery_reports_each_back_end_once() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let registry = Registry::builtin();
        registry.discover(
            &CancelToken::new(),
            Arc::new(move |event| {
                let _gone = tx.send(event);
            }),
        );
        let mut events = Vec::new();
        while let Ok(event) = rx.recv_timeout(std::time::Duration::from_secs(30)) {
            let done = matches!(event, DiscoveryEvent::Finished { .. });
            events.push(event);
            if done {
                break;
            }
        }
        assert!(matches!(
            &events[..],
            [DiscoveryEvent::Found { backend, device }, DiscoveryEvent::Finished { error: None, .. }]
                if backend == "sim" && device.id == "sim"
        ));
    }

    #[test]
    fn a_typed_address_becomes_an_id_through_the_back_end_that_knows_it() {
        struct Net;
        impl Backend for Net {
            fn prefix(&self) -> &str {
                "net"
            }
            fn parse(&self, rest: &str) -> Result<(), String> {
                rest.starts_with("http://")
                    .then_some(())
                    .ok_or_else(|| String::from("not a URL"))
            }
            fn open(&self, _: &str, rest: &str) -> Result<Box<dyn Driver>, DriverError> {
                Err(DriverError::Unsupported(rest.to_string()))
            }
            fn discover(
                &self,
                _: &mut dyn FnMut(DeviceInfo),
                _: &CancelToken,
            ) -> Result<(), DriverError> {
                Ok(())
            }
            fn id_for_address(&self, address: &str) -> Option<String> {
                address
                    .starts_with("http://")
                    .then(|| format!("net:{address}"))
            }
        }
        let registry = Registry::builtin().with(Arc::new(Net));
        // An id is taken as it is, an address through its back end.
        assert_eq!(
            registry.id_for_address(" sim:pages=2 "),
            Ok(String::from("sim:pages=2"))
        );
        assert_eq!(
            registry.id_for_address("http://10.0.0.9/eSCL/"),
            Ok(String::from("net:http://10.0.0.9/eSCL/"))
        );
        // A wrong id of a known kind says what is wrong with it.
        let invalid = registry
            .id_for_address("sim:bogus=1")
            .expect_err("a bad option is refused");
        assert!(invalid.contains("sim:bogus=1"), "{invalid}");
        let unknown = registry
            .id_for_address("printer-upstairs")
            .expect_err("no back end knows a bare word");
        assert!(unknown.contains("sim, net"), "{unknown}");
        assert!(registry.id_for_address("  ").is_err());
    }
}
