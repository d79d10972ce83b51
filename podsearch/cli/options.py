"""Option declarations shared by commands, declared once. ``filter_options`` gives a command
the five filter options as one ``Filters`` argument."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from ..api import Library

IndexOpt = Annotated[
    Path | None,
    typer.Option(
        "--index",
        help="Library (index directory). Default: $PODSEARCH_INDEX, else ./indexes/default "
        "if it exists, else the per-user data folder ('podsearch status' says which).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts and agents.")]
JsonlOpt = Annotated[
    bool, typer.Option("--jsonl", help="Print JSON Lines: one hit (or episode group) a line.")
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars (they are off when not a terminal).")
]
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
ModeOpt = Annotated[str, typer.Option(help="hybrid (BM25 + embeddings), semantic or lexical.")]
QueryModelOpt = Annotated[str | None, typer.Option(help="Must match the index's model.")]
RerankOpt = Annotated[
    bool | None,
    typer.Option(
        "--rerank/--no-rerank",
        envvar="PODSEARCH_RERANK",
        help="A cross-encoder that reads the question and each passage together ranks the "
        "first hits again: more answers first, ~1-2 s more. By default it does when the "
        "best match is unsure (about a third of questions); --rerank: every time; "
        "--no-rerank: never.",
        show_default=False,
    ),
]
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
NoWaitOpt = Annotated[
    bool,
    typer.Option("--no-wait", help="Fail at once if another process is writing the index."),
]

# The filters of a question: name, annotation. ``filter_options`` adds them to a command.
FILTER_OPTIONS: list[tuple[str, Any]] = [
    ("speaker", Annotated[list[str] | None, typer.Option(help="Only passages by this speaker.")]),
    ("podcast", Annotated[str | None, typer.Option(help="Only episodes of this show.")]),
    (
        "episode",
        Annotated[
            str | None, typer.Option(help="Only this episode (id, title words or file name).")
        ],
    ),
    (
        "since",
        Annotated[
            str | None,
            typer.Option(help="Only episodes published on or after this date (2017-01-16, 2017)."),
        ],
    ),
    (
        "until",
        Annotated[
            str | None,
            typer.Option(help="Only episodes published on or before this date (2017-01-16)."),
        ],
    ),
    (
        "include_undated",
        Annotated[
            bool,
            typer.Option(
                "--include-undated", help="With --since/--until: keep episodes without a date."
            ),
        ],
    ),
    (
        "include_boilerplate",
        Annotated[
            bool,
            typer.Option(
                "--include-boilerplate",
                help="Rank intros, outros and sponsor reads a show repeats like any other "
                "text (by default they rank lower).",
            ),
        ],
    ),
]
FLAGS = ("include_undated", "include_boilerplate")

F = TypeVar("F", bound=Callable[..., Any])


def filter_options(command: F) -> F:
    """Give a typer command ``--speaker``, ``--podcast``, ``--episode``, ``--since``,
    ``--until``, ``--include-undated`` and ``--include-boilerplate``; the command receives
    them as its ``filters`` parameter (a ``Filters``)."""
    signature = inspect.signature(command, eval_str=True)
    params: list[inspect.Parameter] = []
    for p in signature.parameters.values():
        if p.name != "filters":
            params.append(p)
            continue
        params += [  # where ``filters`` stood: the options show in that place in --help
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=False if name in FLAGS else None,
                annotation=ann,
            )
            for name, ann in FILTER_OPTIONS
        ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..query.types import Filters

        values = {name: kwargs.pop(name, None) for name, _ in FILTER_OPTIONS}
        kwargs["filters"] = Filters(
            speakers=tuple(values["speaker"] or ()),
            podcast=values["podcast"],
            episode=values["episode"],
            since=values["since"],
            until=values["until"],
            include_undated=bool(values["include_undated"]),
            include_boilerplate=bool(values["include_boilerplate"]),
        )
        return command(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper  # type: ignore[return-value]


def check_precision_option(precision: str | None) -> None:
    """Refuse an unknown --precision before any work is done."""
    from ..embed.base import PRECISIONS

    if precision is not None and precision not in PRECISIONS:
        raise typer.BadParameter(f"use one of {', '.join(PRECISIONS)}", param_hint="--precision")


def library(index: Path | None) -> Library:
    """The library a writing command works on: ``--index``, else the default location."""
    from ..api import Library

    return Library(index)


def reading_library(index: Path | None) -> Library:
    """The library a reading command works on (``Library.find``): an existing one, or the
    bundled sample when none exists and no path was given. Usage errors exit 2."""
    from ..api import Library
    from .output import errors

    with errors():
        return Library.find(index)
    raise AssertionError("unreachable")  # errors() exits
