#!/usr/bin/env python3
"""Kubernetes' own e2e tests against kube-apiserver and kubeward, in one run.

    python3 reference/conformance/run.py --kubeward BIN --e2e E2E_TEST [--out COMPATIBILITY.md]
        [--work DIR] [--only REGEX] [--server kube-apiserver|kubeward] [--sequential]

Starts kubeward (`kubeward up`, a fresh data directory) with the reference kube-controller-manager
beside it running only the workload controllers and the persistent volume binder
(WORKLOAD_CONTROLLERS: kubeward runs the others,
its garbage collector among them, itself), as a real deployment runs kube's controller manager
beside its API server, and kube-apiserver (`scripts/reference start`, trusting kubeward's CA, with
kube-controller-manager's default controllers but node-lifecycle, which would mark the stand-in
Node NotReady for want of a kubelet), puts one
Node marked Ready into each, then runs the e2e test binary against each with that server's
admin kubeconfig and `--provider=skeleton`, the selection of selection.py, and a JUnit report
per server. Both suites run at once unless --sequential. With --out, the conformance block of
that file is replaced (the differential report around it is kept).

--only narrows the run to tests matching REGEX (within the selection) and --server to one
server; either writes no report. --report-from DIR writes the report of a finished run (its
JUnit files and run.json) without running anything; each --rerun DIR2 (a later focused
`--only REGEX --server kubeward --work DIR2` run) replaces kubeward's outcomes of the tests it
ran, and the report names that run's commit. Exit code: 0 when every test that passes on kube-apiserver
passes on kubeward or is a documented gap, 1 otherwise, 2 when a server did not start.
"""

import argparse
import re
import json
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# After this directory: the differential run has modules of the same names (report, run).
sys.path.append(str(HERE.parent / "differential"))

import junit  # noqa: E402
import report  # noqa: E402
import selection  # noqa: E402
from client import Identity, Server  # noqa: E402
from servers import REPO, Kubeward, Reference, StartError  # noqa: E402

# kube-controller-manager's default controllers, but the node lifecycle controller: the
# stand-in Node has no kubelet renewing its Lease, so that controller would mark it NotReady
# and taint it after 40 s.
REFERENCE_CONTROLLERS = "*,-node-lifecycle-controller"

# The controllers of kube-controller-manager that run beside kubeward: the workload
# controllers and the persistent volume binder (it binds claims to volumes and provisions),
# which are kube-controller-manager's and out of kubeward's scope. Everything else
# (namespace, garbage collector, service accounts, volume protection, ...) is kubeward's own.
WORKLOAD_CONTROLLERS = "replicationcontroller,replicaset,deployment,job,cronjob,persistentvolume-binder-controller"

NODE_NAME = "conformance-node"

# Each suite's bound: a test that waits for what never comes is stopped by its own timeouts
# long before this.
SUITE_TIMEOUT = "3h"


def stand_in_node() -> tuple[dict, dict]:
    """A Node and its status: Ready, schedulable, with room for pods, as a kubelet reports."""
    node = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE_NAME, "labels": {
            "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}},
        "spec": {},
    }
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    condition = lambda kind, status, reason: {  # noqa: E731
        "type": kind, "status": status, "reason": reason, "message": "conformance stand-in",
        "lastHeartbeatTime": now, "lastTransitionTime": now}
    resources = {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    status = {"status": {
        "capacity": resources, "allocatable": resources,
        "conditions": [condition("NetworkUnavailable", "False", "RouteCreated"),
                       condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                       condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                       condition("PIDPressure", "False", "KubeletHasSufficientPID"),
                       condition("Ready", "True", "KubeletReady")],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
        "nodeInfo": {"machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "", "osImage": "",
                     "containerRuntimeVersion": "", "kubeletVersion": "v1.34.12", "kubeProxyVersion": "",
                     "operatingSystem": "linux", "architecture": "amd64"},
    }}
    return node, status


def add_node(server: Server, admin: Identity) -> None:
    node, status = stand_in_node()
    headers = {"Content-Type": "application/json"}
    resp = server.request(admin, "POST", "/api/v1/nodes", json.dumps(node).encode(), headers)
    if resp.status not in (201, 409):
        raise StartError(f"creating the stand-in Node on {server.name}: {resp.status} {resp.body[:300]!r}")
    resp = server.request(admin, "PATCH", f"/api/v1/nodes/{NODE_NAME}/status", json.dumps(status).encode(),
                          {"Content-Type": "application/merge-patch+json"})
    if resp.status != 200:
        raise StartError(f"marking the stand-in Node Ready on {server.name}: {resp.status} {resp.body[:300]!r}")
    # The TaintNodesByCondition admission plugin gives a new Node the not-ready taint; kube's
    # node lifecycle controller (not run here) removes it once the Node reports Ready.
    resp = server.request(admin, "PATCH", f"/api/v1/nodes/{NODE_NAME}", json.dumps({"spec": {"taints": None}}).encode(),
                          {"Content-Type": "application/merge-patch+json"})
    if resp.status != 200:
        raise StartError(f"removing the stand-in Node's taints on {server.name}: {resp.status} {resp.body[:300]!r}")


class ControllerManager:
    """The reference kube-controller-manager against kubeward, with only `controllers`: as
    kubeward's admin, without leader election (kubeward's own controllers hold the
    `kube-controller-manager` Lease), asking for JSON (kubeward answers no protobuf yet)."""

    def __init__(self, kubeconfig: pathlib.Path, log: pathlib.Path, controllers: str):
        self.kubeconfig = kubeconfig
        self.log = log
        self.controllers = controllers
        self.proc = None

    def start(self) -> None:
        apiserver = Reference.binary()
        if not apiserver:
            raise StartError("kube-controller-manager is not built (scripts/reference build)")
        binary = pathlib.Path(apiserver).parent / "kube-controller-manager"
        log = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [str(binary), f"--kubeconfig={self.kubeconfig}", f"--controllers={self.controllers}",
             "--kube-api-content-type=application/json", "--use-service-account-credentials=false",
             "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0", "--v=1"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        time.sleep(2)
        if self.proc.poll() is not None:
            raise StartError(f"kube-controller-manager exited at start; log tail: "
                             f"{self.log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def kubectl() -> str:
    """The kubectl the tests that run one use: the newest of the machine's pinned versions
    (the PATH's may be a dispatcher that picks one by the server's version), else PATH's."""
    for version in ("1.34", "1.33", "1.32"):
        path = pathlib.Path(f"/usr/lib/google-cloud-sdk/bin/kubectl.{version}")
        if path.exists():
            return str(path)
    return "kubectl"


def e2e_args(e2e: str, kubeconfig: pathlib.Path, out: pathlib.Path, only: str | None, dry_run: bool = False):
    args = [e2e, f"--kubeconfig={kubeconfig}", "--provider=skeleton",
            f"--ginkgo.focus={selection.FOCUS}", f"--ginkgo.label-filter={selection.LABEL_FILTER}",
            f"--ginkgo.junit-report={out / 'junit.xml'}", "--ginkgo.no-color", f"--ginkgo.timeout={SUITE_TIMEOUT}",
            # The stand-in Node is the cluster; nothing runs in kube-system.
            "--allowed-not-ready-nodes=0", "--node-schedulable-timeout=1m", "--minStartupPods=0",
            "--system-pods-startup-timeout=1m", "--dump-logs-on-failure=false", f"--kubectl-path={kubectl()}"]
    if only:
        # Ginkgo runs what matches any focus: narrow the selection by skipping the rest.
        args[3] = f"--ginkgo.focus={only}"
    if dry_run:
        args.append("--ginkgo.dry-run")
    else:
        args.append(f"--ginkgo.skip={selection.skip_regex()}")
    return args


def selected(e2e: str, work: pathlib.Path, only: str | None) -> list[str]:
    """Every test the selection names, the out-of-scope ones included (a dry run)."""
    out = work / "selection"
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(e2e_args(e2e, pathlib.Path("/dev/null"), out, only, dry_run=True),
                   capture_output=True, timeout=300)
    outcomes, _ = junit.read(out / "junit.xml")
    names = [name for name, o in outcomes.items() if o.state == "pass"]
    if only:
        names = [n for n in names if re.search(selection.FOCUS, n)]
    return sorted(names)


def run_suite(name: str, e2e: str, kubeconfig: pathlib.Path, out: pathlib.Path, only, results: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(out / "e2e.log", "wb") as log:
        proc = subprocess.run(e2e_args(e2e, kubeconfig, out, only), stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.STDOUT, cwd=out)
    junit_file = out / "junit.xml"
    if junit_file.exists():
        results[name] = junit.read(junit_file)
    else:
        results[name] = ({}, [f"e2e.test wrote no JUnit report (exit {proc.returncode}; log {out / 'e2e.log'})"])
    print(f"conformance: {name} done in {time.monotonic() - started:.0f} s (exit {proc.returncode}, "
          f"log {out / 'e2e.log'})", file=sys.stderr)


def git(*args) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubeward", help="the kubeward binary (required unless --report-from)")
    ap.add_argument("--e2e", help="the e2e.test binary (scripts/reference build-e2e; required unless --report-from)")
    ap.add_argument("--out", help="splice the report into this file (COMPATIBILITY.md)")
    ap.add_argument("--work", help="data directories, logs and JUnit files (default: a temporary directory)")
    ap.add_argument("--only", help="run only tests matching this regular expression; no report")
    ap.add_argument("--server", choices=report.SERVERS, help="run against this server only; no report")
    ap.add_argument("--sequential", action="store_true", help="one suite after the other")
    ap.add_argument("--report-from", metavar="DIR",
                    help="run nothing: write --out from the JUnit files and run.json a run left in DIR")
    ap.add_argument("--rerun", metavar="DIR", action="append", default=[],
                    help="with --report-from: kubeward's outcomes of the tests a later `--only ... --server "
                         "kubeward` run in DIR ran replace the full run's (the report names the commit of each)")
    args = ap.parse_args()
    if args.report_from:
        return report_from(pathlib.Path(args.report_from), args.out, [pathlib.Path(d) for d in args.rerun])
    if args.rerun:
        ap.error("--rerun goes with --report-from")
    if not args.kubeward or not args.e2e:
        ap.error("--kubeward and --e2e are required to run the tests")

    work = pathlib.Path(args.work) if args.work else pathlib.Path(tempfile.mkdtemp(prefix="kubeward-conformance-"))
    work.mkdir(parents=True, exist_ok=True)
    work = work.resolve()
    servers = [args.server] if args.server else list(report.SERVERS)
    names = selected(args.e2e, work, args.only)
    print(f"conformance: {len(names)} tests selected, "
          f"{sum(1 for n in names if selection.out_of_scope(n))} out of scope; work in {work}", file=sys.stderr)

    kw = Kubeward(args.kubeward, work / "kubeward")
    kcm = None
    ref = None
    results: dict = {}
    started = time.monotonic()
    # The tree the run starts from (the binary under test was built from it, or given with
    # --kubeward): commits made while the suites run are not what was tested.
    commit = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!COMPATIBILITY.md"))
    try:
        kw.start()
        kubeconfigs = {"kubeward": kw.data_dir / "admin.kubeconfig"}
        admin = Identity("kubeward-admin", cert=(str(kw.pki / "admin.crt"), str(kw.pki / "admin.key")))
        add_node(Server("kubeward", kw.url, str(kw.pki / "ca.crt")), admin)
        if "kubeward" in servers:
            kcm = ControllerManager(kubeconfigs["kubeward"], work / "kubeward-controller-manager.log",
                                    WORKLOAD_CONTROLLERS)
            kcm.start()
        if "kube-apiserver" in servers:
            ref = Reference(work / "reference", kw.pki, controllers=REFERENCE_CONTROLLERS)
            ref.start()
            kubeconfigs["kube-apiserver"] = ref.state_dir / "admin.kubeconfig"
            masters = Identity("masters", cert=(str(ref.pki / "admin.crt"), str(ref.pki / "admin.key")))
            add_node(Server("kube-apiserver", ref.url, str(ref.pki / "ca.crt")), masters)
        threads = [threading.Thread(target=run_suite,
                                    args=(s, args.e2e, kubeconfigs[s], work / f"e2e-{s}", args.only, results))
                   for s in servers]
        for t in threads:
            t.start()
            if args.sequential:
                t.join()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    except StartError as e:
        print(f"conformance: {e}", file=sys.stderr)
        return 2
    finally:
        if ref is not None:
            ref.stop()
        if kcm is not None:
            kcm.stop()
        kw.stop()

    for s in report.SERVERS:
        results.setdefault(s, ({}, ["not run"]))
    outcomes = {s: results[s][0] for s in report.SERVERS}
    suite_failures = {s: results[s][1] for s in report.SERVERS}
    rows = report.classify(names, outcomes)
    c = report.counts(rows)
    for s in servers:
        print(f"{s}: " + ", ".join(f"{k} {v}" for k, v in c[s].items()), file=sys.stderr)
        for failure in suite_failures[s]:
            print(f"  suite failure: {failure}", file=sys.stderr)
    for name, row in rows.items():
        if row["verdict"] == "to fix" and len(servers) == 2:
            detail = outcomes["kubeward"].get(name)
            print(f"TO FIX: {name}\n    {detail.detail if detail else 'no result'}", file=sys.stderr)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit,
        "dirty": dirty,
        "kube_version": ref.version if ref else "?",
        "seconds": round(elapsed),
        "only": args.only,
    }
    (work / "run.json").write_text(json.dumps(meta, indent=1))
    if args.out and not args.only and not args.server:
        write_report(pathlib.Path(args.out), meta, rows, outcomes, suite_failures)
    return 0 if c["verdicts"].get("to fix", 0) == 0 else 1


def write_report(path: pathlib.Path, meta: dict, rows: dict, outcomes: dict, suite_failures: dict) -> None:
    document = path.read_text() if path.exists() else "# Compatibility with kube-apiserver\n"
    path.write_text(report.splice(document, report.markdown(meta, rows, outcomes, suite_failures)))


def overlay_reruns(outcomes: dict, names: list[str], reruns: list[pathlib.Path]) -> list[dict]:
    """Replaces kubeward's outcomes by those of later focused runs (in order, the last wins) for
    the selected tests each ran (passed or failed: a spec its focus filtered out is a skip in
    ginkgo's report, and is not taken); returns what each re-run was, for the report."""
    done = []
    for rerun in reruns:
        rerun_outcomes, _ = junit.read(rerun / "e2e-kubeward" / "junit.xml")
        meta = json.loads((rerun / "run.json").read_text())
        tests = sorted(n for n in names if rerun_outcomes.get(n) and rerun_outcomes[n].state in ("pass", "fail"))
        for name in tests:
            outcomes["kubeward"][name] = rerun_outcomes[name]
        done.append({"commit": meta["commit"], "dirty": meta.get("dirty", False), "date": meta["date"],
                     "only": meta.get("only"), "tests": tests})
    return done


def report_from(work: pathlib.Path, out: str | None, reruns: list[pathlib.Path] = ()) -> int:
    """The report of a finished run (its selection, JUnit files and run.json), with kubeward's
    outcomes of the tests later focused runs re-ran (`reruns`) taken from those."""
    selection_outcomes, _ = junit.read(work / "selection" / "junit.xml")
    names = sorted(n for n, o in selection_outcomes.items() if o.state == "pass")
    results = {}
    for s in report.SERVERS:
        path = work / f"e2e-{s}" / "junit.xml"
        results[s] = junit.read(path) if path.exists() else ({}, ["not run"])
    outcomes = {s: results[s][0] for s in report.SERVERS}
    suite_failures = {s: results[s][1] for s in report.SERVERS}
    meta = json.loads((work / "run.json").read_text())
    meta["reruns"] = overlay_reruns(outcomes, names, list(reruns))
    rows = report.classify(names, outcomes)
    c = report.counts(rows)
    for s in report.SERVERS:
        print(f"{s}: " + ", ".join(f"{k} {v}" for k, v in c[s].items()), file=sys.stderr)
    for name, row in rows.items():
        if row["verdict"] == "to fix":
            detail = outcomes["kubeward"].get(name)
            print(f"TO FIX: {name}\n    {detail.detail if detail else 'no result'}", file=sys.stderr)
    if out:
        write_report(pathlib.Path(out), meta, rows, outcomes, suite_failures)
    return 0 if c["verdicts"].get("to fix", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
