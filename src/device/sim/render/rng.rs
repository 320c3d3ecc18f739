//! Small deterministic pseudo-random numbers for the renderer.
//!
//! Everything a rendered page shows is derived from the device seed, the page
//! number and the side, so the same request always yields the same bytes on
//! every platform. The generator is SplitMix64: tiny, fast, and good enough
//! for layout choices, pseudo-text and sensor noise. It is not meant for
//! anything security related.

use crate::stream::Side;

/// Golden-ratio increment used by SplitMix64.
const STEP: u64 = 0x9E37_79B9_7F4A_7C15;

/// Scrambles one 64-bit value into a well-mixed one (SplitMix64's finaliser).
pub(crate) fn mix(value: u64) -> u64 {
    let mut z = value;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Which independent stream of randomness a part of the renderer draws from.
///
/// Separate streams keep, say, the dust positions unchanged when the text
/// generator starts consuming a few more numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Layout choices and pseudo-text of a document page.
    Content = 1,
    /// Dust specks and hairs.
    Dust = 2,
    /// Per-row sensor noise.
    Noise = 3,
    /// Placement of photos in a flatbed scene.
    Scene = 4,
}

/// The seed of one stream for one page.
pub(crate) fn page_seed(device_seed: u64, number: u32, side: Side, stream: Stream) -> u64 {
    let side_bit = match side {
        Side::Front => 0u64,
        Side::Back => 1u64,
    };
    let page = (u64::from(number) << 1) | side_bit;
    mix(mix(device_seed ^ mix(page.wrapping_add(STEP))) ^ (stream as u64).wrapping_mul(STEP))
}

/// A SplitMix64 sequence.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A sequence starting from `seed`.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(STEP);
        mix(self.state)
    }

    /// A uniform number in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform number in `[low, high)`.
    pub(crate) fn range_f64(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// A uniform integer in `[low, high]` (both ends included).
    pub(crate) fn range_u32(&mut self, low: u32, high: u32) -> u32 {
        if high <= low {
            return low;
        }
        let span = u64::from(high - low) + 1;
        low + (((self.next_u64() >> 32) * span) >> 32) as u32
    }

    /// An index into a slice of `len` elements (0 when `len` is 0).
    pub(crate) fn index(&mut self, len: usize) -> usize {
        if len == 0 {
            return 0;
        }
        (((self.next_u64() >> 32) * len as u64) >> 32) as usize
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_repeat_for_the_same_seed() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn ranges_stay_inside_their_bounds() {
        let mut rng = Rng::new(7);
        for _ in 0..10_000 {
            let v = rng.range_u32(3, 9);
            assert!((3..=9).contains(&v));
            let f = rng.range_f64(-2.0, 5.0);
            assert!((-2.0..5.0).contains(&f));
            assert!(rng.index(5) < 5);
        }
        assert_eq!(rng.range_u32(4, 4), 4);
        assert_eq!(rng.index(0), 0);
    }

    #[test]
    fn page_seeds_differ_by_page_side_and_stream() {
        let base = page_seed(1, 1, Side::Front, Stream::Content);
        assert_ne!(base, page_seed(1, 2, Side::Front, Stream::Content));
        assert_ne!(base, page_seed(1, 1, Side::Back, Stream::Content));
        assert_ne!(base, page_seed(1, 1, Side::Front, Stream::Dust));
        assert_ne!(base, page_seed(2, 1, Side::Front, Stream::Content));
    }
}
