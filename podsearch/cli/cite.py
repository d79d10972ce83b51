"""Citation commands: ``cite`` passages by id, ``export`` all hits of a question."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..query.types import Filters  # at run time: filter_options reads the annotation
from . import render
from .ask import ensure_index
from .options import IndexOpt, ModeOpt, QueryModelOpt, TopOpt, filter_options
from .options import reading_library as open_library
from .output import err, errors, escape

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
    from ..cite.formats import check_format
    from ..cite.styles import DEFAULT_STYLE

    if style and fmt:
        raise typer.BadParameter("give --style or --format, not both", param_hint="--format")
    library = open_library(index)
    with errors():
        ensure_index(library)
        if fmt:
            sys.stdout.write(library.export(passage_ids, check_format(fmt)))
            return
        cited = library.cite(passage_ids, style or DEFAULT_STYLE)
    blocks = []
    for c in cited:
        lines = [c.in_text] + ([c.reference] if c.reference else []) + [f"“{c.quote}”"]
        blocks.append("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(blocks))


@filter_options
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
    *,
    filters: Filters,
    mode: ModeOpt = "hybrid",
    model: QueryModelOpt = None,
    style: Annotated[
        str, typer.Option("--style", "-s", help="Citation style of the json and csv columns.")
    ] = "apa",
) -> None:
    """Write all hits of a question as citations in a file format."""
    from ..cite.formats import check_format
    from ..cite.styles import resolve_style
    from ..query.types import AskRequest

    library = open_library(index)
    request = AskRequest(question=question, filters=filters, top=top, mode=mode, model=model)
    with errors():
        request.validated()
        fmt = check_format(fmt)
        if fmt in ("json", "csv"):
            resolve_style(style)
        ensure_index(library)
        result = library.ask(request)
        ids = [h.passage_id for h in result.hits]
    render.notes(result)
    with errors():
        text = library.export(ids, fmt, style)
    if not ids:
        err.print("No matching passages.")
    _write_export(text, output, len(ids))
