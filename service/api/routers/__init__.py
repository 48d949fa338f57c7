"""The API's routers, one per resource; `ROUTERS` in the order the app includes them."""
