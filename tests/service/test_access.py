"""API keys, cost-based rate limits and the per-client cache scope on real servers (issue 14, defects 2 and
6): keys stored as digests, 401 problem+json without a valid key; a client's budget is paid in sketch
evaluations, 429 + Retry-After once spent (from the request head alone), regained over time; budgets
shared by two replicas through a real Redis; `cached` no longer tells one client what another sent."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from svc_support import RedisProc, ServerProc, is_problem, metric, metrics_text, wait_until

from service.security.keys import KeyRing, digest, new_key

KEYS = [new_key()[0] for _ in range(3)]
SKETCH = {"strokes": [[[0, 40, 80, 120], [0, 60, 0, 60]]]}


@pytest.fixture(scope="module")
def guarded(model_path: Path) -> Iterator[ServerProc]:
    srv = ServerProc(model_dir=model_path, cache="memory", cache_scope="client", rate_limit="true",
                     rate_limit_per_s=1, rate_limit_burst=10, api_key_hashes=",".join(digest(k) for k in KEYS))
    yield srv
    srv.stop()


def score(url: str, n: int, key: str | None = None, sketch: dict[str, Any] = SKETCH) -> httpx.Response:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return httpx.post(f"{url}/score", json={"sketches": [sketch] * n}, headers=headers, timeout=30)


def test_keys_are_checked_against_digests_only() -> None:
    key, d = new_key()
    ring = KeyRing([digest("another"), d])
    assert ring.client_of(key) == "key:" + d[:12]
    assert ring.client_of(key + "x") is None and ring.client_of("") is None


def test_work_needs_a_valid_key_but_probes_do_not(guarded: ServerProc) -> None:
    r = score(guarded.url, 1)
    assert "Bearer" in is_problem(r, 401)["detail"] and r.headers["www-authenticate"].startswith("Bearer")
    is_problem(score(guarded.url, 1, key="sq_not-a-key"), 401)
    r = httpx.post(f"{guarded.url}/enhance", json={"sketch": SKETCH}, headers={"X-API-Key": "nope"}, timeout=30)
    is_problem(r, 401)
    assert score(guarded.url, 1, key=KEYS[2]).status_code == 200
    r = httpx.post(f"{guarded.url}/score", json={"sketches": [SKETCH]}, headers={"X-API-Key": KEYS[2]}, timeout=30)
    assert r.status_code == 200
    assert httpx.get(f"{guarded.url}/healthz", timeout=5).status_code == 200
    text = metrics_text(guarded.url)
    assert metric(text, "sketchq_auth_requests_total", outcome="missing") >= 1
    assert metric(text, "sketchq_auth_requests_total", outcome="invalid") >= 2
    assert metric(text, "sketchq_auth_requests_total", outcome="ok") >= 2


def test_a_spent_budget_gets_429_then_refills(guarded: ServerProc) -> None:
    url, key = guarded.url, KEYS[0]
    before = metric(metrics_text(url), "sketchq_rate_limit_cost_total")
    assert score(url, 8, key).status_code == 200  # 10 - 8 = 2 left
    assert score(url, 3, key).status_code == 200  # 2 >= 1: let in, and it goes into debt (-1)
    r = score(url, 1, key)
    assert int(is_problem(r, 429)["status"]) == 429 and int(r.headers["retry-after"]) >= 1
    # Refused from the head alone: no body is ever sent, the answer comes anyway.
    with socket.create_connection(("127.0.0.1", guarded.port)) as s:
        s.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n"
                  b"Authorization: Bearer " + key.encode() + b"\r\n\r\n")
        s.settimeout(10)
        assert s.recv(65536).startswith(b"HTTP/1.1 429 ")
    assert score(url, 1, KEYS[1]).status_code == 200  # other clients keep their own budgets
    # An /enhance costs its evaluations (2 + steps * population), not one request.
    text = metrics_text(url)
    assert metric(text, "sketchq_rate_limit_cost_total") >= before + 11
    assert metric(text, "sketchq_rate_limit_requests_total", outcome="limited") >= 2
    # The budget refills at 1 per second: the client is served again.
    wait_until(lambda: score(url, 1, key).status_code == 200, timeout_s=15, interval_s=0.2, what="the refill")


def test_an_enhance_is_charged_its_evaluations(guarded: ServerProc) -> None:
    url, key = guarded.url, KEYS[1]
    before = metric(metrics_text(url), "sketchq_rate_limit_cost_total")
    r = httpx.post(f"{url}/enhance", json={"sketch": SKETCH, "steps": 2, "population": 3, "class": "cat"},
                   headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert r.status_code in (200, 429), r.text
    if r.status_code == 200:
        assert metric(metrics_text(url), "sketchq_rate_limit_cost_total") == before + 2 + 2 * 3


def test_the_cache_is_per_client_when_scoped(guarded: ServerProc) -> None:
    sketch = {"strokes": [[[3, 50, 90, 7], [9, 60, 2, 70]]]}
    first = score(guarded.url, 1, KEYS[2], sketch)
    assert first.status_code == 200 and first.json()["results"][0]["cached"] is False
    assert score(guarded.url, 1, KEYS[2], sketch).json()["results"][0]["cached"] is True
    other = wait_until(lambda: (r := score(guarded.url, 1, KEYS[1], sketch)).status_code == 200 and r,
                       timeout_s=15, interval_s=0.2, what="a budget for the second client")
    assert other.json()["results"][0]["cached"] is False  # another client sent it: not visible to this one


def test_replicas_share_budgets_through_redis(model_path: Path) -> None:
    redis = RedisProc()
    a = b = None
    try:
        common = {"model_dir": model_path, "cache": "off", "rate_limit": "true", "rate_limit_per_s": 0.2,
                  "rate_limit_burst": 5, "redis_url": redis.url}
        a, b = ServerProc(**common), ServerProc(**common)
        assert score(a.url, 5, sketch=SKETCH).status_code == 200  # this address' budget: 5 - 5 = 0
        r = score(b.url, 1)  # the other replica sees the same bucket
        is_problem(r, 429)
    finally:
        for srv in (a, b):
            if srv is not None:
                srv.stop()
        redis.stop()
