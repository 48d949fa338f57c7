"""The result cache: one protocol, the in-process LRU, Redis and off backends, and the canonical keys."""
