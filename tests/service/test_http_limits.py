"""The request head limits and protocol-level errors on a real server, over raw sockets (issue 14, defects 1
and 7): an over-long request line gets 414 and an over-large header block 431 at once, before the head has
ended, while other clients are served; requests httptools cannot parse get 400 problem+json."""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_proc import read_http_answer
from svc_support import ServerProc, metric, metrics_text

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


def oversized_head_from(address: str, port: int) -> int:
    """One connection from `address` (a loopback address of its own: another client) sending a header block
    over the limit; the status it gets."""
    with socket.create_connection(("127.0.0.1", port), source_address=(address, 0)) as s:
        send_all_or_reset(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Flood: " + b"a" * (2 * HEADER_LIMIT))
        return read_answer(s)[0]


def test_an_address_that_keeps_sending_refused_heads_is_blocked(model_path: Path) -> None:
    """Issue 14's header flood reconnects after every 431: after 3 refusals (set here) within the window its
    address is blocked, so its next connection gets 429 before a byte is read, even for a valid request,
    while another address (the trusted 127.0.0.1, and an untrusted one that did nothing) is served."""
    srv = ServerProc(model_dir=model_path, cache="off", head_refusals_to_block=3, head_refusal_window_s=60,
                     head_block_s=60)
    try:
        assert [oversized_head_from("127.0.0.2", srv.port) for _ in range(3)] == [431, 431, 431]
        with socket.create_connection(("127.0.0.1", srv.port), source_address=("127.0.0.2", 0)) as s:
            status, headers, body = read_answer(s)  # answered before the client sends anything
            s.settimeout(2.0)  # held open and never read (a tarpit): the socket buffers fill and sending stalls
            with pytest.raises(TimeoutError):
                s.sendall(b"a" * (64 << 20))  # (a server that read and dropped it would take it all at once)
        assert status == 429 and headers["retry-after"] == "60" and headers["connection"] == "close"
        assert body["type"] == "urn:sketchq:problem:head-abuse"
        assert httpx.get(f"{srv.url}/healthz", timeout=10).status_code == 200  # 127.0.0.1
        with socket.create_connection(("127.0.0.1", srv.port), source_address=("127.0.0.3", 0)) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_http_answer(s, 10)[0] == 200
        assert metric(metrics_text(srv.url), "sketchq_rejected_requests_total", reason="head_abuse") == 1
    finally:
        srv.stop()


def test_a_trusted_proxy_is_never_blocked(model_path: Path) -> None:
    """Its connections carry every client's requests: blocking it would block them all."""
    srv = ServerProc(model_dir=model_path, cache="off", head_refusals_to_block=2, forwarded_allow_ips="127.0.0.2")
    try:
        assert [oversized_head_from("127.0.0.2", srv.port) for _ in range(4)] == [431] * 4
    finally:
        srv.stop()
