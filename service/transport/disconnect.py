"""Dropping work whose client has gone: await a coroutine, cancelling it when http.disconnect arrives."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.types import Receive

from service.core.errors import ClientDisconnectedError

T = TypeVar("T")

WATCH_AFTER_S = 0.05  # work that finishes sooner never starts a watcher (most requests: a task saved)


async def watch_disconnect(receive: Receive, work: Awaitable[T], after_s: float = WATCH_AFTER_S) -> T:
    """Await `work` in this task, cancelling it (its queued sketches are dropped) if the client disconnects.

    The body has been read, so the next ASGI message is http.disconnect (or the end of the response): a
    watcher task, started once the work has run `after_s`, waits for it and cancels this task when the
    client has gone. A client that leaves earlier is noticed at `after_s`.
    """
    current = asyncio.current_task()
    assert current is not None
    gone = False
    watcher: asyncio.Future[Any] | None = None

    def on_message(done: asyncio.Future[Any]) -> None:
        nonlocal gone
        if not done.cancelled() and done.exception() is None and done.result().get("type") == "http.disconnect":
            gone = True
            current.cancel()

    def start_watching() -> None:
        nonlocal watcher
        watcher = asyncio.ensure_future(receive())
        watcher.add_done_callback(on_message)

    timer = asyncio.get_running_loop().call_later(after_s, start_watching)
    try:
        return await work
    except asyncio.CancelledError:
        if gone:
            current.uncancel()
            raise ClientDisconnectedError("the client closed the connection before the answer was ready") from None
        raise
    finally:
        timer.cancel()
        if watcher is not None:
            watcher.remove_done_callback(on_message)
            watcher.cancel()
