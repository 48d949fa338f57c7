"""Reading a request body from ASGI messages, counting bytes as they arrive, and handing on what was read.

Shared by the body-limit middleware and POST /score's fast path, so both see a body the same way: a
declared Content-Length over the limit, a body that grows past it while arriving (a chunked upload has no
Content-Length), a client gone while sending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from starlette.types import Message, Receive

from service.core import tracing


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The Content-Length header's value; None when absent, -1 when it is not a number."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


@dataclass
class ReadBody:
    """What `read_body` got: every message, the bytes counted, and how reading ended."""

    outcome: Literal["complete", "too_large", "disconnected"]
    size: int
    messages: list[Message] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        if len(self.messages) == 1:
            return self.messages[0].get("body", b"")
        return b"".join(m.get("body", b"") for m in self.messages)


async def read_body(receive: Receive, max_bytes: int) -> ReadBody:
    """Receive until the body is complete, has passed `max_bytes`, or the client has gone."""
    with tracing.span("read_body") as s:
        read = await _read_body(receive, max_bytes)
        if s is not None:
            s.set_attribute("bytes", read.size)
        return read


async def _read_body(receive: Receive, max_bytes: int) -> ReadBody:
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] == "http.disconnect":
            return ReadBody("disconnected", size, messages)
        size += len(message.get("body", b""))
        if size > max_bytes:
            return ReadBody("too_large", size, messages)
        if not message.get("more_body", False):
            return ReadBody("complete", size, messages)


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive() that gives the messages already read, then the server's (that is how disconnects are seen)."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
