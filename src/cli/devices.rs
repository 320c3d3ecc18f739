//! `streamscan devices [--json]`: the devices present now, as a table or
//! as a JSON array of `{"id","name","kind"}`. It opens no device.

use super::Exit;
use super::args::DevicesArgs;
use crate::device;
use crate::transfer::DeviceInfo;

/// Runs `devices`.
pub fn run(args: &DevicesArgs) -> Exit {
    let devices = device::list();
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

/// The device list as aligned columns with a header.
fn table(devices: &[DeviceInfo]) -> String {
    let rows: Vec<[String; 3]> = devices
        .iter()
        .map(|d| {
            [
                d.id.clone(),
                format!("{:?}", d.kind).to_lowercase(),
                d.name.clone(),
            ]
        })
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
    use crate::transfer::DeviceKind;

    #[test]
    fn the_table_aligns_columns() {
        let devices = [DeviceInfo {
            id: String::from("sim"),
            name: String::from("Streamscan Virtual Scanner"),
            kind: DeviceKind::Virtual,
        }];
        assert_eq!(
            table(&devices),
            "ID   KIND     NAME\nsim  virtual  Streamscan Virtual Scanner\n"
        );
    }
}
