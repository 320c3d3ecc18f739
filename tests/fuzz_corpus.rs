//! Replays the seed corpora of the fuzz targets (`decode_body` in
//! `fuzz/corpus/decode_body/`, `http_response` in `fuzz/corpus/http_response/`,
//! `escl_xml` in `fuzz/corpus/escl_xml/`) through the same library functions,
//! so CI checks them without libFuzzer.

use std::path::Path;

/// Runs `fuzz_one` on every file of the corpus folder `name`; checks that
/// there are at least `min` of them.
fn replay(name: &str, min: usize, fuzz_one: fn(&[u8])) {
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
    assert!(
        replayed >= min,
        "only {replayed} corpus files in {}",
        dir.display()
    );
}

#[test]
fn decode_body_corpus_replays_without_panic() {
    replay("decode_body", 5, streamscan::transfer::decode::fuzz_one);
}

#[test]
fn http_response_corpus_replays_without_panic() {
    replay(
        "http_response",
        10,
        streamscan::device::escl::http::fuzz_one,
    );
}

#[test]
fn escl_xml_corpus_replays_without_panic() {
    replay("escl_xml", 30, streamscan::device::escl::xml::fuzz_one);
}
