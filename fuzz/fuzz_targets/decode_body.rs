//! Fuzzes the incremental body decoder: any bytes, as JPEG and as PNG, pushed
//! in two pieces, must end in rows or an error, never a panic or a hang.
//! Run with `cargo fuzz run decode_body` from the repository root; the seed
//! corpus in `fuzz/corpus/decode_body/` is replayed by `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    streamscan::transfer::decode::fuzz_one(data);
});
