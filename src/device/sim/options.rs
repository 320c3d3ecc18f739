//! The virtual scanner's settings, parsed from the `REST` of a `sim:` device
//! id (`sim:pages=5,fault=jam@2,speed=max`).
//!
//! `format=raw|jpeg|png` chooses how pages travel: raw bands of rows (the
//! default) or, like an eSCL scanner, one encoded body per page (see
//! [`encode`](super::encode)).

use super::encode::BodyFormat;
use crate::transfer::PageSize;
use std::path::PathBuf;
use std::str::FromStr;

/// How fast the virtual scanner moves paper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Pages per minute at 300 dpi (slower in proportion at higher
    /// resolutions).
    PagesPerMinute(f64),
    /// No pacing at all (benchmarks).
    Max,
}

/// A fault the virtual scanner injects, once, at a page in transfer order
/// (1-based; in duplex each side counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Paper jams in the middle of page k (feeder only). Retry = the user
    /// cleared it and page k is scanned again.
    Jam(u32),
    /// Two sheets are fed at once at page k (feeder only).
    MultiFeed(u32),
    /// The cover opens in the middle of page k. Retry = it was closed.
    CoverOpen(u32),
    /// The feeder is empty when the job starts (feeder only). Retry = the
    /// user loaded paper.
    Empty,
    /// The cable is pulled in the middle of page k (an I/O error).
    Disconnect(u32),
    /// The device stops sending in the middle of page k.
    Hang(u32),
    /// The device stops in the middle of page k, right after the first
    /// STATUS of 50 % or more, and answers nothing, not even a cancel, for
    /// an hour (a USB transfer that never returns): only leaving the
    /// program ends the job sooner.
    Freeze(u32),
    /// The device is busy when the job starts. Retry = it became free.
    Busy,
}

impl Fault {
    /// The page the fault fires at (0 for faults at the start of a job).
    pub fn page(self) -> u32 {
        match self {
            Fault::Jam(k)
            | Fault::MultiFeed(k)
            | Fault::CoverOpen(k)
            | Fault::Disconnect(k)
            | Fault::Hang(k)
            | Fault::Freeze(k) => k,
            Fault::Empty | Fault::Busy => 0,
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(text: &str) -> Result<Fault, String> {
        let (name, page) = match text.split_once('@') {
            Some((name, page)) => {
                let k: u32 = page
                    .parse()
                    .map_err(|_| format!("fault {text}: page `{page}` is not a number"))?;
                if k == 0 {
                    return Err(format!("fault {text}: pages count from 1"));
                }
                (name, Some(k))
            }
            None => (text, None),
        };
        let needs_page = |make: fn(u32) -> Fault| {
            page.map(make)
                .ok_or_else(|| format!("fault {name} needs a page: {name}@K"))
        };
        let no_page = |fault: Fault| match page {
            None => Ok(fault),
            Some(_) => Err(format!("fault {name} takes no page")),
        };
        match name {
            "jam" => needs_page(Fault::Jam),
            "multifeed" => needs_page(Fault::MultiFeed),
            "coveropen" => needs_page(Fault::CoverOpen),
            "disconnect" => needs_page(Fault::Disconnect),
            "hang" => needs_page(Fault::Hang),
            "freeze" => needs_page(Fault::Freeze),
            "empty" => no_page(Fault::Empty),
            "busy" => no_page(Fault::Busy),
            other => Err(format!(
                "unknown fault `{other}` (jam@K, multifeed@K, coveropen@K, empty, disconnect@K, hang@K, freeze@K, busy)"
            )),
        }
    }
}

/// Everything a `sim:` id can set.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Sheets in the feeder (a fresh stack for every job).
    pub pages: u32,
    /// Paper size of the sheets (`auto`: the length is not announced).
    pub size: PageSize,
    /// Pace.
    pub speed: Speed,
    /// Skew of fed pages in degrees, positive = counter-clockwise.
    pub skew: f64,
    /// Pages (transfer order) that are blank sheets.
    pub blank: Vec<u32>,
    /// Back sides arrive rotated 180 degrees.
    pub backrot: bool,
    /// Scanner noise, 0..1.
    pub noise: f32,
    /// Photos lying on the flatbed (0: a document page).
    pub photos: u32,
    /// Faults to inject, each once.
    pub faults: Vec<Fault>,
    /// Warm-up time in seconds at the start of every job.
    pub warmup: f64,
    /// Directory backing the storage folder (None: the user's data dir).
    pub storage: Option<PathBuf>,
    /// Storage capacity in bytes (None: unlimited).
    pub capacity: Option<u64>,
    /// Seed of the page content.
    pub seed: u64,
    /// The encoding every scanned page is sent in (None: raw bands).
    pub format: Option<BodyFormat>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            pages: 5,
            size: PageSize::A4,
            speed: Speed::PagesPerMinute(25.0),
            skew: 0.0,
            blank: Vec::new(),
            backrot: false,
            noise: 0.0,
            photos: 0,
            faults: Vec::new(),
            warmup: 1.0,
            storage: None,
            capacity: None,
            seed: 1,
            format: None,
        }
    }
}

fn number<T: FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("sim option {key}: `{value}` is not a valid number"))
}

/// Decodes `%XX` escapes (used for `,` and `=` inside paths).
fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .ok_or_else(|| format!("bad escape in `{value}`"))?;
            let byte = u8::from_str_radix(hex, 16)
                .map_err(|_| format!("bad escape %{hex} in `{value}`"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{value}` is not valid UTF-8 after decoding"))
}

impl SimOptions {
    /// Parses the part after `sim:` (may be empty). Unknown keys and bad
    /// values are errors that say what is accepted.
    pub fn parse(rest: &str) -> Result<SimOptions, String> {
        let mut options = SimOptions::default();
        for pair in rest.split(',').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("sim option `{pair}` needs a value: key=value"))?;
            match key {
                "pages" => options.pages = number(key, value)?,
                "size" => {
                    options.size = PageSize::parse(value).ok_or_else(|| {
                        format!("sim option size: `{value}` is not a4, letter, legal or auto")
                    })?
                }
                "speed" => {
                    options.speed = if value == "max" {
                        Speed::Max
                    } else {
                        let ppm: f64 = number(key, value)?;
                        if !(ppm > 0.0 && ppm <= 10_000.0) {
                            return Err(format!(
                                "sim option speed: {value} must be between 0 and 10000 pages per minute, or max"
                            ));
                        }
                        Speed::PagesPerMinute(ppm)
                    }
                }
                "skew" => {
                    let skew: f64 = number(key, value)?;
                    if !(-45.0..=45.0).contains(&skew) {
                        return Err(format!(
                            "sim option skew: {value} is outside -45..45 degrees"
                        ));
                    }
                    options.skew = skew;
                }
                "blank" => {
                    options.blank = value
                        .split('+')
                        .map(|p| number::<u32>(key, p))
                        .collect::<Result<_, _>>()?
                }
                "backrot" => {
                    options.backrot = match value {
                        "1" | "true" | "yes" | "on" => true,
                        "0" | "false" | "no" | "off" => false,
                        _ => {
                            return Err(format!(
                                "sim option backrot: `{value}` is not true or false"
                            ));
                        }
                    }
                }
                "noise" => {
                    let noise: f32 = number(key, value)?;
                    if !(0.0..=1.0).contains(&noise) {
                        return Err(format!("sim option noise: {value} is outside 0..1"));
                    }
                    options.noise = noise;
                }
                "photos" => {
                    let photos: u32 = number(key, value)?;
                    if photos > 8 {
                        return Err(format!(
                            "sim option photos: at most 8 fit on the flatbed, not {photos}"
                        ));
                    }
                    options.photos = photos;
                }
                "fault" => {
                    for fault in value.split('+') {
                        options.faults.push(fault.parse()?);
                    }
                }
                "warmup" => {
                    let warmup: f64 = number(key, value)?;
                    if !(0.0..=600.0).contains(&warmup) {
                        return Err(format!(
                            "sim option warmup: {value} is outside 0..600 seconds"
                        ));
                    }
                    options.warmup = warmup;
                }
                "storage" => options.storage = Some(PathBuf::from(percent_decode(value)?)),
                "capacity" => options.capacity = Some(number(key, value)?),
                "seed" => options.seed = number(key, value)?,
                "format" => {
                    options.format = match value {
                        "raw" => None,
                        "jpeg" => Some(BodyFormat::Jpeg),
                        "png" => Some(BodyFormat::Png),
                        _ => {
                            return Err(format!(
                                "sim option format: `{value}` is not raw, jpeg or png"
                            ));
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "unknown sim option `{other}` (pages, size, speed, skew, blank, backrot, noise, photos, fault, warmup, storage, capacity, seed, format)"
                    ));
                }
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let o = SimOptions::parse(
            "pages=3,size=letter,speed=max,skew=-2.5,blank=2+5,backrot=1,noise=0.2,photos=3,fault=jam@2+busy,warmup=0,storage=/tmp/a%2Cb%3Dc,capacity=1000,seed=42",
        )
        .expect("valid");
        assert_eq!(o.pages, 3);
        assert_eq!(o.size, PageSize::Letter);
        assert_eq!(o.speed, Speed::Max);
        assert_eq!(o.skew, -2.5);
        assert_eq!(o.blank, vec![2, 5]);
        assert!(o.backrot);
        assert_eq!(o.photos, 3);
        assert_eq!(o.faults, vec![Fault::Jam(2), Fault::Busy]);
        assert_eq!(o.storage, Some(PathBuf::from("/tmp/a,b=c")));
        assert_eq!(o.capacity, Some(1000));
        assert_eq!(o.seed, 42);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        for bad in [
            "colour=red",
            "pages=x",
            "size=a3",
            "speed=0",
            "fault=jam",
            "fault=busy@2",
            "fault=jam@0",
            "fault=melt@1",
            "noise=2",
            "pages",
            "storage=%zz",
            "format=gif",
            "format=JPEG",
            "format=",
        ] {
            assert!(SimOptions::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn format_chooses_raw_bands_or_an_encoded_body() {
        let format = |rest: &str| SimOptions::parse(rest).expect(rest).format;
        assert_eq!(format(""), None);
        assert_eq!(format("format=raw"), None);
        assert_eq!(format("format=jpeg"), Some(BodyFormat::Jpeg));
        assert_eq!(
            format("pages=2,format=png,speed=max"),
            Some(BodyFormat::Png)
        );
        let error = SimOptions::parse("format=gif").expect_err("gif is refused");
        assert!(
            error.contains("gif") && error.contains("raw, jpeg or png"),
            "{error}"
        );
    }

    #[test]
    fn empty_rest_gives_defaults() {
        assert_eq!(SimOptions::parse("").expect("empty"), SimOptions::default());
    }
}
