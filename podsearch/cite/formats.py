"""Citable passages written as BibTeX, BibLaTeX, RIS, CSL-JSON, Markdown, JSON or CSV.

Every writer leaves out what is unknown instead of printing "None", "n.d." stays the
styles' business, and keys are unique within one export. Nothing here prints.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..core.errors import CitationError
from ..core.strict_json import dumps
from .items import GENRE, Citable, citation_keys, csl_name, to_csl_item
from .styles import DEFAULT_STYLE, render_style

_MONTH_MACROS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                 "dec")  # fmt: skip
_BIBTEX_ESCAPES = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
    "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip


def attribution(c: Citable) -> str:
    """The note on a quote: "Quoted from Clément Delangue at 7:41", "... at about 7:41"."""
    who = f" from {c.speaker_name}" if c.speaker_name else ""
    when = f" at {'about ' if c.approximate else ''}{c.timestamp}" if c.timed else ""
    return f"Quoted{who}{when}" if who or when else "Quoted passage"


@dataclass(frozen=True)
class Reference:
    """One episode's entry in a reference file: its metadata and the quotes cited from it."""

    head: Citable  # the episode's metadata (and, without hosts, the authors: see by_episode)
    quotes: tuple[Citable, ...]  # by time, quotes that continue each other joined

    @property
    def note(self) -> str:
        """The quotes' speakers and times: "Quoted from A at 7:41 and about 12:02; from B at
        20:00" (a single quote reads as ``attribution`` of it)."""
        pieces: dict[str | None, list[str]] = {}
        for q in self.quotes:
            times = pieces.setdefault(q.speaker_name, [])
            if q.timed:
                times.append(f"{'about ' if q.approximate else ''}{q.timestamp}")
        parts = []
        for who, times in pieces.items():
            when = f"{', '.join(times[:-1])} and {times[-1]}" if len(times) > 1 else "".join(times)
            words = ([f"from {who}"] if who else []) + ([f"at {when}"] if when else [])
            if words:
                parts.append(" ".join(words))
        return "Quoted " + "; ".join(parts) if parts else "Quoted passage"

    @property
    def quote_text(self) -> str:
        """The quotes, in order, "[...]" between them."""
        return " [...] ".join(q.quote for q in self.quotes)


def join_touching(citables: list[Citable]) -> list[Citable]:
    """Consecutive quotes of one speaker and episode where one ends as the next starts (the
    passages of one merged hit) joined into one quote with one time range."""
    out: list[Citable] = []
    for c in citables:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.episode_id is not None
            and (prev.episode_id, prev.speaker) == (c.episode_id, c.speaker)
            and prev.end is not None
            and c.start is not None
            and abs(prev.end - c.start) < 1e-6
        ):
            out[-1] = replace(prev, quote=f"{prev.quote} {c.quote}", end=c.end)
        else:
            out.append(c)
    return out


def by_episode(citables: list[Citable]) -> list[Reference]:
    """One Reference per episode, in the order episodes first appear (a citable without an
    episode id stands alone). APA names a podcast episode's hosts as its authors; when they
    are unknown, the people quoted are, in the order quoted."""
    groups: dict[str, list[Citable]] = {}
    for c in join_touching(citables):
        groups.setdefault(c.episode_id or f"passage:{c.passage_id}", []).append(c)
    refs = []
    for quotes in groups.values():
        head = quotes[0]
        if not head.hosts:
            names = tuple(dict.fromkeys(n for n in (q.speaker_name for q in quotes) if n))
            if len(names) > 1:
                head = replace(head, hosts=names)
        # In the order they were said (untimed ones last): the note reads as a timeline.
        timeline = sorted(quotes, key=lambda q: (q.start is None, q.start or 0.0))
        refs.append(Reference(head, tuple(timeline)))
    return refs


def bibtex_escape(text: str) -> str:
    """Text safe inside a braced BibTeX value; UTF-8 letters are kept as they are."""
    return "".join(_BIBTEX_ESCAPES.get(ch, ch) for ch in " ".join(text.split()))


def _bibtex_url(url: str) -> str:
    return re.sub(r"[{}\s]", lambda m: f"%{ord(m.group(0)):02X}", url)


def _bibtex_names(names: list[str]) -> str:
    """Names as "Delangue, Clément and Jaffee, Theo"; one-word names braced as literals."""
    out = []
    for n in names:
        p = csl_name(n)
        if "literal" in p:
            out.append("{" + bibtex_escape(p["literal"]) + "}")
            continue
        family = " ".join(x for x in (p.get("non-dropping-particle"), p["family"]) if x)
        parts = [family] + ([p["suffix"]] if p.get("suffix") else []) + [p["given"]]
        out.append(", ".join(bibtex_escape(x) for x in parts))
    return " and ".join(out)


def _bib_entry(kind: str, key: str, fields: list[tuple[str, str | None]]) -> str:
    """One entry; values already formatted (braced or a macro), None values left out."""
    kept = [(k, v) for k, v in fields if v]
    width = max(len(k) for k, _ in kept) if kept else 0
    body = ",\n".join(f"  {k.ljust(width)} = {v}" for k, v in kept)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def _braced(text: str | None, protect: bool = False) -> str | None:
    if not text:
        return None
    value = bibtex_escape(text)
    return "{{" + value + "}}" if protect else "{" + value + "}"


def to_bibtex(citables: list[Citable]) -> str:
    """BibTeX ``@misc`` entries, one per episode: howpublished names the medium and show,
    note the quotes' speakers and times, annote the quotes."""
    entries = []
    refs = by_episode(citables)
    for ref, key in zip(refs, citation_keys([r.head for r in refs]), strict=True):
        c = ref.head
        parts = c.date_parts
        howpublished = GENRE + (f", {c.podcast}" if c.podcast else "")
        if c.episode_number is not None:
            howpublished += f", episode {c.episode_number}"
        fields = [
            ("author", "{" + _bibtex_names(c.authors) + "}" if c.authors else None),
            ("title", _braced(c.episode_title, protect=True)),
            ("howpublished", _braced(howpublished)),
            ("year", "{" + str(parts[0]) + "}" if parts else None),
            ("month", _MONTH_MACROS[parts[1] - 1] if len(parts) > 1 else None),
            ("url", "{" + _bibtex_url(c.link) + "}" if c.link else None),
            ("note", _braced(ref.note)),
            ("annote", _braced(ref.quote_text)),
        ]
        entries.append(_bib_entry("misc", key, fields))
    return "\n".join(entries)


def to_biblatex(citables: list[Citable]) -> str:
    """BibLaTeX ``@audio`` entries in the biblatex-apa shape for podcast episodes:
    maintitle the show, entrysubtype podcastepisode, ISO date; one entry per episode, the
    quotes' speakers and times in addendum."""
    entries = []
    refs = by_episode(citables)
    for ref, key in zip(refs, citation_keys([r.head for r in refs]), strict=True):
        c = ref.head
        fields = [
            ("author", "{" + _bibtex_names(c.authors) + "}" if c.authors else None),
            ("title", _braced(c.episode_title, protect=True)),
            ("maintitle", _braced(c.podcast, protect=True)),
            ("number", "{" + str(c.episode_number) + "}" if c.episode_number else None),
            ("date", "{" + "-".join(f"{p:02d}" for p in c.date_parts) + "}"
             if c.date_parts else None),
            ("entrysubtype", "{podcastepisode}"),
            ("url", "{" + _bibtex_url(c.link) + "}" if c.link else None),
            ("note", _braced(GENRE)),
            ("addendum", _braced(ref.note)),
            ("annotation", _braced(ref.quote_text)),
        ]  # fmt: skip
        entries.append(_bib_entry("audio", key, fields))
    return "\n".join(entries)


def to_ris(citables: list[Citable]) -> str:
    """RIS records of type SOUND, written with rispy (without its "1." record headers,
    which the RIS specification does not have); one record per episode, an N1 note per
    quote with its speaker, time and link."""
    import rispy
    from rispy.writer import RisWriter

    class _Writer(RisWriter):
        def set_header(self, count: int) -> str:
            return ""

    records = []
    refs = by_episode(citables)
    for ref, key in zip(refs, citation_keys([r.head for r in refs]), strict=True):
        c = ref.head
        rec: dict[str, Any] = {"type_of_reference": "SOUND", "id": key}
        if c.authors:
            rec["authors"] = [_ris_name(n) for n in c.authors]
        if c.episode_title:
            rec["title"] = c.episode_title
        if c.podcast:
            rec["secondary_title"] = c.podcast
        rec["type_of_work"] = GENRE
        if c.episode_number is not None:
            rec["number"] = str(c.episode_number)
        if c.date_parts:
            rec["year"] = str(c.date_parts[0])
            rec["date"] = "/".join(f"{p:02d}" for p in c.date_parts)
        if c.link:
            rec["urls"] = [c.link]
        notes = []
        for q in ref.quotes:
            note = f"{attribution(q)}: “{q.quote}”"
            if q.timed and q.deep_link:
                note += f" {q.deep_link}"
            notes.append(" ".join(note.split()))
        rec["notes"] = notes
        if c.language:
            rec["language"] = c.language
        records.append(rec)
    return rispy.dumps(records, implementation=_Writer)


def _ris_name(name: str) -> str:
    p = csl_name(name)
    if "literal" in p:
        return p["literal"]
    family = " ".join(x for x in (p.get("non-dropping-particle"), p["family"]) if x)
    return ", ".join([family, p["given"]] + ([p["suffix"]] if p.get("suffix") else []))


def to_csl_json(citables: list[Citable]) -> str:
    """A CSL-JSON array (csl-data.json schema), one item per episode: ``note`` lists the
    quotes' speakers and times, ``custom`` holds the first quote and ``custom.quotes`` all."""
    refs = by_episode(citables)
    items = []
    for ref, key in zip(refs, citation_keys([r.head for r in refs]), strict=True):
        item = to_csl_item(ref.head, key)
        item["note"] = ref.note
        item["custom"]["quotes"] = [to_csl_item(q)["custom"] for q in ref.quotes]
        items.append(item)
    return dumps(items, ensure_ascii=False, indent=2) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def to_markdown(citables: list[Citable]) -> str:
    """Blockquotes with an attribution line: speaker, episode, show, date and the time
    linked to the moment (``URL#t=SECONDS``); "≈" and "(approximate)" mark inexact times."""
    blocks = []
    for c in join_touching(citables):
        quote = _md(c.quote)
        if re.match(r"([#+>-]|\d+[.)](\s|$))", quote):
            quote = "\\" + quote
        parts = []
        if c.speaker_name:
            parts.append(_md(c.speaker_name))
        if c.episode_title:
            title = _md(c.episode_title)
            parts.append(f"“[{title}]({c.link})”" if c.link else f"“{title}”")
        elif c.source:
            parts.append(f"transcript {_md(c.source)}")
        if c.podcast:
            parts.append(f"*{_md(c.podcast)}*")
        if c.date_text:
            parts.append(c.date_text)
        if c.timed:
            stamp = ("≈" if c.approximate else "") + c.timestamp
            stamp = f"[{stamp}]({c.deep_link})" if c.deep_link else stamp
            parts.append(f"at {stamp}" + (" (approximate)" if c.approximate else ""))
        elif c.link and not c.episode_title:
            parts.append(f"<{c.link}>")
        if not parts:
            parts.append(f"podsearch passage {c.passage_id}")
        blocks.append(f"> {quote}\n>\n> — {', '.join(parts)}\n")
    return "\n".join(blocks)


def _records(citables: list[Citable], style: str) -> list[dict[str, Any]]:
    """Flat records for JSON and CSV, one per quote; quotes of one episode share its key.
    Unknown values are left out (JSON) or empty (CSV)."""
    citables = join_touching(citables)
    styled = render_style(citables, style)
    refs = by_episode(citables)
    keys = citation_keys([r.head for r in refs])
    # By object: ``citables`` are already joined, so the references hold these very objects.
    key_of = {id(q): k for r, k in zip(refs, keys, strict=True) for q in r.quotes}
    out = []
    for c, s in zip(citables, styled, strict=True):
        key = key_of[id(c)]
        rec: dict[str, Any] = {
            "key": key, "passage_id": c.passage_id, "quote": c.quote,
            "speaker": c.speaker_name, "timestamp": c.timestamp or None,
            "approximate": c.approximate if c.timed else None, "start": c.start, "end": c.end,
            "time_precision": c.time_precision if c.timed else None,
            "episode_id": c.episode_id, "episode_title": c.episode_title, "podcast": c.podcast,
            "published": c.published, "episode_number": c.episode_number, "source": c.source,
            "hosts": list(c.hosts) or None, "guests": list(c.guests) or None,
            "url": c.link, "deep_link": c.deep_link if c.timed else None,
            "style": s.style, "in_text": s.in_text, "reference": s.reference or None,
        }  # fmt: skip
        out.append({k: v for k, v in rec.items() if v is not None})
    return out


def to_json(citables: list[Citable], style: str = DEFAULT_STYLE) -> str:
    """A JSON array of passages with their metadata, key and citation in ``style``."""
    return dumps(_records(citables, style), ensure_ascii=False, indent=1) + "\n"


CSV_COLUMNS = ("key", "passage_id", "speaker", "timestamp", "approximate", "start", "end",
               "quote", "episode_title", "podcast", "published", "episode_number", "url",
               "deep_link", "in_text", "reference")  # fmt: skip


def to_csv(citables: list[Citable], style: str = DEFAULT_STYLE) -> str:
    """CSV with a header row; the citation columns use ``style``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for rec in _records(citables, style):
        if "approximate" in rec:
            rec["approximate"] = "yes" if rec["approximate"] else "no"
        writer.writerow(rec)
    return buf.getvalue()


WRITERS: dict[str, Callable[[list[Citable]], str]] = {
    "bibtex": to_bibtex,
    "biblatex": to_biblatex,
    "ris": to_ris,
    "csl-json": to_csl_json,
    "markdown": to_markdown,
    "json": to_json,
    "csv": to_csv,
}
FORMATS = tuple(WRITERS)


def check_format(fmt: str) -> str:
    """The format name normalised; CitationError listing the valid ones otherwise."""
    name = fmt.strip().lower().replace("_", "-")
    name = {"csljson": "csl-json", "md": "markdown", "bib": "bibtex"}.get(name, name)
    if name not in WRITERS:
        raise CitationError(f"unknown citation format '{fmt}': use one of {', '.join(FORMATS)}")
    return name


def export(citables: list[Citable], fmt: str, style: str = DEFAULT_STYLE) -> str:
    """The passages in a file format; ``style`` shapes the citations of json and csv."""
    name = check_format(fmt)
    if name in ("json", "csv"):
        return (to_json if name == "json" else to_csv)(citables, style)
    return WRITERS[name](citables)
