"""Library upkeep commands: speakers (list, rename, alias), remove, rebuild, status."""

from __future__ import annotations

import gc
import json
import sys
from typing import Annotated

import typer

from .cli import (
    DeviceOpt,
    IndexOpt,
    JsonOpt,
    NoWaitOpt,
    PrecisionOpt,
    _errors,
    _index_dir,
    _print_report,
    _progress_printer,
    _waiting,
    _who,
    app,
    check_precision_option,
    err,
    escape,
    out,
)

speakers_app = typer.Typer(
    help="List speakers, name anonymous labels, record aliases.", no_args_is_help=False
)
app.add_typer(speakers_app, name="speakers")


@speakers_app.callback(invoke_without_command=True)
def speakers(ctx: typer.Context, index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List speakers with their aliases, turn counts and a sample line."""
    if ctx.invoked_subcommand is not None:
        return
    from .manage import list_speakers

    with _errors():
        items = list_speakers(_index_dir(index))
    if as_json:
        sys.stdout.write(json.dumps(items, ensure_ascii=False, indent=1) + "\n")
        return
    for s in items:
        name = escape(_who(s["speaker"], None))
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
    from .manage import rename_speaker

    with _errors():
        report = rename_speaker(
            _index_dir(index), episode, label, name, wait=not no_wait, on_wait=_waiting
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
    from .manage import alias_speaker

    with _errors():
        report = alias_speaker(_index_dir(index), name, alias, wait=not no_wait, on_wait=_waiting)
    err.print(
        f"{escape(alias)} now designates {escape(name)}; index updated in {report['seconds']:.1f} s"
    )


@app.command()
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
    from .manage import remove_episodes

    with _errors():
        report = remove_episodes(_index_dir(index), episodes, wait=not no_wait, on_wait=_waiting)
    _print_report(report, "Removed from")


@app.command()
def rebuild(
    index: IndexOpt = None,
    model: Annotated[
        str | None,
        typer.Option(help="Re-embed everything with this sentence-transformers model or path."),
    ] = None,
    faiss_index: Annotated[
        str | None,
        typer.Option(
            "--faiss-index",
            metavar="TYPE",
            help="flat (exact), hnsw or ivf; built from the stored vectors, no re-embedding.",
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
    from .manage import rebuild_index
    from .store import FAISS_KINDS

    if faiss_index is not None and faiss_index not in FAISS_KINDS:
        raise typer.BadParameter(f"use one of {', '.join(FAISS_KINDS)}", param_hint="--faiss-index")
    check_precision_option(precision)
    with _errors():
        report = rebuild_index(
            _index_dir(index),
            model=model,
            faiss_kind=faiss_index,
            min_words=min_words,
            max_words=max_words,
            progress=_progress_printer(),
            device=device,
            precision=precision,
            wait=not no_wait,
            on_wait=_waiting,
        )
    if as_json:
        out.print_json(data=report.as_dict())
    else:
        _print_report(report, "Rebuilt")


@app.command()
def status(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Model, counts, size, FAISS type, last build, and whether sources changed since."""
    from .manage import index_status

    with _errors():
        st = index_status(_index_dir(index))
    if as_json:
        sys.stdout.write(json.dumps(st, ensure_ascii=False, indent=1) + "\n")
        return
    c = st["counts"]
    out.print(f"[bold]{escape(st['index'])}[/bold]  generation {escape(st['generation'])}")
    dims = f"{st['model']['dimension']} dims, {st['model'].get('precision', 'fp32')} vectors"
    out.print(f"  model: {escape(st['model']['name'])} ({dims})")
    out.print(
        f"  {c.get('episodes', 0)} episodes, {c.get('passages', 0)} passages, "
        f"{c.get('turns', 0)} turns, {c.get('sources', 0)} sources"
    )
    out.print(f"  FAISS index: {escape(str(st['faiss'].get('type', 'flat')))}")
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
