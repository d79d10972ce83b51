"""Citation commands: ``cite`` passages by id, ``export`` all hits of a question."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .cli import (
    EpisodeOpt,
    IndexOpt,
    ModeOpt,
    PodcastOpt,
    QueryModelOpt,
    SinceOpt,
    SpeakerOpt,
    TopOpt,
    UntilOpt,
    _check_style,
    _ensure_index,
    _errors,
    _filters,
    _index_dir,
    app,
    err,
    escape,
)


def _write_export(text: str, output: Path | None, count: int) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        err.print(f"[red]Error:[/red] cannot write {escape(str(output))}: {escape(str(e))}")
        raise typer.Exit(1) from None
    err.print(f"Wrote {count} citation(s) to {escape(str(output))}")


StyleOpt = Annotated[
    str | None,
    typer.Option(
        "--style",
        "-s",
        help="Citation style: apa (default), mla, chicago or any CSL style name.",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="bibtex, biblatex, ris, csl-json, markdown, json or csv.",
        show_default=False,
    ),
]


@app.command()
def cite(
    passage_ids: Annotated[
        list[str],
        typer.Argument(
            metavar="PASSAGE_ID", help="Passage ids shown with every hit (or unique prefixes)."
        ),
    ],
    style: StyleOpt = None,
    fmt: FormatOpt = None,
    index: IndexOpt = None,
) -> None:
    """Cite passages: in-text citation, reference and quote, or a file format."""
    from .citation_formats import check_format, export
    from .citation_styles import DEFAULT_STYLE, render_style
    from .citations import citables_from_index
    from .store import Index

    if style and fmt:
        raise typer.BadParameter("give --style or --format, not both", param_hint="--format")
    with _errors():
        if fmt:
            fmt = check_format(fmt)
        else:
            _check_style(style or DEFAULT_STYLE)
        citables = citables_from_index(Index(_index_dir(index)), passage_ids)
        if fmt:
            sys.stdout.write(export(citables, fmt))
            return
        styled = render_style(citables, style or DEFAULT_STYLE)
    blocks = []
    for c, s in zip(citables, styled, strict=True):
        lines = [s.in_text] + ([s.reference] if s.reference else []) + [f"“{c.quote}”"]
        blocks.append("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(blocks))


@app.command()
def export(
    question: Annotated[str, typer.Argument(help='e.g. "what did Clem say about distillation"')],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="bibtex, biblatex, ris, csl-json, markdown, json or csv."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: standard output)."),
    ] = None,
    index: IndexOpt = None,
    top: TopOpt = 10,
    speaker: SpeakerOpt = None,
    podcast: PodcastOpt = None,
    episode: EpisodeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    mode: ModeOpt = "hybrid",
    model: QueryModelOpt = None,
    style: Annotated[
        str, typer.Option("--style", "-s", help="Citation style of the json and csv columns.")
    ] = "apa",
) -> None:
    """Write all hits of a question as citations in a file format."""
    from .citation_formats import check_format
    from .citation_formats import export as export_citations
    from .citations import citables_from_index
    from .search import search
    from .store import Index

    filters = _filters(mode, speaker, podcast, episode, since, until)
    index_dir = _index_dir(index)
    with _errors():
        fmt = check_format(fmt)
        if fmt in ("json", "csv"):
            _check_style(style)
        _ensure_index(index_dir)
        idx = Index(index_dir)
        result = search(idx, question, top=top, filters=filters, model=model, mode=mode)
        citables = citables_from_index(idx, [h.passage_id for h in result.hits])
        text = export_citations(citables, fmt, style)
    if not citables:
        err.print("No matching passages.")
    _write_export(text, output, len(citables))
