"""Which of Kubernetes' e2e tests the conformance run selects, and what it knows about them.

The selection is sig-api-machinery and sig-auth (the `[Conformance]` tests among them), without
the labels a shared two-core machine and a cluster without a kubelet cannot honour: `[Serial]`
and `[Disruptive]` (they change the whole cluster), `[Slow]`, `[Flaky]`, features behind a
`Feature:` label, and feature gates kube 1.34 leaves off (`Alpha`, `BetaOffByDefault`).

OUT_OF_SCOPE names the selected tests that need what neither server here has: a running pod
(a kubelet and a container runtime: webhook and sample API servers deployed as pods, tokens
read from inside a container) or the kubelet's own API. They are passed to ginkgo's skip, so
they run on neither server, and the report lists them with the reason.

KNOWN_GAPS names tests that pass on kube-apiserver and fail on kubeward for a reason written
down (a controller kubeward does not have); any other such test is a bug to fix, and the run
fails on it.
"""

import re

FOCUS = r"\[sig-(api-machinery|auth)\]"

LABEL_FILTER = "Feature: isEmpty && !Serial && !Disruptive && !Slow && !Flaky && !Alpha && !BetaOffByDefault"

# (regular expression over the test's full text, reason). Every selected test a pattern matches
# is skipped on both servers.
OUT_OF_SCOPE: list[tuple[str, str]] = [
    (r"\[sig-api-machinery\] AdmissionWebhook ",
     "deploys its webhook server as a Deployment and waits for the pod to run (every test of "
     "the group, in its BeforeEach)"),
    (r"\[sig-api-machinery\] CustomResourceConversionWebhook ",
     "deploys its conversion webhook as a Deployment and waits for the pod to run"),
    (r"\[sig-api-machinery\] Aggregator ",
     "deploys the sample API server as a Deployment and waits for the pod to run"),
    (r"\[sig-api-machinery\] CustomResourceFieldSelectors ",
     "deploys a conversion webhook as a Deployment and waits for the pod to run (in its BeforeEach)"),
    (r"\[sig-api-machinery\] Generated clientset should create pods, set the deletionTimestamp",
     "waits for the pod to run before deleting it gracefully"),
    (r"\[sig-api-machinery\] OrderedNamespaceDeletion namespace deletion should delete pod first",
     "waits for the pod to run before deleting the namespace"),
    (r"\[sig-auth\] NodeAuthenticator ",
     "talks to a kubelet (port 10250, and exec into a pod)"),
    (r"\[sig-auth\] ValidatingAdmissionPolicy can restrict access by-node",
     "waits for a pod to run and execs into it for the node's token"),
    (r"\[sig-auth\] ServiceAccounts should mount an API token into pods",
     "reads the token from inside a running container"),
    (r"\[sig-auth\] ServiceAccounts should mount projected service account token",
     "reads the token from inside a running container"),
    (r"\[sig-auth\] ServiceAccounts should set ownership and permission when RunAsUser or FsGroup is present",
     "reads file modes from inside a running container"),
    (r"\[sig-auth\] ServiceAccounts ServiceAccountIssuerDiscovery should support OIDC discovery",
     "a pod fetches the issuer's discovery document and must succeed"),
]

# (regular expression, reason): tests that pass on kube-apiserver and fail on kubeward for a
# documented reason.
KNOWN_GAPS: list[tuple[str, str]] = [
    (r"\[sig-api-machinery\] health handlers should contain necessary checks",
     "the test requires kube-aggregator's post-start hooks apiservice-registration-controller, "
     "apiservice-status-remote-available-controller and apiservice-openapi-controller; kubeward does not "
     "aggregate (no proxy to an APIService's Service, so no remote availability check and no OpenAPI of "
     "aggregated servers) and claims none of them. It lists every other required hook and check, whose job "
     "it does (the local APIServices' availability and the CRDs' autoregistration included)"),
]


def skip_regex() -> str:
    """ginkgo's --skip: the out-of-scope tests."""
    return "|".join(f"({pattern})" for pattern, _ in OUT_OF_SCOPE)


def _reason(table, name: str) -> str | None:
    for pattern, reason in table:
        if re.search(pattern, name):
            return reason
    return None


def out_of_scope(name: str) -> str | None:
    """The reason a test is not run, or None."""
    return _reason(OUT_OF_SCOPE, name)


def known_gap(name: str) -> str | None:
    """The documented reason kubeward fails a test kube passes, or None."""
    return _reason(KNOWN_GAPS, name)
