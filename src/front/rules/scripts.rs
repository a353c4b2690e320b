//! Script slots hold code the runtime can run. The runtime's publish check
//! (`vnext:src/BBT.Workflow.Domain/Definitions/Validators/ScriptCodeValidator.cs@3133589`)
//! refuses a slot that is not global (`type: G`) or a reference (`encoding: REF`) and whose
//! `code` is blank, is not valid base64 under a base64 encoding, or decodes to a blank body; a
//! mapping component's `code` follows the same rules
//! (`vnext:src/BBT.Workflow.Application/Definitions/Validators/MappingComponentValidator.cs@4d49a8f`).
//!
//! Slots are found by shape: an object whose keys are all script keys (`location`, `code`,
//! `encoding`, `type`, `scripts`) and that has `code` or `location`. JSON Schema bodies of
//! schema components and view content are data and are not searched.

use std::fmt::Write as _;

use serde_json::Value;

use crate::base::diagnostics::{Code, Diagnostic, Label, escape_pointer_token, pointer_join};
use crate::base::source::FileId;
use crate::front::model::Kind;

const SCRIPT_KEYS: [&str; 5] = ["location", "code", "encoding", "type", "scripts"];

pub(super) fn check(file: FileId, kind: Kind, attributes: &Value, out: &mut Vec<Diagnostic>) {
    if kind == Kind::Mapping {
        check_slot(file, "/attributes", attributes, out);
        return;
    }
    let mut pointer = String::from("/attributes");
    walk(file, kind, attributes, &mut pointer, out);
}

fn walk(file: FileId, kind: Kind, value: &Value, pointer: &mut String, out: &mut Vec<Diagnostic>) {
    let data = match kind {
        Kind::Schema => pointer == "/attributes/schema",
        Kind::View => {
            pointer == "/attributes/content" || pointer == "/attributes/platformOverrides"
        }
        _ => false,
    };
    if data {
        return;
    }
    match value {
        Value::Object(map) => {
            let is_script = (map.contains_key("code") || map.contains_key("location"))
                && map.keys().all(|key| SCRIPT_KEYS.contains(&key.as_str()));
            if is_script {
                check_slot(file, pointer, value, out);
                return;
            }
            for (key, member) in map {
                if member.is_object() || member.is_array() {
                    let mark = pointer.len();
                    pointer.push('/');
                    if key.contains(['~', '/']) {
                        pointer.push_str(&escape_pointer_token(key));
                    } else {
                        pointer.push_str(key);
                    }
                    walk(file, kind, member, pointer, out);
                    pointer.truncate(mark);
                }
            }
        }
        Value::Array(items) => {
            for (idx, item) in items.iter().enumerate() {
                if item.is_object() || item.is_array() {
                    let mark = pointer.len();
                    let _ = write!(pointer, "/{idx}");
                    walk(file, kind, item, pointer, out);
                    pointer.truncate(mark);
                }
            }
        }
        _ => {}
    }
}

/// One slot: global and reference slots need no code of their own; the others need code that
/// decodes to something.
fn check_slot(file: FileId, pointer: &str, slot: &Value, out: &mut Vec<Diagnostic>) {
    let text = |name: &str| slot.get(name).and_then(Value::as_str);
    if text("type") == Some("G") || text("encoding") == Some("REF") {
        return;
    }
    // A missing or mistyped `code` is the schema's to report.
    let Some(code) = text("code") else {
        return;
    };
    let problem = if code.trim().is_empty() {
        Some((
            "the script has no code, so the runtime never runs it".to_owned(),
            "inline the script into `code` (base64 unless `encoding: NAT`), or set `type: G` if the slot is meant to be empty",
        ))
    } else if text("encoding") == Some("NAT") {
        None
    } else {
        match decoded_is_blank(code) {
            None => Some((
                format!(
                    "`code` is not valid base64{}",
                    if text("encoding").is_none() {
                        " (the default encoding is B64)"
                    } else {
                        ""
                    }
                ),
                "encode the script as base64, or write it as plain text with `encoding: NAT`",
            )),
            Some(true) => Some((
                "`code` decodes to an empty script, so the runtime never runs it".to_owned(),
                "put the script's base64 in `code`, or set `type: G` if the slot is meant to be empty",
            )),
            Some(false) => None,
        }
    };
    if let Some((message, help)) = problem {
        out.push(
            Diagnostic::new(Code::InvalidScript, message)
                .with_label(Label::value(file, pointer_join(pointer, "code")))
                .with_help(help),
        );
    }
}

/// Whether base64 `code` decodes to a blank script (`None`: it is not base64). Most scripts
/// decode to text with a visible ASCII character, which settles it without keeping the bytes;
/// only the others are decoded again and read as the runtime reads them (UTF-8, invalid bytes
/// replaced, then trimmed).
fn decoded_is_blank(code: &str) -> Option<bool> {
    // An ASCII byte that is not whitespace is a character of its own that trimming keeps.
    let mut visible = false;
    decode_each(code, |b| {
        visible |= b.is_ascii() && !matches!(b, b'\t'..=b'\r' | b' ');
    })?;
    if visible {
        return Some(false);
    }
    let bytes = decode_base64(code)?;
    Some(String::from_utf8_lossy(&bytes).trim().is_empty())
}

/// Decodes base64 as .NET's `Convert.FromBase64String` does: the standard alphabet, spaces,
/// tabs and line breaks ignored, the length a multiple of four, at most two `=` at the end.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    decode_each(text, |byte| out.push(byte))?;
    Some(out)
}

/// What a byte of base64 text is, besides a symbol's six bits (0 to 63).
const IGNORED: u8 = 64;
const PADDING: u8 = 65;
const NOT_BASE64: u8 = 255;

/// `SEXTETS[byte]`: the six bits the symbol `byte` stands for, or `IGNORED` (space, tab, line
/// break), `PADDING` (`=`), `NOT_BASE64`.
const SEXTETS: [u8; 256] = sextets();

const fn sextets() -> [u8; 256] {
    let mut table = [NOT_BASE64; 256];
    let mut letter: u8 = 0;
    while letter < 26 {
        table[(b'A' + letter) as usize] = letter;
        table[(b'a' + letter) as usize] = 26 + letter;
        letter += 1;
    }
    let mut digit: u8 = 0;
    while digit < 10 {
        table[(b'0' + digit) as usize] = 52 + digit;
        digit += 1;
    }
    table[b'+' as usize] = 62;
    table[b'/' as usize] = 63;
    table[b' ' as usize] = IGNORED;
    table[b'\t' as usize] = IGNORED;
    table[b'\r' as usize] = IGNORED;
    table[b'\n' as usize] = IGNORED;
    table[b'=' as usize] = PADDING;
    table
}

/// `decode_base64`'s one pass, handing each decoded byte to `each` instead of keeping it
/// (`None`: not base64, after some bytes were handed on). Whole groups of four symbols are
/// decoded at once, and a byte is looked up in a table: scripts are a fifth of a workflow's
/// bytes, and decoding them was 5% of an initial plan.
fn decode_each(text: &str, mut each: impl FnMut(u8)) -> Option<()> {
    let bytes = text.as_bytes();
    let (mut buffer, mut bits) = (0u32, 0u32);
    let (mut symbols, mut padding) = (0usize, 0usize);
    let mut at = 0;
    while at < bytes.len() {
        // A group starts here (no bits held back, no padding seen): four symbols at once.
        if bits == 0
            && padding == 0
            && let Some(&[a, b, c, d]) = bytes.get(at..at + 4)
        {
            let group = [a, b, c, d].map(|byte| SEXTETS[usize::from(byte)]);
            if group.iter().all(|sextet| *sextet < IGNORED) {
                let joined = group
                    .iter()
                    .fold(0u32, |joined, sextet| (joined << 6) | u32::from(*sextet));
                let [_, first, second, third] = joined.to_be_bytes();
                each(first);
                each(second);
                each(third);
                symbols += 4;
                at += 4;
                continue;
            }
        }
        let value = SEXTETS[usize::from(bytes[at])];
        at += 1;
        match value {
            IGNORED => continue,
            // Only the last symbols may be `=`.
            PADDING => {
                symbols += 1;
                padding += 1;
                continue;
            }
            NOT_BASE64 => return None,
            _ if padding > 0 => return None,
            _ => {}
        }
        symbols += 1;
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            each((buffer >> bits).to_le_bytes()[0]);
        }
    }
    if !symbols.is_multiple_of(4) || padding > 2 {
        return None;
    }
    Some(())
}

/// The six bits a symbol of the standard base64 alphabet stands for (the reference
/// decoder's own, apart from `SEXTETS`).
#[cfg(test)]
fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// `decode_base64` as it was written first (the symbols copied, then decoded), which the
/// one-pass decoder must agree with.
#[cfg(test)]
fn decode_base64_by_symbols(text: &str) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text
        .bytes()
        .filter(|byte| !matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
        .collect();
    if !symbols.len().is_multiple_of(4) {
        return None;
    }
    let padding = symbols
        .iter()
        .rev()
        .take_while(|&&byte| byte == b'=')
        .count();
    if padding > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for &byte in &symbols[..symbols.len() - padding] {
        let value = sextet(byte)?;
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xFF).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_as_dotnet_does() {
        assert_eq!(decode_base64("cmV0dXJuIDE7").unwrap(), b"return 1;");
        assert_eq!(decode_base64("cmV0\r\ndXJu IDE7").unwrap(), b"return 1;");
        assert_eq!(decode_base64("YQ==").unwrap(), b"a");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("return 1;").is_none());
        assert!(decode_base64("YQ=").is_none());
        assert!(decode_base64("Y===").is_none());
        assert!(decode_base64("Y=Q=").is_none());
    }

    #[test]
    fn a_script_is_blank_as_the_runtime_reads_it() {
        // "  \n", "\u{a0}\u{3000}" (no-break and ideographic spaces), "\u{1c}" (not whitespace).
        assert_eq!(decoded_is_blank("ICAK"), Some(true));
        assert_eq!(decoded_is_blank("wqDjgIA="), Some(true));
        assert_eq!(decoded_is_blank("HA=="), Some(false));
        assert_eq!(decoded_is_blank("cmV0dXJuIDE7"), Some(false));
        assert_eq!(decoded_is_blank("/w=="), Some(false));
        assert_eq!(decoded_is_blank("x"), None);
        for byte in 0u8..0x80 {
            let blank = char::from(byte).is_whitespace();
            assert_eq!(
                byte.is_ascii_whitespace() || byte == 0x0b,
                blank,
                "{byte:#x}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn one_pass_decoding_agrees_with_decoding_the_symbols(text in "[A-Za-z0-9+/= \r\n\t*]{0,24}") {
            proptest::prop_assert_eq!(decode_base64(&text), decode_base64_by_symbols(&text));
        }

        /// Long runs of whole groups, broken by line breaks and padding anywhere: the groups
        /// decoded four symbols at once agree with decoding symbol by symbol.
        #[test]
        fn group_decoding_agrees_with_decoding_the_symbols(text in "([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{1,3}|\r\n| |=){0,40}") {
            proptest::prop_assert_eq!(decode_base64(&text), decode_base64_by_symbols(&text));
        }
    }
}
