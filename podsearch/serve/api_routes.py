"""The JSON API under ``/api``: what the page itself calls, documented by OpenAPI at
``/docs``. Each route is one ``Library`` call; the request is validated by the library
(``AskRequest.from_json``) so that every face refuses the same requests the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from ..query.types import AskRequest
from .service import ClientError, json_response, query_params, read_json_object, top_query

if TYPE_CHECKING:
    from .service import Service

# The body of POST /api/ask, for the documentation only: AskRequest.from_json validates.
ASK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["question"],
    "properties": {
        "question": {"type": "string", "description": "the question (or 'q')"},
        "top": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
        "mode": {"enum": ["hybrid", "semantic", "lexical"], "default": "hybrid"},
        "speaker": {
            "description": "speaker name(s)",
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        },
        "podcast": {"type": "string", "description": "words of the show's name"},
        "episode": {"type": "string", "description": "episode id, title words or file name"},
        "since": {"type": "string", "format": "date"},
        "until": {"type": "string", "format": "date"},
        "include_boilerplate": {
            "type": "boolean",
            "default": False,
            "description": "rank a show's repeated intros, outros and sponsor reads like other "
            "text (by default they rank lower)",
        },
        "context": {"type": "integer", "minimum": 0, "maximum": 20, "default": 0},
        "group": {"enum": ["episode"]},
        "cite": {"type": "string", "description": "citation style: apa, mla, chicago, ..."},
        "rerank": {
            "type": ["boolean", "null"],
            "default": None,
            "description": "rank the first hits again with a cross-encoder (slower, better): "
            "true every time, false never, left out when the best match is unsure",
        },
    },
}
ASK_DOC = {"requestBody": {"content": {"application/json": {"schema": ASK_SCHEMA}}}}


def add(app: FastAPI, service: Service) -> None:
    """Register the ``/api`` routes."""
    lib = service.library

    @app.get("/api/ask", summary="Ask a question: hits with quote, speaker, episode, times")
    async def api_ask(
        request: Request,
        q: Annotated[str, Query(description="the question")],
        top: Annotated[str | None, Query(description="how many hits, 1 to 1000")] = None,
        mode: Annotated[str | None, Query(description="hybrid, semantic or lexical")] = None,
        speaker: Annotated[list[str] | None, Query(description="speaker (may repeat)")] = None,
        podcast: Annotated[str | None, Query(description="words of the show's name")] = None,
        episode: Annotated[str | None, Query(description="episode id or title words")] = None,
        since: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
        until: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
        include_boilerplate: Annotated[
            str | None, Query(description="true: repeated intros and ads rank as other text")
        ] = None,
        context: Annotated[str | None, Query(description="turns around, 0 to 20")] = None,
        group: Annotated[str | None, Query(description="'episode'")] = None,
        cite: Annotated[str | None, Query(description="citation style for every hit")] = None,
        rerank: Annotated[
            str | None,
            Query(
                description="first hits ranked again by a cross-encoder: true every time, "
                "false never, left out when the best match is unsure"
            ),
        ] = None,
    ) -> JSONResponse:
        # The parameters above document the API; the library validates them, all at once.
        ask = AskRequest.from_json(query_params(request))
        return json_response((await service.ask(ask)).to_full_json())

    @app.post("/api/ask", summary="Ask a question (JSON body)", openapi_extra=ASK_DOC)
    async def api_ask_post(request: Request) -> JSONResponse:
        ask = AskRequest.from_json(await read_json_object(request))
        return json_response((await service.ask(ask)).to_full_json())

    @app.get("/api/cite", summary="Citations of passages in a CSL style")
    async def api_cite(
        id: Annotated[list[str], Query(description="passage id (may repeat)")],
        style: Annotated[str, Query(description="apa, mla, chicago or a CSL name")] = "apa",
    ) -> list[dict[str, Any]]:
        if len(id) > 100:
            raise ClientError(422, "id: at most 100 passages at a time")
        cited = await service.call(lib.cite, id, style)
        return [{"passage_id": c.passage_id, "quote": c.quote, **c.as_json()} for c in cited]

    @app.get("/api/episodes", summary="Every episode, oldest first")
    async def api_episodes() -> list[dict[str, Any]]:
        return await service.call(lib.episodes)

    @app.get("/api/episodes/{episode_id}", summary="One episode with its turns")
    async def api_episode(episode_id: str) -> dict[str, Any]:
        return await service.call(lib.episode, episode_id)

    @app.get("/api/speakers", summary="Every speaker, most turns first")
    async def api_speakers() -> list[dict[str, Any]]:
        return await service.call(lib.speakers)

    @app.get("/api/similar", summary="Passages like a passage, or episodes like an episode")
    async def api_similar(
        id: Annotated[str, Query(description="a passage id, or an episode id", max_length=200)],
        top: Annotated[int, top_query()] = 10,
    ) -> dict[str, Any]:
        return (await service.call(lib.similar, id, top=top)).to_json()
