#!/usr/bin/env python3
"""The differential run: the corpus against the real kube-apiserver and kubeward, side by side.

    python3 reference/differential/run.py --kubeward target/debug/kubeward [--smoke] [--only REGEX]
        [--out COMPATIBILITY.md] [--results results.json]

Starts kubeward (`kubeward up`, a fresh data directory) and kube-apiserver
(`scripts/reference start`, trusting kubeward's CA), sends every request of the corpus to
both, in order, as the same identity, and compares the answers after normalising what must
differ (compare.py). Differences listed in accepted.py are accepted with their reason; any
other is a difference to fix. Writes COMPATIBILITY.md (with --out) and every answer as JSON
(with --results). Exit code: 0 when no unexplained difference remains, 1 otherwise, 2 when a
server could not start, 3 when kube-apiserver is not built (run `scripts/reference build`).
"""

import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import accepted  # noqa: E402
import compare  # noqa: E402
import corpus  # noqa: E402
import report  # noqa: E402
from client import Identity, Server  # noqa: E402
from servers import REPO, Kubeward, Reference, StartError, issue_client_cert, self_signed_cert  # noqa: E402


def encode_body(body):
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    # Compact, as kubectl sends it (kube compares some raw fields byte for byte).
    return json.dumps(body, separators=(",", ":")).encode()


def decode(resp, watch: bool):
    """The answer as data: events for a watch, JSON when it parses, else text."""
    if watch:
        events = []
        for line in resp.body.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                events.append(json.loads(line))
            except ValueError:
                events.append({"undecodable": line.decode(errors="replace")[:200]})
        return events
    if not resp.body:
        return None
    try:
        return json.loads(resp.body)
    except ValueError:
        return resp.body.decode(errors="replace")


def comparable(req, resp) -> dict:
    body = decode(resp, req.watch)
    if req.extract is not None and 200 <= resp.status < 300 and not isinstance(body, str):
        try:
            body = req.extract(body)
        except (KeyError, TypeError, AttributeError, IndexError) as e:
            body = {"extract failed": str(e)}
    if req.id.startswith("discovery/version") and isinstance(body, dict):
        body = compare.normalize_version(body)
    warnings = sorted(compare.mask_text(w) for w in resp.warnings)
    normalized = compare.normalize_watch(body) if req.watch else compare.normalize(body)
    out = {"<status>": resp.status, "<content-type>": resp.content_type, "<warnings>": warnings,
           "body": normalized}
    if resp.error:
        out["<transport>"] = resp.error
    return out


def send(server: Server, who: Identity, req, ctx: dict):
    path = req.path(ctx) if callable(req.path) else req.path
    body = req.body(ctx) if callable(req.body) else req.body
    headers = dict(req.headers)
    if req.accept:
        headers["Accept"] = req.accept
    data = encode_body(body)
    if data is not None:
        headers["Content-Type"] = req.ctype or "application/json"
    if req.wait:
        time.sleep(req.wait)
    resp = server.request(who, req.method, path, data, headers, timeout=req.timeout)
    # A 429 with Retry-After (kube's storage for a new custom resource warming up) is retried
    # as clients do; a server that keeps answering 429 is compared as it answers.
    for _ in range(5):
        if resp.status != 429 or not resp.retry_after:
            break
        time.sleep(min(resp.retry_after, 3))
        resp = server.request(who, req.method, path, data, headers, timeout=req.timeout)
    if req.save is not None and resp.status < 300:
        try:
            req.save(ctx, resp)
        except (AttributeError, TypeError, ValueError):
            pass
    return resp


def identities(kw_pki: pathlib.Path, work: pathlib.Path) -> dict[str, Identity]:
    alice = issue_client_cert(kw_pki, work, "alice", "alice", ["diff:devs"])
    stranger = self_signed_cert(work, "stranger", "kubeward-admin")
    return {
        "admin": Identity("admin", cert=(str(kw_pki / "admin.crt"), str(kw_pki / "admin.key"))),
        "alice": Identity("alice", cert=alice),
        "anonymous": Identity("anonymous"),
        "badtoken": Identity("badtoken", token="not-a-valid-token"),
        "stranger": Identity("stranger", cert=stranger),
    }


def who_for(name: str, ids: dict, ctx: dict) -> Identity:
    if name == "sa":
        return Identity(f"sa-{id(ctx)}", token=ctx.get("sa_token") or "missing")
    return ids[name]


def csr_pem_b64(work: pathlib.Path) -> str:
    import base64
    key, csr = work / "csr.key", work / "csr.pem"
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/O=diff:devs/CN=diff-csr-user", "-keyout", str(key), "-out", str(csr)],
                   check=True, capture_output=True)
    return base64.b64encode(csr.read_bytes()).decode()


def mirror_admin_binding(ref: Reference, ids) -> None:
    """kubeward up's own ClusterRoleBindings, created on the reference as system:masters: `kubeward-admin`
    (its admin, cluster-admin) and `kubeward:kubelet-api-admin` (its client certificate to kubelets)."""
    masters = Identity("masters", cert=(str(ref.pki / "admin.crt"), str(ref.pki / "admin.key")))
    server = Server("reference", ref.url, str(ref.pki / "ca.crt"))
    for name, role, user in (("kubeward-admin", "cluster-admin", "kubeward-admin"),
                             ("kubeward:kubelet-api-admin", "system:kubelet-api-admin",
                              "kube-apiserver-kubelet-client")):
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kubeward"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
        resp = server.request(masters, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                              json.dumps(binding).encode(), {"Content-Type": "application/json"})
        if resp.status not in (201, 409):
            raise StartError(f"creating the {name} binding on the reference: {resp.status} {resp.body[:300]}")
    # RBAC reads bindings from an informer: wait until the admin is allowed.
    for _ in range(100):
        if server.request(ids["admin"], "GET", "/api/v1/namespaces/default").status == 200:
            return
        time.sleep(0.1)
    raise StartError("the kubeward-admin binding never took effect on the reference")


def git(*args) -> str:
    out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    return out.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubeward", required=True, help="the kubeward binary")
    ap.add_argument("--smoke", action="store_true", help="only the smoke slice")
    ap.add_argument("--only", help="only requests whose id matches this regular expression")
    ap.add_argument("--out", help="write the report (COMPATIBILITY.md) here")
    ap.add_argument("--results", help="write every answer, normalised, as JSON here")
    ap.add_argument("--work", help="keep data directories and logs here (default: a temporary directory)")
    args = ap.parse_args()

    if Reference.binary() is None:
        print("kube-apiserver is not built: run scripts/reference build (10-30 minutes, cached)", file=sys.stderr)
        return 3
    work = pathlib.Path(args.work) if args.work else pathlib.Path(tempfile.mkdtemp(prefix="kubeward-diff-"))
    work.mkdir(parents=True, exist_ok=True)
    kw = Kubeward(args.kubeward, work / "kubeward")
    ref = None
    started = time.monotonic()
    try:
        kw.start()
        ref = Reference(work / "reference", kw.pki)
        ref.start()
        ids = identities(kw.pki, work)
        mirror_admin_binding(ref, ids)
        reqs = corpus.all_requests(csr_pem_b64(work), smoke=args.smoke)
        if args.only:
            reqs = [r for r in reqs if re.search(args.only, r.id)]
        servers = [Server("reference", ref.url, str(kw.pki / "ca.crt")),
                   Server("kubeward", kw.url, str(kw.pki / "ca.crt"))]
        ctxs = [{}, {}]
        results = []
        for req in reqs:
            answers = []
            for server, ctx in zip(servers, ctxs):
                resp = send(server, who_for(req.who, ids, ctx), req, ctx)
                answers.append(comparable(req, resp))
            diffs = compare.diff(answers[0], answers[1])
            results.append(accepted.judge(req, answers, diffs))
        elapsed = time.monotonic() - started
    except StartError as e:
        print(f"differential: {e}", file=sys.stderr)
        return 2
    finally:
        if ref is not None:
            ref.stop()
        kw.stop()

    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": git("rev-parse", "--short", "HEAD"),
        # The report itself does not count as a change of what was measured.
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!COMPATIBILITY.md")),
        "kube_version": ref.version if ref else "?",
        "smoke": args.smoke,
        "seconds": round(elapsed),
    }
    summary = report.summarize(results)
    print(report.console(meta, summary, results))
    if args.out:
        out = pathlib.Path(args.out)
        previous = out.read_text() if out.exists() else ""
        # Sections other runs generate into the same file (scripts/conformance's) are kept.
        out.write_text(report.keep_other_blocks(report.markdown(meta, summary, results), previous))
    if args.results:
        pathlib.Path(args.results).write_text(json.dumps(
            {"meta": meta, "results": [r.as_json() for r in results]}, indent=1, default=str))
    return 0 if summary["different"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
