"""Citable passages written as BibTeX, BibLaTeX, RIS, CSL-JSON, Markdown, JSON or CSV.

Every writer leaves out what is unknown instead of printing "None", "n.d." stays the
styles' business, and keys are unique within one export. Nothing here prints.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
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
    """BibTeX ``@misc`` entries: howpublished names the medium and show, note the quote's
    speaker and time, annote the quote."""
    entries = []
    for c, key in zip(citables, citation_keys(citables), strict=True):
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
            ("note", _braced(attribution(c))),
            ("annote", _braced(c.quote)),
        ]
        entries.append(_bib_entry("misc", key, fields))
    return "\n".join(entries)


def to_biblatex(citables: list[Citable]) -> str:
    """BibLaTeX ``@audio`` entries in the biblatex-apa shape for podcast episodes:
    maintitle the show, entrysubtype podcastepisode, ISO date."""
    entries = []
    for c, key in zip(citables, citation_keys(citables), strict=True):
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
            ("addendum", _braced(attribution(c))),
            ("annotation", _braced(c.quote)),
        ]  # fmt: skip
        entries.append(_bib_entry("audio", key, fields))
    return "\n".join(entries)


def to_ris(citables: list[Citable]) -> str:
    """RIS records of type SOUND, written with rispy (without its "1." record headers,
    which the RIS specification does not have)."""
    import rispy
    from rispy.writer import RisWriter

    class _Writer(RisWriter):
        def set_header(self, count: int) -> str:
            return ""

    records = []
    for c, key in zip(citables, citation_keys(citables), strict=True):
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
        note = f"{attribution(c)}: “{c.quote}”"
        if c.timed and c.deep_link:
            note += f" {c.deep_link}"
        rec["notes"] = [" ".join(note.split())]
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
    """A CSL-JSON array (csl-data.json schema); the passage is under ``custom``."""
    items = [to_csl_item(c, key) for c, key in zip(citables, citation_keys(citables), strict=True)]
    return dumps(items, ensure_ascii=False, indent=2) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def to_markdown(citables: list[Citable]) -> str:
    """Blockquotes with an attribution line: speaker, episode, show, date and the time
    linked to the moment (``URL#t=SECONDS``); "≈" and "(approximate)" mark inexact times."""
    blocks = []
    for c in citables:
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
    """Flat records for JSON and CSV; unknown values are left out (JSON) or empty (CSV)."""
    styled = render_style(citables, style)
    out = []
    for c, key, s in zip(citables, citation_keys(citables), styled, strict=True):
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
