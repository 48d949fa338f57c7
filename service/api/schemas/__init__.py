"""Request and response bodies, one module per resource (field names are the API contract)."""
