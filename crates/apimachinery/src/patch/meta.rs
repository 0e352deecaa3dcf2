//! Patch metadata: what kube reads from the `patchStrategy` / `patchMergeKey` struct tags
//! of k8s.io/api types. A [`PatchMeta`] describes one object type and answers, per field,
//! how the field merges and what type lies below it.

/// The `patchStrategy` of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatchStrategy {
    /// No tag: maps merge recursively, lists are replaced whole.
    #[default]
    Default,
    /// `patchStrategy:"merge"`: lists merge (by merge key for lists of objects, as a set
    /// for lists of primitives).
    Merge,
    /// `patchStrategy:"replace"`: maps are replaced whole too.
    Replace,
}

/// Patch metadata of one field.
#[derive(Clone, Copy)]
pub struct FieldMeta<'a> {
    pub strategy: PatchStrategy,
    /// `patchMergeKey`: the key that identifies items of a merged list of objects.
    pub merge_key: Option<&'a str>,
    /// Whether the tag also carries `retainKeys` (informational: applying a patch honours a
    /// `$retainKeys` directive wherever it appears).
    pub retain_keys: bool,
    /// The type of the field's value (for a list, of its items).
    pub schema: &'a dyn PatchMeta,
}

impl std::fmt::Debug for FieldMeta<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldMeta")
            .field("strategy", &self.strategy)
            .field("merge_key", &self.merge_key)
            .field("retain_keys", &self.retain_keys)
            .finish_non_exhaustive()
    }
}

/// Patch metadata of an object type.
pub trait PatchMeta: Sync {
    /// Metadata of field `name`; `None` when the type declares nothing for it (the field
    /// then merges by default rules and nothing is known below it).
    fn field(&self, name: &str) -> Option<FieldMeta<'_>>;
}

/// A type about which nothing is declared: every field follows the default rules.
pub struct NoMeta;

impl PatchMeta for NoMeta {
    fn field(&self, _name: &str) -> Option<FieldMeta<'_>> {
        None
    }
}

/// The metadata of a field, or the default rules when none is declared.
pub fn field_or_default<'a>(meta: &'a dyn PatchMeta, name: &str) -> FieldMeta<'a> {
    meta.field(name).unwrap_or(FieldMeta {
        strategy: PatchStrategy::Default,
        merge_key: None,
        retain_keys: false,
        schema: &NoMeta,
    })
}

/// Walks `path` (field names; list items are passed through transparently, as in
/// `["spec", "containers", "ports"]`) and returns the metadata of its last field.
pub fn lookup_path<'a>(meta: &'a dyn PatchMeta, path: &[&str]) -> Option<FieldMeta<'a>> {
    let (last, parents) = path.split_last()?;
    let mut cur = meta;
    for p in parents {
        cur = cur.field(p)?.schema;
    }
    cur.field(last)
}

/// One declared field of a [`StructMeta`] table.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub name: &'static str,
    pub strategy: PatchStrategy,
    pub merge_key: Option<&'static str>,
    pub retain_keys: bool,
    pub schema: Option<&'static StructMeta>,
}

impl FieldDef {
    /// A field with no strategy of its own whose value has declared fields below.
    pub const fn nested(name: &'static str, schema: &'static StructMeta) -> Self {
        Self {
            name,
            strategy: PatchStrategy::Default,
            merge_key: None,
            retain_keys: false,
            schema: Some(schema),
        }
    }

    /// `patchStrategy:"merge" patchMergeKey:"<key>"` on a list of objects.
    pub const fn merge_by(name: &'static str, key: &'static str, items: Option<&'static StructMeta>) -> Self {
        Self { name, strategy: PatchStrategy::Merge, merge_key: Some(key), retain_keys: false, schema: items }
    }

    /// `patchStrategy:"merge,retainKeys" patchMergeKey:"<key>"`.
    pub const fn merge_retain_by(name: &'static str, key: &'static str) -> Self {
        Self { name, strategy: PatchStrategy::Merge, merge_key: Some(key), retain_keys: true, schema: None }
    }

    /// `patchStrategy:"merge"` on a list of primitives (merged as a set).
    pub const fn merge_set(name: &'static str) -> Self {
        Self { name, strategy: PatchStrategy::Merge, merge_key: None, retain_keys: false, schema: None }
    }

    /// `patchStrategy:"retainKeys"` on a struct field.
    pub const fn retain_keys(name: &'static str) -> Self {
        Self { name, strategy: PatchStrategy::Default, merge_key: None, retain_keys: true, schema: None }
    }
}

/// A static table of the fields of one type that carry patch metadata or lead to some.
#[derive(Debug)]
pub struct StructMeta {
    pub fields: &'static [FieldDef],
}

impl PatchMeta for StructMeta {
    fn field(&self, name: &str) -> Option<FieldMeta<'_>> {
        let f = self.fields.iter().find(|f| f.name == name)?;
        Some(FieldMeta {
            strategy: f.strategy,
            merge_key: f.merge_key,
            retain_keys: f.retain_keys,
            schema: match f.schema {
                Some(s) => s,
                None => &NoMeta,
            },
        })
    }
}
