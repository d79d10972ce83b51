"""The web page: ``/`` (search, its state in the URL: ``/?q=...&speaker=...``), ``/episodes/ID``
(the transcript, each turn linkable as ``#t=SECONDS``) and ``/audio/ID`` (an episode's local
audio file, with HTTP range requests). Server-rendered HTML; ``static/page.js`` adds
copying citations, playing at a quote and seeking to ``#t=``. No build step."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup, escape

from ..core.errors import InvalidRequestError, PodsearchError
from ..core.text import format_timestamp
from ..query.episode import AUDIO_TYPES
from ..query.types import AskRequest
from ..speakers.labels import shown_speaker
from .service import ClientError, query_params

if TYPE_CHECKING:
    from jinja2 import Environment

    from .service import Service

HERE = Path(__file__).parent
PAGE_CONTEXT = 2  # turns before and after each quote, shown on demand
STYLES = ("apa", "mla", "chicago")
# Words a highlight skips: they are in every passage.
STOP = set(
    "a an and are as at be but by did do does for from had has have he her his how i if in is "
    "it its me my of on or our she so that the their them they this to was we were what when "
    "where which who why will with you your about say said".split()
)


@cache
def templates() -> Environment:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
    )
    env.filters["clock"] = clock
    env.filters["who"] = shown_speaker
    return env


def clock(seconds: float | None) -> str:
    """m:ss or h:mm:ss, empty when untimed."""
    return format_timestamp(seconds) if seconds is not None else ""


def highlight(text: str, query: str) -> Markup:
    """``text`` escaped, with the query's words (and words starting with them) marked."""
    words = {w for w in re.findall(r"\w+", query.lower()) if len(w) > 2 and w not in STOP}
    if not words:
        return escape(text)
    pattern = re.compile(
        r"\b(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\w*",
        re.IGNORECASE,
    )
    out, at = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[at : m.start()]))
        out.append(Markup("<mark>") + escape(m.group(0)) + Markup("</mark>"))
        at = m.end()
    out.append(escape(text[at:]))
    return Markup("").join(out)


def _audio_src(service: Service, episode_id: str, cache: dict[str, str | None]) -> str | None:
    """The URL an <audio> element plays for an episode, or None."""
    if episode_id not in cache:
        where = service.library.audio(episode_id)
        cache[episode_id] = (
            where if isinstance(where, str) else f"/audio/{episode_id}" if where else None
        )
    return cache[episode_id]


class Choices:
    """The filter menus (speakers, shows, episodes), computed once per index generation."""

    def __init__(self) -> None:
        self.generation: str | None = None
        self.value: dict[str, Any] = {}

    def get(self, service: Service) -> dict[str, Any]:
        generation = service.library.open().root.name
        if generation != self.generation:
            episodes = service.library.episodes()
            speakers = [s["speaker"] for s in service.library.speakers() if not s.get("anonymous")]
            shows = sorted({e["podcast"] for e in episodes if e.get("podcast")})
            self.value = {"episodes": episodes, "speakers": speakers, "shows": shows}
            self.generation = generation
        return self.value


def add(app: FastAPI, service: Service) -> None:
    """Register the page routes and the static files."""
    lib = service.library
    choices = Choices()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def page(state: dict[str, Any]) -> dict[str, Any]:
        """The search page's context for a query string's ``state``: hits, or passages
        like one (``similar=ID``), or nothing yet."""
        out: dict[str, Any] = {"hits": [], "error": None, "query": "", "similar_of": None}
        if state.get("similar"):
            found = lib.similar(state["similar"], top=10)
            out["hits"], out["similar_of"] = found.hits, found
        elif state.get("q"):
            params = {k: v for k, v in state.items() if k != "cite"}
            request = AskRequest.from_json({**params, "context": str(PAGE_CONTEXT)})
            result = lib.ask(request)
            out["hits"], out["query"] = result.hits, result.query
            out["speakers_applied"] = result.speakers
        return out

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def search_page(request: Request) -> HTMLResponse:
        params = query_params(request)
        state = {k: v[-1] for k, v in params.items() if v and v[-1]}
        if "speaker" in params:
            state["speaker"] = [s for s in params["speaker"] if s]
        status, context = 200, {"hits": [], "error": None, "query": ""}
        try:
            context = await service.call(page, state)
        except InvalidRequestError as e:
            status = 422
            context["error"] = f"{e.option.removeprefix('--')}: {e.problem}"
        except PodsearchError as e:
            status = 404 if "not" in type(e).__name__.lower() else 422
            context["error"] = str(e)
        menus = await service.call(choices.get, service)
        audio: dict[str, str | None] = {}
        hits = []
        for h in context["hits"]:
            src = await service.call(_audio_src, service, h.episode_id, audio)
            hits.append({"hit": h, "audio": src, "quote": highlight(h.text, context["query"])})
        style = state.get("cite") if state.get("cite") in STYLES else "apa"
        html = (
            templates()
            .get_template("search.html")
            .render(
                state=state,
                spoken=set(state.get("speaker") or []),
                hits=hits,
                error=context["error"],
                similar_of=context.get("similar_of"),
                styles=STYLES,
                style=style,
                link=lambda **kw: "/?" + urlencode(kw),
                **menus,
            )
        )
        return HTMLResponse(html, status_code=status)

    @app.get("/episodes/{episode_id}", response_class=HTMLResponse, include_in_schema=False)
    async def episode_page(episode_id: str) -> HTMLResponse:
        try:
            episode = await service.call(lib.episode, episode_id)
        except PodsearchError as e:
            html = templates().get_template("error.html").render(error=str(e))
            return HTMLResponse(html, status_code=404)
        audio = await service.call(_audio_src, service, episode["episode_id"], {})
        html = templates().get_template("episode.html").render(episode=episode, audio=audio)
        return HTMLResponse(html)

    @app.get("/audio/{episode_id}", include_in_schema=False)
    async def audio_file(episode_id: str) -> FileResponse:
        # Only a file the library itself names for this episode: never a path from the URL.
        where = await service.call(lib.audio, episode_id)
        if not isinstance(where, Path):
            raise ClientError(404, "no local audio for this episode")
        media = AUDIO_TYPES.get(where.suffix.lower(), "application/octet-stream")
        return FileResponse(where, media_type=media)
