//! File destinations and output names: a page exists under its final name
//! only once complete, nothing half-written is ever left behind, and an
//! existing file is only replaced when overwriting was asked for.

mod support;

use std::fs;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use streamscan::output::{
    EncodeOptions, FileDestination, FileFormat, OutputPattern, document_encoder, page_encoder,
};
use streamscan::raster::{Page, PixelFormat};
use streamscan::transfer::Destination;
use support::dir_names;

fn temp_names(dir: &Path) -> Vec<String> {
    dir_names(dir)
        .into_iter()
        .filter(|n| n.contains(".part-"))
        .collect()
}

#[test]
fn the_final_name_appears_only_on_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("page-1.png");
    let mut dest = FileDestination::create(&path, false).expect("create");
    dest.write_all(b"half a page").expect("write");
    dest.flush().expect("flush");
    assert!(!path.exists(), "not under the final name while writing");
    let temps = temp_names(dir.path());
    assert_eq!(temps.len(), 1);
    assert!(temps[0].starts_with(".page-1.png.part-"), "{temps:?}");
    assert_eq!(dest.final_path(), path);
    assert_eq!(dest.describe(), path.display().to_string());

    dest.write_all(b", the other half").expect("write");
    dest.complete().expect("complete");
    assert_eq!(
        fs::read(&path).expect("read"),
        b"half a page, the other half"
    );
    drop(dest);
    assert_eq!(
        dir_names(dir.path()),
        vec!["page-1.png"],
        "no temporary file left"
    );
}

#[test]
fn discard_and_drop_leave_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut dest = FileDestination::create(&dir.path().join("a.pdf"), false).expect("create");
    dest.write_all(b"%PDF-").expect("write");
    dest.discard();
    assert!(
        dir_names(dir.path()).is_empty(),
        "discard removes the temporary file"
    );
    drop(dest);

    let mut dest = FileDestination::create(&dir.path().join("b.pdf"), false).expect("create");
    dest.write_all(b"%PDF-").expect("write");
    drop(dest);
    assert!(
        dir_names(dir.path()).is_empty(),
        "dropping an unfinished stream removes it"
    );
}

#[test]
fn an_existing_file_is_kept_unless_overwriting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scan.jpg");
    fs::write(&path, b"precious").expect("existing file");

    let err = FileDestination::create(&path, false).expect_err("must refuse");
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(
        err.to_string().contains("scan.jpg"),
        "names the path: {err}"
    );
    assert_eq!(fs::read(&path).expect("read"), b"precious");
    assert_eq!(dir_names(dir.path()), vec!["scan.jpg"]);

    let mut dest = FileDestination::create(&path, true).expect("create with overwrite");
    dest.write_all(b"new scan").expect("write");
    assert_eq!(
        fs::read(&path).expect("read"),
        b"precious",
        "replaced only on complete"
    );
    dest.complete().expect("complete");
    assert_eq!(fs::read(&path).expect("read"), b"new scan");
    assert_eq!(dir_names(dir.path()), vec!["scan.jpg"]);
}

#[test]
fn seek_and_set_len_behave_like_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.bin");
    let mut dest = FileDestination::create(&path, false).expect("create");
    dest.write_all(&[1; 100]).expect("write");
    assert_eq!(dest.stream_position().expect("pos"), 100);
    dest.set_len(40).expect("set_len");
    dest.seek(SeekFrom::Start(40)).expect("seek");
    dest.write_all(&[2; 10]).expect("write");
    dest.seek(SeekFrom::Start(0)).expect("seek");
    dest.write_all(&[3]).expect("write");
    dest.complete().expect("complete");
    let bytes = fs::read(&path).expect("read");
    assert_eq!(bytes.len(), 50);
    assert_eq!((bytes[0], bytes[1], bytes[45]), (3, 1, 2));
}

#[test]
fn encoders_write_whole_files_through_file_destinations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = Page::filled(300, 200, PixelFormat::Rgb8, 150, 128);
    let pattern = OutputPattern::parse(dir.path().join("page-{n:02}.png").to_str().expect("utf-8"))
        .expect("pattern");
    for n in 1..=2 {
        let path = pattern.path_for(n);
        let dest = FileDestination::create(&path, false).expect("create");
        let mut enc = page_encoder(FileFormat::Png, EncodeOptions::default(), Box::new(dest))
            .expect("encoder");
        enc.begin_page(&page.header).expect("begin");
        for band in page.bands(64) {
            enc.write_band(&band).expect("band");
        }
        enc.end_page().expect("end");
        enc.finish().expect("finish");
        let mut dest = enc.into_destination();
        dest.complete().expect("complete");
        let img = image::open(&path).expect("decode");
        assert_eq!((img.width(), img.height()), (300, 200));
    }
    assert_eq!(dir_names(dir.path()), vec!["page-01.png", "page-02.png"]);

    // A document whose only page is abandoned: the transfer layer discards.
    let path: PathBuf = dir.path().join("doc.pdf");
    let dest = FileDestination::create(&path, false).expect("create");
    let mut enc = document_encoder(FileFormat::Pdf, EncodeOptions::default(), Box::new(dest))
        .expect("encoder");
    enc.begin_page(&page.header).expect("begin");
    enc.write_band(&page.bands(10).next().expect("band"))
        .expect("band");
    enc.abandon_page().expect("abandon");
    assert_eq!(
        enc.finish().expect_err("no pages").kind(),
        io::ErrorKind::InvalidInput
    );
    enc.destination().discard();
    drop(enc);
    assert_eq!(dir_names(dir.path()), vec!["page-01.png", "page-02.png"]);
}

#[test]
fn output_patterns() {
    let p = OutputPattern::parse("scans/{n:03}-front.tiff").expect("parse");
    assert!(p.has_page_number());
    assert_eq!(p.path_for(12), Path::new("scans/012-front.tiff"));
    assert_eq!(p.as_str(), "scans/{n:03}-front.tiff");
    assert!(
        !OutputPattern::parse("all.pdf")
            .expect("parse")
            .has_page_number()
    );
    for bad in ["{page}", "{n", "}", "{n:0}", "{n:010}"] {
        assert!(OutputPattern::parse(bad).is_err(), "{bad}");
    }
    let now = chrono::Local::now();
    let default = streamscan::output::default_pattern(now, FileFormat::Tiff);
    assert!(
        default.starts_with("scan-") && default.ends_with("-{n}.tiff"),
        "{default}"
    );
    assert_eq!(default.len(), "scan-YYYYMMDD-HHMMSS-{n}.tiff".len());
}
