"""API keys: only their sha256 digests are configured (SKETCHQ_API_KEY_HASHES), a presented key is hashed
and compared with every digest in constant time (hmac.compare_digest), and the client is named by a short
prefix of its digest (for rate limits, cache scope and logs; never the key).

Keys are high-entropy random strings (`python -m service.security.keys` makes one), so a plain sha256 is
enough: there is nothing to guess that a slow hash would protect.

    python -m service.security.keys            # prints a new key and the digest to configure
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

KEY_BYTES = 32


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """(a new key for a client, its digest for SKETCHQ_API_KEY_HASHES)."""
    key = "sq_" + secrets.token_urlsafe(KEY_BYTES)
    return key, digest(key)


def presented_key(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """The key from `Authorization: Bearer KEY` or `X-API-Key: KEY`; None when neither is sent."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key" and value.strip():
            return value.decode("latin-1").strip()
    return None


class KeyRing:
    def __init__(self, digests: Sequence[str]) -> None:
        self._digests = [bytes.fromhex(d) for d in digests]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def client_of(self, key: str) -> str | None:
        """The client id ("key:" + 12 hex digits of the digest) of a valid key, else None. Every configured
        digest is compared (no early exit), each in constant time."""
        presented = hashlib.sha256(key.encode("utf-8")).digest()
        found: bytes | None = None
        for d in self._digests:
            if hmac.compare_digest(presented, d):
                found = d
        return None if found is None else "key:" + found.hex()[:12]


if __name__ == "__main__":
    k, d = new_key()
    print(f"key (give it to the client):       {k}\ndigest (add to SKETCHQ_API_KEY_HASHES): {d}")
