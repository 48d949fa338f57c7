"""A per-client cache scope (SKETCHQ_CACHE_SCOPE=client): every key is prefixed with the requesting client's
id (an API key's id, or the client's address; service.core.context), so whether an answer was `cached`
tells a client only about what it sent itself."""

from __future__ import annotations

from collections.abc import Sequence

from service.cache.base import Cache
from service.core.context import client_id
from service.inference.outputs import RawScore


class ClientScopedCache:
    def __init__(self, inner: Cache) -> None:
        self._inner = inner
        self.backend = inner.backend

    @staticmethod
    def _scoped(key: str) -> str:
        return f"{client_id.get() or 'anonymous'}|{key}"

    async def get_many(self, keys: Sequence[str]) -> list[RawScore | None]:
        return await self._inner.get_many([self._scoped(k) for k in keys])

    async def set_many(self, items: Sequence[tuple[str, RawScore]]) -> None:
        await self._inner.set_many([(self._scoped(k), raw) for k, raw in items])

    async def close(self) -> None:
        await self._inner.close()
