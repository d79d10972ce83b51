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

    def get(self) -> Any:
        """The rich Console itself."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


def escape(text: str) -> str:
    """``text`` with rich markup characters escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


out = _LazyConsole(highlight=False, soft_wrap=False)
err = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)


def write_json(data: Any) -> None:
    """Strict JSON on stdout (no NaN or Infinity), as every ``--json`` prints it."""
    from ..core.strict_json import dumps

    sys.stdout.write(dumps(data, ensure_ascii=False, indent=1) + "\n")


def write_jsonl(items: list[Any]) -> None:
    """JSON Lines on stdout: one object a line, as ``--jsonl`` prints them."""
    import json

    sys.stdout.write("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items))


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
        err.print(f"[red]Error:[/red] {escape(e.option)}: {escape(e.problem)}")
        raise typer.Exit(2) from None
    except PodsearchError as e:
        err.print(f"[red]Error:[/red] {escape(str(e))}")
        raise typer.Exit(1) from None


@contextmanager
def notices() -> Iterator[None]:
    """Show the library's notices (a slower fallback, a one-time model export, an answer
    from the previous generation of a damaged index) as one line each on stderr; other
    warnings pass through unchanged."""
    from ..core.errors import Notice as EmbedderNotice

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EmbedderNotice)  # every Notice subclass
        try:
            yield
        finally:
            notices = [w for w in caught if issubclass(w.category, EmbedderNotice)]
            others = [w for w in caught if not issubclass(w.category, EmbedderNotice)]
    for w in notices:
        err.print(f"[yellow]Note:[/yellow] {escape(str(w.message))}")
    for w in others:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


LOG_EVERY = 30.0  # seconds between two progress lines in a log
SHORT_STAGE = 10.0  # a stage done sooner (and not logged before) gets no line at all


def _log_progress() -> Any:
    """A progress callback for stderr that is not a terminal (a log, a pipe): nothing is
    redrawn; a long stage (embedding a big library) gets a line every ``LOG_EVERY`` seconds
    and one when it ends, with count, rate and time left (a stage over within
    ``SHORT_STAGE`` seconds, none); each transcribed audio file gets one
    line (minutes of audio, speed, time taken)."""
    import time

    started: dict[str, tuple[float, int]] = {}  # stage -> (time, count) when first seen
    last: dict[str, float] = {}
    ended: set[str] = set()

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        t0, done0 = started.setdefault(stage, (now, done))
        if stage.startswith("transcribing"):
            if done < total or total <= 0:
                return
            speed = done / max(now - t0, 1e-6)  # audio seconds per wall second
            line = (
                f"{stage}: {done / 60:.1f}/{total / 60:.1f} audio min, {speed:.1f}x real time, "
                f"{now - t0:.1f} s"
            )
        else:
            finished = total > 0 and done >= total
            if not finished and now - last.get(stage, t0) < LOG_EVERY:
                return
            if finished and (stage in ended or (stage not in last and now - t0 < SHORT_STAGE)):
                return  # said already, or a short stage: the command's summary says enough
            last[stage] = now
            if finished:
                ended.add(stage)
            rate = (done - done0) / (now - t0) if now > t0 else 0.0
            left = (total - done) / rate if rate > 0 and total > done else 0.0
            eta = f", {_clock(left)} left" if not finished else f", {_clock(now - t0)}"
            line = f"{stage}: {done:,}/{total:,} ({rate:.1f}/s{eta})"
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return progress


def _clock(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


@contextmanager
def progress_bars(quiet: bool = False, console: Any = None) -> Iterator[Any]:
    """A progress callback (``stage, done, total``) drawing one rich bar per stage (reading,
    downloading, embedding) with count, rate and time left, on stderr; None when ``quiet`` or
    when stderr is not a terminal (pipes and logs get no redraw noise)."""
    if console is None:
        if quiet:
            yield None
            return
        if not sys.stderr.isatty():
            yield _log_progress()  # logs get a line now and then, not redraws
            return
        console = err.get()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        """Items a second, once rich has measured it."""

        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.1f}/s" if speed else "", style="progress.data.speed")

    columns = (
        TextColumn("{task.description:<11}"),
        BarColumn(),
        MofNCompleteColumn(),
        Rate(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bars:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield progress
