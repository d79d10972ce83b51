"""``podsearch similar``: passages like a hit, or episodes like an episode, from the stored
vectors."""

from __future__ import annotations

from typing import Annotated

import typer

from .options import IndexOpt, JsonOpt, TopOpt, library
from .output import errors, escape, out, write_json
from .render import when, who


def similar(
    id: Annotated[
        str, typer.Argument(metavar="HIT_ID|EPISODE_ID", help="a hit's id or an episode")
    ],
    index: IndexOpt = None,
    top: TopOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """More like this: passages like a hit, or episodes like an episode.

    HIT_ID is a hit's id as 'ask' shows it, EPISODE_ID an episode as 'episodes' lists it.
    Nothing is embedded again."""
    with errors():
        found = library(index).similar(id, top=top)
    if as_json:
        write_json(found.to_json())
        return
    if found.kind == "episode":
        out.print(f"Episodes like [bold]{escape(found.title)}[/bold]:")
        for e in found.episodes:
            meta = " · ".join(escape(x) for x in (e["podcast"], e["published"]) if x)
            out.print(
                f"{e['rank']}. [bold]{escape(e['title'])}[/bold]  [dim]score {e['score']:.3f}  "
                f"id {e['episode_id']}[/dim]" + (f"\n   {meta}" if meta else "")
            )
        return
    out.print(f"Passages like [bold]{escape(found.of)}[/bold] ({escape(found.title)}):\n")
    for h in found.hits:
        show = " · ".join(escape(x) for x in (h.podcast, h.published) if x)
        out.print(
            f"[bold]{h.rank}. {escape(who(h.speaker, h.speaker_source))}[/bold] at "
            f"[cyan]{when(h.start, h.time_precision)}[/cyan]  [dim]score {h.score:.3f}  "
            f"id {h.passage_id}[/dim]"
        )
        out.print(f"   {escape(h.episode_title)}" + (f" — {show}" if show else ""))
        out.print(f"   “{escape(h.text)}”\n", soft_wrap=True)
    if not found.hits:
        out.print("No other passages.")
