"""Commands that build and look after a library: index, rebuild, remove, status, episodes,
and the speakers group (list, rename, alias)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from . import render
from .options import (
    DeviceOpt,
    IndexOpt,
    JsonOpt,
    NoWaitOpt,
    PrecisionOpt,
    check_precision_option,
    library,
)
from .output import err, errors, escape, out, progress_printer, waiting, write_json


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
) -> None:
    """Add transcripts, audio files or feeds to an index; unchanged files are skipped."""
    gc.enable()  # long-running: collect as usual (main() turns it off for start-up)
    check_precision_option(precision)
    with errors(), interrupted():
        report = library(index).index(
            paths,
            model=model,
            strict=strict,
            progress=progress_printer(),
            device=device,
            precision=precision,
            prune=prune,
            wait=not no_wait,
            on_wait=waiting,
            timeout=timeout,
            max_bytes=int(max_mb * 1_000_000),
            transcribe=transcribe,
            asr_model=asr_model,
        )
    if as_json:
        out.print_json(data=report.as_dict())
    else:
        render.report(report)
    if report.failed:
        raise typer.Exit(1)


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
        typer.Option(help="Re-embed everything with this sentence-transformers model or path."),
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
) -> None:
    """Rebuild the whole index into a new generation and swap it in atomically."""
    gc.enable()
    from ..store.vectors.factory import AUTO, KINDS

    if vector_index is not None and vector_index not in (AUTO, *KINDS):
        raise typer.BadParameter(
            f"use one of {', '.join([AUTO, *KINDS])}", param_hint="--vector-index"
        )
    check_precision_option(precision)
    with errors():
        report = library(index).rebuild(
            model=model,
            vector_index=vector_index,
            min_words=min_words,
            max_words=max_words,
            progress=progress_printer(),
            device=device,
            precision=precision,
            wait=not no_wait,
            on_wait=waiting,
        )
    if as_json:
        out.print_json(data=report.as_dict())
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
    """Model, counts, size, vector index, last build, and whether sources changed since."""
    with errors():
        st = library(index).status()
    if as_json:
        write_json(st)
        return
    c = st["counts"]
    out.print(f"[bold]{escape(st['index'])}[/bold]  generation {escape(st['generation'])}")
    dims = f"{st['model']['dimension']} dims, {st['model'].get('precision', 'fp32')} vectors"
    out.print(f"  model: {escape(st['model']['name'])} ({dims})")
    out.print(
        f"  {c.get('episodes', 0)} episodes, {c.get('passages', 0)} passages, "
        f"{c.get('turns', 0)} turns, {c.get('sources', 0)} sources"
    )
    vectors = st["vectors"]
    how = "chosen by size" if vectors.get("chosen", "auto") == "auto" else "your choice"
    out.print(f"  vector index: {escape(str(vectors.get('type', 'flat')))} ({how})")
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


def episodes(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List the indexed episodes."""
    with errors():
        items = library(index).episodes()
    if as_json:
        write_json(items)
        return
    for r in items:
        meta = " · ".join(x for x in (r["podcast"], r["published"]) if x)
        flag = " [yellow](truncated source)[/yellow]" if r["truncated"] else ""
        out.print(f"[bold]{escape(r['episode_id'])}[/bold]  {escape(r['title'])}{flag}")
        out.print(f"    {escape(meta)}  {r['passages']} passages, {len(r['sources'])} source(s)")
    out.print(f"{len(items)} episode(s)")


speakers_app = typer.Typer(
    help="List speakers, name anonymous labels, record aliases.", no_args_is_help=False
)


@speakers_app.callback(invoke_without_command=True)
def speakers(ctx: typer.Context, index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List speakers with their aliases, turn counts and a sample line."""
    if ctx.invoked_subcommand is not None:
        return
    with errors():
        items = library(index).speakers()
    if as_json:
        write_json(items)
        return
    for s in items:
        name = escape(render.who(s["speaker"], None))
        aliases = f"  [dim]aka {escape(', '.join(s['aliases']))}[/dim]" if s["aliases"] else ""
        out.print(
            f"[bold]{name}[/bold]  {s['turns']} turns, {s['passages']} passages in "
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
