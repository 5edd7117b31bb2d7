//! Maps keyed by the ids of a history (accounts, resources, bills) or of
//! the specs (rules, lifecycles, parameters), hashed for speed.
//!
//! The model, the history's validator, the checks and the coverage
//! labeller look an id up for nearly every event they handle; with the
//! standard library's SipHash, hashing those short strings was a few
//! percent of a fleet's CPU. The ids come from specs and histories that
//! arrears builds or a user wrote, which arrears runs on the user's own
//! behalf, so the protection SipHash gives against keys chosen to collide
//! buys nothing here, while its cost is paid per event.
//!
//! Nothing may iterate over an [`IdMap`] where the order shows in a result:
//! the order follows the hash. The maps here are only looked up.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` hashed with [`IdHasher`].
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// An empty [`IdMap`].
pub(crate) fn id_map<K, V>() -> IdMap<K, V> {
    HashMap::with_hasher(BuildHasherDefault::default())
}

/// A multiply-and-rotate hash over eight bytes at a time: a handful of
/// instructions for an id of a few dozen bytes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

/// An odd constant with its bits well mixed (the golden ratio's), so that
/// the multiplication spreads every input bit over the high bits, which
/// the hash table reads.
const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(MIX);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.add(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length tells "ab" from "ab\0".
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_holds_and_not_what_it_does_not() {
        let mut map: IdMap<String, usize> = id_map();
        let ids: Vec<String> = (0..500)
            .map(|i| format!("acct-{i}/ecs-{}", i % 7))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            map.insert(id.clone(), i);
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(map.get(id.as_str()), Some(&i));
        }
        assert_eq!(map.len(), ids.len());
        assert_eq!(map.get("acct-0/ecs-1"), None);
        assert_eq!(map.get(""), None);
    }

    #[test]
    fn tells_apart_ids_that_differ_only_in_trailing_zero_bytes() {
        let hash = |s: &str| {
            let mut h = IdHasher::default();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_ne!(hash("ab"), hash("ab\0"));
        assert_ne!(hash("abcdefgh"), hash("abcdefgh\0"));
        assert_ne!(hash("a"), hash("b"));
    }
}
