//! The one pass over a record's JSON that checks it is valid and learns its shape.
//!
//! [`walk`] reads the record with `jiter` straight into a tree of [`Node`]s: nothing is built,
//! strings are skipped without being decoded (with SIMD where the CPU has it), and keys are
//! matched first against the field that followed the previous key last time (records of a
//! stream almost always list their keys in the same order, whatever that order is), so a key
//! costs one comparison. Values deeper than [`MAX_DEPTH`], and fields past the [`MAX_FIELDS`] /
//! [`MAX_NODES`] caps, are read (checked) but not tracked. What the walk cannot read, the caller
//! hands to `serde_json`, whose verdict and message stand.

use std::collections::HashMap;

use jiter::{Jiter, JiterError, Peek};

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

/// Why a walk stopped: the text is not JSON as the walk reads it (the caller asks `serde_json`
/// for the verdict and its message).
#[derive(Debug)]
pub(super) struct Unreadable;

impl From<JiterError> for Unreadable {
    fn from(_: JiterError) -> Unreadable {
        Unreadable
    }
}

/// How deep arrays and objects may nest, as `serde_json`'s recursion limit allows.
const NESTING_LIMIT: usize = 127;

/// Walk the JSON value at `jiter`'s position (already peeked as `peek`), at nesting `depth`:
/// its type is noted in `node` and its fields and items in their nodes, down to [`MAX_DEPTH`];
/// with no node (deeper, or past the caps) the value is only read.
pub(super) fn walk(
    jiter: &mut Jiter<'_>,
    peek: Peek,
    node: Option<&mut Node>,
    depth: usize,
    scan: &mut Scan<'_>,
) -> Result<(), Unreadable> {
    let found = match peek {
        Peek::Array | Peek::Object if depth >= NESTING_LIMIT => return Err(Unreadable),
        Peek::Array => return walk_array(jiter, node, depth, scan),
        Peek::Object => return walk_object(jiter, node, depth, scan),
        Peek::String => jiter.known_skip(peek).map(|()| JsonType::String)?,
        Peek::Null => jiter.known_null().map(|()| JsonType::Null)?,
        Peek::True | Peek::False => jiter.known_bool(peek).map(|_| JsonType::Boolean)?,
        _ => number_type(jiter.known_number_bytes(peek)?),
    };
    if let Some(node) = node {
        node.note(found, scan);
    }
    Ok(())
}

/// An array: its items walked into the node's item node.
fn walk_array(
    jiter: &mut Jiter<'_>,
    mut node: Option<&mut Node>,
    depth: usize,
    scan: &mut Scan<'_>,
) -> Result<(), Unreadable> {
    let tracked = depth < MAX_DEPTH;
    let mut element = jiter.known_array()?;
    while let Some(peek) = element {
        let items = node.as_deref_mut().filter(|_| tracked).and_then(|n| n.items(scan));
        walk(jiter, peek, items, depth + 1, scan)?;
        element = jiter.array_step()?;
    }
    if let Some(node) = node {
        node.note(JsonType::Array, scan);
    }
    Ok(())
}

/// An object: each field found (or added) in the node and its value walked into it; the
/// record's key is kept as the node's example.
fn walk_object(
    jiter: &mut Jiter<'_>,
    mut node: Option<&mut Node>,
    depth: usize,
    scan: &mut Scan<'_>,
) -> Result<(), Unreadable> {
    let tracked = depth < MAX_DEPTH;
    if let Some(node) = node.as_deref_mut() {
        node.last = 0;
    }
    let mut next = jiter.known_object()?.map(|name| field_of(node.as_deref_mut(), tracked, name, scan));
    while let Some(slot) = next {
        let child = match (slot, node.as_deref_mut()) {
            (Some(i), Some(n)) => Some(&mut n.fields[i].1),
            _ => None,
        };
        let peek = jiter.peek()?;
        walk(jiter, peek, child, depth + 1, scan)?;
        next = jiter.next_key()?.map(|name| field_of(node.as_deref_mut(), tracked, name, scan));
    }
    if let Some(node) = node {
        if node.example.is_none() && scan.checking {
            node.example = scan.key.map(Into::into);
        }
        node.note(JsonType::Object, scan);
    }
    Ok(())
}

/// The index of field `name` in `node` when the node is tracked at this depth.
fn field_of(node: Option<&mut Node>, tracked: bool, name: &str, scan: &mut Scan<'_>) -> Option<usize> {
    node.filter(|_| tracked)?.field(name, scan)
}

/// A number's type as `serde_json` reads it: an integer when it is written as one and fits
/// 64 bits, otherwise a number.
fn number_type(text: &[u8]) -> JsonType {
    let integer = !text.iter().any(|b| matches!(b, b'.' | b'e' | b'E'))
        && std::str::from_utf8(text).is_ok_and(|t| t.parse::<i64>().is_ok() || t.parse::<u64>().is_ok());
    if integer { JsonType::Integer } else { JsonType::Number }
}
