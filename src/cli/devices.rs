//! `streamscan devices [--json] [--timeout 5s]`: the devices every back end
//! of the registry finds, as a table or as a JSON array of
//! `{"id","name","kind"}`. Every back end searches at once; the command
//! waits until all are done or the timeout passes, then prints what was
//! found and names on stderr the back ends still searching or failed. It
//! opens no device.

use super::Exit;
use super::args::DevicesArgs;
use crate::clock::CancelToken;
use crate::device::{DiscoveryEvent, Registry};
use crate::transfer::DeviceInfo;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `devices`.
pub fn run(args: &DevicesArgs) -> Exit {
    let search = search(&Registry::builtin(), args.timeout);
    for (backend, error) in &search.failed {
        eprintln!("warning: the {backend} search failed: {error}");
    }
    if !search.slow.is_empty() {
        eprintln!(
            "warning: still searching after {:.1} s, not listed: {}",
            args.timeout.as_secs_f64(),
            search.slow.join(", ")
        );
    }
    let devices = search.devices;
    if args.json {
        match serde_json::to_string_pretty(&devices) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: cannot write the device list as JSON: {e}");
                return Exit::Failure;
            }
        }
    } else {
        print!("{}", table(&devices));
        println!();
        println!(
            "The virtual scanner takes options: sim:pages=10,speed=max,fault=jam@2 (see README)."
        );
    }
    Exit::Success
}

/// What a search found within its time.
#[derive(Debug, Default, PartialEq)]
pub struct Search {
    /// Devices found, in the order they were found.
    pub devices: Vec<DeviceInfo>,
    /// Back ends still searching when the time was up.
    pub slow: Vec<String>,
    /// Back ends whose search failed, with why.
    pub failed: Vec<(String, String)>,
}

/// Runs every back end's search of `registry`, for at most `timeout`.
pub fn search(registry: &Registry, timeout: Duration) -> Search {
    let (tx, rx) = crossbeam_channel::unbounded();
    let cancel = CancelToken::new();
    registry.discover(
        &cancel,
        Arc::new(move |event| {
            let _late = tx.send(event);
        }),
    );
    let mut pending = registry.prefixes();
    let mut found = Search::default();
    let deadline = Instant::now() + timeout;
    while !pending.is_empty() {
        let Ok(event) = rx.recv_deadline(deadline) else {
            break;
        };
        match event {
            DiscoveryEvent::Found { device, .. } => {
                if !found.devices.iter().any(|d| d.id == device.id) {
                    found.devices.push(device);
                }
            }
            DiscoveryEvent::Finished { backend, error } => {
                pending.retain(|p| *p != backend);
                if let Some(error) = error {
                    found.failed.push((backend, error));
                }
            }
        }
    }
    cancel.cancel();
    found.slow = pending;
    found
}

/// The device list as aligned columns with a header.
fn table(devices: &[DeviceInfo]) -> String {
    let rows: Vec<[String; 3]> = devices
        .iter()
        .map(|d| [d.id.clone(), d.kind.clone(), d.name.clone()])
        .collect();
    let id_width = rows.iter().map(|r| r[0].len()).max().unwrap_or(0).max(2);
    let kind_width = rows.iter().map(|r| r[1].len()).max().unwrap_or(0).max(4);
    let mut out = format!("{:id_width$}  {:kind_width$}  NAME\n", "ID", "KIND");
    for [id, kind, name] in rows {
        out.push_str(&format!("{id:id_width$}  {kind:kind_width$}  {name}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_columns() {
        let devices = [DeviceInfo {
            id: String::from("sim"),
            name: String::from("Streamscan Virtual Scanner"),
            kind: String::from("virtual"),
        }];
        assert_eq!(
            table(&devices),
            "ID   KIND     NAME\nsim  virtual  Streamscan Virtual Scanner\n"
        );
    }

    /// A back end whose search never ends by itself, and one that fails.
    struct Stuck(&'static str, bool);

    impl crate::device::Backend for Stuck {
        fn prefix(&self) -> &str {
            self.0
        }
        fn parse(&self, _rest: &str) -> Result<(), String> {
            Ok(())
        }
        fn open(
            &self,
            _id: &str,
            _rest: &str,
        ) -> Result<Box<dyn crate::transfer::Driver>, crate::transfer::DriverError> {
            Err(crate::transfer::DriverError::Unsupported(String::new()))
        }
        fn discover(
            &self,
            _found: &mut dyn FnMut(DeviceInfo),
            cancel: &CancelToken,
        ) -> Result<(), crate::transfer::DriverError> {
            if self.1 {
                return Err(crate::transfer::DriverError::Communication(String::from(
                    "no network",
                )));
            }
            cancel.wait();
            Ok(())
        }
    }

    #[test]
    fn slow_and_failed_back_ends_are_named_and_the_rest_listed() {
        let registry = Registry::builtin()
            .with(Arc::new(Stuck("stuck", false)))
            .with(Arc::new(Stuck("broken", true)));
        let found = search(&registry, Duration::from_millis(200));
        assert_eq!(
            found
                .devices
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>(),
            vec!["sim"]
        );
        assert_eq!(found.slow, vec![String::from("stuck")]);
        assert_eq!(
            found.failed,
            vec![(
                String::from("broken"),
                String::from("lost contact with the device: no network")
            )]
        );
    }
}
