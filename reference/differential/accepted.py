"""Differences between kube-apiserver and kubeward that are intended, each with its reason.

A rule names requests (a regular expression over request ids) and paths into the compared
answer (a regular expression over the difference's path, `<status>`, `<content-type>`,
`<warnings>`, `body.metadata.labels`, ...). A difference matched by a rule is accepted; a
request whose every difference is accepted counts as accepted, not as different. Keep each rule
as narrow as the reason: a broad rule hides the next bug.
"""

import dataclasses
import re

import compare


@dataclasses.dataclass
class Rule:
    """Differences of `requests` (regex over ids) at `paths` (regex over difference paths).

    `kind` is `intended`: a difference kubeward means to have, with its reason; or `gap`: a
    known difference kubeward should close (listed in COMPATIBILITY.md for the lead, with what
    is missing). Neither kind counts as unexplained."""

    requests: str
    paths: str
    reason: str
    kind: str = "intended"
    area: str = ""

    def matches(self, request_id: str, path: str) -> bool:
        return re.search(self.requests, request_id) is not None and re.search(self.paths, path) is not None


def intended(requests: str, paths: str, reason: str) -> Rule:
    return Rule(requests, paths, reason, "intended")


def gap(area: str, requests: str, paths: str, reason: str) -> Rule:
    return Rule(requests, paths, reason, "gap", area)


RULES: list[Rule] = [
    # --- intended: kubeward means to differ ---
    intended(r"^errors/403-anonymous", r".",
             "Anonymous requests: kubeward authenticates system:anonymous only on /healthz, /livez, /readyz "
             "and /version (kube's AnonymousAuthConfigurableEndpoints with those paths), so any other "
             "anonymous request is a 401; kube-apiserver's default passes system:anonymous to authorization "
             "everywhere and answers 403."),
    intended(r"^discovery/version-anonymous$", r".",
             "/version without a credential: kubeward's default answers anonymous requests only on the health "
             "checks (/healthz, /livez, /readyz), so the server's version is not shown to strangers (kube-hunter's "
             "KHV002); kube's system:public-info-viewer shows it. --anonymous-auth=true restores kube's behaviour."),
    intended(r"^impersonate/(group|uid)-without-user$", r".",
             "Impersonation headers without Impersonate-User: kube answers a plain-text 500 (an internal "
             "error path of its impersonation filter); kubeward answers a 400 Status, as every error a "
             "client sees is a Status."),
    intended(r"^errors/400-(bad-json|wrong-kind|bad-continue)$", r"^\.body\.message$",
             "Decoder error texts: kube's come from Go's encoding/json and its scheme's conversion errors, "
             "kubeward's from its own decoders; code and reason are kube's."),
    intended(r"^errors/413-too-large$", r".",
             "A body over --max-request-body-bytes: kubeward answers 413 from its Content-Length without "
             "reading it and closes the connection; Python's http.client fails while still sending and "
             "never reads the answer (curl and Go clients do: crates/kubeward/tests/crds.rs checks the 413 "
             "Status over HTTP/1.1). kube reads the body up to the limit first."),
    intended(r"^errors/406-", r"^\.body\.(message|details)$",
             "406 texts: kube's text for a media type no serializer writes (application/xml) is "
             "go-restful's; kubeward's names the types it writes (JSON, YAML, protobuf) as kube's "
             "negotiation does for the others."),
    intended(r"^reviews/tokenreview-audience-mismatch$", r"^\.body\.status\.error$",
             "A TokenReview's error text: kube aggregates the errors of its whole token-authenticator "
             "chain (its bootstrap-token authenticator's 'invalid bearer token' first); kubeward reports "
             "the service-account authenticator's."),
    intended(r"^reviews/ssar-alice-nonresource$", r"^\.body\.status\.reason$",
             "An RBAC allow reason names the first binding found that allows; kube visits ClusterRoleBindings "
             "in its informer cache's (unordered) order."),
    intended(r"^(discovery/(root|apis|apis-aggregated|group/authentication\.k8s\.io)|apiregistration\.k8s\.io/apiservices/list-before|"
             r"openapi/v3/index)$",
             r"(authentication\.k8s\.io\]?\.versions\[(1|v1beta1)\]|items\[v1beta1\.authentication\.k8s\.io\]|^\.body\.versions\[1\]$|"
             r"\"/?apis/authentication\.k8s\.io/v1beta1\")",
             "kubeward still serves authentication.k8s.io/v1beta1 SelfSubjectReview (kube 1.34 no longer "
             "does) so that kubectl 1.27's `auth whoami` works."),
    intended(r"^(discovery/(root|apis|apis-aggregated)|apiregistration\.k8s\.io/apiservices/list-before|openapi/v3/index)$",
             r"(admissionregistration\.k8s\.io\]?\.versions\[([12]|v1(alpha|beta)1)\]|v1(alpha|beta)1\.admissionregistration\.k8s\.io|"
             r"admissionregistration\.k8s\.io/v1(alpha|beta)1)",
             "kubeward serves MutatingAdmissionPolicy and its binding (admissionregistration.k8s.io/v1beta1, and "
             "v1alpha1 stored as v1beta1) by default; kube-apiserver 1.34 serves them only with the "
             "MutatingAdmissionPolicy feature gate and those versions in --runtime-config, which kubeward does not have."),
    intended(r"^discovery/group/admissionregistration\.k8s\.io$", r"^\.body\.versions\[[12]\]$",
             "The admissionregistration.k8s.io group lists v1beta1 and v1alpha1 too (MutatingAdmissionPolicy, above)."),
    intended(r"^(discovery/(root|apis|apis-aggregated)|apiregistration\.k8s\.io/apiservices/list-before|openapi/v3/index)$",
             r"(certificates\.k8s\.io\]?\.versions\[(1|v1beta1)\]|v1beta1\.certificates\.k8s\.io|certificates\.k8s\.io/v1beta1)",
             "kubeward serves ClusterTrustBundles (certificates.k8s.io/v1beta1) by default; kube-apiserver 1.34 "
             "serves them only with the ClusterTrustBundle feature gate and that version in --runtime-config, "
             "which kubeward does not have."),
    intended(r"^discovery/group/certificates\.k8s\.io$", r"^\.body\.versions\[1\]$",
             "The certificates.k8s.io group lists v1beta1 too (ClusterTrustBundles, above)."),
    intended(r"^(core/pods/watch|sub/pod-after-eviction)$", r".",
             "Graceful Pod deletion: kube first writes the deletion mark (a MODIFIED event) and, for a Pod on "
             "a node, waits for its kubelet; kubeward has no kubelet and removes Pods at once."),
    intended(r"^(apiextensions\.k8s\.io/customresourcedefinitions/watch|crd/established)$", r".",
             "CRD establishing timing: kubeward's CRD controller accepts the names and establishes a CRD at "
             "once; kube's first reports Established=False (Installing), so the event streams differ in "
             "their intermediate states."),
    intended(r"^core/namespaces/(get-after-delete|watch)$", r".",
             "Namespace deletion timing: kubeward's namespace controller empties and removes a namespace "
             "within milliseconds; kube-controller-manager's takes seconds, so kube still shows it "
             "Terminating."),
    # --- gaps: kubeward should close these ---
    gap("OpenAPI", r"^openapi/v2/", r".",
        "/openapi/v2 (JSON unless protobuf is asked for, as kube) carries only the PATCH operations (kube: every "
        "operation and its shared parameters) and info.version 1.33 (the version kubeward's /version claims); "
        "its definitions come from kubeward's schemas: no `enum` (nor the enum values kube appends to "
        "descriptions), required fields in alphabetical order (kube: the Go fields' order)."),
    gap("OpenAPI", r"^(openapi/v3/|crd/openapi-v3$)", r"(default|allOf|\$ref|x-kubernetes-list-type|description|"
        r"requestBody|parameters|<content-type>|<order>)",
        "OpenAPI v3: some parameter texts are older; no `default` on definitions no served kind reaches (Scale, "
        "TokenRequest, Status, WatchEvent)."),
    gap("OpenAPI", r"^openapi/v3/doc/", r"^\.body\.info\.version$",
        "OpenAPI v3 documents carry info.version 1.33, the version kubeward's /version claims."),
    intended(r".", r"\.metadata\.managedFields<order>$",
             "managedFields entries are sorted by operation, then by the second they were written in, then by "
             "manager (kube's sortEncodedManagedFields); kubeward's controllers write within the same second as "
             "the request before them, kube's often a second later, so the same entries can come in the managers' "
             "order on kubeward and in time order on kube."),
    gap("managedFields", r"", r"managedFields",
        "managedFields: the `kubeward up` bindings (its admin, its kubelet client) are kubeward's own (the harness creates their peers on "
        "kube); objects kubeward's garbage collector deleted before kube's (the get after delete) have none "
        "to compare."),
    gap("garbage collection", r"^(core/replicationcontrollers|batch/jobs)/(delete|get-after-delete|watch)$", r".",
        "Garbage collection: kube adds the `orphan` finalizer to kinds whose default propagation is Orphan "
        "(ReplicationController, batch/v1 Job) and its garbage collector removes it; kubeward does the same "
        "since its collector (controllers/garbage_collector), but sends no Warning on a Job deleted without "
        "a policy (kube's `child pods are preserved by default`), and the timing of the finalizer's removal "
        "differs in the watch stream. Kept until a differential run confirms what remains."),
    gap("metadata", r"^apps/daemonsets/(partial-get|table)$", r"annotations",
        "kube converts DaemonSets to PartialObjectMetadata from its internal type, which keeps the "
        "template generation in a field: the deprecated.daemonset.template.generation annotation is not "
        "in PartialObjectMetadata or Table rows there; kubeward shows it."),
]


@dataclasses.dataclass
class Result:
    id: str
    area: str
    method: str
    answers: list
    diffs: list          # (path, reference, kubeward)
    accepted: list       # (path, reference, kubeward, rule)

    @property
    def outcome(self) -> str:
        if self.diffs:
            return "different"
        if any(rule.kind == "gap" for *_, rule in self.accepted):
            return "gap"
        return "accepted" if self.accepted else "same"

    def as_json(self) -> dict:
        return {"id": self.id, "area": self.area, "method": self.method, "outcome": self.outcome,
                "reference": self.answers[0], "kubeward": self.answers[1],
                "diffs": [(p, compare.show(a, 400), compare.show(b, 400)) for p, a, b in self.diffs],
                "accepted": [(p, compare.show(a, 400), compare.show(b, 400), r.reason) for p, a, b, r in self.accepted]}


def judge(req, answers: list, diffs: list) -> Result:
    unexplained, explained = [], []
    for path, a, b in diffs:
        rule = next((r for r in RULES if r.matches(req.id, path)), None)
        if rule is None:
            unexplained.append((path, a, b))
        else:
            explained.append((path, a, b, rule))
    return Result(req.id, req.area, req.method, answers, unexplained, explained)
