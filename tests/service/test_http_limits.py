"""The request head limits and protocol-level errors on a real server, over raw sockets (issue 14, defects 1
and 7): an over-long request line gets 414 and an over-large header block 431 at once, before the head has
ended, while other clients are served; requests httptools cannot parse get 400 problem+json."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

import httpx
from server_proc import read_http_answer
from svc_support import ServerProc

LINE_LIMIT = 8 * 1024  # the defaults (Settings.max_request_line_bytes, max_header_bytes)
HEADER_LIMIT = 32 * 1024


def read_answer(sock: socket.socket, timeout_s: float = 10.0) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Read one answer; the server must send it (and close) without the client sending anything more."""
    status, headers, body = read_http_answer(sock, timeout_s)
    assert len(body) == int(headers["content-length"]), "closed before the whole body"
    return status, headers, json.loads(body)


def send_all_or_reset(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the server may close before the end
        sock.sendall(data)


def test_an_endless_request_line_gets_414_at_once(server: ServerProc) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        send_all_or_reset(s, b"GET /healthz?" + b"a" * (LINE_LIMIT + 4096))  # no end of line, ever
        status, headers, body = read_answer(s)
    assert status == 414 and headers["content-type"].startswith("application/problem+json")
    assert headers["connection"] == "close"
    assert body["status"] == 414 and str(LINE_LIMIT) in body["detail"]


def test_a_header_flood_gets_431_at_once_while_other_clients_are_served(server: ServerProc) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as flood:
        flood.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Flood: " + b"a" * (HEADER_LIMIT // 2))
        # The flood connection is open with half a header block: another client is answered meanwhile.
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        send_all_or_reset(flood, b"a" * (4 * HEADER_LIMIT))  # still no end of the header
        status, headers, body = read_answer(flood)
        assert status == 431 and headers["content-type"].startswith("application/problem+json")
        assert body["type"] == "urn:sketchq:problem:headers-too-large"
        with contextlib.suppress(ConnectionResetError):  # closed by the server (reset: unread bytes were left)
            assert flood.recv(1) == b""
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_many_small_headers_over_the_limit_get_431(server: ServerProc) -> None:
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(HEADER_LIMIT // 100))
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        send_all_or_reset(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        status, _, _ = read_answer(s)
    assert status == 431


def test_heads_within_the_limits_are_served(server: ServerProc) -> None:
    r = httpx.get(f"{server.url}/healthz", params={"q": "a" * (LINE_LIMIT - 200)},
                  headers={"X-Big": "b" * (HEADER_LIMIT - 1024)}, timeout=10)
    assert r.status_code == 200, r.text


def test_protocol_errors_are_problem_json(server: ServerProc) -> None:
    for head in (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                 b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}"):
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(head)
            status, headers, body = read_answer(s)
        assert status == 400, head
        assert headers["content-type"].startswith("application/problem+json"), (head, headers)
        assert body["status"] == 400 and body["detail"]


def test_answers_do_not_name_the_server_software(server: ServerProc) -> None:
    assert "server" not in httpx.get(f"{server.url}/healthz", timeout=10).headers
