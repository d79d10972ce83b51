"""The ``podsearch`` console script, kept free of typer so that a local ``ask`` can start
loading its query model before the CLI is even imported.

The ONNX session loads in a background thread (onnxruntime releases the GIL while it
reads the model), so it overlaps with importing typer and the command modules (~0.1 s).
"""

from __future__ import annotations

import gc
import os
import sys

TRUE = ("1", "true", "yes", "y", "on", "t")  # what click takes as true in an environment variable


def prefetch_from_argv(argv: list[str]) -> None:
    """For a local ``ask``, start loading the query model of the index named on the command
    line (and with ``--rerank`` the cross-encoder). Any odd command line is left to typer."""
    if not argv or argv[0] != "ask" or os.environ.get("PODSEARCH_SERVER"):
        return
    # Before numpy loads: a one-question process has no use for OpenBLAS's thread pool,
    # whose start-up costs ~0.1 s of CPU that onnxruntime's loading thread could use.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    index: str | None = None
    for i, arg in enumerate(argv):
        if arg in ("--help", "--server", "--mode") or arg.startswith(("--server=", "--mode=")):
            return  # help, remote or maybe lexical: nothing to prefetch
        if arg == "--index" and i + 1 < len(argv):
            index = argv[i + 1]
        elif arg.startswith("--index="):
            index = arg.split("=", 1)[1]
    from ..api import Library

    try:
        Library.find(index).prefetch()
        # Only when asked for every time: by default the first stage decides whether to
        # rerank, and a process that does not would have loaded it for nothing.
        if "--rerank" in argv or os.environ.get("PODSEARCH_RERANK", "").lower() in TRUE:
            from ..embed.rerank import load_reranker

            load_reranker()  # its model loads in a thread too, beside the query model's
    except Exception:
        pass  # best effort: the command itself reports any real problem


def main() -> None:
    """Run the command line."""
    # A command's start-up allocates many long-lived objects (typer, pyarrow) and no
    # garbage: collecting is wasted work (~15 ms), so it stays off unless a long-running
    # command turns it back on. At exit, freezing spares the interpreter's final walk over
    # every object (~65 ms of a 0.4 s `ask`).
    gc.disable()
    prefetch_from_argv(sys.argv[1:])
    from .app import run

    run()
