//! From a body's bytes to the root element of a checked XML tree, and the
//! few lookups every parser of this layer is written with.
//!
//! [`read_document`] decodes the bytes (byte-order marks, UTF-16, the
//! declared encoding), parses them with `roxmltree` under this layer's
//! limits and checks the root element's name and namespace. [`Reader`]
//! finds children by local name among the eSCL family of namespaces (see
//! the parent module for why the family, not one namespace) and turns
//! their text into numbers, booleans and strings, with errors that name
//! the element's path.

use super::{MAX_DOCUMENT_BYTES, MAX_NODES, PWG_NS, SCAN_NS, SCAN_NS_2011_02, XmlError};
use roxmltree::{Document, Node, ParsingOptions};
use std::borrow::Cow;

/// One node of a parsed document.
pub(super) type XmlNode<'a, 'input> = Node<'a, 'input>;

/// Decodes and parses `bytes`, checks that the root element is `document`
/// in an eSCL namespace, and hands it to `read`.
pub(super) fn read_document<T>(
    document: &'static str,
    bytes: &[u8],
    read: impl FnOnce(&Reader, XmlNode<'_, '_>) -> Result<T, XmlError>,
) -> Result<T, XmlError> {
    let text = decode(document, bytes)?;
    let options = ParsingOptions {
        allow_dtd: true,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let tree = Document::parse_with_options(tidy(&text), options).map_err(|error| {
        XmlError::Malformed {
            document,
            detail: error.to_string(),
        }
    })?;
    let root = tree.root_element();
    let name = root.tag_name();
    let namespace = name.namespace();
    if name.name() != document || !matches!(namespace, Some(SCAN_NS | SCAN_NS_2011_02)) {
        return Err(XmlError::WrongRoot {
            document,
            found: match namespace {
                Some(uri) => format!("{{{uri}}}{}", name.name()),
                None => name.name().to_string(),
            },
        });
    }
    read(&Reader { document }, root)
}

/// Leading white space (before `<?xml`, which XML forbids but devices
/// send) and trailing NUL padding are dropped.
fn tidy(text: &str) -> &str {
    text.trim_start_matches([' ', '\t', '\r', '\n'])
        .trim_end_matches('\0')
}

/// The text of `bytes`, by byte-order mark, by the shape of `<?xml` in
/// UTF-16, or by the encoding the declaration names (UTF-8 when none).
pub(super) fn decode<'b>(
    document: &'static str,
    bytes: &'b [u8],
) -> Result<Cow<'b, str>, XmlError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(XmlError::TooLarge {
            document,
            size: bytes.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let refuse = |detail: String| XmlError::Encoding { document, detail };
    match bytes {
        [0x00, 0x00, 0xFE, 0xFF, ..] | [0xFF, 0xFE, 0x00, 0x00, ..] => Err(refuse(format!(
            "the document is in UTF-32, which is not supported ({SUPPORTED})"
        ))),
        [0xEF, 0xBB, 0xBF, rest @ ..] => utf8(rest).map_err(refuse),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes).map_err(refuse),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes).map_err(refuse),
        [b'<', 0, b'?', 0, ..] => utf16(bytes, u16::from_le_bytes).map_err(refuse),
        [0, b'<', 0, b'?', ..] => utf16(bytes, u16::from_be_bytes).map_err(refuse),
        _ => {
            let Some(declared) = declared_encoding(bytes) else {
                return utf8(bytes).map_err(refuse);
            };
            let name = String::from_utf8_lossy(declared).to_ascii_lowercase();
            match name.as_str() {
                "utf-8" | "utf8" | "us-ascii" | "ascii" => utf8(bytes).map_err(refuse),
                "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1"
                | "iso-ir-100" | "cp819" | "ibm819" => {
                    Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()))
                }
                "windows-1252" | "cp1252" | "x-cp1252" => {
                    Ok(Cow::Owned(bytes.iter().map(|&b| windows_1252(b)).collect()))
                }
                "utf-16" | "utf-16le" | "utf-16be" | "ucs-2" => Err(refuse(format!(
                    "the document declares encoding {:?}, but its bytes are not UTF-16 \
                     (no byte-order mark, and `<?xml` is in single bytes)",
                    String::from_utf8_lossy(declared)
                ))),
                _ => Err(refuse(format!(
                    "the document declares encoding {:?}, which is not supported ({SUPPORTED})",
                    String::from_utf8_lossy(declared)
                ))),
            }
        }
    }
}

/// The encodings [`decode`] reads, for error messages.
const SUPPORTED: &str = "UTF-8, UTF-16, ISO-8859-1, Windows-1252 and US-ASCII are";

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|error| {
            format!(
                "the document is not valid UTF-8 (byte {} of its text); \
             a document in another encoding must say so in its declaration",
                error.valid_up_to()
            )
        })
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<Cow<'static, str>, String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(format!(
            "the document is in UTF-16 but has an odd number of bytes ({})",
            bytes.len()
        ));
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map(Cow::Owned)
        .map_err(|error| {
            format!(
                "the document is in UTF-16 but holds a lone surrogate {:#06x}",
                error.unpaired_surrogate()
            )
        })
}

/// The value of `encoding="..."` in an `<?xml ...?>` declaration at the
/// start of `bytes`, if there is one.
fn declared_encoding(bytes: &[u8]) -> Option<&[u8]> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = bytes[start..].strip_prefix(b"<?xml")?;
    let end = rest.windows(2).position(|pair| pair == b"?>")?;
    let declaration = &rest[..end];
    let at = declaration
        .windows(b"encoding".len())
        .position(|window| window == b"encoding")?;
    let after = declaration[at + b"encoding".len()..].trim_ascii_start();
    let after = after.strip_prefix(b"=")?.trim_ascii_start();
    let (&quote, value) = after.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let close = value.iter().position(|&b| b == quote)?;
    Some(&value[..close])
}

/// The character a Windows-1252 byte stands for (the five bytes it leaves
/// undefined map to the C1 controls, as browsers do).
fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}',
        '\u{017D}', '\u{008F}', '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}',
        '\u{2022}', '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}',
        '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
    ];
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// True for the namespaces whose elements the parsers read: both eSCL
/// ones, PWG's, and none.
fn in_escl_family(node: XmlNode<'_, '_>) -> bool {
    matches!(
        node.tag_name().namespace(),
        None | Some(SCAN_NS | SCAN_NS_2011_02 | PWG_NS)
    )
}

/// Reads values out of one document, naming the document in its errors.
pub(super) struct Reader {
    /// The document being read (`ScannerStatus`, ...).
    pub(super) document: &'static str,
}

impl Reader {
    /// The first child element of `parent` called `name`.
    pub(super) fn child<'a, 'i>(
        &self,
        parent: XmlNode<'a, 'i>,
        name: &str,
    ) -> Option<XmlNode<'a, 'i>> {
        parent.children().find(|node| {
            node.is_element() && node.tag_name().name() == name && in_escl_family(*node)
        })
    }

    /// Every child element of `parent` called `name`, in order.
    pub(super) fn children<'a, 'i: 'a>(
        &self,
        parent: XmlNode<'a, 'i>,
        name: &'a str,
    ) -> impl Iterator<Item = XmlNode<'a, 'i>> + 'a {
        parent.children().filter(move |node| {
            node.is_element() && node.tag_name().name() == name && in_escl_family(*node)
        })
    }

    /// Every child element of `parent` called one of `names`, in order.
    pub(super) fn children_any<'a, 'i: 'a>(
        &self,
        parent: XmlNode<'a, 'i>,
        names: &'a [&'a str],
    ) -> impl Iterator<Item = XmlNode<'a, 'i>> + 'a {
        parent.children().filter(move |node| {
            node.is_element() && names.contains(&node.tag_name().name()) && in_escl_family(*node)
        })
    }

    /// The text of `node` (all of its text children, so a comment inside
    /// does not cut it), without surrounding white space.
    pub(super) fn text(&self, node: XmlNode<'_, '_>) -> String {
        let mut text = String::new();
        for child in node.children().filter(|child| child.is_text()) {
            text.push_str(child.text().unwrap_or(""));
        }
        match text.trim() {
            trimmed if trimmed.len() == text.len() => text,
            trimmed => trimmed.to_string(),
        }
    }

    /// The text of the child `name` of `parent`, when there is one.
    pub(super) fn text_of(&self, parent: XmlNode<'_, '_>, name: &str) -> Option<String> {
        self.child(parent, name).map(|node| self.text(node))
    }

    /// The texts of every child `name` of `parent`.
    pub(super) fn texts_of(&self, parent: XmlNode<'_, '_>, name: &str) -> Vec<String> {
        self.children(parent, name)
            .map(|node| self.text(node))
            .collect()
    }

    /// The text of `node` as a whole number of at least 0.
    pub(super) fn u32_in(&self, node: XmlNode<'_, '_>) -> Result<u32, XmlError> {
        let text = self.text(node);
        text.parse()
            .map_err(|_| self.bad_value(node, &text, "a whole number from 0 to 4294967295"))
    }

    /// The text of `node` as a whole number that may be negative.
    pub(super) fn i32_in(&self, node: XmlNode<'_, '_>) -> Result<i32, XmlError> {
        let text = self.text(node);
        text.parse()
            .map_err(|_| self.bad_value(node, &text, "a whole number"))
    }

    /// The text of `node` as `true`/`false` (or `1`/`0`).
    pub(super) fn bool_in(&self, node: XmlNode<'_, '_>) -> Result<bool, XmlError> {
        let text = self.text(node);
        match text.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(self.bad_value(node, &text, "true or false")),
        }
    }

    /// The child `name` of `parent` as a number, when there is one.
    pub(super) fn opt_u32(
        &self,
        parent: XmlNode<'_, '_>,
        name: &str,
    ) -> Result<Option<u32>, XmlError> {
        self.child(parent, name)
            .map(|node| self.u32_in(node))
            .transpose()
    }

    /// The child `name` of `parent` as a number; an error when missing.
    pub(super) fn req_u32(&self, parent: XmlNode<'_, '_>, name: &str) -> Result<u32, XmlError> {
        self.opt_u32(parent, name)?
            .ok_or_else(|| self.missing(parent, name))
    }

    /// The child `name` of `parent` as a signed number, when there is one.
    pub(super) fn opt_i32(
        &self,
        parent: XmlNode<'_, '_>,
        name: &str,
    ) -> Result<Option<i32>, XmlError> {
        self.child(parent, name)
            .map(|node| self.i32_in(node))
            .transpose()
    }

    /// The child `name` of `parent` as a boolean, when there is one.
    pub(super) fn opt_bool(
        &self,
        parent: XmlNode<'_, '_>,
        name: &str,
    ) -> Result<Option<bool>, XmlError> {
        self.child(parent, name)
            .map(|node| self.bool_in(node))
            .transpose()
    }

    /// The error for a child `name` of `parent` that is not there.
    pub(super) fn missing(&self, parent: XmlNode<'_, '_>, name: &str) -> XmlError {
        let parent_path = path(parent);
        XmlError::Missing {
            document: self.document,
            element: if parent_path.is_empty() {
                name.to_string()
            } else {
                format!("{parent_path}/{name}")
            },
        }
    }

    /// The error for `node` holding `value` instead of `expected`.
    pub(super) fn bad_value(
        &self,
        node: XmlNode<'_, '_>,
        value: &str,
        expected: &'static str,
    ) -> XmlError {
        XmlError::BadValue {
            document: self.document,
            element: path(node),
            value: value.chars().take(80).collect(),
            expected,
        }
    }
}

/// The local names from below the root element down to `node`
/// (`Platen/PlatenInputCaps/MaxWidth`); empty for the root element.
fn path(node: XmlNode<'_, '_>) -> String {
    let mut names: Vec<&str> = node
        .ancestors()
        .filter(|n| n.is_element() && !n.parent().is_some_and(|p| p.is_root()))
        .map(|n| n.tag_name().name())
        .collect();
    names.reverse();
    names.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_name(bytes: &[u8]) -> Result<String, XmlError> {
        read_document("ScannerStatus", bytes, |reader, root| {
            Ok(reader.text_of(root, "State").unwrap_or_default())
        })
    }

    const STATUS: &str = "<?xml version=\"1.0\" encoding=\"ENC\"?>\
        <scan:ScannerStatus xmlns:scan=\"http://schemas.hp.com/imaging/escl/2011/05/03\" \
        xmlns:pwg=\"http://www.pwg.org/schemas/2010/12/sm\"><pwg:State>Idle</pwg:State>\
        </scan:ScannerStatus>";

    fn status_declaring(encoding: &str) -> String {
        STATUS.replace("ENC", encoding)
    }

    #[test]
    fn utf8_reads_with_and_without_a_byte_order_mark() {
        let plain = status_declaring("UTF-8");
        assert_eq!(root_name(plain.as_bytes()).as_deref(), Ok("Idle"));
        let mut marked = vec![0xEF, 0xBB, 0xBF];
        marked.extend_from_slice(plain.as_bytes());
        assert_eq!(root_name(&marked).as_deref(), Ok("Idle"));
        let undeclared = plain.replace(" encoding=\"UTF-8\"", "");
        assert_eq!(root_name(undeclared.as_bytes()).as_deref(), Ok("Idle"));
    }

    #[test]
    fn utf16_reads_in_both_byte_orders_with_or_without_a_mark() {
        let text = status_declaring("UTF-16").replace("Idle", "Idl\u{e9}");
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (mark, body) in [([0xFF, 0xFE], &le), ([0xFE, 0xFF], &be)] {
            let mut marked = mark.to_vec();
            marked.extend_from_slice(body);
            assert_eq!(root_name(&marked).as_deref(), Ok("Idl\u{e9}"));
            assert_eq!(root_name(body).as_deref(), Ok("Idl\u{e9}"));
        }
        let odd = &le[..le.len() - 1];
        assert!(matches!(root_name(odd), Err(XmlError::Encoding { .. })));
    }

    #[test]
    fn single_byte_encodings_are_decoded_as_declared() {
        let latin = status_declaring("ISO-8859-1").replace("Idle", "Id\u{e9}le");
        let bytes: Vec<u8> = latin
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("latin-1"))
            .collect();
        assert_eq!(root_name(&bytes).as_deref(), Ok("Id\u{e9}le"));
        let mut cp1252 = status_declaring("windows-1252").into_bytes();
        let at = cp1252.windows(4).position(|w| w == b"Idle").expect("Idle");
        cp1252[at] = 0x80;
        assert_eq!(root_name(&cp1252).as_deref(), Ok("\u{20AC}dle"));
    }

    #[test]
    fn an_unknown_or_false_encoding_is_refused_by_name() {
        let error = root_name(status_declaring("KOI8-R").as_bytes()).expect_err("refused");
        assert!(error.to_string().contains("\"KOI8-R\""), "{error}");
        assert!(matches!(error, XmlError::Encoding { .. }));
        let error = root_name(status_declaring("UTF-16").as_bytes()).expect_err("refused");
        assert!(error.to_string().contains("not UTF-16"), "{error}");
        let utf32 = [0x00, 0x00, 0xFE, 0xFF, 0, 0, 0, b'<'];
        assert!(
            root_name(&utf32)
                .expect_err("refused")
                .to_string()
                .contains("UTF-32")
        );
        let mut bad = status_declaring("UTF-8").into_bytes();
        bad.push(0xFF);
        assert!(matches!(root_name(&bad), Err(XmlError::Encoding { .. })));
    }

    #[test]
    fn leading_white_space_trailing_nuls_comments_and_doctypes_are_tolerated() {
        let mut text = String::from("\r\n  ");
        text.push_str(&status_declaring("UTF-8").replace(
            "?><scan",
            "?><!DOCTYPE ScannerStatus [<!ENTITY idle \"Idle\">]><!-- c --><?pi x?><scan",
        ));
        let text = text.replace(">Idle<", ">&idle;<");
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(&[0, 0, 0]);
        assert_eq!(root_name(&bytes).as_deref(), Ok("Idle"));
    }

    #[test]
    fn an_entity_bomb_is_refused() {
        let mut dtd = String::from("<!DOCTYPE ScannerStatus [<!ENTITY a0 \"lol\">");
        for level in 1..10 {
            let previous = format!("&a{};", level - 1);
            dtd.push_str(&format!("<!ENTITY a{level} \"{}\">", previous.repeat(10)));
        }
        dtd.push_str("]>");
        let text = status_declaring("UTF-8")
            .replace("?><scan", &format!("?>{dtd}<scan"))
            .replace(">Idle<", ">&a9;<");
        assert!(root_name(text.as_bytes()).is_err());
    }

    #[test]
    fn too_large_a_body_is_refused_before_decoding() {
        let bytes = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        assert!(matches!(root_name(&bytes), Err(XmlError::TooLarge { .. })));
    }

    #[test]
    fn the_root_must_be_the_document_in_an_escl_namespace() {
        let wrong = status_declaring("UTF-8").replace(SCAN_NS, "http://example.com/other");
        let error = root_name(wrong.as_bytes()).expect_err("refused");
        assert_eq!(
            error.to_string(),
            format!(
                "ScannerStatus: the root element is {{http://example.com/other}}ScannerStatus, \
                 expected ScannerStatus in the eSCL namespace ({SCAN_NS})"
            )
        );
        let old = status_declaring("UTF-8").replace(SCAN_NS, SCAN_NS_2011_02);
        assert_eq!(root_name(old.as_bytes()).as_deref(), Ok("Idle"));
        let pwg_root = status_declaring("UTF-8").replace(SCAN_NS, PWG_NS);
        assert!(matches!(
            root_name(pwg_root.as_bytes()),
            Err(XmlError::WrongRoot { .. })
        ));
    }

    fn max_width_and_height(text: &str) -> Result<(u32, u32), String> {
        read_document("ScannerCapabilities", text.as_bytes(), |reader, root| {
            let platen = reader.child(root, "Platen").expect("Platen");
            let caps = reader
                .child(platen, "PlatenInputCaps")
                .expect("PlatenInputCaps");
            Ok((
                reader.req_u32(caps, "MaxWidth")?,
                reader.req_u32(caps, "MaxHeight")?,
            ))
        })
        .map_err(|error| error.to_string())
    }

    #[test]
    fn errors_name_the_path_and_the_value() {
        let caps = |inner: &str| {
            format!(
                "<s:ScannerCapabilities xmlns:s=\"{SCAN_NS}\"><s:Platen><s:PlatenInputCaps>\
                 {inner}</s:PlatenInputCaps></s:Platen></s:ScannerCapabilities>"
            )
        };
        assert_eq!(
            max_width_and_height(&caps("<s:MaxWidth>wide</s:MaxWidth>")),
            Err(
                "ScannerCapabilities: element Platen/PlatenInputCaps/MaxWidth has value \"wide\", \
                 expected a whole number from 0 to 4294967295"
                    .to_string()
            )
        );
        assert_eq!(
            max_width_and_height(&caps("<s:MaxWidth>2550</s:MaxWidth>")),
            Err(
                "ScannerCapabilities: element Platen/PlatenInputCaps/MaxHeight is missing"
                    .to_string()
            )
        );
        let foreign = caps(
            "<v:MaxWidth xmlns:v=\"http://example.com/vendor\">1</v:MaxWidth>\
             <MaxWidth>2550</MaxWidth><s:MaxHeight> 3508 </s:MaxHeight>",
        );
        assert_eq!(max_width_and_height(&foreign), Ok((2550, 3508)));
    }

    #[test]
    fn text_is_whole_across_comments_and_trimmed() {
        let text = "<s:ScannerStatus xmlns:s=\"http://schemas.hp.com/imaging/escl/2011/05/03\">\
            <s:State>\n  Id<!-- x -->le <![CDATA[]]></s:State></s:ScannerStatus>";
        assert_eq!(root_name(text.as_bytes()).as_deref(), Ok("Idle"));
    }
}
