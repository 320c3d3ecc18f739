//! Output file names: a pattern such as `scans/page-{n:03}.png`, where
//! `{n}` stands for the page number (`{n:03}` zero-padded to three
//! digits), and the default pattern `scan-YYYYMMDD-HHMMSS-{n}.<ext>`.
//! `{{` and `}}` stand for literal braces.
//!
//! This module only builds names; it does not look at the file system.

use super::FileFormat;
use chrono::{DateTime, Local};
use std::fmt;
use std::path::PathBuf;

/// One piece of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Text copied as is.
    Literal(String),
    /// The page number, zero-padded to `width` digits (0: no padding).
    Page { width: usize },
}

/// A parsed output path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputPattern {
    text: String,
    parts: Vec<Part>,
}

impl OutputPattern {
    /// Parses `pattern`. Placeholders: `{n}` (page number) and `{n:0W}`
    /// (zero-padded to W digits, W from 1 to 9); `{{` and `}}` are literal
    /// braces. Any other placeholder, or a lone brace, is an error.
    pub fn parse(pattern: &str) -> Result<OutputPattern, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = pattern.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(format!(
                        "unmatched '}}' at position {at} in \"{pattern}\" (write '}}}}' for a brace)"
                    ));
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(format!(
                            "unclosed '{{' at position {at} in \"{pattern}\" (write '{{{{' for a brace)"
                        ));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(placeholder(&name)?);
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(OutputPattern {
            text: pattern.to_string(),
            parts,
        })
    }

    /// True when the pattern contains a page number (so that every page
    /// gets its own name).
    pub fn has_page_number(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Page { .. }))
    }

    /// The path for page `page` (1-based).
    pub fn path_for(&self, page: u32) -> PathBuf {
        let mut out = String::with_capacity(self.text.len() + 8);
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Page { width } => out.push_str(&format!("{page:0width$}")),
            }
        }
        PathBuf::from(out)
    }

    /// The pattern as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Parses the inside of a `{...}` placeholder.
fn placeholder(name: &str) -> Result<Part, String> {
    if name == "n" {
        return Ok(Part::Page { width: 0 });
    }
    if let Some(spec) = name.strip_prefix("n:0")
        && spec.len() == 1
        && let Some(width) = spec.chars().next().and_then(|c| c.to_digit(10))
        && width >= 1
    {
        return Ok(Part::Page {
            width: width as usize,
        });
    }
    Err(format!(
        "unknown placeholder {{{name}}}: use {{n}} or {{n:03}} (widths 1 to 9)"
    ))
}

impl fmt::Display for OutputPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for OutputPattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutputPattern::parse(s)
    }
}

/// The default file name pattern for a scan started at `now`:
/// `scan-YYYYMMDD-HHMMSS-{n}.<ext>`.
pub fn default_pattern(now: DateTime<Local>, format: FileFormat) -> String {
    format!(
        "scan-{}-{{n}}.{}",
        now.format("%Y%m%d-%H%M%S"),
        format.extension()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::Path;

    #[test]
    fn page_numbers_with_and_without_padding() {
        let p = OutputPattern::parse("out/page-{n:03}.png").expect("parse");
        assert!(p.has_page_number());
        assert_eq!(p.path_for(7), Path::new("out/page-007.png"));
        assert_eq!(p.path_for(1234), Path::new("out/page-1234.png"));
        let p = OutputPattern::parse("{n}_{n:09}").expect("parse");
        assert_eq!(p.path_for(5), Path::new("5_000000005"));
        assert_eq!(p.as_str(), "{n}_{n:09}");
        assert_eq!(p.to_string(), "{n}_{n:09}");
    }

    #[test]
    fn plain_names_and_escaped_braces() {
        let p = OutputPattern::parse("doc {{draft}}.pdf").expect("parse");
        assert!(!p.has_page_number());
        assert_eq!(p.path_for(3), Path::new("doc {draft}.pdf"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "{x}", "{n:3}", "{n:00}", "{n:010}", "{n", "n}", "a{}b", "{n:0a}",
        ] {
            assert!(OutputPattern::parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn default_pattern_has_date_time_and_number() {
        let now = Local
            .with_ymd_and_hms(2024, 3, 9, 14, 5, 7)
            .single()
            .expect("unambiguous time");
        assert_eq!(
            default_pattern(now, FileFormat::Jpeg),
            "scan-20240309-140507-{n}.jpg"
        );
        let p = OutputPattern::parse(&default_pattern(now, FileFormat::Pdf)).expect("parse");
        assert_eq!(p.path_for(2), Path::new("scan-20240309-140507-2.pdf"));
    }
}
