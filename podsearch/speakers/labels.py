"""Anonymous speaker labels: diarization placeholders ("SPEAKER_00", "Guest 1") are never
shown or cited as if they were people's names. No third-party imports: the query path and
citations use this on every hit."""

from __future__ import annotations

import re

from ..core.text import fold

_ROLE_WORDS = (
    r"speaker|guest|host|co-?host|voice|participant|person|interviewer|interviewee|narrator|"
    r"announcer|moderator|caller|audience(?:\s+member)?|male|female|man|woman|"
    r"unknown|unidentified|unnamed|unknown\s+speaker|unidentified\s+speaker"
)
# "Speaker A", "SPEAKER_00", "Guest 1", "Host", "Unknown": a role word and an optional number
# or single letter. "S1", "Spk0", "spkr_2", "SP 3": the short forms always carry a number.
_ANONYMOUS = re.compile(
    rf"^(?:(?:{_ROLE_WORDS})(?:[\s_#.-]*\d+|[\s_#.-]+[a-z])?|(?:s|sp|spk|spkr)[\s_#.-]*\d+|\d+)$"
)


# "Guest (unnamed, E41)": an anonymous label scoped to its episode (``scoped_label``).
_SCOPED = re.compile(r"^(?P<label>.+?) \(unnamed, (?P<episode>[^()]+)\)$")


def is_anonymous_label(name: str | None) -> bool:
    """True for diarization labels and bare roles ("SPEAKER_00", "Guest 1", "Speaker A",
    "Host", "Unknown", "Spk0", "S1"), scoped to an episode or not: placeholders, never names
    of people."""
    if not name:
        return False
    m = _SCOPED.match(name)
    return bool(_ANONYMOUS.match(fold(m.group("label") if m else name).strip(" :[]()")))


def scoped_label(label: str, episode_tag: str) -> str:
    """An anonymous label made one episode's: "Guest" in E41 is "Guest (unnamed, E41)", a
    different person from the "Guest" of any other episode."""
    return f"{label} (unnamed, {episode_tag})"


def base_label(name: str) -> str:
    """The label without its episode scope: "Guest (unnamed, E41)" -> "Guest"."""
    m = _SCOPED.match(name)
    return m.group("label") if m else name


def role_of_label(name: str) -> str | None:
    """ "host" or "guest" when an anonymous label says so ("Host", "Guest 2", "Interviewer")."""
    word = fold(base_label(name)).split()[0].rstrip("0123456789_#.-") if name.strip() else ""
    if word in ("host", "cohost", "co-host", "interviewer", "moderator", "presenter"):
        return "host"
    if word in ("guest", "interviewee"):
        return "guest"
    return None


# A diarization tool's label: "SPEAKER_02", "spk_1", "Spk0", "speaker-3", "S1".
_DIARIZATION = re.compile(
    r"^(?:(?:speaker|spk)[ _-]*(?P<n>\d+|[a-z])|s[ _-]*(?P<k>\d+))$", re.IGNORECASE
)


def plain_label(label: str) -> str:
    """A diarization label as a reader says it ("SPEAKER_02" -> "Speaker 2"); other labels
    ("Guest 1", "Host") as they are."""
    m = _DIARIZATION.match(label.strip())
    if not m:
        return label
    n = m.group("n") or m.group("k")
    return f"Speaker {int(n) if n.isdigit() else n.upper()}"


def display_name(name: str | None) -> str:
    """The name as shown to the user: anonymous labels are marked "(unnamed)", and a
    diarization label is never shown raw ("SPEAKER_2 (unnamed, 77ac46a1)" is shown as
    "Speaker 2 (unnamed, 77ac46a1)")."""
    if not name:
        return "unknown speaker"
    m = _SCOPED.match(name)
    if m:
        return f"{plain_label(m.group('label'))} (unnamed, {m.group('episode')})"
    return f"{plain_label(name)} (unnamed)" if is_anonymous_label(name) else name


def shown_speaker(speaker: str | None, speaker_source: str | None) -> str:
    """The speaker as every face shows it: never a diarization label as if it were a name,
    never a guess as if it were a fact."""
    from ..core.models import INFERRED, LIKELY

    name = display_name(speaker)
    if speaker and speaker_source == LIKELY:
        return f"{name}? (likely)"
    return f"{name} (inferred)" if speaker and speaker_source == INFERRED else name
