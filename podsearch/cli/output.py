"""What the command line prints and how: data to stdout, notes and progress to stderr (rich,
loaded on first use), library errors as one line and an exit code, never a traceback."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer


class _LazyConsole:
    """A rich Console made on first use: rich costs ~0.05 s to import, which ``ask --json``
    (scripts, agents) never needs."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


def escape(text: str) -> str:
    """``text`` with rich markup characters escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


out = _LazyConsole(highlight=False, soft_wrap=False)
err = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)


def write_json(data: Any) -> None:
    """JSON on stdout, as every ``--json`` prints it."""
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def waiting(message: str) -> None:
    """Tell the user that another writer holds the index (``on_wait`` of writes)."""
    err.print(f"[yellow]Note:[/yellow] {escape(message)}")


@contextmanager
def errors() -> Iterator[None]:
    """Turn library errors into one line on stderr without a traceback: exit code 2 for a
    request that cannot be answered as given (a usage error), 1 for the rest."""
    from ..core.errors import InvalidRequestError, PodsearchError

    try:
        yield
    except InvalidRequestError as e:
        raise typer.BadParameter(e.problem, param_hint=f"'{e.option}'") from None
    except PodsearchError as e:
        err.print(f"[red]Error:[/red] {escape(str(e))}")
        raise typer.Exit(1) from None


@contextmanager
def notices() -> Iterator[None]:
    """Show the library's EmbedderNotice warnings (a slower fallback, a one-time model
    export) as one line each on stderr; other warnings pass through unchanged."""
    from ..embed.base import EmbedderNotice

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EmbedderNotice)
        try:
            yield
        finally:
            notices = [w for w in caught if issubclass(w.category, EmbedderNotice)]
            others = [w for w in caught if not issubclass(w.category, EmbedderNotice)]
    for w in notices:
        err.print(f"[yellow]Note:[/yellow] {escape(str(w.message))}")
    for w in others:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def progress_printer() -> Any:
    """A progress callback for long runs on stderr: one redrawn status line on a terminal;
    transcription (audio minutes, speed, ETA) also as one line per file elsewhere."""
    import time

    tty = sys.stderr.isatty()
    started: dict[str, float] = {}

    def transcribing(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        t0 = started.setdefault(stage, now)
        if done == 0 or not (tty or done == total):
            return
        speed = done / max(now - t0, 1e-6)  # audio seconds per wall second
        eta = (total - done) / speed if speed else 0.0
        line = f"{stage}: {done / 60:.1f}/{total / 60:.1f} audio min, {speed:.1f}x real time" + (
            f", ETA {eta:.0f} s" if done < total else f", {now - t0:.1f} s"
        )
        sys.stderr.write(("\r\033[K" if tty else "") + line + ("\n" if done == total else ""))
        sys.stderr.flush()

    def progress(stage: str, done: int, total: int) -> None:
        if stage.startswith("transcribing"):
            transcribing(stage, done, total)
            return
        if not tty or total < 20:
            return
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r{stage} {done}/{total} ({100 * done // total}%)" + end)
        sys.stderr.flush()

    return progress
