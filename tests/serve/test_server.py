"""`podsearch serve`: start on a free port, answer like `ask --json`, refuse bad requests,
serve `ask --server`, stop within a bounded time."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from serving import LIBRARY, invoke

from podsearch.serve.server import make_server


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def post(url: str, body: bytes) -> tuple[int, Any]:
    req = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def local_json(index: Path, *args: str) -> list[dict[str, Any]]:
    result = invoke("ask", *args, "--index", index, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_binds_to_loopback_by_default(library_index: Path) -> None:
    httpd = make_server(library_index, port=0)
    try:
        assert httpd.server_address[0] == "127.0.0.1"
    finally:
        httpd.server_close()


def test_health(server_url: str, library_index: Path) -> None:
    status, body = get(server_url + "/health")
    assert status == 200
    assert body["status"] == "ok"
    assert body["model"] == "fake"
    assert body["passages"] > 0
    assert Path(body["index"]) == library_index.absolute()


def test_get_ask_returns_what_ask_json_prints(server_url: str, library_index: Path) -> None:
    question = "how long do you rest the dough"
    status, hits = get(server_url + "/ask?" + urllib.parse.urlencode({"q": question, "top": 3}))
    assert status == 200
    assert hits == local_json(library_index, question, "--top", "3")
    assert len(hits) == 3


def test_post_ask_with_filters_and_full_result(server_url: str, library_index: Path) -> None:
    body = {"question": "dough", "top": 5, "mode": "lexical", "speaker": ["Ada Chen"]}
    status, hits = post(server_url + "/ask", json.dumps(body).encode())
    assert status == 200
    assert hits == local_json(
        library_index, "dough", "--top", "5", "--mode", "lexical", "--speaker", "Ada Chen"
    )
    body["speaker"] = ["Nobody Known"]
    status, error = post(server_url + "/ask", json.dumps(body).encode())
    assert status == 422 and "Nobody Known" in json.dumps(error)
    status, full = post(server_url + "/ask", json.dumps({"q": "dough", "full": True}).encode())
    assert status == 200
    assert set(full) == {
        "question",
        "query",
        "speakers",
        "index",
        "group",
        "undated_left_out",
        "reranked",
        "hits",
    }
    assert full["hits"] == local_json(library_index, "dough")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ask", 422),  # no question
        ("/ask?q=x&top=0", 422),
        ("/ask?q=x&top=many", 422),
        ("/ask?q=x&mode=fuzzy", 422),
        ("/ask?q=x&model=other-model", 422),  # the index's model is fixed
        ("/ask?q=x&index=/somewhere/else", 409),
        ("/nothing", 404),
    ],
)
def test_bad_requests_get_a_json_error(server_url: str, path: str, status: int) -> None:
    got, body = get(server_url + path)
    assert got == status
    assert body["error"]


def test_bad_post_bodies(server_url: str) -> None:
    assert post(server_url + "/ask", b"not json")[0] == 400
    assert post(server_url + "/ask", b"[1, 2]")[0] == 400
    assert post(server_url + "/ask", json.dumps({"q": "x", "speaker": [1]}).encode())[0] == 422


def test_ask_through_the_server(server_url: str, library_index: Path) -> None:
    question = "how long do you rest the dough"
    result = invoke("ask", question, "--server", server_url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == local_json(library_index, question)
    human = invoke("ask", question, "--server", server_url)
    assert human.exit_code == 0, human.output
    assert "dough" in human.stdout.lower()


def test_context_and_group_through_the_server(server_url: str, library_index: Path) -> None:
    args = ("compost tomatoes dough", "--context", "1", "--group", "episode", "--top", "6")
    result = invoke("ask", *args, "--server", server_url, "--json")
    assert result.exit_code == 0, result.output
    remote = json.loads(result.stdout)
    assert remote == local_json(library_index, *args)
    assert any(h.get("context_before") or h.get("context_after") for g in remote for h in g["hits"])


def test_ask_with_another_index_than_the_servers_searches_locally(
    server_url: str, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    built = invoke("index", LIBRARY / "space.srt", "--index", other, "--model", "fake")
    assert built.exit_code == 0, built.output
    result = invoke("ask", "rocket", "--server", server_url, "--index", other, "--json")
    assert result.exit_code == 0, result.output
    assert "searching locally" in result.stderr
    assert json.loads(result.stdout) == local_json(other, "rocket")


def test_ask_without_a_running_server_searches_locally(library_index: Path) -> None:
    result = invoke(
        "ask", "dough", "--server", "http://127.0.0.1:9", "--index", library_index, "--json"
    )
    assert result.exit_code == 0, result.output
    assert "searching locally" in result.stderr
    assert json.loads(result.stdout) == local_json(library_index, "dough")


def test_server_sees_a_rebuilt_index(server_url: str, library_index: Path) -> None:
    before = get(server_url + "/health")[1]["generation"]
    new = library_index.parent / "new.vtt"
    new.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v Ada>Completely new words about zeppelins "
        "and airships floating over the city at dawn.\n"
    )
    assert invoke("index", new, "--index", library_index).exit_code == 0
    status, body = get(server_url + "/health")
    assert status == 200 and body["generation"] != before
    hits = get(server_url + "/ask?q=zeppelins")[1]
    assert "zeppelins" in hits[0]["text"]


def test_citations_and_human_output_through_the_server(
    server_url: str, library_index: Path
) -> None:
    """One ask use case: the server's answer renders exactly like the local one."""
    args = ("how long do you rest the dough", "--cite", "apa", "--top", "3")
    remote = invoke("ask", *args, "--server", server_url, "--json")
    assert remote.exit_code == 0, remote.output
    hits = json.loads(remote.stdout)
    assert hits == local_json(library_index, *args)
    assert all(h["citation"]["style"] == "apa" and h["citation"]["in_text"] for h in hits)
    human_remote = invoke("ask", *args, "--server", server_url)
    human_local = invoke("ask", *args, "--index", library_index)
    assert human_remote.stdout == human_local.stdout
    assert "Reference:" in human_local.stdout


def test_bad_requests_name_the_field(server_url: str) -> None:
    for query, field in (("top=0", "top"), ("context=99", "context"), ("group=show", "group")):
        status, body = get(f"{server_url}/ask?q=dough&{query}")
        assert status == 422 and body["error"].startswith(f"{field}:"), body


def test_json_responses_are_dumped_directly_and_still_take_any_value() -> None:
    """Answers skip FastAPI's encoder walk; a value plain JSON cannot hold still goes out."""
    import datetime

    from podsearch.serve.service import json_response

    plain = json_response({"hits": [{"score": 0.5, "text": "é"}]})
    assert json.loads(plain.body) == {"hits": [{"score": 0.5, "text": "é"}]}
    odd = json_response({"published": datetime.date(2020, 1, 2), "path": Path("/a/b")})
    assert json.loads(odd.body) == {"published": "2020-01-02", "path": "/a/b"}


def test_quick_questions_are_answered_in_the_event_loop(
    library_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A question the open generation answers without a second stage runs in the loop's
    thread (no hop to a worker and back); one that may be reranked (the default), with
    citations, after a rebuild, or while the library is busy, in a worker thread, so that
    the loop never waits for the cross-encoder. The answers are the same either way."""
    import asyncio
    import threading

    from podsearch.api import Library
    from podsearch.query.types import AskRequest
    from podsearch.serve.service import Service

    service = Service(library_index)
    where: list[str] = []
    real = Library.ask

    def spy(self: Library, *args: Any, **kwargs: Any) -> Any:
        where.append("loop" if threading.current_thread() is loop_thread else "worker")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Library, "ask", spy)

    async def ask(**params: Any) -> list[str]:
        question = {"q": "how long do you rest the dough", "rerank": "false", **params}
        result = await service.ask(AskRequest.from_json(question))
        return [h.passage_id for h in result.hits]

    async def scenario() -> None:
        quick = await ask()
        assert where[-1] == "loop"
        assert await ask(rerank="") == quick and where[-1] == "worker"  # maybe reranked
        assert await ask(rerank="true") and where[-1] == "worker"
        assert await ask(cite="apa") == quick and where[-1] == "worker"
        assert await ask(top="200") and where[-1] == "worker"
        with service._lock:  # busy: a worker waits for it instead of the loop
            pending = asyncio.ensure_future(ask())
            await asyncio.sleep(0.05)
            assert not pending.done()
        assert await pending == quick and where[-1] == "worker"
        new = library_index.parent / "new.vtt"
        new.write_text(
            "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v Ada>Zeppelins drift over the city.\n"
        )
        assert invoke("index", new, "--index", library_index).exit_code == 0
        assert not service.library.is_current()
        await ask()
        assert where[-1] == "worker"  # the new generation is loaded off the loop
        assert service.library.is_current()
        await ask()
        assert where[-1] == "loop"

    loop = asyncio.new_event_loop()
    loop_thread = threading.current_thread()
    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()
