"""``podsearch ask``: the question people wait on. Builds an AskRequest, answers it locally (or
through a running server) and renders the AskResult."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..query.types import Filters  # at run time: filter_options reads the annotation
from . import render
from .options import (
    CiteOpt,
    IndexOpt,
    JsonlOpt,
    JsonOpt,
    ModeOpt,
    QueryModelOpt,
    RerankOpt,
    TopOpt,
    filter_options,
)
from .options import reading_library as open_library
from .output import err, errors, escape, notices, progress_bars, write_json, write_jsonl

if TYPE_CHECKING:
    from ..api import Library
    from ..query.types import AskRequest, AskResult


def ensure_index(library: Library) -> None:
    """When ``library`` is the bundled sample (no library of the user's exists yet), say so
    on stderr, and install it first if needed. Any other library is left as it is."""
    if not library.is_sample:
        return
    if not library.exists:
        err.print(
            "No library yet: installing the bundled sample library (2 transcripts of one "
            f"episode) into {escape(str(library.path))}."
        )
        with progress_bars() as progress:
            report = library.install_sample(progress=progress)
        err.print(
            f"Sample library ready: {report.episodes_total} episode(s), "
            f"{report.passages_total} passages ({report.seconds:.1f} s)."
        )
    err.print(
        "[yellow]Note:[/yellow] answering from the bundled sample library, not your "
        "transcripts: 'podsearch index PATH' makes your library."
    )


def _ask_server(url: str, request: AskRequest, index: str | None) -> AskResult | None:
    """The result from a running server, or None (with a note) when none answers."""
    from ..serve.client import ServerUnavailable, ask_server

    try:
        return ask_server(url, request, index=index)
    except ServerUnavailable as e:
        err.print(f"[yellow]Note:[/yellow] {escape(str(e))}; searching locally")
        return None


@filter_options
def ask(
    question: Annotated[str, typer.Argument(help='e.g. "what did Clem say about distillation"')],
    index: IndexOpt = None,
    top: TopOpt = 10,
    *,
    filters: Filters,
    mode: ModeOpt = "hybrid",
    model: QueryModelOpt = None,
    rerank: RerankOpt = None,
    context: Annotated[
        int, typer.Option("--context", min=0, max=20, help="Show N turns before and after.")
    ] = 0,
    group: Annotated[
        str | None,
        typer.Option("--group", metavar="episode", help="Group the hits by episode."),
    ] = None,
    as_json: JsonOpt = False,
    as_jsonl: JsonlOpt = False,
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
    from ..query.types import AskRequest

    library = open_library(index)
    if not server and mode != "lexical":
        library.prefetch(model)  # first: the model loads while the rest imports
    request = AskRequest(
        question=question,
        filters=filters,
        top=top,
        mode=mode,
        context=context,
        group=group,
        cite=cite,
        model=model,
        rerank=rerank,
    )
    result = None
    with errors():
        request.validated()
        if server:
            if cite:
                from ..cite.styles import resolve_style

                resolve_style(cite)  # before asking: a bad style is the user's to fix
            where = str(library.path.absolute()) if index else None
            result = _ask_server(server, request, where)
    with errors(), notices():
        if result is None:
            ensure_index(library)
            result = library.ask(request)
    render.notes(result)
    if as_jsonl:
        write_jsonl(result.to_json())
    elif as_json:
        write_json(result.to_json())
    else:
        render.hits(result)
