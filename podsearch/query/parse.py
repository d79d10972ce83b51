"""Questions: "what did NAME say about TOPIC" becomes a speaker filter and a topic; "the host" /
"the guest" become a role filter."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # speakers.questions imports rapidfuzz (~0.09 s): only when a name is asked
    from ..speakers.book import SpeakerBook

# "what did NAME say about TOPIC" and its close variants. NAME only becomes a speaker filter
# when it matches a known speaker; otherwise the whole question is searched.
_VERBS = (
    r"(?:say|said|says|think|thinks|thought|believe|believes|feel|feels|argue|argues|argued|"
    r"claim|claims|claimed|talk|talks|talked|speak|speaks|spoke|mention|mentions|mentioned|"
    r"tell us|have to say|has to say|had to say)"
)
_ABOUT = r"(?:about|on|of|regarding|concerning)"
_QUESTION_FORMS = [
    rf"^(?:what|how)\s+(?:did|does|do|has|have|had|would|will|could)\s+(?P<name>.+?)\s+{_VERBS}\s+{_ABOUT}\s+(?P<topic>.+)$",
    rf"^what\s+(?:has|have|had)\s+(?P<name>.+?)\s+(?:said|thought|argued|claimed)\s+{_ABOUT}\s+(?P<topic>.+)$",
    rf"^what\s+(?P<name>.+?)\s+(?:said|says|thinks|thought|believes|argued)\s+{_ABOUT}\s+(?P<topic>.+)$",
    rf"^(?:did|does|has|have)\s+(?P<name>.+?)\s+(?:ever\s+)?{_VERBS}\s+(?:anything\s+)?{_ABOUT}\s+(?P<topic>.+)$",
    r"^according\s+to\s+(?P<name>[^,]+?),\s*(?P<topic>.+)$",
    r"^what(?:'s|’s|\s+is|\s+was)\s+(?P<name>.+?)(?:'s|’s)\s+(?:view|views|take|opinion|position|stance|thinking)\s+(?:on|about)\s+(?P<topic>.+)$",
    r"^(?P<name>.+?)(?:'s|’s)\s+(?:view|views|take|thoughts|opinion|opinions|position|stance)\s+(?:on|about)\s+(?P<topic>.+)$",
    r"^(?P<name>[^,?]{2,40}?)\s+on\s+(?P<topic>.+)$",
]
_FORMS = [re.compile(p, re.IGNORECASE) for p in _QUESTION_FORMS]


@dataclass
class ParsedQuestion:
    query: str  # what is embedded and ranked
    speakers: list[str] = field(default_factory=list)  # speaker filter from the question
    name: str | None = None  # the name as the user wrote it


# "the host", "the guest": roles stand for speakers when the index can tell who they are.
_ROLE = re.compile(
    r"\b(?:the|our|your|this|that)\s+(host|hosts|interviewer|presenter|guest|guests|interviewee)\b",
    re.IGNORECASE,
)
_ROLE_OF = {"guest": "guest", "guests": "guest", "interviewee": "guest"}


def parse_question(
    question: str,
    known_speakers: list[str],
    roles: dict[str, list[str]] | None = None,
    book: SpeakerBook | None = None,
) -> ParsedQuestion:
    """Split "what did NAME say about TOPIC" into a speaker filter and the topic.

    "the host" / "the guest" anywhere in the question become a filter on the speakers who
    have that role (``roles``), and leave the words searched.
    """
    q = question.strip().strip("\"'“”").rstrip("?!. ").strip()
    for form in _FORMS:
        m = form.match(q)
        if not m:
            continue
        name = m.group("name").strip()
        role = _ROLE.fullmatch(name)
        if role:  # "what did the guest say about X": the role's speakers, topic X
            speakers = (roles or {}).get(_ROLE_OF.get(role.group(1).lower(), "host"), [])
            topic = m.group("topic").strip()
            if speakers and topic:
                return ParsedQuestion(query=topic, speakers=speakers, name=name)
            break
        from ..speakers.questions import expand_query_name

        speakers = expand_query_name(name, known_speakers, book)
        topic = m.group("topic").strip()
        if speakers and topic:
            return ParsedQuestion(query=topic, speakers=speakers, name=name)
    role = _ROLE.search(q)
    if role and roles:
        speakers = roles.get(_ROLE_OF.get(role.group(1).lower(), "host"), [])
        rest = " ".join((q[: role.start()] + " " + q[role.end() :]).split())
        if speakers and rest:
            return ParsedQuestion(query=rest, speakers=speakers, name=role.group(0))
    return ParsedQuestion(query=question.strip())
