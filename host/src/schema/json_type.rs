//! The JSON types a value can have, sets of them, and counts of values per type.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The type of one JSON value. `Integer` is a number written without a fraction or exponent;
/// every integer is also a `Number` (JSON Schema's rule), see [`TypeSet::admits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// A number with only digits, e.g. `42` or `-7` (any length).
    Integer,
    /// Any other number, e.g. `1.5`, `1e400`.
    Number,
    /// A string.
    String,
    /// An object.
    Object,
    /// An array.
    Array,
}

impl JsonType {
    /// Every type, in the order sets and counts list them.
    pub const ALL: [JsonType; 7] = [
        JsonType::Null,
        JsonType::Boolean,
        JsonType::Integer,
        JsonType::Number,
        JsonType::String,
        JsonType::Object,
        JsonType::Array,
    ];

    /// The JSON Schema name of the type.
    pub fn name(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "boolean",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Object => "object",
            JsonType::Array => "array",
        }
    }

    /// The type named `name` in JSON Schema, if any.
    pub fn from_name(name: &str) -> Option<JsonType> {
        JsonType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The type of the JSON value `json` starts with, from its first character (a number is an
    /// `Integer` when written with digits only). For values read as text, unchecked: `json` is
    /// assumed valid.
    pub fn of_text(json: &str) -> JsonType {
        let json = json.trim();
        match json.bytes().next() {
            Some(b'{') => JsonType::Object,
            Some(b'[') => JsonType::Array,
            Some(b'"') => JsonType::String,
            Some(b't' | b'f') => JsonType::Boolean,
            Some(b'n') => JsonType::Null,
            _ if json.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) => JsonType::Integer,
            _ => JsonType::Number,
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of JSON types, e.g. the types a field has been seen with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeSet(u8);

impl TypeSet {
    /// No type.
    pub const EMPTY: TypeSet = TypeSet(0);
    /// Every type: what a schema that says nothing about a value allows.
    pub const ANY: TypeSet = TypeSet(0x7f);

    /// The set holding only `t`.
    pub fn of(t: JsonType) -> TypeSet {
        TypeSet(t.bit())
    }

    /// Whether `t` is in the set.
    pub fn contains(self, t: JsonType) -> bool {
        self.0 & t.bit() != 0
    }

    /// The set with `t` added.
    pub fn with(self, t: JsonType) -> TypeSet {
        TypeSet(self.0 | t.bit())
    }

    /// Both sets together.
    pub fn union(self, other: TypeSet) -> TypeSet {
        TypeSet(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether a value of type `t` fits a field of these types: `t` is in the set, or `t` is an
    /// integer and the set has `number`. `null` is not special here; contracts decide about it.
    pub fn admits(self, t: JsonType) -> bool {
        self.contains(t) || (t == JsonType::Integer && self.contains(JsonType::Number))
    }

    /// The types in the set, in [`JsonType::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = JsonType> {
        JsonType::ALL.into_iter().filter(move |t| self.contains(*t))
    }
}

impl FromIterator<JsonType> for TypeSet {
    fn from_iter<I: IntoIterator<Item = JsonType>>(iter: I) -> TypeSet {
        iter.into_iter().fold(TypeSet::EMPTY, TypeSet::with)
    }
}

/// Written as the type names joined by `|`, e.g. `integer|null`; `nothing` when empty.
impl fmt::Display for TypeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("nothing");
        }
        for (i, t) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            f.write_str(t.name())?;
        }
        Ok(())
    }
}

impl Serialize for TypeSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for TypeSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<TypeSet, D::Error> {
        Ok(Vec::<JsonType>::deserialize(deserializer)?.into_iter().collect())
    }
}

/// How many values of each type a field had. A type can be in the set with a count of 0: a
/// declared schema allows it, no value had it yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeCounts {
    types: TypeSet,
    counts: [u64; 7],
}

impl TypeCounts {
    /// The types allowed or seen, with no value counted.
    pub fn allowing(types: TypeSet) -> TypeCounts {
        TypeCounts { types, counts: [0; 7] }
    }

    /// Count one value of type `t`.
    #[inline]
    pub fn add(&mut self, t: JsonType) {
        self.types = self.types.with(t);
        self.counts[t as usize] += 1;
    }

    /// The types in the set.
    pub fn types(&self) -> TypeSet {
        self.types
    }

    /// How many values had type `t`.
    pub fn count(&self, t: JsonType) -> u64 {
        self.counts[t as usize]
    }

    /// How many values were counted, of any type: how often the field was present.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The counts of both, with both sets of types.
    pub fn merge(&mut self, other: &TypeCounts) {
        self.types = self.types.union(other.types);
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
    }
}

/// Written as a map from type name to count, in [`JsonType::ALL`] order: `{"integer":3,"null":1}`.
impl Serialize for TypeCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.types.iter().map(|t| (t, self.count(t))))
    }
}

impl<'de> Deserialize<'de> for TypeCounts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<TypeCounts, D::Error> {
        let map = std::collections::BTreeMap::<JsonType, u64>::deserialize(deserializer)?;
        let mut counts = TypeCounts::default();
        for (t, n) in map {
            counts.types = counts.types.with(t);
            counts.counts[t as usize] = n;
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_field_admits_integers_but_not_the_other_way_round() {
        let number = TypeSet::of(JsonType::Number);
        assert!(number.admits(JsonType::Integer));
        assert!(!TypeSet::of(JsonType::Integer).admits(JsonType::Number));
        assert!(!number.admits(JsonType::Null), "null is the contract's business");
    }

    #[test]
    fn counts_serialise_as_a_map_in_a_stable_order_and_keep_declared_zero_counts() {
        let mut counts = TypeCounts::allowing(TypeSet::of(JsonType::String));
        counts.add(JsonType::Null);
        counts.add(JsonType::Integer);
        counts.add(JsonType::Integer);
        let text = serde_json::to_string(&counts).unwrap();
        assert_eq!(text, r#"{"null":1,"integer":2,"string":0}"#);
        assert_eq!(serde_json::from_str::<TypeCounts>(&text).unwrap(), counts);
        assert_eq!(counts.total(), 3);
        assert_eq!(counts.types().to_string(), "null|integer|string");
    }
}
