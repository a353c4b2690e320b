//! Text kept compressed (LZ4) between where it is made and where it is written.
//!
//! A plan holds the canonical `attributes` of every component version it publishes from the
//! moment the file is read until the migration is rendered. At 10,000 workflows that was
//! 151 MB of an initial plan's 339 MB heap, for text that is read once, by the renderer.
//! Compressed where each file is read (on every core), it is a third to a fifth of that:
//! JSON repeats its keys, and the canonical form is one line. The same text always packs to
//! the same bytes, so two packs compare equal exactly when their texts do.

use std::sync::Arc;

/// A text, compressed; the empty pack is the empty text.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Packed {
    bytes: Arc<[u8]>,
    /// The text's length in bytes.
    len: usize,
}

impl Packed {
    /// `text`, compressed.
    pub fn pack(text: &str) -> Packed {
        if text.is_empty() {
            return Packed::default();
        }
        Packed {
            bytes: Arc::from(lz4_flex::block::compress(text.as_bytes())),
            len: text.len(),
        }
    }

    /// The text, decompressed.
    pub fn text(&self) -> String {
        if self.len == 0 {
            return String::new();
        }
        // Only `pack` makes the bytes, from a `str` of this length: neither step can fail.
        let bytes = lz4_flex::block::decompress(&self.bytes, self.len)
            .expect("vnext packed these bytes itself");
        String::from_utf8(bytes).expect("vnext packed a str")
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The text's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
}

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Packed").field(&self.text()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_comes_back_as_it_was_packed() {
        for text in ["", "{}", "é€𝄞 and \\u0000", &"{\"a\":1}".repeat(10_000)] {
            let packed = Packed::pack(text);
            assert_eq!(packed.text(), text);
            assert_eq!(packed.len(), text.len());
            assert_eq!(packed.is_empty(), text.is_empty());
        }
    }

    #[test]
    fn packs_are_equal_exactly_when_their_texts_are() {
        let text = "{\"key\":\"flow-00001\",\"states\":[1,2,3]}".repeat(50);
        assert_eq!(Packed::pack(&text), Packed::pack(&text));
        assert_ne!(Packed::pack(&text), Packed::pack(&text.replace('3', "4")));
        assert!(Packed::pack(&text).bytes.len() < text.len() / 4);
    }
}
