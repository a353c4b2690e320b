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

/// The runtime's `"DataHash"`: lowercase hex SHA-1 of the normalized (canonical) JSON.
pub(crate) fn data_hash(canonical: &str) -> String {
    hex(&Sha1::digest(canonical.as_bytes()))
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
        for (at, _) in piece.iter().enumerate().filter(|(_, byte)| **byte == b'\r') {
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

    #[test]
    fn data_hash_of_empty_object() {
        assert_eq!(data_hash("{}"), "bf21a9e8fbc5a3846fb05b4fa0859e0917b2202f");
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
