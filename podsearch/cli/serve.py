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
) -> None:
    """Serve questions over local HTTP with the model and index kept in memory.

    GET /ask?q=...&top=10 (or POST /ask with JSON) returns what 'ask --json' prints;
    GET /health says which index is served. 'ask --server URL' uses it."""
    gc.enable()  # long-running: collect as usual (main() turns it off for start-up)
    from ..serve.http import make_server

    index_dir = library(index).path
    with errors(), notices():
        httpd = make_server(index_dir, host, port, verbose=verbose)
    bound_host, bound_port = httpd.server_address[:2]
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            "[yellow]Note:[/yellow] listening beyond this machine: anyone who can reach the "
            "port can search the index."
        )
    err.print(
        f"Serving {escape(str(index_dir))} on http://{bound_host}:{bound_port} "
        "(GET /ask?q=..., GET /health); Ctrl-C stops."
    )
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
