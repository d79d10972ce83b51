"""Helpers of the serve tests: the test library, the CLI, and a server on a free port of
127.0.0.1 run in a thread and stopped within a bounded time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from podsearch.cli.app import app
from podsearch.serve.server import Server

LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"
runner = CliRunner()


def invoke(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@contextmanager
def running(server: Server) -> Iterator[str]:
    """Run ``server`` in a thread until the block ends; yields its base URL."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for _ in range(200):  # bounded: 10 s
        if server.uvicorn.started:
            break
        time.sleep(0.05)
    assert server.uvicorn.started, "the server did not start"
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        assert not thread.is_alive()
