//! Field paths as kube's `field.Path` prints them: `a.b`, `a[0]`, `a[key]`; an empty path
//! is the root, so `child("", "x")` is `x`.

/// `path.Child(name)`.
pub fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// `path.Index(i)`.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// `path.Key(k)`.
pub fn key(path: &str, k: &str) -> String {
    format!("{path}[{k}]")
}

/// What kube's aggregate prints for one cause: `<field>: <message>`.
pub fn error_string(c: &apimachinery::status::StatusCause) -> String {
    format!("{}: {}", c.field, c.message)
}

/// A field path built lazily while a value is walked: each node borrows its parent and
/// its own name or index, so walking allocates nothing; the path is rendered (as the
/// functions above print it) only when an error or a dropped field names it. Its depth is
/// the walk's, which the walkers bound.
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    /// A path given rendered (`""` is the root).
    At(&'a str),
    /// [`child`]: `parent.name`, or `name` under the root.
    Child(&'a Path<'a>, &'a str),
    /// `parent.name` even under the root (kube-openapi's validator joins so: `.name`).
    Dot(&'a Path<'a>, &'a str),
    /// [`index`]: `parent[i]`.
    Index(&'a Path<'a>, usize),
    /// [`key`]: `parent[k]`.
    Key(&'a Path<'a>, &'a str),
}

/// The root path (renders as `""`).
pub const ROOT: Path<'static> = Path::At("");

impl<'a> Path<'a> {
    /// `self.name` ([`child`]).
    pub fn child(&'a self, name: &'a str) -> Path<'a> {
        Path::Child(self, name)
    }

    /// `self.name`, a dot even at the root.
    pub fn dot(&'a self, name: &'a str) -> Path<'a> {
        Path::Dot(self, name)
    }

    /// `self[i]`.
    pub fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }

    /// `self[k]`.
    pub fn key(&'a self, k: &'a str) -> Path<'a> {
        Path::Key(self, k)
    }

    /// Whether the path renders empty (the root).
    pub fn is_empty(&self) -> bool {
        match self {
            Path::At(s) => s.is_empty(),
            Path::Child(p, n) => p.is_empty() && n.is_empty(),
            Path::Dot(..) | Path::Index(..) | Path::Key(..) => false,
        }
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::At(s) => f.write_str(s),
            Path::Child(p, n) if p.is_empty() => f.write_str(n),
            Path::Child(p, n) | Path::Dot(p, n) => write!(f, "{p}.{n}"),
            Path::Index(p, i) => write!(f, "{p}[{i}]"),
            Path::Key(p, k) => write!(f, "{p}[{k}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lazy_path_renders_as_the_eager_functions_build_it() {
        let spec = ROOT.child("spec");
        assert_eq!(spec.to_string(), child("", "spec"));
        let list = spec.child("list");
        let item = list.index(3);
        assert_eq!(item.to_string(), index(&child("spec", "list"), 3));
        let labels = item.child("labels");
        let k = labels.key("a.b/c");
        assert_eq!(k.to_string(), key(&child(&index("spec.list", 3), "labels"), "a.b/c"));
        assert_eq!(ROOT.dot("x").to_string(), ".x", "kube-openapi's join at the root");
        assert_eq!(spec.dot("x").to_string(), "spec.x");
        assert!(ROOT.is_empty() && !spec.is_empty() && !ROOT.index(0).is_empty());
        let prefix = Path::At("metadata");
        assert_eq!(prefix.child("name").to_string(), "metadata.name");
    }
}
