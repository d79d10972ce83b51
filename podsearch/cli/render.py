"""Rendering results for people: hits with their speaker, time and episode, index reports."""

from __future__ import annotations

from typing import Any

from ..speakers.labels import shown_speaker as who
from .output import err, escape, out


def when(start: float | None, time_precision: str | None) -> str:
    """h:mm:ss, "≈" when interpolated, "≈… (estimated)" when only a speaking rate gave it."""
    from ..core.models import ESTIMATED, EXACT
    from ..core.text import format_timestamp

    if start is None:
        return "untimed"
    approx = "" if time_precision == EXACT else "≈"
    note = " (estimated)" if time_precision == ESTIMATED else ""
    return approx + format_timestamp(start) + note


def _context(turns: list[dict[str, Any]]) -> None:
    for t in turns:
        text = t["text"] if len(t["text"]) <= 300 else t["text"][:300] + "…"
        speaker = escape(who(t["speaker"], t["speaker_source"]))
        at = when(t["start"], t["time_precision"])
        out.print(f"   [dim]{speaker} at {at}: {escape(text)}[/dim]")


def citation(cited: dict[str, Any]) -> None:
    out.print(f"   [dim]Cite:[/dim] {escape(cited['in_text'])}", soft_wrap=True)
    if cited.get("reference"):
        out.print(f"   [dim]Reference:[/dim] {escape(cited['reference'])}", soft_wrap=True)


def notes(result: Any) -> None:
    """What the filters left out, on stderr (with --json too)."""
    if result.undated_left_out:
        err.print(
            f"[yellow]Note:[/yellow] the date filter left out {result.undated_left_out} "
            "episode(s) without a date; --include-undated keeps them."
        )


def hits(result: Any) -> None:
    """An AskResult as people read it."""
    if result.speakers:
        speakers = escape(", ".join(result.speakers))
        err.print(f"[dim]Speaker: {speakers} · topic: {escape(result.query)}[/dim]")
    if not result.hits:
        out.print("No matching passages.")
        return
    # When every weak match is weak for one reason, it is said once, in the header.
    reasons = {h.weak_because for h in result.hits if not h.confident}
    shared = not result.confident and len(reasons) == 1
    if not result.confident:
        why = f" (all weak: {result.hits[0].weakness()})" if shared else ""
        out.print(
            f"[yellow]No confident match: nothing in the library seems to answer this{why}. "
            "The nearest passages:[/yellow]\n"
        )
    group = bool(result.group)
    last_episode = None
    for hit in result.hits:
        speaker = escape(who(hit.speaker, hit.speaker_source))
        show = " · ".join(escape(x) for x in (hit.podcast, hit.published) if x)
        weak = ""
        if not hit.confident:
            weak = "  [yellow]weak match" + ("" if shared else f": {hit.weakness()}") + "[/yellow]"
        if hit.boilerplate:
            weak += "  [yellow]repeated in many episodes[/yellow]"
        if group and hit.episode_id != last_episode:
            out.print(
                f"[bold underline]{escape(hit.episode_title)}[/bold underline]"
                + (f" — {show}" if show else "")
            )
        out.print(
            f"[bold]{hit.rank}. {speaker}[/bold] at [cyan]{when(hit.start, hit.time_precision)}"
            f"[/cyan]  [dim]score {hit.score:.3f}  id {hit.passage_id}[/dim]{weak}"
        )
        if not group:
            out.print(f"   {escape(hit.episode_title)}" + (f" — {show}" if show else ""))
        _context(hit.context_before or [])
        out.print(f"   “{escape(hit.text)}”", soft_wrap=True)
        _context(hit.context_after or [])
        if hit.citation:
            citation(hit.citation)
        out.print()
        last_episode = hit.episode_id


def report(report: Any, verb: str = "Indexed into", *, verbose: bool = False) -> None:
    """An IndexReport: what was added, updated, removed, read and failed; ``verbose``: each
    file read, with its reader and the speakers found in it."""
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
    if report.passages_resumed:
        out.print(
            f"  resumed: {report.passages_resumed} passages embedded by an interrupted run "
            "were not embedded again"
        )
    if report.formats:
        fmts = ", ".join(f"{n} {k}" for k, n in sorted(report.formats.items()))
        out.print(f"  formats read: {fmts}")
    if report.episodes_removed:
        out.print(f"  episodes removed: {report.episodes_removed}")
    if verbose:
        for f in report.files:
            speakers = ", ".join(f.speakers) if f.speakers else "none named"
            out.print(f"  {escape(f.path)}: {escape(f.format)}; speakers: {escape(speakers)}")
    if report.metadata:
        m = report.metadata
        out.print(
            f"  metadata: {m.get('files_matched', 0)} file(s) matched a record, "
            f"{m.get('sidecars', 0)} from sidecars, {m.get('files_without_record', 0)} "
            f"without a record; {m.get('records_unmatched', 0)} record(s) matched no file"
        )
        if m.get("files_without_record") and not m.get("files_matched"):
            err.print(
                "[yellow]warning[/yellow] no file matched a metadata record: give the records a "
                "'file' field, or name files from their fields with --metadata-key "
                "(e.g. 'E{epnum}.mp3.vtt')"
            )
    if report.skipped:
        kinds: dict[str, int] = {}
        for s in report.skipped:
            kinds[s.reason] = kinds.get(s.reason, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in kinds.items())
        out.print(f"  skipped: {len(report.skipped)} file(s): {escape(summary)}")
        for s in report.skipped[:10]:
            out.print(f"    [dim]{escape(s.path)}[/dim]")
    for w in report.warnings:
        err.print(f"[yellow]warning[/yellow] {escape(w.path)}: {escape(w.reason)}")
    if report.failed:
        out.print(f"  [red]failed: {len(report.failed)} file(s)[/red]")
        for f in report.failed:
            err.print(f"[red]failed[/red] {escape(f.path)}: {escape(f.reason)}")
