//! Deterministic pseudo-text for simulated documents.
//!
//! Sentences are strung together from a small built-in list of plain English
//! words, so pages read like text at a glance (and exercise OCR-like
//! consumers) without carrying any real content.

use super::rng::Rng;

/// The vocabulary of the simulated documents.
const WORDS: &[&str] = &[
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "for",
    "on",
    "with",
    "by",
    "from",
    "at",
    "as",
    "is",
    "was",
    "are",
    "were",
    "be",
    "has",
    "had",
    "will",
    "may",
    "can",
    "should",
    "this",
    "that",
    "these",
    "each",
    "every",
    "some",
    "most",
    "other",
    "which",
    "while",
    "after",
    "before",
    "during",
    "between",
    "under",
    "over",
    "about",
    "into",
    "through",
    "without",
    "report",
    "harbor",
    "lighthouse",
    "river",
    "valley",
    "council",
    "budget",
    "meeting",
    "station",
    "library",
    "garden",
    "bridge",
    "engine",
    "signal",
    "market",
    "season",
    "window",
    "paper",
    "scanner",
    "survey",
    "village",
    "harvest",
    "journey",
    "office",
    "record",
    "letter",
    "measure",
    "sample",
    "pattern",
    "surface",
    "motion",
    "balance",
    "summer",
    "winter",
    "morning",
    "evening",
    "number",
    "quarter",
    "figure",
    "table",
    "result",
    "method",
    "review",
    "update",
    "notice",
    "member",
    "visitor",
    "student",
    "teacher",
    "farmer",
    "engineer",
    "committee",
    "museum",
    "archive",
    "collection",
    "delivery",
    "schedule",
    "estimate",
    "proposal",
    "agreement",
    "section",
    "chapter",
    "detail",
    "summary",
    "question",
    "answer",
    "northern",
    "southern",
    "eastern",
    "western",
    "quiet",
    "bright",
    "early",
    "late",
    "small",
    "large",
    "careful",
    "simple",
    "useful",
    "regular",
    "annual",
    "local",
    "public",
    "private",
    "several",
    "certain",
    "recent",
    "steady",
    "gentle",
    "narrow",
    "broad",
    "open",
    "closed",
    "green",
    "silver",
    "copper",
    "wooden",
    "stone",
    "coastal",
    "rural",
    "central",
    "distant",
    "prepared",
    "approved",
    "measured",
    "recorded",
    "reviewed",
    "delivered",
    "improved",
    "planned",
    "observed",
    "arranged",
    "collected",
    "returned",
    "expected",
    "included",
    "noted",
    "shown",
    "kept",
    "found",
    "made",
    "given",
    "taken",
    "placed",
    "written",
    "printed",
    "scanned",
    "filed",
    "usually",
    "often",
    "rarely",
    "nearly",
    "mostly",
    "still",
    "again",
    "also",
    "only",
    "then",
    "soon",
    "clearly",
    "slowly",
    "together",
    "instead",
];

/// Words that make a heading sound like one.
const HEADING_NOUNS: &[&str] = &[
    "Report",
    "Survey",
    "Review",
    "Summary",
    "Minutes",
    "Proposal",
    "Notes",
    "Schedule",
    "Estimate",
    "Inventory",
    "Bulletin",
    "Record",
];

/// One random word of the vocabulary.
fn word(rng: &mut Rng) -> &'static str {
    WORDS[rng.index(WORDS.len())]
}

/// `word` with its first letter in upper case.
fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A heading such as "Quarterly Harbor Lighthouse Report".
pub(crate) fn heading(rng: &mut Rng) -> String {
    let count = rng.range_u32(2, 3);
    let mut parts: Vec<String> = Vec::new();
    while parts.len() < count as usize {
        let w = word(rng);
        // Headings read better without the little function words.
        if w.len() > 4 {
            parts.push(capitalised(w));
        }
    }
    parts.push(HEADING_NOUNS[rng.index(HEADING_NOUNS.len())].to_string());
    parts.join(" ")
}

/// A short phrase of `min..=max` words, the first capitalised, no full stop.
pub(crate) fn phrase(rng: &mut Rng, min: u32, max: u32) -> String {
    let count = rng.range_u32(min.max(1), max.max(min).max(1));
    let mut out = String::new();
    for i in 0..count {
        if i == 0 {
            out.push_str(&capitalised(word(rng)));
        } else {
            out.push(' ');
            out.push_str(word(rng));
        }
    }
    out
}

/// The words of one paragraph, punctuation attached, ready for line
/// breaking.
pub(crate) fn paragraph(rng: &mut Rng) -> Vec<String> {
    let sentences = rng.range_u32(3, 6);
    let mut words = Vec::new();
    for _ in 0..sentences {
        let length = rng.range_u32(6, 17);
        for i in 0..length {
            let mut w = if i == 0 {
                capitalised(word(rng))
            } else {
                word(rng).to_string()
            };
            if i + 1 == length {
                w.push('.');
            } else if i > 2 && i + 3 < length && rng.chance(0.08) {
                w.push(',');
            }
            words.push(w);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_deterministic_and_well_formed() {
        let a = paragraph(&mut Rng::new(9));
        let b = paragraph(&mut Rng::new(9));
        assert_eq!(a, b);
        assert!(a.len() >= 18);
        assert!(a.last().is_some_and(|w| w.ends_with('.')));
        assert!(a[0].chars().next().is_some_and(char::is_uppercase));
        let h = heading(&mut Rng::new(3));
        assert!(h.split(' ').count() >= 3);
        assert!(phrase(&mut Rng::new(4), 2, 4).split(' ').count() <= 4);
    }
}
