"""The two servers of a differential run and the identities both accept.

kubeward starts first (`kubeward up` in a temporary data directory), so its PKI exists; the
reference kube-apiserver is then started by `scripts/reference start --background` with
kubeward's CA, front-proxy CA and service-account key. One CA means one set of client
certificates works on both servers: the admin (kubeward's `kubeward-admin`, bound to
cluster-admin by the ClusterRoleBinding `kubeward-admin`, which is created on the reference
too), a plain user `alice` (whose RoleBinding the corpus creates on both), and anonymous.
"""

import os
import pathlib
import re
import select
import shutil
import subprocess
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
REFERENCE_SCRIPT = REPO / "scripts" / "reference"


class StartError(Exception):
    """A server did not start; the message says which and why."""


def issue_client_cert(pki: pathlib.Path, out: pathlib.Path, name: str, cn: str, groups: list[str]) -> tuple[str, str]:
    """A client certificate for `cn` in `groups`, signed by pki/ca.crt with openssl."""
    subject = "".join(f"/O={g}" for g in groups) + f"/CN={cn}"
    key, csr, crt, ext = (out / f"{name}.{s}" for s in ("key", "csr", "crt", "ext"))
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", subject, "-keyout", str(key), "-out", str(csr))
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
        "-CAcreateserial", "-days", "30", "-extfile", str(ext), "-out", str(crt))
    csr.unlink()
    ext.unlink()
    return str(crt), str(key)


def self_signed_cert(out: pathlib.Path, name: str, cn: str) -> tuple[str, str]:
    """A client certificate no cluster CA signed (for the 401 of an unknown issuer)."""
    key, crt = out / f"{name}.key", out / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "30", "-subj", f"/CN={cn}", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    return str(crt), str(key)


class Kubeward:
    """`kubeward up --secure-port 0` in `data_dir`; `url` once ready."""

    def __init__(self, binary: str, data_dir: pathlib.Path):
        self.binary = binary
        self.data_dir = data_dir
        self.proc = None
        self.url = None
        self.log = data_dir / "kubeward.log"

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, KUBEWARD_LOG=os.environ.get("KUBEWARD_LOG", "warn"))
        log = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "up", "--data-dir", str(self.data_dir), "--secure-port", "0", "--bind-address", "127.0.0.1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=env)
        deadline = time.monotonic() + timeout
        seen = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
                m = re.search(rb"kubeward is ready at (\S+)", seen)
                if m and b"admin kubeconfig:" in seen:
                    self.url = m.group(1).decode()
                    # Keep draining stdout so the server never blocks on a full pipe.
                    fd = self.proc.stdout.fileno()
                    threading.Thread(target=lambda: all(iter(lambda: os.read(fd, 4096), b"")), daemon=True).start()
                    return
            if self.proc.poll() is not None:
                break
        self.stop()
        raise StartError(f"kubeward up did not become ready; stdout: {seen.decode(errors='replace')}; "
                         f"log tail: {self.log.read_text(errors='replace')[-2000:]}")

    @property
    def pki(self) -> pathlib.Path:
        return self.data_dir / "pki"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Reference:
    """`scripts/reference start --background` in `state_dir`, trusting kubeward's CA."""

    def __init__(self, state_dir: pathlib.Path, pki: pathlib.Path, controllers: str | None = None):
        self.state_dir = state_dir
        self.pki_source = pki
        # kube-controller-manager's --controllers (None: scripts/reference's default, the
        # controllers kubeward also runs).
        self.controllers = controllers
        self.url = None
        self.version = None

    @staticmethod
    def binary() -> str | None:
        """The cached kube-apiserver, or None when `scripts/reference build` has not run."""
        out = subprocess.run([str(REFERENCE_SCRIPT), "path"], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else None

    def start(self) -> None:
        command = [str(REFERENCE_SCRIPT), "start", "--background", "--dir", str(self.state_dir),
                   "--ca-dir", str(self.pki_source), "--sa-key", str(self.pki_source / "sa.key")]
        if self.controllers:
            command += ["--controllers", self.controllers]
        out = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            raise StartError(f"scripts/reference start failed:\n{out.stdout}\n{out.stderr}")
        m = re.search(r"kube-apiserver (\S+) is ready at (\S+)", out.stdout)
        if not m:
            raise StartError(f"scripts/reference start printed no ready line:\n{out.stdout}")
        self.version, self.url = m.group(1), m.group(2)

    @property
    def pki(self) -> pathlib.Path:
        return self.state_dir / "pki"

    def stop(self) -> None:
        subprocess.run([str(REFERENCE_SCRIPT), "stop", "--dir", str(self.state_dir)], capture_output=True)


def cleanup(path: pathlib.Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
