"""The `podsearch` command line: parses arguments, calls the library, renders what it returns.

Library modules are imported inside the commands so that `podsearch --help` stays instant
and never imports torch.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(
    help="Semantic search over podcast transcripts: timestamped, speaker-attributed quotes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

IndexOpt = Annotated[
    Path | None,
    typer.Option(
        "--index",
        help="Index directory [default: $PODSEARCH_INDEX or indexes/default].",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts and agents.")]


def _index_dir(index: Path | None) -> Path:
    from .store import default_index_dir

    return index or default_index_dir()


@contextmanager
def _errors() -> Iterator[None]:
    """Turn library errors into one line on stderr and exit code 1, without a traceback."""
    from .errors import PodsearchError

    try:
        yield
    except PodsearchError as e:
        err.print(f"[red]Error:[/red] {escape(str(e))}")
        raise typer.Exit(1) from None


def _progress_printer() -> Any:
    """A progress callback that redraws one status line on stderr for long runs."""
    if not sys.stderr.isatty():
        return None
    state = {"stage": None}

    def progress(stage: str, done: int, total: int) -> None:
        if total < 20:
            return
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r{stage} {done}/{total} ({100 * done // total}%)" + end)
        sys.stderr.flush()
        state["stage"] = stage

    return progress


def _print_report(report: Any) -> None:
    out.print(
        f"Indexed into {escape(report.index_dir)} with {escape(report.model)} "
        f"in {report.seconds:.1f} s"
    )
    out.print(
        f"  episodes: {report.episodes_added} added, {report.episodes_updated} updated, "
        f"{report.episodes_unchanged} unchanged, {report.episodes_total} in the index"
    )
    out.print(
        f"  passages: {report.passages_added} added ({report.passages_embedded} embedded), "
        f"{report.passages_unchanged} unchanged, {report.passages_total} in the index"
    )
    if report.formats:
        fmts = ", ".join(f"{n} {k}" for k, n in sorted(report.formats.items()))
        out.print(f"  formats read: {fmts}")
    if report.failed:
        out.print(f"  [red]failed: {len(report.failed)} file(s)[/red]")
        for f in report.failed:
            err.print(f"[red]failed[/red] {escape(f.path)}: {escape(f.reason)}")


@app.command()
def index(
    paths: Annotated[list[Path], typer.Argument(help="Transcript files or folders (recursive).")],
    index: IndexOpt = None,
    model: Annotated[
        str | None,
        typer.Option(help="sentence-transformers model name or path [default: all-MiniLM-L6-v2]."),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first unreadable file.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add transcripts to an index (unchanged files are skipped, changed ones replaced)."""
    from .indexing import index_paths

    with _errors():
        report = index_paths(
            paths, _index_dir(index), model=model, strict=strict, progress=_progress_printer()
        )
    if as_json:
        out.print_json(data=report.as_dict())
    else:
        _print_report(report)
    if report.failed:
        raise typer.Exit(1)


def _ensure_index(index_dir: Path) -> None:
    """Build the bundled sample library when the chosen index does not exist yet."""
    from .indexing import index_paths, sample_paths
    from .store import index_exists

    if index_exists(index_dir):
        return
    err.print(
        f"No index at {escape(str(index_dir))}: building the bundled sample library into it "
        "first (2 transcripts of one episode). Use 'podsearch index PATH' for your own."
    )
    report = index_paths(sample_paths(), index_dir, progress=_progress_printer())
    err.print(
        f"Sample library ready: {report.episodes_total} episode(s), "
        f"{report.passages_total} passages ({report.seconds:.1f} s)."
    )


def _when(hit: Any) -> str:
    from .models import EXACT
    from .text import format_timestamp

    if hit.start is None:
        return "untimed"
    approx = "" if hit.time_precision == EXACT else "≈"
    return approx + format_timestamp(hit.start)


def _render_hits(result: Any) -> None:
    if result.speakers:
        who = escape(", ".join(result.speakers))
        err.print(f"[dim]Speaker: {who} · topic: {escape(result.query)}[/dim]")
    if not result.hits:
        out.print("No matching passages.")
        return
    for hit in result.hits:
        speaker = escape(hit.speaker or "unknown speaker")
        show = " · ".join(escape(x) for x in (hit.podcast, hit.published) if x)
        out.print(
            f"[bold]{hit.rank}. {speaker}[/bold] at [cyan]{_when(hit)}[/cyan]"
            f"  [dim]score {hit.score:.3f}  id {hit.passage_id}[/dim]"
        )
        out.print(f"   {escape(hit.episode_title)}" + (f" — {show}" if show else ""))
        out.print(f"   “{escape(hit.text)}”", soft_wrap=True)
        out.print()


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help='e.g. "what did Clem say about distillation"')],
    index: IndexOpt = None,
    top: Annotated[int, typer.Option("--top", "-k", min=1, max=1000, help="Number of hits.")] = 10,
    speaker: Annotated[
        list[str] | None, typer.Option(help="Only passages by this speaker.")
    ] = None,
    podcast: Annotated[str | None, typer.Option(help="Only episodes of this show.")] = None,
    episode: Annotated[
        str | None, typer.Option(help="Only this episode (id, title words or file name).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only episodes published on or after YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only episodes published on or before YYYY-MM-DD.")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="hybrid (BM25 + embeddings), semantic or lexical.")
    ] = "hybrid",
    model: Annotated[str | None, typer.Option(help="Must match the index's model.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Search the index and print the best quotes with speaker, episode and timestamp."""
    from .search import MODES, Filters, search
    from .store import Index

    if mode not in MODES:
        raise typer.BadParameter(f"use one of {', '.join(MODES)}", param_hint="--mode")
    index_dir = _index_dir(index)
    with _errors():
        _ensure_index(index_dir)
        filters = Filters(
            speakers=list(speaker or []), podcast=podcast, episode=episode, since=since, until=until
        )
        result = search(
            Index(index_dir), question, top=top, filters=filters, model=model, mode=mode
        )
    if as_json:
        sys.stdout.write(
            json.dumps([h.as_json() for h in result.hits], ensure_ascii=False, indent=1) + "\n"
        )
    else:
        _render_hits(result)


@app.command()
def episodes(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List the indexed episodes."""
    from .search import episode_title
    from .store import Index

    with _errors():
        idx = Index(_index_dir(index))
        rows = idx.episodes.to_pylist()
        counts: dict[str, int] = {}
        for eid in idx.read_table("passages.parquet", columns=["episode_id"]).column(0).to_pylist():
            counts[eid] = counts.get(eid, 0) + 1
    items = [
        {
            "episode_id": r["episode_id"],
            "title": episode_title(r),
            "podcast": r["podcast"],
            "published": r["published"],
            "passages": counts.get(r["episode_id"], 0),
            "truncated": r["truncated"],
            "sources": r["sources"],
            "formats": r["formats"],
            "url": r["url"],
        }
        for r in rows
    ]
    items.sort(key=lambda r: (r["published"] or "", r["title"]))
    if as_json:
        sys.stdout.write(json.dumps(items, ensure_ascii=False, indent=1) + "\n")
        return
    for r in items:
        meta = " · ".join(x for x in (r["podcast"], r["published"]) if x)
        flag = " [yellow](truncated source)[/yellow]" if r["truncated"] else ""
        out.print(f"[bold]{escape(r['episode_id'])}[/bold]  {escape(r['title'])}{flag}")
        out.print(f"    {escape(meta)}  {r['passages']} passages, {len(r['sources'])} source(s)")
    out.print(f"{len(items)} episode(s)")


@app.command()
def speakers(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List speakers with their passage counts."""
    from .store import Index

    with _errors():
        idx = Index(_index_dir(index))
        table = idx.read_table("passages.parquet", columns=["speaker", "episode_id", "text"])
    stats: dict[str, dict[str, Any]] = {}
    for spk, eid, text in zip(
        *(table.column(c).to_pylist() for c in ("speaker", "episode_id", "text")), strict=True
    ):
        s = stats.setdefault(
            spk or "", {"speaker": spk, "passages": 0, "episodes": set(), "sample": text}
        )
        s["passages"] += 1
        s["episodes"].add(eid)
    items = [
        {**s, "episodes": len(s["episodes"]), "sample": s["sample"][:100]}
        for s in sorted(stats.values(), key=lambda s: -s["passages"])
    ]
    if as_json:
        sys.stdout.write(json.dumps(items, ensure_ascii=False, indent=1) + "\n")
        return
    for s in items:
        name = s["speaker"] or "(unknown speaker)"
        out.print(
            f"[bold]{escape(name)}[/bold]  {s['passages']} passages in {s['episodes']} episode(s)"
        )
        out.print(f"    [dim]“{escape(s['sample'])}…”[/dim]")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
