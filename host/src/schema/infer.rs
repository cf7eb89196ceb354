//! The tree a stream's records are learned into, one [`Node`] per place in them.
//!
//! The record reader (`reader.rs`) walks each record's JSON straight into it: nothing is
//! built, and keys are matched first against the field that followed the previous key last
//! time (records of a stream almost always list their keys in the same order, whatever that
//! order is), so a key costs one comparison.
//! Values deeper than [`MAX_DEPTH`], and fields past the [`MAX_FIELDS`] / [`MAX_NODES`] caps,
//! are checked and not tracked.

use std::collections::HashMap;

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
    pub(super) fn note(&mut self, t: JsonType, scan: &mut Scan<'_>) {
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

    /// An object starts here: its first key is guessed from the last object's.
    pub(super) fn begin_object(&mut self) {
        self.last = 0;
    }

    /// The node of field `i` (an index [`Node::field`] gave).
    pub(super) fn child(&mut self, i: usize) -> &mut Node {
        &mut self.fields[i].1
    }

    /// The index of field `key`, added if new and the caps allow.
    pub(super) fn field(&mut self, key: &str, scan: &mut Scan<'_>) -> Option<usize> {
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
    pub(super) fn items(&mut self, scan: &mut Scan<'_>) -> Option<&mut Node> {
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
