"""Blocking addresses that keep sending refused request heads (a header flood that reconnects at once).

Each refused head (400, 414, 431 from `service.transport.http_limits`) costs an accepted connection and up to
the head limit of parsing. A client that floods such heads and reconnects after every refusal (1,700
connections a second in bench/reliability.py) kept the two cores busy enough to triple other clients' p99.
Here the refusals are counted per client address in a fixed window (`head_refusals_to_block` within
`head_refusal_window_s`); an address that reaches the count is blocked for `head_block_s`: its new
connections get a canned 429 and nothing they send is read or parsed. Up to `head_held_per_address` of them
(`head_held_max` in all) are then held open, unread, until the block ends or the client closes (a tarpit: a
flooding client's next send waits in its kernel once the socket buffer is full, instead of reconnecting at
once and costing an accept a time); the rest are closed at once. Addresses of trusted proxies
(`forwarded_allow_ips`) are never blocked, since their connections carry every client's requests. Memory
is bounded: at most `head_guard_addresses` addresses are remembered (the oldest are forgotten first), and held
connections are capped as above (each keeps at most its socket buffers).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from service.core.errors import PROBLEM_MEDIA_TYPE, problem

log = logging.getLogger("service.http")



@dataclass(slots=True)
class _Record:
    window_start: float
    refusals: int = 0
    blocked_until: float = 0.0
    held: int = 0  # connections of this address held open, unread


def blocked_answer(block_s: float) -> bytes:
    """The whole HTTP/1.1 answer a blocked address gets: 429 problem+json, `Retry-After`, `Connection: close`."""
    retry = max(1, round(block_s))
    body = json.dumps(problem(429, "Too Many Requests", f"this address sent too many refused request heads; it "
                                                        f"is blocked for {retry} s", "urn:sketchq:problem:head-abuse"),
                      separators=(",", ":")).encode()
    return (b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: " + PROBLEM_MEDIA_TYPE.encode()
            + b"\r\ncontent-length: %d\r\nretry-after: %d\r\nx-content-type-options: nosniff\r\n"
              b"cache-control: no-store\r\nconnection: close\r\n\r\n" % (len(body), retry) + body)


class HeadGuard:
    """Refusal counts and blocks per address (event loop only: no lock)."""

    def __init__(self, refusals_to_block: int, window_s: float, block_s: float, trusted: set[str],
                 max_addresses: int = 10_000, held_per_address: int = 8, held_max: int = 256,
                 on_block: Callable[[], None] = lambda: None, clock: Callable[[], float] = time.monotonic) -> None:
        self.refusals_to_block = refusals_to_block  # 0: never block
        self.window_s = window_s
        self.block_s = block_s
        self.max_addresses = max_addresses  # remembered at most (the oldest are forgotten)
        self.held_per_address = held_per_address  # blocked connections held open per address, and in all
        self.held_max = held_max
        self.trusted = trusted
        self.on_block = on_block  # called once per connection refused while blocked (a metric)
        self.clock = clock
        self.answer = blocked_answer(block_s)
        self._records: dict[str, _Record] = {}
        self.held = 0  # connections held open in all

    def hold(self, address: str | None) -> bool:
        """A blocked address's connection: may it be held open (unread) until the block ends? Call `release`
        when it closes."""
        record = self._records.get(address) if address is not None else None
        if record is None or record.held >= self.held_per_address or self.held >= self.held_max:
            return False
        record.held += 1
        self.held += 1
        return True

    def release(self, address: str | None) -> None:
        record = self._records.get(address) if address is not None else None
        if record is not None and record.held > 0:
            record.held -= 1
        self.held = max(0, self.held - 1)

    def blocked(self, address: str | None) -> bool:
        """At a new connection: is its address blocked now?"""
        if address is None or not self._records:
            return False
        record = self._records.get(address)
        if record is None or record.blocked_until <= self.clock():
            return False
        self.on_block()
        return True

    def refused(self, address: str | None) -> bool:
        """After a refused head: count it; True when the refusal is worth a log line (the first of a window, or
        the one that blocks the address), so a flood does not become a flood of log lines."""
        if address is None or self.refusals_to_block <= 0 or address in self.trusted or "*" in self.trusted:
            return True
        now = self.clock()
        record = self._records.get(address)
        if record is None or now - record.window_start > self.window_s:
            if record is None and len(self._records) >= self.max_addresses:
                del self._records[next(iter(self._records))]  # the oldest remembered address
            record = self._records[address] = _Record(now)
        record.refusals += 1
        if record.refusals >= self.refusals_to_block and record.blocked_until <= now:
            record.blocked_until = now + self.block_s
            log.warning("blocking %s for %.0f s: %d refused request heads within %.0f s", address, self.block_s,
                        record.refusals, self.window_s)
            return True
        return record.refusals == 1
