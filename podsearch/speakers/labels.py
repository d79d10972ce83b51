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


def is_anonymous_label(name: str | None) -> bool:
    """True for diarization labels and bare roles ("SPEAKER_00", "Guest 1", "Speaker A",
    "Host", "Unknown", "Spk0", "S1"): placeholders, never names of people."""
    if not name:
        return False
    return bool(_ANONYMOUS.match(fold(name).strip(" :[]()")))


def display_name(name: str | None) -> str:
    """The name as shown to the user: anonymous labels are marked "(unnamed)"."""
    if not name:
        return "unknown speaker"
    return f"{name} (unnamed)" if is_anonymous_label(name) else name
