"""``podsearch mcp``: the library as an MCP server over stdio (the official ``mcp`` SDK), for
agents: tools ``ask``, ``cite``, ``similar``, ``list_episodes`` and ``list_speakers``.

Each tool is one ``Library`` call, so an agent gets what the page and the command line get.
A request the library refuses comes back as a tool error with the library's one-line
message; an unexpected failure as a tool error without its text (the SDK logs it on
stderr). stdout carries the protocol only: nothing here prints.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated, Any

# At module level: the SDK reads the tools' annotations (strings here) in these globals.
from pydantic import Field

from ..core.errors import InvalidRequestError, PodsearchError
from ..core.text import format_timestamp
from ..query.types import AskRequest, Hit

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from ..api import Library

INSTRUCTIONS = (
    "Search a library of podcast transcripts. 'ask' answers a question with quotes (speaker, "
    "episode, show, date, time, a link and a ready citation); 'cite' styles citations of "
    "quotes by their passage_id; 'similar' finds passages like a passage or episodes like "
    "an episode; 'list_episodes' and 'list_speakers' say what the library holds (use their "
    "names and ids as filters). A quote's speaker_source says how its speaker is known: "
    "labelled or aligned (the transcript says), inferred (from the conversation's turns), "
    "likely (a guess, right about 4 times in 5: say so when quoting), or null (unknown)."
)


def hit_json(hit: Hit, link: str | None) -> dict[str, Any]:
    """A hit as an agent reads it: the quote and where it is, in a few flat fields."""
    out: dict[str, Any] = {
        "rank": hit.rank,
        "passage_id": hit.passage_id,
        "quote": hit.text,
        "speaker": hit.speaker,
        "speaker_source": hit.speaker_source,
        "episode_id": hit.episode_id,
        "episode": hit.episode_title,
        "podcast": hit.podcast,
        "published": hit.published,
        "start": hit.start,
        "end": hit.end,
        "time": format_timestamp(hit.start) if hit.start is not None else None,
        "time_precision": hit.time_precision,
        "link": link,
        "score": hit.score,
        "confident": hit.confident,
    }
    if not hit.confident:  # why, in words an agent can pass on
        out["why_weak"] = hit.weakness()
    if hit.context_after:  # the answer after a quote that is a question (or --context)
        out["context_after"] = hit.context_after
    if hit.citation:
        out["citation"] = hit.citation
    return out


def _link(library: Library, hit: Hit) -> str | None:
    """Where to hear or read the quote: the audio URL at its time, else the episode page."""
    audio = library.audio(hit.episode_id)
    if isinstance(audio, str):
        base = audio.split("#", 1)[0]
        return f"{base}#t={int(hit.start)}" if hit.start is not None else base
    return hit.url


def build_server(library: Library) -> MCPServer:
    """The MCP server answering from ``library``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from ..core.version import __version__

    server = MCPServer("podsearch", instructions=INSTRUCTIONS, version=__version__)
    lock = threading.Lock()  # the library is not re-entrant

    def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with lock:
                return fn(*args, **kwargs)
        except InvalidRequestError as e:
            raise ToolError(f"{e.option.removeprefix('--')}: {e.problem}") from None
        except PodsearchError as e:
            raise ToolError(str(e)) from None

    @server.tool(
        description="Answer a question from the podcast library: the best quotes, each with "
        "speaker, episode, show, date, start/end seconds, a link and a citation."
    )
    def ask(
        question: Annotated[str, Field(description="the question, in plain words")],
        speaker: Annotated[
            list[str] | None, Field(description="only quotes by these speakers")
        ] = None,
        podcast: Annotated[str | None, Field(description="words of the show's name")] = None,
        episode: Annotated[
            str | None, Field(description="an episode id, or words of its title")
        ] = None,
        since: Annotated[str | None, Field(description="published on or after YYYY-MM-DD")] = None,
        until: Annotated[str | None, Field(description="published on or before YYYY-MM-DD")] = None,
        top: Annotated[int, Field(description="how many quotes, 1 to 1000")] = 5,
        mode: Annotated[str, Field(description="hybrid, semantic or lexical")] = "hybrid",
        style: Annotated[
            str, Field(description="citation style: apa, mla, chicago or a CSL name")
        ] = "apa",
        include_boilerplate: Annotated[
            bool,
            Field(description="rank repeated intros, outros and sponsor reads like other text"),
        ] = False,
        rerank: Annotated[
            bool | None,
            Field(
                description="rank the first quotes again with a cross-encoder that reads the "
                "question and each quote together, more answers first but 1-2 s slower: true "
                "every time, false never, left out when the best match is unsure"
            ),
        ] = None,
    ) -> dict[str, Any]:
        params = {
            "include_boilerplate": include_boilerplate,
            "rerank": rerank,
            "question": question,
            "speaker": speaker,
            "podcast": podcast,
            "episode": episode,
            "since": since,
            "until": until,
            "top": top,
            "mode": mode,
            "cite": style,
        }

        def answer() -> dict[str, Any]:
            result = library.ask(AskRequest.from_json(params))
            return {
                "question": result.question,
                "searched": result.query,
                "speakers": result.speakers,
                "confident": result.confident,
                "reranked": result.reranked,
                "hits": [hit_json(h, _link(library, h)) for h in result.hits],
            }

        return call(answer)

    @server.tool(description="Citations of quotes by their passage_id, in a citation style.")
    def cite(
        passage_ids: Annotated[list[str], Field(description="passage ids from 'ask' hits")],
        style: Annotated[str, Field(description="apa, mla, chicago or a CSL style name")] = "apa",
    ) -> dict[str, Any]:
        cited = call(library.cite, passage_ids, style)
        return {
            "citations": [
                {"passage_id": c.passage_id, "quote": c.quote, **c.as_json()} for c in cited
            ]
        }

    @server.tool(
        description="More like this: passages like a passage (give its passage_id), or "
        "episodes like an episode (give its episode_id). Uses stored vectors only."
    )
    def similar(
        id: Annotated[str, Field(description="a passage_id or an episode_id")],
        top: Annotated[int, Field(description="how many results, 1 to 1000")] = 5,
    ) -> dict[str, Any]:
        found = call(library.similar, id, top=top)
        return {
            "of": found.of,
            "kind": found.kind,
            "title": found.title,
            "hits": [hit_json(h, _link(library, h)) for h in found.hits],
            "episodes": found.episodes,
        }

    @server.tool(description="Every episode of the library: id, title, show, date, passages.")
    def list_episodes() -> dict[str, Any]:
        keys = ("episode_id", "title", "podcast", "published", "passages", "url")
        return {"episodes": [{k: e.get(k) for k in keys} for e in call(library.episodes)]}

    @server.tool(description="Every speaker of the library, most turns first, with aliases.")
    def list_speakers() -> dict[str, Any]:
        keys = ("speaker", "aliases", "turns", "episodes", "anonymous")
        return {"speakers": [{k: s.get(k) for k in keys} for s in call(library.speakers)]}

    return server


def run_stdio(library: Library) -> None:
    """Serve MCP over stdin/stdout until the client closes it."""
    build_server(library).run("stdio")
