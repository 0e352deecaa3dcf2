//! Field sets, as structured-merge-diff's `fieldpath.Set`: a tree whose nodes are path
//! elements. A path is a *member* when the field itself is in the set; a node with
//! *children* holds the set of paths below it. Both lists stay sorted, so set operations
//! are merges of sorted lists and the `FieldsV1` form comes out in kube's order.

use crate::path::PathElement;
use crate::schema::{resolve_map_field, Node, Schema};
use std::cmp::Ordering;

/// A set of paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Set {
    members: Vec<PathElement>,
    children: Vec<(PathElement, Set)>,
}

impl Set {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a [PathElement]>) -> Self {
        let mut s = Self::new();
        for p in paths {
            s.insert(p);
        }
        s
    }

    /// The direct members (fields owned themselves) at this level, sorted.
    pub fn members(&self) -> &[PathElement] {
        &self.members
    }

    /// The subsets below each element, sorted by element.
    pub fn children(&self) -> &[(PathElement, Set)] {
        &self.children
    }

    /// Adds a path; its parents are not added (the empty path is never tracked).
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((last, parents)) = path.split_last() else { return };
        let mut s = self;
        for pe in parents {
            s = s.descend(pe);
        }
        if let Err(i) = s.members.binary_search(last) {
            s.members.insert(i, last.clone());
        }
    }

    /// A set from members and children in any order (sorted here); children that are
    /// empty are dropped, and so are repeated members.
    pub fn from_parts(mut members: Vec<PathElement>, mut children: Vec<(PathElement, Set)>) -> Set {
        if !members.is_sorted() {
            members.sort();
        }
        members.dedup();
        children.retain(|(_, c)| !c.is_empty());
        if !children.is_sorted_by(|a, b| a.0 <= b.0) {
            children.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Set { members, children }
    }

    /// Adds a member at this level.
    pub fn insert_member(&mut self, pe: &PathElement) {
        if let Err(i) = self.members.binary_search(pe) {
            self.members.insert(i, pe.clone());
        }
    }

    /// The child set under `pe`, created if absent.
    pub fn descend(&mut self, pe: &PathElement) -> &mut Set {
        let i = match self.children.binary_search_by(|(p, _)| p.cmp(pe)) {
            Ok(i) => i,
            Err(i) => {
                self.children.insert(i, (pe.clone(), Set::new()));
                i
            }
        };
        &mut self.children[i].1
    }

    /// Sets the subset under `pe` (dropped when empty).
    pub fn set_child(&mut self, pe: PathElement, child: Set) {
        match self.children.binary_search_by(|(p, _)| p.cmp(&pe)) {
            Ok(i) if child.is_empty() => {
                self.children.remove(i);
            }
            Ok(i) => self.children[i].1 = child,
            Err(_) if child.is_empty() => {}
            Err(i) => self.children.insert(i, (pe, child)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.iter().all(|(_, c)| c.is_empty())
    }

    /// How many paths are members, at every depth.
    pub fn len(&self) -> usize {
        self.members.len() + self.children.iter().map(|(_, c)| c.len()).sum::<usize>()
    }

    pub fn has(&self, path: &[PathElement]) -> bool {
        let Some((last, parents)) = path.split_last() else { return false };
        let mut s = self;
        for pe in parents {
            match s.with_prefix(pe) {
                Some(c) => s = c,
                None => return false,
            }
        }
        s.members.binary_search(last).is_ok()
    }

    pub fn has_member(&self, pe: &PathElement) -> bool {
        self.members.binary_search(pe).is_ok()
    }

    /// The paths below `pe`, without the prefix.
    pub fn with_prefix(&self, pe: &PathElement) -> Option<&Set> {
        self.children.binary_search_by(|(p, _)| p.cmp(pe)).ok().map(|i| &self.children[i].1)
    }

    pub fn union(&self, other: &Set) -> Set {
        Set {
            members: merge_sorted(&self.members, &other.members),
            children: merge_children(&self.children, &other.children, |a, b| Some(a.union(b)), true),
        }
    }

    pub fn intersection(&self, other: &Set) -> Set {
        let members = self.members.iter().filter(|m| other.has_member(m)).cloned().collect();
        let children = merge_children(
            &self.children,
            &other.children,
            |a, b| Some(a.intersection(b)).filter(|s| !s.is_empty()),
            false,
        );
        Set { members, children }
    }

    /// Paths of `self` not in `other`. A parent minus one of its children stays; a child
    /// minus its parent stays too (only equal paths are removed).
    pub fn difference(&self, other: &Set) -> Set {
        let members = self.members.iter().filter(|m| !other.has_member(m)).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, c)| match other.with_prefix(pe) {
                Some(o) => Some((pe.clone(), c.difference(o))).filter(|(_, d)| !d.is_empty()),
                None => Some((pe.clone(), c.clone())),
            })
            .collect();
        Set { members, children }
    }

    /// Paths of `self` not in `other`, where a member of `other` also removes everything
    /// below it.
    pub fn recursive_difference(&self, other: &Set) -> Set {
        let members = self.members.iter().filter(|m| !other.has_member(m)).cloned().collect();
        let children = self
            .children
            .iter()
            .filter(|(pe, _)| !other.has_member(pe))
            .filter_map(|(pe, c)| match other.with_prefix(pe) {
                Some(o) => Some((pe.clone(), c.recursive_difference(o))).filter(|(_, d)| !d.is_empty()),
                None => Some((pe.clone(), c.clone())),
            })
            .collect();
        Set { members, children }
    }

    /// The set with every named struct field that has children made a member too (the
    /// schema tells struct fields from map keys), so removing the set removes those fields.
    pub fn ensure_named_fields_are_members(&self, schema: &dyn Schema, node: Option<Node>) -> Set {
        let mut members = self.members.clone();
        let mut children = Vec::with_capacity(self.children.len());
        for (pe, c) in &self.children {
            let mut child_node = None;
            if let (PathElement::Field(name), Some(n)) = (pe, node) {
                let (declared, elem) = resolve_map_field(schema, n, name);
                if declared.is_some() {
                    if let Err(i) = members.binary_search(pe) {
                        members.insert(i, pe.clone());
                    }
                }
                child_node = declared.or(elem);
            } else if let (PathElement::Key(_), Some(n)) = (pe, node) {
                child_node = schema.list(n).map(|l| l.element);
            }
            children.push((pe.clone(), c.ensure_named_fields_are_members(schema, child_node)));
        }
        Set { members, children }
    }

    /// Every member path, members of a level before its children (structured-merge-diff's
    /// iteration order).
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(p);
        }
        for (pe, c) in &self.children {
            prefix.push(pe.clone());
            c.collect(prefix, out);
            prefix.pop();
        }
    }
}

fn merge_sorted(a: &[PathElement], b: &[PathElement]) -> Vec<PathElement> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            Ordering::Less => {
                out.push(a[i].clone());
                i += 1;
            }
            Ordering::Greater => {
                out.push(b[j].clone());
                j += 1;
            }
            Ordering::Equal => {
                out.push(a[i].clone());
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Walks two sorted child lists; `both` combines children present in both; `keep_single`
/// keeps children present in one list only.
fn merge_children(
    a: &[(PathElement, Set)],
    b: &[(PathElement, Set)],
    both: impl Fn(&Set, &Set) -> Option<Set>,
    keep_single: bool,
) -> Vec<(PathElement, Set)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            Ordering::Less => {
                if keep_single {
                    out.push(a[i].clone());
                }
                i += 1;
            }
            Ordering::Greater => {
                if keep_single {
                    out.push(b[j].clone());
                }
                j += 1;
            }
            Ordering::Equal => {
                if let Some(s) = both(&a[i].1, &b[j].1) {
                    out.push((a[i].0.clone(), s));
                }
                i += 1;
                j += 1;
            }
        }
    }
    if keep_single {
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::PathElement as P;

    fn p(parts: &[&str]) -> Vec<P> {
        parts.iter().map(|s| P::field(s)).collect()
    }

    fn set(paths: &[&[&str]]) -> Set {
        let mut s = Set::new();
        for x in paths {
            s.insert(&p(x));
        }
        s
    }

    #[test]
    fn insert_and_has() {
        let s = set(&[&["a", "b"], &["a"], &["c"]]);
        assert!(s.has(&p(&["a"])));
        assert!(s.has(&p(&["a", "b"])));
        assert!(!s.has(&p(&["b"])));
        assert!(!s.has(&p(&["a", "c"])));
        assert_eq!(s.len(), 3);
        assert!(Set::new().is_empty());
        let mut e = Set::new();
        e.insert(&[]);
        assert!(e.is_empty());
    }

    #[test]
    fn difference_keeps_parent_minus_child_and_child_minus_parent() {
        let s = set(&[&["a"], &["a", "b"], &["c", "d"]]);
        let d = s.difference(&set(&[&["a", "b"], &["c"]]));
        assert_eq!(d, set(&[&["a"], &["c", "d"]]));
        let r = s.recursive_difference(&set(&[&["c"]]));
        assert_eq!(r, set(&[&["a"], &["a", "b"]]));
    }

    #[test]
    fn union_and_intersection() {
        let a = set(&[&["a", "b"], &["x"]]);
        let b = set(&[&["a", "c"], &["x"], &["y"]]);
        assert_eq!(a.union(&b), set(&[&["a", "b"], &["a", "c"], &["x"], &["y"]]));
        assert_eq!(a.intersection(&b), set(&[&["x"]]));
        assert!(set(&[&["a", "b"]]).intersection(&set(&[&["a", "c"]])).children().is_empty());
    }

    #[test]
    fn paths_in_kube_order() {
        let s = set(&[&["b", "c"], &["a"], &["z"]]);
        let paths: Vec<String> = s.paths().iter().map(|p| crate::path::path_string(p)).collect();
        assert_eq!(paths, [".a", ".z", ".b.c"]);
    }
}
