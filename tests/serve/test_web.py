"""The page, the episode page, audio with range requests, and the JSON API the page uses:
each answers what the library answers."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import TALK, invoke, running, write_talk, write_tone

from podsearch.api import Library
from podsearch.serve.server import make_server


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url: str) -> tuple[int, Any]:
    status, _, body = fetch(url)
    return status, json.loads(body)


@pytest.fixture
def audio_library(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A served library of one talk whose audio is a local WAV beside its transcript."""
    folder = tmp_path / "talks"
    transcript = write_talk(folder)
    wav = write_tone(folder / "talk.wav")
    index = tmp_path / "audio-idx"
    assert invoke("index", transcript, "--index", index, "--model", "fake").exit_code == 0
    with running(make_server(index, "127.0.0.1", 0)) as url:
        yield url, wav


def test_api_ask_is_the_library_answer(server_url: str, library_index: Path) -> None:
    status, body = get_json(server_url + "/api/ask?q=dough&top=3&speaker=Lena%20Park")
    assert status == 200
    local = Library(library_index).ask("dough", top=3, speaker="Lena Park")
    assert body == json.loads(json.dumps(local.to_full_json()))


def test_api_cite_episodes_speakers(server_url: str, library_index: Path) -> None:
    lib = Library(library_index)
    hit = lib.ask("dough", top=1).hits[0]
    status, cited = get_json(f"{server_url}/api/cite?id={hit.passage_id}&style=chicago")
    assert status == 200
    assert cited[0]["reference"] == lib.cite(hit.passage_id, "chicago")[0].reference
    assert get_json(server_url + "/api/cite?id=ffffffffff")[0] == 404
    assert get_json(server_url + "/api/cite?id=" + hit.passage_id + "&style=nope")[0] == 422
    assert get_json(server_url + "/api/episodes")[1] == json.loads(json.dumps(lib.episodes()))
    assert get_json(server_url + "/api/speakers")[1] == lib.speakers()
    episode = get_json(f"{server_url}/api/episodes/{hit.episode_id}")[1]
    assert episode["episode_id"] == hit.episode_id
    assert any(t["turn_index"] == hit.turn_index for t in episode["turns"])


def test_api_similar(server_url: str, library_index: Path) -> None:
    lib = Library(library_index)
    hit = lib.ask("dough", top=1).hits[0]
    status, like = get_json(f"{server_url}/api/similar?id={hit.passage_id}&top=3")
    assert status == 200 and like["kind"] == "passage" and len(like["hits"]) == 3
    assert hit.passage_id not in [h["passage_id"] for h in like["hits"]]
    assert like == json.loads(json.dumps(lib.similar(hit.passage_id, top=3).to_json()))
    status, episodes = get_json(f"{server_url}/api/similar?id={hit.episode_id}")
    assert status == 200 and episodes["kind"] == "episode"
    assert hit.episode_id not in [e["episode_id"] for e in episodes["episodes"]]
    assert get_json(server_url + "/api/similar?id=nothing")[0] == 404


def test_openapi_documents_the_api(server_url: str) -> None:
    status, spec = get_json(server_url + "/openapi.json")
    assert status == 200
    for path in ("/api/ask", "/api/cite", "/api/episodes", "/api/speakers", "/api/similar"):
        assert path in spec["paths"], path
    body = spec["paths"]["/api/ask"]["post"]["requestBody"]["content"]["application/json"]
    assert "question" in body["schema"]["properties"]
    status, _, page = fetch(server_url + "/docs")
    assert status == 200
    # Offline: every script and style sheet of the docs page comes from this server.
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.decode())
    assets += re.findall(r"""url: *['"]([^'"]+)['"]""", page.decode())
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/"), asset
        assert fetch(server_url + asset)[0] == 200, asset


def test_page_with_a_question_shows_results(server_url: str, library_index: Path) -> None:
    status, _, raw = fetch(server_url + "/?q=hungry+yeast+and+fresh+flour&top=3")
    html = raw.decode()
    assert status == 200
    first = Library(library_index).ask("hungry yeast and fresh flour", top=3).hits[0]
    ids = re.findall(r'class="hit" id="hit-(\w+)"', html)
    assert ids[0] == first.passage_id and len(ids) == 3
    marked = re.findall(r"<mark>(\w+)</mark>", html)
    assert marked and {m.lower() for m in marked} <= {"hungry", "yeast", "fresh", "flour"}
    assert 'value="hungry yeast and fresh flour"' in html  # the state stays in the form
    hits = Library(library_index).ask("hungry yeast and fresh flour", top=3).hits
    weak = html.count('<span class="weak">weak match: ')
    assert weak == sum(not h.confident for h in hits)  # each weak match says why
    for h in hits:
        if not h.confident:
            assert f"weak match: {h.weakness()}" in html.replace("&#39;", "'")
    for s in Library(library_index).speakers():
        if not s["anonymous"]:
            assert f"<option >{s['speaker']}</option>" in html or s["speaker"] in html


def test_page_escapes_and_refuses_bad_requests(server_url: str) -> None:
    status, _, raw = fetch(server_url + "/?q=" + urllib.parse.quote("<script>x</script>"))
    assert status == 200 and "<script>x</script>" not in raw.decode()
    status, _, raw = fetch(server_url + "/?q=dough&top=0")
    assert status == 422 and "top:" in raw.decode()
    assert fetch(server_url + "/?similar=nothing")[0] == 404
    assert fetch(server_url + "/")[0] == 200  # no question yet: the empty form


def test_more_like_this_page(server_url: str, library_index: Path) -> None:
    hit = Library(library_index).ask("dough", top=1).hits[0]
    status, _, raw = fetch(f"{server_url}/?similar={hit.passage_id}")
    assert status == 200
    ids = re.findall(r'class="hit" id="hit-(\w+)"', raw.decode())
    assert ids and hit.passage_id not in ids


def test_episode_page_has_linkable_turns(server_url: str, library_index: Path) -> None:
    episode = Library(library_index).episodes()[0]["episode_id"]
    status, _, raw = fetch(f"{server_url}/episodes/{episode}")
    html = raw.decode()
    assert status == 200
    detail = Library(library_index).episode(episode)
    timed = [t for t in detail["turns"] if t["start"] is not None]
    assert timed and f'id="t={int(timed[0]["start"])}"' in html
    assert f'href="#t={int(timed[-1]["start"])}"' in html
    assert fetch(f"{server_url}/episodes/nothing-here")[0] == 404


def test_local_audio_is_served_with_ranges(audio_library: tuple[str, Path]) -> None:
    url, wav = audio_library
    episodes = get_json(url + "/api/episodes")[1]
    episode = episodes[0]["episode_id"]
    status, headers, body = fetch(f"{url}/audio/{episode}", {"Range": "bytes=100-199"})
    assert status == 206 and body == wav.read_bytes()[100:200]
    assert headers["content-range"] == f"bytes 100-199/{wav.stat().st_size}"
    assert headers["content-type"] == "audio/wav"
    status, _, body = fetch(f"{url}/audio/{episode}")
    assert status == 200 and body == wav.read_bytes()
    # Only the library's own files: nothing else is reachable through the audio route.
    for other in ("nothing", "..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd"):
        assert fetch(f"{url}/audio/{other}")[0] == 404
    # The page plays it at the quote.
    html = fetch(url + "/?q=keeper+climbed+the+tower")[2].decode()
    assert f'data-src="/audio/{episode}" data-start="{TALK[1][0]}"' in html
    assert 'id="episode-audio"' in fetch(f"{url}/episodes/{episode}")[2].decode()


def test_remote_audio_url_is_played_from_its_url(tmp_path: Path) -> None:
    write_talk(tmp_path / "talks", audio_url="https://example.com/talk.mp3")
    index = tmp_path / "idx"
    assert invoke("index", tmp_path / "talks", "--index", index, "--model", "fake").exit_code == 0
    with running(make_server(index, "127.0.0.1", 0)) as url:
        html = fetch(url + "/?q=keeper+climbed+the+tower")[2].decode()
        assert 'data-src="https://example.com/talk.mp3"' in html
        episode = get_json(url + "/api/episodes")[1][0]["episode_id"]
        assert fetch(f"{url}/audio/{episode}")[0] == 404  # nothing local to serve


def test_without_audio_the_time_and_episode_link_are_shown(server_url: str) -> None:
    html = fetch(server_url + "/?q=dough")[2].decode()
    assert 'class="play"' not in html
    assert re.search(r'href="/episodes/\w+#t=\d+"', html)


def test_rerank_on_the_api_and_the_page(server_url: str, library_index: Path) -> None:
    """`rerank=true` (the page's "Always read the first quotes closely" box) answers as the library
    does with rerank=True, and the box stays ticked."""
    question = "what makes the dough rise"
    status, body = get_json(
        server_url
        + "/api/ask?"
        + urllib.parse.urlencode({"q": question, "top": 4, "rerank": "true"})
    )
    assert status == 200
    local = Library(library_index).ask(question, top=4, rerank=True)
    assert body == json.loads(json.dumps(local.to_full_json())) and body["reranked"]
    _, _, raw = fetch(server_url + "/?" + urllib.parse.urlencode({"q": question, "rerank": "true"}))
    html = raw.decode()
    ids = re.findall(r'class="hit" id="hit-(\w+)"', html)
    page = Library(library_index).ask(question, rerank=True).hits
    assert ids == [h.passage_id for h in page]
    assert re.search(r'name="rerank" value="true" checked', html)
    _, _, plain = fetch(server_url + "/?q=dough")
    assert 'name="rerank" value="true" >' in plain.decode()  # offered, not ticked
