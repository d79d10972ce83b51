"""The server under malformed and hostile requests (issue 14's probe): every one gets a short
JSON error and the server keeps answering; it cannot be bound twice; slow clients are cut
off; requests naming another host are refused."""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from serving import invoke, running

from podsearch.serve import service as service_module
from podsearch.serve.server import ServeError, bind, make_server


def request(
    url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=15)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def assert_short_error(body: Any) -> None:
    """A one-line message, never an exception's text or a traceback."""
    message = body["error"]
    assert "\n" not in message and len(message) < 300
    for leak in ("Traceback", "TypeError", "RecursionError", "ValueError", "KeyError"):
        assert leak not in message


NESTED = b'{"q": "dough", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
SHALLOW_BUT_TOO_DEEP = b'{"q": "dough", "x": ' + b"[" * 40 + b"]" * 40 + b"}"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (NESTED, 400),  # was a RecursionError and no reply
        (SHALLOW_BUT_TOO_DEEP, 400),
        (b"not json", 400),
        (b"\xff\xfe\x00", 400),
        (b"[1, 2]", 400),
        (b'"a string"', 400),
        (b"", 400),
        (b'{"q": 5}', 422),  # wrong types: were 500 with the exception text
        (b'{"q": "dough", "top": "many"}', 422),
        (b'{"q": "dough", "top": 1.5}', 422),
        (b'{"q": "dough", "top": true}', 422),
        (b'{"q": "dough", "speaker": {"a": 1}}', 422),
        (b'{"q": "dough", "context": {"a": 1}}', 422),
        (b'{"q": "dough", "mode": null, "group": 7}', 422),
        (b'{"q": "dough", "top": 0}', 422),  # was: 10 hits
        (b'{"q": "dough", "top": 1001}', 422),
        (b'{"q": "dough", "top": -3}', 422),
        (b'{"q": "dough", "cite": "no-such-style"}', 422),
    ],
)
@pytest.mark.parametrize("path", ["/ask", "/api/ask"])
def test_malformed_bodies_get_a_short_error(
    server_url: str, path: str, body: bytes, status: int
) -> None:
    got, answer = request(server_url, "POST", path, body, {"Content-Type": "application/json"})
    assert got == status, answer
    assert_short_error(answer)
    assert request(server_url, "GET", "/health")[0] == 200  # and the server still answers


@pytest.mark.parametrize(
    "query",
    ["q=dough&top=0", "q=dough&top=1001", "q=dough&top=x", "q=dough&context=21", "q=%20", ""],
)
def test_bad_query_strings(server_url: str, query: str) -> None:
    got, answer = request(server_url, "GET", "/api/ask?" + query)
    assert got == 422, answer
    assert_short_error(answer)


def test_top_bounds_on_every_route(server_url: str) -> None:
    assert request(server_url, "GET", "/api/similar?id=x&top=0")[0] == 422
    assert request(server_url, "GET", "/api/similar?id=x&top=5000")[0] == 422
    status, body = request(server_url, "GET", "/api/ask?q=dough&top=2")
    assert status == 200 and len(body["hits"]) == 2


def test_undecodable_question_is_answered(server_url: str) -> None:
    status, body = request(server_url, "GET", "/api/ask?q=%FF%FEdough")
    assert status == 200, body


def test_oversized_bodies_are_refused(server_url: str) -> None:
    big = b'{"q": "' + b"a" * (2 << 20) + b'"}'
    status, body = request(server_url, "POST", "/api/ask", big)
    assert status == 413
    assert_short_error(body)
    # Without a Content-Length (chunked), the limit holds while reading.
    host, port = server_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for i in range(0, len(big), 65536):
                chunk = big[i : i + 65536]
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server may stop reading once it has refused the body
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")


def test_unexpected_errors_do_not_leak(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from podsearch.api import Library

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(Library, "ask", broken)
    status, body = request(server_url, "GET", "/api/ask?q=dough")
    assert status == 500
    assert "secret" not in body["error"]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example"])
def test_other_host_names_are_refused(server_url: str, host: str) -> None:
    """DNS rebinding: a page of another site, resolved to 127.0.0.1, gets nothing."""
    status, body = request(server_url, "GET", "/api/episodes", headers={"Host": host})
    assert status == 400
    assert body["error"] == "unexpected Host header"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8765", "[::1]:8765"])
def test_loopback_host_names_are_answered(server_url: str, host: str) -> None:
    assert request(server_url, "GET", "/health", headers={"Host": host})[0] == 200


def test_allowed_host_names(library_index: Path) -> None:
    server = make_server(library_index, "127.0.0.1", 0, allowed_hosts=["podsearch.lan"])
    with running(server) as url:
        assert request(url, "GET", "/health", headers={"Host": "podsearch.lan:80"})[0] == 200
        assert request(url, "GET", "/health", headers={"Host": "other.lan"})[0] == 400


def test_slow_headers_are_cut_off(library_index: Path) -> None:
    server = make_server(library_index, "127.0.0.1", 0, header_timeout=0.5)
    with running(server):
        with socket.create_connection(server.server_address, timeout=10) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            started = time.monotonic()
            assert sock.recv(1024) == b""  # closed by the server, not by our 10 s timeout
            assert time.monotonic() - started < 9


def test_a_busy_kept_alive_connection_is_not_cut_off(library_index: Path) -> None:
    """Question after question on one connection for several header timeouts: every one is
    answered (the timer once closed such a connection between two of them); then a request
    whose headers never end on that connection is cut off."""
    server = make_server(library_index, "127.0.0.1", 0, header_timeout=0.3)
    with running(server):
        conn = http.client.HTTPConnection(*server.server_address, timeout=10)
        started, answered = time.monotonic(), 0
        while time.monotonic() - started < 1.5:  # bounded: five timeouts' worth
            conn.request("GET", "/ask?q=dough&top=3")
            response = conn.getresponse()
            assert response.status == 200 and json.loads(response.read())
            answered += 1
        assert answered > 10
        conn.sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        assert conn.sock.recv(1024) == b""
        conn.close()


def test_slow_bodies_are_cut_off(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "BODY_TIMEOUT", 0.5)
    host, port = server_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"q": '
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408")


def test_a_port_in_use_is_one_line(library_index: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ServeError, match=r"cannot listen on 127\.0\.0\.1"):
            bind("127.0.0.1", port)
        result = invoke("serve", "--index", library_index, "--port", str(port))
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "cannot listen" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("host", ["192.0.2.1", "no-such-host.invalid", "::1"])
def test_addresses_that_cannot_be_bound_are_one_line(library_index: Path, host: str) -> None:
    try:
        bind(host, 0).close()  # ::1 works where IPv6 is up: nothing to check then
    except ServeError as e:
        assert "\n" not in str(e)
        result = invoke("serve", "--index", library_index, "--host", host, "--port", "0")
        assert result.exit_code == 1
        assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.output
    else:
        assert host == "::1"
