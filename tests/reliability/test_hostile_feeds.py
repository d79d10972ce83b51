"""Feeds and downloads against hostile HTTP servers on 127.0.0.1: a slow drip, redirects to
private addresses, oversize and short bodies, odd schemes, XML bombs in any encoding, and
local feeds naming file:// URLs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from podsearch.core.errors import FeedError
from podsearch.ingest import fetch as fetch_module
from podsearch.ingest.feeds import read_feed
from podsearch.ingest.fetch import FetchError, fetch

FEED = """<?xml version="1.0" encoding="{enc}"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>Hostile show</title>
<item><title>One</title><guid>g1</guid>
<podcast:transcript url="{url}" type="text/vtt"/></item>
</channel></rss>
"""
VTT = b"WEBVTT\n\n00:00:01.000 --> 00:00:05.000\nA fine transcript line.\n"


class Server:
    """Routes: path -> handler(request). Records every path asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.routes: dict[str, object] = {}
        self.url = ""
        self.stop = threading.Event()


def _handler(state: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.asked.append(self.path)
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            try:
                route(self)  # type: ignore[operator]
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    state.stop.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _body(data: bytes, length: int | None = None, status: int = 200, **headers: str):
    def send(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Length", str(len(data) if length is None else length))
        for k, v in headers.items():
            h.send_header(k.replace("_", "-"), v)
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()
        if length is not None and length > len(data):
            h.close_connection = True

    return send


def _get(url: str, tmp_path: Path, *, allow: bool = True, timeout: float = 0.5, size=10_000):
    return fetch(
        url, cache_dir=tmp_path / "c", timeout=timeout, max_bytes=size, allow_private_network=allow
    )


def test_a_slow_drip_ends_at_the_total_deadline(server: Server, tmp_path: Path, tally) -> None:
    def drip(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "400")
        h.end_headers()
        for _ in range(400):  # bounded: one byte every 0.1 s, always within the read timeout
            if state_stop.is_set():
                return
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.1)

    state_stop = server.stop
    server.routes["/drip"] = drip
    with pytest.raises(FetchError, match=r"took longer than 1\.2 s in all"):
        _get(server.url + "/drip", tmp_path, timeout=0.2)
    tally("feeds and downloads")


@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:{port}/secret",  # loopback by name
        "http://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
        "http://10.1.2.3/internal",  # private
        "http://[::1]:{port}/secret",  # IPv6 loopback
        "file:///etc/hostname",  # not http
    ],
)
def test_a_redirect_to_a_private_address_is_refused(
    target: str, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally
) -> None:
    """The first hop looks public (its name resolves to a public address in this test); the
    redirect points inward and is refused before any connection to it."""
    real = fetch_module.resolve
    monkeypatch.setattr(
        fetch_module,
        "resolve",
        lambda host, port: ["93.184.216.34"] if host == "127.0.0.1" else real(host, port),
    )
    port = server.url.rsplit(":", 1)[1]
    location = target.format(port=port)
    server.routes["/feed"] = _body(b"", status=302, Location=location)
    server.routes["/secret"] = _body(b"secret")
    with pytest.raises(FetchError, match="refused"):
        _get(server.url + "/feed", tmp_path, allow=False)
    assert "/secret" not in server.asked
    tally("feeds and downloads")


def test_private_addresses_need_the_flag(server: Server, tmp_path: Path, tally) -> None:
    server.routes["/t.vtt"] = _body(VTT)
    with pytest.raises(FetchError, match="allow-private-network"):
        _get(server.url + "/t.vtt", tmp_path, allow=False)
    assert server.asked == []  # refused before connecting
    assert _get(server.url + "/t.vtt", tmp_path, allow=True).data == VTT
    tally("feeds and downloads", 2)


@pytest.mark.parametrize("scheme", ["ftp", "gopher", "data", "javascript", "jar"])
def test_only_http_and_https(scheme: str, tmp_path: Path, tally) -> None:
    with pytest.raises(FetchError, match="scheme"):
        _get(f"{scheme}://example.com/x", tmp_path)
    tally("feeds and downloads")


def test_oversize_and_short_bodies_are_refused(server: Server, tmp_path: Path, tally) -> None:
    server.routes["/big-declared"] = _body(b"x" * 20_000)
    server.routes["/big-undeclared"] = _chunked(b"x" * 50_000)
    server.routes["/short"] = _body(b"x" * 10, length=1000)
    with pytest.raises(FetchError, match="over the 10000 byte limit"):
        _get(server.url + "/big-declared", tmp_path)
    with pytest.raises(FetchError, match="over the 10000 byte limit"):
        _get(server.url + "/big-undeclared", tmp_path)
    with pytest.raises(FetchError, match=r"Content-Length|IncompleteRead"):
        _get(server.url + "/short", tmp_path)
    tally("feeds and downloads", 3)


def _chunked(data: bytes):
    """A body without Content-Length (ended by closing the connection)."""

    def send(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        for i in range(0, len(data), 4096):
            h.wfile.write(data[i : i + 4096])
        h.close_connection = True

    return send


BOMB = (
    '<?xml version="1.0" encoding="{enc}"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    "<rss><channel><title>&c;</title></channel></rss>"
)


@pytest.mark.parametrize("enc", ["UTF-8", "UTF-16", "UTF-16-LE", "UTF-16-BE", "ISO-8859-1"])
def test_xml_bombs_are_refused_in_every_encoding(
    enc: str, server: Server, tmp_path: Path, tally
) -> None:
    data = BOMB.format(enc=enc).encode(enc.lower())
    if enc.startswith("UTF-16-"):
        data = ("\ufeff" + BOMB.format(enc=enc)).encode(enc.lower())
    server.routes["/bomb.xml"] = _body(data)
    with pytest.raises(
        FeedError,
        match=r"entities, which are refused|refused \(EntitiesForbidden|multi-byte encodings",
    ):
        read_feed(server.url + "/bomb.xml", cache_dir=tmp_path / "c", allow_private_network=True)
    tally("feeds and downloads")


@pytest.mark.parametrize("enc", ["UTF-8", "UTF-16", "ISO-8859-1"])
def test_feeds_in_other_encodings_are_read(enc: str, server: Server, tmp_path: Path, tally):
    server.routes["/t.vtt"] = _body(VTT)
    feed = FEED.format(enc=enc, url=server.url + "/t.vtt").encode(enc.lower())
    server.routes["/feed.xml"] = _body(feed)
    result = read_feed(
        server.url + "/feed.xml", cache_dir=tmp_path / "c", allow_private_network=True
    )
    assert [fe.episode.title for fe in result.episodes] == ["One"]
    tally("feeds and downloads")


def test_a_local_feed_may_not_name_file_urls(tmp_path: Path, tally) -> None:
    secret = tmp_path / "elsewhere" / "secret.vtt"
    secret.parent.mkdir()
    secret.write_bytes(VTT)
    feed_dir = tmp_path / "feeds"
    feed_dir.mkdir()
    (feed_dir / "ok.vtt").write_bytes(VTT)
    feed = FEED.format(enc="UTF-8", url=secret.as_uri()).replace(
        "</channel>",
        '<item><title>Two</title><guid>g2</guid><podcast:transcript url="ok.vtt" '
        'type="text/vtt"/></item></channel>',
    )
    (feed_dir / "feed.xml").write_text(feed)
    result = read_feed(feed_dir / "feed.xml", cache_dir=tmp_path / "c")
    assert [fe.episode.title for fe in result.episodes] == ["Two"]  # relative paths are fine
    [failure] = result.failures
    assert "not by file:// URL" in failure.problem
    tally("feeds and downloads")
