//! Replays the seed corpus of the `decode_body` fuzz target (in
//! `fuzz/corpus/decode_body/`) through the same library function, so CI checks
//! it without libFuzzer.

use std::path::Path;

#[test]
fn decode_body_corpus_replays_without_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode_body");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus folder") {
        let path = entry.expect("corpus entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("corpus file");
            streamscan::transfer::decode::fuzz_one(&bytes);
            replayed += 1;
        }
    }
    assert!(
        replayed >= 5,
        "only {replayed} corpus files in {}",
        dir.display()
    );
}
