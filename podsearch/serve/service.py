"""What every route of ``podsearch serve`` shares: the served library (``Service``) and the
reading of requests within limits (body size, nesting depth, time)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..api import Library
from ..query.types import MAX_TOP, AskRequest, AskResult

T = TypeVar("T")

MAX_BODY = 1 << 20  # a question with its filters is a few hundred bytes
MAX_DEPTH = 16  # nesting of a request body: an AskRequest needs 2
BODY_TIMEOUT = 10.0  # seconds to send a whole body: slower clients are cut off
INLINE_TOP = 50  # questions for at most this many hits may be answered in the event loop


class ClientError(Exception):
    """A request the server refuses before the library sees it (status and message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Service:
    """One server's library, loaded and warmed up once; library calls are serialised (two
    cores: parallel searches would not finish sooner, and the library is not re-entrant)."""

    def __init__(self, index_dir: Path | str) -> None:
        self.index_dir = Path(os.path.abspath(index_dir))
        self.library = Library(self.index_dir, long_lived=True)
        self._lock = threading.Lock()
        self.library.open()  # load and warm up now, not on the first question

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a library call in a worker thread, one at a time."""

        def locked() -> T:
            with self._lock:
                return fn(*args, **kwargs)

        return await run_in_threadpool(locked)

    async def ask(self, request: AskRequest) -> AskResult:
        """Answer a question. A warm one takes ~4 ms, mostly in C code; handing it to a worker
        thread and back cost ~0.3 ms of that (over HTTP, p50 4.93 -> 4.64 ms), so a question
        the open generation can answer runs here, in the event loop's thread, which waits no
        longer than that. One that may take longer (a new generation to load, citations to
        render, many hits, a cross-encoder that may read the first hits: 1-2 s unless
        ``rerank`` is false) or finds the library busy still goes to a worker."""
        quick = (
            request.top <= INLINE_TOP
            and not request.cite
            and request.rerank is False
            and self.library.is_current()
        )
        if quick and self._lock.acquire(blocking=False):
            try:
                return self.library.ask(request)
            finally:
                self._lock.release()
        return await self.call(self.library.ask, request)

    def health(self) -> dict[str, Any]:
        index = self.library.open()
        return {
            "status": "ok",
            "index": str(self.index_dir),
            "generation": index.root.name,
            "model": index.model,
            "passages": int(index.manifest.get("counts", {}).get("passages", 0)),
        }

    def check_index(self, wanted: Any) -> None:
        """Refuse (409) a client that asks about another index than this server's."""
        if isinstance(wanted, list):
            wanted = wanted[-1] if wanted else None
        if wanted and Path(os.path.abspath(str(wanted))) != self.index_dir:
            raise ClientError(409, f"this server serves {self.index_dir}, not {wanted}")


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iteratively)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, depth + 1) for c in children)
    return deepest


async def read_json_object(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object, within the size, depth and time limits."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ClientError(400, "bad Content-Length")
        if int(declared) > MAX_BODY:
            raise ClientError(413, f"the body is over {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0

    async def read() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise ClientError(413, f"the body is over {MAX_BODY} bytes")
            chunks.append(chunk)

    from starlette.requests import ClientDisconnect

    try:
        await asyncio.wait_for(read(), BODY_TIMEOUT)
    except TimeoutError:
        raise ClientError(408, "the body came too slowly") from None
    except ClientDisconnect:
        raise ClientError(400, "the client went away before sending the body") from None
    try:
        data = json.loads(b"".join(chunks))
    except RecursionError:
        raise ClientError(400, f"the body nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise ClientError(400, "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ClientError(400, "the body must be a JSON object")
    if _depth(data) > MAX_DEPTH:
        raise ClientError(400, f"the body nests deeper than {MAX_DEPTH} levels")
    return data


def query_params(request: Request) -> dict[str, Any]:
    """A query string as lists per key (``AskRequest.from_json`` takes the last, and every
    ``speaker``)."""
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    return out


def wants_full(params: dict[str, Any]) -> bool:
    full = params.get("full")
    if isinstance(full, list):
        full = full[-1] if full else None
    return full is True or full == 1 or str(full).lower() in ("1", "true", "yes")


def json_response(data: Any) -> JSONResponse:
    """``data`` as a JSON response, dumped as it is: a route that returns a dict has FastAPI
    walk it with ``jsonable_encoder`` first, 0.3 ms of a 5 ms answer. Values JSON cannot
    hold as they are (a date, a path) still go through the encoder."""
    try:
        return JSONResponse(data)
    except TypeError:
        return JSONResponse(jsonable_encoder(data))


def top_query() -> Any:
    """A ``top`` query parameter, bounded like ``ask --top``."""
    return Query(ge=1, le=MAX_TOP, description=f"how many results, 1 to {MAX_TOP}")
