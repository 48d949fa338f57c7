"""The HTTP API: one router and one schema module per resource (score, attribute, enhance, model, probes),
the dependencies that hand routes the running service's parts, and the OpenAPI contract."""
