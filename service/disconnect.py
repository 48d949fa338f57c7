"""Dropping work whose client has gone: await a coroutine, cancelling it when http.disconnect arrives."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.types import Receive

from service.errors import ClientDisconnectedError

T = TypeVar("T")


async def watch_disconnect(receive: Receive, work: Awaitable[T]) -> T:
    """Await `work` in this task, cancelling it (its queued sketches are dropped) if the client disconnects.

    The body has been read, so the next ASGI message is http.disconnect (or the end of the response): one
    watcher task waits for it and cancels this task when the client has gone.
    """
    current = asyncio.current_task()
    assert current is not None
    gone = False

    def on_message(watcher: asyncio.Future[Any]) -> None:
        nonlocal gone
        if not watcher.cancelled() and watcher.exception() is None and \
                watcher.result().get("type") == "http.disconnect":
            gone = True
            current.cancel()

    watcher = asyncio.ensure_future(receive())
    watcher.add_done_callback(on_message)
    try:
        return await work
    except asyncio.CancelledError:
        if gone:
            current.uncancel()
            raise ClientDisconnectedError("the client closed the connection before the answer was ready") from None
        raise
    finally:
        watcher.remove_done_callback(on_message)
        watcher.cancel()
