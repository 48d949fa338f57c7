"""POST /score's fast path (service.transport.fastpath) answers exactly as the FastAPI route does, errors
included; its answers are ScoreResponse documents; and it is fenced: the app's middleware list is pinned."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
from starlette.middleware.gzip import GZipMiddleware
from svc_support import ServerProc, is_problem, metric, metrics_text

from service.api.schemas.score import ScoreResponse
from service.core.settings import Settings
from service.main import check_fast_path_fence, create_app
from service.transport import fastpath
from service.transport.body_limit import BodyLimitMiddleware
from service.transport.request_metrics import RequestMetricsMiddleware
from sketchprep.strokes import strokes_from_drawing, strokes_to_stroke3

ROUTE_TYPE = "application/json; charset=utf-8"  # accepted, but not the fast path's plain application/json


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
        assert fast.pop("request_id") != routed.pop("request_id")  # (each request has its own)
        assert fast == routed


def test_one_connection_serves_many_answers(server: ServerProc, sketches: list[dict]) -> None:
    """Keep-alive with the coalesced writes: small and big (over 64 KiB) answers in turn on one socket."""
    def request(chosen: list[dict]) -> bytes:
        payload = json.dumps({"sketches": chosen, "top_k": 20}).encode()
        return (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % len(payload) + payload)

    big = (sketches * 3)[:200]
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        reader = s.makefile("rb")
        for k in range(6):
            chosen = big if k % 2 else sketches[:1]
            s.sendall(request(chosen))
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            length = 0
            while (line := reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert length > 64 * 1024 if k % 2 else length < 64 * 1024
            assert len(json.loads(reader.read(length))["results"]) == len(chosen)


def test_the_apps_middlewares_are_the_ones_the_fast_path_replicates() -> None:
    """The fast path runs in front of every middleware: a middleware added later would never see POST /score.
    This list is pinned on purpose: changing it means deciding what the fast path does about it."""
    app = create_app(Settings())
    assert [m.cls for m in app.user_middleware] == [RequestMetricsMiddleware, BodyLimitMiddleware]
    assert tuple(m.cls for m in app.user_middleware) == fastpath.REPLICATES
    app.add_middleware(GZipMiddleware)
    with pytest.raises(RuntimeError, match="fast path replicates"):
        check_fast_path_fence(app)


def test_score_answers_are_score_response_documents(server: ServerProc, sketches: list[dict]) -> None:
    """Real answers, from both paths, parsed strictly by the response model and written back unchanged:
    nothing missing, nothing extra, every type as documented."""
    rows = strokes_to_stroke3(strokes_from_drawing(sketches[3]["strokes"])).tolist()
    bodies = [{"sketches": sketches[:6], "top_k": 1},
              {"sketches": [{"strokes": sketches[6]["strokes"]}, {"stroke3": rows, "label": sketches[3]["label"]}],
               "top_k": 1000},
              {"sketches": [sketches[7]]}]
    for body in bodies:
        for content_type in ("application/json", ROUTE_TYPE):
            r = post(server, body, content_type)
            assert r.status_code == 200, r.text
            parsed = ScoreResponse.model_validate_json(r.content, strict=True)
            assert parsed.model_dump(mode="json", by_alias=True) == r.json()
            assert len(parsed.results) == len(body["sketches"])
