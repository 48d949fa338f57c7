"""The operations behind the endpoints: scoring, attribution and enhancement on the shared batcher and cache,
and the input limits every request is held to."""
