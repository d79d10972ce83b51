"""Warnings about a file that was read, but not quite as written (an encoding guessed, bad
bytes replaced, a cue skipped, a time unit detected).

Readers keep the ``read(text, path) -> Episode`` signature and call ``warn(message)``; the
registry collects the messages of one file (``collecting``) into its ``ReadResult`` so the
index report can show them. A context variable, not a global list, so concurrent reads (the
server, threads) never see each other's warnings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_SINK: ContextVar[list[str] | None] = ContextVar("podsearch_reader_warnings", default=None)


def warn(message: str) -> None:
    """Record a warning about the file being read; a no-op outside ``collecting``."""
    sink = _SINK.get()
    if sink is not None and message not in sink:
        sink.append(message)


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the warnings of one file; nested uses share the outer list, so the decoding
    warnings of ``load_text`` and the reader's own end up together."""
    outer = _SINK.get()
    if outer is not None:
        yield outer
        return
    sink: list[str] = []
    token = _SINK.set(sink)
    try:
        yield sink
    finally:
        _SINK.reset(token)
