"""A fault proxy that answers with any S3 error the tests name, and damages bodies on the wire.

Why: the fault proxy speaks only S3's SlowDown (503), AccessDenied (403) and InternalError (500). S3-compatible
stores, gateways and KMS answer more shapes, and each picks another message or retry: other codes and statuses,
an ``<Error>`` without a ``<Code>`` or with an empty one, a 404 without a body. The answer is given at the HTTP
level, so each entry's own botocore parses it and the backend's own retry loop meets it, as it would meet the store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from fault_proxy import FaultProxy, Seen, _Handler, _s3_error

#: The message of every answer the proxy makes up.
MESSAGE = "Answered by the test's proxy."


@dataclass(frozen=True)
class Answer:
    """An S3 error answer: ``code`` None leaves ``<Code>`` out (some gateways and S3-compatible stores answer so),
    ``""`` sends it empty; ``body`` False sends no body at all (a HEAD's 404, or a gateway's)."""

    status: int
    code: str | None = None
    body: bool = True
    message: str = MESSAGE

    def payload(self, resource: str) -> bytes:
        if not self.body:
            return b""
        if self.code is not None:
            return _s3_error(self.code, self.message, resource)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Message>{self.message}</Message></Error>'.encode()


class _Answering(_Handler):
    """The fault proxy's handler, plus: answer a request with the proxy's next answer, and flip a byte in the body
    of a GET answer (headers, checksums included, as S3 sent them)."""

    server: Any

    def _proxy(self) -> None:
        proxy: AnsweringProxy = self.server.proxy
        answer = proxy.next_answer()
        if answer is None:
            return super()._proxy()
        self._read_body()
        proxy.record(Seen(self.command, self.path, f"{answer.status} {answer.code}"))
        payload = b"" if self.command == "HEAD" else answer.payload(self.path)
        self.send_response_only(answer.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
        return None

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _proxy

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        status, reason, headers, payload = super()._forward(body)
        proxy: AnsweringProxy = self.server.proxy
        if self.command == "GET" and payload and proxy.take_damage():
            damaged = bytearray(payload)
            damaged[len(damaged) // 2] ^= 0x01
            payload = bytes(damaged)
            proxy.damaged_headers.append({name.lower() for name, _ in headers})
        return status, reason, headers, payload


class AnsweringProxy(FaultProxy):
    """:meth:`answer` queues answers for the next requests; :meth:`answer_every` answers all that come after the
    queue; :meth:`damage` flips a byte in the next GET bodies."""

    def __init__(self, upstream_url: str) -> None:
        super().__init__(upstream_url)
        self._server.RequestHandlerClass = _Answering
        self._answers: list[Answer] = []
        self._standing: Answer | None = None
        self._damage = 0
        self._guard = threading.Lock()
        #: The header names of each damaged answer (to tell whether it carried a checksum botocore checks).
        self.damaged_headers: list[set[str]] = []

    def answer(self, *answers: Answer) -> None:
        with self._guard:
            self._answers += answers

    def answer_every(self, answer: Answer) -> None:
        with self._guard:
            self._standing = answer

    def damage(self, count: int) -> None:
        with self._guard:
            self._damage += count

    def next_answer(self) -> Answer | None:
        with self._guard:
            return self._answers.pop(0) if self._answers else self._standing

    def take_damage(self) -> bool:
        with self._guard:
            if self._damage <= 0:
                return False
            self._damage -= 1
            return True
