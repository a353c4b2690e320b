//! Identities of the rows `vnext` writes, derived from what they identify.
//!
//! Nothing in a migration depends on when or where it was generated: an `"Instances"` row's id
//! is a UUIDv5 of the domain, flow and key; an `"InstancesData"` row's id adds the version; its
//! ETag (a ULID-shaped 26-character Crockford base32 string) comes from the same names and the
//! content hash. (`"DataHash"`, the runtime's hash of the content, is `base::hash::data_hash`.)

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The namespace of every UUID `vnext` derives (a UUIDv5 of the name `vnext-tool.dev`).
const NAMESPACE: Uuid = Uuid::from_bytes([
    0x5c, 0x3b, 0x8f, 0x0e, 0x9b, 0x1d, 0x5a, 0x47, 0x8e, 0x2f, 0x41, 0xa6, 0x0c, 0x77, 0x13, 0xd2,
]);

/// The id of a component's `"Instances"` row.
pub(crate) fn instance_id(domain: &str, flow: &str, key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{domain}/{flow}/{key}").as_bytes())
}

/// The id of one version's `"InstancesData"` row.
pub(crate) fn version_id(domain: &str, flow: &str, key: &str, version: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("{domain}/{flow}/{key}@{version}").as_bytes(),
    )
}

/// A 26-character ETag in Crockford base32, like the runtime's ULIDs.
pub(crate) fn etag(
    domain: &str,
    flow: &str,
    key: &str,
    version: &str,
    content_hash: &str,
) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let digest =
        Sha256::digest(format!("{domain}/{flow}/{key}@{version}#{content_hash}").as_bytes());
    let mut value = u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"));
    let mut out = [b'0'; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value & 31) as usize];
        value >>= 5;
    }
    String::from_utf8(out.to_vec()).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = instance_id("loans", "sys-tasks", "score");
        assert_eq!(a, instance_id("loans", "sys-tasks", "score"));
        assert_ne!(a, instance_id("cards", "sys-tasks", "score"));
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn etags_look_like_ulids() {
        let tag = etag("loans", "sys-tasks", "score", "1.0.0", "abc");
        assert_eq!(tag.len(), 26);
        assert!(tag.chars().next().unwrap() <= '7');
        assert!(
            tag.chars()
                .all(|c| c.is_ascii_alphanumeric() && !"ILOU".contains(c))
        );
    }
}
