//! Replays the seed corpora of the fuzz targets (`decode_body` in
//! `fuzz/corpus/decode_body/`, `escl_xml` in `fuzz/corpus/escl_xml/`)
//! through the same library functions, so CI checks them without
//! libFuzzer.

use std::path::Path;

/// Feeds every file of the corpus `name` to `fuzz_one`; returns how many.
fn replay(name: &str, fuzz_one: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(name);
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus folder") {
        let path = entry.expect("corpus entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("corpus file");
            fuzz_one(&bytes);
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn decode_body_corpus_replays_without_panic() {
    let replayed = replay("decode_body", streamscan::transfer::decode::fuzz_one);
    assert!(replayed >= 5, "only {replayed} decode_body corpus files");
}

#[test]
fn escl_xml_corpus_replays_without_panic() {
    let replayed = replay("escl_xml", streamscan::device::escl::xml::fuzz_one);
    assert!(replayed >= 30, "only {replayed} escl_xml corpus files");
}
