"""The corpus beyond the per-kind verbs: custom resources, subresources, error paths, review
APIs, impersonation, selectors, pagination and watch streams (see corpus.py for `Req`)."""

import json

from corpus import (APPLY, JSONPATCH, MERGE, NS, PAGE_NS, PARTIAL_LIST, RBAC_NS, STRATEGIC, TABLE, Req,
                    kind_requests, save_json)
from samples import Kind, pod_spec

CM = f"/api/v1/namespaces/{NS}/configmaps"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def cm(name: str, ns: str = NS, labels: dict | None = None, data: dict | None = None) -> dict:
    meta = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {"k": "v"}}


def crd_requests(crd: dict, widget: Kind) -> list[Req]:
    """A CRD with status and scale subresources, printer columns, defaults and a CEL rule, and its
    custom resources through every verb."""
    name = crd["metadata"]["name"]
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    base = widget.base(NS)
    reqs = [
        Req("crd/create", "crd", crds, "POST", body=crd, smoke=True),
        Req("crd/established", "crd", f"{crds}/{name}", wait=3.0, smoke=True,
            extract=lambda d: {"conditions": sorted((c.get("type"), c.get("status"), c.get("reason"))
                                                    for c in ((d or {}).get("status") or {}).get("conditions", [])),
                               "acceptedNames": ((d or {}).get("status") or {}).get("acceptedNames"),
                               "storedVersions": ((d or {}).get("status") or {}).get("storedVersions")}),
        Req("crd/discovery", "crd", "/apis/diff.example.com/v1", smoke=True),
        Req("crd/openapi-v3", "crd", "/openapi/v3/apis/diff.example.com/v1",
            extract=lambda d: ((d or {}).get("components") or {}).get("schemas", {}).get("com.example.diff.v1.Widget")),
    ]
    reqs += kind_requests(widget)
    reqs += [
        Req("crd/widgets/create-for-subresources", "crd", base, "POST", body=widget.obj(NS, "w2")),
        Req("crd/widgets/defaulted", "crd", f"{base}/w2"),
        Req("crd/widgets/status-get", "crd", f"{base}/w2/status"),
        Req("crd/widgets/status-patch", "crd", f"{base}/w2/status", "PATCH",
            body={"status": {"replicas": 2}}, ctype=MERGE),
        Req("crd/widgets/status-patch-ignores-spec", "crd", f"{base}/w2/status", "PATCH",
            body={"spec": {"replicas": 5}}, ctype=MERGE),
        Req("crd/widgets/scale-get", "crd", f"{base}/w2/scale", smoke=True),
        Req("crd/widgets/scale-patch", "crd", f"{base}/w2/scale", "PATCH", body={"spec": {"replicas": 3}}, ctype=MERGE),
        Req("crd/widgets/table-wide", "crd", base, accept=TABLE),
        Req("crd/widgets/cel-rule", "crd", base, "POST",
            body={**widget.obj(NS, "w3"), "spec": {"replicas": 11}}),
        Req("crd/widgets/enum", "crd", base, "POST", body={**widget.obj(NS, "w4"), "spec": {"color": "green"}}),
        Req("crd/widgets/unknown-field-strict", "crd", base + "?fieldValidation=Strict", "POST",
            body={**widget.obj(NS, "w5"), "spec": {"bogus": 1}}),
        Req("crd/widgets/unknown-field-warn", "crd", base + "?fieldValidation=Warn", "POST",
            body={**widget.obj(NS, "w6"), "spec": {"bogus": 1}}),
        Req("crd/widgets/unknown-field-default", "crd", base, "POST",
            body={**widget.obj(NS, "w7"), "spec": {"bogus": 1}}),
        Req("crd/widgets/set-duplicate", "crd", base, "POST",
            body={**widget.obj(NS, "w8"), "spec": {"tags": ["a", "a"]}}),
        Req("crd/widgets/short-name-all", "crd", f"/apis/diff.example.com/v1/namespaces/{NS}/widgets?limit=500"),
        Req("crd/widgets/cluster-list", "crd", "/apis/diff.example.com/v1/widgets"),
        Req("crd/widgets/deletecollection", "crd", base, "DELETE"),
        Req("crd/widgets/list-after-deletecollection", "crd", base, wait=0.5),
        Req("crd/delete", "crd", f"{crds}/{name}", "DELETE"),
    ]
    return reqs


def subresource_requests() -> list[Req]:
    deps = f"/apis/apps/v1/namespaces/{NS}/deployments"
    pods = f"/api/v1/namespaces/{NS}/pods"
    svcs = f"/api/v1/namespaces/{NS}/services"
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "scaled", "namespace": NS},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "s"}},
                    "template": {"metadata": {"labels": {"app": "s"}}, "spec": pod_spec()}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1", "namespace": NS, "labels": {"app": "p"}},
           "spec": pod_spec()}
    return [
        Req("sub/deployment-create", "subresources", deps, "POST", body=dep),
        Req("sub/scale-get", "subresources", f"{deps}/scaled/scale", save=save_json("scale"), smoke=True),
        Req("sub/scale-put", "subresources", f"{deps}/scaled/scale", "PUT",
            body=lambda ctx: {**(ctx.get("scale") or {}), "spec": {"replicas": 4}}),
        Req("sub/scale-patch", "subresources", f"{deps}/scaled/scale", "PATCH", body={"spec": {"replicas": 2}},
            ctype=MERGE),
        Req("sub/scale-patch-strategic", "subresources", f"{deps}/scaled/scale", "PATCH",
            body={"spec": {"replicas": 3}}, ctype=STRATEGIC),
        Req("sub/deployment-after-scale", "subresources", f"{deps}/scaled"),
        Req("sub/deployment-status-get", "subresources", f"{deps}/scaled/status"),
        Req("sub/deployment-status-patch", "subresources", f"{deps}/scaled/status", "PATCH",
            body={"status": {"replicas": 3, "observedGeneration": 1}}, ctype=MERGE),
        Req("sub/pod-create", "subresources", pods, "POST", body=pod, smoke=True),
        Req("sub/pod-status-patch", "subresources", f"{pods}/p1/status", "PATCH",
            body={"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
            ctype=STRATEGIC),
        Req("sub/pod-binding", "subresources", f"{pods}/p1/binding", "POST",
            body={"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p1"},
                  "target": {"apiVersion": "v1", "kind": "Node", "name": "node-a"}}),
        Req("sub/pod-after-binding", "subresources", f"{pods}/p1"),
        Req("sub/pod-ephemeral-get", "subresources", f"{pods}/p1/ephemeralcontainers"),
        Req("sub/pod-eviction", "subresources", f"{pods}/p1/eviction", "POST",
            body={"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p1", "namespace": NS}}),
        Req("sub/pod-after-eviction", "subresources", f"{pods}/p1"),
        Req("sub/pod-log", "subresources", f"{pods}/nope/log"),
        Req("sub/service-create", "subresources", svcs, "POST",
            body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb", "namespace": NS},
                  "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}),
        Req("sub/service-status-patch", "subresources", f"{svcs}/lb/status", "PATCH",
            body={"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}, ctype=MERGE),
        Req("sub/service-headless", "subresources", svcs, "POST",
            body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "headless", "namespace": NS},
                  "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}),
        Req("sub/service-fixed-ip", "subresources", svcs, "POST",
            body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fixed", "namespace": NS},
                  "spec": {"clusterIP": "10.96.77.77", "ports": [{"port": 80}]}}),
        Req("sub/service-ip-taken", "subresources", svcs, "POST",
            body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fixed2", "namespace": NS},
                  "spec": {"clusterIP": "10.96.77.77", "ports": [{"port": 80}]}}),
        Req("sub/service-ip-outside", "subresources", svcs, "POST",
            body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "outside", "namespace": NS},
                  "spec": {"clusterIP": "192.168.0.1", "ports": [{"port": 80}]}}),
        Req("sub/namespace-status", "subresources", f"/api/v1/namespaces/{NS}/status"),
        Req("sub/serviceaccount-token", "subresources", f"/api/v1/namespaces/{NS}/serviceaccounts/default/token",
            "POST", body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                          "spec": {"expirationSeconds": 3600}},
            save=save_json("sa_token", "status.token"), smoke=True),
        Req("sub/serviceaccount-token-audience", "subresources",
            f"/api/v1/namespaces/{NS}/serviceaccounts/default/token", "POST",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                  "spec": {"audiences": ["diff-audience"], "expirationSeconds": 3600}},
            save=save_json("sa_token_aud", "status.token")),
        Req("sub/serviceaccount-token-short", "subresources",
            f"/api/v1/namespaces/{NS}/serviceaccounts/default/token", "POST",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                  "spec": {"expirationSeconds": 60}}),
        Req("sub/serviceaccount-token-missing-sa", "subresources",
            f"/api/v1/namespaces/{NS}/serviceaccounts/nope/token", "POST",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}),
        Req("sub/componentstatuses", "subresources", "/api/v1/componentstatuses",
            extract=lambda d: sorted(i["metadata"]["name"] for i in (d or {}).get("items", []))),
        Req("sub/componentstatus-etcd", "subresources", "/api/v1/componentstatuses/etcd-0"),
    ]


def error_requests() -> list[Req]:
    big = json.dumps(cm("big", data={"k": "x" * (4 * 1024 * 1024)}))
    return [
        # First: a watch from revision 1 replays the history (kube with a fresh etcd has compacted
        # nothing yet), which later error requests would otherwise change.
        Req("errors/410-watch-too-old", "errors", CM + "?watch=1&resourceVersion=1&timeoutSeconds=1", watch=True,
            smoke=True),
        Req("errors/400-bad-json", "errors", CM, "POST", body=b'{"apiVersion": "v1", "kind": ', smoke=True),
        Req("errors/400-wrong-kind", "errors", CM, "POST",
            body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wk"}}),
        Req("errors/400-wrong-namespace", "errors", CM, "POST", body=cm("wn", ns="other"), smoke=True),
        Req("errors/400-name-mismatch", "errors", f"{CM}/one", "PUT", body=cm("two")),
        Req("errors/400-bad-label-selector", "errors", CM + "?labelSelector=a%20b%20c", smoke=True),
        Req("errors/400-bad-field-selector", "errors", CM + "?fieldSelector=spec.nope%3Dx", smoke=True),
        Req("errors/400-bad-dry-run", "errors", CM + "?dryRun=Bogus", "POST", body=cm("dr")),
        Req("errors/400-bad-field-validation", "errors", CM + "?fieldValidation=Bogus", "POST", body=cm("fv")),
        Req("errors/400-strict-unknown-field", "errors", CM + "?fieldValidation=Strict", "POST",
            body={**cm("strict"), "bogus": 1}, smoke=True),
        Req("errors/400-strict-duplicate-field", "errors", CM + "?fieldValidation=Strict", "POST",
            body=b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup"}}'),
        # kube refuses the duplicate field; an object kubeward stored anyway must not reach later lists.
        Req("errors/400-strict-duplicate-field-cleanup", "errors", f"{CM}/dup", "DELETE"),
        Req("errors/200-warn-unknown-field", "errors", CM + "?fieldValidation=Warn", "POST",
            body={**cm("warn"), "bogus": 1}),
        Req("errors/200-default-unknown-field", "errors", CM, "POST", body={**cm("default-fv"), "bogus": 1}),
        Req("errors/400-bad-json-patch", "errors", f"{CM}/warn", "PATCH", body=b"[{\"op\":\"nope\"}]", ctype=JSONPATCH),
        Req("errors/422-json-patch-test-fails", "errors", f"{CM}/warn", "PATCH",
            body=[{"op": "test", "path": "/data/k", "value": "other"}], ctype=JSONPATCH),
        Req("errors/400-bad-merge-patch", "errors", f"{CM}/warn", "PATCH", body=b"[1,2]", ctype=MERGE),
        Req("errors/400-apply-without-manager", "errors", f"{CM}/warn", "PATCH", body=cm("warn"), ctype=APPLY),
        Req("errors/400-bad-limit", "errors", CM + "?limit=abc"),
        Req("errors/400-bad-continue", "errors", CM + "?limit=1&continue=bm9wZQ", smoke=True),
        Req("errors/400-bad-resource-version-match", "errors", CM + "?resourceVersionMatch=Exact"),
        Req("errors/400-bad-timeout", "errors", CM + "?timeoutSeconds=x&watch=1"),
        Req("errors/401-bad-token", "errors", "/api/v1/namespaces", who="badtoken", smoke=True),
        Req("errors/401-unknown-ca", "errors", "/api/v1/namespaces", who="stranger"),
        Req("errors/401-bad-token-healthz", "errors", "/healthz", who="badtoken"),
        Req("errors/403-anonymous", "errors", "/api/v1/namespaces", who="anonymous", smoke=True),
        Req("errors/403-anonymous-api", "errors", "/api", who="anonymous"),
        Req("errors/403-alice-secrets", "errors", "/api/v1/namespaces/default/secrets", who="alice", smoke=True),
        Req("errors/403-alice-create-clusterrole", "errors", "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            "POST", who="alice", body={"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                       "metadata": {"name": "alice-cr"}, "rules": []}),
        Req("errors/403-alice-escalate", "errors", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{RBAC_NS}/roles",
            "POST", who="alice", body={"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                       "metadata": {"name": "escalate", "namespace": RBAC_NS},
                                       "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
            smoke=True),
        Req("errors/403-alice-nonresource", "errors", "/metrics", who="alice"),
        Req("errors/404-missing-object", "errors", f"{CM}/nope", smoke=True),
        Req("errors/404-missing-namespace-create", "errors", "/api/v1/namespaces/nope/configmaps", "POST",
            body=cm("x", ns="nope"), smoke=True),
        Req("errors/404-missing-namespace-get", "errors", "/api/v1/namespaces/nope/configmaps/x"),
        Req("errors/404-unknown-resource", "errors", "/api/v1/namespaces/diff/foos"),
        Req("errors/404-unknown-group", "errors", "/apis/nope.example.com/v1"),
        Req("errors/404-unknown-version", "errors", "/apis/apps/v9"),
        Req("errors/404-unknown-path", "errors", "/nope"),
        Req("errors/404-delete-missing", "errors", f"{CM}/nope", "DELETE"),
        Req("errors/404-patch-missing", "errors", f"{CM}/nope", "PATCH", body={"data": {"a": "b"}}, ctype=MERGE),
        Req("errors/405-put-collection", "errors", CM, "PUT", body=cm("x"), smoke=True),
        Req("errors/405-post-item", "errors", f"{CM}/x", "POST", body=cm("x")),
        Req("errors/405-delete-componentstatus", "errors", "/api/v1/componentstatuses/etcd-0", "DELETE"),
        Req("errors/405-patch-collection", "errors", CM, "PATCH", body={}, ctype=MERGE),
        Req("errors/405-create-tokenreview-get", "errors", "/apis/authentication.k8s.io/v1/tokenreviews"),
        Req("errors/406-accept-xml", "errors", CM, accept="application/xml", smoke=True),
        Req("errors/406-accept-table-v2", "errors", CM, accept="application/json;as=Table;v=v2;g=meta.k8s.io"),
        Req("errors/409-already-exists", "errors", CM, "POST", body=cm("warn")),
        Req("errors/409-namespace-terminating", "errors", "/api/v1/namespaces", "POST",
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
        Req("errors/410-list-too-old", "errors", CM + "?resourceVersion=1&resourceVersionMatch=Exact"),
        Req("errors/413-too-large", "errors", CM, "POST", body=big.encode(), smoke=True),
        Req("errors/415-patch-text", "errors", f"{CM}/warn", "PATCH", body=b"data: {}", ctype="text/plain",
            smoke=True),
        Req("errors/415-create-xml", "errors", CM, "POST", body=b"<ConfigMap/>", ctype="application/xml"),
        Req("errors/415-strategic-on-crd", "errors", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nope",
            "PATCH", body={}, ctype=STRATEGIC),
        Req("errors/422-invalid-name", "errors", CM, "POST", body=cm("Bad_Name"), smoke=True),
        Req("errors/422-invalid-data-key", "errors", CM, "POST", body=cm("badkey", data={"bad key": "v"})),
        Req("errors/422-missing-name", "errors", CM, "POST",
            body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
        Req("errors/422-invalid-label", "errors", CM, "POST", body=cm("badlabel", labels={"a b": "c"})),
        Req("errors/422-deployment-selector", "errors", f"/apis/apps/v1/namespaces/{NS}/deployments", "POST",
            body={"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nosel"},
                  "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": pod_spec()}}}, smoke=True),
        Req("errors/422-pod-no-containers", "errors", f"/api/v1/namespaces/{NS}/pods", "POST",
            body={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "empty"}, "spec": {"containers": []}}),
        Req("errors/422-service-bad-port", "errors", f"/api/v1/namespaces/{NS}/services", "POST",
            body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "badport"},
                  "spec": {"ports": [{"port": 70000}]}}),
        Req("errors/422-immutable-configmap", "errors", CM, "POST", body={**cm("frozen"), "immutable": True}),
        Req("errors/422-immutable-configmap-update", "errors", f"{CM}/frozen", "PATCH",
            body={"data": {"k": "changed"}}, ctype=MERGE),
        Req("errors/422-generate-name", "errors", CM, "POST",
            body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}),
        Req("errors/dry-run-create", "errors", CM + "?dryRun=All", "POST", body=cm("dry"), smoke=True),
        Req("errors/dry-run-not-stored", "errors", f"{CM}/dry"),
        Req("errors/precondition-uid", "errors", f"{CM}/warn", "DELETE",
            body={"apiVersion": "v1", "kind": "DeleteOptions",
                  "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}),
        Req("errors/delete-propagation-bad", "errors", f"{CM}/warn", "DELETE",
            body={"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Sometimes"}),
    ]


def review_requests() -> list[Req]:
    authn = "/apis/authentication.k8s.io/v1"
    authz = "/apis/authorization.k8s.io/v1"

    def token_review(key):
        return lambda ctx: {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                            "spec": {"token": ctx.get(key) or ""}}

    def ssar(verb, resource, ns=None, group="", name=None, sub=None):
        attrs = {"verb": verb, "resource": resource, "group": group}
        if ns:
            attrs["namespace"] = ns
        if name:
            attrs["name"] = name
        if sub:
            attrs["subresource"] = sub
        return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs}}

    sar = lambda spec: {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}  # noqa: E731
    return [
        Req("reviews/tokenreview-sa", "reviews", f"{authn}/tokenreviews", "POST", body=token_review("sa_token"),
            smoke=True),
        Req("reviews/tokenreview-audience-mismatch", "reviews", f"{authn}/tokenreviews", "POST",
            body=token_review("sa_token_aud")),
        Req("reviews/tokenreview-audience-match", "reviews", f"{authn}/tokenreviews", "POST",
            body=lambda ctx: {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                              "spec": {"token": ctx.get("sa_token_aud") or "", "audiences": ["diff-audience"]}}),
        Req("reviews/tokenreview-garbage", "reviews", f"{authn}/tokenreviews", "POST",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": "garbage"}}),
        Req("reviews/tokenreview-empty", "reviews", f"{authn}/tokenreviews", "POST",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {}}),
        Req("reviews/sa-token-authenticates", "reviews", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "POST",
            who="sa", body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, smoke=True),
        Req("reviews/sa-token-forbidden", "reviews", "/api/v1/namespaces/default/secrets", who="sa"),
        Req("reviews/selfsubjectreview-admin", "reviews", f"{authn}/selfsubjectreviews", "POST",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, smoke=True),
        Req("reviews/selfsubjectreview-alice", "reviews", f"{authn}/selfsubjectreviews", "POST", who="alice",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
        Req("reviews/ssar-alice-allowed", "reviews", f"{authz}/selfsubjectaccessreviews", "POST", who="alice",
            body=ssar("create", "configmaps", RBAC_NS), smoke=True),
        Req("reviews/ssar-alice-denied", "reviews", f"{authz}/selfsubjectaccessreviews", "POST", who="alice",
            body=ssar("list", "secrets", "default"), smoke=True),
        Req("reviews/ssar-alice-subresource", "reviews", f"{authz}/selfsubjectaccessreviews", "POST", who="alice",
            body=ssar("create", "pods", RBAC_NS, sub="exec", name="p")),
        Req("reviews/ssar-alice-nonresource", "reviews", f"{authz}/selfsubjectaccessreviews", "POST", who="alice",
            body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}}),
        Req("reviews/ssar-admin-anything", "reviews", f"{authz}/selfsubjectaccessreviews", "POST",
            body=ssar("delete", "nodes")),
        Req("reviews/ssar-empty", "reviews", f"{authz}/selfsubjectaccessreviews", "POST",
            body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}}),
        Req("reviews/sar-alice", "reviews", f"{authz}/subjectaccessreviews", "POST",
            body=sar({"user": "alice", "resourceAttributes": {"verb": "get", "resource": "configmaps",
                                                              "namespace": RBAC_NS}}), smoke=True),
        Req("reviews/sar-alice-denied", "reviews", f"{authz}/subjectaccessreviews", "POST",
            body=sar({"user": "alice", "resourceAttributes": {"verb": "get", "resource": "nodes"}})),
        Req("reviews/sar-group", "reviews", f"{authz}/subjectaccessreviews", "POST",
            body=sar({"user": "carol", "groups": ["system:masters"],
                      "resourceAttributes": {"verb": "delete", "resource": "nodes"}})),
        Req("reviews/sar-node", "reviews", f"{authz}/subjectaccessreviews", "POST",
            body=sar({"user": "system:node:node-a", "groups": ["system:nodes"],
                      "resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": NS,
                                             "name": "sample"}})),
        Req("reviews/sar-node-own", "reviews", f"{authz}/subjectaccessreviews", "POST",
            body=sar({"user": "system:node:node-a", "groups": ["system:nodes"],
                      "resourceAttributes": {"verb": "get", "resource": "nodes", "name": "node-a"}})),
        Req("reviews/sar-no-user", "reviews", f"{authz}/subjectaccessreviews", "POST",
            body=sar({"resourceAttributes": {"verb": "get", "resource": "pods"}})),
        Req("reviews/sar-both-attributes", "reviews", f"{authz}/subjectaccessreviews", "POST",
            body=sar({"user": "alice", "resourceAttributes": {"verb": "get", "resource": "pods"},
                      "nonResourceAttributes": {"path": "/", "verb": "get"}})),
        Req("reviews/sar-selectors", "reviews", f"{authz}/subjectaccessreviews", "POST",
            body=sar({"user": "alice", "resourceAttributes": {
                "verb": "list", "resource": "configmaps", "namespace": RBAC_NS,
                "labelSelector": {"requirements": [{"key": "a", "operator": "In", "values": ["b"]}]},
                "fieldSelector": {"rawSelector": "metadata.name=x"}}})),
        Req("reviews/sar-alice-forbidden-to-ask", "reviews", f"{authz}/subjectaccessreviews", "POST", who="alice",
            body=sar({"user": "bob", "resourceAttributes": {"verb": "get", "resource": "pods"}})),
        Req("reviews/lsar-alice", "reviews", f"{authz}/namespaces/{RBAC_NS}/localsubjectaccessreviews", "POST",
            body={"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview",
                  "metadata": {"namespace": RBAC_NS},
                  "spec": {"user": "alice", "resourceAttributes": {"verb": "update", "resource": "deployments",
                                                                   "group": "apps", "namespace": RBAC_NS}}}),
        Req("reviews/lsar-namespace-mismatch", "reviews", f"{authz}/namespaces/{RBAC_NS}/localsubjectaccessreviews",
            "POST", body={"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview",
                          "metadata": {"namespace": RBAC_NS},
                          "spec": {"user": "alice", "resourceAttributes": {"verb": "get", "resource": "pods",
                                                                           "namespace": "other"}}}),
        Req("reviews/ssrr-alice", "reviews", f"{authz}/selfsubjectrulesreviews", "POST", who="alice",
            body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                  "spec": {"namespace": RBAC_NS}}, extract=_sorted_rules, smoke=True),
        Req("reviews/ssrr-alice-other-ns", "reviews", f"{authz}/selfsubjectrulesreviews", "POST", who="alice",
            body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                  "spec": {"namespace": "default"}}, extract=_sorted_rules),
        Req("reviews/ssrr-no-namespace", "reviews", f"{authz}/selfsubjectrulesreviews", "POST", who="alice",
            body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {}}),
    ]


def _sorted_rules(doc):
    """A SelfSubjectRulesReview with its rules in a stable order (kube's order follows its
    bindings' map iteration, which is not defined)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("status"), dict):
        return doc
    status = dict(doc["status"])
    for key in ("resourceRules", "nonResourceRules"):
        if isinstance(status.get(key), list):
            status[key] = sorted(status[key], key=lambda r: json.dumps(r, sort_keys=True))
    return {**doc, "status": status}


def impersonation_requests() -> list[Req]:
    as_alice = {"Impersonate-User": "alice"}
    ssr = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    ssr_path = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    return [
        Req("impersonate/as-alice-forbidden", "impersonation", "/api/v1/namespaces/default/secrets",
            headers=as_alice, smoke=True),
        Req("impersonate/as-alice-allowed", "impersonation", f"/api/v1/namespaces/{RBAC_NS}/configmaps",
            headers=as_alice),
        Req("impersonate/as-alice-review", "impersonation", ssr_path, "POST", body=ssr, headers=as_alice, smoke=True),
        Req("impersonate/as-alice-groups-extra", "impersonation", ssr_path, "POST", body=ssr,
            headers={"Impersonate-User": "alice", "Impersonate-Group": "devs",
                     "Impersonate-Extra-Team": "blue", "Impersonate-Uid": "alice-uid"}),
        Req("impersonate/as-serviceaccount", "impersonation", ssr_path, "POST", body=ssr,
            headers={"Impersonate-User": f"system:serviceaccount:{NS}:default"}),
        Req("impersonate/group-without-user", "impersonation", "/api/v1/namespaces",
            headers={"Impersonate-Group": "devs"}),
        Req("impersonate/uid-without-user", "impersonation", "/api/v1/namespaces",
            headers={"Impersonate-Uid": "x"}),
        Req("impersonate/alice-cannot", "impersonation", "/api/v1/namespaces", who="alice",
            headers={"Impersonate-User": "kubeward-admin"}, smoke=True),
        Req("impersonate/alice-cannot-group", "impersonation", "/api/v1/namespaces", who="alice",
            headers={"Impersonate-User": "alice", "Impersonate-Group": "system:masters"}),
        Req("impersonate/as-anonymous", "impersonation", "/api/v1/namespaces",
            headers={"Impersonate-User": "system:anonymous"}),
    ]


def selector_requests() -> list[Req]:
    sel = "/api/v1/namespaces/diff-page/configmaps"
    names = lambda d: [i["metadata"]["name"] for i in (d or {}).get("items", [])]  # noqa: E731
    reqs = []
    for i, (app, tier) in enumerate([("a", "web"), ("a", "db"), ("b", "web"), ("c", None), (None, None)]):
        labels = {k: v for k, v in (("app", app), ("tier", tier)) if v}
        reqs.append(Req(f"selectors/create-{i}", "selectors", sel, "POST",
                        body=cm(f"s{i}", ns=PAGE_NS, labels=labels or None), smoke=True))
    for i, selector in enumerate(["app%3Da", "app%21%3Da", "app+in+%28a%2Cb%29", "app+notin+%28a%29", "%21app",
                                  "app", "app%3Da%2Ctier%3Dweb", "app%3D%3Da", "tier+in+%28%29"]):
        reqs.append(Req(f"selectors/label-{i}", "selectors", f"{sel}?labelSelector={selector}",
                        extract=names if i < 7 else None, smoke=i == 0))
    for i, selector in enumerate(["metadata.name%3Ds1", "metadata.name%21%3Ds1", "metadata.namespace%3Ddiff-page",
                                  "metadata.name%3Ds1%2Cmetadata.name%3Ds2"]):
        reqs.append(Req(f"selectors/field-{i}", "selectors", f"{sel}?fieldSelector={selector}", extract=names))
    reqs += [
        Req("selectors/field-secret-type", "selectors", f"/api/v1/namespaces/{NS}/secrets?fieldSelector=type%3DOpaque",
            extract=names),
        Req("selectors/field-pod-phase", "selectors", "/api/v1/pods?fieldSelector=status.phase%3DPending",
            extract=lambda d: sorted(names(d))),
        Req("selectors/field-pod-node", "selectors", "/api/v1/pods?fieldSelector=spec.nodeName%3D",
            extract=lambda d: sorted(names(d))),
        Req("selectors/field-event-reason", "selectors",
            f"/api/v1/namespaces/{NS}/events?fieldSelector=reason%3DTested", extract=names),
        Req("selectors/field-unsupported", "selectors", f"{sel}?fieldSelector=data.k%3Dv", smoke=True),
        Req("selectors/field-bad-operator", "selectors", f"{sel}?fieldSelector=metadata.name~s1"),
        Req("selectors/cluster-wide-label", "selectors", "/api/v1/configmaps?labelSelector=app%3Da", extract=names),
        Req("selectors/partial-list", "selectors", f"{sel}?labelSelector=app", accept=PARTIAL_LIST),
        Req("selectors/table-no-object", "selectors", f"{sel}?labelSelector=app&includeObject=None", accept=TABLE),
        Req("selectors/table-object", "selectors", f"{sel}?labelSelector=app&includeObject=Object", accept=TABLE),
    ]
    return reqs


def pagination_requests() -> list[Req]:
    sel = "/api/v1/namespaces/diff-page/configmaps"
    return [
        Req("pagination/page-1", "pagination", f"{sel}?limit=2", save=save_json("cont1", "metadata.continue"),
            smoke=True),
        Req("pagination/page-2", "pagination", lambda ctx: f"{sel}?limit=2&continue={ctx.get('cont1')}",
            save=save_json("cont2", "metadata.continue"), smoke=True),
        Req("pagination/page-3", "pagination", lambda ctx: f"{sel}?limit=2&continue={ctx.get('cont2')}"),
        Req("pagination/limit-rv0", "pagination", f"{sel}?limit=2&resourceVersion=0",
            extract=lambda d: [i["metadata"]["name"] for i in (d or {}).get("items", [])]),
        Req("pagination/limit-all-namespaces", "pagination", "/api/v1/configmaps?limit=1&labelSelector=app",
            extract=lambda d: {"names": [i["metadata"]["name"] for i in (d or {}).get("items", [])],
                               "continue": bool(((d or {}).get("metadata") or {}).get("continue")),
                               "remaining": ((d or {}).get("metadata") or {}).get("remainingItemCount")}),
        Req("pagination/limit-zero", "pagination", f"{sel}?limit=0"),
        Req("pagination/limit-negative", "pagination", f"{sel}?limit=-1"),
        Req("pagination/continue-with-rv", "pagination",
            lambda ctx: f"{sel}?limit=2&continue={ctx.get('cont1')}&resourceVersion=5"),
        Req("pagination/table-page", "pagination", f"{sel}?limit=2", accept=TABLE),
        Req("pagination/rv-match-notolder", "pagination", f"{sel}?resourceVersion=1&resourceVersionMatch=NotOlderThan",
            extract=lambda d: [i["metadata"]["name"] for i in (d or {}).get("items", [])] if d and "items" in d else d),
        Req("pagination/rv-match-without-rv", "pagination", f"{sel}?resourceVersionMatch=NotOlderThan"),
    ]


def watch_requests() -> list[Req]:
    sel = "/api/v1/namespaces/diff-page/configmaps"
    return [
        Req("watch/rv-save", "watch", sel, save=save_json("wrv", "metadata.resourceVersion"), smoke=True),
        Req("watch/create", "watch", sel, "POST", body=cm("w1", ns=PAGE_NS, labels={"app": "w"}), smoke=True),
        Req("watch/update", "watch", f"{sel}/w1", "PATCH", body={"data": {"k": "v2"}}, ctype=MERGE, smoke=True),
        Req("watch/delete", "watch", f"{sel}/w1", "DELETE", smoke=True),
        Req("watch/from-rv", "watch", lambda ctx: f"{sel}?watch=1&timeoutSeconds=1&resourceVersion={ctx.get('wrv')}",
            watch=True, wait=0.3, smoke=True),
        Req("watch/from-rv-label", "watch",
            lambda ctx: f"{sel}?watch=1&timeoutSeconds=1&labelSelector=app%3Dw&resourceVersion={ctx.get('wrv')}",
            watch=True),
        Req("watch/from-rv-field", "watch",
            lambda ctx: f"{sel}?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dw1&resourceVersion={ctx.get('wrv')}",
            watch=True),
        Req("watch/item", "watch", lambda ctx: f"{sel}/w1?watch=1&timeoutSeconds=1&resourceVersion={ctx.get('wrv')}",
            watch=True),
        Req("watch/initial-state", "watch", f"{sel}?watch=1&timeoutSeconds=1&labelSelector=app", watch=True),
        Req("watch/initial-events-bookmark", "watch",
            f"{sel}?watch=1&timeoutSeconds=1&labelSelector=app&sendInitialEvents=true&allowWatchBookmarks=true"
            "&resourceVersionMatch=NotOlderThan", watch=True),
        Req("watch/initial-events-without-match", "watch",
            f"{sel}?watch=1&timeoutSeconds=1&sendInitialEvents=true&allowWatchBookmarks=true"),
        Req("watch/table", "watch", lambda ctx: f"{sel}?watch=1&timeoutSeconds=1&resourceVersion={ctx.get('wrv')}",
            accept=TABLE, watch=True),
        Req("watch/partial", "watch", lambda ctx: f"{sel}?watch=1&timeoutSeconds=1&resourceVersion={ctx.get('wrv')}",
            accept=PARTIAL_LIST.replace("PartialObjectMetadataList", "PartialObjectMetadata"), watch=True),
        Req("watch/forbidden", "watch", "/api/v1/secrets?watch=1&timeoutSeconds=1", who="alice", watch=True),
        Req("watch/cluster-wide", "watch",
            lambda ctx: f"/api/v1/configmaps?watch=1&timeoutSeconds=1&labelSelector=app%3Dw&resourceVersion={ctx.get('wrv')}",
            watch=True),
    ]
