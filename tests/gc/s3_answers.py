"""An HTTP proxy in front of the test S3 that answers chosen requests itself, the way S3 does (stdlib only).

Why: moto never throttles, never refuses a listing and never declines one key of a ``DeleteObjects``, and gc must
handle each. The proxy is the narrow seam: a request it is told about gets S3's own answer (an ``<Error>`` body with
its status; for a declined key, the key is left out of what reaches moto and an ``<Error>`` entry joins the
``<DeleteResult>``); every other request passes through unchanged (Host included: it is signed). A listing
can be cut into smaller pages (:attr:`S3Answers.list_page` sets the request's ``max-keys``, as S3 pages at 1000 keys:
moto honours it and checks no signature), so a few objects take several pages.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
#: Headers that describe the body as the client sent it: dropped when the proxy rewrites the body.
_BODY_HEADERS = {"content-length", "content-md5", "x-amz-sdk-checksum-algorithm"}
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
TIMEOUT = 30.0


@dataclass
class Refusal:
    """Answer requests of ``method`` whose query holds ``query`` with S3's error ``code`` (``times`` of them,
    None: all)."""

    method: str
    query: str
    status: int
    code: str
    message: str
    times: int | None = 1
    #: how many matching requests pass before the first refusal
    after: int = 0


class S3Answers:
    """Serves while its ``with`` block runs: point gc at :attr:`endpoint_url`, script it with :meth:`refuse` and
    :meth:`decline`."""

    def __init__(self, upstream_url: str) -> None:
        upstream = urlsplit(upstream_url)
        if upstream.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"only a test S3 on loopback is fronted, not {upstream_url!r}")
        self.upstream = ("127.0.0.1", upstream.port or 80)
        self.refusals: list[Refusal] = []
        #: key -> (code, message) that DeleteObjects answers for it (None: the entry leaves that element out)
        self.declined: dict[str, tuple[str | None, str | None]] = {}
        #: keys whose ``Errors`` entry leaves out ``<Key>`` (declined all the same)
        self.unnamed: set[str] = set()
        #: at most this many keys per ListObjectsV2 page (the request's ``max-keys``), None: S3's own 1000
        self.list_page: int | None = None
        #: (method, path with query, what the proxy did: "passed", "refused <code>", "declined <n>")
        self.seen: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.answers = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self) -> S3Answers:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=TIMEOUT)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def refuse(
        self, method: str, query: str, status: int, code: str, message: str, times: int | None = 1, after: int = 0
    ) -> None:
        with self.lock:
            self.refusals.append(Refusal(method, query, status, code, message, times, after))

    def decline(
        self, key: str, code: str | None = "AccessDenied", message: str | None = "Access Denied", named: bool = True
    ) -> None:
        """Every DeleteObjects answers ``key`` in ``Errors`` (and does not delete it); a None ``code`` or
        ``message``, or ``named=False`` (no ``<Key>``), leaves that element out of the entry."""
        with self.lock:
            self.declined[key] = (code, message)
            if not named:
                self.unnamed.add(key)

    def refusal_for(self, method: str, query: str) -> Refusal | None:
        with self.lock:
            for refusal in self.refusals:
                if refusal.method == method and refusal.query in query and refusal.times != 0:
                    if refusal.after > 0:
                        refusal.after -= 1
                        return None
                    if refusal.times is not None:
                        refusal.times -= 1
                    return refusal
        return None

    def record(self, method: str, path: str, what: str) -> None:
        with self.lock:
            self.seen.append((method, path, what))


def error_body(code: str, message: str, resource: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code><Message>{escape(message)}'
        f"</Message><Resource>{escape(resource)}</Resource><RequestId>S3ANSWERS</RequestId></Error>"
    ).encode()


def split_delete(body: bytes, declined: dict[str, tuple[str | None, str | None]]) -> tuple[bytes | None, list[str]]:
    """A DeleteObjects body without the declined keys (None if none is left), and the keys taken out."""
    ET.register_namespace("", S3_NS)
    root = ET.fromstring(body)
    taken = []
    for obj in root.findall(f"{{{S3_NS}}}Object"):
        key = obj.findtext(f"{{{S3_NS}}}Key") or ""
        if key in declined:
            root.remove(obj)
            taken.append(key)
    left = root.findall(f"{{{S3_NS}}}Object")
    return (ET.tostring(root, xml_declaration=True, encoding="UTF-8") if left else None), taken


def with_errors(result: bytes, errors: list[tuple[str | None, str | None, str | None]]) -> bytes:
    """``<DeleteResult>`` with an ``<Error>`` entry per (key, code, message), as S3 answers a declined key (an
    element that is None is left out)."""
    entries = "".join(
        "<Error>"
        + "".join(
            f"<{name}>{escape(value)}</{name}>"
            for name, value in zip(("Key", "Code", "Message"), entry, strict=True)
            if value is not None
        )
        + "</Error>"
        for entry in errors
    ).encode()
    if b"</DeleteResult>" not in result:  # nothing reached S3: the whole answer is the proxy's
        result = f'<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="{S3_NS}"></DeleteResult>'.encode()
    return result.replace(b"</DeleteResult>", entries + b"</DeleteResult>")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def log_message(self, format: str, *args: object) -> None:
        """Silent: pytest's output is for the tests."""

    @property
    def answers(self) -> S3Answers:
        return self.server.answers  # type: ignore[attr-defined,no-any-return]

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = urlsplit(self.path).query
        if self.command == "GET" and "list-type=2" in query.split("&") and self.answers.list_page is not None:
            kept = [part for part in query.split("&") if not part.startswith("max-keys=")]
            query = "&".join([*kept, f"max-keys={self.answers.list_page}"])
            self.path = f"{urlsplit(self.path).path}?{query}"
        refusal = self.answers.refusal_for(self.command, query)
        if refusal is not None:
            self.answers.record(self.command, self.path, f"refused {refusal.code}")
            payload = error_body(refusal.code, refusal.message, self.path)
            return self._reply(refusal.status, [("Content-Type", "application/xml")], payload)
        if self.command == "POST" and "delete" in query.split("&") and self.answers.declined:
            return self._delete_declining(body)
        self.answers.record(self.command, self.path, "passed")
        return self._reply(*self._forward(body, rewritten=False))

    do_GET = do_PUT = do_POST = do_DELETE = _answer

    def _delete_declining(self, body: bytes) -> None:
        declined = self.answers.declined
        left, taken = split_delete(body, declined)
        self.answers.record(self.command, self.path, f"declined {len(taken)}")
        status, headers, result = (200, [("Content-Type", "application/xml")], b"")
        if left is not None:
            status, headers, result = self._forward(left, rewritten=True)
        if status != 200:
            return self._reply(status, headers, result)
        errors = [(None if key in self.answers.unnamed else key, *declined[key]) for key in taken]
        kept = [(name, value) for name, value in headers if name.lower() != "content-length"]
        return self._reply(200, kept, with_errors(result, errors))

    def _forward(self, body: bytes, *, rewritten: bool) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.answers.upstream, timeout=TIMEOUT)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                lower = name.lower()
                dropped = rewritten and (lower in _BODY_HEADERS or lower.startswith("x-amz-checksum-"))
                if lower not in _HOP_HEADERS and lower != "content-length" and not dropped:
                    conn.putheader(name, value)
            if rewritten:
                conn.putheader("Content-MD5", base64.b64encode(hashlib.md5(body).digest()).decode())
            if body or self.command in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            response = conn.getresponse()
            payload = response.read()
            return response.status, response.getheaders(), payload
        finally:
            conn.close()

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response_only(status)
        for name, value in headers:
            if name.lower() not in _HOP_HEADERS and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
