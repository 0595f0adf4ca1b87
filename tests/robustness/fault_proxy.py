"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the test S3 server (stdlib only).

Why: S3 throttles, fails with 5xx, drops connections and cuts bodies short in production; moto never does. The
proxy makes each of those happen at a chosen rate so the backend's retries and checksums are exercised for real.

Each request fails with probability ``rate`` (one kind picked by ``mix`` weights); a request spared is delayed by
``latency`` seconds with probability ``latency_rate``:

* ``slowdown``: 503 with S3's ``SlowDown`` XML error; the request never reaches S3.
* ``internal``: 500 with S3's ``InternalError`` XML error; never reaches S3.
* ``reset``: the request IS forwarded (S3 may have applied it), then the connection is reset (RST), no response.
* ``truncate``: forwarded; the response headers promise the full Content-Length, half the body is sent, then close.
* ``latency``: forwarded after ``latency`` seconds (not a failure: the response is intact; also a mix kind).
* ``stall``: nothing is sent back for ``stall`` seconds, then the connection closes (exercises read timeouts).
* ``denied``: 403 with S3's ``AccessDenied`` XML error, as for credentials without the permission; never reaches S3.
  Not in the failure mixes: a refusal is not transient, so only :meth:`FaultProxy.inject` gives it.

Bounded by construction: every socket has a timeout, handler threads are daemons, the server polls for shutdown,
and :meth:`FaultProxy.stop` ends it. It only ever connects to the upstream given, which must be on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULT_KINDS = ("slowdown", "internal", "reset", "truncate", "latency", "stall", "denied")
#: Failures only: every one of these makes the request fail as seen by the client (a truncated body: where the
#: client checks Content-Length; urllib3 1.x accepts a short body on non-streamed responses such as PUT's).
FAILURE_MIX = {"slowdown": 1.0, "internal": 1.0, "reset": 1.0, "truncate": 1.0}
#: Failures every client sees as failures, whatever its urllib3.
HARD_FAILURE_MIX = {"slowdown": 1.0, "internal": 1.0, "reset": 1.0}
#: A socket never waits longer than this for the other side (client or upstream).
SOCKET_TIMEOUT = 30.0
#: A body larger than this is refused (the tests' objects are far smaller): the proxy never buffers without bound.
MAX_BODY = 256 * 1024 * 1024
#: Requests remembered for assertions (oldest dropped first).
MAX_LOG = 200_000

_HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


def _s3_error(code: str, message: str, resource: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><Resource>{resource}</Resource>"
        "<RequestId>FAULTPROXY</RequestId></Error>"
    ).encode()


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it, and the fault it got (``None`` when passed through untouched); ``range`` is
    its Range header, if any (what a resumed download asks for again)."""

    method: str
    path: str
    fault: str | None
    range: str | None = None


@dataclass
class FaultPlan:
    """What to inject: per-request probability, relative weights of the kinds, and the delays used."""

    rate: float = 0.0
    mix: dict[str, float] = field(default_factory=lambda: dict(FAILURE_MIX))
    latency_rate: float = 0.0
    latency: float = 0.05
    stall: float = 5.0

    def __post_init__(self) -> None:
        unknown = set(self.mix) - set(FAULT_KINDS)
        rates_ok = 0.0 <= self.rate <= 1.0 and 0.0 <= self.latency_rate <= 1.0
        if unknown or not rates_ok or not any(w > 0 for w in self.mix.values()):
            raise ValueError(f"bad fault plan: {self!r} (kinds: {FAULT_KINDS})")


#: The proxy listens here only (a port the OS picks).
_HOST = "127.0.0.1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    proxy: FaultProxy


class _Reset(Exception):
    """Raised inside a handler to drop the connection with a TCP reset."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = SOCKET_TIMEOUT
    #: TCP_NODELAY: a response goes out as headers then body, two writes; with Nagle on, the body waited for the
    #: client's delayed ACK of the headers (40 ms on Linux), five times what moto takes to answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        """Silence: one line per request would drown pytest's output."""

    def handle(self) -> None:
        try:
            super().handle()
        except _Reset:
            self.close_connection = True
            linger = struct.pack("ii", 1, 0)  # close() now sends RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.connection.close()  # now, before socketserver's shutdown(SHUT_WR) could send a polite FIN
        except (OSError, http.client.HTTPException):
            self.close_connection = True

    def _proxy(self) -> None:
        proxy = self.server.proxy
        body = self._read_body()
        fault = proxy.decide(self.command)
        proxy.record(Seen(self.command, self.path, fault, self.headers.get("Range")))
        if fault == "denied":
            return self._send_error(403, "AccessDenied", "Access Denied")
        if fault == "slowdown":
            return self._send_error(503, "SlowDown", "Please reduce your request rate.")
        if fault == "internal":
            return self._send_error(500, "InternalError", "We encountered an internal error. Please try again.")
        if fault == "stall":
            proxy.stopped.wait(proxy.plan.stall)
            raise _Reset
        if fault == "latency":
            proxy.stopped.wait(proxy.plan.latency)
        status, reason, headers, payload = self._forward(body)
        if fault == "reset":
            raise _Reset
        length = len(payload)
        if fault == "truncate":
            # Promise the whole body (at least one byte), deliver less, hang up.
            length = max(length, 1)
            payload = payload[: len(payload) // 2]
            self.close_connection = True
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in _HOP_HEADERS and name.lower() != "content-length":
                self.send_header(name, value)
        if self.command != "HEAD" or "content-length" not in {n.lower() for n, _ in headers}:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Content-Length", dict((n.lower(), v) for n, v in headers)["content-length"])
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()
        return None

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _proxy

    def _read_body(self) -> bytes:
        """The request body: by Content-Length, or de-chunked when the client streams it chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:  # bounded: ends at the zero-size chunk, by MAX_BODY, or by the socket timeout
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                total += size
                if total > MAX_BODY:
                    raise _Reset
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise _Reset
        return self.rfile.read(length) if length else b""

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Send the request upstream unchanged (Host included: it is signed) and read the whole response."""
        proxy = self.server.proxy
        conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=SOCKET_TIMEOUT)
        try:
            conn.connect()
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body: no ACK wait between
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_HEADERS and name.lower() != "content-length":
                    conn.putheader(name, value)
            if body or self.command in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            response = conn.getresponse()
            payload = response.read() if self.command != "HEAD" else b""
            return response.status, response.reason, response.getheaders(), payload
        finally:
            conn.close()

    def _send_error(self, status: int, code: str, message: str) -> None:
        payload = _s3_error(code, message, self.path)
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()


class FaultProxy:
    """The proxy: ``start()`` it, point the backend at :attr:`endpoint_url`, set :attr:`plan`, ``stop()`` it."""

    def __init__(self, upstream_url: str, plan: FaultPlan | None = None, seed: int = 0) -> None:
        upstream = urlsplit(upstream_url)
        if upstream.scheme != "http" or upstream.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the fault proxy only fronts a plain-HTTP server on 127.0.0.1, not {upstream_url!r}")
        self.upstream_host = "127.0.0.1"
        self.upstream_port = upstream.port or 80
        self.plan = plan or FaultPlan()
        self.stopped = threading.Event()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._log: list[Seen] = []
        self._dropped = 0
        self._script: list[tuple[str | None, str | None]] = []
        self.faults: Counter[str] = Counter()
        self._server = _Server((_HOST, 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://{_HOST}:{self._server.server_port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled handlers wake up at once, in-flight ones end within SOCKET_TIMEOUT."""
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=SOCKET_TIMEOUT)

    def set_plan(self, rate: float, mix: dict[str, float] | None = None, **options: float) -> None:
        """Inject from now on: failures at ``rate`` drawn from ``mix`` (default: the four failures); drops any
        faults queued by :meth:`inject`."""
        plan = FaultPlan(rate=rate, mix=dict(mix or FAILURE_MIX), **options)
        with self._lock:
            self.plan = plan
            self._script.clear()

    def inject(self, *kinds: str | None, method: str | None = None) -> None:
        """Give the next ``len(kinds)`` requests (of ``method``, if given) these faults, in order, before the plan
        applies again; a ``None`` lets its request through untouched whatever the plan says."""
        unknown = {kind for kind in kinds if kind is not None} - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)} (kinds: {FAULT_KINDS})")
        with self._lock:
            self._script.extend((kind, method) for kind in kinds)

    def decide(self, method: str) -> str | None:
        plan = self.plan
        with self._lock:
            for n, (kind, only) in enumerate(self._script):
                if only in (None, method):
                    del self._script[n]
                    return kind
            if plan.rate > 0 and self._random.random() < plan.rate:
                kinds = [k for k, w in plan.mix.items() if w > 0]
                return self._random.choices(kinds, weights=[plan.mix[k] for k in kinds])[0]
            if plan.latency_rate > 0 and self._random.random() < plan.latency_rate:
                return "latency"
            return None

    def record(self, seen: Seen) -> None:
        with self._lock:
            if len(self._log) >= MAX_LOG:
                del self._log[: MAX_LOG // 2]
                self._dropped += MAX_LOG // 2
            self._log.append(seen)
            if seen.fault:
                self.faults[seen.fault] += 1

    def mark(self) -> int:
        """How many requests the proxy has seen so far: a position for :meth:`since`."""
        with self._lock:
            return self._dropped + len(self._log)

    def since(self, mark: int) -> list[Seen]:
        """The requests seen after :meth:`mark` returned ``mark``."""
        with self._lock:
            return list(self._log[max(mark - self._dropped, 0) :])
