//! The one pass over a record's JSON that checks it is valid and learns its shape.
//!
//! A serde [`DeserializeSeed`] walks `serde_json`'s deserializer straight into a tree of
//! [`Node`]s: no `serde_json::Value` is built, unescaped keys and strings are borrowed, and keys
//! are matched first against the field that followed the previous key last time (records of a
//! stream almost always list their keys in the same order, whatever that order is), so a key
//! costs one comparison.
//! Values deeper than [`MAX_DEPTH`], and fields past the [`MAX_FIELDS`] / [`MAX_NODES`] caps,
//! are skipped with `IgnoredAny` (checked exactly as `RawValue` checks them) and not tracked.

use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::change::{Change, Deviation};
use super::json_type::{JsonType, TypeCounts, TypeSet};
use super::path::FieldPath;
use super::shape::FieldShape;

/// How deep fields are tracked: `a.b.c.d.e.f` (array items count as a level).
pub const MAX_DEPTH: usize = 6;
/// Fields tracked per object; objects used as maps (keyed by ids) stop growing here.
pub const MAX_FIELDS: usize = 1_000;
/// Fields tracked per stream.
pub const MAX_NODES: usize = 10_000;

/// Where a node comes from, for telling what a record does differently from the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// In the baseline, with these types.
    Known(TypeSet),
    /// Not in the baseline; its parent is.
    New,
    /// Below a new field: reported through that field only.
    InsideNew,
}

/// One tracked place in the records, while a run goes on.
#[derive(Debug)]
pub(super) struct Node {
    /// The values counted here in this run.
    pub counts: TypeCounts,
    /// Whether the baseline has this place, and with which types.
    pub origin: Origin,
    /// Where this is, for deviations.
    pub path: FieldPath,
    /// The key of the first record in which this was an object: an example for its gone fields.
    pub example: Option<Box<str>>,
    /// The fields of the objects seen here, in the order first seen.
    pub fields: Vec<(Box<str>, Node)>,
    /// Key -> position in `fields`, when the guess misses.
    index: HashMap<Box<str>, usize>,
    /// `follows[0]`: the field that came first in the last object read; `follows[i + 1]`: the
    /// field that came after field `i`. The guess for the next key.
    follows: Vec<usize>,
    /// The slot in `follows` of the key just read (0 at the start of an object).
    last: usize,
    /// The items of the arrays seen here.
    pub items: Option<Box<Node>>,
}

impl Node {
    fn new(path: FieldPath, origin: Origin) -> Node {
        Node {
            counts: TypeCounts::default(),
            origin,
            path,
            example: None,
            fields: Vec::new(),
            index: HashMap::new(),
            follows: vec![0],
            last: 0,
            items: None,
        }
    }

    /// An empty tree; `checking` none of its fields against anything.
    pub fn root() -> Node {
        Node::new(FieldPath::root(), Origin::Known(TypeSet::ANY))
    }

    /// A tree holding the baseline's fields, nothing counted yet.
    pub fn from_baseline(shape: &FieldShape, path: FieldPath) -> Node {
        let mut node = Node::new(path, Origin::Known(shape.types.types()));
        for (key, field) in &shape.fields {
            let child = Node::from_baseline(field, node.path.child(key));
            node.index.insert(key.as_str().into(), node.fields.len());
            node.fields.push((key.as_str().into(), child));
            node.follows.push(node.fields.len());
        }
        node.items = shape.items.as_ref().map(|items| Box::new(Node::from_baseline(items, node.path.items())));
        node
    }

    /// What was seen, without the baseline's fields that nothing had.
    pub fn to_shape(&self) -> FieldShape {
        let fields = self
            .fields
            .iter()
            .filter(|(_, n)| n.counts.total() > 0)
            .map(|(k, n)| (k.to_string(), n.to_shape()))
            .collect();
        let items = self.items.as_ref().filter(|n| n.counts.total() > 0).map(|n| Box::new(n.to_shape()));
        FieldShape { types: self.counts, fields, items }
    }

    fn child_origin(&self) -> Origin {
        match self.origin {
            Origin::Known(_) => Origin::New,
            Origin::New | Origin::InsideNew => Origin::InsideNew,
        }
    }

    /// Count one value of type `t` here, noting how it deviates from the baseline.
    fn note(&mut self, t: JsonType, scan: &mut Scan<'_>) {
        self.counts.add(t);
        if !scan.checking {
            return;
        }
        let change = match self.origin {
            Origin::New => Change::Added { types: TypeSet::of(t) },
            Origin::Known(known) if t == JsonType::Null && !known.contains(t) => Change::NowNull,
            Origin::Known(known) if t != JsonType::Null && !known.admits(t) => {
                Change::TypeChanged { from: known, to: TypeSet::of(t) }
            }
            _ => return,
        };
        scan.deviations.push(Deviation { path: self.path.clone(), change });
    }

    /// The index of field `key`, added if new and the caps allow.
    fn field(&mut self, key: &str, scan: &mut Scan<'_>) -> Option<usize> {
        let hinted = self.follows[self.last];
        let found = match self.fields.get(hinted) {
            Some((k, _)) if **k == *key => Some(hinted),
            _ => self.index.get(key).copied(),
        };
        let i = match found {
            Some(i) => i,
            None if self.fields.len() < MAX_FIELDS && scan.nodes < MAX_NODES => {
                scan.nodes += 1;
                let child = Node::new(self.path.child(key), self.child_origin());
                self.index.insert(key.into(), self.fields.len());
                self.fields.push((key.into(), child));
                self.follows.push(self.fields.len());
                self.fields.len() - 1
            }
            None => return None,
        };
        self.follows[self.last] = i;
        self.last = i + 1;
        Some(i)
    }

    /// The node of this array's items, added if new and the caps allow.
    fn items(&mut self, scan: &mut Scan<'_>) -> Option<&mut Node> {
        if self.items.is_none() && scan.nodes < MAX_NODES {
            scan.nodes += 1;
            self.items = Some(Box::new(Node::new(self.path.items(), self.child_origin())));
        }
        self.items.as_deref_mut()
    }
}

/// What one record's pass shares: whether to compare with a baseline, and what it found.
pub(super) struct Scan<'r> {
    /// Compare with the baseline (there is one).
    pub checking: bool,
    /// The record's primary key.
    pub key: Option<&'r str>,
    /// Deviations found so far in this record.
    pub deviations: &'r mut Vec<Deviation>,
    /// Nodes in the tree, against [`MAX_NODES`].
    pub nodes: usize,
}

/// Reads one value into `node` (or only checks it when there is no node).
pub(super) struct ValueSeed<'n, 's, 'r> {
    pub node: Option<&'n mut Node>,
    pub depth: usize,
    pub scan: &'s mut Scan<'r>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.node.is_some() {
            deserializer.deserialize_any(self)
        } else {
            deserializer.deserialize_ignored_any(IgnoredAny).map(drop)
        }
    }
}

impl ValueSeed<'_, '_, '_> {
    fn leaf<E>(self, t: JsonType) -> Result<(), E> {
        if let Some(node) = self.node {
            node.note(t, self.scan);
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.leaf(JsonType::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.leaf(JsonType::Boolean)
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.leaf(JsonType::Integer)
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.leaf(JsonType::Integer)
    }

    /// serde_json hands over integers too large for 64 bits as floats: they count as numbers.
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.leaf(JsonType::Number)
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.leaf(JsonType::String)
    }

    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<(), E> {
        self.leaf(JsonType::String)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ValueSeed { node, depth, scan } = self;
        let node = node.expect("untracked values are ignored, not visited");
        if depth < MAX_DEPTH {
            loop {
                let items = node.items(scan);
                if seq.next_element_seed(ValueSeed { node: items, depth: depth + 1, scan: &mut *scan })?.is_none() {
                    break;
                }
            }
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        node.note(JsonType::Array, scan);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ValueSeed { node, depth, scan } = self;
        let node = node.expect("untracked values are ignored, not visited");
        if depth < MAX_DEPTH {
            node.last = 0;
            while let Some(slot) = map.next_key_seed(KeySeed { node: &mut *node, scan: &mut *scan })? {
                let child = slot.map(|i| &mut node.fields[i].1);
                map.next_value_seed(ValueSeed { node: child, depth: depth + 1, scan: &mut *scan })?;
            }
        } else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        }
        if node.example.is_none() && scan.checking {
            node.example = scan.key.map(Into::into);
        }
        node.note(JsonType::Object, scan);
        Ok(())
    }
}

/// Reads one key and finds (or adds) its field.
struct KeySeed<'n, 's, 'r> {
    node: &'n mut Node,
    scan: &'s mut Scan<'r>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_, '_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_, '_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.node.field(key, self.scan))
    }
}
