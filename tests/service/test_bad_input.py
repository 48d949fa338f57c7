"""Bad input never gets a 500: each case gets the right 4xx as application/problem+json with a clear detail."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from svc_support import SERVER_LIMITS, ServerProc, is_problem

OK_STROKE = [[0, 10, 20], [0, 5, 0]]


def body_with(sketch: object) -> str:
    return json.dumps({"sketches": [sketch]})


# (case id, raw request body, expected status, a fragment the detail must contain)
CASES: list[tuple[str, str, int, str]] = [
    ("nan-literal", '{"sketches": [{"strokes": [[[0, NaN], [0, 1]]]}]}', 422, "finite"),
    ("infinity-literal", '{"sketches": [{"strokes": [[[0, Infinity], [0, 1]]]}]}', 422, "finite"),
    ("minus-infinity", '{"sketches": [{"strokes": [[[0, 1], [-Infinity, 1]]]}]}', 422, "finite"),
    ("overflow-to-inf", '{"sketches": [{"strokes": [[[0, 1e999], [0, 1]]]}]}', 422, "finite"),
    ("huge-integer", '{"sketches": [{"strokes": [[[0, 1' + "0" * 400 + '], [0, 1]]]}]}', 422, "number"),
    ("over-coordinate-limit", body_with({"strokes": [[[0, 1e300], [0, 1]]]}), 422, "exceeds the limit"),
    ("time-too-large", body_with({"strokes": [[[0, 1], [0, 1], [0, 1e300]]]}), 422, "exceeds the limit"),
    ("stroke3-offset-too-large", body_with({"stroke3": [[1e12, 0, 1]]}), 422, "exceeds the limit"),
    ("unequal-xs-ys", body_with({"strokes": [OK_STROKE, [[0, 1, 2], [0, 1]]]}), 422,
     "stroke 1: its rows (xs, ys) have 3, 2"),
    ("empty-stroke", body_with({"strokes": [OK_STROKE, OK_STROKE, [[], []]]}), 422,
     "strokes.2.0: list should have at least 1"),
    ("no-strokes", body_with({"strokes": []}), 422, "at least 1"),
    ("empty-sketch-list", '{"sketches": []}', 422, "at least 1"),
    ("too-many-sketches", json.dumps({"sketches": [{"strokes": [OK_STROKE]}] * (SERVER_LIMITS["max_sketches"] + 1)}),
     422, "at most 256"),
    ("both-formats", body_with({"strokes": [OK_STROKE], "stroke3": [[1, 1, 1]]}), 422, "exactly one"),
    ("neither-format", body_with({"label": "cat"}), 422, "exactly one"),
    ("too-many-points", body_with({"strokes": [[list(range(1001)), list(range(1001))]]}), 422, "1001 points"),
    ("too-many-points-in-request", json.dumps({"sketches": [{"strokes": [[[0] * 1000, [1] * 1000]]}] * 21}), 422,
     "21000 points in all"),
    ("too-many-strokes", body_with({"strokes": [[[1], [2]]] * 65}), 422, "65 strokes"),
    ("stroke3-too-many-strokes", body_with({"stroke3": [[1, 1, 1]] * 65}), 422, "65 strokes"),
    ("stroke3-too-many-points", body_with({"stroke3": [[1, 1, 0]] * 1001}), 422, "1001 points"),
    ("string-coordinate", body_with({"strokes": [[[0, "1"], [0, 1]]]}), 422, "valid number"),
    ("bool-coordinate", body_with({"strokes": [[[0, True], [0, 1]]]}), 422, "valid number"),
    ("null-coordinate", body_with({"strokes": [[[0, None], [0, 1]]]}), 422, "valid number"),
    ("xs-not-a-list", body_with({"strokes": [["abc", [0, 1]]]}), 422, "valid list"),
    ("stroke-one-row", body_with({"strokes": [[[0, 1]]]}), 422, "at least 2"),
    ("stroke-four-rows", body_with({"strokes": [[[0], [1], [2], [3]]]}), 422, "at most 3"),
    ("stroke3-short-row", body_with({"stroke3": [[1, 1]]}), 422, "stroke3.0.2: field required"),
    ("stroke3-bad-pen", body_with({"stroke3": [[1, 1, 0.5]]}), 422, "pen must be 0 or 1"),
    ("sketches-not-a-list", '{"sketches": {"strokes": []}}', 422, "valid list"),
    ("sketch-not-an-object", '{"sketches": [42]}', 422, "sketches.0"),
    ("label-not-a-string", body_with({"strokes": [OK_STROKE], "label": 7}), 422, "valid string"),
    ("top-k-zero", json.dumps({"sketches": [{"strokes": [OK_STROKE]}], "top_k": 0}), 422, "top_k"),
    # issue 14: a list of [x, y] points sent as `strokes` used to be read as [xs, ys, ts] and scored
    ("points-as-strokes", body_with({"strokes": [[[0, 0], [10, 10], [20, 0]]]}), 422,
     'send the sketch as \\"points\\"'),
    ("four-points-as-strokes", body_with({"strokes": [[[0, 0], [10, 10], [20, 0], [5, 5]]]}), 422,
     '{\\"points\\": [[[0, 0], [10, 10], [20, 0]]]}'),  # the accepted formats, with examples
    ("unknown-top-level-field", json.dumps({"sketches": [{"strokes": [OK_STROKE]}], "topk": 3}), 422,
     "unknown field 'topk'; did you mean 'top_k'?"),
    ("unknown-sketch-field", body_with({"strokes": [OK_STROKE], "lable": "cat"}), 422,
     "unknown field 'lable'; did you mean 'label'?"),
    ("null-format", body_with({"strokes": None, "points": [[[0, 0]]]}), 422, "valid list"),
    ("points-and-strokes", body_with({"strokes": [OK_STROKE], "points": [[[0, 0]]]}), 422, "exactly one"),
    ("point-three-values", body_with({"points": [[[0, 0, 1]]]}), 422, "at most 2"),
    ("top-k-numeric-string", json.dumps({"sketches": [{"strokes": [OK_STROKE]}], "top_k": "3"}), 422, "top_k"),
    ("stroke3-bool-pen", body_with({"stroke3": [[1, 1, True]]}), 422, "valid number"),
    ("top-k-string", json.dumps({"sketches": [{"strokes": [OK_STROKE]}], "top_k": "three"}), 422, "top_k"),
    ("body-is-a-list", "[1, 2, 3]", 422, "body"),
    ("body-is-null", "null", 422, "body"),
    ("missing-sketches", "{}", 422, "sketches"),
    ("malformed-json", '{"sketches": [', 400, "JSON"),
    ("trailing-garbage", '{"sketches": []} xyz', 400, "JSON"),
    ("deeply-nested-json", "[" * 100_000 + "]" * 100_000, 400, "JSON"),
    ("deeply-nested-in-field", '{"sketches": [{"strokes": ' + "[" * 5000 + "]" * 5000 + "}]}", 400, "JSON"),
    ("nested-within-limits", '{"sketches": [{"strokes": ' + "[" * 500 + "]" * 500 + "}]}", 422, "strokes"),
]


@pytest.mark.parametrize("raw,status,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_body(server: ServerProc, raw: str, status: int, fragment: str) -> None:
    r = httpx.post(f"{server.url}/score", content=raw.encode(), headers={"content-type": "application/json"},
                   timeout=30)
    body = is_problem(r, status)
    assert fragment.lower() in json.dumps(body).lower(), body


def test_validation_errors_say_where(server: ServerProc) -> None:
    r = httpx.post(f"{server.url}/score", content=body_with({"strokes": [OK_STROKE, [[0, 1], [0]]]}),
                   headers={"content-type": "application/json"})
    body = is_problem(r, 422)
    assert body["errors"][0]["loc"][:4] == ["body", "sketches", 0, "strokes"]
    assert "stroke 1" in body["detail"]


@pytest.mark.parametrize("content,content_type,status", [
    (b"", "application/json", 422),  # no body at all
    (b"\xff\xfe\x00garbage", "application/json", 400),  # not UTF-8
    (b"sketches=1", "application/x-www-form-urlencoded", 415),
    (b'{"sketches": []}', "text/plain", 415),
    (b'{"sketches": []}', "application/merge-patch+json", 415),  # any +json type used to be read as JSON
    (b'{"sketches": []}', "application/json; charset=latin-1", 415),  # and any charset ignored
    ('{"sketches": []}'.encode("utf-16"), "application/json", 400),  # UTF-16 with its BOM
    (b'\xef\xbb\xbf{"sketches": []}', "application/json", 400),  # UTF-8 with a BOM
], ids=["empty-body", "not-utf8", "form-encoded", "text-plain", "plus-json", "latin-1", "utf-16", "utf-8-bom"])
def test_unusable_bodies(server: ServerProc, content: bytes, content_type: str, status: int) -> None:
    r = httpx.post(f"{server.url}/score", content=content, headers={"content-type": content_type})
    is_problem(r, status)


def test_a_missing_content_type_says_which_header_to_send(server: ServerProc) -> None:
    r = httpx.post(f"{server.url}/score", content=b'{"sketches": []}', headers={"content-type": ""})
    assert "Content-Type: application/json" in is_problem(r, 415)["detail"]
    r = httpx.post(f"{server.url}/score", content=b'{"sketches": []}')  # no Content-Type at all
    assert "content-type" not in r.request.headers
    assert "Content-Type: application/json" in is_problem(r, 415)["detail"]
    r = httpx.post(f"{server.url}/score", content=b'{"sketches": []}',  # what curl -d sends without -H
                   headers={"content-type": "application/x-www-form-urlencoded"})
    assert "Content-Type: application/json" in is_problem(r, 415)["detail"]


def test_unknown_route_and_wrong_method(server: ServerProc) -> None:
    is_problem(httpx.get(f"{server.url}/no/such/thing"), 404)
    r = httpx.get(f"{server.url}/score")
    is_problem(r, 405)
    assert r.headers["allow"] == "POST"
    is_problem(httpx.delete(f"{server.url}/healthz"), 405)


def test_oversize_body_with_content_length_is_413(server: ServerProc) -> None:
    raw = b'{"sketches": [' + b" " * (SERVER_LIMITS["max_body_bytes"] + 10) + b"]}"
    r = httpx.post(f"{server.url}/score", content=raw, headers={"content-type": "application/json"})
    assert "max" in is_problem(r, 413)["detail"] or "limited" in r.json()["detail"]


def raw_http(server: ServerProc, head: bytes, chunks: list[bytes]) -> bytes:
    """Send a request over a plain socket (chunks as given) and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head)
        try:
            for chunk in chunks:
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered 413 and closed while we were still sending
        data = b""
        try:
            while part := s.recv(65536):
                data += part
        except ConnectionResetError:
            pass
        return data


def test_chunked_upload_cannot_bypass_the_body_limit(server: ServerProc) -> None:
    """No Content-Length: the middleware counts bytes as they arrive and answers 413 past the limit."""
    head = (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    piece = b" " * 16384
    n = SERVER_LIMITS["max_body_bytes"] // len(piece) + 4
    chunks = [b'e\r\n{"sketches": [\r\n'] + [b"%x\r\n%s\r\n" % (len(piece), piece)] * n + [b"2\r\n]}\r\n0\r\n\r\n"]
    answer = raw_http(server, head, chunks)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"application/problem+json" in rest.lower()


def test_chunked_upload_under_the_limit_is_served(server: ServerProc) -> None:
    head = (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    payload = json.dumps({"sketches": [{"strokes": [OK_STROKE]}]}).encode()
    halves = [payload[:10], payload[10:]]
    chunks = [b"%x\r\n%s\r\n" % (len(h), h) for h in halves] + [b"0\r\n\r\n"]
    answer = raw_http(server, head, chunks)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


def test_server_survived_the_matrix(server: ServerProc) -> None:
    """After all of the above the server still answers and has logged no unhandled error."""
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    log = server.log()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]


def test_point_lists_are_a_sketch_format_of_their_own(server: ServerProc) -> None:
    """Issue 14: `points` ([[x, y], ...] per stroke) gives the same answer as the same sketch in `strokes`."""
    drawing = [[[0, 40, 80, 120], [0, 60, 0, 60]], [[10, 70], [30, 30]]]
    points = [[[x, y] for x, y in zip(xs, ys, strict=True)] for xs, ys in drawing]
    r = httpx.post(f"{server.url}/score", json={"sketches": [{"strokes": drawing}, {"points": points}]}, timeout=30)
    assert r.status_code == 200, r.text
    by_strokes, by_points = r.json()["results"]
    assert by_points == by_strokes
