"""One HTTPS request to one server as one identity: what the corpus sends, what comes back.

A new connection per request (HTTP/1.1), so no state but the server's carries from one request
to the next. A response is read whole; a watch is asked with `timeoutSeconds`, so the server
ends it, and a socket timeout bounds a server that does not.
"""

import dataclasses
import http.client
import json
import socket
import ssl
import urllib.parse


@dataclasses.dataclass
class Identity:
    """Who sends a request: a client certificate, a bearer token, or nobody."""

    name: str
    cert: tuple[str, str] | None = None
    token: str | None = None


@dataclasses.dataclass
class Response:
    status: int
    content_type: str
    warnings: list[str]
    body: bytes
    error: str | None = None
    retry_after: int = 0

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class Server:
    """Where a server listens and the CA that signed its serving certificate."""

    def __init__(self, name: str, url: str, ca_file: str):
        self.name = name
        self.url = url
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.ca_file = ca_file
        self._contexts: dict[str, ssl.SSLContext] = {}

    def _context(self, who: Identity) -> ssl.SSLContext:
        ctx = self._contexts.get(who.name)
        if ctx is None:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            ctx.set_alpn_protocols(["http/1.1"])
            if who.cert:
                ctx.load_cert_chain(*who.cert)
            self._contexts[who.name] = ctx
        return ctx

    def request(self, who: Identity, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30.0) -> Response:
        all_headers = {"User-Agent": "kubeward-differential/1.0", "Accept": "application/json"}
        if who.token is not None:
            all_headers["Authorization"] = f"Bearer {who.token}"
        all_headers.update(headers or {})
        conn = http.client.HTTPSConnection(self.host, self.port, context=self._context(who), timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            data = b""
            error = None
            try:
                data = resp.read()
            except (socket.timeout, http.client.IncompleteRead) as e:
                partial = getattr(e, "partial", b"")
                data = partial or b""
                error = f"read ended early: {type(e).__name__}"
            retry = resp.getheader("Retry-After", "")
            return Response(
                status=resp.status,
                content_type=resp.getheader("Content-Type", ""),
                warnings=resp.headers.get_all("Warning") or [],
                body=data,
                error=error,
                retry_after=int(retry) if retry.isdigit() else 0,
            )
        except (OSError, http.client.HTTPException) as e:
            return Response(status=0, content_type="", warnings=[], body=b"", error=f"{type(e).__name__}: {e}")
        finally:
            conn.close()
