//! Hashes, and the canonical JSON they are taken of.
//!
//! Every stage hashes something: the front end a component's content, the compiler index names
//! and ids, `generated/` its files and `vnext.sum`, apply the states it records, drift the live
//! rows. They all hash the same way through this module, so a value hashed in one stage can be
//! compared with the same value hashed in another.
//!
//! A checksum (`sha256:<hex>`) reads CRLF as LF, so a checkout on Windows does not look like an
//! edit; a content hash is of canonical JSON, so the order and format a value was written in do
//! not count.

use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Lowercase hex of any byte string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// Lowercase hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// JSON with object keys sorted and no insignificant whitespace: the same value always gives
/// the same text, whatever the order or format it was written in.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (idx, (key, member)) in entries.into_iter().enumerate() {
                if idx > 0 {
                    out.push(b',');
                }
                write_scalar(key, out);
                out.push(b':');
                write_canonical(member, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

/// A key or scalar as serde_json writes it.
fn write_scalar(value: &(impl serde::Serialize + ?Sized), out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, value).expect("writing to a Vec cannot fail");
}

/// What "the content of a version" means: the first 128 bits of the SHA-256 of its canonical
/// JSON, in hex. 128 bits identify content well enough and keep `state.json` small.
pub(crate) fn content_hash(canonical: &str) -> String {
    let mut hash = sha256_hex(canonical.as_bytes());
    hash.truncate(32);
    hash
}

/// The runtime's `"DataHash"` of a value: lowercase hex SHA-1 of `runtime_json(value)`, as
/// `InstanceData.ComputeDataHash` takes it of `JsonData.NormalizedJson`.
pub(crate) fn data_hash(value: &Value) -> String {
    hex(&Sha1::digest(runtime_json(value).as_bytes()))
}

/// `data_hash(value)` given `canonical_json(value)`: when the canonical text is ASCII without a
/// `\u` escape, the runtime's text is the same text (byte order is UTF-16 order for ASCII keys,
/// and the two escape `"`, `\` and the short control characters alike), so only the hash is
/// taken; otherwise the runtime's text is written.
pub(crate) fn data_hash_with(canonical: &str, value: &Value) -> String {
    if canonical.is_ascii() && !canonical.contains("\\u") {
        return hex(&Sha1::digest(canonical.as_bytes()));
    }
    data_hash(value)
}

/// A value as the runtime's `JsonData.NormalizeJson` writes it (burgan-tech/vnext
/// `src/BBT.Workflow.Domain/JsonData.cs`): object members sorted by `StringComparer.Ordinal`
/// (UTF-16 code units), no whitespace, strings through `JavaScriptEncoder.UnsafeRelaxedJsonEscaping`
/// (`\"`, `\\`, short escapes, `\uXXXX` in upper case for what that encoder blocks, every
/// character outside the BMP as a surrogate pair). Numbers are written as serde_json writes
/// them; the runtime keeps the text it received (docs/runtime-parity/rows.md says where the two
/// can differ).
pub(crate) fn runtime_json(value: &Value) -> String {
    let mut out = String::new();
    write_runtime(value, &mut out);
    out
}

fn write_runtime(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (idx, (key, member)) in entries.into_iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                write_relaxed(key, out);
                out.push(':');
                write_runtime(member, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                write_runtime(item, out);
            }
            out.push(']');
        }
        Value::String(text) => write_relaxed(text, out),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
    }
}

/// A JSON string as `UnsafeRelaxedJsonEscaping` writes it.
fn write_relaxed(text: &str, out: &mut String) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            ch if relaxed_blocks(ch) => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            ch => out.push(ch),
        }
    }
    out.push('"');
}

/// What the .NET encoders never let through, whatever ranges they allow: every character
/// outside the BMP, control characters, and the BMP characters of the categories the encoders'
/// global block list names (space separators other than U+0020, line and paragraph separators,
/// format characters, private use, non-characters).
fn relaxed_blocks(ch: char) -> bool {
    let code = u32::from(ch);
    !(0x20..=0xFFFF).contains(&code)
        || (0x7F..=0x9F).contains(&code)
        || matches!(
            code,
            0xA0 | 0xAD
                | 0x600..=0x605
                | 0x61C
                | 0x6DD
                | 0x70F
                | 0x890..=0x891
                | 0x8E2
                | 0x1680
                | 0x180E
                | 0x2000..=0x200F
                | 0x2028..=0x202F
                | 0x205F..=0x2064
                | 0x2066..=0x206F
                | 0x3000
                | 0xE000..=0xF8FF
                | 0xFDD0..=0xFDEF
                | 0xFEFF
                | 0xFFF9..=0xFFFB
                | 0xFFFE..=0xFFFF
        )
}

/// `sha256:<hex>` of a text with CRLF read as LF: how migrations, `vnext.sum`, the migration
/// history and the recorded states identify a text.
pub(crate) fn checksum(text: &str) -> String {
    let mut checksum = Checksum::new();
    checksum.update(text.as_bytes());
    checksum.finish()
}

/// `checksum`, taken piece by piece: a migration can be tens of megabytes and only its hash is
/// kept. Bytes are hashed as they are, so a file that is not UTF-8 gets a checksum (which then
/// fails to match) rather than an error.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checksum {
    hasher: Sha256,
    /// A CR at the end of one piece is held back until the next shows whether an LF follows.
    held_cr: bool,
}

impl Checksum {
    pub(crate) fn new() -> Checksum {
        Checksum::default()
    }

    pub(crate) fn update(&mut self, piece: &[u8]) {
        let Some(&first) = piece.first() else {
            return;
        };
        if self.held_cr && first != b'\n' {
            self.hasher.update(b"\r");
        }
        self.held_cr = false;
        let mut start = 0;
        // memchr: a migration is mostly text without a CR, scanned a word at a time.
        for at in memchr::memchr_iter(b'\r', piece) {
            match piece.get(at + 1) {
                Some(b'\n') => {
                    self.hasher.update(&piece[start..at]);
                    start = at + 1;
                }
                Some(_) => {}
                None => {
                    self.hasher.update(&piece[start..at]);
                    start = piece.len();
                    self.held_cr = true;
                }
            }
        }
        self.hasher.update(&piece[start..]);
    }

    pub(crate) fn finish(mut self) -> String {
        if self.held_cr {
            self.hasher.update(b"\r");
        }
        format!("sha256:{}", hex(&self.hasher.finalize()))
    }
}

/// The `checksum` of everything `reader` yields, read in pieces of `piece` bytes.
pub(crate) fn checksum_reader(
    mut reader: impl std::io::Read,
    piece: usize,
) -> std::io::Result<String> {
    let mut checksum = Checksum::new();
    let mut buf = vec![0u8; piece];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        checksum.update(&buf[..n]);
    }
    Ok(checksum.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"b": 1, "a": {"d": [2, {"z": null, "y": "é"}], "c": true}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":true,"d":[2,{"y":"é","z":null}]},"b":1}"#
        );
    }

    /// Vectors worked out by hand from the runtime's `JsonData.NormalizeJson` (burgan-tech/vnext
    /// `JsonData.cs`, docs/runtime-parity/rows.md): the source text, what the runtime hashes,
    /// and the SHA-1 of that text (`printf '%s' TEXT | sha1sum`).
    const VECTORS: &[(&str, &str, &str)] = &[
        // The empty object. (The EF model's column default 99914b93… is MD5("{}"), not this.)
        ("{}", "{}", "bf21a9e8fbc5a3846fb05b4fa0859e0917b2202f"),
        // Ordinal key order: upper case before lower case.
        (
            r#"{"b":1,"a":2,"B":3}"#,
            r#"{"B":3,"a":2,"b":1}"#,
            "241d93d6568e9d878aa0a180f989d730e5ca6d78",
        ),
        // Nested objects sorted at every level, whitespace gone.
        (
            r#"{"z": {"y": [{"b": true, "a": null}], "x": "v"}, "a": []}"#,
            r#"{"a":[],"z":{"x":"v","y":[{"a":null,"b":true}]}}"#,
            "1b65545a17cf213d0a549a526b3895da763e5d1a",
        ),
        // Arrays keep their order; objects inside them are sorted.
        (
            r#"{"list":[3,1,{"d":1,"c":2}]}"#,
            r#"{"list":[3,1,{"c":2,"d":1}]}"#,
            "4af87adc1a179d5861007fa6e3a7a3e4641973d1",
        ),
        // Numbers whose text serde_json keeps: integers, 1.0, 1.5, negatives.
        (
            r#"{"d":-7,"c":100,"b":1.5,"a":1.0}"#,
            r#"{"a":1.0,"b":1.5,"c":100,"d":-7}"#,
            "df4bc911d7be9265c355cd8d039660cffc42b47d",
        ),
        // Escapes: \" and \\ short, \/ unescaped, control characters short or \u00XX.
        (
            r#"{"s":"a\"b\\c\/d\n\t\u0001"}"#,
            r#"{"s":"a\"b\\c/d\n\t\u0001"}"#,
            "a72ecf90c13950a56c5d9697764cc2070071e886",
        ),
        // Relaxed escaping lets non-ASCII letters and HTML-sensitive characters through.
        (
            r#"{"t":"\u00e9<>&'+ ü"}"#,
            r#"{"t":"é<>&'+ ü"}"#,
            "6e318ced51965dc44ef641adb2be4abe517f34b4",
        ),
        // UTF-16 order puts a surrogate pair (U+1F600) before U+FF61; outside the BMP is escaped.
        (
            r#"{"｡":2,"😀":1}"#,
            r#"{"\uD83D\uDE00":1,"｡":2}"#,
            "3381ce6477d75b7a1a41bf4e934ee79c1c806101",
        ),
        // Ordinal, not culture: dotless ı (U+0131) after i.
        (
            r#"{"ı":"İ","i":"I"}"#,
            r#"{"i":"I","ı":"İ"}"#,
            "e857719c436f0594a259ed459a9fbbb39f2aff85",
        ),
        // Blocked even when relaxed: DEL, C1 controls, NBSP, line separator, private use.
        (
            r#"{"c":"\u007f\u0085\u00a0\u2028\ue000"}"#,
            r#"{"c":"\u007F\u0085\u00A0\u2028\uE000"}"#,
            "be97689732d04e072123f2ce2700b84d4eadff29",
        ),
    ];

    #[test]
    fn data_hash_matches_the_runtime_vectors() {
        for (source, normalized, hash) in VECTORS {
            let value: Value = serde_json::from_str(source).unwrap();
            assert_eq!(&runtime_json(&value), normalized, "{source}");
            assert_eq!(&data_hash(&value), hash, "{source}");
        }
    }

    #[test]
    fn the_canonical_shortcut_gives_the_same_hash() {
        let extra = [
            r#"{"k":"\u000b\u001f","a":[1,"x y"]}"#,
            r#"{"e":"é"}"#,
            r#"{"b":"\"\\"}"#,
        ];
        let sources = VECTORS.iter().map(|(source, _, _)| *source).chain(extra);
        for source in sources {
            let value: Value = serde_json::from_str(source).unwrap();
            assert_eq!(
                data_hash_with(&canonical_json(&value), &value),
                data_hash(&value),
                "{source}"
            );
        }
    }

    /// Where vnext and the runtime part: the runtime keeps a number's text (`1e2`, `-0`, `1.50`);
    /// vnext has the parsed number and writes it as serde_json does.
    #[test]
    fn numbers_are_written_as_parsed() {
        let value: Value = serde_json::from_str(r#"{"a":1e2,"b":-0,"c":1.50}"#).unwrap();
        assert_eq!(runtime_json(&value), r#"{"a":100.0,"b":-0.0,"c":1.5}"#);
    }

    #[test]
    fn line_endings_do_not_count() {
        assert_eq!(checksum("a\r\nb\r\n"), checksum("a\nb\n"));
    }

    #[test]
    fn a_file_hashes_as_its_text_whatever_the_pieces() {
        let texts = [
            "",
            "\r",
            "\r\n",
            "\r\r\n\n",
            "BEGIN;\r\nSELECT 1;\r\nCOMMIT;\r\n",
            "a lone \r stays\r, a pair\r\n goes\r",
            "ünï\r\ncødé\r\n\r\n",
        ];
        for text in texts {
            for piece in 1..=6 {
                let streamed = checksum_reader(text.as_bytes(), piece).unwrap();
                assert_eq!(
                    streamed,
                    sha256_of_normalized(text),
                    "{text:?} in pieces of {piece}"
                );
            }
        }
    }

    /// The definition a streamed checksum must meet: SHA-256 of the text with CRLF as LF.
    fn sha256_of_normalized(text: &str) -> String {
        format!(
            "sha256:{}",
            sha256_hex(text.replace("\r\n", "\n").as_bytes())
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]
        /// Any text of CRs, LFs and a few other characters, in any piece size.
        #[test]
        fn a_file_hashes_as_its_text_for_any_text(text in "[\r\na\u{e9};]{0,40}", piece in 1usize..9) {
            proptest::prop_assert_eq!(checksum_reader(text.as_bytes(), piece).unwrap(), sha256_of_normalized(&text));
            proptest::prop_assert_eq!(checksum(&text), sha256_of_normalized(&text));
        }
    }
}
