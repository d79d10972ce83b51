"""Podcast feeds read from a real HTTP server on 127.0.0.1, and the corpus-as-feed script."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from podsearch.core.errors import FeedError
from podsearch.core.models import episode_id_for
from podsearch.ingest.feed_parse import TranscriptLink
from podsearch.ingest.feeds import FeedResult, is_feed, rank_transcripts, read_feed

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"
REPO = Path(__file__).resolve().parents[2]
SHARED = Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpora" / "seenunseen"
NO_ETAG = {"ep2.vtt", "show.xml"}  # served with Last-Modified only


def last_modified(body: bytes) -> str:
    """A Last-Modified date that changes with the content (whole seconds are too coarse here)."""
    return formatdate(1_700_000_000 + int(hashlib.sha1(body).hexdigest()[:6], 16), usegmt=True)


@dataclass
class Request:
    path: str
    if_none_match: str | None
    if_modified_since: str | None
    status: int = 0


@dataclass
class FeedServer:
    root: Path
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def statuses(self, path: str) -> list[int]:
        return [r.status for r in self.requests if r.path == path]


def _handler(state: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            name = urlparse(self.path).path.lstrip("/")
            req = Request(
                name, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
            )
            state.requests.append(req)
            try:
                if name == "slow.vtt":  # longer than the client's timeout, bounded
                    state.release.wait(5)
                    req.status = 0
                    return
                if name == "big.vtt":  # streamed without Content-Length
                    req.status = 200
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(b"WEBVTT\n\n")
                    for i in range(2000):
                        self.wfile.write(
                            b"00:00:%02d.000 --> 00:00:%02d.500\nwords\n\n" % (i % 60, i % 60)
                        )
                    return
                path = state.root / name
                if not name or not path.is_file():
                    req.status = 404
                    self._send(404, {"Content-Length": "0"})
                    return
                body = path.read_bytes()
                etag = None if name in NO_ETAG else f'"{hashlib.sha1(body).hexdigest()[:12]}"'
                date = last_modified(body)
                fresh = req.if_none_match == etag if etag else req.if_modified_since == date
                headers = {"Last-Modified": date} | ({"ETag": etag} if etag else {})
                if fresh:
                    req.status = 304
                    self._send(304, headers)
                    return
                req.status = 200
                self._send(200, headers | {"Content-Length": str(len(body))}, body)
            except OSError:
                pass  # the client gave up (timeout, size limit)

    return Handler


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FeedServer]:
    root = tmp_path / "www"
    shutil.copytree(FIXTURES, root)
    state = FeedServer(root)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def read(server: FeedServer, tmp_path: Path, name: str = "show.xml") -> FeedResult:
    return read_feed(
        f"{server.url}/{name}",
        cache_dir=tmp_path / "cache",
        timeout=0.5,
        max_bytes=20_000,
        allow_private_network=True,  # the test server is on 127.0.0.1
    )


def by_title(result: FeedResult) -> dict[str | None, object]:
    return {fe.episode.title: fe.episode for fe in result.episodes}


def problems(items: list) -> dict[str, str]:
    return {p.where.rsplit("/", 1)[-1]: p.problem for p in items}


def test_feed_over_http_reads_every_readable_item(server: FeedServer, tmp_path: Path) -> None:
    t0 = time.perf_counter()
    result = read(server, tmp_path)
    assert time.perf_counter() - t0 < 5
    assert result.channel.title == "Feed Test Show"
    eps = by_title(result)
    assert list(eps) == ["Rich formats", "With guests", "Fallback"]

    ep1 = eps["Rich formats"]
    assert ep1.formats == ["podcasting_json"]  # JSON in the feed's language beats VTT/HTML/text
    assert ep1.sources == [f"{server.url}/ep1.json"]
    assert ep1.podcast == "Feed Test Show"
    assert ep1.published == "2025-01-06"
    assert ep1.guid == "show-ep-1"
    assert ep1.id == episode_id_for(guid="show-ep-1")
    assert ep1.url == "https://example.com/show/1"
    assert ep1.audio_url == "https://cdn.example.com/ep1.mp3"
    assert ep1.episode_number == 1
    assert ep1.description == "We talk about formats today."
    assert ep1.language == "en"
    assert [(p.name, p.role) for p in ep1.people] == [("Hannah Host", "host")]  # channel's
    assert ep1.chapters == [(0.0, "Intro"), (30.0, "Main topic")]
    assert ep1.turns[0].text.startswith("Welcome to the rich formats episode. Now the main")

    ep2 = eps["With guests"]
    assert ep2.formats == ["webvtt"]  # the French JSON loses to English captions
    assert [(p.name, p.role) for p in ep2.people] == [
        ("Hannah Host", "host"),
        ("Gus Guest", "guest"),
    ]  # item-level people replace the channel's
    assert [t.speaker for t in ep2.turns] == ["Hannah Host", "Gus Guest"]
    assert ep2.chapters == []
    assert eps["Fallback"].formats == ["srt"]

    failed = problems(result.failures)
    assert failed["missing.vtt"] == 'episode "Missing transcript": HTTP 404 Not Found'
    assert failed["slow.vtt"] == 'episode "Slow server": timed out after 0.5 s'
    assert "over the 20000 byte limit" in failed["big.vtt"]
    assert failed["broken.json"].startswith('episode "Broken transcript": invalid JSON at line')
    assert failed["6"] == 'episode "No transcript": no transcript'
    assert len(result.failures) == 5
    warned = problems(result.warnings)
    assert warned["gone.json"] == (
        f'episode "Fallback": HTTP 404 Not Found; used {server.url}/fallback.srt instead'
    )
    assert warned["missing-chapters.json"] == (
        'episode "With guests": chapters not attached: HTTP 404 Not Found'
    )
    # Only what the feed names is fetched, and only the best transcript that works.
    fetched = {r.path for r in server.requests}
    assert "ep1.de.vtt" not in fetched and "ep1.html" not in fetched and "ep2.srt" not in fetched


def test_second_read_revalidates_and_a_changed_transcript_changes_the_hash(
    server: FeedServer, tmp_path: Path
) -> None:
    first = read(server, tmp_path)
    n = len(server.requests)
    second = read(server, tmp_path)
    again = {r.path: r for r in server.requests[n:]}
    assert again["ep1.json"].if_none_match and again["ep1.json"].status == 304
    assert again["ep2.vtt"].if_none_match is None  # served without an ETag
    ep2_date = last_modified((server.root / "ep2.vtt").read_bytes())
    assert again["ep2.vtt"].if_modified_since == ep2_date and again["ep2.vtt"].status == 304
    assert again["show.xml"].status == 304 and again["ep1.chapters.json"].status == 304
    assert again["missing.vtt"].status == 404  # failures are not cached
    hashes = [(fe.episode.id, fe.source_hashes) for fe in first.episodes]
    assert [(fe.episode.id, fe.source_hashes) for fe in second.episodes] == hashes

    (server.root / "ep1.json").write_text(
        '{"segments": [{"startTime": 0, "body": "A corrected transcript."}]}', "utf-8"
    )
    third = read(server, tmp_path)
    assert server.statuses("ep1.json")[-1] == 200
    ep1 = third.episodes[0]
    assert ep1.episode.turns[0].text == "A corrected transcript."
    assert ep1.episode.id == first.episodes[0].episode.id  # the id follows the guid
    assert ep1.source_hashes != first.episodes[0].source_hashes
    assert third.episodes[1].source_hashes == first.episodes[1].source_hashes

    # A new episode at the top of the feed leaves the others' hashes alone.
    feed = (server.root / "show.xml").read_text("utf-8")
    newest = (
        "<item><title>Newest</title><guid>show-ep-9</guid>"
        '<podcast:transcript url="ep2.srt" type="application/srt"/></item>'
    )
    (server.root / "show.xml").write_text(feed.replace("<item>", newest + "<item>", 1), "utf-8")
    fourth = read(server, tmp_path)
    assert fourth.episodes[0].episode.title == "Newest"
    assert [fe.source_hashes for fe in fourth.episodes[1:]] == [
        fe.source_hashes for fe in third.episodes
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("malformed.xml", r"malformed feed: not well-formed XML at line 6 column \d+: mismatched"),
        ("not_a_feed.html", r"not an RSS or Atom feed: the root element is <html>"),
        ("nothing.xml", r"cannot read the feed: HTTP 404 Not Found"),
    ],
)
def test_unreadable_feed_names_the_feed(
    server: FeedServer, tmp_path: Path, name: str, message: str
) -> None:
    with pytest.raises(FeedError, match=message) as err:
        read(server, tmp_path, name)
    assert err.value.path == f"{server.url}/{name}"


def test_remote_feed_may_not_name_local_files(server: FeedServer, tmp_path: Path) -> None:
    result = read(server, tmp_path, "remote_file_url.xml")
    assert [fe.episode.title for fe in result.episodes] == ["Fine"]
    [failure] = result.failures
    assert failure.where == "file:///etc/hostname"
    assert "refused: a feed read over HTTP may only name http(s) URLs" in failure.problem


def test_local_feed_resolves_relative_paths(tmp_path: Path) -> None:
    result = read_feed(FIXTURES / "show.xml", cache_dir=tmp_path / "cache", timeout=0.5)
    eps = by_title(result)
    assert eps["Rich formats"].sources == [str(FIXTURES / "ep1.json")]
    assert eps["Rich formats"].chapters == [(0.0, "Intro"), (30.0, "Main topic")]
    failed = problems(result.failures)
    assert "No such file or directory" in failed["slow.vtt"]
    assert not (tmp_path / "cache").exists()  # local files are never copied


def test_atom_feed(tmp_path: Path) -> None:
    (tmp_path / "a.vtt").write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHi.\n", "utf-8")
    (tmp_path / "feed.atom").write_text(
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0" xml:lang="en">'
        "<title>Atom Show</title><entry><title>Entry</title><id>urn:x:1</id>"
        "<published>2024-02-03T10:00:00Z</published>"
        '<link rel="alternate" href="https://example.com/e"/>'
        '<link rel="enclosure" href="https://example.com/e.mp3"/>'
        '<podcast:transcript url="a.vtt" type="text/vtt"/></entry></feed>',
        "utf-8",
    )
    assert is_feed(tmp_path / "feed.atom")
    [fe] = read_feed(tmp_path / "feed.atom", cache_dir=tmp_path / "c").episodes
    ep = fe.episode
    assert (ep.title, ep.podcast, ep.published, ep.guid) == (
        "Entry",
        "Atom Show",
        "2024-02-03",
        "urn:x:1",
    )
    assert (ep.url, ep.audio_url, ep.language) == (
        "https://example.com/e",
        "https://example.com/e.mp3",
        "en",
    )


def test_duplicate_guid_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello there.\n", "utf-8")
    item = (
        "<item><title>{}</title><guid>same</guid>"
        '<podcast:transcript url="a.srt" type="application/srt"/></item>'
    )
    (tmp_path / "feed.xml").write_text(
        '<rss xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>S</title>'
        + item.format("First")
        + item.format("Second")
        + "</channel></rss>",
        "utf-8",
    )
    result = read_feed(tmp_path / "feed.xml", cache_dir=tmp_path / "c")
    assert [fe.episode.title for fe in result.episodes] == ["First"]
    [failure] = result.failures
    assert failure.problem == ("episode \"Second\": duplicate guid 'same' (first used by item 1)")


def test_is_feed(tmp_path: Path) -> None:
    assert is_feed("https://example.com/feed.xml")
    assert is_feed(FIXTURES / "show.xml")
    assert is_feed((FIXTURES / "show.xml").as_uri())
    assert is_feed(FIXTURES / "malformed.xml")  # routed as a feed; reading it says what's wrong
    assert not is_feed(FIXTURES / "ep2.vtt")
    assert not is_feed(FIXTURES / "not_a_feed.html")
    assert not is_feed(FIXTURES / "ep1.json")
    assert not is_feed(tmp_path / "absent.xml")
    assert not is_feed(tmp_path)


def test_rank_transcripts_prefers_language_then_richness() -> None:
    links = [
        TranscriptLink("t.txt", "text/plain"),
        TranscriptLink("t.html", "text/html"),
        TranscriptLink("t.srt", "application/x-subrip", "en"),
        TranscriptLink("t.fr.json", "application/json", "fr"),
        TranscriptLink("t.json", "application/json"),
    ]
    ranked = [t.url for t in rank_transcripts(links, "en-GB")]
    assert ranked == ["t.srt", "t.json", "t.html", "t.txt", "t.fr.json"]
    assert [t.url for t in rank_transcripts(links, None)][:2] == ["t.fr.json", "t.json"]


def test_feed_result_for_the_indexer(server: FeedServer, tmp_path: Path) -> None:
    result = read(server, tmp_path)
    assert [fe.episode.title for fe in result.episodes] == [
        "Rich formats",
        "With guests",
        "Fallback",
    ]
    assert all(
        len(h) == 1 and len(h[0]) == 16 for h in (fe.source_hashes for fe in result.episodes)
    )
    problems = result.failures + result.warnings
    assert len(problems) == 7  # 5 items not read, then 2 warnings
    assert all(p.where.startswith(("http://", "https://")) for p in problems)


TITLES = {9: "Episode 9: The Profit Motive in Education", 10: "Episode 10: Digital India"}
DATES = {9: "2017-03-13", 10: "2017-03-20"}  # "13 Mar 2017", "20 Mar 2017" in metadata.json


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")
def test_make_feed_from_the_corpus(tmp_path: Path) -> None:
    out = tmp_path / "feeds" / "seenunseen.xml"
    script = REPO / "scripts" / "make_feed.py"
    run = subprocess.run(
        [sys.executable, str(script), "--episodes", "9-10,310", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    # E09.mp3.vtt is zero-padded; episode 310 has no transcript in the corpus.
    assert "wrote 2 episodes" in run.stderr and "skipped (no transcript): 310" in run.stderr
    assert is_feed(out)
    result = read_feed(out, cache_dir=tmp_path / "cache")
    assert not result.failures and not result.warnings
    assert result.channel.title == "The Seen and the Unseen"
    eps = [fe.episode for fe in result.episodes]
    assert [e.episode_number for e in eps] == [9, 10]
    assert [e.title for e in eps] == [TITLES[9], TITLES[10]]
    assert [e.published for e in eps] == [DATES[9], DATES[10]]
    vtts = CORPUS / "transcripts_vtt"
    assert [e.sources for e in eps] == [[str(vtts / "E09.mp3.vtt")], [str(vtts / "E10.mp3.vtt")]]
    assert all(e.formats == ["webvtt"] and len(e.turns) > 10 for e in eps)
    assert [(p.name, p.role) for p in eps[0].people] == [("Amit Varma", "host")]
    assert all(e.url and e.url.startswith("https://seenunseen.in/episodes/") for e in eps)
    assert eps[0].id == episode_id_for(guid=eps[0].url)  # the permalink is the guid


def test_index_a_feed_over_http_through_the_cli(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from podsearch.cli.app import app

    runner = CliRunner()
    args = ["index", f"{server.url}/show.xml", "--index", str(tmp_path / "idx")]
    args += ["--model", "fake", "--timeout", "0.5", "--max-mb", "0.02", "--json"]
    args += ["--allow-private-network"]  # the test server is on 127.0.0.1
    first = runner.invoke(app, args)
    assert first.exit_code == 1  # some items failed: reported, the rest indexed
    report = json.loads(first.stdout)
    assert report["episodes_added"] == 3, json.dumps(report)
    failed = {f["path"].rsplit("/", 1)[-1]: f["reason"] for f in report["failed"]}
    assert failed["missing.vtt"] == 'episode "Missing transcript": HTTP 404 Not Found'
    assert failed["slow.vtt"] == 'episode "Slow server": timed out after 0.5 s'
    assert failed["broken.json"].startswith('episode "Broken transcript": invalid JSON')
    assert "over the 20000 byte limit" in failed["big.vtt"]
    assert {w["path"].rsplit("/", 1)[-1] for w in report["warnings"]} == {
        "gone.json",
        "missing-chapters.json",
    }

    # Unchanged items are recognised by their hash, without parsing the transcript again
    # (items that failed are tried again).
    from podsearch.ingest.feeds import _Reader

    parsed: list[str] = []
    real_parse = _Reader.parse

    def counting_parse(self: _Reader, link: TranscriptLink, fetched: object) -> object:
        parsed.append(link.url.rsplit("/", 1)[-1])
        return real_parse(self, link, fetched)  # type: ignore[arg-type]

    with monkeypatch.context() as m:
        m.setattr(_Reader, "parse", counting_parse)
        again = json.loads(runner.invoke(app, args).stdout)
    assert parsed == ["broken.json"]
    assert again["passages_embedded"] == 0 and again["episodes_unchanged"] == 3
    eps = json.loads(
        runner.invoke(app, ["episodes", "--index", str(tmp_path / "idx"), "--json"]).stdout
    )
    assert {e["title"] for e in eps} == {"Rich formats", "With guests", "Fallback"}
    assert all(e["sources"][0].startswith(server.url) for e in eps)
    # Chapters of <podcast:chapters> are attached to passages, and survive a rebuild.
    ask = ["ask", "rich formats episode", "--mode", "lexical", "--json"]
    ask += ["--index", str(tmp_path / "idx")]
    for _ in range(2):
        hits = json.loads(runner.invoke(app, ask).stdout)
        assert hits[0]["episode_title"] == "Rich formats" and hits[0]["chapter"] == "Intro"
        assert runner.invoke(app, ["rebuild", "--index", str(tmp_path / "idx")]).exit_code == 0


def test_a_feed_transcripts_reading_warnings_are_the_feeds_warnings(tmp_path: Path) -> None:
    srt = "1\n00:00:01,000 --> 00:00:04,000\nAnna Lopez: The tomatoes are señor sized.\n"
    (tmp_path / "a.srt").write_bytes(srt.encode("cp1252"))
    (tmp_path / "feed.atom").write_text(
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0">'
        "<title>Garden Show</title><entry><title>Tomatoes</title><id>urn:x:2</id>"
        '<podcast:transcript url="a.srt" type="application/x-subrip"/></entry></feed>',
        "utf-8",
    )
    result = read_feed(tmp_path / "feed.atom", cache_dir=tmp_path / "c")
    assert [fe.episode.turns[0].text for fe in result.episodes] == ["The tomatoes are señor sized."]
    assert [w.problem for w in result.warnings] == [
        'episode "Tomatoes": not UTF-8: read as cp1252 (guessed by charset-normalizer)'
    ]
