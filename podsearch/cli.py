"""The `podsearch` command line: parses arguments, calls the library, renders what it returns.

Library modules are imported inside the commands so that `podsearch --help` stays instant
and never imports torch.
"""

from __future__ import annotations

import gc
import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Semantic search over podcast transcripts: timestamped, speaker-attributed quotes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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

IndexOpt = Annotated[
    Path | None,
    typer.Option(
        "--index",
        help="Index directory (default: $PODSEARCH_INDEX, else indexes/default).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts and agents.")]
CiteOpt = Annotated[
    str | None,
    typer.Option(
        "--cite",
        metavar="STYLE",
        help="Cite each hit in this style: apa, mla, chicago or any CSL style name.",
        show_default=False,
    ),
]


TopOpt = Annotated[int, typer.Option("--top", "-k", min=1, max=1000, help="Number of hits.")]
SpeakerOpt = Annotated[list[str] | None, typer.Option(help="Only passages by this speaker.")]
PodcastOpt = Annotated[str | None, typer.Option(help="Only episodes of this show.")]
EpisodeOpt = Annotated[
    str | None, typer.Option(help="Only this episode (id, title words or file name).")
]
SinceOpt = Annotated[
    str | None, typer.Option(help="Only episodes published on or after YYYY-MM-DD.")
]
UntilOpt = Annotated[
    str | None, typer.Option(help="Only episodes published on or before YYYY-MM-DD.")
]
ModeOpt = Annotated[str, typer.Option(help="hybrid (BM25 + embeddings), semantic or lexical.")]
QueryModelOpt = Annotated[str | None, typer.Option(help="Must match the index's model.")]
DeviceOpt = Annotated[
    str,
    typer.Option(help="Where to embed: auto (a GPU when torch sees one), cpu, cuda, mps."),
]
PrecisionOpt = Annotated[
    str | None,
    typer.Option(
        "--precision",
        metavar="fp32|int8",
        help="Passage vectors: fp32 (the model as is; default) or int8 (the ONNX model "
        "quantized: ~1.3x faster CPU indexing, near-equal retrieval). Pinned per index.",
        show_default=False,
    ),
]


def check_precision_option(precision: str | None) -> None:
    """Refuse an unknown --precision before any work is done."""
    from .embedding import PRECISIONS

    if precision is not None and precision not in PRECISIONS:
        raise typer.BadParameter(f"use one of {', '.join(PRECISIONS)}", param_hint="--precision")


NoWaitOpt = Annotated[
    bool,
    typer.Option("--no-wait", help="Fail at once if another process is writing the index."),
]


def _waiting(message: str) -> None:
    err.print(f"[yellow]Note:[/yellow] {escape(message)}")


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


def _print_report(report: Any, verb: str = "Indexed into") -> None:
    out.print(
        f"{verb} {escape(report.index_dir)} with {escape(report.model)}"
        + (f" ({report.precision} vectors)" if report.precision != "fp32" else "")
        + f" in {report.seconds:.1f} s"
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
    if report.episodes_removed:
        out.print(f"  episodes removed: {report.episodes_removed}")
    for w in report.warnings:
        err.print(f"[yellow]warning[/yellow] {escape(w.path)}: {escape(w.reason)}")
    if report.failed:
        out.print(f"  [red]failed: {len(report.failed)} file(s)[/red]")
        for f in report.failed:
            err.print(f"[red]failed[/red] {escape(f.path)}: {escape(f.reason)}")


@app.command()
def index(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH", help="Transcript files, folders (recursive), feed files or feed URLs."
        ),
    ],
    index: IndexOpt = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="sentence-transformers model name or path (default: the bundled all-MiniLM-L6-v2)."
        ),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first unreadable file.")] = False,
    as_json: JsonOpt = False,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = None,
    prune: Annotated[
        bool, typer.Option(help="Also drop indexed episodes whose source files are gone.")
    ] = False,
    no_wait: NoWaitOpt = False,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to wait for each download of a feed.")
    ] = 15.0,
    max_mb: Annotated[
        float,
        typer.Option("--max-mb", min=0.001, help="Largest transcript a feed may send, in MB."),
    ] = 20.0,
) -> None:
    """Add transcripts or feeds to an index; unchanged files are skipped."""
    gc.enable()  # long-running: collect as usual (main() turns it off for start-up)
    from .indexing import index_paths

    check_precision_option(precision)
    with _errors():
        report = index_paths(
            paths,
            _index_dir(index),
            model=model,
            strict=strict,
            progress=_progress_printer(),
            device=device,
            precision=precision,
            prune=prune,
            wait=not no_wait,
            on_wait=_waiting,
            fetch={"timeout": timeout, "max_bytes": int(max_mb * 1_000_000)},
        )
    if as_json:
        out.print_json(data=report.as_dict())
    else:
        _print_report(report)
    if report.failed:
        raise typer.Exit(1)


def _filters(
    mode: str,
    speaker: list[str] | None,
    podcast: str | None,
    episode: str | None,
    since: str | None,
    until: str | None,
) -> Any:
    """The search filters of ``ask`` and ``export``, once ``--mode`` is known to be valid."""
    from .search import MODES, Filters

    if mode not in MODES:
        raise typer.BadParameter(f"use one of {', '.join(MODES)}", param_hint="--mode")
    return Filters(
        speakers=list(speaker or []), podcast=podcast, episode=episode, since=since, until=until
    )


def _ensure_index(index_dir: Path) -> None:
    """Build the bundled sample library when the chosen index does not exist yet."""
    from .store import index_exists

    if index_exists(index_dir):
        return
    from .indexing import index_paths, sample_paths

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
    """h:mm:ss, "≈" when interpolated, "≈… (estimated)" when only a speaking rate gave it."""
    from .models import ESTIMATED, EXACT
    from .text import format_timestamp

    if hit.start is None:
        return "untimed"
    approx = "" if hit.time_precision == EXACT else "≈"
    note = " (estimated)" if hit.time_precision == ESTIMATED else ""
    return approx + format_timestamp(hit.start) + note


def _who(speaker: str | None, speaker_source: str | None) -> str:
    """The speaker as shown: never a diarization label as if it were a name, never a guess
    as if it were a fact."""
    from .models import INFERRED
    from .speakers import display_name

    name = display_name(speaker)
    return f"{name} (inferred)" if speaker and speaker_source == INFERRED else name


def _render_context(turns: list[dict[str, Any]]) -> None:
    for t in turns:
        text = t["text"] if len(t["text"]) <= 300 else t["text"][:300] + "…"
        who = escape(_who(t["speaker"], t["speaker_source"]))
        out.print(f"   [dim]{who} at {_when(SimpleNamespace(**t))}: {escape(text)}[/dim]")


def _render_hits(result: Any, citations: list[Any] | None = None, group: bool = False) -> None:
    if result.speakers:
        who = escape(", ".join(result.speakers))
        err.print(f"[dim]Speaker: {who} · topic: {escape(result.query)}[/dim]")
    if not result.hits:
        out.print("No matching passages.")
        return
    if not any(h.confident for h in result.hits):
        out.print(
            "[yellow]No confident match: nothing in the library seems to answer this. "
            "The nearest passages:[/yellow]\n"
        )
    last_episode = None
    for hit in result.hits:
        speaker = escape(_who(hit.speaker, hit.speaker_source))
        show = " · ".join(escape(x) for x in (hit.podcast, hit.published) if x)
        weak = "" if hit.confident else "  [yellow]weak match[/yellow]"
        if group and hit.episode_id != last_episode:
            out.print(
                f"[bold underline]{escape(hit.episode_title)}[/bold underline]"
                + (f" — {show}" if show else "")
            )
        out.print(
            f"[bold]{hit.rank}. {speaker}[/bold] at [cyan]{_when(hit)}[/cyan]"
            f"  [dim]score {hit.score:.3f}  id {hit.passage_id}[/dim]{weak}"
        )
        if not group:
            out.print(f"   {escape(hit.episode_title)}" + (f" — {show}" if show else ""))
        _render_context(getattr(hit, "context_before", None) or [])
        out.print(f"   “{escape(hit.text)}”", soft_wrap=True)
        _render_context(getattr(hit, "context_after", None) or [])
        if citations:
            _print_citation(citations[hit.rank - 1])
        out.print()
        last_episode = hit.episode_id


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help='e.g. "what did Clem say about distillation"')],
    index: IndexOpt = None,
    top: TopOpt = 10,
    speaker: SpeakerOpt = None,
    podcast: PodcastOpt = None,
    episode: EpisodeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    mode: ModeOpt = "hybrid",
    model: QueryModelOpt = None,
    context: Annotated[
        int, typer.Option("--context", min=0, max=20, help="Show N turns before and after.")
    ] = 0,
    group: Annotated[
        str | None,
        typer.Option("--group", metavar="episode", help="Group the hits by episode."),
    ] = None,
    as_json: JsonOpt = False,
    cite: CiteOpt = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="PODSEARCH_SERVER",
            metavar="URL",
            help="Ask a running 'podsearch serve' (e.g. http://127.0.0.1:8765); "
            "searches locally when none answers.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Search the index and print the best quotes with speaker, episode and timestamp."""
    from .entry import prefetch_query_model

    index_dir = _index_dir(index)
    if not server and mode != "lexical":
        prefetch_query_model(index_dir, model)  # first: it loads while the rest imports
    from .search import attach_context, order_by_episode, search
    from .store import Index

    filters = _filters(mode, speaker, podcast, episode, since, until)
    if group not in (None, "episode"):
        raise typer.BadParameter("the only grouping is 'episode'", param_hint="--group")
    remote = None
    if server:
        params = {
            "q": question,
            "top": top,
            "mode": mode,
            "speaker": list(speaker or []),
            "podcast": podcast,
            "episode": episode,
            "since": since,
            "until": until,
            "model": model,
            "index": str(index_dir.absolute()) if index else None,
            "context": context,
        }
        with _errors():
            if cite:
                _check_style(cite)  # before asking: a bad style is the user's to fix
            remote = _ask_server(server, params)
    with _errors(), _notices():
        if cite:
            _check_style(cite)
        if remote is not None:
            result: Any = SimpleNamespace(**{**remote, "hits": []})
            result.hits = [SimpleNamespace(**h) for h in remote["hits"]]
            index_dir = Path(remote["index"])
        else:
            _ensure_index(index_dir)
            idx = Index(index_dir)
            result = search(idx, question, top=top, filters=filters, model=model, mode=mode)
            attach_context(idx, result.hits, context)
        if group:
            result.hits = order_by_episode(result.hits)
        hit_dicts = [vars(h) if remote is not None else h.as_json() for h in result.hits]
        citations = _cite_hits(index_dir, result.hits, cite) if cite else None
    if as_json:
        for h, c in zip(hit_dicts, citations or [], strict=False):
            h["citation"] = c.as_json()
        data: Any = hit_dicts
        if group:
            data = [{**{k: g[0][k] for k in GROUP_KEYS}, "hits": g} for g in _groups(hit_dicts)]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    else:
        _render_hits(result, citations, group=bool(group))


GROUP_KEYS = ("episode_id", "episode_title", "podcast", "published", "sources")


def _groups(hits: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive hits of one episode (hits already ordered by episode)."""
    groups: list[list[dict[str, Any]]] = []
    for h in hits:
        if groups and groups[-1][0]["episode_id"] == h["episode_id"]:
            groups[-1].append(h)
        else:
            groups.append([h])
    return groups


def _ask_server(url: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The full result from a running server, or None (with a note) when none answers."""
    from .server import ServerUnavailable, ask_server

    try:
        return ask_server(url, params)
    except ServerUnavailable as e:
        err.print(f"[yellow]Note:[/yellow] {escape(str(e))}; searching locally")
        return None


@contextmanager
def _notices() -> Iterator[None]:
    """Show the library's EmbedderNotice warnings (a slower fallback, a one-time model
    export) as one line each on stderr; other warnings pass through unchanged."""
    from .embedding import EmbedderNotice

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


@app.command()
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
    from .server import make_server

    index_dir = _index_dir(index)
    with _errors(), _notices():
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


def _check_style(style: str) -> str:
    """The CSL style id, or a CitationError naming the valid styles."""
    from .citation_styles import resolve_style

    return resolve_style(style)


def _cite_hits(index_dir: Path, hits: list[Any], style: str) -> list[Any]:
    """The hits cited in ``style`` (StyledCitation objects, in hit order)."""
    from .citation_styles import render_style
    from .citations import citables_from_index
    from .store import Index

    citables = citables_from_index(Index(index_dir), [h.passage_id for h in hits])
    return render_style(citables, style)


def _print_citation(citation: Any) -> None:
    out.print(f"   [dim]Cite:[/dim] {escape(citation.in_text)}", soft_wrap=True)
    if citation.reference:
        out.print(f"   [dim]Reference:[/dim] {escape(citation.reference)}", soft_wrap=True)


def main() -> None:
    """The console script (see ``podsearch.entry``, which starts here for a local ``ask``)."""
    from .entry import main as entry_main

    entry_main()


# `ask` is the command people wait on: a group of that command alone builds in ~4 ms,
# all commands in ~19 ms (click objects for every option of every command).
ask_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
ask_app.callback()(lambda: None)  # a group, so that `ask` stays a subcommand
ask_app.command()(ask)


def run() -> None:
    """Run the typer app, then freeze the heap (``podsearch.entry`` explains why)."""
    try:
        (ask_app if sys.argv[1:2] == ["ask"] else app)()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()


# The other commands register themselves on ``app`` (imported last: they use the above).
from . import cli_citations, cli_library  # noqa: E402, F401
