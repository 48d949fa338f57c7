"""POST /score's fast path (service.fastpath) answers exactly as the FastAPI route does, errors included."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
from svc_support import ServerProc, is_problem, metric, metrics_text

ROUTE_TYPE = "application/merge-patch+json"  # JSON to FastAPI, but not the fast path's application/json


def post(server: ServerProc, body: Any, content_type: str) -> httpx.Response:
    return httpx.post(f"{server.url}/score", content=json.dumps(body).encode(),
                      headers={"content-type": content_type}, timeout=30)


def requests_2xx(server: ServerProc) -> float:
    return metric(metrics_text(server.url), "sketchq_http_request_duration_seconds_count", endpoint="/score",
                  method="POST", status_class="2xx")


def test_fast_path_and_route_give_the_same_answer(server: ServerProc, sketches: list[dict]) -> None:
    body = {"sketches": sketches[:8] + [{"strokes": sketches[8]["strokes"]}], "top_k": 5}
    before = requests_2xx(server)
    fast = post(server, body, "application/json")
    routed = post(server, body, ROUTE_TYPE)
    assert fast.status_code == routed.status_code == 200, (fast.text, routed.text)
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert fast.json() == routed.json()
    assert requests_2xx(server) == before + 2  # both are counted under the /score route


def test_fast_path_errors_are_the_apps(server: ServerProc, sketches: list[dict]) -> None:
    cases = [({"sketches": [{"strokes": sketches[0]["strokes"], "label": "no-such-class"}]}, 422),  # raised scoring
             ({"sketches": [{"strokes": [[[0, 1], [0]]]}]}, 422),  # fails validation: handed to FastAPI
             ({"sketches": []}, 422)]
    for body, status in cases:
        fast = is_problem(post(server, body, "application/json"), status)
        routed = is_problem(post(server, body, ROUTE_TYPE), status)
        assert fast == routed


def test_one_connection_serves_many_answers(server: ServerProc, sketches: list[dict]) -> None:
    """Keep-alive with the coalesced writes: ten requests in a row on one socket, every answer complete."""
    payload = json.dumps({"sketches": [sketches[0]]}).encode()
    request = (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % len(payload) + payload)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        reader = s.makefile("rb")
        for _ in range(10):
            s.sendall(request)
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            length = 0
            while (line := reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert json.loads(reader.read(length))["results"][0]["cached"] is False
