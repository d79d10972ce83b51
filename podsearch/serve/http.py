"""`podsearch serve`: a small local HTTP API that keeps the model and the index in memory.

Endpoints (JSON in, JSON out):

- ``GET /health``: ``{"status": "ok", "index": ..., "generation": ..., "model": ...,
  "passages": N}``.
- ``GET /ask?q=QUESTION&top=10&mode=hybrid&speaker=..&podcast=..&episode=..&since=..&until=..
  &context=..&group=episode&cite=STYLE`` (``speaker`` may repeat) or ``POST /ask`` with a
  JSON object of the same fields (``AskRequest.to_json``; ``q`` or ``question``; ``speaker``
  a string or a list): exactly what ``podsearch ask --json`` prints. With ``full=1`` (or
  ``"full": true``): the whole result (``AskResult.to_full_json``).

Bound to 127.0.0.1 by default: it answers anyone who can reach the port and has no
authentication, so only bind it elsewhere on a trusted network. When the index is rebuilt,
the next request sees the new generation (the index symlink is checked on every request).
"""

from __future__ import annotations

import json
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..api import Library
from ..core.errors import IndexNotFoundError, InvalidRequestError, PodsearchError
from ..query.types import AskRequest

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY = 1 << 20


class BadRequest(ValueError):
    """A request the API cannot answer: the message says why."""


class IndexMismatch(BadRequest):
    """The client asked about another index than the one this server holds."""


class SearchService:
    """One server's library, loaded once (``Library(long_lived=True)``); searches are
    serialised (two cores: parallel searches would not finish sooner)."""

    def __init__(self, index_dir: Path | str) -> None:
        self.index_dir = Path(os.path.abspath(index_dir))
        self.library = Library(self.index_dir, long_lived=True)
        self._lock = threading.Lock()
        self.library.open()  # load and warm up now, not on the first question

    def health(self) -> dict[str, Any]:
        with self._lock:
            index = self.library.open()
        return {
            "status": "ok",
            "index": str(self.index_dir),
            "generation": index.root.name,
            "model": index.model,
            "passages": int(index.manifest.get("counts", {}).get("passages", 0)),
        }

    def ask(self, params: dict[str, Any]) -> Any:
        """What ``ask --json`` prints for these parameters, or with ``full`` the whole
        result (question, query, speakers, index, group, hits)."""
        request = AskRequest.from_json(params)
        wanted = params.get("index")
        if isinstance(wanted, list):
            wanted = wanted[-1] if wanted else None
        if wanted and Path(os.path.abspath(str(wanted))) != self.index_dir:
            raise IndexMismatch(f"this server serves {self.index_dir}, not {wanted}")
        full = params.get("full")
        if isinstance(full, list):
            full = full[-1] if full else None
        with self._lock:
            result = self.library.ask(request)
        if full in (True, 1) or str(full).lower() in ("1", "true", "yes"):
            return result.to_full_json()
        return result.to_json()


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
            payload = self.server.service.ask(params)
        except IndexMismatch as e:
            self._send(HTTPStatus.CONFLICT, {"error": str(e)})
        except (BadRequest, InvalidRequestError) as e:
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
