"""`podsearch serve`: the app (``serve.app``) on uvicorn, on 127.0.0.1 by default.

The socket is bound here, before uvicorn starts, so that a port in use or an address that
cannot be bound is one ``ServeError`` line, not a traceback from inside uvicorn. Slow
clients are cut off: a connection that has not sent a request's headers within
``header_timeout`` is closed (uvicorn's own keep-alive timeout only covers the time
between requests), a body has ``service.BODY_TIMEOUT``.

When the index is rebuilt, the next request sees the new generation (``Library.open``).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from ..core.errors import IndexNotFoundError, PodsearchError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
HEADER_TIMEOUT = 10.0
KEEP_ALIVE = 5


class ServeError(PodsearchError):
    """The server cannot start (the address cannot be bound)."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port), or ServeError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        raise ServeError(f"cannot listen on {host}:{port}: {getattr(e, 'strerror', e)}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # Rebinding right after a restart; another listener on the port still fails.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.setblocking(False)
    return sock


def _timed_protocol(header_timeout: float) -> type:
    """uvicorn's HTTP protocol, closing connections that are slow to send headers: httptools'
    parser (C), else h11's (pure Python: a kept-alive /health round trip took 0.54 ms with
    it, 0.47 ms with httptools)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Protocol
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as Protocol

    class TimedProtocol(Protocol):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def _arm(self) -> None:
            self.loop.call_later(header_timeout, self._check, self.cycle)

        def _check(self, armed: Any) -> None:
            # Late only if no request has begun since the timer was armed (each request is
            # a new cycle) and none is under way. Being idle at this instant is not enough:
            # a client asking question after question on one connection is idle between
            # two of them, which is when the loop gets to run this (it was cut off ~10 s in).
            if self.cycle is not armed:
                return
            idle = self.cycle is None or self.cycle.response_complete
            if idle and not self.transport.is_closing():
                self.transport.close()

    return TimedProtocol


class Server:
    """A bound server: ``serve_forever()`` runs it (blocking), ``shutdown()`` from another
    thread stops it, ``server_close()`` releases the socket; ``server_address`` is the
    (host, port) bound."""

    def __init__(
        self,
        index_dir: Path | str,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        verbose: bool = False,
        allowed_hosts: list[str] | None = None,
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        import uvicorn

        from .app import create_app

        if not Path(index_dir, "manifest.json").is_file():
            raise IndexNotFoundError(
                f"no index at {index_dir}: build one with 'podsearch index PATH --index "
                f"{index_dir}'"
            )
        self.socket = bind(host, port)
        try:
            names = [host, *(allowed_hosts or [])]
            if host in ("0.0.0.0", "::", ""):
                names = list(allowed_hosts or [])  # a wildcard is no name a client uses
            self.app = create_app(index_dir, allowed_hosts=names)
        except BaseException:
            self.socket.close()
            raise
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        config = uvicorn.Config(
            self.app,
            http=_timed_protocol(header_timeout),
            lifespan="off",
            log_level="info" if verbose else "warning",
            access_log=verbose,
            timeout_keep_alive=KEEP_ALIVE,
            limit_concurrency=100,
            server_header=False,
        )
        self.uvicorn = uvicorn.Server(config)

    def serve_forever(self) -> None:
        self.uvicorn.run(sockets=[self.socket])

    def shutdown(self) -> None:
        self.uvicorn.should_exit = True

    def server_close(self) -> None:
        self.socket.close()


def make_server(
    index_dir: Path | str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, **kwargs: Any
) -> Server:
    """A server bound to ``host:port`` with the index and model loaded and warmed up."""
    return Server(index_dir, host, port, **kwargs)
