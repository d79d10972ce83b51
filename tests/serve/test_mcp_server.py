"""`podsearch mcp`: the SDK's own client over stdio lists the tools with documented inputs,
asks, cites, finds similar passages, lists the library, and gets tool errors (not a crash)
for bad requests."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from podsearch.api import Library

TESTS = Path(__file__).parents[1]
# The server process registers the fake embedder, then runs the real command line.
LAUNCH = (
    "import sys; sys.path.insert(0, {tests!r}); from fakes import register; register(); "
    "from podsearch.cli.entry import main; sys.argv = ['podsearch', 'mcp', '--index', {index!r}]; "
    "main()"
)


def session(index: Path, script: Any) -> Any:
    """Run ``script(client)`` against ``podsearch mcp`` on ``index``, bounded in time."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", LAUNCH.format(tests=str(TESTS), index=str(index))],
        cwd=str(index.parent),
    )

    async def main() -> Any:
        async with Client(params, read_timeout_seconds=60) as client:
            return await script(client)

    return asyncio.run(asyncio.wait_for(main(), 120))


def payload(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def test_tools_are_listed_with_documented_inputs(library_index: Path) -> None:
    async def script(client: Any) -> Any:
        return await client.list_tools()

    tools = {t.name: t for t in session(library_index, script).tools}
    assert set(tools) == {"ask", "cite", "similar", "list_episodes", "list_speakers"}
    ask = tools["ask"].input_schema
    assert ask["required"] == ["question"]
    names = (
        "question",
        "speaker",
        "podcast",
        "episode",
        "since",
        "until",
        "top",
        "style",
        "rerank",
    )
    for name in names:
        assert ask["properties"][name]["description"], name
    assert tools["cite"].input_schema["properties"]["passage_ids"]["description"]


def test_ask_cite_similar_and_lists(library_index: Path) -> None:
    async def script(client: Any) -> Any:
        asked = payload(
            await client.call_tool("ask", {"question": "how long do you rest the dough", "top": 3})
        )
        first = asked["hits"][0]["passage_id"]
        cited = payload(await client.call_tool("cite", {"passage_ids": [first], "style": "mla"}))
        like = payload(await client.call_tool("similar", {"id": first, "top": 2}))
        episodes = payload(await client.call_tool("list_episodes", {}))
        speakers = payload(await client.call_tool("list_speakers", {}))
        return asked, cited, like, episodes, speakers

    asked, cited, like, episodes, speakers = session(library_index, script)

    async def reranked(client: Any) -> Any:
        arguments = {"question": "what makes the dough rise", "top": 3, "rerank": True}
        return payload(await client.call_tool("ask", arguments))

    want = Library(library_index).ask("what makes the dough rise", top=3, rerank=True)
    got = session(library_index, reranked)
    assert [h["passage_id"] for h in got["hits"]] == [h.passage_id for h in want.hits]
    assert got["reranked"] and not asked["reranked"]  # the fixture's default: first stage
    local = Library(library_index).ask("how long do you rest the dough", top=3, cite="apa")
    assert [h["passage_id"] for h in asked["hits"]] == [h.passage_id for h in local.hits]
    hit = asked["hits"][0]
    assert hit["quote"] == local.hits[0].text and hit["speaker"] == local.hits[0].speaker
    assert hit["speaker_source"] == local.hits[0].speaker_source  # how sure the speaker is
    assert hit["episode"] == local.hits[0].episode_title
    assert hit["start"] == local.hits[0].start and hit["time"]
    assert hit["citation"]["reference"] == local.hits[0].citation["reference"]
    # A weak match says why, in words; a confident one carries no reason.
    for got, want in zip(asked["hits"], local.hits, strict=True):
        assert got.get("why_weak") == want.weakness()
        assert ("why_weak" in got) == (not got["confident"])
    assert cited["citations"][0]["passage_id"] == hit["passage_id"]
    assert cited["citations"][0]["style"] == "modern-language-association"
    assert len(like["hits"]) == 2 and hit["passage_id"] not in {
        h["passage_id"] for h in like["hits"]
    }
    assert len(episodes["episodes"]) == len(Library(library_index).episodes())
    assert speakers["speakers"][0]["speaker"] == Library(library_index).speakers()[0]["speaker"]


BAD_CALLS = [
    ("ask", {"question": "dough", "top": 0}, "top:"),
    ("ask", {"question": "  "}, "question:"),
    ("ask", {"question": "dough", "style": "no-such-style"}, "style"),
    ("cite", {"passage_ids": ["ffffffffff"]}, "ffffffffff"),
    ("similar", {"id": "nothing-like-this"}, "neither a passage"),
    ("ask", {"top": 3}, "question"),  # a missing argument: the SDK's own validation
]


def test_bad_calls_are_tool_errors(library_index: Path) -> None:
    async def script(client: Any) -> Any:
        bad = [await client.call_tool(tool, arguments) for tool, arguments, _ in BAD_CALLS]
        good = await client.call_tool("list_episodes", {})  # the server lives on
        return bad, good

    bad, good = session(library_index, script)
    for result, (tool, _, message) in zip(bad, BAD_CALLS, strict=True):
        assert result.is_error, tool
        text = result.content[0].text
        assert message in text and "Traceback" not in text, text
    assert not good.is_error


def test_without_an_index_it_says_so_in_one_line(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", LAUNCH.format(tests=str(TESTS), index=str(tmp_path / "none"))],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "no index" in done.stderr
