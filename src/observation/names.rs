//! How the observation vocabulary holds its ids and verdicts in memory:
//! [`Name`], a shared string, and [`OperationMap`], shared operation names
//! with verdicts as bits. Both read and write as plain JSON (a string, an
//! object of booleans), so the wire format does not depend on them.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An id in an observation (an account, resource, bill, product,
/// lifecycle, state or operation): a string shared rather than copied, since
/// the model repeats the same ids in every observation it takes. Compares
/// with `&str` and `String`, and reads as a plain JSON string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Name(Arc<str>);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(Arc::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(Arc::from(s))
    }
}

impl From<Arc<str>> for Name {
    fn from(s: Arc<str>) -> Name {
        Name(s)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        **self == *other.0
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Name(Arc::from(String::deserialize(deserializer)?)))
    }
}

impl JsonSchema for Name {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        String::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

/// Operations by name, each with whether it would be allowed now: a JSON
/// object `{"release": true, "renew": false}`, in name order.
///
/// The names are shared by every map of one product and the verdicts are
/// bits: the model builds a map for every resource at every observation,
/// and this one costs no allocation to build, clone or drop (below 64
/// operations a product).
#[derive(Debug, Clone, Default)]
pub struct OperationMap {
    /// In name order, without repeats.
    names: Arc<[Arc<str>]>,
    /// Bit `i` tells whether `names[i]` would be allowed; bits from 64 on
    /// are in `more`, 64 to a word.
    allowed: u64,
    more: Vec<u64>,
}

impl OperationMap {
    /// From names in order and without repeats (the model's, shared
    /// between its maps) and the verdict on each, in the same order.
    pub(crate) fn from_shared(
        names: Arc<[Arc<str>]>,
        allowed: impl IntoIterator<Item = bool>,
    ) -> OperationMap {
        debug_assert!(names.windows(2).all(|w| w[0] < w[1]));
        let mut map = OperationMap {
            more: vec![0; names.len().saturating_sub(1) / 64],
            names,
            allowed: 0,
        };
        for (i, allowed) in allowed.into_iter().enumerate() {
            map.set_bit(i, allowed);
        }
        map
    }

    fn bit(&self, i: usize) -> bool {
        let word = if i < 64 {
            self.allowed
        } else {
            self.more[i / 64 - 1]
        };
        word >> (i % 64) & 1 == 1
    }

    fn set_bit(&mut self, i: usize, allowed: bool) {
        let word = if i < 64 {
            &mut self.allowed
        } else {
            &mut self.more[i / 64 - 1]
        };
        if allowed {
            *word |= 1 << (i % 64);
        } else {
            *word &= !(1 << (i % 64));
        }
    }

    fn position(&self, op: &str) -> Result<usize, usize> {
        self.names.binary_search_by(|name| (**name).cmp(op))
    }

    /// Whether `op` would be allowed, if the map names it.
    pub fn get(&self, op: &str) -> Option<bool> {
        self.position(op).ok().map(|i| self.bit(i))
    }

    /// Sets whether `op` would be allowed (adding it if new).
    pub fn insert(&mut self, op: &str, allowed: bool) {
        match self.position(op) {
            Ok(i) => self.set_bit(i, allowed),
            Err(i) => {
                // A new name: the names are shared, so this map gets its own.
                let mut entries: Vec<(Arc<str>, bool)> = self
                    .names
                    .iter()
                    .enumerate()
                    .map(|(j, name)| (name.clone(), self.bit(j)))
                    .collect();
                entries.insert(i, (Arc::from(op), allowed));
                let names: Arc<[Arc<str>]> = entries.iter().map(|(n, _)| n.clone()).collect();
                *self = OperationMap::from_shared(names, entries.into_iter().map(|(_, a)| a));
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, bool)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, name)| (&**name, self.bit(i)))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|name| &**name)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl PartialEq for OperationMap {
    fn eq(&self, other: &OperationMap) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for OperationMap {}

impl<S: AsRef<str>> FromIterator<(S, bool)> for OperationMap {
    /// Later entries for one name replace earlier ones, as in a map.
    fn from_iter<I: IntoIterator<Item = (S, bool)>>(entries: I) -> OperationMap {
        let map: BTreeMap<String, bool> = entries
            .into_iter()
            .map(|(name, allowed)| (name.as_ref().to_string(), allowed))
            .collect();
        OperationMap::from_btree(map)
    }
}

impl OperationMap {
    fn from_btree(map: BTreeMap<String, bool>) -> OperationMap {
        let names: Arc<[Arc<str>]> = map.keys().map(|k| Arc::from(k.as_str())).collect();
        OperationMap::from_shared(names, map.into_values())
    }
}

impl Serialize for OperationMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for OperationMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(OperationMap::from_btree(
            BTreeMap::<String, bool>::deserialize(deserializer)?,
        ))
    }
}

impl JsonSchema for OperationMap {
    fn inline_schema() -> bool {
        <BTreeMap<String, bool>>::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        <BTreeMap<String, bool>>::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        <BTreeMap<String, bool>>::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<String, bool>>::json_schema(generator)
    }
}
