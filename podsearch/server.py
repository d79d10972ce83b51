"""`podsearch serve`: a small local HTTP API that keeps the model and the index in memory.

Endpoints (JSON in, JSON out):

- ``GET /health``: ``{"status": "ok", "index": ..., "generation": ..., "model": ...,
  "passages": N}``.
- ``GET /ask?q=QUESTION&top=10&mode=hybrid&speaker=..&podcast=..&episode=..&since=..&until=..``
  (``speaker`` may repeat) or ``POST /ask`` with a JSON object of the same fields (``q`` or
  ``question``; ``speaker`` a string or a list): the list of hits, exactly what
  ``podsearch ask --json`` prints. With ``full=1`` (or ``"full": true``): an object with
  ``question``, ``query``, ``speakers``, ``index`` and ``hits``.

Bound to 127.0.0.1 by default: it answers anyone who can reach the port and has no
authentication, so only bind it elsewhere on a trusted network. When the index is rebuilt,
the next request sees the new generation (the index symlink is checked on every request).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .errors import IndexNotFoundError, PodsearchError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY = 1 << 20


class BadRequest(ValueError):
    """A request the API cannot answer: the message says why."""


@dataclass
class AskRequest:
    question: str
    top: int = 10
    mode: str = "hybrid"
    speakers: list[str] | None = None
    podcast: str | None = None
    episode: str | None = None
    since: str | None = None
    until: str | None = None
    full: bool = False
    index: str | None = None  # the client's index path: refused if it is not ours
    model: str | None = None  # must match the index's model, as with ask --model
    context: int = 0  # turns before and after each hit, as with ask --context

    @classmethod
    def parse(cls, params: dict[str, Any]) -> AskRequest:
        """From query-string lists or a JSON object; raises BadRequest."""

        def one(key: str) -> Any:
            v = params.get(key)
            if isinstance(v, list):
                return v[-1] if v else None
            return v

        question = one("q") or one("question")
        if not isinstance(question, str) or not question.strip():
            raise BadRequest("missing question: give q=...")
        try:
            top = int(one("top") or 10)
        except (TypeError, ValueError):
            raise BadRequest("top must be an integer") from None
        if not 1 <= top <= 1000:
            raise BadRequest("top must be between 1 and 1000")
        speakers = params.get("speaker")
        if isinstance(speakers, str):
            speakers = [speakers]
        if speakers is not None and not all(isinstance(s, str) for s in speakers):
            raise BadRequest("speaker must be a string or a list of strings")
        full = one("full")
        try:
            context = int(one("context") or 0)
        except (TypeError, ValueError):
            raise BadRequest("context must be an integer") from None
        if not 0 <= context <= 20:
            raise BadRequest("context must be between 0 and 20")
        return cls(
            context=context,
            question=question,
            top=top,
            mode=str(one("mode") or "hybrid"),
            speakers=list(speakers) if speakers else None,
            podcast=one("podcast"),
            episode=one("episode"),
            since=one("since"),
            until=one("until"),
            full=full in (True, 1) or str(full).lower() in ("1", "true", "yes"),
            index=one("index"),
            model=one("model"),
        )


class SearchService:
    """The index and the query model of one server, loaded once; searches are serialised
    (two cores: parallel searches would not finish sooner)."""

    def __init__(self, index_dir: Path | str) -> None:
        self.index_dir = Path(os.path.abspath(index_dir))
        self._lock = threading.Lock()
        self._index: Any = None
        self._load()

    def _load(self) -> Any:
        from .embedding import load_query_embedder
        from .search import search
        from .store import Index

        index = Index(self.index_dir)
        index.preload()
        self.embedder = load_query_embedder(index.model, long_lived=True)
        search(index, "warm up", top=1, embedder=self.embedder)  # load tables, model, lexical
        self._index = index
        return index

    @property
    def index(self) -> Any:
        """The current generation: reloaded when the index symlink has moved."""
        current = self._index
        try:
            moved = self.index_dir.resolve() != current.root
        except OSError:
            moved = False
        return self._load() if moved else current

    def health(self) -> dict[str, Any]:
        with self._lock:
            index = self.index
        return {
            "status": "ok",
            "index": str(self.index_dir),
            "generation": index.root.name,
            "model": index.model,
            "passages": int(index.manifest.get("counts", {}).get("passages", 0)),
        }

    def ask(self, req: AskRequest) -> Any:
        """The hits as ``ask --json`` prints them, or the full result if ``req.full``."""
        from .search import MODES, Filters, attach_context, search

        if req.mode not in MODES:
            raise BadRequest(f"mode must be one of {', '.join(MODES)}")
        if req.index and Path(os.path.abspath(req.index)) != self.index_dir:
            raise IndexMismatch(f"this server serves {self.index_dir}, not {req.index}")
        filters = Filters(
            speakers=list(req.speakers or []),
            podcast=req.podcast,
            episode=req.episode,
            since=req.since,
            until=req.until,
        )
        with self._lock:
            index = self.index
            result = search(
                index,
                req.question,
                top=req.top,
                filters=filters,
                embedder=self.embedder,
                model=req.model,
                mode=req.mode,
            )
            attach_context(index, result.hits, req.context)
        hits = [h.as_json() for h in result.hits]
        if not req.full:
            return hits
        return {
            "question": result.question,
            "query": result.query,
            "speakers": result.speakers,
            "index": str(self.index_dir),
            "hits": hits,
        }


class IndexMismatch(BadRequest):
    """The client asked about another index than the one this server holds."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: send each at once

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, payload: Any) -> None:
        body = (json.dumps(payload, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer(self, params: dict[str, Any]) -> None:
        try:
            payload = self.server.service.ask(AskRequest.parse(params))
        except IndexMismatch as e:
            self._send(HTTPStatus.CONFLICT, {"error": str(e)})
        except BadRequest as e:
            self._send(HTTPStatus.BAD_REQUEST, {"error": str(e)})
        except PodsearchError as e:
            self._send(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(e)})
        except Exception as e:  # keep serving; the client gets the reason
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(e).__name__}: {e}"})
        else:
            self._send(HTTPStatus.OK, payload)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/health":
            try:
                self._send(HTTPStatus.OK, self.server.service.health())
            except PodsearchError as e:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(e)})
        elif url.path == "/ask":
            self._answer(parse_qs(url.query, keep_blank_values=False))
        else:
            self._send(HTTPStatus.NOT_FOUND, {"error": "use GET /health, GET or POST /ask"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/ask":
            self._send(HTTPStatus.NOT_FOUND, {"error": "use GET /health, GET or POST /ask"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._send(HTTPStatus.BAD_REQUEST, {"error": "send a JSON object of at most 1 MB"})
            return
        try:
            params = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            params = None
        if not isinstance(params, dict):
            self._send(HTTPStatus.BAD_REQUEST, {"error": "the body must be a JSON object"})
            return
        self._answer(params)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    service: SearchService
    verbose: bool = False


def make_server(
    index_dir: Path | str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    verbose: bool = False,
) -> _Server:
    """A server bound to ``host:port`` (port 0: any free port, see ``server_address``), with
    the index and model loaded and warmed up. Run it with ``serve_forever()``; stop it with
    ``shutdown()`` from another thread, then ``server_close()``."""
    if not Path(index_dir, "manifest.json").is_file():
        raise IndexNotFoundError(
            f"no index at {index_dir}: build one with 'podsearch index PATH --index {index_dir}'"
        )
    service = SearchService(index_dir)
    server = _Server((host, port), _Handler)
    server.service = service
    server.verbose = verbose
    return server


# --------------------------------------------------------------------------- client


class ServerUnavailable(Exception):
    """No usable server at the URL (not running, or serving another index)."""


def ask_server(url: str, params: dict[str, Any], *, timeout: float = 30.0) -> dict[str, Any]:
    """POST a question to a running server; the full result (question, query, speakers,
    index, hits). Raises ServerUnavailable when no server answers or it holds another index,
    PodsearchError for a question it refused."""
    import urllib.error
    import urllib.request

    body = json.dumps({**params, "full": True}).encode("utf-8")
    req = urllib.request.Request(
        url.rstrip("/") + "/ask",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read()).get("error", str(e))
        except (ValueError, AttributeError):
            message = str(e)
        if e.code in (HTTPStatus.CONFLICT, HTTPStatus.NOT_FOUND):
            raise ServerUnavailable(message) from None
        raise PodsearchError(f"server at {url}: {message}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ServerUnavailable(f"no podsearch server at {url} ({e})") from None
