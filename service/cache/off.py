"""No cache: every lookup a miss, nothing stored (SKETCHQ_CACHE=off)."""

from __future__ import annotations

from collections.abc import Sequence

from service.inference.outputs import RawScore


class NoCache:
    backend = "off"

    async def get_many(self, keys: Sequence[str]) -> list[RawScore | None]:
        return [None] * len(keys)

    async def set_many(self, items: Sequence[tuple[str, RawScore]]) -> None:
        return None

    async def close(self) -> None:
        return None
