"""TTML in its three published flavours, read by one implementation: Apple Podcasts
transcripts (``apple_ttml``), W3C TTML (``w3c_ttml``) and DFXP, its older name and namespace
(``dfxp``, what caption tools such as pycaption write). The reader modules of those names
only detect their flavour; ``read_ttml`` reads any of them.

Each ``<p>`` is a cue; its ``<span>`` words are joined with spaces (punctuation kept tight).
The speaker is the ``ttm:agent`` of the paragraph (or of its ``<div>``, or of a ``<span>``
inside it), shown with the ``<ttm:name>`` its ``<ttm:agent>`` declares, else as an anonymous
label: "SPEAKER_1" becomes "Speaker 1". Paragraphs without an agent may open with a caption
label ("MAN 2:", "[Name]:", see ``_labels``), which holds until the next one as in SRT.
Times may be clock times ("00:01:02.345", "00:01:02:10" with frames) or offsets ("12.345s",
"1500ms", "2m", or a bare number of seconds); they are taken as absolute, as Apple and other
producers write them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import Piece, coalesce, make_episode
from ._diarized import anonymous_speaker
from ._labels import find_openers
from ._xml import attr, local_name, parse_xml

_TTML_NS = re.compile(r"http://www\.w3\.org/ns/ttml\b")
_DFXP_NS = re.compile(r"http://www\.w3\.org/2006/(04|10)/ttaf1")
_APPLE = re.compile(r"podcasts\.apple\.com|itunes\.apple\.com")
_ROOT = re.compile(r"<(?:[\w-]+:)?tt[\s>]")
_CLOCK = re.compile(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?")
_OFFSET = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms|f|t)?")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, None: 1.0}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
_GAP = "\x00"  # a span boundary: a space unless punctuation follows


def flavour(text: str, path: Path) -> tuple[str, float] | None:
    """(reader name, certainty) of a TTML document, or None when it is not TTML."""
    head = text[:4096]
    if not _ROOT.search(head):
        return None
    if _DFXP_NS.search(head) or path.suffix.lower() == ".dfxp":
        return "dfxp", 1.0
    if _APPLE.search(head):
        return "apple_ttml", 1.0
    return "w3c_ttml", 1.0 if _TTML_NS.search(head) else 0.6


def parse_time(value: str, frame_rate: float = 30.0, tick_rate: float = 1.0) -> float:
    """Seconds from a TTML time expression; ValueError for anything else."""
    v = value.strip()
    m = _CLOCK.fullmatch(v)
    if m:
        h, mi, s, frames = int(m.group(1)), int(m.group(2)), float(m.group(3)), m.group(4)
        if mi >= 60 or s >= 60:
            raise ValueError(value)
        return h * 3600 + mi * 60 + s + (float(frames) / frame_rate if frames else 0.0)
    m = _OFFSET.fullmatch(v)
    if m:
        n, unit = float(m.group(1)), m.group(2)
        if unit == "f":
            return n / frame_rate
        if unit == "t":
            return n / tick_rate
        return n * _UNITS[unit]
    if re.fullmatch(r"\d{1,2}:\d{2}(\.\d+)?", v):  # "1:02.5", not TTML but seen in the wild
        mi, s = v.split(":")
        if float(s) < 60:
            return int(mi) * 60 + float(s)
    raise ValueError(value)


def _text(el: ET.Element) -> str:
    """The element's text, word spans separated by spaces and <br/> read as a space."""
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        parts.append(node.text or "")
        for child in node:
            if local_name(child.tag) == "br":
                parts.append(" ")
            elif local_name(child.tag) == "span":
                parts.append(_GAP)
                walk(child)
                parts.append(_GAP)
            else:
                walk(child)
            parts.append(child.tail or "")

    walk(el)
    s = "".join(parts)
    s = re.sub(_GAP + r"+(?=[^\s" + _GAP + r".,;:!?…)\]’”'])", " ", s)
    return " ".join(s.replace(_GAP, "").split())


def _speakers(root: ET.Element) -> dict[str, str]:
    names: dict[str, str] = {}
    for el in root.iter():
        if local_name(el.tag) != "agent":
            continue
        agent_id = el.get(_XML_ID) or attr(el, "id")
        names_ = [" ".join((c.text or "").split()) for c in el if local_name(c.tag) == "name"]
        name = next((n for n in names_ if n), "")
        if agent_id and name:
            names[agent_id] = name
    return names


def _caption_labels(pieces: list[Piece]) -> list[Piece]:
    """Pieces with "NAME:" caption labels (trusted ones, see ``_labels``) taken out of the
    text of paragraphs that have no agent; a label holds until the next, as in SRT."""
    if any(p[0] is not None for p in pieces):
        return pieces  # the document names its speakers with agents: its text is text
    out: list[Piece] = []
    speaker: str | None = None
    for (_, start, end, text), opener in zip(
        pieces, find_openers([p[3] for p in pieces], subtitles=True), strict=True
    ):
        if opener is not None:
            speaker, text = opener.speaker, opener.rest
        out.append((speaker, start, end, text))
    return out


def read_ttml(text: str, path: Path) -> Episode:
    """Turns of consecutive same-speaker paragraphs, one cue per paragraph."""
    try:
        root = parse_xml(text)
    except ValueError as e:
        raise ReaderError(path, f"invalid TTML: {e}") from None
    if local_name(root.tag) != "tt":
        raise ReaderError(path, f"not TTML: the root element is <{local_name(root.tag)}>, not <tt>")
    try:
        frame_rate = float(attr(root, "frameRate") or 30)
        tick_rate = float(attr(root, "tickRate") or 1)
    except ValueError as e:
        raise ReaderError(path, f"malformed frame or tick rate on <tt>: {e}") from None
    body = next((el for el in root if local_name(el.tag) == "body"), None)
    if body is None:
        raise ReaderError(path, "TTML has no <body>")
    names = _speakers(root)

    def who(agent: str | None) -> str | None:
        if not agent:
            return None
        agent = agent.split()[0]  # several agents: the first speaks
        return names.get(agent) or anonymous_speaker(agent)

    def when(el: ET.Element, key: str, n: int) -> float | None:
        value = attr(el, key)
        if value is None:
            return None
        try:
            return parse_time(value, frame_rate, tick_rate)
        except ValueError:
            raise ReaderError(path, f'malformed time {key}="{value}" in paragraph {n}') from None

    pieces: list[Piece] = []
    n = 0

    def visit(node: ET.Element, agent: str | None) -> None:
        nonlocal n
        for el in node:
            own = attr(el, "agent") or agent
            if local_name(el.tag) != "p":
                visit(el, own)
                continue
            n += 1
            start, end = when(el, "begin", n), when(el, "end", n)
            voiced = [s for s in el if local_name(s.tag) == "span" and attr(s, "agent")]
            if voiced and not attr(el, "agent"):  # speakers change inside the paragraph
                for span in el:
                    s_agent = attr(span, "agent") or own
                    s_start, s_end = when(span, "begin", n), when(span, "end", n)
                    s_start = start if s_start is None else s_start
                    s_end = end if s_end is None else s_end
                    pieces.append((who(s_agent), s_start, s_end, _text(span)))
                continue
            pieces.append((who(own), start, end, _text(el)))

    visit(body, attr(body, "agent"))
    pieces = _caption_labels(pieces)
    lang = root.get(_XML_LANG)
    return make_episode(path, coalesce(pieces), **({"language": lang} if lang else {}))
