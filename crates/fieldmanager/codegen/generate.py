#!/usr/bin/env python3
"""Writes crates/fieldmanager/src/schema/generated.rs: the type tree of every built-in kind,
as kube-apiserver's field manager sees it (sigs.k8s.io/structured-merge-diff's schema).

kube-apiserver builds that schema from its own OpenAPI definitions with kube-openapi's
`schemaconv` (pkg/schemaconv/openapi.go and smd.go). This script applies the same rules to
kube's published OpenAPI documents:

  - `type: object` -> a map; its `properties` are its fields, `additionalProperties` its
    element type; no properties and no additionalProperties -> elements of the deduced type;
    `x-kubernetes-map-type: atomic|granular` on the definition or on the field referring to it;
  - `type: array` -> a list: `x-kubernetes-list-type` atomic / set / map with
    `x-kubernetes-list-map-keys`; without a list type, `x-kubernetes-patch-strategy: merge`
    (with `x-kubernetes-patch-merge-key` as the key) makes it associative; otherwise atomic;
  - no type -> untyped (scalar, atomic list, deduced map); string formats other than plain
    and `byte` -> untyped scalars; `Quantity` is an untyped scalar and `RawExtension` atomic;
  - a field's `default` (the key value a list-map item that leaves a key field out gets)
    and whether it is `required`: with the defaults, the Go zero value of a type as
    kube-apiserver encodes it (non-pointer structs `{}`, plain strings `""`, required
    lists, maps and pointers `null`), the object a create is compared against.

Inputs (not kept in this repository):
  --openapi PATH      kube's OpenAPI: the directory `api/openapi-spec/v3` of
                      kubernetes/kubernetes (one `*_openapi.json` per group-version), or one
                      OpenAPI v2 document (`api/openapi-spec/swagger.json`, or the copy the
                      Python client keeps as `kubernetes/swagger.json.unprocessed`).
  --smd-schema FILE   optional: client-go's `applyconfigurations/internal/internal.go` of the
                      same release, the structured-merge-diff schema kube's code generator
                      writes from the same definitions. Every type both know is compared
                      (fields, list types, keys, map types; any difference fails the run),
                      and the field defaults the OpenAPI input lacks (v2 documents carry
                      no `default`) are taken from it.

The checked-in table was written from Kubernetes 1.34: the OpenAPI v2 document of the
Python client v34.1.0 (its KUBERNETES_BRANCH is release-1.34) checked against client-go
v0.34.1's internal.go. kubernetes/kubernetes itself is too large to fetch here; with it, run
  git -C kubernetes archive v1.34.0 api/openapi-spec/v3 | tar -x -C /tmp/k8s
  python3 crates/fieldmanager/codegen/generate.py --openapi /tmp/k8s/api/openapi-spec/v3
Run from the repository root. `--check` compares instead of writing (exit 1 on a difference).
"""

import argparse
import json
import os
import re
import sys

OUT = "crates/fieldmanager/src/schema/generated.rs"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
RAW_EXTENSION = "io.k8s.apimachinery.pkg.runtime.RawExtension"
UNTYPED = "__untyped_atomic_"
DEDUCED = "__untyped_deduced_"
# Definitions whose kinds are served objects (not meta types such as DeleteOptions).
KIND_PREFIXES = ("io.k8s.api.", "io.k8s.apiextensions-apiserver.", "io.k8s.kube-aggregator.")


# ---------------------------------------------------------------------------------------
# Atoms: {"scalar": str|None, "list": {...}|None, "map": {...}|None}
# A type reference: ("named", name, relationship-or-None) or ("inline", atom).
# ---------------------------------------------------------------------------------------

def untyped_atom():
    return {
        "scalar": "untyped",
        "list": {"elem": ("named", UNTYPED, None), "rel": "atomic", "keys": []},
        "map": {"fields": [], "elem": ("named", UNTYPED, None), "rel": "atomic"},
    }


def deduced_atom():
    return {
        "scalar": "untyped",
        "list": {"elem": ("named", UNTYPED, None), "rel": "atomic", "keys": []},
        "map": {"fields": [], "elem": ("named", DEDUCED, None), "rel": "separable"},
    }


class Converter:
    """kube-openapi's schemaconv over plain JSON schemas."""

    def __init__(self, defs, ref_prefix):
        self.defs = defs
        self.ref_prefix = ref_prefix
        self.errors = []

    def convert_all(self):
        types = {}
        for name, spec in self.defs.items():
            if "$ref" in spec:
                continue
            if name == QUANTITY:
                atom = {"scalar": "untyped", "list": None, "map": None}
            elif name == RAW_EXTENSION:
                atom = untyped_atom()
            else:
                atom = self.parse_schema(name, spec, False)
            types[name] = atom
        types[UNTYPED] = untyped_atom()
        types[DEDUCED] = deduced_atom()
        return types

    def parse_schema(self, where, m, preserve):
        if m.get("x-kubernetes-preserve-unknown-fields") is True:
            preserve = True
        typ = m.get("type", "")
        if isinstance(typ, list):
            typ = typ[0] if typ else ""
        if typ == "":
            return {"scalar": "untyped", "list": self.parse_list(where, m, preserve),
                    "map": self.parse_object(where, m, preserve)}
        if typ == "object":
            return {"scalar": None, "list": None, "map": self.parse_object(where, m, preserve)}
        if typ == "array":
            return {"scalar": None, "list": self.parse_list(where, m, preserve), "map": None}
        if typ in ("integer", "number"):
            return {"scalar": "numeric", "list": None, "map": None}
        if typ == "boolean":
            return {"scalar": "boolean", "list": None, "map": None}
        if typ == "string":
            fmt = m.get("format", "")
            return {"scalar": "string" if fmt in ("", "byte") else "untyped", "list": None, "map": None}
        self.errors.append(f"{where}: unrecognized type {typ!r}")
        return {"scalar": "untyped", "list": None, "map": None}

    def ref_name(self, m):
        ref = m.get("$ref", "")
        if not ref and len(m.get("allOf", [])) == 1 and "$ref" in m["allOf"][0]:
            ref = m["allOf"][0]["$ref"]
        if ref:
            return ref.rsplit("/", 1)[-1]
        return None

    def type_ref(self, where, m, preserve):
        name = self.ref_name(m)
        if name:
            return ("named", name, map_relationship(where, m, self.errors))
        return ("inline", self.parse_schema("inlined in " + where, m, preserve))

    def parse_object(self, where, m, preserve):
        fields = []
        required = set(m.get("required") or [])
        for fname, member in (m.get("properties") or {}).items():
            default = member.get("default", NO_DEFAULT)
            fields.append((fname, self.type_ref(where, member, preserve), default, fname in required))
        ap = m.get("additionalProperties")
        if ap is None:
            elem = ("named", DEDUCED, None) if preserve or not m.get("properties") else None
        elif isinstance(ap, dict):
            elem = self.type_ref(where, ap, preserve)
        elif ap is True:
            elem = ("named", DEDUCED, None)
        else:
            elem = None
        rel = map_relationship(where, m, self.errors) or "separable"
        return {"fields": fields, "elem": elem, "rel": rel}

    def parse_list(self, where, m, preserve):
        rel, keys = list_relationship(where, m, self.errors)
        items = m.get("items")
        if items is not None:
            if not isinstance(items, dict):
                self.errors.append(f"{where}: arrays must have exactly one member subtype")
                elem = ("named", DEDUCED, None)
            else:
                elem = self.type_ref(where, items, preserve)
        else:
            if m.get("type") == "array":
                self.errors.append(f"{where}: `items` must be specified on arrays")
            elem = ("named", UNTYPED, None)
        return {"elem": elem, "rel": rel, "keys": keys}


NO_DEFAULT = object()
SCALARS = {None: "S::No", "untyped": "S::Any", "string": "S::Str", "numeric": "S::Num", "boolean": "S::Bool"}


def map_relationship(where, m, errors):
    val = m.get("x-kubernetes-map-type")
    if val is None:
        return None
    if val == "atomic":
        return "atomic"
    if val == "granular":
        return "separable"
    errors.append(f"{where}: unknown map type {val!r}")
    return None


def list_relationship(where, m, errors):
    if "x-kubernetes-list-type" in m:
        val = m["x-kubernetes-list-type"]
        if val == "atomic":
            return "atomic", []
        if val == "set":
            return "associative", []
        if val == "map":
            keys = m.get("x-kubernetes-list-map-keys")
            if not isinstance(keys, list):
                errors.append(f"{where}: missing map keys")
                return "associative", []
            return "associative", [k for k in keys if isinstance(k, str)]
        errors.append(f"{where}: unknown list type {val!r}")
        return "atomic", []
    strategy = m.get("x-kubernetes-patch-strategy")
    if strategy in ("merge", "merge,retainKeys"):
        key = m.get("x-kubernetes-patch-merge-key")
        return "associative", [key] if isinstance(key, str) else []
    if strategy not in (None, "retainKeys"):
        errors.append(f"{where}: unknown patch strategy {strategy!r}")
    return "atomic", []


# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------

def load_openapi(path):
    """Definitions and group-version-kinds of an OpenAPI v3 directory or a v2 document."""
    defs = {}
    if os.path.isdir(path):
        for fname in sorted(os.listdir(path)):
            if not fname.endswith("_openapi.json"):
                continue
            with open(os.path.join(path, fname)) as f:
                doc = json.load(f)
            for name, schema in doc.get("components", {}).get("schemas", {}).items():
                defs.setdefault(name, schema)
        prefix = "#/components/schemas/"
    else:
        with open(path) as f:
            doc = json.load(f)
        defs = doc["definitions"]
        prefix = "#/definitions/"
    kinds = []
    for name, schema in defs.items():
        if not name.startswith(KIND_PREFIXES):
            continue
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            if gvk["kind"].endswith("List"):
                continue
            kinds.append((gvk.get("group", ""), gvk["version"], gvk["kind"], name))
    return defs, prefix, sorted(set(kinds))


def load_smd_schema(path):
    """The structured-merge-diff schema embedded in client-go's internal.go."""
    import yaml  # only needed for this optional input

    with open(path) as f:
        text = f.read()
    match = re.search(r"typed\.YAMLObject\(`(.*)`\)", text, re.S)
    if not match:
        sys.exit(f"{path}: no typed.YAMLObject schema found")
    doc = yaml.safe_load(match.group(1))
    return {t["name"]: t for t in doc["types"]}


# ---------------------------------------------------------------------------------------
# Cross-check against the structured-merge-diff schema
# ---------------------------------------------------------------------------------------

def smd_ref(tref):
    """Our type reference in structured-merge-diff's YAML shape, for comparison."""
    if tref is None:
        return None
    if tref[0] == "named" and tref[1] == DEDUCED and not tref[2]:
        # client-go's generator writes the deduced type inline: the same type.
        return {"scalar": "untyped",
                "list": {"elementType": {"namedType": UNTYPED}, "elementRelationship": "atomic"},
                "map": {"elementType": {"namedType": DEDUCED}, "elementRelationship": "separable"}}
    if tref[0] == "named":
        # ... and references to RawExtension as the untyped atomic type, which is what
        # schemaconv makes RawExtension (kube-apiserver's schema): the same type again.
        out = {"namedType": UNTYPED if tref[1] == RAW_EXTENSION else tref[1]}
        if tref[2]:
            out["elementRelationship"] = tref[2]
        return out
    return smd_atom(tref[1])


def smd_atom(atom):
    out = {}
    if atom["scalar"]:
        out["scalar"] = atom["scalar"]
    if atom["list"]:
        lst = {"elementType": smd_ref(atom["list"]["elem"]),
               "elementRelationship": atom["list"]["rel"]}
        if atom["list"]["keys"]:
            lst["keys"] = atom["list"]["keys"]
        out["list"] = lst
    if atom["map"]:
        mp = {}
        if atom["map"]["fields"]:
            mp["fields"] = {f[0]: smd_ref(f[1]) for f in atom["map"]["fields"]}
        if atom["map"]["elem"]:
            mp["elementType"] = smd_ref(atom["map"]["elem"])
        mp["elementRelationship"] = atom["map"]["rel"]
        out["map"] = mp
    return out


def normalize_smd(node):
    """structured-merge-diff's YAML with its defaults made explicit, fields as a dict."""
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "map":
            mp = {kk: normalize_smd(vv) for kk, vv in v.items() if kk not in ("fields", "unions")}
            mp.setdefault("elementRelationship", "separable")
            if v.get("fields"):
                mp["fields"] = {f["name"]: normalize_smd(f["type"]) for f in v["fields"]}
            out["map"] = mp
        elif k == "list":
            lst = {kk: normalize_smd(vv) for kk, vv in v.items()}
            lst.setdefault("elementRelationship", "atomic")
            out["list"] = lst
        elif k in ("name", "default"):
            continue
        else:
            out[k] = normalize_smd(v)
    return out


def cross_check(types, smd):
    problems = []
    for name, atom in sorted(types.items()):
        theirs = smd.get(name)
        if theirs is None or name in (RAW_EXTENSION, DEDUCED, UNTYPED):
            continue
        a, b = smd_atom(atom), normalize_smd(theirs)
        if a != b:
            problems.append(f"{name}:\n  openapi: {json.dumps(a, sort_keys=True)[:600]}\n"
                            f"  smd:     {json.dumps(b, sort_keys=True)[:600]}")
    return problems


def smd_key_defaults(smd):
    """(type name, field) -> default for every field structured-merge-diff gives one."""
    out = {}
    for name, t in smd.items():
        for f in (t.get("map") or {}).get("fields") or []:
            if "default" in f:
                out[(name, f["name"])] = f["default"]
    return out


# ---------------------------------------------------------------------------------------
# Flattening into nodes
# ---------------------------------------------------------------------------------------

class Table:
    """Every type reference becomes a node id; identical inline atoms share one."""

    def __init__(self, types, key_defaults):
        self.types = types
        self.key_defaults = key_defaults
        self.nodes = []        # id -> rust expression
        self.comments = []     # id -> comment
        self.by_name = {}      # (name, relationship) -> id
        self.by_text = {}      # rust expression -> id (inline atoms)

    def named(self, name, rel=None):
        key = (name, rel)
        if key in self.by_name:
            return self.by_name[key]
        atom = self.types.get(name)
        if atom is None:
            sys.exit(f"reference to unknown type {name}")
        nid = len(self.nodes)
        self.by_name[key] = nid
        self.nodes.append(None)
        self.comments.append(name + (f" ({rel})" if rel else ""))
        self.nodes[nid] = self.atom_expr(atom, rel, name)
        return nid

    def ref(self, tref):
        if tref is None:
            return "NONE"
        if tref[0] == "named":
            return str(self.named(tref[1], tref[2]))
        expr = self.atom_expr(tref[1], None, None)
        if expr in self.by_text:
            return str(self.by_text[expr])
        nid = len(self.nodes)
        self.nodes.append(expr)
        self.comments.append("")
        self.by_text[expr] = nid
        return str(nid)

    def atom_expr(self, atom, rel_override, type_name):
        scalar = SCALARS[atom["scalar"]]
        lst = "None"
        if atom["list"]:
            l = atom["list"]
            rel = rel_override or l["rel"]
            elem = self.ref(l["elem"])
            if rel == "atomic":
                kind = "L::Atomic"
            elif l["keys"]:
                keys = ", ".join(json.dumps(k) for k in l["keys"])
                kind = f"L::Map(&[{keys}])"
            else:
                kind = "L::Set"
            lst = f"Some(({kind}, {elem}))"
        mp = "None"
        if atom["map"]:
            m = atom["map"]
            rel = rel_override or m["rel"]
            fields = []
            for fname, fref, default, required in sorted(m["fields"], key=lambda f: f[0]):
                fid = self.ref(fref)
                req = "true" if required else "false"
                fields.append(f"F({json.dumps(fname)}, {fid}, {self.default_expr(type_name, fname, default)}, {req})")
            elem = self.ref(m["elem"])
            atomic = "true" if rel == "atomic" else "false"
            mp = f"Some(M {{ f: &[{', '.join(fields)}], e: {elem}, a: {atomic} }})"
        return f"N {{ s: {scalar}, l: {lst}, m: {mp} }}"

    def default_expr(self, type_name, fname, default):
        if type_name is None:
            return "None"
        if default is NO_DEFAULT:
            default = self.key_defaults.get((type_name, fname), NO_DEFAULT)
        if default is NO_DEFAULT:
            return "None"
        return "Some(" + json.dumps(json.dumps(default, separators=(",", ":"))) + ")"


def render(table, kinds, source):
    lines = [
        "//! @generated by crates/fieldmanager/codegen/generate.py; do not edit.",
        f"//! Source: {source}.",
        "//! Node ids index `NODES`; `NONE` is no element type.",
        "",
        "use super::builtin::{F, L, M, N, NONE, S};",
        "",
        "#[rustfmt::skip]",
        "pub(super) static NODES: &[N] = &[",
    ]
    for nid, (expr, comment) in enumerate(zip(table.nodes, table.comments)):
        c = f" // {nid} {comment}" if comment else f" // {nid}"
        lines.append(f"    {expr},{c}")
    lines.append("];")
    lines.append("")
    lines.append("/// (group, version, kind) -> root node, sorted.")
    lines.append("#[rustfmt::skip]")
    lines.append("pub(super) static KINDS: &[(&str, &str, &str, u32)] = &[")
    for group, version, kind, nid in kinds:
        lines.append(f"    ({json.dumps(group)}, {json.dumps(version)}, {json.dumps(kind)}, {nid}),")
    lines.append("];")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--openapi", required=True)
    ap.add_argument("--smd-schema")
    ap.add_argument("--source", help="the source named in the generated file's header")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    defs, prefix, kinds = load_openapi(args.openapi)
    conv = Converter(defs, prefix)
    types = conv.convert_all()
    if conv.errors:
        sys.exit("conversion errors:\n" + "\n".join(conv.errors))

    key_defaults = {}
    if args.smd_schema:
        smd = load_smd_schema(args.smd_schema)
        problems = cross_check(types, smd)
        if problems:
            sys.exit(f"{len(problems)} types differ from {args.smd_schema}:\n" + "\n".join(problems[:20]))
        key_defaults = smd_key_defaults(smd)
        print(f"cross-checked {sum(1 for n in types if n in smd)} types against {args.smd_schema}",
              file=sys.stderr)

    table = Table(types, key_defaults)
    roots = []
    for group, version, kind, name in kinds:
        roots.append((group, version, kind, table.named(name)))
    source = args.source or os.path.basename(args.openapi.rstrip("/"))
    text = render(table, sorted(roots), source)
    if args.check:
        with open(OUT) as f:
            if f.read() != text:
                sys.exit(f"{OUT} differs from what {args.openapi} gives")
        print(f"{OUT} is up to date", file=sys.stderr)
        return
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}: {len(table.nodes)} nodes, {len(roots)} kinds", file=sys.stderr)


if __name__ == "__main__":
    main()
