"""Limits on the request head, and protocol errors as problem+json, in uvicorn's httptools protocol.

httptools (llhttp) has no size limit on the request line or the header block, and buffers a header value
until it ends: one client sending a 64 MiB header held that much memory and stalled every other request.
Here the head is counted as it arrives (nginx-like defaults, settings `max_request_line_bytes` and
`max_header_bytes`): a request line over its limit is answered 414, a header block over its limit 431, at
once (without waiting for the head to end), and the connection is closed. A request whose head is refused
never reaches the app. A request httptools cannot parse (`Content-Length: -1`, both Content-Length and
Transfer-Encoding, ...) is answered 400 application/problem+json, like every other error, instead of
uvicorn's text/plain. Each refusal is counted per client address (`service.transport.head_guard`): an
address that keeps sending refused heads is blocked for a while, its connections closed unread.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import httptools

from service.core.errors import PROBLEM_MEDIA_TYPE, problem
from service.core.settings import Settings
from service.transport.activity import ActiveRequests
from service.transport.coalesce import CoalescingHttpToolsProtocol
from service.transport.head_guard import HeadGuard

log = logging.getLogger("service.http")

_REFUSALS = {
    400: ("Bad Request", "bad-http-request"),
    414: ("URI Too Long", "request-line-too-long"),
    431: ("Request Header Fields Too Large", "headers-too-large"),
}


def refusal_bytes(status: int, detail: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A whole HTTP/1.1 answer: problem+json, `Connection: close`."""
    title, slug = _REFUSALS[status]
    body = json.dumps(problem(status, title, detail, f"urn:sketchq:problem:{slug}"), separators=(",", ":")).encode()
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, title.encode())]
    lines += [name + b": " + value + b"\r\n" for name, value in default_headers]
    lines += [b"content-type: " + PROBLEM_MEDIA_TYPE.encode() + b"\r\n", b"content-length: %d\r\n" % len(body),
              b"x-content-type-options: nosniff\r\n", b"cache-control: no-store\r\n", b"connection: close\r\n",
              b"\r\n", body]
    return b"".join(lines)


class LimitedHttpToolsProtocol(CoalescingHttpToolsProtocol):
    """The write-coalescing httptools protocol with head limits; `protocol_for(settings)` sets them."""

    max_request_line: int = 8 * 1024
    max_header_bytes: int = 32 * 1024
    guard: HeadGuard | None = None  # shared by every connection of the server
    activity: ActiveRequests | None = None  # requests being served, counted here (shared)

    def connection_made(self, transport):  # type: ignore[no-untyped-def,override]
        self._in_head = True  # reading a request line and headers (not a body)
        self._head_bytes = 0  # bytes received since the head began (counted per data_received call)
        self._url_bytes = 0
        self._header_bytes = 0
        self._refused = False
        self._active = 0  # this connection's requests counted in `activity` and not answered yet
        peer = transport.get_extra_info("peername")
        self._address: str | None = peer[0] if isinstance(peer, tuple) and peer else None
        super().connection_made(transport)
        self._held: asyncio.TimerHandle | None = None
        if self.guard is not None and self.guard.blocked(self._address):
            self._refused = True  # nothing from this connection is read or parsed
            self.transport.write(self.guard.answer)
            if self.guard.hold(self._address):  # a tarpit: open and unread until the block ends
                # (after connection_made has returned: uvloop starts reading then, undoing an earlier pause)
                self.loop.call_soon(self.transport.pause_reading)
                self._held = self.loop.call_later(self.guard.block_s, self.transport.close)
            else:
                self.transport.close()

    def connection_lost(self, exc):  # type: ignore[no-untyped-def]
        if self._active and self.activity is not None:
            self.activity.n -= self._active
            self._active = 0
        if self._held is not None:
            self._held.cancel()
            self._held = None
            if self.guard is not None:
                self.guard.release(self._address)
        super().connection_lost(exc)

    # --- counting -------------------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._url_bytes = 0
        self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)  # llhttp hands the target over as it arrives, piece by piece
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4  # "name: value\r\n"
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        why = self._over_limit(complete=True)
        if why is not None:
            self._refuse(*why)  # the app never sees this request
            return
        super().on_headers_complete()
        if self.activity is not None:
            self._active += 1
            self.activity.n += 1

    def on_response_complete(self) -> None:
        if self._active and self.activity is not None:
            self._active -= 1
            self.activity.n -= 1
        super().on_response_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        if not self._refused:
            super().on_message_complete()

    def _over_limit(self, complete: bool) -> tuple[int, str] | None:
        if self._url_bytes > self.max_request_line:
            return 414, f"the request target is longer than {self.max_request_line} bytes"
        if self._header_bytes > self.max_header_bytes or (
                not complete and self._head_bytes > self.max_request_line + self.max_header_bytes):
            return 431, f"the request headers are larger than {self.max_header_bytes} bytes"
        return None

    # --- reading --------------------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            self._head_bytes += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as e:
            if not self._refused:
                self._refuse(400, f"the request is not valid HTTP/1.1: {e}")
            return
        if self._in_head and not self._refused and (why := self._over_limit(complete=False)) is not None:
            self._refuse(*why)  # at once: no waiting for a head that may never end

    def send_400_response(self, msg: str) -> None:  # uvicorn's own 400s (an invalid upgrade, ...)
        self._refuse(400, msg)

    def _refuse(self, status: int, detail: str) -> None:
        self._refused = True
        if self.guard is None or self.guard.refused(self._address):
            log.warning("refused a request with %d: %s", status, detail)
        self.transport.write(refusal_bytes(status, detail, self.server_state.default_headers))
        self.transport.close()


def protocol_for(settings: Settings, on_block: Callable[[], None] = lambda: None,
                 activity: ActiveRequests | None = None) -> type[LimitedHttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, with the settings' limits, one HeadGuard
    (`on_block`: called for each connection refused because its address is blocked) and the count of requests
    being served (`activity`, read by the batcher)."""
    guard = HeadGuard(settings.head_refusals_to_block, settings.head_refusal_window_s, settings.head_block_s,
                      {ip.strip() for ip in settings.forwarded_allow_ips.split(",")}, settings.head_guard_addresses,
                      settings.head_held_per_address, settings.head_held_max, on_block)
    return type("SketchqHttpProtocol", (LimitedHttpToolsProtocol,), {
        "max_request_line": settings.max_request_line_bytes, "max_header_bytes": settings.max_header_bytes,
        "guard": guard, "activity": activity})
