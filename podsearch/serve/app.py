"""The one ASGI app behind ``podsearch serve``: the JSON API (``/api/...``, documented at
``/docs``), the endpoints ``ask --server`` uses (``/ask``, ``/health``) and the web page
(``serve.web``), all calling one ``Library``.

Errors are JSON ``{"error": "..."}`` with a short message and never the text of an
unexpected exception: 400 a malformed body, 404 an unknown passage or episode, 409 another
index, 413 a body over the limit, 408 a body sent too slowly, 422 a request the library
refuses (``field: problem``), 500 anything else (logged on the server).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from ..core.errors import (
    EpisodeNotFoundError,
    IndexNotFoundError,
    InvalidRequestError,
    PassageNotFoundError,
    PodsearchError,
)
from ..query.types import AskRequest
from . import api_routes, web
from .hosts import HostCheck
from .service import (
    ClientError,
    Service,
    json_response,
    query_params,
    read_json_object,
    wants_full,
)

log = logging.getLogger("podsearch.serve")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def add_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"error": message}``; unexpected ones without their text."""

    @app.exception_handler(ClientError)
    async def client_error(request: Request, e: ClientError) -> JSONResponse:
        return _error(e.status, e.message)

    @app.exception_handler(InvalidRequestError)
    async def invalid(request: Request, e: InvalidRequestError) -> JSONResponse:
        return _error(422, f"{e.option.removeprefix('--')}: {e.problem}")

    @app.exception_handler(PodsearchError)
    async def refused(request: Request, e: PodsearchError) -> JSONResponse:
        if isinstance(e, PassageNotFoundError | EpisodeNotFoundError):
            return _error(404, str(e))
        if isinstance(e, IndexNotFoundError):
            return _error(503, str(e))
        return _error(422, str(e))

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return _error(422, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException) -> JSONResponse:
        message = "no such page" if e.status_code == 404 else str(e.detail)
        return _error(e.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, e: Exception) -> JSONResponse:
        log.exception("error answering %s %s", request.method, request.url.path)
        return _error(500, "internal error (the server's log has the details)")


def create_app(
    index_dir: Path | str, *, allowed_hosts: list[str] | None = None, service: Service | None = None
) -> FastAPI:
    """The app for the index at ``index_dir`` (loaded now). ``allowed_hosts``: Host header
    names accepted besides loopback ones (``*``: any; DNS rebinding protection off)."""
    service = service or Service(index_dir)
    # FastAPIOffline: /docs and /redoc with Swagger UI and ReDoc served from the package, not
    # a CDN, so the API documentation works on a machine without internet.
    app = FastAPIOffline(
        title="podsearch",
        summary="Semantic search over podcast transcripts: quotes with speaker, episode, time.",
        version=_version(),
    )
    app.state.service = service
    add_error_handlers(app)

    @app.get("/health", summary="Which index is served")
    async def health() -> dict[str, Any]:
        return await service.call(service.health)

    async def answer(params: dict[str, Any]) -> Any:
        request = AskRequest.from_json(params)
        service.check_index(params.get("index"))
        result = await service.ask(request)
        return json_response(result.to_full_json() if wants_full(params) else result.to_json())

    @app.get("/ask", summary="What 'podsearch ask --json' prints", include_in_schema=False)
    async def ask_get(request: Request) -> Any:
        return await answer(query_params(request))

    @app.post("/ask", include_in_schema=False)
    async def ask_post(request: Request) -> Any:
        return await answer(await read_json_object(request))

    api_routes.add(app, service)
    web.add(app, service)
    app.add_middleware(HostCheck, allowed=allowed_hosts)
    return app


def _version() -> str:
    from ..core.version import __version__

    return __version__
