"""``podsearch serve``: the library over local HTTP, model and index kept in memory."""

from __future__ import annotations

import gc
from typing import Annotated

import typer

from .options import IndexOpt, library
from .output import err, errors, escape, notices


def serve(
    index: IndexOpt = None,
    host: Annotated[
        str,
        typer.Option(help="Address to listen on; keep 127.0.0.1 unless the network is trusted."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] = 8765,
    verbose: Annotated[bool, typer.Option(help="Log every request on stderr.")] = False,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            metavar="NAME",
            help="Also answer requests for this host name (repeatable; '*': any). Loopback "
            "names always work; others are refused against DNS rebinding.",
        ),
    ] = None,
) -> None:
    """Serve the search page and the JSON API, model and index kept in memory.

    'ask --server' uses it too. Open http://127.0.0.1:8765/ for the page; /docs documents the
    API (/api/ask, /api/cite, /api/episodes, /api/speakers, /api/similar); GET /health says
    which index is served."""
    gc.enable()  # long-running: collect as usual (main() turns it off for start-up)
    index_dir = library(index).path
    with errors(), notices():
        from ..serve.server import make_server

        httpd = make_server(index_dir, host, port, verbose=verbose, allowed_hosts=allow_host)
    bound_host, bound_port = httpd.server_address[:2]
    display = f"[{bound_host}]" if ":" in bound_host else bound_host
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            "[yellow]Note:[/yellow] listening beyond this machine: anyone who can reach the "
            "port can search the index."
        )
    err.print(
        f"Serving {escape(str(index_dir))} on http://{display}:{bound_port}/ "
        "(the page; the API at /docs); Ctrl-C stops."
    )
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def mcp(index: IndexOpt = None) -> None:
    """Serve the library to AI agents over MCP (stdio); run by your MCP client.

    Tools: ask, cite, similar, list_episodes and list_speakers. Configure your MCP client to
    run 'podsearch mcp'."""
    gc.enable()  # long-running
    lib = library(index)
    with errors():
        if not lib.exists:
            from ..core.errors import IndexNotFoundError

            raise IndexNotFoundError(
                f"no index at {lib.path}: build one with 'podsearch index PATH --index {lib.path}'"
            )
        from ..api import Library
        from ..serve.mcp_server import run_stdio

        run_stdio(Library(lib.path, long_lived=True))
