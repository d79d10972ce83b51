"""Speaker labels a reader can trust, judged over a whole file rather than line by line.

A line (or cue) may open with a label: "[Name]:", "[Name]" (no colon), ">> Name:", "Name:".
``split_speaker_prefix`` only finds candidates by their syntax; ``find_openers`` decides which
of a file's candidates are speakers:

- bracketed labels are markup and are speakers, unless they are a sound tag ("[Music]");
- a "Name:" is a speaker when it looks like a name and is not a common word of the
  transcript's language ("Digo:", "Note:"), and either is a diarization label ("Speaker 2"),
  is in capitals in captions (their convention, "MAN 2:"), has several words ("Bob Builder:"),
  opens more than one line, or the file uses "Name:" labels for two or more names. A single
  "Word:" seen once in a file that labels nobody else ("Subtitles: @someone") is text.
- ">>" alone and, in subtitles, a "- " dialogue dash mark a change to an unnamed speaker.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ._common import NOT_SPEAKERS, is_name, normalize_speaker, split_speaker_prefix

# First words of "Word:" openings in other languages that are speech, not names
# ("Digo:" is "I say:"), and credits that subtitle files carry.
_COMMON = set(
    """digo dice dijo pero entonces bueno mira oye y que qué porque como cuando donde así nota
    ojo ahora sí también pues vale claro ejemplo pregunta respuesta señor señora je il elle on
    nous vous mais donc alors bon voilà écoute regarde dit dis exemple réponse et ou oui non
    puis ich er sie wir aber also und oder dann ja nein sagt sage frage antwort hinweis
    beispiel achtung eu ele ela mas então bem olha diz sim não io lui lei ma quindi allora beh
    dico ecco domanda risposta sì poi says said say asked like okay ok oh um uh look listen
    quote subtitles subtitle subtitled captions captioned caption translation translated
    translator transcription transcribed credits sync synced corrections ripped encoded""".split()
)
# Bracketed sound tags and stage directions, not speakers ("[Music]", "[Risas]").
_SOUNDS = set(
    """music música musique musik applause aplausos applaudissements laughter laughs laughing
    laugh risas rires lachen inaudible crosstalk silence sighs sigh coughs cough cheering
    cheers noise static beep bleep gasps groans chuckles chuckling singing sings intro outro
    theme jingle break pause ad advert advertisement sponsor unintelligible indistinct
    foreign speaking background""".split()
)
_DIARIZED = re.compile(
    r"(speaker|spk|spkr|guest|host|interviewer|interviewee|participant|voice|person|caller)"
    r"(?:[\s_-]*(\d{1,3}|[A-Z]))?",
    re.IGNORECASE,
)
_BRACKET = re.compile(r"\[([^\[\]\n:]{1,40})\]\s*")
_CHEVRONS = re.compile(r">>+\s*")
_DASH = re.compile(r"[-–—]\s+")
_DASHES = re.compile(r"(?m)^\s*[-–—]\s+")
_DIRECTION = re.compile(r"\s*\([^()\n]{0,40}\)\s*$")  # "WOMAN ( gasping ):" is WOMAN speaking


@dataclass(frozen=True, slots=True)
class Opener:
    """A speaker change at the start of a text: ``speaker`` None for an unnamed one."""

    speaker: str | None
    rest: str


def _common_word(name: str) -> bool:
    if len(name.split()) > 1 and name.isupper():
        return False  # "FIRST MATE": a caption's speaker in capitals
    first = name.split()[0].casefold()
    return first in NOT_SPEAKERS or first in _COMMON


def _candidate(text: str, subtitles: bool) -> tuple[str, str | None, str] | None:
    """(kind, name, rest) of a label-like opening, or None: syntax only."""
    s = text.lstrip()
    if s.startswith(">>"):
        rest = _CHEVRONS.sub("", s, count=1)
        name, after = split_speaker_prefix(rest)
        return ("chevron", name, after) if name else ("change", None, rest)
    if subtitles and _DASH.match(s):  # "- Déjala.\n- Tú no te metas.": dialogue, dashes dropped
        return ("change", None, _DASHES.sub("", s))
    if s.startswith("["):
        name, rest = split_speaker_prefix(s)
        if name is not None:
            return "bracket", name, rest
        m = _BRACKET.match(s)
        if m and is_name(m.group(1).strip()) and m.end() < len(s):
            return "bare_bracket", m.group(1).strip(), s[m.end() :]
        return None
    head, colon, _ = s.partition(":")
    if colon and _DIRECTION.search(head):
        s = _DIRECTION.sub("", head) + s[len(head) :]
    name, rest = split_speaker_prefix(s)
    return ("plain", name, rest) if name is not None else None


def _trusted(kind: str, name: str, counts: Counter[str], plain_names: int, subtitles: bool) -> bool:
    if _common_word(name):
        return False
    if kind in ("bracket", "bare_bracket"):
        return not all(w.casefold() in _SOUNDS for w in name.split())
    if _DIARIZED.fullmatch(name) or re.fullmatch(r"SPEAKER_\d+", name):
        return True
    letters = [c for c in name if c.isalpha()]
    if subtitles and len(letters) >= 2 and all(c.isupper() for c in letters):
        return True  # "LITHGOW:", "MAN 2:": the closed-captioning convention
    return len(name.split()) >= 2 or counts[name] >= 2 or plain_names >= 2


def find_openers(texts: Sequence[str], *, subtitles: bool = False) -> list[Opener | None]:
    """For each text, the speaker change it opens with, or None when it opens with none.

    ``subtitles``: captions, where a "- " opening marks a new, unnamed speaker and a label in
    capitals is a speaker even once ("NARRATOR:"); in other text it may be a heading."""
    found = [_candidate(t, subtitles) for t in texts]
    counts = Counter(c[1] for c in found if c is not None and c[1])
    plain_names = len({c[1] for c in found if c is not None and c[0] == "plain"})
    out: list[Opener | None] = []
    for c in found:
        if c is None:
            out.append(None)
        elif c[1] is None:
            out.append(Opener(None, c[2]))
        elif _trusted(c[0], c[1], counts, plain_names, subtitles):
            out.append(Opener(normalize_speaker(c[1]), c[2]))
        else:
            out.append(None)
    return out


def label_lines(lines: list[str]) -> list[tuple[int, str | None, str]]:
    """(line index, speaker, text) for the non-blank lines of an untimed text transcript.

    A "Name:" label holds for the following unlabelled lines of its paragraph; a blank line
    ends it, unless the label stood alone on its line (a heading for the next paragraph).
    """
    out: list[tuple[int, str | None, str]] = []
    speaker: str | None = None
    label_alone = False
    openers = find_openers(lines)
    for i, line in enumerate(lines):
        if not line.strip():
            if not label_alone:
                speaker = None
            continue
        opener = openers[i]
        rest = line
        if opener is not None:
            speaker, rest = opener.speaker, opener.rest
            label_alone = not rest.strip()
        else:
            label_alone = False
        if rest.strip():
            out.append((i, speaker, rest.strip()))
    return out
