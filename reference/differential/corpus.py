"""The corpus: the requests replayed against both servers, in order.

A `Req` is one HTTP request with an id (unique, stable across runs: the accepted-differences
list and COMPATIBILITY.md name requests by it), an area (how the report groups it) and who
sends it. Requests run in order and may depend on earlier ones: `save` stores values of an
answer in the per-server context, and a path or body that is a callable, or a path with
`{placeholders}`, is filled from it. Each server gets its own context, so a resourceVersion or
a token from kube-apiserver is only ever sent back to kube-apiserver.

Areas: the per-kind verbs (kinds.py), and here namespaces and identities (setup), discovery,
OpenAPI, errors, reviews, impersonation, selectors, pagination, watch, custom resources.
"""

import dataclasses
from typing import Any, Callable

from samples import WIDGET, Kind, kinds, widget_crd

NS = "diff"
RBAC_NS = "diff-rbac"
PAGE_NS = "diff-page"

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"
PARTIAL = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSONPATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


@dataclasses.dataclass
class Req:
    id: str
    area: str
    path: str | Callable[[dict], str]
    method: str = "GET"
    who: str = "admin"
    body: Any = None
    ctype: str | None = None
    accept: str | None = None
    headers: dict = dataclasses.field(default_factory=dict)
    # A part of the decoded answer to compare instead of the whole (big documents).
    extract: Callable[[Any], Any] | None = None
    # Called with (ctx, response) after the request, on each server.
    save: Callable[[dict, Any], None] | None = None
    # A watch: the body is a stream of events.
    watch: bool = False
    smoke: bool = False
    # Seconds to wait before sending (lets the reference's watch cache catch up).
    wait: float = 0.0
    timeout: float = 30.0


def save_json(key: str, pointer: str | None = None):
    """Stores the answer (or the value at a dotted `pointer` in it) as ctx[key]."""

    def save(ctx: dict, resp) -> None:
        value = resp.json()
        for part in (pointer.split(".") if pointer else []):
            value = value.get(part) if isinstance(value, dict) else None
        ctx[key] = value

    return save


def with_labels(key: str, labels: dict, rv_from: str | None = None):
    """A body from the object saved as ctx[key] with labels added (and another resourceVersion)."""

    def body(ctx: dict):
        obj = ctx.get(key)
        if not isinstance(obj, dict):
            return {}
        obj = {**obj, "metadata": {**obj.get("metadata", {})}}
        obj["metadata"]["labels"] = {**obj["metadata"].get("labels", {}), **labels}
        obj["metadata"].pop("managedFields", None)
        if rv_from:
            src = ctx.get(rv_from)
            obj["metadata"]["resourceVersion"] = (src or {}).get("metadata", {}).get("resourceVersion", "")
        return obj

    return body


def kind_requests(k: Kind, ns: str = NS) -> list[Req]:
    """Every verb on one kind: create (twice), get, list, Table, PartialObjectMetadata, update,
    a stale update, the three patch types, apply and an apply conflict, delete, get after delete,
    and the watch of it all from the revision before the create."""
    base = k.base(ns)
    item = f"{base}/{k.name}"
    key = f"obj:{k.resource}"
    rid = f"{k.group or 'core'}/{k.resource}"
    area = "kinds"
    apply_body = {"apiVersion": k.api_version, "kind": k.kind,
                  "metadata": {"name": k.name, "labels": {"applied": "yes"}}}
    if k.namespaced:
        apply_body["metadata"]["namespace"] = ns
    smoke_verbs = {"list-before", "create", "get", "table", "update", "patch-merge", "apply", "delete", "watch"}
    reqs = [
        Req(f"{rid}/list-before", area, base, save=save_json(f"rv:{k.resource}", "metadata.resourceVersion")),
        Req(f"{rid}/create", area, base, "POST", body=k.obj(ns), save=save_json(f"created:{k.resource}"),
            smoke=k.smoke),
        Req(f"{rid}/create-again", area, base, "POST", body=k.obj(ns), smoke=k.smoke),
        Req(f"{rid}/get", area, item, save=save_json(key), wait=k.settle_create, smoke=k.smoke),
        Req(f"{rid}/list", area, base + "?labelSelector=diff%3Dyes", smoke=k.smoke),
        Req(f"{rid}/table", area, base + "?labelSelector=diff%3Dyes", accept=TABLE, smoke=k.smoke),
        Req(f"{rid}/partial-get", area, item, accept=PARTIAL),
        Req(f"{rid}/update", area, item, "PUT", body=with_labels(key, {"updated": "yes"}), smoke=k.smoke),
        Req(f"{rid}/update-stale", area, item, "PUT",
            body=with_labels(key, {"stale": "yes"}, rv_from=f"created:{k.resource}")),
        Req(f"{rid}/patch-merge", area, item, "PATCH", body={"metadata": {"labels": {"merged": "yes"}}},
            ctype=MERGE, smoke=k.smoke),
        Req(f"{rid}/patch-strategic", area, item, "PATCH", body={"metadata": {"labels": {"strategic": "yes"}}},
            ctype=STRATEGIC),
        Req(f"{rid}/patch-json", area, item, "PATCH",
            body=[{"op": "add", "path": "/metadata/labels/jsonpatch", "value": "yes"},
                  {"op": "test", "path": "/metadata/labels/diff", "value": "yes"}], ctype=JSONPATCH),
        Req(f"{rid}/apply", area, item + "?fieldManager=diff-apply", "PATCH", body=apply_body, ctype=APPLY,
            smoke=k.smoke),
        Req(f"{rid}/apply-conflict", area, item + "?fieldManager=diff-other", "PATCH",
            body={**apply_body, "metadata": {**apply_body["metadata"], "labels": {"applied": "no"}}},
            ctype=APPLY),
        Req(f"{rid}/delete", area, item, "DELETE", smoke=k.smoke),
        Req(f"{rid}/get-after-delete", area, item, wait=k.settle, smoke=k.smoke),
        Req(f"{rid}/watch", area,
            lambda ctx, b=base, r=k.resource: f"{b}?watch=1&timeoutSeconds=1&resourceVersion={ctx.get('rv:' + r)}",
            watch=True, wait=0.3, smoke=k.smoke),
    ]
    for r in reqs:
        r.smoke = k.smoke and r.id.rsplit("/", 1)[1] in smoke_verbs
    return reqs


def setup_requests() -> list[Req]:
    """Namespaces and alice's RoleBinding: the corpus's own state, compared like the rest."""
    reqs = []
    for ns in (NS, RBAC_NS, PAGE_NS):
        reqs.append(Req(f"setup/namespace-{ns}", "setup", "/api/v1/namespaces", "POST",
                        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, smoke=True))
    reqs.append(Req("setup/alice-edit", "setup", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{RBAC_NS}/rolebindings",
                    "POST", body={
                        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                        "metadata": {"name": "alice-edit", "namespace": RBAC_NS},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]},
                    smoke=True))
    # The namespace controllers add the default ServiceAccount and kube-root-ca.crt.
    reqs.append(Req("setup/default-serviceaccount", "setup", f"/api/v1/namespaces/{NS}/serviceaccounts/default",
                    wait=2.0, smoke=True))
    reqs.append(Req("setup/root-ca-configmap", "setup", f"/api/v1/namespaces/{NS}/configmaps/kube-root-ca.crt",
                    smoke=True))
    return reqs


GROUP_VERSIONS = [
    "v1", "admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "apiregistration.k8s.io/v1", "apps/v1",
    "authentication.k8s.io/v1", "authorization.k8s.io/v1", "autoscaling/v1", "autoscaling/v2", "batch/v1",
    "certificates.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1", "events.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1", "networking.k8s.io/v1", "node.k8s.io/v1", "policy/v1",
    "rbac.authorization.k8s.io/v1", "resource.k8s.io/v1", "scheduling.k8s.io/v1", "storage.k8s.io/v1",
]


def discovery_requests() -> list[Req]:
    reqs = [
        Req("discovery/api", "discovery", "/api", smoke=True),
        Req("discovery/apis", "discovery", "/apis", smoke=True),
        Req("discovery/api-aggregated", "discovery", "/api", accept=AGGREGATED),
        Req("discovery/apis-aggregated", "discovery", "/apis", accept=AGGREGATED),
        Req("discovery/version", "discovery", "/version", smoke=True),
        Req("discovery/healthz", "discovery", "/healthz", who="anonymous", smoke=True),
        Req("discovery/livez", "discovery", "/livez", who="anonymous"),
        Req("discovery/readyz", "discovery", "/readyz", who="anonymous"),
        Req("discovery/healthz-ping", "discovery", "/healthz/ping"),
        Req("discovery/livez-ping", "discovery", "/livez/ping"),
        Req("discovery/healthz-etcd", "discovery", "/healthz/etcd"),
        Req("discovery/version-anonymous", "discovery", "/version", who="anonymous"),
        # Keyed by path, so that a path one server lacks shows as that path, not a shifted list.
        Req("discovery/root", "discovery", "/", extract=lambda d: {p: True for p in (d or {}).get("paths", [])
                                                                   if not p.startswith(("/healthz/", "/livez/", "/readyz/", "/metrics"))}),
        # ServiceAccount issuer discovery: both servers sign with the same key; the jwks_uri names
        # each server's own address, so only its path is compared.
        Req("discovery/openid-configuration", "discovery", "/.well-known/openid-configuration",
            extract=lambda d: dict(d or {}, jwks_uri="/" + (d or {}).get("jwks_uri", "").split("/", 3)[-1])),
        # go-restful answers 406 unless Accept names the key set's type or */*.
        Req("discovery/openid-jwks", "discovery", "/openid/v1/jwks"),
        Req("discovery/openid-jwks-accepted", "discovery", "/openid/v1/jwks/", accept="application/jwk-set+json"),
    ]
    for gv in GROUP_VERSIONS:
        path = "/api/v1" if gv == "v1" else f"/apis/{gv}"
        reqs.append(Req(f"discovery/{gv}", "discovery", path, smoke=gv in ("v1", "apps/v1")))
        if "/" in gv:
            group = gv.split("/")[0]
            if not any(r.id == f"discovery/group/{group}" for r in reqs):
                reqs.append(Req(f"discovery/group/{group}", "discovery", f"/apis/{group}"))
    return reqs


def _definition(name):
    return lambda doc: (doc or {}).get("definitions", {}).get(name)


def _schema(name):
    return lambda doc: ((doc or {}).get("components") or {}).get("schemas", {}).get(name)


def _path_item(path):
    return lambda doc: (doc or {}).get("paths", {}).get(path)


def openapi_requests() -> list[Req]:
    reqs = []
    for name in ("io.k8s.api.core.v1.ConfigMap", "io.k8s.api.apps.v1.Deployment", "io.k8s.api.core.v1.PodSpec",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
                 "io.k8s.api.rbac.v1.ClusterRole", "io.k8s.api.batch.v1.CronJobSpec"):
        reqs.append(Req(f"openapi/v2/{name}", "openapi", "/openapi/v2", extract=_definition(name),
                        smoke=name.endswith("ConfigMap")))
    reqs.append(Req("openapi/v2/info", "openapi", "/openapi/v2",
                    extract=lambda d: {k: v for k, v in (d or {}).items() if k not in ("paths", "definitions")}))
    reqs.append(Req("openapi/v2/path-names", "openapi", "/openapi/v2", extract=lambda d: sorted((d or {}).get("paths", {}))))
    reqs.append(Req("openapi/v2/definition-names", "openapi", "/openapi/v2",
                    extract=lambda d: sorted((d or {}).get("definitions", {}))))
    reqs.append(Req("openapi/v2/configmaps-path", "openapi", "/openapi/v2",
                    extract=_path_item("/api/v1/namespaces/{namespace}/configmaps/{name}")))
    # Keyed by document, so that a document one server lacks shows as that document.
    reqs.append(Req("openapi/v3/index", "openapi", "/openapi/v3",
                    extract=lambda d: {p: True for p in (d or {}).get("paths", {})}, smoke=True))
    for gv, schema in (("api/v1", "io.k8s.api.core.v1.ConfigMap"), ("api/v1", "io.k8s.api.core.v1.Service"),
                       ("apis/apps/v1", "io.k8s.api.apps.v1.Deployment"),
                       ("apis/rbac.authorization.k8s.io/v1", "io.k8s.api.rbac.v1.RoleBinding"),
                       ("apis/networking.k8s.io/v1", "io.k8s.api.networking.v1.Ingress"),
                       ("apis/batch/v1", "io.k8s.api.batch.v1.Job")):
        reqs.append(Req(f"openapi/v3/{gv}/{schema}", "openapi", f"/openapi/v3/{gv}", extract=_schema(schema)))
    reqs.append(Req("openapi/v3/api/v1/path-names", "openapi", "/openapi/v3/api/v1",
                    extract=lambda d: {p: True for p in (d or {}).get("paths", {})}))
    reqs.append(Req("openapi/v3/apis/apps/v1/schema-names", "openapi", "/openapi/v3/apis/apps/v1",
                    extract=lambda d: sorted(((d or {}).get("components") or {}).get("schemas", {}))))
    reqs.append(Req("openapi/v3/api/v1/namespace-finalize-path", "openapi", "/openapi/v3/api/v1",
                    extract=_path_item("/api/v1/namespaces/{name}/finalize")))
    reqs.append(Req("openapi/v3/apis/apps/v1/deployments-path", "openapi", "/openapi/v3/apis/apps/v1",
                    extract=_path_item("/apis/apps/v1/namespaces/{namespace}/deployments/{name}")))
    reqs.append(Req("openapi/v3/unknown", "openapi", "/openapi/v3/apis/nope.example.com/v1"))
    # The index's documents of the non-resource paths, whole.
    for doc in ("version", ".well-known/openid-configuration", "openid/v1/jwks", "api", "apis", "apis/apps",
                "apis/rbac.authorization.k8s.io"):
        reqs.append(Req(f"openapi/v3/doc/{doc}", "openapi", f"/openapi/v3/{doc}"))
    return reqs


def all_requests(csr_pem_b64: str, smoke: bool = False) -> list[Req]:
    from more_requests import (crd_requests, error_requests, impersonation_requests, pagination_requests,
                               review_requests, selector_requests, subresource_requests, watch_requests)
    reqs = setup_requests() + discovery_requests() + openapi_requests()
    for k in kinds(csr_pem_b64):
        reqs += kind_requests(k)
    reqs += crd_requests(widget_crd(), WIDGET)
    reqs += subresource_requests()
    reqs += error_requests()
    reqs += review_requests()
    reqs += impersonation_requests()
    reqs += selector_requests()
    reqs += pagination_requests()
    reqs += watch_requests()
    ids = [r.id for r in reqs]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate request ids: {sorted(dupes)}")
    if smoke:
        reqs = [r for r in reqs if r.smoke]
    return reqs
