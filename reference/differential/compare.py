"""Normalising two answers and listing where they differ.

What must differ between two servers is masked before comparing: uids, timestamps,
resourceVersions (and the continue tokens and messages that carry them), allocated cluster IPs
and node ports, generated names, issued tokens, the server's version and build, the age column
of tables and the time of managedFields entries. Everything else is compared as it is: the
status code, the content type, the Warning headers and the whole body.

A difference is a path into the answer (`.metadata.labels.app`, `<status>`, `<content-type>`)
and the two values, reference first.
"""

import json
import re

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
JWT = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
# Numbers that are resourceVersions inside messages ("... resourceVersion: 42", "(123)").
RV_IN_TEXT = [
    (re.compile(r"(resource ?[vV]ersion[\"']?[:=]? ?[\"']?)\d+"), r"\1<rv>"),
    (re.compile(r"too old resource version: \d+ \(\d+\)"), "too old resource version: <rv> (<rv>)"),
    (re.compile(r"(continue token|revision)( \(?)\d+"), r"\1\2<rv>"),
]
# The projected service-account volume's name ends in five random characters.
API_ACCESS = re.compile(r"^kube-api-access-[a-z0-9]{5}$")
IPV4 = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
AGE = re.compile(r"^(<invalid>|\d+(s|m|h|d|y)(\d+(s|m|h|d))?)$")

# Keys whose value is a point in time or a per-server identity, wherever they appear.
MASKED_KEYS = {
    "uid": "<uid>",
    "resourceVersion": "<rv>",
    "creationTimestamp": "<time>",
    "deletionTimestamp": "<time>",
    "continue": "<continue>",
    "clusterIP": "<ip>",
    "clusterIPs": "<ips>",
    "nodePort": "<port>",
    "healthCheckNodePort": "<port>",
    "token": "<token>",
    "expirationTimestamp": "<time>",
    "lastTransitionTime": "<time>",
    "lastUpdateTime": "<time>",
    "lastHeartbeatTime": "<time>",
    "lastProbeTime": "<time>",
    "firstTimestamp": "<time>",
    "lastTimestamp": "<time>",
    "eventTime": "<time>",
    "time": "<time>",
    "startTime": "<time>",
    "renewTime": "<time>",
    "acquireTime": "<time>",
    "lastScheduleTime": "<time>",
}
# The Kubernetes Service keeps its well-known address on both servers.
KEPT_IPS = {"10.96.0.1"}
VERSION_KEYS = {"gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler", "platform",
                "major", "minor", "emulationMajor", "emulationMinor", "minCompatibilityMajor",
                "minCompatibilityMinor"}


def mask_text(s: str) -> str:
    s = UUID.sub("<uid>", s)
    for pattern, repl in RV_IN_TEXT:
        s = pattern.sub(repl, s)
    return s


def normalize(value, key: str | None = None, parent: dict | None = None):
    """A copy of a decoded JSON value with what must differ masked."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k] = normalize(v, k, value)
        meta = out.get("metadata")
        if isinstance(meta, dict) and isinstance(value.get("metadata"), dict):
            if value["metadata"].get("generateName") and "name" in meta:
                meta["name"] = "<generated>"
        if _is_table(value):
            _mask_table_ages(out)
        return out
    if isinstance(value, list):
        return [normalize(v, key, parent) for v in value]
    if isinstance(value, str):
        if key in MASKED_KEYS and value != "":
            if key in ("clusterIP", "clusterIPs") and (value in KEPT_IPS or value == "None"):
                return value
            if key == "time" and not TIME.match(value):
                return value
            return MASKED_KEYS[key]
        if TIME.match(value):
            return "<time>"
        if API_ACCESS.match(value):
            return "kube-api-access-<random>"
        if key == "serverAddress":
            return re.sub(r":\d+$", ":<port>", value)
        if JWT.match(value):
            return "<jwt>"
        return mask_text(value)
    if isinstance(value, int) and key in ("nodePort", "healthCheckNodePort") and value:
        return "<port>"
    return value


def normalize_watch(events):
    """A watch stream normalised event by event; Table events after the first carry no column
    definitions, so the first one's columns mask their ages."""
    if not isinstance(events, list):
        return normalize(events)
    columns = None
    out = []
    for ev in events:
        obj = ev.get("object") if isinstance(ev, dict) else None
        if isinstance(obj, dict) and obj.get("kind") == "Table":
            if isinstance(obj.get("columnDefinitions"), list):
                columns = obj["columnDefinitions"]
            elif columns is not None:
                with_columns = {**obj, "columnDefinitions": columns}
                masked = normalize(with_columns)
                masked["columnDefinitions"] = None
                out.append({**ev, "object": masked})
                continue
        out.append(normalize(ev))
    return out


def _is_table(value: dict) -> bool:
    return value.get("kind") == "Table" and isinstance(value.get("columnDefinitions"), list)


def _mask_table_ages(table: dict) -> None:
    columns = [c.get("name") for c in table.get("columnDefinitions", []) if isinstance(c, dict)]
    for row in table.get("rows") or []:
        cells = row.get("cells") if isinstance(row, dict) else None
        if not isinstance(cells, list):
            continue
        for i, name in enumerate(columns):
            if i >= len(cells) or not isinstance(cells[i], str):
                continue
            if name in ("Age", "Last Seen", "Duration") or name.endswith("Age"):
                if AGE.match(cells[i]) or cells[i] == "<unknown>":
                    cells[i] = "<age>"
            elif name == "Cluster-IP" and IPV4.match(cells[i]) and cells[i] not in KEPT_IPS:
                cells[i] = "<ip>"


def normalize_version(doc):
    if isinstance(doc, dict):
        return {k: ("<version>" if k in VERSION_KEYS else v) for k, v in doc.items()}
    return doc


def diff(a, b, path: str = "", out: list | None = None, limit: int = 200) -> list[tuple[str, object, object]]:
    """Where `a` (the reference's) and `b` (kubeward's) differ, as (path, a, b)."""
    if out is None:
        out = []
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a.keys()) + [k for k in b.keys() if k not in a]:
            sub = f"{path}.{k}" if _plain(k) else f'{path}["{k}"]'
            if k not in b:
                out.append((sub, a[k], MISSING))
            elif k not in a:
                out.append((sub, MISSING, b[k]))
            else:
                diff(a[k], b[k], sub, out, limit)
        return out
    if isinstance(a, list) and isinstance(b, list):
        keyed = _keyed_lists(a, b)
        if keyed is not None:
            ka, kb = keyed
            for name in list(ka.keys()) + [n for n in kb.keys() if n not in ka]:
                sub = f"{path}[{name}]"
                if name not in kb:
                    out.append((sub, ka[name], MISSING))
                elif name not in ka:
                    out.append((sub, MISSING, kb[name]))
                else:
                    diff(ka[name], kb[name], sub, out, limit)
            if [*ka] != [*kb] and set(ka) == set(kb):
                out.append((f"{path}<order>", list(ka), list(kb)))
            return out
        for i in range(max(len(a), len(b))):
            sub = f"{path}[{i}]"
            if i >= len(b):
                out.append((sub, a[i], MISSING))
            elif i >= len(a):
                out.append((sub, MISSING, b[i]))
            else:
                diff(a[i], b[i], sub, out, limit)
        return out
    if a != b or type(a) is not type(b):
        out.append((path or ".", a, b))
    return out


class _Missing:
    def __repr__(self):
        return "(absent)"


MISSING = _Missing()


def _plain(k: str) -> bool:
    return re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", k) is not None


def _name_of(item):
    """The identity of a list element when lists are compared by name."""
    if not isinstance(item, dict):
        return None
    meta = item.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("name"), str):
        ns = meta.get("namespace")
        return f"{ns}/{meta['name']}" if ns else meta["name"]
    if isinstance(item.get("resource"), str) and isinstance(item.get("responseKind"), dict):
        return item["resource"]  # aggregated discovery's resources
    if isinstance(item.get("subresource"), str) and isinstance(item.get("responseKind"), dict):
        return item["subresource"]
    if isinstance(item.get("version"), str) and isinstance(item.get("resources"), list):
        return item["version"]  # aggregated discovery's versions
    if isinstance(item.get("manager"), str) and isinstance(item.get("operation"), str):
        # managedFields entries: one per manager, operation and subresource.
        return f"{item['manager']}/{item['operation']}/{item.get('subresource', '')}"
    obj = item.get("object")
    if item.get("type") is None and isinstance(item.get("name"), str):
        return item["name"]
    if isinstance(obj, dict) and isinstance(item.get("type"), str):
        return None  # watch events: order matters, compare by position
    return None


def _keyed_lists(a: list, b: list):
    """Lists of named things (objects, resources, rules with names) keyed by name, or None."""
    if not a or not b:
        return None
    ka, kb = {}, {}
    for items, keyed in ((a, ka), (b, kb)):
        for item in items:
            name = _name_of(item)
            if name is None or name in keyed:
                return None
            keyed[name] = item
    return ka, kb


def show(value, width: int = 160) -> str:
    if value is MISSING:
        return "(absent)"
    text = json.dumps(value, sort_keys=False, separators=(",", ":"), default=str)
    return text if len(text) <= width else text[: width - 3] + "..."
