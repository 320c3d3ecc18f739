//! The eSCL document layer against real devices' documents
//! (`../shared/escl-captures/`): every capture reads into what it says
//! (expected values written out by hand from the files, not snapshots of
//! the parser), every prefix of every capture fails cleanly, namespaces
//! are matched by URI whatever the prefixes, and the `ScanSettings` we
//! write read back and agree with real clients' requests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use streamscan::device::escl::xml::{
    AdfOption, AdfState, EsclColorMode, EsclScanSettings, InputCaps, InputSource, Intent, JobInfo,
    JobState, PWG_NS, Resolution, SCAN_NS, SCAN_NS_2011_02, ScanImageInfo, ScanRegion,
    ScannerCapabilities, ScannerState, THREE_HUNDREDTHS_OF_INCHES, ValueRange, XmlError, fuzz_one,
    parse_capabilities, parse_image_info, parse_scan_settings, parse_status,
};
use streamscan::stream::FileFormat;
use streamscan::transfer::{
    Capabilities, Choice, ColorMode, PageSize, ScanArea, ScanSettings, Source, SourceCapabilities,
};

// ---------------------------------------------------------------- harness

fn captures_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/escl-captures");
    assert!(
        dir.is_dir(),
        "the real eSCL captures are missing: expected the folder {} \
         (shared/ must lie beside the clone, as on developer machines and in CI)",
        dir.display()
    );
    dir
}

fn capture(name: &str) -> Vec<u8> {
    let path = captures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn capture_text(name: &str) -> String {
    String::from_utf8(capture(name)).expect("captures are UTF-8")
}

/// Every `.xml` capture, by name.
fn all_captures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(captures_dir())
        .expect("captures folder")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".xml"))
        .collect();
    names.sort();
    names
}

fn caps(name: &str) -> ScannerCapabilities {
    parse_capabilities(&capture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn square(dpis: &[u32]) -> Vec<Resolution> {
    dpis.iter().map(|&d| Resolution { x: d, y: d }).collect()
}

fn range(min: i32, max: i32, normal: i32, step: i32) -> Option<ValueRange> {
    Some(ValueRange {
        min,
        max,
        normal: Some(normal),
        step: Some(step),
    })
}

/// One source as the app should see it.
fn source(
    source: Source,
    dpis: &[u32],
    modes: &[ColorMode],
    sizes: &[PageSize],
    max_area_mm: (f64, f64),
    formats: &[FileFormat],
) -> SourceCapabilities {
    SourceCapabilities {
        source,
        resolutions: Choice::List(dpis.to_vec()),
        modes: modes.to_vec(),
        sizes: sizes.to_vec(),
        max_area_mm,
        formats: formats.to_vec(),
    }
}

/// All square discrete resolutions of an input source, merged.
fn dpis(input: &InputCaps) -> Vec<Resolution> {
    input
        .profiles
        .iter()
        .flat_map(|p| &p.resolutions)
        .flat_map(|r| r.discrete.clone())
        .collect()
}

fn input_area(input: &InputCaps) -> (u32, u32, u32, u32) {
    (
        input.min_width,
        input.max_width,
        input.min_height,
        input.max_height,
    )
}

use ColorMode::{Bw, Color, Gray};
use FileFormat::{Jpeg, Pdf, Tiff};
use PageSize::{A4, Auto, Legal, Letter};

const ESCL_GRAY: EsclColorMode = EsclColorMode::Grayscale8;
const ESCL_RGB: EsclColorMode = EsclColorMode::Rgb24;
const ESCL_BW: EsclColorMode = EsclColorMode::BlackAndWhite1;

fn auto_color() -> EsclColorMode {
    EsclColorMode::Other("scan:AutoColorDetection".into())
}

fn intents_dpptg() -> Vec<Intent> {
    vec![
        Intent::Document,
        Intent::Photo,
        Intent::Preview,
        Intent::TextAndGraphic,
    ]
}

/// Names of the captures the tests below check one by one.
const CHECKED: &[&str] = &[
    "caps-brother-ds-940dw.xml",
    "caps-brother-mfc-j497dw.xml",
    "caps-canon-i-sensys-mf642c-643c-644c.xml",
    "caps-canon-pixma-ts5300-series.xml",
    "caps-hp-laserjet-mfp-m28w.xml",
    "caps-hp-laserjet-mfp-m426fdn.xml",
    "caps-hp-pagewide-pro-477dw.xml",
    "caps-hp-scanjet-pro-4500-fn1.xml",
    "caps-hp-smart-tank-plus-570.xml",
    "caps-kyocera-ecosys-m2040dn.xml",
    "caps-xerox-b235.xml",
    "scanimageinfo-hp-pagewide-pro-477dw.xml",
    "scanimageinfo-hp-scanjet-pro-4500-fn1.xml",
    "scansettings-hp-client-to-scanjet-pro-4500-fn1.xml",
    "scansettings-hpsmart-win11-to-hp-pagewide-pro-477dw.xml",
    "status-hp-laserjet-mfp-m28w-idle-completed-and-aborted-jobs.xml",
    "status-hp-laserjet-mfp-m426fdn-idle-adfempty-2jobs.xml",
    "status-hp-pagewide-pro-477dw-idle-adfloaded.xml",
    "status-hp-scanjet-pro-4500-fn1-idle-adfloaded.xml",
    "status-hp-scanjet-pro-4500-fn1-processing-jobscanning.xml",
    "status-hp-scanjet-pro-4500-fn1-processing-jobscompleted.xml",
    "status-hp-smart-tank-plus-570-idle-adfempty-jobs.xml",
    "status-hp-smart-tank-plus-570-idle-adfempty-nojobs.xml",
    "status-kyocera-ecosys-m2040dn-processing-adfprocessing.xml",
    "status-unknown-stapelberg-mock-idle-adfempty.xml",
];

#[test]
fn every_capture_has_a_test_of_its_own() {
    let present: BTreeSet<String> = all_captures().into_iter().collect();
    let checked: BTreeSet<String> = CHECKED.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        present, checked,
        "a capture was added or removed: give it a test of its own"
    );
}

// ------------------------------------------------------ capabilities, one by one

#[test]
fn caps_brother_ds_940dw() {
    let caps = caps("caps-brother-ds-940dw.xml");
    assert_eq!(caps.version.as_deref(), Some("2.63"));
    assert_eq!(caps.make_and_model.as_deref(), Some("DS-940DW"));
    assert_eq!(caps.serial_number.as_deref(), Some("XXXXX"));
    assert_eq!(
        caps.uuid.as_deref(),
        Some("00000000-0000-1000-8000-0018d7024a10")
    );
    assert_eq!(caps.admin_uri.as_deref(), Some("http://HOSTNAME.local./"));
    assert_eq!(caps.icon_uri, None);
    assert_eq!(caps.platen, None);
    let simplex = caps.adf_simplex.as_ref().expect("simplex feeder");
    let duplex = caps.adf_duplex.as_ref().expect("duplex feeder");
    assert_eq!(input_area(simplex), (32, 2550, 32, 36600));
    assert_eq!(input_area(duplex), (32, 2550, 32, 4200));
    for input in [simplex, duplex] {
        assert_eq!(input.max_scan_regions, Some(1));
        assert_eq!(input.profiles.len(), 1);
        let profile = &input.profiles[0];
        assert_eq!(
            profile.color_modes,
            vec![ESCL_GRAY, ESCL_RGB, ESCL_BW, auto_color()]
        );
        let formats = strings(&["image/jpeg", "application/octet-stream", "application/pdf"]);
        assert_eq!(profile.document_formats, formats);
        assert_eq!(profile.document_formats_ext, formats);
        assert_eq!(dpis(input), square(&[100, 150, 200, 300, 400, 600]));
        assert_eq!(input.intents, intents_dpptg());
    }
    assert_eq!(caps.feeder_capacity, Some(1));
    assert_eq!(
        caps.adf_options,
        vec![
            AdfOption::DetectPaperLoaded,
            AdfOption::Duplex,
            AdfOption::Other("MultipickDetection".into()),
            AdfOption::SelectSinglePage,
        ]
    );
    assert!(caps.feeder_duplex());
    assert_eq!(caps.threshold, range(0, 255, 128, 1));
    assert_eq!((caps.brightness, caps.contrast), (None, None));
    assert_eq!(caps.blank_page_detection, Some(true));

    let res = [100, 150, 200, 300, 400, 600];
    let sizes = [A4, Letter, Legal, Auto];
    assert_eq!(
        caps.to_capabilities(),
        Capabilities {
            sources: vec![
                source(
                    Source::Feeder,
                    &res,
                    &[Gray, Color, Bw],
                    &sizes,
                    (215.9, 3098.8),
                    &[Jpeg, Pdf]
                ),
                source(
                    Source::Duplex,
                    &res,
                    &[Gray, Color, Bw],
                    &sizes,
                    (215.9, 355.6),
                    &[Jpeg, Pdf]
                ),
            ],
            storage: false,
        }
    );
}

#[test]
fn caps_brother_mfc_j497dw() {
    let caps = caps("caps-brother-mfc-j497dw.xml");
    assert_eq!(caps.version.as_deref(), Some("2.63"));
    assert_eq!(caps.make_and_model.as_deref(), Some("Brother MFC-J497DW"));
    assert_eq!(caps.serial_number.as_deref(), Some("..."));
    assert_eq!(caps.uuid.as_deref(), Some("..."));
    assert_eq!(
        caps.admin_uri.as_deref(),
        Some("http://.../net/net/airprint.html")
    );
    assert_eq!(
        caps.icon_uri.as_deref(),
        Some("http://.../icons/device-icons-128.png")
    );
    let platen = caps.platen.as_ref().expect("platen");
    let simplex = caps.adf_simplex.as_ref().expect("feeder");
    assert_eq!(caps.adf_duplex, None);
    assert_eq!(input_area(platen), (16, 2550, 16, 3507));
    assert_eq!(input_area(simplex), (16, 2550, 16, 4200));
    for input in [platen, simplex] {
        let profile = &input.profiles[0];
        assert_eq!(profile.color_modes, vec![ESCL_BW, ESCL_GRAY, ESCL_RGB]);
        assert_eq!(
            profile.document_formats,
            strings(&["application/pdf", "image/jpeg"])
        );
        assert_eq!(
            profile.document_formats_ext,
            strings(&["application/pdf", "image/jpeg"])
        );
        assert_eq!(dpis(input), square(&[100, 200, 300, 600]));
        assert_eq!(
            input.intents,
            vec![
                Intent::Document,
                Intent::TextAndGraphic,
                Intent::Photo,
                Intent::Preview
            ]
        );
    }
    assert_eq!(caps.feeder_capacity, Some(20));
    assert_eq!(caps.adf_options, vec![AdfOption::DetectPaperLoaded]);
    assert!(!caps.feeder_duplex());
    assert_eq!(caps.blank_page_detection, Some(false));

    // The glass is 3507/300 in long, A4 rounded down: A4 still fits.
    let res = [100, 200, 300, 600];
    assert_eq!(
        caps.to_capabilities().sources,
        vec![
            source(
                Source::Flatbed,
                &res,
                &[Bw, Gray, Color],
                &[A4, Letter],
                (215.9, 297.0),
                &[Pdf, Jpeg]
            ),
            source(
                Source::Feeder,
                &res,
                &[Bw, Gray, Color],
                &[A4, Letter, Legal, Auto],
                (215.9, 355.6),
                &[Pdf, Jpeg]
            ),
        ]
    );
}

#[test]
fn caps_canon_i_sensys_mf642c() {
    let caps = caps("caps-canon-i-sensys-mf642c-643c-644c.xml");
    assert_eq!(caps.version.as_deref(), Some("2.63"));
    assert_eq!(caps.make_and_model.as_deref(), Some("MF642C/643C/644C"));
    assert_eq!(caps.serial_number.as_deref(), Some("00000000"));
    assert_eq!(
        caps.uuid.as_deref(),
        Some("d11a3092-5fc4-4487-9e35-7a35a1dd72bb")
    );
    assert_eq!(
        caps.admin_uri.as_deref(),
        Some("http://Canon0000.local:80/airprint.html")
    );
    assert_eq!(
        caps.icon_uri.as_deref(),
        Some("http://Canon0000.local/en/media/dev_icon_128x128.png")
    );
    let platen = caps.platen.as_ref().expect("platen");
    let simplex = caps.adf_simplex.as_ref().expect("feeder");
    assert_eq!(caps.adf_duplex, None);
    for input in [platen, simplex] {
        assert_eq!(input_area(input), (32, 2551, 32, 4200));
        let profile = &input.profiles[0];
        assert_eq!(profile.color_modes, vec![ESCL_GRAY, ESCL_RGB]);
        assert_eq!(
            profile.document_formats,
            strings(&["image/jpeg", "application/pdf", "application/octet-stream"])
        );
        assert_eq!(
            profile.document_formats_ext,
            strings(&["image/jpeg", "application/pdf"])
        );
        assert_eq!(dpis(input), square(&[300]));
        assert_eq!(
            input.intents,
            vec![
                Intent::Document,
                Intent::Photo,
                Intent::TextAndGraphic,
                Intent::Preview
            ]
        );
    }
    assert_eq!(caps.feeder_capacity, Some(100));
    assert_eq!(caps.adf_options, vec![AdfOption::DetectPaperLoaded]);
    assert_eq!(caps.sharpen, range(1, 7, 4, 1));
    assert_eq!(caps.compression_factor, None);

    assert_eq!(
        caps.to_capabilities().sources,
        vec![
            source(
                Source::Flatbed,
                &[300],
                &[Gray, Color],
                &[A4, Letter, Legal],
                (216.0, 355.6),
                &[Jpeg, Pdf]
            ),
            source(
                Source::Feeder,
                &[300],
                &[Gray, Color],
                &[A4, Letter, Legal, Auto],
                (216.0, 355.6),
                &[Jpeg, Pdf]
            ),
        ]
    );
}

#[test]
fn caps_canon_pixma_ts5300() {
    let caps = caps("caps-canon-pixma-ts5300-series.xml");
    assert_eq!(caps.version.as_deref(), Some("2.63"));
    assert_eq!(caps.make_and_model.as_deref(), Some("Canon TS5300 series"));
    assert_eq!(caps.serial_number.as_deref(), Some("00188b045a87"));
    assert_eq!(
        caps.uuid.as_deref(),
        Some("00000000-0000-1000-8000-00188b045a87")
    );
    assert_eq!(
        caps.admin_uri.as_deref(),
        Some("http://8B138A000000.local./index.html?page=PAGE_AAP")
    );
    assert_eq!(
        caps.icon_uri.as_deref(),
        Some("http://8B138A000000.local./icon/printer_icon.png")
    );
    let platen = caps.platen.as_ref().expect("platen");
    assert_eq!((&caps.adf_simplex, &caps.adf_duplex), (&None, &None));
    assert_eq!(input_area(platen), (1, 2550, 1, 3508));
    let profile = &platen.profiles[0];
    assert_eq!(profile.color_modes, vec![ESCL_GRAY, ESCL_RGB]);
    assert_eq!(
        profile.document_formats,
        strings(&["image/jpeg", "application/pdf"])
    );
    assert_eq!(
        profile.document_formats_ext,
        strings(&["image/jpeg", "application/pdf"])
    );
    assert_eq!(dpis(platen), square(&[75, 100, 150, 200, 300, 600, 1200]));
    let mut intents = intents_dpptg();
    intents.push(Intent::Other("Auto".into()));
    assert_eq!(platen.intents, intents);
    assert_eq!((caps.adf_options.len(), caps.feeder_capacity), (0, None));
    assert_eq!(caps.compression_factor, range(0, 1, 1, 1));
    assert_eq!(caps.sharpen, range(0, 1, 0, 1));

    assert_eq!(
        caps.to_capabilities().sources,
        vec![source(
            Source::Flatbed,
            &[75, 100, 150, 200, 300, 600, 1200],
            &[Gray, Color],
            &[A4, Letter],
            (215.9, 297.1),
            &[Jpeg, Pdf]
        )]
    );
}

#[test]
fn caps_hp_laserjet_mfp_m28w() {
    let caps = caps("caps-hp-laserjet-mfp-m28w.xml");
    assert_eq!(caps.version.as_deref(), Some("2.63"));
    assert_eq!(caps.make_and_model.as_deref(), Some("HP LaserJet MFP M28w"));
    assert_eq!(caps.serial_number.as_deref(), Some("VNC3K22655"));
    assert_eq!(
        caps.uuid.as_deref(),
        Some("564E4333-4B32-3236-3535-C8D9D2B6E3F9")
    );
    assert_eq!(caps.admin_uri.as_deref(), Some("http://NPIB6E3F9.local."));
    assert_eq!(
        caps.icon_uri.as_deref(),
        Some("http://NPIB6E3F9.local./ipp/images/printer.png")
    );
    let platen = caps.platen.as_ref().expect("platen");
    assert_eq!(caps.adf_simplex, None);
    assert_eq!(input_area(platen), (300, 2550, 300, 3508));
    let profile = &platen.profiles[0];
    assert_eq!(profile.color_modes, vec![ESCL_RGB, ESCL_GRAY]);
    let formats = strings(&["image/jpeg", "application/pdf", "application/octet-stream"]);
    assert_eq!(profile.document_formats, formats);
    assert_eq!(profile.document_formats_ext, formats);
    assert_eq!(dpis(platen), square(&[200, 300, 600]));
    assert_eq!(platen.intents, intents_dpptg());

    assert_eq!(
        caps.to_capabilities().sources,
        vec![source(
            Source::Flatbed,
            &[200, 300, 600],
            &[Color, Gray],
            &[A4, Letter],
            (215.9, 297.1),
            &[Jpeg, Pdf]
        )]
    );
}

#[test]
fn caps_hp_laserjet_mfp_m426fdn() {
    let caps = caps("caps-hp-laserjet-mfp-m426fdn.xml");
    assert_eq!(caps.version.as_deref(), Some("2.5"));
    assert_eq!(
        caps.make_and_model.as_deref(),
        Some("HP LaserJet MFP M426fdn")
    );
    assert_eq!(caps.serial_number.as_deref(), Some("PHBLL6F5GB"));
    assert_eq!(
        (&caps.uuid, &caps.admin_uri, &caps.icon_uri),
        (&None, &None, &None)
    );
    let platen = caps.platen.as_ref().expect("platen");
    let simplex = caps.adf_simplex.as_ref().expect("simplex");
    let duplex = caps.adf_duplex.as_ref().expect("duplex");
    assert_eq!(input_area(platen), (576, 2550, 576, 3508));
    assert_eq!(dpis(platen), square(&[75, 200, 300, 600, 1200]));
    for input in [simplex, duplex] {
        assert_eq!(input_area(input), (576, 2550, 576, 4500));
        assert_eq!(dpis(input), square(&[75, 200, 300]));
    }
    for input in [platen, simplex, duplex] {
        assert_eq!(input.profiles[0].color_modes, vec![ESCL_RGB, ESCL_GRAY]);
        assert_eq!(input.mime_types(), vec!["image/jpeg", "application/pdf"]);
    }
    assert_eq!(caps.feeder_capacity, Some(50));
    assert_eq!(
        caps.adf_options,
        vec![
            AdfOption::DetectPaperLoaded,
            AdfOption::Duplex,
            AdfOption::SelectSinglePage
        ]
    );
    assert_eq!(caps.contrast, range(-127, 127, 0, 1));

    let feeder_sizes = [A4, Letter, Legal, Auto];
    assert_eq!(
        caps.to_capabilities().sources,
        vec![
            source(
                Source::Flatbed,
                &[75, 200, 300, 600, 1200],
                &[Color, Gray],
                &[A4, Letter],
                (215.9, 297.1),
                &[Jpeg, Pdf]
            ),
            source(
                Source::Feeder,
                &[75, 200, 300],
                &[Color, Gray],
                &feeder_sizes,
                (215.9, 381.0),
                &[Jpeg, Pdf]
            ),
            source(
                Source::Duplex,
                &[75, 200, 300],
                &[Color, Gray],
                &feeder_sizes,
                (215.9, 381.0),
                &[Jpeg, Pdf]
            ),
        ]
    );
}

#[test]
fn caps_hp_pagewide_pro_477dw() {
    let caps = caps("caps-hp-pagewide-pro-477dw.xml");
    assert_eq!(caps.version.as_deref(), Some("2.5"));
    assert_eq!(
        caps.make_and_model.as_deref(),
        Some("HP PageWide Pro 477dw MFP")
    );
    assert_eq!(caps.serial_number.as_deref(), Some("CN136MX02P"));
    assert_eq!(caps.uuid, None);
    let platen = caps.platen.as_ref().expect("platen");
    let simplex = caps.adf_simplex.as_ref().expect("simplex");
    let duplex = caps.adf_duplex.as_ref().expect("duplex");
    assert_eq!(input_area(platen), (8, 2550, 8, 4201));
    assert_eq!(
        dpis(platen),
        square(&[75, 100, 150, 200, 300, 400, 600, 1200])
    );
    for input in [simplex, duplex] {
        assert_eq!(input_area(input), (8, 2550, 8, 4200));
        assert_eq!(dpis(input), square(&[75, 100, 150, 200, 300]));
    }
    for input in [platen, simplex, duplex] {
        assert_eq!(input.profiles[0].color_modes, vec![ESCL_GRAY, ESCL_RGB]);
        assert_eq!(
            input.profiles[0].document_formats,
            strings(&["application/octet-stream", "image/jpeg", "application/pdf"])
        );
        assert_eq!(input.intents, intents_dpptg());
    }
    assert_eq!(caps.feeder_capacity, Some(50));
    assert_eq!(
        caps.adf_options,
        vec![AdfOption::DetectPaperLoaded, AdfOption::Duplex]
    );
    assert_eq!(caps.brightness, range(0, 2000, 1000, 1));
    assert_eq!(caps.contrast, range(0, 2000, 1000, 1));
    assert_eq!(caps.threshold, range(0, 255, 128, 1));

    let feeder_res = [75, 100, 150, 200, 300];
    let feeder_sizes = [A4, Letter, Legal, Auto];
    assert_eq!(
        caps.to_capabilities().sources,
        vec![
            source(
                Source::Flatbed,
                &[75, 100, 150, 200, 300, 400, 600, 1200],
                &[Gray, Color],
                &[A4, Letter, Legal],
                (215.9, 355.7),
                &[Jpeg, Pdf]
            ),
            source(
                Source::Feeder,
                &feeder_res,
                &[Gray, Color],
                &feeder_sizes,
                (215.9, 355.6),
                &[Jpeg, Pdf]
            ),
            source(
                Source::Duplex,
                &feeder_res,
                &[Gray, Color],
                &feeder_sizes,
                (215.9, 355.6),
                &[Jpeg, Pdf]
            ),
        ]
    );
}

#[test]
fn caps_hp_scanjet_pro_4500_fn1() {
    let caps = caps("caps-hp-scanjet-pro-4500-fn1.xml");
    assert_eq!(caps.version.as_deref(), Some("2.62"));
    assert_eq!(
        caps.make_and_model.as_deref(),
        Some("HP ScanJet Pro 4500 fn1")
    );
    assert_eq!(caps.serial_number.as_deref(), Some("CN5BPA6017"));
    assert_eq!(
        caps.uuid.as_deref(),
        Some("FC944F9F-3A57-4d62-82CF-2E557AF58D55")
    );
    assert_eq!(
        caps.admin_uri.as_deref(),
        Some("http://HPCB4F69.local./index.htm")
    );
    assert_eq!(
        caps.icon_uri.as_deref(),
        Some("http://HPCB4F69.local./icon.png")
    );
    let platen = caps.platen.as_ref().expect("platen");
    let simplex = caps.adf_simplex.as_ref().expect("simplex");
    let duplex = caps.adf_duplex.as_ref().expect("duplex");
    assert_eq!(input_area(platen), (32, 2550, 32, 4200));
    assert_eq!(input_area(simplex), (32, 2550, 32, 36600));
    assert_eq!(input_area(duplex), (32, 2550, 32, 4200));
    assert_eq!(
        dpis(platen),
        square(&[75, 150, 200, 240, 300, 400, 500, 600, 1200])
    );
    for input in [simplex, duplex] {
        assert_eq!(
            dpis(input),
            square(&[75, 150, 200, 240, 300, 400, 500, 600])
        );
    }
    for input in [platen, simplex, duplex] {
        assert_eq!(
            input.profiles[0].color_modes,
            vec![ESCL_GRAY, ESCL_RGB, ESCL_BW, auto_color()]
        );
        assert_eq!(
            input.mime_types(),
            vec!["image/jpeg", "application/octet-stream", "application/pdf"]
        );
        assert_eq!(input.intents, intents_dpptg());
    }
    assert_eq!(caps.feeder_capacity, Some(50));
    assert_eq!(
        caps.adf_options,
        vec![
            AdfOption::DetectPaperLoaded,
            AdfOption::Duplex,
            AdfOption::Other("MultipickDetection".into())
        ]
    );
    assert_eq!(caps.brightness, range(0, 2000, 1000, 1));
    assert_eq!(caps.contrast, range(0, 2000, 1000, 1));
    assert_eq!(caps.threshold, range(0, 255, 128, 1));
    assert_eq!(caps.sharpen, range(0, 2000, 1000, 1));
    assert_eq!(caps.compression_factor, range(0, 11, 0, 1));
    assert_eq!(caps.blank_page_detection, Some(true));

    let feeder_res = [75, 150, 200, 240, 300, 400, 500, 600];
    let feeder_sizes = [A4, Letter, Legal, Auto];
    assert_eq!(
        caps.to_capabilities().sources,
        vec![
            source(
                Source::Flatbed,
                &[75, 150, 200, 240, 300, 400, 500, 600, 1200],
                &[Gray, Color, Bw],
                &[A4, Letter, Legal],
                (215.9, 355.6),
                &[Jpeg, Pdf]
            ),
            source(
                Source::Feeder,
                &feeder_res,
                &[Gray, Color, Bw],
                &feeder_sizes,
                (215.9, 3098.8),
                &[Jpeg, Pdf]
            ),
            source(
                Source::Duplex,
                &feeder_res,
                &[Gray, Color, Bw],
                &feeder_sizes,
                (215.9, 355.6),
                &[Jpeg, Pdf]
            ),
        ]
    );
}

#[test]
fn caps_hp_smart_tank_plus_570() {
    let caps = caps("caps-hp-smart-tank-plus-570.xml");
    assert_eq!(caps.version.as_deref(), Some("2.63"));
    assert_eq!(
        caps.make_and_model.as_deref(),
        Some("Smart Tank Plus 570 series")
    );
    assert_eq!(caps.serial_number.as_deref(), Some("CN19E4S0VQ"));
    assert_eq!(
        caps.uuid.as_deref(),
        Some("4fae70ec-cc7e-581b-fd50-8a1dc2f57502")
    );
    assert_eq!(
        caps.admin_uri.as_deref(),
        Some("http://HP5081406927CC.local.")
    );
    assert_eq!(caps.icon_uri.as_deref(), Some("images/printer.png"));
    let platen = caps.platen.as_ref().expect("platen");
    let simplex = caps.adf_simplex.as_ref().expect("simplex");
    assert_eq!(caps.adf_duplex, None);
    assert_eq!(input_area(platen), (8, 2550, 8, 3508));
    assert_eq!(input_area(simplex), (8, 2550, 8, 4200));
    assert_eq!(
        dpis(platen),
        square(&[75, 100, 150, 200, 300, 400, 600, 1200])
    );
    assert_eq!(dpis(simplex), square(&[75, 100, 150, 200, 300]));
    for input in [platen, simplex] {
        assert_eq!(
            input.profiles[0].color_modes,
            vec![ESCL_BW, ESCL_GRAY, ESCL_RGB]
        );
    }
    assert_eq!(caps.feeder_capacity, Some(35));
    assert_eq!(caps.adf_options, vec![AdfOption::DetectPaperLoaded]);
    assert!(!caps.feeder_duplex());
    assert_eq!(caps.brightness, range(0, 2000, 1000, 1));

    assert_eq!(
        caps.to_capabilities().sources,
        vec![
            source(
                Source::Flatbed,
                &[75, 100, 150, 200, 300, 400, 600, 1200],
                &[Bw, Gray, Color],
                &[A4, Letter],
                (215.9, 297.1),
                &[Jpeg, Pdf]
            ),
            source(
                Source::Feeder,
                &[75, 100, 150, 200, 300],
                &[Bw, Gray, Color],
                &[A4, Letter, Legal, Auto],
                (215.9, 355.6),
                &[Jpeg, Pdf]
            ),
        ]
    );
}

#[test]
fn caps_kyocera_ecosys_m2040dn() {
    let caps = caps("caps-kyocera-ecosys-m2040dn.xml");
    assert_eq!(caps.version.as_deref(), Some("2.62"));
    assert_eq!(
        caps.make_and_model.as_deref(),
        Some("Kyocera ECOSYS M2040dn")
    );
    assert_eq!(caps.serial_number.as_deref(), Some("VCF9192281"));
    assert_eq!(
        caps.uuid.as_deref(),
        Some("4509a320-00a0-008f-00b6-002507510eca")
    );
    assert_eq!(
        caps.admin_uri.as_deref(),
        Some("https://KM7B6A91.local/airprint")
    );
    assert_eq!(
        caps.icon_uri.as_deref(),
        Some("https://KM7B6A91.local/printer-icon/machine_128.png")
    );
    let platen = caps.platen.as_ref().expect("platen");
    let simplex = caps.adf_simplex.as_ref().expect("simplex");
    let duplex = caps.adf_duplex.as_ref().expect("duplex");
    assert_eq!(input_area(platen), (118, 2551, 118, 3508));
    assert_eq!(platen.max_scan_regions, None);
    let pairs = [
        (200, 100),
        (200, 200),
        (200, 400),
        (300, 300),
        (400, 400),
        (600, 600),
    ]
    .map(|(x, y)| Resolution { x, y })
    .to_vec();
    for input in [platen, simplex, duplex] {
        assert_eq!(dpis(input), pairs);
        let profile = &input.profiles[0];
        assert_eq!(profile.color_modes, vec![ESCL_BW, ESCL_GRAY, ESCL_RGB]);
        assert_eq!(
            profile.document_formats,
            strings(&["image/jpeg", "application/pdf"])
        );
        assert!(profile.document_formats_ext.is_empty());
        // `SupportedIntent`, not `Intent`, on this device.
        assert_eq!(
            input.intents,
            vec![
                Intent::Document,
                Intent::TextAndGraphic,
                Intent::Photo,
                Intent::Preview
            ]
        );
    }
    for input in [simplex, duplex] {
        assert_eq!(input_area(input), (591, 2551, 591, 4205));
    }
    assert_eq!(caps.feeder_capacity, Some(75));
    assert_eq!(
        caps.adf_options,
        vec![
            AdfOption::DetectPaperLoaded,
            AdfOption::SelectSinglePage,
            AdfOption::Duplex
        ]
    );
    assert_eq!(caps.compression_factor, range(1, 5, 1, 1));
    assert_eq!(caps.sharpen, range(-3, 3, 0, 1));

    // Only the square resolutions: 200 x 100 and 200 x 400 are left out.
    let res = [200, 300, 400, 600];
    let feeder_sizes = [A4, Letter, Legal, Auto];
    assert_eq!(
        caps.to_capabilities().sources,
        vec![
            source(
                Source::Flatbed,
                &res,
                &[Bw, Gray, Color],
                &[A4, Letter],
                (216.0, 297.1),
                &[Jpeg, Pdf]
            ),
            source(
                Source::Feeder,
                &res,
                &[Bw, Gray, Color],
                &feeder_sizes,
                (216.0, 356.1),
                &[Jpeg, Pdf]
            ),
            source(
                Source::Duplex,
                &res,
                &[Bw, Gray, Color],
                &feeder_sizes,
                (216.0, 356.1),
                &[Jpeg, Pdf]
            ),
        ]
    );
}

#[test]
fn caps_xerox_b235() {
    let caps = caps("caps-xerox-b235.xml");
    assert_eq!(caps.version.as_deref(), Some("2.9"));
    assert_eq!(caps.make_and_model.as_deref(), Some("Xerox(R) B235 MFP"));
    assert_eq!(caps.serial_number.as_deref(), Some("34004H030206H"));
    assert_eq!(
        caps.uuid.as_deref(),
        Some("67bbb526-3a17-474f-a567-2ca5f6156613")
    );
    assert_eq!(
        caps.admin_uri.as_deref(),
        Some("http://ETE84DEC1C0C90.local./#/Settings/Network/AirPrint")
    );
    assert_eq!(
        caps.icon_uri.as_deref(),
        Some("http://ETE84DEC1C0C90.local./images/model/mfp/dap_icon.128x128.png")
    );
    let platen = caps.platen.as_ref().expect("platen");
    let simplex = caps.adf_simplex.as_ref().expect("simplex");
    assert_eq!(caps.adf_duplex, None);
    assert_eq!(input_area(platen), (300, 2550, 300, 3508));
    assert_eq!(input_area(simplex), (1230, 2550, 1740, 4200));
    let six = square(&[75, 150, 200, 300, 400, 600]);
    for input in [platen, simplex] {
        let profile = &input.profiles[0];
        assert_eq!(profile.color_modes, vec![ESCL_RGB, ESCL_GRAY, ESCL_BW]);
        let formats = strings(&["application/pdf", "image/jpeg", "image/tiff"]);
        assert_eq!(profile.document_formats, formats);
        assert_eq!(profile.document_formats_ext, formats);
        // One `SupportedResolutions` per colour mode.
        let per_mode: Vec<(Option<EsclColorMode>, Vec<Resolution>)> = profile
            .resolutions
            .iter()
            .map(|r| (r.for_mode.clone(), r.discrete.clone()))
            .collect();
        assert_eq!(
            per_mode,
            vec![
                (Some(ESCL_RGB), six.clone()),
                (Some(ESCL_GRAY), six.clone()),
                (Some(ESCL_BW), six.clone()),
            ]
        );
    }
    assert_eq!(caps.feeder_capacity, None);
    assert_eq!(caps.adf_options, vec![AdfOption::DetectPaperLoaded]);
    // Range children without a namespace on this device.
    assert_eq!(caps.brightness, range(1, 9, 5, 1));
    assert_eq!(caps.contrast, range(0, 5, 0, 1));
    assert_eq!(caps.compression_factor, range(5, 95, 25, 1));

    let res = [75, 150, 200, 300, 400, 600];
    assert_eq!(
        caps.to_capabilities().sources,
        vec![
            source(
                Source::Flatbed,
                &res,
                &[Color, Gray, Bw],
                &[A4, Letter],
                (215.9, 297.1),
                &[Pdf, Jpeg, Tiff]
            ),
            source(
                Source::Feeder,
                &res,
                &[Color, Gray, Bw],
                &[A4, Letter, Legal, Auto],
                (215.9, 355.6),
                &[Pdf, Jpeg, Tiff]
            ),
        ]
    );
}

// ------------------------------------------------------------ status, one by one

fn status(name: &str) -> streamscan::device::escl::xml::ScannerStatus {
    parse_status(&capture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A job as the captures list them: uri under `/eSCL/ScanJobs/`, uuid,
/// age, images completed, images to transfer, state, reasons.
fn job(
    id: &str,
    uuid: &str,
    age: u32,
    completed: u32,
    to_transfer: Option<u32>,
    state: JobState,
    reasons: &[&str],
) -> JobInfo {
    JobInfo {
        job_uri: Some(format!("/eSCL/ScanJobs/{id}")),
        job_uuid: Some(uuid.to_string()),
        age: Some(age),
        images_completed: Some(completed),
        images_to_transfer: to_transfer,
        state: Some(state),
        state_reasons: strings(reasons),
    }
}

const DONE: &[&str] = &["JobCompletedSuccessfully"];

#[test]
fn status_hp_laserjet_m28w_completed_and_aborted_jobs() {
    let status = status("status-hp-laserjet-mfp-m28w-idle-completed-and-aborted-jobs.xml");
    assert_eq!(status.version.as_deref(), Some("2.63"));
    assert_eq!(status.state, ScannerState::Idle);
    assert_eq!(status.adf_state, None);
    let a = "pjcqbcg8-73aw-17j4-1007-yrbwnwyo";
    let b = "pjcqbcg8-1wkf-rxzr-1006-nno0gxg7";
    assert_eq!(
        status.jobs,
        vec![
            job(a, a, 1597, 1, Some(1), JobState::Completed, DONE),
            job(
                b,
                b,
                1642,
                1,
                Some(1),
                JobState::Aborted,
                &["JobCanceledAtDevice"]
            ),
        ]
    );
    let aborted = status
        .job(&format!("http://10.0.0.1/eSCL/ScanJobs/{b}"))
        .expect("found by location");
    assert_eq!(aborted.state, Some(JobState::Aborted));
    assert!(JobState::Aborted.is_final());
}

#[test]
fn status_hp_laserjet_m426fdn_adf_empty_two_jobs() {
    let status = status("status-hp-laserjet-mfp-m426fdn-idle-adfempty-2jobs.xml");
    assert_eq!(status.version.as_deref(), Some("2.5"));
    assert_eq!(status.state, ScannerState::Idle);
    assert_eq!(status.adf_state, Some(AdfState::Empty));
    assert_eq!(
        status.jobs,
        vec![
            job("1005", "166-1005", 2, 1, Some(0), JobState::Completed, DONE),
            job(
                "1004",
                "166-1004",
                50,
                1,
                Some(0),
                JobState::Completed,
                DONE
            ),
        ]
    );
    assert_eq!(
        status
            .job("/eSCL/ScanJobs/1004")
            .and_then(|j| j.job_uuid.as_deref()),
        Some("166-1004")
    );
}

#[test]
fn status_hp_pagewide_477dw_adf_loaded() {
    let status = status("status-hp-pagewide-pro-477dw-idle-adfloaded.xml");
    assert_eq!(status.version.as_deref(), Some("2.5"));
    assert_eq!(status.state, ScannerState::Idle);
    assert_eq!(status.adf_state, Some(AdfState::Loaded));
    let a = "1c986213-09ff-1f09-a0d9-3822e23ba011";
    let b = "1c9849e3-0997-1f09-b3ba-3822e23ba011";
    assert_eq!(
        status.jobs,
        vec![
            job(a, a, 93921, 9, Some(0), JobState::Completed, DONE),
            job(b, b, 100247, 8, Some(0), JobState::Completed, DONE),
        ]
    );
}

#[test]
fn status_hp_scanjet_4500_idle_adf_loaded() {
    let status = status("status-hp-scanjet-pro-4500-fn1-idle-adfloaded.xml");
    assert_eq!(status.version.as_deref(), Some("2.5"));
    assert_eq!(status.state, ScannerState::Idle);
    assert_eq!(status.adf_state, Some(AdfState::Loaded));
    assert_eq!(
        status.jobs,
        vec![job(
            "1",
            "1876-0001",
            1,
            2,
            Some(0),
            JobState::Completed,
            DONE
        )]
    );
}

#[test]
fn status_hp_scanjet_4500_processing_job_scanning() {
    let status = status("status-hp-scanjet-pro-4500-fn1-processing-jobscanning.xml");
    assert_eq!(status.state, ScannerState::Processing);
    assert_eq!(status.adf_state, Some(AdfState::Empty));
    assert_eq!(
        status.jobs,
        vec![
            job(
                "2",
                "1876-0002",
                0,
                1,
                Some(0),
                JobState::Processing,
                &["JobScanning"]
            ),
            job("1", "1876-0001", 1, 2, Some(0), JobState::Completed, DONE),
        ]
    );
    let current = status
        .job("http://HPCB4F69.local./eSCL/ScanJobs/2")
        .expect("job 2");
    assert!(!current.state.as_ref().is_some_and(JobState::is_final));
}

#[test]
fn status_hp_scanjet_4500_processing_jobs_completed() {
    let status = status("status-hp-scanjet-pro-4500-fn1-processing-jobscompleted.xml");
    assert_eq!(status.version.as_deref(), Some("2.5"));
    assert_eq!(status.state, ScannerState::Processing);
    assert_eq!(status.adf_state, Some(AdfState::Empty));
    assert_eq!(
        status.jobs,
        vec![
            job("2", "1876-0002", 0, 2, Some(0), JobState::Completed, DONE),
            job("1", "1876-0001", 1, 2, Some(0), JobState::Completed, DONE),
        ]
    );
}

#[test]
fn status_hp_smart_tank_570_adf_empty_jobs() {
    let status = status("status-hp-smart-tank-plus-570-idle-adfempty-jobs.xml");
    assert_eq!(status.version.as_deref(), Some("2.63"));
    assert_eq!(status.state, ScannerState::Idle);
    assert_eq!(status.adf_state, Some(AdfState::Empty));
    let a = "f6f17dc4-536e-4bcb-b622-5d25bb6880be";
    let b = "4079bb49-d84d-4e6f-b093-c1aa5382541a";
    assert_eq!(
        status.jobs,
        vec![
            job(a, a, 3150, 1, Some(0), JobState::Completed, DONE),
            job(b, b, 4725710, 2, Some(0), JobState::Completed, DONE),
        ]
    );
}

#[test]
fn status_hp_smart_tank_570_adf_empty_no_jobs() {
    let status = status("status-hp-smart-tank-plus-570-idle-adfempty-nojobs.xml");
    assert_eq!(status.version.as_deref(), Some("2.63"));
    assert_eq!(status.state, ScannerState::Idle);
    assert_eq!(status.adf_state, Some(AdfState::Empty));
    assert!(status.jobs.is_empty());
}

#[test]
fn status_kyocera_m2040dn_adf_processing() {
    let status = status("status-kyocera-ecosys-m2040dn-processing-adfprocessing.xml");
    assert_eq!(status.version.as_deref(), Some("2.62"));
    assert_eq!(status.state, ScannerState::Processing);
    assert_eq!(status.adf_state, Some(AdfState::Processing));
    let id = |tail: &str| format!("urn:uuid:4509a320-00a0-008f-00b6-00559a327{tail}");
    let completed = |tail: &str, age| {
        job(
            &id(tail),
            &id(tail),
            age,
            1,
            None,
            JobState::Completed,
            DONE,
        )
    };
    assert_eq!(
        status.jobs,
        vec![
            job(
                &id("d32"),
                &id("d32"),
                2,
                0,
                None,
                JobState::Processing,
                &["JobScanningAndTransferring"]
            ),
            completed("d31", 19),
            completed("d30", 35),
            completed("d2f", 60),
            completed("d07", 72),
        ]
    );
    let location = format!("http://KM7B6A91.local/eSCL/ScanJobs/{}", id("d32"));
    assert_eq!(
        status.job(&location).and_then(|j| j.images_completed),
        Some(0)
    );
}

#[test]
fn status_stapelberg_mock_adf_empty_empty_jobs() {
    let status = status("status-unknown-stapelberg-mock-idle-adfempty.xml");
    assert_eq!(status.version.as_deref(), Some("2.63"));
    assert_eq!(status.state, ScannerState::Idle);
    assert_eq!(status.adf_state, Some(AdfState::Empty));
    assert!(status.jobs.is_empty());
}

// --------------------------------------------------------- ScanImageInfo

#[test]
fn scanimageinfo_hp_pagewide_477dw() {
    let info =
        parse_image_info(&capture("scanimageinfo-hp-pagewide-pro-477dw.xml")).expect("reads");
    let id = "1ca435c6-3c75-1f09-99ab-3822e23ba011";
    assert_eq!(
        info,
        ScanImageInfo {
            job_uri: Some(format!("/eSCL/ScanJobs/{id}")),
            job_uuid: Some(id.to_string()),
            actual_width: Some(2550),
            actual_height: Some(3300),
            actual_bytes_per_line: Some(7650),
        }
    );
}

#[test]
fn scanimageinfo_hp_scanjet_4500() {
    let info =
        parse_image_info(&capture("scanimageinfo-hp-scanjet-pro-4500-fn1.xml")).expect("reads");
    assert_eq!(
        info,
        ScanImageInfo {
            job_uri: Some("/eSCL/ScanJobs/2".into()),
            job_uuid: Some("1876-0002".into()),
            actual_width: Some(1700),
            actual_height: Some(2420),
            actual_bytes_per_line: Some(5248),
        }
    );
}

// --------------------------------------------------------- ScanSettings

fn region(width: u32, height: u32) -> ScanRegion {
    ScanRegion {
        x_offset: 0,
        y_offset: 0,
        width,
        height,
        units: Some(THREE_HUNDREDTHS_OF_INCHES.into()),
    }
}

/// What the HP client asked the ScanJet (default namespace, `ScanRegions`
/// redeclaring PWG's as default).
fn hp_client_request() -> EsclScanSettings {
    EsclScanSettings {
        version: Some("2.62".into()),
        intent: Some(Intent::Document),
        regions: vec![region(2550, 4200)],
        input_source: Some(InputSource::Feeder),
        duplex: Some(true),
        color_mode: Some(ESCL_RGB),
        document_format: None,
        document_format_ext: Some("image/jpeg".into()),
        x_resolution: Some(200),
        y_resolution: Some(200),
        compression_factor: Some(0),
        brightness: Some(996),
        contrast: Some(996),
        threshold: None,
    }
}

/// What HP Smart asked the PageWide.
fn hp_smart_request() -> EsclScanSettings {
    EsclScanSettings {
        version: Some("2.5".into()),
        intent: Some(Intent::Document),
        regions: vec![region(2550, 3300)],
        input_source: Some(InputSource::Feeder),
        duplex: None,
        color_mode: Some(ESCL_RGB),
        document_format: None,
        document_format_ext: Some("image/jpeg".into()),
        x_resolution: Some(300),
        y_resolution: Some(300),
        compression_factor: Some(0),
        brightness: None,
        contrast: None,
        threshold: None,
    }
}

#[test]
fn scansettings_hp_client_to_scanjet_4500() {
    let request = parse_scan_settings(&capture(
        "scansettings-hp-client-to-scanjet-pro-4500-fn1.xml",
    ))
    .expect("reads");
    assert_eq!(request, hp_client_request());
}

#[test]
fn scansettings_hpsmart_to_pagewide_477dw() {
    let request = parse_scan_settings(&capture(
        "scansettings-hpsmart-win11-to-hp-pagewide-pro-477dw.xml",
    ))
    .expect("reads");
    assert_eq!(request, hp_smart_request());
}

#[test]
fn our_duplex_request_to_the_scanjet_matches_the_hp_clients() {
    let caps = caps("caps-hp-scanjet-pro-4500-fn1.xml");
    let settings = ScanSettings {
        source: Source::Duplex,
        dpi: 200,
        mode: Color,
        size: Auto,
        quality: 100,
        ..ScanSettings::default()
    };
    let ours = EsclScanSettings::for_scan(&settings, &caps, Jpeg).expect("builds");
    let written = ours.to_xml();
    assert_eq!(
        parse_scan_settings(written.as_bytes()).as_ref(),
        Ok(&ours),
        "{written}"
    );
    // The HP client also sends brightness, contrast and so on, and only
    // DocumentFormatExt; we send the MIME type in both elements the
    // device lists it in, and leave the image adjustments to the device.
    let expected = EsclScanSettings {
        document_format: Some("image/jpeg".into()),
        brightness: None,
        contrast: None,
        ..hp_client_request()
    };
    assert_eq!(ours, expected, "{written}");
}

#[test]
fn our_letter_feeder_request_to_the_pagewide_matches_hp_smarts() {
    let caps = caps("caps-hp-pagewide-pro-477dw.xml");
    let settings = ScanSettings {
        source: Source::Feeder,
        dpi: 300,
        mode: Color,
        size: Letter,
        ..ScanSettings::default()
    };
    let ours = EsclScanSettings::for_scan(&settings, &caps, Jpeg).expect("builds");
    // The PageWide states no CompressionFactorSupport: we leave the factor
    // to the device, where HP Smart sends 0.
    let expected = EsclScanSettings {
        document_format: Some("image/jpeg".into()),
        compression_factor: None,
        ..hp_smart_request()
    };
    assert_eq!(ours, expected);
    assert_eq!(parse_scan_settings(ours.to_xml().as_bytes()), Ok(ours));
}

/// (namespace, parent's local name, local name) of every element.
fn element_shapes(text: &str) -> BTreeSet<(String, String, String)> {
    let tree = roxmltree::Document::parse(text).expect("well-formed");
    tree.descendants()
        .filter(|n| n.is_element())
        .map(|n| {
            let parent = n
                .parent_element()
                .map_or(String::new(), |p| p.tag_name().name().to_string());
            (
                n.tag_name().namespace().unwrap_or("").to_string(),
                parent,
                n.tag_name().name().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_element_we_write_is_where_real_clients_put_it() {
    let mut real = element_shapes(&capture_text(
        "scansettings-hp-client-to-scanjet-pro-4500-fn1.xml",
    ));
    real.extend(element_shapes(&capture_text(
        "scansettings-hpsmart-win11-to-hp-pagewide-pro-477dw.xml",
    )));
    // Neither capture sends the older element; eSCL puts it in PWG's
    // namespace, like DocumentFormatExt's sibling InputSource.
    real.insert((
        PWG_NS.into(),
        "ScanSettings".into(),
        "DocumentFormat".into(),
    ));
    let caps = caps("caps-hp-scanjet-pro-4500-fn1.xml");
    for source in [Source::Flatbed, Source::Feeder, Source::Duplex] {
        let settings = ScanSettings {
            source,
            area: Some(ScanArea {
                x_mm: 10.0,
                y_mm: 10.0,
                width_mm: 100.0,
                height_mm: 100.0,
            }),
            ..ScanSettings::default()
        };
        let text = EsclScanSettings::for_scan(&settings, &caps, Jpeg)
            .expect("builds")
            .to_xml();
        let ours = element_shapes(&text);
        let strange: Vec<_> = ours.difference(&real).collect();
        assert!(
            strange.is_empty(),
            "elements no real client writes: {strange:?}\n{text}"
        );
        if source != Source::Duplex {
            assert!(!text.contains("Duplex"), "{text}");
        }
    }
}

#[test]
fn a_flatbed_area_becomes_the_region_cut_to_the_glass() {
    let caps = caps("caps-hp-laserjet-mfp-m28w.xml");
    let mut settings = ScanSettings {
        area: Some(ScanArea {
            x_mm: 10.0,
            y_mm: 20.0,
            width_mm: 100.0,
            height_mm: 50.0,
        }),
        mode: Gray,
        dpi: 600,
        ..ScanSettings::default()
    };
    let request = EsclScanSettings::for_scan(&settings, &caps, Pdf).expect("builds");
    assert_eq!(
        request.regions,
        vec![ScanRegion {
            x_offset: 118,
            y_offset: 236,
            width: 1181,
            height: 591,
            units: Some(THREE_HUNDREDTHS_OF_INCHES.into()),
        }]
    );
    assert_eq!(request.input_source, Some(InputSource::Platen));
    assert_eq!(request.color_mode, Some(ESCL_GRAY));
    assert_eq!(request.document_format.as_deref(), Some("application/pdf"));
    assert_eq!(
        request.document_format_ext.as_deref(),
        Some("application/pdf")
    );
    assert_eq!(
        (request.x_resolution, request.y_resolution),
        (Some(600), Some(600))
    );
    assert_eq!(request.version.as_deref(), Some("2.63"));
    assert_eq!(request.compression_factor, None, "the M28w states no range");

    settings.area = Some(ScanArea {
        x_mm: 200.0,
        y_mm: 280.0,
        width_mm: 100.0,
        height_mm: 100.0,
    });
    let cut = EsclScanSettings::for_scan(&settings, &caps, Jpeg).expect("builds");
    assert_eq!(
        (cut.regions[0].x_offset, cut.regions[0].width),
        (2362, 2550 - 2362)
    );
    assert_eq!(
        (cut.regions[0].y_offset, cut.regions[0].height),
        (3307, 3508 - 3307)
    );

    settings.area = None;
    settings.size = A4;
    let a4 = EsclScanSettings::for_scan(&settings, &caps, Jpeg).expect("builds");
    assert_eq!(a4.regions, vec![region(2480, 3508)]);
}

#[test]
fn a_request_the_device_cannot_take_is_refused_saying_why() {
    let message =
        |caps: &str, settings: ScanSettings, format: FileFormat| match EsclScanSettings::for_scan(
            &settings,
            &self::caps(caps),
            format,
        ) {
            Err(error @ XmlError::Unsupported { .. }) => error.to_string(),
            other => panic!("{caps}: expected a refusal, got {other:?}"),
        };
    let on = |source| ScanSettings {
        source,
        ..ScanSettings::default()
    };
    assert_eq!(
        message("caps-brother-ds-940dw.xml", on(Source::Flatbed), Jpeg),
        "ScanSettings: the device has no flatbed (it has: feeder, duplex)"
    );
    assert_eq!(
        message("caps-brother-mfc-j497dw.xml", on(Source::Duplex), Jpeg),
        "ScanSettings: the device has no duplex (it has: flatbed, feeder)"
    );
    assert_eq!(
        message(
            "caps-hp-laserjet-mfp-m28w.xml",
            on(Source::Flatbed),
            FileFormat::Png
        ),
        "ScanSettings: the flatbed does not send image/png \
         (it sends image/jpeg, application/pdf, application/octet-stream)"
    );
    assert_eq!(
        message(
            "caps-hp-laserjet-mfp-m28w.xml",
            on(Source::Flatbed),
            FileFormat::Bmp
        ),
        "ScanSettings: eSCL devices do not send BMP pages (only JPEG, PNG, TIFF and PDF)"
    );
    let bw = ScanSettings {
        mode: Bw,
        ..on(Source::Feeder)
    };
    assert_eq!(
        message("caps-canon-i-sensys-mf642c-643c-644c.xml", bw, Jpeg),
        "ScanSettings: the feeder does not scan in BlackAndWhite1 (it offers Grayscale8, RGB24)"
    );
}

#[test]
fn duplex_from_adf_options_alone_uses_the_simplex_caps() {
    let text = capture_text("caps-hp-laserjet-mfp-m426fdn.xml");
    let start = text.find("<scan:AdfDuplexInputCaps>").expect("duplex caps");
    let end =
        text.find("</scan:AdfDuplexInputCaps>").expect("end") + "</scan:AdfDuplexInputCaps>".len();
    let without = format!("{}{}", &text[..start], &text[end..]);
    let caps = parse_capabilities(without.as_bytes()).expect("reads");
    assert_eq!(caps.adf_duplex, None);
    assert!(caps.feeder_duplex());
    let app = caps.to_capabilities();
    assert_eq!(
        app.source_list(),
        vec![Source::Flatbed, Source::Feeder, Source::Duplex]
    );
    let duplex = app.source(Source::Duplex).expect("duplex");
    assert_eq!(duplex.max_area_mm, (215.9, 381.0));
    let request = EsclScanSettings::for_scan(
        &ScanSettings {
            source: Source::Duplex,
            dpi: 300,
            ..ScanSettings::default()
        },
        &caps,
        Jpeg,
    )
    .expect("builds");
    assert_eq!(
        (request.input_source, request.duplex),
        (Some(InputSource::Feeder), Some(true))
    );
}

#[test]
fn a_resolution_range_becomes_a_range_choice() {
    let text = capture_text("caps-canon-pixma-ts5300-series.xml");
    let start = text.find("<scan:DiscreteResolutions>").expect("list");
    let end = text.find("</scan:DiscreteResolutions>").expect("end")
        + "</scan:DiscreteResolutions>".len();
    let range = "<scan:ResolutionRange>\
        <scan:XResolutionRange><scan:Min>75</scan:Min><scan:Max>1200</scan:Max>\
        <scan:Normal>300</scan:Normal><scan:Step>25</scan:Step></scan:XResolutionRange>\
        <scan:YResolutionRange><scan:Min>75</scan:Min><scan:Max>2400</scan:Max>\
        <scan:Normal>300</scan:Normal><scan:Step>25</scan:Step></scan:YResolutionRange>\
        </scan:ResolutionRange>";
    let changed = format!("{}{range}{}", &text[..start], &text[end..]);
    let caps = parse_capabilities(changed.as_bytes()).expect("reads");
    let platen = caps.platen.as_ref().expect("platen");
    let read = platen.profiles[0].resolutions[0].range.expect("range");
    assert_eq!(
        read.x,
        ValueRange {
            min: 75,
            max: 1200,
            normal: Some(300),
            step: Some(25)
        }
    );
    assert_eq!(read.y.max, 2400);
    let flatbed = caps.to_capabilities().sources.remove(0);
    assert_eq!(
        flatbed.resolutions,
        Choice::Range {
            min: 75,
            max: 1200,
            step: 25
        }
    );
}

// ------------------------------------------------------------ every prefix

/// The parser for a capture, by the kind its name starts with.
fn parse_by_kind(name: &str, bytes: &[u8]) -> Result<(), XmlError> {
    if name.starts_with("caps-") {
        parse_capabilities(bytes).map(drop)
    } else if name.starts_with("status-") {
        parse_status(bytes).map(drop)
    } else if name.starts_with("scanimageinfo-") {
        parse_image_info(bytes).map(drop)
    } else if name.starts_with("scansettings-") {
        parse_scan_settings(bytes).map(drop)
    } else {
        panic!("{name}: unknown kind of capture")
    }
}

/// Every prefix of every capture of `kind` is an error, until the root
/// element's end tag is whole; from there on (trailing white space) a
/// value.
fn every_prefix(kind: &str) {
    let names: Vec<String> = all_captures()
        .into_iter()
        .filter(|name| name.starts_with(kind))
        .collect();
    assert!(!names.is_empty(), "no {kind} captures");
    for name in names {
        let bytes = capture(&name);
        let complete = bytes.iter().rposition(|&b| b == b'>').expect("an end tag") + 1;
        for len in 0..=bytes.len() {
            let outcome = parse_by_kind(&name, &bytes[..len]);
            if len < complete {
                assert!(outcome.is_err(), "{name}: the first {len} bytes parsed");
            } else {
                assert_eq!(outcome, Ok(()), "{name}: the first {len} bytes");
            }
        }
    }
}

#[test]
fn every_prefix_of_every_capabilities_capture_fails_cleanly() {
    every_prefix("caps-");
}

#[test]
fn every_prefix_of_every_status_capture_fails_cleanly() {
    every_prefix("status-");
}

#[test]
fn every_prefix_of_every_image_info_and_settings_capture_fails_cleanly() {
    every_prefix("scanimageinfo-");
    every_prefix("scansettings-");
}

#[test]
fn every_capture_and_its_halves_go_through_every_parser() {
    for name in all_captures() {
        let bytes = capture(&name);
        fuzz_one(&bytes);
        fuzz_one(&bytes[..bytes.len() / 2]);
        fuzz_one(&bytes[bytes.len() / 2..]);
    }
}

// ------------------------------------------------------------ namespaces

/// The capture with its element prefixes renamed (`scan` to `scan_to`,
/// `pwg` to `pwg_to`); texts such as `scan:AutoColorDetection` are left
/// alone.
fn with_prefixes(text: &str, scan_to: &str, pwg_to: &str) -> String {
    let mut out = text.to_string();
    for (from, to) in [
        ("scan", "\u{1}"),
        ("pwg", "\u{2}"),
        ("\u{1}", scan_to),
        ("\u{2}", pwg_to),
    ] {
        for (before, after) in [
            (format!("<{from}:"), format!("<{to}:")),
            (format!("</{from}:"), format!("</{to}:")),
            (format!("xmlns:{from}="), format!("xmlns:{to}=")),
            (format!(" {from}:default="), format!(" {to}:default=")),
            (format!(" {from}:MustHonor="), format!(" {to}:MustHonor=")),
        ] {
            out = out.replace(&before, &after);
        }
    }
    out
}

/// Every capture that uses the `scan:` and `pwg:` prefixes.
fn prefixed_captures() -> Vec<String> {
    let names: Vec<String> = all_captures()
        .into_iter()
        .filter(|name| capture_text(name).contains("xmlns:scan="))
        .collect();
    assert!(names.len() >= 20, "only {} captures use scan:", names.len());
    names
}

#[test]
fn other_prefixes_read_the_same() {
    for name in prefixed_captures() {
        let text = capture_text(&name);
        let expected = parse_everything(&name, text.as_bytes());
        for (scan, pwg) in [("x", "p"), ("escl", "sm"), ("pwg", "scan")] {
            let renamed = with_prefixes(&text, scan, pwg);
            assert_ne!(renamed, text);
            assert_eq!(
                parse_everything(&name, renamed.as_bytes()),
                expected,
                "{name} with scan: as {scan}: and pwg: as {pwg}:"
            );
        }
    }
}

#[test]
fn escl_as_the_default_namespace_reads_the_same() {
    for name in prefixed_captures() {
        let text = capture_text(&name);
        let unprefixed = text
            .replace("<scan:", "<")
            .replace("</scan:", "</")
            .replace(
                &format!("xmlns:scan=\"{SCAN_NS}\""),
                &format!("xmlns=\"{SCAN_NS}\" xmlns:scan=\"{SCAN_NS}\""),
            );
        assert_eq!(
            parse_everything(&name, unprefixed.as_bytes()),
            parse_everything(&name, text.as_bytes()),
            "{name}"
        );
    }
}

#[test]
fn the_older_escl_namespace_reads_the_same() {
    for name in all_captures() {
        let text = capture_text(&name);
        let older = text.replace(SCAN_NS, SCAN_NS_2011_02);
        assert_eq!(
            parse_everything(&name, older.as_bytes()),
            parse_everything(&name, text.as_bytes()),
            "{name}"
        );
    }
}

#[test]
fn a_document_in_another_namespace_is_refused() {
    for name in all_captures() {
        let text = capture_text(&name);
        let foreign = text.replace(SCAN_NS, "http://example.com/not-escl");
        match parse_by_kind(&name, foreign.as_bytes()) {
            Err(XmlError::WrongRoot { found, .. }) => {
                assert!(
                    found.starts_with("{http://example.com/not-escl}"),
                    "{name}: {found}"
                )
            }
            other => panic!("{name}: expected WrongRoot, got {other:?}"),
        }
    }
}

#[test]
fn pwg_elements_in_a_foreign_namespace_are_not_read() {
    let text = capture_text("status-hp-smart-tank-plus-570-idle-adfempty-nojobs.xml");
    let foreign = text.replace(PWG_NS, "http://example.com/vendor");
    assert_eq!(
        parse_status(foreign.as_bytes()).map_err(|e| e.to_string()),
        Err("ScannerStatus: element State is missing".to_string())
    );
}

/// Everything the capture's kind of parser reads, for comparing.
fn parse_everything(name: &str, bytes: &[u8]) -> String {
    if name.starts_with("caps-") {
        let caps = parse_capabilities(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        format!("{caps:?}\n{:?}", caps.to_capabilities())
    } else if name.starts_with("status-") {
        format!(
            "{:?}",
            parse_status(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
        )
    } else if name.starts_with("scanimageinfo-") {
        format!(
            "{:?}",
            parse_image_info(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
        )
    } else {
        format!(
            "{:?}",
            parse_scan_settings(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
        )
    }
}

// ------------------------------------------------------------ encodings

#[test]
fn a_capture_reads_the_same_in_other_encodings() {
    let name = "caps-hp-scanjet-pro-4500-fn1.xml";
    let text = capture_text(name);
    let expected = parse_everything(name, text.as_bytes());

    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(text.as_bytes());
    assert_eq!(parse_everything(name, &bom), expected);

    let utf16 = text.replace("encoding=\"UTF-8\"", "encoding=\"UTF-16\"");
    let mut le = vec![0xFF, 0xFE];
    le.extend(utf16.encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(parse_everything(name, &le), expected);
    let be: Vec<u8> = utf16.encode_utf16().flat_map(u16::to_be_bytes).collect();
    assert_eq!(parse_everything(name, &be), expected);

    let latin = text.replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    assert_eq!(parse_everything(name, latin.as_bytes()), expected);

    let other = text.replace("encoding=\"UTF-8\"", "encoding=\"Shift_JIS\"");
    let error = parse_capabilities(other.as_bytes()).expect_err("refused");
    assert_eq!(
        error.to_string(),
        "ScannerCapabilities: the document declares encoding \"Shift_JIS\", which is not \
         supported (UTF-8, UTF-16, ISO-8859-1, Windows-1252 and US-ASCII are)"
    );
}

#[test]
fn a_latin1_make_and_model_is_decoded() {
    let text = capture_text("caps-hp-laserjet-mfp-m28w.xml")
        .replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"")
        .replace("HP LaserJet MFP M28w", "HP LaserJet MFP M28w \u{e9}dition");
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1 text"))
        .collect();
    let caps = parse_capabilities(&bytes).expect("reads");
    assert_eq!(
        caps.make_and_model.as_deref(),
        Some("HP LaserJet MFP M28w \u{e9}dition")
    );
}

// ------------------------------------------------------------ bad values

#[test]
fn a_bad_number_names_its_element_and_value() {
    let text = capture_text("caps-hp-laserjet-mfp-m28w.xml").replace(
        "<scan:MaxWidth>2550</scan:MaxWidth>",
        "<scan:MaxWidth>8.5in</scan:MaxWidth>",
    );
    assert_eq!(
        parse_capabilities(text.as_bytes()).map_err(|e| e.to_string()),
        Err(
            "ScannerCapabilities: element Platen/PlatenInputCaps/MaxWidth has value \"8.5in\", \
             expected a whole number from 0 to 4294967295"
                .to_string()
        )
    );
    let text = capture_text("status-hp-scanjet-pro-4500-fn1-idle-adfloaded.xml")
        .replace("<scan:Age>1</scan:Age>", "<scan:Age>-1</scan:Age>");
    assert_eq!(
        parse_status(text.as_bytes()).map_err(|e| e.to_string()),
        Err("ScannerStatus: element Jobs/JobInfo/Age has value \"-1\", \
             expected a whole number from 0 to 4294967295"
            .to_string())
    );
}

#[test]
fn unknown_keywords_are_kept_not_refused() {
    let text = capture_text("status-kyocera-ecosys-m2040dn-processing-adfprocessing.xml")
        .replace(">Processing</pwg:State>", ">Warming</pwg:State>")
        .replace("ScannerAdfProcessing", "ScannerAdfCoverOpen")
        .replace(">Processing</pwg:JobState>", ">Held</pwg:JobState>");
    let status = parse_status(text.as_bytes()).expect("reads");
    assert_eq!(status.state, ScannerState::Other("Warming".into()));
    assert_eq!(
        status.adf_state,
        Some(AdfState::Other("ScannerAdfCoverOpen".into()))
    );
    assert_eq!(status.jobs[0].state, Some(JobState::Other("Held".into())));
}

#[test]
fn characters_xml_forbids_are_refused_even_as_references() {
    let text = capture_text("status-unknown-stapelberg-mock-idle-adfempty.xml")
        .replace(">Idle<", ">&#1;<");
    assert!(matches!(
        parse_status(text.as_bytes()),
        Err(XmlError::Malformed { .. })
    ));
    fuzz_one(text.as_bytes());
}
