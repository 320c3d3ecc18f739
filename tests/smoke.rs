mod support;
use streamscan::transfer::{Outcome, ScanSettings, Source};
use support::*;
use streamscan::clock::Clock;

#[test]
fn feeder_three_pages_png() {
    let dir = tempfile::tempdir().unwrap();
    let mut driver = sim("pages=3,speed=25", dir.path());
    let settings = ScanSettings { source: Source::Feeder, dpi: 100, ..Default::default() };
    let mut cb = MemCallback::default();
    let run = run(&mut driver, "Feeder", &settings, &mut cb, RunOptions::default());
    assert_eq!(run.result, Ok(Outcome::Completed));
    let pages = cb.completed();
    assert_eq!(pages.len(), 3);
    for (i, p) in pages.iter().enumerate() {
        let s = strip(p);
        assert_eq!(s.page, i as u32 + 1);
    }
    println!("virtual time {:?}", run.clock.now());
}
