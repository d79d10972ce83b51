"""Commands that build and look after a library: index, rebuild, remove, status, episodes,
and the speakers group (list, rename, alias)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from . import render
from .options import (
    DeviceOpt,
    IndexOpt,
    JsonOpt,
    NoWaitOpt,
    PrecisionOpt,
    QuietOpt,
    check_precision_option,
    library,
    reading_library,
)
from .output import err, errors, escape, out, progress_bars, waiting, write_json


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
            help="sentence-transformers model name or path (default: the bundled "
            "all-MiniLM-L6-v2), mpnet, or models together: minilm+mpnet@0.3."
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
    allow_private_network: Annotated[
        bool,
        typer.Option(
            "--allow-private-network",
            help="Let feeds reach loopback and private addresses (refused by default).",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="List each file read, its reader and its speakers."),
    ] = False,
    metadata: Annotated[
        Path | None,
        typer.Option(
            "--metadata",
            metavar="FILE",
            help="Metadata for the transcripts: JSON (list or object by file name), JSON Lines "
            "or CSV; records match by a file/path/filename field or --metadata-key.",
            show_default=False,
        ),
    ] = None,
    metadata_key: Annotated[
        str | None,
        typer.Option(
            "--metadata-key",
            metavar="TEMPLATE",
            help="The file name a record is for, from its fields, e.g. 'E{epnum}.mp3.vtt'.",
            show_default=False,
        ),
    ] = None,
    feed: Annotated[
        list[str] | None,
        typer.Option(
            "--feed",
            metavar="URL_OR_FILE",
            help="A podcast feed whose items give metadata to local transcripts (matched by "
            "enclosure file name, GUID or title).",
            show_default=False,
        ),
    ] = None,
    show: Annotated[
        str | None,
        typer.Option(
            "--show",
            metavar="NAME",
            help="The show (podcast) of files whose transcript and metadata name none.",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOpt = False,
    transcribe: Annotated[
        bool,
        typer.Option(help="Download and transcribe feed items that have audio but no transcript."),
    ] = False,
    asr_model: Annotated[
        str | None,
        typer.Option(
            "--asr-model",
            help="Speech model for audio: a faster-whisper name or a CTranslate2 folder "
            "(default: the bundled tiny.en).",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="Where chunking and embedding run: 'local' (this process) or 'ray' (Ray Data, "
            "pip install 'podsearch[ray]'; a local Ray instance unless --ray-address).",
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            metavar="ADDR",
            help="An existing Ray cluster for --engine ray (e.g. ray://head:10001 or auto; "
            "default: $RAY_ADDRESS, else a local instance).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Add transcripts, audio files or feeds to an index; unchanged files are skipped."""
    gc.enable()  # long-running: collect as usual (main() turns it off for start-up)
    check_precision_option(precision)
    lib = library(index)
    if index is None and not quiet:
        err.print(f"[dim]Library {escape(str(lib.path))}: {escape(lib.location.reason)}[/dim]")
    with errors(), interrupted(), progress_bars(quiet) as progress:
        report = lib.index(
            paths,
            model=model,
            strict=strict,
            progress=progress,
            device=device,
            precision=precision,
            prune=prune,
            wait=not no_wait,
            on_wait=waiting,
            timeout=timeout,
            max_bytes=int(max_mb * 1_000_000),
            allow_private_network=allow_private_network,
            metadata=metadata,
            metadata_key=metadata_key,
            feeds=feed or [],
            show=show,
            transcribe=transcribe,
            asr_model=asr_model,
            engine=engine,
            ray_address=ray_address,
        )
    if as_json:
        write_json(report.as_dict())
    else:
        render.report(report, verbose=verbose)
    if report.failed:
        raise typer.Exit(1)


def sample(
    index: IndexOpt = None,
    as_json: JsonOpt = False,
    no_wait: NoWaitOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Install (or bring up to date) the bundled sample library: two transcripts of one
    real episode. It answers only while no library of yours exists."""
    gc.enable()
    from ..api import Library

    with errors(), progress_bars(quiet) as progress:
        lib = Library(index) if index is not None else Library.find_sample()
        report = lib.install_sample(progress=progress, wait=not no_wait)
    if as_json:
        out.print_json(data=report.as_dict())
    else:
        render.report(report)


@contextmanager
def interrupted() -> Iterator[None]:
    """Ctrl-C during a long index: one line saying what is kept, exit code 130."""
    try:
        yield
    except KeyboardInterrupt:
        err.print(
            "\n[yellow]Interrupted:[/yellow] the index keeps its last complete generation; "
            "finished transcriptions are kept, so running the same command again resumes."
        )
        raise typer.Exit(130) from None


def rebuild(
    index: IndexOpt = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Re-embed everything with this model (a name or path, mpnet, or models "
            "together: minilm+mpnet@0.3); a model the vectors already hold is not run again."
        ),
    ] = None,
    vector_index: Annotated[
        str | None,
        typer.Option(
            "--vector-index",
            "--faiss-index",
            metavar="TYPE",
            help="flat (exact), hnsw, ivf, or auto (by the library's size); built from the "
            "stored vectors, no re-embedding.",
            show_default=False,
        ),
    ] = None,
    min_words: Annotated[
        int | None, typer.Option(min=1, help="Re-chunk: shortest passage cut from a long turn.")
    ] = None,
    max_words: Annotated[
        int | None, typer.Option(min=10, help="Re-chunk: longest passage (words).")
    ] = None,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = None,
    no_wait: NoWaitOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Rebuild the whole index into a new generation and swap it in atomically."""
    gc.enable()
    from ..store.vectors.factory import AUTO, KINDS

    if vector_index is not None and vector_index not in (AUTO, *KINDS):
        raise typer.BadParameter(
            f"use one of {', '.join([AUTO, *KINDS])}", param_hint="--vector-index"
        )
    check_precision_option(precision)
    with errors(), progress_bars(quiet) as progress:
        report = library(index).rebuild(
            model=model,
            vector_index=vector_index,
            min_words=min_words,
            max_words=max_words,
            progress=progress,
            device=device,
            precision=precision,
            wait=not no_wait,
            on_wait=waiting,
        )
    if as_json:
        write_json(report.as_dict())
    else:
        render.report(report, "Rebuilt")


def remove(
    episodes: Annotated[
        list[str],
        typer.Argument(metavar="EPISODE", help="Episode ids, unique prefixes or file names."),
    ],
    index: IndexOpt = None,
    no_wait: NoWaitOpt = False,
) -> None:
    """Remove episodes from the index (their source files are not touched)."""
    gc.enable()
    with errors():
        report = library(index).remove(episodes, wait=not no_wait, on_wait=waiting)
    render.report(report, "Removed from")


def status(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Which library is used and why, what it holds, and whether its sources changed."""
    lib = reading_library(index)
    if not lib.exists:  # only the sample can be missing here (Library.find)
        if as_json:
            write_json({"location": lib.location.as_dict(), "exists": False})
            return
        out.print(f"[bold]{escape(str(lib.path))}[/bold]  not installed yet")
        out.print(f"  library: {escape(lib.location.reason)}")
        out.print(
            "  'podsearch sample' installs it (any ask does too); "
            "'podsearch index PATH' makes your own."
        )
        return
    with errors():
        st = lib.status()
    if as_json:
        write_json(st)
        return
    c = st["counts"]
    out.print(f"[bold]{escape(st['index'])}[/bold]  generation {escape(st['generation'])}")
    out.print(f"  library: {escape(st['location']['reason'])}")
    dims = f"{st['model']['dimension']} dims, {st['model'].get('precision', 'fp32')} vectors"
    out.print(f"  model: {escape(st['model']['name'])} ({dims})")
    out.print(
        f"  {c.get('episodes', 0)} episodes, {c.get('passages', 0)} passages, "
        f"{c.get('turns', 0)} turns, {c.get('sources', 0)} sources"
    )
    vectors = st["vectors"]
    how = "chosen by size" if vectors.get("chosen", "auto") == "auto" else "your choice"
    out.print(f"  vector index: {escape(str(vectors.get('type', 'flat')))} ({how})")
    if vectors.get("graph_rows") is not None:
        tail = int(vectors.get("count", 0)) - int(vectors["graph_rows"])
        out.print(f"    {tail} passages added since the graph was built: searched exactly")
    out.print(f"  size on disk: {st['size_bytes'] / 1e6:.1f} MB")
    out.print(f"  built: {st['built_at']} by podsearch {st['tool_version']}")
    changed, missing = st["sources_changed"], st["sources_missing"]
    if not changed and not missing:
        out.print("  sources: unchanged since the build")
    for label, paths in (("changed", changed), ("missing", missing)):
        if paths:
            out.print(f"  [yellow]sources {label} since the build: {len(paths)}[/yellow]")
            for p in paths[:10]:
                out.print(f"    {escape(p)}")
    if changed or missing:
        out.print("  Run 'podsearch index PATH' (with --prune for missing files) to update.")


def transcript(
    episode: Annotated[str, typer.Argument(help="Episode id (or unique prefix, or file name).")],
    index: IndexOpt = None,
    format: Annotated[str, typer.Option("--format", "-f", help="vtt, srt or json.")] = "vtt",
) -> None:
    """Print an indexed episode's transcript (an audio file's transcription, for one)."""
    with errors():
        text = library(index).transcript(episode, format)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


episodes_app = typer.Typer(help="List the indexed episodes; fix their metadata.")


@episodes_app.callback(invoke_without_command=True)
def episodes(ctx: typer.Context, index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List the indexed episodes."""
    if ctx.invoked_subcommand is not None:
        return
    lib = reading_library(index)
    with errors():
        items = lib.episodes()
    if as_json:
        write_json(items)
        return
    for r in items:
        meta = " · ".join(x for x in (r["podcast"], r["published"]) if x)
        flag = " [yellow](truncated source)[/yellow]" if r["truncated"] else ""
        out.print(f"[bold]{escape(r['episode_id'])}[/bold]  {escape(r['title'])}{flag}")
        out.print(f"    {escape(meta)}  {r['passages']} passages, {len(r['sources'])} source(s)")
    out.print(f"{len(items)} episode(s)")


@episodes_app.command("edit")
def episodes_edit(
    episode: Annotated[str, typer.Argument(help="Episode id (or unique prefix, or file name).")],
    title: Annotated[str | None, typer.Option(help="The episode's title.")] = None,
    date: Annotated[
        str | None, typer.Option(help="Its publication date (2017-01-16, 16 Jan 2017, ...).")
    ] = None,
    show: Annotated[str | None, typer.Option(help="The show (podcast) it belongs to.")] = None,
    url: Annotated[str | None, typer.Option(help="Its web page.")] = None,
    index: IndexOpt = None,
    no_wait: NoWaitOpt = False,
) -> None:
    """Fix an episode's title, date, show or URL; kept across re-indexing and rebuilds."""
    gc.enable()
    lib = reading_library(index)
    with errors():
        report = lib.edit_episode(
            episode, title=title, date=date, show=show, url=url, wait=not no_wait, on_wait=waiting
        )
    fixes = ", ".join(f"{k}={v!r}" for k, v in report["fixes"].items()) or "none"
    err.print(
        f"Episode {escape(report['episode_id'])}: fixes {escape(fixes)}; "
        f"index updated in {report['seconds']:.1f} s"
    )


speakers_app = typer.Typer(
    help="List speakers, name anonymous labels, record aliases.", no_args_is_help=False
)


@speakers_app.callback(invoke_without_command=True)
def speakers(ctx: typer.Context, index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List speakers with their aliases, turn counts and a sample line."""
    if ctx.invoked_subcommand is not None:
        return
    lib = reading_library(index)
    with errors():
        items = lib.speakers()
    if as_json:
        write_json(items)
        return
    for s in items:
        name = escape(render.who(s["speaker"], None))
        aliases = f"  [dim]aka {escape(', '.join(s['aliases']))}[/dim]" if s["aliases"] else ""
        guessed = f" ({s['guessed']} guessed)" if s.get("guessed") else ""
        out.print(
            f"[bold]{name}[/bold]  {s['turns']} turns, {s['passages']} passages{guessed} in "
            f"{s['episodes']} episode(s){aliases}"
        )
        out.print(f"    [dim]“{escape(s['sample'])}”[/dim]")
    if any(s["anonymous"] for s in items):
        out.print(
            "[dim]Name an unnamed speaker with: podsearch speakers rename EPISODE LABEL "
            '"Real Name"[/dim]'
        )


@speakers_app.command("rename")
def speakers_rename(
    episode: Annotated[str, typer.Argument(help="Episode id (or unique prefix, or file name).")],
    label: Annotated[str, typer.Argument(help='The label to name, e.g. "Guest 1".')],
    name: Annotated[str, typer.Argument(help="The speaker's real name.")],
    index: IndexOpt = None,
    no_wait: NoWaitOpt = False,
) -> None:
    """Name a speaker label of one episode; kept across re-indexing and rebuilds."""
    gc.enable()
    with errors():
        report = library(index).rename_speaker(
            episode, label, name, wait=not no_wait, on_wait=waiting
        )
    err.print(
        f"{escape(label)} is now {escape(name)} in episode {escape(report['episode_id'])} "
        f"({report['turns']} turns); index updated in {report['seconds']:.1f} s"
    )


@speakers_app.command("alias")
def speakers_alias(
    name: Annotated[str, typer.Argument(help="The speaker's real name.")],
    alias: Annotated[str, typer.Argument(help="Another name or spelling for the same person.")],
    index: IndexOpt = None,
    no_wait: NoWaitOpt = False,
) -> None:
    """Record that ALIAS designates NAME (in every episode and in questions)."""
    gc.enable()
    with errors():
        report = library(index).alias_speaker(name, alias, wait=not no_wait, on_wait=waiting)
    err.print(
        f"{escape(alias)} now designates {escape(name)}; index updated in {report['seconds']:.1f} s"
    )


def verify(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Check every file of the index against its checksums, and the row counts, dimension
    and ids between files. Exit code 1 when anything is damaged."""
    with errors():
        lib = library(index)
        if not lib.exists and not lib.path.is_symlink():
            lib.open()  # the usual one-line "no index at ..." error
        report = lib.verify()
    if as_json:
        write_json(report)
        if not report["ok"]:
            raise typer.Exit(1)
        return
    for note in report["notes"]:
        err.print(f"[yellow]Note:[/yellow] {escape(note)}")
    if report["ok"]:
        size = report["bytes_checked"] / 1e6
        out.print(
            f"OK: generation {escape(report['generation'])}, {report['files_checked']} files "
            f"({size:.1f} MB) match their checksums; counts and ids agree."
        )
    else:
        for d in report["damage"]:
            err.print(f"[red]Damaged:[/red] {escape(d['file'])}: {escape(d['problem'])}")
        if report["previous_good"]:
            err.print(
                f"The previous generation {escape(report['previous_good'])} verifies: "
                "'podsearch rollback' makes it current; 'podsearch rebuild' repairs this one."
            )
        else:
            err.print("No earlier generation verifies: 'podsearch rebuild' repairs what it can.")
    if not report["ok"]:
        raise typer.Exit(1)


def rollback(index: IndexOpt = None, no_wait: NoWaitOpt = False) -> None:
    """Point the index back at the previous generation that verifies (after damage, or to
    undo the last change)."""
    with errors():
        done = library(index).rollback(wait=not no_wait, on_wait=waiting)
    err.print(f"Rolled back from generation {escape(done['from'])} to {escape(done['to'])}.")
