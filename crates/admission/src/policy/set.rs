//! The policies and bindings an admission policy plugin enforces (kube's policy source):
//! written by the server's informer, read by every request as a snapshot swapped whole
//! on each change. A policy is compiled again only when its uid or generation changed.
//! One [`PolicySet`] type serves both plugins, told apart by their kinds
//! ([`PolicyKinds`]).

use super::inputs::InputReads;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// A policy as a plugin holds it: parsed and compiled from its stored object.
pub trait CompiledPolicy: Send + Sync + 'static {
    /// The policy's kind (`ValidatingAdmissionPolicy`).
    const KIND: &'static str;
    fn compile(obj: &Value) -> Self;
    fn name(&self) -> &str;
    fn uid(&self) -> &str;
    fn generation(&self) -> i64;
    /// What the policy's expressions read of the request's variables; `None`: anything.
    fn reads(&self) -> Option<&InputReads> {
        None
    }
}

/// A binding as a plugin holds it.
pub trait ParsedBinding: Send + Sync + 'static {
    /// The binding's kind (`ValidatingAdmissionPolicyBinding`).
    const KIND: &'static str;
    fn parse(obj: &Value) -> Self;
    /// The policy the binding binds.
    fn policy_name(&self) -> &str;
}

/// The policies and bindings of one plugin.
pub struct PolicySet<P, B> {
    snapshot: RwLock<Arc<Snapshot<P, B>>>,
}

/// What a request reads: policies and bindings by name, and each policy's bindings.
pub struct Snapshot<P, B> {
    pub policies: BTreeMap<String, Arc<P>>,
    pub bindings: BTreeMap<String, Arc<B>>,
    /// The policies that have bindings, in name order, each with its bindings in name
    /// order: built once per change, so a request neither scans every binding for every
    /// policy nor looks a policy's bindings up.
    bound: Vec<(Arc<P>, Vec<Arc<B>>)>,
    /// What the policies' expressions read of the request's variables, all of them
    /// together (built once per change): what a request converts for them.
    pub reads: InputReads,
}

impl<P, B> Default for Snapshot<P, B> {
    fn default() -> Self {
        Self {
            policies: BTreeMap::new(),
            bindings: BTreeMap::new(),
            bound: Vec::new(),
            reads: InputReads::whole(),
        }
    }
}

impl<P, B> Clone for Snapshot<P, B> {
    fn clone(&self) -> Self {
        Self {
            policies: self.policies.clone(),
            bindings: self.bindings.clone(),
            bound: self.bound.clone(),
            reads: self.reads.clone(),
        }
    }
}

impl<P, B> Snapshot<P, B> {
    /// Whether nothing could apply (a policy acts only through a binding).
    pub fn is_idle(&self) -> bool {
        self.policies.is_empty() || self.bindings.is_empty()
    }
}

impl<P: CompiledPolicy, B: ParsedBinding> Snapshot<P, B> {
    /// The policies that have bindings, in name order, each with its bindings in name
    /// order (a policy acts only through its bindings).
    pub fn bound(&self) -> impl Iterator<Item = (&P, &[Arc<B>])> {
        self.bound.iter().map(|(p, b)| (&**p, b.as_slice()))
    }

    /// Builds [`bound`](Self::bound) and the union of the policies'
    /// [`reads`](Self::reads) after a change.
    fn index(&mut self) {
        let mut by_policy: HashMap<&str, Vec<Arc<B>>> = HashMap::new();
        for b in self.bindings.values() {
            by_policy.entry(b.policy_name()).or_default().push(Arc::clone(b));
        }
        self.bound = self
            .policies
            .values()
            .filter_map(|p| Some((Arc::clone(p), by_policy.remove(p.name())?)))
            .collect();
        let mut reads = InputReads::nothing();
        for p in self.policies.values() {
            match p.reads() {
                Some(r) => reads.merge(r),
                None => {
                    reads = InputReads::whole();
                    break;
                }
            }
        }
        self.reads = reads;
    }
}

impl<P, B> Default for PolicySet<P, B> {
    fn default() -> Self {
        Self { snapshot: RwLock::new(Arc::new(Snapshot::default())) }
    }
}

impl<P, B> std::fmt::Debug for PolicySet<P, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone();
        f.debug_struct("PolicySet")
            .field("policies", &s.policies.len())
            .field("bindings", &s.bindings.len())
            .finish()
    }
}

fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
}

fn kind_of(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or_default()
}

fn uid_and_generation(obj: &Value) -> (&str, i64) {
    let uid = obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default();
    let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
    (uid, generation)
}

impl<P: CompiledPolicy, B: ParsedBinding> PolicySet<P, B> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The snapshot in force.
    pub fn current(&self) -> Arc<Snapshot<P, B>> {
        // A poisoned lock still holds a whole snapshot (they are swapped, never edited).
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut Snapshot<P, B>)) {
        let mut guard = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        let mut next = (**guard).clone();
        f(&mut next);
        next.index();
        *guard = Arc::new(next);
    }

    /// The compiled policy of `obj`: the one held when its uid and generation are the same.
    fn compiled(current: &Snapshot<P, B>, obj: &Value) -> Arc<P> {
        let (uid, generation) = uid_and_generation(obj);
        match current.policies.get(name_of(obj)) {
            Some(p) if p.uid() == uid && p.generation() == generation => Arc::clone(p),
            _ => Arc::new(P::compile(obj)),
        }
    }

    /// Adds or replaces a policy or a binding (by its `kind`).
    pub fn apply(&self, obj: &Value) {
        let name = name_of(obj).to_string();
        let kind = kind_of(obj);
        if kind == P::KIND {
            let current = self.current();
            let policy = Self::compiled(&current, obj);
            if current.policies.get(&name).is_some_and(|p| Arc::ptr_eq(p, &policy)) {
                return;
            }
            self.update(|s| {
                s.policies.insert(name, policy);
            });
        } else if kind == B::KIND {
            let binding = Arc::new(B::parse(obj));
            self.update(|s| {
                s.bindings.insert(name, binding);
            });
        }
    }

    /// Removes a policy or a binding (by its `kind`).
    pub fn remove(&self, obj: &Value) {
        let name = name_of(obj).to_string();
        let kind = kind_of(obj);
        if kind == P::KIND {
            self.update(|s| {
                s.policies.remove(&name);
            });
        } else if kind == B::KIND {
            self.update(|s| {
                s.bindings.remove(&name);
            });
        }
    }

    /// Replaces everything with `objects` (after a re-list), keeping the compiled
    /// policies whose generation did not change.
    pub fn replace_all<'a>(&self, objects: impl IntoIterator<Item = &'a Value>) {
        let current = self.current();
        let mut next = Snapshot::default();
        for obj in objects {
            let name = name_of(obj).to_string();
            let kind = kind_of(obj);
            if kind == P::KIND {
                next.policies.insert(name, Self::compiled(&current, obj));
            } else if kind == B::KIND {
                next.bindings.insert(name, Arc::new(B::parse(obj)));
            }
        }
        next.index();
        let mut guard = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        *guard = Arc::new(next);
    }

    /// How many policies and bindings are held.
    pub fn len(&self) -> (usize, usize) {
        let s = self.current();
        (s.policies.len(), s.bindings.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}
