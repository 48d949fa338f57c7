"""HTTP plumbing below the routes: POST /score's fast path, the body limit and request metrics middlewares
(both reading bodies through `body`), write coalescing for uvicorn, watching for a client that leaves."""
