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
